#include "clips/clip_selection.hpp"

#include <algorithm>
#include <cmath>

namespace reelflow::video {

namespace {

// Splits shots longer than max into target-long pieces (the last piece takes the remainder
// when it is shorter than min), so every candidate still starts and ends on a shot boundary
// or a piece boundary inside one long take.
std::vector<ScoredShot> pieces(const std::vector<ScoredShot>& shots, const ClipTarget& target,
                               std::vector<std::size_t>& origin) {
  std::vector<ScoredShot> out;
  for (std::size_t i = 0; i < shots.size(); ++i) {
    const ScoredShot& shot = shots[i];
    if (shot.end - shot.start <= target.max) {
      out.push_back(shot);
      origin.push_back(i);
      continue;
    }
    double at = shot.start;
    while (at < shot.end - 1e-9) {
      double end = std::min(shot.end, at + target.target);
      if (shot.end - end < target.min) end = shot.end;
      if (end - at > target.max) end = at + target.target;
      out.push_back({at, end, shot.score});
      origin.push_back(i);
      at = end;
    }
  }
  return out;
}

}  // namespace

std::vector<ClipChoice> select_clips(const std::vector<ScoredShot>& shots,
                                     const ClipTarget& target) {
  std::vector<std::size_t> origin;
  const std::vector<ScoredShot> units = pieces(shots, target, origin);
  std::vector<ClipChoice> candidates;
  for (std::size_t first = 0; first < units.size(); ++first) {
    double weighted = 0;
    for (std::size_t last = first; last < units.size(); ++last) {
      const double duration = units[last].end - units[first].start;
      if (duration > target.max + 1e-9) break;
      weighted += units[last].score * (units[last].end - units[last].start);
      if (duration + 1e-9 < target.min) continue;
      const double mean = weighted / duration;
      // Up to 30% off for a clip far from the target length.
      const double off = std::min(1.0, std::abs(duration - target.target) / target.target);
      candidates.push_back({units[first].start, units[last].end, mean * (1.0 - 0.3 * off),
                            origin[first], origin[last]});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const ClipChoice& a, const ClipChoice& b) { return a.score > b.score; });
  std::vector<ClipChoice> chosen;
  for (const ClipChoice& candidate : candidates) {
    if (chosen.size() >= target.count) break;
    const bool overlaps = std::any_of(chosen.begin(), chosen.end(), [&](const ClipChoice& c) {
      return candidate.start < c.end - 1e-9 && c.start < candidate.end - 1e-9;
    });
    if (!overlaps) chosen.push_back(candidate);
  }
  return chosen;
}

}  // namespace reelflow::video
