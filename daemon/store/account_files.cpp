#include "store/account_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>


namespace reelflow::store {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

Result<void> write_all(int fd, const std::string& bytes, const fs::path& file) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write " + file.string() + ": " + errno_text());
    }
    done += static_cast<std::size_t>(wrote);
  }
  return {};
}

}  // namespace

bool AccountFiles::valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<std::optional<nlohmann::json>> AccountFiles::get(std::string_view name) const {
  if (!valid_name(name)) return fail("account name '" + std::string(name) + "' is not valid");
  const fs::path file = dir_ / (std::string(name) + ".json");
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return fail("cannot read " + file.string());
  auto record = nlohmann::json::parse(text.str(), nullptr, false);
  if (!record.is_object()) return fail(file.string() + " is not a JSON object (damaged?)");
  return record;
}

Result<void> AccountFiles::put(std::string_view name, const nlohmann::json& record) {
  if (!valid_name(name)) return fail("account name '" + std::string(name) + "' is not valid");
  std::lock_guard lock(mutex_);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return fail("cannot create " + dir_.string() + ": " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  const fs::path file = dir_ / (std::string(name) + ".json");
  const fs::path temporary = dir_ / ("." + std::string(name) + ".json.tmp");
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create " + temporary.string() + ": " + errno_text());
  auto written = write_all(fd, record.dump(2) + "\n", temporary);
  if (written && ::fsync(fd) != 0) written = fail("cannot sync " + temporary.string() + ": " + errno_text());
  ::close(fd);
  if (!written) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temporary.c_str());
    return fail("cannot replace " + file.string() + ": " + why);
  }
  int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

Result<std::vector<std::pair<std::string, nlohmann::json>>> AccountFiles::list() const {
  std::vector<std::pair<std::string, nlohmann::json>> records;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return records;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() <= 5 || !file.ends_with(".json") || file.front() == '.') continue;
    const std::string name = file.substr(0, file.size() - 5);
    auto record = get(name);
    if (record && *record) records.emplace_back(name, std::move(**record));
  }
  if (ec) return fail("cannot list " + dir_.string() + ": " + ec.message());
  return records;
}

}  // namespace reelflow::store
