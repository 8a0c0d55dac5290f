// WorkerPool end to end: real reelflow-worker processes running the misbehave test plugin. Every
// failure mode must fail its step with the right message and leave the pool serving; every wait is
// bounded.
#include "plugin_host/worker_pool.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace reelflow::plugin_host {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "reelflow-worker-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// What the daemon side saw of one step: logs, progress, and the state store.
struct Recorder {
  std::mutex mutex;
  std::vector<std::string> logs;
  std::vector<double> progress;
  std::map<std::string, std::string> state;
  std::map<std::string, std::string> secrets;
  // The daemon's services (rf_host.call): what was asked, and how to answer; unset: none.
  std::vector<std::pair<std::string, json>> calls;
  std::function<Result<json>(const json& request)> answer;

  RunServices services(const fs::path& artifact_dir) {
    RunServices services;
    services.artifact_dir = artifact_dir;
    if (answer) {
      services.call = [this](std::string_view service, const json& request) {
        std::lock_guard lock(mutex);
        calls.emplace_back(std::string(service), request);
        return answer(request);
      };
    }
    services.log = [this](rf_log_level, std::string_view message) {
      std::lock_guard lock(mutex);
      logs.emplace_back(message);
    };
    services.progress = [this](double fraction, std::string_view) {
      std::lock_guard lock(mutex);
      progress.push_back(fraction);
    };
    services.secret = [this](std::string_view name) -> std::optional<std::string> {
      std::lock_guard lock(mutex);
      auto found = secrets.find(std::string(name));
      if (found == secrets.end()) return std::nullopt;
      return found->second;
    };
    services.state_get = [this](std::string_view key) -> std::optional<std::string> {
      std::lock_guard lock(mutex);
      auto found = state.find(std::string(key));
      if (found == state.end()) return std::nullopt;
      return found->second;
    };
    services.state_set = [this](std::string_view key, std::optional<std::string_view> value) {
      std::lock_guard lock(mutex);
      if (value) {
        state[std::string(key)] = std::string(*value);
      } else {
        state.erase(std::string(key));
      }
      return true;
    };
    return services;
  }

  // The pid a step logged as "pid=N", waiting for it at most `wait`.
  pid_t wait_for_logged_pid(std::chrono::milliseconds wait) {
    auto give_up = Clock::now() + wait;
    while (Clock::now() < give_up) {
      {
        std::lock_guard lock(mutex);
        for (const auto& line : logs) {
          if (line.rfind("pid=", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 4));
        }
      }
      std::this_thread::sleep_for(10ms);
    }
    return 0;
  }
};

// Whether pid is a running process (a zombie waiting for its reaper does not count).
bool running(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close_paren = text.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= text.size() ||
         text[close_paren + 2] != 'Z';
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class WorkerPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto errors = registry_.load_dir(WORKER_TEST_PLUGIN_DIR);
    ASSERT_TRUE(errors.empty()) << errors.front().message;
  }

  WorkerPoolConfig config(std::size_t max_workers = 1) const {
    WorkerPoolConfig config;
    config.worker_executable = WORKER_EXECUTABLE;
    config.plugin_dirs = {WORKER_TEST_PLUGIN_DIR};
    config.max_workers = max_workers;
    config.cancel_grace = 300ms;
    config.start_timeout = 10s;
    config.worker_output = temp_.path() / "worker-output.log";
    return config;
  }

  StepRequest request(const std::string& step_type, json options = json::object(),
                      std::optional<double> timeout = std::nullopt) const {
    const StepTypeInfo* info = registry_.find(step_type);
    EXPECT_NE(info, nullptr) << step_type;
    return StepRequest{info, std::move(options),
                       json{{"run_id", "run-1"},
                            {"step_id", "step-1"},
                            {"workflow", "test"},
                            {"attempt", 1},
                            {"trigger", {{"file", "/videos/a.mp4"}}}},
                       timeout, std::nullopt};
  }

  WorkerRunReport run(WorkerPool& pool, const std::string& step_type, json options = json::object(),
                      std::optional<double> timeout = std::nullopt,
                      const std::atomic<bool>* cancel = nullptr, Recorder* recorder = nullptr) {
    Recorder local;
    Recorder& used = recorder != nullptr ? *recorder : local;
    auto report = pool.run_on_worker(request(step_type, std::move(options), timeout),
                                     used.services(temp_.path() / "artifacts"), cancel);
    EXPECT_TRUE(report.has_value()) << (report ? "" : report.error().message);
    return report ? *report : WorkerRunReport{};
  }

  // A good step right after a failure succeeds, on a fresh worker.
  void expect_pool_recovers(WorkerPool& pool, pid_t failed_worker) {
    WorkerRunReport good = run(pool, "misbehave.ok");
    EXPECT_EQ(good.outcome.status, RF_STATUS_OK) << good.outcome.error;
    EXPECT_NE(good.worker_pid, failed_worker);
    EXPECT_EQ(good.outcome.outputs.value("pid", 0), good.worker_pid);
  }

  void expect_failure(const std::string& step_type, const std::string& message,
                      bool crashed = true) {
    WorkerPool pool(config());
    WorkerRunReport report = run(pool, step_type);
    EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
    EXPECT_EQ(report.outcome.error, message);
    EXPECT_TRUE(report.worker_retired);
    EXPECT_EQ(report.worker_crashed, crashed);
    expect_pool_recovers(pool, report.worker_pid);
    WorkerPoolStats stats = pool.stats();
    EXPECT_EQ(stats.restarts_by_plugin["misbehave"], 1u);
    EXPECT_EQ(stats.crashes_by_plugin["misbehave"], crashed ? 1u : 0u);
    EXPECT_EQ(stats.workers_started, 2u);
  }

  Registry registry_;
  TempDir temp_;
};

