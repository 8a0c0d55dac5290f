#include "cli/plot_text.hpp"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

namespace reelflow::cli {

namespace {

// A 5x7 pixel font for ASCII 32..126, two more rows for descenders; '#' is ink. Drawn for this
// chart (the rows are separated by '|'; rows left out are blank).
constexpr std::array<const char*, 95> kFont = {{
    ".....",                                                  // ' '
    "..#..|..#..|..#..|..#..|..#..|.....|..#..",              // !
    ".#.#.|.#.#.",                                            // "
    ".#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.",              // #
    "..#..|.####|#.#..|.###.|..#.#|####.|..#..",              // $
    "##...|##..#|...#.|..#..|.#...|#..##|...##",              // %
    ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#",              // &
    "..#..|..#..",                                            // '
    "...#.|..#..|.#...|.#...|.#...|..#..|...#.",              // (
    ".#...|..#..|...#.|...#.|...#.|..#..|.#...",              // )
    ".....|..#..|#.#.#|.###.|#.#.#|..#..",                    // *
    ".....|..#..|..#..|#####|..#..|..#..",                    // +
    ".....|.....|.....|.....|.....|..#..|..#..|.#...",        // ,
    ".....|.....|.....|#####",                                // -
    ".....|.....|.....|.....|.....|.....|..#..",              // .
    ".....|....#|...#.|..#..|.#...|#....",                    // /
    ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",              // 0
    "..#..|.##..|..#..|..#..|..#..|..#..|.###.",              // 1
    ".###.|#...#|....#|...#.|..#..|.#...|#####",              // 2
    "#####|...#.|..#..|...#.|....#|#...#|.###.",              // 3
    "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",              // 4
    "#####|#....|####.|....#|....#|#...#|.###.",              // 5
    "..##.|.#...|#....|####.|#...#|#...#|.###.",              // 6
    "#####|....#|...#.|..#..|.#...|.#...|.#...",              // 7
    ".###.|#...#|#...#|.###.|#...#|#...#|.###.",              // 8
    ".###.|#...#|#...#|.####|....#|...#.|.##..",              // 9
    ".....|..#..|.....|.....|.....|..#..",                    // :
    ".....|..#..|.....|.....|.....|..#..|..#..|.#...",        // ;
    "...#.|..#..|.#...|#....|.#...|..#..|...#.",              // <
    ".....|.....|#####|.....|#####",                          // =
    ".#...|..#..|...#.|....#|...#.|..#..|.#...",              // >
    ".###.|#...#|....#|...#.|..#..|.....|..#..",              // ?
    ".###.|#...#|....#|.##.#|#.#.#|#.#.#|.###.",              // @
    ".###.|#...#|#...#|#####|#...#|#...#|#...#",              // A
    "####.|#...#|#...#|####.|#...#|#...#|####.",              // B
    ".###.|#...#|#....|#....|#....|#...#|.###.",              // C
    "###..|#..#.|#...#|#...#|#...#|#..#.|###..",              // D
    "#####|#....|#....|####.|#....|#....|#####",              // E
    "#####|#....|#....|####.|#....|#....|#....",              // F
    ".###.|#...#|#....|#.###|#...#|#...#|.####",              // G
    "#...#|#...#|#...#|#####|#...#|#...#|#...#",              // H
    ".###.|..#..|..#..|..#..|..#..|..#..|.###.",              // I
    "..###|...#.|...#.|...#.|...#.|#..#.|.##..",              // J
    "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",              // K
    "#....|#....|#....|#....|#....|#....|#####",              // L
    "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",              // M
    "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",              // N
    ".###.|#...#|#...#|#...#|#...#|#...#|.###.",              // O
    "####.|#...#|#...#|####.|#....|#....|#....",              // P
    ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",              // Q
    "####.|#...#|#...#|####.|#.#..|#..#.|#...#",              // R
    ".####|#....|#....|.###.|....#|....#|####.",              // S
    "#####|..#..|..#..|..#..|..#..|..#..|..#..",              // T
    "#...#|#...#|#...#|#...#|#...#|#...#|.###.",              // U
    "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",              // V
    "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",              // W
    "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",              // X
    "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",              // Y
    "#####|....#|...#.|..#..|.#...|#....|#####",              // Z
    ".###.|.#...|.#...|.#...|.#...|.#...|.###.",              // [
    ".....|#....|.#...|..#..|...#.|....#",                    // backslash
    ".###.|...#.|...#.|...#.|...#.|...#.|.###.",              // ]
    "..#..|.#.#.|#...#",                                      // ^
    ".....|.....|.....|.....|.....|.....|.....|#####",        // _
    ".#...|..#..",                                            // `
    ".....|.....|.###.|....#|.####|#...#|.####",              // a
    "#....|#....|#.##.|##..#|#...#|#...#|####.",              // b
    ".....|.....|.###.|#....|#....|#...#|.###.",              // c
    "....#|....#|.##.#|#..##|#...#|#...#|.####",              // d
    ".....|.....|.###.|#...#|#####|#....|.###.",              // e
    "..##.|.#..#|.#...|###..|.#...|.#...|.#...",              // f
    ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###.",  // g
    "#....|#....|#.##.|##..#|#...#|#...#|#...#",              // h
    "..#..|.....|.##..|..#..|..#..|..#..|.###.",              // i
    "...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##..",  // j
    "#....|#....|#..#.|#.#..|##...|#.#..|#..#.",              // k
    ".##..|..#..|..#..|..#..|..#..|..#..|.###.",              // l
    ".....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#",              // m
    ".....|.....|#.##.|##..#|#...#|#...#|#...#",              // n
    ".....|.....|.###.|#...#|#...#|#...#|.###.",              // o
    ".....|.....|####.|#...#|#...#|#...#|####.|#....|#....",  // p
    ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#",  // q
    ".....|.....|#.##.|##..#|#....|#....|#....",              // r
    ".....|.....|.####|#....|.###.|....#|####.",              // s
    ".#...|.#...|###..|.#...|.#...|.#..#|..##.",              // t
    ".....|.....|#...#|#...#|#...#|#..##|.##.#",              // u
    ".....|.....|#...#|#...#|#...#|.#.#.|..#..",              // v
    ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.",              // w
    ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#",              // x
    ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###.",  // y
    ".....|.....|#####|...#.|..#..|.#...|#####",              // z
    "...#.|..#..|..#..|.#...|..#..|..#..|...#.",              // {
    "..#..|..#..|..#..|..#..|..#..|..#..|..#..",              // |
    ".#...|..#..|..#..|...#.|..#..|..#..|.#...",              // }
    ".....|.....|.#...|#.#.#|...#.",                          // ~
}};

constexpr int kGlyphWidth = 5;
constexpr int kGlyphAdvance = 6;  // a column of space between letters
constexpr int kGlyphRows = 9;

constexpr char32_t kReplacement = 0xFFFD;

// The pixel font's scale for a font size: its 9-row cell (7 rows and descenders) nearest `size`.
int pixel_scale(int size) { return std::max(1, (size + 4) / kGlyphRows); }

// What the pixel font draws for a code point: itself when printable ASCII, otherwise '?'.
char pixel_char(char32_t c) { return c >= 32 && c < 127 ? static_cast<char>(c) : '?'; }

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string freetype_error(FT_Error error) {
  const char* text = FT_Error_String(error);
  return text != nullptr ? std::string(text) : "FreeType error " + std::to_string(error);
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    char32_t c = 0, least = 0;
    if (lead < 0x80) {
      out += lead;
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead < 0xE0) {
      length = 2, c = lead & 0x1F, least = 0x80;
    } else if (lead >= 0xE0 && lead < 0xF0) {
      length = 3, c = lead & 0x0F, least = 0x800;
    } else if (lead >= 0xF0 && lead < 0xF5) {
      length = 4, c = lead & 0x07, least = 0x10000;
    } else {  // a continuation byte without a lead, or a lead no valid sequence starts with
      out += kReplacement;
      ++i;
      continue;
    }
    std::size_t read = 1;
    for (; read < length && i + read < text.size(); ++read) {
      const auto next = static_cast<unsigned char>(text[i + read]);
      if ((next & 0xC0) != 0x80) break;
      c = (c << 6) | (next & 0x3F);
    }
    if (read < length || c < least || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out += kReplacement;  // cut short, overlong, beyond Unicode or a surrogate
    } else {
      out += c;
    }
    i += read;
  }
  return out;
}

struct PlotText::Font {
  struct Glyph {
    FT_Pos advance = 0;  // 26.6 pixels
    int left = 0, top = 0, width = 0, rows = 0;
    std::vector<std::uint8_t> coverage;
  };

