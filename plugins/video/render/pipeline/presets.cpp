#include "render/pipeline/presets.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace reelflow::video {

namespace {

constexpr std::int64_t kMB = 1000LL * 1000LL;
constexpr std::int64_t kGB = 1000LL * kMB;

// Figures and where they come from (checked November 2026; platforms change them, so every limit
// can be overridden per step with max_duration / max_file_size):
//
// - tiktok: TikTok Ads Manager video specs as summarised by adfuseai.com and warroominc.com
//   (9:16 1080x1920, >= 24 fps, <= 500 MB) and webbannerexperts.com (app uploads up to 10 min);
//   safe zone: keep 150 px top, 440 px bottom and 150 px right clear at 1080x1920 ("about 780x1330
//   centred", adfuseai.com), i.e. 150 px left as well.
// - douyin, kuaishou: the same full-screen layout as TikTok (tabs on top, action rail on the right,
//   description at the bottom), so TikTok's safe zone; Douyin's upload guidance (todayonhistory.com
//   summary): 24-60 fps, files up to 4 GB. Length: 15 min for app uploads (our figure for both:
//   no official page found in our sources; longer videos go through the web creator centres).
// - youtube-shorts: Shorts are up to 3 minutes since 15 October 2024 (YouTube's announcement);
//   "centre 1080x1350" safe zone (getkoro.app), i.e. 285 px top and bottom, plus the right action
//   rail (about 12 %, our estimate); YouTube's upload limit is 256 GB.
// - instagram-reels: Meta's Reels ads guidance: keep 14 % top, 35 % bottom and 6 % at each side
//   free of text and logos; 23.976-60 fps, up to 4 GB (ishort.planmyfin.in, adcreate.com);
//   in-app Reels are up to 3 minutes.
// - wechat-channels, bilibili, xiaohongshu: no published safe-area figures found; their players
//   put the description at the bottom and actions on the right like Douyin, so we use a slightly
//   smaller version of it (our estimate). Lengths and sizes: WeChat Channels 60 min / 4 GB
//   (conservative), Bilibili 10 h / 8 GB (web upload), Xiaohongshu 15 min / 4 GB (conservative).
constexpr SafeMargins kTikTokSafe{
    .left = 150.0 / 1080, .top = 150.0 / 1920, .right = 150.0 / 1080, .bottom = 440.0 / 1920};
constexpr SafeMargins kChinaFeedSafe{.left = 0.06, .top = 0.07, .right = 0.13, .bottom = 0.2};

constexpr std::array kPresets = {
    PlatformPreset{"douyin", 1080, 1920, {24, 60, 15 * 60.0, 4 * kGB}, kTikTokSafe},
    PlatformPreset{"kuaishou", 1080, 1920, {24, 60, 15 * 60.0, 4 * kGB}, kTikTokSafe},
    PlatformPreset{"wechat-channels", 1080, 1920, {24, 60, 60 * 60.0, 4 * kGB}, kChinaFeedSafe},
    PlatformPreset{"tiktok", 1080, 1920, {24, 60, 10 * 60.0, 500 * kMB}, kTikTokSafe},
    PlatformPreset{"youtube-shorts",
                   1080,
                   1920,
                   {24, 60, 180.0, 256 * kGB},
                   {.left = 0.05, .top = 285.0 / 1920, .right = 0.12, .bottom = 285.0 / 1920}},
    PlatformPreset{"bilibili", 1080, 1920, {0, 60, 10 * 3600.0, 8 * kGB}, kChinaFeedSafe},
    PlatformPreset{"instagram-reels",
                   1080,
                   1920,
                   {23.976, 60, 180.0, 4 * kGB},
                   {.left = 0.06, .top = 0.14, .right = 0.06, .bottom = 0.35}},
    PlatformPreset{"xiaohongshu", 1080, 1920, {24, 60, 15 * 60.0, 4 * kGB}, kChinaFeedSafe},
};

int even_floor(double value) { return std::max(0, static_cast<int>(std::floor(value / 2)) * 2); }

}  // namespace

Rect SafeMargins::rect(int width, int height) const {
  Rect area;
  area.x = even_floor(left * width + 1);  // round the margin up to even
  area.y = even_floor(top * height + 1);
  const int right_edge = width - even_floor(right * width + 1);
  const int bottom_edge = height - even_floor(bottom * height + 1);
  area.width = std::max(2, right_edge - area.x);
  area.height = std::max(2, bottom_edge - area.y);
  return area;
}

std::span<const PlatformPreset> platform_presets() { return kPresets; }

const PlatformPreset* find_preset(std::string_view name) {
  const auto found =
      std::find_if(kPresets.begin(), kPresets.end(),
                   [&](const PlatformPreset& preset) { return preset.name == name; });
  return found == kPresets.end() ? nullptr : &*found;
}

}  // namespace reelflow::video
