// Clip cutting on generated H.264 + AAC files (a keyframe every second): stream copy on a
// keyframe, smart cut inside a GOP, full re-encode inside one GOP; frame-accurate starts,
// exact frame counts, audio kept and aligned, and a clip FFmpeg decodes without one error.
#include "media/clip_writer.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "fixtures.hpp"
#include "media/decoder.hpp"

namespace reelflow::video {
namespace {

using testing::shell;
namespace fs = std::filesystem;

class ClipWriter : public testing::MediaTest {
 protected:
  void SetUp() override {
    MediaTest::SetUp();
    source_ = sample("source.mp4", 6, "320x180", 30, "-bf 2");
  }

  std::int64_t count_frames(const fs::path& path) {
    const std::string out = shell(
        "ffprobe -v error -count_frames -select_streams v "
        "-show_entries stream=nb_read_frames -of csv=p=0 '" +
        path.string() + "'");
    return std::stoll(out);
  }
  // Errors FFmpeg reports while decoding the whole file (empty: clean).
  std::string decode_errors(const fs::path& path) {
    return shell("ffmpeg -nostdin -v error -i '" + path.string() + "' -f null - 2>&1");
  }
  double stream_start(const fs::path& path, const std::string& stream) {
    return std::stod(shell("ffprobe -v error -select_streams " + stream +
                           " -show_entries stream=start_time -of csv=p=0 '" + path.string() + "'"));
  }
  double stream_duration(const fs::path& path, const std::string& stream) {
    return std::stod(shell("ffprobe -v error -select_streams " + stream +
                           " -show_entries stream=duration -of csv=p=0 '" + path.string() + "'"));
  }
  static double difference(const cv::Mat& a, const cv::Mat& b) {
    if (a.size() != b.size()) return 1e9;
    const cv::Scalar mean = cv::mean(cv::abs(a - b) + cv::abs(b - a));
    return (mean[0] + mean[1] + mean[2]) / 3.0;
  }
  // The clip's first frame must be the source's frame at `time` (testsrc2 changes per frame).
  void expect_starts_at(const fs::path& clip, double time) {
    auto clip_first = frame_at(clip.string(), 0.0);
    auto wanted = frame_at(source_.string(), time);
    auto previous = frame_at(source_.string(), time - 1.0 / 30);
    ASSERT_TRUE(clip_first && wanted && previous);
    const double same = difference(*clip_first, *wanted);
    const double before = difference(*clip_first, *previous);
    std::printf(
        "%s: first frame differs from the source at %.3f s by %.2f, from the frame "
        "before by %.2f\n",
        clip.filename().c_str(), time, same, before);
    EXPECT_LT(same, 3.0);
    EXPECT_GT(before, same + 1.0);
  }

  fs::path source_;
};

TEST_F(ClipWriter, StartOnAKeyframeIsCopied) {
  const fs::path clip = dir_ / "copy.mp4";
  auto result = write_clip(source_.string(), 1.0, 3.0, clip.string());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->method, "copy");
  EXPECT_EQ(result->encoded_frames, 0);
  EXPECT_EQ(count_frames(clip), 60);
  EXPECT_EQ(decode_errors(clip), "");
  expect_starts_at(clip, 1.0);
  EXPECT_NEAR(stream_duration(clip, "a"), 2.0, 0.05);
  EXPECT_NEAR(stream_start(clip, "a"), stream_start(clip, "v"), 0.03);
}

TEST_F(ClipWriter, StartInsideAGopReencodesOnlyThePartialGop) {
  const fs::path clip = dir_ / "smart.mp4";
  auto result = write_clip(source_.string(), 1.5, 3.5, clip.string());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->method, "smart");
  EXPECT_EQ(result->encoded_frames, 15);  // 1.5 s .. 2.0 s
  EXPECT_EQ(count_frames(clip), 60);
  EXPECT_EQ(decode_errors(clip), "");
  expect_starts_at(clip, 1.5);
  // Past the re-encoded part the pictures are the source's own packets.
  auto clip_late = frame_at(clip.string(), 1.0);
  auto source_late = frame_at(source_.string(), 2.5);
  ASSERT_TRUE(clip_late && source_late);
  EXPECT_LT(difference(*clip_late, *source_late), 0.5);
  EXPECT_NEAR(stream_duration(clip, "a"), 2.0, 0.05);
  EXPECT_NEAR(stream_start(clip, "a"), stream_start(clip, "v"), 0.03);
}

TEST_F(ClipWriter, ClipInsideOneGopIsReencoded) {
  const fs::path clip = dir_ / "inside.mp4";
  auto result = write_clip(source_.string(), 3.2, 3.8, clip.string());
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->method, "reencode");
  EXPECT_EQ(result->encoded_frames, 18);
  EXPECT_EQ(count_frames(clip), 18);
  EXPECT_EQ(decode_errors(clip), "");
  expect_starts_at(clip, 3.2);
}

TEST_F(ClipWriter, BadRequestsAreErrors) {
  auto backwards = write_clip(source_.string(), 3.0, 2.0, (dir_ / "x.mp4").string());
  ASSERT_FALSE(backwards);
  EXPECT_NE(backwards.error().find("not after the start"), std::string::npos);
  auto missing = write_clip((dir_ / "none.mp4").string(), 0, 1, (dir_ / "y.mp4").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("does not exist"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "y.mp4.partial"));
}

}  // namespace
}  // namespace reelflow::video
