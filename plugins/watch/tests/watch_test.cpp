// watch.folder end to end: watch.so loaded by the daemon's registry, started and driven by its
// trigger host (PluginTrigger) on a real io_context, on real temporary folders. The settle time is
// 0.2 s and every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <vector>

#include "common/sha256.hpp"
#include "plugin_host/options.hpp"
#include "triggers/plugin_trigger.hpp"

namespace reelflow::triggers {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

class WatchTriggerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new plugin_host::Registry();  // plugins are never unloaded: keep it for good
    auto loaded = registry_->load_file(WATCH_PLUGIN_PATH);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    folder_ = registry_->find_trigger("watch.folder");
    ASSERT_NE(folder_, nullptr);
  }

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "reelflow-watch-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    inbox_ = base_ / "inbox";
    outside_ = base_ / "outside";
    fs::create_directories(inbox_);
    fs::create_directories(outside_);
    log_path_ = base_ / "trigger.log";
    log_fd_ = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(log_fd_, 0);
    log_.emplace(LogLevel::debug, log_fd_);
    options_ = {{"path", inbox_.string()}, {"settle", "200ms"}};
  }

  void TearDown() override {
    trigger_.reset();
    ::close(log_fd_);
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  // config: the plugin's daemon-level settings (retry_interval, hash_chunk, remembered_keys).
  Result<void> start(const json& config = json::object()) {
    auto options = plugin_host::normalize_trigger_options(*folder_, options_, base_);
    if (!options) return tl::unexpected(options.error());
    auto started =
        PluginTrigger::start(io_, *log_, "wf", *folder_, config, *options,
                             [this](TriggerEvent event) { events_.push_back(std::move(event)); });
    if (!started) return tl::unexpected(started.error());
    trigger_.emplace(std::move(*started));
    return {};
  }

  // Runs the loop until `done` or `limit`; every wait in these tests is bounded by it.
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
  bool await_events(std::size_t count, milliseconds limit = milliseconds(3000)) {
    run_until([&] { return events_.size() >= count; }, limit);
    return events_.size() >= count;
  }

  static void write_file(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }

  std::string log_text() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& event : events_) out.push_back(event.trigger["name"].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
  }

  static plugin_host::Registry* registry_;
  static const plugin_host::TriggerTypeInfo* folder_;
  boost::asio::io_context io_;
  fs::path base_, inbox_, outside_, log_path_;
  int log_fd_ = -1;
  std::optional<Logger> log_;
  json options_;
  std::optional<PluginTrigger> trigger_;
  std::vector<TriggerEvent> events_;
};

plugin_host::Registry* WatchTriggerTest::registry_ = nullptr;
const plugin_host::TriggerTypeInfo* WatchTriggerTest::folder_ = nullptr;

TEST_F(WatchTriggerTest, DescriptorOptionsAndDefaults) {
  EXPECT_EQ(folder_->plugin->name, "watch");
  EXPECT_EQ(folder_->plugin->trigger_types.size(), 1u);  // so `on: {watch: ...}` names it
  EXPECT_TRUE(folder_->plugin->step_types.empty());
  auto normalized = plugin_host::normalize_trigger_options(*folder_, {{"path", "in"}}, "/srv");
  ASSERT_TRUE(normalized.has_value()) << normalized.error().message;
  EXPECT_EQ(*normalized, (json{{"path", "/srv/in"},
                               {"patterns", json::array()},
                               {"recursive", false},
                               {"settle", 2.0}}));
  EXPECT_TRUE(folder_->find_option("path")->required);
}

TEST_F(WatchTriggerTest, WrittenFileFiresOnceAfterSettle) {
  ASSERT_TRUE(start());
  run_for(milliseconds(50));
  const auto written = std::chrono::steady_clock::now();
  write_file(inbox_ / "clip.mp4", "hello");
  ASSERT_TRUE(await_events(1));
  EXPECT_GE(std::chrono::steady_clock::now() - written, milliseconds(200));
  const auto& event = events_[0];
  const std::string path = (inbox_ / "clip.mp4").string();
  EXPECT_EQ(event.workflow, "wf");
  EXPECT_EQ(event.trigger["event"], "file");
  EXPECT_EQ(event.trigger["file"], path);
  EXPECT_EQ(event.trigger["name"], "clip.mp4");
  EXPECT_EQ(event.trigger["size"], 5);
  EXPECT_EQ(event.trigger["sha256"], sha256_hex("hello"));
  const std::string mtime = event.trigger["mtime"];
  EXPECT_EQ(mtime.size(), 24u) << mtime;  // 2026-03-29T01:00:00.123Z
  EXPECT_EQ(mtime.back(), 'Z');
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  const std::int64_t mtime_ns = info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec;
  EXPECT_EQ(event.key,
            "file:" + path + ":5:" + std::to_string(mtime_ns) + ":" + sha256_hex("hello"));
  // Opening for writing and closing without a change sends IN_CLOSE_WRITE: no second event.
  ::close(::open(path.c_str(), O_WRONLY));
  run_for(milliseconds(600));
  EXPECT_EQ(events_.size(), 1u);
}

