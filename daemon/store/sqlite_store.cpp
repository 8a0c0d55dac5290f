// The SQLite backend of the Store, through SQLiteCpp. Every SQLiteCpp (and JSON) exception is
// caught here and turned into an Error naming the database and the operation.
#include <SQLiteCpp/SQLiteCpp.h>

#include <mutex>
#include <type_traits>
#include <utility>

#include "store/post_join.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"

namespace reelflow::store {
namespace {

using nlohmann::json;

constexpr std::string_view kRunColumns =
    "id, workflow, workflow_hash, state, trigger_json, trigger_key, created_at, started_at, "
    "finished_at, error";
constexpr std::string_view kStepColumns =
    "run_id, step_id, item, attempt, state, started_at, finished_at, outputs_json, error, worker";
constexpr std::string_view kIntentColumns =
    "run_id, step_id, item, idempotency_key, intent_json, result_json, created_at, resolved_at";
constexpr std::string_view kTimerColumns = "id, due_at, kind, run_id, step_id, payload_json, state";

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (const auto part : parts) text += part;
  return text;
}

std::optional<Millis> optional_millis(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return column.getInt64();
}

void bind_optional(SQLite::Statement& statement, int index, std::optional<Millis> value) {
  if (value) {
    statement.bind(index, *value);
  } else {
    statement.bind(index);
  }
}

// Parse errors of stored values are programming or corruption errors: let them throw (caught at
// the boundary) rather than silently substituting defaults.
template <typename T>
T must(Result<T> value) {
  if (!value) throw std::runtime_error(value.error().message);
  return std::move(*value);
}

RunRecord read_run(SQLite::Statement& row) {
  RunRecord run;
  run.id = row.getColumn(0).getString();
  run.workflow = row.getColumn(1).getString();
  run.workflow_hash = row.getColumn(2).getString();
  run.state = must(parse_run_state(row.getColumn(3).getString()));
  run.trigger = json::parse(row.getColumn(4).getString());
  run.trigger_key = row.getColumn(5).getString();
  run.created_at = row.getColumn(6).getInt64();
  run.started_at = optional_millis(row.getColumn(7));
  run.finished_at = optional_millis(row.getColumn(8));
  run.error = row.getColumn(9).getString();
  return run;
}

StepRecord read_step(SQLite::Statement& row) {
  StepRecord step;
  step.key.run_id = row.getColumn(0).getString();
  step.key.step_id = row.getColumn(1).getString();
  step.key.item = row.getColumn(2).getInt();
  step.key.attempt = row.getColumn(3).getInt();
  step.state = must(parse_step_state(row.getColumn(4).getString()));
  step.started_at = optional_millis(row.getColumn(5));
  step.finished_at = optional_millis(row.getColumn(6));
  step.outputs = json::parse(row.getColumn(7).getString());
  step.error = row.getColumn(8).getString();
  step.worker = row.getColumn(9).getString();
  return step;
}

IntentRecord read_intent(SQLite::Statement& row) {
  IntentRecord intent;
  intent.run_id = row.getColumn(0).getString();
  intent.step_id = row.getColumn(1).getString();
  intent.item = row.getColumn(2).getInt();
  intent.idempotency_key = row.getColumn(3).getString();
  intent.intent = json::parse(row.getColumn(4).getString());
  if (!row.getColumn(5).isNull()) intent.result = json::parse(row.getColumn(5).getString());
  intent.created_at = row.getColumn(6).getInt64();
  intent.resolved_at = optional_millis(row.getColumn(7));
  return intent;
}

TimerRecord read_timer(SQLite::Statement& row) {
  TimerRecord timer;
  timer.id = row.getColumn(0).getInt64();
  timer.due_at = row.getColumn(1).getInt64();
  timer.kind = row.getColumn(2).getString();
  timer.run_id = row.getColumn(3).getString();  // NULL reads as ""
  timer.step_id = row.getColumn(4).getString();
  timer.payload = json::parse(row.getColumn(5).getString());
  timer.state = must(parse_timer_state(row.getColumn(6).getString()));
  return timer;
}

void bind_step_key(SQLite::Statement& statement, int first, const StepKey& key) {
  statement.bind(first, key.run_id);
  statement.bind(first + 1, key.step_id);
  statement.bind(first + 2, key.item);
  statement.bind(first + 3, key.attempt);
}

std::string describe_step(const StepKey& key) {
  std::string text = "step " + key.run_id + "/" + key.step_id;
  if (key.item != kNoItem) text += "[" + std::to_string(key.item) + "]";
  return text + " attempt " + std::to_string(key.attempt);
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, SQLite::Database database, int version)
      : path_(std::move(path)), db_(std::move(database)), version_(version) {}

