#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include "reelflowd/daemon.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>
#include <cctype>
#include <charconv>
#include <csignal>
#include <ctime>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>

#include "common/duration.hpp"
#include "common/iso_time.hpp"
#include "engine/engine.hpp"
#include "engine/post_slots.hpp"
#include "engine/runner.hpp"
#include "optimize/best_time.hpp"
#include "plugin_host/options.hpp"
#include "plugin_host/worker_pool.hpp"
#include "reelflowd/state_lock.hpp"
#include "reelflowd/visitor_salt.hpp"
#include "reelflowd/workflow_set.hpp"
#include "server/control_server.hpp"
#include "server/endpoint.hpp"
#include "server/metrics.hpp"
#include "server/track_server.hpp"
#include "store/store.hpp"
#include "store/model_registry.hpp"
#include "store/model_store.hpp"
#include "store/track_store.hpp"
#include "optimize/experiments.hpp"
#include "store/optimize_store.hpp"
#include "store/posts_store.hpp"
#include "store/top_posts.hpp"
#include "track/links.hpp"
#include "triggers/plugin_trigger.hpp"
#include "triggers/schedule_trigger.hpp"

#ifndef REELFLOW_VERSION
#define REELFLOW_VERSION "unknown"
#endif

namespace reelflow::daemon {

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using nlohmann::json;

std::string iso_time(std::optional<store::Millis> millis) {
  if (!millis) return "";
  std::time_t seconds = static_cast<std::time_t>(*millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char with_millis[48];
  std::snprintf(with_millis, sizeof with_millis, "%s.%03dZ", text,
                static_cast<int>(*millis % 1000));
  return with_millis;
}

json run_json(const store::RunRecord& run) {
  json entry = {{"id", run.id},
                {"workflow", run.workflow},
                {"state", store::to_string(run.state)},
                {"created_at", iso_time(run.created_at)},
                {"started_at", iso_time(run.started_at)},
                {"finished_at", iso_time(run.finished_at)},
                {"trigger", run.trigger}};
  if (!run.error.empty()) entry["error"] = run.error;
  return entry;
}

server::ControlError control_error(const engine::EngineError& error) {
  return {error.status, error.message};
}

std::string random_hex(int bytes) {
  std::random_device device;
  std::string text;
  char pair[3];
  for (int i = 0; i < bytes; ++i) {
    std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned>(device() & 0xff));
    text += pair;
  }
  return text;
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

// A plugin trigger's options in a few words, for the log and `reelflow workflows`: text, paths
// and lists bare ("/srv/reelflow/inbox *.mp4,*.mov"), anything else as name=value, defaults left
// out.
std::string trigger_summary(const plugin_host::TriggerTypeInfo& type, const json& options) {
  std::string summary;
  auto add = [&](const std::string& part) {
    if (!part.empty()) summary += (summary.empty() ? "" : " ") + part;
  };
  for (const auto& spec : type.options) {
    auto it = options.find(spec.name);
    if (it == options.end()) continue;
    json default_value = spec.default_value.value_or(json());
    if (spec.type == RF_OPT_DURATION && default_value.is_string()) {
      if (auto seconds = parse_duration(default_value.get<std::string>())) default_value = *seconds;
    }
    if (!spec.required && *it == default_value) continue;
    if (it->is_string()) {
      add(it->get<std::string>());
    } else if (it->is_array()) {
      std::string items;
      for (const auto& item : *it) {
        items +=
            (items.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : item.dump());
      }
      add(items);
    } else {
      add(spec.name + "=" + it->dump() + (spec.type == RF_OPT_DURATION ? "s" : ""));
    }
  }
  return summary;
}

}  // namespace

struct Daemon::Parts {
  asio::io_context io{1};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::optional<StateLock> state_lock;  // held for the process's life: one daemon per state dir
  std::unique_ptr<store::Store> store;
  plugin_host::Registry registry;
  std::unique_ptr<plugin_host::StepDispatcher> dispatcher;
  plugin_host::WorkerPool* pool = nullptr;  // the dispatcher, when plugins are isolated
  std::unique_ptr<engine::Engine> engine;
  WorkflowSet workflow_set;
  std::vector<triggers::PluginTrigger> plugin_triggers;
  std::vector<triggers::ScheduleTrigger> schedules;
  std::unique_ptr<server::ControlServer> control;
  std::unique_ptr<store::TrackStore> track_store;
  std::unique_ptr<store::ModelStore> model_store;    // engagement model versions and examples
  std::unique_ptr<store::ModelRegistry> models;      // the models.* services, /v1/models
  std::unique_ptr<store::OptimizeStore> optimize_store;  // optimize.choose's experiments
  std::unique_ptr<store::PostsStore> posts_store;        // posts.top: the best performers
  std::unique_ptr<server::TrackServer> track;  // null when `listen` is empty
  json secrets = json::object();               // conversion.<source> for the tracking server
  // track.public_url, applied again on SIGHUP; short_url() reads it from run threads too.
  mutable std::mutex public_url_mutex;
  std::string public_url;
  server::MetricsRegistry metrics;
  asio::signal_set signals{io};
  asio::steady_timer watchdog{io};
  asio::steady_timer drain_timer{io};
  asio::steady_timer retention_timer{io};
  asio::system_timer wait_timer{io};  // the earliest durable timer (a step's wait)
  std::optional<store::Millis> wait_timer_due;
  bool purge_armed = false;
  std::function<void()> schedule_purge;
  std::chrono::microseconds watchdog_interval{0};
  std::chrono::steady_clock::time_point drain_deadline;
  int exit_status = 0;
  std::map<std::string, std::uint64_t> restarts_reported;
  std::map<std::string, std::uint64_t> track_reported;  // tracking totals already counted
  std::map<std::string, std::uint64_t> crashes_reported;
};

Daemon::Daemon(DaemonConfig config, Logger& logger, ConfigLoader reload)
    : config_(std::move(config)),
      reload_(std::move(reload)),
      logger_(logger),
      parts_(std::make_unique<Parts>()) {}

void Daemon::apply_reloaded(const DaemonConfig& next) {
  std::vector<std::string> needs_restart;
  auto compare = [&](bool same, const char* name) {
    if (!same) needs_restart.emplace_back(name);
  };
  compare(next.state_dir == config_.state_dir, "state_dir");
  compare(next.workflows_dir == config_.workflows_dir, "workflows");
  compare(next.plugin_dirs == config_.plugin_dirs, "plugin_dirs");
  compare(next.control == config_.control, "control");
  compare(next.control_token_file == config_.control_token_file, "control_token_file");
  compare(next.control_group == config_.control_group, "control_group");
  compare(next.listen == config_.listen, "listen");
  compare(next.workers == config_.workers, "workers");
  compare(next.worker_memory_limit == config_.worker_memory_limit, "worker_memory_limit");
  compare(next.isolate_plugins == config_.isolate_plugins, "isolate_plugins");
  compare(next.step_grace == config_.step_grace, "step_grace");
  compare(next.plugins == config_.plugins, "plugins");
  // The tracking server reads these once, at its start (track.public_url applies below).
  compare(next.track.raw_ip == config_.track.raw_ip, "track.raw_ip");
  compare(next.track.trust_forwarded_for == config_.track.trust_forwarded_for,
          "track.trust_forwarded_for");
  compare(next.track.duplicate_window == config_.track.duplicate_window, "track.duplicate_window");
  compare(next.track.attribution_window == config_.track.attribution_window,
          "track.attribution_window");
  compare(next.track.replay_window == config_.track.replay_window, "track.replay_window");
  compare(next.track.request_timeout == config_.track.request_timeout, "track.request_timeout");
  compare(next.track.click_sync_full == config_.track.click_sync_full, "track.click_sync");
  if (next.track.public_url != config_.track.public_url) {
    {
      std::lock_guard lock(parts_->public_url_mutex);
      parts_->public_url = next.track.public_url;
    }
    config_.track.public_url = next.track.public_url;
    logger_.info("track.public_url applied: new short links read " + short_url("<code>"));
  }
  auto secrets = load_secrets(next);
  if (!secrets) {
    logger_.error("secrets not reloaded, runs keep the previous ones: " + secrets.error().message);
  } else {
    parts_->engine->set_secrets(*secrets, secrets_origin(next));
    parts_->secrets = *secrets;
    config_.secrets_file = next.secrets_file;
  }
  logger_.set_threshold(next.log_level);
  config_.log_level = next.log_level;
  config_.shutdown_grace = next.shutdown_grace;
  config_.artifact_retention = next.artifact_retention;
  if (!needs_restart.empty()) {
    std::string names;
    for (const auto& name : needs_restart) names += (names.empty() ? "" : ", ") + name;
    logger_.warn("changed in the config but applied only after a restart of reelflowd: " + names);
  }
}

Daemon::~Daemon() = default;

int Daemon::run() {
  Parts& p = *parts_;
  logger_.set_threshold(config_.log_level);
  auto fatal = [&](const std::string& message) {
    logger_.error(message);
    notify("STATUS=failed to start: " + message);
    return 1;
  };

  std::error_code ec;
  fs::create_directories(config_.state_dir, ec);
  if (ec) return fatal("cannot create the state dir " + config_.state_dir.string() + ": " + ec.message());
  // Before the database and the click log: a second daemon on this state dir stops here.
  auto locked = StateLock::acquire(config_.state_dir);
  if (!locked) return fatal(locked.error().message);
  p.state_lock.emplace(std::move(*locked));
  auto opened = store::open_sqlite_store(store::database_path(config_.state_dir));
  if (!opened) return fatal(opened.error().message);
  p.store = std::move(*opened);

  auto secrets = load_secrets(config_);
  if (!secrets) return fatal(secrets.error().message);
  p.secrets = *secrets;
  auto track_store = store::TrackStore::open(
      store::database_path(config_.state_dir), 5000, config_.track.click_sync_full,
      [this](const std::string& problem) { logger_.error(problem); });
  if (!track_store) return fatal(track_store.error().message);
  p.track_store = std::move(*track_store);
  // The engagement model's registry (models.* services, /v1/models); reinstalls the active
  // version's file if a crash left it missing or stale.
  auto model_store = store::ModelStore::open(store::database_path(config_.state_dir));
  if (!model_store) return fatal(model_store.error().message);
  p.model_store = std::move(*model_store);
  p.models = std::make_unique<store::ModelRegistry>(
      *p.model_store, *p.store,
      store::ModelRegistryConfig{
          config_.state_dir / "models", config_.state_dir / "artifacts",
          [](store::Millis at, const std::string& zone) -> std::optional<int> {
            auto loaded = triggers::TimeZone::load(zone);
            if (!loaded) return std::nullopt;
            const std::int64_t local = loaded->to_local(at / 1000);
            return static_cast<int>(((local % 86400) + 86400) % 86400 / 3600);
          }});
  if (auto repaired = p.models->repair(); !repaired) {
    logger_.error("models: " + repaired.error().message);
  } else {
    for (const auto& line : *repaired) logger_.warn("models: " + line);
  }
  auto optimize_store = store::OptimizeStore::open(store::database_path(config_.state_dir));
  if (!optimize_store) return fatal(optimize_store.error().message);
  p.optimize_store = std::move(*optimize_store);
  auto posts_store = store::PostsStore::open(store::database_path(config_.state_dir));
  if (!posts_store) return fatal(posts_store.error().message);
  p.posts_store = std::move(*posts_store);

  std::vector<fs::path> plugin_dirs = config_.plugin_dirs;
  for (const auto& dir : plugin_dirs) {
    for (const auto& problem : p.registry.load_dir(dir)) logger_.warn(problem.message);
  }
  fs::path builtin = plugin_host::builtin_plugin_dir();
  if (fs::is_directory(builtin, ec)) {
    for (const auto& problem : p.registry.load_dir(builtin)) logger_.warn(problem.message);
    plugin_dirs.push_back(builtin);
  }
  logger_.info("loaded " + std::to_string(p.registry.plugins().size()) + " plugin(s)");

  if (config_.isolate_plugins) {
    plugin_host::WorkerPoolConfig pool_config;
    pool_config.worker_executable = plugin_host::default_worker_executable();
    pool_config.plugin_dirs = plugin_dirs;
    pool_config.max_workers = static_cast<std::size_t>(config_.workers);
    pool_config.memory_limit_bytes = config_.worker_memory_limit;
    pool_config.cancel_grace = std::chrono::milliseconds(
        static_cast<long long>(config_.step_grace * 1000));
    pool_config.plugin_config = config_.plugins;
    pool_config.logger = &logger_;
    auto pool = std::make_unique<plugin_host::WorkerPool>(std::move(pool_config));
    p.pool = pool.get();
    p.dispatcher = std::move(pool);
  } else {
    p.dispatcher = std::make_unique<plugin_host::InProcessDispatcher>(config_.plugins);
  }

  engine::EngineConfig engine_config;
  engine_config.artifact_root = config_.state_dir / "artifacts";
  engine_config.accounts_dir = config_.state_dir / "accounts";
  engine_config.max_active_runs = config_.workers;
  engine_config.secrets = *secrets;
  engine_config.secrets_origin = secrets_origin(config_);
  engine_config.plugin_config = config_.plugins;
  engine_config.host_call = [this](std::string_view service, const json& request) {
    return host_call(service, request);
  };
  p.engine = std::make_unique<engine::Engine>(
      [&p](std::function<void()> work) { asio::post(p.io, std::move(work)); }, *p.store,
      p.registry, *p.dispatcher, logger_, engine_config);

  auto& step_durations = p.metrics.histogram(
      "reelflow_step_duration_seconds", "Duration of step executions by step type",
      {"step_type"}, server::kStepDurationBuckets);
  auto& steps_total = p.metrics.counter("reelflow_steps_total",
                                        "Step executions by step type and final state",
                                        {"step_type", "state"});
  p.engine->on_step([&step_durations, &steps_total](const std::string& step_type, double seconds,
                                                     std::string_view state) {
    step_durations.observe({step_type}, seconds);
    steps_total.inc({step_type, std::string(state)});
  });
  // One timer for the earliest pending wait, re-armed whenever the engine changes.
  std::function<void()> arm_wait_timer;
  arm_wait_timer = [&p, &arm_wait_timer]() {
    auto due = p.engine->next_timer_due();
    if (due == p.wait_timer_due) return;
    p.wait_timer_due = due;
    if (!due) {
      p.wait_timer.cancel();
      return;
    }
    p.wait_timer.expires_at(std::chrono::system_clock::time_point(std::chrono::milliseconds(*due)));
    p.wait_timer.async_wait([&p, &arm_wait_timer](const boost::system::error_code& error) {
      if (error) return;  // re-armed or stopped
      p.wait_timer_due.reset();
      p.engine->fire_due_timers(engine::now_millis());
      arm_wait_timer();
    });
  };
  p.engine->on_change([this, &p, &arm_wait_timer] {
    arm_wait_timer();
    if (!p.purge_armed && p.schedule_purge) p.schedule_purge();  // a run may have finished
    auto counts = parts_->engine->counts();
    notify("STATUS=" + std::to_string(counts.active) + " runs active, " +
           std::to_string(counts.queued) + " queued" +
           (parts_->engine->draining() ? ", shutting down" : ""));
  });

  // Workflows and triggers: (re)loaded together.
  auto load_workflows = [this, &p]() {
    auto report = p.workflow_set.load(config_.workflows_dir, p.registry);
    for (const auto& line : report.diagnostics) logger_.error(line);
    if (report.kept_previous > 0) {
      logger_.warn(std::to_string(report.kept_previous) +
                   " workflow file(s) have errors; their previously loaded version keeps running");
    }
    auto named = p.workflow_set.by_name();
    if (auto set = p.engine->set_workflows(named); !set) logger_.error(set.error().message);
    for (auto& trigger : p.plugin_triggers) trigger.stop();
    for (auto& schedule : p.schedules) schedule.stop();
    p.plugin_triggers.clear();
    p.schedules.clear();
    auto sink = [&p, this](triggers::TriggerEvent event) {
      auto submitted = p.engine->submit(event);
      if (!submitted) {
        logger_.error("cannot start a run: " + submitted.error().message,
                      {{}, {}, {}, event.workflow});
      }
    };
    // Relative paths in trigger options are taken from the working directory (/srv/reelflow
    // under the systemd unit).
    std::error_code cwd_error;
    const fs::path base_dir = fs::current_path(cwd_error);
    for (const auto& [name, loaded] : named) {
      for (const auto& trigger : loaded.on.plugin_triggers) {
        // The workflow was validated against this registry, which never changes while running.
        const plugin_host::TriggerTypeInfo* type = p.registry.find_trigger(trigger.type);
        if (type == nullptr) {
          logger_.error("no loaded plugin provides trigger type " + trigger.type,
                        {{}, {}, {}, name});
          continue;
        }
        const LogFields fields{{}, {}, type->plugin->name, name};
        auto options = plugin_host::normalize_trigger_options(*type, trigger.options, base_dir);
        if (!options) {
          logger_.error(options.error().message, fields);
          continue;
        }
        const std::string& plugin_name = type->plugin->name;
        const json plugin_config =
            config_.plugins.is_object() && config_.plugins.contains(plugin_name)
                ? config_.plugins[plugin_name]
                : json::object();
        auto started = triggers::PluginTrigger::start(p.io, logger_, name, *type, plugin_config,
                                                      *options, sink);
        if (started) {
          p.plugin_triggers.push_back(std::move(*started));
          logger_.info("started trigger " + type->name + ": " + trigger_summary(*type, *options),
                       fields);
        } else {
          logger_.error(started.error().message + "; the workflow's other triggers still work",
                        fields);
        }
      }
      if (loaded.on.schedule) {
        auto started = triggers::ScheduleTrigger::start(p.io, logger_, name, *loaded.on.schedule, sink);
        if (started) {
          p.schedules.push_back(std::move(*started));
        } else {
          logger_.error(started.error().message, {{}, {}, {}, name});
        }
      }
    }
    logger_.info("loaded " + std::to_string(named.size()) + " workflow(s) from " +
                 config_.workflows_dir.string());
  };
  load_workflows();
  if (auto recovered = p.engine->recover(); !recovered) return fatal(recovered.error().message);
  arm_wait_timer();  // waits recorded before the restart

  // The control API.
  server::ControlServerConfig control_config;
  auto endpoint = server::parse_control_endpoint(config_.control);
  if (!endpoint) return fatal(endpoint.error().message);
  control_config.endpoints.push_back(*endpoint);
  control_config.socket_group = config_.control_group;
  if (config_.control_token_file) {
    std::ifstream in(*config_.control_token_file);
    std::getline(in, control_config.token);
    while (!control_config.token.empty() && std::isspace(static_cast<unsigned char>(
                                                 control_config.token.back()))) {
      control_config.token.pop_back();  // a token file written on Windows ends in \r
    }
    if (control_config.token.empty()) {
      return fatal(config_.control_token_file->string() + ": cannot read the control token");
    }
  }
  if (endpoint->to_string().starts_with("unix:")) {
    fs::create_directories(fs::path(config_.control.substr(5)).parent_path(), ec);
  }
  p.control = std::make_unique<server::ControlServer>(p.io, *this, control_config, logger_);
  if (auto started = p.control->start(); !started) return fatal(started.error().message);

  // The public tracking server: short links, conversion postbacks, the pixel. The daemon makes
  // the short URLs (short_url()), so that a reload can change track.public_url.
  p.public_url = config_.track.public_url;
  if (!config_.listen.empty()) {
    server::TrackServerConfig track_config;
    track_config.listen = config_.listen;
    track_config.raw_ip = config_.track.raw_ip;
    track_config.trust_forwarded_for = config_.track.trust_forwarded_for;
    track_config.duplicate_window_ms =
        static_cast<std::int64_t>(config_.track.duplicate_window * 1000);
    track_config.attribution_window_ms =
        static_cast<std::int64_t>(config_.track.attribution_window * 1000);
    track_config.replay_window_s = static_cast<std::int64_t>(config_.track.replay_window);
    track_config.read_timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(config_.track.request_timeout * 1000));
    // The visitor hash's salt: per installation, kept in the state dir, mode 0600.
    auto salt = load_or_create_visitor_salt(config_.state_dir / "visitor_salt");
    if (!salt) return fatal(salt.error().message);
    for (const auto& note : salt->notes) logger_.warn(note);
    track_config.visitor_salt = std::move(salt->salt);
    p.track = std::make_unique<server::TrackServer>(
        p.io, *p.track_store, track_config,
        [&p](const std::string& source) -> std::optional<std::string> {
          auto found = p.secrets.find("conversion." + source);
          if (found == p.secrets.end() || !found->is_string()) return std::nullopt;
          return found->get<std::string>();
        },
        logger_);
    if (auto started = p.track->start(); !started) return fatal(started.error().message);
    logger_.info("tracking links on " + short_url("<code>") + " (listening on " +
                 p.track->bound() + ")");
  }

