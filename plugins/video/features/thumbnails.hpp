// A bounded reel of small thumbnails taken during the streaming pass, for the contact sheet.
//
// The accumulator adds one thumbnail per sample (every 0.5 s by default: the best-looking frame
// of that half second). When the reel is full, it drops the thumbnail that adds least: of the
// two adjacent thumbnails that look most alike (mean absolute difference of 8×8 luma
// signatures), the less sharp one. So a long static shot keeps one or two thumbnails while every
// visually distinct moment, and so nearly every shot, keeps at least one, up to the capacity;
// beyond that, thumbnails are thinned evenly by the same rule. Memory: capacity × the thumbnail
// size (400 × 160×90×3 bytes = 17 MB at the defaults, whatever the video's length).
//
// Thread-safety: one thread at a time.
#ifndef REELFLOW_VIDEO_FEATURES_THUMBNAILS_HPP
#define REELFLOW_VIDEO_FEATURES_THUMBNAILS_HPP

#include <array>
#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

#include "features/time_range.hpp"

namespace reelflow::video {

struct Thumbnail {
  double time = 0;     // seconds, of the frame it shows
  double quality = 0;  // larger is better (the accumulator's sharpness-and-exposure score)
  cv::Mat bgr;         // fits in box × box, aspect kept
  std::array<std::uint8_t, 64> signature{};  // 8×8 luma
  double difference = 0;  // signature difference to the previous thumbnail, grey levels
};

class ThumbnailReel {
 public:
  // `box`: longest side of a thumbnail in pixels; `capacity`: at least 2.
  explicit ThumbnailReel(int box = 160, std::size_t capacity = 400);

  // In time order. Copies (and shrinks) `bgr`.
  void add(double time, const cv::Mat& bgr, double quality);

  const std::vector<Thumbnail>& thumbnails() const { return thumbnails_; }
  int box() const { return box_; }

  // The best thumbnail for a shot: the highest quality one inside `range`, preferring those away
  // from its first and last 10 %; if none is inside, the one nearest to its middle. nullptr when
  // the reel is empty.
  const Thumbnail* best_in(TimeRange range) const;

 private:
  void drop_one();

  int box_;
  std::size_t capacity_;
  std::vector<Thumbnail> thumbnails_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_THUMBNAILS_HPP
