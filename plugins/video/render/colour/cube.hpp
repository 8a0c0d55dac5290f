// A 3D colour lookup table read from a .cube file (Adobe Cube LUT Specification 1.0, as written by
// DaVinci Resolve and most grading tools), and its evaluation on RGB with trilinear or tetrahedral
// interpolation.
//
// Accepted: `TITLE "..."`, `LUT_3D_SIZE N` (2..65 here; the spec allows 256), `DOMAIN_MIN r g b`,
// `DOMAIN_MAX r g b` (defaults 0 0 0 and 1 1 1), Resolve's `LUT_3D_INPUT_RANGE min max`, `#`
// comments and blank lines anywhere, keywords before the data, then N³ lines of `r g b` with red
// changing fastest, then green, then blue. Other upper-case keywords (vendors' own) are ignored
// before the data. Rejected with the file, the line and the problem: a 1D-only file (`LUT_1D_SIZE`
// without `LUT_3D_SIZE`), a combined 1D + 3D file, a missing, repeated or out of range size, data
// before the size, keywords after the data, malformed or non-finite numbers, DOMAIN_MIN ≥
// DOMAIN_MAX, too few or too many data lines.
//
// Plain values; a CubeLut is immutable after parsing and safe to read from several threads.
#ifndef REELFLOW_VIDEO_RENDER_COLOUR_CUBE_HPP
#define REELFLOW_VIDEO_RENDER_COLOUR_CUBE_HPP

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

enum class LutInterpolation { kTrilinear, kTetrahedral };

struct CubeLut {
  static constexpr int kMaxSize = 65;

  std::string title;
  int size = 0;                                 // N: N×N×N entries
  std::array<float, 3> domain_min = {0, 0, 0};  // input mapped to the first node
  std::array<float, 3> domain_max = {1, 1, 1};  // input mapped to the last node
  std::vector<std::array<float, 3>> table;      // N³ RGB outputs, red fastest

  const std::array<float, 3>& at(int r, int g, int b) const {
    return table[(static_cast<std::size_t>(b) * size + g) * size + r];
  }

  // The LUT's output for an RGB input, clamped to the domain first as the spec says; or, with
  // `extrapolate`, continued linearly from the outermost cells (for inputs a little outside).
  std::array<double, 3> sample(double r, double g, double b, LutInterpolation interpolation,
                               bool extrapolate = false) const;
};

// `name` is what errors call the input (the file's path).
Result<CubeLut> parse_cube(std::string_view text, const std::string& name);
Result<CubeLut> read_cube_file(const std::string& path);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_COLOUR_CUBE_HPP