TEST_F(WorkerPoolTest, ReusesOneWorkerAcrossSuccessfulSteps) {
  WorkerPool pool(config());
  WorkerRunReport first = run(pool, "misbehave.ok");
  WorkerRunReport second = run(pool, "misbehave.ok");
  ASSERT_EQ(first.outcome.status, RF_STATUS_OK) << first.outcome.error;
  ASSERT_EQ(second.outcome.status, RF_STATUS_OK) << second.outcome.error;
  EXPECT_NE(first.worker_pid, 0);
  EXPECT_NE(first.worker_pid, ::getpid());
  EXPECT_EQ(first.worker_pid, second.worker_pid);
  EXPECT_EQ(first.outcome.outputs.value("pid", 0), first.worker_pid);
  WorkerPoolStats stats = pool.stats();
  EXPECT_EQ(stats.workers_started, 1u);
  EXPECT_EQ(stats.steps_run, 2u);
  EXPECT_EQ(stats.idle, 1u);
  EXPECT_EQ(stats.busy, 0u);
  EXPECT_EQ(stats.last_worker_pid, first.worker_pid);
  EXPECT_EQ(stats.restarts, 0u);
}

TEST_F(WorkerPoolTest, Segfault) {
#ifdef REELFLOW_SANITIZE
  GTEST_SKIP() << "UBSan stops the plugin's deliberate null dereference before the SIGSEGV";
#endif
  expect_failure("misbehave.segfault",
                 "plugin misbehave.segfault crashed with SIGSEGV (segmentation fault) while "
                 "processing /videos/a.mp4");
}

TEST_F(WorkerPoolTest, Abort) {
  expect_failure("misbehave.abort",
                 "plugin misbehave.abort aborted (SIGABRT) while processing "
                 "/videos/a.mp4");
}

TEST_F(WorkerPoolTest, ExceptionEscapingARawCallback) {
  expect_failure("misbehave.throw_raw",
                 "plugin misbehave.throw_raw threw an exception while processing /videos/a.mp4: "
                 "boom from the raw ABI");
}

TEST_F(WorkerPoolTest, ExceptionEscapingANoexceptCallbackAbortsTheWorker) {
  expect_failure("misbehave.throw_noexcept",
                 "plugin misbehave.throw_noexcept threw an exception while processing "
                 "/videos/a.mp4: boom through noexcept (it escaped the plugin and aborted its "
                 "worker)");
}

TEST_F(WorkerPoolTest, ExitingWorker) {
  expect_failure("misbehave.exit_early",
                 "plugin misbehave.exit_early's worker exited with status 3 while processing "
                 "/videos/a.mp4 before finishing the step");
}

TEST_F(WorkerPoolTest, ProtocolErrorEndsTheWorkerNotTheDaemon) {
  WorkerPool pool(config());
  WorkerRunReport report = run(pool, "misbehave.garble");
  EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(report.outcome.error,
            "plugin misbehave.garble's worker broke the protocol while processing /videos/a.mp4: "
            "frame of 2147483647 bytes exceeds the limit of 64 MiB");
  EXPECT_TRUE(report.worker_retired);
  expect_pool_recovers(pool, report.worker_pid);
}

