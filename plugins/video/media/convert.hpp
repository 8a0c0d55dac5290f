// Decoded video frames to 8-bit BGR for analysis and covers: planar YUV at any bit depth,
// BT.601/709/2020 matrices, limited or full range, PQ and HLG tonemapped to SDR, rotation applied.
// One converter per decode; not thread-safe.
#ifndef REELFLOW_VIDEO_MEDIA_CONVERT_HPP
#define REELFLOW_VIDEO_MEDIA_CONVERT_HPP

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "media/libav.hpp"

namespace reelflow::video {

class FrameConverter {
 public:
  // target_width: width of the output before rotation is applied (0: full resolution). The
  // output is scaled by an integer factor close to width / target_width (cheap area averaging).
  FrameConverter(int target_width, int rotation);
  ~FrameConverter();
  FrameConverter(const FrameConverter&) = delete;
  FrameConverter& operator=(const FrameConverter&) = delete;

  // Converts `frame` into `out` (reused between calls). Errors name the pixel format.
  Result<void> convert(const AVFrame& frame, cv::Mat& out);

  // "" for SDR, "pq" or "hlg" once an HDR frame was tonemapped.
  const std::string& tonemap() const { return tonemap_; }

 private:
  Result<void> convert_planar(const AVFrame& frame, cv::Mat& out);
  Result<void> convert_other(const AVFrame& frame, cv::Mat& out);

  int target_width_;
  int rotation_;
  std::string tonemap_;
  SwsContext* sws_ = nullptr;
  cv::Mat planes_[3];
  std::vector<std::uint32_t> sums_;
  cv::Mat small_[3];
  cv::Mat upright_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_MEDIA_CONVERT_HPP
