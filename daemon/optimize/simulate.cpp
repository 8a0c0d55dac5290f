#include "optimize/simulate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <thread>

#include "optimize/bandit.hpp"

namespace reelflow::optimize {

namespace {

constexpr std::size_t kArms = 10;
constexpr double kReplaceProbability = 1e-3;
constexpr double kPriorShape = 4.0;  // arms' probabilities ~ Beta(4, 4)
constexpr std::uint64_t kPaperHorizon = 1'000'000;

struct PaperFigure {
  std::uint64_t delay;
  double regret;
};
// Chapelle & Li (2011), Table 1, the Thompson-sampling row.
constexpr std::array<PaperFigure, 7> kPaperTable1 = {
    {{1, 9105}, {3, 9199}, {10, 9049}, {32, 9451}, {100, 11550}, {316, 21594}, {1000, 59256}}};

std::size_t index_of_best(const std::array<double, kArms>& probabilities) {
  return static_cast<std::size_t>(std::max_element(probabilities.begin(), probabilities.end()) -
                                  probabilities.begin());
}

}  // namespace

std::optional<double> chapelle_li_table1_regret(std::uint64_t delay) {
  for (const PaperFigure& figure : kPaperTable1) {
    if (figure.delay == delay) return figure.regret;
  }
  return std::nullopt;
}

double chapelle_li_table1_run(std::uint64_t delay, std::uint64_t horizon,
                              std::uint64_t environment_seed, std::uint64_t chooser_seed) {
  Rng environment(environment_seed);
  Rng chooser(chooser_seed);
  Rng audience(derive_seed(chooser_seed, 1));
  const GammaSampler prior_gamma(kPriorShape);
  const auto draw_arm = [&] {
    const double x = prior_gamma(environment);
    const double y = prior_gamma(environment);
    return x / (x + y);
  };

  std::array<double, kArms> probability{};
  for (double& p : probability) p = draw_arm();
  std::size_t best = index_of_best(probability);
  // Always valid: plain Thompson sampling has no settings to refuse.
  ThompsonBandit bandit = ThompsonBandit::create(plain_thompson(kArms)).value();
  std::array<std::uint64_t, kArms> pending_successes{};
  std::array<std::uint64_t, kArms> pending_failures{};
  std::array<bool, kArms> pending_reset{};

  double regret = 0.0;
  for (std::uint64_t step = 0; step < horizon; ++step) {
    if (environment.uniform() < kReplaceProbability) {
      const std::size_t replaced = environment.below(kArms);
      probability[replaced] = draw_arm();
      best = index_of_best(probability);
      // Like the results, the news that an arm changed reaches the posterior at the batch end.
      pending_reset[replaced] = true;
      pending_successes[replaced] = 0;
      pending_failures[replaced] = 0;
    }
    const std::size_t arm = bandit.choose(chooser);
    regret += probability[best] - probability[arm];
    if (audience.uniform() < probability[arm]) {
      ++pending_successes[arm];
    } else {
      ++pending_failures[arm];
    }
    if ((step + 1) % delay == 0) {
      for (std::size_t i = 0; i < kArms; ++i) {
        if (pending_reset[i]) bandit.reset_arm(i);
      }
      pending_reset.fill(false);
      bandit.observe_batch(pending_successes, pending_failures);
      pending_successes.fill(0);
      pending_failures.fill(0);
    }
  }
  return regret;
}

Result<SimulationReport> run_chapelle_li_table1(const Table1Options& options) {
  if (options.reps < 1) return fail("chapelle-li-table1: reps must be at least 1 (got 0)");
  if (options.horizon < 1) return fail("chapelle-li-table1: horizon must be at least 1 (got 0)");
  if (options.threads < 1) return fail("chapelle-li-table1: threads must be at least 1 (got 0)");
  if (options.delays.empty()) return fail("chapelle-li-table1: no delays given");
  for (std::uint64_t delay : options.delays) {
    if (delay < 1) return fail("chapelle-li-table1: a delay must be at least 1 step (got 0)");
  }

  // One task per (delay, repetition); regrets[task] is written by exactly one thread.
  const std::size_t tasks = options.delays.size() * options.reps;
  std::vector<double> regrets(tasks, 0.0);
  std::atomic<std::size_t> next_task{0};
  const auto work = [&] {
    for (std::size_t task = next_task++; task < tasks; task = next_task++) {
      const std::size_t delay_index = task / options.reps;
      const std::uint64_t rep = task % options.reps;
      const std::uint64_t environment_seed = derive_seed(options.seed, rep);
      const std::uint64_t chooser_seed =
          derive_seed(environment_seed, 1 + options.delays[delay_index]);
      regrets[task] = chapelle_li_table1_run(options.delays[delay_index], options.horizon,
                                             environment_seed, chooser_seed);
    }
  };
  const unsigned thread_count =
      static_cast<unsigned>(std::min<std::size_t>(options.threads, tasks));
  std::vector<std::thread> threads;
  threads.reserve(thread_count);
  for (unsigned i = 0; i < thread_count; ++i) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();

  SimulationReport report{.scenario = std::string(kChapelleLiTable1),
                          .reps = options.reps,
                          .seed = options.seed,
                          .horizon = options.horizon,
                          .rows = {}};
  const auto reps = static_cast<double>(options.reps);
  for (std::size_t d = 0; d < options.delays.size(); ++d) {
    double sum = 0.0, sum_squares = 0.0;
    for (std::uint64_t rep = 0; rep < options.reps; ++rep) {
      const double regret = regrets[d * options.reps + rep];
      sum += regret;
      sum_squares += regret * regret;
    }
    SimulationRow row;
    row.delay = options.delays[d];
    row.regret = sum / reps;
    if (options.reps > 1) {
      const double variance = std::max(0.0, (sum_squares - sum * row.regret) / (reps - 1.0));
      row.standard_error = std::sqrt(variance / reps);
    }
    if (options.horizon == kPaperHorizon) row.paper = chapelle_li_table1_regret(row.delay);
    if (row.paper) row.ratio = row.regret / *row.paper;
    report.rows.push_back(row);
  }
  return report;
}

nlohmann::json to_json(const SimulationReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SimulationRow& row : report.rows) {
    rows.push_back({{"delay", row.delay},
                    {"regret", row.regret},
                    {"standard_error", row.standard_error},
                    {"paper", row.paper ? nlohmann::json(*row.paper) : nlohmann::json()},
                    {"ratio", row.ratio ? nlohmann::json(*row.ratio) : nlohmann::json()}});
  }
  return {{"scenario", report.scenario},
          {"reps", report.reps},
          {"seed", report.seed},
          {"horizon", report.horizon},
          {"rows", std::move(rows)}};
}