TEST_F(WatchTriggerTest, SlowWriterFiresOnceAfterItStops) {
  ASSERT_TRUE(start());
  // One writer holds the file open, the other reopens it for every append (a close each time).
  const fs::path held = inbox_ / "held.mp4";
  const fs::path reopened = inbox_ / "reopened.mp4";
  const int held_fd = ::open(held.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(held_fd, 0);
  boost::asio::steady_timer timer(io_);
  int appends = 0;
  std::function<void()> append = [&] {
    ASSERT_EQ(::write(held_fd, "0123456789", 10), 10);
    std::ofstream(reopened, std::ios::binary | std::ios::app) << "0123456789";
    if (++appends == 10) {
      ::close(held_fd);
      return;
    }
    timer.expires_after(milliseconds(100));
    timer.async_wait([&](const boost::system::error_code& error) {
      if (!error) append();
    });
  };
  append();
  run_until([&] { return appends == 10; });
  ASSERT_EQ(appends, 10);
  EXPECT_TRUE(events_.empty()) << "fired while still being written";
  ASSERT_TRUE(await_events(2));
  run_for(milliseconds(500));
  ASSERT_EQ(events_.size(), 2u);
  for (const auto& event : events_) EXPECT_EQ(event.trigger["size"], 100);
}

TEST_F(WatchTriggerTest, RenameIntoFolderFires) {
  ASSERT_TRUE(start());
  write_file(outside_ / "moved.mp4", "moved in");
  run_for(milliseconds(50));
  fs::rename(outside_ / "moved.mp4", inbox_ / "moved.mp4");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(events_[0].trigger["file"], (inbox_ / "moved.mp4").string());
}

TEST_F(WatchTriggerTest, FilePresentAtStartFires) {
  write_file(inbox_ / "early.mp4", "arrived while down");
  ASSERT_TRUE(start());
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(events_[0].trigger["name"], "early.mp4");
  run_for(milliseconds(400));
  EXPECT_EQ(events_.size(), 1u);
}

TEST_F(WatchTriggerTest, EmptyFileWaitsForContent) {
  ASSERT_TRUE(start());
  write_file(inbox_ / "empty.mp4", "");
  run_for(milliseconds(600));
  EXPECT_TRUE(events_.empty());
  EXPECT_NE(log_text().find("empty.mp4 is empty"), std::string::npos);
  write_file(inbox_ / "empty.mp4", "now with content");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(events_[0].trigger["size"], 16);
}

TEST_F(WatchTriggerTest, TempPartialAndDotfilesNeverFire) {
  ASSERT_TRUE(start());
  for (const char* name :
       {"a.part", "b.tmp", "c.crdownload", "d.download", "e.mp4~", ".hidden.mp4", "F.PART"}) {
    write_file(inbox_ / name, "x");
  }
  fs::create_directory(inbox_ / "folder.mp4");
  run_for(milliseconds(700));
  EXPECT_TRUE(events_.empty());
}

TEST_F(WatchTriggerTest, PartRenamedToMp4Fires) {
  ASSERT_TRUE(start());
  write_file(inbox_ / "video.mp4.part", "downloaded");
  run_for(milliseconds(400));
  EXPECT_TRUE(events_.empty());
  fs::rename(inbox_ / "video.mp4.part", inbox_ / "video.mp4");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(events_[0].trigger["name"], "video.mp4");
}

TEST_F(WatchTriggerTest, PatternsFilter) {
  options_["patterns"] = {"*.mp4", "*.MOV"};
  ASSERT_TRUE(start());
  write_file(inbox_ / "a.mp4", "a");
  write_file(inbox_ / "b.txt", "b");
  write_file(inbox_ / "c.MOV", "c");
  ASSERT_TRUE(await_events(2));
  run_for(milliseconds(400));
  EXPECT_EQ(names(), (std::vector<std::string>{"a.mp4", "c.MOV"}));
}

TEST_F(WatchTriggerTest, RecursivePicksUpNewSubdirectories) {
  options_["recursive"] = true;
  fs::create_directories(inbox_ / "old");
  write_file(inbox_ / "old" / "before.mp4", "before");
  ASSERT_TRUE(start());
  ASSERT_TRUE(await_events(1));
  fs::create_directories(inbox_ / "new" / "deeper");
  write_file(inbox_ / "new" / "deeper" / "created.mp4", "created");
  // A folder with a file moved in whole.
  fs::create_directories(outside_ / "batch");
  write_file(outside_ / "batch" / "carried.mp4", "carried");
  fs::rename(outside_ / "batch", inbox_ / "batch");
  ASSERT_TRUE(await_events(3));
  EXPECT_EQ(names(), (std::vector<std::string>{"before.mp4", "carried.mp4", "created.mp4"}));
  // Files written into the moved-in folder afterwards fire too.
  write_file(inbox_ / "batch" / "later.mp4", "later");
  ASSERT_TRUE(await_events(4));
  EXPECT_EQ(events_[3].trigger["file"], (inbox_ / "batch" / "later.mp4").string());
}

TEST_F(WatchTriggerTest, NonRecursiveIgnoresSubdirectories) {
  fs::create_directories(inbox_ / "old");
  write_file(inbox_ / "old" / "before.mp4", "before");
  ASSERT_TRUE(start());
  fs::create_directories(inbox_ / "sub");
  write_file(inbox_ / "sub" / "inside.mp4", "inside");
  write_file(inbox_ / "top.mp4", "top");
  ASSERT_TRUE(await_events(1));
  run_for(milliseconds(500));
  EXPECT_EQ(names(), (std::vector<std::string>{"top.mp4"}));
}

TEST_F(WatchTriggerTest, SymlinkOutsideRefusedInsideAccepted) {
  write_file(outside_ / "secret.mp4", "outside");
  fs::create_directories(inbox_ / "store");
  write_file(inbox_ / "store" / "target.mp4", "inside target");
  ASSERT_TRUE(start());
  fs::create_symlink(outside_ / "secret.mp4", inbox_ / "escape.mp4");
  fs::create_symlink("store/target.mp4", inbox_ / "link.mp4");
  ASSERT_TRUE(await_events(1));
  run_for(milliseconds(500));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].trigger["file"], (inbox_ / "link.mp4").string());
  EXPECT_EQ(events_[0].trigger["size"], 13);
  const std::string log = log_text();
  EXPECT_NE(log.find((inbox_ / "escape.mp4").string()), std::string::npos) << log;
  EXPECT_NE(log.find(fs::canonical(outside_ / "secret.mp4").string()), std::string::npos) << log;
}

