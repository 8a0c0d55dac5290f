// The contact sheet: one PNG per video that a person can read at a glance — a header, a
// timeline bar (shots, the chosen clips as coloured spans with their rank, the covers as
// markers, time ticks), a legend of the clips and covers with time codes and scores, and a grid
// with one thumbnail per shot (its number, start time, length and score; a coloured frame and a
// "CLIP n" tag when it belongs to a chosen clip, a "COVER n" tag when a cover was taken from it).
// The timeline's shot segments are filled from the bottom to their score.
//
// Thumbnails come from the accumulator's ThumbnailReel (one per shot where the reel has one;
// otherwise the nearest). More shots than max_cells: the grid shows max_cells of them, always
// those holding clips and covers, the rest evenly spread, and says so.
//
// Text is drawn with OpenCV's Hershey fonts: ASCII only; other characters of a title show as '?'.
//
// Thread-safety: pure functions.
#ifndef REELFLOW_VIDEO_FEATURES_CONTACT_SHEET_HPP
#define REELFLOW_VIDEO_FEATURES_CONTACT_SHEET_HPP

#include <cmath>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "features/thumbnails.hpp"
#include "features/time_range.hpp"
#include "media/frame.hpp"

namespace reelflow::video {

struct SheetShot {
  TimeRange range;
  double score = std::nan("");  // 0..1; NaN: not scored (shown as "-")
};

struct SheetClip {
  TimeRange range;
  int rank = 1;  // 1 = best
  double score = std::nan("");
};

struct SheetCover {
  double time = 0;
  int rank = 1;
  double score = std::nan("");
};

struct ContactSheet {
  std::string title;             // e.g. the video's file name
  double duration = 0;           // s; 0: the end of the last shot
  std::vector<SheetShot> shots;  // in time order
  std::vector<SheetClip> clips;
  std::vector<SheetCover> covers;
};

struct ContactSheetLayout {
  int width = 1600;     // px
  int max_cells = 200;  // shots shown in the grid at most
};

// The size render_contact_sheet will produce.
cv::Size contact_sheet_size(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                            const ContactSheetLayout& layout = {});

// 8-bit BGR image of contact_sheet_size().
cv::Mat render_contact_sheet(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                             const ContactSheetLayout& layout = {});

// Renders and writes a PNG through a temporary file renamed into place.
Result<void> write_contact_sheet(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                                 const std::string& path, const ContactSheetLayout& layout = {});

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_CONTACT_SHEET_HPP
