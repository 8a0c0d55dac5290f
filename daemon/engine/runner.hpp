// Runs one workflow for one trigger, step by step, in this process: evaluates `if`, fans out
// `for_each`, resolves `${{ }}` templates, fills option defaults, retries with exponential backoff
// and jitter, enforces `timeout` (by asking the plugin to cancel), honours `continue_on_error`, and
// returns a RunRecord with every step's state, attempts, timings, outputs and errors.
//
// This is the engine behind the offline `reelflow run`: nothing is persisted, and a crash loses the
// run. The daemon's durable engine keeps the same step semantics and adds the store, worker
// processes and resumption. Thread-safety: run_workflow may be called from several threads at
// once with different observers; an observer is called from the thread that runs the workflow (and
// progress/log callbacks from the plugin's threads, so observers must be thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "optimize/best_time.hpp"
#include "plugin_host/dispatcher.hpp"
#include "plugin_host/registry.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::engine {

// succeeded, failed, skipped (its `if` was false, or an earlier step failed), cancelled.
// waiting: the step's `wait` has not ended and the observer keeps the wait (the daemon); the run
// stops there and is resumed when the wait is over.
enum class StepState { succeeded, failed, skipped, cancelled, waiting };
std::string_view to_string(StepState state);

struct StepRecord {
  std::string id;
  std::string uses;
  StepState state = StepState::skipped;
  int attempts = 0;        // the largest attempt count among the step's executions
  double seconds = 0;      // wall time, all attempts and items
  nlohmann::json outputs = nlohmann::json::object();
  std::string error;       // why it failed, was skipped, or was cancelled
  std::optional<std::size_t> item_count;  // for for_each steps
};

struct RunRecord {
  std::string run_id;
  std::string workflow;
  std::string state;  // "succeeded", "failed", "cancelled" or "waiting"
  nlohmann::json trigger;
  std::filesystem::path artifact_dir;
  double seconds = 0;
  std::vector<StepRecord> steps;

  nlohmann::json to_json() const;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // index: position of the step in the workflow; items: for_each size (0 otherwise).
  virtual void step_started(const workflow::Step& /*step*/, std::size_t /*index*/,
                            std::size_t /*items*/) {}
  // item: for_each position, or nullopt. attempt counts from 1.
  virtual void attempt_started(const workflow::Step& /*step*/,
                               std::optional<std::size_t> /*item*/, int /*attempt*/) {}
  virtual void progress(const workflow::Step& /*step*/, double /*fraction*/,
                        std::string_view /*message*/) {}
  virtual void log(const workflow::Step& /*step*/, rf_log_level /*level*/,
                   std::string_view /*message*/) {}
  virtual void step_finished(const workflow::Step& /*step*/, const StepRecord& /*record*/) {}

  // Persistence hooks (the daemon's journal). execution_started is called right before one
  // execution (an attempt of a step, or of one for_each item) goes to the dispatcher, with the
  // context the plugin will see; returning false means it must not run (the intent of an
  // irreversible step could not be recorded, say) and the attempt fails with `veto_reason`.
  virtual bool execution_started(const workflow::Step& /*step*/,
                                 std::optional<std::size_t> /*item*/, int /*attempt*/,
                                 const nlohmann::json& /*context*/, std::string& /*veto_reason*/) {
    return true;
  }
  // The step must wait until due_ms (ms since the epoch). Return true when the observer keeps the
  // wait durably (the run then stops, in state "waiting"); false makes the runner sleep.
  // details: what the wait is for; for a publisher step {"post": {"step_type", "platform",
  // "account", "title", "video"}} (the schedule's calendar shows it).
  virtual bool step_waiting(const workflow::Step& /*step*/, std::int64_t /*due_ms*/,
                            const nlohmann::json& /*details*/) {
    return false;
  }
  // A publisher step's execution published a post: options as the plugin got them, outputs
  // with post_id and url. The daemon records it and schedules its metrics pulls.
  virtual void post_published(const workflow::Step& /*step*/, std::optional<std::size_t> /*item*/,
                              const nlohmann::json& /*context*/, const nlohmann::json& /*options*/,
                              const nlohmann::json& /*outputs*/) {}
  // When an account's posts went out or are scheduled to (ms since the epoch, from `since` on),
  // to pace the next one by the account's limits. The daemon answers from its store; offline,
  // nothing is known but this run's own posts.
  virtual std::vector<std::int64_t> account_post_times(const std::string& /*account*/,
                                                       std::int64_t /*since*/) {
    return {};
  }
  // True when account_post_times includes this run's own published posts (the daemon's store);
  // otherwise the runner adds those it made itself.
  virtual bool knows_own_posts() const { return false; }
  // The account's posts published from `since` on, each with the metrics pulled for it, for
  // `publish_at: best` to learn the account's best hours (optimize/best_time.hpp). The daemon
  // answers from its store; offline, nothing is known and the posting windows decide.
  virtual std::vector<optimize::PostOutcome> account_post_outcomes(const std::string& /*account*/,
                                                                   std::int64_t /*since*/) {
    return {};
  }
  // A wait kept by step_waiting is over and the step goes on.
  virtual void wait_over(const workflow::Step& /*step*/) {}
  virtual void execution_finished(const workflow::Step& /*step*/,
                                  std::optional<std::size_t> /*item*/, int /*attempt*/,
                                  StepState /*state*/, const nlohmann::json& /*outputs*/,
                                  std::string_view /*error*/) {}
};

