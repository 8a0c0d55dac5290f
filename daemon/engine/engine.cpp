#include "engine/engine.hpp"

#include <algorithm>

#include <chrono>
#include <mutex>

#include "common/duration.hpp"
#include "common/iso_time.hpp"
#include "common/sha256.hpp"
#include "engine/runner.hpp"

namespace reelflow::engine {

namespace {

using nlohmann::json;

constexpr store::Millis kFirstAccountCheckMillis = 5 * 1000;
constexpr store::Millis kAccountCheckMillis = 15 * 60 * 1000;
constexpr double kAccountRefreshAheadSeconds = 3600;

int item_number(std::optional<std::size_t> item) {
  return item ? static_cast<int>(*item) : store::kNoItem;
}

// The key platforms see (context.idempotency_key): the same for every attempt of an execution.
std::string idempotency_key(const std::string& run_id, const std::string& step_id, int item) {
  return run_id + "/" + step_id + (item == store::kNoItem ? "" : "/" + std::to_string(item));
}

// The key the store keeps an intent under: one per attempt, since each attempt may call out.
std::string intent_key(const std::string& idempotency, int attempt) {
  return idempotency + "#" + std::to_string(attempt);
}

// Writes each step execution to the store as it starts and finishes: the record a restart resumes
// from, and what `reelflow run show` displays.
class Journal : public RunObserver {
 public:
  Journal(store::Store& store, const plugin_host::Registry& registry, const Logger& logger,
          std::string run_id, std::string workflow, Engine::Post post,
          Engine::StepListener step_listener,
          std::function<void(store::TimerRecord)> timer_added)
      : timer_added_(std::move(timer_added)),
        store_(store),
        registry_(registry),
        logger_(logger),
        run_id_(std::move(run_id)),
        workflow_(std::move(workflow)),
        post_(std::move(post)),
        step_listener_(std::move(step_listener)) {}

  bool execution_started(const workflow::Step& step, std::optional<std::size_t> item, int attempt,
                         const json& context, std::string& veto_reason) override {
    store::StepKey key{run_id_, step.id, item_number(item), attempt};
    const auto* type = registry_.find(step.uses);
    bool irreversible = type != nullptr && type->irreversible();
    auto written = store_.in_transaction([&]() -> Result<void> {
      auto added = store_.add_step(key, store::StepState::running, now_millis());
      if (!added) return added;
      if (!irreversible) return {};
      std::string idempotency = context.value("idempotency_key", "");
      return store_.record_intent({run_id_, step.id, key.item, intent_key(idempotency, attempt),
                                   json{{"idempotency_key", idempotency}, {"attempt", attempt}},
                                   now_millis()});
    });
    if (!written) {
      veto_reason = "could not record the step before running it: " + written.error().message;
      logger_.error(veto_reason, fields(step));
      return false;
    }
    logger_.info("step started" + std::string(item ? " item " + std::to_string(*item + 1) : "") +
                     (attempt > 1 ? " attempt " + std::to_string(attempt) : ""),
                 fields(step));
    std::lock_guard lock(mutex_);
    started_[{step.id, key.item}] = std::chrono::steady_clock::now();
    return true;
  }

  void execution_finished(const workflow::Step& step, std::optional<std::size_t> item, int attempt,
                          StepState state, const json& outputs, std::string_view error) override {
    store::StepKey key{run_id_, step.id, item_number(item), attempt};
    store::StepState stored = state == StepState::succeeded   ? store::StepState::succeeded
                              : state == StepState::cancelled ? store::StepState::cancelled
                                                              : store::StepState::failed;
    store::StepUpdate update;
    if (stored == store::StepState::succeeded) update.outputs = outputs;
    if (!error.empty()) update.error = std::string(error);
    const auto* type = registry_.find(step.uses);
    bool irreversible = type != nullptr && type->irreversible();
    auto written = store_.in_transaction([&]() -> Result<void> {
      auto moved = store_.transition_step(key, store::StepState::running, stored, now_millis(),
                                          update);
      if (!moved) return moved;
      if (!irreversible) return {};
      // The effect happened (outputs) or the plugin said it did not (error): either way this
      // attempt's intent is settled and must not be reconciled after a restart.
      json result = stored == store::StepState::succeeded ? json{{"outputs", outputs}}
                                                          : json{{"error", std::string(error)}};
      return store_.record_intent_result(
          intent_key(idempotency_key(run_id_, step.id, key.item), attempt), result, now_millis());
    });
    if (!written) {
      logger_.error("could not record the step's result: " + written.error().message,
                    fields(step));
    }
    double seconds = 0;
    std::unique_lock lock(mutex_);
    if (auto found = started_.find({step.id, key.item}); found != started_.end()) {
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - found->second)
                    .count();
    }
    lock.unlock();
    if (state == StepState::succeeded) {
      logger_.info("step succeeded", fields(step));
    } else {
      logger_.warn("step " + std::string(to_string(state)) + ": " + std::string(error),
                   fields(step));
    }
    if (step_listener_) {
      post_([listener = step_listener_, uses = step.uses, seconds,
             state_name = std::string(to_string(state))] { listener(uses, seconds, state_name); });
    }
  }

