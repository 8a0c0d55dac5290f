// Platform presets for video.render: the output size each platform shows full screen, the frame
// rates, lengths and file sizes it accepts, and its UI safe area (where captions and logos are not
// covered by buttons, the description or the tabs). Sources of the figures are in presets.cpp.
//
// Plain constant data; safe for concurrent use.
#ifndef REELFLOW_VIDEO_RENDER_PIPELINE_PRESETS_HPP
#define REELFLOW_VIDEO_RENDER_PIPELINE_PRESETS_HPP

#include <cstdint>
#include <span>
#include <string_view>

#include "render/overlay/overlay.hpp"

namespace reelflow::video {

// Fractions of the output's width (left, right) and height (top, bottom) kept clear at each edge.
struct SafeMargins {
  double left = 0.05;
  double top = 0.05;
  double right = 0.05;
  double bottom = 0.05;

  Rect rect(int width, int height) const;  // the safe area in output pixels (even, non-empty)
};

struct PlatformLimits {
  double min_fps = 0;              // 0: none
  double max_fps = 60;             // frames above it are dropped evenly
  double max_duration = 0;         // seconds; 0: none
  std::int64_t max_file_size = 0;  // bytes; 0: none
};

struct PlatformPreset {
  std::string_view name;
  int width = 1080;
  int height = 1920;
  PlatformLimits limits;
  SafeMargins safe;
};

std::span<const PlatformPreset> platform_presets();
const PlatformPreset* find_preset(std::string_view name);  // nullptr when unknown

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_PIPELINE_PRESETS_HPP
