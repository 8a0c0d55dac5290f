// Every Store call against a real SQLite file.
#include "store/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "test_support.hpp"

namespace reelflow::store {
namespace {

using nlohmann::json;
using testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    auto opened = open_sqlite_store(path_);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    store_ = std::move(*opened);
  }

  NewRun new_run(std::string id, std::string workflow = "promo", std::string key = "",
                 Millis at = 1000) {
    return NewRun{id,
                  workflow,
                  "hash-1",
                  json{{"file", "/in/" + id + ".mp4"}},
                  key.empty() ? "key-" + id : key,
                  at};
  }

  void add_run(const std::string& id, const std::string& workflow = "promo", Millis at = 1000) {
    auto created = store_->create_run(new_run(id, workflow, "", at));
    ASSERT_TRUE(created.has_value()) << created.error().message;
    ASSERT_TRUE(created->created);
  }

  TempDir dir_;
  std::filesystem::path path_ = database_path(dir_.path());
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, OpensInWalModeAtTheCurrentSchemaVersion) {
  EXPECT_EQ(store_->schema_version(), current_schema_version());
  EXPECT_EQ(store_->describe(), path_.string());
  EXPECT_TRUE(std::filesystem::exists(path_));
  SQLite::Database raw(path_);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), current_schema_version());
  ASSERT_OK_AND_ASSIGN(report, store_->check_integrity());
  EXPECT_EQ(report, "ok");
}

TEST_F(StoreTest, StateNamesRoundTrip) {
  for (const auto state : kAllRunStates) {
    EXPECT_EQ(*parse_run_state(to_string(state)), state);
  }
  EXPECT_EQ(*parse_step_state("skipped"), StepState::skipped);
  EXPECT_EQ(*parse_timer_state("fired"), TimerState::fired);
  EXPECT_FALSE(parse_run_state("done").has_value());
  EXPECT_TRUE(is_finished(RunState::cancelled));
  EXPECT_FALSE(is_finished(StepState::waiting));
}

TEST_F(StoreTest, WorkflowsAreUpsertedAndKeepTheirPausedFlag) {
  ASSERT_OK(store_->upsert_workflow({"promo", "/etc/reelflow/promo.yaml", "h1", 10, false}));
  ASSERT_OK(store_->upsert_workflow({"alpha", "/etc/reelflow/alpha.yaml", "h2", 11, false}));
  ASSERT_OK(store_->set_workflow_paused("promo", true));
  ASSERT_OK(store_->upsert_workflow({"promo", "/etc/reelflow/promo.yaml", "h3", 20, false}));

  ASSERT_OK_AND_ASSIGN(promo, store_->get_workflow("promo"));
  ASSERT_TRUE(promo.has_value());
  EXPECT_EQ(promo->content_hash, "h3");
  EXPECT_EQ(promo->loaded_at, 20);
  EXPECT_TRUE(promo->paused) << "a reload must not unpause";

  ASSERT_OK_AND_ASSIGN(all, store_->list_workflows());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alpha");

  auto missing = store_->set_workflow_paused("nope", true);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);

  ASSERT_OK(store_->remove_workflow("alpha"));
  ASSERT_OK_AND_ASSIGN(gone, store_->get_workflow("alpha"));
  EXPECT_FALSE(gone.has_value());
}

TEST_F(StoreTest, CreateRunReturnsTheExistingRunForASeenTriggerKey) {
  ASSERT_OK_AND_ASSIGN(first, store_->create_run(new_run("r1", "promo", "file-a")));
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.run_id, "r1");
  ASSERT_OK_AND_ASSIGN(again, store_->create_run(new_run("r2", "promo", "file-a")));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.run_id, "r1");
  // The key is unique per workflow, not globally.
  ASSERT_OK_AND_ASSIGN(other, store_->create_run(new_run("r3", "teaser", "file-a")));
  EXPECT_TRUE(other.created);

  ASSERT_OK_AND_ASSIGN(run, store_->get_run("r1"));
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->state, RunState::queued);
  EXPECT_EQ(run->trigger["file"], "/in/r1.mp4");
  EXPECT_EQ(run->workflow_hash, "hash-1");
  EXPECT_FALSE(run->started_at.has_value());
  ASSERT_OK_AND_ASSIGN(r2, store_->get_run("r2"));
  EXPECT_FALSE(r2.has_value());
}