  bool step_waiting(const workflow::Step& step, std::int64_t due_ms,
                    const json& details) override {
    store::StepKey key{run_id_, step.id, store::kNoItem, 0};
    store::TimerRecord timer;
    auto written = store_.in_transaction([&]() -> Result<void> {
      // A step waits a second time (a post rescheduled after its publish_at wait): its wait
      // record goes back to waiting with the new time.
      auto existing = store_.get_step(key);
      if (!existing) return tl::unexpected(existing.error());
      auto added = *existing ? store_.transition_step(key, (*existing)->state,
                                                      store::StepState::waiting, now_millis())
                             : store_.add_step(key, store::StepState::waiting, now_millis());
      if (!added) return added;
      auto outputs = store_.record_step_outputs(
          key, json{{"wait_until", format_iso_time(due_ms)}, {"wait_until_ms", due_ms}});
      if (!outputs) return outputs;
      json payload = details;
      payload["workflow"] = workflow_;
      store::NewTimer wait{due_ms, "step_wait", run_id_, step.id, payload};
      auto id = store_.add_timer(wait);
      if (!id) return tl::unexpected(id.error());
      timer = {*id, due_ms, wait.kind, run_id_, step.id, payload, store::TimerState::pending};
      return {};
    });
    if (!written) {
      logger_.error("cannot record the wait, so waiting in memory: " + written.error().message,
                    fields(step));
      return false;
    }
    logger_.info("step waits until " + format_iso_time(due_ms), fields(step));
    post_([timer, added = timer_added_] { added(timer); });
    return true;
  }

  void post_published(const workflow::Step& step, std::optional<std::size_t> item,
                      const json& context, const json& options, const json& outputs) override {
    const auto* type = registry_.find(step.uses);
    if (type == nullptr || type->publisher == nullptr) return;
    store::PostRecord post;
    post.idempotency_key = context.value("idempotency_key", "");
    post.run_id = run_id_;
    post.step_id = step.id;
    post.item = item_number(item);
    post.step_type = step.uses;
    post.platform = type->publisher->platform;
    post.account = options.value("account", "");
    post.post_id = outputs.value("post_id", "");
    post.url = outputs.value("url", "");
    post.published_at = now_millis();
    post.options = options;
    std::vector<store::TimerRecord> timers;
    auto written = store_.in_transaction([&]() -> Result<void> {
      auto recorded = store_.record_post(post);
      if (!recorded) return tl::unexpected(recorded.error());
      if (!*recorded) return {};  // seen before (a reconcile after a restart): timers exist
      for (const auto& label : options.value("metrics_at", json::array())) {
        if (!label.is_string()) continue;
        auto seconds = parse_duration(label.get<std::string>());
        if (!seconds || *seconds <= 0) continue;
        const store::Millis due = post.published_at + static_cast<store::Millis>(*seconds * 1000);
        json payload = {{"post", post.idempotency_key}, {"label", label}};
        store::NewTimer timer{due, "metrics", run_id_, step.id, payload};
        auto id = store_.add_timer(timer);
        if (!id) return tl::unexpected(id.error());
        timers.push_back({*id, due, timer.kind, run_id_, step.id, payload,
                          store::TimerState::pending});
      }
      return {};
    });
    if (!written) {
      logger_.error("cannot record the published post: " + written.error().message, fields(step));
      return;
    }
    logger_.info("published " + post.platform + " post " + post.post_id + " " + post.url,
                 fields(step));
    for (auto& timer : timers) post_([timer, added = timer_added_] { added(timer); });
  }

  std::vector<std::int64_t> account_post_times(const std::string& account,
                                               std::int64_t since) override {
    // Every published post of the account, this run's earlier items included (also those of an
    // earlier life of the run), and the posts other runs have scheduled.
    std::vector<std::int64_t> times;
    if (auto posts = store_.list_posts(account, since, 10000)) {
      for (const auto& post : *posts) times.push_back(post.published_at);
    }
    if (auto timers = store_.pending_timers()) {
      for (const auto& timer : *timers) {
        if (timer.kind == "step_wait" && timer.run_id != run_id_ &&
            timer.payload.contains("post") && timer.payload["post"].is_object() &&
            timer.payload["post"].value("account", json()) == json(account)) {
          times.push_back(timer.due_at);
        }
      }
    }
    return times;
  }

  bool knows_own_posts() const override { return true; }

  std::vector<optimize::PostOutcome> account_post_outcomes(const std::string& account,
                                                           std::int64_t since) override {
    std::vector<optimize::PostOutcome> outcomes;
    if (account.empty()) return outcomes;
    auto posts = store_.list_posts(account, since, 10000);
    if (!posts) return outcomes;
    for (const auto& post : *posts) {
      optimize::PostOutcome outcome{post.published_at, json::object()};
      if (auto pulls = store_.post_metrics(post.idempotency_key)) {
        for (const auto& pull : *pulls) outcome.metrics[pull.label] = pull.metrics;
      }
      outcomes.push_back(std::move(outcome));
    }
    return outcomes;
  }

  void wait_over(const workflow::Step& step) override {
    store::StepKey key{run_id_, step.id, store::kNoItem, 0};
    auto moved = store_.transition_step(key, store::StepState::waiting, store::StepState::succeeded,
                                        now_millis());
    if (!moved) logger_.warn("cannot mark the wait as over: " + moved.error().message, fields(step));
  }

