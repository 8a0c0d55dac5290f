#include "engine/publish_time.hpp"

#include <cctype>
#include <cmath>
#include <string>

#include "common/duration.hpp"
#include "common/iso_time.hpp"
#include "triggers/time_zone.hpp"

namespace reelflow::engine {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool has_offset(std::string_view text) {
  if (text.size() < 17) return false;
  if (text.back() == 'Z' || text.back() == 'z') return true;
  // An offset: a '+' or '-' after the time part (position 16 onwards).
  return text.find_first_of("+-", 16) != std::string_view::npos;
}

}  // namespace

Result<std::int64_t> resolve_publish_at(std::string_view text, std::string_view time_zone,
                                        std::int64_t now_ms,
                                        const std::filesystem::path& zoneinfo_dir) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty()) return now_ms;
  if (text.front() == '+') {
    auto seconds = parse_duration(text.substr(1));
    if (!seconds || *seconds < 0) {
      return fail("publish_at '" + std::string(text) +
                  "': after '+' give a duration such as 30m, 2h or 1d");
    }
    return now_ms + static_cast<std::int64_t>(std::llround(*seconds * 1000));
  }
  if (has_offset(text)) {
    auto instant = parse_iso_time(text);
    if (!instant) return fail("publish_at: " + instant.error().message);
    return *instant;
  }
  // A wall-clock time in time_zone: YYYY-MM-DD[ T]HH:MM[:SS].
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  const bool shape = text.size() >= 16 && digits(text, 0, 4, year) && text[4] == '-' &&
                     digits(text, 5, 2, month) && text[7] == '-' && digits(text, 8, 2, day) &&
                     (text[10] == ' ' || text[10] == 'T') && digits(text, 11, 2, hour) &&
                     text[13] == ':' && digits(text, 14, 2, minute) &&
                     (text.size() == 16 ||
                      (text.size() == 19 && text[16] == ':' && digits(text, 17, 2, second)));
  if (!shape || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 59) {
    return fail("publish_at '" + std::string(text) +
                "' is not a time: write '2026-12-01 18:00' (in time_zone), an ISO 8601 time "
                "with an offset, or a delay like '+2h'");
  }
  auto zone = triggers::TimeZone::load(time_zone.empty() ? "UTC" : time_zone, zoneinfo_dir);
  if (!zone) return fail("time_zone: " + zone.error().message);
  const triggers::LocalSeconds wall =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second;
  const auto resolution = zone->resolve(wall);
  const triggers::UtcSeconds instant =
      resolution.kind == triggers::LocalResolution::Kind::gap ? resolution.gap_end
                                                              : resolution.earliest;
  return static_cast<std::int64_t>(instant) * 1000;
}

}  // namespace reelflow::engine
