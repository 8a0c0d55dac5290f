#include "optimize/simulate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <thread>
#include <tuple>

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

struct DriftResult {
  std::optional<std::uint64_t> reconverged;  // steps after the change
  double regret_after = 0.0;
  double regret_before = 0.0;
};

// One repetition of `drift` with one discount or one per-arm window.
DriftResult drift_run(const DriftOptions& options, double discount, std::uint64_t arm_window,
                      std::uint64_t seed) {
  std::array<double, 5> rates = {0.05, 0.04, 0.03, 0.02, 0.01};
  auto bandit = ThompsonBandit::create(BanditConfig{.arms = rates.size(),
                                                    .floor = 0.0,
                                                    .min_observations = 0,
                                                    .discount = discount,
                                                    .window = arm_window});
  Rng rng(seed);
  std::vector<std::uint8_t> picked_best(options.window, 0);  // a ring of the last choices
  std::uint64_t best_in_window = 0;
  std::optional<std::uint64_t> reconverged;
  double regret_after = 0.0, regret_before = 0.0;
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
    if (t < options.change_at) {
      regret_before += rates[best] - rates[arm];
      continue;
    }
    regret_after += rates[best] - rates[arm];
    const std::uint64_t since = t - options.change_at;
    std::uint8_t& slot = picked_best[since % options.window];
    best_in_window -= slot;
    slot = arm == best ? 1 : 0;
    best_in_window += slot;
    if (!reconverged && since + 1 >= options.window &&
        static_cast<double>(best_in_window) >=
            options.share * static_cast<double>(options.window)) {
      reconverged = since + 1;
    }
  }
  return {reconverged, regret_after, regret_before};
}

}  // namespace

Result<DriftReport> run_drift(const DriftOptions& options) {
  if (options.reps < 1) return fail("drift: reps must be at least 1 (got 0)");
  if (options.change_at >= options.horizon)
    return fail("drift: change_at must be before the horizon");
  if (options.window < 1 || options.window > options.horizon - options.change_at) {
    return fail("drift: window must be from 1 to the steps after the change");
  }
  if (!(options.share > 0.0 && options.share <= 1.0)) return fail("drift: share must be in (0, 1]");
  if (options.threads < 1) return fail("drift: threads must be at least 1 (got 0)");
  for (double discount : options.discounts) {
    if (!(discount > 0.0 && discount <= 1.0)) return fail("drift: a discount must be in (0, 1]");
  }
  for (std::uint64_t arm_window : options.arm_windows) {
    if (arm_window < 1) return fail("drift: an arm window must be at least 1 result (got 0)");
  }
  // Settings 0 .. discounts - 1 are the discounts, the rest the windows.
  const std::size_t settings = options.discounts.size() + options.arm_windows.size();
  const auto setting_of = [&](std::size_t d) {
    return d < options.discounts.size()
               ? std::pair<double, std::uint64_t>{options.discounts[d], 0}
               : std::pair<double, std::uint64_t>{
                     1.0, options.arm_windows[d - options.discounts.size()]};
  };
  const std::size_t tasks = settings * options.reps;
  std::vector<DriftResult> results(tasks);
  std::atomic<std::size_t> next_task{0};
  const auto work = [&] {
    for (std::size_t task = next_task++; task < tasks; task = next_task++) {
      const std::size_t d = task / options.reps;
      const std::uint64_t rep = task % options.reps;
      const auto [discount, arm_window] = setting_of(d);
      results[task] = drift_run(options, discount, arm_window,
                                derive_seed(derive_seed(options.seed, rep), 1 + d));
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < std::min<std::size_t>(options.threads, tasks); ++i) {
    threads.emplace_back(work);
  }
  for (std::thread& thread : threads) thread.join();

  DriftReport report{.reps = options.reps,
                     .seed = options.seed,
                     .horizon = options.horizon,
                     .change_at = options.change_at,
                     .rows = {}};
  for (std::size_t d = 0; d < settings; ++d) {
    DriftRow row;
    std::tie(row.discount, row.arm_window) = setting_of(d);
    double steps = 0.0, regret = 0.0, regret_before = 0.0;
    for (std::uint64_t rep = 0; rep < options.reps; ++rep) {
      const DriftResult& result = results[d * options.reps + rep];
      regret += result.regret_after;
      regret_before += result.regret_before;
      if (result.reconverged) {
        ++row.reconverged;
        steps += static_cast<double>(*result.reconverged);
      }
    }
    if (row.reconverged > 0) row.steps = steps / static_cast<double>(row.reconverged);
    row.regret_after = regret / static_cast<double>(options.reps);
    row.regret_before = regret_before / static_cast<double>(options.reps);
    report.rows.push_back(row);
  }
  return report;
}

nlohmann::json to_json(const DriftReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const DriftRow& row : report.rows) {
    rows.push_back({{"discount", row.discount},
                    {"arm_window", row.arm_window},
                    {"reconverged", row.reconverged},
                    {"steps", row.steps ? nlohmann::json(*row.steps) : nlohmann::json()},
                    {"regret_after", row.regret_after},
                    {"regret_before", row.regret_before}});
  }
  return {{"scenario", kDrift},        {"reps", report.reps},           {"seed", report.seed},
          {"horizon", report.horizon}, {"change_at", report.change_at}, {"rows", std::move(rows)}};
}

