// Text for the CLI's charts (`reelflow optimize show --plot`): UTF-8 drawn with FreeType from Noto
// Sans CJK (fonts-noto-cjk), so arm and experiment names in Chinese read as Chinese; grayscale
// anti-aliased coverage handed to the caller to blend. When no font can be loaded, a built-in 5x7
// pixel font (ASCII; every other character drawn as '?') with fallback_reason() saying why, for
// the user to read.
//
// No shaping: one glyph per code point, left to right (right for Chinese, Japanese, Korean and
// Latin names; Arabic or Devanagari would not join).
//
// Thread-safety: one thread at a time per PlotText (it owns a FreeType library and face).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace reelflow::cli {

// The fonts-noto-cjk file the charts' text is drawn with (its Simplified Chinese face).
inline constexpr const char* kPlotFontFile =
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

// The code points of UTF-8 `text`; a byte that does not start or continue a valid sequence (and
// an overlong form or a surrogate) becomes U+FFFD.
std::u32string decode_utf8(std::string_view text);

class PlotText {
 public:
  // Called for each pixel a glyph covers, coverage in (0, 1].
  using Plot = std::function<void(int x, int y, double coverage)>;

  // Loads `font_file` (a .ttf/.otf, or a .ttc whose "Noto Sans CJK SC" face is preferred).
  explicit PlotText(const std::filesystem::path& font_file = kPlotFontFile);
  ~PlotText();
  PlotText(const PlotText&) = delete;
  PlotText& operator=(const PlotText&) = delete;

  // Empty when the font loaded; otherwise why not ("font ... not found; install fonts-noto-cjk"),
  // and text is drawn with the pixel font.
  const std::string& fallback_reason() const { return fallback_reason_; }
  bool fallback() const { return !fallback_reason_.empty(); }

  // `size` is the font size in pixels (the em); the pixel font draws at the nearest whole scale
  // of its 9-row cell. Width of `text` in pixels.
  int width(std::string_view text, int size);
  // `text` with its line box's top-left corner at (x, y) (the baseline lies about 0.88 size lower).
  void draw(std::string_view text, int x, int y, int size, const Plot& plot);
  // `text` if it fits in `max_width` pixels; otherwise its longest prefix (whole characters) with
  // an ellipsis that does.
  std::string fit(std::string_view text, int size, int max_width);

 private:
  struct Font;
  std::unique_ptr<Font> font_;  // null: the pixel font
  std::string fallback_reason_;
};

}  // namespace reelflow::cli