  void step_finished(const workflow::Step& step, const StepRecord& record) override {
    if (record.attempts > 0 || record.state == StepState::succeeded) return;
    // A step that ended without any execution: its `if` was false, or its options, `for_each` or
    // step type were wrong. Steps not reached because an earlier one failed are not recorded, so
    // a retry runs them.
    bool condition_false = record.state == StepState::skipped && record.error.starts_with("if: ");
    bool failed_before_running = record.state == StepState::failed;
    if (!condition_false && !failed_before_running) return;
    store::StepKey key{run_id_, step.id, store::kNoItem, 0};
    auto written = store_.in_transaction([&]() -> Result<void> {
      if (condition_false) return store_.add_step(key, store::StepState::skipped, now_millis());
      auto added = store_.add_step(key, store::StepState::pending, now_millis());
      if (!added) return added;
      return store_.transition_step(key, store::StepState::pending, store::StepState::failed,
                                    now_millis(), {std::nullopt, record.error, std::nullopt});
    });
    if (!written) logger_.error("could not record the step: " + written.error().message);
    if (failed_before_running) logger_.warn("step failed: " + record.error, fields(step));
  }

  void log(const workflow::Step& step, rf_log_level level, std::string_view message) override {
    LogLevel mapped = level == RF_LOG_DEBUG  ? LogLevel::debug
                      : level == RF_LOG_WARN ? LogLevel::warn
                      : level == RF_LOG_ERROR ? LogLevel::error
                                              : LogLevel::info;
    logger_.log(mapped, message, fields(step));
  }

 private:
  LogFields fields(const workflow::Step& step) const {
    std::string_view plugin(step.uses);
    plugin = plugin.substr(0, plugin.find('.'));
    return {run_id_, step.id, plugin, workflow_};
  }

  std::function<void(store::TimerRecord)> timer_added_;
  store::Store& store_;
  const plugin_host::Registry& registry_;
  const Logger& logger_;
  std::string run_id_;
  std::string workflow_;
  Engine::Post post_;
  Engine::StepListener step_listener_;
  std::mutex mutex_;  // for_each items run on several threads
  std::map<std::pair<std::string, int>, std::chrono::steady_clock::time_point> started_;
};

// Reads what earlier lives of the run did and settles interrupted executions, per the crash
// rules in engine.hpp. Returns an error message when the run cannot go on by itself.
Result<ResumeState> load_resume_state(store::Store& store, const plugin_host::Registry& registry,
                                      const workflow::Workflow& workflow,
                                      const std::string& run_id, std::string& blocked) {
  ResumeState resume;
  auto steps = store.run_steps(run_id);
  if (!steps) return tl::unexpected(steps.error());
  for (const auto& execution : *steps) {
    const auto& key = execution.key;
    if (key.attempt == 0 && execution.outputs.contains("wait_until_ms")) {
      resume.wait_due[key.step_id] = execution.outputs["wait_until_ms"].get<std::int64_t>();
      continue;
    }
    ResumeState::ExecutionKey execution_key{key.step_id, key.item};
    if (key.attempt > 0) {
      int& used = resume.attempts_used[execution_key];
      used = std::max(used, key.attempt);
    }
    auto finish_with = [&](const json& outputs) {
      if (key.item == store::kNoItem) {
        StepRecord record;
        record.id = key.step_id;
        record.state = StepState::succeeded;
        record.outputs = outputs;
        record.attempts = key.attempt;
        resume.finished_steps[key.step_id] = std::move(record);
      } else {
        resume.finished_items[key.step_id][static_cast<std::size_t>(key.item)] = outputs;
      }
    };
    switch (execution.state) {
      case store::StepState::succeeded:
        finish_with(execution.outputs);
        break;
      case store::StepState::skipped:
        if (key.attempt == 0) {
          StepRecord record;
          record.id = key.step_id;
          record.state = StepState::skipped;
          record.error = "if: condition was false";
          resume.finished_steps[key.step_id] = std::move(record);
        }
        break;
      case store::StepState::running:
      case store::StepState::waiting: {
        const workflow::Step* step = workflow.find_step(key.step_id);
        const auto* type = step != nullptr ? registry.find(step->uses) : nullptr;
        auto now = now_millis();
        if (type != nullptr && type->irreversible()) {
          auto intent = store.get_intent(
              intent_key(idempotency_key(run_id, key.step_id, key.item), key.attempt));
          if (!intent) return tl::unexpected(intent.error());
          if (*intent && (*intent)->result && (*intent)->result->contains("outputs")) {
            json outputs = (*(*intent)->result)["outputs"];
            auto moved = store.transition_step(key, execution.state, store::StepState::succeeded,
                                               now, {outputs, std::nullopt, std::nullopt});
            if (!moved) return tl::unexpected(moved.error());
            finish_with(outputs);
          } else if (*intent && !(*intent)->result) {
            resume.reconcile[execution_key] = {key.attempt, (*intent)->intent};
          } else {
            auto moved = store.transition_step(
                key, execution.state, store::StepState::failed, now,
                {std::nullopt, std::string("interrupted by a daemon restart"), std::nullopt});
            if (!moved) return tl::unexpected(moved.error());
          }
        } else if (type != nullptr && type->rerun_safe()) {
          auto moved = store.transition_step(
              key, execution.state, store::StepState::failed, now,
              {std::nullopt, std::string("interrupted by a daemon restart; running it again"),
               std::nullopt});
          if (!moved) return tl::unexpected(moved.error());
        } else {
          std::string why = "step '" + key.step_id + "' (" +
                            (step != nullptr ? step->uses : std::string("unknown type")) +
                            ") was interrupted by a daemon restart and is not marked safe to "
                            "re-run, so it was not run again: check what it did, then "
                            "'reelflow retry " + run_id + "'";
          auto moved = store.transition_step(key, execution.state, store::StepState::failed, now,
                                             {std::nullopt, why, std::nullopt});
          if (!moved) return tl::unexpected(moved.error());
          blocked = why;
        }
        break;
      }
      default:
        break;
    }
  }
  return resume;
}

}  // namespace

