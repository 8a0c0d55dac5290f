#include "workflow/cron.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

namespace reelflow::workflow {

namespace {

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  const char* const* names;  // names[i] stands for min + i, or nullptr
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, kMonthNames},
    {"day-of-week", 0, 7, kDayNames},
}};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Field {
  std::string_view text;
  std::size_t offset;
};

class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, Field field) : spec_(spec), field_(field) {}

  tl::expected<std::vector<bool>, CronProblem> run() {
    std::vector<bool> bits(static_cast<std::size_t>(spec_.max + 1), false);
    std::size_t start = 0;
    while (true) {
      std::size_t comma = field_.text.find(',', start);
      std::string_view item = field_.text.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (auto problem = parse_item(item, field_.offset + start, bits)) {
        return tl::unexpected(*problem);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return bits;
  }

 private:
  CronProblem problem(std::size_t offset, const std::string& message) const {
    return CronProblem{offset, std::string(spec_.name) + " field: " + message};
  }

  std::string range_text() const {
    std::string text = std::to_string(spec_.min) + "-" + std::to_string(spec_.max);
    if (spec_.names == kMonthNames) text += " or jan-dec";
    if (spec_.names == kDayNames) text += " or sun-sat";
    return text;
  }

  tl::expected<int, CronProblem> value(std::string_view text, std::size_t offset) const {
    if (text.empty()) return tl::unexpected(problem(offset, "missing value"));
    if (spec_.names != nullptr) {
      std::string name = lower(text);
      int count = spec_.max - spec_.min + 1;
      if (spec_.names == kDayNames) count = 7;
      for (int i = 0; i < count; ++i) {
        if (name == spec_.names[i]) return spec_.min + i;
      }
    }
    int number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return tl::unexpected(problem(
          offset, "'" + std::string(text) + "' is not a number (expected " + range_text() + ")"));
    }
    if (number < spec_.min || number > spec_.max) {
      return tl::unexpected(
          problem(offset, std::string(text) + " is out of range " + range_text()));
    }
    return number;
  }

  std::optional<CronProblem> parse_item(std::string_view item, std::size_t offset,
                                        std::vector<bool>& bits) const {
    if (item.empty()) return problem(offset, "empty list item");
    int step = 1;
    std::string_view range = item;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      std::string_view step_text = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (ec != std::errc() || end != step_text.data() + step_text.size() || step < 1 ||
          step > spec_.max) {
        return problem(offset + slash + 1, "step '" + std::string(step_text) +
                                               "' must be a number from 1 to " +
                                               std::to_string(spec_.max));
      }
      range = item.substr(0, slash);
    }
    int first = spec_.min;
    int last = spec_.max;
    if (range != "*") {
      auto dash = range.find('-');
      auto low = value(range.substr(0, dash), offset);
      if (!low) return low.error();
      first = *low;
      if (dash != std::string_view::npos) {
        auto high = value(range.substr(dash + 1), offset + dash + 1);
        if (!high) return high.error();
        last = *high;
        if (last < first) {
          return problem(offset, "range " + std::string(range) + " goes backwards");
        }
      } else if (item.find('/') == std::string_view::npos) {
        last = first;  // a single value; "5/15" means 5 to the end, every 15
      }
    } else if (spec_.names == kDayNames) {
      last = 6;
    }
    for (int v = first; v <= last; v += step) bits[static_cast<std::size_t>(v)] = true;
    return std::nullopt;
  }

  const FieldSpec& spec_;
  Field field_;
};

std::string_view expand_macro(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return {};
}

}  // namespace

tl::expected<CronSchedule, CronProblem> parse_cron(std::string_view expression) {
  std::string_view text = expression;
  bool macro = false;
  if (!text.empty() && text.front() == '@') {
    text = expand_macro(expression);
    if (text.empty()) {
      return tl::unexpected(CronProblem{0, "unknown macro '" + std::string(expression) +
                                               "' (use @hourly, @daily, @weekly, @monthly or "
                                               "@yearly)"});
    }
    macro = true;
  }
  std::vector<Field> fields;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos >= text.size()) break;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\t') ++pos;
    fields.push_back(Field{text.substr(start, pos - start), macro ? 0 : start});
  }
  if (fields.size() != kFields.size()) {
    return tl::unexpected(
        CronProblem{0, "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                           std::to_string(fields.size())});
  }
  CronSchedule schedule;
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    auto bits = FieldParser(kFields[i], fields[i]).run();
    if (!bits) return tl::unexpected(bits.error());
    for (std::size_t v = 0; v < bits->size(); ++v) {
      if (!(*bits)[v]) continue;
      switch (i) {
        case 0:
          schedule.minutes.set(v);
          break;
        case 1:
          schedule.hours.set(v);
          break;
        case 2:
          schedule.days_of_month.set(v);
          break;
        case 3:
          schedule.months.set(v);
          break;
        default:
          schedule.days_of_week.set(v % 7);
          break;
      }
    }
  }
  schedule.day_of_month_restricted = fields[2].text != "*";
  schedule.day_of_week_restricted = fields[4].text != "*";
  return schedule;
}

}  // namespace reelflow::workflow
