// Simulated audiences for the Thompson-sampling chooser (issue 8, deliverable 5): the proof that
// the bandit in bandit.hpp behaves as the literature says, and (later) `reelflow optimize
// simulate`.
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
// 2 % and 1 %; at `change_at` the best and the worst swap. For each discount (1 = none), the
// steps after the change until the chooser picks the new best arm in at least `share` of its last
// `window` choices ("re-converged"), averaged over the repetitions that got there before the
// horizon, and how many did. Results are revealed at once (delay 1); no floor, no minimum.
inline constexpr std::string_view kDrift = "drift";

struct DriftOptions {
  std::uint64_t reps = 20;
  std::uint64_t seed = 1;
  std::uint64_t horizon = 200'000;
  std::uint64_t change_at = 100'000;
  std::uint64_t window = 1000;
  double share = 0.5;
  std::vector<double> discounts = {1.0, 0.9995, 0.999, 0.995};
  unsigned threads = 2;
};

struct DriftRow {
  double discount = 1.0;
  std::uint64_t reconverged = 0;         // repetitions that got there before the horizon
  std::optional<double> steps;           // mean steps to re-converge over those
  double regret_after = 0.0;             // mean regret from the change to the horizon
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
//  "reconverged", "steps", "regret_after"}]}; steps is null when no repetition re-converged.
nlohmann::json to_json(const DriftReport& report);

}  // namespace reelflow::optimize