  // Signals: SIGHUP reloads, SIGTERM/SIGINT drain.
  std::function<void()> wait_for_signal;
  std::function<void()> check_drained;
  check_drained = [this, &p, &check_drained]() {
    auto counts = p.engine->counts();
    if (counts.active == 0 || std::chrono::steady_clock::now() >= p.drain_deadline) {
      if (counts.active > 0) {
        logger_.warn(std::to_string(counts.active) +
                     " run(s) still active at the end of the shutdown grace; they resume at the "
                     "next start");
      }
      p.control->stop();
      if (p.track) p.track->stop();
      p.io.stop();
      return;
    }
    p.drain_timer.expires_after(std::chrono::milliseconds(100));
    p.drain_timer.async_wait([&check_drained](const boost::system::error_code& error) {
      if (!error) check_drained();
    });
  };
  p.signals.add(SIGTERM);
  p.signals.add(SIGINT);
  p.signals.add(SIGHUP);
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit (RLIMIT_FSIZE) reached makes the write fail (EFBIG), as a full disk does,
  // instead of killing the daemon: the store reports it and the tracking server answers 503.
  std::signal(SIGXFSZ, SIG_IGN);
  wait_for_signal = [this, &p, &wait_for_signal, &load_workflows, &check_drained]() {
    p.signals.async_wait([this, &p, &wait_for_signal, &load_workflows, &check_drained](
                             const boost::system::error_code& error, int signal_number) {
      if (error) return;
      if (signal_number == SIGHUP) {
        notify("RELOADING=1");
        logger_.info("reloading the config and workflows (SIGHUP)");
        if (auto next = reload_(); !next) {
          std::string message = next.error().message;
          for (std::size_t start = 0; start < message.size();) {
            auto end = std::min(message.find('\n', start), message.size());
            logger_.error(message.substr(start, end - start));
            start = end + 1;
          }
          logger_.error("the config has errors; the running settings stay");
        } else {
          apply_reloaded(*next);
        }
        load_workflows();
        notify("READY=1");
        wait_for_signal();
        return;
      }
      if (p.engine->draining()) {
        logger_.warn("second stop signal: stopping now; active runs resume at the next start");
        p.drain_deadline = std::chrono::steady_clock::now();
        return;
      }
      notify("STOPPING=1");
      logger_.info("stopping: no new runs; active runs get " +
                   std::to_string(static_cast<int>(config_.shutdown_grace)) + "s to finish");
      for (auto& trigger : p.plugin_triggers) trigger.stop();
      for (auto& schedule : p.schedules) schedule.stop();
      p.engine->drain();
      p.drain_deadline = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(static_cast<long long>(config_.shutdown_grace * 1000));
      check_drained();
      wait_for_signal();
    });
  };
  wait_for_signal();

