#include "sprite.hpp"

#include <algorithm>
#include <cmath>

namespace reelflow::video::overlay {
namespace {

std::uint8_t quantise(float value) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
}

// x / 255 rounded, exact for x in 0 .. 255 × 255.
inline unsigned divide_by_255(unsigned x) { return (x + 128 + ((x + 128) >> 8)) >> 8; }

// row[shift + i] = premultiplied[i] + row[shift + i] × (1 − alpha[i]), for i in [begin, end).
void blend_row(std::uint8_t* row, int shift, const std::uint8_t* premultiplied,
               const std::uint8_t* alpha, int begin, int end) {
  std::uint8_t* dst = row + shift + begin;
  premultiplied += begin;
  alpha += begin;
  for (int i = 0; i < end - begin; ++i) {
    const unsigned keep = 255u - alpha[i];
    dst[i] = static_cast<std::uint8_t>(premultiplied[i] + divide_by_255(dst[i] * keep));
  }
}

}  // namespace

YuvColour bt709_limited(float red, float green, float blue) {
  const float luma = 0.2126f * red + 0.7152f * green + 0.0722f * blue;
  return {16.0f + 219.0f * luma, 128.0f + 224.0f * (blue - luma) / 1.8556f,
          128.0f + 224.0f * (red - luma) / 1.5748f};
}

void PremultipliedCanvas::reset(int new_width, int new_height) {
  width = (std::max(new_width, 0) + 1) & ~1;
  height = (std::max(new_height, 0) + 1) & ~1;
  const std::size_t size = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  y.assign(size, 0.0f);
  cb.assign(size, 0.0f);
  cr.assign(size, 0.0f);
  alpha.assign(size, 0.0f);
}

void Sprite::build(const PremultipliedCanvas& canvas, int x, int y) {
  x_ = x & ~1;
  y_ = y & ~1;
  width_ = canvas.width;
  height_ = canvas.height;
  const std::size_t luma_size =
      static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_);
  luma_.resize(luma_size);
  luma_alpha_.resize(luma_size);
  luma_spans_.resize(static_cast<std::size_t>(height_));
  for (int row = 0; row < height_; ++row) {
    Span span{width_, 0};
    for (int col = 0; col < width_; ++col) {
      const std::size_t i = canvas.index(col, row);
      const std::uint8_t alpha = quantise(canvas.alpha[i] * 255.0f);
      // premultiplied ≤ alpha keeps every blended value ≤ 255.
      luma_[i] = std::min(quantise(canvas.y[i]), alpha);
      luma_alpha_[i] = alpha;
      if (alpha != 0) {
        span.begin = std::min(span.begin, col);
        span.end = col + 1;
      }
    }
    if (span.end == 0) span.begin = 0;
    luma_spans_[static_cast<std::size_t>(row)] = span;
  }

  const int chroma_width = width_ / 2, chroma_height = height_ / 2;
  const std::size_t chroma_size =
      static_cast<std::size_t>(chroma_width) * static_cast<std::size_t>(chroma_height);
  cb_.resize(chroma_size);
  cr_.resize(chroma_size);
  chroma_alpha_.resize(chroma_size);
  chroma_spans_.resize(static_cast<std::size_t>(chroma_height));
  for (int row = 0; row < chroma_height; ++row) {
    Span span{chroma_width, 0};
    for (int col = 0; col < chroma_width; ++col) {
      const std::size_t a = canvas.index(2 * col, 2 * row), b = a + 1;
      const std::size_t c = a + static_cast<std::size_t>(canvas.width), d = c + 1;
      const float alpha =
          0.25f * (canvas.alpha[a] + canvas.alpha[b] + canvas.alpha[c] + canvas.alpha[d]);
      const float cb = 0.25f * (canvas.cb[a] + canvas.cb[b] + canvas.cb[c] + canvas.cb[d]);
      const float cr = 0.25f * (canvas.cr[a] + canvas.cr[b] + canvas.cr[c] + canvas.cr[d]);
      const std::size_t i = static_cast<std::size_t>(row) * static_cast<std::size_t>(chroma_width) +
                            static_cast<std::size_t>(col);
      const std::uint8_t alpha8 = quantise(alpha * 255.0f);
      chroma_alpha_[i] = alpha8;
      cb_[i] = std::min(quantise(cb), alpha8);
      cr_[i] = std::min(quantise(cr), alpha8);
      if (alpha8 != 0) {
        span.begin = std::min(span.begin, col);
        span.end = col + 1;
      }
    }
    if (span.end == 0) span.begin = 0;
    chroma_spans_[static_cast<std::size_t>(row)] = span;
  }
}

void Sprite::blend(Yuv420& frame) const {
  if (empty()) return;
  // Luma rows.
  const int first_row = std::max(0, -y_), last_row = std::min(height_, frame.height - y_);
  for (int row = first_row; row < last_row; ++row) {
    const Span& span = luma_spans_[static_cast<std::size_t>(row)];
    const int begin = std::max(span.begin, -x_), end = std::min(span.end, frame.width - x_);
    if (begin >= end) continue;
    const std::size_t offset = static_cast<std::size_t>(row) * static_cast<std::size_t>(width_);
    blend_row(frame.row(0, y_ + row), x_, luma_.data() + offset, luma_alpha_.data() + offset, begin,
              end);
  }
  // Chroma rows (the sprite's position is even, so its chroma lines up with the frame's).
  const int chroma_x = x_ / 2, chroma_y = y_ / 2, chroma_width = width_ / 2;
  const int frame_chroma_width = frame.width / 2, frame_chroma_height = frame.height / 2;
  const int first = std::max(0, -chroma_y),
            last = std::min(height_ / 2, frame_chroma_height - chroma_y);
  for (int row = first; row < last; ++row) {
    const Span& span = chroma_spans_[static_cast<std::size_t>(row)];
    const int begin = std::max(span.begin, -chroma_x);
    const int end = std::min(span.end, frame_chroma_width - chroma_x);
    if (begin >= end) continue;
    const std::size_t offset =
        static_cast<std::size_t>(row) * static_cast<std::size_t>(chroma_width);
    const std::uint8_t* alpha = chroma_alpha_.data() + offset;
    blend_row(frame.row(1, chroma_y + row), chroma_x, cb_.data() + offset, alpha, begin, end);
    blend_row(frame.row(2, chroma_y + row), chroma_x, cr_.data() + offset, alpha, begin, end);
  }
}

}  // namespace reelflow::video::overlay
