// Choosing highlight clips from scored shots: candidate ranges that start and end on shot
// boundaries (a shot longer than `max` is cut into `target`-long pieces), no shorter than `min`,
// no longer than `max`, ranked by the duration-weighted mean score of their shots with a penalty
// for straying from `target`, then picked greedily best-first without overlap.
// Pure computation; thread-safe.
#ifndef REELFLOW_VIDEO_CLIPS_CLIP_SELECTION_HPP
#define REELFLOW_VIDEO_CLIPS_CLIP_SELECTION_HPP

#include <cstddef>
#include <vector>

namespace reelflow::video {

struct ScoredShot {
  double start = 0;  // seconds
  double end = 0;
  double score = 0;  // 0..1
};

struct ClipTarget {
  double target = 30;
  double min = 10;
  double max = 60;
  std::size_t count = 3;
};

struct ClipChoice {
  double start = 0;
  double end = 0;
  double score = 0;            // ranking score, 0..1
  std::size_t first_shot = 0;  // shots covered, inclusive
  std::size_t last_shot = 0;
};

// Best first. Empty when no range of at least `min` exists (a video shorter than `min`).
std::vector<ClipChoice> select_clips(const std::vector<ScoredShot>& shots,
                                     const ClipTarget& target);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_CLIPS_CLIP_SELECTION_HPP
