// reelflow-worker: runs plugin steps for reelflowd in a process of their own, so that a plugin's
// crash, hang or memory blow-up costs one step and this process, never the daemon.
//
//   reelflow-worker --fd N [--memory-limit BYTES] [--plugin-dir DIR]...
//
// Started by WorkerPool (daemon/plugin_host/worker_pool.cpp) with one end of a socketpair as
// descriptor N and PR_SET_PDEATHSIG already set. It applies RLIMIT_AS, waits for "init" (the plugin
// configuration), loads the plugins, says "hello", then serves "run" messages one at a time on the
// main thread through plugin_host::Executor. A reader thread receives "cancel" (Executor::cancel)
// and "reply" (answers to host-service calls a plugin thread is blocked on). The messages are
// documented in daemon/plugin_host/worker_protocol.hpp. It exits when the socket closes.
//
// Not meant to be run by hand, hence installed under libexec.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "plugin_host/executor.hpp"
#include "plugin_host/registry.hpp"
#include "plugin_host/worker_protocol.hpp"

namespace {

namespace fs = std::filesystem;
namespace wp = reelflow::plugin_host::worker_protocol;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxLogMessageBytes = 64 * 1024;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);
// After the daemon closed the socket, how long a step may take to notice the cancel before the
// worker exits regardless.
constexpr auto kExitGrace = std::chrono::seconds(5);

struct Arguments {
  int fd = -1;
  std::uint64_t memory_limit = 0;
  std::vector<fs::path> plugin_dirs;
};

std::optional<Arguments> parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "reelflow-worker: %s needs a value\n", flag.c_str());
      return std::nullopt;
    }
    std::string value = argv[++i];
    char* end = nullptr;
    errno = 0;
    if (flag == "--fd") {
      long fd = std::strtol(value.c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || fd < 0 || fd > 1 << 20) {
        std::fprintf(stderr, "reelflow-worker: --fd: not a descriptor number: %s\n", value.c_str());
        return std::nullopt;
      }
      args.fd = static_cast<int>(fd);
    } else if (flag == "--memory-limit") {
      unsigned long long bytes = std::strtoull(value.c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || value.empty() || value[0] == '-') {
        std::fprintf(stderr, "reelflow-worker: --memory-limit: not a number of bytes: %s\n",
                     value.c_str());
        return std::nullopt;
      }
      args.memory_limit = bytes;
    } else if (flag == "--plugin-dir") {
      args.plugin_dirs.emplace_back(value);
    } else {
      std::fprintf(stderr, "reelflow-worker: unknown argument %s\n", flag.c_str());
      return std::nullopt;
    }
  }
  if (args.fd < 0) {
    std::fprintf(stderr,
                 "reelflow-worker: runs plugin steps for reelflowd and is started by it "
                 "(--fd is required)\n");
    return std::nullopt;
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// The std::terminate handler's last words. It runs when an exception escapes a noexcept plugin
// function or a plugin's own thread; it can only use what is set up beforehand, hence globals
// that are written once before any plugin code runs (and the run id, an atomic).
// ---------------------------------------------------------------------------------------------

int g_socket = -1;
std::mutex* g_write_mutex = nullptr;
std::atomic<std::uint64_t> g_current_run{0};

// Appends text as a JSON string body (no quotes) into out, bounded by end, without allocating.
char* append_escaped(char* out, char* end, const char* text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (; *text != '\0' && out + 7 < end; ++text) {
    auto c = static_cast<unsigned char>(*text);
    if (c == '"' || c == '\\') {
      *out++ = '\\';
      *out++ = static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x80) {  // non-ASCII too: the bytes may not be valid UTF-8
      *out++ = '\\';
      *out++ = 'u';
      *out++ = '0';
      *out++ = '0';
      *out++ = kHex[c >> 4];
      *out++ = kHex[c & 0xf];
    } else {
      *out++ = static_cast<char>(c);
    }
  }
  return out;
}

[[noreturn]] void on_terminate() noexcept {
  const char* what = "unknown exception (not a std::exception)";
  bool out_of_memory = false;
  if (std::exception_ptr current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::bad_alloc& e) {
      what = e.what();
      out_of_memory = true;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    static char frame[4096];
    char* body = frame + wp::kHeaderBytes;
    char* end = frame + sizeof frame;
    int head = std::snprintf(body, static_cast<std::size_t>(end - body),
                             R"({"type":"fatal","id":%llu,"out_of_memory":%s,"exception":")",
                             static_cast<unsigned long long>(g_current_run.load()),
                             out_of_memory ? "true" : "false");
    if (head > 0 && body + head + 8 < end) {
      char* out = append_escaped(body + head, end - 3, what);
      *out++ = '"';
      *out++ = '}';
      auto length = static_cast<std::uint32_t>(out - body);
      frame[0] = static_cast<char>(length >> 24);
      frame[1] = static_cast<char>(length >> 16);
      frame[2] = static_cast<char>(length >> 8);
      frame[3] = static_cast<char>(length);
      // Another thread may be halfway through a frame: wait a little for it, never forever.
      bool locked = false;
      for (int i = 0; i < 100 && g_write_mutex != nullptr && !locked; ++i) {
        locked = g_write_mutex->try_lock();
        if (!locked) ::usleep(1000);
      }
      if (locked) {
        ssize_t ignored =
            ::send(g_socket, frame, static_cast<std::size_t>(out - frame), MSG_NOSIGNAL);
        (void)ignored;
      }
    }
  }
  std::abort();
}

