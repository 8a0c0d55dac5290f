// A span of the video's time line, and how the features code prints one.
//
// Plain values; no thread-safety concerns.
#ifndef REELFLOW_VIDEO_FEATURES_TIME_RANGE_HPP
#define REELFLOW_VIDEO_FEATURES_TIME_RANGE_HPP

#include <string>

namespace reelflow::video {

// [start, end) in seconds on the time line of AnalysisFrame::time. A shot, a clip or the whole
// video. Callers convert their own shot and clip types to this (start and end are all it needs).
struct TimeRange {
  double start = 0;
  double end = 0;

  double length() const { return end > start ? end - start : 0; }
  bool contains(double time) const { return time >= start && time < end; }
};

// "m:ss.s" below an hour, "h:mm:ss" from an hour on; negative times print as 0.
std::string format_timecode(double seconds);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_TIME_RANGE_HPP
