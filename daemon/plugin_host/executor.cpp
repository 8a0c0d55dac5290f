// The host side of one step execution. The rf_host table is a set of static functions; the rf_run
// handle a plugin receives is really a RunContext (below) that holds the caller's RunServices, the
// outcome being built and the executor's cancel flag.
//
// Exceptions and the C boundary: plugin calls are not wrapped (a C++ exception cannot meaningfully
// cross a C ABI, and a plugin that lets one escape is a bug the worker process contains). The other
// direction is ours to guard: every rf_host function catches what the RunServices functions throw,
// so no host exception ever unwinds through plugin frames.
#include "plugin_host/executor.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <utility>

namespace reelflow::plugin_host {

namespace {

// What an rf_run* points at. rf_host functions may be called from any thread during the run
// (plugin.h), so everything they touch is guarded by `mutex`.
struct RunContext {
  const RunServices& services;
  StepOutcome& outcome;
  const std::atomic<bool>& cancel_requested;
  std::string artifact_dir;
  std::string step_type;
  std::mutex mutex;
  bool fail_called = false;
  // The last rf_host.call answer that did not fit the plugin's buffer: the call that follows with
  // a larger buffer (same service, same request text) gets this copy instead of a second trip to
  // the daemon. Services are idempotent, so this only saves the round trip.
  struct UnfitAnswer {
    std::string service;
    std::string request;
    std::string answer;
  };
  std::optional<UnfitAnswer> unfit_answer;
};

RunContext* context_of(rf_run* run) { return reinterpret_cast<RunContext*>(run); }
rf_run* handle_of(RunContext* context) { return reinterpret_cast<rf_run*>(context); }

// log(NULL, ...) during create and destroy has no run to report to: it goes to the services of
// the run() that is creating the instance on this thread, or to stderr (journald under systemd).
thread_local const RunServices* t_creating_for = nullptr;

const char* level_name(rf_log_level level) {
  switch (level) {
    case RF_LOG_DEBUG:
      return "debug";
    case RF_LOG_INFO:
      return "info";
    case RF_LOG_WARN:
      return "warn";
    case RF_LOG_ERROR:
      return "error";
  }
  return "log";
}

void log_to_stderr(rf_log_level level, std::string_view message) noexcept {
  std::fprintf(stderr, "reelflow plugin [%s]: %.*s\n", level_name(level),
               static_cast<int>(message.size()), message.data());
}

// Where host-side trouble inside a callback is reported: the run's log if it works, else stderr.
void report(const RunServices* services, rf_log_level level, const std::string& message) noexcept {
  try {
    if (services != nullptr && services->log) {
      services->log(level, message);
      return;
    }
  } catch (...) {  // the log itself failed: fall through to stderr
  }
  log_to_stderr(level, message);
}

std::string describe_exception(const char* callback) {
  std::string what = "unknown exception";
  try {
    throw;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return std::string("host service ") + callback + " failed: " + what;
}

// The secret()/state_get() contract: the length without NUL, or -1 when missing; the value is
// copied (NUL-terminated) only if it fits.
long copy_out(const std::optional<std::string>& value, char* buf, size_t cap) {
  if (!value) return -1;
  if (buf != nullptr && cap > value->size()) {
    std::memcpy(buf, value->data(), value->size());
    buf[value->size()] = '\0';
  }
  return static_cast<long>(value->size());
}

void host_log(rf_run* run, rf_log_level level, const char* message) noexcept {
  std::string_view text = message != nullptr ? message : "";
  if (run == nullptr) {
    report(t_creating_for, level, std::string(text));
    return;
  }
  RunContext* context = context_of(run);
  try {
    std::lock_guard lock(context->mutex);
    if (context->services.log) context->services.log(level, text);
  } catch (...) {
    log_to_stderr(RF_LOG_ERROR, describe_exception("log"));
  }
}

void host_progress(rf_run* run, double fraction, const char* message) noexcept {
  if (run == nullptr) return;
  RunContext* context = context_of(run);
  try {
    std::lock_guard lock(context->mutex);
    if (context->services.progress) {
      context->services.progress(fraction, message != nullptr ? message : "");
    }
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("progress"));
  }
}

int host_cancelled(rf_run* run) noexcept {
  if (run == nullptr) return 0;
  RunContext* context = context_of(run);
  if (context->cancel_requested.load()) return 1;
  try {
    std::lock_guard lock(context->mutex);
    return context->services.cancelled && context->services.cancelled() ? 1 : 0;
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("cancelled"));
    return 0;
  }
}

const char* host_artifact_dir(rf_run* run) noexcept {
  if (run == nullptr) return "";
  return context_of(run)->artifact_dir.c_str();
}

long host_secret(rf_run* run, const char* name, char* buf, size_t cap) noexcept {
  if (run == nullptr || name == nullptr) return -1;
  RunContext* context = context_of(run);
  try {
    std::lock_guard lock(context->mutex);
    if (!context->services.secret) return -1;
    return copy_out(context->services.secret(name), buf, cap);
  } catch (...) {
    // The message names the service, never the secret's value.
    report(&context->services, RF_LOG_WARN, describe_exception("secret"));
    return -1;
  }
}

long host_state_get(rf_run* run, const char* key, char* buf, size_t cap) noexcept {
  if (run == nullptr || key == nullptr) return -1;
  RunContext* context = context_of(run);
  try {
    std::lock_guard lock(context->mutex);
    if (!context->services.state_get) return -1;
    return copy_out(context->services.state_get(key), buf, cap);
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("state_get"));
    return -1;
  }
}