TEST_F(WatchTriggerTest, SameContentWithNewMtimeGivesNewKey) {
  ASSERT_TRUE(start());
  write_file(inbox_ / "again.mp4", "same bytes");
  ASSERT_TRUE(await_events(1));
  // At least the settle time (0.2 s) passed: the rewrite gets a different mtime.
  write_file(inbox_ / "again.mp4", "same bytes");
  ASSERT_TRUE(await_events(2));
  EXPECT_NE(events_[0].key, events_[1].key);
  EXPECT_EQ(events_[0].trigger["sha256"], events_[1].trigger["sha256"]);
  EXPECT_NE(events_[0].trigger["mtime"], events_[1].trigger["mtime"]);
}

TEST_F(WatchTriggerTest, MissingFolderIsCreatedAndAFileInItsPlaceIsAnError) {
  options_["path"] = (base_ / "new" / "inbox").string();
  ASSERT_TRUE(start());
  EXPECT_TRUE(fs::is_directory(base_ / "new" / "inbox"));
  write_file(base_ / "new" / "inbox" / "first.mp4", "first");
  ASSERT_TRUE(await_events(1));
  trigger_.reset();

  write_file(base_ / "plain", "x");
  options_["path"] = (base_ / "plain").string();
  auto not_dir = start();
  ASSERT_FALSE(not_dir);
  EXPECT_NE(not_dir.error().message.find("trigger watch.folder of workflow 'wf' did not start"),
            std::string::npos)
      << not_dir.error().message;
  const std::string log = log_text();
  EXPECT_NE(
      log.find("cannot start: watch folder " + (base_ / "plain").string() + ": not a directory"),
      std::string::npos)
      << log;
}

