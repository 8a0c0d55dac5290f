// The funnel report as terminal text, CSV and a self-contained HTML page. See report_render.hpp
// for the report's JSON; everything here is a pure function of it.
#include "track/report_render.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace reelflow::track {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Reading the report. It comes from our own daemon, but the renderer must not fall over when a
// daemon of another version leaves a field out or types it differently: a missing or mistyped
// count reads as 0, a ratio as null, a text as "".

struct Funnel {
  std::string key;
  std::string title;  // top videos (and video rows, when the daemon sends it)
  std::int64_t posts = 0;
  std::int64_t views = 0;
  std::int64_t likes = 0;
  std::int64_t comments = 0;
  std::int64_t shares = 0;
  std::int64_t clicks_total = 0;
  std::int64_t clicks_human = 0;
  std::int64_t clicks_bot = 0;
  std::int64_t clicks_duplicate = 0;
  std::int64_t conversions = 0;
  double revenue = 0;
  std::optional<double> ctr;
  std::optional<double> cvr;
  std::optional<double> rpm;

  std::int64_t engagement() const { return likes + comments + shares; }
};

struct Day {
  std::string day;
  std::int64_t clicks_human = 0;
  std::int64_t conversions = 0;
  double revenue = 0;
};

struct Report {
  std::optional<std::string> generated_at;
  std::optional<std::string> since;
  std::optional<std::string> campaign;
  std::optional<std::string> currency;
  std::string by;
  Funnel totals;
  std::vector<Funnel> rows;
  std::vector<Funnel> platforms;
  std::vector<Funnel> top_videos;
  std::vector<Day> daily;

  // The header's rule: no single currency, yet revenue was summed.
  bool mixed_currencies() const { return !currency && totals.revenue != 0; }
};

const json* member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto found = object.find(name);
  return found == object.end() ? nullptr : &*found;
}

std::optional<double> optional_number(const json& object, const char* name) {
  const json* value = member(object, name);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  const double number = value->get<double>();
  if (!std::isfinite(number)) return std::nullopt;
  return number;
}

std::int64_t count(const json& object, const char* name) {
  const json* value = member(object, name);
  if (value == nullptr) return 0;
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  if (value->is_number_unsigned()) {
    return static_cast<std::int64_t>(
        std::min<std::uint64_t>(value->get<std::uint64_t>(), static_cast<std::uint64_t>(kMax)));
  }
  if (value->is_number_integer()) return value->get<std::int64_t>();
  if (value->is_number_float()) {
    const double number = value->get<double>();
    if (!std::isfinite(number)) return 0;
    return std::llround(std::clamp(number, -9.0e18, 9.0e18));
  }
  return 0;
}

// A string as it is; a number (a numeric variant id, say) as JSON writes it; anything else absent.
std::optional<std::string> optional_text(const json& object, const char* name) {
  const json* value = member(object, name);
  if (value == nullptr) return std::nullopt;
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    if (text.empty()) return std::nullopt;
    return text;
  }
  if (value->is_number()) return value->dump();
  return std::nullopt;
}

const json& array_member(const json& object, const char* name) {
  static const json kEmpty = json::array();
  const json* value = member(object, name);
  return value != nullptr && value->is_array() ? *value : kEmpty;
}

Funnel read_funnel(const json& object) {
  Funnel funnel;
  funnel.key = optional_text(object, "key").value_or("");
  funnel.title = optional_text(object, "title").value_or("");
  funnel.posts = count(object, "posts");
  funnel.views = count(object, "views");
  funnel.likes = count(object, "likes");
  funnel.comments = count(object, "comments");
  funnel.shares = count(object, "shares");
  funnel.clicks_total = count(object, "clicks_total");
  funnel.clicks_human = count(object, "clicks_human");
  funnel.clicks_bot = count(object, "clicks_bot");
  funnel.clicks_duplicate = count(object, "clicks_duplicate");
  funnel.conversions = count(object, "conversions");
  funnel.revenue = optional_number(object, "revenue").value_or(0);
  funnel.ctr = optional_number(object, "ctr");
  funnel.cvr = optional_number(object, "cvr");
  funnel.rpm = optional_number(object, "rpm");
  return funnel;
}

std::vector<Funnel> read_funnels(const json& report, const char* name) {
  std::vector<Funnel> funnels;
  for (const auto& entry : array_member(report, name)) {
    if (entry.is_object()) funnels.push_back(read_funnel(entry));
  }
  return funnels;
}