  FT_Library library = nullptr;
  FT_Face face = nullptr;
  int size = 0;
  std::map<std::pair<char32_t, int>, Glyph> glyphs;

  ~Font() {
    if (face != nullptr) FT_Done_Face(face);
    if (library != nullptr) FT_Done_FreeType(library);
  }

  // The glyph of `c` at `size`, rendered once. A character the font lacks (or control
  // character) draws as the font's missing-glyph box, never as nothing.
  const Glyph& glyph(char32_t c, int wanted_size) {
    const auto key = std::make_pair(c, wanted_size);
    if (auto found = glyphs.find(key); found != glyphs.end()) return found->second;
    Glyph& glyph = glyphs[key];
    if (size != wanted_size &&
        FT_Set_Pixel_Sizes(face, 0, static_cast<FT_UInt>(wanted_size)) == 0) {
      size = wanted_size;
    }
    const bool control = c < 32 || (c >= 0x7F && c < 0xA0);
    const FT_UInt index = FT_Get_Char_Index(face, control ? kReplacement : c);
    if (FT_Load_Glyph(face, index, FT_LOAD_RENDER | FT_LOAD_TARGET_LIGHT) != 0) {
      glyph.advance = static_cast<FT_Pos>(wanted_size) * 32;  // an empty half-em
      return glyph;
    }
    const FT_GlyphSlot slot = face->glyph;
    glyph.advance = slot->advance.x;
    glyph.left = slot->bitmap_left;
    glyph.top = slot->bitmap_top;
    const FT_Bitmap& bitmap = slot->bitmap;
    if (bitmap.pixel_mode != FT_PIXEL_MODE_GRAY) return glyph;  // FT_LOAD_RENDER gives gray
    glyph.width = static_cast<int>(bitmap.width);
    glyph.rows = static_cast<int>(bitmap.rows);
    glyph.coverage.resize(static_cast<std::size_t>(glyph.width * glyph.rows));
    for (int row = 0; row < glyph.rows; ++row) {
      const unsigned char* line = bitmap.buffer + static_cast<std::ptrdiff_t>(row) * bitmap.pitch;
      std::copy(line, line + glyph.width,
                glyph.coverage.begin() + static_cast<std::ptrdiff_t>(row * glyph.width));
    }
    return glyph;
  }
};

PlotText::PlotText(const std::filesystem::path& font_file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(font_file, error)) {
    fallback_reason_ = "font " + font_file.string() + " not found; install fonts-noto-cjk";
    return;
  }
  auto font = std::make_unique<Font>();
  if (const FT_Error started = FT_Init_FreeType(&font->library); started != 0) {
    font->library = nullptr;
    fallback_reason_ = "FreeType did not start: " + freetype_error(started);
    return;
  }
  // A collection holds several faces: take the Simplified Chinese one (Douyin, Kuaishou and
  // Bilibili names), else the first.
  FT_Long faces = 1;
  if (FT_Face probe = nullptr; FT_New_Face(font->library, font_file.c_str(), -1, &probe) == 0) {
    faces = probe->num_faces;
    FT_Done_Face(probe);
  }
  FT_Long chosen = 0;
  for (FT_Long index = 0; index < faces; ++index) {
    FT_Face face = nullptr;
    if (FT_New_Face(font->library, font_file.c_str(), index, &face) != 0) continue;
    const bool simplified_chinese =
        face->family_name != nullptr && std::string_view(face->family_name) == "Noto Sans CJK SC";
    FT_Done_Face(face);
    if (simplified_chinese) {
      chosen = index;
      break;
    }
  }
  if (const FT_Error opened = FT_New_Face(font->library, font_file.c_str(), chosen, &font->face);
      opened != 0) {
    font->face = nullptr;
    fallback_reason_ = "font " + font_file.string() + " cannot be read (" + freetype_error(opened) +
                       "); reinstall fonts-noto-cjk";
    return;
  }
  if (FT_Select_Charmap(font->face, FT_ENCODING_UNICODE) != 0) {
    fallback_reason_ = "font " + font_file.string() + " has no Unicode character map";
    return;
  }
  font_ = std::move(font);
}

