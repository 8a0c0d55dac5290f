// Reframing for video.render: how each source frame becomes an output frame of another shape.
//
//   center  the largest window of the output's aspect, centred, scaled to the output size;
//   fit     the whole source frame scaled to fit inside the output, over a blurred copy of itself
//           (background "blur") or a flat colour ("#RRGGBB");
//   fill    a crop window of the output's aspect that follows faces and salient motion, planned
//           per shot by plan_crop(): held steady while the subject barely moves, a smooth path
//           otherwise, and restarted at each shot boundary (no lag across a cut).
//
// Times are seconds on the source's timeline (AnalysisFrame::time of the same file). Source
// frames are in display orientation (rotation applied), 8-bit BT.709 yuv420p.
//
// Costs (README.md has the figures): plan_crop() is one decode of the range at 320 px analysis
// width plus about a third more for shots, faces and motion; Framer::frame() is one swscale
// bicubic crop+scale (fit: plus a blurred background made at 1/16 of the output size), with no
// allocation per frame.
//
// Thread-safety: plan_crop() shares no state (its `cancelled` hook is called from the decoding
// thread). A Framer is used by one thread at a time.
#ifndef REELFLOW_VIDEO_RENDER_REFRAME_FRAMER_HPP
#define REELFLOW_VIDEO_RENDER_REFRAME_FRAMER_HPP

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "media/frame.hpp"
#include "render/image.hpp"

namespace reelflow::video {

struct ReframeOptions {
  std::string mode = "fill";        // "fill", "fit" or "center"
  std::string background = "blur";  // fit only: "blur" or "#RRGGBB"
};

// A crop window in source pixels (display orientation); x, y, width and height even.
struct CropWindow {
  double time = 0;  // from this time until the next window's
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// The largest window of the output's aspect (width / height), centred; even values.
CropWindow centred_window(int source_width, int source_height, double aspect);

// Checks mode ("fill", "fit", "center") and background ("blur" or "#RRGGBB"), naming the bad
// value. A Framer given options that fail this check frames as "center".
Result<void> check_reframe_options(const ReframeOptions& options);

struct CropPath {
  std::vector<CropWindow> windows;  // sorted by time; empty: centred
  // The window in force at `time` (the centred one when empty).
  CropWindow at(double time, int source_width, int source_height, double aspect) const;
};

// Plans `fill` for the source between start and end (seconds; end <= start: to the end of the
// source) for an output of out_width × out_height: decodes small frames from the start of the
// file (frames before `start` are decoded but not analysed), finds shots, faces and motion, and
// gives every shot its own path. Windows are in full-resolution display pixels, inside the frame,
// all of the centred window's size. Errors name the file and the problem.
Result<CropPath> plan_crop(const std::string& path, double start, double end, int out_width,
                           int out_height, const ReframeOptions& options);

// The planner's parameters (README.md explains each); the defaults are what plan_crop() uses.
struct CropPlanOptions {
  // Frontal-face cascade (Debian's opencv-data); "" plans on motion only.
  std::string face_cascade = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
  int analysis_width = 320;            // width of the decoded frames analysed
  double face_samples_per_second = 5;  // face detection runs on this many frames a second
  double min_face_share = 0.3;        // a shot follows faces when this share of its samples has one
  double motion_bin_seconds = 0.2;    // motion centroids are pooled over bins this long
  double min_motion_energy = 0.0005;  // a bin's mean thresholded frame difference (0..1) to count
  double hold_fraction = 0.05;        // subject spread below this share of the source: held
  double dead_zone_fraction = 0.03;   // the window moves only when the subject strays this far
  double smoothing_seconds = 0.3;     // sigma of the zero-lag (local linear) path smoothing
  std::function<bool()> cancelled;    // polled while decoding; may be empty
};

// plan_crop() with explicit parameters; fails when `cancelled` says so.
Result<CropPath> plan_crop(const std::string& path, double start, double end, int out_width,
                           int out_height, const ReframeOptions& options,
                           const CropPlanOptions& plan);

class Framer {
 public:
  // path: from plan_crop() for "fill"; ignored (may be empty) for "fit" and "center".
  Framer(const ReframeOptions& options, int source_width, int source_height, int out_width,
         int out_height, CropPath path);
  ~Framer();
  Framer(Framer&&) noexcept;
  Framer& operator=(Framer&&) noexcept;

  // Writes the source frame shown at `time` into `out` (out_width × out_height). `source` is
  // source_width × source_height. Fastest when the rows of `out` start on 16-byte boundaries
  // (an AVFrame's do); other rows are scaled into aligned staging rows and copied (~35 % more).
  void frame(const Yuv420& source, double time, Yuv420& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_REFRAME_FRAMER_HPP
