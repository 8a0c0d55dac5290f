// Speeding audio up or slowing it down with its pitch kept: libavfilter's `atempo` (WSOLA) in an
// in-process filter graph (abuffer → atempo → abuffersink).
//
// Thread-safety: no shared state; call from any thread.
#ifndef REELFLOW_VIDEO_RENDER_AUDIO_TEMPO_HPP
#define REELFLOW_VIDEO_RENDER_AUDIO_TEMPO_HPP

#include <cstdint>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

// `samples` (interleaved float) played `speed` times as fast (0.5 .. 2.0), pitch unchanged:
// `out_frames` frames whose first is input frame `lead_in` (the frames before it, and any after
// lead_in + out_frames × speed, are context that keeps atempo's start-up and tail out of the
// result; without them the result's ends are a little quieter). Silence pads what atempo does not
// fill.
//
// Timing: atempo (FFmpeg 5.1) renders onsets about 17 ms (of input time) early at every speed,
// the ends of sounds less so (measured on 10 ms clicks: 15.7 .. 18.4 ms; on 50-100 ms beeps the
// energy centre is 9-13 ms early). The result is shifted back by kTempoLagSeconds / speed, which
// keeps their mean offset within ±6 ms of t / speed at 0.5× and ±3.5 ms at 2×, single events
// scattering up to 4.4 ms (s.d.) around it (README.md).
inline constexpr double kTempoLagSeconds = 0.012;

Result<std::vector<float>> change_tempo(const std::vector<float>& samples, int sample_rate,
                                        int channels, double speed, std::int64_t lead_in,
                                        std::int64_t out_frames);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_AUDIO_TEMPO_HPP