TEST_F(WorkerPoolTest, ExceptionCaughtByPluginHppKeepsTheWorker) {
  WorkerPool pool(config());
  WorkerRunReport report = run(pool, "misbehave.throw_hpp");
  EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(report.outcome.error,
            "plugin misbehave.throw_hpp threw an exception while processing /videos/a.mp4: boom "
            "from plugin.hpp");
  EXPECT_FALSE(report.worker_retired);
  WorkerRunReport good = run(pool, "misbehave.ok");
  EXPECT_EQ(good.outcome.status, RF_STATUS_OK);
  EXPECT_EQ(good.worker_pid, report.worker_pid);
}

TEST_F(WorkerPoolTest, MemoryLimitStopsTheAllocatorNotTheTestProcess) {
#ifdef REELFLOW_SANITIZE
  GTEST_SKIP() << "sanitizer builds cannot limit a worker's address space";
#endif
  WorkerPoolConfig limited = config();
  limited.memory_limit_bytes = 256ull << 20;
  WorkerPool pool(limited);
  for (const std::string step : {"misbehave.allocate_raw", "misbehave.allocate_hpp"}) {
    auto start = Clock::now();
    WorkerRunReport report = run(pool, step);
    EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
    EXPECT_EQ(report.outcome.error, "plugin " + step +
                                        " was stopped after exceeding its memory limit of 256 "
                                        "MiB while processing /videos/a.mp4");
    EXPECT_LT(seconds_since(start), 10.0);
    WorkerRunReport good = run(pool, "misbehave.ok");
    EXPECT_EQ(good.outcome.status, RF_STATUS_OK) << good.outcome.error;
  }
}

// A NULL from malloc is a plain SIGSEGV; the pool can only say the worker was near its limit.
TEST_F(WorkerPoolTest, CrashNearTheMemoryLimitSaysSo) {
#ifdef REELFLOW_SANITIZE
  GTEST_SKIP() << "sanitizer builds cannot limit a worker's address space";
#endif
  WorkerPoolConfig limited = config();
  limited.memory_limit_bytes = 256ull << 20;
  WorkerPool pool(limited);
  WorkerRunReport report = run(pool, "misbehave.allocate_malloc");
  EXPECT_EQ(report.outcome.error,
            "plugin misbehave.allocate_malloc crashed with SIGSEGV (segmentation fault) while "
            "processing /videos/a.mp4 (it was close to its memory limit of 256 MiB, so it probably "
            "ran out of memory)");
  expect_pool_recovers(pool, report.worker_pid);
}

TEST_F(WorkerPoolTest, TimeoutKillsAHangingPluginAfterTheGrace) {
  WorkerPool pool(config());
  auto start = Clock::now();
  WorkerRunReport report = run(pool, "misbehave.hang", json::object(), 0.3);
  double elapsed = seconds_since(start);
  EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(report.outcome.error,
            "plugin misbehave.hang timed out after 0.3s while processing /videos/a.mp4 and was "
            "killed: it did not stop within the 0.3s grace period");
  EXPECT_GE(elapsed, 0.6);
  EXPECT_LT(elapsed, 0.3 + 0.3 + 1.5);
  EXPECT_TRUE(report.worker_retired);
  EXPECT_FALSE(report.worker_crashed);
  expect_pool_recovers(pool, report.worker_pid);
  EXPECT_EQ(pool.stats().restarts_by_plugin["misbehave"], 1u);
  EXPECT_EQ(pool.stats().crashes, 0u);
}

TEST_F(WorkerPoolTest, TimeoutOfACooperativePluginKeepsTheWorker) {
  WorkerPool pool(config());
  auto start = Clock::now();
  WorkerRunReport report = run(pool, "misbehave.cooperative", json::object(), 0.3);
  EXPECT_LT(seconds_since(start), 0.3 + 0.3 + 1.0);
  EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(report.outcome.error,
            "plugin misbehave.cooperative timed out after 0.3s while processing /videos/a.mp4");
  EXPECT_FALSE(report.worker_retired);
  WorkerRunReport good = run(pool, "misbehave.ok");
  EXPECT_EQ(good.outcome.status, RF_STATUS_OK);
  EXPECT_EQ(good.worker_pid, report.worker_pid);
}

