// When a post goes out: a publisher step's `publish_at` and `time_zone` options (plugin_host/
// publish_options.hpp) resolved to an instant.
//
//   ""                          now
//   "+2h", "+90m", "+1d"        that long after now (the time the run reached the step)
//   "2026-12-01T18:00:00+08:00" that instant (any ISO 8601 time with an offset or Z)
//   "2026-12-01 18:00[:SS]"     that wall-clock time in time_zone (IANA name, DST-correct): a time
//   "2026-12-01T18:00"          that a spring-forward gap skips moves to the end of the gap; a
//                               time that a fall-back repeats means its first occurrence
//
// Thread-safety: pure functions (the zone file is read on each call).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/result.hpp"

namespace reelflow::engine {

// Milliseconds since the Unix epoch. The error says what is wrong with the text or the zone.
Result<std::int64_t> resolve_publish_at(std::string_view text, std::string_view time_zone,
                                        std::int64_t now_ms,
                                        const std::filesystem::path& zoneinfo_dir =
                                            "/usr/share/zoneinfo");

}  // namespace reelflow::engine
