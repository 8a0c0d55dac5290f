// Forward migrations: a version-1 database made by hand opens with the current code, keeps its
// data and gains the newer tables; a database from a newer release is refused.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "store/store.hpp"
#include "test_support.hpp"

namespace reelflow::store {
namespace {

using nlohmann::json;
using testing::TempDir;

// The version-1 schema exactly as it shipped, frozen here so that later edits to the store's
// migrations cannot make this test pass against a schema no user ever had.
constexpr const char* kVersion1Schema = R"sql(
PRAGMA application_id = 1380338775;
CREATE TABLE workflows (name TEXT PRIMARY KEY, file TEXT NOT NULL, content_hash TEXT NOT NULL,
  loaded_at INTEGER NOT NULL, paused INTEGER NOT NULL DEFAULT 0);
CREATE TABLE runs (id TEXT PRIMARY KEY, workflow TEXT NOT NULL, workflow_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN
    ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  trigger_json TEXT NOT NULL, trigger_key TEXT NOT NULL, created_at INTEGER NOT NULL,
  started_at INTEGER, finished_at INTEGER, error TEXT NOT NULL DEFAULT '',
  UNIQUE (workflow, trigger_key));
CREATE INDEX runs_by_state ON runs (state, created_at);
CREATE INDEX runs_by_workflow ON runs (workflow, created_at);
CREATE TABLE step_executions (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id TEXT NOT NULL, item INTEGER NOT NULL, attempt INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN
    ('pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'skipped')),
  started_at INTEGER, finished_at INTEGER, outputs_json TEXT NOT NULL DEFAULT '{}',
  error TEXT NOT NULL DEFAULT '', worker TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, step_id, item, attempt));
CREATE TABLE timers (id INTEGER PRIMARY KEY, due_at INTEGER NOT NULL, kind TEXT NOT NULL,
  run_id TEXT REFERENCES runs (id) ON DELETE CASCADE, step_id TEXT NOT NULL DEFAULT '',
  payload_json TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'fired', 'cancelled')));
CREATE INDEX timers_pending_by_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_by_run ON timers (run_id);
CREATE TABLE plugin_state (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (plugin, key)) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

TEST(MigrationTest, Version1DatabaseOpensWithTheCurrentCodeAndKeepsItsData) {
  TempDir dir;
  const auto path = dir.path() / "reelflow.db";
  {
    SQLite::Database v1(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    v1.exec(kVersion1Schema);
    v1.exec(R"sql(
      INSERT INTO workflows VALUES ('promo', '/etc/reelflow/promo.yaml', 'h1', 5, 1);
      INSERT INTO runs (id, workflow, workflow_hash, state, trigger_json, trigger_key, created_at,
                        started_at, finished_at)
        VALUES ('old-run', 'promo', 'h1', 'succeeded', '{"file":"/in/a.mp4"}', 'a', 10, 11, 12),
               ('live-run', 'promo', 'h1', 'waiting', '{}', 'b', 20, 21, NULL);
      INSERT INTO step_executions (run_id, step_id, item, attempt, state, outputs_json)
        VALUES ('live-run', 'extract', -1, 1, 'succeeded', '{"n":1}');
      INSERT INTO timers (due_at, kind, run_id, step_id) VALUES (99, 'step_wait', 'live-run', 'x');
      INSERT INTO plugin_state VALUES ('tiktok', 'cursor', '7');
    )sql");
  }

  ASSERT_OK_AND_ASSIGN(store, open_sqlite_store(path));
  EXPECT_EQ(store->schema_version(), current_schema_version());
  EXPECT_GT(current_schema_version(), 1) << "this test is meant to exercise a migration";

  ASSERT_OK_AND_ASSIGN(workflow, store->get_workflow("promo"));
  ASSERT_TRUE(workflow.has_value());
  EXPECT_TRUE(workflow->paused);
  ASSERT_OK_AND_ASSIGN(old_run, store->get_run("old-run"));
  ASSERT_TRUE(old_run.has_value());
  EXPECT_EQ(old_run->trigger["file"], "/in/a.mp4");
  ASSERT_OK_AND_ASSIGN(unfinished, store->unfinished_runs());
  ASSERT_EQ(unfinished.size(), 1u);
  EXPECT_EQ(unfinished[0].last_completed->outputs["n"], 1);
  ASSERT_OK_AND_ASSIGN(timers, store->pending_timers());
  ASSERT_EQ(timers.size(), 1u);
  ASSERT_OK_AND_ASSIGN(cursor, store->plugin_state_get("tiktok", "cursor"));
  EXPECT_EQ(cursor, "7");
  ASSERT_OK_AND_ASSIGN(dup, store->create_run({"again", "promo", "h1", json::object(), "a", 30}));
  EXPECT_FALSE(dup.created) << "trigger keys written under version 1 still count";

  // What version 2 added works on the migrated database.
  ASSERT_OK(store->record_intent({"live-run", "publish", kNoItem, "k1", json::object(), 40}));
  ASSERT_OK_AND_ASSIGN(seen, store->mark_file_seen({"promo", "a", 40, "old-run"}));
  EXPECT_TRUE(seen);
  ASSERT_OK_AND_ASSIGN(expired, store->finished_runs_before(100, 10));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, "old-run");
  ASSERT_OK_AND_ASSIGN(report, store->check_integrity());
  EXPECT_EQ(report, "ok");

  // Reopening does not migrate again.
  store.reset();
  ASSERT_OK_AND_ASSIGN(reopened, open_sqlite_store(path));
  EXPECT_EQ(reopened->schema_version(), current_schema_version());
}

TEST(MigrationTest, DatabaseFromANewerReleaseIsRefused) {
  TempDir dir;
  const auto path = dir.path() / "reelflow.db";
  {
    ASSERT_OK_AND_ASSIGN(store, open_sqlite_store(path));
    ASSERT_OK(store->plugin_state_set("p", "k", "v"));
  }
  const int newer = current_schema_version() + 1;
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version = " + std::to_string(newer));
  }
  auto opened = open_sqlite_store(path);
  ASSERT_FALSE(opened.has_value());
  const auto& message = opened.error().message;
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("schema version " + std::to_string(newer) + " is newer"),
            std::string::npos)
      << message;
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), newer) << "left untouched";
}

}  // namespace
}  // namespace reelflow::store
