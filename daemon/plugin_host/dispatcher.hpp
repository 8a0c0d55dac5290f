// Where a step's plugin code runs. The engine hands each step execution to a StepDispatcher and
// blocks the run's own thread (never the daemon's event loop) until the step succeeded, failed,
// timed out or was cancelled.
//
// Two implementations: InProcessDispatcher (here: the plugin runs in this process, for the offline
// CLI and for light trusted step types) and WorkerPool (worker_pool.hpp: the plugin runs in a
// reelflow-worker process, so a crash, hang or memory blow-up fails the step and not the daemon).
// Thread-safety: run() and reconcile() may be called from many threads at once.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/result.hpp"
#include "plugin_host/executor.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {

struct StepRequest {
  const StepTypeInfo* step_type = nullptr;
  nlohmann::json options;               // normalised (normalize_options)
  nlohmann::json context;               // run_id, step_id, workflow, attempt, trigger, item...
  std::optional<double> timeout;        // seconds; nullopt = none
  std::optional<nlohmann::json> intent; // set: call reconcile instead of run
};

class StepDispatcher {
 public:
  virtual ~StepDispatcher() = default;

  // Runs (or reconciles) one step. A step that fails, times out ("timed out after 30s") or crashes
  // is a StepOutcome with status ERROR and a message a person understands; the Error case is for
  // when the step could not be started at all. `cancel` (may be null) is polled: once it is set,
  // the step is asked to stop.
  virtual Result<StepOutcome> run(const StepRequest& request, const RunServices& services,
                                  const std::atomic<bool>* cancel) = 0;
};

class InProcessDispatcher : public StepDispatcher {
 public:
  explicit InProcessDispatcher(nlohmann::json plugin_config = nlohmann::json::object());
  ~InProcessDispatcher() override;

  // A timeout or cancel asks the plugin to stop (its cancel callback and rf_host.cancelled); a
  // plugin that ignores both keeps this thread until it returns: isolation needs WorkerPool.
  Result<StepOutcome> run(const StepRequest& request, const RunServices& services,
                          const std::atomic<bool>* cancel) override;

 private:
  Executor& executor_for_this_thread();

  nlohmann::json plugin_config_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<Executor>> executors_;
};

}  // namespace reelflow::plugin_host
