// IANA time zones from the system tz database, for cron schedules that follow a zone's local time
// through daylight-saving changes. GCC 12's libstdc++ has no std::chrono::locate_zone/zoned_time,
// and localtime_r/mktime under a changed TZ are process-global (not thread-safe), so this reads
// the TZif file (RFC 8536, the 64-bit v2+ section) itself: the transition table, its local time
// types, and the POSIX TZ footer that rules times after the last transition.
//
// A TimeZone is an immutable value: safe for concurrent use once loaded. Leap-second ("right/")
// zones are read but their leap-second records are ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace reelflow::triggers {

// Seconds since 1970-01-01T00:00:00 on the zone's wall clock ("local seconds"), as opposed to
// UTC seconds. Both are plain counts so the arithmetic stays explicit.
using LocalSeconds = std::int64_t;
using UtcSeconds = std::int64_t;

// How a wall-clock time maps to instants: none (it falls in a spring-forward gap), one, or two
// (it repeats in a fall-back overlap; `earliest` is the first occurrence).
struct LocalResolution {
  enum class Kind { unique, gap, ambiguous } kind = Kind::unique;
  UtcSeconds earliest = 0;
  UtcSeconds latest = 0;
  // For a gap: the instant the gap ends (the transition), whose wall time is the first valid
  // time after the gap.
  UtcSeconds gap_end = 0;
};

class TimeZone {
 public:
  // Loads `name` ("Europe/Berlin", "UTC") from `zoneinfo_dir`. The name must be a relative path
  // of letters, digits, '_', '-', '+' and '/' components (no "..", no leading '/').
  static Result<TimeZone> load(std::string_view name,
                               const std::filesystem::path& zoneinfo_dir = "/usr/share/zoneinfo");
  // Parses TZif bytes (for tests and for load()).
  static Result<TimeZone> parse(std::string_view name, std::string_view tzif_bytes);
  // A fixed offset zone (east of UTC positive), e.g. UTC.
  static TimeZone fixed(std::string name, std::int32_t utc_offset_seconds);

  const std::string& name() const { return name_; }
  // Offset east of UTC in effect at `instant`.
  std::int32_t utc_offset(UtcSeconds instant) const;
  LocalSeconds to_local(UtcSeconds instant) const { return instant + utc_offset(instant); }
  LocalResolution resolve(LocalSeconds wall_time) const;

  // One rule of a POSIX TZ string ("M3.5.0/2"); public only so the parser can build it.
  struct RuleDate {
    enum class Kind { julian_no_leap, zero_based_day, month_week_day } kind = Kind::month_week_day;
    int day = 0;  // Jn: 1..365, n: 0..365, Mm.w.d: weekday 0..6
    int month = 0;
    int week = 0;
    std::int32_t time = 7200;  // seconds after local midnight, may be negative or > 24 h
  };
  struct PosixRule {
    std::int32_t std_offset = 0;  // east of UTC
    bool has_dst = false;
    std::int32_t dst_offset = 0;
    RuleDate dst_start;
    RuleDate dst_end;
  };

 private:
  struct Transition {
    UtcSeconds at;
    std::int32_t offset_after;
  };

  std::int32_t rule_offset(UtcSeconds instant) const;

  std::string name_;
  std::vector<Transition> transitions_;  // ascending
  std::int32_t initial_offset_ = 0;      // before the first transition
  bool has_rule_ = false;
  PosixRule rule_;
};

// Civil-time helpers shared by the triggers (proleptic Gregorian, days since 1970-01-01).
struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
CivilDate civil_from_days(std::int64_t days);
unsigned weekday(std::int64_t days);  // 0 = Sunday
bool is_leap(std::int64_t year);
unsigned days_in_month(std::int64_t year, unsigned month);
std::int64_t floor_div(std::int64_t numerator, std::int64_t denominator);

// "2026-03-29T01:00:00Z"; with millis: "2026-03-29T01:00:00.123Z".
std::string format_utc_iso(std::chrono::system_clock::time_point instant, bool with_millis = false);
// "2026-03-29T01:00Z"
std::string format_utc_iso_minute(std::chrono::system_clock::time_point instant);

}  // namespace reelflow::triggers