store::Millis now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Engine::Engine(Post post, store::Store& store, const plugin_host::Registry& registry,
               plugin_host::StepDispatcher& dispatcher, const Logger& logger, EngineConfig config)
    : post_(std::move(post)),
      store_(store),
      registry_(registry),
      dispatcher_(dispatcher),
      logger_(logger),
      config_(std::move(config)) {
  if (!config_.accounts_dir.empty()) {
    accounts_ = std::make_unique<store::AccountFiles>(config_.accounts_dir);
    // The first check of accounts' tokens shortly after start, then every 15 minutes.
    store::TimerRecord check{0, now_millis() + kFirstAccountCheckMillis, "account_check", "", "",
                             json::object(), store::TimerState::pending};
    timers_.emplace(check.due_at, check);
  }
}

Engine::~Engine() {
  for (auto& [run_id, active] : active_) {
    if (active->thread.joinable()) active->thread.join();
  }
  for (auto& [id, thread] : metric_pulls_) {
    if (thread.joinable()) thread.join();
  }
}

Result<void> Engine::set_workflows(std::map<std::string, workflow::Workflow> workflows) {
  for (const auto& [name, loaded] : workflows) {
    auto recorded = store_.upsert_workflow(
        {name, loaded.file.string(), loaded.content_hash, now_millis(), false});
    if (!recorded) return recorded;
    auto stored = store_.get_workflow(name);
    if (!stored) return tl::unexpected(stored.error());
    paused_[name] = *stored && (*stored)->paused;
  }
  workflows_ = std::move(workflows);
  pump();
  return {};
}

Result<void> Engine::recover() {
  auto unfinished = store_.unfinished_runs();
  if (!unfinished) return tl::unexpected(unfinished.error());
  for (const auto& entry : *unfinished) {
    // A waiting run comes back when its timer fires.
    if (entry.run.state != store::RunState::waiting) queue_.push_back(entry.run.id);
  }
  auto pending = store_.pending_timers();
  if (!pending) return tl::unexpected(pending.error());
  for (auto& timer : *pending) {
    store::Millis due = timer.due_at;
    timers_.emplace(due, std::move(timer));
  }
  if (!unfinished->empty()) {
    logger_.info("resuming " + std::to_string(unfinished->size()) + " unfinished run(s)");
  }
  pump();
  return {};
}

EngineResult<store::CreatedRun> Engine::submit(const triggers::TriggerEvent& event) {
  if (draining_) return tl::unexpected(EngineError{503, "the daemon is shutting down"});
  auto workflow = workflows_.find(event.workflow);
  if (workflow == workflows_.end()) {
    return tl::unexpected(EngineError{404, "no workflow named '" + event.workflow + "'"});
  }
  store::NewRun run{new_run_id(), event.workflow, workflow->second.content_hash, event.trigger,
                    event.key, now_millis()};
  auto created = store_.create_run(run);
  if (!created) return tl::unexpected(EngineError{500, created.error().message});
  if (created->created) {
    logger_.info("run queued", {created->run_id, {}, {}, event.workflow});
    queue_.push_back(created->run_id);
    pump();
    changed();
  }
  return *created;
}

EngineResult<void> Engine::cancel(const std::string& run_id) {
  if (auto active = active_.find(run_id); active != active_.end()) {
    active->second->cancel = true;
    return {};
  }
  auto run = store_.get_run(run_id);
  if (!run) return tl::unexpected(EngineError{500, run.error().message});
  if (!*run) return tl::unexpected(EngineError{404, "no run " + run_id});
  auto state = (*run)->state;
  if (store::is_finished(state)) {
    return tl::unexpected(
        EngineError{409, "run " + run_id + " already " + std::string(store::to_string(state))});
  }
  auto moved = store_.transition_run(run_id, state, store::RunState::cancelled, now_millis(),
                                     std::string(state == store::RunState::waiting
                                                     ? "cancelled while waiting"
                                                     : "cancelled before it started"));
  if (!moved) return tl::unexpected(EngineError{409, moved.error().message});
  std::erase(queue_, run_id);
  if (auto cancelled = store_.cancel_run_timers(run_id); !cancelled) {
    logger_.warn("cannot cancel the run's timers: " + cancelled.error().message, {run_id});
  }
  std::erase_if(timers_, [&](const auto& entry) { return entry.second.run_id == run_id; });
  changed();
  return {};
}

