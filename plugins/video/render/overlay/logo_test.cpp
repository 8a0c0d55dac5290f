#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "test_support.hpp"

namespace reelflow::video {
namespace {

using overlay_test::diff;
using overlay_test::grey_frame;
using overlay_test::output_dir;

constexpr int kWidth = 1080, kHeight = 1920;
const Rect kSafe{60, 240, 900, 1340};

// A 216 × 108 BGRA PNG of one colour (fully opaque unless alpha says otherwise).
std::string solid_png(const std::string& name, cv::Scalar bgra) {
  const std::string path = (output_dir() / name).string();
  cv::imwrite(path, cv::Mat(108, 216, CV_8UC4, bgra));
  return path;
}

LogoOptions options_for(const std::string& path) {
  LogoOptions options;
  options.path = path;
  options.scale = 0.2;  // 216 px: the PNG's own size, no resampling
  return options;
}

TEST(Logo, LandsWhereAskedForEveryPosition) {
  const std::string path = solid_png("red.png", {0, 0, 255, 255});
  const int margin = static_cast<int>(std::lround(0.04 * kWidth));
  for (const char* position : {"top-left", "top-right", "bottom-left", "bottom-right", "center"}) {
    SCOPED_TRACE(position);
    LogoOptions options = options_for(path);
    options.position = position;
    auto logo = Logo::load(options, kWidth, kHeight, kSafe);
    ASSERT_TRUE(logo) << logo.error();
    const Rect r = logo->placed();
    EXPECT_EQ(r.width, 216);
    EXPECT_EQ(r.height, 108);
    const std::string p = position;
    const int left_gap = r.x - kSafe.x, right_gap = kSafe.x + kSafe.width - (r.x + r.width);
    const int top_gap = r.y - kSafe.y, bottom_gap = kSafe.y + kSafe.height - (r.y + r.height);
    if (p.ends_with("left")) {
      EXPECT_NEAR(left_gap, margin, 1);
    }
    if (p.ends_with("right")) {
      EXPECT_NEAR(right_gap, margin, 1);
    }
    if (p.starts_with("top")) {
      EXPECT_NEAR(top_gap, margin, 1);
    }
    if (p.starts_with("bottom")) {
      EXPECT_NEAR(bottom_gap, margin, 1);
    }
    if (p == "center") {
      EXPECT_NEAR(left_gap, right_gap, 2);
      EXPECT_NEAR(top_gap, bottom_gap, 2);
    }

    const Yuv420Image before = grey_frame(kWidth, kHeight);
    Yuv420Image frame = before;
    logo->apply(frame.view, 0.0);
    const auto d = diff(before, frame);
    // Every luma pixel of the rectangle changed, nothing outside it.
    EXPECT_EQ(d.changed_luma, 216L * 108L);
    EXPECT_EQ(d.left, r.x);
    EXPECT_EQ(d.top, r.y);
    EXPECT_EQ(d.right, r.x + r.width);
    EXPECT_EQ(d.bottom, r.y + r.height);
    // BT.709 limited red.
    EXPECT_NEAR(frame.view.row(0, r.y + 10)[r.x + 10], 63, 1);
    EXPECT_NEAR(frame.view.row(1, (r.y + 10) / 2)[(r.x + 10) / 2], 102, 1);
    EXPECT_NEAR(frame.view.row(2, (r.y + 10) / 2)[(r.x + 10) / 2], 240, 1);
  }
}

TEST(Logo, HalfOpacityGivesAboutHalfTheChange) {
  const std::string path = solid_png("white.png", {255, 255, 255, 255});
  LogoOptions options = options_for(path);
  auto opaque = Logo::load(options, kWidth, kHeight, kSafe);
  options.opacity = 0.5;
  auto half = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_TRUE(opaque && half);
  const Yuv420Image before = grey_frame(kWidth, kHeight);
  Yuv420Image full_frame = before, half_frame = before;
  opaque->apply(full_frame.view, 0);
  half->apply(half_frame.view, 0);
  const Rect r = opaque->placed();
  const int x = r.x + r.width / 2, y = r.y + r.height / 2;
  const int full_change = full_frame.view.row(0, y)[x] - before.view.row(0, y)[x];
  const int half_change = half_frame.view.row(0, y)[x] - before.view.row(0, y)[x];
  EXPECT_EQ(full_frame.view.row(0, y)[x], 235);  // white
  EXPECT_NEAR(half_change, full_change / 2.0, 1.0);
}

TEST(Logo, ShowsOnlyFromStartToEnd) {
  LogoOptions options = options_for(solid_png("blue.png", {255, 0, 0, 255}));
  options.start = 1.0;
  options.end = 2.0;
  auto logo = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_TRUE(logo) << logo.error();
  const Yuv420Image before = grey_frame(kWidth, kHeight);
  for (const auto& [time, shown] : std::vector<std::pair<double, bool>>{{0.0, false},
                                                                        {0.99, false},
                                                                        {1.0, true},
                                                                        {1.5, true},
                                                                        {1.99, true},
                                                                        {2.0, false},
                                                                        {9.0, false}}) {
    Yuv420Image frame = before;
    logo->apply(frame.view, time);
    EXPECT_EQ(!diff(before, frame).none(), shown) << "at " << time;
  }
}

TEST(Logo, TransparentPixelsLeaveTheFrameAlone) {
  // Left half transparent (but green, which must not leak), right half opaque white.
  cv::Mat png(108, 216, CV_8UC4, cv::Scalar(0, 255, 0, 0));
  png(cv::Rect(108, 0, 108, 108)).setTo(cv::Scalar(255, 255, 255, 255));
  const std::string path = (output_dir() / "half_transparent.png").string();
  cv::imwrite(path, png);
  auto logo = Logo::load(options_for(path), kWidth, kHeight, kSafe);
  ASSERT_TRUE(logo) << logo.error();
  const Yuv420Image before = grey_frame(kWidth, kHeight);
  Yuv420Image frame = before;
  logo->apply(frame.view, 0);
  const Rect r = logo->placed();
  const auto d = diff(before, frame);
  EXPECT_EQ(d.left, r.x + 108);  // luma and chroma (r.x is even, so is 108)
  EXPECT_EQ(d.changed_luma, 108L * 108L);
}

TEST(Logo, ScalesAndKeepsTheAspect) {
  cv::Mat png(400, 800, CV_8UC4, cv::Scalar(0, 0, 0, 255));
  const std::string path = (output_dir() / "wide.png").string();
  cv::imwrite(path, png);
  LogoOptions options;
  options.path = path;  // scale 0.18 → 194 × 97
  auto logo = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_TRUE(logo) << logo.error();
  EXPECT_EQ(logo->placed().width, 194);
  EXPECT_EQ(logo->placed().height, 97);
  // Larger than the safe area allows: shrunk to fit inside it.
  options.scale = 1.0;
  auto big = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_TRUE(big) << big.error();
  EXPECT_LE(big->placed().x + big->placed().width, kSafe.x + kSafe.width);
  EXPECT_GE(big->placed().x, kSafe.x);
}

TEST(Logo, ErrorsNameTheFile) {
  LogoOptions options;
  options.path = (output_dir() / "missing-logo.png").string();
  auto missing = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("missing-logo.png"), std::string::npos) << missing.error();
  EXPECT_NE(missing.error().find("No such file"), std::string::npos) << missing.error();

