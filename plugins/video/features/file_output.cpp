#include "features/file_output.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace reelflow::video {

Result<void> write_file_atomically(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                   const std::string& what) {
  const std::string failed = "cannot write " + what + " '" + path + "': ";
  const std::string temporary = path + ".tmp";
  std::error_code ignored;
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return error(failed + std::strerror(errno));
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(temporary, ignored);
      return error(failed + "writing '" + temporary + "' failed");
    }
  }
  std::error_code renamed;
  std::filesystem::rename(temporary, path, renamed);
  if (renamed) {
    std::filesystem::remove(temporary, ignored);
    return error(failed + renamed.message());
  }
  return {};
}

}  // namespace reelflow::video
