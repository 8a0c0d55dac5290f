#include "engine/runner.hpp"
#include "engine/post_slots.hpp"
#include "engine/publish_time.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "common/duration.hpp"
#include "common/iso_time.hpp"
#include "triggers/time_zone.hpp"
#include "plugin_host/dispatcher.hpp"
#include "plugin_host/options.hpp"
#include "workflow/expr.hpp"

namespace reelflow::engine {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A step's option that came out null, or that the plugin refused, because it reads a secret that
// is not set: the message names the secret (a missing secret reads as null, which alone would say
// "expected a string, got null"). Empty when no missing secret is involved.
std::string missing_secret_error(const json& with, const json& resolved, const json& secrets,
                                 const std::string& origin, bool refused) {
  if (!with.is_object() || !resolved.is_object()) return "";
  for (const auto& [key, raw] : with.items()) {
    auto value = resolved.find(key);
    if (!refused && (value == resolved.end() || !value->is_null())) continue;
    for (const auto& name : workflow::secret_references(raw)) {
      if (secrets.is_object() && secrets.contains(name)) continue;
      return "option '" + key + "': secrets." + name + " is not set" +
             (origin.empty() ? std::string() : " (" + origin + ")");
    }
  }
  return "";
}

// Secrets never reach logs or error messages: every occurrence of a secret value is masked.
class SecretMask {
 public:
  explicit SecretMask(const json& secrets) {
    for (const auto& [name, value] : secrets.items()) {
      if (value.is_string() && value.get_ref<const std::string&>().size() >= 3) {
        values_.push_back(value.get<std::string>());
      }
    }
    // Longest first, so a secret containing another is masked whole.
    std::sort(values_.begin(), values_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }

  std::string apply(std::string text) const {
    for (const auto& secret : values_) {
      for (auto pos = text.find(secret); pos != std::string::npos;
           pos = text.find(secret, pos + 3)) {
        text.replace(pos, secret.size(), "***");
      }
    }
    return text;
  }

 private:
  std::vector<std::string> values_;
};

// Waits in short slices so a cancel is noticed quickly. Returns false if cancelled.
bool cancellable_sleep(double seconds, const std::atomic<bool>* cancel) {
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < deadline) {
    if (cancel != nullptr && cancel->load()) return false;
    Clock::duration slice = std::min<Clock::duration>(std::chrono::milliseconds(50),
                                                      deadline - Clock::now());
    std::this_thread::sleep_for(slice);
  }
  return cancel == nullptr || !cancel->load();
}

struct ItemResult {
  StepState state = StepState::failed;
  json outputs = json::object();
  std::string error;
  int attempts = 0;
  // A publisher hit a platform limit (RF_STATUS_LATER) or its account must be connected again
  // (RF_STATUS_RECONNECT): the step waits until then, and goes on.
  std::optional<std::int64_t> later_until;
  bool held_for_account = false;
};

class Run {
 public:
  Run(const workflow::Workflow& workflow, const plugin_host::Registry& registry,
      const json& trigger, const RunOptions& options, RunObserver& observer)
      : workflow_(workflow),
        registry_(registry),
        options_(options),
        observer_(observer),
        mask_(options.secrets),
        own_dispatcher_(options.dispatcher == nullptr
                            ? std::make_unique<plugin_host::InProcessDispatcher>(options.plugin_config)
                            : nullptr),
        dispatcher_(options.dispatcher != nullptr ? *options.dispatcher : *own_dispatcher_),
        random_(std::random_device{}()) {
    record_.run_id = options.run_id.empty() ? new_run_id() : options.run_id;
    record_.workflow = workflow.name;
    record_.trigger = trigger;
    record_.artifact_dir = options.artifact_root / record_.run_id;
    scope_ = {{"trigger", trigger},
              {"secrets", options.secrets},
              {"env", json::object()},
              {"steps", json::object()}};
  }

  RunRecord execute() {
    auto start = Clock::now();
    resolve_env();
    bool failed = !env_error_.empty();
    bool cancelled = false;
    bool waiting = false;
    for (std::size_t index = 0; index < workflow_.steps.size(); ++index) {
      const auto& step = workflow_.steps[index];
      StepRecord step_record;
      if (cancel_requested()) cancelled = true;
      const StepRecord* earlier = finished_earlier(step.id);
      if (earlier != nullptr && !cancelled && !failed) {
        step_record = *earlier;
      } else if (cancelled) {
        step_record = skipped(step, StepState::cancelled, "the run was cancelled");
      } else if (failed) {
        step_record = skipped(step, StepState::skipped,
                              env_error_.empty() ? "an earlier step failed" : env_error_);
      } else {
        step_record = run_step(step, index);
      }
      if (step_record.state == StepState::waiting) {
        waiting = true;
        record_.steps.push_back(std::move(step_record));
        break;  // the run goes on when the wait is over
      }
      scope_["steps"][step.id] = {{"outputs", step_record.outputs},
                                  {"state", to_string(step_record.state)}};
      if (step_record.state == StepState::failed && !step.continue_on_error) failed = true;
      if (step_record.state == StepState::cancelled) cancelled = true;
      record_.steps.push_back(std::move(step_record));
    }
    record_.state = cancelled ? "cancelled" : failed ? "failed" : waiting ? "waiting" : "succeeded";
    record_.seconds = seconds_since(start);
    return std::move(record_);
  }