  const std::string& describe() const override { return path_; }
  int schema_version() const override { return version_; }

  Result<void> in_transaction(const std::function<Result<void>()>& body) override {
    return write("transaction", body, /*prefix_errors=*/false);
  }

  // --- workflows ---

  Result<void> upsert_workflow(const WorkflowRecord& workflow) override {
    return write("save workflow " + workflow.name, [&]() -> Result<void> {
      SQLite::Statement statement(db_,
                                  "INSERT INTO workflows (name, file, content_hash, loaded_at, "
                                  "paused) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                                  "SET file = excluded.file, content_hash = excluded.content_hash, "
                                  "loaded_at = excluded.loaded_at");
      statement.bind(1, workflow.name);
      statement.bind(2, workflow.file);
      statement.bind(3, workflow.content_hash);
      statement.bind(4, workflow.loaded_at);
      statement.bind(5, workflow.paused ? 1 : 0);
      statement.exec();
      return {};
    });
  }

  Result<void> set_workflow_paused(std::string_view name, bool paused) override {
    const std::string owned(name);
    return write((paused ? "pause workflow " : "resume workflow ") + owned, [&]() -> Result<void> {
      SQLite::Statement statement(db_, "UPDATE workflows SET paused = ? WHERE name = ?");
      statement.bind(1, paused ? 1 : 0);
      statement.bind(2, owned);
      if (statement.exec() == 0) return fail("no such workflow");
      return {};
    });
  }

  Result<void> remove_workflow(std::string_view name) override {
    const std::string owned(name);
    return write("remove workflow " + owned, [&]() -> Result<void> {
      SQLite::Statement statement(db_, "DELETE FROM workflows WHERE name = ?");
      statement.bind(1, owned);
      if (statement.exec() == 0) return fail("no such workflow");
      return {};
    });
  }

  Result<std::optional<WorkflowRecord>> get_workflow(std::string_view name) override {
    const std::string owned(name);
    return read("read workflow " + owned, [&]() -> Result<std::optional<WorkflowRecord>> {
      SQLite::Statement statement(
          db_, "SELECT name, file, content_hash, loaded_at, paused FROM workflows WHERE name = ?");
      statement.bind(1, owned);
      if (!statement.executeStep()) return std::nullopt;
      return read_workflow(statement);
    });
  }

  Result<std::vector<WorkflowRecord>> list_workflows() override {
    return read("list workflows", [&]() -> Result<std::vector<WorkflowRecord>> {
      SQLite::Statement statement(
          db_, "SELECT name, file, content_hash, loaded_at, paused FROM workflows ORDER BY name");
      std::vector<WorkflowRecord> workflows;
      while (statement.executeStep()) workflows.push_back(read_workflow(statement));
      return workflows;
    });
  }

  // --- runs ---

  Result<CreatedRun> create_run(const NewRun& run) override {
    return write("create run " + run.id + " of " + run.workflow, [&]() -> Result<CreatedRun> {
      // The UNIQUE (workflow, trigger_key) constraint is the guard; the lookup inside the same
      // write transaction makes "insert unless seen" atomic.
      SQLite::Statement existing(db_, "SELECT id FROM runs WHERE workflow = ? AND trigger_key = ?");
      existing.bind(1, run.workflow);
      existing.bind(2, run.trigger_key);
      if (existing.executeStep()) return CreatedRun{existing.getColumn(0).getString(), false};
      SQLite::Statement insert(db_,
                               "INSERT INTO runs (id, workflow, workflow_hash, state, "
                               "trigger_json, trigger_key, created_at) "
                               "VALUES (?, ?, ?, 'queued', ?, ?, ?)");
      insert.bind(1, run.id);
      insert.bind(2, run.workflow);
      insert.bind(3, run.workflow_hash);
      insert.bind(4, run.trigger.dump());
      insert.bind(5, run.trigger_key);
      insert.bind(6, run.created_at);
      insert.exec();
      return CreatedRun{run.id, true};
    });
  }

  Result<void> transition_run(std::string_view run_id, RunState from, RunState to, Millis at,
                              std::optional<std::string> error) override {
    const std::string id(run_id);
    const std::string operation =
        "run " + id + ": " + std::string(to_string(from)) + " -> " + std::string(to_string(to));
    return write(operation, [&]() -> Result<void> {
      SQLite::Statement update(
          db_,
          "UPDATE runs SET state = ?1, "
          "started_at = CASE WHEN ?1 = 'running' THEN COALESCE(started_at, ?2) "
          "ELSE started_at END, finished_at = ?3, error = COALESCE(?4, error) "
          "WHERE id = ?5 AND state = ?6");
      update.bind(1, std::string(to_string(to)));
      update.bind(2, at);
      bind_optional(update, 3, is_finished(to) ? std::optional<Millis>(at) : std::nullopt);
      if (error) {
        update.bind(4, *error);
      } else {
        update.bind(4);
      }
      update.bind(5, id);
      update.bind(6, std::string(to_string(from)));
      if (update.exec() == 1) return {};
      return refusal("SELECT state FROM runs WHERE id = ?",
                     [&](SQLite::Statement& s) { s.bind(1, id); });
    });
  }

