// Cover frames: choosing the moments to use as a video's or a clip's cover, and writing them.
//
// Candidates are the accumulator's samples (the best-looking frame of every 0.5 s window, so
// the choice is made on small frames during the streaming pass and only times are kept). After
// the pass, with the shot list known, select_covers applies the Hecate filters (Song et al.,
// "To click or not to click", 2016) and ranks what is left:
//   - dark or blown out: mean luma < min_brightness or > max_brightness;
//   - uniform: luma contrast < min_contrast or luma entropy < min_entropy (black, solid colour,
//     fades);
//   - blurry: sharpness below an absolute floor or below a share of the range's median (so a
//     soft-looking video still gets its sharpest moments);
//   - transition: within boundary_margin of a shot boundary, inside a given transition span,
//     next to a motion peak (cut, whip pan, flash) or on a brightness ramp (fade in or out: mean
//     luma moving more than 6 grey levels across ±3 frames). Dissolves without a brightness
//     change are caught only through the transition spans the shot detector reports;
// then scores the rest by sharpness, exposure, contrast, colourfulness, BRISQUE and faces (a
// visible face is worth the most single bonus; see cover_score) and picks the best `count` spread
// over the range: at most one per shot and at least min_gap apart. When too few pass, it first
// allows several per shot, then takes filtered-out candidates (CoverChoice::passed_filters says
// so), so a video always gets its covers.
//
// The caller then fetches each chosen time at full resolution (media/decoder.hpp frame_at) and
// writes it with write_cover.
//
// Thread-safety: pure functions.
#ifndef REELFLOW_VIDEO_FEATURES_COVERS_HPP
#define REELFLOW_VIDEO_FEATURES_COVERS_HPP

#include <cstddef>
#include <limits>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "features/accumulator.hpp"
#include "features/time_range.hpp"
#include "media/frame.hpp"

namespace reelflow::video {

struct CoverOptions {
  int count = 3;
  double min_gap = -1;  // s between covers; negative: the range's length / (2·count)
  bool one_per_shot = true;
  double boundary_margin = 0.3;  // s around a shot boundary counted as transition
  double min_brightness = 35;    // mean luma, 0..255
  double max_brightness = 230;
  double min_contrast = 10;          // luma standard deviation
  double min_entropy = 3.5;          // luma entropy, bits
  double min_sharpness = 10;         // variance of Laplacian, absolute floor
  double relative_sharpness = 0.25;  // of the range's median sample sharpness
  double max_motion = 20;  // peak motion within ±3 frames (also at least 2.5× the median)
};

struct CoverChoice {
  static constexpr std::size_t kNoShot = std::numeric_limits<std::size_t>::max();
  double time = 0;             // s: pass to frame_at()
  double score = 0;            // 0..1, see cover_score
  std::size_t shot = kNoShot;  // index into the shots given
  bool passed_filters = true;  // false: taken only because too few candidates passed
};

// Best first. At most `options.count`; fewer only when the range holds fewer samples.
// `transitions`: spans of gradual transitions (fades, dissolves), may be empty.
std::vector<CoverChoice> select_covers(const FeatureAccumulator& features,
                                       std::span<const TimeRange> shots, TimeRange range,
                                       const CoverOptions& options = {},
                                       std::span<const TimeRange> transitions = {});

// 0..1: 0.25 sharpness (log scale, full at a Laplacian variance of 1500), 0.15 each exposure
// (mid-grey best), contrast (full at 64), colourfulness (full at 90), BRISQUE (1 − score/100; 0.5
// when unmeasured) and faces (0 without, 0.6..1 growing with the largest face up to 8 % of the
// frame).
double cover_score(const FrameRecord& frame, double brisque, int faces, double face_area);

// Writes an 8-bit BGR (or grey) frame as a baseline JPEG of the given quality (1..100), through
// a temporary file renamed into place, so a failure leaves no partial file at `path`.
Result<void> write_cover(const cv::Mat& frame, const std::string& path, int quality = 90);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_COVERS_HPP
