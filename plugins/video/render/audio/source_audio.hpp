// Reading a stretch of a file's audio for the render: decoded, resampled to the track's rate and
// channel count as interleaved float, and placed on the video stream's time line so that it
// stays in sync with the pictures.
//
// Time line: times are seconds from the video stream's first frame, as AnalysisFrame::time and
// AudioChunk::time in media/decoder.hpp (audio that starts later than the video, or an edit list
// that shifts a stream, keeps its offset). A file without a video stream (music) counts from its
// audio stream's start.
//
// Thread-safety: no shared state; call from any thread.
#ifndef REELFLOW_VIDEO_RENDER_AUDIO_SOURCE_AUDIO_HPP
#define REELFLOW_VIDEO_RENDER_AUDIO_SOURCE_AUDIO_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

struct SourceAudio {
  bool has_audio = false;         // false: the file has no audio stream (samples stay empty)
  double media_duration = 0;      // seconds, from the container (0 when it does not say)
  std::vector<float> samples;     // interleaved; sample 0 is at `start` on the time line
  std::int64_t audio_frames = 0;  // frames of `samples` up to the last decoded one (the rest pads)
};

// The audio of `path` from `start` to `end` seconds (end <= 0: to the end of the file, at most an
// hour; start
// may be negative, for context before the video's first frame or silence there). With
// an end, the result holds exactly round((end - start) × sample_rate) frames: silence where the
// audio does not reach (it starts later, or ends earlier). Errors name the file: missing,
// unreadable, no decoder, or audio data that cannot be decoded.
Result<SourceAudio> read_source_audio(const std::string& path, double start, double end,
                                      int sample_rate, int channels);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_AUDIO_SOURCE_AUDIO_HPP
