#include <ass/ass.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "test_support.hpp"

namespace reelflow::video {
namespace {

using overlay_test::diff;
using overlay_test::grey_frame;
using overlay_test::output_dir;

constexpr int kWidth = 1080, kHeight = 1920;
// Like a vertical platform's: the right column (buttons) and the bottom (description) kept free.
const Rect kSafe{60, 240, 840, 1340};

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = (output_dir() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

CaptionOptions with_cues(std::vector<CaptionCue> cues) {
  CaptionOptions options;
  options.cues = std::move(cues);
  return options;
}

Captions make(const CaptionOptions& options) {
  auto captions = Captions::create(options, kWidth, kHeight, kSafe);
  EXPECT_TRUE(captions) << captions.error();
  return std::move(*captions);
}

overlay_test::Diff render_diff(Captions& captions, double time, Yuv420Image* out = nullptr) {
  const Yuv420Image before = grey_frame(kWidth, kHeight);
  Yuv420Image frame = before;
  captions.apply(frame.view, time);
  if (out) *out = frame;
  return diff(before, frame);
}

// Where the text's fill (white, Y > 200) is, cropped and scaled to 32 × 32: a glyph's shape.
cv::Mat shape_of(const cv::Mat& ink) {
  const cv::Rect box = cv::boundingRect(ink);
  if (box.empty()) return cv::Mat::zeros(32, 32, CV_8UC1);
  cv::Mat shape;
  cv::resize(ink(box), shape, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
  return shape > 127;
}

cv::Mat fill_of(const Yuv420Image& frame) {
  cv::Mat luma(frame.view.height, frame.view.width, CV_8UC1,
               const_cast<std::uint8_t*>(frame.data.data()));
  return luma > 200;
}

double shape_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat x;
  cv::bitwise_xor(a, b, x);
  return static_cast<double>(cv::countNonZero(x)) / static_cast<double>(x.total());
}

// libass with no system fonts, only DejaVu Sans (no CJK): what a missing glyph looks like.
std::vector<cv::Mat> tofu_shapes(const std::vector<std::string>& glyphs) {
  std::vector<cv::Mat> shapes;
  const char* dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  if (!std::ifstream(dejavu)) return shapes;
  ASS_Library* library = ass_library_init();
  ass_set_message_cb(
      library, [](int, const char*, va_list, void*) {}, nullptr);
  ASS_Renderer* renderer = ass_renderer_init(library);
  ass_set_frame_size(renderer, kWidth, kHeight);
  ass_set_storage_size(renderer, kWidth, kHeight);
  ass_set_fonts(renderer, dejavu, "DejaVu Sans", ASS_FONTPROVIDER_NONE, nullptr, 0);
  std::string script =
      "[Script Info]\nScriptType: v4.00+\nPlayResX: 1080\nPlayResY: 1920\n\n[V4+ Styles]\n"
      "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
      "BackColour, "
      "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
      "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
      "Style: Default,DejaVu "
      "Sans,86,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,"
      "1,0,0,2,0,0,100,1\n\n[Events]\n"
      "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n";
  for (std::size_t i = 0; i < glyphs.size(); ++i) {
    script += "Dialogue: 0,0:00:0" + std::to_string(i) + ".00,0:00:0" + std::to_string(i + 1) +
              ".00,Default,,0,0,0,," + glyphs[i] + "\n";
  }
  ASS_Track* track = ass_read_memory(library, script.data(), script.size(), nullptr);
  for (std::size_t i = 0; i < glyphs.size(); ++i) {
    cv::Mat ink = cv::Mat::zeros(kHeight, kWidth, CV_8UC1);
    for (ASS_Image* image =
             ass_render_frame(renderer, track, static_cast<long long>(i) * 1000 + 500, nullptr);
         image; image = image->next) {
      cv::Mat coverage(image->h, image->w, CV_8UC1, image->bitmap,
                       static_cast<std::size_t>(image->stride));
      cv::Mat target = ink(cv::Rect(image->dst_x, image->dst_y, image->w, image->h));
      cv::max(target, coverage > 127, target);
    }
    shapes.push_back(shape_of(ink));
  }
  ass_free_track(track);
  ass_renderer_done(renderer);
  ass_library_done(library);
  return shapes;
}

TEST(Captions, DrawOnlyInsideTheSafeAreaAndAtTheCueTimes) {
  const std::string srt = write_file("times.srt",
                                     "1\n00:00:01,000 --> 00:00:02,000\nHello "
                                     "world\n\n2\n00:00:03,000 --> 00:00:04,000\n第二条字幕\n");
  CaptionOptions options;
  options.sidecar = srt;
  Captions captions = make(options);
  EXPECT_FALSE(captions.empty());
  for (const auto& [time, shown] : std::vector<std::pair<double, bool>>{{0.0, false},
                                                                        {0.99, false},
                                                                        {1.0, true},
                                                                        {1.5, true},
                                                                        {1.999, true},
                                                                        {2.0, false},
                                                                        {2.5, false},
                                                                        {3.0, true},
                                                                        {3.9, true},
                                                                        {4.0, false},
                                                                        {10.0, false},
                                                                        {3.5, true}}) {
    const auto d = render_diff(captions, time);
    EXPECT_EQ(!d.none(), shown) << "at " << time;
    EXPECT_TRUE(d.inside(kSafe)) << "at " << time << ": " << d.left << ',' << d.top << ','
                                 << d.right << ',' << d.bottom;
    if (shown) {
      // At the bottom of the safe area, centred in it.
      EXPECT_GT(d.top, kSafe.y + kSafe.height * 3 / 4) << "at " << time;
      EXPECT_NEAR((d.left + d.right) / 2.0, kSafe.x + kSafe.width / 2.0, 8) << "at " << time;
    }
  }
}

TEST(Captions, CueTimesFollowTheTimeline) {
  CaptionOptions options = with_cues({{12.0, 14.0, "fast"}});
  options.timeline = {10.0, 2.0, 0.5};  // source 12..14 → output 0.5 + 1 .. 0.5 + 2
  Captions captions = make(options);
  EXPECT_TRUE(render_diff(captions, 1.4).none());
  EXPECT_FALSE(render_diff(captions, 1.5).none());
  EXPECT_FALSE(render_diff(captions, 2.49).none());
  EXPECT_TRUE(render_diff(captions, 2.5).none());
}

TEST(Captions, CjkGlyphsAreRealGlyphsNotMissingGlyphBoxes) {
  const std::vector<std::string> glyphs = {"中", "文", "字", "幕", "测", "试"};
  std::vector<CaptionCue> cues;
  for (std::size_t i = 0; i < glyphs.size(); ++i) {
    cues.push_back({static_cast<double>(i), static_cast<double>(i + 1), glyphs[i]});
  }
  Captions captions = make(with_cues(cues));
  std::vector<cv::Mat> shapes;
  for (std::size_t i = 0; i < glyphs.size(); ++i) {
    Yuv420Image frame;
    render_diff(captions, static_cast<double>(i) + 0.5, &frame);
    shapes.push_back(shape_of(fill_of(frame)));
    EXPECT_GT(cv::countNonZero(shapes.back()), 32 * 32 / 10) << glyphs[i];
  }
  // Six different characters give six different shapes; missing-glyph boxes are all alike.
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    for (std::size_t j = i + 1; j < shapes.size(); ++j) {
      EXPECT_GT(shape_difference(shapes[i], shapes[j]), 0.12) << glyphs[i] << " vs " << glyphs[j];
    }
  }
  // The same measure on a font without CJK shows the boxes: identical, and unlike our glyphs.
  const std::vector<cv::Mat> tofu = tofu_shapes(glyphs);
  if (tofu.empty()) GTEST_SKIP() << "DejaVu Sans not installed: no missing-glyph reference";
  for (std::size_t i = 0; i < tofu.size(); ++i) {
    EXPECT_GT(cv::countNonZero(tofu[i]), 32 * 32 / 10) << "no missing-glyph box drawn";
    EXPECT_LT(shape_difference(tofu[0], tofu[i]), 0.02);
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_GT(shape_difference(shapes[i], tofu[i]), 0.12)
        << glyphs[i] << " looks like a missing-glyph box";
  }
}

TEST(Captions, LongTextWrapsInsideTheSafeArea) {
  for (const std::string& text :
       {std::string("This caption is far too long to fit on a single line of a vertical video, so "
                    "it wraps"),
        std::string(
            "这是一条很长的中文字幕，用来测试在安全区域之内是否能够正确地自动换行显示出来")}) {
    SCOPED_TRACE(text);
    Captions one_line = make(with_cues({{0, 1, "Short 短"}}));
    Captions long_line = make(with_cues({{0, 1, text}}));
    const auto short_diff = render_diff(one_line, 0.5);
    Yuv420Image frame;
    const auto long_diff = render_diff(long_line, 0.5, &frame);
    const int line_height = short_diff.bottom - short_diff.top;
    EXPECT_GT(long_diff.bottom - long_diff.top, line_height * 17 / 10);  // at least two lines
    EXPECT_TRUE(long_diff.inside(kSafe)) << long_diff.left << ',' << long_diff.right;
    // Wrapped, not cut at the safe area's edge: a margin is left on both sides.
    EXPECT_GT(long_diff.left, kSafe.x);
    EXPECT_LT(long_diff.right, kSafe.x + kSafe.width);
  }
}

TEST(Captions, BoxStyleDrawsAnOpaqueBoxBehindTheText) {
  // An opaque box hides the background: the same caption over two different backgrounds gives
  // the same pixels inside the box; the outline style lets the background show between letters.
  auto differing_inside = [](const CaptionOptions& options, overlay_test::Diff* extent) {
    Captions captions = make(options);
    Yuv420Image light = grey_frame(kWidth, kHeight, 126), dark = grey_frame(kWidth, kHeight, 60);
    const Yuv420Image light_before = light;
    captions.apply(light.view, 0.5);
    captions.apply(dark.view, 0.5);
    *extent = diff(light_before, light);
    long differing = 0;
    for (int y = extent->top + 2; y < extent->bottom - 2; ++y) {
      for (int x = extent->left + 2; x < extent->right - 2; ++x) {
        differing += light.view.row(0, y)[x] != dark.view.row(0, y)[x];
      }
    }
    return differing;
  };
  CaptionOptions options = with_cues({{0, 1, "Box style 字幕"}});
  options.style = "box";
  options.box_colour = "#000000FF";
  overlay_test::Diff box_extent, outline_extent;
  EXPECT_EQ(differing_inside(options, &box_extent), 0);
  EXPECT_TRUE(box_extent.inside(kSafe));
  EXPECT_GT(box_extent.changed_luma, 0);
  options.style = "outline";
  const long outline_differing = differing_inside(options, &outline_extent);
  const long outline_area = static_cast<long>(outline_extent.right - outline_extent.left) *
                            (outline_extent.bottom - outline_extent.top);
  EXPECT_GT(outline_differing, outline_area / 4);
  // The box is larger than the outlined text: it pads around it.
  EXPECT_GT(box_extent.right - box_extent.left, outline_extent.right - outline_extent.left);
}

TEST(Captions, TitleCardOnlyDuringItsDuration) {
  CaptionOptions options;
  options.title = "限时优惠 Big Sale";
  options.title_duration = 2.0;
  Captions captions = make(options);
  EXPECT_FALSE(captions.empty());
  for (double time : {0.0, 1.0, 1.99}) {
    const auto d = render_diff(captions, time);
    ASSERT_FALSE(d.none()) << "at " << time;
    EXPECT_TRUE(d.inside(kSafe));
    EXPECT_LT(d.bottom, kSafe.y + kSafe.height / 4);  // near the top of the safe area
  }
  EXPECT_TRUE(render_diff(captions, 2.0).none());
  EXPECT_TRUE(render_diff(captions, 5.0).none());
  // Larger than the captions.
  Captions caption = make(with_cues({{0, 1, "限时优惠 Big Sale"}}));
  const auto title_diff = render_diff(captions, 0.5), caption_diff = render_diff(caption, 0.5);
  EXPECT_GT(title_diff.bottom - title_diff.top, (caption_diff.bottom - caption_diff.top) * 5 / 4);
}

// An opaque logo of one colour (red) in `position`, shown in [start, end).
Logo red_logo(const std::string& position, double start = 0, double end = -1) {
  LogoOptions options;
  options.path = (output_dir() / "red_logo.png").string();
  cv::imwrite(options.path, cv::Mat(100, 200, CV_8UC3, cv::Scalar(0, 0, 255)));
  options.position = position;
  options.start = start;
  options.end = end;
  auto logo = Logo::load(options, kWidth, kHeight, kSafe);
  EXPECT_TRUE(logo) << logo.error();
  return std::move(*logo);
}

// The logo, then the captions on a grey frame at `time`, as the pipeline draws them; written to
// the test's build folder as `png` for looking at.
Yuv420Image logo_and_captions(const Logo& logo, const CaptionOptions& options, double time,
                              const std::string& png) {
  Yuv420Image frame = grey_frame(kWidth, kHeight);
  Captions captions = make(options);
  logo.apply(frame.view, time);
  captions.apply(frame.view, time);
  overlay_test::write_png(frame, std::filesystem::path(OVERLAY_TEST_OUTPUT_DIR) / png);
  return frame;
}

struct OverLogo {
  long covered = 0;        // pixels (luma and chroma) inside the logo's rect unlike the logo's
  long fill_outside = 0;   // text fill (white, Y > 200) outside the logo's rect
  int fill_top = 1 << 30;  // first and last rows of that fill
  int fill_bottom = -1;
};

OverLogo over_logo(const Logo& logo, const Yuv420Image& frame, double time) {
  Yuv420Image alone = grey_frame(kWidth, kHeight);
  logo.apply(alone.view, time);
  const Rect r = logo.placed();
  OverLogo result;
  for (int p = 0; p < 3; ++p) {
    const int scale = p == 0 ? 1 : 2;
    for (int y = r.y / scale; y < (r.y + r.height) / scale; ++y) {
      for (int x = r.x / scale; x < (r.x + r.width) / scale; ++x)
        result.covered += frame.view.row(p, y)[x] != alone.view.row(p, y)[x];
    }
  }
  for (int y = 0; y < kHeight; ++y) {
    for (int x = 0; x < kWidth; ++x) {
      const bool inside = x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
      if (inside || frame.view.row(0, y)[x] <= 200) continue;
      ++result.fill_outside;
      result.fill_top = std::min(result.fill_top, y);
      result.fill_bottom = std::max(result.fill_bottom, y);
    }
  }
  return result;
}

bool same_pixels(const Yuv420Image& a, const Yuv420Image& b) { return diff(a, b).none(); }

TEST(Captions, TitleCardIsLaidOutClearOfATopLogo) {
  for (const char* position : {"top-right", "top-left"}) {
    SCOPED_TRACE(position);
    const Logo logo = red_logo(position);
    CaptionOptions options;
    options.title = "新品上市 · New arrivals";  // two lines, the first as wide as the logo's corner
    const std::string name = std::string("keep_clear_") + position;
    // Without the logo's area, the title runs over the logo: the case this is about.
    const Yuv420Image before = logo_and_captions(logo, options, 1.5, name + "_before.png");
    ASSERT_GT(over_logo(logo, before, 1.5).covered, 0);

    options.keep_clear = {{logo.placed(), 0, -1}};
    const Yuv420Image after = logo_and_captions(logo, options, 1.5, name + ".png");
    const OverLogo title = over_logo(logo, after, 1.5);
    EXPECT_EQ(title.covered, 0);          // the logo's rect is exactly the logo
    EXPECT_GT(title.fill_outside, 2000);  // and the title is drawn, below it
    EXPECT_GT(title.fill_top, logo.placed().y + logo.placed().height);
    EXPECT_LT(title.fill_bottom, kSafe.y + kSafe.height / 2);
  }
}

TEST(Captions, TitleCardMovesOnlyForALogoShownWithIt) {
  const Logo top_right = red_logo("top-right");
  CaptionOptions options;
  options.title = "新品上市 · New arrivals";
  options.title_duration = 3.0;
  const Yuv420Image alone = logo_and_captions(top_right, options, 0.5, "keep_clear_none.png");
  // A logo from the title's end on does not move it.
  options.keep_clear = {{top_right.placed(), 3.0, -1}};
  EXPECT_TRUE(
      same_pixels(logo_and_captions(top_right, options, 0.5, "keep_clear_later.png"), alone));
  // One that comes during the title moves it for all of its duration (no jump).
  options.keep_clear = {{top_right.placed(), 0, -1}};
  const Yuv420Image moved = logo_and_captions(top_right, options, 0.5, "keep_clear_always.png");
  EXPECT_FALSE(same_pixels(moved, alone));
  options.keep_clear = {{top_right.placed(), 1.0, 2.0}};
  EXPECT_TRUE(
      same_pixels(logo_and_captions(top_right, options, 0.5, "keep_clear_during.png"), moved));
  // A logo in the middle of the frame is nowhere near the title.
  const Logo centre = red_logo("center");
  options.keep_clear = {};
  const Yuv420Image unmoved = logo_and_captions(centre, options, 0.5, "keep_clear_centre_none.png");
  options.keep_clear = {{centre.placed(), 0, -1}};
  EXPECT_TRUE(
      same_pixels(logo_and_captions(centre, options, 0.5, "keep_clear_centre.png"), unmoved));
}

TEST(Captions, CaptionsAreLaidOutClearOfABottomLogo) {
  for (const char* position : {"bottom-right", "bottom-left"}) {
    SCOPED_TRACE(position);
    const Logo logo = red_logo(position);
    CaptionOptions options = with_cues(
        {{0, 4, "Big news today: our spring collection is here\n今天的大新闻：春季新品正式上市"}});
    const std::string name = std::string("keep_clear_") + position;
    const Yuv420Image before = logo_and_captions(logo, options, 1.5, name + "_before.png");
    ASSERT_GT(over_logo(logo, before, 1.5).covered, 0);

    options.keep_clear = {{logo.placed(), 0, -1}};
    const Yuv420Image after = logo_and_captions(logo, options, 1.5, name + ".png");
    const OverLogo captions = over_logo(logo, after, 1.5);
    EXPECT_EQ(captions.covered, 0);
    EXPECT_GT(captions.fill_outside, 2000);
    EXPECT_LT(captions.fill_bottom, logo.placed().y);
    EXPECT_GT(captions.fill_top, kSafe.y + kSafe.height / 2);
  }
}

TEST(Captions, AssSidecarGoesThroughLibass) {
  const std::string ass = write_file(
      "styled.ass",
      "[Script Info]\nScriptType: v4.00+\nPlayResX: 1080\nPlayResY: 1920\n\n[V4+ Styles]\n"
      "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
      "BackColour, "
      "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
      "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
      "Style: Default,Noto Sans CJK SC,80,&H0000FFFF,&H0000FFFF,&H00000000,&H00000000,0,0,0,0,100,"
      "100,0,0,1,3,0,2,10,10,10,1\n\n[Events]\n"
      "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
      "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\fad(200,0)}黄色 yellow\n");
  CaptionOptions options;
  options.sidecar = ass;
  options.title = "Title";
  options.title_duration = 0.8;
  Captions captions = make(options);
  EXPECT_TRUE(render_diff(captions, 0.5).none() == false);  // the title
  const auto fading = render_diff(captions, 1.05), shown = render_diff(captions, 1.5);
  EXPECT_TRUE(shown.inside(kSafe));
  EXPECT_GT(shown.top, kSafe.y + kSafe.height * 3 / 4);
  EXPECT_TRUE(render_diff(captions, 2.5).none());
  // The fade is animated: rendered again, not served from the cache.
  Yuv420Image at_fade, at_full;
  render_diff(captions, 1.05, &at_fade);
  render_diff(captions, 1.5, &at_full);
  EXPECT_NE(at_fade.data, at_full.data);
  EXPECT_GT(fading.changed_luma, 0);
}

TEST(Captions, ErrorsNameTheSidecarAndTheProblem) {
  CaptionOptions options;
  options.sidecar = (output_dir() / "missing.srt").string();
  auto missing = Captions::create(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("missing.srt' cannot be read"), std::string::npos)
      << missing.error();

  options.sidecar =
      write_file("bad.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> nope\nx\n");
  auto bad = Captions::create(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("bad.srt': bad timestamp at line 6"), std::string::npos)
      << bad.error();

  options.sidecar = write_file("empty.srt", "\r\n");
  auto empty = Captions::create(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("empty.srt' has no captions"), std::string::npos) << empty.error();

  options.sidecar = write_file("no-events.ass", "[Script Info]\nScriptType: v4.00+\n");
  auto no_events = Captions::create(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(no_events);
  EXPECT_NE(no_events.error().find("no-events.ass' has no Dialogue events"), std::string::npos)
      << no_events.error();

  CaptionOptions styled = with_cues({{0, 1, "x"}});
  styled.style = "shadow";
  auto style = Captions::create(styled, kWidth, kHeight, kSafe);
  ASSERT_FALSE(style);
  EXPECT_NE(style.error().find("shadow"), std::string::npos);
  styled.style = "box";
  styled.box_colour = "black";
  auto colour = Captions::create(styled, kWidth, kHeight, kSafe);
  ASSERT_FALSE(colour);
  EXPECT_NE(colour.error().find("box_colour 'black'"), std::string::npos) << colour.error();
}

TEST(Captions, NothingToShowIsEmpty) {
  auto captions = Captions::create(CaptionOptions{}, kWidth, kHeight, kSafe);
  ASSERT_TRUE(captions) << captions.error();
  EXPECT_TRUE(captions->empty());
  Yuv420Image frame = grey_frame(kWidth, kHeight);
  captions->apply(frame.view, 1.0);  // harmless
}

// A frame to look at: captions in English and Chinese, the title card and the safe area's frame.
TEST(Captions, WritesASampleFrame) {
  Yuv420Image frame(kWidth, kHeight);
  for (int y = 0; y < kHeight; ++y) {
    std::fill_n(frame.view.row(0, y), kWidth, static_cast<std::uint8_t>(40 + 150 * y / kHeight));
  }
  for (int y = 0; y < kHeight / 2; ++y)
    std::fill_n(frame.view.row(1, y), kWidth / 2, std::uint8_t{150});
  auto mark = [&](int x, int y) { frame.view.row(0, y)[x] = 235; };
  for (int x = kSafe.x; x < kSafe.x + kSafe.width; ++x)
    mark(x, kSafe.y), mark(x, kSafe.y + kSafe.height - 1);
  for (int y = kSafe.y; y < kSafe.y + kSafe.height; ++y)
    mark(kSafe.x, y), mark(kSafe.x + kSafe.width - 1, y);
  const Yuv420Image background = frame;
  CaptionOptions options =
      with_cues({{0, 5,
                  "Big news today: our spring collection is "
                  "here\n今天的大新闻：我们的春季新品系列正式上市了，快来看看吧！"}});
  options.title = "春季新品 Spring Sale";
  Captions captions = make(options);
  captions.apply(frame.view, 1.0);
  overlay_test::write_png(frame,
                          std::filesystem::path(OVERLAY_TEST_OUTPUT_DIR) / "captions_sample.png");

  Yuv420Image boxed = background;
  CaptionOptions box = with_cues({{0, 5, "Box style 字幕样式"}});
  box.style = "box";
  make(box).apply(boxed.view, 1.0);
  overlay_test::write_png(
      boxed, std::filesystem::path(OVERLAY_TEST_OUTPUT_DIR) / "captions_box_sample.png");
}

// Not an assertion: the steady-state cost per 1080×1920 frame, printed for the README.
TEST(Captions, PrintsPerFrameCost) {
  Yuv420Image frame = grey_frame(kWidth, kHeight);
  constexpr int kFrames = 600;
  auto time_it = [&](Captions& captions, const char* what) {
    captions.apply(frame.view, 1.0);  // first render, not counted
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kFrames; ++i) captions.apply(frame.view, 1.0 + 8.0 * i / kFrames);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("[cost] captions (%s) at 1080x1920: %.4f ms/frame\n", what, ms / kFrames);
  };
  const auto create_start = std::chrono::steady_clock::now();
  Captions srt_like = make(with_cues(
      {{0, 10, "Big news today: our spring collection is here\n今天的大新闻：春季新品上市"}}));
  Yuv420Image first = grey_frame(kWidth, kHeight);
  srt_like.apply(first.view, 0.5);
  std::printf(
      "[cost] captions create + first render (fonts, shaping, rasterising): %.1f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - create_start)
          .count());
  time_it(srt_like, "SRT/workflow cue, two lines, cached");
  CaptionOptions box = with_cues(
      {{0, 10, "Big news today: our spring collection is here\n今天的大新闻：春季新品上市"}});
  box.style = "box";
  Captions boxed = make(box);
  time_it(boxed, "box style, cached");
  CaptionOptions ass;
  ass.sidecar = write_file(
      "cost.ass",
      "[Script Info]\nScriptType: v4.00+\nPlayResX: 1080\nPlayResY: 1920\n\n[V4+ Styles]\n"
      "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
      "BackColour, "
      "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
      "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
      "Style: Default,Noto Sans CJK SC,86,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,"
      "100,0,0,1,5,0,2,10,10,10,1\n\n[Events]\n"
      "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
      "Dialogue: 0,0:00:00.00,0:00:10.00,Default,,0,0,0,,Big news today: our spring collection is "
      "here\\N今天的大新闻：春季新品上市\n");
  Captions ass_captions = make(ass);
  time_it(ass_captions, "ASS sidecar, libass asked every frame");
}

}  // namespace
}  // namespace reelflow::video