  // Watchdog pings, only when systemd asks for them (no wake-ups otherwise).
  uint64_t watchdog_usec = 0;
  std::function<void()> ping;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    p.watchdog_interval = std::chrono::microseconds(watchdog_usec / 2);
    ping = [&p, &ping]() {
      notify("WATCHDOG=1");
      p.watchdog.expires_after(p.watchdog_interval);
      p.watchdog.async_wait([&ping](const boost::system::error_code& error) {
        if (!error) ping();
      });
    };
    ping();
  }

  // Artifact retention: the timer is armed for the moment the oldest finished run's files expire,
  // and not at all while no finished run keeps files, so an idle daemon is not woken for it.
  std::function<void()> purge;
  p.schedule_purge = [this, &p, &purge]() {
    auto oldest = p.store->finished_runs_before(std::numeric_limits<store::Millis>::max(), 1);
    if (!oldest || oldest->empty() || !oldest->front().finished_at) {
      p.purge_armed = false;
      return;
    }
    auto due = *oldest->front().finished_at +
               static_cast<store::Millis>(config_.artifact_retention * 1000);
    auto delay = std::chrono::milliseconds(std::max<store::Millis>(0, due - engine::now_millis()));
    p.purge_armed = true;
    p.retention_timer.expires_after(delay + std::chrono::seconds(1));
    p.retention_timer.async_wait([&purge](const boost::system::error_code& error) {
      if (!error) purge();
    });
  };
  purge = [this, &p]() {
    auto cutoff =
        engine::now_millis() - static_cast<store::Millis>(config_.artifact_retention * 1000);
    if (auto old_runs = p.store->finished_runs_before(cutoff, 500)) {
      for (const auto& old_run : *old_runs) {
        std::error_code remove_error;
        fs::remove_all(config_.state_dir / "artifacts" / old_run.id, remove_error);
        if (remove_error) {
          logger_.warn("cannot remove artifacts: " + remove_error.message(), {old_run.id});
          continue;
        }
        (void)p.store->mark_artifacts_purged(old_run.id, engine::now_millis());
      }
    }
    p.schedule_purge();
  };
  purge();

  logger_.info("reelflowd " REELFLOW_VERSION " ready; control API on " + config_.control);
  notify("READY=1");
  {
    auto counts = p.engine->counts();
    notify("STATUS=" + std::to_string(counts.active) + " runs active, " +
           std::to_string(counts.queued) + " queued");
  }
  p.io.run();
  logger_.info("stopped");
  if (p.engine->counts().active > 0) {
    // Run threads are still inside steps; their state is in the store and resumes at the next
    // start. Leave without joining them (worker processes die with us: PR_SET_PDEATHSIG).
    std::fflush(nullptr);
    std::_Exit(p.exit_status);
  }
  return p.exit_status;
}

