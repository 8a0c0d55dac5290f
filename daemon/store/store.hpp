// The daemon's durable state: workflows, runs, step executions, intents of irreversible steps,
// durable timers, plugin key-value state and the files the watch trigger has seen. A Store is the
// only way the daemon reads or writes that state; no SQL exists outside daemon/store/, so another
// backend (PostgreSQL, for several daemons sharing work) can implement this interface later.
//
// Contract: every mutating call is one transaction — when it returns success the change is durable
// (it survives kill -9 and, with the SQLite backend's synchronous=FULL, power loss); when it
// returns an error nothing of it was written. State transitions name the state they expect to
// leave, and a transition whose expected state is no longer current is refused, so a stale writer
// cannot overwrite a newer state. Several calls can be made atomic together with in_transaction().
// Times are passed in (milliseconds since the Unix epoch); the store never reads the clock, so
// tests drive time. Errors are values whose message names the operation and the database.
//
// Thread-safety: a Store is safe for concurrent use by several threads (the io_context thread and
// the worker-coordination threads share one); calls are serialised by a mutex inside. A body given
// to in_transaction() runs with that mutex held and may call the same Store again from the same
// thread; other threads wait until the body returns, so keep bodies short and never block in them.
// Two processes must not open the same database for writing (the daemon holds it alone).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace reelflow::store {

// Milliseconds since the Unix epoch (UTC).
using Millis = std::int64_t;

// queued -> running -> (waiting <-> running) -> succeeded | failed | cancelled.
enum class RunState { queued, running, waiting, succeeded, failed, cancelled };
// One execution (attempt of a step, or of one for_each item):
// pending -> running -> (waiting <-> running) -> succeeded | failed | cancelled; or skipped.
enum class StepState { pending, running, waiting, succeeded, failed, cancelled, skipped };
enum class TimerState { pending, fired, cancelled };

inline constexpr std::array kAllRunStates = {RunState::queued,  RunState::running,
                                             RunState::waiting, RunState::succeeded,
                                             RunState::failed,  RunState::cancelled};

std::string_view to_string(RunState state);
std::string_view to_string(StepState state);
std::string_view to_string(TimerState state);
Result<RunState> parse_run_state(std::string_view text);
Result<StepState> parse_step_state(std::string_view text);
Result<TimerState> parse_timer_state(std::string_view text);
bool is_finished(RunState state);   // succeeded, failed, cancelled
bool is_finished(StepState state);  // succeeded, failed, cancelled, skipped

// The item index of a step execution that is not part of a for_each fan-out.
inline constexpr int kNoItem = -1;

struct WorkflowRecord {
  std::string name;
  std::string file;
  std::string content_hash;  // hex SHA-256 of the file's bytes
  Millis loaded_at = 0;
  bool paused = false;
};

struct NewRun {
  std::string id;  // chosen by the caller (engine::new_run_id())
  std::string workflow;
  std::string workflow_hash;  // content hash of the workflow version this run executes
  nlohmann::json trigger = nlohmann::json::object();
  // Unique per workflow: a second run with the same key is never created. For the watch trigger:
  // path + size + mtime + content hash, so a file is never run twice for the same content.
  std::string trigger_key;
  Millis created_at = 0;
};

struct CreatedRun {
  std::string run_id;  // the new run, or the existing run with the same trigger key
  bool created = false;
};

struct RunRecord {
  std::string id;
  std::string workflow;
  std::string workflow_hash;
  RunState state = RunState::queued;
  nlohmann::json trigger = nlohmann::json::object();
  std::string trigger_key;
  Millis created_at = 0;
  std::optional<Millis> started_at;   // first entry into running
  std::optional<Millis> finished_at;  // entry into a finished state
  std::string error;
};

// Identifies one step execution: step `step_id` of run `run_id`, for_each item `item` (kNoItem
// when none), attempt `attempt` (from 1).
struct StepKey {
  std::string run_id;
  std::string step_id;
  int item = kNoItem;
  int attempt = 1;
};

struct StepRecord {
  StepKey key;
  StepState state = StepState::pending;
  std::optional<Millis> started_at;   // first entry into running
  std::optional<Millis> finished_at;  // entry into a finished state
  nlohmann::json outputs = nlohmann::json::object();
  std::string error;
  std::string worker;  // which worker/plugin ran it, e.g. "video.render@worker-3 (pid 1234)"
};

// What a step transition writes besides the state; unset fields keep their stored value.
struct StepUpdate {
  std::optional<nlohmann::json> outputs = std::nullopt;
  std::optional<std::string> error = std::nullopt;
  std::optional<std::string> worker = std::nullopt;
};

struct UnfinishedRun {
  RunRecord run;
  // The most recently finished succeeded or skipped step execution, if any: where resume starts.
  std::optional<StepRecord> last_completed;
};