int host_state_set(rf_run* run, const char* key, const char* value) noexcept {
  if (run == nullptr || key == nullptr) return -1;
  RunContext* context = context_of(run);
  try {
    std::lock_guard lock(context->mutex);
    if (!context->services.state_set) return -1;
    std::optional<std::string_view> stored;
    if (value != nullptr) stored = value;
    return context->services.state_set(key, stored) ? 0 : -1;
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("state_set"));
    return -1;
  }
}

int host_set_output(rf_run* run, const char* json_object) noexcept {
  if (run == nullptr) return -1;
  RunContext* context = context_of(run);
  try {
    auto value = json_object != nullptr
                     ? nlohmann::json::parse(json_object, nullptr, /*allow_exceptions=*/false)
                     : nlohmann::json(nlohmann::json::value_t::discarded);
    std::lock_guard lock(context->mutex);
    if (value.is_discarded() || !value.is_object()) {
      if (context->services.log) {
        context->services.log(RF_LOG_WARN, "step type " + context->step_type +
                                               ": set_output ignored: not a JSON object");
      }
      return -1;
    }
    context->outcome.outputs = std::move(value);
    return 0;
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("set_output"));
    return -1;
  }
}

int host_checkpoint(rf_run* run, const char* json_object) noexcept {
  if (run == nullptr) return -1;
  RunContext* context = context_of(run);
  try {
    auto value = json_object != nullptr
                     ? nlohmann::json::parse(json_object, nullptr, /*allow_exceptions=*/false)
                     : nlohmann::json(nlohmann::json::value_t::discarded);
    std::lock_guard lock(context->mutex);
    if (value.is_discarded() || !value.is_object()) {
      if (context->services.log) {
        context->services.log(RF_LOG_WARN, "step type " + context->step_type +
                                               ": checkpoint refused: not a JSON object");
      }
      return -1;
    }
    if (!context->services.checkpoint) return 0;  // nothing durable behind this call
    return context->services.checkpoint(value) ? 0 : -1;
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("checkpoint"));
    return -1;
  }
}

