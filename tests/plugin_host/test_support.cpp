#include "test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace reelflow::plugin_host::testing {

namespace fs = std::filesystem;

fs::path test_plugin(std::string_view name) {
  return fs::path(PH_TEST_PLUGIN_DIR) / (std::string(name) + ".so");
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "reelflow-plugin-host-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(fs::file_size(file)), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return bytes;
}

void write_bytes(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace reelflow::plugin_host::testing
