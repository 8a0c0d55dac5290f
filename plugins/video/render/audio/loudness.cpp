#include "audio/loudness.hpp"

#include <ebur128.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <numbers>

namespace reelflow::video {

namespace {

// Taps on each side of the interpolated point for the 4× oversampled peak.
constexpr int kHalfTaps = 8;
constexpr int kOversampling = 4;
// Bound on the interpolation taps' absolute sum (about 1.9 for these 16 taps).
constexpr double kMaxOvershoot = 3.0;
constexpr double kLookAheadSeconds = 0.005;
constexpr double kReleaseSeconds = 0.08;
// The limiter aims this far under the ceiling: its peak estimate and libebur128's differ a little.
constexpr double kLimiterMarginDb = 0.2;
constexpr double kLoudnessToleranceLu = 0.5;
constexpr std::size_t kMeterChunkFrames = 48000;

struct MeterFreer {
  void operator()(ebur128_state* state) const { ebur128_destroy(&state); }
};

double db_to_gain(double db) { return std::pow(10.0, db / 20.0); }

// Windowed-sinc taps for the points between samples at 1/4, 2/4 and 3/4.
using Phase = std::array<double, 2 * kHalfTaps>;
std::array<Phase, kOversampling - 1> interpolation_taps() {
  std::array<Phase, kOversampling - 1> phases{};
  for (int k = 1; k < kOversampling; ++k) {
    const double fraction = static_cast<double>(k) / kOversampling;
    Phase& taps = phases[static_cast<std::size_t>(k - 1)];
    double sum = 0;
    for (int j = -kHalfTaps + 1; j <= kHalfTaps; ++j) {
      const double t = j - fraction;
      const double sinc = std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
      const double window = 0.5 * (1 + std::cos(std::numbers::pi * t / kHalfTaps));
      taps[static_cast<std::size_t>(j + kHalfTaps - 1)] = sinc * window;
      sum += sinc * window;
    }
    for (double& tap : taps) tap /= sum;
  }
  return phases;
}

// Per frame: the gain (≤ 1) that keeps the frame and the 3 oversampled points after it under
// `ceiling`.
std::vector<float> required_gain(const std::vector<float>& samples, int channels, double ceiling,
                                 bool& any) {
  const auto frames = static_cast<std::int64_t>(samples.size()) / channels;
  std::vector<float> required(static_cast<std::size_t>(frames), 1.0F);
  const auto phases = interpolation_taps();
  any = false;
  for (int c = 0; c < channels; ++c) {
    const auto at = [&](std::int64_t frame) -> double {
      if (frame < 0 || frame >= frames) return 0.0;
      return samples[static_cast<std::size_t>(frame * channels + c)];
    };
    // Sliding maximum of |sample| over the taps' span [n - kHalfTaps + 1, n + kHalfTaps]: where
    // it is under ceiling / kMaxOvershoot no interpolated point can reach the ceiling (the taps'
    // absolute sum is below kMaxOvershoot), so the interpolation is skipped.
    std::deque<std::int64_t> loudest;
    std::int64_t incoming = 0;
    for (std::int64_t n = 0; n < frames; ++n) {
      for (; incoming <= std::min<std::int64_t>(n + kHalfTaps, frames - 1); ++incoming) {
        while (!loudest.empty() && std::abs(at(loudest.back())) <= std::abs(at(incoming))) {
          loudest.pop_back();
        }
        loudest.push_back(incoming);
      }
      while (!loudest.empty() && loudest.front() < n - kHalfTaps + 1) loudest.pop_front();
      double peak = std::abs(at(n));
      if (!loudest.empty() && std::abs(at(loudest.front())) * kMaxOvershoot >= ceiling) {
        for (const Phase& taps : phases) {
          double value = 0;
          for (int j = -kHalfTaps + 1; j <= kHalfTaps; ++j) {
            value += taps[static_cast<std::size_t>(j + kHalfTaps - 1)] * at(n + j);
          }
          peak = std::max(peak, std::abs(value));
        }
      }
      if (peak > ceiling) {
        any = true;
        auto& gain = required[static_cast<std::size_t>(n)];
        gain = std::min(gain, static_cast<float>(ceiling / peak));
      }
    }
  }
  return required;
}

}  // namespace

Result<Loudness> measure_loudness(const std::vector<float>& samples, int sample_rate, int channels,
                                  bool true_peak) {
  const int mode = true_peak ? EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK : EBUR128_MODE_I;
  std::unique_ptr<ebur128_state, MeterFreer> meter(
      ebur128_init(static_cast<unsigned>(channels), static_cast<unsigned long>(sample_rate), mode));
  if (!meter) {
    return error("libebur128 does not take " + std::to_string(channels) + " channels at " +
                 std::to_string(sample_rate) + " Hz");
  }
  const std::size_t frames = samples.size() / static_cast<std::size_t>(channels);
  for (std::size_t at = 0; at < frames; at += kMeterChunkFrames) {
    const std::size_t count = std::min(kMeterChunkFrames, frames - at);
    if (ebur128_add_frames_float(meter.get(),
                                 samples.data() + at * static_cast<std::size_t>(channels),
                                 count) != EBUR128_SUCCESS) {
      return error("libebur128 could not measure the audio");
    }
  }
  Loudness loudness;
  double integrated = 0;
  if (ebur128_loudness_global(meter.get(), &integrated) == EBUR128_SUCCESS &&
      std::isfinite(integrated)) {
    loudness.integrated_lufs = std::max(kSilenceLufs, integrated);
  }
  double peak = 0;
  for (int c = 0; c < channels && true_peak; ++c) {
    double channel_peak = 0;
    if (ebur128_true_peak(meter.get(), static_cast<unsigned>(c), &channel_peak) ==
        EBUR128_SUCCESS) {
      peak = std::max(peak, channel_peak);
    }
  }
  if (peak > 0) loudness.true_peak_db = std::max(kSilencePeakDb, 20 * std::log10(peak));
  return loudness;
}

void apply_gain(std::vector<float>& samples, double gain_db) {
  const auto gain = static_cast<float>(db_to_gain(gain_db));
  for (float& sample : samples) sample *= gain;
}

void limit_true_peak(std::vector<float>& samples, int sample_rate, int channels,
                     double ceiling_db) {
  bool any = false;
  const std::vector<float> required = required_gain(samples, channels, db_to_gain(ceiling_db), any);
  if (!any) return;
  const auto frames = static_cast<std::int64_t>(required.size());
  const auto look_ahead = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(kLookAheadSeconds * sample_rate)));
  // Sliding minimum of the required gain over [n, n + look_ahead), with a fast release after it.
  std::vector<float> held(static_cast<std::size_t>(frames));
  std::deque<std::int64_t> window;  // indices with increasing required gain
  const double release = 1.0 - std::exp(-1.0 / (kReleaseSeconds * sample_rate));
  double gain = 1.0;
  for (std::int64_t n = -look_ahead + 1; n < frames; ++n) {
    const std::int64_t incoming = n + look_ahead - 1;
    if (incoming < frames) {
      while (!window.empty() && required[static_cast<std::size_t>(window.back())] >=
                                    required[static_cast<std::size_t>(incoming)]) {
        window.pop_back();
      }
      window.push_back(incoming);
    }
    while (!window.empty() && window.front() < n) window.pop_front();
    if (n < 0) continue;
    const double minimum =
        window.empty() ? 1.0 : required[static_cast<std::size_t>(window.front())];
    gain = std::min(minimum, gain + (1.0 - gain) * release);
    held[static_cast<std::size_t>(n)] = static_cast<float>(gain);
  }
  // A moving average over the look-ahead makes the dips smooth; it never exceeds the required
  // gain at a peak, since every held value in the window before a peak is at most that gain.
  double sum = static_cast<double>(held[0]) * static_cast<double>(look_ahead);
  for (std::int64_t n = 0; n < frames; ++n) {
    sum += held[static_cast<std::size_t>(n)];
    const std::int64_t leaving = n - look_ahead;
    sum -= leaving >= 0 ? held[static_cast<std::size_t>(leaving)] : held[0];
    const auto smooth = static_cast<float>(sum / static_cast<double>(look_ahead));
    for (int c = 0; c < channels; ++c)
      samples[static_cast<std::size_t>(n * channels + c)] *= smooth;
  }
}

