#include "common/iso_time.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace reelflow {

namespace {

// Days from 1970-01-01 to the given civil date (proleptic Gregorian), after H. Hinnant.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
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

}  // namespace

Result<std::int64_t> parse_iso_time(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail("'" + std::string(text) + "' is not a time: " + why +
                " (write it like 2026-12-01T09:00:00+08:00 or 2026-12-01T01:00:00Z)");
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day)) {
    return bad("expected a date YYYY-MM-DD");
  }
  if (text.size() < 16 || (text[10] != 'T' && text[10] != ' ') || !digits(text, 11, 2, hour) ||
      text[13] != ':' || !digits(text, 14, 2, minute)) {
    return bad("expected a time of day after the date");
  }
  std::size_t at = 16;
  if (at < text.size() && text[at] == ':') {
    if (!digits(text, at + 1, 2, second)) return bad("expected seconds");
    at += 3;
    if (at < text.size() && text[at] == '.') {
      std::size_t start = ++at;
      int scale = 100;
      while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
        millis += (text[at] - '0') * scale;
        scale /= 10;
        ++at;
      }
      if (at == start) return bad("expected digits after the decimal point");
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad("a field is out of range");
  }
  static const int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDaysInMonth[month - 1] || (month == 2 && day == 29 && !leap)) {
    return bad("there is no such day");
  }
  int offset_minutes = 0;
  if (at >= text.size()) return bad("it has no time zone offset");
  if (text[at] == 'Z' || text[at] == 'z') {
    ++at;
  } else if (text[at] == '+' || text[at] == '-') {
    int sign = text[at] == '-' ? -1 : 1;
    int offset_hours = 0, offset_mins = 0;
    if (!digits(text, at + 1, 2, offset_hours)) return bad("expected an offset like +08:00");
    at += 3;
    if (at < text.size() && text[at] == ':') ++at;
    if (!digits(text, at, 2, offset_mins)) return bad("expected an offset like +08:00");
    at += 2;
    if (offset_hours > 18 || offset_mins > 59) return bad("the offset is out of range");
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  } else {
    return bad("it has no time zone offset");
  }
  if (at != text.size()) return bad("unexpected text after the offset");
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t seconds_total = days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) -
                               static_cast<std::int64_t>(offset_minutes) * 60;
  return seconds_total * 1000 + millis;
}

std::string format_iso_time(std::int64_t millis) {
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[48];
  std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03dZ", static_cast<int>(millis % 1000));
  return text;
}

}  // namespace reelflow