// ---------------------------------------------------------------------------------------------
// The connection to the daemon
// ---------------------------------------------------------------------------------------------

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}

  // Sends a message; false once the daemon is gone or the message cannot be encoded.
  bool send(const json& message) {
    auto frame = wp::encode_frame(message);
    if (!frame) return false;
    std::lock_guard lock(write_mutex_);
    return wp::write_all(fd_, *frame).has_value();
  }

  // A host-service call answered by the daemon. Blocks until the reply or the end of the
  // connection (then nullopt with ok false).
  struct Reply {
    bool ok = false;
    std::optional<std::string> value;
  };
  Reply call(std::uint64_t run_id, const char* service, std::string_view name,
             std::optional<std::string_view> value) {
    std::uint64_t call_id = 0;
    {
      std::lock_guard lock(calls_mutex_);
      if (closed_) return {};
      call_id = ++next_call_;
      pending_[call_id] = std::nullopt;
    }
    json message = {{"type", "call"},
                    {"id", run_id},
                    {"call", call_id},
                    {"service", service},
                    {"name", std::string(name)},
                    {"value", value ? json(std::string(*value)) : json(nullptr)}};
    if (!send(message)) {
      std::lock_guard lock(calls_mutex_);
      pending_.erase(call_id);
      return {};
    }
    std::unique_lock lock(calls_mutex_);
    calls_done_.wait(lock, [&] { return closed_ || pending_[call_id].has_value(); });
    Reply reply = pending_[call_id].value_or(Reply{});
    pending_.erase(call_id);
    return reply;
  }

  void deliver(const json& message) {
    auto call_id = wp::get_uint(message, "call");
    if (!call_id) return;
    std::lock_guard lock(calls_mutex_);
    auto found = pending_.find(*call_id);
    if (found == pending_.end()) return;
    found->second =
        Reply{wp::get_bool(message, "ok").value_or(false), wp::get_string(message, "value")};
    calls_done_.notify_all();
  }

  void mark_closed() {
    std::lock_guard lock(calls_mutex_);
    closed_ = true;
    calls_done_.notify_all();
  }

  std::mutex& write_mutex() { return write_mutex_; }

 private:
  int fd_;
  std::mutex write_mutex_;
  std::mutex calls_mutex_;
  std::condition_variable calls_done_;
  std::uint64_t next_call_ = 0;
  std::map<std::uint64_t, std::optional<Reply>> pending_;
  bool closed_ = false;
};

// What the reader thread hands the main thread.
class Inbox {
 public:
  void push_run(json message) {
    std::lock_guard lock(mutex_);
    runs_.push_back(std::move(message));
    wake_.notify_all();
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    wake_.notify_all();
  }

  // The next run, or nullopt once the connection closed.
  std::optional<json> next_run() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return closed_ || !runs_.empty(); });
    if (closed_) return std::nullopt;
    json message = std::move(runs_.front());
    runs_.pop_front();
    return message;
  }

  // Waits until the main thread says it is done, at most `wait`.
  bool wait_done(std::chrono::seconds wait) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, wait, [&] { return done_; });
  }
  void set_done() {
    std::lock_guard lock(mutex_);
    done_ = true;
    wake_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<json> runs_;
  bool closed_ = false;
  bool done_ = false;
};

// Cancels that arrive before the run reaches the executor are remembered here, so a cancel is
// never lost to Executor::run resetting its own flag.
std::atomic<std::uint64_t> g_cancelled_run{0};