TEST_F(StoreTest, TriggerKeyStaysUniqueAcrossReopen) {
  ASSERT_OK(store_->create_run(new_run("r1", "promo", "file-a")));
  reopen();
  ASSERT_OK_AND_ASSIGN(again, store_->create_run(new_run("r2", "promo", "file-a")));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.run_id, "r1");
}

TEST_F(StoreTest, RunTransitionsSetTimesAndRefuseStaleWriters) {
  add_run("r1");
  ASSERT_OK(store_->transition_run("r1", RunState::queued, RunState::running, 2000));
  ASSERT_OK(store_->transition_run("r1", RunState::running, RunState::waiting, 2500));
  ASSERT_OK(store_->transition_run("r1", RunState::waiting, RunState::running, 2600));

  // A stale writer that still believes the run is queued is refused, and says why.
  auto stale = store_->transition_run("r1", RunState::queued, RunState::cancelled, 2700);
  ASSERT_FALSE(stale.has_value());
  EXPECT_NE(stale.error().message.find("now running"), std::string::npos) << stale.error().message;
  EXPECT_NE(stale.error().message.find(path_.string()), std::string::npos);
  EXPECT_NE(stale.error().message.find("r1"), std::string::npos);

  ASSERT_OK(store_->transition_run("r1", RunState::running, RunState::failed, 3000, "boom"));
  ASSERT_OK_AND_ASSIGN(run, store_->get_run("r1"));
  EXPECT_EQ(run->state, RunState::failed);
  EXPECT_EQ(run->started_at, 2000) << "started_at is the first entry into running";
  EXPECT_EQ(run->finished_at, 3000);
  EXPECT_EQ(run->error, "boom");

  // A retry leaves the finished state and clears finished_at.
  ASSERT_OK(store_->transition_run("r1", RunState::failed, RunState::queued, 4000, ""));
  ASSERT_OK_AND_ASSIGN(retried, store_->get_run("r1"));
  EXPECT_FALSE(retried->finished_at.has_value());
  EXPECT_EQ(retried->error, "");

  auto missing = store_->transition_run("nope", RunState::queued, RunState::running, 1);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos);
}

TEST_F(StoreTest, StepExecutionsRecordStatesOutputsAndRefuseStaleWriters) {
  add_run("r1");
  const StepKey extract{"r1", "extract", kNoItem, 1};
  const StepKey item0{"r1", "render", 0, 1};
  const StepKey item1{"r1", "render", 1, 1};
  ASSERT_OK(store_->add_step(extract, StepState::pending, 100));
  ASSERT_OK(store_->add_step(item0, StepState::pending, 100));
  ASSERT_OK(store_->add_step(item1, StepState::skipped, 100));

  auto duplicate = store_->add_step(extract, StepState::pending, 100);
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_NE(duplicate.error().message.find("already recorded"), std::string::npos);

  ASSERT_OK(store_->transition_step(extract, StepState::pending, StepState::running, 200,
                                    {.worker = std::string("video.extract@worker-1")}));
  ASSERT_OK(store_->transition_step(extract, StepState::running, StepState::succeeded, 300,
                                    {.outputs = json{{"score", 0.8}}}));
  auto stale = store_->transition_step(extract, StepState::running, StepState::failed, 400,
                                       {.error = std::string("late")});
  ASSERT_FALSE(stale.has_value());
  EXPECT_NE(stale.error().message.find("now succeeded"), std::string::npos)
      << stale.error().message;

  ASSERT_OK_AND_ASSIGN(step, store_->get_step(extract));
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->state, StepState::succeeded);
  EXPECT_EQ(step->started_at, 200);
  EXPECT_EQ(step->finished_at, 300);
  EXPECT_EQ(step->outputs["score"], 0.8);
  EXPECT_EQ(step->worker, "video.extract@worker-1") << "unset update fields keep their value";
  EXPECT_EQ(step->error, "");

  ASSERT_OK(store_->record_step_outputs(item0, json{{"partial", true}}));
  ASSERT_OK_AND_ASSIGN(steps, store_->run_steps("r1"));
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].key.step_id, "extract");
  EXPECT_EQ(steps[0].key.item, kNoItem);
  EXPECT_EQ(steps[1].key.item, 0);
  EXPECT_EQ(steps[1].outputs["partial"], true);
  EXPECT_EQ(steps[2].state, StepState::skipped);
  EXPECT_EQ(steps[2].finished_at, 100);

  // A second attempt is a new execution.
  ASSERT_OK(store_->add_step({"r1", "extract", kNoItem, 2}, StepState::pending, 500));
  auto unknown_outputs = store_->record_step_outputs({"r1", "nope", kNoItem, 1}, json::object());
  EXPECT_FALSE(unknown_outputs.has_value());
}

