// The daemon side of plugin isolation. How one step runs on a worker (execute):
//
//   send "run" -> loop { poll the socket in 50 ms slices; answer host-service calls, forward log
//   and progress; on cancel or timeout send "cancel" once, and SIGKILL when cancel_grace has
//   passed } -> "result" (the worker goes back to the idle list) or end of stream (the worker
//   died: waitpid tells how, and the message says it in a person's words).
//
// Nothing a worker sends can crash the daemon: frames are size-checked before buffering and
// depth-checked before parsing (worker_protocol), and every field is type-checked on access.
#include "plugin_host/worker_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <utility>

#include "plugin_host/worker_protocol.hpp"

namespace reelflow::plugin_host {

namespace fs = std::filesystem;
namespace wp = worker_protocol;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kPollSlice{50};
// A worker that stops reading (stopped, or a full socket it never drains) must not block a run
// thread in send(): writes to it give up after this long, and the worker is retired.
constexpr std::chrono::seconds kSendTimeout{5};
constexpr milliseconds kMemorySampleEvery{100};
// After SIGKILL (or after the worker closed its end) how long to wait for it to be reapable.
constexpr milliseconds kReapWait{2000};
// When closing an idle worker: how long it gets to exit on its own before SIGKILL.
constexpr milliseconds kIdleExitWait{1000};
// A crash with the worker's address space at least this share of its limit gets a memory hint.
constexpr double kNearMemoryLimit = 0.75;

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return std::string(text) + "s";
}

std::string millis_text(milliseconds duration) {
  return seconds_text(static_cast<double>(duration.count()) / 1000.0);
}

// "SIGSEGV (segmentation fault)".
std::string signal_text(int signal_number) {
  const char* abbrev = sigabbrev_np(signal_number);
  const char* description = sigdescr_np(signal_number);
  std::string text =
      abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signal_number);
  if (description != nullptr) {
    std::string lower(description);
    if (!lower.empty() && lower[0] >= 'A' && lower[0] <= 'Z' &&
        !(lower.size() > 1 && lower[1] >= 'A' && lower[1] <= 'Z')) {
      lower[0] = static_cast<char>(lower[0] - 'A' + 'a');
    }
    text += " (" + lower + ")";
  }
  return text;
}

// " while processing /videos/a.mp4", or "" when the context names no file.
std::string input_text(const json& context) {
  if (const json* trigger = wp::get_object(context, "trigger")) {
    if (auto file = wp::get_string(*trigger, "file"); file && !file->empty()) {
      return " while processing " + *file;
    }
  }
  return "";
}

std::string plugin_name_of(const StepTypeInfo& step_type) {
  if (step_type.plugin != nullptr) return step_type.plugin->name;
  return step_type.name.substr(0, step_type.name.find('.'));
}

// Replaces every occurrence of each value (3 characters or more) with "***".
std::string mask(std::string text, const std::vector<std::string>& secret_values) {
  for (const auto& value : secret_values) {
    if (value.size() < 3) continue;
    for (std::size_t at = text.find(value); at != std::string::npos;
         at = text.find(value, at + 3)) {
      text.replace(at, value.size(), "***");
    }
  }
  return text;
}

// The worker's address-space size (VmSize), or 0 when it cannot be read.
std::uint64_t address_space_bytes(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t pages = 0;
  if (!(statm >> pages)) return 0;
  long page_size = sysconf(_SC_PAGESIZE);
  return pages * static_cast<std::uint64_t>(page_size > 0 ? page_size : 4096);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

// One worker process, owned by whoever holds the unique_ptr (the idle list or one run).
struct WorkerPool::Worker {
  pid_t pid = 0;
  int fd = -1;
  wp::FrameDecoder decoder;
  std::uint64_t last_run_id = 0;
  bool reaped = false;
  int wait_status = 0;

  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() { reap(milliseconds(0)); }

  // Whether the process is still running (reaps it if not).
  bool alive() {
    if (reaped) return false;
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == 0) return true;
    reaped = true;
    wait_status = status;
    return false;
  }

  // Closes the socket, waits up to `wait` for the process to exit, then SIGKILLs and reaps it.
  void reap(milliseconds wait) {
    close_fd(fd);
    if (reaped || pid <= 0) return;
    auto give_up = Clock::now() + wait;
    while (true) {
      int status = 0;
      pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        reaped = true;
        wait_status = status;
        return;
      }
      if (done < 0 && errno != EINTR) {  // ECHILD: someone else reaped it (SIGCHLD ignored)
        reaped = true;
        wait_status = 0;
        return;
      }
      if (Clock::now() >= give_up) break;
      std::this_thread::sleep_for(milliseconds(5));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    pid_t done;
    do {
      done = ::waitpid(pid, &status, 0);
    } while (done < 0 && errno == EINTR);
    reaped = true;
    wait_status = done == pid ? status : 0;
  }
};

