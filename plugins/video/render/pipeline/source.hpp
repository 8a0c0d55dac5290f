// Full-resolution frames of one source video for the render, as 8-bit BT.709 limited-range
// yuv420p in display orientation: zero-copy (a view into the decoder's frame) for 8-bit
// yuv420p without rotation, the common case; otherwise rotated, converted from 10-bit or other
// formats with swscale, and PQ/HLG HDR tonemapped to SDR (through media/convert.hpp).
//
// Times are seconds on the video stream's timeline, 0 at the stream's start (the same timeline as
// AnalysisFrame::time and AudioSegment::start). Variable frame rate is kept: each frame carries its
// own presentation time.
//
// One thread at a time. A delivered frame's pixels are valid until the next call to next().
#ifndef REELFLOW_VIDEO_RENDER_PIPELINE_SOURCE_HPP
#define REELFLOW_VIDEO_RENDER_PIPELINE_SOURCE_HPP

#include <memory>
#include <string>

#include "media/frame.hpp"
#include "render/image.hpp"

namespace reelflow::video {

struct SourceInfo {
  std::string path;
  int width = 0;  // display size (rotation applied), even
  int height = 0;
  int rotation = 0;       // clockwise degrees applied
  double duration = 0;    // seconds of video
  double frame_rate = 0;  // average frames per second
  bool hdr = false;       // PQ or HLG
  bool ten_bit = false;   // more than 8 bits per sample
  bool has_audio = false;
};

struct SourceFrame {
  double time = 0;      // presentation time, seconds
  double duration = 0;  // until the next frame (or the stream's average)
  Yuv420 picture;       // display orientation, even size
  bool zero_copy = false;
};

class SourceReader {
 public:
  // Errors name the file and the problem (missing, not media, no video stream, no decoder).
  static Result<std::unique_ptr<SourceReader>> open(const std::string& path, int threads);
  ~SourceReader();
  SourceReader(const SourceReader&) = delete;
  SourceReader& operator=(const SourceReader&) = delete;

  const SourceInfo& info() const;

  // Positions the reader so that the next frame delivered is the one shown at `time` (seconds).
  Result<void> seek(double time);

  // The next frame in presentation order; false at the end of the stream. Corrupt data: an error
  // naming the file after 64 consecutive undecodable packets.
  Result<bool> next(SourceFrame& frame);

  // "" for SDR input, "pq" or "hlg" once HDR frames were tonemapped.
  std::string tonemap() const;

 private:
  struct Impl;
  explicit SourceReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Rotates a yuv420p picture clockwise by 90, 180 or 270 degrees into `out` (resized).
void rotate_yuv420(const Yuv420& source, int clockwise, Yuv420Image& out);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_PIPELINE_SOURCE_HPP