 private:
  // Holds the step until its `wait` is over. nullopt: go on; otherwise how the step ends now
  // (waiting, when the observer keeps the wait; failed; cancelled).
  std::optional<std::pair<StepState, std::string>> wait_before(const workflow::Step& step) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    std::optional<std::int64_t> due;
    bool recorded = false;
    if (options_.resume != nullptr) {
      if (auto found = options_.resume->wait_due.find(step.id);
          found != options_.resume->wait_due.end()) {
        due = found->second;
        recorded = true;
      }
    }
    if (!due && step.wait->until) {
      auto text = workflow::interpolate(*step.wait->until, scope_);
      if (!text) return std::pair{StepState::failed, "wait.until: " + text.error().message};
      if (!text->is_string()) {
        return std::pair{StepState::failed, "wait.until must give a time, got " + text->dump()};
      }
      auto instant = parse_iso_time(text->get<std::string>());
      if (!instant) return std::pair{StepState::failed, "wait.until: " + instant.error().message};
      due = *instant;
    }
    if (!due) due = now + static_cast<std::int64_t>(step.wait->for_seconds.value_or(0) * 1000);
    if (*due <= now) {
      if (recorded) observer_.wait_over(step);
      return std::nullopt;
    }
    std::string until = format_iso_time(*due);
    if (recorded || observer_.step_waiting(step, *due, json::object())) {
      return std::pair{StepState::waiting, "waiting until " + until};
    }
    observer_.log(step, RF_LOG_INFO, "waiting until " + until);
    if (!cancellable_sleep(static_cast<double>(*due - now) / 1000.0, options_.cancel)) {
      return std::pair{StepState::cancelled, std::string("the run was cancelled")};
    }
    return std::nullopt;
  }

