#include "triggers/time_zone.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

namespace reelflow::triggers {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool is_leap(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(std::int64_t year, unsigned month) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Weekday of a day count since the epoch, 0 = Sunday (1970-01-01 was a Thursday).
unsigned weekday(std::int64_t days) {
  return static_cast<unsigned>(days + 4 - floor_div(days + 4, 7) * 7);
}

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

// ---- POSIX TZ strings (the TZif footer), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" ----

class PosixTzParser {
 public:
  explicit PosixTzParser(std::string_view text) : text_(text) {}

  std::optional<TimeZone::PosixRule> parse() {
    TimeZone::PosixRule rule;
    if (!skip_name()) return std::nullopt;
    auto std_offset = parse_hms(/*allow_sign=*/true);
    if (!std_offset) return std::nullopt;
    rule.std_offset = -*std_offset;  // POSIX offsets count west of UTC
    if (at_end()) return rule;
    if (!skip_name()) return std::nullopt;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!at_end() && peek() != ',') {
      auto dst_offset = parse_hms(true);
      if (!dst_offset) return std::nullopt;
      rule.dst_offset = -*dst_offset;
    }
    if (at_end()) {  // POSIX leaves the default rule to the implementation; glibc uses the US one
      rule.dst_start = {TimeZone::RuleDate::Kind::month_week_day, 0, 3, 2, 7200};
      rule.dst_end = {TimeZone::RuleDate::Kind::month_week_day, 0, 11, 1, 7200};
      return rule;
    }
    if (peek() != ',') return std::nullopt;
    ++pos_;
    auto start = parse_date();
    if (!start || at_end() || peek() != ',') return std::nullopt;
    ++pos_;
    auto end = parse_date();
    if (!end || !at_end()) return std::nullopt;
    rule.dst_start = *start;
    rule.dst_end = *end;
    return rule;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  bool skip_name() {
    if (!at_end() && peek() == '<') {
      auto close = text_.find('>', pos_);
      if (close == std::string_view::npos) return false;
      pos_ = close + 1;
      return true;
    }
    std::size_t start = pos_;
    while (!at_end() && std::isalpha(static_cast<unsigned char>(peek()))) ++pos_;
    return pos_ - start >= 3;
  }

  std::optional<int> parse_number() {
    if (at_end() || !std::isdigit(static_cast<unsigned char>(peek()))) return std::nullopt;
    int value = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) {
      value = value * 10 + (peek() - '0');
      if (value > 100000) return std::nullopt;
      ++pos_;
    }
    return value;
  }

  // [+-]hh[:mm[:ss]] in seconds.
  std::optional<std::int32_t> parse_hms(bool allow_sign) {
    int sign = 1;
    if (allow_sign && !at_end() && (peek() == '+' || peek() == '-')) {
      sign = peek() == '-' ? -1 : 1;
      ++pos_;
    }
    auto hours = parse_number();
    if (!hours || *hours > 167) return std::nullopt;
    std::int32_t seconds = *hours * 3600;
    for (int factor : {60, 1}) {
      if (at_end() || peek() != ':') break;
      ++pos_;
      auto part = parse_number();
      if (!part || *part > 59) return std::nullopt;
      seconds += *part * factor;
    }
    return sign * seconds;
  }

  std::optional<TimeZone::RuleDate> parse_date() {
    TimeZone::RuleDate date;
    if (at_end()) return std::nullopt;
    if (peek() == 'J') {
      ++pos_;
      auto day = parse_number();
      if (!day || *day < 1 || *day > 365) return std::nullopt;
      date.kind = TimeZone::RuleDate::Kind::julian_no_leap;
      date.day = *day;
    } else if (peek() == 'M') {
      ++pos_;
      auto month = parse_number();
      if (!month || *month < 1 || *month > 12 || at_end() || peek() != '.') return std::nullopt;
      ++pos_;
      auto week = parse_number();
      if (!week || *week < 1 || *week > 5 || at_end() || peek() != '.') return std::nullopt;
      ++pos_;
      auto day = parse_number();
      if (!day || *day > 6) return std::nullopt;
      date.kind = TimeZone::RuleDate::Kind::month_week_day;
      date.month = *month;
      date.week = *week;
      date.day = *day;
    } else {
      auto day = parse_number();
      if (!day || *day > 365) return std::nullopt;
      date.kind = TimeZone::RuleDate::Kind::zero_based_day;
      date.day = *day;
    }
    if (!at_end() && peek() == '/') {
      ++pos_;
      auto time = parse_hms(true);  // RFC 8536 allows -167..167 hours
      if (!time) return std::nullopt;
      date.time = *time;
    }
    return date;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Local seconds (wall clock) of a rule date's transition moment in `year`.
LocalSeconds rule_local_time(const TimeZone::RuleDate& date, std::int64_t year) {
  std::int64_t days = 0;
  switch (date.kind) {
    case TimeZone::RuleDate::Kind::julian_no_leap:
      days = days_from_civil(year, 1, 1) + date.day - 1 + (is_leap(year) && date.day >= 60 ? 1 : 0);
      break;
    case TimeZone::RuleDate::Kind::zero_based_day:
      days = days_from_civil(year, 1, 1) + date.day;
      break;
    case TimeZone::RuleDate::Kind::month_week_day: {
      const auto month = static_cast<unsigned>(date.month);
      const std::int64_t first = days_from_civil(year, month, 1);
      unsigned day_of_month = 1 + (static_cast<unsigned>(date.day) + 7 - weekday(first)) % 7;
      day_of_month += static_cast<unsigned>(date.week - 1) * 7;
      while (day_of_month > days_in_month(year, month)) day_of_month -= 7;
      days = first + day_of_month - 1;
      break;
    }
  }
  return days * kSecondsPerDay + date.time;
}

// ---- TZif ----

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  bool has(std::size_t count) const { return bytes_.size() - pos_ >= count; }
  std::size_t pos() const { return pos_; }
  void skip(std::size_t count) { pos_ += count; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(bytes_[pos_++]); }
  std::uint32_t u32() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = (value << 8) | u8();
    return value;
  }
  std::int64_t i64() {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | u8();
    return static_cast<std::int64_t>(value);
  }
  std::string_view rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

struct TzifHeader {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

  std::size_t data_size(std::size_t time_size) const {
    return std::size_t{timecnt} * time_size + timecnt + std::size_t{typecnt} * 6 + charcnt +
           std::size_t{leapcnt} * (time_size + 4) + isstdcnt + isutcnt;
  }
};

std::optional<TzifHeader> read_header(ByteReader& reader) {
  if (!reader.has(44)) return std::nullopt;
  std::string_view magic = reader.rest().substr(0, 4);
  if (magic != "TZif") return std::nullopt;
  reader.skip(4);
  TzifHeader header;
  header.version = static_cast<char>(reader.u8());
  reader.skip(15);
  header.isutcnt = reader.u32();
  header.isstdcnt = reader.u32();
  header.leapcnt = reader.u32();
  header.timecnt = reader.u32();
  header.typecnt = reader.u32();
  header.charcnt = reader.u32();
  if (header.typecnt == 0 || header.typecnt > 256 || header.timecnt > 100000 ||
      header.charcnt > 100000 || header.leapcnt > 100000 || header.isutcnt > 256 ||
      header.isstdcnt > 256) {
    return std::nullopt;
  }
  return header;
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/') return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    std::string_view part =
        name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+' &&
          c != '.') {
        return false;
      }
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

Result<TimeZone> TimeZone::load(std::string_view name, const std::filesystem::path& zoneinfo_dir) {
  if (!valid_zone_name(name)) {
    return fail("time zone \"" + std::string(name) + "\": not a valid IANA zone name");
  }
  const std::filesystem::path file = zoneinfo_dir / std::string(name);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (name == "UTC" || name == "Etc/UTC") return fixed(std::string(name), 0);
    return fail("time zone \"" + std::string(name) + "\": unknown (no " + file.string() + ")");
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > (1u << 20)) {
    return fail("time zone \"" + std::string(name) + "\": " + file.string() + " is too large");
  }
  return parse(name, bytes);
}

Result<TimeZone> TimeZone::parse(std::string_view name, std::string_view tzif_bytes) {
  auto bad = [&](std::string_view why) {
    return fail("time zone \"" + std::string(name) + "\": invalid TZif data (" + std::string(why) +
                ")");
  };
  ByteReader reader(tzif_bytes);
  auto header = read_header(reader);
  if (!header) return bad("bad header");
  std::size_t time_size = 4;
  if (header->version >= '2') {
    if (!reader.has(header->data_size(4))) return bad("truncated v1 data");
    reader.skip(header->data_size(4));
    header = read_header(reader);
    if (!header) return bad("bad v2 header");
    time_size = 8;
  }
  if (!reader.has(header->data_size(time_size))) return bad("truncated data");

  std::vector<std::int64_t> times(header->timecnt);
  for (auto& time : times) {
    time = time_size == 8 ? reader.i64() : static_cast<std::int32_t>(reader.u32());
  }
  std::vector<std::uint8_t> type_indexes(header->timecnt);
  for (auto& index : type_indexes) {
    index = reader.u8();
    if (index >= header->typecnt) return bad("transition type out of range");
  }
  std::vector<std::int32_t> type_offsets(header->typecnt);
  for (auto& offset : type_offsets) {
    offset = static_cast<std::int32_t>(reader.u32());
    reader.skip(2);  // isdst, designation index
    if (offset < -25 * 3600 || offset > 26 * 3600) return bad("offset out of range");
  }
  reader.skip(header->charcnt + std::size_t{header->leapcnt} * (time_size + 4) + header->isstdcnt +
              header->isutcnt);

  TimeZone zone;
  zone.name_ = std::string(name);
  zone.initial_offset_ = type_offsets[0];
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (i > 0 && times[i] <= times[i - 1]) return bad("transitions out of order");
    zone.transitions_.push_back({times[i], type_offsets[type_indexes[i]]});
  }

