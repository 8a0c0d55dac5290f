// The offline runner through the real plugin ABI: step order, outputs flowing between steps,
// for_each, if, retry with backoff, timeout, continue_on_error, cancellation, secret masking.
#include "engine/runner.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace reelflow::engine {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class Collector : public RunObserver {
 public:
  void log(const workflow::Step&, rf_log_level, std::string_view message) override {
    std::lock_guard lock(mutex);
    logs.emplace_back(message);
  }
  void attempt_started(const workflow::Step& step, std::optional<std::size_t>, int) override {
    std::lock_guard lock(mutex);
    attempts.push_back(step.id);
  }
  std::mutex mutex;
  std::vector<std::string> logs;
  std::vector<std::string> attempts;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto problems = registry_.load_dir(ENGINE_TEST_PLUGIN_DIR);
    ASSERT_TRUE(problems.empty()) << problems.front().message;
    artifacts_ = fs::temp_directory_path() /
                 ("reelflow-runner-test-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(artifacts_);
  }
  void TearDown() override { fs::remove_all(artifacts_); }

  RunRecord run(const std::string& yaml, json trigger = {{"file", "/videos/launch.mp4"}},
                RunOptions options = {}) {
    auto loaded = workflow::load_workflow_text(yaml, "test.yaml", registry_);
    EXPECT_TRUE(loaded.workflow.has_value())
        << (loaded.diagnostics.empty() ? "" : loaded.diagnostics.front().format());
    if (!loaded.workflow) return {};
    options.artifact_root = artifacts_;
    return run_workflow(*loaded.workflow, registry_, trigger, options, collector_);
  }

  plugin_host::Registry registry_;
  Collector collector_;
  fs::path artifacts_;
};

const char* kHeader = "name: t\non:\n  manual: {}\nsteps:\n";

TEST_F(RunnerTest, OutputsFlowToLaterStepsWithTypesKept) {
  auto record = run(std::string(kHeader) +
                    "  - id: a\n    uses: enginetest.echo\n    with:\n      number: 7\n"
                    "  - id: b\n    uses: enginetest.echo\n    with:\n"
                    "      number: ${{ steps.a.outputs.options.number }}\n"
                    "      text: \"file ${{ stem(trigger.file) }} #${{ steps.a.outputs.options.number }}\"\n");
  ASSERT_EQ(record.state, "succeeded");
  ASSERT_EQ(record.steps.size(), 2u);
  const auto& options = record.steps[1].outputs["options"];
  EXPECT_EQ(options["number"], 7);  // a whole-template value keeps its type
  EXPECT_EQ(options["text"], "file launch #7");
  EXPECT_EQ(options["wait"], 60.0);  // default filled in, duration in seconds
  EXPECT_EQ(record.steps[1].outputs["context"]["step_id"], "b");
  EXPECT_EQ(record.steps[1].outputs["context"]["trigger"]["file"], "/videos/launch.mp4");
  EXPECT_TRUE(fs::is_directory(record.artifact_dir / "b"));
}

TEST_F(RunnerTest, ForEachRunsOncePerItemAndCollectsOutputs) {
  auto record = run(std::string(kHeader) +
                    "  - id: fan\n    uses: enginetest.echo\n"
                    "    for_each: [\"douyin\", \"tiktok\", \"bilibili\"]\n"
                    "    with:\n      text: \"${{ item }}\"\n");
  ASSERT_EQ(record.state, "succeeded");
  ASSERT_EQ(record.steps[0].item_count, 3u);
  const auto& items = record.steps[0].outputs["items"];
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2]["options"]["text"], "bilibili");
  EXPECT_EQ(items[1]["context"]["item_index"], 1);
  EXPECT_TRUE(fs::is_directory(record.artifact_dir / "fan" / "item-3"));
}

