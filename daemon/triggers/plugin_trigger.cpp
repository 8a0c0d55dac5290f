// The host side of rf_trigger_type: one State per started instance, owned by a shared_ptr so
// handlers queued on the io_context can outlive the PluginTrigger that started them (they check
// `stopped_` first). The plugin sees a per-instance rf_trigger_host whose first member is the C
// table, so the static C callbacks find their State from the pointer they are given.
#include "triggers/plugin_trigger.hpp"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

namespace reelflow::triggers {

namespace {

constexpr std::size_t kMaxTriggerJson = 1024 * 1024;
constexpr std::size_t kMaxKey = 4096;
constexpr std::size_t kMaxLogMessage = 64 * 1024;
constexpr int kLoggedRefusals = 10;
// Rounds in a row with the descriptor still readable after on_readable before the host suspects
// that the plugin does not consume it, and the pause it then takes between rounds.
constexpr int kBusyRounds = 10000;
constexpr auto kBusyPause = std::chrono::milliseconds(10);
// Longer timeouts are clamped (the trigger is asked again after each on_timer anyway).
constexpr std::int64_t kMaxTimeoutMs = std::int64_t{365} * 24 * 3600 * 1000;

std::string shorten(std::string_view text) {
  constexpr std::size_t kShown = 120;
  std::string out(text.substr(0, kShown));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  if (text.size() > kShown) out += "...";
  return out;
}

LogLevel log_level(rf_log_level level) {
  switch (level) {
    case RF_LOG_DEBUG:
      return LogLevel::debug;
    case RF_LOG_INFO:
      return LogLevel::info;
    case RF_LOG_WARN:
      return LogLevel::warn;
    default:
      return LogLevel::error;
  }
}

}  // namespace

class PluginTrigger::State : public std::enable_shared_from_this<State> {
 public:
  State(boost::asio::io_context& io, const Logger& log, std::string workflow,
        const plugin_host::TriggerTypeInfo& type, TriggerSink sink)
      : io_(io),
        log_(log),
        workflow_(std::move(workflow)),
        type_(type),
        plugin_name_(type.plugin != nullptr ? type.plugin->name : std::string()),
        sink_(std::move(sink)),
        loop_thread_(std::this_thread::get_id()),
        timer_(io) {
    host_.table.struct_size = sizeof(rf_trigger_host);
    host_.table.abi_major = RF_ABI_MAJOR;
    host_.table.abi_minor = RF_ABI_MINOR;
    host_.table.log = &State::log_callback;
    host_.table.emit = &State::emit_callback;
    host_.owner = this;
  }

  Result<void> begin(const nlohmann::json& config, const nlohmann::json& options) {
    const std::string config_text = config.is_object() ? config.dump() : "{}";
    const std::string options_text = options.dump();
    const bool called = call("start", [&] {
      instance_ = type_.callbacks.start(&host_.table, config_text.c_str(), options_text.c_str());
    });
    if (!called || instance_ == nullptr) {
      instance_ = nullptr;
      return fail("trigger " + type_.name + " of workflow '" + workflow_ +
                  "' did not start (the plugin's log lines before this one say why)");
    }
    if (type_.callbacks.fd != nullptr) {
      int fd = -1;
      if (!call("fd", [&] { fd = type_.callbacks.fd(instance_); })) {
        return fail_started("its fd callback failed");
      }
      if (fd >= 0) {
        if (::fcntl(fd, F_GETFD) < 0) {
          return fail_started("its fd " + std::to_string(fd) + " is not an open descriptor");
        }
        descriptor_.emplace(io_);
        boost::system::error_code error;
        descriptor_->assign(fd, error);
        if (error) {
          descriptor_.reset();
          return fail_started("its fd " + std::to_string(fd) +
                              " cannot be polled: " + error.message());
        }
        fd_ = fd;
        wait_readable();
      }
    }
    if (!stopped_) arm_timer();
    return {};
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    ++timer_generation_;
    timer_.cancel();
    if (descriptor_) {
      // The plugin owns the descriptor and closes it in stop; the reactor only forgets it.
      descriptor_->release();
      descriptor_.reset();
    }
    if (instance_ != nullptr) {
      void* instance = std::exchange(instance_, nullptr);
      try {
        type_.callbacks.stop(instance);
      } catch (...) {
        log_.error("trigger " + type_.name + " threw an exception from stop", fields());
      }
    }
  }