PlotText::~PlotText() = default;

int PlotText::width(std::string_view text, int size) {
  const std::u32string characters = decode_utf8(text);
  if (characters.empty()) return 0;
  if (!font_) {
    const int scale = pixel_scale(size);
    return static_cast<int>(characters.size() - 1) * kGlyphAdvance * scale + kGlyphWidth * scale;
  }
  FT_Pos pen = 0;
  for (char32_t c : characters) pen += font_->glyph(c, size).advance;
  return static_cast<int>((pen + 63) / 64);
}

void PlotText::draw(std::string_view text, int x, int y, int size, const Plot& plot) {
  const std::u32string characters = decode_utf8(text);
  if (!font_) {
    const int scale = pixel_scale(size);
    for (char32_t c : characters) {
      int row = 0, column = 0;
      for (const char* p = kFont[static_cast<std::size_t>(pixel_char(c) - 32)]; *p != '\0'; ++p) {
        if (*p == '|') {
          ++row;
          column = 0;
          continue;
        }
        if (*p == '#') {
          for (int dy = 0; dy < scale; ++dy) {
            for (int dx = 0; dx < scale; ++dx)
              plot(x + column * scale + dx, y + row * scale + dy, 1.0);
          }
        }
        ++column;
      }
      x += kGlyphAdvance * scale;
    }
    return;
  }
  // Noto CJK's ideographs fill the em from 0.88 above the baseline to 0.12 below it.
  const int baseline = y + static_cast<int>(std::lround(size * 0.88));
  FT_Pos pen = static_cast<FT_Pos>(x) * 64;
  for (char32_t c : characters) {
    const Font::Glyph& glyph = font_->glyph(c, size);
    const int left = static_cast<int>((pen + 32) / 64) + glyph.left;
    const int top = baseline - glyph.top;
    for (int row = 0; row < glyph.rows; ++row) {
      for (int column = 0; column < glyph.width; ++column) {
        const std::uint8_t value =
            glyph.coverage[static_cast<std::size_t>(row * glyph.width + column)];
        if (value != 0) plot(left + column, top + row, value / 255.0);
      }
    }
    pen += glyph.advance;
  }
}

std::string PlotText::fit(std::string_view text, int size, int max_width) {
  if (width(text, size) <= max_width) return std::string(text);
  const std::u32string characters = decode_utf8(text);
  const std::string ellipsis = font_ ? "\u2026" : "..";
  std::string best = ellipsis;
  std::string prefix;
  for (char32_t c : characters) {
    append_utf8(prefix, c);
    std::string candidate = prefix;
    while (!candidate.empty() && candidate.back() == ' ') candidate.pop_back();
    candidate += ellipsis;
    if (width(candidate, size) > max_width) break;
    best = std::move(candidate);
  }
  return best;
}

}  // namespace reelflow::cli