  if (time_size == 8) {
    std::string_view footer = reader.rest();
    if (footer.size() < 2 || footer.front() != '\n') return bad("missing footer");
    std::size_t end = footer.find('\n', 1);
    if (end == std::string_view::npos) return bad("unterminated footer");
    std::string_view tz = footer.substr(1, end - 1);
    if (!tz.empty()) {
      auto rule = PosixTzParser(tz).parse();
      if (!rule) return bad("unsupported TZ string \"" + std::string(tz) + "\"");
      zone.has_rule_ = true;
      zone.rule_ = *rule;
    }
  }
  return zone;
}

TimeZone TimeZone::fixed(std::string name, std::int32_t utc_offset_seconds) {
  TimeZone zone;
  zone.name_ = std::move(name);
  zone.initial_offset_ = utc_offset_seconds;
  return zone;
}

std::int32_t TimeZone::rule_offset(UtcSeconds instant) const {
  if (!rule_.has_dst) return rule_.std_offset;
  const std::int64_t year =
      civil_from_days(floor_div(instant + rule_.std_offset, kSecondsPerDay)).year;
  std::array<Transition, 6> around{};
  std::size_t count = 0;
  for (std::int64_t y = year - 1; y <= year + 1; ++y) {
    around[count++] = {rule_local_time(rule_.dst_start, y) - rule_.std_offset, rule_.dst_offset};
    around[count++] = {rule_local_time(rule_.dst_end, y) - rule_.dst_offset, rule_.std_offset};
  }
  std::sort(around.begin(), around.end(),
            [](const Transition& a, const Transition& b) { return a.at < b.at; });
  std::int32_t offset =
      around[0].offset_after == rule_.std_offset ? rule_.dst_offset : rule_.std_offset;
  for (const auto& transition : around) {
    if (transition.at > instant) break;
    offset = transition.offset_after;
  }
  return offset;
}