double bernoulli_kl(double p, double q) {
  const auto term = [](double x, double y) { return x > 0.0 ? x * std::log(x / y) : 0.0; };
  return term(p, q) + term(1.0 - p, 1.0 - q);
}

double lai_robbins_bound(double best, std::span<const double> probabilities) {
  double bound = 0.0;
  for (double p : probabilities) {
    if (p < best) bound += (best - p) / bernoulli_kl(p, best);
  }
  return bound;
}

namespace {

constexpr double kFig1Best = 0.5;

// The setting's share of a repetition's seed: the same setting gets the same streams whatever
// else the options list.
std::uint64_t fig1_setting_key(std::size_t arms, double epsilon) {
  return static_cast<std::uint64_t>(arms) * 1'000'003ULL +
         static_cast<std::uint64_t>(std::llround(epsilon * 1e6));
}

std::vector<std::uint64_t> default_checkpoints(std::uint64_t horizon) {
  std::vector<std::uint64_t> checkpoints;
  for (std::uint64_t t = 1000; t < horizon; t *= 10) checkpoints.push_back(t);
  checkpoints.push_back(horizon);
  return checkpoints;
}

}  // namespace

std::vector<double> chapelle_li_fig1_run(std::size_t arms, double epsilon,
                                         std::span<const std::uint64_t> checkpoints,
                                         std::uint64_t seed) {
  std::vector<double> regrets;
  regrets.reserve(checkpoints.size());
  if (checkpoints.empty() || arms < 1) return regrets;
  Rng chooser(seed);
  Rng audience(derive_seed(seed, 1));
  // Arm 0 is the best; Thompson sampling treats the arms symmetrically, so where it sits does
  // not matter (ties between draws have probability 0).
  std::vector<double> probability(arms, kFig1Best - epsilon);
  probability[0] = kFig1Best;
  ThompsonBandit bandit = ThompsonBandit::create(plain_thompson(arms)).value();
  std::uint64_t worse_pulls = 0;
  std::size_t next = 0;
  for (std::uint64_t step = 1; step <= checkpoints.back(); ++step) {
    const std::size_t arm = bandit.choose(chooser);
    worse_pulls += arm != 0;
    bandit.observe(arm, audience.uniform() < probability[arm]);
    while (next < checkpoints.size() && checkpoints[next] == step) {
      regrets.push_back(epsilon * static_cast<double>(worse_pulls));
      ++next;
    }
  }
  return regrets;
}

