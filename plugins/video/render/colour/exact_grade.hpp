// The exact colour transform of a ColourOptions, in floating point: what ColourGrade's tables are
// sampled from, and the reference its tests and benchmark measure the fast path against.
//
// Per pixel: limited-range BT.709 Y'CbCr → R'G'B' (clamped to 0..1, as an 8-bit RGB conversion
// such as FFmpeg's before lut3d does) → the LUT (trilinear or tetrahedral) → clamped to 0..1 →
// Y'CbCr; then contrast around mid grey and brightness on luma, saturation on chroma. Without a
// LUT the RGB round trip is skipped (nothing clips).
//
// In a 4:2:0 frame every luma pixel is graded with its 2×2 block's chroma, and the block's new
// chroma is the mean of its four pixels' results (apply()).
//
// Immutable after create(); safe to use from several threads.
#ifndef REELFLOW_VIDEO_RENDER_COLOUR_EXACT_GRADE_HPP
#define REELFLOW_VIDEO_RENDER_COLOUR_EXACT_GRADE_HPP

#include <array>
#include <optional>

#include "render/colour/cube.hpp"
#include "render/colour/grade.hpp"

namespace reelflow::video {

class ExactGrade {
 public:
  // Checks the options (interpolation name, ranges) and reads the LUT.
  static Result<ExactGrade> create(const ColourOptions& options);

  bool has_lut() const { return lut_.has_value(); }
  bool neutral() const { return !lut_ && brightness_ == 0 && contrast_ == 1 && saturation_ == 1; }

  // 8-bit code values in (any 0..255, fractional allowed), code values out, clamped to 0..255,
  // not rounded.
  std::array<double, 3> transform(double y, double u, double v) const;

  // What ColourGrade's table samples: transform(), except where R'G'B' lies outside 0..1 by
  // at most kGamutMargin: there the in-gamut function is continued linearly (no clamp around the
  // LUT, which is extrapolated from its outer cells). The table's nodes next to the gamut's edge
  // lie just outside it, and interpolating between clamped nodes would bend in-gamut colours
  // near the edge by several codes; continued nodes keep them exact. The margin covers a chroma
  // cell (8 codes move R'G'B' by < 0.07).
  static constexpr double kGamutMargin = 0.1;
  std::array<double, 3> extended_transform(double y, double u, double v) const;

  // The per-pixel reference (slow): see above.
  void apply(Yuv420& frame) const;

 private:
  std::array<double, 3> transform(double y, double u, double v, bool extended) const;

  std::optional<CubeLut> lut_;
  LutInterpolation interpolation_ = LutInterpolation::kTetrahedral;
  double brightness_ = 0;
  double contrast_ = 1;
  double saturation_ = 1;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_COLOUR_EXACT_GRADE_HPP
