#include "srt.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace reelflow::video::overlay {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_timing(std::string_view line) { return line.find("-->") != std::string_view::npos; }

std::optional<long> parse_number(std::string_view s) {
  if (!all_digits(s) || s.size() > 9) return std::nullopt;
  long value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  return value;
}

struct Timing {
  double start = 0, end = 0;
};

std::optional<Timing> parse_timing(std::string_view line) {
  const std::size_t arrow = line.find("-->");
  std::string_view right = trim(line.substr(arrow + 3));
  right =
      right.substr(0, std::min(right.size(), right.find_first_of(" \t")));  // drop X1:... positions
  const auto start = parse_srt_time(trim(line.substr(0, arrow)));
  const auto end = parse_srt_time(right);
  if (!start || !end) return std::nullopt;
  return Timing{*start, *end};
}

std::string error_at(const std::string& name, std::size_t line, std::string_view problem,
                     std::string_view text) {
  return name + ": bad timestamp at line " + std::to_string(line) + " (" + std::string(problem) +
         "): '" + std::string(text.substr(0, 80)) + "'";
}

void append_line(std::string& text, std::string_view line) {
  if (!text.empty()) text += '\n';
  text += line;
}

}  // namespace

std::optional<double> parse_srt_time(std::string_view text) {
  // [H+:]MM:SS[,.]m{0,3}
  std::string_view fraction;
  const std::size_t separator = text.find_first_of(",.");
  if (separator != std::string_view::npos) {
    fraction = text.substr(separator + 1);
    text = text.substr(0, separator);
    if (fraction.empty() || fraction.size() > 3 || !all_digits(fraction)) return std::nullopt;
  }
  std::array<long, 3> parts{};
  std::size_t count = 0;
  while (true) {
    const std::size_t colon = text.find(':');
    if (count == parts.size()) return std::nullopt;
    const auto value = parse_number(text.substr(0, colon));
    if (!value) return std::nullopt;
    parts[count++] = *value;
    if (colon == std::string_view::npos) break;
    text = text.substr(colon + 1);
  }
  if (count < 2) return std::nullopt;
  const long hours = count == 3 ? parts[0] : 0;
  const long minutes = parts[count - 2], seconds = parts[count - 1];
  if (minutes >= 60 || seconds >= 60) return std::nullopt;
  double milliseconds = 0;
  if (!fraction.empty()) {
    milliseconds = static_cast<double>(*parse_number(fraction));
    for (std::size_t digits = fraction.size(); digits < 3; ++digits) milliseconds *= 10;
  }
  return static_cast<double>(hours * 3600 + minutes * 60 + seconds) + milliseconds / 1000.0;
}

Result<std::vector<CaptionCue>> parse_srt(std::string_view text, const std::string& name) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::vector<std::string_view> lines = split_lines(text);
  auto next_is_timing = [&](std::size_t i) {
    return i + 1 < lines.size() && is_timing(lines[i + 1]);
  };

  std::vector<CaptionCue> cues;
  bool in_cue = false;  // reading a cue's text
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) {
      in_cue = false;
      continue;
    }
    if (all_digits(line) && next_is_timing(i)) continue;  // the cue number
    if (is_timing(line)) {
      const auto timing = parse_timing(line);
      if (!timing)
        return error(error_at(name, i + 1, "expected HH:MM:SS,mmm --> HH:MM:SS,mmm", line));
      if (timing->end < timing->start)
        return error(error_at(name, i + 1, "ends before it starts", line));
      cues.push_back({timing->start, timing->end, ""});
      in_cue = true;
      continue;
    }
    if (!in_cue && all_digits(line) && i + 1 < lines.size() && !trim(lines[i + 1]).empty()) {
      // A cue number followed by something that is not a timing line.
      return error(
          error_at(name, i + 2, "expected HH:MM:SS,mmm --> HH:MM:SS,mmm", trim(lines[i + 1])));
    }
    // Text; after a blank line inside a cue's text it continues that cue.
    if (!cues.empty()) append_line(cues.back().text, line);
    in_cue = true;
  }
  std::erase_if(cues, [](const CaptionCue& cue) { return trim(cue.text).empty(); });
  if (cues.empty()) return error(name + " has no captions (expected SubRip cues)");
  return cues;
}