Result<Fig1Report> run_chapelle_li_fig1(const Fig1Options& options) {
  const std::string name(kChapelleLiFig1);
  if (options.reps < 1) return fail(name + ": reps must be at least 1 (got 0)");
  if (options.horizon < 2) {
    return fail(name + ": horizon must be at least 2 steps (got " +
                std::to_string(options.horizon) + ")");
  }
  if (options.threads < 1) return fail(name + ": threads must be at least 1 (got 0)");
  if (options.arms.empty() || options.epsilons.empty()) {
    return fail(name + ": no settings (arms and epsilons must not be empty)");
  }
  for (std::size_t arms : options.arms) {
    if (arms < 2)
      return fail(name + ": arms must be at least 2 (got " + std::to_string(arms) + ")");
  }
  for (double epsilon : options.epsilons) {
    if (!(epsilon > 0.0 && epsilon < kFig1Best)) {
      return fail(name + ": epsilon must be in (0, 0.5) (got " + std::to_string(epsilon) + ")");
    }
  }
  std::vector<std::uint64_t> checkpoints =
      options.checkpoints.empty() ? default_checkpoints(options.horizon) : options.checkpoints;
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    if (checkpoints[i] < 2 || checkpoints[i] > options.horizon ||
        (i > 0 && checkpoints[i] <= checkpoints[i - 1])) {
      return fail(name + ": checkpoints must rise strictly from 2 to the horizon (got " +
                  std::to_string(checkpoints[i]) + ")");
    }
  }
  if (checkpoints.back() != options.horizon) checkpoints.push_back(options.horizon);

  struct Setting {
    std::size_t arms;
    double epsilon;
  };
  std::vector<Setting> settings;
  for (std::size_t arms : options.arms) {
    for (double epsilon : options.epsilons) settings.push_back({arms, epsilon});
  }
  // One task per (setting, repetition), the costly settings (most arms) first so that the
  // threads finish together; regrets[task] is written by exactly one thread.
  const std::size_t tasks = settings.size() * options.reps;
  std::vector<std::size_t> order(tasks);
  for (std::size_t task = 0; task < tasks; ++task) order[task] = task;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t left, std::size_t right) {
    return settings[left / options.reps].arms > settings[right / options.reps].arms;
  });
  std::vector<std::vector<double>> regrets(tasks);
  std::atomic<std::size_t> next_task{0};
  const auto work = [&] {
    for (std::size_t slot = next_task++; slot < tasks; slot = next_task++) {
      const std::size_t task = order[slot];
      const Setting& setting = settings[task / options.reps];
      const std::uint64_t rep = task % options.reps;
      const std::uint64_t seed = derive_seed(derive_seed(options.seed, rep),
                                             fig1_setting_key(setting.arms, setting.epsilon));
      regrets[task] = chapelle_li_fig1_run(setting.arms, setting.epsilon, checkpoints, seed);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < std::min<std::size_t>(options.threads, tasks); ++i) {
    threads.emplace_back(work);
  }
  for (std::thread& thread : threads) thread.join();

  Fig1Report report{
      .reps = options.reps, .seed = options.seed, .horizon = options.horizon, .rows = {}};
  const auto reps = static_cast<double>(options.reps);
  for (std::size_t s = 0; s < settings.size(); ++s) {
    Fig1Row row;
    row.arms = settings[s].arms;
    row.epsilon = settings[s].epsilon;
    std::vector<double> probabilities(row.arms, kFig1Best - row.epsilon);
    probabilities[0] = kFig1Best;
    row.bound = lai_robbins_bound(kFig1Best, probabilities);
    for (std::size_t c = 0; c < checkpoints.size(); ++c) {
      double sum = 0.0, sum_squares = 0.0;
      for (std::uint64_t rep = 0; rep < options.reps; ++rep) {
        const double regret = regrets[s * options.reps + rep][c];
        sum += regret;
        sum_squares += regret * regret;
      }
      Fig1Checkpoint point;
      point.steps = checkpoints[c];
      point.regret = sum / reps;
      if (options.reps > 1) {
        const double variance = std::max(0.0, (sum_squares - sum * point.regret) / (reps - 1.0));
        point.standard_error = std::sqrt(variance / reps);
      }
      point.regret_per_log = point.regret / std::log(static_cast<double>(point.steps));
      row.checkpoints.push_back(point);
    }
    report.rows.push_back(std::move(row));
  }
  return report;
}

nlohmann::json to_json(const Fig1Report& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Fig1Row& row : report.rows) {
    nlohmann::json checkpoints = nlohmann::json::array();
    for (const Fig1Checkpoint& point : row.checkpoints) {
      checkpoints.push_back({{"steps", point.steps},
                             {"regret", point.regret},
                             {"standard_error", point.standard_error},
                             {"regret_per_log", point.regret_per_log}});
    }
    rows.push_back(
        {{"arms", row.arms},
         {"epsilon", row.epsilon},
         {"bound", row.bound},
         {"regret_per_log", row.checkpoints.empty() ? 0.0 : row.checkpoints.back().regret_per_log},
         {"checkpoints", std::move(checkpoints)}});
  }
  return {{"scenario", kChapelleLiFig1},
          {"reps", report.reps},
          {"seed", report.seed},
          {"horizon", report.horizon},
          {"rows", std::move(rows)}};
}

}  // namespace reelflow::optimize