TEST_F(StoreTest, StepsOfAnUnknownRunAreRefusedByForeignKeys) {
  auto orphan = store_->add_step({"ghost", "extract", kNoItem, 1}, StepState::pending, 1);
  ASSERT_FALSE(orphan.has_value());
  EXPECT_NE(orphan.error().message.find("FOREIGN KEY"), std::string::npos)
      << orphan.error().message;
}

TEST_F(StoreTest, UnfinishedRunsComeWithTheirLastCompletedStep) {
  add_run("done", "promo", 1);
  add_run("fresh", "promo", 2);
  add_run("midway", "promo", 3);
  ASSERT_OK(store_->transition_run("done", RunState::queued, RunState::running, 10));
  ASSERT_OK(store_->transition_run("done", RunState::running, RunState::succeeded, 11));
  ASSERT_OK(store_->transition_run("midway", RunState::queued, RunState::running, 10));
  for (const auto* id : {"extract", "score", "render"}) {
    ASSERT_OK(store_->add_step({"midway", id, kNoItem, 1}, StepState::pending, 10));
  }
  ASSERT_OK(store_->transition_step({"midway", "extract", kNoItem, 1}, StepState::pending,
                                    StepState::running, 11));
  ASSERT_OK(store_->transition_step({"midway", "extract", kNoItem, 1}, StepState::running,
                                    StepState::succeeded, 12));
  ASSERT_OK(store_->transition_step({"midway", "score", kNoItem, 1}, StepState::pending,
                                    StepState::skipped, 13));
  ASSERT_OK(store_->transition_step({"midway", "render", kNoItem, 1}, StepState::pending,
                                    StepState::running, 14));

  ASSERT_OK_AND_ASSIGN(unfinished, store_->unfinished_runs());
  ASSERT_EQ(unfinished.size(), 2u);
  EXPECT_EQ(unfinished[0].run.id, "fresh");
  EXPECT_FALSE(unfinished[0].last_completed.has_value());
  EXPECT_EQ(unfinished[1].run.id, "midway");
  ASSERT_TRUE(unfinished[1].last_completed.has_value());
  EXPECT_EQ(unfinished[1].last_completed->key.step_id, "score");
}