struct WorkerPool::Execution {
  WorkerRunReport report;
  // The step could not be started inside the worker (unknown step type, instance creation
  // failed); the worker itself is fine.
  std::optional<std::string> host_error;
};

struct WorkerPool::SpawnRequest {
  Result<std::unique_ptr<Worker>> result = fail("the worker was not started");
  bool done = false;
};

namespace {

enum class StreamState { open, closed, broken };

struct Received {
  StreamState state = StreamState::open;
  std::string problem;  // for broken
};

// Waits up to `wait` for bytes from the worker and appends the complete messages to frames.
template <typename WorkerT>
Received receive(WorkerT& worker, milliseconds wait, std::vector<json>& frames) {
  pollfd poller{.fd = worker.fd, .events = POLLIN, .revents = 0};
  int ready = ::poll(&poller, 1, static_cast<int>(wait.count()));
  if (ready < 0) {
    if (errno == EINTR) return {};
    return {StreamState::broken, std::string("poll failed: ") + std::strerror(errno)};
  }
  if (ready == 0) return {};
  char buffer[64 * 1024];
  ssize_t got = ::read(worker.fd, buffer, sizeof buffer);
  if (got < 0) {
    if (errno == EINTR || errno == EAGAIN) return {};
    if (errno == ECONNRESET) return {StreamState::closed, ""};
    return {StreamState::broken, std::string("read failed: ") + std::strerror(errno)};
  }
  if (got == 0) return {StreamState::closed, ""};
  worker.decoder.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
  while (true) {
    auto message = worker.decoder.next();
    if (!message) return {StreamState::broken, message.error().message};
    if (!*message) break;
    frames.push_back(std::move(**message));
  }
  return {};
}

}  // namespace

WorkerPool::WorkerPool(WorkerPoolConfig config) : config_(std::move(config)) {
  if (config_.max_workers == 0) config_.max_workers = 1;
  if (config_.worker_executable.empty()) config_.worker_executable = default_worker_executable();
  if (config_.in_process) {
    in_process_ = std::make_unique<InProcessDispatcher>(config_.plugin_config);
  }
  spawner_ = std::thread([this] { spawner_loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(spawn_mutex_);
    spawner_stop_ = true;
  }
  spawn_wake_.notify_all();
  if (spawner_.joinable()) spawner_.join();
  close_idle();
}

void WorkerPool::close_idle() {
  std::vector<std::unique_ptr<Worker>> closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
    live_ -= closing.size();
  }
  // Closing the socket is the worker's signal to exit; give them all the same grace at once.
  for (auto& worker : closing) close_fd(worker->fd);
  auto give_up = Clock::now() + kIdleExitWait;
  for (auto& worker : closing) {
    auto left = std::chrono::duration_cast<milliseconds>(give_up - Clock::now());
    worker->reap(std::max(left, milliseconds(0)));
  }
  freed_.notify_all();
}

