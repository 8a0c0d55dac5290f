// What the decoder hands to analysis: small video frames and chunks of audio, in presentation
// order, with timestamps taken from the stream (correct for variable frame rate).
//
// Plain values; no thread-safety concerns of their own. The pixels of an AnalysisFrame are
// valid only during the callback that receives it (the decoder reuses its buffers): clone()
// what you keep.
#ifndef REELFLOW_VIDEO_MEDIA_FRAME_HPP
#define REELFLOW_VIDEO_MEDIA_FRAME_HPP

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <tl/expected.hpp>

namespace reelflow::video {

// Errors in this plugin are messages a person can act on: what failed, on which file.
template <typename T>
using Result = tl::expected<T, std::string>;

inline tl::unexpected<std::string> error(std::string message) {
  return tl::unexpected<std::string>(std::move(message));
}

struct AnalysisFrame {
  std::int64_t index = 0;  // frame number in presentation order, from 0
  double time = 0;         // seconds from the start of the video stream (its first frame is 0)
  double duration = 0;     // seconds until the next frame (the last frame: the stream's average)
  bool keyframe = false;   // a random access point in the source
  // 8-bit BGR (CV_8UC3), rotation already applied, converted to SDR BT.709 (10-bit and HDR
  // inputs included); about DecodeOptions::analysis_width pixels wide.
  cv::Mat bgr;
};

struct AudioChunk {
  double time = 0;                 // seconds of the first sample, on the video's time line
  const float* samples = nullptr;  // interleaved, channels × frames, in [-1, 1]
  int frames = 0;
  int channels = 0;
  int sample_rate = 0;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_MEDIA_FRAME_HPP