nlohmann::json Daemon::status() {
  Parts& p = *parts_;
  json counts = json::object();
  if (auto by_state = p.store->count_runs_by_state()) {
    for (const auto& entry : *by_state) counts[std::string(store::to_string(entry.state))] = entry.count;
  }
  auto engine_counts = p.engine->counts();
  json status = {
      {"version", REELFLOW_VERSION},
      {"pid", ::getpid()},
      {"uptime_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - p.started).count()},
      {"state", p.engine->draining() ? "draining" : "running"},
      {"runs", counts},
      {"queued", engine_counts.queued},
      {"active", engine_counts.active},
      {"workflows", p.engine->workflows().size()},
      {"state_dir", config_.state_dir.string()}};
  if (p.pool != nullptr) {
    auto stats = p.pool->stats();
    status["workers"] = {{"busy", stats.busy}, {"idle", stats.idle}, {"restarts", stats.restarts},
                         {"crashes", stats.crashes}, {"max", config_.workers}};
  } else {
    status["workers"] = {{"busy", 0}, {"idle", 0}, {"restarts", 0}, {"crashes", 0},
                         {"isolated", false}};
  }
  if (p.track) {
    const auto counters = p.track->counters();
    status["tracking"] = {{"listen", p.track->bound()},
                          {"public_url", short_url("").substr(0, short_url("").size() - 3)},
                          {"redirects", counters.redirects},
                          {"not_found", counters.not_found},
                          {"unavailable", counters.unavailable},
                          {"conversions", counters.conversions},
                          {"rejected", counters.rejected},
                          {"clicks_pending", p.track_store->clicks_pending()},
                          {"clicks_committed", p.track_store->clicks_committed()},
                          {"click_batches", p.track_store->batches_committed()},
                          {"open_connections", p.track->open_connections()}};
  }
  return status;
}

nlohmann::json Daemon::workflows() {
  Parts& p = *parts_;
  json list = json::array();
  for (const auto& [name, loaded] : p.engine->workflows()) {
    json triggers = json::array();
    std::error_code cwd_error;
    const fs::path base_dir = fs::current_path(cwd_error);
    for (const auto& trigger : loaded.on.plugin_triggers) {
      // The options as the trigger receives them: relative paths resolved, defaults filled in.
      json options = trigger.options;
      std::string summary;
      if (const auto* type = p.registry.find_trigger(trigger.type)) {
        if (auto normalized =
                plugin_host::normalize_trigger_options(*type, trigger.options, base_dir)) {
          options = std::move(*normalized);
        }
        summary = trigger_summary(*type, options);
      }
      triggers.push_back({{"type", trigger.key},
                          {"trigger_type", trigger.type},
                          {"options", options},
                          {"summary", summary}});
    }
    if (loaded.on.schedule) {
      triggers.push_back({{"type", "schedule"},
                          {"cron", loaded.on.schedule->cron},
                          {"timezone", loaded.on.schedule->timezone},
                          {"summary", "\"" + loaded.on.schedule->cron + "\" " +
                                          loaded.on.schedule->timezone}});
    }
    if (loaded.on.manual) triggers.push_back({{"type", "manual"}});
    bool paused = false;
    if (auto stored = p.store->get_workflow(name); stored && *stored) paused = (*stored)->paused;
    list.push_back({{"name", name},
                    {"file", loaded.file.string()},
                    {"content_hash", loaded.content_hash},
                    {"paused", paused},
                    {"steps", loaded.steps.size()},
                    {"triggers", triggers}});
  }
  return {{"workflows", list}};
}

server::ControlResult<nlohmann::json> Daemon::runs(const server::RunFilter& filter) {
  store::RunFilter query;
  query.workflow = filter.workflow;
  query.limit = filter.limit;
  if (filter.state) {
    auto state = store::parse_run_state(*filter.state);
    if (!state) return tl::unexpected(server::ControlError{400, state.error().message});
    query.state = *state;
  }
  auto found = parts_->store->list_runs(query);
  if (!found) return tl::unexpected(server::ControlError{500, found.error().message});
  json list = json::array();
  for (const auto& entry : *found) list.push_back(run_json(entry));
  return json{{"runs", list}};
}

server::ControlResult<nlohmann::json> Daemon::run(const std::string& id) {
  auto found = parts_->store->get_run(id);
  if (!found) return tl::unexpected(server::ControlError{500, found.error().message});
  if (!*found) return tl::unexpected(server::ControlError{404, "no run " + id});
  json entry = run_json(**found);
  auto steps = parts_->store->run_steps(id);
  if (!steps) return tl::unexpected(server::ControlError{500, steps.error().message});
  json list = json::array();
  for (const auto& step : *steps) {
    json item = {{"id", step.key.step_id},
                 {"attempt", step.key.attempt},
                 {"state", store::to_string(step.state)},
                 {"started_at", iso_time(step.started_at)},
                 {"finished_at", iso_time(step.finished_at)},
                 {"outputs", step.outputs}};
    if (step.key.item != store::kNoItem) item["item"] = step.key.item;
    if (step.started_at && step.finished_at) {
      item["seconds"] = static_cast<double>(*step.finished_at - *step.started_at) / 1000.0;
    }
    if (!step.error.empty()) item["error"] = step.error;
    list.push_back(std::move(item));
  }
  entry["steps"] = std::move(list);
  entry["artifact_dir"] = (config_.state_dir / "artifacts" / id).string();
  return entry;
}

server::ControlResult<nlohmann::json> Daemon::trigger(const std::string& workflow,
                                                      const nlohmann::json& body) {
  json trigger = {{"event", "manual"}};
  if (body.is_object() && body.contains("input")) {
    if (!body["input"].is_string()) {
      return tl::unexpected(server::ControlError{400, "'input' must be a file path"});
    }
    fs::path input = body["input"].get<std::string>();
    if (input.is_relative()) {
      return tl::unexpected(server::ControlError{400, "'input' must be an absolute path, got " +
                                                          input.string()});
    }
    std::error_code ec;
    auto size = fs::file_size(input, ec);
    if (ec) {
      return tl::unexpected(
          server::ControlError{400, "input " + input.string() + ": " + ec.message()});
    }
    trigger["file"] = input.lexically_normal().string();
    trigger["name"] = input.filename().string();
    trigger["size"] = size;
  }
  auto workflow_it = parts_->engine->workflows().find(workflow);
  if (workflow_it == parts_->engine->workflows().end()) {
    return tl::unexpected(server::ControlError{404, "no workflow named '" + workflow + "'"});
  }
  if (auto stored = parts_->store->get_workflow(workflow); stored && *stored && (*stored)->paused) {
    return tl::unexpected(server::ControlError{
        409, "workflow '" + workflow + "' is paused; 'reelflow resume " + workflow + "' first"});
  }
  auto submitted = parts_->engine->submit({workflow, trigger, "manual:" + random_hex(12)});
  if (!submitted) return tl::unexpected(control_error(submitted.error()));
  return json{{"run_id", submitted->run_id}, {"created", submitted->created}};
}

server::ControlResult<nlohmann::json> Daemon::retry(const std::string& id) {
  auto done = parts_->engine->retry(id);
  if (!done) return tl::unexpected(control_error(done.error()));
  return json{{"run_id", id}, {"state", "queued"}};
}

server::ControlResult<nlohmann::json> Daemon::cancel(const std::string& id) {
  auto done = parts_->engine->cancel(id);
  if (!done) return tl::unexpected(control_error(done.error()));
  return json{{"run_id", id}, {"cancel_requested", true}};
}

namespace {

std::optional<store::TimerId> parse_post_id(const std::string& id) {
  store::TimerId value = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (ec != std::errc{} || end != id.data() + id.size() || value <= 0) return std::nullopt;
  return value;
}

}  // namespace

server::ControlResult<nlohmann::json> Daemon::schedule(double days) {
  const auto until = engine::now_millis() + static_cast<store::Millis>(days * 86400e3);
  return json{{"posts", parts_->engine->scheduled_posts(until)}};
}

server::ControlResult<nlohmann::json> Daemon::posts(const std::string& account, int limit) {
  auto posts = parts_->store->list_posts(account, 0, limit);
  if (!posts) return tl::unexpected(server::ControlError{500, posts.error().message});
  json list = json::array();
  for (const auto& post : *posts) {
    json metrics = json::object();
    if (auto taken = parts_->store->post_metrics(post.idempotency_key)) {
      for (const auto& entry : *taken) {
        json values = entry.metrics;
        values["taken_at"] = format_iso_time(entry.taken_at);
        metrics[entry.label] = std::move(values);
      }
    }
    list.push_back({{"key", post.idempotency_key},
                    {"run_id", post.run_id},
                    {"step_id", post.step_id},
                    {"step_type", post.step_type},
                    {"platform", post.platform},
                    {"account", post.account},
                    {"post_id", post.post_id},
                    {"url", post.url},
                    {"published_at", format_iso_time(post.published_at)},
                    {"metrics", std::move(metrics)}});
  }
  return json{{"posts", std::move(list)}};
}

server::ControlResult<nlohmann::json> Daemon::accounts() {
  return json{{"accounts", parts_->engine->accounts()}};
}

// The hours publish_at: best learns for an account (optimize/best_time.hpp), from the same
// posts, windows and zone the runner uses; the zone is the account's limits.time_zone (a step's
// time_zone option is not known here), else `time_zone`, else UTC.
server::ControlResult<nlohmann::json> Daemon::best_times(const std::string& account,
                                                         const std::string& time_zone) {
  auto bad = [](int status, std::string message) {
    return tl::unexpected(server::ControlError{status, std::move(message)});
  };
  auto secret = parts_->secrets.find("account." + account);
  if (secret == parts_->secrets.end() || !secret->is_string()) {
    return bad(404, "no account '" + account + "' (no secret account." + account + ")");
  }
  const json record = json::parse(secret->get<std::string>(), nullptr, false);
  if (!record.is_object() || !record.contains("platform") || !record["platform"].is_string()) {
    return bad(400, "account." + account + ": the secret is not a JSON object with a \"platform\"");
  }
  const std::string platform = record["platform"].get<std::string>();
  const json limits = record.contains("limits") ? record["limits"] : json();
  // The platform's windows: those of its first publisher (by name) that declares some.
  plugin_host::PostingRules rules;
  for (const auto& name : parts_->registry.publisher_type_names()) {
    const auto* publisher = parts_->registry.find_publisher(name);
    if (publisher == nullptr || publisher->platform != platform) continue;
    rules = publisher->rules;
    if (!rules.windows.empty()) break;
  }
  auto applied = plugin_host::apply_account_limits(rules, limits);
  if (!applied) return bad(400, "account." + account + ": " + applied.error().message);
  // As the runner: the account's zone wins over a step's (here the query's).
  std::string zone = time_zone.empty() ? "UTC" : time_zone;
  if (limits.is_object() && limits.contains("time_zone") && limits["time_zone"].is_string()) {
    zone = limits["time_zone"].get<std::string>();
  }
  auto loaded = triggers::TimeZone::load(zone);
  if (!loaded) return bad(400, "time_zone: " + loaded.error().message);
  const optimize::BestTimeConfig config;
  const store::Millis now = engine::now_millis();
  auto posts = parts_->store->list_posts(account, now - config.history_ms, 10000);
  if (!posts) return bad(500, posts.error().message);
  std::vector<optimize::PostOutcome> outcomes;
  for (const auto& post : *posts) {
    optimize::PostOutcome outcome{post.published_at, json::object()};
    if (auto pulls = parts_->store->post_metrics(post.idempotency_key)) {
      for (const auto& pull : *pulls) outcome.metrics[pull.label] = pull.metrics;
    }
    outcomes.push_back(std::move(outcome));
  }
  const auto times = optimize::learn_best_times(outcomes, *loaded, applied->windows, now, config);
  const auto next = optimize::best_upcoming_slot(times.scores, *loaded, now);
  json out = optimize::to_json(times, config, next);
  // When publish_at: best would post from now, and what decides it.
  json decided = {{"by", times.decides ? "learned" : "windows"}, {"at", nullptr}};
  if (times.decides) {
    decided["at"] = format_iso_time(next.at_ms);
  } else if (!applied->windows.empty()) {
    if (auto at = engine::next_window_time(applied->windows, zone, now)) {
      decided["at"] = format_iso_time(*at);
    }
  }
  out["publish_at_best"] = std::move(decided);
  out["account"] = account;
  out["platform"] = platform;
  out["time_zone"] = zone;
  out["windows"] = applied->window_texts;
  out["windows_note"] = applied->windows_note;
  out["generated_at"] = format_iso_time(now);
  return out;
}

server::ControlResult<nlohmann::json> Daemon::schedule_cancel(const std::string& id) {
  auto timer = parse_post_id(id);
  if (!timer) return tl::unexpected(server::ControlError{400, "post id must be a number"});
  auto done = parts_->engine->cancel_post(*timer);
  if (!done) return tl::unexpected(control_error(done.error()));
  return *done;
}

server::ControlResult<nlohmann::json> Daemon::schedule_move(const std::string& id,
                                                            const nlohmann::json& body) {
  auto timer = parse_post_id(id);
  if (!timer) return tl::unexpected(server::ControlError{400, "post id must be a number"});
  if (!body.contains("at") || !body["at"].is_string()) {
    return tl::unexpected(server::ControlError{400, "give the new time as {\"at\": ISO 8601}"});
  }
  auto due = parse_iso_time(body["at"].get<std::string>());
  if (!due) return tl::unexpected(server::ControlError{400, "at: " + due.error().message});
  auto done = parts_->engine->move_post(*timer, *due);
  if (!done) return tl::unexpected(control_error(done.error()));
  return *done;
}

server::ControlResult<nlohmann::json> Daemon::pause(const std::string& workflow) {
  auto done = parts_->engine->set_paused(workflow, true);
  if (!done) return tl::unexpected(control_error(done.error()));
  return json{{"workflow", workflow}, {"paused", true}};
}

server::ControlResult<nlohmann::json> Daemon::resume(const std::string& workflow) {
  auto done = parts_->engine->set_paused(workflow, false);
  if (!done) return tl::unexpected(control_error(done.error()));
  return json{{"workflow", workflow}, {"paused", false}};
}

std::string Daemon::metrics() {
  Parts& p = *parts_;
  auto& runs = p.metrics.gauge("reelflow_runs", "Runs by state", {"state"});
  if (auto by_state = p.store->count_runs_by_state()) {
    runs.clear();
    for (const auto& entry : *by_state) {
      runs.set({std::string(store::to_string(entry.state))}, static_cast<double>(entry.count));
    }
  }
  p.metrics.gauge("reelflow_queue_depth", "Runs waiting to start")
      .set(static_cast<double>(p.engine->counts().queued));
  p.metrics.gauge("reelflow_active_runs", "Runs executing now")
      .set(static_cast<double>(p.engine->counts().active));
  if (p.pool != nullptr) {
    auto stats = p.pool->stats();
    // The pool keeps running totals; the counters advance by what is new since the last scrape.
    auto& restarts = p.metrics.counter("reelflow_worker_restarts_total",
                                       "Worker processes replaced after a failure, by plugin",
                                       {"plugin"});
    for (const auto& [plugin, count] : stats.restarts_by_plugin) {
      auto& seen = p.restarts_reported[plugin];
      if (count > seen) restarts.inc({plugin}, static_cast<double>(count - seen));
      seen = count;
    }
    auto& crashes = p.metrics.counter("reelflow_worker_crashes_total",
                                      "Worker processes that crashed, by plugin", {"plugin"});
    for (const auto& [plugin, count] : stats.crashes_by_plugin) {
      auto& seen = p.crashes_reported[plugin];
      if (count > seen) crashes.inc({plugin}, static_cast<double>(count - seen));
      seen = count;
    }
    p.metrics.gauge("reelflow_workers_busy", "Worker processes running a step")
        .set(static_cast<double>(stats.busy));
  }
  if (p.track) {
    const auto counters = p.track->counters();
    auto advance = [&p](const char* name, const char* help, std::uint64_t total) {
      auto& seen = p.track_reported[name];
      if (total > seen) {
        p.metrics.counter(name, help).inc({}, static_cast<double>(total - seen));
      } else {
        p.metrics.counter(name, help);  // listed from the first scrape on, at 0
      }
      seen = total;
    };
    advance("reelflow_track_redirects_total", "Short-link redirects sent (their clicks stored)",
            counters.redirects);
    advance("reelflow_track_not_found_total", "Tracking requests for unknown links or paths",
            counters.not_found);
    advance("reelflow_track_unavailable_total",
            "Redirects refused with 503 because the click could not be stored",
            counters.unavailable);
    advance("reelflow_track_conversions_total", "Conversion postbacks accepted",
            counters.conversions);
    advance("reelflow_track_rejected_total",
            "Conversion postbacks refused (signature, timestamp, body, unknown click)",
            counters.rejected);
    p.metrics.gauge("reelflow_track_clicks_pending", "Clicks in the click log not yet in the database")
        .set(static_cast<double>(p.track_store->clicks_pending()));
    p.metrics.gauge("reelflow_track_connections", "Open connections to the tracking listener")
        .set(static_cast<double>(p.track->open_connections()));
  }
  return p.metrics.render();
}

}  // namespace reelflow::daemon

