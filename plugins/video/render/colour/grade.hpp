// Colour for video.render: a .cube 3D LUT (up to 65³; trilinear or tetrahedral interpolation)
// plus brightness, contrast and saturation, applied to 8-bit BT.709 limited-range yuv420p frames
// in place. The LUT is defined on RGB; applying it must cost far less than libavfilter's lut3d.
//
// apply() is per pixel (per 2×2 block for chroma), so a caller may split a frame into bands of
// rows (views with even row boundaries) and grade them on several threads.
//
// Thread-safety: a ColourGrade is immutable after create(); apply() may run concurrently on
// disjoint frames or bands.
#ifndef REELFLOW_VIDEO_RENDER_COLOUR_GRADE_HPP
#define REELFLOW_VIDEO_RENDER_COLOUR_GRADE_HPP

#include <memory>
#include <string>

#include "media/frame.hpp"
#include "render/image.hpp"

namespace reelflow::video {

struct ColourOptions {
  std::string lut;                           // .cube file, "" for none
  std::string interpolation = "tetrahedral";  // or "trilinear"
  double brightness = 0;                      // -1 .. 1, added to luma (1 = full range)
  double contrast = 1;                        // 0 .. 3, around mid grey
  double saturation = 1;                      // 0 .. 3, 0 = grey
};

class ColourGrade {
 public:
  // Errors name the .cube file, the line and the problem.
  static Result<ColourGrade> create(const ColourOptions& options);
  ~ColourGrade();
  ColourGrade(ColourGrade&&) noexcept;
  ColourGrade& operator=(ColourGrade&&) noexcept;

  bool identity() const;  // nothing to do: the pipeline skips apply()
  void apply(Yuv420& frame) const;

 private:
  struct Impl;
  explicit ColourGrade(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_COLOUR_GRADE_HPP
