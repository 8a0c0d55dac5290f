#include "plugin_host/dispatcher.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>

namespace reelflow::plugin_host {

namespace {

using Clock = std::chrono::steady_clock;

// Watches one in-process execution: on timeout or on cancel it asks the executor to cancel.
class Watchdog {
 public:
  Watchdog(Executor& executor, std::optional<double> timeout, const std::atomic<bool>* cancel)
      : executor_(executor), cancel_(cancel) {
    if (!timeout && cancel == nullptr) return;
    std::optional<Clock::time_point> deadline;
    if (timeout) {
      deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(*timeout));
    }
    thread_ = std::thread([this, deadline] { watch(deadline); });
  }

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  bool timed_out() const { return timed_out_.load(); }

 private:
  void watch(std::optional<Clock::time_point> deadline) {
    std::unique_lock lock(mutex_);
    while (!done_) {
      wake_.wait_for(lock, std::chrono::milliseconds(50));
      if (done_) return;
      bool expired = deadline && Clock::now() >= *deadline;
      bool cancelled = cancel_ != nullptr && cancel_->load();
      if ((expired || cancelled) && !triggered_) {
        timed_out_ = expired && !cancelled;
        triggered_ = true;
        executor_.cancel();
      }
    }
  }

  Executor& executor_;
  const std::atomic<bool>* cancel_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool triggered_ = false;
  std::atomic<bool> timed_out_{false};
  std::thread thread_;
};

}  // namespace

InProcessDispatcher::InProcessDispatcher(nlohmann::json plugin_config)
    : plugin_config_(std::move(plugin_config)) {}

InProcessDispatcher::~InProcessDispatcher() = default;

Executor& InProcessDispatcher::executor_for_this_thread() {
  std::lock_guard lock(mutex_);
  auto& executor = executors_[std::this_thread::get_id()];
  if (!executor) executor = std::make_unique<Executor>(plugin_config_);
  return *executor;
}

Result<StepOutcome> InProcessDispatcher::run(const StepRequest& request,
                                             const RunServices& services,
                                             const std::atomic<bool>* cancel) {
  Executor& executor = executor_for_this_thread();
  Watchdog watchdog(executor, request.timeout, cancel);
  auto outcome = request.intent ? executor.reconcile(*request.step_type, request.options,
                                                     request.context, *request.intent, services)
                                : executor.run(*request.step_type, request.options,
                                               request.context, services);
  if (watchdog.timed_out()) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", *request.timeout);
    StepOutcome timed_out;
    timed_out.status = RF_STATUS_ERROR;
    timed_out.error = "timed out after " + std::string(seconds) + "s";
    return timed_out;
  }
  return outcome;
}

}  // namespace reelflow::plugin_host
