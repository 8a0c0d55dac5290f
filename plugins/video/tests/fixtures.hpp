// Test media for the video plugin's tests: generated with the ffmpeg CLI into a temporary
// directory that the fixture removes. Nothing is downloaded.
#ifndef REELFLOW_VIDEO_TESTS_FIXTURES_HPP
#define REELFLOW_VIDEO_TESTS_FIXTURES_HPP

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace reelflow::video::testing {

// Runs a shell command; returns its standard output. Fails the test if it exits non-zero.
inline std::string shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run: " << command;
    return output;
  }
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << "command failed: " << command;
  return output;
}

// ffmpeg with the given arguments (-y, quiet), writing `output` under `dir`; returns its path.
inline std::filesystem::path ffmpeg(const std::filesystem::path& dir, const std::string& output,
                                    const std::string& arguments) {
  const std::filesystem::path path = dir / output;
  shell("ffmpeg -nostdin -hide_banner -loglevel error -y " + arguments + " '" + path.string() +
        "'");
  return path;
}

class MediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("reelflow-video-test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  // REELFLOW_KEEP_TEST_MEDIA=1 keeps the files for a look.
  void TearDown() override {
    if (std::getenv("REELFLOW_KEEP_TEST_MEDIA") == nullptr) std::filesystem::remove_all(dir_);
  }

  // testsrc2 video (moving pattern) with a 440 Hz tone, H.264 + AAC in MP4 with moov first.
  std::filesystem::path sample(const std::string& name, double seconds, const std::string& size,
                               int fps, const std::string& extra = "") {
    return ffmpeg(dir_, name,
                  "-f lavfi -i testsrc2=size=" + size + ":rate=" + std::to_string(fps) +
                      " -f lavfi -i sine=frequency=440:sample_rate=48000 -t " +
                      std::to_string(seconds) +
                      " -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 -c:a aac "
                      "-movflags +faststart " +
                      extra);
  }

  std::filesystem::path dir_;
};

}  // namespace reelflow::video::testing

#endif  // REELFLOW_VIDEO_TESTS_FIXTURES_HPP