namespace {

// One repetition of `drift` with one discount: {steps to re-converge (or nothing), regret after
// the change}.
std::pair<std::optional<std::uint64_t>, double> drift_run(const DriftOptions& options,
                                                          double discount, std::uint64_t seed) {
  std::array<double, 5> rates = {0.05, 0.04, 0.03, 0.02, 0.01};
  auto bandit = ThompsonBandit::create(
      BanditConfig{.arms = rates.size(), .floor = 0.0, .min_observations = 0, .discount = discount});
  Rng rng(seed);
  std::vector<std::uint8_t> picked_best(options.window, 0);  // a ring of the last choices
  std::uint64_t best_in_window = 0;
  std::optional<std::uint64_t> reconverged;
  double regret_after = 0.0;
  std::size_t best = 0;
  for (std::uint64_t t = 0; t < options.horizon; ++t) {
    if (t == options.change_at) {
      std::swap(rates.front(), rates.back());
      best = rates.size() - 1;
      std::fill(picked_best.begin(), picked_best.end(), 0);
      best_in_window = 0;
    }
    const std::size_t arm = bandit->choose(rng);
    bandit->observe(arm, rng.uniform() < rates[arm]);
    if (t < options.change_at) continue;
    regret_after += rates[best] - rates[arm];
    const std::uint64_t since = t - options.change_at;
    std::uint8_t& slot = picked_best[since % options.window];
    best_in_window -= slot;
    slot = arm == best ? 1 : 0;
    best_in_window += slot;
    if (!reconverged && since + 1 >= options.window &&
        static_cast<double>(best_in_window) >= options.share * static_cast<double>(options.window)) {
      reconverged = since + 1;
    }
  }
  return {reconverged, regret_after};
}

}  // namespace

Result<DriftReport> run_drift(const DriftOptions& options) {
  if (options.reps < 1) return fail("drift: reps must be at least 1 (got 0)");
  if (options.change_at >= options.horizon) return fail("drift: change_at must be before the horizon");
  if (options.window < 1 || options.window > options.horizon - options.change_at) {
    return fail("drift: window must be from 1 to the steps after the change");
  }
  if (!(options.share > 0.0 && options.share <= 1.0)) return fail("drift: share must be in (0, 1]");
  if (options.threads < 1) return fail("drift: threads must be at least 1 (got 0)");
  for (double discount : options.discounts) {
    if (!(discount > 0.0 && discount <= 1.0)) return fail("drift: a discount must be in (0, 1]");
  }
  const std::size_t tasks = options.discounts.size() * options.reps;
  std::vector<std::pair<std::optional<std::uint64_t>, double>> results(tasks);
  std::atomic<std::size_t> next_task{0};
  const auto work = [&] {
    for (std::size_t task = next_task++; task < tasks; task = next_task++) {
      const std::size_t d = task / options.reps;
      const std::uint64_t rep = task % options.reps;
      results[task] = drift_run(options, options.discounts[d],
                                derive_seed(derive_seed(options.seed, rep), 1 + d));
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < std::min<std::size_t>(options.threads, tasks); ++i) {
    threads.emplace_back(work);
  }
  for (std::thread& thread : threads) thread.join();

  DriftReport report{.reps = options.reps, .seed = options.seed, .horizon = options.horizon,
                     .change_at = options.change_at, .rows = {}};
  for (std::size_t d = 0; d < options.discounts.size(); ++d) {
    DriftRow row;
    row.discount = options.discounts[d];
    double steps = 0.0, regret = 0.0;
    for (std::uint64_t rep = 0; rep < options.reps; ++rep) {
      const auto& [reconverged, regret_after] = results[d * options.reps + rep];
      regret += regret_after;
      if (reconverged) {
        ++row.reconverged;
        steps += static_cast<double>(*reconverged);
      }
    }
    if (row.reconverged > 0) row.steps = steps / static_cast<double>(row.reconverged);
    row.regret_after = regret / static_cast<double>(options.reps);
    report.rows.push_back(row);
  }
  return report;
}

nlohmann::json to_json(const DriftReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const DriftRow& row : report.rows) {
    rows.push_back({{"discount", row.discount},
                    {"reconverged", row.reconverged},
                    {"steps", row.steps ? nlohmann::json(*row.steps) : nlohmann::json()},
                    {"regret_after", row.regret_after}});
  }
  return {{"scenario", kDrift},     {"reps", report.reps},           {"seed", report.seed},
          {"horizon", report.horizon}, {"change_at", report.change_at}, {"rows", std::move(rows)}};
}

}  // namespace reelflow::optimize
