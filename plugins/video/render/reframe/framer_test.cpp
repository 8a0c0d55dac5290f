// Framer geometry on synthetic yuv420p frames: center, fit (blurred and flat background), fill
// following a CropPath; CropPath::at and the options check.
#include "render/reframe/framer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace reelflow::video {
namespace {

constexpr int kSourceWidth = 1920, kSourceHeight = 1080;
constexpr int kOutWidth = 1080, kOutHeight = 1920;

// Luma rises with x (16 + x/10); chroma is flat.
Yuv420Image horizontal_ramp(int width = kSourceWidth, int height = kSourceHeight) {
  Yuv420Image image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x)
      image.view.row(0, y)[x] = static_cast<std::uint8_t>(16 + x / 10);
  }
  return image;
}

// 60-px black and white squares: sharp everywhere.
Yuv420Image checkerboard() {
  Yuv420Image image(kSourceWidth, kSourceHeight);
  for (int y = 0; y < kSourceHeight; ++y) {
    for (int x = 0; x < kSourceWidth; ++x) {
      image.view.row(0, y)[x] = ((x / 60 + y / 60) % 2) != 0 ? 235 : 16;
    }
  }
  return image;
}

double mean_luma(const Yuv420& image, int x0, int y0, int width, int height) {
  double total = 0;
  for (int y = y0; y < y0 + height; ++y) {
    for (int x = x0; x < x0 + width; ++x) total += image.row(0, y)[x];
  }
  return total / (static_cast<double>(width) * height);
}

// The largest difference between horizontally or vertically adjacent luma pixels.
int largest_step(const Yuv420& image, int x0, int y0, int width, int height) {
  int largest = 0;
  for (int y = y0; y + 1 < y0 + height; ++y) {
    for (int x = x0; x + 1 < x0 + width; ++x) {
      const int here = image.row(0, y)[x];
      largest = std::max({largest, std::abs(here - image.row(0, y)[x + 1]),
                          std::abs(here - image.row(0, y + 1)[x])});
    }
  }
  return largest;
}

TEST(CentredWindow, LargestWindowOfTheOutputAspect) {
  const CropWindow portrait = centred_window(1920, 1080, 9.0 / 16);
  EXPECT_EQ(portrait.width, 608);
  EXPECT_EQ(portrait.height, 1080);
  EXPECT_EQ(portrait.x, 656);
  EXPECT_EQ(portrait.y, 0);
  const CropWindow landscape = centred_window(1080, 1920, 16.0 / 9);
  EXPECT_EQ(landscape.width, 1080);
  EXPECT_EQ(landscape.height, 608);
  EXPECT_EQ(landscape.y, 656);
  const CropWindow square = centred_window(1920, 1080, 1.0);
  EXPECT_EQ(square.width, 1080);
  EXPECT_EQ(square.x, 420);
}

TEST(CropPath, WindowInForce) {
  CropPath path;
  const CropWindow centred = path.at(3, 1920, 1080, 9.0 / 16);
  EXPECT_EQ(centred.x, 656);
  path.windows = {{1.0, 100, 0, 608, 1080}, {2.0, 1312, 0, 608, 1080}};
  EXPECT_EQ(path.at(0.0, 1920, 1080, 9.0 / 16).x, 100);  // before the first: the first
  EXPECT_EQ(path.at(1.5, 1920, 1080, 9.0 / 16).x, 100);
  EXPECT_EQ(path.at(2.0, 1920, 1080, 9.0 / 16).x, 1312);
  EXPECT_EQ(path.at(9.0, 1920, 1080, 9.0 / 16).x, 1312);
  path.windows = {{0.0, 1501, 3, 608, 1080}};  // odd and outside: made even and inside
  const CropWindow clamped = path.at(0, 1920, 1080, 9.0 / 16);
  EXPECT_EQ(clamped.x, 1312);
  EXPECT_EQ(clamped.y, 0);
}

TEST(ReframeOptions, BadValuesAreNamed) {
  EXPECT_TRUE(check_reframe_options({"fill", "blur"}));
  EXPECT_TRUE(check_reframe_options({"fit", "#1a2B3c"}));
  const auto mode = check_reframe_options({"stretch", "blur"});
  ASSERT_FALSE(mode);
  EXPECT_NE(mode.error().find("'stretch'"), std::string::npos) << mode.error();
  const auto colour = check_reframe_options({"fit", "#12345"});
  ASSERT_FALSE(colour);
  EXPECT_NE(colour.error().find("'#12345'"), std::string::npos) << colour.error();
}