TEST_F(WorkerPoolTest, CancelStopsACooperativeStepAndKillsAHangingOne) {
  WorkerPool pool(config());
  for (const std::string step : {"misbehave.cooperative", "misbehave.hang"}) {
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
      std::this_thread::sleep_for(200ms);
      cancel = true;
    });
    auto start = Clock::now();
    WorkerRunReport report = run(pool, step, json::object(), std::nullopt, &cancel);
    canceller.join();
    EXPECT_EQ(report.outcome.status, RF_STATUS_CANCELLED) << report.outcome.error;
    EXPECT_LT(seconds_since(start), 0.2 + 0.3 + 1.0);
    EXPECT_EQ(report.worker_retired, step == "misbehave.hang") << step;
  }
  WorkerRunReport good = run(pool, "misbehave.ok");
  EXPECT_EQ(good.outcome.status, RF_STATUS_OK);
}

TEST_F(WorkerPoolTest, SecretsAndStateRoundTripThroughTheDaemonSide) {
  WorkerPool pool(config());
  Recorder recorder;
  recorder.secrets["api_key"] = "s3cr3t-value";
  for (int expected_counter = 1; expected_counter <= 2; ++expected_counter) {
    WorkerRunReport report =
        run(pool, "misbehave.services", json::object(), std::nullopt, nullptr, &recorder);
    ASSERT_EQ(report.outcome.status, RF_STATUS_OK) << report.outcome.error;
    const json& out = report.outcome.outputs;
    EXPECT_EQ(out.value("secret", ""), "s3cr3t-value");
    EXPECT_FALSE(out.value("missing_secret_found", true));
    EXPECT_EQ(out.value("counter", 0), expected_counter);
    EXPECT_TRUE(out.value("stored", false));
    EXPECT_TRUE(out.value("erased", false));
    EXPECT_EQ(out.value("artifact_dir", ""), (temp_.path() / "artifacts").string());
  }
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(recorder.state["counter"], "2");
  EXPECT_EQ(recorder.state.count("scratch"), 0u);
  EXPECT_EQ(recorder.logs, (std::vector<std::string>{"services: starting", "services: starting"}));
  ASSERT_FALSE(recorder.progress.empty());
  EXPECT_EQ(recorder.progress.back(), 1.0);
}

TEST_F(WorkerPoolTest, HostCallsRoundTripThroughTheDaemonSide) {
  WorkerPool pool(config());
  Recorder recorder;
  // Larger than the SDK's first buffer: the plugin asks twice, the daemon side answers once (the
  // worker's executor keeps the answer for the retry).
  const json answer = {{"code", "c1"},
                       {"short_url", "https://go.example/l/c1"},
                       {"padding", std::string(10000, 'p')}};
  recorder.answer = [&](const json&) { return Result<json>(answer); };
  const json request = {{"url", "https://shop.example"}, {"key", "run-1/link"}};
  json options = {{"service", "links.create"}, {"request", request}};
  WorkerRunReport report = run(pool, "misbehave.call", options, std::nullopt, nullptr, &recorder);
  ASSERT_EQ(report.outcome.status, RF_STATUS_OK) << report.outcome.error;
  EXPECT_EQ(report.outcome.outputs["answer"], answer);
  EXPECT_TRUE(report.outcome.outputs["error"].is_null());
  {
    std::lock_guard lock(recorder.mutex);
    ASSERT_EQ(recorder.calls.size(), 1u);
    EXPECT_EQ(recorder.calls[0].first, "links.create");
    EXPECT_EQ(recorder.calls[0].second, request);
  }

  // A service that fails: the plugin gets its message.
  recorder.answer = [](const json&) -> Result<json> { return fail("no link for that key"); };
  report = run(pool, "misbehave.call", options, std::nullopt, nullptr, &recorder);
  ASSERT_EQ(report.outcome.status, RF_STATUS_OK) << report.outcome.error;
  EXPECT_TRUE(report.outcome.outputs["answer"].is_null());
  EXPECT_EQ(report.outcome.outputs["error"], "no link for that key");

  // No services on the daemon side.
  Recorder without;
  report = run(pool, "misbehave.call", options, std::nullopt, nullptr, &without);
  ASSERT_EQ(report.outcome.status, RF_STATUS_OK) << report.outcome.error;
  EXPECT_EQ(report.outcome.outputs["error"],
            "links.create is not available: this host offers no daemon services");
  EXPECT_EQ(pool.stats().workers_started, 1u);  // one worker served all three
}