// rf_host.call's failure: -1, with {"error": message} in buf if it fits.
long call_failed(char* buf, size_t cap, const std::string& message) {
  const std::string text = nlohmann::json{{"error", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  copy_out(text, buf, cap);
  return -1;
}

// Service names are short dotted identifiers ("links.create"); anything else is refused before
// it reaches the daemon.
bool is_service_name(std::string_view name) {
  constexpr std::size_t kMaxServiceName = 64;
  if (name.empty() || name.size() > kMaxServiceName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

long host_call(rf_run* run, const char* service, const char* request_json, char* buf,
               size_t cap) noexcept {
  try {
    if (run == nullptr) return call_failed(buf, cap, "rf_host.call needs the run it was given");
    RunContext* context = context_of(run);
    const std::string_view name = service != nullptr ? service : "";
    if (!is_service_name(name)) {
      return call_failed(buf, cap,
                         "rf_host.call: \"" + std::string(name.substr(0, 64)) +
                             "\" is not a service name (lower-case words joined by dots, e.g. "
                             "links.create)");
    }
    const std::string service_name(name);
    const std::string request_text = request_json != nullptr ? request_json : "";
    std::lock_guard lock(context->mutex);
    std::string answer;
    if (context->unfit_answer && context->unfit_answer->service == service_name &&
        context->unfit_answer->request == request_text) {
      answer = std::move(context->unfit_answer->answer);
      context->unfit_answer.reset();
    } else {
      context->unfit_answer.reset();
      const auto request = nlohmann::json::parse(request_text, nullptr, /*allow_exceptions=*/false);
      if (request_json == nullptr || request.is_discarded() || !request.is_object()) {
        return call_failed(buf, cap, service_name + ": the request is not a JSON object");
      }
      if (!context->services.call) {
        return call_failed(buf, cap,
                           service_name + " is not available: this host offers no daemon services");
      }
      auto answered = context->services.call(service_name, request);
      if (!answered) return call_failed(buf, cap, answered.error().message);
      if (!answered->is_object()) {
        return call_failed(buf, cap, service_name + ": the daemon's answer is not a JSON object");
      }
      answer = answered->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    const long length = copy_out(answer, buf, cap);
    if (buf == nullptr || cap <= answer.size()) {
      context->unfit_answer =
          RunContext::UnfitAnswer{service_name, request_text, std::move(answer)};
    }
    return length;
  } catch (...) {
    const std::string message = describe_exception("call");
    if (run != nullptr) report(&context_of(run)->services, RF_LOG_WARN, message);
    try {
      return call_failed(buf, cap, message);
    } catch (...) {
      return -1;
    }
  }
}

void host_fail(rf_run* run, const char* message) noexcept {
  if (run == nullptr) return;
  RunContext* context = context_of(run);
  try {
    std::lock_guard lock(context->mutex);
    context->fail_called = true;
    // The last call wins, like set_output.
    context->outcome.error = message != nullptr ? message : "";
  } catch (...) {
    report(&context->services, RF_LOG_WARN, describe_exception("fail"));
  }
}

const rf_host kHostTable = {
    .struct_size = sizeof(rf_host),
    .abi_major = RF_ABI_MAJOR,
    .abi_minor = RF_ABI_MINOR,
    .log = host_log,
    .progress = host_progress,
    .cancelled = host_cancelled,
    .artifact_dir = host_artifact_dir,
    .secret = host_secret,
    .state_get = host_state_get,
    .state_set = host_state_set,
    .set_output = host_set_output,
    .fail = host_fail,
    .checkpoint = host_checkpoint,
    .call = host_call,
};

// Turns what the plugin returned and recorded into the outcome.
void finish_outcome(int status, RunContext& context, const std::string& step_type) {
  std::lock_guard lock(context.mutex);
  StepOutcome& outcome = context.outcome;
  switch (status) {
    case RF_STATUS_OK:
      outcome.status = RF_STATUS_OK;
      if (context.fail_called) {
        report(&context.services, RF_LOG_WARN,
               "step type " + step_type + " called fail() but returned OK; the run counts as OK");
      }
      outcome.error.clear();
      return;
    case RF_STATUS_ERROR:
      outcome.status = RF_STATUS_ERROR;
      if (outcome.error.empty())
        outcome.error = "step type " + step_type + " failed without saying why";
      return;
    case RF_STATUS_RETRY:
      outcome.status = RF_STATUS_RETRY;
      if (outcome.error.empty()) {
        outcome.error = "step type " + step_type + " asked for a retry without saying why";
      }
      return;
    case RF_STATUS_CANCELLED:
      outcome.status = RF_STATUS_CANCELLED;
      if (outcome.error.empty()) outcome.error = "step type " + step_type + " was cancelled";
      return;
    case RF_STATUS_RECONNECT:
    case RF_STATUS_LATER:
      // Publisher statuses (ABI 1.2); the publishing driver reads them, steps may not return them.
      outcome.status = static_cast<rf_status>(status);
      if (outcome.error.empty()) {
        outcome.error = "step type " + step_type +
                        (status == RF_STATUS_RECONNECT ? " needs the account reconnected"
                                                       : " hit a platform limit");
      }
      return;
    default:
      outcome.status = RF_STATUS_ERROR;
      outcome.error = "step type " + step_type + " returned an unknown status " +
                      std::to_string(status) +
                      (outcome.error.empty() ? "" : " (its message: " + outcome.error + ")");
      return;
  }
}

Result<std::string> dump_json(const nlohmann::json& value, const std::string& step_type,
                              const char* what) {
  try {
    return value.dump();
  } catch (const std::exception& e) {
    return fail("step type " + step_type + ": cannot pass the " + what + " as JSON: " + e.what());
  }
}

}  // namespace

struct Executor::Instance {
  // Copies: the instance may outlive nothing but the loaded plugin. One of the two is set.
  rf_step_type callbacks{};
  rf_publisher_type publisher{};
  void* handle = nullptr;

  void destroy() const {
    if (handle == nullptr) return;
    if (publisher.destroy != nullptr) {
      publisher.destroy(handle);
    } else if (callbacks.destroy != nullptr) {
      callbacks.destroy(handle);
    }
  }
  using CancelFn = void (*)(void*);
  CancelFn cancel_callback() const {
    return publisher.destroy != nullptr ? publisher.cancel : callbacks.cancel;
  }
};

Executor::Executor(nlohmann::json plugin_config) : plugin_config_(std::move(plugin_config)) {}

Executor::~Executor() {
  for (auto& [name, instance] : instances_) {
    instance->destroy();
    delete instance;
  }
}

Result<Executor::Instance*> Executor::instance_for(const StepTypeInfo& step_type) {
  if (auto found = instances_.find(step_type.name); found != instances_.end()) {
    return found->second;
  }
  const rf_publisher_type* publisher =
      step_type.publisher != nullptr ? &step_type.publisher->callbacks : nullptr;
  if (publisher == nullptr &&
      (step_type.callbacks.create == nullptr || step_type.callbacks.run == nullptr ||
       step_type.callbacks.destroy == nullptr)) {
    return fail("step type " + step_type.name + ": create, run or destroy is missing");
  }
  std::string plugin_name = step_type.plugin != nullptr ? step_type.plugin->name : "";
  nlohmann::json config = nlohmann::json::object();
  if (plugin_config_.is_object()) {
    if (auto it = plugin_config_.find(plugin_name); it != plugin_config_.end()) config = *it;
  }
  if (!config.is_object()) {
    return fail("step type " + step_type.name + ": the configuration of plugin '" + plugin_name +
                "' must be a mapping, got " + config.dump());
  }
  auto config_text = dump_json(config, step_type.name, "plugin configuration");
  if (!config_text) return tl::unexpected(config_text.error());

  void* handle = publisher != nullptr ? publisher->create(&kHostTable, config_text->c_str())
                                      : step_type.callbacks.create(&kHostTable, config_text->c_str());
  if (handle == nullptr) {
    return fail("step type " + step_type.name + ": the plugin could not create an instance " +
                "(its log says why)");
  }
  auto* instance = new Instance{step_type.callbacks,
                                publisher != nullptr ? *publisher : rf_publisher_type{}, handle};
  instances_.emplace(step_type.name, instance);
  return instance;
}

namespace {

// Sets the executor's "what is running" slots for the duration of one plugin call, so cancel()
// from another thread reaches the right instance and never one whose run has returned.
class RunningSlot {
 public:
  RunningSlot(std::mutex& mutex, std::atomic<void (*)(void*)>& cancel,
              std::atomic<void*>& instance, void (*running_cancel)(void*), void* handle)
      : mutex_(mutex), type_(cancel), instance_(instance) {
    std::lock_guard lock(mutex_);
    type_ = running_cancel;
    instance_ = handle;
  }
  ~RunningSlot() {
    std::lock_guard lock(mutex_);
    type_ = nullptr;
    instance_ = nullptr;
  }
  RunningSlot(const RunningSlot&) = delete;
  RunningSlot& operator=(const RunningSlot&) = delete;

 private:
  std::mutex& mutex_;
  std::atomic<void (*)(void*)>& type_;
  std::atomic<void*>& instance_;
};

}  // namespace

Result<StepOutcome> Executor::call_instance(
    const StepTypeInfo& step_type, const RunServices& services,
    const std::function<int(const Instance&, rf_run*)>& invoke) {
  cancel_requested_ = false;
  Instance* instance = nullptr;
  {
    t_creating_for = &services;
    auto created = instance_for(step_type);
    t_creating_for = nullptr;
    if (!created) return tl::unexpected(created.error());
    instance = *created;
  }

  std::error_code ec;
  if (!services.artifact_dir.empty() && !std::filesystem::is_directory(services.artifact_dir)) {
    std::filesystem::create_directories(services.artifact_dir, ec);
    if (ec) {
      return fail("step type " + step_type.name + ": cannot create the artifact directory " +
                  services.artifact_dir.string() + ": " + ec.message());
    }
  }

  StepOutcome outcome;
  RunContext context{.services = services,
                     .outcome = outcome,
                     .cancel_requested = cancel_requested_,
                     .artifact_dir = services.artifact_dir.string(),
                     .step_type = step_type.name,
                     .mutex = {},
                     .fail_called = false,
                     .unfit_answer = std::nullopt};
  int status = 0;
  {
    RunningSlot slot(running_mutex_, running_cancel_, running_instance_, instance->cancel_callback(),
                     instance->handle);
    status = invoke(*instance, handle_of(&context));
  }
  finish_outcome(status, context, step_type.name);
  return outcome;
}

Result<StepOutcome> Executor::call(const StepTypeInfo& step_type, const RunServices& services,
                                   const PluginCall& invoke) {
  return call_instance(step_type, services, [&](const Instance& instance, rf_run* run) {
    return invoke(instance.callbacks, instance.handle, run);
  });
}

Result<StepOutcome> Executor::call_publisher(const StepTypeInfo& step_type,
                                             const RunServices& services,
                                             const PublisherCall& invoke) {
  return call_instance(step_type, services, [&](const Instance& instance, rf_run* run) {
    return invoke(instance.publisher, instance.handle, run);
  });
}

Result<StepOutcome> Executor::run(const StepTypeInfo& step_type, const nlohmann::json& options,
                                  const nlohmann::json& context, const RunServices& services) {
  if (step_type.publisher != nullptr && context.value("publisher_call", "") == "metrics") {
    return publish_metrics(step_type, options, context, services);
  }
  if (step_type.publisher != nullptr && context.value("publisher_call", "") == "refresh") {
    return publish_refresh(step_type, options, context, services);
  }
  if (step_type.publisher != nullptr) {
    // A new attempt of a post that got somewhere goes on from there, never from the start.
    nlohmann::json checkpoint = nlohmann::json::object();
    if (services.last_checkpoint) {
      if (auto last = services.last_checkpoint(); last && last->is_object()) checkpoint = *last;
    }
    return publish(step_type, options, context, services, checkpoint);
  }
  auto options_text = dump_json(options, step_type.name, "options");
  if (!options_text) return tl::unexpected(options_text.error());
  auto context_text = dump_json(context, step_type.name, "context");
  if (!context_text) return tl::unexpected(context_text.error());
  return call(step_type, services, [&](const rf_step_type& callbacks, void* instance, rf_run* run) {
    return static_cast<int>(
        callbacks.run(instance, run, options_text->c_str(), context_text->c_str()));
  });
}

Result<StepOutcome> Executor::reconcile(const StepTypeInfo& step_type,
                                        const nlohmann::json& options,
                                        const nlohmann::json& context, const nlohmann::json& intent,
                                        const RunServices& services) {
  if (step_type.publisher != nullptr) {
    nlohmann::json checkpoint = nlohmann::json::object();
    if (auto found = intent.find("checkpoint"); found != intent.end() && found->is_object()) {
      checkpoint = *found;
    }
    if (checkpoint.empty()) {
      // The intent alone: start may or may not have been called.
      checkpoint = {{"stage", "starting"}, {"session", nlohmann::json::object()}};
    }
    return publish(step_type, options, context, services, checkpoint);
  }
  if (step_type.callbacks.reconcile == nullptr) {
    return fail("step type " + step_type.name +
                " cannot be reconciled: the plugin has no reconcile callback");
  }
  auto options_text = dump_json(options, step_type.name, "options");
  if (!options_text) return tl::unexpected(options_text.error());
  auto context_text = dump_json(context, step_type.name, "context");
  if (!context_text) return tl::unexpected(context_text.error());
  auto intent_text = dump_json(intent, step_type.name, "intent");
  if (!intent_text) return tl::unexpected(intent_text.error());
  return call(step_type, services, [&](const rf_step_type& callbacks, void* instance, rf_run* run) {
    return static_cast<int>(callbacks.reconcile(instance, run, options_text->c_str(),
                                                context_text->c_str(), intent_text->c_str()));
  });
}

void Executor::cancel() {
  cancel_requested_ = true;
  // Under the mutex, so the plugin's cancel is called only while its run is still in progress.
  std::lock_guard lock(running_mutex_);
  auto* cancel_callback = running_cancel_.load();
  void* instance = running_instance_.load();
  if (cancel_callback != nullptr && instance != nullptr) cancel_callback(instance);
}

}  // namespace reelflow::plugin_host
