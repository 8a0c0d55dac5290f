// The click log (the redirect server's write-ahead) and TrackStore's import of it, against real
// files and a real SQLite database: records round-trip, a torn or damaged tail stops the reader,
// a failed append leaves no partial record, clicks logged and never imported (a crash) are
// imported at the next open, and reads of clicks wait for the import.
#include "store/click_log.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

#include "store/store.hpp"
#include "store/track_store.hpp"
#include "test_support.hpp"

namespace reelflow::store {
namespace {

using testing::TempDir;

Click sample_click(int n, std::string kind = "human") {
  Click click;
  click.at = 1'764'000'000'000 + n;
  click.id = new_click_id(click.at);
  click.code = "Code" + std::to_string(n % 3);
  click.kind = std::move(kind);
  click.agent = n % 2 ? "Twitterbot" : "";
  click.visitor = "visitor-" + std::to_string(n % 5);
  click.ip = "203.0.113.0";
  click.user_agent = "Mozilla/5.0 (tab\there) " + std::string(static_cast<std::size_t>(n), 'x');
  click.referer = n % 4 ? "" : "https://t.co/abc";
  click.duplicate = n % 7 == 0;
  return click;
}

std::string encode_all(const std::vector<Click>& clicks, std::uint32_t lap = 1) {
  std::string bytes;
  for (const auto& click : clicks) encode_click(click, lap, bytes);
  return bytes;
}

void expect_same(const Click& a, const Click& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.at, b.at);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.agent, b.agent);
  EXPECT_EQ(a.visitor, b.visitor);
  EXPECT_EQ(a.ip, b.ip);
  EXPECT_EQ(a.user_agent, b.user_agent);
  EXPECT_EQ(a.referer, b.referer);
  EXPECT_EQ(a.duplicate, b.duplicate);
}

TEST(ClickLogRecords, RoundTripEveryField) {
  std::vector<Click> clicks;
  for (int n = 0; n < 50; ++n) clicks.push_back(sample_click(n));
  const std::string bytes = encode_all(clicks);
  DecodedClicks decoded = decode_clicks(bytes, 1);
  EXPECT_FALSE(decoded.damaged);
  EXPECT_EQ(decoded.consumed, bytes.size());
  ASSERT_EQ(decoded.clicks.size(), clicks.size());
  for (std::size_t i = 0; i < clicks.size(); ++i) expect_same(decoded.clicks[i], clicks[i]);
}

TEST(ClickLogRecords, ARecordCutShortWaitsAnOlderLapEndsAndADamagedOneStops) {
  const std::string bytes = encode_all({sample_click(1), sample_click(2), sample_click(3)});
  const std::string two = encode_all({sample_click(1), sample_click(2)});
  // Cut anywhere inside the third record: the first two are read, the rest waits (not damage).
  for (std::size_t cut = two.size(); cut < bytes.size(); cut += 7) {
    DecodedClicks decoded = decode_clicks(std::string_view(bytes).substr(0, cut), 1);
    EXPECT_EQ(decoded.clicks.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(decoded.consumed, two.size());
    EXPECT_FALSE(decoded.damaged);
  }
  // Records of lap 2 followed by what lap 1 left behind, or by zeros: the end, quietly.
  const std::string lap2 = encode_all({sample_click(5)}, 2);
  for (const std::string& after : {bytes, std::string(100, '\0')}) {
    DecodedClicks decoded = decode_clicks(lap2 + after, 2);
    EXPECT_EQ(decoded.clicks.size(), 1u);
    EXPECT_EQ(decoded.consumed, lap2.size());
    EXPECT_FALSE(decoded.damaged);
  }
  // A flipped byte in the second record's payload: the checksum stops the reader after the first.
  std::string flipped = bytes;
  flipped[encode_all({sample_click(1)}).size() + 20] ^= 0x5a;
  DecodedClicks decoded = decode_clicks(flipped, 1);
  EXPECT_EQ(decoded.clicks.size(), 1u);
  EXPECT_TRUE(decoded.damaged);
  // The same bytes read as another lap are not damage but the end.
  EXPECT_FALSE(decode_clicks(flipped, 7).damaged);
}

TEST(ClickLogFile, AppendsReadsAndReusesTheFileForTheNextLap) {
  TempDir dir;
  const auto path = dir.path() / "db-clicks";
  auto log = ClickLog::open(path);
  ASSERT_TRUE(log.has_value()) << log.error().message;
  const std::vector<Click> first = {sample_click(1), sample_click(2)};
  const std::vector<Click> second = {sample_click(3)};
  const std::size_t first_bytes = encode_all(first).size(), second_bytes = encode_all(second).size();
  auto at = (*log)->append(first);
  ASSERT_TRUE(at.has_value()) << at.error().message;
  EXPECT_EQ(*at, first_bytes);
  ASSERT_TRUE((*log)->append(second).has_value());
  auto read = (*log)->read(first_bytes, 1 << 20);
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->clicks.size(), 1u);
  expect_same(read->clicks[0], second[0]);
  // Not all consumed: the lap goes on. All consumed: the next lap starts at the file's start,
  // and positions go on from where they were; the file keeps its size (no size change to sync).
  EXPECT_FALSE(*(*log)->start_lap_if_consumed(first_bytes, 0));
  EXPECT_TRUE(*(*log)->start_lap_if_consumed(first_bytes + second_bytes, 0));
  auto after = (*log)->append(second);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, first_bytes + 2 * second_bytes);
  EXPECT_EQ(std::filesystem::file_size(path), first_bytes + second_bytes);
  auto again = (*log)->read(first_bytes + second_bytes, 1 << 20);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->clicks.size(), 1u);
  expect_same(again->clicks[0], second[0]);
  ASSERT_TRUE((*log)->sync().has_value());
  // Reopened (a crash): the lap at the file's start is found, up to where the older one begins.
  log->reset();
  auto reopened = ClickLog::open(path);
  ASSERT_TRUE(reopened.has_value());
  EXPECT_EQ((*reopened)->end(), second_bytes);
  EXPECT_EQ((*reopened)->damaged_at_open(), 0u);
  auto found = (*reopened)->read(0, 1 << 20);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->clicks.size(), 1u);
  expect_same(found->clicks[0], second[0]);
}