WorkerPoolStats WorkerPool::stats() const {
  std::lock_guard lock(mutex_);
  WorkerPoolStats stats = counters_;
  stats.busy = busy_;
  stats.idle = idle_.size();
  stats.live = live_;
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Starting workers
// ---------------------------------------------------------------------------------------------

void WorkerPool::spawner_loop() {
  std::vector<std::string> args;
  while (true) {
    SpawnRequest* request = nullptr;
    {
      std::unique_lock lock(spawn_mutex_);
      spawn_wake_.wait(lock, [&] { return spawner_stop_ || !spawn_queue_.empty(); });
      if (spawn_queue_.empty()) return;  // stopping, nothing left to serve
      request = spawn_queue_.front();
      spawn_queue_.pop_front();
    }

    // Everything the child needs is prepared before fork: between fork and exec only
    // async-signal-safe calls are allowed (this process has other threads).
    Result<std::unique_ptr<Worker>> result = fail("");
    int sockets[2] = {-1, -1};
    int exec_errors[2] = {-1, -1};
    int output_fd = -1;
    std::string exe = config_.worker_executable.string();
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
      result = fail("cannot create a socket pair for a plugin worker: " +
                    std::string(std::strerror(errno)));
    } else if (::pipe2(exec_errors, O_CLOEXEC) != 0) {
      result =
          fail("cannot create a pipe for a plugin worker: " + std::string(std::strerror(errno)));
    } else if (!config_.worker_output.empty() &&
               (output_fd = ::open(config_.worker_output.c_str(),
                                   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
      result = fail("cannot open the worker output file " + config_.worker_output.string() + ": " +
                    std::strerror(errno));
    } else {
      args = {exe, "--fd", std::to_string(sockets[1]), "--memory-limit",
              std::to_string(config_.memory_limit_bytes)};
      for (const auto& dir : config_.plugin_dirs) {
        args.push_back("--plugin-dir");
        args.push_back(dir.string());
      }
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      pid_t parent = ::getpid();
      int child_end = sockets[1];
      int error_end = exec_errors[1];

      pid_t pid = ::fork();
      if (pid == 0) {
        // The child. Die with the daemon; if it is already gone, do not start at all.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction defaults {};
        defaults.sa_handler = SIG_DFL;
        for (int sig : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
          ::sigaction(sig, &defaults, nullptr);
        }
        if (output_fd >= 0) {
          ::dup2(output_fd, STDOUT_FILENO);
          ::dup2(output_fd, STDERR_FILENO);
        }
        // Nothing else of the daemon's crosses the exec: its listening sockets (control API,
        // tracking), client connections and files are opened without close-on-exec by Asio and
        // others, and a worker that outlives a killed daemon by a few milliseconds would
        // otherwise keep the control socket answering and block the next start.
        if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
          for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        ::fcntl(child_end, F_SETFD, 0);  // the one descriptor the worker inherits on purpose
        ::execv(argv[0], argv.data());
        int error = errno;
        ssize_t ignored = ::write(error_end, &error, sizeof error);
        (void)ignored;
        ::_exit(127);
      }
      int fork_errno = errno;
      close_fd(sockets[1]);
      close_fd(exec_errors[1]);
      close_fd(output_fd);
      if (pid < 0) {
        result = fail("cannot fork a plugin worker: " + std::string(std::strerror(fork_errno)));
      } else {
        timeval send_timeout{.tv_sec = kSendTimeout.count(), .tv_usec = 0};
        ::setsockopt(sockets[0], SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
        auto worker = std::make_unique<Worker>();
        worker->pid = pid;
        worker->fd = sockets[0];
        sockets[0] = -1;
        // Blocks until exec succeeded (the pipe closes) or failed (the child writes errno).
        int exec_error = 0;
        ssize_t got;
        do {
          got = ::read(exec_errors[0], &exec_error, sizeof exec_error);
        } while (got < 0 && errno == EINTR);
        if (got == static_cast<ssize_t>(sizeof exec_error)) {
          worker->reap(kReapWait);
          result = fail("cannot start the plugin worker " + exe + ": " + std::strerror(exec_error));
        } else {
          result = std::move(worker);
        }
      }
    }
    close_fd(sockets[0]);
    close_fd(sockets[1]);
    close_fd(exec_errors[0]);
    close_fd(exec_errors[1]);
    close_fd(output_fd);

    {
      std::lock_guard lock(spawn_mutex_);
      request->result = std::move(result);
      request->done = true;
    }
    spawn_wake_.notify_all();
  }
}

Result<std::unique_ptr<WorkerPool::Worker>> WorkerPool::spawn_on_spawner_thread() {
  SpawnRequest request;
  std::unique_lock lock(spawn_mutex_);
  if (spawner_stop_) return fail("the worker pool is shutting down");
  spawn_queue_.push_back(&request);
  spawn_wake_.notify_all();
  spawn_wake_.wait(lock, [&] { return request.done; });
  return std::move(request.result);
}

Result<std::unique_ptr<WorkerPool::Worker>> WorkerPool::start_worker(
    const std::atomic<bool>* cancel) {
  auto spawned = spawn_on_spawner_thread();
  if (!spawned) return tl::unexpected(spawned.error());
  std::unique_ptr<Worker> worker = std::move(*spawned);
  std::string exe = config_.worker_executable.string();

  if (auto sent =
          wp::write_frame(worker->fd, {{"type", "init"}, {"plugin_config", config_.plugin_config}});
      !sent) {
    worker->reap(kReapWait);
    return fail("cannot start the plugin worker " + exe + ": " + sent.error().message);
  }

  auto give_up = Clock::now() + config_.start_timeout;
  std::vector<json> frames;
  while (true) {
    if (cancel != nullptr && cancel->load()) return std::unique_ptr<Worker>();
    if (Clock::now() >= give_up) {
      worker->reap(milliseconds(0));
      return fail("the plugin worker " + exe + " did not finish loading its plugins within " +
                  millis_text(config_.start_timeout));
    }
    Received received = receive(*worker, kPollSlice, frames);
    for (const auto& frame : frames) {
      if (wp::get_string(frame, "type") != "hello") continue;
      if (const auto errors = frame.find("load_errors");
          errors != frame.end() && errors->is_array() && config_.logger != nullptr) {
        for (const auto& error : *errors) {
          if (error.is_string()) config_.logger->warn("plugin worker: " + error.get<std::string>());
        }
      }
      std::lock_guard lock(mutex_);
      ++counters_.workers_started;
      if (config_.logger != nullptr) {
        config_.logger->debug("plugin worker " + std::to_string(worker->pid) + " started");
      }
      return worker;
    }
    frames.clear();
    if (received.state != StreamState::open) {
      worker->reap(kReapWait);
      std::string why = received.state == StreamState::broken ? received.problem : "";
      if (why.empty() && WIFSIGNALED(worker->wait_status)) {
        why = "it was terminated by " + signal_text(WTERMSIG(worker->wait_status));
      } else if (why.empty() && WIFEXITED(worker->wait_status)) {
        why = "it exited with status " + std::to_string(WEXITSTATUS(worker->wait_status));
      }
      return fail("the plugin worker " + exe + " failed while loading its plugins: " + why);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Leasing workers
// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<WorkerPool::Worker>> WorkerPool::acquire(const std::atomic<bool>* cancel) {
  std::unique_lock lock(mutex_);
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<Worker> worker = std::move(idle_.back());
      idle_.pop_back();
      if (worker->alive()) {
        ++busy_;
        return worker;
      }
      --live_;  // died while idle: reaped by alive(); its slot is free again
      if (config_.logger != nullptr) {
        config_.logger->warn("plugin worker " + std::to_string(worker->pid) +
                             " died while idle; a new one will start");
      }
    }
    if (live_ < config_.max_workers) {
      ++live_;
      ++busy_;
      counters_.peak_live = std::max(counters_.peak_live, live_);
      lock.unlock();
      auto started = start_worker(cancel);
      if (!started || !*started) {
        lock.lock();
        --live_;
        --busy_;
        freed_.notify_one();
      }
      return started;
    }
    if (cancel != nullptr && cancel->load()) return std::unique_ptr<Worker>();
    freed_.wait_for(lock, kPollSlice);
  }
}

void WorkerPool::release(std::unique_ptr<Worker> worker, bool keep) {
  if (keep) {
    std::lock_guard lock(mutex_);
    --busy_;
    idle_.push_back(std::move(worker));
  } else {
    worker->reap(kReapWait);
    std::lock_guard lock(mutex_);
    --busy_;
    --live_;
  }
  freed_.notify_one();
}

void WorkerPool::retire(std::unique_ptr<Worker> worker, const std::string& plugin, bool crashed) {
  {
    std::lock_guard lock(mutex_);
    ++counters_.restarts;
    ++counters_.restarts_by_plugin[plugin];
    if (crashed) {
      ++counters_.crashes;
      ++counters_.crashes_by_plugin[plugin];
    }
  }
  release(std::move(worker), false);
}

// ---------------------------------------------------------------------------------------------
// Running a step
// ---------------------------------------------------------------------------------------------

Result<StepOutcome> WorkerPool::run(const StepRequest& request, const RunServices& services,
                                    const std::atomic<bool>* cancel) {
  auto report = run_on_worker(request, services, cancel);
  if (!report) return tl::unexpected(report.error());
  return std::move(report->outcome);
}

Result<WorkerRunReport> WorkerPool::run_on_worker(const StepRequest& request,
                                                  const RunServices& services,
                                                  const std::atomic<bool>* cancel) {
  if (request.step_type == nullptr) return fail("no step type given to the worker pool");
  const StepTypeInfo& step_type = *request.step_type;
  if (in_process_ && (step_type.flags & RF_STEP_IN_PROCESS) != 0) {
    auto outcome = in_process_->run(request, services, cancel);
    if (!outcome) return tl::unexpected(outcome.error());
    WorkerRunReport report;
    report.outcome = std::move(*outcome);
    return report;
  }

  // A worker can die between the liveness check and our first write; that step never started,
  // so it is retried once on another worker.
  for (int attempt = 0;; ++attempt) {
    auto acquired = acquire(cancel);
    if (!acquired) {
      return fail("plugin " + step_type.name + ": " + acquired.error().message);
    }
    if (!*acquired) {
      WorkerRunReport cancelled;
      cancelled.outcome.status = RF_STATUS_CANCELLED;
      cancelled.outcome.error =
          "plugin " + step_type.name + " was cancelled while waiting for a free worker";
      return cancelled;
    }
    std::unique_ptr<Worker> worker = std::move(*acquired);
    bool send_failed = false;
    Execution execution = execute(*worker, request, services, cancel, send_failed);
    WorkerRunReport& report = execution.report;
    if (send_failed && attempt == 0) {
      release(std::move(worker), false);
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      ++counters_.steps_run;
      counters_.last_worker_pid = worker->pid;
    }
    if (report.worker_retired) {
      retire(std::move(worker), plugin_name_of(step_type), report.worker_crashed);
    } else {
      release(std::move(worker), true);
    }
    if (execution.host_error) return fail(*execution.host_error);
    return std::move(report);
  }
}

namespace {

// The state of one execution on a worker, and how its messages are answered.
class StepSession {
 public:
  StepSession(const RunServices& services, std::uint64_t run_id, int fd)
      : services_(services), run_id_(run_id), fd_(fd) {}

  // Handles one message. Returns true for this run's result.
  bool handle(const json& message) {
    auto type = wp::get_string(message, "type");
    auto id = wp::get_uint(message, "id");
    if (type == "call") {
      answer_call(message, id == run_id_);
      return false;
    }
    if (id != run_id_) return false;  // stale: from a plugin thread of an earlier run
    if (type == "log") {
      if (!services_.log) return false;
      auto level = wp::get_int(message, "level").value_or(RF_LOG_INFO);
      level = std::clamp<std::int64_t>(level, RF_LOG_DEBUG, RF_LOG_ERROR);
      guarded([&] {
        services_.log(static_cast<rf_log_level>(level),
                      wp::get_string(message, "message").value_or(""));
      });
    } else if (type == "progress") {
      if (!services_.progress) return false;
      double fraction = wp::get_number(message, "fraction").value_or(-1.0);
      if (!(fraction <= 1.0)) fraction = 1.0;  // also catches NaN
      guarded(
          [&] { services_.progress(fraction, wp::get_string(message, "message").value_or("")); });
    } else if (type == "fatal") {
      fatal_ = message;
    } else if (type == "result") {
      result_ = message;
      return true;
    }
    return false;
  }

  const std::optional<json>& result() const { return result_; }
  const std::optional<json>& fatal() const { return fatal_; }
  const std::vector<std::string>& served_secrets() const { return served_secrets_; }
  // Set once a reply could not be written whole: the stream is unusable from then on.
  const std::optional<std::string>& write_error() const { return write_error_; }

 private:
  template <typename Body>
  void guarded(Body&& body) {
    try {
      body();
    } catch (...) {  // a failing log or progress sink must not end the step
    }
  }

  void answer_call(const json& message, bool current) {
    auto call = wp::get_uint(message, "call");
    if (!call) return;
    json reply = {{"type", "reply"}, {"call", *call}, {"ok", false}, {"value", nullptr}};
    auto service = wp::get_string(message, "service");
    auto name = wp::get_string(message, "name");
    if (current && service && name) {
      try {
        if (*service == "secret" && services_.secret) {
          if (auto value = services_.secret(*name)) {
            served_secrets_.push_back(*value);
            reply["value"] = std::move(*value);
          }
          reply["ok"] = true;
        } else if (*service == "state_get" && services_.state_get) {
          if (auto value = services_.state_get(*name)) reply["value"] = std::move(*value);
          reply["ok"] = true;
        } else if (*service == "state_set" && services_.state_set) {
          auto value = wp::get_string(message, "value");
          std::optional<std::string_view> stored;
          if (value) stored = *value;
          reply["ok"] = services_.state_set(*name, stored);
        } else if (*service == "checkpoint_set" && services_.checkpoint) {
          auto value = wp::get_string(message, "value");
          auto parsed = value ? json::parse(*value, nullptr, false) : json();
          reply["ok"] = parsed.is_object() && services_.checkpoint(parsed);
        } else if (*service == "checkpoint_get" && services_.last_checkpoint) {
          if (auto value = services_.last_checkpoint()) reply["value"] = value->dump();
          reply["ok"] = true;
        } else if (*service == "account_get" && services_.account_get) {
          if (auto value = services_.account_get(*name)) reply["value"] = value->dump();
          reply["ok"] = true;
        } else if (*service == "account_set" && services_.account_set) {
          auto value = wp::get_string(message, "value");
          auto parsed = value ? json::parse(*value, nullptr, false) : json();
          reply["ok"] = parsed.is_object() && services_.account_set(*name, parsed);
        } else if (*service == "host_call") {
          answer_host_call(*name, wp::get_string(message, "value"), reply);
        } else if (*service == "checkpoint_set") {
          reply["ok"] = true;  // nothing durable behind this run: kept by the worker's call only
        } else if (*service == "secret" || *service == "state_get" ||
                   *service == "checkpoint_get" || *service == "account_get") {
          reply["ok"] = true;  // no such service here: "nothing there"
        }
      } catch (...) {
        reply["ok"] = false;
        reply["value"] = nullptr;
      }
    }
    if (auto sent = wp::write_frame(fd_, reply); !sent && !write_error_) {
      write_error_ = sent.error().message;
    }
  }

  // rf_host.call: the service's answer as JSON text, or ok false with why in "value".
  void answer_host_call(const std::string& service, const std::optional<std::string>& request,
                        json& reply) {
    auto parsed = request ? json::parse(*request, nullptr, false) : json();
    if (!parsed.is_object()) {
      reply["value"] = service + ": the request is not a JSON object";
      return;
    }
    if (!services_.call) {
      reply["value"] = service + " is not available: this host offers no daemon services";
      return;
    }
    Result<json> answer = fail(service + " failed in the daemon");
    try {
      answer = services_.call(service, parsed);
    } catch (const std::exception& e) {
      answer = fail(service + " failed in the daemon: " + e.what());
    }
    if (!answer) {
      reply["value"] = answer.error().message;
    } else if (!answer->is_object()) {
      reply["value"] = service + ": the daemon's answer is not a JSON object";
    } else {
      reply["ok"] = true;
      reply["value"] = answer->dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }

  const RunServices& services_;
  std::uint64_t run_id_;
  int fd_;
  std::optional<json> result_;
  std::optional<json> fatal_;
  std::vector<std::string> served_secrets_;
  std::optional<std::string> write_error_;
};

bool mentions_bad_alloc(std::string_view what) {
  return what.find("bad_alloc") != std::string_view::npos ||
         what.find("bad allocation") != std::string_view::npos;
}

}  // namespace

WorkerPool::Execution WorkerPool::execute(Worker& worker, const StepRequest& request,
                                          const RunServices& services,
                                          const std::atomic<bool>* cancel, bool& send_failed) {
  const StepTypeInfo& step_type = *request.step_type;
  const std::string plugin = "plugin " + step_type.name;
  const std::string input = input_text(request.context);
  const std::string memory_limit = wp::describe_bytes(config_.memory_limit_bytes);
  Execution execution;
  WorkerRunReport& report = execution.report;
  report.worker_pid = worker.pid;
  StepOutcome& outcome = report.outcome;
  outcome.status = RF_STATUS_ERROR;

  const std::uint64_t run_id = ++worker.last_run_id;
  json run_message = {{"type", "run"},
                      {"id", run_id},
                      {"step_type", step_type.name},
                      {"options", request.options},
                      {"context", request.context},
                      {"artifact_dir", services.artifact_dir.string()}};
  if (request.intent) run_message["intent"] = *request.intent;
  if (auto frame = wp::encode_frame(run_message); !frame) {
    execution.host_error =
        plugin + ": cannot pass the step to its worker: " + frame.error().message;
    return execution;
  } else if (auto sent = wp::write_all(worker.fd, *frame); !sent) {
    send_failed = true;
    report.worker_retired = true;
    outcome.error = plugin + ": its worker went away before the step started" + input;
    return execution;
  }

  enum class Stop { none, cancelled, timed_out };
  Stop stop = Stop::none;
  const auto started = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (request.timeout) {
    deadline = started + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(*request.timeout));
  }
  Clock::time_point kill_at{};
  std::optional<Clock::time_point> killed_at;
  Clock::time_point next_memory_sample = started;
  std::uint64_t last_address_space = 0;
  StepSession session(services, run_id, worker.fd);
  std::vector<json> frames;
  Received received;

  while (true) {
    auto now = Clock::now();
    if (stop == Stop::none) {
      if (cancel != nullptr && cancel->load()) {
        stop = Stop::cancelled;
      } else if (deadline && now >= *deadline) {
        stop = Stop::timed_out;
      }
      if (stop != Stop::none) {
        (void)wp::write_frame(worker.fd, {{"type", "cancel"}, {"id", run_id}});
        kill_at = now + config_.cancel_grace;
      }
    } else if (!killed_at && now >= kill_at) {
      ::kill(worker.pid, SIGKILL);
      killed_at = now;
    }
    if (killed_at && now - *killed_at > kReapWait) {
      // Killed, yet its socket stays open: a process it started holds the descriptor.
      received.state = StreamState::closed;
      break;
    }
    if (config_.memory_limit_bytes > 0 && now >= next_memory_sample) {
      if (auto size = address_space_bytes(worker.pid); size > 0) last_address_space = size;
      next_memory_sample = now + kMemorySampleEvery;
    }

    frames.clear();
    received = receive(worker, kPollSlice, frames);
    bool finished = false;
    for (const auto& frame : frames) {
      if (session.handle(frame)) {
        finished = true;
        break;
      }
    }
    if (!finished && received.state == StreamState::open && session.write_error()) {
      received = {StreamState::broken, *session.write_error()};
    }
    if (finished || received.state != StreamState::open) break;
  }

  const bool near_memory_limit =
      config_.memory_limit_bytes > 0 &&
      static_cast<double>(last_address_space) >=
          kNearMemoryLimit * static_cast<double>(config_.memory_limit_bytes);
  const std::string timeout_text = request.timeout ? seconds_text(*request.timeout) : "";
  const std::string grace_text = millis_text(config_.cancel_grace);
  auto out_of_memory_text = [&] {
    return plugin + " was stopped after exceeding its memory limit of " + memory_limit + input;
  };

  if (const auto& result = session.result(); result && received.state == StreamState::open) {
    if (auto host_error = wp::get_string(*result, "host_error")) {
      execution.host_error = *host_error;
      return execution;
    }
    if (auto exception = wp::get_string(*result, "exception")) {
      bool oom = wp::get_bool(*result, "out_of_memory").value_or(false);
      outcome.error = oom && config_.memory_limit_bytes > 0
                          ? out_of_memory_text()
                          : plugin + " threw an exception" + input + ": " + *exception;
      report.worker_retired = true;
      report.worker_crashed = true;
    } else {
      auto status = wp::get_int(*result, "status");
      const json* outputs = wp::get_object(*result, "outputs");
      if (outputs != nullptr) outcome.outputs = *outputs;
      std::string error = wp::get_string(*result, "error").value_or("");
      if (!status || *status < RF_STATUS_OK || *status > RF_STATUS_LATER) {
        outcome.status = RF_STATUS_ERROR;
        outcome.error = plugin + "'s worker sent an invalid result" + input;
        report.worker_retired = true;
      } else {
        outcome.status = static_cast<rf_status>(*status);
        outcome.error = std::move(error);
        // plugin.hpp turns an exception escaping a step into fail("unexpected error: <what>").
        constexpr std::string_view kUnexpected = "unexpected error: ";
        if (outcome.status == RF_STATUS_ERROR && outcome.error.starts_with(kUnexpected)) {
          std::string what = outcome.error.substr(kUnexpected.size());
          outcome.error = mentions_bad_alloc(what) && config_.memory_limit_bytes > 0
                              ? out_of_memory_text()
                              : plugin + " threw an exception" + input + ": " + what;
        }
      }
      if (stop == Stop::timed_out) {
        // It stopped within the grace period: the worker stays, the step failed.
        outcome.status = RF_STATUS_ERROR;
        outcome.outputs = json::object();
        outcome.error = plugin + " timed out after " + timeout_text + input;
      }
      if (outcome.status == RF_STATUS_OK) outcome.error.clear();
    }
  } else {
    // The stream ended or broke: the worker is gone or will be.
    report.worker_retired = true;
    if (received.state == StreamState::broken) ::kill(worker.pid, SIGKILL);
    worker.reap(kReapWait);
    const int status = worker.wait_status;
    const bool signalled = WIFSIGNALED(status);
    const int signal_number = signalled ? WTERMSIG(status) : 0;
    const bool our_kill = killed_at.has_value() && signalled && signal_number == SIGKILL;
    std::string memory_hint = near_memory_limit
                                  ? " (it was close to its memory limit of " + memory_limit +
                                        ", so it probably ran out of memory)"
                                  : "";
    if (received.state == StreamState::broken) {
      outcome.error = plugin + "'s worker broke the protocol" + input + ": " + received.problem;
      report.worker_crashed = true;
    } else if (our_kill && stop == Stop::timed_out) {
      outcome.error = plugin + " timed out after " + timeout_text + input +
                      " and was killed: it did not stop within the " + grace_text + " grace period";
    } else if (our_kill && stop == Stop::cancelled) {
      outcome.status = RF_STATUS_CANCELLED;
      outcome.error =
          plugin + " was cancelled" + input + " and killed: it did not stop within " + grace_text;
    } else if (const auto& fatal = session.fatal()) {
      bool oom = wp::get_bool(*fatal, "out_of_memory").value_or(false);
      std::string what = wp::get_string(*fatal, "exception").value_or("unknown exception");
      outcome.error = oom && config_.memory_limit_bytes > 0
                          ? out_of_memory_text()
                          : plugin + " threw an exception" + input + ": " + what +
                                " (it escaped the plugin and aborted its worker)";
      report.worker_crashed = true;
    } else if (signalled && signal_number == SIGABRT) {
      outcome.error = plugin + " aborted (SIGABRT)" + input + memory_hint;
      report.worker_crashed = true;
    } else if (signalled && signal_number == SIGKILL) {
      outcome.error = plugin + " was killed by SIGKILL" + input +
                      " (not by reelflow: another process or the kernel's out-of-memory killer)";
      report.worker_crashed = true;
    } else if (signalled &&
               (signal_number == SIGSEGV || signal_number == SIGBUS || signal_number == SIGILL ||
                signal_number == SIGFPE || signal_number == SIGSYS || signal_number == SIGTRAP)) {
      outcome.error = plugin + " crashed with " + signal_text(signal_number) + input + memory_hint;
      report.worker_crashed = true;
    } else if (signalled) {
      outcome.error = plugin + " was terminated by " + signal_text(signal_number) + input;
      report.worker_crashed = true;
    } else if (WIFEXITED(status)) {
      outcome.error = plugin + "'s worker exited with status " +
                      std::to_string(WEXITSTATUS(status)) + input + " before finishing the step";
      report.worker_crashed = true;
    } else {
      outcome.error = plugin + "'s worker ended" + input + " before finishing the step";
      report.worker_crashed = true;
    }
  }

  outcome.error = mask(std::move(outcome.error), session.served_secrets());
  if (report.worker_retired && config_.logger != nullptr) {
    LogFields fields;
    std::string run_field = wp::get_string(request.context, "run_id").value_or("");
    std::string step_field = wp::get_string(request.context, "step_id").value_or("");
    std::string plugin_field = plugin_name_of(step_type);
    fields.run = run_field;
    fields.step = step_field;
    fields.plugin = plugin_field;
    config_.logger->warn(
        "plugin worker " + std::to_string(worker.pid) + " replaced: " + outcome.error, fields);
  }
  return execution;
}

fs::path default_worker_executable() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return "reelflow-worker";
  fs::path dir = self.parent_path();
  fs::path installed = dir.parent_path() / "libexec" / "reelflow" / "reelflow-worker";
  if (fs::exists(installed, error)) return installed;
  return dir / "reelflow-worker";
}

}  // namespace reelflow::plugin_host