TEST(Framer, CenterScalesTheCentredWindow) {
  const Yuv420Image source = horizontal_ramp();
  Yuv420Image out(kOutWidth, kOutHeight);
  Framer framer({"center", "blur"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, {});
  framer.frame(source.view, 0, out.view);
  // Output column c shows source column 656 + (c + 0.5)·608/1080 - 0.5.
  for (const int column : {4, 270, 540, 810, 1075}) {
    const double source_x = 656 + (column + 0.5) * 608.0 / 1080 - 0.5;
    for (const int row : {0, 960, 1919}) {
      EXPECT_NEAR(out.view.row(0, row)[column], 16 + source_x / 10, 1.5)
          << "column " << column << " row " << row;
    }
  }
  EXPECT_EQ(out.view.row(1, 500)[300], 128);
  EXPECT_EQ(out.view.row(2, 500)[300], 128);
}

TEST(Framer, CenterOfAPortraitSourceForALandscapeOutput) {
  Yuv420Image source(1080, 1920);
  for (int y = 0; y < 1920; ++y) std::fill_n(source.view.row(0, y), 1080, y < 960 ? 40 : 200);
  Yuv420Image out(1280, 720);
  Framer framer({"center", "blur"}, 1080, 1920, 1280, 720, {});
  framer.frame(source.view, 0, out.view);
  // The window is rows 656..1264: its upper half dark, its lower half bright.
  EXPECT_NEAR(mean_luma(out.view, 0, 0, 1280, 300), 40, 1);
  EXPECT_NEAR(mean_luma(out.view, 0, 420, 1280, 300), 200, 1);
}

TEST(Framer, FitKeepsTheWholeFrameOverABlurredCopy) {
  const Yuv420Image source = checkerboard();
  Yuv420Image out(kOutWidth, kOutHeight);
  Framer framer({"fit", "blur"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, {});
  framer.frame(source.view, 0, out.view);
  // Foreground: 1080×608 at y = 656, the checkerboard scaled by 0.5625 (squares of 33.75 px).
  const int top = 656, height = 608;
  for (const int x : {10, 100, 500, 1000}) {
    for (const int y : {10, 300, 590}) {
      const int source_x = static_cast<int>((x + 0.5) * 1920 / 1080);
      const int source_y = static_cast<int>((y + 0.5) * 1080 / 608);
      const int expected = source.view.row(0, source_y)[source_x];
      // away from the squares' edges, the scaled source shows the same level
      if ((source_x % 60) < 6 || (source_x % 60) > 54 || (source_y % 60) < 6 ||
          (source_y % 60) > 54) {
        continue;
      }
      EXPECT_NEAR(out.view.row(0, top + y)[x], expected, 3) << x << "," << y;
    }
  }
  EXPECT_GT(largest_step(out.view, 0, top + 2, kOutWidth, height - 4), 150);  // still sharp
  // Bars: a blurred copy — mid grey on average, no sharp edges left.
  for (const int bar_top : {0, top + height}) {
    EXPECT_NEAR(mean_luma(out.view, 0, bar_top, kOutWidth, top), (16 + 235) / 2.0, 25);
    EXPECT_LT(largest_step(out.view, 0, bar_top, kOutWidth, top), 8);
  }
  // Neutral chroma stays neutral.
  EXPECT_NEAR(out.view.row(1, 100)[100], 128, 1);
  EXPECT_NEAR(out.view.row(2, 900)[300], 128, 1);
}

TEST(Framer, FitOverAFlatColour) {
  const Yuv420Image source = horizontal_ramp();
  Yuv420Image out(kOutWidth, kOutHeight);
  Framer framer({"fit", "#FF0000"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, {});
  framer.frame(source.view, 0, out.view);
  // BT.709 limited-range red: Y 63, Cb 102, Cr 240.
  for (const int y : {0, 655, 656 + 608, 1919}) {
    EXPECT_EQ(out.view.row(0, y)[540], 63) << y;
    EXPECT_EQ(out.view.row(1, y / 2)[270], 102) << y;
    EXPECT_EQ(out.view.row(2, y / 2)[270], 240) << y;
  }
  // The foreground is the whole ramp: left edge dark, right edge bright.
  EXPECT_NEAR(out.view.row(0, 960)[1], 16 + 1.3 / 10, 2);
  EXPECT_NEAR(out.view.row(0, 960)[540], 16 + 960 / 10.0, 2);
  EXPECT_NEAR(out.view.row(0, 960)[1078], 16 + 1917 / 10.0, 2);
  EXPECT_EQ(out.view.row(1, 480)[270], 128);
}

// A portrait source in a landscape output: bars left and right, blurred there too.
TEST(Framer, FitPortraitSourceHasSideBars) {
  Yuv420Image source(1080, 1920);
  for (int y = 0; y < 1920; ++y) {
    for (int x = 0; x < 1080; ++x)
      source.view.row(0, y)[x] = ((x / 40 + y / 40) % 2) != 0 ? 200 : 30;
  }
  Yuv420Image out(1920, 1080);
  Framer framer({"fit", "blur"}, 1080, 1920, 1920, 1080, {});
  framer.frame(source.view, 0, out.view);
  // Foreground: 608×1080 at x = 656.
  EXPECT_GT(largest_step(out.view, 660, 0, 600, 1080), 100);
  for (const int bar_left : {0, 656 + 608}) {
    EXPECT_NEAR(mean_luma(out.view, bar_left, 0, 656, 1080), (200 + 30) / 2.0, 25);
    EXPECT_LT(largest_step(out.view, bar_left, 0, 656, 1080), 8);
  }
  Framer flat({"fit", "#000000"}, 1080, 1920, 1920, 1080, {});
  flat.frame(source.view, 0, out.view);
  EXPECT_EQ(out.view.row(0, 540)[100], 16);
  EXPECT_EQ(out.view.row(0, 540)[1900], 16);
  EXPECT_EQ(out.view.row(1, 270)[50], 128);
}

TEST(Framer, FillFollowsThePath) {
  const Yuv420Image source = horizontal_ramp();
  Yuv420Image out(kOutWidth, kOutHeight);
  CropPath path;
  path.windows = {{0.0, 0, 0, 608, 1080}, {1.0, 1312, 0, 608, 1080}};
  Framer framer({"fill", "blur"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, path);
  framer.frame(source.view, 0.5, out.view);
  EXPECT_NEAR(out.view.row(0, 960)[540], 16 + 304 / 10.0, 1.5);
  framer.frame(source.view, 1.5, out.view);
  EXPECT_NEAR(out.view.row(0, 960)[540], 16 + (1312 + 304) / 10.0, 1.5);
  framer.frame(source.view, 0.2, out.view);  // back again: the scaler is reused
  EXPECT_NEAR(out.view.row(0, 960)[540], 16 + 304 / 10.0, 1.5);
}

// Output rows on 16-byte boundaries go straight to swscale; others through aligned staging rows:
// the same pixels either way.
TEST(Framer, AlignedAndUnalignedOutputsMatch) {
  const Yuv420Image source = checkerboard();
  for (const char* mode : {"center", "fit"}) {
    Yuv420Image unaligned(kOutWidth, kOutHeight);  // rows of 1080 and 540 bytes
    std::vector<std::uint8_t> buffer(1088 * 1920 + 2 * 544 * 960 + 64);
    std::uint8_t* base =
        buffer.data() + (64 - reinterpret_cast<std::uintptr_t>(buffer.data()) % 64);
    Yuv420 aligned;
    aligned.width = kOutWidth;
    aligned.height = kOutHeight;
    aligned.stride[0] = 1088;
    aligned.stride[1] = aligned.stride[2] = 544;
    aligned.plane[0] = base;
    aligned.plane[1] = base + 1088 * 1920;
    aligned.plane[2] = base + 1088 * 1920 + 544 * 960;
    Framer framer({mode, "blur"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, {});
    framer.frame(source.view, 0, unaligned.view);
    framer.frame(source.view, 0, aligned);
    for (int p = 0; p < 3; ++p) {
      const int width = p == 0 ? kOutWidth : kOutWidth / 2;
      const int height = p == 0 ? kOutHeight : kOutHeight / 2;
      int differences = 0;
      for (int y = 0; y < height; ++y) {
        differences += std::memcmp(unaligned.view.row(p, y), aligned.row(p, y),
                                   static_cast<std::size_t>(width)) != 0;
      }
      EXPECT_EQ(differences, 0) << mode << " plane " << p;
    }
  }
}

TEST(Framer, FillWithoutAPathIsCentred) {
  const Yuv420Image source = horizontal_ramp();
  Yuv420Image centre(kOutWidth, kOutHeight), fill(kOutWidth, kOutHeight);
  Framer centring({"center", "blur"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, {});
  Framer filling({"fill", "blur"}, kSourceWidth, kSourceHeight, kOutWidth, kOutHeight, {});
  centring.frame(source.view, 0, centre.view);
  filling.frame(source.view, 0, fill.view);
  EXPECT_EQ(centre.data, fill.data);
}

}  // namespace
}  // namespace reelflow::video
