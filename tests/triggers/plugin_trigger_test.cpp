// The host side of trigger plugins (PluginTrigger) against the ttest plugin: timers and
// descriptors on a real io_context, idle without wake-ups, slices that leave room for other work,
// and every kind of bad behaviour a plugin can show through the ABI refused with a log line.
#include "triggers/plugin_trigger.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <vector>

#include "plugin_host/options.hpp"

namespace reelflow::triggers {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

class PluginTriggerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new plugin_host::Registry();  // plugins are never unloaded: keep it for good
    auto loaded = registry_->load_file(TTEST_PLUGIN_PATH);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  }

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "reelflow-ptrigger-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    log_path_ = base_ / "trigger.log";
    log_fd_ = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(log_fd_, 0);
    log_.emplace(LogLevel::debug, log_fd_);
  }

  void TearDown() override {
    trigger_.reset();
    if (writer_ >= 0) ::close(writer_);
    ::close(log_fd_);
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  Result<void> start(const std::string& type, const json& with) {
    const plugin_host::TriggerTypeInfo* info = registry_->find_trigger(type);
    if (info == nullptr) return fail("no trigger type " + type);
    auto options = plugin_host::normalize_trigger_options(*info, with, base_);
    if (!options) return tl::unexpected(options.error());
    auto started =
        PluginTrigger::start(io_, *log_, "wf", *info, json::object(), *options,
                             [this](TriggerEvent event) { events_.push_back(std::move(event)); });
    if (!started) return tl::unexpected(started.error());
    trigger_.emplace(std::move(*started));
    return {};
  }

  // A FIFO for ttest.fifo and our end of it.
  Result<void> start_fifo() {
    const fs::path fifo = base_ / "commands";
    if (::mkfifo(fifo.c_str(), 0600) != 0) return fail("mkfifo failed");
    auto started = start("ttest.fifo", {{"path", fifo.string()}});
    if (!started) return started;
    writer_ = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (writer_ < 0) return fail("cannot open the FIFO for writing");
    return {};
  }

  void send(const std::string& lines) {
    ASSERT_EQ(::write(writer_, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  }

  void run_until(const std::function<bool()>& done, milliseconds limit = milliseconds(3000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(milliseconds(10));
    }
  }
  void run_for(milliseconds duration) {
    run_until([] { return false; }, duration);
  }
  bool await_events(std::size_t count) {
    run_until([&] { return events_.size() >= count; });
    return events_.size() >= count;
  }
  bool await_log(const std::string& text) {
    run_until([&] { return log_text().find(text) != std::string::npos; });
    return log_text().find(text) != std::string::npos;
  }

  std::string log_text() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& event : events_) out.push_back(event.key);
    return out;
  }

  static plugin_host::Registry* registry_;
  boost::asio::io_context io_;
  fs::path base_, log_path_;
  int log_fd_ = -1;
  int writer_ = -1;
  std::optional<Logger> log_;
  std::optional<PluginTrigger> trigger_;
  std::vector<TriggerEvent> events_;
};

plugin_host::Registry* PluginTriggerTest::registry_ = nullptr;

TEST_F(PluginTriggerTest, TimerTriggerEmitsThenLeavesTheLoopIdle) {
  ASSERT_TRUE(start("ttest.ticker", {{"interval", "50ms"}, {"count", 3}}));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(await_events(3));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(150));
  EXPECT_EQ(keys(), (std::vector<std::string>{"tick:3", "tick:2", "tick:1"}));
  EXPECT_EQ(events_[0].workflow, "wf");
  EXPECT_EQ(events_[0].trigger, (json{{"event", "tick"}, {"n", 3}}));
  // Nothing is armed any more: the loop has no work at all.
  io_.restart();
  EXPECT_EQ(io_.poll(), 0u);
  run_for(milliseconds(100));
  EXPECT_EQ(events_.size(), 3u);
}

TEST_F(PluginTriggerTest, ZeroTimeoutsAreSlicesThatLetOtherWorkRun) {
  ASSERT_TRUE(start("ttest.ticker", {{"count", 2000}}));
  std::optional<std::size_t> seen_by_other_work;
  boost::asio::post(io_, [&] { seen_by_other_work = events_.size(); });
  ASSERT_TRUE(await_events(2000));
  ASSERT_TRUE(seen_by_other_work.has_value());
  EXPECT_LT(*seen_by_other_work, 10u);
}

TEST_F(PluginTriggerTest, EmitFromStartIsAccepted) {
  ASSERT_TRUE(start("ttest.ticker", {{"count", 0}, {"emit_at_start", true}}));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].key, "start:1");
}

