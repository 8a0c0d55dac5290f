// Crash safety: a child process writes run and step transitions in a loop and reports each one
// through a pipe once its call has returned (committed); the parent kills it with SIGKILL at a
// random moment, reopens the database, and checks that it is intact and holds every reported
// transition. Several rounds against the same file, each bounded in transitions and time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "store/store.hpp"
#include "test_support.hpp"

namespace reelflow::store {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr int kRounds = 10;
constexpr int kMaxIterationsPerRound = 400;  // 4 transitions each

std::string run_id(int round, int iteration) {
  return "c" + std::to_string(round) + "-" + std::to_string(iteration);
}

void report(int fd, const std::string& line) {
  // Lines are shorter than PIPE_BUF, so each write is atomic.
  const std::string text = line + "\n";
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(3);
}

// The child: never returns. Reports "I STAGE" after each committed transition.
[[noreturn]] void write_transitions(const std::filesystem::path& path, int round, int fd) {
  auto opened = open_sqlite_store(path);
  if (!opened) {
    report(fd, "E " + opened.error().message);
    _exit(1);
  }
  Store& store = **opened;
  const auto check = [&](const Result<void>& result) {
    if (!result) {
      report(fd, "E " + result.error().message);
      _exit(1);
    }
  };
  for (int i = 0; i < kMaxIterationsPerRound; ++i) {
    const std::string id = run_id(round, i);
    const StepKey step{id, "render", kNoItem, 1};
    const Millis at = round * 100000 + i;
    auto created = store.create_run({id, "crash", "h", json{{"i", i}}, id, at});
    if (!created || !created->created) {
      report(fd, "E create " + id + (created ? " existed" : ": " + created.error().message));
      _exit(1);
    }
    report(fd, std::to_string(i) + " 1");
    check(store.in_transaction([&]() -> Result<void> {
      if (auto moved = store.transition_run(id, RunState::queued, RunState::running, at); !moved) {
        return moved;
      }
      return store.add_step(step, StepState::pending, at);
    }));
    report(fd, std::to_string(i) + " 2");
    check(store.in_transaction([&]() -> Result<void> {
      if (auto started = store.transition_step(step, StepState::pending, StepState::running, at);
          !started) {
        return started;
      }
      return store.transition_step(step, StepState::running, StepState::succeeded, at,
                                   {.outputs = json{{"i", i}}});
    }));
    report(fd, std::to_string(i) + " 3");
    check(store.transition_run(id, RunState::running, RunState::succeeded, at));
    report(fd, std::to_string(i) + " 4");
  }
  _exit(0);
}

// 0: no run; 1: queued; 2: running, step pending; 3: step succeeded; 4: run succeeded.
int stage_in_database(Store& store, int round, int iteration) {
  const std::string id = run_id(round, iteration);
  auto run = store.get_run(id);
  if (!run) ADD_FAILURE() << run.error().message;
  if (!run || !run->has_value()) return 0;
  if ((*run)->state == RunState::queued) return 1;
  if ((*run)->state == RunState::succeeded) return 4;
  auto step = store.get_step({id, "render", kNoItem, 1});
  if (!step || !step->has_value()) return -1;  // running without its step: torn transaction
  if ((*step)->state == StepState::pending) return 2;
  if ((*step)->state == StepState::succeeded && (*step)->outputs["i"] == iteration) return 3;
  return -1;
}

TEST(CrashTest, EveryCommittedTransitionSurvivesSigkill) {
  TempDir dir;
  const auto path = database_path(dir.path());
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_ms(2, 150);

  int killed_mid_round = 0;
  std::size_t transitions_reported = 0;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      write_transitions(path, round, fds[1]);
    }
    close(fds[1]);

    // Read while the child writes (so it never blocks on a full pipe) until the random deadline.
    std::string reported;
    char buffer[4096];
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(random));
    bool child_done = false;
    while (!child_done && std::chrono::steady_clock::now() < deadline) {
      pollfd poll_fd{fds[0], POLLIN, 0};
      if (poll(&poll_fd, 1, 1) > 0) {
        const ssize_t n = read(fds[0], buffer, sizeof buffer);
        if (n <= 0) child_done = true;
        if (n > 0) reported.append(buffer, static_cast<std::size_t>(n));
      }
    }
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) {
      reported.append(buffer, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    if (WIFSIGNALED(status)) ++killed_mid_round;

    std::map<int, int> last_stage;  // iteration -> highest reported stage
    std::istringstream lines(reported);
    for (std::string line; std::getline(lines, line);) {
      ASSERT_NE(line.rfind("E ", 0), 0u) << "child failed: " << line;
      int iteration = 0, stage = 0;
      std::istringstream(line) >> iteration >> stage;
      last_stage[iteration] = std::max(last_stage[iteration], stage);
      ++transitions_reported;
    }

    auto reopened = open_sqlite_store(path);
    ASSERT_TRUE(reopened.has_value()) << reopened.error().message;
    Store& store = **reopened;
    ASSERT_OK_AND_ASSIGN(integrity, store.check_integrity());
    ASSERT_EQ(integrity, "ok") << "round " << round;

    // Reported transitions are all there; at most the one in flight went further.
    const int iterations = last_stage.empty() ? 0 : last_stage.rbegin()->first + 1;
    for (int i = 0; i < iterations; ++i) {
      const int reported_stage = last_stage.count(i) ? last_stage[i] : 0;
      const int stored = stage_in_database(store, round, i);
      EXPECT_GE(stored, reported_stage) << "round " << round << " run " << i;
      EXPECT_LE(stored, i + 1 == iterations ? reported_stage + 1 : 4)
          << "round " << round << " run " << i;
    }
    // The first unreported run may exist (committed, killed before reporting), queued at most.
    EXPECT_LE(stage_in_database(store, round, iterations), 1) << "round " << round;
    EXPECT_EQ(stage_in_database(store, round, iterations + 1), 0) << "round " << round;
  }
  std::printf("crash test: %d rounds, %d killed mid-round, %zu committed transitions checked\n",
              kRounds, killed_mid_round, transitions_reported);
}

}  // namespace
}  // namespace reelflow::store
