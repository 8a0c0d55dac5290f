// When the next post of an account may go: its platform's quotas and its own limits
// (plugin_host/publish_limits.hpp), the spacing between its posts, and, for `publish_at: best`,
// the posting windows.
//
// Thread-safety: pure functions (zone files are read on each call).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "plugin_host/publish_limits.hpp"

namespace reelflow::engine {

struct Pacing {
  std::int64_t spacing_ms = 0;                        // at least this far from any other post
  std::vector<plugin_host::PostQuota> quotas;          // fewer than `limit` posts per window
  std::vector<plugin_host::PostingWindow> windows;     // non-empty: only inside one of these
  std::string windows_zone = "UTC";                    // the zone the windows are written in

  bool empty() const { return spacing_ms <= 0 && quotas.empty() && windows.empty(); }
};

// The earliest instant at or after now_ms (milliseconds since the epoch) at which one more post
// keeps every rule, given the instants of the account's other posts (`taken`: published or
// scheduled, in any order). The error names a time zone that cannot be loaded.
Result<std::int64_t> next_post_slot(const Pacing& pacing, std::vector<std::int64_t> taken,
                                    std::int64_t now_ms,
                                    const std::filesystem::path& zoneinfo_dir =
                                        "/usr/share/zoneinfo");

// The earliest instant at or after t_ms inside one of `windows`, written in `zone` (DST-correct:
// a window start that a spring-forward gap skips begins at the end of the gap).
Result<std::int64_t> next_window_time(const std::vector<plugin_host::PostingWindow>& windows,
                                      const std::string& zone, std::int64_t t_ms,
                                      const std::filesystem::path& zoneinfo_dir =
                                          "/usr/share/zoneinfo");

}  // namespace reelflow::engine