EngineResult<void> Engine::retry(const std::string& run_id) {
  if (draining_) return tl::unexpected(EngineError{503, "the daemon is shutting down"});
  auto run = store_.get_run(run_id);
  if (!run) return tl::unexpected(EngineError{500, run.error().message});
  if (!*run) return tl::unexpected(EngineError{404, "no run " + run_id});
  auto state = (*run)->state;
  if (state != store::RunState::failed && state != store::RunState::cancelled) {
    return tl::unexpected(EngineError{409, "run " + run_id + " is " +
                                               std::string(store::to_string(state)) +
                                               "; only failed or cancelled runs can be retried"});
  }
  auto moved = store_.transition_run(run_id, state, store::RunState::queued, now_millis(),
                                     std::string());
  if (!moved) return tl::unexpected(EngineError{409, moved.error().message});
  logger_.info("run queued again (retry)", {run_id, {}, {}, (*run)->workflow});
  queue_.push_back(run_id);
  pump();
  changed();
  return {};
}

namespace {

json post_json(const store::TimerRecord& timer) {
  json post = timer.payload.value("post", json::object());
  post["id"] = timer.id;
  post["due_at"] = format_iso_time(timer.due_at);
  post["due_at_ms"] = timer.due_at;
  post["run_id"] = timer.run_id;
  post["step_id"] = timer.step_id;
  post["workflow"] = timer.payload.value("workflow", "");
  return post;
}

bool is_post(const store::TimerRecord& timer) {
  return timer.kind == "step_wait" && timer.payload.contains("post");
}

}  // namespace

json Engine::scheduled_posts(store::Millis until) const {
  json posts = json::array();
  for (const auto& [due, timer] : timers_) {
    if (due >= until) break;
    if (is_post(timer)) posts.push_back(post_json(timer));
  }
  return posts;
}

EngineResult<json> Engine::cancel_post(store::TimerId id) {
  auto found = std::find_if(timers_.begin(), timers_.end(),
                            [&](const auto& entry) { return entry.second.id == id; });
  if (found == timers_.end() || !is_post(found->second)) {
    return tl::unexpected(EngineError{404, "no scheduled post " + std::to_string(id) +
                                               " ('reelflow schedule' lists them)"});
  }
  json post = post_json(found->second);
  const std::string run_id = found->second.run_id;
  if (auto cancelled = cancel(run_id); !cancelled) return tl::unexpected(cancelled.error());
  logger_.info("scheduled post cancelled", {run_id, post.value("step_id", "")});
  post["state"] = "cancelled";
  return post;
}

EngineResult<json> Engine::move_post(store::TimerId id, store::Millis due) {
  auto found = std::find_if(timers_.begin(), timers_.end(),
                            [&](const auto& entry) { return entry.second.id == id; });
  if (found == timers_.end() || !is_post(found->second)) {
    return tl::unexpected(EngineError{404, "no scheduled post " + std::to_string(id) +
                                               " ('reelflow schedule' lists them)"});
  }
  store::TimerRecord timer = found->second;
  store::TimerRecord moved = timer;
  auto written = store_.in_transaction([&]() -> Result<void> {
    if (auto cancelled = store_.cancel_timer(timer.id); !cancelled) return cancelled;
    auto added = store_.add_timer({due, timer.kind, timer.run_id, timer.step_id, timer.payload});
    if (!added) return tl::unexpected(added.error());
    moved.id = *added;
    moved.due_at = due;
    // The step's recorded wait is what the run resumes with.
    return store_.record_step_outputs({timer.run_id, timer.step_id, store::kNoItem, 0},
                                      json{{"wait_until", format_iso_time(due)},
                                           {"wait_until_ms", due}});
  });
  if (!written) return tl::unexpected(EngineError{500, written.error().message});
  timers_.erase(found);
  timers_.emplace(due, moved);
  logger_.info("scheduled post moved to " + format_iso_time(due), {timer.run_id, timer.step_id});
  changed();
  return post_json(moved);
}

json Engine::accounts() const {
  json list = json::array();
  if (!config_.secrets.is_object()) return list;
  for (const auto& [key, value] : config_.secrets.items()) {
    if (!key.starts_with("account.")) continue;
    const std::string name = key.substr(8);
    json entry = {{"name", name}, {"platform", nullptr}, {"publisher", nullptr},
                  {"status", "ok"}, {"message", nullptr}, {"expires_at", nullptr},
                  {"refreshed_at", nullptr}, {"refresh_count", 0}};
    json account = value.is_string() ? json::parse(value.get<std::string>(), nullptr, false)
                                     : json();
    if (!account.is_object() || !account.contains("platform") ||
        !account["platform"].is_string()) {
      entry["status"] = "invalid";
      entry["message"] = "the secret is not a JSON object with a \"platform\"";
      list.push_back(std::move(entry));
      continue;
    }
    const std::string platform = account["platform"].get<std::string>();
    entry["platform"] = platform;
    for (const auto& step_name : registry_.publisher_type_names()) {
      if (registry_.find_publisher(step_name)->platform == platform) entry["publisher"] = step_name;
    }
    json credentials = account.value("credentials", json::object());
    if (accounts_) {
      auto record = accounts_->get(name);
      // The same rule as the publishing driver: a record counts while it grew from this secret.
      if (record && *record &&
          (*record)->value("seed", "") == sha256_hex(credentials.dump())) {
        const json& stored = **record;
        credentials = stored.value("credentials", credentials);
        entry["status"] = stored.value("status", "ok");
        if (stored.contains("message")) entry["message"] = stored["message"];
        if (stored.contains("refreshed_at")) entry["refreshed_at"] = stored["refreshed_at"];
        entry["refresh_count"] = stored.value("refresh_count", 0);
      }
    }
    if (credentials.contains("expires_at")) entry["expires_at"] = credentials["expires_at"];
    if (entry["publisher"].is_null() && entry["status"] == "ok") {
      entry["message"] = "no loaded plugin publishes to " + platform;
    }
    list.push_back(std::move(entry));
  }
  return list;
}

