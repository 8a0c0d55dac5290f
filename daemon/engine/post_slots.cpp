#include "engine/post_slots.hpp"

#include <algorithm>
#include <map>

#include "triggers/time_zone.hpp"

namespace reelflow::engine {

namespace {

using plugin_host::PostingWindow;
using triggers::TimeZone;

constexpr std::int64_t kDayMs = 86400000;
constexpr std::int64_t kWeekSeconds = 7 * 86400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Zones by name, loaded once per call of the public functions.
class Zones {
 public:
  explicit Zones(const std::filesystem::path& dir) : dir_(dir) {}
  Result<const TimeZone*> get(const std::string& name) {
    const std::string key = name.empty() ? "UTC" : name;
    auto found = zones_.find(key);
    if (found == zones_.end()) {
      auto zone = TimeZone::load(key, dir_);
      if (!zone) return fail("time zone '" + key + "': " + zone.error().message);
      found = zones_.emplace(key, std::move(*zone)).first;
    }
    return &found->second;
  }

 private:
  std::filesystem::path dir_;
  std::map<std::string, TimeZone> zones_;
};

std::int64_t local_day(const TimeZone& zone, std::int64_t ms) {
  return floor_div(zone.to_local(floor_div(ms, 1000)), 86400);
}

// The first instant of the local day after the one `ms` is in.
std::int64_t next_local_midnight(const TimeZone& zone, std::int64_t ms) {
  const std::int64_t day = local_day(zone, ms);
  std::int64_t t = ms;
  while (local_day(zone, t) == day) t += 3600000;  // an hour at a time: DST-safe
  const std::int64_t local = zone.to_local(floor_div(t, 1000));
  return (floor_div(t, 1000) - (local - floor_div(local, 86400) * 86400)) * 1000;
}

std::int64_t window_time(const std::vector<PostingWindow>& windows, const TimeZone& zone,
                         std::int64_t t_ms) {
  std::int64_t t = t_ms;
  for (int round = 0; round < 64; ++round) {
    const std::int64_t local = zone.to_local(floor_div(t, 1000));
    const std::int64_t days = floor_div(local, 86400);
    const std::int64_t weekday = ((days + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
    const std::int64_t week_start = (days - weekday) * 86400;
    const int minute = static_cast<int>((local - week_start) / 60);
    std::int64_t best = -1;
    for (const auto& window : windows) {
      if (minute >= window.start_minute && minute < window.end_minute) return t;
      std::int64_t start = week_start + window.start_minute * 60LL;
      if (window.start_minute <= minute) start += kWeekSeconds;
      if (best < 0 || start < best) best = start;
    }
    if (best < 0) return t;  // no windows
    const auto resolved = zone.resolve(best);
    const std::int64_t at =
        resolved.kind == triggers::LocalResolution::Kind::gap ? resolved.gap_end : resolved.earliest;
    const std::int64_t next = std::max(at * 1000, t + 1000);
    if (next <= t) return t;
    t = next;
  }
  return t;
}

}  // namespace

Result<std::int64_t> next_window_time(const std::vector<PostingWindow>& windows,
                                      const std::string& zone, std::int64_t t_ms,
                                      const std::filesystem::path& zoneinfo_dir) {
  Zones zones(zoneinfo_dir);
  auto loaded = zones.get(zone);
  if (!loaded) return tl::unexpected(loaded.error());
  return window_time(windows, **loaded, t_ms);
}

Result<std::int64_t> next_post_slot(const Pacing& pacing, std::vector<std::int64_t> taken,
                                    std::int64_t now_ms,
                                    const std::filesystem::path& zoneinfo_dir) {
  Zones zones(zoneinfo_dir);
  std::sort(taken.begin(), taken.end());
  const TimeZone* windows_zone = nullptr;
  if (!pacing.windows.empty()) {
    auto zone = zones.get(pacing.windows_zone);
    if (!zone) return tl::unexpected(zone.error());
    windows_zone = *zone;
  }
  std::vector<const TimeZone*> quota_zones;
  for (const auto& quota : pacing.quotas) {
    const TimeZone* zone = nullptr;
    if (quota.window_ms == 0) {
      auto loaded = zones.get(quota.time_zone);
      if (!loaded) return fail("quota '" + quota.name + "': " + loaded.error().message);
      zone = *loaded;
    }
    quota_zones.push_back(zone);
  }

  std::int64_t t = now_ms;
  // Each rule only moves t later; stop when a whole round leaves it where it is.
  for (int round = 0; round < 10000; ++round) {
    const std::int64_t before = t;
    if (pacing.spacing_ms > 0) {
      for (std::int64_t x : taken) {
        if (t < x + pacing.spacing_ms && t > x - pacing.spacing_ms) t = x + pacing.spacing_ms;
      }
    }
    for (std::size_t q = 0; q < pacing.quotas.size(); ++q) {
      const auto& quota = pacing.quotas[q];
      if (quota.window_ms > 0) {
        // Rolling: fewer than `limit` posts in (t - window, t].
        std::vector<std::int64_t> inside;
        for (std::int64_t x : taken) {
          if (x > t - quota.window_ms && x <= t) inside.push_back(x);
        }
        if (static_cast<int>(inside.size()) >= quota.limit) {
          t = inside[inside.size() - static_cast<std::size_t>(quota.limit)] + quota.window_ms;
        }
      } else {
        const TimeZone& zone = *quota_zones[q];
        const std::int64_t day = local_day(zone, t);
        int count = 0;
        for (std::int64_t x : taken) count += local_day(zone, x) == day ? 1 : 0;
        if (count >= quota.limit) t = std::max(t, next_local_midnight(zone, t));
      }
    }
    if (windows_zone != nullptr) t = window_time(pacing.windows, *windows_zone, t);
    if (t == before) return t;
  }
  return t;
}

}  // namespace reelflow::engine