TEST_F(StoreTest, ListsRunsWithFiltersAndCountsThemByState) {
  add_run("a1", "alpha", 1);
  add_run("a2", "alpha", 2);
  add_run("a3", "alpha", 3);
  add_run("b1", "beta", 4);
  ASSERT_OK(store_->transition_run("a2", RunState::queued, RunState::running, 5));
  ASSERT_OK(store_->transition_run("a2", RunState::running, RunState::failed, 6));

  ASSERT_OK_AND_ASSIGN(all, store_->list_runs({}));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].id, "b1") << "newest first";
  ASSERT_OK_AND_ASSIGN(alpha, store_->list_runs({.workflow = "alpha"}));
  EXPECT_EQ(alpha.size(), 3u);
  ASSERT_OK_AND_ASSIGN(queued_alpha,
                       store_->list_runs({.workflow = "alpha", .state = RunState::queued}));
  ASSERT_EQ(queued_alpha.size(), 2u);
  EXPECT_EQ(queued_alpha[0].id, "a3");
  ASSERT_OK_AND_ASSIGN(limited, store_->list_runs({.limit = 1}));
  ASSERT_EQ(limited.size(), 1u);
  ASSERT_OK_AND_ASSIGN(failed, store_->list_runs({.state = RunState::failed}));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, "a2");

  ASSERT_OK_AND_ASSIGN(counts, store_->count_runs_by_state());
  ASSERT_EQ(counts.size(), kAllRunStates.size());
  EXPECT_EQ(counts[0].state, RunState::queued);
  EXPECT_EQ(counts[0].count, 3);
  EXPECT_EQ(counts[static_cast<int>(RunState::failed)].count, 1);
  EXPECT_EQ(counts[static_cast<int>(RunState::running)].count, 0);
}

TEST_F(StoreTest, RetentionListsFinishedRunsOlderThanACutoffUntilPurged) {
  add_run("old");
  add_run("new");
  add_run("open");
  for (const auto& [id, at] : {std::pair{"old", 100}, std::pair{"new", 900}}) {
    ASSERT_OK(store_->transition_run(id, RunState::queued, RunState::running, at - 1));
    ASSERT_OK(store_->transition_run(id, RunState::running, RunState::succeeded, at));
  }
  ASSERT_OK_AND_ASSIGN(expired, store_->finished_runs_before(500, 10));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, "old");
  ASSERT_OK(store_->mark_artifacts_purged("old", 600));
  ASSERT_OK_AND_ASSIGN(after, store_->finished_runs_before(1000, 10));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, "new");
  EXPECT_FALSE(store_->mark_artifacts_purged("nope", 1).has_value());
}

TEST_F(StoreTest, IntentsAreRecordedOnceAndResolvedOnce) {
  add_run("r1");
  const NewIntent intent{"r1", "publish", kNoItem, "r1/publish/tiktok", json{{"platform", "tt"}},
                         100};
  ASSERT_OK(store_->record_intent(intent));
  auto again = store_->record_intent(intent);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message.find("already recorded"), std::string::npos);

  ASSERT_OK(store_->record_intent({"r1", "publish", 1, "r1/publish/yt", json::object(), 101}));
  ASSERT_OK_AND_ASSIGN(open, store_->unresolved_intents());
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].idempotency_key, "r1/publish/tiktok");
  EXPECT_EQ(open[0].intent["platform"], "tt");
  EXPECT_FALSE(open[0].result.has_value());
  EXPECT_EQ(open[1].item, 1);

  ASSERT_OK(store_->record_intent_result("r1/publish/tiktok", json{{"post_id", "42"}}, 200));
  auto twice = store_->record_intent_result("r1/publish/tiktok", json::object(), 300);
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error().message.find("already has a result"), std::string::npos);
  EXPECT_FALSE(store_->record_intent_result("nope", json::object(), 1).has_value());

  ASSERT_OK_AND_ASSIGN(resolved, store_->get_intent("r1/publish/tiktok"));
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ((*resolved->result)["post_id"], "42");
  EXPECT_EQ(resolved->resolved_at, 200);
  ASSERT_OK_AND_ASSIGN(remaining, store_->unresolved_intents());
  ASSERT_EQ(remaining.size(), 1u);
  EXPECT_EQ(remaining[0].idempotency_key, "r1/publish/yt");
}