// A file size limit stands in for a full disk: the append that crosses it fails and does not
// count; the file's readable records are the whole ones before it.
TEST(ClickLogFile, AFailedAppendDoesNotCount) {
  TempDir dir;
  const auto path = dir.path() / "db-clicks";
  const std::vector<Click> one = {sample_click(40)};
  const std::size_t record = encode_all(one).size();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlim_t limit = record * 3 + record / 2;
    rlimit cap{limit, limit};
    setrlimit(RLIMIT_FSIZE, &cap);
    auto log = ClickLog::open(path);
    if (!log) _exit(10);
    int appended = 0;
    for (int n = 0; n < 10; ++n) {
      if (!(*log)->append(one)) break;
      ++appended;
    }
    _exit(appended == 3 && (*log)->end() == record * 3 ? 0 : 20 + appended);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3 whole records fit under the limit";
  auto log = ClickLog::open(path);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)->end(), record * 3);
  EXPECT_GT((*log)->damaged_at_open(), 0u) << "the partial fourth record is seen as damage";
  auto read = (*log)->read(0, 1 << 20);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->clicks.size(), 3u);
}

class TrackStoreClicks : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_sqlite_store(database_);
    ASSERT_TRUE(store.has_value()) << store.error().message;
  }
  std::unique_ptr<TrackStore> open(std::vector<std::string>* warnings = nullptr) {
    auto opened = TrackStore::open(database_, 2000, false, [warnings](const std::string& w) {
      if (warnings != nullptr) warnings->push_back(w);
    });
    EXPECT_TRUE(opened.has_value()) << opened.error().message;
    return opened ? std::move(*opened) : nullptr;
  }
  std::int64_t clicks_in_database() {
    SQLite::Database db(database_.string(), SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT COUNT(*) FROM clicks").getInt64();
  }

  TempDir dir_;
  std::filesystem::path database_ = dir_.path() / "reelflow.db";
};

TEST_F(TrackStoreClicks, LoggedClicksAreCountedAndRepeatsAreDuplicates) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<Click> round;
  for (int n = 0; n < 3; ++n) {
    Click click = sample_click(n);
    click.code = "Same";
    click.visitor = "one-visitor";
    click.agent.clear();
    click.duplicate = false;
    round.push_back(click);
  }
  round.push_back(sample_click(9, "bot"));
  round.back().code = "Same";
  auto logged = store->log_clicks(round, 3'600'000);
  ASSERT_TRUE(logged.has_value()) << logged.error().message;
  EXPECT_FALSE(round[0].duplicate);
  EXPECT_TRUE(round[1].duplicate);
  EXPECT_TRUE(round[2].duplicate);
  EXPECT_FALSE(round[3].duplicate);  // bots are never duplicates: they are not people
  // The count waits for the import.
  auto counts = store->click_counts("Same");
  ASSERT_TRUE(counts.has_value()) << counts.error().message;
  EXPECT_EQ(counts->total, 4);
  EXPECT_EQ(counts->human, 1);
  EXPECT_EQ(counts->duplicate, 2);
  EXPECT_EQ(counts->bot, 1);
  EXPECT_EQ(store->clicks_pending(), 0u);
}

