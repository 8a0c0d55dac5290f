// Executor tests with plugins/exec_plugin.c: every rf_host function, every way a run ends,
// cancellation from another thread, reconcile, instance lifetime and host services that throw.
#include "plugin_host/executor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace reelflow::plugin_host {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::test_plugin;

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kSecretName = "api_key";  // as in exec_plugin.c
constexpr const char* kSecretValue = "s3cret-value";

// Services backed by plain containers, recording what the plugin did. Thread-safe, since plugin
// threads may call the host.
struct FakeServices {
  std::mutex mutex;
  std::vector<std::pair<rf_log_level, std::string>> logs;
  std::vector<std::pair<double, std::string>> progress;
  std::map<std::string, std::string> secrets{{kSecretName, kSecretValue}};
  std::map<std::string, std::string> state{{"obsolete", "x"}};
  std::function<void(double, std::string_view)> on_progress;

  RunServices services(const fs::path& artifact_dir) {
    RunServices s;
    s.artifact_dir = artifact_dir;
    s.log = [this](rf_log_level level, std::string_view message) {
      std::lock_guard lock(mutex);
      logs.emplace_back(level, std::string(message));
    };
    s.progress = [this](double fraction, std::string_view message) {
      {
        std::lock_guard lock(mutex);
        progress.emplace_back(fraction, std::string(message));
      }
      if (on_progress) on_progress(fraction, message);
    };
    s.secret = [this](std::string_view name) -> std::optional<std::string> {
      auto it = secrets.find(std::string(name));
      if (it == secrets.end()) return std::nullopt;
      return it->second;
    };
    s.state_get = [this](std::string_view key) -> std::optional<std::string> {
      auto it = state.find(std::string(key));
      if (it == state.end()) return std::nullopt;
      return it->second;
    };
    s.state_set = [this](std::string_view key, std::optional<std::string_view> value) {
      if (value) {
        state[std::string(key)] = std::string(*value);
      } else {
        state.erase(std::string(key));
      }
      return true;
    };
    return s;
  }

  std::vector<std::string> log_lines() {
    std::lock_guard lock(mutex);
    std::vector<std::string> lines;
    for (const auto& [level, line] : logs) lines.push_back(line);
    return lines;
  }
};

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = registry_.load_file(test_plugin("phtest_exec"));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  }

  const StepTypeInfo& step(std::string_view name) {
    const StepTypeInfo* found = registry_.find("phtest_exec." + std::string(name));
    if (found == nullptr) throw std::runtime_error("no step type " + std::string(name));
    return *found;
  }

  Registry registry_;
  TempDir artifacts_;
  FakeServices fake_;
};

TEST_F(ExecutorTest, EveryHostServiceWorksForTheRun) {
  Executor executor;
  json options = {{"width", 1080}, {"settle", 90.0}};
  json context = {{"run_id", "r-1"}, {"step_id", "cut"}, {"attempt", 1}};
  auto outcome =
      executor.run(step("everything"), options, context, fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->error, "");
  const json& out = outcome->outputs;

  // artifact_dir: the plugin wrote a file there.
  EXPECT_EQ(out["artifact"], (artifacts_.path() / "artifact.txt").string());
  EXPECT_EQ(out["artifact_written"], true);
  std::ifstream artifact(artifacts_.path() / "artifact.txt");
  std::string line;
  std::getline(artifact, line);
  EXPECT_EQ(line, "made by phtest_exec");

  // secret: the length with cap 0, nothing copied into a buffer that is too small, the value
  // into one that fits, -1 for an unknown name.
  EXPECT_EQ(out["secret_length"], std::string(kSecretValue).size());
  EXPECT_EQ(out["too_small_result"], std::string(kSecretValue).size());
  EXPECT_EQ(out["too_small_untouched"], true);
  EXPECT_EQ(out["secret_matches"], true);
  EXPECT_EQ(out["missing_secret"], -1);

  // state: read, incremented, and a NULL value deletes.
  EXPECT_EQ(out["counter_before"], 0);
  EXPECT_EQ(out["state_set"], 0);
  EXPECT_EQ(out["state_delete"], 0);
  EXPECT_EQ(fake_.state["counter"], "1");
  EXPECT_EQ(fake_.state.count("obsolete"), 0u);

  // options, context and the (absent) plugin config arrive as given.
  EXPECT_EQ(out["options"], options);
  EXPECT_EQ(out["context"], context);
  EXPECT_EQ(out["config"], json::object());
  EXPECT_EQ(out["cancelled"], 0);

  // log at every level, progress with and without a message.
  std::vector<std::pair<rf_log_level, std::string>> expected_logs = {{RF_LOG_DEBUG, "debug line"},
                                                                     {RF_LOG_INFO, "info line"},
                                                                     {RF_LOG_WARN, "warn line"},
                                                                     {RF_LOG_ERROR, "error line"}};
  for (const auto& entry : expected_logs) EXPECT_THAT(fake_.logs, Contains(entry));
  ASSERT_EQ(fake_.progress.size(), 2u);
  EXPECT_EQ(fake_.progress[0], std::make_pair(0.5, std::string("halfway")));
  EXPECT_EQ(fake_.progress[1], std::make_pair(-1.0, std::string()));

  for (const auto& text : fake_.log_lines())
    EXPECT_THAT(text, ::testing::Not(HasSubstr(kSecretValue)));

  // A second run reuses the instance and sees the state the first one left.
  auto again =
      executor.run(step("everything"), options, context, fake_.services(artifacts_.path()));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->outputs["counter_before"], 1);
  EXPECT_EQ(again->outputs["instance"], out["instance"]);
  EXPECT_EQ(fake_.state["counter"], "2");
}

