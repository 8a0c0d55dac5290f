// Captions through libass. SRT and workflow cues become events of a track this file writes (one
// style for captions, one for the title card), so what is drawn is plain ASS and an ASS sidecar
// goes through the same renderer as it is. libass's images (alpha masks with one RGBA colour
// each) are composited once per change into a premultiplied Sprite; frames in between only blend.
//
// When the track is ours (no animation tags), the picture can change only at an event's start or
// end: between two such times libass is not even asked. An ASS sidecar may animate (\t, \move,
// \fad), so it is rendered every frame and its images rebuilt only when libass's detect_change
// says they changed.
#include <ass/ass.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "overlay.hpp"
#include "sprite.hpp"
#include "srt.hpp"

namespace reelflow::video {
namespace {

struct Colour {
  int red = 0, green = 0, blue = 0, alpha = 255;  // alpha 255: opaque
};

// "#RRGGBB" or "#RRGGBBAA".
Result<Colour> parse_colour(const std::string& text, const char* option) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const std::string_view digits = std::string_view(text).substr(text.starts_with("#") ? 1 : 0);
  if (digits.size() != 6 && digits.size() != 8) {
    return error(std::string("captions ") + option + " '" + text + "' is not #RRGGBB or #RRGGBBAA");
  }
  int values[4] = {0, 0, 0, 255};
  for (std::size_t i = 0; i < digits.size() / 2; ++i) {
    const int high = hex(digits[2 * i]), low = hex(digits[2 * i + 1]);
    if (high < 0 || low < 0) {
      return error(std::string("captions ") + option + " '" + text +
                   "' is not #RRGGBB or #RRGGBBAA");
    }
    values[i] = high * 16 + low;
  }
  return Colour{values[0], values[1], values[2], values[3]};
}

// ASS colours are &HAABBGGRR with AA the transparency.
std::string ass_colour(Colour c) {
  char text[16];
  std::snprintf(text, sizeof text, "&H%02X%02X%02X%02X", 255 - c.alpha, c.blue, c.green, c.red);
  return text;
}

long long to_ms(double seconds) { return std::llround(seconds * 1000.0); }

double to_output(const Timeline& timeline, double source_seconds) {
  return timeline.output_offset + (source_seconds - timeline.source_start) / timeline.speed;
}

std::string quoted(const std::string& path) { return "'" + path + "'"; }

__attribute__((format(printf, 2, 0))) void quiet_messages(int level, const char* format,
                                                          va_list args, void*) {
  if (level > 1) return;  // errors only; libass is chatty about font matching
  std::fputs("libass: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
}

struct Layout {
  int out_width = 0, out_height = 0;
  Rect safe;
};

// The script header for our own tracks: PlayRes is the output, so sizes and margins are pixels.
// Captions sit at the bottom of the safe area and wrap inside its width; the title near its top.
Result<std::string> script_header(const CaptionOptions& options, const Layout& layout) {
  if (options.style != "outline" && options.style != "box") {
    return error("captions style '" + options.style + "' is not outline or box");
  }
  if (!(options.size > 0 && options.size <= 0.3))
    return error("captions size must be within (0, 0.3]");
  auto text = parse_colour(options.colour, "colour");
  if (!text) return error(text.error());
  auto outline = parse_colour(options.outline_colour, "outline_colour");
  if (!outline) return error(outline.error());
  auto box = parse_colour(options.box_colour, "box_colour");
  if (!box) return error(box.error());
  if (options.font.find(',') != std::string::npos)
    return error("captions font must not contain ','");

  const bool boxed = options.style == "box";
  auto style_line = [&](const char* name, double font_size, bool bold, int alignment,
                        int vertical_margin_from_edge) {
    // BorderStyle 1: outline (+ no shadow); 3: an opaque box in OutlineColour, Outline its padding.
    const double border = boxed ? font_size * 0.22 : std::max(1.0, font_size * 0.07);
    const int pad = static_cast<int>(std::ceil(border + font_size * 0.15));
    const int left = layout.safe.x + pad;
    const int right = layout.out_width - (layout.safe.x + layout.safe.width) + pad;
    std::ostringstream line;
    line << "Style: " << name << ',' << options.font << ',' << font_size << ',' << ass_colour(*text)
         << ',' << ass_colour(*text) << ',' << ass_colour(boxed ? *box : *outline) << ','
         << ass_colour(boxed ? *box : *outline) << ',' << (bold ? -1 : 0) << ",0,0,0,100,100,0,0,"
         << (boxed ? 3 : 1) << ',' << border << ",0," << alignment << ',' << left << ',' << right
         << ',' << vertical_margin_from_edge + pad << ",1\n";
    return line.str();
  };

  const double caption_size = options.size * layout.out_height;
  const double title_size = std::min(0.3, options.size * 1.5) * layout.out_height;
  const int bottom_inset = layout.out_height - (layout.safe.y + layout.safe.height);
  std::ostringstream header;
  header << "[Script Info]\nScriptType: v4.00+\nPlayResX: " << layout.out_width
         << "\nPlayResY: " << layout.out_height
         << "\nWrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: None\n\n"
         << "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
            "OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, "
            "Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, "
            "Encoding\n"
         << style_line("Caption", caption_size, false, 2, bottom_inset)
         << style_line("Title", title_size, true, 8, layout.safe.y)
         << "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
            "Effect, Text\n";
  return header.str();
}

void add_event(ASS_Track* track, int read_order, const char* style, double start, double end,
               std::string_view text) {
  const long long start_ms = std::max(0LL, to_ms(start));
  const long long end_ms = to_ms(end);
  if (end_ms <= start_ms) return;
  std::string chunk =
      std::to_string(read_order) + ",0," + style + ",,0,0,0,," + overlay::to_ass_text(text);
  ass_process_chunk(track, chunk.data(), static_cast<int>(chunk.size()), start_ms,
                    end_ms - start_ms);
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return error("captions file " + quoted(path) + " cannot be read: " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    return error("captions file " + quoted(path) + " cannot be read: " + std::strerror(errno));
  return text;
}

bool is_ass(const std::string& path, const std::string& text) {
  auto ends_with = [&](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    if (path.size() < n) return false;
    return std::equal(
        path.end() - static_cast<std::ptrdiff_t>(n), path.end(), suffix,
        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  };
  if (ends_with(".ass") || ends_with(".ssa")) return true;
  if (ends_with(".srt")) return false;
  return text.find("[Script Info]") != std::string::npos;
}

// What libass drew, clipped to `clip`; width 0 when nothing.
Rect drawn_extent(const ASS_Image* images, const Rect& clip) {
  int left = clip.x + clip.width, top = clip.y + clip.height, right = clip.x, bottom = clip.y;
  for (const ASS_Image* image = images; image; image = image->next) {
    if (image->w <= 0 || image->h <= 0) continue;
    left = std::min(left, std::max(image->dst_x, clip.x));
    top = std::min(top, std::max(image->dst_y, clip.y));
    right = std::max(right, std::min(image->dst_x + image->w, clip.x + clip.width));
    bottom = std::max(bottom, std::min(image->dst_y + image->h, clip.y + clip.height));
  }
  if (left >= right || top >= bottom) return {};
  return {left, top, right - left, bottom - top};
}

bool intersects(const Rect& a, const Rect& b) {
  return a.width > 0 && b.width > 0 && a.x < b.x + b.width && b.x < a.x + a.width &&
         a.y < b.y + b.height && b.y < a.y + a.height;
}

}  // namespace

struct Captions::Impl {
  // One track and the renderer that draws it, with the sprite of what it drew last.
  struct Layer {
    ASS_Renderer* renderer = nullptr;
    ASS_Track* track = nullptr;
    bool animated = false;              // ask libass every frame (ASS sidecar)
    std::vector<long long> boundaries;  // sorted event starts and ends, ms (our own tracks)
    std::ptrdiff_t interval = -1;       // which gap between boundaries the sprite is for
    bool rendered = false;
    overlay::Sprite sprite;
  };

  ASS_Library* library = nullptr;
  std::vector<Layer> layers;
  Layout layout;
  overlay::PremultipliedCanvas canvas;  // reused for every rebuild
  std::vector<std::uint8_t> coverage;   // one layer's united coverage, canvas-sized

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    for (Layer& layer : layers) {
      if (layer.track) ass_free_track(layer.track);
      if (layer.renderer) ass_renderer_done(layer.renderer);
    }
    if (library) ass_library_done(library);
  }

  Result<Layer*> add_layer(ASS_Track* track, bool animated) {
    Layer layer;
    layer.track = track;
    layer.animated = animated;
    layer.renderer = ass_renderer_init(library);
    if (!layer.renderer) {
      ass_free_track(track);
      return error("captions: libass could not start its renderer");
    }
    ass_set_frame_size(layer.renderer, layout.out_width, layout.out_height);
    ass_set_storage_size(layer.renderer, layout.out_width, layout.out_height);
    // Fontconfig; glyphs the requested font lacks fall back to Noto CJK (fonts-noto-cjk).
    ass_set_fonts(layer.renderer, nullptr, "Noto Sans CJK SC", ASS_FONTPROVIDER_FONTCONFIG, nullptr,
                  1);
    for (int i = 0; i < track->n_events; ++i) {
      const ASS_Event& event = track->events[i];
      layer.boundaries.push_back(event.Start);
      layer.boundaries.push_back(event.Start + event.Duration);
    }
    std::sort(layer.boundaries.begin(), layer.boundaries.end());
    layers.push_back(std::move(layer));
    return &layers.back();
  }

  Result<void> keep_clear(Layer& layer, const std::string& header,
                          const std::vector<KeepClear>& areas);
  void rebuild(overlay::Sprite& sprite, const ASS_Image* images);
  void apply(Yuv420& frame, double time);
};

// Each event of our own track is drawn alone (on a scratch track with the same styles) where its
// style puts it; if that is over a keep-clear area, or within a gap of it, while both show, the
// event gets its own MarginV that moves it past the area: the text's top to the area's bottom plus
// the gap (top-aligned: the title), or its bottom to the area's top minus the gap (captions). The
// text keeps its width and line breaks; the move is exact because libass places a top- or
// bottom-aligned event at its vertical margin.
Result<void> Captions::Impl::keep_clear(Layer& layer, const std::string& header,
                                        const std::vector<KeepClear>& areas) {
  if (areas.empty()) return {};
  std::string styles = header;  // libass takes a mutable buffer
  ASS_Track* scratch = ass_read_memory(library, styles.data(), styles.size(), nullptr);
  if (!scratch) return error("captions: libass rejected the caption styles");
  ASS_Track* track = layer.track;
  for (int i = 0; i < track->n_events; ++i) {
    ASS_Event& event = track->events[i];
    const long long start_ms = event.Start, end_ms = event.Start + event.Duration;
    const auto shows_with = [&](const KeepClear& area) {
      const long long area_end = area.end < 0 ? end_ms : to_ms(area.end);
      return to_ms(area.start) < end_ms && start_ms < area_end;
    };
    if (std::none_of(areas.begin(), areas.end(), shows_with)) continue;
    const ASS_Style& style = track->styles[event.Style];
    const int vertical = style.Alignment & 12;
    if (vertical != VALIGN_TOP && vertical != VALIGN_SUB) continue;  // ours are one or the other

    ass_flush_events(scratch);
    std::string chunk = std::string("0,0,") + style.Name + ",,0,0,0,," + event.Text;
    ass_process_chunk(scratch, chunk.data(), static_cast<int>(chunk.size()), start_ms,
                      event.Duration);
    Rect drawn =
        drawn_extent(ass_render_frame(layer.renderer, scratch, start_ms, nullptr), layout.safe);
    if (drawn.width == 0) continue;

    const int gap = static_cast<int>(std::ceil(style.FontSize * 0.25));
    int margin = style.MarginV;
    // Bounded: each move clears one more area, and text only moves one way.
    for (std::size_t pass = 0; pass < areas.size(); ++pass) {
      const auto hit = std::find_if(areas.begin(), areas.end(), [&](const KeepClear& area) {
        const Rect around{area.rect.x - gap, area.rect.y - gap, area.rect.width + 2 * gap,
                          area.rect.height + 2 * gap};
        return shows_with(area) && intersects(drawn, around);
      });
      if (hit == areas.end()) break;
      const int shift = vertical == VALIGN_TOP ? hit->rect.y + hit->rect.height + gap - drawn.y
                                               : drawn.y + drawn.height - (hit->rect.y - gap);
      if (shift <= 0) break;  // cannot happen: it intersects
      margin += shift;
      drawn.y += vertical == VALIGN_TOP ? shift : -shift;
    }
    if (margin != style.MarginV) event.MarginV = margin;
  }
  ass_free_track(scratch);
  return {};
}

void Captions::Impl::rebuild(overlay::Sprite& sprite, const ASS_Image* images) {
  const Rect drawn = drawn_extent(images, layout.safe);
  if (drawn.width == 0) {
    sprite.clear();
    return;
  }
  const int left = drawn.x & ~1, top = drawn.y & ~1;
  const int right = drawn.x + drawn.width, bottom = drawn.y + drawn.height;
  canvas.reset(right - left, bottom - top);
  coverage.assign(static_cast<std::size_t>(canvas.width) * static_cast<std::size_t>(canvas.height),
                  0);
  // libass draws a run at a time: the boxes (or outlines) of neighbouring runs overlap. Images of
  // one colour in a row are one layer: their coverage is united (max) before it is composited,
  // so a translucent box does not get darker where two runs' boxes meet.
  const ASS_Image* image = images;
  while (image) {
    const std::uint32_t colour_rgba = image->color;
    int x0 = right, y0 = bottom, x1 = left, y1 = top;  // the layer's extent, inside the canvas
    const ASS_Image* layer_end = image;
    for (; layer_end && layer_end->color == colour_rgba; layer_end = layer_end->next) {
      const int ix0 = std::max(layer_end->dst_x, left),
                ix1 = std::min(layer_end->dst_x + layer_end->w, right);
      const int iy0 = std::max(layer_end->dst_y, top),
                iy1 = std::min(layer_end->dst_y + layer_end->h, bottom);
      if (ix0 >= ix1 || iy0 >= iy1) continue;
      x0 = std::min(x0, ix0), x1 = std::max(x1, ix1), y0 = std::min(y0, iy0),
      y1 = std::max(y1, iy1);
      for (int y = iy0; y < iy1; ++y) {
        const unsigned char* source =
            layer_end->bitmap +
            static_cast<std::ptrdiff_t>(y - layer_end->dst_y) * layer_end->stride +
            (ix0 - layer_end->dst_x);
        std::uint8_t* united = coverage.data() + canvas.index(ix0 - left, y - top);
        for (int x = 0; x < ix1 - ix0; ++x) united[x] = std::max(united[x], source[x]);
      }
    }
    image = layer_end;

    const float opacity = static_cast<float>(255 - (colour_rgba & 0xFF)) / (255.0f * 255.0f);
    const overlay::YuvColour colour =
        overlay::bt709_limited(static_cast<float>((colour_rgba >> 24) & 0xFF) / 255.0f,
                               static_cast<float>((colour_rgba >> 16) & 0xFF) / 255.0f,
                               static_cast<float>((colour_rgba >> 8) & 0xFF) / 255.0f);
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) {
        const std::size_t i = canvas.index(x - left, y - top);
        if (coverage[i] == 0) continue;
        const float k = static_cast<float>(coverage[i]) * opacity;
        coverage[i] = 0;  // ready for the next layer
        canvas.y[i] = k * colour.y + (1.0f - k) * canvas.y[i];
        canvas.cb[i] = k * colour.cb + (1.0f - k) * canvas.cb[i];
        canvas.cr[i] = k * colour.cr + (1.0f - k) * canvas.cr[i];
        canvas.alpha[i] = k + (1.0f - k) * canvas.alpha[i];
      }
    }
  }
  sprite.build(canvas, left, top);
}