// A crash between the write and the import: the clicks are only in the log. The next open
// imports them (once, even when some were already imported), then empties the log.
TEST_F(TrackStoreClicks, ClicksLeftInTheLogByACrashAreImportedAtOpen) {
  std::vector<Click> clicks;
  for (int n = 0; n < 200; ++n) clicks.push_back(sample_click(n));
  {
    auto log = ClickLog::open(database_.string() + "-clicks");
    ASSERT_TRUE(log.has_value());
    ASSERT_TRUE((*log)->append(clicks).has_value());
  }
  {
    // Ten of them made it into the database before the crash.
    SQLite::Database db(database_.string(), SQLite::OPEN_READWRITE);
    for (int n = 0; n < 10; ++n) {
      SQLite::Statement insert(db,
                               "INSERT INTO clicks VALUES (?, 'Code0', 1, 'human', 0, '', 'v', "
                               "'', '', '')");
      insert.bind(1, clicks[static_cast<std::size_t>(n)].id);
      insert.exec();
    }
  }
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(clicks_in_database(), 200);
  EXPECT_EQ(store->clicks_pending(), 0u);
  // The next lap writes over the imported one.
  std::vector<Click> next = {sample_click(500)};
  ASSERT_TRUE(store->log_clicks(next, 0).has_value());
  store.reset();
  auto reopened = ClickLog::open(database_.string() + "-clicks");
  ASSERT_TRUE(reopened.has_value());
  auto left = (*reopened)->read(0, 1 << 20);
  ASSERT_TRUE(left.has_value());
  ASSERT_EQ(left->clicks.size(), 1u);
  EXPECT_EQ(left->clicks[0].id, next[0].id);
}

// Power loss in the middle of a write leaves a torn record: the open imports everything before
// it, skips it and says so.
TEST_F(TrackStoreClicks, ADamagedTailIsSkippedWithAWarning) {
  std::string bytes = encode_all({sample_click(1), sample_click(2), sample_click(3)});
  bytes += encode_all({sample_click(4)}).substr(0, 30);  // the start of a record
  {
    std::ofstream out(database_.string() + "-clicks", std::ios::binary);
    out << bytes;
  }
  std::vector<std::string> warnings;
  auto store = open(&warnings);
  ASSERT_TRUE(store);
  EXPECT_EQ(clicks_in_database(), 3);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("skipped a damaged record of 30 bytes"), std::string::npos)
      << warnings[0];
  // New clicks go on normally after it.
  std::vector<Click> more = {sample_click(4)};
  ASSERT_TRUE(store->log_clicks(more, 0).has_value());
  ASSERT_TRUE(store->import_clicks().has_value());
  EXPECT_EQ(clicks_in_database(), 4);
}

// A database that cannot take the clicks delays them; they are imported once it can.
TEST_F(TrackStoreClicks, ALockedDatabaseDelaysTheImportWithoutLosingClicks) {
  std::vector<std::string> warnings;
  auto store = open(&warnings);
  ASSERT_TRUE(store);
  SQLite::Database locker(database_.string(), SQLite::OPEN_READWRITE);
  locker.exec("BEGIN EXCLUSIVE");
  std::vector<Click> clicks = {sample_click(1), sample_click(2)};
  ASSERT_TRUE(store->log_clicks(clicks, 0).has_value()) << "the log takes clicks meanwhile";
  auto waited = store->import_clicks(std::chrono::milliseconds(2500));
  ASSERT_FALSE(waited.has_value());
  EXPECT_NE(waited.error().message.find("database is locked"), std::string::npos)
      << waited.error().message;
  EXPECT_EQ(store->clicks_pending(), 2u);
  locker.exec("ROLLBACK");
  ASSERT_TRUE(store->import_clicks(std::chrono::seconds(10)).has_value());
  EXPECT_EQ(clicks_in_database(), 2);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("stay in the click log"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace reelflow::store