TEST_F(RunnerTest, ForEachRunsUpToMaxParallelItemsAtOnce) {
  auto start = std::chrono::steady_clock::now();
  auto record = run(std::string(kHeader) +
                    "  - id: fan\n    uses: enginetest.slow\n    for_each: [1, 2, 3, 4]\n"
                    "    max_parallel: 4\n    with:\n      millis: 400\n");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(record.state, "succeeded") << record.steps[0].error;
  EXPECT_EQ(record.steps[0].outputs["items"].size(), 4u);
  // Four 400 ms items one after another take 1.6 s; in parallel about 0.4 s.
  EXPECT_LT(elapsed, std::chrono::milliseconds(1200));
}

TEST_F(RunnerTest, ForEachStopsStartingItemsAfterAFailure) {
  auto record = run(std::string(kHeader) +
                    "  - id: fan\n    uses: enginetest.flaky\n    for_each: [1, 2, 3, 4, 5, 6]\n"
                    "    max_parallel: 2\n");
  EXPECT_EQ(record.state, "failed");
  EXPECT_NE(record.steps[0].error.find("flaky failure on attempt 1"), std::string::npos)
      << record.steps[0].error;
  std::lock_guard lock(collector_.mutex);
  EXPECT_LT(collector_.attempts.size(), 6u);  // items after the failure never started
}

TEST_F(RunnerTest, ResumeSkipsFinishedStepsAndItemsAndContinuesAttemptNumbers) {
  ResumeState resume;
  StepRecord earlier;
  earlier.id = "a";
  earlier.state = StepState::succeeded;
  earlier.outputs = {{"options", {{"number", 41}}}};
  resume.finished_steps["a"] = earlier;
  resume.finished_items["fan"][0] = {{"options", {{"text", "from before"}}}};
  resume.attempts_used[{"fan", 1}] = 2;
  RunOptions options;
  options.resume = &resume;
  auto record = run(std::string(kHeader) +
                        "  - id: a\n    uses: enginetest.echo\n    with:\n      number: 1\n"
                        "  - id: fan\n    uses: enginetest.echo\n    for_each: [x, y]\n"
                        "    with:\n      number: ${{ steps.a.outputs.options.number }}\n",
                    {{"file", "/v.mp4"}}, options);
  ASSERT_EQ(record.state, "succeeded");
  const auto& items = record.steps[1].outputs["items"];
  EXPECT_EQ(items[0]["options"]["text"], "from before");  // not run again
  EXPECT_EQ(items[1]["options"]["number"], 41);           // outputs of the earlier life
  EXPECT_EQ(items[1]["context"]["attempt"], 3);           // numbering continues
  std::lock_guard lock(collector_.mutex);
  EXPECT_EQ(collector_.attempts, std::vector<std::string>{"fan"});
}

TEST_F(RunnerTest, ForEachOverAnEarlierStepsOutput) {
  auto record = run(std::string(kHeader) +
                    "  - id: a\n    uses: enginetest.echo\n    with:\n      text: x\n"
                    "  - id: fan\n    uses: enginetest.echo\n"
                    "    for_each: ${{ steps.a.outputs.context.trigger.tags }}\n"
                    "    with:\n      text: \"${{ item }}\"\n",
                    {{"file", "/v.mp4"}, {"tags", {"a", "b"}}});
  ASSERT_EQ(record.state, "succeeded");
  EXPECT_EQ(record.steps[1].outputs["items"].size(), 2u);
}

TEST_F(RunnerTest, ForEachOverANonListFailsClearly) {
  auto record = run(std::string(kHeader) +
                    "  - id: fan\n    uses: enginetest.echo\n    for_each: ${{ trigger.file }}\n");
  EXPECT_EQ(record.state, "failed");
  EXPECT_NE(record.steps[0].error.find("for_each must give a list"), std::string::npos)
      << record.steps[0].error;
}

