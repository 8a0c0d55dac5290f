// The accumulator on a generated stream: per-shot and per-clip features come out in the right
// direction, by their stable names, from compact records.
#include "features/accumulator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>
#include <random>

#include "features/test_images.hpp"

namespace reelflow::video {
namespace {

using testing::face_scene;
using testing::frame_of;
using testing::kHeight;
using testing::kWidth;
using testing::scene;

constexpr double kFps = 30;
constexpr int kShotFrames = 90;  // 3 s

// Four 3 s shots: a slow pan over a busy scene; the same, dark and still; a face; a caption.
cv::Mat shot_frame(int shot, int frame, const cv::Mat& panorama) {
  switch (shot) {
    case 0:
      return panorama(cv::Rect(frame, 0, kWidth, kHeight)).clone();
    case 1: {
      cv::Mat dark;
      panorama(cv::Rect(0, 0, kWidth, kHeight)).convertTo(dark, -1, 0.25, 0);
      return dark;
    }
    case 2:
      return face_scene(90);
    default: {
      cv::Mat captioned(kHeight, kWidth, CV_8UC3, cv::Scalar(120, 80, 40));
      cv::putText(captioned, "NEW COLLECTION", {20, 70}, cv::FONT_HERSHEY_SIMPLEX, 0.7,
                  cv::Scalar(255, 255, 255), 2, cv::LINE_AA);
      cv::putText(captioned, "link in bio", {60, 110}, cv::FONT_HERSHEY_SIMPLEX, 0.6,
                  cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
      return captioned;
    }
  }
}

// Speech-like bursts for the first 6 s, a sustained chord after.
std::vector<float> soundtrack(double seconds, int rate) {
  std::mt19937 random(4);
  std::normal_distribution<double> gaussian(0, 0.1);
  std::vector<float> samples(static_cast<std::size_t>(seconds * rate));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double t = static_cast<double>(i) / rate;
    if (t < 6) {
      const double syllable = std::fmod(t, 0.25);
      const double envelope = syllable < 0.15 ? std::sin(std::numbers::pi * syllable / 0.15) : 0;
      samples[i] = static_cast<float>(envelope * gaussian(random) + 0.002 * gaussian(random));
    } else {
      samples[i] = static_cast<float>(0.05 * (std::sin(2 * std::numbers::pi * 220 * t) +
                                              std::sin(2 * std::numbers::pi * 277.2 * t) +
                                              std::sin(2 * std::numbers::pi * 329.6 * t)));
    }
  }
  return samples;
}

class AccumulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto created = FeatureAccumulator::create({});
    ASSERT_TRUE(created) << created.error();
    accumulator_ = new FeatureAccumulator(std::move(*created));
    const cv::Mat panorama = scene(7, {kWidth + kShotFrames, kHeight});
    const int rate = 48000;
    const std::vector<float> audio = soundtrack(12, rate);
    std::size_t audio_at = 0;
    for (int shot = 0; shot < 4; ++shot) {
      for (int frame = 0; frame < kShotFrames; ++frame) {
        const std::int64_t index = shot * kShotFrames + frame;
        accumulator_->add_frame(frame_of(shot_frame(shot, frame, panorama), index, kFps));
        // Audio arrives interleaved with video, in 1600-sample chunks (one frame's worth).
        AudioChunk chunk{.time = static_cast<double>(audio_at) / rate,
                         .samples = audio.data() + audio_at,
                         .frames = 1600,
                         .channels = 1,
                         .sample_rate = rate};
        accumulator_->add_audio(chunk);
        audio_at += 1600;
      }
    }
    accumulator_->finish();
  }
  static void TearDownTestSuite() {
    delete accumulator_;
    accumulator_ = nullptr;
  }

  static RangeFeatures shot(int index) {
    return accumulator_->features(shots_[static_cast<std::size_t>(index)], shots_);
  }

  static inline FeatureAccumulator* accumulator_ = nullptr;
  static inline const std::vector<TimeRange> shots_ = {{0, 3}, {3, 6}, {6, 9}, {9, 12}};
};

TEST_F(AccumulatorTest, KeepsCompactRecords) {
  EXPECT_EQ(accumulator_->frames().size(), 4u * kShotFrames);
  EXPECT_EQ(accumulator_->samples().size(), 24u);  // every 0.5 s
  const auto heavy = std::count_if(accumulator_->samples().begin(), accumulator_->samples().end(),
                                   [](const SampleRecord& sample) { return sample.heavy; });
  EXPECT_EQ(heavy, 12);  // every 1 s
  EXPECT_NEAR(accumulator_->duration(), 12, 1e-6);
  EXPECT_LE(accumulator_->thumbnails().thumbnails().size(), 24u);
}