namespace {

// The code point starting at text[i] and its length in bytes (invalid UTF-8: the byte itself).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const std::size_t length = lead < 0x80           ? 1
                             : (lead >> 5) == 0x6  ? 2
                             : (lead >> 4) == 0xE  ? 3
                             : (lead >> 3) == 0x1E ? 4
                                                   : 1;
  if (length == 1 || i + length > text.size()) return {lead, 1};
  char32_t cp = lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {lead, 1};
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  return {cp, length};
}

// Scripts written without spaces between words: a line may break between any two characters.
bool breaks_anywhere(char32_t c) {
  return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFFEF) ||
         (c >= 0x20000 && c <= 0x3FFFF);
}

// Kinsoku: no line starts with closing punctuation or small kana, none ends with an opening one.
bool no_break_before(char32_t c) {
  static constexpr std::u32string_view closing =
      U"、。，．：；？！）］｝〕〉》」』】〙〗〟ー々〻ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
      U"・…‥,.!?:;)]}%'\"";
  return closing.find(c) != std::u32string_view::npos;
}
bool no_break_after(char32_t c) {
  static constexpr std::u32string_view opening = U"（［｛〔〈《「『【〘〖〝‘“([{";
  return opening.find(c) != std::u32string_view::npos;
}

// libass (built without libunibreak, as in Debian 12) wraps only at spaces: a space scaled to
// zero width is a break opportunity that takes no room.
constexpr std::string_view kZeroWidthBreak = "{\\fscx0} {\\fscx}";

}  // namespace

std::string to_ass_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  char32_t previous = 0;  // the last visible character on this line, 0 at a line's start
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      out += "\\N";
      previous = 0;
    } else if (c == '\r') {
      continue;
    } else if (c == '<') {
      const std::size_t close = text.find('>', i);
      if (close == std::string_view::npos) {
        out += c;
        previous = U'<';
        continue;
      }
      std::string tag(text.substr(i + 1, close - i - 1));
      std::transform(tag.begin(), tag.end(), tag.begin(),
                     [](unsigned char ch) { return std::tolower(ch); });
      const bool closing = tag.starts_with("/");
      const std::string_view bare = trim(std::string_view(tag).substr(closing ? 1 : 0));
      if (bare == "i" || bare == "b" || bare == "u" || bare == "s") {
        out += "{\\" + std::string(bare) + (closing ? "0}" : "1}");
      } else if (!(bare.starts_with("font") || bare == "br" || bare == "br/")) {
        out += c;  // not markup: "<3", "a < b"
        previous = U'<';
        continue;
      } else if (bare.starts_with("br")) {
        out += "\\N";
        previous = 0;
      }
      i = close;
    } else if (c == '{') {
      const std::size_t close = text.find('}', i);
      if (i + 1 < text.size() && text[i + 1] == '\\' && close != std::string_view::npos) {
        i = close;  // an ASS override block in an SRT ({\an8}): dropped
      } else {
        out += "\\{";
        previous = U'{';
      }
    } else if (c == '}') {
      out += "\\}";
      previous = U'}';
    } else if (c == '\\') {
      out += '\\';
      // A word joiner stops libass reading \N, \n, \h, \{ or \} as a command.
      if (i + 1 < text.size() &&
          std::string_view("Nnh{}").find(text[i + 1]) != std::string_view::npos) {
        out += "\xE2\x81\xA0";
      }
      previous = U'\\';
    } else {
      const auto [code_point, length] = decode_utf8(text, i);
      const bool space = code_point == U' ' || code_point == U'\t';
      if (previous != 0 && !space && (breaks_anywhere(previous) || breaks_anywhere(code_point)) &&
          !no_break_before(code_point) && !no_break_after(previous)) {
        out += kZeroWidthBreak;
      }
      out += text.substr(i, length);
      i += length - 1;
      previous = space ? 0 : code_point;
    }
  }
  return out;
}

}  // namespace reelflow::video::overlay