TEST_F(PluginTriggerTest, StartFailureNamesTheTriggerTypeAndWorkflow) {
  auto started = start("ttest.ticker", {{"fail_start", true}});
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message,
            "trigger ttest.ticker of workflow 'wf' did not start (the plugin's log lines before "
            "this one say why)");
  const std::string log = log_text();
  EXPECT_NE(log.find("cannot start: asked to fail"), std::string::npos) << log;
  EXPECT_NE(log.find("plugin=ttest"), std::string::npos) << log;
  EXPECT_NE(log.find("workflow=wf"), std::string::npos) << log;
}

TEST_F(PluginTriggerTest, DescriptorIsLevelTriggered) {
  ASSERT_TRUE(start_fifo());
  // Three lines at once; the plugin reads one line per on_readable.
  send("emit file:a {\"n\":1}\nemit file:b {\"n\":2}\nemit file:c {\"n\":3}\n");
  ASSERT_TRUE(await_events(3));
  EXPECT_EQ(keys(), (std::vector<std::string>{"file:a", "file:b", "file:c"}));
  EXPECT_EQ(events_[2].trigger, (json{{"n", 3}}));
  // And later writes wake it again.
  run_for(milliseconds(50));
  send("emit file:d {}\n");
  ASSERT_TRUE(await_events(4));
}

TEST_F(PluginTriggerTest, GarbageEventsAreRefusedWithALogLineAndTheTriggerCarriesOn) {
  ASSERT_TRUE(start_fifo());
  send(
      "emit bad-json {nope\n"
      "emit not-object [1,2]\n"
      "emit - {}\n"
      "emit manual:x {}\n"
      "emit schedule:2026-01-01T00:00Z {}\n"
      "null-json k\n"
      "null-key\n"
      "long-key\n"
      "emit good {\"ok\":true}\n");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(keys(), std::vector<std::string>{"good"});
  const std::string log = log_text();
  for (const char* expected :
       {"trigger ttest.fifo emitted trigger JSON that is not valid JSON: {nope",
        "trigger ttest.fifo emitted trigger JSON that is not an object: [1,2]",
        "trigger ttest.fifo emitted an event with an empty key",
        "keys starting with 'manual:' belong to the built-in triggers",
        "keys starting with 'schedule:' belong to the built-in triggers",
        "trigger ttest.fifo emitted an event without trigger JSON",
        "trigger ttest.fifo emitted an event without a key",
        "trigger ttest.fifo emitted a key longer than 4096 bytes", "refused: bad-json",
        "refused: not-object", "refused: manual:x", "refused: k", "refused: (null)",
        "refused: long"}) {
    EXPECT_NE(log.find(expected), std::string::npos) << expected << "\n" << log;
  }
}

TEST_F(PluginTriggerTest, EmitFromAnotherThreadIsRefused) {
  ASSERT_TRUE(start_fifo());
  send("thread from-thread\nemit after {}\n");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(keys(), std::vector<std::string>{"after"});
  const std::string log = log_text();
  EXPECT_NE(log.find("called emit from another thread than the daemon's loop"), std::string::npos)
      << log;
  EXPECT_NE(log.find("refused: from-thread"), std::string::npos) << log;
}

TEST_F(PluginTriggerTest, RefusalsStopBeingLoggedOneByOne) {
  ASSERT_TRUE(start_fifo());
  std::string lines;
  for (int i = 0; i < 30; ++i) lines += "emit manual:" + std::to_string(i) + " {}\n";
  send(lines + "emit last {}\n");
  ASSERT_TRUE(await_events(1));
  const std::string log = log_text();
  std::size_t refusals = 0;
  for (std::size_t at = log.find("belong to the built-in"); at != std::string::npos;
       at = log.find("belong to the built-in", at + 1)) {
    ++refusals;
  }
  EXPECT_EQ(refusals, 10u);
  EXPECT_NE(log.find("further refusals are logged every 1000th"), std::string::npos);
}

TEST_F(PluginTriggerTest, StopEndsEventsAndIsIdempotent) {
  ASSERT_TRUE(start_fifo());
  send("emit late {}\n");  // readable, but the loop does not get to it before the stop
  trigger_->stop();
  trigger_->stop();
  run_for(milliseconds(200));
  EXPECT_TRUE(events_.empty());
  io_.restart();
  EXPECT_EQ(io_.poll(), 0u);
}

TEST_F(PluginTriggerTest, DescriptorNobodyConsumesIsThrottledNotSpun) {
  ASSERT_TRUE(start_fifo());
  send("hold\nemit never {}\n");
  ASSERT_TRUE(await_log("keeps its descriptor readable round after round"));
  // Other work still runs while it is throttled.
  bool other_work = false;
  boost::asio::post(io_, [&] { other_work = true; });
  run_for(milliseconds(50));
  EXPECT_TRUE(other_work);
  EXPECT_TRUE(events_.empty());
}

}  // namespace
}  // namespace reelflow::triggers
