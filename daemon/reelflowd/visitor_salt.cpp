#include "reelflowd/visitor_salt.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

namespace reelflow::daemon {

namespace {

namespace fs = std::filesystem;

std::string errno_text(const fs::path& file, const std::string& what) {
  return file.string() + ": " + what + ": " + std::strerror(errno);
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string random_salt() {
  std::random_device device;
  std::string salt;
  char pair[3];
  for (int i = 0; i < 16; ++i) {
    std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned>(device() & 0xff));
    salt += pair;
  }
  return salt;
}

// Reads an existing salt file, tightening its mode first. An empty salt means "make one".
Result<std::string> read_existing(const fs::path& file, std::vector<std::string>& notes) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail(errno_text(file, "cannot read the visitor salt"));
  struct stat info {};
  if (::fstat(fd, &info) == 0 && (info.st_mode & 077) != 0) {
    if (::fchmod(fd, 0600) != 0) {
      const std::string message = errno_text(file, "cannot restrict the visitor salt to mode 0600");
      ::close(fd);
      return fail(message);
    }
    notes.push_back(file.string() + ": the visitor salt was mode " + octal_mode(info.st_mode) +
                    " (readable by others); changed it to 0600");
  }
  std::string salt;
  char buffer[256];
  for (ssize_t got; (got = ::read(fd, buffer, sizeof buffer)) > 0 && salt.size() < 4096;) {
    salt.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  if (auto end = salt.find('\n'); end != std::string::npos) salt.resize(end);
  return salt;
}

Result<void> write_new(const fs::path& file, const std::string& salt) {
  const fs::path temporary = file.string() + ".new-" + std::to_string(::getpid());
  ::unlink(temporary.c_str());  // left by a crash of an earlier life with the same pid
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errno_text(temporary, "cannot create the visitor salt"));
  const std::string line = salt + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  const std::string message = written ? "" : errno_text(temporary, "cannot write the visitor salt");
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), file.c_str()) != 0) {
    const std::string reason =
        written ? errno_text(file, "cannot rename the visitor salt in") : message;
    ::unlink(temporary.c_str());
    return fail(reason);
  }
  if (const int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

Result<VisitorSalt> load_or_create_visitor_salt(const fs::path& file) {
  VisitorSalt result;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(file, ec))) {
    auto existing = read_existing(file, result.notes);
    if (!existing) return tl::unexpected(existing.error());
    result.salt = std::move(*existing);
  }
  if (result.salt.empty()) {
    result.salt = random_salt();
    if (auto written = write_new(file, result.salt); !written) {
      return tl::unexpected(written.error());
    }
  }
  return result;
}

}  // namespace reelflow::daemon