EngineResult<void> Engine::set_paused(const std::string& workflow, bool paused) {
  if (!workflows_.contains(workflow)) {
    return tl::unexpected(EngineError{404, "no workflow named '" + workflow + "'"});
  }
  auto stored = store_.set_workflow_paused(workflow, paused);
  if (!stored) return tl::unexpected(EngineError{500, stored.error().message});
  paused_[workflow] = paused;
  logger_.info(paused ? "workflow paused" : "workflow resumed", {{}, {}, {}, workflow});
  pump();
  changed();
  return {};
}

std::optional<store::Millis> Engine::next_timer_due() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

void Engine::fire_due_timers(store::Millis now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    store::TimerRecord timer = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    if (timer.kind == "account_check") {  // in memory only: not in the store
      check_accounts();
      timer.due_at = now_millis() + kAccountCheckMillis;
      timers_.emplace(timer.due_at, timer);
      continue;
    }
    if (auto fired = store_.mark_timer_fired(timer.id); !fired) {
      logger_.warn("timer " + std::to_string(timer.id) + ": " + fired.error().message);
      continue;
    }
    if (timer.kind == "metrics") {
      pull_metrics(timer);
      continue;
    }
    if (timer.kind != "step_wait") continue;
    auto moved = store_.transition_run(timer.run_id, store::RunState::waiting,
                                       store::RunState::queued, now_millis());
    if (!moved) {
      logger_.warn("the wait of step '" + timer.step_id + "' is over but the run cannot go on: " +
                       moved.error().message,
                   {timer.run_id});
      continue;
    }
    logger_.info("wait over; run queued again", {timer.run_id, timer.step_id});
    queue_.push_back(timer.run_id);
  }
  pump();
  changed();
}

plugin_host::RunServices Engine::publisher_services(const json& secrets,
                                                    const std::string& checkpoint_key,
                                                    const LogFields& fields) {
  plugin_host::RunServices services;
  services.call = config_.host_call;
  services.log = [this, fields](rf_log_level level, std::string_view message) {
    logger_.log(level >= RF_LOG_WARN ? LogLevel::warn : LogLevel::debug, message, fields);
  };
  services.secret = [secrets](std::string_view name) -> std::optional<std::string> {
    auto found = secrets.find(std::string(name));
    if (found == secrets.end() || !found->is_string()) return std::nullopt;
    return found->get<std::string>();
  };
  if (accounts_) {
    services.account_get = [this](std::string_view account) -> std::optional<json> {
      auto stored = accounts_->get(account);
      if (!stored) return std::nullopt;
      return *stored;
    };
    services.account_set = [this](std::string_view account, const json& value) {
      return accounts_->put(account, value).has_value();
    };
  }
  if (!checkpoint_key.empty()) {
    services.last_checkpoint = [this, checkpoint_key]() -> std::optional<json> {
      auto value = store_.get_checkpoint(checkpoint_key);
      if (!value) return std::nullopt;
      return *value;
    };
  }
  return services;
}

namespace {

// An expiry or refresh time as accounts() reports it (ISO 8601 text or Unix seconds), in ms.
std::optional<store::Millis> instant_of(const json& value) {
  if (value.is_number()) return static_cast<store::Millis>(value.get<double>() * 1000);
  if (!value.is_string()) return std::nullopt;
  auto parsed = parse_iso_time(value.get<std::string>());
  if (!parsed) return std::nullopt;
  return *parsed;
}

}  // namespace

