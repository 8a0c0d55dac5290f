// The Gaussian chooser, windows (both kinds), the Chooser front and its rebuilding from stored
// results.
#include "optimize/chooser.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <vector>

#include "optimize/simulate.hpp"

namespace reelflow::optimize {
namespace {

GaussianBandit make_gaussian(const BanditConfig& config) {
  auto bandit = GaussianBandit::create(config);
  EXPECT_TRUE(bandit.has_value()) << (bandit ? "" : bandit.error().message);
  return std::move(bandit).value();
}

ThompsonBandit make_beta(const BanditConfig& config) {
  auto bandit = ThompsonBandit::create(config);
  EXPECT_TRUE(bandit.has_value()) << (bandit ? "" : bandit.error().message);
  return std::move(bandit).value();
}

template <typename Bandit>
std::vector<double> choice_shares(const Bandit& bandit, Rng& rng, std::size_t draws) {
  std::vector<double> shares(bandit.arms(), 0.0);
  for (std::size_t i = 0; i < draws; ++i) shares[bandit.choose(rng)] += 1.0;
  for (double& share : shares) share /= static_cast<double>(draws);
  return shares;
}

// Exact weighted statistics of (reward, weight) pairs, computed the textbook two-pass way.
GaussianArmState weighted_statistics(const std::vector<std::pair<double, double>>& rewards) {
  GaussianArmState state;
  double sum = 0.0;
  for (auto [reward, weight] : rewards) {
    state.weight += weight;
    sum += weight * reward;
  }
  if (state.weight == 0.0) return state;
  state.mean = sum / state.weight;
  for (auto [reward, weight] : rewards) {
    state.m2 += weight * (reward - state.mean) * (reward - state.mean);
  }
  return state;
}

TEST(GaussianBandit, RefusesSettingsOutOfRange) {
  EXPECT_FALSE(GaussianBandit::create({.arms = 0}).has_value());
  EXPECT_FALSE(GaussianBandit::create({.arms = 3, .floor = 0.5}).has_value());
  EXPECT_FALSE(GaussianBandit::create({.arms = 3, .discount = 0.0}).has_value());
  const auto both = GaussianBandit::create({.arms = 3, .discount = 0.99, .window = 100});
  ASSERT_FALSE(both.has_value());
  EXPECT_NE(both.error().message.find("discount"), std::string::npos);
  EXPECT_NE(both.error().message.find("window"), std::string::npos);
  EXPECT_FALSE(ThompsonBandit::create({.arms = 3, .discount = 0.99, .window = 100}).has_value());
  EXPECT_TRUE(GaussianBandit::create({.arms = 3, .window = 100}).has_value());
}

// Views per hour around 100 with a spread of 20: the chooser finds the arm 10 better and its
// posterior mean settles on the truth.
TEST(GaussianBandit, ConvergesToTheBestArm) {
  GaussianBandit bandit = make_gaussian(plain_thompson(3));
  const std::array<double, 3> mean = {100.0, 105.0, 110.0};
  Rng rng(21), audience(22);
  std::size_t best_picks = 0;
  for (int step = 0; step < 6000; ++step) {
    const std::size_t arm = bandit.choose(rng);
    bandit.observe(arm, mean[arm] + 20.0 * audience.normal());
    if (step >= 4000) best_picks += arm == 2;
  }
  EXPECT_GT(best_picks, 1700u);
  EXPECT_NEAR(bandit.posterior_mean(2), 110.0, 1.5);
  EXPECT_GT(bandit.arm(2).observations, bandit.arm(0).observations * 5);
}

// The prior is scaled by the data, so rewards in cents or in dollars give the same choices.
TEST(GaussianBandit, ChoicesDoNotDependOnTheRewardsUnit) {
  const auto run = [](double unit) {
    GaussianBandit bandit = make_gaussian(plain_thompson(4));
    Rng rng(23), audience(24);
    std::vector<std::size_t> choices;
    for (int step = 0; step < 1500; ++step) {
      const std::size_t arm = bandit.choose(rng);
      const double reward = 1.0 + 0.1 * static_cast<double>(arm) + 0.5 * audience.normal();
      bandit.observe(arm, unit * reward);
      choices.push_back(arm);
    }
    return choices;
  };
  EXPECT_EQ(run(1.0), run(1000.0));
  EXPECT_EQ(run(1.0), run(0.001));
}

TEST(GaussianBandit, FloorGivesEveryArmAtLeastItsShare) {
  GaussianBandit bandit = make_gaussian({.arms = 4, .floor = 0.05});
  Rng audience(25);
  for (int i = 0; i < 200; ++i) {
    bandit.observe(0, 10.0 + audience.normal());
    for (std::size_t arm = 1; arm < 4; ++arm) bandit.observe(arm, audience.normal());
  }
  Rng rng(26);
  const std::vector<double> shares = choice_shares(bandit, rng, 200000);
  for (std::size_t arm = 1; arm < 4; ++arm) {
    EXPECT_NEAR(shares[arm], 0.05, 0.003) << "arm " << arm;
    EXPECT_NEAR(bandit.propensity(arm, rng, 2000), 0.05, 1e-9) << "arm " << arm;
  }
  EXPECT_NEAR(shares[0], 0.85, 0.005);

  GaussianBandit no_floor = make_gaussian(plain_thompson(4));
  for (int i = 0; i < 200; ++i) {
    no_floor.observe(0, 10.0 + audience.normal());
    for (std::size_t arm = 1; arm < 4; ++arm) no_floor.observe(arm, audience.normal());
  }
  EXPECT_EQ(choice_shares(no_floor, rng, 20000)[0], 1.0);
}

TEST(GaussianBandit, MinimumDataKeepsChoosingUniformlyAmongArmsBelowIt) {
  GaussianBandit bandit = make_gaussian({.arms = 3, .floor = 0.0, .min_observations = 4});
  for (int i = 0; i < 4; ++i) bandit.observe(0, 1000.0);  // looks excellent, others untried
  Rng rng(27);
  std::vector<double> shares = choice_shares(bandit, rng, 30000);
  EXPECT_EQ(shares[0], 0.0);
  EXPECT_NEAR(shares[1], 0.5, 0.015);
  EXPECT_DOUBLE_EQ(bandit.propensity(2, rng), 0.5);
  for (int i = 0; i < 4; ++i) {
    bandit.observe(1, 1.0 + i);
    bandit.observe(2, 2.0 + i);
  }
  shares = choice_shares(bandit, rng, 30000);
  EXPECT_GT(shares[0], 0.99);
  EXPECT_NEAR(bandit.propensity(0, rng, 30000), shares[0], 0.01);
}

// Discounting multiplies every earlier reward's weight by the discount once per update: the
// statistics equal the exact weighted ones, whichever arm each update came from.
TEST(GaussianBandit, DiscountDecaysTheStatisticsConsistently) {
  constexpr double kDiscount = 0.97;
  GaussianBandit bandit = make_gaussian({.arms = 2, .floor = 0.0, .discount = kDiscount});
  Rng audience(28);
  std::array<std::vector<std::pair<double, double>>, 2> history;  // (reward, weight)
  for (int step = 0; step < 300; ++step) {
    const std::size_t arm = audience.uniform() < 0.3 ? 1 : 0;
    const double reward = 50.0 + 10.0 * audience.normal() + (arm == 1 ? 1e4 : 0.0);
    for (auto& rewards : history) {
      for (auto& [value, weight] : rewards) weight *= kDiscount;
    }
    history[arm].push_back({reward, 1.0});
    bandit.observe(arm, reward);
  }
  for (std::size_t arm = 0; arm < 2; ++arm) {
    const GaussianArmState expected = weighted_statistics(history[arm]);
    EXPECT_NEAR(bandit.arm(arm).weight, expected.weight, 1e-9 * expected.weight);
    EXPECT_NEAR(bandit.arm(arm).mean, expected.mean, 1e-9 * std::abs(expected.mean));
    EXPECT_NEAR(bandit.arm(arm).m2, expected.m2, 1e-8 * expected.m2);
    EXPECT_LT(bandit.arm(arm).weight, 1.0 / (1.0 - kDiscount));
  }
  EXPECT_EQ(bandit.arm(0).observations + bandit.arm(1).observations, 300u);
}

// A window keeps each arm's last W rewards exactly, however many the other arms get.
TEST(GaussianBandit, WindowKeepsEachArmsLastRewards) {
  constexpr std::size_t kWindow = 7;
  GaussianBandit bandit = make_gaussian({.arms = 2, .floor = 0.0, .window = kWindow});
  Rng audience(29);
  std::array<std::deque<double>, 2> last;
  for (int step = 0; step < 500; ++step) {
    const std::size_t arm = audience.uniform() < 0.1 ? 1 : 0;
    const double reward = 1e6 + 3.0 * audience.normal();  // far from 0: rounding would show
    bandit.observe(arm, reward);
    last[arm].push_back(reward);
    if (last[arm].size() > kWindow) last[arm].pop_front();
    for (std::size_t i = 0; i < 2; ++i) {
      std::vector<std::pair<double, double>> rewards;
      for (double value : last[i]) rewards.push_back({value, 1.0});
      const GaussianArmState expected = weighted_statistics(rewards);
      ASSERT_EQ(bandit.arm(i).weight, expected.weight) << "step " << step;
      ASSERT_NEAR(bandit.arm(i).mean, expected.mean, 1e-9) << "step " << step;
      ASSERT_NEAR(bandit.arm(i).m2, expected.m2, 1e-6 * (1.0 + expected.m2)) << "step " << step;
    }
  }
  bandit.reset_arm(1);
  EXPECT_EQ(bandit.arm(1).weight, 0.0);
  EXPECT_EQ(bandit.arm(1).observations, 0u);
}

TEST(ThompsonBandit, WindowKeepsEachArmsLastResults) {
  ThompsonBandit bandit = make_beta({.arms = 2, .floor = 0.0, .window = 10});
  for (int i = 0; i < 10; ++i) bandit.observe(0, true);
  EXPECT_DOUBLE_EQ(bandit.arm(0).successes, 10.0);
  for (int i = 0; i < 4; ++i) bandit.observe(0, false);
  EXPECT_DOUBLE_EQ(bandit.arm(0).successes, 6.0);
  EXPECT_DOUBLE_EQ(bandit.arm(0).failures, 4.0);
  for (int i = 0; i < 50; ++i) bandit.observe(1, false);  // another arm's results evict nothing
  EXPECT_DOUBLE_EQ(bandit.arm(0).successes, 6.0);
  EXPECT_DOUBLE_EQ(bandit.arm(1).failures, 10.0);
  EXPECT_EQ(bandit.arm(1).observations, 50u);

  // A publication's 40 clicks of 100 views fills the window with its rate; the next 5 results
  // push out 5 of its (evenly spread) results.
  bandit.observe(0, 40, 100);
  EXPECT_NEAR(bandit.arm(0).successes, 4.0, 1e-12);
  EXPECT_NEAR(bandit.arm(0).failures, 6.0, 1e-12);
  bandit.observe(0, 5, 5);
  EXPECT_NEAR(bandit.arm(0).successes, 7.0, 1e-12);
  EXPECT_NEAR(bandit.arm(0).failures, 3.0, 1e-12);
  EXPECT_EQ(bandit.arm(0).observations, 119u);

  // Batches (the simulations' delayed feedback) go through the same window.
  const std::array<std::uint64_t, 2> successes = {0, 3}, failures = {20, 0};
  bandit.observe_batch(successes, failures);
  EXPECT_NEAR(bandit.arm(0).successes, 0.0, 1e-12);
  EXPECT_NEAR(bandit.arm(0).failures, 10.0, 1e-12);
  EXPECT_DOUBLE_EQ(bandit.arm(1).successes, 3.0);
  EXPECT_DOUBLE_EQ(bandit.arm(1).failures, 7.0);
}

TEST(ThompsonBandit, BinomialUpdateCountsEveryTrial) {
  ThompsonBandit bandit = make_beta({.arms = 2, .floor = 0.0, .min_observations = 100});
  bandit.observe(0, 7, 99);
  bandit.observe(1, 3, 150);
  EXPECT_DOUBLE_EQ(bandit.arm(0).successes, 7.0);
  EXPECT_DOUBLE_EQ(bandit.arm(0).failures, 92.0);
  Rng rng(30);
  EXPECT_DOUBLE_EQ(bandit.propensity(0, rng), 1.0);  // arm 0 is one result short
  bandit.observe(0, 0, 1);
  EXPECT_GT(bandit.propensity(0, rng), 0.9);  // 7/100 beats 3/150
}

// The best arm changes after a long run: a window follows (its old results leave), keeping
// everything does not. Both kinds of reward.
TEST(Window, FollowsDriftForRatesAndRewards) {
  constexpr int kChange = 20000;
  const auto share_of_new_best = [](RewardModel model, std::uint64_t window) {
    auto chooser =
        Chooser::create({.model = model, .bandit = {.arms = 2, .floor = 0.0, .window = window}});
    EXPECT_TRUE(chooser.has_value());
    Rng rng(31), audience(32);
    std::size_t picks = 0;
    for (int step = 0; step < kChange + 3000; ++step) {
      const std::array<double, 2> rate =
          step < kChange ? std::array{0.6, 0.4} : std::array{0.4, 0.6};
      const std::size_t arm = chooser->choose(rng);
      const double reward = model == RewardModel::bernoulli
                                ? (audience.uniform() < rate[arm] ? 1.0 : 0.0)
                                : rate[arm] + 0.5 * audience.normal();
      EXPECT_TRUE(chooser->observe({.arm = arm, .reward = reward}).has_value());
      if (step >= kChange + 1000) picks += arm == 1;
    }
    return static_cast<double>(picks) / 2000.0;
  };
  EXPECT_GT(share_of_new_best(RewardModel::bernoulli, 300), 0.8);
  EXPECT_LT(share_of_new_best(RewardModel::bernoulli, 0), 0.3);
  EXPECT_GT(share_of_new_best(RewardModel::gaussian, 300), 0.8);
  EXPECT_LT(share_of_new_best(RewardModel::gaussian, 0), 0.3);
}

// The drift scenario with per-arm windows: the window forgets the old best's results and pays far
// less regret after the swap than keeping everything; adding window rows leaves the discount rows
// as they were.
TEST(Window, DriftScenarioComparesWindowsWithDiscounts) {
  DriftOptions options;
  options.reps = 4;
  options.seed = 5;
  options.horizon = 60'000;
  options.change_at = 30'000;
  options.discounts = {1.0};
  const auto without = run_drift(options);
  options.arm_windows = {500};
  const auto with = run_drift(options);
  ASSERT_TRUE(without && with);
  ASSERT_EQ(with->rows.size(), 2u);
  EXPECT_EQ(with->rows[0].regret_after, without->rows[0].regret_after);
  const DriftRow& kept = with->rows[0];
  const DriftRow& windowed = with->rows[1];
  EXPECT_EQ(windowed.arm_window, 500u);
  EXPECT_EQ(windowed.discount, 1.0);
  EXPECT_LT(windowed.regret_after, 0.6 * kept.regret_after);
  EXPECT_GT(windowed.regret_before, kept.regret_before);  // forgetting costs while nothing changes
  EXPECT_EQ(to_json(*with)["rows"][1]["arm_window"], 500);
  options.arm_windows = {0};
  EXPECT_FALSE(run_drift(options).has_value());
}

TEST(Chooser, NamesItsModels) {
  EXPECT_EQ(name(RewardModel::bernoulli), "bernoulli");
  EXPECT_EQ(name(RewardModel::gaussian), "gaussian");
  EXPECT_EQ(parse_reward_model("gaussian"), RewardModel::gaussian);
  EXPECT_EQ(parse_reward_model("bernoulli"), RewardModel::bernoulli);
  EXPECT_FALSE(parse_reward_model("normal").has_value());
}

TEST(Chooser, RefusesBadObservationsAndLeavesItselfUnchanged) {
  auto rates = Chooser::create({.model = RewardModel::bernoulli, .bandit = {.arms = 2}});
  ASSERT_TRUE(rates.has_value());
  const auto expect_error = [](Chooser& chooser, const Observation& observation,
                               std::string_view words) {
    const auto observed = chooser.observe(observation);
    ASSERT_FALSE(observed.has_value());
    EXPECT_NE(observed.error().message.find(words), std::string::npos) << observed.error().message;
  };
  expect_error(*rates, {.arm = 2, .reward = 1.0}, "arm 2 is out of range (2 arms)");
  expect_error(*rates, {.arm = 0, .reward = 0.5}, "whole number from 0 to trials = 1 (got 0.5)");
  expect_error(*rates, {.arm = 0, .reward = 3.0, .trials = 2}, "(got 3)");
  expect_error(*rates, {.arm = 0, .reward = -1.0}, "(got -1)");
  expect_error(*rates, {.arm = 0, .reward = 0.0, .trials = 0}, "trials must be at least 1");
  EXPECT_EQ(rates->observations(0), 0u);
  EXPECT_TRUE(rates->observe({.arm = 1, .reward = 30.0, .trials = 1000}).has_value());
  EXPECT_EQ(rates->observations(1), 1000u);
  EXPECT_NEAR(rates->posterior_mean(1), 31.0 / 1002.0, 1e-12);

  auto rewards = Chooser::create({.model = RewardModel::gaussian, .bandit = {.arms = 2}});
  ASSERT_TRUE(rewards.has_value());
  expect_error(*rewards, {.arm = 0, .reward = NAN}, "not a finite number");
  expect_error(*rewards, {.arm = 0, .reward = INFINITY}, "not a finite number");
  expect_error(*rewards, {.arm = 0, .reward = 2.0, .trials = 3}, "trials must be 1");
  EXPECT_EQ(rewards->observations(0), 0u);
  EXPECT_TRUE(rewards->observe({.arm = 0, .reward = -12.5}).has_value());
  EXPECT_EQ(rewards->gaussian()->arm(0).mean, -12.5);
  EXPECT_EQ(rewards->bernoulli(), nullptr);

  EXPECT_FALSE(Chooser::create({.model = RewardModel::gaussian, .bandit = {.arms = 0}}));
}

// Results as the database returns them: out of order (delayed rewards), several at the same
// time. rebuild() must equal feeding them one by one in time order, for every kind of chooser.
TEST(Chooser, RebuildEqualsIncrementalUpdates) {
  Rng maker(33);
  std::vector<Observation> rows;
  for (int i = 0; i < 400; ++i) {
    const std::size_t arm = maker.below(3);
    const auto time = static_cast<std::int64_t>(maker.below(150));  // many equal times
    rows.push_back({.arm = arm, .reward = 0.0, .trials = 1, .time = time});
  }
  const std::vector<ChooserConfig> configs = {
      {.model = RewardModel::bernoulli, .bandit = {.arms = 3}},
      {.model = RewardModel::bernoulli, .bandit = {.arms = 3, .discount = 0.99}},
      {.model = RewardModel::bernoulli, .bandit = {.arms = 3, .window = 25}},
      {.model = RewardModel::gaussian, .bandit = {.arms = 3, .min_observations = 3}},
      {.model = RewardModel::gaussian, .bandit = {.arms = 3, .discount = 0.98}},
      {.model = RewardModel::gaussian, .bandit = {.arms = 3, .window = 20}},
  };
  for (const ChooserConfig& config : configs) {
    SCOPED_TRACE(std::string(name(config.model)) + " discount " +
                 std::to_string(config.bandit.discount) + " window " +
                 std::to_string(config.bandit.window));
    for (Observation& row : rows) {
      if (config.model == RewardModel::bernoulli) {
        row.trials = 1 + maker.below(20);
        row.reward = static_cast<double>(maker.below(row.trials + 1));
      } else {
        row.trials = 1;
        row.reward = 100.0 * static_cast<double>(row.arm) + 30.0 * maker.normal();
      }
    }
    const auto rebuilt = Chooser::rebuild(config, rows);
    ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().message;

    std::vector<Observation> sorted = rows;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.time < b.time; });
    auto live = Chooser::create(config);
    ASSERT_TRUE(live.has_value());
    for (const Observation& row : sorted) ASSERT_TRUE(live->observe(row).has_value());

