// A premultiplied Y'CbCr + alpha picture (8-bit, BT.709 limited range) placed at an even
// position of the output, blended into yuv420p frames with "over". The logo and the rendered
// captions are both turned into one once, so that a frame pays only for the blend: per pixel one
// multiply-add, and only over the rows' spans where alpha is not zero.
//
// Built from full-resolution float planes; the chroma planes are the 2×2 averages of the
// premultiplied chroma and of the alpha. Plain value; blend() is const and may run concurrently.
#ifndef REELFLOW_VIDEO_RENDER_OVERLAY_SPRITE_HPP
#define REELFLOW_VIDEO_RENDER_OVERLAY_SPRITE_HPP

#include <cstdint>
#include <vector>

#include "render/image.hpp"

namespace reelflow::video::overlay {

// BT.709 limited-range code values of an RGB colour (components 0..1).
struct YuvColour {
  float y = 16, cb = 128, cr = 128;
};
YuvColour bt709_limited(float red, float green, float blue);

// Full-resolution premultiplied planes a sprite is made from: y/cb/cr hold code value × alpha
// (0..255 scale), alpha holds 0..1. Reused between builds to avoid reallocating.
struct PremultipliedCanvas {
  int width = 0;   // even
  int height = 0;  // even
  std::vector<float> y, cb, cr, alpha;

  // Resizes to width × height (rounded up to even) and clears to fully transparent.
  void reset(int new_width, int new_height);
  std::size_t index(int x, int row) const {
    return static_cast<std::size_t>(row) * static_cast<std::size_t>(width) +
           static_cast<std::size_t>(x);
  }
};

class Sprite {
 public:
  // Quantises the canvas into this sprite at (x, y) (both made even by rounding down). Reuses
  // the sprite's buffers: no allocation once they are large enough.
  void build(const PremultipliedCanvas& canvas, int x, int y);
  void clear() { width_ = height_ = 0; }
  bool empty() const { return width_ == 0 || height_ == 0; }

  // Blends into frame; the parts outside the frame are skipped.
  void blend(Yuv420& frame) const;

  int x() const { return x_; }
  int y() const { return y_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  struct Span {
    int begin = 0;  // first column with alpha > 0
    int end = 0;    // one past the last; begin == end: nothing on this row
  };
  int x_ = 0, y_ = 0, width_ = 0, height_ = 0;
  std::vector<std::uint8_t> luma_, luma_alpha_;       // width × height
  std::vector<std::uint8_t> cb_, cr_, chroma_alpha_;  // width/2 × height/2
  std::vector<Span> luma_spans_, chroma_spans_;
};

}  // namespace reelflow::video::overlay

#endif  // REELFLOW_VIDEO_RENDER_OVERLAY_SPRITE_HPP
