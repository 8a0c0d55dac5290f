// Runs one step of a plugin in this process: builds the rf_host table and rf_run handle around the
// services the caller supplies, creates the step type's instance on first use (one per step type,
// reused across runs), calls run/reconcile, and collects outputs and the error message.
//
// This is the in-process path (offline `reelflow run`, and step types flagged RF_STEP_IN_PROCESS);
// the daemon's worker processes call the same executor inside the worker. Thread-safety: one
// Executor per thread; run() on one Executor is not re-entrant. cancel() may be called from another
// thread while run() is in progress.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {

// What the host offers one step execution. Unset functions behave as "nothing there"
// (no secrets, empty state, logs dropped).
struct RunServices {
  std::filesystem::path artifact_dir;
  std::function<void(rf_log_level, std::string_view)> log;
  std::function<void(double fraction, std::string_view message)> progress;
  std::function<bool()> cancelled;
  std::function<std::optional<std::string>(std::string_view name)> secret;
  std::function<std::optional<std::string>(std::string_view key)> state_get;
  // value nullopt deletes; returns false on failure
  std::function<bool(std::string_view key, std::optional<std::string_view> value)> state_set;
  // ABI 1.2: durably records the progress of an irreversible execution (rf_host.checkpoint):
  // returns only once it is stored, false if it could not be. Unset: kept for this call only.
  std::function<bool(const nlohmann::json& checkpoint)> checkpoint;
  // The last checkpoint recorded for this execution (by any attempt, before a restart too).
  std::function<std::optional<nlohmann::json>()> last_checkpoint;
  // A publishing account's stored record (store/account_files.hpp): refreshed credentials and
  // status. set returns only once the record is durable, false if it could not be stored.
  std::function<std::optional<nlohmann::json>(std::string_view account)> account_get;
  std::function<bool(std::string_view account, const nlohmann::json& record)> account_set;
  // ABI 1.3: one of the daemon's services (rf_host.call; docs/plugins.md lists them, e.g.
  // "links.create"), asked with a JSON object; answers a JSON object, or an Error whose message
  // the plugin sees as {"error": ...}. Unset: every call fails ("no daemon services here").
  std::function<Result<nlohmann::json>(std::string_view service, const nlohmann::json& request)>
      call;
};

struct StepOutcome {
  rf_status status = RF_STATUS_ERROR;
  nlohmann::json outputs = nlohmann::json::object();
  std::string error;  // set when status != OK
};

class Executor {
 public:
  // plugin_config: daemon-level configuration per plugin name (object), "{}" when absent.
  explicit Executor(nlohmann::json plugin_config = nlohmann::json::object());
  ~Executor();  // destroys every instance it created
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // options: already normalised (normalize_options). The Error case is for failures of the host
  // side (instance creation failed, plugin returned invalid JSON output); a failing step is a
  // StepOutcome with status ERROR.
  Result<StepOutcome> run(const StepTypeInfo& step_type, const nlohmann::json& options,
                          const nlohmann::json& context, const RunServices& services);

  // intent: what the engine recorded before the interrupted execution, with the last
  // checkpoint under "checkpoint" when one was recorded.
  Result<StepOutcome> reconcile(const StepTypeInfo& step_type, const nlohmann::json& options,
                                const nlohmann::json& context, const nlohmann::json& intent,
                                const RunServices& services);

  // Asks the step running now (if any) to stop: sets the cancelled flag and calls the plugin's
  // cancel callback. Safe from any thread.
  void cancel();

 private:
  struct Instance;
  // Calls one plugin callback (run or reconcile) on the step type's instance with a fresh rf_run.
  using PluginCall = std::function<int(const rf_step_type&, void* instance, rf_run* run)>;

  using PublisherCall = std::function<int(const rf_publisher_type&, void* instance, rf_run* run)>;

  Result<Instance*> instance_for(const StepTypeInfo& step_type);
  Result<StepOutcome> call(const StepTypeInfo& step_type, const RunServices& services,
                           const PluginCall& invoke);
  Result<StepOutcome> call_instance(const StepTypeInfo& step_type, const RunServices& services,
                                    const std::function<int(const Instance&, rf_run*)>& invoke);
  // One call of a publisher's callback (publish_driver.cpp), on the step type's instance.
  Result<StepOutcome> call_publisher(const StepTypeInfo& step_type, const RunServices& services,
                                     const PublisherCall& invoke);
  // The host's publishing driver (publish_driver.cpp): the post's stages from `checkpoint` (empty:
  // from the start) to published, recording each stage through services.checkpoint.
  Result<StepOutcome> publish(const StepTypeInfo& step_type, const nlohmann::json& options,
                              const nlohmann::json& context, const RunServices& services,
                              const nlohmann::json& checkpoint);
  // The publisher's metrics of a published post (context "publisher_call": "metrics"): the
  // post rebuilt from the step's options, the session from its last checkpoint.
  // Renews the account's token when it expires within 10 minutes (context "publisher_call":
  // "refresh", options {"account": NAME}); outputs {"refreshed": bool, "expires_at"}.
  Result<StepOutcome> publish_refresh(const StepTypeInfo& step_type,
                                      const nlohmann::json& options,
                                      const nlohmann::json& context, const RunServices& services);
  Result<StepOutcome> publish_metrics(const StepTypeInfo& step_type,
                                      const nlohmann::json& options,
                                      const nlohmann::json& context, const RunServices& services);

  nlohmann::json plugin_config_;
  std::map<std::string, Instance*, std::less<>> instances_;
  std::atomic<bool> cancel_requested_{false};
  std::atomic<void (*)(void*)> running_cancel_{nullptr};
  std::atomic<void*> running_instance_{nullptr};
  // Held while the running slots change and while cancel() calls into the plugin, so the plugin's
  // cancel is never called for a run that has already returned.
  std::mutex running_mutex_;
};

}  // namespace reelflow::plugin_host
