// The daemon's durable engine: turns trigger events into runs recorded in the store, queues them,
// runs each on a thread of its own (never on the event loop) through the offline runner's step
// semantics, journals every step execution to the store as it starts and ends, and resumes
// unfinished runs after a restart or kill -9 from their last completed step.
//
// Crash rules: a step execution found `running` after a restart was interrupted. A rerun-safe step
// runs again (a new attempt). An irreversible step is never repeated blindly: its intent was
// recorded before the call, so a recorded result counts as done, and otherwise the plugin's
// reconcile callback decides. Any other step fails the run with a message that says how to run it
// again (`reelflow retry`).
//
// Thread-safety: every public function must be called on the event-loop thread (the `post`
// function given at construction posts back onto it). Run threads talk to the store (which is
// thread-safe) and post their completion back to the loop.
#pragma once

#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/log.hpp"
#include "common/result.hpp"
#include "plugin_host/dispatcher.hpp"
#include "plugin_host/registry.hpp"
#include "store/account_files.hpp"
#include "store/store.hpp"
#include "triggers/trigger.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::engine {

struct EngineConfig {
  std::filesystem::path artifact_root;  // runs' files go to <artifact_root>/<run id>/
  int max_active_runs = 2;              // runs executing at once, across workflows
  nlohmann::json secrets = nlohmann::json::object();
  // Where the secrets come from, named when a step reads one that is not set ("secrets file: P").
  std::string secrets_origin;
  nlohmann::json plugin_config = nlohmann::json::object();
  // Publishing accounts' refreshed credentials (store/account_files.hpp); empty: none kept.
  std::filesystem::path accounts_dir;
  // The daemon's services to steps (rf_host.call, ABI 1.3; docs/plugins.md lists them, e.g.
  // "links.create"): given the service's name and the plugin's request (a JSON object), the
  // answer (a JSON object) or an Error whose message the plugin sees. Called on run threads (and
  // for publisher calls outside runs on theirs), several at once, never on the event loop: it must
  // be thread-safe and may block briefly (a store write). Unset: every call fails with "<service>
  // needs the daemon: run this workflow in reelflowd".
  std::function<Result<nlohmann::json>(std::string_view service, const nlohmann::json& request)>
      host_call;
};

// Failures of control operations, with the HTTP-like status the control API answers.
struct EngineError {
  int status = 500;  // 400, 404, 409, 503
  std::string message;
};
template <typename T>
using EngineResult = tl::expected<T, EngineError>;

struct EngineCounts {
  std::size_t queued = 0;
  std::size_t active = 0;
};

class Engine {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Called on the loop after every change of the queue or the active set (for sd_notify STATUS).
  using ChangeListener = std::function<void()>;
  // Called on the loop when a step execution finished: step type, seconds, state.
  using StepListener = std::function<void(const std::string&, double, std::string_view)>;

  Engine(Post post, store::Store& store, const plugin_host::Registry& registry,
         plugin_host::StepDispatcher& dispatcher, const Logger& logger, EngineConfig config);
  ~Engine();  // waits for run threads: call drain first
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Replaces the loaded workflows (start-up and reload); records them in the store.
  Result<void> set_workflows(std::map<std::string, workflow::Workflow> workflows);
  const std::map<std::string, workflow::Workflow>& workflows() const { return workflows_; }

  // Queues every unfinished run found in the store. Call once at start-up.
  Result<void> recover();

  // A trigger fired: creates the run (unless its key was seen) and queues it.
  EngineResult<store::CreatedRun> submit(const triggers::TriggerEvent& event);

  EngineResult<void> cancel(const std::string& run_id);
  EngineResult<void> retry(const std::string& run_id);