Result<Loudness> normalize_loudness(std::vector<float>& samples, int sample_rate, int channels,
                                    double target_lufs, double true_peak_db,
                                    std::optional<double> measured_lufs) {
  if (!measured_lufs) {
    auto measured = measure_loudness(samples, sample_rate, channels, false);
    if (!measured) return measured;
    measured_lufs = measured->integrated_lufs;
  }
  if (*measured_lufs <= kSilenceLufs) {  // silence stays silence
    return measure_loudness(samples, sample_rate, channels);
  }
  double gain_db = std::min(target_lufs - *measured_lufs, kMaxGainDb);
  apply_gain(samples, gain_db);
  double ceiling_db = true_peak_db - kLimiterMarginDb;
  limit_true_peak(samples, sample_rate, channels, ceiling_db);
  auto measured = measure_loudness(samples, sample_rate, channels);
  if (!measured) return measured;
  const bool peak_over = measured->true_peak_db > true_peak_db;
  const bool loudness_off =
      std::abs(measured->integrated_lufs - target_lufs) > kLoudnessToleranceLu &&
      gain_db < kMaxGainDb;
  if (!peak_over && !loudness_off) return measured;
  const double correction_db =
      std::min(target_lufs - measured->integrated_lufs, kMaxGainDb - gain_db);
  apply_gain(samples, correction_db);
  if (peak_over) ceiling_db -= measured->true_peak_db - true_peak_db + 0.1;
  limit_true_peak(samples, sample_rate, channels, ceiling_db);
  return measure_loudness(samples, sample_rate, channels);
}

}  // namespace reelflow::video
