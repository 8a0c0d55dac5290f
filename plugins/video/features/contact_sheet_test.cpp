// The contact sheet renders a PNG of the planned size with every shot (or max_cells of them,
// keeping the clip and cover shots), and the thumbnail reel stays bounded.
#include "features/contact_sheet.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "features/accumulator.hpp"
#include "features/test_images.hpp"

namespace reelflow::video {
namespace {

using testing::frame_of;
using testing::scene;

// A reel with one distinct picture per 1.5 s shot, filled the way the accumulator fills it.
struct Stream {
  FeatureAccumulator features;
  std::vector<TimeRange> shots;
};

Stream stream(int shots, cv::Size size = {testing::kWidth, testing::kHeight}) {
  FeatureOptions options;
  options.models.face_cascade.clear();  // not needed here; keeps the test fast
  options.models.brisque_model.clear();
  auto created = FeatureAccumulator::create(options);
  EXPECT_TRUE(created);
  Stream result{std::move(*created), {}};
  std::int64_t index = 0;
  for (int shot = 0; shot < shots; ++shot) {
    const cv::Mat picture = scene(static_cast<std::uint64_t>(200 + shot), size);
    result.shots.push_back({index / 30.0, (index + 45) / 30.0});
    for (int frame = 0; frame < 45; ++frame) {
      result.features.add_frame(frame_of(picture, index++));
    }
  }
  result.features.finish();
  return result;
}

ContactSheet sheet_for(const Stream& video, const std::string& title) {
  ContactSheet sheet;
  sheet.title = title;
  sheet.duration = video.features.duration();
  for (std::size_t i = 0; i < video.shots.size(); ++i) {
    sheet.shots.push_back({video.shots[i], 0.2 + 0.6 * static_cast<double>((i * 7) % 10) / 9});
  }
  const std::size_t n = video.shots.size();
  sheet.clips = {{{video.shots[n / 3].start, video.shots[n / 3 + 2].end}, 1, 0.81},
                 {{video.shots[1].start, video.shots[2].end}, 2, 0.74},
                 {{video.shots[n - 3].start, video.shots[n - 1].end}, 3, 0.66}};
  sheet.covers = {{video.shots[n / 3 + 1].start + 0.7, 1, 0.9},
                  {video.shots[1].start + 0.7, 2, 0.8},
                  {video.shots[n / 3 + 2].start + 0.4, 4, 0.6},
                  {video.shots[n - 2].start + 0.5, 3, 0.7}};
  return sheet;
}

TEST(ContactSheet, RendersAPngOfThePlannedSize) {
  const Stream video = stream(14);
  const ContactSheet sheet = sheet_for(video, "spring_launch_final_v3.mp4");
  const ThumbnailReel& reel = video.features.thumbnails();
  const cv::Size size = contact_sheet_size(sheet, reel);
  EXPECT_EQ(size.width, 1600);
  EXPECT_GT(size.height, 300);

  const std::string path = std::string(FEATURES_TEST_OUTPUT_DIR) + "/contact_sheet.png";
  ASSERT_TRUE(write_contact_sheet(sheet, reel, path));
  const cv::Mat png = cv::imread(path);
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(png.size(), size);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // Not a blank image: the thumbnails and the timeline are drawn.
  cv::Scalar mean;
  cv::Scalar stddev;
  cv::meanStdDev(png, mean, stddev);
  EXPECT_GT(stddev[0], 20);

  // More shots, more rows; a narrower sheet, more rows.
  const Stream longer = stream(40);
  const ContactSheet bigger = sheet_for(longer, "longer.mp4");
  EXPECT_GT(contact_sheet_size(bigger, longer.features.thumbnails()).height, size.height);
  EXPECT_GT(contact_sheet_size(sheet, reel, {.width = 800}).height, size.height);
}

TEST(ContactSheet, PortraitVideoAndNonAsciiTitle) {
  const Stream video = stream(9, {144, 256});
  ContactSheet sheet = sheet_for(video, "新品発売 portrait.mp4");
  sheet.shots[3].score = std::nan("");  // unscored shots show "-"
  const std::string path = std::string(FEATURES_TEST_OUTPUT_DIR) + "/contact_sheet_portrait.png";
  ASSERT_TRUE(write_contact_sheet(sheet, video.features.thumbnails(), path));
  const cv::Mat png = cv::imread(path);
  ASSERT_FALSE(png.empty());
  EXPECT_EQ(png.size(), contact_sheet_size(sheet, video.features.thumbnails()));
}

TEST(ContactSheet, ManyShotsAreSubsampledKeepingClipsAndCovers) {
  // 500 tiny shots share a bounded reel; the grid shows max_cells of them.
  ThumbnailReel reel(160, 50);
  ContactSheet sheet;
  for (int i = 0; i < 500; ++i) {
    const double start = i * 0.5;
    sheet.shots.push_back({{start, start + 0.5}, 0.5});
    if (i % 4 == 0) reel.add(start + 0.1, scene(static_cast<std::uint64_t>(i)), 1.0 + i % 3);
  }
  EXPECT_EQ(reel.thumbnails().size(), 50u);
  sheet.clips = {{{200.0, 205.0}, 1, 0.9}};
  sheet.covers = {{201.2, 1, 0.8}};
  const ContactSheetLayout layout{.width = 1600, .max_cells = 60};
  const cv::Mat image = render_contact_sheet(sheet, reel, layout);
  EXPECT_EQ(image.size(), contact_sheet_size(sheet, reel, layout));
  const ContactSheetLayout all{.width = 1600, .max_cells = 500};
  EXPECT_LT(image.rows, contact_sheet_size(sheet, reel, all).height);
}

TEST(ThumbnailReel, KeepsDistinctMomentsWhenFull) {
  // Five distinct scenes, each held for 20 samples; capacity 10: every scene keeps one.
  ThumbnailReel reel(64, 10);
  for (int i = 0; i < 100; ++i) {
    reel.add(i * 0.5, scene(static_cast<std::uint64_t>(300 + i / 20)), 1.0);
  }
  ASSERT_EQ(reel.thumbnails().size(), 10u);
  for (int part = 0; part < 5; ++part) {
    const TimeRange range{part * 10.0, part * 10.0 + 10};
    const Thumbnail* best = reel.best_in(range);
    ASSERT_NE(best, nullptr);
    EXPECT_TRUE(range.contains(best->time)) << "scene " << part;
  }
  EXPECT_LE(reel.thumbnails().front().bgr.cols, 64);
  EXPECT_EQ(ThumbnailReel().best_in({0, 1}), nullptr);
}

}  // namespace
}  // namespace reelflow::video