  // A publisher step holds the run until its publish_at (resolved once per step, in its time
  // zone; kept durably by the daemon like a `wait`). nullopt: go on.
  std::optional<std::pair<StepState, std::string>> wait_for_publish_time(
      const workflow::Step& step) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    std::optional<std::int64_t> due;
    bool recorded = false;
    if (options_.resume != nullptr) {
      if (auto found = options_.resume->wait_due.find(step.id);
          found != options_.resume->wait_due.end()) {
        due = found->second;
        recorded = true;
      }
    }
    if (!due) {
      auto text_of = [&](const char* key, const char* fallback) -> Result<std::string> {
        auto found = step.with.find(key);
        if (found == step.with.end()) return std::string(fallback);
        auto value = workflow::interpolate_value(*found, scope_);
        if (!value) {
          return fail(std::string(key) + ": " + value.error().message +
                      " (it is resolved once for the step, before for_each: it cannot use item)");
        }
        if (!value->is_string()) return fail(std::string(key) + " must be text, got " + value->dump());
        return value->get<std::string>();
      };
      auto text = text_of("publish_at", "");
      if (!text) return std::pair{StepState::failed, text.error().message};
      auto zone = text_of("time_zone", "UTC");
      if (!zone) return std::pair{StepState::failed, zone.error().message};
      if (publishes_at_best(step)) {
        auto instant = best_publish_time(step, now);
        if (!instant) return std::pair{StepState::failed, instant.error().message};
        due = *instant;
      } else {
        auto instant = resolve_publish_at(*text, *zone, now);
        if (!instant) return std::pair{StepState::failed, instant.error().message};
        due = *instant;
      }
      if (auto jitter = step.with.find("jitter"); jitter != step.with.end()) {
        auto value = workflow::interpolate_value(*jitter, scope_);
        std::optional<double> seconds;
        if (value && value->is_number()) seconds = value->get<double>();
        if (value && value->is_string()) seconds = parse_duration(value->get<std::string>());
        if (!seconds || *seconds < 0) {
          return std::pair{StepState::failed,
                           std::string("jitter must be a duration such as 15m")};
        }
        // Drawn once: the time is recorded, so a restart does not draw again.
        *due += static_cast<std::int64_t>(*seconds * 1000 * next_unit_random());
      }
    }
    {
      std::lock_guard lock(state_mutex_);
      publish_due_[step.id] = *due;
    }
    if (*due <= now) {
      if (recorded) observer_.wait_over(step);
      return std::nullopt;
    }
    std::string until = format_iso_time(*due);
    if (recorded || observer_.step_waiting(step, *due, post_details(step))) {
      return std::pair{StepState::waiting, "scheduled: publishing at " + until};
    }
    observer_.log(step, RF_LOG_INFO, "scheduled: publishing at " + until);
    if (!cancellable_sleep(static_cast<double>(*due - now) / 1000.0, options_.cancel)) {
      return std::pair{StepState::cancelled, std::string("the run was cancelled")};
    }
    return std::nullopt;
  }

  // publish_at: best: the best hour of the coming week learned from the account's own results
  // (optimize/best_time.hpp) once it has enough posts with metrics; until then the next moment
  // inside the posting windows of the account (its limits.windows) or platform (its publisher's
  // scheduling_json), in the account's time zone. The account is read without `item`: a step
  // whose account depends on the item learns nothing and uses the platform's windows.
  Result<std::int64_t> best_publish_time(const workflow::Step& step, std::int64_t now) {
    const auto* type = registry_.find(step.uses);
    const auto* publisher = type != nullptr ? type->publisher : nullptr;
    if (publisher == nullptr) return fail("publish_at: best is for publisher steps");
    auto [account, limits] = account_limits(step, json(), std::nullopt);
    auto rules = plugin_host::apply_account_limits(publisher->rules, limits);
    if (!rules) return fail("account." + account + ": " + rules.error().message);
    const std::string zone = account_zone(step, limits);
    const optimize::BestTimeConfig config;
    std::string why_not_learned =
        "the account is not known before for_each, so no results are learned from";
    if (!account.empty()) {
      auto learned = learned_hours(step, account, zone, rules->windows);
      if (!learned->zone) return fail("publish_at: best: " + learned->error);
      const optimize::BestTimes& times = learned->times;
      if (times.decides) {
        const auto slot = optimize::best_upcoming_slot(times.scores, *learned->zone, now);
        observer_.log(step, RF_LOG_INFO,
                      "publish_at: best: learned from " + std::to_string(times.posts) +
                          " posts of account " + account + " (" + zone + "): " +
                          optimize::describe_hour(slot.hour_of_week) + " (score " +
                          rate_text(slot.score) + " vs prior " +
                          rate_text(times.prior[static_cast<std::size_t>(slot.hour_of_week)]) +
                          "), publishing at " + format_iso_time(slot.at_ms));
        return slot.at_ms;
      }
      why_not_learned = "only " + std::to_string(times.posts) + " post" +
                        (times.posts == 1 ? "" : "s") + " of account " + account +
                        " with metrics in the last " +
                        std::to_string(config.history_ms / (7LL * 86400000)) + " weeks (" +
                        std::to_string(config.min_posts) + " needed to learn its best hours)";
    }
    if (rules->windows.empty()) {
      return fail("publish_at: best needs posting windows, and " + publisher->name +
                  " declares none: give the account some in its secret, e.g. \"limits\": "
                  "{\"windows\": [\"Mon-Fri 12:00-14:00\", \"daily 19:00-22:00\"]} (" +
                  why_not_learned + ")");
    }
    auto at = next_window_time(rules->windows, zone, now);
    if (!at) return fail("publish_at: best: " + at.error().message);
    observer_.log(step, RF_LOG_INFO,
                  "publish_at: best: the next posting window (" +
                      (rules->windows_note.empty() ? publisher->platform + "'s defaults"
                                                   : rules->windows_note) +
                      ", " + zone + ") starts at " + format_iso_time(*at) + "; " +
                      why_not_learned);
    return *at;
  }

  // What publish_at: best learned about an account's hours, once per step type, account and
  // zone in a run (the store is read once). zone unset: `error` says why it cannot be loaded.
  struct LearnedHours {
    optimize::BestTimes times;
    std::optional<triggers::TimeZone> zone;
    std::string error;
  };
  std::shared_ptr<const LearnedHours> learned_hours(
      const workflow::Step& step, const std::string& account, const std::string& zone,
      const std::vector<plugin_host::PostingWindow>& windows) {
    const std::string key = step.uses + '\n' + account + '\n' + zone;
    {
      std::lock_guard lock(learned_mutex_);
      if (auto found = learned_.find(key); found != learned_.end()) return found->second;
    }
    auto learned = std::make_shared<LearnedHours>();
    if (auto loaded = triggers::TimeZone::load(zone); !loaded) {
      learned->error = loaded.error().message;
    } else {
      learned->zone = std::move(*loaded);
      const optimize::BestTimeConfig config;
      const std::int64_t now = now_ms();
      learned->times = optimize::learn_best_times(
          observer_.account_post_outcomes(account, now - config.history_ms), *learned->zone,
          windows, now, config);
    }
    std::lock_guard lock(learned_mutex_);
    return learned_.emplace(key, std::move(learned)).first->second;
  }

  // The windows that pace the items of a publish_at: best step: once the account's results
  // decide, its best kLearnedHours hours of the week and the hour its publish time was chosen
  // in; otherwise `windows` (the account's or the platform's).
  static constexpr std::size_t kLearnedHours = 21;  // three an average day
  std::vector<plugin_host::PostingWindow> best_windows(
      const workflow::Step& step, const std::string& account, const std::string& zone,
      std::vector<plugin_host::PostingWindow> windows) {
    if (account.empty()) return windows;
    auto learned = learned_hours(step, account, zone, windows);
    if (!learned->zone || !learned->times.decides) return windows;
    auto hours = optimize::top_hours(learned->times.scores, kLearnedHours);
    std::optional<std::int64_t> due;
    {
      std::lock_guard lock(state_mutex_);
      if (auto found = publish_due_.find(step.id); found != publish_due_.end()) due = found->second;
    }
    if (due) {
      const int hour = optimize::hour_of_week(*learned->zone, *due);
      hours.push_back({hour * 60, hour * 60 + 60});
    }
    return hours;
  }

  static std::string rate_text(double rate) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", rate);
    return text;
  }

  std::mutex learned_mutex_;
  std::map<std::string, std::shared_ptr<const LearnedHours>> learned_;

  // What a scheduled post is, for the calendar: the step's with values as far as they resolve
  // before for_each (a value that needs `item` shows as written).
  json post_details(const workflow::Step& step) {
    const auto* type = registry_.find(step.uses);
    json post = {{"step_type", step.uses},
                 {"platform", type && type->publisher ? type->publisher->platform : ""}};
    for (const char* key : {"account", "title", "video"}) {
      auto found = step.with.find(key);
      if (found == step.with.end()) continue;
      auto value = workflow::interpolate_value(*found, scope_);
      post[key] = value ? *value : *found;
    }
    return {{"post", post}};
  }

  // When a post that hit a platform limit goes on: the publisher's "not_before", else a day on.
  static std::int64_t later_until(const json& outputs) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    if (auto found = outputs.find("not_before"); found != outputs.end() && found->is_string()) {
      if (auto instant = parse_iso_time(found->get<std::string>()); instant && *instant > now) {
        return std::min<std::int64_t>(*instant, now + 7 * 86400000LL);
      }
    }
    return now + std::int64_t{86400000};
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // The account an item publishes with, and its limits from its secret (null when none).
  std::pair<std::string, json> account_limits(const workflow::Step& step, const json& item,
                                              std::optional<std::size_t> item_index) {
    auto found = step.with.find("account");
    if (found == step.with.end()) return {"", json()};
    json scope = scope_;
    if (item_index) scope["item"] = item;
    auto value = workflow::interpolate_value(*found, scope);
    if (!value || !value->is_string()) return {"", json()};
    const std::string name = value->get<std::string>();
    auto secret = options_.secrets.find("account." + name);
    if (secret == options_.secrets.end() || !secret->is_string()) return {name, json()};
    json account = json::parse(secret->get<std::string>(), nullptr, false);
    if (!account.is_object() || !account.contains("limits")) return {name, json()};
    return {name, account["limits"]};
  }

  // publish_at: best (any case): the post goes in the account's posting windows.
  static bool publishes_at_best(const workflow::Step& step) {
    auto found = step.with.find("publish_at");
    if (found == step.with.end() || !found->is_string()) return false;
    std::string text = found->get<std::string>();
    std::erase_if(text, [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    return text == "best";
  }

  // The time zone an account's calendar days and windows are in: its limits.time_zone, else the
  // step's time_zone option, else UTC.
  std::string account_zone(const workflow::Step& step, const json& limits) {
    if (limits.is_object() && limits.contains("time_zone") && limits["time_zone"].is_string()) {
      return limits["time_zone"].get<std::string>();
    }
    if (auto found = step.with.find("time_zone"); found != step.with.end()) {
      auto value = workflow::interpolate_value(*found, scope_);
      if (value && value->is_string() && !value->get<std::string>().empty()) {
        return value->get<std::string>();
      }
    }
    return "UTC";
  }

  // What paces an item's post: the platform's quotas and windows with the account's limits
  // applied. The account is "" when the step has none. The error names the account's bad field.
  struct ItemPacing {
    std::string account;
    Pacing pacing;
  };
  Result<ItemPacing> item_pacing(const workflow::Step& step,
                                 const plugin_host::PublisherTypeInfo& publisher,
                                 const json& item, std::optional<std::size_t> item_index) {
    auto [account, limits] = account_limits(step, item, item_index);
    ItemPacing out;
    out.account = account;
    if (account.empty()) return out;
    auto rules = plugin_host::apply_account_limits(publisher.rules, limits);
    if (!rules) return fail("account." + account + ": " + rules.error().message);
    const std::string zone = account_zone(step, limits);
    for (auto& quota : rules->quotas) {
      if (quota.window_ms == 0 && quota.time_zone.empty()) quota.time_zone = zone;
    }
    out.pacing.quotas = std::move(rules->quotas);
    if (publishes_at_best(step)) {
      out.pacing.windows = best_windows(step, account, zone, std::move(rules->windows));
      out.pacing.windows_zone = zone;
    }
    if (limits.is_object()) {
      if (auto text = limits.find("min_spacing"); text != limits.end()) {
        std::optional<double> seconds;
        if (text->is_number()) seconds = text->get<double>();
        if (text->is_string()) seconds = parse_duration(text->get<std::string>());
        if (!seconds || *seconds < 0) {
          return fail("account." + account + ": limits.min_spacing must be a duration such as 2h");
        }
        out.pacing.spacing_ms = static_cast<std::int64_t>(*seconds * 1000);
      }
    }
    return out;
  }

  // The earliest moment from now at which the account's limits and its platform's quotas allow
  // one more post (engine/post_slots.hpp), counting every post it published or has scheduled.
  // nullopt: nothing paces this item.
  Result<std::optional<std::int64_t>> paced_slot(const workflow::Step& step,
                                                 const plugin_host::PublisherTypeInfo& publisher,
                                                 const json& item,
                                                 std::optional<std::size_t> item_index) {
    auto paced = item_pacing(step, publisher, item, item_index);
    if (!paced) return tl::unexpected(paced.error());
    if (paced->pacing.empty()) return std::optional<std::int64_t>();
    const std::int64_t now = now_ms();
    std::int64_t horizon = 2 * 86400000LL;
    for (const auto& quota : paced->pacing.quotas) horizon = std::max(horizon, quota.window_ms);
    std::vector<std::int64_t> taken = observer_.account_post_times(paced->account, now - horizon);
    if (!observer_.knows_own_posts()) {
      std::lock_guard lock(state_mutex_);
      if (auto own = own_posts_.find(paced->account); own != own_posts_.end()) {
        taken.insert(taken.end(), own->second.begin(), own->second.end());
      }
    }
    auto slot = next_post_slot(paced->pacing, std::move(taken), now);
    if (!slot) return fail("account." + paced->account + ": " + slot.error().message);
    return std::optional<std::int64_t>(*slot);
  }

  double next_unit_random() {
    std::lock_guard lock(random_mutex_);
    return unit_(random_);
  }

  bool cancel_requested() const { return options_.cancel != nullptr && options_.cancel->load(); }

  const StepRecord* finished_earlier(std::string_view step_id) const {
    if (options_.resume == nullptr) return nullptr;
    auto found = options_.resume->finished_steps.find(step_id);
    return found == options_.resume->finished_steps.end() ? nullptr : &found->second;
  }

  const json* item_finished_earlier(std::string_view step_id, std::size_t item) const {
    if (options_.resume == nullptr) return nullptr;
    auto step = options_.resume->finished_items.find(step_id);
    if (step == options_.resume->finished_items.end()) return nullptr;
    auto found = step->second.find(item);
    return found == step->second.end() ? nullptr : &found->second;
  }

  static ResumeState::ExecutionKey execution_key(const workflow::Step& step,
                                                 std::optional<std::size_t> item) {
    return {step.id, item ? static_cast<int>(*item) : -1};
  }

  void resolve_env() {
    json env = json::object();
    for (const auto& [name, value] : workflow_.env.items()) {
      auto resolved = workflow::interpolate_value(value, scope_);
      if (!resolved) {
        env_error_ = "env." + name + ": " + resolved.error().message;
        continue;
      }
      env[name] = *resolved;
    }
    for (const auto& [name, value] : options_.env_overrides.items()) env[name] = value;
    scope_["env"] = std::move(env);
  }

  StepRecord skipped(const workflow::Step& step, StepState state, std::string why) {
    StepRecord step_record;
    step_record.id = step.id;
    step_record.uses = step.uses;
    step_record.state = state;
    step_record.error = std::move(why);
    observer_.step_finished(step, step_record);
    return step_record;
  }

  StepRecord run_step(const workflow::Step& step, std::size_t index) {
    auto start = Clock::now();
    StepRecord step_record;
    step_record.id = step.id;
    step_record.uses = step.uses;
    auto finish = [&](StepState state, std::string error) {
      step_record.state = state;
      step_record.error = mask_.apply(std::move(error));
      step_record.seconds = seconds_since(start);
      observer_.step_finished(step, step_record);
      return step_record;
    };

    const auto* step_type = registry_.find(step.uses);
    if (step_type == nullptr) {
      return finish(StepState::failed, "step type '" + step.uses + "' is not provided by any "
                                       "loaded plugin");
    }
    if (step.if_expr) {
      auto condition = workflow::evaluate_condition(*step.if_expr, scope_);
      if (!condition) return finish(StepState::failed, "if: " + condition.error().message);
      if (!*condition) {
        return finish(StepState::skipped, "if: " + *step.if_expr + " was false");
      }
    }

    if (step.wait) {
      if (step_type->publisher != nullptr) {
        return finish(StepState::failed, "a publisher step (" + step.uses +
                                             ") is timed with its publish_at option, not wait");
      }
      if (auto stopped = wait_before(step)) return finish(stopped->first, stopped->second);
    }
    if (step_type->publisher != nullptr) {
      if (auto stopped = wait_for_publish_time(step)) {
        return finish(stopped->first, stopped->second);
      }
    }

    std::vector<json> items;
    bool fan_out = step.for_each.has_value();
    if (fan_out) {
      auto list = workflow::interpolate_value(*step.for_each, scope_);
      if (!list) return finish(StepState::failed, "for_each: " + list.error().message);
      if (!list->is_array()) {
        return finish(StepState::failed, "for_each must give a list, got " + list->dump());
      }
      items.assign(list->begin(), list->end());
      step_record.item_count = items.size();
    } else {
      items.emplace_back(nullptr);
    }
    observer_.step_started(step, index, fan_out ? items.size() : 0);

    // A publisher step whose platform declares quotas, or whose account has limits
    // (account.<name>'s "limits": per_day, min_spacing, quotas, windows), publishes its items one
    // at a time, each when they allow.
    bool paced = false;
    if (step_type->publisher != nullptr) {
      for (std::size_t i = 0; i < items.size() && !paced; ++i) {
        std::optional<std::size_t> item_index;
        if (fan_out) item_index = i;
        auto pacing = item_pacing(step, *step_type->publisher, items[i], item_index);
        if (!pacing) return finish(StepState::failed, pacing.error().message);
        paced = !pacing->pacing.empty();
      }
    }
    std::optional<std::int64_t> paced_until;
    std::string pacing_error;
    // Items run on up to max_parallel threads; the first failure stops new items from starting.
    std::vector<std::optional<ItemResult>> results(items.size());
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    auto work = [&] {
      for (std::size_t i = next++; i < items.size() && !stop; i = next++) {
        std::optional<std::size_t> item_index;
        if (fan_out) item_index = i;
        if (const json* earlier = fan_out ? item_finished_earlier(step.id, i) : nullptr) {
          ItemResult done;
          done.state = StepState::succeeded;
          done.outputs = *earlier;
          results[i] = std::move(done);
          continue;
        }
        if (paced) {
          // The account's limits decide when this post may go: wait for that moment.
          auto slot = paced_slot(step, *step_type->publisher, items[i], item_index);
          if (!slot) {
            pacing_error = slot.error().message;
            break;
          }
          if (*slot && **slot > now_ms() + 1000) {
            paced_until = **slot;
            next = i;  // this item again, once the wait is over
            break;
          }
        }
        results[i] = run_item(step, *step_type, items[i], item_index);
        if (results[i]->state != StepState::succeeded) stop = true;
      }
    };
    std::size_t threads = std::min<std::size_t>(
        items.size(), static_cast<std::size_t>(std::max(1, fan_out ? step.max_parallel : 1)));
    if (paced) threads = 1;
    if (paced) {
      while (true) {
        work();
        if (!pacing_error.empty()) return finish(StepState::failed, pacing_error);
        if (!paced_until) break;
        const std::string until = format_iso_time(*paced_until);
        json details = post_details(step);
        details["post"]["rescheduled"] =
            "paced: the account's limits and the platform's quotas allow the next post at " + until;
        if (observer_.step_waiting(step, *paced_until, details)) {
          return finish(StepState::waiting, "paced by the account's limits and the platform's quotas: next post at " + until);
        }
        observer_.log(step, RF_LOG_INFO, "paced by the account's limits and the platform's quotas: next post at " + until);
        if (!cancellable_sleep(static_cast<double>(*paced_until - now_ms()) / 1000.0,
                               options_.cancel)) {
          return finish(StepState::cancelled, "the run was cancelled");
        }
        paced_until.reset();
      }
    } else if (threads <= 1) {
      work();
    } else {
      std::vector<std::thread> pool;
      for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work);
      for (auto& thread : pool) thread.join();
    }

    json item_outputs = json::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!results[i]) continue;  // not started after an earlier failure
      ItemResult& result = *results[i];
      step_record.attempts = std::max(step_record.attempts, result.attempts);
      if (result.state != StepState::succeeded) {
        std::string where = fan_out ? "item " + std::to_string(i + 1) + " of " +
                                          std::to_string(items.size()) + ": "
                                    : "";
        step_record.outputs = fan_out ? json{{"items", item_outputs}} : json::object();
        if (result.later_until) {
          // Rescheduled, not failed: the items done stay done, this one goes on then.
          const std::string until = format_iso_time(*result.later_until);
          json details = post_details(step);
          details["post"]["rescheduled"] = result.error;
          if (result.held_for_account) {
            // Under the daemon the post waits (`reelflow schedule` shows this text) and is
            // looked at again every few minutes; offline the step fails (below).
            const std::string goes_on =
                "; once the daemon has read them (systemctl reload reelflowd), the post goes on "
                "by itself, no retry needed";
            details["post"]["rescheduled"] = "held: " + result.error + goes_on;
            if (observer_.step_waiting(step, *result.later_until, details)) {
              return finish(StepState::waiting,
                            where + "held until the account is connected again (looked at "
                                    "again at " + until + "): " + result.error + goes_on);
            }
            return finish(StepState::failed,
                          where + result.error + ", then run the workflow again");
          }
          if (observer_.step_waiting(step, *result.later_until, details)) {
            return finish(StepState::waiting,
                          where + "rescheduled to " + until + ": " + result.error);
          }
          return finish(StepState::failed, where + result.error + " (a platform limit: publish it "
                                                                  "after " + until + ")");
        }
        return finish(result.state, where + result.error);
      }
      if (fan_out) {
        item_outputs.push_back(std::move(result.outputs));
      } else {
        step_record.outputs = std::move(result.outputs);
      }
    }
    if (fan_out) step_record.outputs = {{"items", std::move(item_outputs)}};
    return finish(StepState::succeeded, "");
  }

  ItemResult run_item(const workflow::Step& step, const plugin_host::StepTypeInfo& step_type,
                      const json& item, std::optional<std::size_t> item_index) {
    ItemResult result;
    json scope = scope_;
    if (item_index) scope["item"] = item;
    auto resolved = workflow::interpolate_value(step.with, scope);
    if (!resolved) {
      result.error = "with: " + resolved.error().message;
      return result;
    }
    result.error = missing_secret_error(step.with, *resolved, options_.secrets,
                                        options_.secrets_origin, false);
    if (!result.error.empty()) return result;
    auto options = plugin_host::normalize_options(step_type, *resolved);
    if (!options) {
      result.error = missing_secret_error(step.with, *resolved, options_.secrets,
                                          options_.secrets_origin, true);
      if (result.error.empty()) result.error = options.error().message;
      return result;
    }
    if (step_type.publisher != nullptr) {
      // The instant wait_for_publish_time resolved, for the publisher (and its max_delay).
      std::lock_guard lock(state_mutex_);
      if (auto due = publish_due_.find(step.id); due != publish_due_.end()) {
        (*options)["publish_at"] = format_iso_time(due->second);
      }
    }

    std::filesystem::path artifact_dir = record_.artifact_dir / step.id;
    if (item_index) artifact_dir /= "item-" + std::to_string(*item_index + 1);
    std::error_code ec;
    std::filesystem::create_directories(artifact_dir, ec);
    if (ec) {
      result.error = "cannot create artifact directory " + artifact_dir.string() + ": " +
                     ec.message();
      return result;
    }

    auto key = execution_key(step, item_index);
    int used = 0;
    if (options_.resume != nullptr) {
      auto found = options_.resume->attempts_used.find(key);
      if (found != options_.resume->attempts_used.end()) used = found->second;
      auto interrupted = options_.resume->reconcile.find(key);
      if (interrupted != options_.resume->reconcile.end()) {
        std::optional<ItemResult> reconciled =
            reconcile_item(step, step_type, *options, item, item_index, artifact_dir,
                           interrupted->second);
        if (reconciled) return *reconciled;
      }
    }
    // An attempt cut short by a restart does not count against max_attempts' last try.
    int last_attempt = std::max(step.retry.max_attempts, used + 1);
    for (int attempt = used + 1; attempt <= last_attempt; ++attempt) {
      result.attempts = attempt;
      if (attempt > used + 1) {
        double delay = backoff_delay(step.retry.backoff, attempt, next_unit_random());
        observer_.log(step, RF_LOG_INFO,
                      "retrying in " + std::to_string(static_cast<int>(std::lround(delay))) +
                          "s (attempt " + std::to_string(attempt) + " of " +
                          std::to_string(step.retry.max_attempts) + ")");
        if (!cancellable_sleep(delay, options_.cancel)) {
          result.state = StepState::cancelled;
          result.error = "the run was cancelled";
          return result;
        }
      }
      observer_.attempt_started(step, item_index, attempt);
      json context = {{"run_id", record_.run_id},
                      {"step_id", step.id},
                      {"workflow", workflow_.name},
                      {"attempt", attempt},
                      {"trigger", record_.trigger}};
      if (item_index) {
        context["item"] = item;
        context["item_index"] = *item_index;
      }
      if (step_type.irreversible()) {
        context["idempotency_key"] = record_.run_id + "/" + step.id +
                                     (item_index ? "/" + std::to_string(*item_index) : "");
      }
      std::string veto_reason;
      if (!observer_.execution_started(step, item_index, attempt, context, veto_reason)) {
        result.error = veto_reason;
        return result;
      }
      plugin_host::RunServices services =
          make_services(step, artifact_dir, context.value("idempotency_key", ""));
      plugin_host::StepRequest request{&step_type, *options, context, step.timeout, std::nullopt};
      auto outcome = dispatcher_.run(request, services, options_.cancel);
      if (outcome && step_type.publisher != nullptr &&
          (outcome->status == RF_STATUS_LATER || outcome->status == RF_STATUS_RECONNECT)) {
        result.later_until = later_until(outcome->outputs);
        result.held_for_account = outcome->status == RF_STATUS_RECONNECT;
        result.error = outcome->error;
        observer_.execution_finished(step, item_index, attempt, StepState::failed, json::object(),
                                     mask_.apply("rescheduled: " + result.error));
        return result;
      }
      if (take_outcome(step, item_index, attempt, outcome, result)) {
        if (step_type.publisher != nullptr && result.state == StepState::succeeded &&
            result.outputs.value("state", "") == "published") {
          observer_.post_published(step, item_index, context, *options, result.outputs);
          record_clip_example(step, context);
          std::lock_guard lock(state_mutex_);
          own_posts_[options->value("account", "")].push_back(now_ms());
        }
        return result;
      }
    }
    if (last_attempt > 1) {
      result.error += " (after " + std::to_string(result.attempts) + " attempts)";
    }
    return result;
  }

  // Records one execution's outcome in result and the journal; true when the item is done
  // (succeeded or cancelled), false when another attempt may follow.
  bool take_outcome(const workflow::Step& step, std::optional<std::size_t> item_index, int attempt,
                    const Result<plugin_host::StepOutcome>& outcome, ItemResult& result) {
    if (!outcome) {
      result.error = outcome.error().message;
    } else if (outcome->status == RF_STATUS_OK) {
      result.state = StepState::succeeded;
      result.outputs = outcome->outputs;
      result.error.clear();
    } else if (outcome->status == RF_STATUS_CANCELLED || cancel_requested()) {
      result.state = StepState::cancelled;
      result.error = "the run was cancelled";
    } else {
      result.error = outcome->error;
    }
    StepState journal_state = result.state == StepState::succeeded   ? StepState::succeeded
                              : result.state == StepState::cancelled ? StepState::cancelled
                                                                     : StepState::failed;
    observer_.execution_finished(step, item_index, attempt, journal_state, result.outputs,
                                 mask_.apply(result.error));
    return result.state != StepState::failed;
  }

  // An irreversible execution interrupted after its intent was recorded: ask the plugin whether
  // the effect happened instead of doing it again. nullopt: it certainly did not; run it normally.
  std::optional<ItemResult> reconcile_item(const workflow::Step& step,
                                           const plugin_host::StepTypeInfo& step_type,
                                           const json& options, const json& item,
                                           std::optional<std::size_t> item_index,
                                           const std::filesystem::path& artifact_dir,
                                           const ResumeState::Interrupted& interrupted) {
    json context = {{"run_id", record_.run_id},       {"step_id", step.id},
                    {"workflow", workflow_.name},     {"attempt", interrupted.attempt},
                    {"trigger", record_.trigger},     {"reconcile", true}};
    if (item_index) {
      context["item"] = item;
      context["item_index"] = *item_index;
    }
    if (interrupted.intent.contains("idempotency_key")) {
      context["idempotency_key"] = interrupted.intent["idempotency_key"];
    }
    observer_.log(step, RF_LOG_INFO,
                  "reconciling an execution interrupted by a restart instead of repeating it");
    plugin_host::RunServices services =
        make_services(step, artifact_dir, context.value("idempotency_key", ""));
    // The plugin's reconcile sees how far the execution got (plugin.h: intent_json's checkpoint).
    json intent = interrupted.intent;
    if (services.last_checkpoint) {
      if (auto last = services.last_checkpoint()) intent["checkpoint"] = *last;
    }
    plugin_host::StepRequest request{&step_type, options, context, step.timeout, intent};
    auto outcome = dispatcher_.run(request, services, options_.cancel);
    ItemResult result;
    result.attempts = interrupted.attempt;
    if (outcome && outcome->status == RF_STATUS_RETRY) {
      observer_.execution_finished(step, item_index, interrupted.attempt, StepState::failed,
                                   json::object(),
                                   "interrupted; reconcile found the effect did not happen");
      return std::nullopt;
    }
    if (outcome && outcome->status != RF_STATUS_OK) {
      result.error = "interrupted by a restart, and reconcile could not tell whether it took "
                     "effect: " + outcome->error + "; not repeated (check, then retry the run)";
      observer_.execution_finished(step, item_index, interrupted.attempt, StepState::failed,
                                   json::object(), mask_.apply(result.error));
      return result;
    }
    take_outcome(step, item_index, interrupted.attempt, outcome, result);
    if (step_type.publisher != nullptr && result.state == StepState::succeeded &&
        result.outputs.value("state", "") == "published") {
      observer_.post_published(step, item_index, context, options, result.outputs);
      record_clip_example(step, context);
    }
    return result;
  }

  // A published for_each item that carries a scored clip (an item of video.score's `clips`, or an
  // object holding one as `clip`) becomes a training example of the engagement model: the
  // daemon's models.record_example (plugins/models/README.md). Offline runs have no daemon.
  void record_clip_example(const workflow::Step& step, const json& context) {
    const json item = context.value("item", json());
    if (!options_.host_call || !item.is_object() ||
        !(item.contains("features") || item.contains("clip"))) {
      return;
    }
    auto answer = options_.host_call(
        "models.record_example",
        json{{"post", context.value("idempotency_key", "")}, {"item", item}});
    if (!answer) {
      observer_.log(step, RF_LOG_WARN,
                    "the post's clip was not recorded for model training: " +
                        answer.error().message);
    }
  }

  // idempotency_key: the execution's, for irreversible steps (its checkpoints are kept under it).
  plugin_host::RunServices make_services(const workflow::Step& step,
                                         const std::filesystem::path& artifact_dir,
                                         const std::string& idempotency_key = {}) {
    plugin_host::RunServices services;
    services.account_get = options_.account_get;
    services.account_set = options_.account_set;
    services.call = options_.host_call;
    if (!services.call) {
      services.call = [](std::string_view service, const json&) -> Result<json> {
        return fail(std::string(service) + " needs the daemon: run this workflow in reelflowd");
      };
    }
    if (!idempotency_key.empty()) {
      services.checkpoint = [this, idempotency_key](const json& checkpoint) {
        if (options_.checkpoint_set) return options_.checkpoint_set(idempotency_key, checkpoint);
        std::lock_guard lock(state_mutex_);
        checkpoints_[idempotency_key] = checkpoint;
        return true;
      };
      services.last_checkpoint = [this, idempotency_key]() -> std::optional<json> {
        if (options_.checkpoint_get) return options_.checkpoint_get(idempotency_key);
        std::lock_guard lock(state_mutex_);
        auto found = checkpoints_.find(idempotency_key);
        if (found == checkpoints_.end()) return std::nullopt;
        return found->second;
      };
    }
    services.artifact_dir = artifact_dir;
    services.log = [this, &step](rf_log_level level, std::string_view message) {
      observer_.log(step, level, mask_.apply(std::string(message)));
    };
    services.progress = [this, &step](double fraction, std::string_view message) {
      observer_.progress(step, fraction, mask_.apply(std::string(message)));
    };
    services.cancelled = [this] { return cancel_requested(); };
    services.secret = [this](std::string_view name) -> std::optional<std::string> {
      auto found = options_.secrets.find(std::string(name));
      if (found == options_.secrets.end() || !found->is_string()) return std::nullopt;
      return found->get<std::string>();
    };
    // The offline runner keeps plugin state for the length of the run only; the daemon keeps it
    // in its store.
    std::string prefix = step.uses.substr(0, step.uses.find('.')) + "\n";
    if (options_.state_get && options_.state_set) {
      std::string plugin = step.uses.substr(0, step.uses.find('.'));
      services.state_get = [this, plugin](std::string_view key) {
        return options_.state_get(plugin, key);
      };
      services.state_set = [this, plugin](std::string_view key,
                                          std::optional<std::string_view> value) {
        return options_.state_set(plugin, key, value);
      };
      return services;
    }
    services.state_get = [this, prefix](std::string_view key) -> std::optional<std::string> {
      std::lock_guard lock(state_mutex_);
      auto found = state_.find(prefix + std::string(key));
      if (found == state_.end()) return std::nullopt;
      return found->second;
    };
    services.state_set = [this, prefix](std::string_view key,
                                        std::optional<std::string_view> value) {
      std::lock_guard lock(state_mutex_);
      if (value) {
        state_[prefix + std::string(key)] = std::string(*value);
      } else {
        state_.erase(prefix + std::string(key));
      }
      return true;
    };
    return services;
  }

  const workflow::Workflow& workflow_;
  const plugin_host::Registry& registry_;
  const RunOptions& options_;
  RunObserver& observer_;
  SecretMask mask_;
  std::unique_ptr<plugin_host::StepDispatcher> own_dispatcher_;
  plugin_host::StepDispatcher& dispatcher_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  RunRecord record_;
  json scope_;
  std::string env_error_;
  std::mutex state_mutex_;
  std::map<std::string, std::string> state_;
  std::map<std::string, json> checkpoints_;  // without options_.checkpoint_*: this run only
  std::map<std::string, std::int64_t> publish_due_;  // publisher step id -> its publish time
  std::map<std::string, std::vector<std::int64_t>> own_posts_;  // account -> this run's posts
};

}  // namespace