 private:
  struct HostTable {
    rf_trigger_host table;  // first: the plugin's pointer to it is a pointer to the HostTable
    State* owner;
  };
  static_assert(std::is_standard_layout_v<HostTable>);

  static State& of(const rf_trigger_host* host) {
    return *reinterpret_cast<const HostTable*>(host)->owner;
  }

  LogFields fields() const {
    LogFields fields;
    fields.plugin = plugin_name_;
    fields.workflow = workflow_;
    return fields;
  }

  // Calls into the plugin with in_callback_ set. False (after logging and stopping the
  // instance, unless it is being started) when an exception came back through the C ABI.
  template <typename Body>
  bool call(const char* callback, Body&& body) {
    in_callback_ = true;
    try {
      std::forward<Body>(body)();
    } catch (const std::exception& error) {
      in_callback_ = false;
      broken(callback, error.what());
      return false;
    } catch (...) {
      in_callback_ = false;
      broken(callback, "an exception that is not a std::exception");
      return false;
    }
    in_callback_ = false;
    return true;
  }

  void broken(const char* callback, const std::string& what) {
    log_.error("trigger " + type_.name + ": " + callback +
                   " threw an exception through the C ABI (" + what + "); the trigger is stopped",
               fields());
    if (instance_ != nullptr && std::string_view(callback) != "start") stop();
  }

  Result<void> fail_started(const std::string& problem) {
    stop();
    return fail("trigger " + type_.name + " of workflow '" + workflow_ +
                "' cannot be driven: " + problem);
  }

  // ---- the descriptor ----

  bool still_readable() const {
    pollfd entry{fd_, POLLIN, 0};
    return ::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
  }

  // Level-triggered on top of the reactor: readable now means another round after whatever else
  // is queued; otherwise wait for the reactor to say so.
  void wait_readable() {
    if (stopped_ || !descriptor_) return;
    if (still_readable()) {
      if (++busy_rounds_ > kBusyRounds) {
        if (!busy_warned_) {
          busy_warned_ = true;
          log_.warn("trigger " + type_.name + " keeps its descriptor readable round after round " +
                        "(does on_readable consume it?); calling it at most 100 times a second",
                    fields());
        }
        auto pause = std::make_shared<boost::asio::steady_timer>(io_, kBusyPause);
        pause->async_wait(
            [self = shared_from_this(), pause](const boost::system::error_code& error) {
              if (!error) self->readable();
            });
        return;
      }
      boost::asio::post(io_, [self = shared_from_this()] { self->readable(); });
      return;
    }
    busy_rounds_ = 0;
    descriptor_->async_wait(boost::asio::posix::descriptor_base::wait_read,
                            [self = shared_from_this()](const boost::system::error_code& error) {
                              if (!error) self->readable();
                            });
  }

  void readable() {
    if (stopped_) return;
    if (!call("on_readable", [&] { type_.callbacks.on_readable(instance_); })) return;
    if (stopped_) return;
    arm_timer();
    wait_readable();
  }

  // ---- the timer ----

  void arm_timer() {
    if (stopped_ || type_.callbacks.next_timeout == nullptr) return;
    std::int64_t timeout = -1;
    if (!call("next_timeout", [&] { timeout = type_.callbacks.next_timeout(instance_); })) return;
    const std::uint64_t generation = ++timer_generation_;
    if (timeout < 0) {
      timer_.cancel();
      return;
    }
    auto fire = [self = shared_from_this(), generation] {
      if (!self->stopped_ && self->timer_generation_ == generation) self->timer_expired();
    };
    if (timeout == 0) {
      timer_.cancel();
      boost::asio::post(io_, fire);
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(std::min(timeout, kMaxTimeoutMs)));
    timer_.async_wait([fire](const boost::system::error_code& error) {
      if (!error) fire();
    });
  }

  void timer_expired() {
    if (!call("on_timer", [&] { type_.callbacks.on_timer(instance_); })) return;
    arm_timer();
  }

  // ---- what the plugin calls ----

  static void log_callback(const rf_trigger_host* host, rf_log_level level, const char* message) {
    if (host == nullptr || message == nullptr) return;
    const State& self = of(host);
    const std::size_t length = ::strnlen(message, kMaxLogMessage);
    self.log_.log(log_level(level), std::string_view(message, length), self.fields());
  }

