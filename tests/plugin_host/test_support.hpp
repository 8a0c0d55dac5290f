// Helpers shared by the plugin host tests: where the test plugins are, temporary directories and
// whole-file reads and writes for making broken copies of real plugins.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace reelflow::plugin_host::testing {

// PH_TEST_PLUGIN_DIR/<name>.so, built by tests/plugin_host/CMakeLists.txt.
std::filesystem::path test_plugin(std::string_view name);

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_bytes(const std::filesystem::path& file);
void write_bytes(const std::filesystem::path& file, std::string_view bytes);

}  // namespace reelflow::plugin_host::testing