void reader_loop(int fd, Connection& connection, Inbox& inbox,
                 reelflow::plugin_host::Executor& executor) {
  while (true) {
    auto frame = wp::read_frame(fd);
    if (!frame || !*frame) {
      if (!frame) std::fprintf(stderr, "reelflow-worker: %s\n", frame.error().message.c_str());
      break;
    }
    const json& message = **frame;
    auto type = wp::get_string(message, "type");
    if (type == "run") {
      inbox.push_run(message);
    } else if (type == "cancel") {
      auto id = wp::get_uint(message, "id").value_or(0);
      g_cancelled_run = id;
      if (id != 0 && id == g_current_run.load()) executor.cancel();
    } else if (type == "reply") {
      connection.deliver(message);
    }
  }
  // The daemon is gone or done with us: stop what runs, unblock calls, and leave.
  connection.mark_closed();
  inbox.close();
  executor.cancel();
  if (!inbox.wait_done(kExitGrace)) ::_exit(0);  // a plugin that ignores cancel
}

json run_step(const json& message, const reelflow::plugin_host::Registry& registry,
              reelflow::plugin_host::Executor& executor, Connection& connection,
              std::uint64_t memory_limit) {
  using namespace reelflow::plugin_host;
  const std::uint64_t id = wp::get_uint(message, "id").value_or(0);
  json result = {{"type", "result"}, {"id", id}};
  auto type_name = wp::get_string(message, "step_type").value_or("");
  const StepTypeInfo* step_type = registry.find(type_name);
  if (step_type == nullptr) {
    result["host_error"] =
        "step type '" + type_name + "' is not provided by any plugin the " + "worker loaded";
    return result;
  }
  const json* options = wp::get_object(message, "options");
  const json* context = wp::get_object(message, "context");
  const json* intent = wp::get_object(message, "intent");
  const json empty = json::object();

  RunServices services;
  services.artifact_dir = wp::get_string(message, "artifact_dir").value_or("");
  services.log = [&](rf_log_level level, std::string_view text) {
    if (text.size() > kMaxLogMessageBytes) text = text.substr(0, kMaxLogMessageBytes);
    connection.send({{"type", "log"},
                     {"id", id},
                     {"level", static_cast<int>(level)},
                     {"message", std::string(text)}});
  };
  Clock::time_point last_progress{};
  std::mutex progress_mutex;
  services.progress = [&](double fraction, std::string_view text) {
    {
      std::lock_guard lock(progress_mutex);
      auto now = Clock::now();
      if (fraction < 1.0 && now - last_progress < kProgressInterval) return;
      last_progress = now;
    }
    if (text.size() > kMaxLogMessageBytes) text = text.substr(0, kMaxLogMessageBytes);
    connection.send(
        {{"type", "progress"}, {"id", id}, {"fraction", fraction}, {"message", std::string(text)}});
  };
  services.cancelled = [id] { return g_cancelled_run.load() == id; };
  services.secret = [&](std::string_view name) {
    return connection.call(id, "secret", name, std::nullopt).value;
  };
  services.state_get = [&](std::string_view key) {
    return connection.call(id, "state_get", key, std::nullopt).value;
  };
  services.state_set = [&](std::string_view key, std::optional<std::string_view> value) {
    return connection.call(id, "state_set", key, value).ok;
  };
  services.checkpoint = [&](const json& checkpoint) {
    const std::string text = checkpoint.dump();
    return connection.call(id, "checkpoint_set", "checkpoint", text).ok;
  };
  services.account_get = [&](std::string_view account) -> std::optional<json> {
    auto value = connection.call(id, "account_get", account, std::nullopt).value;
    if (!value) return std::nullopt;
    auto parsed = json::parse(*value, nullptr, false);
    if (!parsed.is_object()) return std::nullopt;
    return parsed;
  };
  services.account_set = [&](std::string_view account, const json& record) {
    const std::string text = record.dump();
    return connection.call(id, "account_set", account, text).ok;
  };
  services.call = [&](std::string_view service, const json& request) -> reelflow::Result<json> {
    const std::string text = request.dump(-1, ' ', false, json::error_handler_t::replace);
    auto reply = connection.call(id, "host_call", service, text);
    if (!reply.ok) {
      return reelflow::fail(reply.value.value_or(
          std::string(service) + ": the daemon did not answer (it refused the call or is gone)"));
    }
    auto answer = reply.value ? json::parse(*reply.value, nullptr, false) : json();
    if (!answer.is_object()) {
      return reelflow::fail(std::string(service) + ": the daemon's answer is not a JSON object");
    }
    return answer;
  };
  services.last_checkpoint = [&]() -> std::optional<json> {
    auto value = connection.call(id, "checkpoint_get", "checkpoint", std::nullopt).value;
    if (!value) return std::nullopt;
    auto parsed = json::parse(*value, nullptr, false);
    if (!parsed.is_object()) return std::nullopt;
    return parsed;
  };

  g_current_run = id;
  reelflow::Result<StepOutcome> outcome = reelflow::fail("not run");
  try {
    outcome = intent != nullptr ? executor.reconcile(*step_type, options ? *options : empty,
                                                     context ? *context : empty, *intent, services)
                                : executor.run(*step_type, options ? *options : empty,
                                               context ? *context : empty, services);
  } catch (const std::bad_alloc& e) {
    // An exception escaped a raw C callback. Its memory is released by the unwinding.
    g_current_run = 0;
    result["exception"] = e.what();
    result["out_of_memory"] = memory_limit > 0;
    result["retire"] = true;
    return result;
  } catch (const std::exception& e) {
    g_current_run = 0;
    result["exception"] = e.what();
    result["out_of_memory"] = false;
    result["retire"] = true;
    return result;
  } catch (...) {
    g_current_run = 0;
    result["exception"] = "an exception that is not a std::exception";
    result["out_of_memory"] = false;
    result["retire"] = true;
    return result;
  }
  g_current_run = 0;
  if (!outcome) {
    result["host_error"] = outcome.error().message;
    return result;
  }
  result["status"] = static_cast<int>(outcome->status);
  result["outputs"] = std::move(outcome->outputs);
  result["error"] = std::move(outcome->error);
  // An output too big for one frame fails the step, not the connection.
  if (auto frame = wp::encode_frame(result); !frame) {
    result["status"] = static_cast<int>(RF_STATUS_ERROR);
    result["outputs"] = json::object();
    result["error"] =
        "step type " + type_name + ": its output is too large: " + frame.error().message;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_arguments(argc, argv);
  if (!args) return 2;
  // Our descriptor must not leak into processes a plugin starts (ffmpeg, ...): they would keep the
  // connection open after this process died.
  if (::fcntl(args->fd, F_SETFD, FD_CLOEXEC) != 0) {
    std::fprintf(stderr, "reelflow-worker: descriptor %d: %s\n", args->fd, std::strerror(errno));
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
#ifdef REELFLOW_SANITIZE
  if (args->memory_limit > 0) {
    std::fprintf(stderr, "reelflow-worker: sanitizer build: memory limit not applied\n");
    args->memory_limit = 0;
  }
#endif
  if (args->memory_limit > 0) {
    rlimit limit{args->memory_limit, args->memory_limit};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) {
      std::fprintf(stderr, "reelflow-worker: cannot set the memory limit to %llu bytes: %s\n",
                   static_cast<unsigned long long>(args->memory_limit), std::strerror(errno));
      return 2;
    }
  }

  Connection connection(args->fd);
  g_socket = args->fd;
  g_write_mutex = &connection.write_mutex();
  std::set_terminate(on_terminate);

  auto init = wp::read_frame(args->fd);
  if (!init || !*init || wp::get_string(**init, "type") != "init") return 0;
  json plugin_config = json::object();
  if (const json* config = wp::get_object(**init, "plugin_config")) plugin_config = *config;

  reelflow::plugin_host::Registry registry;
  json load_errors = json::array();
  for (const auto& dir : args->plugin_dirs) {
    for (const auto& error : registry.load_dir(dir)) load_errors.push_back(error.message);
  }
  if (!connection.send({{"type", "hello"},
                        {"pid", static_cast<long long>(::getpid())},
                        {"step_types", registry.step_type_names()},
                        {"load_errors", std::move(load_errors)}})) {
    return 0;
  }

  bool retired = false;
  {
    reelflow::plugin_host::Executor executor(std::move(plugin_config));
    Inbox inbox;
    std::thread reader([&] { reader_loop(args->fd, connection, inbox, executor); });
    while (auto message = inbox.next_run()) {
      json result = run_step(*message, registry, executor, connection, args->memory_limit);
      if (!connection.send(result)) break;
      if (result.contains("retire")) {  // the daemon reaps us; do not touch the plugin again
        retired = true;
        break;
      }
    }
    inbox.set_done();
    // Wait for the daemon to close the connection (the reader then returns).
    ::shutdown(args->fd, SHUT_WR);
    reader.join();
    if (retired) {
      // A plugin whose step threw may be in any state: skip its destroy and atexit handlers.
      std::fflush(stdout);
      std::fflush(stderr);
      ::_exit(0);
    }
  }  // ~Executor: every instance's destroy callback
  return 0;
}