Report read_report(const json& input) {
  Report report;
  report.generated_at = optional_text(input, "generated_at");
  report.since = optional_text(input, "since");
  report.campaign = optional_text(input, "campaign");
  report.currency = optional_text(input, "currency");
  report.by = optional_text(input, "by").value_or("");
  if (const json* totals = member(input, "totals")) report.totals = read_funnel(*totals);
  report.rows = read_funnels(input, "rows");
  report.platforms = read_funnels(input, "platforms");
  report.top_videos = read_funnels(input, "top_videos");
  for (const auto& entry : array_member(input, "daily")) {
    if (!entry.is_object()) continue;
    report.daily.push_back({optional_text(entry, "day").value_or(""), count(entry, "clicks_human"),
                            count(entry, "conversions"),
                            optional_number(entry, "revenue").value_or(0)});
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Text from users (titles, campaign names) in a terminal and in HTML.

constexpr char32_t kReplacementCharacter = 0xFFFD;

// The code point that starts at text[pos], moving pos past it. A malformed sequence reads as
// U+FFFD and moves one byte, so any byte string decodes.
char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto byte = [&](std::size_t index) { return static_cast<unsigned char>(text[index]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  std::size_t length = 0;
  char32_t code_point = 0;
  char32_t smallest = 0;  // anything below is an overlong encoding
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
    smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
    smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
    smallest = 0x10000;
  } else {
    ++pos;
    return kReplacementCharacter;
  }
  if (pos + length > text.size()) {
    ++pos;
    return kReplacementCharacter;
  }
  for (std::size_t index = 1; index < length; ++index) {
    const unsigned char next = byte(pos + index);
    if ((next & 0xC0) != 0x80) {
      ++pos;
      return kReplacementCharacter;
    }
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < smallest || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    ++pos;
    return kReplacementCharacter;
  }
  pos += length;
  return code_point;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

struct CodePointRange {
  char32_t first;
  char32_t last;
};

template <std::size_t N>
bool in_ranges(char32_t code_point, const CodePointRange (&ranges)[N]) {
  return std::any_of(std::begin(ranges), std::end(ranges), [&](const CodePointRange& range) {
    return code_point >= range.first && code_point <= range.last;
  });
}

// Terminal columns of one code point, close to what terminals do (wcwidth): 0 for combining marks
// and zero-width characters, 2 for East Asian wide and fullwidth characters (CJK, kana, Hangul,
// fullwidth forms) and emoji, 1 for the rest.
int columns(char32_t code_point) {
  static constexpr CodePointRange kZeroWidth[] = {
      {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},   {0x0610, 0x061A},
      {0x064B, 0x065F}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A},   {0x0E47, 0x0E4E},
      {0x200B, 0x200F}, {0x2060, 0x2064}, {0x20D0, 0x20FF},   {0xFE00, 0xFE0F},
      {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0x1F3FB, 0x1F3FF}, {0xE0100, 0xE01EF}};
  static constexpr CodePointRange kWide[] = {
      {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
      {0x23F0, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},
      {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},   {0x26AA, 0x26AB},
      {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},   {0x26D4, 0x26D4},
      {0x26EA, 0x26EA},   {0x26F2, 0x26F5},   {0x26FA, 0x26FD},   {0x2705, 0x2705},
      {0x270A, 0x270B},   {0x2728, 0x2728},   {0x274C, 0x274E},   {0x2753, 0x2757},
      {0x2795, 0x2797},   {0x27B0, 0x27BF},   {0x2B1B, 0x2B1C},   {0x2B50, 0x2B55},
      {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
      {0xA000, 0xA4CF},   {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
      {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},
      {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004},
      {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F2FF},
      {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF},
      {0x1FA70, 0x1FAFF}, {0x20000, 0x3FFFD}};
  if (in_ranges(code_point, kZeroWidth)) return 0;
  if (in_ranges(code_point, kWide)) return 2;
  return 1;
}

// Text from the report made safe to show: valid UTF-8; tabs and line breaks as spaces (a key must
// stay on its row); other control characters as U+FFFD (a title must not move the cursor or
// colour the terminal); bidirectional overrides and isolates dropped (they would reorder the
// columns and markup around them).
std::string clean(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const char32_t code_point = next_code_point(text, pos);
    if (code_point == '\t' || code_point == '\n' || code_point == '\r') {
      out += ' ';
    } else if (code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0)) {
      append_utf8(out, kReplacementCharacter);
    } else if ((code_point >= 0x202A && code_point <= 0x202E) ||
               (code_point >= 0x2066 && code_point <= 0x2069)) {
      continue;
    } else {
      append_utf8(out, code_point);
    }
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    width += static_cast<std::size_t>(columns(next_code_point(text, pos)));
  }
  return width;
}

// `text` in at most `width` columns: whole when it fits, else cut and marked with "…". A path
// loses its front (the file name tells videos apart), at a '/' when one is in reach; anything
// else loses its end.
std::string fit(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) return std::string(text);
  if (width == 0) return "";
  struct Piece {
    std::size_t begin;
    std::size_t end;
    std::size_t columns;
  };
  std::vector<Piece> pieces;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t begin = pos;
    const int piece_columns = columns(next_code_point(text, pos));
    pieces.push_back({begin, pos, static_cast<std::size_t>(piece_columns)});
  }
  const std::size_t room = width - 1;  // the ellipsis takes one column
  std::size_t used = 0;
  if (text.find('/') != std::string_view::npos) {
    std::size_t first = pieces.size();
    while (first > 0 && used + pieces[first - 1].columns <= room) used += pieces[--first].columns;
    const std::size_t begin = first < pieces.size() ? pieces[first].begin : text.size();
    const std::size_t slash = text.find('/', begin);
    return "…" + std::string(text.substr(slash == std::string_view::npos ? begin : slash));
  }
  std::size_t kept = 0;
  while (kept < pieces.size() && used + pieces[kept].columns <= room) {
    used += pieces[kept++].columns;
  }
  const std::size_t end = kept > 0 ? pieces[kept - 1].end : 0;
  return std::string(text.substr(0, end)) + "…";
}

std::string escape_html(std::string_view raw) {
  const std::string text = clean(raw);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Numbers. std::to_chars does not read the C locale: a '.' decimal point whatever LC_NUMERIC says.

std::string fixed(double value, int decimals) {
  char buffer[400];  // the largest double has 309 integer digits
  const auto [end, error] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
  if (error != std::errc()) return "?";
  std::string out(buffer, end);
  if (out.front() == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

// "-1234567.5" -> "-1,234,567.5"
std::string group_thousands(std::string_view number) {
  const std::size_t digits_begin = !number.empty() && number.front() == '-' ? 1 : 0;
  const std::size_t digits_end = std::min(number.find('.'), number.size());
  std::string out(number.substr(0, digits_begin));
  for (std::size_t pos = digits_begin; pos < digits_end; ++pos) {
    if (pos > digits_begin && (digits_end - pos) % 3 == 0) out += ',';
    out += number[pos];
  }
  out += number.substr(digits_end);
  return out;
}

std::string count_text(std::int64_t value) { return group_thousands(std::to_string(value)); }

// "1 post", "1,200 posts"
std::string counted(std::int64_t value, std::string_view one, std::string_view many) {
  return count_text(value) + " " + std::string(value == 1 ? one : many);
}

std::string money_text(double value) { return group_thousands(fixed(value, 2)); }

// 4.17%, 12.5%; "–" when there is nothing to divide by.
std::string percent_text(std::optional<double> ratio) {
  if (!ratio) return "–";
  const double percent = *ratio * 100;
  return (std::abs(percent) < 9.995 ? fixed(percent, 2) : fixed(percent, 1)) + "%";
}

std::string money_or_dash(std::optional<double> amount) {
  return amount ? money_text(*amount) : "–";
}

// A fraction for CSV: up to six decimals, no trailing zeros.
std::string fraction_text(double value) {
  std::string out = fixed(value, 6);
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out == "-0" ? "0" : out;
}

// Short numbers for axes and bar labels: 950, 1.5k, 12k, 3.2M.
std::string compact_text(double value) {
  const double magnitude = std::abs(value);
  const auto scaled = [&](double divisor, const char* suffix) {
    const double shown = value / divisor;
    return (std::abs(shown) < 10 ? fraction_text(std::round(shown * 10) / 10)
                                 : fixed(std::round(shown), 0)) +
           suffix;
  };
  if (magnitude >= 1e9) return scaled(1e9, "B");
  if (magnitude >= 1e6) return scaled(1e6, "M");
  if (magnitude >= 1e4) return scaled(1e3, "k");
  return group_thousands(fraction_text(std::round(value * 10) / 10));
}

// "2026-11-30T10:00:00Z" -> "2026-11-30 10:00 UTC"; anything else as it is.
std::string readable_time(const std::string& iso) {
  if (iso.size() == 20 && iso[10] == 'T' && iso[19] == 'Z') {
    return iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC";
  }
  return iso;
}

// ---------------------------------------------------------------------------------------------
// What the report covers, shared by the text header and the HTML subtitle.

std::string grouping_title(const std::string& by) {
  if (by == "platform") return "Platform";
  if (by == "video") return "Video";
  if (by == "variant") return "Variant";
  if (by == "day") return "Day";
  return "Key";
}

std::vector<std::string> scope_parts(const Report& report) {
  std::vector<std::string> parts;
  parts.push_back("by " + (report.by.empty() ? std::string("key") : clean(report.by)));
  parts.push_back(report.campaign ? "campaign " + clean(*report.campaign) : "all campaigns");
  parts.push_back(report.since ? "since " + clean(*report.since) : "all time");
  if (report.currency) {
    parts.push_back("revenue in " + clean(*report.currency));
  } else if (report.mixed_currencies()) {
    parts.push_back("mixed currencies");
  }
  if (report.generated_at) {
    parts.push_back("generated " + readable_time(clean(*report.generated_at)));
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// "Revenue (EUR)", or "Revenue" when there is no single currency.
std::string with_currency(const Report& report, const std::string& label) {
  return report.currency ? label + " (" + clean(*report.currency) + ")" : label;
}

constexpr std::string_view kNoDataLine = "No posts or clicks yet in this period.";

std::string no_data_hint(const Report& report) {
  std::string hint =
      "Posts count once they are published and their metrics pulled; clicks once someone "
      "follows a tracked link.";
  if (report.since || report.campaign) {
    hint += " Try an earlier --since or another --campaign.";
  } else {
    hint += " `reelflow schedule` shows what is planned.";
  }
  return hint;
}

// Bot and duplicate clicks are not in the funnel; say how many were left out.
std::string filtered_clicks_note(const Funnel& totals) {
  if (totals.clicks_bot == 0 && totals.clicks_duplicate == 0) return "";
  return count_text(totals.clicks_bot) + " bot and " + count_text(totals.clicks_duplicate) +
         " duplicate clicks left out";
}

std::string mixed_currencies_note() {
  return "Mixed currencies: conversions came in more than one currency, and revenue adds their "
         "amounts as they are, without exchange rates.";
}

// ---------------------------------------------------------------------------------------------
// Terminal table.

constexpr std::size_t kKeyColumnWidth = 32;

std::vector<std::string> text_cells(const Funnel& funnel, std::string key) {
  return {std::move(key),
          count_text(funnel.posts),
          count_text(funnel.views),
          count_text(funnel.engagement()),
          count_text(funnel.clicks_human),
          count_text(funnel.conversions),
          money_text(funnel.revenue),
          percent_text(funnel.ctr),
          percent_text(funnel.cvr),
          money_or_dash(funnel.rpm)};
}

// One line: the first column left-aligned, the others right-aligned, two spaces between.
std::string table_line(const std::vector<std::string>& cells,
                       const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t column = 0; column < cells.size(); ++column) {
    const std::string padding(widths[column] - display_width(cells[column]), ' ');
    if (column == 0) {
      line += cells[column] + padding;
    } else {
      line += "  " + padding + cells[column];
    }
  }
  return line;
}

}  // namespace

std::string render_report_text(const json& input) {
  const Report report = read_report(input);
  std::string out = "Funnel " + join(scope_parts(report), " · ") + "\n";
  if (report.rows.empty()) {
    out += "\n" + std::string(kNoDataLine) + "\n" + no_data_hint(report) + "\n";
    return out;
  }

  std::vector<std::vector<std::string>> lines;
  lines.push_back({grouping_title(report.by), "Posts", "Views", "Engagement", "Clicks", "Conv.",
                   with_currency(report, "Revenue"), "CTR", "CVR", with_currency(report, "RPM")});
  for (const auto& row : report.rows) {
    lines.push_back(text_cells(row, fit(clean(row.key), kKeyColumnWidth)));
  }
  lines.push_back(text_cells(report.totals, "Total"));

  std::vector<std::size_t> widths(lines.front().size(), 0);
  for (const auto& cells : lines) {
    for (std::size_t column = 0; column < cells.size(); ++column) {
      widths[column] = std::max(widths[column], display_width(cells[column]));
    }
  }
  std::size_t line_width = 0;
  for (const std::size_t width : widths) line_width += width + 2;
  line_width -= 2;

  out += "\n";
  for (std::size_t index = 0; index < lines.size(); ++index) {
    if (index + 1 == lines.size()) out += std::string(line_width, '-') + "\n";
    out += table_line(lines[index], widths) + "\n";
  }

  out += "\nClicks are human clicks";
  const std::string filtered = filtered_clicks_note(report.totals);
  if (!filtered.empty()) out += " (" + filtered + ")";
  out += "; engagement is likes + comments + shares; RPM is revenue per 1,000 views.\n";
  if (report.mixed_currencies()) out += mixed_currencies_note() + "\n";
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180): CRLF line ends; a field with a comma, quote or line break is quoted, its quotes
// doubled. Text is written as it is (CSV is data, not display), except that a key a spreadsheet
// would take for a formula is defused (csv_text).

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (const auto& field : fields) {
    if (!line.empty()) line += ',';
    line += csv_field(field);
  }
  return line + "\r\n";
}

// A text cell a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return first:
// OWASP's list for CSV injection) gets a leading apostrophe, which spreadsheets show as text.
// Only text from users (a row's key: a title, a variant, a file name) goes through this.
std::string csv_text(std::string_view value) {
  if (!value.empty() && std::string_view("=+-@\t\r").find(value.front()) != std::string_view::npos) {
    return "'" + std::string(value);
  }
  return std::string(value);
}

std::string optional_fraction(std::optional<double> value) {
  return value ? fraction_text(*value) : "";
}

}  // namespace

std::string render_report_csv(const json& input) {
  const Report report = read_report(input);
  std::string out = csv_line({"key", "posts", "views", "likes", "comments", "shares",
                              "clicks_total", "clicks_human", "clicks_bot", "clicks_duplicate",
                              "conversions", "revenue", "ctr", "cvr", "rpm", "currency"});
  for (const auto& row : report.rows) {
    out += csv_line({csv_text(row.key), std::to_string(row.posts), std::to_string(row.views),
                     std::to_string(row.likes), std::to_string(row.comments),
                     std::to_string(row.shares), std::to_string(row.clicks_total),
                     std::to_string(row.clicks_human), std::to_string(row.clicks_bot),
                     std::to_string(row.clicks_duplicate), std::to_string(row.conversions),
                     fixed(row.revenue, 2), optional_fraction(row.ctr), optional_fraction(row.cvr),
                     row.rpm ? fixed(*row.rpm, 2) : "", report.currency.value_or("")});
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// HTML. Colours pass WCAG contrast against white: text 4.5:1 or more, bars and lines 3:1 or more.
// The conversions line and the clicks bars do not contrast with each other (1.3:1): the line gets
// a white halo.

constexpr std::string_view kViewsColour = "#1f5fa8";        // blue, 6.4:1
constexpr std::string_view kClicksColour = "#0b7a6e";       // teal, 5.2:1
constexpr std::string_view kConversionsColour = "#b45309";  // amber, 5.0:1
constexpr std::string_view kMutedText = "#4a5159";          // 8:1
constexpr std::string_view kTrack = "#e9edf1";
constexpr std::string_view kGrid = "#d5dbe1";

constexpr std::string_view kStyle = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; color: #1b1f24; background: #fff;
  max-width: 1040px; margin: 0 auto; padding: 28px 24px 40px; line-height: 1.45;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 1.6rem; margin: 0 0 2px; }
h2 { font-size: 1.15rem; margin: 0 0 10px; }
.meta { color: #4a5159; margin: 0 0 20px; }
.notice { border: 1px solid #b45309; background: #fff8f0; border-radius: 8px; padding: 10px 14px;
  margin: 0 0 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(126px, 1fr)); gap: 10px;
  margin: 0 0 32px; }
.card { border: 1px solid #c9d1d9; border-radius: 8px; padding: 10px 12px; break-inside: avoid; }
.card .label { font-size: .78rem; color: #4a5159; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 1.35rem; font-weight: 650; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
.card .value small { font-size: .8rem; font-weight: 500; color: #4a5159; }
.card .sub { font-size: .78rem; color: #4a5159; }
section { margin: 0 0 36px; break-inside: avoid; }
.note { color: #4a5159; font-size: .85rem; margin: 6px 0 0; }
.empty { border: 1px dashed #8c959f; border-radius: 8px; padding: 22px; color: #4a5159;
  text-align: center; }
svg.chart { display: block; width: 100%; min-width: 640px; height: auto; }
svg text { font-family: system-ui, "Noto Sans CJK SC", sans-serif; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 6px; border-bottom: 1px solid #d5dbe1; text-align: right; white-space: nowrap;
  vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid #1b1f24; vertical-align: bottom; white-space: normal; }
th.text, td.text { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 14em; }
td.rank { color: #4a5159; }
tfoot td { font-weight: 650; border-top: 2px solid #1b1f24; border-bottom: none; }
.path { display: block; color: #4a5159; font-size: .78rem; }
td.bar { width: 136px; padding-right: 0; }
svg.bar { display: block; width: 120px; height: 12px; margin: 4px 0 0 auto; }
@page { margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  .scroll { overflow: visible; }
  svg.chart { min-width: 0; }
  table { font-size: 8.5pt; }
  th, td { padding: 4px 5px; }
}
)css";

std::string number_attribute(double value) { return fraction_text(std::round(value * 10) / 10); }

// Text for an SVG label that has about `width_px` of room at ~13px: one display column is
// about 7.5px.
std::string svg_label(const std::string& raw, double width_px) {
  return escape_html(fit(clean(raw), static_cast<std::size_t>(width_px / 7.5)));
}

// The smallest round step (1, 2, 5, 10, 20, 25, 50, ...: whole numbers, counts are whole) that
// reaches `top` in `steps` steps.
double nice_step(double top, int steps) {
  const double raw = top / steps;
  if (raw <= 1) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double residual = raw / magnitude;
  double factor = 10;
  if (residual <= 1) {
    factor = 1;
  } else if (residual <= 2) {
    factor = 2;
  } else if (residual <= 2.5 && magnitude >= 10) {
    factor = 2.5;
  } else if (residual <= 5) {
    factor = 5;
  }
  return factor * magnitude;
}

std::string empty_chart(std::string_view message) {
  return "<p class=\"empty\">" + std::string(message) + "</p>\n";
}

// One totals card; `value` and `sub` are HTML already (escaped where they hold report text).
std::string card(std::string_view label, const std::string& value, const std::string& sub) {
  std::string out = "<div class=\"card\"><div class=\"label\">" + std::string(label) +
                    "</div><div class=\"value\">" + value + "</div>";
  if (!sub.empty()) out += "<div class=\"sub\">" + sub + "</div>";
  return out + "</div>\n";
}

std::string money_html(const Report& report, double amount) {
  std::string out = money_text(amount);
  if (report.currency) out += " <small>" + escape_html(*report.currency) + "</small>";
  return out;
}

std::string totals_cards(const Report& report) {
  const Funnel& totals = report.totals;
  std::string out = "<div class=\"cards\">\n";
  out += card("Views", count_text(totals.views),
              counted(totals.posts, "post", "posts") + " · " + count_text(totals.engagement()) +
                  " likes, comments, shares");
  out += card("Human clicks", count_text(totals.clicks_human), filtered_clicks_note(totals));
  out += card("Conversions", count_text(totals.conversions), "");
  out += card("Revenue", money_html(report, totals.revenue),
              report.mixed_currencies() ? "mixed currencies" : "");
  out += card("CTR", percent_text(totals.ctr), "human clicks per view");
  out += card("CVR", percent_text(totals.cvr), "conversions per human click");
  out += card("RPM", totals.rpm ? money_html(report, *totals.rpm) : std::string("–"),
              "revenue per 1,000 views");
  return out + "</div>\n";
}

// Funnel per platform: one row per platform, one column per stage (views, human clicks,
// conversions). Each column has its own scale, so clicks a hundredth of views still make a bar;
// between the columns stand the rates that link them (CTR, CVR).
std::string funnel_chart(const Report& report) {
  if (report.platforms.empty()) {
    return empty_chart("No data yet: the funnel appears once a post has views or clicks.");
  }
  constexpr double kWidth = 980;
  constexpr double kLabelWidth = 170;
  constexpr double kPanelWidth = 210;
  constexpr double kGapWidth = 90;
  constexpr double kValueRoom = 74;
  constexpr double kBarRoom = kPanelWidth - kValueRoom;
  constexpr double kHeaderHeight = 40;
  constexpr double kRowHeight = 38;
  constexpr double kBarHeight = 22;

  struct Stage {
    std::string_view title;
    std::string_view unit;  // in tooltips
    std::string_view colour;
    std::int64_t Funnel::*value;
    std::int64_t largest = 0;
  };
  Stage stages[] = {{"Views", "views", kViewsColour, &Funnel::views},
                    {"Human clicks", "human clicks", kClicksColour, &Funnel::clicks_human},
                    {"Conversions", "conversions", kConversionsColour, &Funnel::conversions}};
  for (auto& stage : stages) {
    for (const auto& platform : report.platforms) {
      stage.largest = std::max(stage.largest, platform.*stage.value);
    }
  }
  const auto panel_x = [&](std::size_t stage) {
    return kLabelWidth + static_cast<double>(stage) * (kPanelWidth + kGapWidth);
  };
  const double height =
      kHeaderHeight + kRowHeight * static_cast<double>(report.platforms.size()) + 6;

  std::string out = "<div class=\"scroll\"><svg class=\"chart funnel\" viewBox=\"0 0 " +
                    number_attribute(kWidth) + " " + number_attribute(height) +
                    "\" role=\"img\" aria-label=\"Views, human clicks and conversions per "
                    "platform\">\n";
  for (std::size_t stage = 0; stage < 3; ++stage) {
    out += "<text x=\"" + number_attribute(panel_x(stage)) +
           "\" y=\"22\" font-size=\"14\" font-weight=\"600\" fill=\"" +
           std::string(stages[stage].colour) + "\">" + std::string(stages[stage].title) +
           "</text>\n";
  }
  const char* rate_names[] = {"CTR", "CVR"};
  for (std::size_t gap = 0; gap < 2; ++gap) {
    const double centre = panel_x(gap) + kPanelWidth + kGapWidth / 2;
    out += "<text x=\"" + number_attribute(centre) +
           "\" y=\"22\" font-size=\"12\" text-anchor=\"middle\" fill=\"" + std::string(kMutedText) +
           "\">" + rate_names[gap] + " →</text>\n";
  }
  for (std::size_t index = 0; index < report.platforms.size(); ++index) {
    const Funnel& platform = report.platforms[index];
    const double top = kHeaderHeight + kRowHeight * static_cast<double>(index);
    const double middle = top + kRowHeight / 2;
    if (index > 0) {
      out += "<line x1=\"0\" x2=\"" + number_attribute(kWidth) + "\" y1=\"" +
             number_attribute(top) + "\" y2=\"" + number_attribute(top) + "\" stroke=\"" +
             std::string(kTrack) + "\"/>\n";
    }
    out += "<text x=\"0\" y=\"" + number_attribute(middle) +
           "\" dominant-baseline=\"central\" font-size=\"14\" fill=\"#1b1f24\">" +
           svg_label(platform.key, kLabelWidth - 12) + "</text>\n";
    for (std::size_t stage = 0; stage < 3; ++stage) {
      const std::int64_t value = platform.*stages[stage].value;
      const double x = panel_x(stage);
      double bar = stages[stage].largest > 0 ? kBarRoom * static_cast<double>(value) /
                                                   static_cast<double>(stages[stage].largest)
                                             : 0;
      if (value > 0) bar = std::max(bar, 2.0);  // a small value still shows
      const std::string bar_top = number_attribute(middle - kBarHeight / 2);
      out += "<rect x=\"" + number_attribute(x) + "\" y=\"" + bar_top + "\" width=\"" +
             number_attribute(kBarRoom) + "\" height=\"" + number_attribute(kBarHeight) +
             "\" rx=\"3\" fill=\"" + std::string(kTrack) + "\"/>\n";
      out += "<rect x=\"" + number_attribute(x) + "\" y=\"" + bar_top + "\" width=\"" +
             number_attribute(bar) + "\" height=\"" + number_attribute(kBarHeight) +
             "\" rx=\"3\" fill=\"" + std::string(stages[stage].colour) + "\"><title>" +
             escape_html(platform.key) + ": " + count_text(value) + " " +
             std::string(stages[stage].unit) + "</title></rect>\n";
      const std::string label =
          value < 1'000'000'000 ? count_text(value) : compact_text(static_cast<double>(value));
      out += "<text x=\"" + number_attribute(x + kBarRoom + 6) + "\" y=\"" +
             number_attribute(middle) +
             "\" dominant-baseline=\"central\" font-size=\"13\" fill=\"#1b1f24\">" + label +
             "</text>\n";
    }
    const std::optional<double> rates[] = {platform.ctr, platform.cvr};
    for (std::size_t gap = 0; gap < 2; ++gap) {
      const double centre = panel_x(gap) + kPanelWidth + kGapWidth / 2;
      out += "<text x=\"" + number_attribute(centre) + "\" y=\"" + number_attribute(middle) +
             "\" dominant-baseline=\"central\" text-anchor=\"middle\" font-size=\"13\" fill=\"" +
             std::string(kMutedText) + "\">" + percent_text(rates[gap]) + "</text>\n";
    }
  }
  out += "</svg></div>\n";
  out +=
      "<p class=\"note\">Each column has its own scale (its longest bar is the largest platform "
      "for that stage). Between the columns: CTR, human clicks per view, and CVR, conversions per "
      "human click.</p>\n";
  return out;
}

// Clicks (bars, left axis) and conversions (line, right axis) per day. Both axes have four equal
// steps, so the grid lines serve both.
std::string timeline_chart(const Report& report) {
  if (report.daily.empty()) return empty_chart("No data yet: no days with clicks in this period.");
  constexpr double kWidth = 980;
  constexpr double kHeight = 320;
  constexpr double kLeft = 64;
  constexpr double kRight = 64;
  constexpr double kTop = 48;
  constexpr double kBottom = 40;
  constexpr double kPlotWidth = kWidth - kLeft - kRight;
  constexpr double kPlotHeight = kHeight - kTop - kBottom;
  constexpr int kSteps = 4;
  constexpr std::size_t kMostLabels = 10;

  std::int64_t most_clicks = 0;
  std::int64_t most_conversions = 0;
  for (const auto& day : report.daily) {
    most_clicks = std::max(most_clicks, day.clicks_human);
    most_conversions = std::max(most_conversions, day.conversions);
  }
  const double clicks_step = nice_step(static_cast<double>(most_clicks), kSteps);
  const double conversions_step = nice_step(static_cast<double>(most_conversions), kSteps);
  const double clicks_top = clicks_step * kSteps;
  const double conversions_top = conversions_step * kSteps;
  const double slot = kPlotWidth / static_cast<double>(report.daily.size());
  const double bar_width = std::min(slot * 0.72, 48.0);
  const auto centre_x = [&](std::size_t index) {
    return kLeft + slot * (static_cast<double>(index) + 0.5);
  };
  const auto y_of = [&](double value, double top) {
    return kTop + kPlotHeight - kPlotHeight * value / top;
  };
  const std::string clicks_colour(kViewsColour);
  const std::string conversions_colour(kConversionsColour);

  std::string out = "<div class=\"scroll\"><svg class=\"chart timeline\" viewBox=\"0 0 " +
                    number_attribute(kWidth) + " " + number_attribute(kHeight) +
                    "\" role=\"img\" aria-label=\"Human clicks and conversions per day\">\n";
  // Legend.
  out += "<rect x=\"" + number_attribute(kLeft) + "\" y=\"10\" width=\"14\" height=\"14\" fill=\"" +
         clicks_colour + "\"/>\n";
  out += "<text x=\"" + number_attribute(kLeft + 20) +
         "\" y=\"17\" dominant-baseline=\"central\" font-size=\"13\" fill=\"#1b1f24\">Human "
         "clicks (left axis)</text>\n";
  out += "<line x1=\"" + number_attribute(kLeft + 210) + "\" x2=\"" +
         number_attribute(kLeft + 234) + "\" y1=\"17\" y2=\"17\" stroke=\"" + conversions_colour +
         "\" stroke-width=\"2.5\"/>\n";
  out += "<circle cx=\"" + number_attribute(kLeft + 222) + "\" cy=\"17\" r=\"4\" fill=\"" +
         conversions_colour + "\"/>\n";
  out += "<text x=\"" + number_attribute(kLeft + 240) +
         "\" y=\"17\" dominant-baseline=\"central\" font-size=\"13\" fill=\"#1b1f24\">"
         "Conversions (right axis)</text>\n";
  // Grid and both axes' labels.
  for (int step = 0; step <= kSteps; ++step) {
    const std::string y = number_attribute(y_of(clicks_step * step, clicks_top));
    out += "<line x1=\"" + number_attribute(kLeft) + "\" x2=\"" +
           number_attribute(kLeft + kPlotWidth) + "\" y1=\"" + y + "\" y2=\"" + y + "\" stroke=\"" +
           (step == 0 ? std::string("#1b1f24") : std::string(kGrid)) + "\"/>\n";
    out += "<text x=\"" + number_attribute(kLeft - 8) + "\" y=\"" + y +
           "\" dominant-baseline=\"central\" text-anchor=\"end\" font-size=\"12\" fill=\"" +
           clicks_colour + "\">" + compact_text(clicks_step * step) + "</text>\n";
    out += "<text x=\"" + number_attribute(kLeft + kPlotWidth + 8) + "\" y=\"" + y +
           "\" dominant-baseline=\"central\" font-size=\"12\" fill=\"" + conversions_colour +
           "\">" + compact_text(conversions_step * step) + "</text>\n";
  }
  // Clicks.
  for (std::size_t index = 0; index < report.daily.size(); ++index) {
    const Day& day = report.daily[index];
    const double top = y_of(static_cast<double>(day.clicks_human), clicks_top);
    std::string tooltip = escape_html(day.day) + ": " +
                          counted(day.clicks_human, "human click", "human clicks") + ", " +
                          counted(day.conversions, "conversion", "conversions");
    if (day.revenue != 0) {
      tooltip += ", " + money_text(day.revenue);
      if (report.currency) tooltip += " " + escape_html(*report.currency);
    }
    out += "<rect x=\"" + number_attribute(centre_x(index) - bar_width / 2) + "\" y=\"" +
           number_attribute(top) + "\" width=\"" + number_attribute(bar_width) + "\" height=\"" +
           number_attribute(kTop + kPlotHeight - top) + "\" fill=\"" + clicks_colour +
           "\"><title>" + tooltip + "</title></rect>\n";
  }
  // Conversions.
  std::string points;
  for (std::size_t index = 0; index < report.daily.size(); ++index) {
    if (!points.empty()) points += ' ';
    points += number_attribute(centre_x(index)) + "," +
              number_attribute(
                  y_of(static_cast<double>(report.daily[index].conversions), conversions_top));
  }
  if (report.daily.size() > 1) {
    // A white halo keeps the line apart from the bars it crosses.
    out += "<polyline points=\"" + points +
           "\" fill=\"none\" stroke=\"#fff\" stroke-width=\"6\" stroke-linejoin=\"round\"/>\n";
    out += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + conversions_colour +
           "\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>\n";
  }
  // Dots while there is room for them; past that they would only blur the line (the bars'
  // tooltips carry the day's conversions too).
  constexpr std::size_t kMostDots = 45;
  const std::size_t dots = report.daily.size() <= kMostDots ? report.daily.size() : 0;
  const double dot = 3.5;
  for (std::size_t index = 0; index < dots; ++index) {
    const Day& day = report.daily[index];
    out += "<circle cx=\"" + number_attribute(centre_x(index)) + "\" cy=\"" +
           number_attribute(y_of(static_cast<double>(day.conversions), conversions_top)) +
           "\" r=\"" + number_attribute(dot) + "\" fill=\"" + conversions_colour +
           "\" stroke=\"#fff\" stroke-width=\"1\"><title>" + escape_html(day.day) + ": " +
           counted(day.conversions, "conversion", "conversions") + "</title></circle>\n";
  }
  // Days: at most kMostLabels labels, evenly spaced, as MM-DD (the year is in the note below).
  const std::size_t every = (report.daily.size() + kMostLabels - 1) / kMostLabels;
  for (std::size_t index = 0; index < report.daily.size(); index += every) {
    const std::string& day = report.daily[index].day;
    const std::string label = day.size() == 10 && day[4] == '-' ? day.substr(5) : day;
    out += "<text x=\"" + number_attribute(centre_x(index)) + "\" y=\"" +
           number_attribute(kTop + kPlotHeight + 20) +
           "\" text-anchor=\"middle\" font-size=\"12\" fill=\"" + std::string(kMutedText) + "\">" +
           svg_label(label, 80) + "</text>\n";
  }
  out += "</svg></div>\n";
  const std::string& first = report.daily.front().day;
  const std::string& last = report.daily.back().day;
  out += "<p class=\"note\">" +
         (first == last ? escape_html(first) : escape_html(first) + " to " + escape_html(last)) +
         ", " + count_text(static_cast<std::int64_t>(report.daily.size())) +
         (report.daily.size() == 1 ? " day" : " days") + ".</p>\n";
  return out;
}

// The first table cell: the title, with the key (a file path) under it when both are known.
std::string name_cell(const Funnel& funnel) {
  if (funnel.title.empty())
    return "<td class=\"text\" dir=\"auto\">" + escape_html(funnel.key) + "</td>";
  std::string out =
      "<td class=\"text\"><span dir=\"auto\">" + escape_html(funnel.title) + "</span>";
  if (!funnel.key.empty() && funnel.key != funnel.title) {
    out += "<span class=\"path\" dir=\"auto\">" + escape_html(funnel.key) + "</span>";
  }
  return out + "</td>";
}

// Top videos as a table; the ranking figure (revenue, or human clicks while there is no revenue)
// gets a bar against the largest.
std::string top_videos_table(const Report& report) {
  if (report.top_videos.empty()) {
    return empty_chart("No data yet: videos appear here once they have views or clicks.");
  }
  bool any_revenue = false;
  double largest = 0;
  for (const auto& video : report.top_videos) any_revenue = any_revenue || video.revenue > 0;
  const auto measure = [&](const Funnel& video) {
    return any_revenue ? video.revenue : static_cast<double>(video.clicks_human);
  };
  for (const auto& video : report.top_videos) largest = std::max(largest, measure(video));
  const std::string colour(any_revenue ? kConversionsColour : kClicksColour);

  std::string out =
      "<div class=\"scroll\"><table class=\"top\">\n<thead><tr><th>#</th>"
      "<th class=\"text\">Video</th><th>Views</th>";
  // The ranking figure comes last, its bar in a cell of its own so that all bars line up.
  out += any_revenue ? "<th>Human clicks</th><th>Conversions</th><th colspan=\"2\">" +
                           escape_html(with_currency(report, "Revenue")) + "</th>"
                     : "<th>Conversions</th><th colspan=\"2\">Human clicks</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (std::size_t index = 0; index < report.top_videos.size(); ++index) {
    const Funnel& video = report.top_videos[index];
    const double width = largest > 0 ? std::max(0.0, 120 * measure(video) / largest) : 0;
    const std::string bar =
        "<td class=\"bar\"><svg class=\"bar\" viewBox=\"0 0 120 12\" "
        "aria-hidden=\"true\"><rect width=\"120\" height=\"12\" rx=\"2\" "
        "fill=\"" +
        std::string(kTrack) + "\"/><rect width=\"" + number_attribute(width) +
        "\" height=\"12\" rx=\"2\" fill=\"" + colour + "\"/></svg></td>";
    out += "<tr><td class=\"rank\">" + std::to_string(index + 1) + "</td>" + name_cell(video) +
           "<td>" + count_text(video.views) + "</td>";
    if (any_revenue) {
      out += "<td>" + count_text(video.clicks_human) + "</td><td>" + count_text(video.conversions) +
             "</td>" + bar + "<td>" + money_text(video.revenue) + "</td>";
    } else {
      out += "<td>" + count_text(video.conversions) + "</td>" + bar + "<td>" +
             count_text(video.clicks_human) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";
  out += std::string("<p class=\"note\">Bars: ") +
         (any_revenue ? "revenue" : "human clicks (no revenue yet)") +
         ", against the largest.</p>\n";
  return out;
}

std::string funnel_cells(const Funnel& funnel) {
  std::string out;
  for (const std::int64_t value : {funnel.posts, funnel.views, funnel.likes, funnel.comments,
                                   funnel.shares, funnel.clicks_human, funnel.conversions}) {
    out += "<td>" + count_text(value) + "</td>";
  }
  out += "<td>" + money_text(funnel.revenue) + "</td><td>" + percent_text(funnel.ctr) +
         "</td><td>" + percent_text(funnel.cvr) + "</td><td>" + money_or_dash(funnel.rpm) + "</td>";
  return out;
}

std::string rows_table(const Report& report) {
  if (report.rows.empty()) return empty_chart(std::string(kNoDataLine));
  std::string out = "<div class=\"scroll\"><table class=\"rows\">\n<thead><tr><th class=\"text\">" +
                    grouping_title(report.by) +
                    "</th><th>Posts</th><th>Views</th><th>Likes</th><th>Comments</th>"
                    "<th>Shares</th><th>Human clicks</th><th>Conversions</th><th>" +
                    escape_html(with_currency(report, "Revenue")) +
                    "</th><th>CTR</th><th>CVR</th><th>" +
                    escape_html(with_currency(report, "RPM")) + "</th></tr></thead>\n<tbody>\n";
  for (const auto& row : report.rows)
    out += "<tr>" + name_cell(row) + funnel_cells(row) + "</tr>\n";
  out += "</tbody>\n<tfoot><tr><td class=\"text\">Total</td>" + funnel_cells(report.totals) +
         "</tr></tfoot>\n</table></div>\n";
  const std::string filtered = filtered_clicks_note(report.totals);
  if (!filtered.empty()) out += "<p class=\"note\">Human clicks only: " + filtered + ".</p>\n";
  return out;
}

}  // namespace

std::string render_report_html(const json& input) {
  const Report report = read_report(input);
  const std::string scope = escape_html(join(scope_parts(report), " · "));
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      // Nothing is fetched and nothing runs, whatever a title contains.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n"
      "<title>reelflow funnel " +
      scope + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  out += "<h1>Funnel report</h1>\n<p class=\"meta\">" + scope + "</p>\n";
  if (report.rows.empty()) {
    out += "<p class=\"notice\"><strong>" + std::string(kNoDataLine) + "</strong> " +
           escape_html(no_data_hint(report)) + "</p>\n";
  }
  if (report.mixed_currencies()) {
    out += "<p class=\"notice\">" + escape_html(mixed_currencies_note()) + "</p>\n";
  }
  out += totals_cards(report);
  out += "<section>\n<h2>Funnel per platform</h2>\n" + funnel_chart(report) + "</section>\n";
  out += "<section>\n<h2>Human clicks and conversions per day</h2>\n" + timeline_chart(report) +
         "</section>\n";
  out += "<section>\n<h2>Top videos</h2>\n" + top_videos_table(report) + "</section>\n";
  out += "<section>\n<h2>By " + escape_html(report.by.empty() ? "key" : report.by) + "</h2>\n" +
         rows_table(report) + "</section>\n";
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace reelflow::track