std::string_view to_string(StepState state) {
  switch (state) {
    case StepState::succeeded: return "succeeded";
    case StepState::failed: return "failed";
    case StepState::skipped: return "skipped";
    case StepState::cancelled: return "cancelled";
    case StepState::waiting: return "waiting";
  }
  return "unknown";
}

nlohmann::json RunRecord::to_json() const {
  json steps_json = json::array();
  for (const auto& step : steps) {
    json entry = {{"id", step.id},          {"uses", step.uses},
                  {"state", to_string(step.state)}, {"attempts", step.attempts},
                  {"seconds", step.seconds},  {"outputs", step.outputs}};
    if (!step.error.empty()) entry["error"] = step.error;
    if (step.item_count) entry["items"] = *step.item_count;
    steps_json.push_back(std::move(entry));
  }
  return {{"run_id", run_id},   {"workflow", workflow},
          {"state", state},     {"trigger", trigger},
          {"artifact_dir", artifact_dir.string()},
          {"seconds", seconds}, {"steps", std::move(steps_json)}};
}

RunRecord run_workflow(const workflow::Workflow& workflow, const plugin_host::Registry& registry,
                       const nlohmann::json& trigger, const RunOptions& options,
                       RunObserver& observer) {
  return Run(workflow, registry, trigger, options, observer).execute();
}

std::string new_run_id() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
  std::random_device device;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(device()));
  return std::string(stamp) + "-" + suffix;
}

double backoff_delay(const workflow::Backoff& backoff, int attempt, double unit_random) {
  double base = backoff.initial * std::pow(backoff.factor, std::max(0, attempt - 2));
  base = std::min(base, backoff.max);
  double jitter = 1.0 + 0.4 * (unit_random - 0.5);  // ±20%
  return std::max(0.0, base * jitter);
}

}  // namespace reelflow::engine