  Result<std::optional<RunRecord>> get_run(std::string_view run_id) override {
    const std::string id(run_id);
    return read("read run " + id, [&]() -> Result<std::optional<RunRecord>> {
      SQLite::Statement statement(db_, sql({"SELECT ", kRunColumns, " FROM runs WHERE id = ?"}));
      statement.bind(1, id);
      if (!statement.executeStep()) return std::nullopt;
      return read_run(statement);
    });
  }

  Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) override {
    return read("list runs", [&]() -> Result<std::vector<RunRecord>> {
      SQLite::Statement statement(
          db_, sql({"SELECT ", kRunColumns,
                    " FROM runs WHERE (?1 IS NULL OR workflow = ?1) AND (?2 IS NULL OR state = ?2) "
                    "ORDER BY created_at DESC, rowid DESC LIMIT ?3"}));
      if (filter.workflow) statement.bind(1, *filter.workflow);
      if (filter.state) statement.bind(2, std::string(to_string(*filter.state)));
      statement.bind(3, filter.limit);
      std::vector<RunRecord> runs;
      while (statement.executeStep()) runs.push_back(read_run(statement));
      return runs;
    });
  }

  Result<std::vector<UnfinishedRun>> unfinished_runs() override {
    return read("list unfinished runs", [&]() -> Result<std::vector<UnfinishedRun>> {
      SQLite::Statement runs(db_, sql({"SELECT ", kRunColumns,
                                       " FROM runs WHERE state IN ('queued', 'running', "
                                       "'waiting') ORDER BY created_at, rowid"}));
      SQLite::Statement last(db_, sql({"SELECT ", kStepColumns,
                                       " FROM step_executions WHERE run_id = ? AND state IN "
                                       "('succeeded', 'skipped') ORDER BY finished_at DESC, "
                                       "rowid DESC LIMIT 1"}));
      std::vector<UnfinishedRun> unfinished;
      while (runs.executeStep()) {
        UnfinishedRun entry{read_run(runs), std::nullopt};
        last.reset();
        last.bind(1, entry.run.id);
        if (last.executeStep()) entry.last_completed = read_step(last);
        unfinished.push_back(std::move(entry));
      }
      return unfinished;
    });
  }

  Result<std::vector<RunCount>> count_runs_by_state() override {
    return read("count runs", [&]() -> Result<std::vector<RunCount>> {
      std::vector<RunCount> counts;
      for (const auto state : kAllRunStates) counts.push_back(RunCount{state, 0});
      SQLite::Statement statement(db_, "SELECT state, COUNT(*) FROM runs GROUP BY state");
      while (statement.executeStep()) {
        const auto state = must(parse_run_state(statement.getColumn(0).getString()));
        counts[static_cast<std::size_t>(state)].count = statement.getColumn(1).getInt64();
      }
      return counts;
    });
  }

  Result<std::vector<RunRecord>> finished_runs_before(Millis before, int limit) override {
    return read("list finished runs", [&]() -> Result<std::vector<RunRecord>> {
      SQLite::Statement statement(
          db_, sql({"SELECT ", kRunColumns,
                    " FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? AND "
                    "artifacts_purged_at IS NULL ORDER BY finished_at, rowid LIMIT ?"}));
      statement.bind(1, before);
      statement.bind(2, limit);
      std::vector<RunRecord> runs;
      while (statement.executeStep()) runs.push_back(read_run(statement));
      return runs;
    });
  }

  Result<void> mark_artifacts_purged(std::string_view run_id, Millis at) override {
    const std::string id(run_id);
    return write("mark artifacts of run " + id + " purged", [&]() -> Result<void> {
      SQLite::Statement statement(db_, "UPDATE runs SET artifacts_purged_at = ? WHERE id = ?");
      statement.bind(1, at);
      statement.bind(2, id);
      if (statement.exec() == 0) return fail("no such run");
      return {};
    });
  }

  // --- step executions ---

  Result<void> add_step(const StepKey& key, StepState state, Millis at) override {
    return write("add " + describe_step(key), [&]() -> Result<void> {
      SQLite::Statement exists(db_,
                               "SELECT state FROM step_executions WHERE run_id = ? AND "
                               "step_id = ? AND item = ? AND attempt = ?");
      bind_step_key(exists, 1, key);
      if (exists.executeStep()) {
        return fail("already recorded (state " + exists.getColumn(0).getString() + ")");
      }
      SQLite::Statement insert(db_,
                               "INSERT INTO step_executions (run_id, step_id, item, attempt, "
                               "state, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
      bind_step_key(insert, 1, key);
      insert.bind(5, std::string(to_string(state)));
      bind_optional(insert, 6,
                    state == StepState::running ? std::optional<Millis>(at) : std::nullopt);
      bind_optional(insert, 7, is_finished(state) ? std::optional<Millis>(at) : std::nullopt);
      insert.exec();
      return {};
    });
  }

  Result<void> transition_step(const StepKey& key, StepState from, StepState to, Millis at,
                               const StepUpdate& update) override {
    const std::string operation = describe_step(key) + ": " + std::string(to_string(from)) +
                                  " -> " + std::string(to_string(to));
    return write(operation, [&]() -> Result<void> {
      SQLite::Statement statement(
          db_,
          "UPDATE step_executions SET state = ?1, "
          "started_at = CASE WHEN ?1 = 'running' THEN COALESCE(started_at, ?2) "
          "ELSE started_at END, finished_at = ?3, outputs_json = COALESCE(?4, outputs_json), "
          "error = COALESCE(?5, error), worker = COALESCE(?6, worker) "
          "WHERE run_id = ?7 AND step_id = ?8 AND item = ?9 AND attempt = ?10 AND state = ?11");
      statement.bind(1, std::string(to_string(to)));
      statement.bind(2, at);
      bind_optional(statement, 3, is_finished(to) ? std::optional<Millis>(at) : std::nullopt);
      if (update.outputs) statement.bind(4, update.outputs->dump());
      if (update.error) statement.bind(5, *update.error);
      if (update.worker) statement.bind(6, *update.worker);
      bind_step_key(statement, 7, key);
      statement.bind(11, std::string(to_string(from)));
      if (statement.exec() == 1) return {};
      return refusal(
          "SELECT state FROM step_executions WHERE run_id = ? AND step_id = ? AND item = ? AND "
          "attempt = ?",
          [&](SQLite::Statement& s) { bind_step_key(s, 1, key); });
    });
  }

  Result<void> record_step_outputs(const StepKey& key, const json& outputs) override {
    return write("record outputs of " + describe_step(key), [&]() -> Result<void> {
      SQLite::Statement statement(db_,
                                  "UPDATE step_executions SET outputs_json = ? WHERE run_id = ? "
                                  "AND step_id = ? AND item = ? AND attempt = ?");
      statement.bind(1, outputs.dump());
      bind_step_key(statement, 2, key);
      if (statement.exec() == 0) return fail("no such step execution");
      return {};
    });
  }

  Result<std::optional<StepRecord>> get_step(const StepKey& key) override {
    return read("read " + describe_step(key), [&]() -> Result<std::optional<StepRecord>> {
      SQLite::Statement statement(
          db_, sql({"SELECT ", kStepColumns,
                    " FROM step_executions WHERE run_id = ? AND step_id = ? AND item = ? AND "
                    "attempt = ?"}));
      bind_step_key(statement, 1, key);
      if (!statement.executeStep()) return std::nullopt;
      return read_step(statement);
    });
  }

  Result<std::vector<StepRecord>> run_steps(std::string_view run_id) override {
    const std::string id(run_id);
    return read("list steps of run " + id, [&]() -> Result<std::vector<StepRecord>> {
      SQLite::Statement statement(
          db_,
          sql({"SELECT ", kStepColumns, " FROM step_executions WHERE run_id = ? ORDER BY rowid"}));
      statement.bind(1, id);
      std::vector<StepRecord> steps;
      while (statement.executeStep()) steps.push_back(read_step(statement));
      return steps;
    });
  }

  // --- intents ---

  Result<void> record_intent(const NewIntent& intent) override {
    return write("record intent " + intent.idempotency_key + " of run " + intent.run_id,
                 [&]() -> Result<void> {
                   SQLite::Statement exists(
                       db_, "SELECT run_id, step_id FROM intents WHERE idempotency_key = ?");
                   exists.bind(1, intent.idempotency_key);
                   if (exists.executeStep()) {
                     return fail("idempotency key already recorded by run " +
                                 exists.getColumn(0).getString() + " step " +
                                 exists.getColumn(1).getString());
                   }
                   SQLite::Statement insert(
                       db_,
                       "INSERT INTO intents (idempotency_key, run_id, step_id, item, "
                       "intent_json, created_at) VALUES (?, ?, ?, ?, ?, ?)");
                   insert.bind(1, intent.idempotency_key);
                   insert.bind(2, intent.run_id);
                   insert.bind(3, intent.step_id);
                   insert.bind(4, intent.item);
                   insert.bind(5, intent.intent.dump());
                   insert.bind(6, intent.created_at);
                   insert.exec();
                   return {};
                 });
  }

  Result<void> record_intent_result(std::string_view idempotency_key, const json& result,
                                    Millis at) override {
    const std::string key(idempotency_key);
    return write("record result of intent " + key, [&]() -> Result<void> {
      SQLite::Statement update(db_,
                               "UPDATE intents SET result_json = ?, resolved_at = ? "
                               "WHERE idempotency_key = ? AND resolved_at IS NULL");
      update.bind(1, result.dump());
      update.bind(2, at);
      update.bind(3, key);
      if (update.exec() == 1) return {};
      SQLite::Statement exists(db_, "SELECT 1 FROM intents WHERE idempotency_key = ?");
      exists.bind(1, key);
      return fail(exists.executeStep() ? "refused: the intent already has a result"
                                       : "no such intent");
    });
  }

  Result<std::optional<IntentRecord>> get_intent(std::string_view idempotency_key) override {
    const std::string key(idempotency_key);
    return read("read intent " + key, [&]() -> Result<std::optional<IntentRecord>> {
      SQLite::Statement statement(
          db_, sql({"SELECT ", kIntentColumns, " FROM intents WHERE idempotency_key = ?"}));
      statement.bind(1, key);
      if (!statement.executeStep()) return std::nullopt;
      return read_intent(statement);
    });
  }

  Result<std::vector<IntentRecord>> unresolved_intents() override {
    return read("list unresolved intents", [&]() -> Result<std::vector<IntentRecord>> {
      SQLite::Statement statement(
          db_, sql({"SELECT ", kIntentColumns,
                    " FROM intents WHERE resolved_at IS NULL ORDER BY created_at, rowid"}));
      std::vector<IntentRecord> intents;
      while (statement.executeStep()) intents.push_back(read_intent(statement));
      return intents;
    });
  }

  // --- timers ---

  Result<TimerId> add_timer(const NewTimer& timer) override {
    return write("add timer " + timer.kind, [&]() -> Result<TimerId> {
      SQLite::Statement insert(db_,
                               "INSERT INTO timers (due_at, kind, run_id, step_id, payload_json) "
                               "VALUES (?, ?, ?, ?, ?)");
      insert.bind(1, timer.due_at);
      insert.bind(2, timer.kind);
      if (!timer.run_id.empty()) insert.bind(3, timer.run_id);
      insert.bind(4, timer.step_id);
      insert.bind(5, timer.payload.dump());
      insert.exec();
      return db_.getLastInsertRowid();
    });
  }

  Result<void> cancel_timer(TimerId id) override { return finish_timer(id, TimerState::cancelled); }
  Result<void> mark_timer_fired(TimerId id) override { return finish_timer(id, TimerState::fired); }

  Result<int> cancel_run_timers(std::string_view run_id) override {
    const std::string id(run_id);
    return write("cancel timers of run " + id, [&]() -> Result<int> {
      SQLite::Statement statement(
          db_, "UPDATE timers SET state = 'cancelled' WHERE run_id = ? AND state = 'pending'");
      statement.bind(1, id);
      return statement.exec();
    });
  }

  Result<std::vector<TimerRecord>> due_timers(Millis before, int limit) override {
    return read("list due timers", [&]() -> Result<std::vector<TimerRecord>> {
      SQLite::Statement statement(
          db_, sql({"SELECT ", kTimerColumns,
                    " FROM timers WHERE state = 'pending' AND due_at < ? ORDER BY due_at, id "
                    "LIMIT ?"}));
      statement.bind(1, before);
      statement.bind(2, limit);
      std::vector<TimerRecord> timers;
      while (statement.executeStep()) timers.push_back(read_timer(statement));
      return timers;
    });
  }

  Result<std::vector<TimerRecord>> pending_timers() override {
    return read("load pending timers", [&]() -> Result<std::vector<TimerRecord>> {
      SQLite::Statement count(db_, "SELECT COUNT(*) FROM timers WHERE state = 'pending'");
      count.executeStep();
      std::vector<TimerRecord> timers;
      timers.reserve(static_cast<std::size_t>(count.getColumn(0).getInt64()));
      SQLite::Statement statement(
          db_, sql({"SELECT ", kTimerColumns,
                    " FROM timers WHERE state = 'pending' ORDER BY due_at, id"}));
      while (statement.executeStep()) timers.push_back(read_timer(statement));
      return timers;
    });
  }

  // --- checkpoints ---

  Result<void> set_checkpoint(std::string_view run_id, std::string_view idempotency_key,
                              const json& checkpoint, Millis at) override {
    const std::string owned_run(run_id), key(idempotency_key);
    return write("record checkpoint " + key, [&]() -> Result<void> {
      SQLite::Statement statement(
          db_,
          "INSERT INTO checkpoints (idempotency_key, run_id, checkpoint_json, updated_at) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO UPDATE SET "
          "checkpoint_json = excluded.checkpoint_json, updated_at = excluded.updated_at");
      statement.bind(1, key);
      statement.bind(2, owned_run);
      statement.bind(3, checkpoint.dump());
      statement.bind(4, at);
      statement.exec();
      return {};
    });
  }

  Result<std::optional<json>> get_checkpoint(std::string_view idempotency_key) override {
    const std::string key(idempotency_key);
    return read("read checkpoint " + key, [&]() -> Result<std::optional<json>> {
      SQLite::Statement statement(
          db_, "SELECT checkpoint_json FROM checkpoints WHERE idempotency_key = ?");
      statement.bind(1, key);
      if (!statement.executeStep()) return std::nullopt;
      return json::parse(statement.getColumn(0).getString());
    });
  }

  // --- posts ---

  Result<bool> record_post(const PostRecord& post) override {
    return write("record post " + post.idempotency_key, [&]() -> Result<bool> {
      SQLite::Statement statement(
          db_,
          "INSERT OR IGNORE INTO posts (idempotency_key, run_id, step_id, item, step_type, "
          "platform, account, post_id, url, published_at, options_json) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      statement.bind(1, post.idempotency_key);
      statement.bind(2, post.run_id);
      statement.bind(3, post.step_id);
      statement.bind(4, post.item);
      statement.bind(5, post.step_type);
      statement.bind(6, post.platform);
      statement.bind(7, post.account);
      statement.bind(8, post.post_id);
      statement.bind(9, post.url);
      statement.bind(10, post.published_at);
      statement.bind(11, post.options.dump());
      return statement.exec() == 1;
    });
  }

  // read_post and kPostColumns: store/post_join.hpp.

  Result<std::optional<PostRecord>> get_post(std::string_view idempotency_key) override {
    const std::string key(idempotency_key);
    return read("read post " + key, [&]() -> Result<std::optional<PostRecord>> {
      SQLite::Statement statement(
          db_, std::string("SELECT ") + kPostColumns + " FROM posts WHERE idempotency_key = ?");
      statement.bind(1, key);
      if (!statement.executeStep()) return std::nullopt;
      return read_post(statement);
    });
  }

  Result<std::vector<PostRecord>> list_posts(std::string_view account, Millis since,
                                             int limit) override {
    const std::string owned_account(account);
    return read("list posts", [&]() -> Result<std::vector<PostRecord>> {
      SQLite::Statement statement(
          db_, std::string("SELECT ") + kPostColumns +
                   " FROM posts WHERE (?1 = '' OR account = ?1) AND published_at >= ?2 "
                   "ORDER BY published_at DESC LIMIT ?3");
      statement.bind(1, owned_account);
      statement.bind(2, since);
      statement.bind(3, limit);
      std::vector<PostRecord> posts;
      while (statement.executeStep()) posts.push_back(read_post(statement));
      return posts;
    });
  }

  Result<void> record_post_metrics(std::string_view idempotency_key,
                                   const PostMetrics& metrics) override {
    const std::string key(idempotency_key);
    return write("record metrics " + metrics.label + " of post " + key, [&]() -> Result<void> {
      SQLite::Statement statement(
          db_,
          "INSERT INTO post_metrics (idempotency_key, label, taken_at, metrics_json) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key, label) DO UPDATE SET "
          "taken_at = excluded.taken_at, metrics_json = excluded.metrics_json");
      statement.bind(1, key);
      statement.bind(2, metrics.label);
      statement.bind(3, metrics.taken_at);
      statement.bind(4, metrics.metrics.dump());
      statement.exec();
      return {};
    });
  }

  Result<std::vector<PostMetrics>> post_metrics(std::string_view idempotency_key) override {
    const std::string key(idempotency_key);
    return read("read metrics of post " + key, [&]() -> Result<std::vector<PostMetrics>> {
      SQLite::Statement statement(
          db_,
          "SELECT label, taken_at, metrics_json FROM post_metrics WHERE idempotency_key = ? "
          "ORDER BY taken_at");
      statement.bind(1, key);
      std::vector<PostMetrics> list;
      while (statement.executeStep()) {
        list.push_back({statement.getColumn(0).getString(), statement.getColumn(1).getInt64(),
                        json::parse(statement.getColumn(2).getString())});
      }
      return list;
    });
  }

  // --- plugin state ---

  Result<std::optional<std::string>> plugin_state_get(std::string_view plugin,
                                                      std::string_view key) override {
    const std::string owned_plugin(plugin), owned_key(key);
    return read("read state " + owned_key + " of plugin " + owned_plugin,
                [&]() -> Result<std::optional<std::string>> {
                  SQLite::Statement statement(
                      db_, "SELECT value FROM plugin_state WHERE plugin = ? AND key = ?");
                  statement.bind(1, owned_plugin);
                  statement.bind(2, owned_key);
                  if (!statement.executeStep()) return std::nullopt;
                  return statement.getColumn(0).getString();
                });
  }

  Result<void> plugin_state_set(std::string_view plugin, std::string_view key,
                                std::string_view value) override {
    const std::string owned_plugin(plugin), owned_key(key), owned_value(value);
    return write("write state " + owned_key + " of plugin " + owned_plugin, [&]() -> Result<void> {
      SQLite::Statement statement(db_,
                                  "INSERT INTO plugin_state (plugin, key, value) VALUES (?, ?, ?) "
                                  "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value");
      statement.bind(1, owned_plugin);
      statement.bind(2, owned_key);
      statement.bind(3, owned_value);
      statement.exec();
      return {};
    });
  }

  Result<void> plugin_state_erase(std::string_view plugin, std::string_view key) override {
    const std::string owned_plugin(plugin), owned_key(key);
    return write("erase state " + owned_key + " of plugin " + owned_plugin, [&]() -> Result<void> {
      SQLite::Statement statement(db_, "DELETE FROM plugin_state WHERE plugin = ? AND key = ?");
      statement.bind(1, owned_plugin);
      statement.bind(2, owned_key);
      statement.exec();
      return {};
    });
  }

  // --- seen files ---

  Result<bool> mark_file_seen(const SeenFile& file) override {
    return write("mark file seen for workflow " + file.workflow, [&]() -> Result<bool> {
      SQLite::Statement statement(db_,
                                  "INSERT INTO seen_files (workflow, key, first_seen, run_id) "
                                  "VALUES (?, ?, ?, ?) ON CONFLICT (workflow, key) DO NOTHING");
      statement.bind(1, file.workflow);
      statement.bind(2, file.key);
      statement.bind(3, file.first_seen);
      statement.bind(4, file.run_id);
      return statement.exec() == 1;
    });
  }

  Result<std::optional<SeenFile>> get_seen_file(std::string_view workflow,
                                                std::string_view key) override {
    const std::string owned_workflow(workflow), owned_key(key);
    return read("read seen file of workflow " + owned_workflow,
                [&]() -> Result<std::optional<SeenFile>> {
                  SQLite::Statement statement(db_,
                                              "SELECT first_seen, run_id FROM seen_files "
                                              "WHERE workflow = ? AND key = ?");
                  statement.bind(1, owned_workflow);
                  statement.bind(2, owned_key);
                  if (!statement.executeStep()) return std::nullopt;
                  return SeenFile{owned_workflow, owned_key, statement.getColumn(0).getInt64(),
                                  statement.getColumn(1).getString()};
                });
  }

  Result<std::string> check_integrity() override {
    return read("integrity check", [&]() -> Result<std::string> {
      SQLite::Statement statement(db_, "PRAGMA integrity_check");
      std::string report;
      while (statement.executeStep()) {
        if (!report.empty()) report += "\n";
        report += statement.getColumn(0).getString();
      }
      return report;
    });
  }

 private:
  static WorkflowRecord read_workflow(SQLite::Statement& row) {
    return WorkflowRecord{row.getColumn(0).getString(), row.getColumn(1).getString(),
                          row.getColumn(2).getString(), row.getColumn(3).getInt64(),
                          row.getColumn(4).getInt() != 0};
  }

  Error error_for(std::string_view operation, std::string_view what) const {
    return Error{path_ + ": " + std::string(operation) + ": " + std::string(what)};
  }

  // A conditional UPDATE changed nothing: say whether the row is missing or in another state.
  template <typename Bind>
  Result<void> refusal(const char* select_state, Bind&& bind) {
    SQLite::Statement statement(db_, select_state);
    bind(statement);
    if (!statement.executeStep()) return fail("not found");
    return fail("refused: the state is now " + statement.getColumn(0).getString());
  }

  Result<void> finish_timer(TimerId id, TimerState to) {
    return write("timer " + std::to_string(id) + ": pending -> " + std::string(to_string(to)),
                 [&]() -> Result<void> {
                   SQLite::Statement update(
                       db_, "UPDATE timers SET state = ? WHERE id = ? AND state = 'pending'");
                   update.bind(1, std::string(to_string(to)));
                   update.bind(2, id);
                   if (update.exec() == 1) return {};
                   return refusal("SELECT state FROM timers WHERE id = ?",
                                  [&](SQLite::Statement& s) { s.bind(1, id); });
                 });
  }

  template <typename Body>
  std::invoke_result_t<Body> read(std::string_view operation, Body&& body) {
    std::lock_guard lock(mutex_);
    try {
      auto result = body();
      if (!result) return tl::unexpected(error_for(operation, result.error().message));
      return result;
    } catch (const std::exception& e) {
      return tl::unexpected(error_for(operation, e.what()));
    }
  }

  // Runs body in a write transaction (BEGIN IMMEDIATE, so the write lock is taken up front and a
  // busy database waits for the busy timeout instead of failing at the first write), or in a
  // savepoint when a transaction is already open. The transaction commits only if body succeeds.
  template <typename Body>
  std::invoke_result_t<Body> write(std::string_view operation, Body&& body,
                                   bool prefix_errors = true) {
    using R = std::invoke_result_t<Body>;
    std::lock_guard lock(mutex_);
    const bool nested = depth_ > 0;
    const std::string savepoint = "nested_" + std::to_string(depth_);
    try {
      db_.exec(nested ? "SAVEPOINT " + savepoint : std::string("BEGIN IMMEDIATE"));
    } catch (const std::exception& e) {
      return tl::unexpected(error_for(operation, e.what()));
    }
    ++depth_;
    R result = [&]() -> R {
      try {
        return body();
      } catch (const std::exception& e) {
        return fail(e.what());
      }
    }();
    --depth_;
    if (result) {
      try {
        db_.exec(nested ? "RELEASE " + savepoint : std::string("COMMIT"));
        return result;
      } catch (const std::exception& e) {
        result = tl::unexpected(Error{std::string("commit failed: ") + e.what()});
      }
    }
    // tryExec: the rollback must not throw; if it fails the connection already rolled back.
    if (nested) {
      db_.tryExec("ROLLBACK TO " + savepoint + "; RELEASE " + savepoint);
    } else {
      db_.tryExec("ROLLBACK");
    }
    if (!prefix_errors) return result;
    return tl::unexpected(error_for(operation, result.error().message));
  }

  std::string path_;
  SQLite::Database db_;
  int version_;
  std::recursive_mutex mutex_;  // recursive: in_transaction bodies call back into the store
  int depth_ = 0;               // open transactions and savepoints, guarded by mutex_
};

Result<void> migrate(SQLite::Database& db, const std::string& path, int& version) {
  const auto all = sqlite::migrations();
  const int newest = all.back().version;
  if (version > newest) {
    return fail(path + ": schema version " + std::to_string(version) +
                " is newer than this reelflow supports (" + std::to_string(newest) +
                "); it was written by a newer release: upgrade reelflow, or restore a backup made "
                "for this version");
  }
  for (const auto& migration : all) {
    if (migration.version <= version) continue;
    try {
      SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
      db.exec(std::string(migration.sql));
      db.exec("PRAGMA user_version = " + std::to_string(migration.version));
      transaction.commit();
      version = migration.version;
    } catch (const std::exception& e) {
      return fail(path + ": migrating the schema from version " + std::to_string(version) + " to " +
                  std::to_string(migration.version) + " (" + std::string(migration.summary) +
                  ") failed: " + e.what() + "; the database is unchanged at version " +
                  std::to_string(version));
    }
  }
  return {};
}

}  // namespace

