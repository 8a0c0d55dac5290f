// WorkerPool: a StepDispatcher that runs each step in a reelflow-worker process, so that a plugin's
// segfault, abort, escaped exception, hang or memory blow-up fails that step and not the daemon.
//
// Contract:
//   - At most max_workers worker processes are alive at once. run() takes an idle worker, starts a
//     new one if the limit allows, or blocks until one is free (a cancel while waiting returns a
//     CANCELLED outcome). Workers are reused across steps of any plugin.
//   - A timeout or cancel sends the worker "cancel", waits cancel_grace, then SIGKILLs it.
//   - A worker whose step crashed, was killed, broke the protocol, or let an exception escape is
//     reaped (waitpid) and not reused; a new one starts on the next demand. The failure is a
//     StepOutcome with status ERROR and a message naming the step type, what happened and the
//     input (context.trigger.file), e.g. "plugin video.render crashed with SIGSEGV (segmentation
//     fault) while processing /videos/a.mp4". Secret values served during the step are masked
//     out of messages the pool builds.
//   - What can be told apart: a signal (which one); std::bad_alloc (under the RLIMIT_AS limit
//     this is how allocation failure shows in C++: "was stopped after exceeding its memory
//     limit of 256 MiB"); an exception's what(); a timeout. A plugin that dereferences a NULL
//     malloc() result crashes with SIGSEGV and is reported as such (with a hint when the worker was
//     close to its memory limit); a SIGKILL we did not send may be another process or the kernel's
//     OOM killer, and says so.
//   - Step types flagged RF_STEP_IN_PROCESS run on an InProcessDispatcher in this process when
//     config.in_process is set.
//   - Workers are forked from one long-lived thread of the pool, because PR_SET_PDEATHSIG fires
//     when the *thread* that forked exits, and run() callers are run threads that come and go.
//   - The daemon must not set SIGCHLD to SIG_IGN (the kernel would then reap workers itself and
//     waitpid could not report how they died).
//
// Thread-safety: run() may be called from many threads at once (each call blocks its thread, never
// the event loop). stats() is safe from any thread. Destroy the pool only after every run() has
// returned; the destructor closes idle workers and kills and reaps what is left.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "plugin_host/dispatcher.hpp"

namespace reelflow::plugin_host {

struct WorkerPoolConfig {
  // reelflow-worker; default_worker_executable() finds the installed or built one.
  std::filesystem::path worker_executable;
  std::vector<std::filesystem::path> plugin_dirs;
  std::size_t max_workers = 4;
  // RLIMIT_AS of each worker; 0 = unlimited.
  std::uint64_t memory_limit_bytes = 0;
  // After a cancel or timeout: how long a plugin may take to stop before it is SIGKILLed.
  std::chrono::milliseconds cancel_grace{5000};
  // How long a new worker may take to load its plugins and say hello.
  std::chrono::milliseconds start_timeout{30000};
  // Daemon-level plugin configuration: plugin name -> object.
  nlohmann::json plugin_config = nlohmann::json::object();
  // Run RF_STEP_IN_PROCESS step types in this process instead of a worker.
  bool in_process = true;
  // Where the workers' stdout and stderr go (plugins print): empty = the daemon's stderr (journald
  // under systemd); otherwise this file, opened for appending.
  std::filesystem::path worker_output;
  // Worker lifecycle events (started, crashed, killed); null = none.
  const Logger* logger = nullptr;
};

struct WorkerPoolStats {
  std::uint64_t workers_started = 0;
  // Workers retired because of a failure (crash, kill, protocol error, escaped exception); each
  // is replaced on the next demand.
  std::uint64_t restarts = 0;
  std::uint64_t crashes = 0;  // died of a signal we did not send, or of an escaped exception
  std::map<std::string, std::uint64_t> restarts_by_plugin;
  std::map<std::string, std::uint64_t> crashes_by_plugin;
  std::uint64_t steps_run = 0;  // steps handed to a worker (not the in-process ones)
  std::size_t busy = 0;
  std::size_t idle = 0;
  std::size_t live = 0;       // worker processes alive (or being started)
  std::size_t peak_live = 0;  // the most ever alive at once
  pid_t last_worker_pid = 0;  // the worker the most recent step ran on
};

// What run_on_worker() reports beyond the outcome.
struct WorkerRunReport {
  StepOutcome outcome;
  pid_t worker_pid = 0;         // 0 when the step ran in process or never reached a worker
  bool worker_retired = false;  // the worker was reaped after this step (replaced on demand)
  bool worker_crashed = false;  // ... because it crashed (signal, escaped exception, protocol)
};

class WorkerPool : public StepDispatcher {
 public:
  explicit WorkerPool(WorkerPoolConfig config);
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  Result<StepOutcome> run(const StepRequest& request, const RunServices& services,
                          const std::atomic<bool>* cancel) override;

  // run(), also saying which worker process ran the step.
  Result<WorkerRunReport> run_on_worker(const StepRequest& request, const RunServices& services,
                                        const std::atomic<bool>* cancel);

  WorkerPoolStats stats() const;

  // Closes idle workers and waits (bounded) for them to exit. Busy workers are left alone.
  void close_idle();

 private:
  struct Worker;
  struct Execution;
  struct SpawnRequest;

  // An idle or new worker; nullptr when cancel was set while waiting for one.
  Result<std::unique_ptr<Worker>> acquire(const std::atomic<bool>* cancel);
  Result<std::unique_ptr<Worker>> start_worker(const std::atomic<bool>* cancel);
  Result<std::unique_ptr<Worker>> spawn_on_spawner_thread();
  void spawner_loop();
  void release(std::unique_ptr<Worker> worker, bool keep);
  void retire(std::unique_ptr<Worker> worker, const std::string& plugin, bool crashed);
  Execution execute(Worker& worker, const StepRequest& request, const RunServices& services,
                    const std::atomic<bool>* cancel, bool& send_failed);

  WorkerPoolConfig config_;
  std::unique_ptr<InProcessDispatcher> in_process_;

  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Worker>> idle_;
  std::size_t live_ = 0;
  std::size_t busy_ = 0;
  WorkerPoolStats counters_;

  std::mutex spawn_mutex_;
  std::condition_variable spawn_wake_;
  std::deque<SpawnRequest*> spawn_queue_;
  bool spawner_stop_ = false;
  std::thread spawner_;
};

// <dir of the running executable>/../libexec/reelflow/reelflow-worker if it exists (the install
// layout), else <dir of the running executable>/reelflow-worker (the build tree).
std::filesystem::path default_worker_executable();

}  // namespace reelflow::plugin_host