// What an earlier life of a run left (the daemon resumes runs after a restart or a retry).
// Execution keys are (step id, item index or -1).
struct ResumeState {
  using ExecutionKey = std::pair<std::string, int>;
  // Steps that finished before (succeeded or skipped, outputs kept): not run again.
  std::map<std::string, StepRecord, std::less<>> finished_steps;
  // for_each items that succeeded before: step id -> item index -> outputs.
  std::map<std::string, std::map<std::size_t, nlohmann::json>, std::less<>> finished_items;
  // Attempts already used, so numbering continues (and an interrupted attempt still gets one more).
  std::map<ExecutionKey, int> attempts_used;
  // Irreversible executions interrupted after their intent was recorded: reconcile first.
  struct Interrupted {
    int attempt = 1;
    nlohmann::json intent;
  };
  std::map<ExecutionKey, Interrupted> reconcile;
  // Waits recorded before: step id -> when the wait ends (ms since the epoch).
  std::map<std::string, std::int64_t, std::less<>> wait_due;
};

struct RunOptions {
  std::filesystem::path artifact_root;   // the run's files go to <artifact_root>/<run_id>/<step>/
  nlohmann::json secrets = nlohmann::json::object();        // name -> string
  // Where the secrets come from, for "secrets.X is not set (ORIGIN)": "secrets file: PATH"...
  std::string secrets_origin;
  nlohmann::json plugin_config = nlohmann::json::object();  // plugin name -> object
  nlohmann::json env_overrides = nlohmann::json::object();  // name -> string, over workflow env
  std::atomic<bool>* cancel = nullptr;  // set to stop the run (e.g. from a signal handler)
  // Where steps run; nullptr = in this process (an InProcessDispatcher made for the run).
  plugin_host::StepDispatcher* dispatcher = nullptr;
  std::string run_id;                   // generated when empty
  const ResumeState* resume = nullptr;  // what an earlier life of this run finished
  // Plugin key-value state by plugin name; unset = kept in memory for the run only.
  std::function<std::optional<std::string>(std::string_view plugin, std::string_view key)>
      state_get;
  std::function<bool(std::string_view plugin, std::string_view key,
                     std::optional<std::string_view> value)>
      state_set;
  // Checkpoints of irreversible executions by idempotency key (rf_host.checkpoint); unset = kept
  // in memory for the run only. set returns false when it could not be stored durably.
  std::function<std::optional<nlohmann::json>(std::string_view key)> checkpoint_get;
  std::function<bool(std::string_view key, const nlohmann::json& checkpoint)> checkpoint_set;
  // Publishing accounts' stored records (RunServices::account_get/account_set); unset = none.
  std::function<std::optional<nlohmann::json>(std::string_view account)> account_get;
  std::function<bool(std::string_view account, const nlohmann::json& record)> account_set;
  // The daemon's services to steps (rf_host.call, ABI 1.3; e.g. "links.create"), called from the
  // run's thread or a plugin's; must be thread-safe. Unset (the offline `reelflow run`): every
  // call fails with "<service> needs the daemon: run this workflow in reelflowd".
  std::function<Result<nlohmann::json>(std::string_view service, const nlohmann::json& request)>
      host_call;
};

RunRecord run_workflow(const workflow::Workflow& workflow, const plugin_host::Registry& registry,
                       const nlohmann::json& trigger, const RunOptions& options,
                       RunObserver& observer);

// A fresh run id: "<UTC yyyymmddThhmmss>-<8 hex>".
std::string new_run_id();

// The delay before attempt `attempt` (2, 3, ...): initial * factor^(attempt-2), capped at max,
// with up to ±20% jitter drawn from `unit_random` in [0,1).
double backoff_delay(const workflow::Backoff& backoff, int attempt, double unit_random);

}  // namespace reelflow::engine
