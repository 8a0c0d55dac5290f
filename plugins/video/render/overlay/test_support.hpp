// Helpers for the overlay tests: frames, comparing them, PNG fixtures in the build folder.
#ifndef REELFLOW_VIDEO_RENDER_OVERLAY_TEST_SUPPORT_HPP
#define REELFLOW_VIDEO_RENDER_OVERLAY_TEST_SUPPORT_HPP

#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "render/image.hpp"
#include "render/overlay/overlay.hpp"

namespace reelflow::video::overlay_test {

inline std::filesystem::path output_dir() {
  const std::filesystem::path dir = std::filesystem::path(OVERLAY_TEST_OUTPUT_DIR) / "fixtures";
  std::filesystem::create_directories(dir);
  return dir;
}

inline Yuv420Image grey_frame(int width, int height, std::uint8_t luma = 126) {
  Yuv420Image image(width, height);
  std::fill(image.data.begin(), image.data.begin() + static_cast<std::ptrdiff_t>(width) * height,
            luma);
  return image;
}

// Bounding box of the pixels (luma, or chroma scaled to luma coordinates) that differ.
struct Diff {
  long changed_luma = 0;
  long changed_chroma = 0;
  int left = 1 << 30, top = 1 << 30, right = -1, bottom = -1;  // right/bottom exclusive
  bool none() const { return changed_luma == 0 && changed_chroma == 0; }
  bool inside(const Rect& r) const {
    return none() ||
           (left >= r.x && top >= r.y && right <= r.x + r.width && bottom <= r.y + r.height);
  }
};

inline Diff diff(const Yuv420Image& a, const Yuv420Image& b, int threshold = 0) {
  Diff d;
  const Yuv420& va = a.view;
  const Yuv420& vb = b.view;
  for (int p = 0; p < 3; ++p) {
    const int scale = p == 0 ? 1 : 2;
    const int w = va.width / scale, h = va.height / scale;
    for (int y = 0; y < h; ++y) {
      const std::uint8_t* ra = va.row(p, y);
      const std::uint8_t* rb = vb.row(p, y);
      for (int x = 0; x < w; ++x) {
        if (std::abs(ra[x] - rb[x]) <= threshold) continue;
        (p == 0 ? d.changed_luma : d.changed_chroma)++;
        d.left = std::min(d.left, x * scale);
        d.top = std::min(d.top, y * scale);
        d.right = std::max(d.right, (x + 1) * scale);
        d.bottom = std::max(d.bottom, (y + 1) * scale);
      }
    }
  }
  return d;
}

// For looking at: the frame as a BGR PNG.
inline void write_png(const Yuv420Image& image, const std::filesystem::path& path) {
  cv::Mat i420(image.view.height * 3 / 2, image.view.width, CV_8UC1,
               const_cast<std::uint8_t*>(image.data.data()));
  cv::Mat bgr;
  cv::cvtColor(i420, bgr, cv::COLOR_YUV2BGR_I420);
  cv::imwrite(path.string(), bgr);
}

}  // namespace reelflow::video::overlay_test

#endif  // REELFLOW_VIDEO_RENDER_OVERLAY_TEST_SUPPORT_HPP