void Engine::check_accounts() {
  for (const auto& account : accounts()) {
    if (account.value("status", "") != "ok" || !account["publisher"].is_string()) continue;
    auto expires = instant_of(account["expires_at"]);
    if (!expires) continue;
    // A quarter of the token's lifetime ahead (1 h for Google's 1-hour tokens, up to a week for
    // Meta's 60-day ones), at least an hour.
    double ahead = kAccountRefreshAheadSeconds;
    if (auto refreshed = instant_of(account["refreshed_at"]); refreshed && *expires > *refreshed) {
      ahead = std::clamp(static_cast<double>(*expires - *refreshed) / 4000.0,
                         kAccountRefreshAheadSeconds, 7 * 86400.0);
    }
    if (static_cast<double>(*expires - now_millis()) / 1000.0 > ahead) continue;
    const auto* step_type = registry_.find(account["publisher"].get<std::string>());
    if (step_type == nullptr || step_type->publisher == nullptr ||
        step_type->publisher->callbacks.refresh == nullptr) {
      continue;
    }
    const std::string name = account.value("name", "");
    const store::TimerId id = next_background_id_--;
    metric_pulls_[id] = std::thread([this, id, name, step_type, ahead, secrets = config_.secrets,
                                     alive = std::weak_ptr<bool>(alive_)] {
      LogFields fields{{}, {}, step_type->plugin->name, {}};
      plugin_host::RunServices services = publisher_services(secrets, {}, fields);
      json context = {{"publisher_call", "refresh"},
                      {"refresh_ahead_seconds", ahead},
                      {"idempotency_key", "refresh:" + name}};
      plugin_host::StepRequest request{step_type, json{{"account", name}}, context, 120.0,
                                       std::nullopt};
      auto outcome = dispatcher_.run(request, services, nullptr);
      if (outcome && outcome->status == RF_STATUS_OK) {
        if (outcome->outputs.value("refreshed", false)) {
          logger_.info("account " + name + ": access token refreshed ahead of expiry; now expires " +
                           outcome->outputs.value("expires_at", json("?")).dump(),
                       fields);
        }
      } else {
        logger_.warn("account " + name + ": refreshing the access token ahead of expiry failed: " +
                         (outcome ? outcome->error : outcome.error().message),
                     fields);
      }
      post_([this, id, alive] {
        if (alive.expired()) return;
        if (auto found = metric_pulls_.find(id); found != metric_pulls_.end()) {
          if (found->second.joinable()) found->second.join();
          metric_pulls_.erase(found);
        }
      });
    });
  }
}

void Engine::pull_metrics(const store::TimerRecord& timer) {
  const std::string key = timer.payload.value("post", "");
  const std::string label = timer.payload.value("label", "");
  auto post = store_.get_post(key);
  if (!post || !*post) {
    logger_.warn("metrics " + label + ": no post " + key +
                 (post ? std::string() : ": " + post.error().message));
    return;
  }
  const auto* step_type = registry_.find((*post)->step_type);
  if (step_type == nullptr || step_type->publisher == nullptr ||
      step_type->publisher->callbacks.metrics == nullptr) {
    logger_.info("metrics " + label + " of post " + (*post)->post_id + ": " +
                 (*post)->step_type + " reports none");
    return;
  }
  const store::TimerId id = timer.id;
  metric_pulls_[id] = std::thread([this, id, record = **post, label, step_type,
                                   secrets = config_.secrets,
                                   alive = std::weak_ptr<bool>(alive_)] {
    LogFields fields{record.run_id, record.step_id, step_type->plugin->name, {}};
    plugin_host::RunServices services =
        publisher_services(secrets, record.idempotency_key, fields);
    json context = {{"run_id", record.run_id},
                    {"step_id", record.step_id},
                    {"idempotency_key", record.idempotency_key},
                    {"publisher_call", "metrics"}};
    plugin_host::StepRequest request{step_type, record.options, context, 120.0, std::nullopt};
    auto outcome = dispatcher_.run(request, services, nullptr);
    if (outcome && outcome->status == RF_STATUS_OK) {
      auto stored = store_.record_post_metrics(record.idempotency_key,
                                               {label, now_millis(), outcome->outputs});
      if (stored) {
        logger_.info("metrics " + label + " of " + record.platform + " post " + record.post_id +
                         ": " + outcome->outputs.dump(),
                     fields);
      } else {
        logger_.error("cannot store metrics: " + stored.error().message, fields);
      }
    } else {
      logger_.warn("metrics " + label + " of " + record.platform + " post " + record.post_id +
                       " failed: " + (outcome ? outcome->error : outcome.error().message),
                   fields);
    }
    post_([this, id, alive] {
      if (alive.expired()) return;
      if (auto found = metric_pulls_.find(id); found != metric_pulls_.end()) {
        if (found->second.joinable()) found->second.join();
        metric_pulls_.erase(found);
      }
    });
  });
}

void Engine::timer_added(store::TimerRecord timer) {
  store::Millis due = timer.due_at;
  timers_.emplace(due, std::move(timer));
  changed();
}

void Engine::set_secrets(nlohmann::json secrets, std::string origin) {
  config_.secrets = std::move(secrets);
  config_.secrets_origin = std::move(origin);
}

void Engine::drain() {
  draining_ = true;
  changed();
}

EngineCounts Engine::counts() const { return {queue_.size(), active_.size()}; }

void Engine::changed() {
  if (change_listener_) change_listener_();
}

bool Engine::can_start(const std::string& run_id, std::string& workflow_name) {
  auto run = store_.get_run(run_id);
  if (!run || !*run) return false;
  workflow_name = (*run)->workflow;
  auto workflow = workflows_.find(workflow_name);
  if (workflow == workflows_.end() || paused_[workflow_name]) return false;
  int running = 0;
  for (const auto& [id, active] : active_) {
    if (active->workflow == workflow_name) ++running;
  }
  return running < workflow->second.concurrency.max_runs;
}

void Engine::pump() {
  if (draining_) return;
  for (auto it = queue_.begin();
       it != queue_.end() && static_cast<int>(active_.size()) < config_.max_active_runs;) {
    std::string workflow_name;
    if (active_.contains(*it) || !can_start(*it, workflow_name)) {
      ++it;
      continue;
    }
    std::string run_id = *it;
    it = queue_.erase(it);
    start(run_id, workflow_name);
  }
}

