// Cover selection drops dark, blurry, uniform and transition frames (the Hecate filters), ranks
// faces and quality first, spreads its choices; write_cover writes a JPEG or says why not.
#include "features/covers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "features/test_images.hpp"

namespace reelflow::video {
namespace {

using testing::blurred;
using testing::face_scene;
using testing::frame_of;
using testing::kHeight;
using testing::kWidth;
using testing::scene;

constexpr int kShotFrames = 60;  // 2 s at 30 fps

enum class Kind { dark, blurry, uniform, good, face, fade };

cv::Mat frame_for(Kind kind, int frame) {
  switch (kind) {
    case Kind::dark: {
      cv::Mat dark;
      scene(3).convertTo(dark, -1, 0.12, 0);
      return dark;
    }
    case Kind::blurry:
      return blurred(scene(4), 5);
    case Kind::uniform:
      return cv::Mat(kHeight, kWidth, CV_8UC3, cv::Scalar(200, 160, 40));
    case Kind::good:
      return scene(5);
    case Kind::face: {
      cv::Mat picture = scene(6);
      testing::draw_face(picture, {kWidth / 2, kHeight / 2}, 90);
      return picture;
    }
    case Kind::fade: {  // from black to a picture over the shot
      cv::Mat faded;
      scene(8).convertTo(faded, -1, static_cast<double>(frame) / kShotFrames, 0);
      return faded;
    }
  }
  return {};
}

struct Video {
  FeatureAccumulator features;
  std::vector<TimeRange> shots;
};

Video make_video(const std::vector<Kind>& kinds) {
  auto created = FeatureAccumulator::create({});
  EXPECT_TRUE(created) << created.error();
  Video video{std::move(*created), {}};
  std::int64_t index = 0;
  for (const Kind kind : kinds) {
    video.shots.push_back(
        {static_cast<double>(index) / 30, static_cast<double>(index + kShotFrames) / 30});
    for (int frame = 0; frame < kShotFrames; ++frame) {
      video.features.add_frame(frame_of(frame_for(kind, frame), index++));
    }
  }
  video.features.finish();
  return video;
}

TEST(Covers, DropDarkBlurryUniformAndFades) {
  const std::vector<Kind> kinds = {Kind::dark,    Kind::blurry, Kind::good,
                                   Kind::uniform, Kind::fade,   Kind::face};
  const Video video = make_video(kinds);
  CoverOptions options;
  options.count = 2;
  const std::vector<CoverChoice> covers =
      select_covers(video.features, video.shots, {0, video.features.duration()}, options);
  ASSERT_EQ(covers.size(), 2u);
  EXPECT_EQ(covers[0].shot, 5u) << "the face shot ranks first";
  EXPECT_EQ(covers[1].shot, 2u);
  for (const CoverChoice& cover : covers) {
    EXPECT_TRUE(cover.passed_filters);
    const TimeRange& shot = video.shots[cover.shot];
    // Not a transition frame: away from the shot's boundaries.
    EXPECT_GE(cover.time - shot.start, options.boundary_margin - 1e-9);
    EXPECT_GE(shot.end - cover.time, options.boundary_margin - 1e-9);
    EXPECT_GT(cover.score, 0);
    EXPECT_LE(cover.score, 1);
  }
  EXPECT_GT(covers[0].score, covers[1].score);
}

TEST(Covers, AlwaysReturnsSomethingAndSaysWhenFiltersWereRelaxed) {
  // Only bad shots: the best of them are returned, marked.
  const Video video = make_video({Kind::dark, Kind::uniform, Kind::blurry});
  const std::vector<CoverChoice> covers =
      select_covers(video.features, video.shots, {0, video.features.duration()}, {.count = 2});
  ASSERT_EQ(covers.size(), 2u);
  for (const CoverChoice& cover : covers) EXPECT_FALSE(cover.passed_filters);
}

TEST(Covers, SpreadsOverOneLongShotAndHonoursTheRange) {
  const Video video = make_video({Kind::good, Kind::good, Kind::good, Kind::good});
  const std::vector<TimeRange> one_shot = {{0, video.features.duration()}};
  CoverOptions options;
  options.count = 3;
  const std::vector<CoverChoice> covers =
      select_covers(video.features, one_shot, {0, video.features.duration()}, options);
  ASSERT_EQ(covers.size(), 3u);  // several per shot once one per shot is not enough
  for (std::size_t i = 0; i < covers.size(); ++i) {
    for (std::size_t j = i + 1; j < covers.size(); ++j) {
      EXPECT_GE(std::abs(covers[i].time - covers[j].time), 8.0 / 6 - 1e-9);
    }
  }
  // A clip's cover comes from inside the clip.
  const std::vector<CoverChoice> clip_cover =
      select_covers(video.features, one_shot, {2, 4}, {.count = 1});
  ASSERT_EQ(clip_cover.size(), 1u);
  EXPECT_GE(clip_cover[0].time, 2);
  EXPECT_LT(clip_cover[0].time, 4);
}

TEST(Covers, WriteCoverWritesAJpegOrExplains) {
  const std::string directory = FEATURES_TEST_OUTPUT_DIR;
  const std::string path = directory + "/cover_test.jpg";
  const cv::Mat full = scene(9, {1280, 720});
  ASSERT_TRUE(write_cover(full, path, 85));
  const cv::Mat read = cv::imread(path);
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(read.size(), full.size());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  const auto missing_directory = write_cover(full, directory + "/no/such/dir/cover.jpg");
  ASSERT_FALSE(missing_directory);
  EXPECT_NE(missing_directory.error().find("no/such/dir/cover.jpg"), std::string::npos);
  EXPECT_FALSE(write_cover(cv::Mat(), path));
  EXPECT_FALSE(write_cover(cv::Mat(10, 10, CV_32FC3), path));
}

}  // namespace
}  // namespace reelflow::video
