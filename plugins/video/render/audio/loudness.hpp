// Loudness of the render's audio per EBU R128 (libebur128): integrated loudness, true peak (4×
// oversampled), and normalising to a target with a true-peak limiter.
//
// Thread-safety: no shared state; call from any thread.
#ifndef REELFLOW_VIDEO_RENDER_AUDIO_LOUDNESS_HPP
#define REELFLOW_VIDEO_RENDER_AUDIO_LOUDNESS_HPP

#include <optional>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

// Reported for silence (below the R128 absolute gate) and for a zero peak.
constexpr double kSilenceLufs = -70.0;
constexpr double kSilencePeakDb = -120.0;
// The most a quiet source is raised (a near-silent hiss is not blown up to speech level).
constexpr double kMaxGainDb = 30.0;

struct Loudness {
  double integrated_lufs = kSilenceLufs;  // kSilenceLufs when everything is gated out
  double true_peak_db = kSilencePeakDb;   // dBTP, the largest over the channels
};

// Integrated loudness, and the true peak when `true_peak` (which costs 4× the loudness alone:
// about 0.15 s of CPU per minute of 48 kHz stereo; true_peak_db stays kSilencePeakDb without it).
Result<Loudness> measure_loudness(const std::vector<float>& samples, int sample_rate, int channels,
                                  bool true_peak = true);

// Multiplies every sample by `gain_db`.
void apply_gain(std::vector<float>& samples, double gain_db);

// A look-ahead limiter on the 4× oversampled peak: the gain dips smoothly (5 ms ahead, 80 ms
// release) wherever the true peak would exceed `ceiling_db`, and is 1 elsewhere.
void limit_true_peak(std::vector<float>& samples, int sample_rate, int channels, double ceiling_db);

// Gain to `target_lufs` (at most kMaxGainDb up), then the limiter to `true_peak_db`; measured
// again and corrected once if the true peak or the loudness (±0.5 LU) is still off. Silence is
// left alone. `measured_lufs`: the samples' integrated loudness when already known (saves a
// pass). Returns the loudness of the result.
Result<Loudness> normalize_loudness(std::vector<float>& samples, int sample_rate, int channels,
                                    double target_lufs, double true_peak_db,
                                    std::optional<double> measured_lufs = std::nullopt);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_AUDIO_LOUDNESS_HPP