void Engine::start(const std::string& run_id, const std::string& workflow_name) {
  auto active = std::make_unique<ActiveRun>();
  active->workflow = workflow_name;
  active->secrets_origin = config_.secrets_origin;
  ActiveRun& slot = *active;
  workflow::Workflow workflow = workflows_.at(workflow_name);
  active_[run_id] = std::move(active);
  // The run keeps the secrets it started with; a reload changes them for later runs only.
  slot.thread = std::thread([this, run_id, workflow = std::move(workflow),
                             secrets = config_.secrets, &slot]() mutable {
    execute(run_id, std::move(workflow), secrets, slot);
    post_([this, run_id] { finished(run_id); });
  });
  changed();
}

void Engine::finished(const std::string& run_id) {
  auto found = active_.find(run_id);
  if (found != active_.end()) {
    if (found->second->thread.joinable()) found->second->thread.join();
    active_.erase(found);
  }
  pump();
  changed();
}

void Engine::execute(const std::string& run_id, workflow::Workflow workflow,
                     const nlohmann::json& secrets, ActiveRun& active) {
  LogFields fields{run_id, {}, {}, workflow.name};
  auto run = store_.get_run(run_id);
  if (!run || !*run) {
    logger_.error("cannot load run: " + (run ? std::string("not found") : run.error().message),
                  fields);
    return;
  }
  std::string blocked;
  auto resume = load_resume_state(store_, registry_, workflow, run_id, blocked);
  auto previous = (*run)->state;
  auto fail_run = [&](const std::string& why) {
    auto moved = store_.transition_run(run_id, previous, store::RunState::failed, now_millis(), why);
    if (!moved) logger_.error(moved.error().message, fields);
    logger_.error("run failed: " + why, fields);
  };
  if (!resume) return fail_run("cannot load the run's steps: " + resume.error().message);
  if (!blocked.empty()) return fail_run(blocked);
  if (previous != store::RunState::running) {
    auto moved = store_.transition_run(run_id, previous, store::RunState::running, now_millis());
    if (!moved) {
      logger_.error("cannot start the run: " + moved.error().message, fields);
      return;
    }
    previous = store::RunState::running;
  }
  logger_.info("run started", fields);

  Journal journal(store_, registry_, logger_, run_id, workflow.name, post_, step_listener_,
                  [this](store::TimerRecord timer) { timer_added(std::move(timer)); });
  RunOptions options;
  options.run_id = run_id;
  options.artifact_root = config_.artifact_root;
  options.secrets = secrets;
  options.secrets_origin = active.secrets_origin;
  options.plugin_config = config_.plugin_config;
  options.cancel = &active.cancel;
  options.dispatcher = &dispatcher_;
  options.resume = &*resume;
  options.state_get = [this](std::string_view plugin,
                             std::string_view key) -> std::optional<std::string> {
    auto value = store_.plugin_state_get(plugin, key);
    if (!value) return std::nullopt;
    return *value;
  };
  options.state_set = [this](std::string_view plugin, std::string_view key,
                             std::optional<std::string_view> value) {
    auto written = value ? store_.plugin_state_set(plugin, key, *value)
                         : store_.plugin_state_erase(plugin, key);
    return written.has_value();
  };
  if (accounts_) {
    options.account_get = [this](std::string_view account) -> std::optional<json> {
      auto record = accounts_->get(account);
      if (!record) {
        logger_.error("cannot read account " + std::string(account) + ": " +
                      record.error().message);
        return std::nullopt;
      }
      return *record;
    };
    options.account_set = [this](std::string_view account, const json& record) {
      auto written = accounts_->put(account, record);
      if (!written) {
        logger_.error("cannot store account " + std::string(account) + ": " +
                      written.error().message);
      }
      return written.has_value();
    };
  }
  options.checkpoint_get = [this](std::string_view key) -> std::optional<json> {
    auto value = store_.get_checkpoint(key);
    if (!value) return std::nullopt;
    return *value;
  };
  options.checkpoint_set = [this, run_id](std::string_view key, const json& checkpoint) {
    auto written = store_.set_checkpoint(run_id, key, checkpoint, now_millis());
    if (!written) logger_.error("cannot record a checkpoint: " + written.error().message);
    return written.has_value();
  };
  options.host_call = config_.host_call;
  auto record = run_workflow(workflow, registry_, (*run)->trigger, options, journal);

  store::RunState final_state = record.state == "succeeded"   ? store::RunState::succeeded
                                : record.state == "cancelled" ? store::RunState::cancelled
                                : record.state == "waiting"   ? store::RunState::waiting
                                                              : store::RunState::failed;
  std::string error;
  for (const auto& step : record.steps) {
    if (final_state == store::RunState::succeeded || final_state == store::RunState::waiting) {
      break;  // continue_on_error failures are kept in the steps, not the run's error
    }
    if (step.state == StepState::failed && error.empty()) error = step.id + ": " + step.error;
  }
  auto moved = store_.transition_run(run_id, store::RunState::running, final_state, now_millis(),
                                     error);
  if (!moved) logger_.error("cannot record the run's end: " + moved.error().message, fields);
  logger_.log(final_state == store::RunState::succeeded ? LogLevel::info : LogLevel::warn,
              "run " + record.state + (error.empty() ? "" : ": " + error), fields);
}

}  // namespace reelflow::engine
