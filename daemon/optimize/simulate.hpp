// Simulated audiences for the Thompson-sampling chooser (issue 8, deliverable 5): the proof that
// the bandit in bandit.hpp behaves as the literature says, and `reelflow optimize simulate`.
//
// Scenario `chapelle-li-table1` reproduces Table 1 of O. Chapelle and L. Li, "An Empirical
// Evaluation of Thompson Sampling", NIPS 2011: 10 arms whose success probabilities are drawn from
// Beta(4, 4); at each step, with probability 1e-3, one arm (chosen uniformly) is replaced by a new
// draw; T = 10^6 steps; rewards are revealed in batches every delta steps and the posterior is
// updated only at the end of each batch. That includes replacements: the chooser's posterior for
// a replaced arm goes back to the prior at the end of the batch in which it was replaced (results
// still pending for the old arm are dropped; those for the new arm are kept). Resetting at once
// instead gives about 0.77 and 0.58 of the paper's regret at delays 316 and 1000 and the same
// figures at small delays, so the paper evidently did it this way. Regret is the sum over steps of
// (the best current probability - the chosen arm's probability), averaged over repetitions. The
// chooser is plain Thompson sampling (no floor, no minimum, no discount), as in the paper.
//
// Repetitions run on `threads` std::threads. Repetition r's environment (arms and replacements)
// is seeded from (seed, r) alone, so every delay sees the same environments (common random
// numbers); its choices and rewards from (seed, r, delay). Results therefore depend only on the
// seed and the options, never on the number of threads or their timing.
//
// Thread-safety: pure functions (each call owns its threads and joins them before returning).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace reelflow::optimize {

inline constexpr std::string_view kChapelleLiTable1 = "chapelle-li-table1";

struct Table1Options {
  std::uint64_t reps = 100;  // the paper's
  std::uint64_t seed = 1;
  std::uint64_t horizon = 1'000'000;  // T
  std::vector<std::uint64_t> delays = {1, 3, 10, 32, 100, 316, 1000};
  unsigned threads = 2;
};

struct SimulationRow {
  std::uint64_t delay = 0;
  double regret = 0.0;          // mean over repetitions
  double standard_error = 0.0;  // of that mean
  std::optional<double> paper;  // the paper's figure, when the setting is the paper's
  std::optional<double> ratio;  // regret / paper
};

struct SimulationReport {
  std::string scenario;
  std::uint64_t reps = 0;
  std::uint64_t seed = 0;
  std::uint64_t horizon = 0;
  std::vector<SimulationRow> rows;
};

// The paper's Thompson-sampling regret for a delay, at T = 10^6; nothing for other delays.
std::optional<double> chapelle_li_table1_regret(std::uint64_t delay);

// The error names the option that is out of range.
Result<SimulationReport> run_chapelle_li_table1(const Table1Options& options);

// The regret of one repetition (exposed for tests): environment and chooser seeds as above.
double chapelle_li_table1_run(std::uint64_t delay, std::uint64_t horizon,
                              std::uint64_t environment_seed, std::uint64_t chooser_seed);

// {"scenario", "reps", "seed", "horizon", "rows": [{"delay", "regret", "standard_error", "paper",
//  "ratio"}, ...]}; paper and ratio are null where the paper has no figure.
nlohmann::json to_json(const SimulationReport& report);

// Scenario `drift`: the best variant changes mid-run. Five arms with click rates 5 %, 4 %, 3 %,
// 2 % and 1 %; at `change_at` the best and the worst swap. For each discount (1 = none), and then
// for each per-arm window of `arm_windows` (no discount), the steps after the change until the
// chooser picks the new best arm in at least `share` of its last `window` choices
// ("re-converged"), averaged over the repetitions that got there before the horizon, and how many
// did; and the regret before and after the change (forgetting costs before, pays after). Results
// are revealed at once (delay 1); no floor, no minimum.
inline constexpr std::string_view kDrift = "drift";

struct DriftOptions {
  std::uint64_t reps = 20;
  std::uint64_t seed = 1;
  std::uint64_t horizon = 200'000;
  std::uint64_t change_at = 100'000;
  std::uint64_t window = 1000;
  double share = 0.5;
  std::vector<double> discounts = {1.0, 0.9995, 0.999, 0.995};
  std::vector<std::uint64_t> arm_windows = {};  // BanditConfig::window values; none by default
  unsigned threads = 2;
};

