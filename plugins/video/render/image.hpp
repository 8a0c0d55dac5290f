// The picture every render effect works on: an 8-bit 4:2:0 frame (yuv420p, BT.709, limited
// range), the encoder's own format, so that no effect pays for a colour-space round trip.
//
// Yuv420 is a non-owning view (pointers into an AVFrame or a Yuv420Image); it is valid as long as
// what it points into. Width and height are even. Plain values; no thread-safety of their own.
#ifndef REELFLOW_VIDEO_RENDER_IMAGE_HPP
#define REELFLOW_VIDEO_RENDER_IMAGE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace reelflow::video {

struct Yuv420 {
  std::uint8_t* plane[3] = {nullptr, nullptr, nullptr};  // Y, U (Cb), V (Cr)
  int stride[3] = {0, 0, 0};                              // bytes per row of each plane
  int width = 0;                                          // luma size; chroma is half each way
  int height = 0;

  std::uint8_t* row(int p, int y) const { return plane[p] + static_cast<std::ptrdiff_t>(y) * stride[p]; }
};

// An owning yuv420p image (tests, title cards, intro/outro stills).
struct Yuv420Image {
  std::vector<std::uint8_t> data;
  Yuv420 view;

  Yuv420Image() = default;
  Yuv420Image(int width, int height) { resize(width, height); }
  Yuv420Image(const Yuv420Image& other) : data(other.data), view(other.view) { rebase(); }
  Yuv420Image& operator=(const Yuv420Image& other) {
    data = other.data;
    view = other.view;
    rebase();
    return *this;
  }

  void resize(int width, int height) {
    const int cw = width / 2, ch = height / 2;
    data.assign(static_cast<std::size_t>(width) * height + 2 * static_cast<std::size_t>(cw) * ch, 0);
    view.width = width;
    view.height = height;
    view.stride[0] = width;
    view.stride[1] = view.stride[2] = cw;
    rebase();
    // Black, limited range.
    std::fill(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(width) * height, std::uint8_t{16});
    std::fill(data.begin() + static_cast<std::ptrdiff_t>(width) * height, data.end(), std::uint8_t{128});
  }

 private:
  void rebase() {
    const std::size_t luma = static_cast<std::size_t>(view.width) * view.height;
    const std::size_t chroma = static_cast<std::size_t>(view.width / 2) * (view.height / 2);
    view.plane[0] = data.data();
    view.plane[1] = data.data() + luma;
    view.plane[2] = data.data() + luma + chroma;
  }
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_IMAGE_HPP