struct NewIntent {
  std::string run_id;
  std::string step_id;
  int item = kNoItem;
  std::string idempotency_key;  // unique across the database
  nlohmann::json intent = nlohmann::json::object();
  Millis created_at = 0;
};

struct IntentRecord {
  std::string run_id;
  std::string step_id;
  int item = kNoItem;
  std::string idempotency_key;
  nlohmann::json intent = nlohmann::json::object();
  std::optional<nlohmann::json> result;  // unset until the call's result is recorded
  Millis created_at = 0;
  std::optional<Millis> resolved_at;
};

// A post a publisher step put on a platform.
struct PostRecord {
  std::string idempotency_key;  // the execution's: one post per key
  std::string run_id;
  std::string step_id;
  int item = kNoItem;
  std::string step_type;  // e.g. "youtube.publish"
  std::string platform;
  std::string account;
  std::string post_id;  // the platform's
  std::string url;
  Millis published_at = 0;
  nlohmann::json options = nlohmann::json::object();  // the step's options, to ask again later
};

struct PostMetrics {
  std::string label;  // the age it was taken at: "1h", "6h", "24h", "3d", "7d"
  Millis taken_at = 0;
  nlohmann::json metrics = nlohmann::json::object();  // views, likes, comments, shares, ...
};

using TimerId = std::int64_t;

struct NewTimer {
  Millis due_at = 0;
  std::string kind;    // e.g. "step_wait", "schedule", "metrics"
  std::string run_id;  // empty when the timer belongs to no run (a schedule trigger)
  std::string step_id;
  nlohmann::json payload = nlohmann::json::object();
};

struct TimerRecord {
  TimerId id = 0;
  Millis due_at = 0;
  std::string kind;
  std::string run_id;
  std::string step_id;
  nlohmann::json payload = nlohmann::json::object();
  TimerState state = TimerState::pending;
};

struct RunFilter {
  std::optional<std::string> workflow = std::nullopt;
  std::optional<RunState> state = std::nullopt;
  int limit = 100;  // newest first
};

struct RunCount {
  RunState state;
  std::int64_t count = 0;
};

struct SeenFile {
  std::string workflow;
  std::string key;  // path + size + mtime + content hash
  Millis first_seen = 0;
  std::string run_id;  // empty when the file started no run
};

struct StoreOptions {
  int busy_timeout_ms = 5000;
};

class Store {
 public:
  virtual ~Store() = default;

  // The database this store writes, for messages.
  virtual const std::string& describe() const = 0;
  virtual int schema_version() const = 0;

  // Runs `body` as one transaction: if it returns an error (or any call inside fails and the body
  // passes the error on), nothing the body wrote is kept. Calls inside join the transaction;
  // nested in_transaction calls are savepoints.
  virtual Result<void> in_transaction(const std::function<Result<void>()>& body) = 0;

  // --- workflows ---
  // Inserts or updates name's file, hash and loaded_at; the paused flag of an existing workflow is
  // kept (pause survives reloads).
  virtual Result<void> upsert_workflow(const WorkflowRecord& workflow) = 0;
  virtual Result<void> set_workflow_paused(std::string_view name, bool paused) = 0;
  virtual Result<void> remove_workflow(std::string_view name) = 0;  // its runs stay
  virtual Result<std::optional<WorkflowRecord>> get_workflow(std::string_view name) = 0;
  virtual Result<std::vector<WorkflowRecord>> list_workflows() = 0;  // by name