  // Scheduled posts: publisher steps waiting for their publish_at, earliest first, due before
  // `until`. Each: {"id" (the wait's timer id), "due_at" (ISO), "due_at_ms", "run_id",
  // "workflow", "step_id", "step_type", "platform", "account", "title", "video"}.
  nlohmann::json scheduled_posts(store::Millis until) const;
  // Cancels the scheduled post `id` (its run is cancelled: nothing of it is published).
  EngineResult<nlohmann::json> cancel_post(store::TimerId id);
  // Moves the scheduled post `id` to `due` (a new timer; the step's recorded wait follows).
  EngineResult<nlohmann::json> move_post(store::TimerId id, store::Millis due);

  // The publishing accounts (secrets named account.<name>) with what the daemon knows of them,
  // never their credentials: {"name", "platform", "publisher" (the step type, or null when no
  // loaded plugin publishes to that platform), "status": ok | reconnect_needed | invalid,
  // "message", "expires_at", "refreshed_at", "refresh_count"}, by name.
  nlohmann::json accounts() const;
  EngineResult<void> set_paused(const std::string& workflow, bool paused);

  // Stop starting runs. Active runs keep going; whatever is unfinished at exit resumes on the next
  // start, exactly as after a crash.
  // Durable timers (a step's `wait`): the earliest pending one, and firing those due by `now` —
  // a waiting run whose timer fires is queued again. The daemon arms one timer for
  // next_timer_due() and re-arms it after every change; nothing wakes up while none is pending.
  std::optional<store::Millis> next_timer_due() const;
  void fire_due_timers(store::Millis now);

  // Secrets for runs that start from now on (a reload); running runs keep theirs.
  void set_secrets(nlohmann::json secrets, std::string origin);

  void drain();
  bool draining() const { return draining_; }
  EngineCounts counts() const;

  void on_change(ChangeListener listener) { change_listener_ = std::move(listener); }
  void on_step(StepListener listener) { step_listener_ = std::move(listener); }

 private:
  struct ActiveRun {
    std::string workflow;
    std::string secrets_origin;  // EngineConfig::secrets_origin when the run started
    std::atomic<bool> cancel{false};
    std::thread thread;
  };

  void pump();
  bool can_start(const std::string& run_id, std::string& workflow_name);
  void start(const std::string& run_id, const std::string& workflow_name);
  void execute(const std::string& run_id, workflow::Workflow workflow,
               const nlohmann::json& secrets, ActiveRun& active);
  void finished(const std::string& run_id);
  void changed();
  void timer_added(store::TimerRecord timer);
  // A "metrics" timer fired: the post's publisher is asked for its counters on a thread of its
  // own, and they go to the store.
  void pull_metrics(const store::TimerRecord& timer);
  // Every 15 minutes: accounts whose access token expires within the hour are refreshed now, on
  // a worker, rather than discovered expired when a post needs them.
  void check_accounts();
  // The host services a publisher call outside a run gets (secrets, accounts, the post's
  // checkpoint when checkpoint_key is set), logging under `fields`.
  plugin_host::RunServices publisher_services(const nlohmann::json& secrets,
                                              const std::string& checkpoint_key,
                                              const LogFields& fields);

  Post post_;
  store::Store& store_;
  std::unique_ptr<store::AccountFiles> accounts_;  // null when config_.accounts_dir is empty
  const plugin_host::Registry& registry_;
  plugin_host::StepDispatcher& dispatcher_;
  const Logger& logger_;
  EngineConfig config_;
  std::map<std::string, workflow::Workflow> workflows_;
  std::map<std::string, bool> paused_;
  std::deque<std::string> queue_;
  std::map<std::string, std::unique_ptr<ActiveRun>> active_;
  std::multimap<store::Millis, store::TimerRecord> timers_;  // pending, by due time
  std::map<store::TimerId, std::thread> metric_pulls_;  // metrics pulls and account refreshes
  store::TimerId next_background_id_ = -1;                  // ids of account refreshes (< 0)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for callbacks posted late
  bool draining_ = false;
  ChangeListener change_listener_;
  StepListener step_listener_;
};

// Milliseconds since the Unix epoch, now.
store::Millis now_millis();

}  // namespace reelflow::engine