    for (std::size_t arm = 0; arm < 3; ++arm) {
      EXPECT_EQ(rebuilt->observations(arm), live->observations(arm));
      EXPECT_EQ(rebuilt->posterior_mean(arm), live->posterior_mean(arm));
    }
    Rng a(34), b(34);
    for (int i = 0; i < 200; ++i) ASSERT_EQ(rebuilt->choose(a), live->choose(b));
    EXPECT_EQ(to_json(*rebuilt->summary()), to_json(*live->summary()));

    // Feeding in the given (unsorted) order would be a different chooser: the order matters
    // whenever results are forgotten.
    if (config.bandit.discount != 1.0 || config.bandit.window != 0) {
      auto unsorted = Chooser::create(config);
      for (const Observation& row : rows) ASSERT_TRUE(unsorted->observe(row).has_value());
      bool differs = false;
      for (std::size_t arm = 0; arm < 3; ++arm) {
        differs |= unsorted->posterior_mean(arm) != live->posterior_mean(arm);
      }
      EXPECT_TRUE(differs);
    }
  }
}

TEST(Chooser, RebuildNamesTheFirstBadRow) {
  const std::vector<Observation> rows = {{.arm = 0, .reward = 1.0, .time = 5},
                                         {.arm = 0, .reward = 0.0, .time = 9},
                                         {.arm = 4, .reward = 1.0, .time = 7}};
  const auto rebuilt =
      Chooser::rebuild({.model = RewardModel::bernoulli, .bandit = {.arms = 2}}, rows);
  ASSERT_FALSE(rebuilt.has_value());
  EXPECT_EQ(rebuilt.error().message, "observation 2 (time 7): arm 4 is out of range (2 arms)");
  const auto bad_setting =
      Chooser::rebuild({.model = RewardModel::bernoulli, .bandit = {.arms = 2, .floor = 0.9}}, {});
  ASSERT_FALSE(bad_setting.has_value());
  EXPECT_NE(bad_setting.error().message.find("floor"), std::string::npos);
}

}  // namespace
}  // namespace reelflow::optimize
