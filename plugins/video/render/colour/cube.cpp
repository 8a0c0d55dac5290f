#include "render/colour/cube.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace reelflow::video {

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    const std::size_t start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
    if (pos > start) words.push_back(line.substr(start, pos - start));
  }
  return words;
}

bool parse_float(std::string_view word, float& value) {
  const char* end = word.data() + word.size();
  auto [ptr, ec] = std::from_chars(word.data(), end, value);
  return ec == std::errc() && ptr == end && std::isfinite(value);
}

bool parse_int(std::string_view word, int& value) {
  const char* end = word.data() + word.size();
  auto [ptr, ec] = std::from_chars(word.data(), end, value);
  return ec == std::errc() && ptr == end;
}

// A keyword is an upper-case identifier; anything else on a non-comment line must be numbers.
bool is_keyword(std::string_view word) {
  if (word.empty() || !(std::isupper(static_cast<unsigned char>(word[0])) || word[0] == '_')) {
    return false;
  }
  return std::all_of(word.begin(), word.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::array<double, 3> lerp3(const std::array<double, 3>& a, const std::array<float, 3>& from,
                            const std::array<float, 3>& to, double t) {
  return {a[0] + t * (static_cast<double>(to[0]) - from[0]),
          a[1] + t * (static_cast<double>(to[1]) - from[1]),
          a[2] + t * (static_cast<double>(to[2]) - from[2])};
}

}  // namespace

std::array<double, 3> CubeLut::sample(double r, double g, double b, LutInterpolation interpolation,
                                      bool extrapolate) const {
  const double input[3] = {r, g, b};
  int base[3];
  double frac[3];
  for (int c = 0; c < 3; ++c) {
    const double span = static_cast<double>(domain_max[c]) - domain_min[c];
    double x = (input[c] - domain_min[c]) / span * (size - 1);
    if (!extrapolate) x = std::clamp(x, 0.0, static_cast<double>(size - 1));
    base[c] = std::clamp(static_cast<int>(std::floor(x)), 0, size - 2);
    frac[c] = x - base[c];
  }
  const auto node = [&](int dr, int dg, int db) -> const std::array<float, 3>& {
    return at(base[0] + dr, base[1] + dg, base[2] + db);
  };
  const double fr = frac[0], fg = frac[1], fb = frac[2];
  const auto& c000 = node(0, 0, 0);
  const auto& c111 = node(1, 1, 1);
  const std::array<double, 3> start = {c000[0], c000[1], c000[2]};
  if (interpolation == LutInterpolation::kTrilinear) {
    std::array<double, 3> out{};
    for (int c = 0; c < 3; ++c) {
      const double c00 = node(0, 0, 0)[c] * (1 - fr) + node(1, 0, 0)[c] * fr;
      const double c10 = node(0, 1, 0)[c] * (1 - fr) + node(1, 1, 0)[c] * fr;
      const double c01 = node(0, 0, 1)[c] * (1 - fr) + node(1, 0, 1)[c] * fr;
      const double c11 = node(0, 1, 1)[c] * (1 - fr) + node(1, 1, 1)[c] * fr;
      const double c0 = c00 * (1 - fg) + c10 * fg;
      const double c1 = c01 * (1 - fg) + c11 * fg;
      out[c] = c0 * (1 - fb) + c1 * fb;
    }
    return out;
  }
  // Tetrahedral: the cube is split into six tetrahedra along its main diagonal; walk from c000
  // to c111 along the edges in the order of decreasing fraction.
  if (fr > fg) {
    if (fg > fb) {
      const auto& c100 = node(1, 0, 0);
      const auto& c110 = node(1, 1, 0);
      return lerp3(lerp3(lerp3(start, c000, c100, fr), c100, c110, fg), c110, c111, fb);
    }
    if (fr > fb) {
      const auto& c100 = node(1, 0, 0);
      const auto& c101 = node(1, 0, 1);
      return lerp3(lerp3(lerp3(start, c000, c100, fr), c100, c101, fb), c101, c111, fg);
    }
    const auto& c001 = node(0, 0, 1);
    const auto& c101 = node(1, 0, 1);
    return lerp3(lerp3(lerp3(start, c000, c001, fb), c001, c101, fr), c101, c111, fg);
  }
  if (fb > fg) {
    const auto& c001 = node(0, 0, 1);
    const auto& c011 = node(0, 1, 1);
    return lerp3(lerp3(lerp3(start, c000, c001, fb), c001, c011, fg), c011, c111, fr);
  }
  if (fb > fr) {
    const auto& c010 = node(0, 1, 0);
    const auto& c011 = node(0, 1, 1);
    return lerp3(lerp3(lerp3(start, c000, c010, fg), c010, c011, fb), c011, c111, fr);
  }
  const auto& c010 = node(0, 1, 0);
  const auto& c110 = node(1, 1, 0);
  return lerp3(lerp3(lerp3(start, c000, c010, fg), c010, c110, fr), c110, c111, fb);
}

Result<CubeLut> parse_cube(std::string_view text, const std::string& name) {
  CubeLut lut;
  int line_number = 0;
  int size_1d = 0, size_1d_line = 0;
  bool has_domain_min = false, has_domain_max = false;
  std::size_t expected = 0;
  const auto fail = [&](const std::string& problem) {
    return error("'" + name + "' line " + std::to_string(line_number) + ": " + problem);
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto words = split_words(line);
    if (words.empty() || words[0][0] == '#') continue;

    if (is_keyword(words[0])) {
      const std::string_view keyword = words[0];
      if (!lut.table.empty()) {
        return fail("keyword " + std::string(keyword) + " after the table data has begun");
      }
      if (keyword == "TITLE") {
        const std::size_t open = line.find('"');
        const std::size_t close = line.rfind('"');
        if (open == std::string_view::npos || close == open) {
          return fail("TITLE needs a quoted string");
        }
        lut.title = std::string(line.substr(open + 1, close - open - 1));
      } else if (keyword == "LUT_3D_SIZE") {
        int size = 0;
        if (words.size() != 2 || !parse_int(words[1], size)) {
          return fail("LUT_3D_SIZE needs one integer");
        }
        if (lut.size != 0) return fail("LUT_3D_SIZE given twice");
        if (size < 2 || size > CubeLut::kMaxSize) {
          return fail("LUT_3D_SIZE " + std::to_string(size) + " is outside 2.." +
                      std::to_string(CubeLut::kMaxSize));
        }
        lut.size = size;
        expected = static_cast<std::size_t>(size) * size * size;
        lut.table.reserve(expected);
      } else if (keyword == "LUT_1D_SIZE") {
        if (words.size() != 2 || !parse_int(words[1], size_1d)) {
          return fail("LUT_1D_SIZE needs one integer");
        }
        size_1d_line = line_number;
      } else if (keyword == "DOMAIN_MIN" || keyword == "DOMAIN_MAX") {
        auto& domain = keyword == "DOMAIN_MIN" ? lut.domain_min : lut.domain_max;
        if (words.size() != 4 || !parse_float(words[1], domain[0]) ||
            !parse_float(words[2], domain[1]) || !parse_float(words[3], domain[2])) {
          return fail(std::string(keyword) + " needs three numbers");
        }
        (keyword == "DOMAIN_MIN" ? has_domain_min : has_domain_max) = true;
      } else if (keyword == "LUT_3D_INPUT_RANGE") {  // DaVinci Resolve's older form of DOMAIN_*
        float low = 0, high = 0;
        if (words.size() != 3 || !parse_float(words[1], low) || !parse_float(words[2], high)) {
          return fail("LUT_3D_INPUT_RANGE needs two numbers");
        }
        if (!has_domain_min) lut.domain_min = {low, low, low};
        if (!has_domain_max) lut.domain_max = {high, high, high};
      }
      // Other keywords (LUT_1D_INPUT_RANGE, vendors' own such as LUT_IN_VIDEO_RANGE) are ignored,
      // as readers of the format do.
      continue;
    }

    // A data line.
    if (lut.size == 0) {
      if (size_1d != 0) {
        line_number = size_1d_line;
        return fail("a 1D LUT (LUT_1D_SIZE " + std::to_string(size_1d) +
                    "); only 3D LUTs (LUT_3D_SIZE) are supported");
      }
      return fail("table data before LUT_3D_SIZE");
    }
    if (size_1d != 0) {
      line_number = size_1d_line;
      return fail("a combined 1D + 3D LUT; only plain 3D LUTs are supported");
    }
    std::array<float, 3> rgb{};
    if (words.size() != 3 || !parse_float(words[0], rgb[0]) || !parse_float(words[1], rgb[1]) ||
        !parse_float(words[2], rgb[2])) {
      return fail("expected three numbers (r g b), got '" + std::string(line) + "'");
    }
    if (lut.table.size() == expected) {
      return fail("more than " + std::to_string(expected) + " entries (LUT_3D_SIZE " +
                  std::to_string(lut.size) + ")");
    }
    lut.table.push_back(rgb);
  }

  if (lut.size == 0) {
    if (size_1d != 0) {
      line_number = size_1d_line;
      return fail("a 1D LUT (LUT_1D_SIZE " + std::to_string(size_1d) +
                  "); only 3D LUTs (LUT_3D_SIZE) are supported");
    }
    return error("'" + name + "': no LUT_3D_SIZE; not a 3D .cube LUT");
  }
  if (lut.table.size() != expected) {
    return fail("end of file after " + std::to_string(lut.table.size()) + " entries; LUT_3D_SIZE " +
                std::to_string(lut.size) + " needs " + std::to_string(expected));
  }
  for (int c = 0; c < 3; ++c) {
    if (!(lut.domain_min[c] < lut.domain_max[c])) {
      return error("'" + name + "': DOMAIN_MIN must be below DOMAIN_MAX in every channel");
    }
  }
  return lut;
}

Result<CubeLut> read_cube_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return error("cannot open the LUT '" + path + "'");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return error("cannot read the LUT '" + path + "'");
  return parse_cube(text.str(), path);
}

}  // namespace reelflow::video