  // --- runs ---
  // Creates a queued run unless the workflow already has a run with this trigger key; then returns
  // that run's id with created = false. Atomic.
  virtual Result<CreatedRun> create_run(const NewRun& run) = 0;
  // Moves the run from `from` to `to` at time `at`; refused (error) if its state is not `from`.
  // Entering running sets started_at once; entering a finished state sets finished_at; leaving one
  // (a retry) clears it. `error` replaces the stored error when given.
  virtual Result<void> transition_run(std::string_view run_id, RunState from, RunState to,
                                      Millis at, std::optional<std::string> error = {}) = 0;
  virtual Result<std::optional<RunRecord>> get_run(std::string_view run_id) = 0;
  virtual Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) = 0;
  // queued, running and waiting runs, oldest first, each with its last completed step.
  virtual Result<std::vector<UnfinishedRun>> unfinished_runs() = 0;
  // Every run state with its count (zero included), in kAllRunStates order.
  virtual Result<std::vector<RunCount>> count_runs_by_state() = 0;
  // Finished runs with finished_at < before whose artifacts were not yet purged, oldest first.
  virtual Result<std::vector<RunRecord>> finished_runs_before(Millis before, int limit) = 0;
  virtual Result<void> mark_artifacts_purged(std::string_view run_id, Millis at) = 0;

  // --- step executions ---
  // Records a new execution in state `state` (usually pending; skipped for a step whose `if` was
  // false; running sets started_at). Refused if it exists.
  virtual Result<void> add_step(const StepKey& key, StepState state, Millis at) = 0;
  // Moves the execution from `from` to `to` at `at`, writing `update`; refused if its state is not
  // `from`. Timestamps as for runs.
  virtual Result<void> transition_step(const StepKey& key, StepState from, StepState to, Millis at,
                                       const StepUpdate& update = {}) = 0;
  // Replaces the outputs of an execution, whatever its state.
  virtual Result<void> record_step_outputs(const StepKey& key, const nlohmann::json& outputs) = 0;
  virtual Result<std::optional<StepRecord>> get_step(const StepKey& key) = 0;
  // Every execution of the run in the order they were added.
  virtual Result<std::vector<StepRecord>> run_steps(std::string_view run_id) = 0;

  // --- intents of irreversible steps: write the intent before the call, the result right after ---
  // Refused if the idempotency key is already recorded (the action may already have happened).
  virtual Result<void> record_intent(const NewIntent& intent) = 0;
  // Refused if the key is unknown or already resolved.
  virtual Result<void> record_intent_result(std::string_view idempotency_key,
                                            const nlohmann::json& result, Millis at) = 0;
  virtual Result<std::optional<IntentRecord>> get_intent(std::string_view idempotency_key) = 0;
  // Intents without a result, oldest first: to reconcile after a crash, never to re-send blindly.
  virtual Result<std::vector<IntentRecord>> unresolved_intents() = 0;

  // --- checkpoints: the progress of an irreversible execution (rf_host.checkpoint) ---
  // Replaces the checkpoint kept under the execution's idempotency key (shared by its attempts).
  virtual Result<void> set_checkpoint(std::string_view run_id, std::string_view idempotency_key,
                                      const nlohmann::json& checkpoint, Millis at) = 0;
  virtual Result<std::optional<nlohmann::json>> get_checkpoint(
      std::string_view idempotency_key) = 0;

  // --- published posts and their metrics ---
  // Records the post unless its key is recorded already; returns whether it was new.
  virtual Result<bool> record_post(const PostRecord& post) = 0;
  virtual Result<std::optional<PostRecord>> get_post(std::string_view idempotency_key) = 0;
  // Newest first; account empty = every account; published_at >= since.
  virtual Result<std::vector<PostRecord>> list_posts(std::string_view account, Millis since,
                                                     int limit) = 0;
  // Replaces the metrics of that label.
  virtual Result<void> record_post_metrics(std::string_view idempotency_key,
                                           const PostMetrics& metrics) = 0;
  // Oldest first.
  virtual Result<std::vector<PostMetrics>> post_metrics(std::string_view idempotency_key) = 0;

  // --- durable timers ---
  virtual Result<TimerId> add_timer(const NewTimer& timer) = 0;
  // pending -> cancelled; refused if the timer is not pending.
  virtual Result<void> cancel_timer(TimerId id) = 0;
  // pending -> fired; refused if the timer is not pending (so a timer fires once).
  virtual Result<void> mark_timer_fired(TimerId id) = 0;
  // Cancels every pending timer of the run; returns how many.
  virtual Result<int> cancel_run_timers(std::string_view run_id) = 0;
  // Pending timers with due_at < before, earliest first, at most `limit`.
  virtual Result<std::vector<TimerRecord>> due_timers(Millis before, int limit) = 0;
  // Every pending timer, earliest first: loaded once at start-up.
  virtual Result<std::vector<TimerRecord>> pending_timers() = 0;

  // --- plugin key-value state ---
  virtual Result<std::optional<std::string>> plugin_state_get(std::string_view plugin,
                                                              std::string_view key) = 0;
  virtual Result<void> plugin_state_set(std::string_view plugin, std::string_view key,
                                        std::string_view value) = 0;
  // Deleting a missing key succeeds.
  virtual Result<void> plugin_state_erase(std::string_view plugin, std::string_view key) = 0;

  // --- files seen by the watch trigger ---
  // Records the file; returns false (and changes nothing) if it was already seen.
  virtual Result<bool> mark_file_seen(const SeenFile& file) = 0;
  virtual Result<std::optional<SeenFile>> get_seen_file(std::string_view workflow,
                                                        std::string_view key) = 0;

  // --- maintenance ---
  // "ok", or the problems the backend's integrity check reports.
  virtual Result<std::string> check_integrity() = 0;
};

// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and brings its schema up
// to date with forward migrations, each in its own transaction. Refuses a database whose schema is
// newer than this code knows, a file that is not a database, and a path it cannot create.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path,
                                                 const StoreOptions& options = {});

// The schema version this code writes.
int current_schema_version();

// "<state_dir>/reelflow.db": the database's place under the state dir.
std::filesystem::path database_path(const std::filesystem::path& state_dir);

}  // namespace reelflow::store