  static int emit_callback(const rf_trigger_host* host, const char* trigger_json, const char* key) {
    if (host == nullptr) return -1;
    return of(host).emit(trigger_json, key) ? 0 : -1;
  }

  bool emit(const char* trigger_json, const char* key) {
    // Another thread must not touch the rest of this object: check the thread first.
    if (std::this_thread::get_id() != loop_thread_) {
      return refuse("called emit from another thread than the daemon's loop; ignored");
    }
    if (!in_callback_ || stopped_) {
      return refuse("called emit outside its start, on_readable and on_timer callbacks; ignored");
    }
    if (trigger_json == nullptr) return refuse("emitted an event without trigger JSON");
    if (key == nullptr) return refuse("emitted an event without a key");
    const std::size_t json_length = ::strnlen(trigger_json, kMaxTriggerJson + 1);
    if (json_length > kMaxTriggerJson) {
      return refuse("emitted trigger JSON longer than " + std::to_string(kMaxTriggerJson) +
                    " bytes");
    }
    const std::string_view text(trigger_json, json_length);
    auto trigger = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (trigger.is_discarded())
      return refuse("emitted trigger JSON that is not valid JSON: " + shorten(text));
    if (!trigger.is_object()) {
      return refuse("emitted trigger JSON that is not an object: " + shorten(text));
    }
    const std::size_t key_length = ::strnlen(key, kMaxKey + 1);
    if (key_length == 0) return refuse("emitted an event with an empty key");
    if (key_length > kMaxKey) {
      return refuse("emitted a key longer than " + std::to_string(kMaxKey) + " bytes");
    }
    std::string key_text(key, key_length);
    for (std::string_view reserved : {"manual:", "schedule:"}) {
      if (key_text.starts_with(reserved)) {
        return refuse("emitted key '" + shorten(key_text) + "', but keys starting with '" +
                      std::string(reserved) + "' belong to the built-in triggers");
      }
    }
    TriggerEvent event;
    event.workflow = workflow_;
    event.trigger = std::move(trigger);
    event.key = std::move(key_text);
    try {
      sink_(std::move(event));
    } catch (const std::exception& error) {
      log_.error("cannot start a run for trigger " + type_.name + ": " + error.what(), fields());
    }
    return true;
  }

  bool refuse(const std::string& problem) {
    const int count = refusals_.fetch_add(1) + 1;
    if (count <= kLoggedRefusals || count % 1000 == 0) {
      std::string message = "trigger " + type_.name + " " + problem;
      if (count == kLoggedRefusals) message += " (further refusals are logged every 1000th)";
      if (count > kLoggedRefusals) message += " (" + std::to_string(count) + " refused so far)";
      log_.error(message, fields());
    }
    return false;
  }

  boost::asio::io_context& io_;
  const Logger& log_;
  std::string workflow_;
  const plugin_host::TriggerTypeInfo& type_;
  std::string plugin_name_;
  TriggerSink sink_;
  const std::thread::id loop_thread_;
  HostTable host_{};

  void* instance_ = nullptr;
  bool in_callback_ = false;
  bool stopped_ = false;
  std::atomic<int> refusals_{0};

  int fd_ = -1;
  std::optional<boost::asio::posix::stream_descriptor> descriptor_;
  int busy_rounds_ = 0;
  bool busy_warned_ = false;

  boost::asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
};

Result<PluginTrigger> PluginTrigger::start(boost::asio::io_context& io, const Logger& log,
                                           std::string workflow,
                                           const plugin_host::TriggerTypeInfo& type,
                                           const nlohmann::json& config,
                                           const nlohmann::json& options, TriggerSink sink) {
  auto state = std::make_shared<State>(io, log, std::move(workflow), type, std::move(sink));
  if (auto begun = state->begin(config, options); !begun) {
    state->stop();
    return tl::unexpected(begun.error());
  }
  return PluginTrigger(std::move(state));
}

PluginTrigger::PluginTrigger(std::shared_ptr<State> state) : state_(std::move(state)) {}
PluginTrigger::PluginTrigger(PluginTrigger&&) noexcept = default;
PluginTrigger& PluginTrigger::operator=(PluginTrigger&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}
PluginTrigger::~PluginTrigger() { stop(); }

void PluginTrigger::stop() {
  if (state_) state_->stop();
}

}  // namespace reelflow::triggers
