#include "common/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace reelflow {

namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warning";
    case LogLevel::error: return "error";
  }
  return "info";
}

// syslog priorities: 7 debug, 6 info, 4 warning, 3 error.
const char* journald_prefix(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "<7>";
    case LogLevel::info: return "<6>";
    case LogLevel::warn: return "<4>";
    case LogLevel::error: return "<3>";
  }
  return "<6>";
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void append_value(std::string& line, std::string_view value) {
  if (!needs_quotes(value)) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    switch (c) {
      case '"': line += "\\\""; break;
      case '\\': line += "\\\\"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      case '\t': line += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          line += ' ';
        } else {
          line += c;
        }
    }
  }
  line += '"';
}

void append_field(std::string& line, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  line += ' ';
  line += key;
  line += '=';
  append_value(line, value);
}

// 2026-11-29T18:19:04.123Z
std::string utc_now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char text[40];
  std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03ldZ", now.tv_nsec / 1000000);
  return text;
}

}  // namespace

Logger::Logger(LogLevel threshold, int fd)
    : threshold_(threshold), fd_(fd), journald_(std::getenv("JOURNAL_STREAM") != nullptr) {}

std::string Logger::format(LogLevel level, std::string_view message, const LogFields& fields) {
  std::string line = "level=";
  line += level_name(level);
  append_field(line, "workflow", fields.workflow);
  append_field(line, "run", fields.run);
  append_field(line, "step", fields.step);
  append_field(line, "plugin", fields.plugin);
  line += " msg=";
  append_value(line, message);
  return line;
}

void Logger::log(LogLevel level, std::string_view message, const LogFields& fields) const {
  if (!enabled(level)) return;
  // journald stamps every line itself; elsewhere each line starts with its time.
  std::string line = journald_ ? journald_prefix(level) : "ts=" + utc_now() + " ";
  line += format(level, message, fields);
  line += '\n';
  // One write per event so lines from several threads never interleave.
  std::size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n <= 0) return;  // nowhere to log to; never fail the caller for it
    written += static_cast<std::size_t>(n);
  }
}

}  // namespace reelflow