TEST_F(WorkerPoolTest, SecretValuesNeverReachMessages) {
  WorkerPool pool(config());
  Recorder recorder;
  recorder.secrets["api_key"] = "fail-with-secret";
  WorkerRunReport report =
      run(pool, "misbehave.services", json::object(), std::nullopt, nullptr, &recorder);
  EXPECT_EQ(report.outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(report.outcome.error, "services: refusing secret ***");
}

TEST_F(WorkerPoolTest, NoisyPluginOutputGoesToTheWorkerOutput) {
  WorkerPool pool(config());
  WorkerRunReport report = run(pool, "misbehave.noisy");
  ASSERT_EQ(report.outcome.status, RF_STATUS_OK) << report.outcome.error;
  EXPECT_TRUE(report.outcome.outputs.value("noisy", false));
  EXPECT_GE(fs::file_size(temp_.path() / "worker-output.log"), 2u * 512u * 1024u);
  WorkerRunReport again = run(pool, "misbehave.ok");
  EXPECT_EQ(again.worker_pid, report.worker_pid);
}

TEST_F(WorkerPoolTest, WorkerKilledFromOutsideFailsOnlyItsStep) {
  WorkerPool pool(config(2));
  Recorder victim_recorder;
  WorkerRunReport victim;
  std::thread victim_thread([&] {
    victim = run(pool, "misbehave.cooperative", json::object(), 10.0, nullptr, &victim_recorder);
  });
  WorkerRunReport bystander;
  std::thread bystander_thread([&] { bystander = run(pool, "misbehave.ok", {{"sleep_ms", 600}}); });
  pid_t victim_pid = victim_recorder.wait_for_logged_pid(5s);
  ASSERT_NE(victim_pid, 0);
  ::kill(victim_pid, SIGKILL);
  victim_thread.join();
  bystander_thread.join();
  EXPECT_EQ(victim.outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(victim.outcome.error,
            "plugin misbehave.cooperative was killed by SIGKILL while processing /videos/a.mp4 "
            "(not by reelflow: another process or the kernel's out-of-memory killer)");
  EXPECT_EQ(bystander.outcome.status, RF_STATUS_OK) << bystander.outcome.error;
  EXPECT_NE(bystander.worker_pid, victim_pid);
  WorkerRunReport good = run(pool, "misbehave.ok");
  EXPECT_EQ(good.outcome.status, RF_STATUS_OK);
}

// SIGSTOP: the worker neither reads nor answers; the timeout still ends the step on time.
TEST_F(WorkerPoolTest, StoppedWorkerIsKilledOnTimeout) {
  WorkerPool pool(config());
  Recorder recorder;
  WorkerRunReport report;
  auto start = Clock::now();
  std::thread step([&] {
    report = run(pool, "misbehave.cooperative", json::object(), 0.5, nullptr, &recorder);
  });
  pid_t worker = recorder.wait_for_logged_pid(5s);
  ASSERT_NE(worker, 0);
  ::kill(worker, SIGSTOP);
  step.join();
  EXPECT_LT(seconds_since(start), 0.5 + 0.3 + 1.5);
  EXPECT_EQ(report.outcome.error,
            "plugin misbehave.cooperative timed out after 0.5s while processing /videos/a.mp4 and "
            "was killed: it did not stop within the 0.3s grace period");
  expect_pool_recovers(pool, worker);
}

TEST_F(WorkerPoolTest, ParallelRunsNeverExceedMaxWorkers) {
  WorkerPool pool(config(2));
  constexpr int kRuns = 6;
  std::vector<WorkerRunReport> reports(kRuns);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] { reports[i] = run(pool, "misbehave.ok", {{"sleep_ms", 150}}); });
  }
  for (auto& thread : threads) thread.join();
  std::set<pid_t> pids;
  for (const auto& report : reports) {
    EXPECT_EQ(report.outcome.status, RF_STATUS_OK) << report.outcome.error;
    pids.insert(report.worker_pid);
  }
  WorkerPoolStats stats = pool.stats();
  EXPECT_LE(pids.size(), 2u);
  EXPECT_LE(stats.peak_live, 2u);
  EXPECT_LE(stats.workers_started, 2u);
  EXPECT_EQ(stats.steps_run, static_cast<std::uint64_t>(kRuns));
  // Three rounds of two, not six in a row and not six at once.
  EXPECT_GE(seconds_since(start), 0.45);
}

