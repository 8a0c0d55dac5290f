// What `reelflow run` shows while a workflow runs: a line per step, a progress bar with ETA for
// long steps when stderr is a terminal, plugin log lines, and the run summary. Thread-safe: plugin
// threads may report progress and logs while the run thread reports steps.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "engine/runner.hpp"

namespace reelflow::cli {

class TerminalProgress : public engine::RunObserver {
 public:
  TerminalProgress(std::FILE* out, std::size_t step_count, bool verbose);

  void step_started(const workflow::Step& step, std::size_t index, std::size_t items) override;
  void attempt_started(const workflow::Step& step, std::optional<std::size_t> item,
                       int attempt) override;
  void progress(const workflow::Step& step, double fraction, std::string_view message) override;
  void log(const workflow::Step& step, rf_log_level level, std::string_view message) override;
  void step_finished(const workflow::Step& step, const engine::StepRecord& record) override;

 private:
  void clear_bar_locked();

  std::FILE* out_;
  bool is_terminal_;
  bool verbose_;
  std::size_t step_count_;
  std::mutex mutex_;
  bool bar_shown_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point attempt_start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// The human summary printed after a run: state, time, where the artifacts are, each step's
// outputs (long values shortened).
void print_run_summary(std::FILE* out, const engine::RunRecord& record);

}  // namespace reelflow::cli