int current_schema_version() { return sqlite::migrations().back().version; }

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path,
                                                 const StoreOptions& options) {
  const std::string name = path.string();
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                        options.busy_timeout_ms);
    // The first statement reads the header: a file that is not a database fails here.
    const int application_id = db.execAndGet("PRAGMA application_id").getInt();
    if (application_id != 0 && application_id != sqlite::kApplicationId) {
      return fail(name + ": not a reelflow database (application_id " +
                  std::to_string(application_id) + ")");
    }
    int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version == 0) {
      // Version 0 must be an empty database, not some other program's.
      const int tables = db.execAndGet("SELECT COUNT(*) FROM sqlite_schema").getInt();
      if (tables != 0) {
        return fail(name + ": not a reelflow database (it has tables but no schema version)");
      }
    }
    const std::string journal = db.execAndGet("PRAGMA journal_mode = WAL").getString();
    if (journal != "wal") {
      return fail(name + ": cannot switch to WAL journal mode (got '" + journal + "')");
    }
    // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and a run's
    // transitions must be durable when the call returns (a publish recorded as not yet done would
    // be done twice). Clicks do not pay for it per click: they reach the database from the click
    // log in large transactions (track_store.hpp).
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    if (auto migrated = migrate(db, name, version); !migrated) {
      return tl::unexpected(migrated.error());
    }
    return std::unique_ptr<Store>(new SqliteStore(name, std::move(db), version));
  } catch (const std::exception& e) {
    return fail(name + ": cannot open the state database: " + e.what());
  }
}

}  // namespace reelflow::store