std::int32_t TimeZone::utc_offset(UtcSeconds instant) const {
  if (transitions_.empty()) return has_rule_ ? rule_offset(instant) : initial_offset_;
  if (instant < transitions_.front().at) return initial_offset_;
  if (has_rule_ && instant >= transitions_.back().at) return rule_offset(instant);
  auto after = std::upper_bound(
      transitions_.begin(), transitions_.end(), instant,
      [](UtcSeconds value, const Transition& transition) { return value < transition.at; });
  return std::prev(after)->offset_after;
}

LocalResolution TimeZone::resolve(LocalSeconds wall_time) const {
  // Every offset that could apply near this wall time: those two days either side (real zones
  // never change twice within four days) and those at the instants they imply.
  std::set<std::int32_t> offsets = {utc_offset(wall_time - 2 * kSecondsPerDay),
                                    utc_offset(wall_time + 2 * kSecondsPerDay)};
  for (std::int32_t offset : std::set<std::int32_t>(offsets)) {
    offsets.insert(utc_offset(wall_time - offset));
  }
  std::vector<UtcSeconds> instants;
  for (std::int32_t offset : offsets) {
    if (utc_offset(wall_time - offset) == offset) instants.push_back(wall_time - offset);
  }
  std::sort(instants.begin(), instants.end());
  LocalResolution resolution;
  if (!instants.empty()) {
    resolution.kind =
        instants.size() == 1 ? LocalResolution::Kind::unique : LocalResolution::Kind::ambiguous;
    resolution.earliest = instants.front();
    resolution.latest = instants.back();
    return resolution;
  }
  // A gap: find the transition between the earliest and latest instants the wall time could mean.
  resolution.kind = LocalResolution::Kind::gap;
  UtcSeconds low = wall_time - *offsets.rbegin();  // offset here is the one before the gap
  UtcSeconds high = wall_time - *offsets.begin();
  const std::int32_t before = utc_offset(low);
  while (high - low > 1) {
    UtcSeconds middle = low + (high - low) / 2;
    if (utc_offset(middle) == before) {
      low = middle;
    } else {
      high = middle;
    }
  }
  resolution.gap_end = high;
  resolution.earliest = resolution.latest = high;
  return resolution;
}

std::string format_utc_iso(std::chrono::system_clock::time_point instant, bool with_millis) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(instant.time_since_epoch()).count();
  const std::int64_t seconds = floor_div(millis, 1000);
  const std::int64_t days = floor_div(seconds, kSecondsPerDay);
  const std::int64_t second_of_day = seconds - days * kSecondsPerDay;
  const CivilDate date = civil_from_days(days);
  char text[48];
  int length = std::snprintf(
      text, sizeof text, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(date.year),
      date.month, date.day, static_cast<long long>(second_of_day / 3600),
      static_cast<long long>(second_of_day / 60 % 60), static_cast<long long>(second_of_day % 60));
  std::string out(text, static_cast<std::size_t>(length));
  if (with_millis) {
    std::snprintf(text, sizeof text, ".%03lld", static_cast<long long>(millis - seconds * 1000));
    out += text;
  }
  out += 'Z';
  return out;
}

std::string format_utc_iso_minute(std::chrono::system_clock::time_point instant) {
  std::string full = format_utc_iso(instant);  // "YYYY-MM-DDTHH:MM:SSZ"
  return full.substr(0, full.size() - 4) + "Z";
}

}  // namespace reelflow::triggers