TEST_F(RunnerTest, IfFalseSkipsTheStepAndTheRunSucceeds) {
  auto record = run(std::string(kHeader) +
                    "  - id: a\n    uses: enginetest.echo\n    with:\n      number: 3\n"
                    "  - id: b\n    uses: enginetest.echo\n"
                    "    if: ${{ steps.a.outputs.options.number > 5 }}\n"
                    "  - id: c\n    uses: enginetest.echo\n"
                    "    if: steps.a.outputs.options.number == 3\n");
  ASSERT_EQ(record.state, "succeeded");
  EXPECT_EQ(record.steps[1].state, StepState::skipped);
  EXPECT_EQ(record.steps[2].state, StepState::succeeded);
}

TEST_F(RunnerTest, RetrySucceedsOnTheThirdAttempt) {
  auto record = run(std::string(kHeader) +
                    "  - id: f\n    uses: enginetest.flaky\n    with:\n      succeed_on: 3\n"
                    "    retry:\n      max_attempts: 5\n"
                    "      backoff: {initial: 10ms, factor: 2, max: 50ms}\n");
  ASSERT_EQ(record.state, "succeeded");
  EXPECT_EQ(record.steps[0].attempts, 3);
  EXPECT_EQ(record.steps[0].outputs["attempt"], 3);
}

TEST_F(RunnerTest, RetryGivesUpAfterMaxAttemptsAndLaterStepsAreSkipped) {
  auto record = run(std::string(kHeader) +
                    "  - id: f\n    uses: enginetest.flaky\n"
                    "    retry:\n      max_attempts: 3\n      backoff: {initial: 10ms}\n"
                    "  - id: after\n    uses: enginetest.echo\n");
  EXPECT_EQ(record.state, "failed");
  EXPECT_EQ(record.steps[0].attempts, 3);
  EXPECT_NE(record.steps[0].error.find("flaky failure on attempt 3 (after 3 attempts)"),
            std::string::npos)
      << record.steps[0].error;
  EXPECT_EQ(record.steps[1].state, StepState::skipped);
}

TEST_F(RunnerTest, ContinueOnErrorLetsTheRunGoOn) {
  auto record = run(std::string(kHeader) +
                    "  - id: f\n    uses: enginetest.flaky\n    continue_on_error: true\n"
                    "  - id: after\n    uses: enginetest.echo\n");
  EXPECT_EQ(record.state, "succeeded");
  EXPECT_EQ(record.steps[0].state, StepState::failed);
  EXPECT_EQ(record.steps[1].state, StepState::succeeded);
}