void Captions::Impl::apply(Yuv420& frame, double time) {
  const long long now = to_ms(time);
  for (Layer& layer : layers) {
    if (!layer.animated) {
      const std::ptrdiff_t interval =
          std::upper_bound(layer.boundaries.begin(), layer.boundaries.end(), now) -
          layer.boundaries.begin();
      if (layer.rendered && interval == layer.interval) {
        layer.sprite.blend(frame);
        continue;
      }
      layer.interval = interval;
    }
    int change = 0;
    const ASS_Image* images = ass_render_frame(layer.renderer, layer.track, now, &change);
    if (!layer.rendered || change != 0) rebuild(layer.sprite, images);
    layer.rendered = true;
    layer.sprite.blend(frame);
  }
}

Result<Captions> Captions::create(const CaptionOptions& options, int out_width, int out_height,
                                  Rect safe_area) {
  if (out_width <= 0 || out_height <= 0 || safe_area.width <= 0 || safe_area.height <= 0) {
    return error("captions: empty output or safe area");
  }
  if (!(options.timeline.speed > 0)) return error("captions: timeline speed must be positive");
  if (!(options.title_duration >= 0)) return error("captions: title_duration must not be negative");
  auto impl = std::make_unique<Impl>();
  impl->layout = {out_width, out_height, safe_area};
  auto header = script_header(options, impl->layout);
  if (!header) return error(header.error());

  // What goes into our own track: cues (SRT or workflow), the title.
  std::vector<CaptionCue> cues = options.cues;
  std::string sidecar_ass;
  if (!options.sidecar.empty()) {
    auto text = read_text_file(options.sidecar);
    if (!text) return error(text.error());
    if (is_ass(options.sidecar, *text)) {
      sidecar_ass = std::move(*text);
      if (sidecar_ass.empty())
        return error("captions file " + quoted(options.sidecar) + " is empty");
    } else {
      auto parsed = overlay::parse_srt(*text, "captions file " + quoted(options.sidecar));
      if (!parsed) return error(parsed.error());
      cues = std::move(*parsed);
    }
  }

  impl->library = ass_library_init();
  if (!impl->library) return error("captions: libass could not start");
  ass_set_message_cb(impl->library, quiet_messages, nullptr);

  if (!sidecar_ass.empty()) {
    ASS_Track* track =
        ass_read_memory(impl->library, sidecar_ass.data(), sidecar_ass.size(), nullptr);
    if (!track)
      return error("captions file " + quoted(options.sidecar) +
                   " is not an ASS script libass can read");
    if (track->n_events == 0) {
      ass_free_track(track);
      return error("captions file " + quoted(options.sidecar) + " has no Dialogue events");
    }
    // libass's defaults for a missing PlayRes, made explicit to scale our margins.
    if (track->PlayResX <= 0 && track->PlayResY <= 0) track->PlayResX = 384, track->PlayResY = 288;
    if (track->PlayResY <= 0)
      track->PlayResY = track->PlayResX == 1280 ? 1024 : track->PlayResX * 3 / 4;
    if (track->PlayResX <= 0)
      track->PlayResX = track->PlayResY == 1024 ? 1280 : track->PlayResY * 4 / 3;
    // Keep the author's styles but inside the safe area: its insets added to their margins.
    const double sx = static_cast<double>(track->PlayResX) / out_width;
    const double sy = static_cast<double>(track->PlayResY) / out_height;
    const int inset_left = static_cast<int>(std::lround(safe_area.x * sx));
    const int inset_right =
        static_cast<int>(std::lround((out_width - safe_area.x - safe_area.width) * sx));
    const int inset_top = static_cast<int>(std::lround(safe_area.y * sy));
    const int inset_bottom =
        static_cast<int>(std::lround((out_height - safe_area.y - safe_area.height) * sy));
    for (int i = 0; i < track->n_styles; ++i) {
      ASS_Style& style = track->styles[i];
      style.MarginL += inset_left;
      style.MarginR += inset_right;
      if ((style.Alignment & 12) == VALIGN_TOP) style.MarginV += inset_top;
      if ((style.Alignment & 12) == VALIGN_SUB) style.MarginV += inset_bottom;
    }
    for (int i = 0; i < track->n_events; ++i) {
      ASS_Event& event = track->events[i];
      const double start = to_output(options.timeline, static_cast<double>(event.Start) / 1000.0);
      const double end =
          to_output(options.timeline, static_cast<double>(event.Start + event.Duration) / 1000.0);
      event.Start = to_ms(start);
      event.Duration = std::max(0LL, to_ms(end) - to_ms(start));
    }
    auto layer = impl->add_layer(track, /*animated=*/true);
    if (!layer) return error(layer.error());
  }

  const bool own_cues = sidecar_ass.empty() && !cues.empty();
  if (own_cues || !options.title.empty()) {
    ASS_Track* track = ass_read_memory(impl->library, header->data(), header->size(), nullptr);
    if (!track) return error("captions: libass rejected the caption styles");
    int read_order = 0;
    if (own_cues) {
      for (const CaptionCue& cue : cues) {
        add_event(track, read_order++, "Caption", to_output(options.timeline, cue.start),
                  to_output(options.timeline, cue.end), cue.text);
      }
    }
    if (!options.title.empty())
      add_event(track, read_order++, "Title", 0, options.title_duration, options.title);
    auto layer = impl->add_layer(track, /*animated=*/false);
    if (!layer) return error(layer.error());
    if (auto cleared = impl->keep_clear(**layer, *header, options.keep_clear); !cleared)
      return error(cleared.error());
  }
  return Captions(std::move(impl));
}

Captions::Captions(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Captions::~Captions() = default;
Captions::Captions(Captions&&) noexcept = default;
Captions& Captions::operator=(Captions&&) noexcept = default;

bool Captions::empty() const { return impl_->layers.empty(); }

void Captions::apply(Yuv420& frame, double time) {
  if (!impl_->layers.empty()) impl_->apply(frame, time);
}

}  // namespace reelflow::video
