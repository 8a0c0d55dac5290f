#include "reelflowd/state_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace reelflow::daemon {

namespace {

// The pid a holder wrote into the lock file, if the file can be read and holds one.
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
  if (got <= 0) return "";
  std::string pid;
  for (ssize_t i = 0; i < got && text[i] >= '0' && text[i] <= '9'; ++i) pid += text[i];
  return pid;
}

}  // namespace

Result<StateLock> StateLock::acquire(const std::filesystem::path& state_dir) {
  const std::filesystem::path file = state_dir / kFileName;
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    return fail("cannot open the state dir's lock file " + file.string() + ": " +
                std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string message;
    if (error == EWOULDBLOCK) {
      const std::string pid = holder_pid(fd);
      message = "another reelflowd" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                " is already running on the state dir " + state_dir.string() + " (it holds " +
                file.string() + "); stop it first, or give this one another --state-dir";
    } else {
      message =
          "cannot lock the state dir's lock file " + file.string() + ": " + std::strerror(error);
    }
    ::close(fd);
    return fail(message);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock is what matters; the pid only makes the refusal's message better.
  }
  return StateLock(fd);
}

StateLock::StateLock(StateLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace reelflow::daemon