TEST_F(ExecutorTest, PluginConfigurationReachesCreate) {
  Executor executor(json{{"phtest_exec", {{"greeting", "hi"}, {"retries", 3}}},
                         {"other_plugin", {{"ignored", true}}}});
  auto outcome = executor.run(step("everything"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->outputs["config"], (json{{"greeting", "hi"}, {"retries", 3}}));
}

TEST_F(ExecutorTest, PluginConfigurationThatIsNotAMappingIsAnError) {
  Executor executor(json{{"phtest_exec", "loud"}});
  auto outcome = executor.run(step("everything"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_THAT(outcome.error().message, HasSubstr("configuration of plugin 'phtest_exec'"));
}

TEST_F(ExecutorTest, UnsetServicesMeanNothingThere) {
  Executor executor;
  RunServices services;  // nothing but the artifact directory
  services.artifact_dir = artifacts_.path();
  auto outcome = executor.run(step("everything"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->outputs["secret_length"], -1);
  EXPECT_EQ(outcome->outputs["counter_before"], 0);
  EXPECT_EQ(outcome->outputs["state_set"], -1);
}

TEST_F(ExecutorTest, MissingArtifactDirectoryIsCreated) {
  Executor executor;
  fs::path nested = artifacts_.path() / "runs" / "r-1" / "cut";
  auto outcome =
      executor.run(step("everything"), json::object(), json::object(), fake_.services(nested));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->outputs["artifact_written"], true);
  EXPECT_TRUE(fs::is_regular_file(nested / "artifact.txt"));
}

TEST_F(ExecutorTest, OneInstancePerStepTypeDestroyedWithTheExecutor) {
  // A separate executor asks the plugin how many instances exist (its own included).
  Executor probe;
  auto counters = [&] {
    auto outcome = probe.run(step("counters"), json::object(), json::object(),
                             fake_.services(artifacts_.path()));
    return outcome ? outcome->outputs : json();
  };
  json before = counters();
  ASSERT_TRUE(before.is_object());
  {
    Executor executor;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(executor
                      .run(step("everything"), json::object(), json::object(),
                           fake_.services(artifacts_.path()))
                      .has_value());
    }
    ASSERT_TRUE(executor
                    .run(step("fail_silently"), json::object(), json::object(),
                         fake_.services(artifacts_.path()))
                    .has_value());
    json during = counters();
    EXPECT_EQ(during["created"], before["created"].get<int>() + 2);
    EXPECT_EQ(during["live"], before["live"].get<int>() + 2);
  }
  json after = counters();
  EXPECT_EQ(after["live"], before["live"]);
  EXPECT_EQ(after["created"], before["created"].get<int>() + 2);
}

TEST_F(ExecutorTest, FailedCreateIsAnErrorAndItsLogReachesTheRunsServices) {
  Executor executor(json{{"phtest_exec", {{"fail_create", true}}}});
  auto outcome = executor.run(step("everything"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_THAT(outcome.error().message, HasSubstr("phtest_exec.everything"));
  EXPECT_THAT(outcome.error().message, HasSubstr("could not create an instance"));
  EXPECT_THAT(fake_.log_lines(), Contains("phtest_exec: refusing to create: fail_create is set"));
}

TEST_F(ExecutorTest, FailureWithAMessage) {
  Executor executor;
  auto outcome = executor.run(step("fail_with_message"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_ERROR);
  EXPECT_EQ(outcome->error, "cannot open input.mp4: no such file");
}

TEST_F(ExecutorTest, FailureWithoutAMessageSaysSo) {
  Executor executor;
  auto outcome = executor.run(step("fail_silently"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_ERROR);
  EXPECT_EQ(outcome->error, "step type phtest_exec.fail_silently failed without saying why");
}

TEST_F(ExecutorTest, RetryWithoutAMessageSaysSo) {
  Executor executor;
  auto outcome = executor.run(step("retry_silently"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_RETRY);
  EXPECT_THAT(outcome->error, HasSubstr("phtest_exec.retry_silently asked for a retry"));
}

TEST_F(ExecutorTest, UnknownStatusIsAnError) {
  Executor executor;
  auto outcome = executor.run(step("unknown_status"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_ERROR);
  EXPECT_THAT(outcome->error, HasSubstr("unknown status 42"));
}

TEST_F(ExecutorTest, OutputThatIsNotAnObjectIsRefusedAndThePreviousKept) {
  Executor executor;
  auto outcome = executor.run(step("bad_output"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_OK);
  EXPECT_EQ(outcome->outputs, (json{{"kept", true}}));
  auto lines = fake_.log_lines();
  EXPECT_THAT(lines, Contains("set_output results: 0 -1 -1 -1"));
  EXPECT_THAT(lines, Contains(HasSubstr("set_output ignored: not a JSON object")));
}

// Runs `step_name` on this thread and cancels it from another once the plugin reports progress.
StepOutcome run_and_cancel(Executor& executor, const StepTypeInfo& step_type, FakeServices& fake,
                           const fs::path& artifacts) {
  std::promise<void> started;
  std::once_flag once;
  fake.on_progress = [&](double, std::string_view) {
    std::call_once(once, [&] { started.set_value(); });
  };
  auto canceller = std::async(std::launch::async, [&, started_future = started.get_future()] {
    if (started_future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return;
    executor.cancel();
  });
  auto begin = std::chrono::steady_clock::now();
  auto outcome = executor.run(step_type, json::object(), json::object(), fake.services(artifacts));
  auto elapsed = std::chrono::steady_clock::now() - begin;
  canceller.get();
  fake.on_progress = nullptr;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_TRUE(outcome.has_value());
  return outcome ? *outcome : StepOutcome{};
}

TEST_F(ExecutorTest, CancelFromAnotherThreadCallsThePluginsCancel) {
  Executor executor;
  StepOutcome outcome =
      run_and_cancel(executor, step("wait_for_cancel_callback"), fake_, artifacts_.path());
  EXPECT_EQ(outcome.status, RF_STATUS_CANCELLED);
  EXPECT_EQ(outcome.outputs, (json{{"noticed", "cancel callback"}}));
}

TEST_F(ExecutorTest, CancelFromAnotherThreadIsSeenThroughCancelled) {
  Executor executor;
  StepOutcome outcome =
      run_and_cancel(executor, step("wait_for_host_cancel"), fake_, artifacts_.path());
  EXPECT_EQ(outcome.status, RF_STATUS_CANCELLED);
  EXPECT_EQ(outcome.outputs, (json{{"noticed", "host"}}));
  EXPECT_THAT(outcome.error, HasSubstr("cancelled"));
}

TEST_F(ExecutorTest, CancelledServiceStopsTheRun) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  services.cancelled = [] { return true; };
  auto outcome =
      executor.run(step("wait_for_host_cancel"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_CANCELLED);
}

TEST_F(ExecutorTest, CancelWhenNothingRunsDoesNotLeakIntoTheNextRun) {
  Executor executor;
  executor.cancel();
  auto outcome = executor.run(step("everything"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_OK);
  EXPECT_EQ(outcome->outputs["cancelled"], 0);
}

TEST_F(ExecutorTest, HostFunctionsWorkFromPluginThreads) {
  Executor executor;
  auto outcome = executor.run(step("from_thread"), json::object(), json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_OK);
  EXPECT_EQ(outcome->outputs, (json{{"thread", true}}));
  EXPECT_EQ(fake_.progress.size(), 4u);
  auto lines = fake_.log_lines();
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "from a plugin thread"), 4);
}

TEST_F(ExecutorTest, ThrowingServicesNeverUnwindIntoThePlugin) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  auto boom = [](auto&&...) -> std::optional<std::string> { throw std::runtime_error("boom"); };
  services.secret = boom;
  services.state_get = boom;
  services.state_set = [](auto&&...) -> bool { throw std::runtime_error("boom"); };
  services.progress = [](auto&&...) { throw 42; };  // not even a std::exception
  services.cancelled = []() -> bool { throw std::runtime_error("boom"); };
  auto outcome = executor.run(step("everything"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->outputs["secret_length"], -1);
  EXPECT_EQ(outcome->outputs["state_set"], -1);
  EXPECT_EQ(outcome->outputs["cancelled"], 0);
  auto lines = fake_.log_lines();
  EXPECT_THAT(lines, Contains("host service secret failed: boom"));
  EXPECT_THAT(lines, Contains("host service progress failed: unknown exception"));
}

// rf_host.call (ABI 1.3) through exec_plugin.c's "call" steps, which ask "test.service" with
// their options as the request into a 128-byte buffer first.
struct ServiceCalls {
  std::vector<std::pair<std::string, json>> requests;
  std::function<Result<json>(const json& request)> answer = [](const json& request) {
    return Result<json>(json{{"echo", request}});
  };

  void install(RunServices& services) {
    services.call = [this](std::string_view service, const json& request) {
      requests.emplace_back(std::string(service), request);
      return answer(request);
    };
  }
};

TEST_F(ExecutorTest, CallAsksTheServiceAndCopiesItsAnswer) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  ServiceCalls calls;
  calls.install(services);
  json options = {{"url", "https://example.com"}};
  auto outcome = executor.run(step("call"), options, json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  const json answer = {{"echo", options}};
  EXPECT_EQ(outcome->outputs["first"], answer.dump().size());
  EXPECT_EQ(outcome->outputs["second"], -2);  // it fit: no second call
  EXPECT_EQ(outcome->outputs["answer"], answer);
  ASSERT_EQ(calls.requests.size(), 1u);
  EXPECT_EQ(calls.requests[0].first, "test.service");
  EXPECT_EQ(calls.requests[0].second, options);
}

TEST_F(ExecutorTest, CallAnswerLargerThanTheBufferComesWholeOnTheSecondCall) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  ServiceCalls calls;
  calls.install(services);
  const json answer = {{"text", std::string(500, 'x')}, {"code", "é"}};
  calls.answer = [&](const json&) { return Result<json>(answer); };
  auto outcome = executor.run(step("call"), json{{"n", 1}}, json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->outputs["first"], answer.dump().size());
  EXPECT_EQ(outcome->outputs["second"], answer.dump().size());
  EXPECT_EQ(outcome->outputs["answer"], answer);
  // The second call with the same request got the answer the host kept, not a second trip.
  EXPECT_EQ(calls.requests.size(), 1u);

  // The kept answer is for that retry only: the next run asks the service again.
  auto again = executor.run(step("call"), json{{"n", 1}}, json::object(), services);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->outputs["answer"], answer);
  EXPECT_EQ(calls.requests.size(), 2u);
}

TEST_F(ExecutorTest, CallToAFailingServiceReturnsMinusOneAndItsError) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  ServiceCalls calls;
  calls.install(services);
  calls.answer = [](const json&) -> Result<json> { return fail("no such \"link\""); };
  auto outcome = executor.run(step("call"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->outputs["first"], -1);
  EXPECT_EQ(outcome->outputs["failure"], (json{{"error", "no such \"link\""}}));

  // An answer that is not an object is a failure too.
  calls.answer = [](const json&) -> Result<json> { return json::array({1, 2}); };
  outcome = executor.run(step("call"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->outputs["first"], -1);
  EXPECT_EQ(outcome->outputs["failure"],
            (json{{"error", "test.service: the daemon's answer is not a JSON object"}}));

  // An error too long for the buffer: -1 and nothing written.
  calls.answer = [](const json&) -> Result<json> { return fail(std::string(200, 'e')); };
  outcome = executor.run(step("call"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->outputs["first"], -1);
  EXPECT_TRUE(outcome->outputs["failure"].is_null());
}

TEST_F(ExecutorTest, CallWithoutTheServiceSaysItIsNotAvailable) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());  // call unset
  auto outcome = executor.run(step("call"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->outputs["first"], -1);
  EXPECT_EQ(
      outcome->outputs["failure"],
      (json{{"error", "test.service is not available: this host offers no daemon services"}}));
}

TEST_F(ExecutorTest, CallRefusesRequestsThatAreNotObjectsAndBadServiceNames) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  ServiceCalls calls;
  calls.install(services);
  auto outcome = executor.run(step("call_refused"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  const json& out = outcome->outputs;
  const json not_an_object = {{"error", "test.service: the request is not a JSON object"}};
  for (const char* label : {"array", "broken", "null_request", "text"}) {
    EXPECT_EQ(out[label]["result"], -1) << label;
    EXPECT_EQ(out[label]["failure"], not_an_object) << label;
  }
  for (const char* label : {"bad_name", "null_name"}) {
    EXPECT_EQ(out[label]["result"], -1) << label;
    EXPECT_THAT(out[label]["failure"].value("error", ""), HasSubstr("is not a service name"))
        << label;
  }
  EXPECT_EQ(out["null_run"], -1);
  EXPECT_TRUE(calls.requests.empty());  // nothing reached the service
}

TEST_F(ExecutorTest, ThrowingCallServiceIsAFailedCall) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  services.call = [](std::string_view, const json&) -> Result<json> {
    throw std::runtime_error("store is gone");
  };
  auto outcome = executor.run(step("call"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->outputs["first"], -1);
  EXPECT_THAT(fake_.log_lines(), Contains("host service call failed: store is gone"));
}

TEST_F(ExecutorTest, ThrowingLogIsSwallowed) {
  Executor executor;
  RunServices services = fake_.services(artifacts_.path());
  services.log = [](rf_log_level, std::string_view) { throw std::runtime_error("disk full"); };
  auto outcome = executor.run(step("everything"), json::object(), json::object(), services);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, RF_STATUS_OK);
}

TEST_F(ExecutorTest, ReconcileGetsTheIntent) {
  Executor executor;
  json intent = {{"idempotency_key", "run-1/publish/1"}, {"post_id", nullptr}};
  json options = {{"channel", "main"}};
  json context = {{"run_id", "run-1"}};
  auto outcome = executor.reconcile(step("publish"), options, context, intent,
                                    fake_.services(artifacts_.path()));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->status, RF_STATUS_OK);
  EXPECT_EQ(outcome->outputs["reconciled"], intent);
  EXPECT_EQ(outcome->outputs["options"], options);
  EXPECT_EQ(outcome->outputs["context"], context);
}

TEST_F(ExecutorTest, ReconcileWithoutCallbackIsAnError) {
  Executor executor;
  auto outcome = executor.reconcile(step("everything"), json::object(), json::object(),
                                    json::object(), fake_.services(artifacts_.path()));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_THAT(outcome.error().message, HasSubstr("phtest_exec.everything"));
  EXPECT_THAT(outcome.error().message, HasSubstr("no reconcile callback"));
}

TEST_F(ExecutorTest, OptionsThatCannotBeWrittenAsJsonAreAnError) {
  Executor executor;
  auto outcome = executor.run(step("everything"), json{{"title", "\xff\xfe"}}, json::object(),
                              fake_.services(artifacts_.path()));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_THAT(outcome.error().message, HasSubstr("cannot pass the options as JSON"));
}

}  // namespace
}  // namespace reelflow::plugin_host