TEST_F(AccumulatorTest, NamesAreStableAndValuesFinite) {
  const std::vector<std::string_view> expected = {
      "duration",    "motion",      "sharpness", "brightness",     "contrast",      "colourfulness",
      "text_ratio",  "face_ratio",  "face_area", "brisque",        "loudness_lufs", "silence_ratio",
      "voice_ratio", "music_ratio", "has_audio", "cuts_per_minute"};
  for (const TimeRange range : {TimeRange{0, 12}, TimeRange{2, 2.01}, TimeRange{50, 60}}) {
    const auto named = accumulator_->features(range, shots_).named();
    ASSERT_EQ(named.size(), expected.size());
    for (std::size_t i = 0; i < named.size(); ++i) {
      EXPECT_EQ(named[i].first, expected[i]);
      EXPECT_TRUE(std::isfinite(named[i].second)) << named[i].first;
    }
  }
}

TEST_F(AccumulatorTest, ShotsDifferTheRightWay) {
  const RangeFeatures pan = shot(0);
  const RangeFeatures dark = shot(1);
  const RangeFeatures face = shot(2);
  const RangeFeatures caption = shot(3);

  EXPECT_NEAR(pan.duration, 3, 1e-9);
  EXPECT_GT(pan.motion, 1);
  EXPECT_LT(dark.motion, 0.01);  // still; the cut into it is not counted
  EXPECT_LT(dark.brightness, pan.brightness * 0.4);
  EXPECT_LT(dark.contrast, pan.contrast * 0.4);
  EXPECT_GT(pan.sharpness, 50);
  EXPECT_GT(pan.colourfulness, dark.colourfulness);

  EXPECT_GT(face.face_ratio, 0.9);
  EXPECT_GT(face.face_area, 0.05);
  EXPECT_EQ(pan.face_ratio, 0);
  EXPECT_EQ(caption.face_ratio, 0);
  EXPECT_EQ(face.face_area > 0, true);

  EXPECT_GT(caption.text_ratio, 0.9);
  EXPECT_LT(face.text_ratio, 0.1);
  EXPECT_LT(dark.text_ratio, 0.1);

  EXPECT_GT(pan.brisque, 0);
  EXPECT_LT(pan.brisque, 100);

  EXPECT_EQ(pan.has_audio, 1);
  EXPECT_GT(pan.voice_ratio, 0.7);
  EXPECT_GT(caption.music_ratio, 0.9);
  EXPECT_GT(caption.loudness_lufs, pan.loudness_lufs - 20);
  EXPECT_LT(caption.loudness_lufs, 0);
}

TEST_F(AccumulatorTest, CutsPerMinuteCountsCutsInsideTheRange) {
  EXPECT_NEAR(accumulator_->features({0, 12}, shots_).cuts_per_minute, 3 * 60 / 12.0, 1e-9);
  EXPECT_EQ(accumulator_->features({0, 3}, shots_).cuts_per_minute, 0);
  EXPECT_NEAR(accumulator_->features({1.5, 4.5}, shots_).cuts_per_minute, 20, 1e-9);
  EXPECT_EQ(accumulator_->features({0, 12}).cuts_per_minute, 0);  // no shots given
}

TEST_F(AccumulatorTest, ClipHashesMatchTheSameContent) {
  const ClipHash pan = accumulator_->clip_hash({0, 3});
  ASSERT_FALSE(pan.frames.empty());
  EXPECT_LE(pan.frames.size(), static_cast<std::size_t>(kClipHashFrames));
  EXPECT_EQ(encode_clip_hash(pan), encode_clip_hash(accumulator_->clip_hash({0, 3})));
  EXPECT_LT(clip_distance(accumulator_->clip_hash({0.5, 2.5}), pan), 4);
  EXPECT_GT(clip_distance(accumulator_->clip_hash({6, 12}), pan), 12);
}

TEST(Accumulator, TimeGoingBackwardsIsClampedAndFinishIsIdempotent) {
  FeatureOptions options;
  options.models.face_cascade.clear();
  options.models.brisque_model.clear();
  auto accumulator = FeatureAccumulator::create(options);
  ASSERT_TRUE(accumulator);
  const cv::Mat picture = scene(1);
  accumulator->add_frame(frame_of(picture, 10));
  accumulator->add_frame(frame_of(picture, 5));  // time goes back
  accumulator->add_frame(frame_of(picture, 11));
  accumulator->finish();
  accumulator->finish();
  accumulator->add_frame(frame_of(picture, 12));  // after finish: ignored
  ASSERT_EQ(accumulator->frames().size(), 3u);
  EXPECT_EQ(accumulator->frames()[1].time, accumulator->frames()[0].time);
  const RangeFeatures features = accumulator->features({0, 1});
  EXPECT_EQ(features.brisque, 50);  // BRISQUE off
  EXPECT_EQ(features.face_ratio, 0);
  EXPECT_EQ(features.has_audio, 0);
}

}  // namespace
}  // namespace reelflow::video