TEST_F(WorkerPoolTest, CancelWhileWaitingForAFreeWorker) {
  WorkerPool pool(config(1));
  std::atomic<bool> stop_busy{false};
  WorkerRunReport busy;
  Recorder busy_recorder;
  std::thread busy_thread([&] {
    busy = run(pool, "misbehave.cooperative", json::object(), std::nullopt, &stop_busy,
               &busy_recorder);
  });
  ASSERT_NE(busy_recorder.wait_for_logged_pid(5s), 0);
  std::atomic<bool> cancel_waiting{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel_waiting = true;
  });
  auto start = Clock::now();
  WorkerRunReport waiting =
      run(pool, "misbehave.ok", json::object(), std::nullopt, &cancel_waiting);
  canceller.join();
  EXPECT_LT(seconds_since(start), 1.0);
  EXPECT_EQ(waiting.outcome.status, RF_STATUS_CANCELLED);
  EXPECT_EQ(waiting.outcome.error,
            "plugin misbehave.ok was cancelled while waiting for a free worker");
  stop_busy = true;
  busy_thread.join();
  EXPECT_EQ(busy.outcome.status, RF_STATUS_CANCELLED);
}

TEST_F(WorkerPoolTest, InProcessStepTypesRunHereWhenAllowed) {
  {
    WorkerPool pool(config());
    WorkerRunReport report = run(pool, "misbehave.light");
    EXPECT_EQ(report.outcome.status, RF_STATUS_OK);
    EXPECT_EQ(report.worker_pid, 0);
    EXPECT_EQ(report.outcome.outputs.value("pid", 0), ::getpid());
    EXPECT_EQ(pool.stats().workers_started, 0u);
  }
  WorkerPoolConfig isolated = config();
  isolated.in_process = false;
  WorkerPool pool(isolated);
  WorkerRunReport report = run(pool, "misbehave.light");
  EXPECT_EQ(report.outcome.status, RF_STATUS_OK);
  EXPECT_NE(report.outcome.outputs.value("pid", 0), ::getpid());
}

TEST_F(WorkerPoolTest, MissingWorkerExecutableIsAnError) {
  WorkerPoolConfig broken = config();
  broken.worker_executable = temp_.path() / "no-such-worker";
  WorkerPool pool(broken);
  Recorder recorder;
  auto report =
      pool.run_on_worker(request("misbehave.ok"), recorder.services(temp_.path()), nullptr);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().message, "plugin misbehave.ok: cannot start the plugin worker " +
                                        (temp_.path() / "no-such-worker").string() +
                                        ": No such file or directory");
  EXPECT_EQ(pool.stats().live, 0u);
}

TEST_F(WorkerPoolTest, StepTypeTheWorkerDoesNotHaveIsAnError) {
  WorkerPoolConfig empty = config();
  empty.plugin_dirs = {temp_.path()};  // the worker loads nothing
  WorkerPool pool(empty);
  Recorder recorder;
  auto report =
      pool.run_on_worker(request("misbehave.ok"), recorder.services(temp_.path()), nullptr);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().message,
            "step type 'misbehave.ok' is not provided by any plugin the worker loaded");
  EXPECT_EQ(pool.stats().idle, 1u);  // the worker itself is fine
}

TEST_F(WorkerPoolTest, ClosingIdleWorkersEndsTheirProcesses) {
  WorkerPool pool(config());
  WorkerRunReport report = run(pool, "misbehave.ok");
  ASSERT_EQ(report.outcome.status, RF_STATUS_OK);
  pool.close_idle();
  EXPECT_EQ(::kill(report.worker_pid, 0), -1);  // reaped: the pid no longer exists
  EXPECT_EQ(pool.stats().live, 0u);
}

// PR_SET_PDEATHSIG: a worker dies with the process that started it, even one killed with SIGKILL
// that could clean nothing up.
TEST_F(WorkerPoolTest, WorkersDieWithTheDaemon) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t daemon = ::fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    ::close(pipe_fds[0]);
    WorkerPool pool(config());
    Recorder recorder;
    std::thread step([&] {
      (void)pool.run_on_worker(request("misbehave.hang"), recorder.services(temp_.path()), nullptr);
    });
    pid_t worker = recorder.wait_for_logged_pid(5s);
    ssize_t ignored = ::write(pipe_fds[1], &worker, sizeof worker);
    (void)ignored;
    ::pause();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  pid_t worker = 0;
  ASSERT_EQ(::read(pipe_fds[0], &worker, sizeof worker), static_cast<ssize_t>(sizeof worker));
  ::close(pipe_fds[0]);
  ASSERT_GT(worker, 0);
  ::kill(daemon, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(daemon, &status, 0), daemon);
  auto give_up = Clock::now() + 5s;
  while (running(worker) && Clock::now() < give_up) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(running(worker)) << "worker " << worker << " outlived its daemon";
}

}  // namespace
}  // namespace reelflow::plugin_host