TEST_F(StoreTest, TimersAreDueInOrderFireOnceAndCanBeCancelled) {
  add_run("r1");
  ASSERT_OK_AND_ASSIGN(late, store_->add_timer({3000, "step_wait", "r1", "publish", {{"n", 3}}}));
  ASSERT_OK_AND_ASSIGN(early, store_->add_timer({1000, "step_wait", "r1", "publish", {}}));
  ASSERT_OK_AND_ASSIGN(middle, store_->add_timer({2000, "schedule", "", "", {{"cron", "0 9"}}}));

  ASSERT_OK_AND_ASSIGN(due, store_->due_timers(2500, 10));
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, early);
  EXPECT_EQ(due[1].id, middle);
  EXPECT_EQ(due[1].run_id, "");
  EXPECT_EQ(due[1].payload["cron"], "0 9");
  ASSERT_OK_AND_ASSIGN(limited, store_->due_timers(2500, 1));
  EXPECT_EQ(limited.size(), 1u);

  ASSERT_OK(store_->mark_timer_fired(early));
  auto twice = store_->mark_timer_fired(early);
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error().message.find("now fired"), std::string::npos);
  ASSERT_OK(store_->cancel_timer(middle));
  EXPECT_FALSE(store_->cancel_timer(middle).has_value());
  EXPECT_FALSE(store_->cancel_timer(12345).has_value());

  ASSERT_OK_AND_ASSIGN(pending, store_->pending_timers());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, late);
  EXPECT_EQ(pending[0].payload["n"], 3);
  EXPECT_EQ(pending[0].state, TimerState::pending);

  ASSERT_OK_AND_ASSIGN(cancelled, store_->cancel_run_timers("r1"));
  EXPECT_EQ(cancelled, 1);
  ASSERT_OK_AND_ASSIGN(none, store_->pending_timers());
  EXPECT_TRUE(none.empty());
}

TEST_F(StoreTest, PendingTimersSurviveReopen) {
  for (int i = 0; i < 50; ++i) ASSERT_OK(store_->add_timer({i * 10, "metrics", "", "", {}}));
  reopen();
  ASSERT_OK_AND_ASSIGN(pending, store_->pending_timers());
  EXPECT_EQ(pending.size(), 50u);
}

TEST_F(StoreTest, PluginStateIsPerPlugin) {
  ASSERT_OK_AND_ASSIGN(missing, store_->plugin_state_get("tiktok", "token"));
  EXPECT_FALSE(missing.has_value());
  ASSERT_OK(store_->plugin_state_set("tiktok", "cursor", "1"));
  ASSERT_OK(store_->plugin_state_set("tiktok", "cursor", "2"));
  ASSERT_OK(store_->plugin_state_set("youtube", "cursor", "9"));
  ASSERT_OK_AND_ASSIGN(value, store_->plugin_state_get("tiktok", "cursor"));
  EXPECT_EQ(value, "2");
  ASSERT_OK(store_->plugin_state_erase("tiktok", "cursor"));
  ASSERT_OK(store_->plugin_state_erase("tiktok", "cursor"));  // erasing twice is fine
  ASSERT_OK_AND_ASSIGN(erased, store_->plugin_state_get("tiktok", "cursor"));
  EXPECT_FALSE(erased.has_value());
  ASSERT_OK_AND_ASSIGN(other, store_->plugin_state_get("youtube", "cursor"));
  EXPECT_EQ(other, "9");
}

TEST_F(StoreTest, SeenFilesAreRecordedOncePerWorkflow) {
  const SeenFile file{"promo", "/in/a.mp4|100|1700000000|abc", 10, "r1"};
  ASSERT_OK_AND_ASSIGN(first, store_->mark_file_seen(file));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(second, store_->mark_file_seen({"promo", file.key, 20, "r2"}));
  EXPECT_FALSE(second);
  ASSERT_OK_AND_ASSIGN(other_workflow, store_->mark_file_seen({"teaser", file.key, 20, ""}));
  EXPECT_TRUE(other_workflow);
  reopen();
  ASSERT_OK_AND_ASSIGN(seen, store_->get_seen_file("promo", file.key));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->first_seen, 10);
  EXPECT_EQ(seen->run_id, "r1");
  ASSERT_OK_AND_ASSIGN(unseen, store_->get_seen_file("promo", "other"));
  EXPECT_FALSE(unseen.has_value());
}

