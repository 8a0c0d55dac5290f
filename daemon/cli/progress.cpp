#include "cli/progress.hpp"

#include <unistd.h>

#include <cmath>

namespace reelflow::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::string format_seconds(double seconds) {
  char text[32];
  if (seconds < 60) {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  } else {
    long whole = std::lround(seconds);
    std::snprintf(text, sizeof text, "%ld:%02ld", whole / 60, whole % 60);
  }
  return text;
}

std::string shorten(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  return text.substr(0, limit - 3) + "...";
}

const char* level_name(rf_log_level level) {
  switch (level) {
    case RF_LOG_DEBUG: return "debug";
    case RF_LOG_INFO: return "info";
    case RF_LOG_WARN: return "warning";
    case RF_LOG_ERROR: return "error";
  }
  return "log";
}

}  // namespace

TerminalProgress::TerminalProgress(std::FILE* out, std::size_t step_count, bool verbose)
    : out_(out),
      is_terminal_(isatty(fileno(out)) != 0),
      verbose_(verbose),
      step_count_(step_count) {}

void TerminalProgress::clear_bar_locked() {
  if (bar_shown_) {
    std::fputs("\r\033[K", out_);
    bar_shown_ = false;
  }
}

void TerminalProgress::step_started(const workflow::Step& step, std::size_t index,
                                    std::size_t items) {
  std::lock_guard lock(mutex_);
  clear_bar_locked();
  std::fprintf(out_, "[%zu/%zu] %s (%s)", index + 1, step_count_, step.id.c_str(),
               step.uses.c_str());
  if (items > 0) std::fprintf(out_, " for %zu items", items);
  std::fputs(" ...\n", out_);
  std::fflush(out_);
}

void TerminalProgress::attempt_started(const workflow::Step& step,
                                       std::optional<std::size_t> item, int attempt) {
  std::lock_guard lock(mutex_);
  attempt_start_ = Clock::now();
  last_decile_ = -1;
  if (attempt > 1 || item) {
    clear_bar_locked();
    std::fprintf(out_, "      %s", step.id.c_str());
    if (item) std::fprintf(out_, " item %zu", *item + 1);
    if (attempt > 1) std::fprintf(out_, " attempt %d", attempt);
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void TerminalProgress::progress(const workflow::Step& step, double fraction,
                                std::string_view message) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  if (!is_terminal_) {
    // Logs and pipes get a line per tenth, not a redrawn bar.
    // The end of a step is reported by step_finished; 100% adds nothing.
    int decile = fraction < 0 ? -1 : static_cast<int>(std::floor(fraction * 10));
    if (decile <= last_decile_ || decile >= 10) return;
    last_decile_ = decile;
    std::fprintf(out_, "      %s %3.0f%% %s\n", step.id.c_str(), fraction * 100,
                 std::string(message).c_str());
    std::fflush(out_);
    return;
  }
  if (bar_shown_ && now - last_draw_ < std::chrono::milliseconds(100) && fraction < 1) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  std::string bar;
  std::string eta;
  if (fraction >= 0) {
    double clamped = std::min(1.0, fraction);
    int filled = static_cast<int>(std::lround(clamped * kWidth));
    bar = std::string(static_cast<std::size_t>(filled), '#') +
          std::string(static_cast<std::size_t>(kWidth - filled), '.');
    double elapsed = std::chrono::duration<double>(now - attempt_start_).count();
    if (clamped > 0.02 && elapsed > 1) {
      eta = " ETA " + format_seconds(elapsed * (1 - clamped) / clamped);
    }
    std::fprintf(out_, "\r\033[K      [%s] %3.0f%%%s %s", bar.c_str(), clamped * 100, eta.c_str(),
                 shorten(std::string(message), 40).c_str());
  } else {
    std::fprintf(out_, "\r\033[K      %s", shorten(std::string(message), 70).c_str());
  }
  bar_shown_ = true;
  std::fflush(out_);
}

void TerminalProgress::log(const workflow::Step& step, rf_log_level level,
                           std::string_view message) {
  if (level == RF_LOG_DEBUG && !verbose_) return;
  std::lock_guard lock(mutex_);
  clear_bar_locked();
  std::fprintf(out_, "      %s: %s: %s\n", step.id.c_str(), level_name(level),
               std::string(message).c_str());
  std::fflush(out_);
}

void TerminalProgress::step_finished(const workflow::Step& step,
                                     const engine::StepRecord& record) {
  std::lock_guard lock(mutex_);
  clear_bar_locked();
  std::string what(engine::to_string(record.state));
  if (record.state == engine::StepState::succeeded) {
    std::fprintf(out_, "      %s %s in %s\n", step.id.c_str(), what.c_str(),
                 format_seconds(record.seconds).c_str());
  } else {
    std::fprintf(out_, "      %s %s: %s\n", step.id.c_str(), what.c_str(), record.error.c_str());
  }
  std::fflush(out_);
}

void print_run_summary(std::FILE* out, const engine::RunRecord& record) {
  std::fprintf(out, "\nrun %s %s in %s\n", record.run_id.c_str(), record.state.c_str(),
               format_seconds(record.seconds).c_str());
  std::fprintf(out, "artifacts: %s\n", record.artifact_dir.c_str());
  for (const auto& step : record.steps) {
    if (step.state != engine::StepState::succeeded || step.outputs.empty()) continue;
    std::fprintf(out, "%s outputs:\n", step.id.c_str());
    for (const auto& [key, value] : step.outputs.items()) {
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      std::fprintf(out, "  %s: %s\n", key.c_str(), shorten(text, 100).c_str());
    }
  }
}

}  // namespace reelflow::cli