TEST_F(WatchTriggerTest, ConfigWithAnUnknownOrWrongKeyDoesNotStart) {
  EXPECT_FALSE(start({{"retry_intervall", 1}}));
  EXPECT_FALSE(start({{"hash_chunk", "big"}}));
  const std::string log = log_text();
  EXPECT_NE(log.find("cannot start: unknown key 'retry_intervall' in the watch plugin's config"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("cannot start: config hash_chunk must be a positive integer"),
            std::string::npos)
      << log;
}

TEST_F(WatchTriggerTest, RelativePathIsTakenFromTheBaseDirectory) {
  options_["path"] = "inbox";
  ASSERT_TRUE(start());
  write_file(inbox_ / "relative.mp4", "relative");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(events_[0].trigger["file"], (inbox_ / "relative.mp4").string());
}

TEST_F(WatchTriggerTest, DeletedFolderIsReAdded) {
  ASSERT_TRUE(start({{"retry_interval", 0.1}}));
  run_for(milliseconds(50));
  fs::remove_all(inbox_);
  run_for(milliseconds(150));
  EXPECT_NE(log_text().find("disappeared"), std::string::npos);
  fs::create_directories(inbox_);
  write_file(inbox_ / "back.mp4", "back");
  ASSERT_TRUE(await_events(1));
  EXPECT_EQ(events_[0].trigger["name"], "back.mp4");
}

TEST_F(WatchTriggerTest, FileDeletedBeforeSettlingIsDropped) {
  ASSERT_TRUE(start());
  write_file(inbox_ / "gone.mp4", "short-lived");
  run_for(milliseconds(50));
  fs::remove(inbox_ / "gone.mp4");
  run_for(milliseconds(500));
  EXPECT_TRUE(events_.empty());
}

TEST_F(WatchTriggerTest, LargeFileHashesInChunks) {
  ASSERT_TRUE(start({{"hash_chunk", 4096}}));
  std::string content(1 << 20, 'v');
  for (std::size_t i = 0; i < content.size(); i += 997) content[i] = static_cast<char>(i);
  write_file(inbox_ / "big.mp4", content);
  ASSERT_TRUE(await_events(1, milliseconds(10000)));
  EXPECT_EQ(events_[0].trigger["sha256"], sha256_hex(content));
}

TEST_F(WatchTriggerTest, QueueOverflowRescans) {
  std::ifstream limit_file("/proc/sys/fs/inotify/max_queued_events");
  long limit = 0;
  limit_file >> limit;
  if (limit <= 0 || limit > 20000) GTEST_SKIP() << "max_queued_events is " << limit;
  ASSERT_TRUE(start());
  run_for(milliseconds(20));
  // Without the loop reading, each empty file queues two events (create, close) until the queue
  // overflows; the file with content comes last, so only the rescan can find it.
  fs::create_directories(inbox_ / "flood");
  for (long i = 0; i < limit / 2 + 100; ++i) write_file(inbox_ / ("e" + std::to_string(i)), "");
  write_file(inbox_ / "real.mp4", "found by the rescan");
  ASSERT_TRUE(await_events(1, milliseconds(8000)));
  EXPECT_EQ(events_[0].trigger["name"], "real.mp4");
  EXPECT_NE(log_text().find("overflowed"), std::string::npos);
}

TEST_F(WatchTriggerTest, StopEndsEvents) {
  ASSERT_TRUE(start());
  write_file(inbox_ / "late.mp4", "late");
  run_for(milliseconds(50));
  trigger_->stop();
  run_for(milliseconds(400));
  EXPECT_TRUE(events_.empty());
}

TEST_F(WatchTriggerTest, IdleWatchHasNoTimerArmed) {
  ASSERT_TRUE(start());
  write_file(inbox_ / "once.mp4", "once");
  ASSERT_TRUE(await_events(1));
  // Only the inotify descriptor is waited on: no handler is ready and none becomes ready.
  io_.restart();
  EXPECT_EQ(io_.poll(), 0u);
  io_.restart();
  EXPECT_EQ(io_.run_for(milliseconds(300)), 0u);
  EXPECT_EQ(events_.size(), 1u);
}

}  // namespace
}  // namespace reelflow::triggers