TEST_F(StoreTest, InTransactionCommitsAllOrNothing) {
  add_run("r1");
  ASSERT_OK(store_->add_step({"r1", "publish", kNoItem, 1}, StepState::pending, 1));
  ASSERT_OK(store_->transition_step({"r1", "publish", kNoItem, 1}, StepState::pending,
                                    StepState::running, 1));

  // Failure half-way: the timer written before it is rolled back too.
  auto failed = store_->in_transaction([&]() -> Result<void> {
    if (auto added = store_->add_timer({10, "step_wait", "r1", "publish", {}}); !added) {
      return tl::unexpected(added.error());
    }
    return store_->transition_step({"r1", "publish", kNoItem, 1}, StepState::pending,
                                   StepState::waiting, 2);  // stale: it is running
  });
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message.find("now running"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(no_timers, store_->pending_timers());
  EXPECT_TRUE(no_timers.empty());

  // Success: both writes land; a failed nested transaction is undone alone.
  ASSERT_OK(store_->in_transaction([&]() -> Result<void> {
    if (auto added = store_->add_timer({10, "step_wait", "r1", "publish", {}}); !added) {
      return tl::unexpected(added.error());
    }
    auto inner = store_->in_transaction([&]() -> Result<void> {
      if (auto set = store_->plugin_state_set("p", "k", "v"); !set) return set;
      return fail("inner gives up");
    });
    EXPECT_FALSE(inner.has_value());
    return store_->transition_step({"r1", "publish", kNoItem, 1}, StepState::running,
                                   StepState::waiting, 2);
  }));
  ASSERT_OK_AND_ASSIGN(timers, store_->pending_timers());
  EXPECT_EQ(timers.size(), 1u);
  ASSERT_OK_AND_ASSIGN(step, store_->get_step({"r1", "publish", kNoItem, 1}));
  EXPECT_EQ(step->state, StepState::waiting);
  ASSERT_OK_AND_ASSIGN(inner_value, store_->plugin_state_get("p", "k"));
  EXPECT_FALSE(inner_value.has_value());
}

TEST_F(StoreTest, ConcurrentThreadsShareOneStore) {
  constexpr int kThreads = 4, kRunsEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsEach; ++i) {
        // Every thread races for the same trigger keys: each key yields exactly one run.
        auto run = store_->create_run(new_run("t" + std::to_string(t) + "-" + std::to_string(i),
                                              "promo", "file-" + std::to_string(i)));
        if (!run) {
          ++failures;
        } else if (run->created) {
          ++created;
          if (!store_->transition_run(run->run_id, RunState::queued, RunState::running, i)) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(created.load(), kRunsEach);
  ASSERT_OK_AND_ASSIGN(counts, store_->count_runs_by_state());
  EXPECT_EQ(counts[static_cast<int>(RunState::running)].count, kRunsEach);
}

// --- opening bad files ---

TEST(StoreOpenTest, GarbageFileIsAClearErrorNamingTheFile) {
  TempDir dir;
  const auto path = dir.path() / "reelflow.db";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 131 + 7) % 251));
  }
  auto opened = open_sqlite_store(path);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find(path.string()), std::string::npos)
      << opened.error().message;
  EXPECT_NE(opened.error().message.find("not a database"), std::string::npos)
      << opened.error().message;
  EXPECT_EQ(std::filesystem::file_size(path), 4096u) << "the bad file is left as it was";
}

TEST(StoreOpenTest, SomeOtherProgramsDatabaseIsRefused) {
  TempDir dir;
  const auto path = dir.path() / "other.db";
  {
    SQLite::Database other(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    other.exec("CREATE TABLE notes (text TEXT)");
  }
  auto opened = open_sqlite_store(path);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find("not a reelflow database"), std::string::npos)
      << opened.error().message;
}

TEST(StoreOpenTest, MissingDirectoryIsAClearError) {
  TempDir dir;
  const auto path = dir.path() / "no" / "such" / "reelflow.db";
  auto opened = open_sqlite_store(path);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message.find(path.string()), std::string::npos)
      << opened.error().message;
}

}  // namespace
}  // namespace reelflow::store