  options.path = (output_dir() / "not-a-png.png").string();
  std::ofstream(options.path) << "hello";
  auto text = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().find("not-a-png.png' is not a PNG"), std::string::npos) << text.error();

  options.path = (output_dir() / "logo.jpg").string();
  cv::imwrite(options.path, cv::Mat(16, 16, CV_8UC3, cv::Scalar(1, 2, 3)));
  auto jpeg = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(jpeg);
  EXPECT_NE(jpeg.error().find("logo.jpg' is not a PNG"), std::string::npos) << jpeg.error();

  options.path = (output_dir() / "truncated.png").string();
  {
    std::vector<unsigned char> bytes;
    cv::imencode(".png", cv::Mat(64, 64, CV_8UC4, cv::Scalar(1, 2, 3, 4)), bytes);
    std::ofstream(options.path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), 40);
  }
  auto truncated = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().find("truncated.png"), std::string::npos) << truncated.error();

  options.path = solid_png("ok.png", {0, 0, 0, 255});
  options.position = "middle";
  auto position = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_FALSE(position);
  EXPECT_NE(position.error().find("middle"), std::string::npos);
}

// Not an assertion: the steady-state cost per 1080×1920 frame, printed for the README.
TEST(Logo, PrintsPerFrameCost) {
  LogoOptions options = options_for(solid_png("cost.png", {30, 60, 90, 200}));
  options.opacity = 0.8;
  options.scale = 0.18;
  auto logo = Logo::load(options, kWidth, kHeight, kSafe);
  ASSERT_TRUE(logo) << logo.error();
  Yuv420Image frame = grey_frame(kWidth, kHeight);
  constexpr int kFrames = 2000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kFrames; ++i) logo->apply(frame.view, i / 30.0);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[cost] logo %dx%d at 1080x1920: %.4f ms/frame\n", logo->placed().width,
              logo->placed().height, ms / kFrames);
}

}  // namespace
}  // namespace reelflow::video