namespace reelflow::daemon {

namespace {

server::ControlResult<json> control_error(int status, std::string message) {
  return tl::unexpected(server::ControlError{status, std::move(message)});
}

}  // namespace

std::string Daemon::short_url(const std::string& code) const {
  std::string public_url;
  {
    std::lock_guard lock(parts_->public_url_mutex);
    public_url = parts_->public_url;
  }
  if (!public_url.empty()) {
    while (public_url.ends_with('/')) public_url.pop_back();
    return public_url + "/l/" + code;
  }
  if (parts_->track) return parts_->track->short_url(code);
  return "http://" + config_.listen + "/l/" + code;
}

server::ControlResult<json> Daemon::links(const std::string& campaign, int limit) {
  auto list = parts_->track_store->list_links(campaign, limit);
  if (!list) return control_error(500, list.error().message);
  json links = json::array();
  for (const auto& link : *list) links.push_back(track::link_json(link, short_url(link.code)));
  return json{{"links", std::move(links)}};
}

server::ControlResult<json> Daemon::link(const std::string& code) {
  auto found = parts_->track_store->find_link(code);
  if (!found) return control_error(500, found.error().message);
  if (!*found) return control_error(404, "no link " + code);
  json shown = track::link_json(**found, short_url(code));
  auto counts = parts_->track_store->click_counts(code);
  if (!counts) return control_error(500, counts.error().message);
  shown["clicks_total"] = counts->total;
  shown["clicks_human"] = counts->human;
  shown["clicks_bot"] = counts->bot;
  shown["clicks_duplicate"] = counts->duplicate;
  auto conversions = parts_->track_store->conversions_of_link(code);
  if (!conversions) return control_error(500, conversions.error().message);
  json list = json::array();
  double revenue = 0;
  for (const auto& c : *conversions) {
    revenue += c.value;
    list.push_back({{"id", c.id}, {"source", c.source}, {"event", c.event}, {"value", c.value},
                    {"currency", c.currency}, {"order_id", c.order_id},
                    {"at", format_iso_time(c.at)}, {"click", c.click_id}});
  }
  shown["conversions"] = std::move(list);
  shown["revenue"] = revenue;
  return shown;
}

server::ControlResult<json> Daemon::link_create(const json& body) {
  auto made = host_call("links.create", body);
  if (!made) return control_error(400, made.error().message);
  return *made;
}

server::ControlResult<json> Daemon::link_enable(const std::string& code, bool enabled) {
  auto changed = parts_->track_store->set_link_enabled(code, enabled);
  if (!changed) return control_error(500, changed.error().message);
  if (!*changed) return control_error(404, "no link " + code);
  if (parts_->track) parts_->track->forget(code);
  return link(code);
}

server::ControlResult<json> Daemon::report(const std::string& campaign, const std::string& since,
                                           const std::string& by) {
  store::ReportQuery query;
  query.campaign = campaign;
  query.by = by.empty() ? "platform" : by;
  if (query.by != "platform" && query.by != "video" && query.by != "variant" && query.by != "day") {
    return control_error(400, "by must be platform, video, variant or day, got '" + by + "'");
  }
  if (!since.empty()) {
    auto at = parse_iso_time(since.size() == 10 ? since + "T00:00:00Z" : since);
    if (!at) return control_error(400, "since must be a date such as 2026-11-01, got '" + since + "'");
    query.since = *at;
  }
  auto built = parts_->track_store->report(query, engine::now_millis());
  if (!built) return control_error(500, built.error().message);
  (*built)["generated_at"] = format_iso_time(engine::now_millis());
  return *built;
}

server::ControlResult<json> Daemon::experiments() {
  auto list = optimize::experiments_json(*parts_->optimize_store, engine::now_millis());
  if (!list) return control_error(500, list.error().message);
  return *list;
}

server::ControlResult<json> Daemon::experiment(const std::string& name) {
  auto shown = optimize::experiment_json(*parts_->optimize_store, name, engine::now_millis());
  if (!shown) return control_error(500, shown.error().message);
  if (!*shown) return control_error(404, "no experiment " + name);
  return **shown;
}

namespace {

server::ControlResult<json> model_answer(store::RegistryResult<json> answer) {
  if (answer) return std::move(*answer);
  using Kind = store::RegistryError::Kind;
  const Kind kind = answer.error().kind;
  const int status = kind == Kind::invalid     ? 400
                     : kind == Kind::not_found ? 404
                     : kind == Kind::refused   ? 409
                                               : 500;
  return control_error(status, answer.error().message);
}

}  // namespace

server::ControlResult<json> Daemon::models(const std::string& name) {
  return model_answer(parts_->models->list(name));
}

server::ControlResult<json> Daemon::model_rollback(const std::string& version,
                                                   const std::string& name) {
  std::optional<std::int64_t> number;
  if (version != "previous") {
    std::int64_t parsed = 0;
    auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), parsed);
    if (ec != std::errc{} || end != version.data() + version.size() || parsed <= 0) {
      return control_error(400, "a model version is a number such as 3 (or 'previous'), got '" +
                                    version + "'");
    }
    number = parsed;
  }
  auto answer = parts_->models->rollback(number, name, engine::now_millis());
  if (answer) {
    logger_.info("models: version " + answer->value("active", json()).dump() + " of '" +
                 answer->value("name", "") + "' is active (was " +
                 answer->value("previous", json()).dump() + ")");
  }
  return model_answer(std::move(answer));
}