TEST_F(RunnerTest, TimeoutCancelsASlowStep) {
  auto start = std::chrono::steady_clock::now();
  auto record = run(std::string(kHeader) +
                    "  - id: s\n    uses: enginetest.slow\n    with:\n      millis: 20000\n"
                    "    timeout: 200ms\n");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(record.state, "failed");
  EXPECT_NE(record.steps[0].error.find("timed out after 0.2s"), std::string::npos)
      << record.steps[0].error;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(RunnerTest, CancelStopsTheRunningStepAndSkipsTheRest) {
  std::atomic<bool> cancel{false};
  RunOptions options;
  options.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto record = run(std::string(kHeader) +
                        "  - id: s\n    uses: enginetest.slow\n    with:\n      millis: 20000\n"
                        "  - id: after\n    uses: enginetest.echo\n",
                    {{"file", "/v.mp4"}}, options);
  canceller.join();
  EXPECT_EQ(record.state, "cancelled");
  EXPECT_EQ(record.steps[0].state, StepState::cancelled);
  EXPECT_EQ(record.steps[1].state, StepState::cancelled);
}

TEST_F(RunnerTest, SecretsAreMaskedInLogsAndErrors) {
  RunOptions options;
  options.secrets = {{"token", "sk-live-123456"}};
  auto record = run(std::string(kHeader) + "  - id: s\n    uses: enginetest.secret_log\n",
                    {{"file", "/v.mp4"}}, options);
  EXPECT_EQ(record.state, "failed");
  EXPECT_EQ(record.steps[0].error, "using token ***");
  ASSERT_FALSE(collector_.logs.empty());
  for (const auto& line : collector_.logs) {
    EXPECT_EQ(line.find("sk-live-123456"), std::string::npos) << line;
  }
}

TEST_F(RunnerTest, DaemonServicesOfflineSayTheyNeedTheDaemon) {
  auto record = run(std::string(kHeader) + "  - id: link\n    uses: enginetest.call\n");
  EXPECT_EQ(record.state, "failed");
  EXPECT_EQ(
      record.steps[0].error,
      R"(call failed: {"error":"test.links needs the daemon: run this workflow in reelflowd"})");
}

TEST_F(RunnerTest, HostCallAnswersEveryExecution) {
  std::mutex mutex;
  std::vector<std::pair<std::string, json>> requests;
  RunOptions options;
  options.host_call = [&](std::string_view service, const json& request) -> Result<json> {
    std::lock_guard lock(mutex);
    requests.emplace_back(std::string(service), request);
    return json{{"code", "c" + std::to_string(requests.size())}};
  };
  auto record = run(std::string(kHeader) +
                        "  - id: link\n    uses: enginetest.call\n    for_each: [\"a\", \"b\"]\n"
                        "    with:\n      text: \"${{ item }}\"\n",
                    {{"file", "/v.mp4"}}, options);
  ASSERT_EQ(record.state, "succeeded") << record.steps[0].error;
  const auto& items = record.steps[0].outputs["items"];
  ASSERT_EQ(items.size(), 2u);
  std::lock_guard lock(mutex);
  ASSERT_EQ(requests.size(), 2u);
  std::set<std::string> texts;
  for (const auto& [service, request] : requests) {
    EXPECT_EQ(service, "test.links");
    texts.insert(request.value("text", ""));
  }
  EXPECT_EQ(texts, (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(items[0]["answer"].contains("code"));
}

TEST_F(RunnerTest, OptionErrorsAtRunTimeNameTheStepTypeAndOption) {
  auto record = run(std::string(kHeader) +
                    "  - id: a\n    uses: enginetest.echo\n    with:\n"
                    "      number: ${{ trigger.file }}\n");
  EXPECT_EQ(record.state, "failed");
  EXPECT_NE(record.steps[0].error.find("enginetest.echo: option 'number': expected an integer"),
            std::string::npos)
      << record.steps[0].error;
}

TEST_F(RunnerTest, OfflineWaitSleepsUntilItIsOver) {
  auto start = std::chrono::steady_clock::now();
  auto record = run(std::string(kHeader) +
                    "  - id: a\n    uses: enginetest.echo\n    wait: {for: 300ms}\n"
                    "  - id: b\n    uses: enginetest.echo\n"
                    "    wait: {until: \"2020-01-01T00:00:00Z\"}\n");  // already past
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(record.state, "succeeded");
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST_F(RunnerTest, AWaitUntilATemplateThatIsNotATimeFails) {
  auto record = run(std::string(kHeader) +
                    "  - id: a\n    uses: enginetest.echo\n"
                    "    wait: {until: \"${{ trigger.file }}\"}\n");
  EXPECT_EQ(record.state, "failed");
  EXPECT_NE(record.steps[0].error.find("wait.until: '/videos/launch.mp4' is not a time"),
            std::string::npos)
      << record.steps[0].error;
}

TEST(Backoff, GrowsByFactorAndIsCapped) {
  workflow::Backoff backoff{1.0, 2.0, 5.0};
  EXPECT_DOUBLE_EQ(backoff_delay(backoff, 2, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(backoff_delay(backoff, 3, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(backoff_delay(backoff, 4, 0.5), 4.0);
  EXPECT_DOUBLE_EQ(backoff_delay(backoff, 5, 0.5), 5.0);
  EXPECT_NEAR(backoff_delay(backoff, 2, 0.0), 0.8, 1e-9);  // -20% jitter
  EXPECT_NEAR(backoff_delay(backoff, 2, 1.0), 1.2, 1e-9);  // +20% jitter
}

TEST(RunId, IsTimestampedAndUnique) {
  auto a = new_run_id();
  auto b = new_run_id();
  EXPECT_EQ(a.size(), 24u) << a;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace reelflow::engine
