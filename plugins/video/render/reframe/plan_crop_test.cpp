// plan_crop() on videos drawn here and encoded with the ffmpeg CLI: a face that moves and then
// holds across a cut, a jittering face, a moving disk without a face, an empty scene.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <opencv2/imgproc.hpp>
#include <string>

#include "features/test_images.hpp"
#include "render/reframe/framer.hpp"
#include "tests/fixtures.hpp"

namespace reelflow::video {
namespace {

constexpr int kWidth = 960, kHeight = 540, kFps = 30;
constexpr int kOutWidth = 1080, kOutHeight = 1920;  // window on the source: 304×540
constexpr int kWindowWidth = 304;
constexpr int kFaceSize = 110;  // ~40 px high on the 320-px analysis frames

class PlanCropTest : public testing::MediaTest {
 protected:
  // Encodes frames draw(0..count-1) (BGR, kWidth × kHeight) as H.264 with the ffmpeg CLI.
  std::string encode(const std::string& name, int count, const std::function<cv::Mat(int)>& draw) {
    const std::string path = (dir_ / name).string();
    const std::string command =
        "ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo "
        "-pix_fmt bgr24 -s " +
        std::to_string(kWidth) + "x" + std::to_string(kHeight) + " -r " + std::to_string(kFps) +
        " -i - -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 '" + path + "'";
    FILE* pipe = ::popen(command.c_str(), "w");
    if (pipe == nullptr) {
      ADD_FAILURE() << "cannot run: " << command;
      return path;
    }
    for (int i = 0; i < count; ++i) {
      const cv::Mat frame = draw(i);
      EXPECT_EQ(frame.size(), cv::Size(kWidth, kHeight));
      std::fwrite(frame.data, 1, frame.total() * frame.elemSize(), pipe);
    }
    EXPECT_EQ(::pclose(pipe), 0) << command;
    return path;
  }
};

// A calm backdrop: a vertical gradient in one of two colour schemes and two soft shapes.
cv::Mat backdrop(int scheme) {
  cv::Mat image(kHeight, kWidth, CV_8UC3);
  const cv::Scalar top = scheme == 0 ? cv::Scalar(120, 90, 60) : cv::Scalar(60, 120, 160);
  const cv::Scalar bottom = scheme == 0 ? cv::Scalar(60, 50, 30) : cv::Scalar(30, 70, 90);
  for (int y = 0; y < kHeight; ++y) {
    const double mix = static_cast<double>(y) / kHeight;
    image.row(y).setTo(top * (1 - mix) + bottom * mix);
  }
  cv::rectangle(image, {40 + scheme * 600, 380, 200, 120}, top * 0.6, cv::FILLED);
  cv::circle(image, {700 - scheme * 500, 90}, 50, bottom * 1.5, cv::FILLED, cv::LINE_AA);
  return image;
}

cv::Mat with_face(int scheme, cv::Point centre) {
  cv::Mat image = backdrop(scheme);
  testing::draw_face(image, centre, kFaceSize);
  return image;
}

double centre_at(const CropPath& path, double time) {
  const CropWindow window =
      path.at(time, kWidth, kHeight, static_cast<double>(kOutWidth) / kOutHeight);
  EXPECT_EQ(window.width, kWindowWidth);
  EXPECT_EQ(window.height, kHeight);
  EXPECT_EQ(window.x % 2, 0);
  EXPECT_GE(window.x, 0);
  EXPECT_LE(window.x + window.width, kWidth);
  return window.x + window.width / 2.0;
}

// Shot 1 (2 s): the face walks from x = 200 to x = 500. Shot 2 (2 s, after a cut): it stands
// at x = 780.
TEST_F(PlanCropTest, FollowsInAShotHoldsInTheNextAndJumpsAtTheCut) {
  const auto face_x = [](int i) { return i < 60 ? 200 + 5 * i : 780; };
  const std::string video = encode("walk.mp4", 120, [&](int i) {
    return with_face(i < 60 ? 0 : 1, {face_x(i), 270});
  });
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  ASSERT_FALSE(path->windows.empty());
  // Shot 1: the window follows, never jumping more than a few px between frames.
  double previous = centre_at(*path, 0);
  for (int i = 0; i < 60; ++i) {
    const double centre = centre_at(*path, i / double(kFps));
    EXPECT_NEAR(centre, face_x(i), 50) << "frame " << i;
    EXPECT_LE(std::abs(centre - previous), 12) << "frame " << i;
    previous = centre;
  }
  // The cut: the last frame of shot 1 near x = 500, the first of shot 2 already at x = 780.
  EXPECT_NEAR(centre_at(*path, 59 / double(kFps)), 495, 50);
  EXPECT_NEAR(centre_at(*path, 60 / double(kFps)), 780, 25);
  // Shot 2: one window, held.
  for (int i = 60; i < 120; ++i) {
    EXPECT_EQ(centre_at(*path, i / double(kFps)), centre_at(*path, 60 / double(kFps))) << i;
  }
  int windows_in_shot_two = 0;
  for (const CropWindow& window : path->windows) windows_in_shot_two += window.time >= 1.99 ? 1 : 0;
  EXPECT_EQ(windows_in_shot_two, 1);
}

// A face that walks and then stops, with a little jitter all along: the window follows, then
// settles and stays put — no creeping or hunting after the stop.
TEST_F(PlanCropTest, SettlesWhenTheSubjectStops) {
  cv::RNG rng(11);
  const auto face_x = [](int i) { return i < 45 ? 200 + 9 * i : 605; };
  const std::string video = encode("stop.mp4", 105, [&](int i) {
    return with_face(0, {face_x(i) + rng.uniform(-6, 7), 270});
  });
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  EXPECT_NEAR(centre_at(*path, 20 / double(kFps)), face_x(20), 50);
  const double settled = centre_at(*path, 75 / double(kFps));
  EXPECT_NEAR(settled, 605, 30);
  for (int i = 75; i < 105; ++i) EXPECT_EQ(centre_at(*path, i / double(kFps)), settled) << i;
}

// A face whose position shakes by a few pixels from frame to frame: one steady window.
TEST_F(PlanCropTest, SmallJitterIsHeld) {
  cv::RNG rng(7);
  const std::string video = encode("jitter.mp4", 90, [&](int) {
    return with_face(0, {300 + rng.uniform(-10, 11), 270 + rng.uniform(-6, 7)});
  });
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  ASSERT_EQ(path->windows.size(), 1u);
  EXPECT_NEAR(centre_at(*path, 1.5), 300, 25);
}

// No face: a bright disk moving right over a dark backdrop is followed by its motion.
TEST_F(PlanCropTest, FollowsMotionWithoutFaces) {
  const auto disk_x = [](int i) { return 150 + 7 * i; };
  const std::string video = encode("disk.mp4", 90, [&](int i) {
    cv::Mat image(kHeight, kWidth, CV_8UC3, cv::Scalar(30, 30, 30));
    cv::circle(image, {disk_x(i), 300}, 45, {230, 230, 230}, cv::FILLED, cv::LINE_AA);
    return image;
  });
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  for (int i = 5; i < 85; i += 5) {
    EXPECT_NEAR(centre_at(*path, i / double(kFps)), disk_x(i), 60) << "frame " << i;
  }
}

// Two faces too far apart for one window: the larger one is framed, not the gap between them.
TEST_F(PlanCropTest, FramesTheLargerOfTwoDistantFaces) {
  const std::string video = encode("two.mp4", 60, [](int) {
    cv::Mat image = backdrop(0);
    testing::draw_face(image, {760, 270}, 100);
    testing::draw_face(image, {220, 250}, 150);
    return image;
  });
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  ASSERT_EQ(path->windows.size(), 1u);
  EXPECT_NEAR(centre_at(*path, 1.0), 220, 30);
}

// A portrait source for a landscape output: the window moves vertically with the face.
TEST_F(PlanCropTest, FollowsVerticallyInAPortraitSource) {
  const int width = 540, height = 960;
  const auto face_y = [](int i) { return 200 + 6 * i; };
  const std::string path_name = (dir_ / "portrait.mp4").string();
  {
    const std::string command =
        "ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo -pix_fmt bgr24 -s 540x960 "
        "-r 30 -i - -c:v libx264 -preset ultrafast -pix_fmt yuv420p '" +
        path_name + "'";
    FILE* pipe = ::popen(command.c_str(), "w");
    ASSERT_NE(pipe, nullptr);
    for (int i = 0; i < 90; ++i) {
      cv::Mat image(height, width, CV_8UC3, cv::Scalar(90, 110, 100));
      testing::draw_face(image, {270, face_y(i)}, 120);
      std::fwrite(image.data, 1, image.total() * image.elemSize(), pipe);
    }
    ASSERT_EQ(::pclose(pipe), 0);
  }
  const auto path = plan_crop(path_name, 0, 0, 1280, 720, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  for (int i = 10; i < 80; i += 10) {
    const CropWindow window = path->at(i / double(kFps), width, height, 1280.0 / 720);
    EXPECT_EQ(window.width, 540);
    EXPECT_EQ(window.height, 304);
    EXPECT_EQ(window.x, 0);
    EXPECT_NEAR(window.y + window.height / 2.0, face_y(i), 50) << "frame " << i;
  }
}

TEST_F(PlanCropTest, NothingToFollowIsCentred) {
  const std::string video = encode("still.mp4", 45, [](int) { return backdrop(0); });
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  ASSERT_EQ(path->windows.size(), 1u);
  EXPECT_EQ(centre_at(*path, 1.0), kWidth / 2.0);
}

// Only start..end is planned: the walk of shot 1 from 0.5 s to 1.5 s.
TEST_F(PlanCropTest, PlansOnlyTheRange) {
  const std::string video = encode("range.mp4", 120, [](int i) {
    return with_face(i < 60 ? 0 : 1, {i < 60 ? 200 + 5 * i : 780, 270});
  });
  const auto path = plan_crop(video, 0.5, 1.5, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_TRUE(path) << path.error();
  ASSERT_FALSE(path->windows.empty());
  EXPECT_GE(path->windows.front().time, 0.49);
  EXPECT_LT(path->windows.back().time, 1.5);
  EXPECT_NEAR(centre_at(*path, 1.0), 350, 50);
}

TEST_F(PlanCropTest, CancelledPlanningFails) {
  const std::string video = encode("cancel.mp4", 30, [](int) { return backdrop(0); });
  CropPlanOptions plan;
  plan.cancelled = [] { return true; };
  const auto path = plan_crop(video, 0, 0, kOutWidth, kOutHeight, {"fill", "blur"}, plan);
  ASSERT_FALSE(path);
  EXPECT_NE(path.error().find("cancelled"), std::string::npos) << path.error();
}

TEST_F(PlanCropTest, BadInputIsNamed) {
  const auto missing =
      plan_crop((dir_ / "missing.mp4").string(), 0, 0, kOutWidth, kOutHeight, {"fill", "blur"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("missing.mp4"), std::string::npos) << missing.error();
  const auto mode =
      plan_crop((dir_ / "missing.mp4").string(), 0, 0, kOutWidth, kOutHeight, {"zoom", "blur"});
  ASSERT_FALSE(mode);
  EXPECT_NE(mode.error().find("'zoom'"), std::string::npos) << mode.error();
}

}  // namespace
}  // namespace reelflow::video