Result<json> Daemon::host_call(std::string_view service, const json& request) {
  if (service.starts_with("models.")) {
    auto answer = parts_->models->call(service, request, engine::now_millis());
    if (!answer) return fail(answer.error().message);
    return *answer;
  }
  if (service == "links.create") {
    auto link = track::link_from_request(request);
    if (!link) return tl::unexpected(link.error());
    auto made = parts_->track_store->create_link(std::move(*link), engine::now_millis());
    if (!made) return tl::unexpected(made.error());
    // Run threads call this too: the tracking server's cache belongs to the loop thread.
    if (parts_->track) {
      asio::post(parts_->io, [this, code = made->code] { parts_->track->forget(code); });
    }
    return track::link_json(*made, short_url(made->code));
  }
  if (service == "optimize.choose") {
    return optimize::choose_service(*parts_->optimize_store, request, engine::now_millis());
  }
  if (service == "posts.top") {
    // The clicks already logged count: wait for the click log's import first.
    if (auto imported = parts_->track_store->import_clicks(); !imported) {
      return tl::unexpected(imported.error());
    }
    return store::top_posts_service(*parts_->posts_store, request, engine::now_millis());
  }
  return fail("no daemon service '" + std::string(service) +
              "' (known: links.create, optimize.choose, posts.top, models.record_example, "
              "models.examples, models.register)");
}

}  // namespace reelflow::daemon
