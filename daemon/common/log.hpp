// Daemon logging: one event per line on stderr, as logfmt (`ts=2026-11-29T18:19:04.123Z
// level=info run=... step=... plugin=... msg="..."`). Under systemd (JOURNAL_STREAM set) each
// line starts with a syslog priority prefix such as "<6>" instead of ts=, so journald records the
// level and keeps its own timestamp. Callers must not pass secrets;
// the engine masks known secret values before they get here.
// Thread-safety: a Logger may be used from any thread; each event is written with one write().
#pragma once

#include <string>
#include <string_view>

namespace reelflow {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

struct LogFields {
  std::string_view run = {};
  std::string_view step = {};
  std::string_view plugin = {};
  std::string_view workflow = {};
};

class Logger {
 public:
  // fd: where lines go (2 = stderr). The journald prefix is used when JOURNAL_STREAM is set.
  explicit Logger(LogLevel threshold = LogLevel::info, int fd = 2);
  void set_threshold(LogLevel threshold) { threshold_ = threshold; }
  bool enabled(LogLevel level) const { return level >= threshold_; }

  void log(LogLevel level, std::string_view message, const LogFields& fields = {}) const;
  void debug(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::debug, message, fields);
  }
  void info(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::info, message, fields);
  }
  void warn(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::warn, message, fields);
  }
  void error(std::string_view message, const LogFields& fields = {}) const {
    log(LogLevel::error, message, fields);
  }

  // The line log() would write, without the journald prefix (for tests).
  static std::string format(LogLevel level, std::string_view message, const LogFields& fields);

 private:
  LogLevel threshold_;
  int fd_;
  bool journald_;
};

}  // namespace reelflow
