#include "features/time_range.hpp"

#include <cmath>
#include <cstdio>

namespace reelflow::video {

std::string format_timecode(double seconds) {
  if (!(seconds > 0)) seconds = 0;
  char text[32];
  if (seconds < 3600) {
    const auto tenths = static_cast<long long>(std::llround(seconds * 10));
    std::snprintf(text, sizeof text, "%lld:%02lld.%lld", tenths / 600, tenths / 10 % 60,
                  tenths % 10);
  } else {
    const auto whole = static_cast<long long>(std::llround(seconds));
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", whole / 3600, whole / 60 % 60,
                  whole % 60);
  }
  return text;
}

}  // namespace reelflow::video
