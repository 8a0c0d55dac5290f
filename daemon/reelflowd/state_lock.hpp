// The state dir's lock: one reelflowd per state dir. The SQLite database is shared safely, but the
// click log (reelflow.db-clicks) has one writer, and the artifact tree, the visitor salt and the
// durable timers assume one daemon. reelflowd takes an exclusive flock(2) on <state_dir>/
// reelflowd.lock before it opens anything else there, holds it for the life of the process (the
// kernel releases it when the process ends, also after kill -9), and writes its pid into the file
// so that a second daemon can name the first. The descriptor is O_CLOEXEC: worker processes,
// which are exec'd, never hold the lock. Thread-safety: one owner.
#pragma once

#include <filesystem>

#include "common/result.hpp"

namespace reelflow::daemon {

class StateLock {
 public:
  // Takes the lock without waiting. The error names the state dir and, when the lock file says,
  // the pid of the reelflowd that holds it.
  static Result<StateLock> acquire(const std::filesystem::path& state_dir);

  StateLock(StateLock&& other) noexcept;
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();  // releases the lock (the file stays: removing it would race a new holder)

  static constexpr const char* kFileName = "reelflowd.lock";

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace reelflow::daemon