struct DriftRow {
  double discount = 1.0;
  std::uint64_t arm_window = 0;   // BanditConfig::window (0 = none)
  std::uint64_t reconverged = 0;  // repetitions that got there before the horizon
  std::optional<double> steps;    // mean steps to re-converge over those
  double regret_after = 0.0;      // mean regret from the change to the horizon
  double regret_before = 0.0;     // mean regret before the change
};

struct DriftReport {
  std::uint64_t reps = 0;
  std::uint64_t seed = 0;
  std::uint64_t horizon = 0;
  std::uint64_t change_at = 0;
  std::vector<DriftRow> rows;
};

// The error names the option that is out of range.
Result<DriftReport> run_drift(const DriftOptions& options);

// {"scenario": "drift", "reps", "seed", "horizon", "change_at", "rows": [{"discount",
//  "arm_window", "reconverged", "steps", "regret_after", "regret_before"}]}; steps is null when
//  no repetition re-converged.
nlohmann::json to_json(const DriftReport& report);

// Scenario `chapelle-li-fig1`: Figure 1 of Chapelle & Li (2011). K arms, the best with success
// probability 0.5 and the other K - 1 with 0.5 - epsilon, for K in {10, 100} and epsilon in
// {0.02, 0.1}; results revealed at once; plain Thompson sampling. At each checkpoint T the mean
// regret over the repetitions divided by ln T, beside the Lai & Robbins (1985) asymptotic lower
// bound on that ratio, sum over the worse arms of (p* - p_i) / KL(p_i || p*). The bound holds as
// T grows without end; at finite T a chooser may be above it (still learning) or even below it.
// Repetition r of a setting is seeded from (seed, r, setting) alone: results depend only on the
// seed and the options, never on the threads.
inline constexpr std::string_view kChapelleLiFig1 = "chapelle-li-fig1";

struct Fig1Options {
  std::uint64_t reps = 20;
  std::uint64_t seed = 1;
  std::uint64_t horizon = 100'000;  // the paper's is 10^7 (bench/optimize_fig1.sh)
  std::vector<std::size_t> arms = {10, 100};
  std::vector<double> epsilons = {0.02, 0.1};
  // Steps at which to report; empty = 10^3, 10^4, ... up to the horizon, and the horizon.
  std::vector<std::uint64_t> checkpoints = {};
  unsigned threads = 2;
};

struct Fig1Checkpoint {
  std::uint64_t steps = 0;      // T
  double regret = 0.0;          // mean over repetitions
  double standard_error = 0.0;  // of that mean
  double regret_per_log = 0.0;  // regret / ln T
};

struct Fig1Row {
  std::size_t arms = 0;
  double epsilon = 0.0;
  double bound = 0.0;  // Lai-Robbins: lim inf regret / ln T >= bound
  std::vector<Fig1Checkpoint> checkpoints;
};

struct Fig1Report {
  std::uint64_t reps = 0;
  std::uint64_t seed = 0;
  std::uint64_t horizon = 0;
  std::vector<Fig1Row> rows;  // arms-major: (10, 0.02), (10, 0.1), (100, 0.02), (100, 0.1)
};

// KL(Bernoulli(p) || Bernoulli(q)) in nats; p in [0, 1], q in (0, 1).
double bernoulli_kl(double p, double q);
// sum over i of (best - p_i) / KL(p_i || best), over the arms with p_i < best.
double lai_robbins_bound(double best, std::span<const double> probabilities);

// The error names the option that is out of range.
Result<Fig1Report> run_chapelle_li_fig1(const Fig1Options& options);

// One repetition (exposed for tests): the cumulative regret at each checkpoint (ascending, the
// last is the horizon).
std::vector<double> chapelle_li_fig1_run(std::size_t arms, double epsilon,
                                         std::span<const std::uint64_t> checkpoints,
                                         std::uint64_t seed);

// {"scenario": "chapelle-li-fig1", "reps", "seed", "horizon", "rows": [{"arms", "epsilon",
//  "bound", "regret_per_log", "checkpoints": [{"steps", "regret", "standard_error",
//  "regret_per_log"}, ...]}, ...]}; the row's regret_per_log is the one at the horizon.
nlohmann::json to_json(const Fig1Report& report);

}  // namespace reelflow::optimize
