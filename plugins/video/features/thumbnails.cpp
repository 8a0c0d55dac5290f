#include "features/thumbnails.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace reelflow::video {

namespace {

std::array<std::uint8_t, 64> signature_of(const cv::Mat& bgr) {
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::Mat tiny;
  cv::resize(grey, tiny, {8, 8}, 0, 0, cv::INTER_AREA);
  std::array<std::uint8_t, 64> signature{};
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x)
      signature[static_cast<std::size_t>(y * 8 + x)] = tiny.at<std::uint8_t>(y, x);
  }
  return signature;
}

double signature_difference(const std::array<std::uint8_t, 64>& a,
                            const std::array<std::uint8_t, 64>& b) {
  int total = 0;
  for (std::size_t i = 0; i < a.size(); ++i) total += std::abs(int{a[i]} - int{b[i]});
  return total / 64.0;
}

}  // namespace

ThumbnailReel::ThumbnailReel(int box, std::size_t capacity)
    : box_(std::max(16, box)), capacity_(std::max<std::size_t>(2, capacity)) {
  thumbnails_.reserve(capacity_ + 1);
}

void ThumbnailReel::add(double time, const cv::Mat& bgr, double quality) {
  if (bgr.empty()) return;
  Thumbnail thumbnail;
  thumbnail.time = time;
  thumbnail.quality = quality;
  const double scale = static_cast<double>(box_) / std::max(bgr.cols, bgr.rows);
  if (scale < 1) {
    const cv::Size size(std::max(1, static_cast<int>(std::lround(bgr.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(bgr.rows * scale))));
    cv::resize(bgr, thumbnail.bgr, size, 0, 0, cv::INTER_AREA);
  } else {
    thumbnail.bgr = bgr.clone();
  }
  thumbnail.signature = signature_of(thumbnail.bgr);
  thumbnail.difference =
      thumbnails_.empty() ? std::numeric_limits<double>::infinity()
                          : signature_difference(thumbnails_.back().signature, thumbnail.signature);
  thumbnails_.push_back(std::move(thumbnail));
  if (thumbnails_.size() > capacity_) drop_one();
}

void ThumbnailReel::drop_one() {
  // The adjacent pair that looks most alike; the first thumbnail's difference is infinite.
  std::size_t pair = 1;
  for (std::size_t i = 2; i < thumbnails_.size(); ++i) {
    if (thumbnails_[i].difference < thumbnails_[pair].difference) pair = i;
  }
  const std::size_t drop =
      thumbnails_[pair].quality < thumbnails_[pair - 1].quality ? pair : pair - 1;
  thumbnails_.erase(thumbnails_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (drop < thumbnails_.size()) {
    thumbnails_[drop].difference = drop == 0 ? std::numeric_limits<double>::infinity()
                                             : signature_difference(thumbnails_[drop - 1].signature,
                                                                    thumbnails_[drop].signature);
  }
}

const Thumbnail* ThumbnailReel::best_in(TimeRange range) const {
  if (thumbnails_.empty()) return nullptr;
  const double margin = 0.1 * range.length();
  const TimeRange inner{range.start + margin, range.end - margin};
  const Thumbnail* best = nullptr;
  for (const TimeRange& where : {inner, range}) {
    for (const Thumbnail& thumbnail : thumbnails_) {
      if (where.contains(thumbnail.time) &&
          (best == nullptr || thumbnail.quality > best->quality)) {
        best = &thumbnail;
      }
    }
    if (best != nullptr) return best;
  }
  const double middle = (range.start + range.end) / 2;
  for (const Thumbnail& thumbnail : thumbnails_) {
    if (best == nullptr || std::abs(thumbnail.time - middle) < std::abs(best->time - middle)) {
      best = &thumbnail;
    }
  }
  return best;
}

}  // namespace reelflow::video
