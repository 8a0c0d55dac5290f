#include "optimize/bandit.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "optimize/simulate.hpp"

namespace reelflow::optimize {
namespace {

struct Moments {
  double mean = 0.0;
  double variance = 0.0;
};

template <typename Draw>
Moments moments_of(std::size_t count, Draw draw) {
  double sum = 0.0, sum_squares = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const double x = draw();
    sum += x;
    sum_squares += x * x;
  }
  const double mean = sum / static_cast<double>(count);
  return {mean, sum_squares / static_cast<double>(count) - mean * mean};
}

ThompsonBandit make_bandit(const BanditConfig& config) {
  auto bandit = ThompsonBandit::create(config);
  EXPECT_TRUE(bandit.has_value()) << (bandit ? "" : bandit.error().message);
  return std::move(bandit).value();
}

// Feeds `count` results with success rate exactly `rate` (deterministic pattern) to `arm`.
void feed(ThompsonBandit& bandit, std::size_t arm, std::size_t count, double rate) {
  double credit = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    credit += rate;
    const bool success = credit >= 1.0;
    if (success) credit -= 1.0;
    bandit.observe(arm, success);
  }
}

std::vector<double> choice_shares(const ThompsonBandit& bandit, Rng& rng, std::size_t draws) {
  std::vector<double> shares(bandit.arms(), 0.0);
  for (std::size_t i = 0; i < draws; ++i) shares[bandit.choose(rng)] += 1.0;
  for (double& share : shares) share /= static_cast<double>(draws);
  return shares;
}

TEST(Rng, SameSeedSameStreamAndSeedsDiffer) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
  EXPECT_NE(derive_seed(1, 0), derive_seed(1, 1));
  EXPECT_NE(derive_seed(1, 0), derive_seed(2, 0));
}

TEST(Rng, UniformAndNormalMoments) {
  Rng rng(7);
  const Moments uniform = moments_of(400000, [&] { return rng.uniform(); });
  EXPECT_NEAR(uniform.mean, 0.5, 0.003);
  EXPECT_NEAR(uniform.variance, 1.0 / 12.0, 0.001);
  const Moments normal = moments_of(400000, [&] { return rng.normal(); });
  EXPECT_NEAR(normal.mean, 0.0, 0.006);
  EXPECT_NEAR(normal.variance, 1.0, 0.01);
  std::array<int, 7> counts{};
  for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
  for (int count : counts) EXPECT_NEAR(count, 10000, 400);
}

TEST(Samplers, GammaMeanAndVarianceEqualTheShape) {
  Rng rng(11);
  for (double shape : {0.3, 1.0, 4.0, 37.5}) {
    const GammaSampler gamma(shape);
    const Moments m = moments_of(300000, [&] { return gamma(rng); });
    // Standard error of the mean is sqrt(shape / n); of the variance about shape * sqrt(2 / n)
    // and more for small shapes (heavy right tail relative to the mean).
    EXPECT_NEAR(m.mean, shape, 6.0 * std::sqrt(shape / 300000.0)) << "shape " << shape;
    EXPECT_NEAR(m.variance, shape, 0.03 * shape + 0.01) << "shape " << shape;
    EXPECT_NEAR(sample_gamma(shape, rng), shape, 20.0 * std::sqrt(shape) + 10.0);
  }
}

TEST(Samplers, BetaMeanAndVarianceMatchTheFormulas) {
  Rng rng(12);
  for (auto [a, b] : {std::pair{1.0, 1.0}, {4.0, 4.0}, {2.0, 30.0}, {0.5, 0.5}, {300.0, 700.0}}) {
    const Moments m = moments_of(300000, [&] { return sample_beta(a, b, rng); });
    const double mean = a / (a + b);
    const double variance = a * b / ((a + b) * (a + b) * (a + b + 1.0));
    EXPECT_NEAR(m.mean, mean, 6.0 * std::sqrt(variance / 300000.0)) << a << "," << b;
    EXPECT_NEAR(m.variance, variance, 0.03 * variance) << a << "," << b;
  }
}

TEST(Bandit, RefusesSettingsOutOfRange) {
  EXPECT_FALSE(ThompsonBandit::create({.arms = 0}).has_value());
  const auto floor_too_high = ThompsonBandit::create({.arms = 4, .floor = 0.3});
  ASSERT_FALSE(floor_too_high.has_value());
  EXPECT_NE(floor_too_high.error().message.find("floor"), std::string::npos);
  EXPECT_FALSE(ThompsonBandit::create({.arms = 4, .floor = -0.01}).has_value());
  EXPECT_FALSE(ThompsonBandit::create({.arms = 2, .discount = 0.0}).has_value());
  EXPECT_FALSE(ThompsonBandit::create({.arms = 2, .discount = 1.5}).has_value());
  EXPECT_TRUE(ThompsonBandit::create({.arms = 4, .floor = 0.25}).has_value());
  EXPECT_TRUE(ThompsonBandit::create({.arms = 2}).has_value());  // the 1% default floor
}

TEST(Bandit, ConvergesToTheBestArm) {
  ThompsonBandit bandit = make_bandit(plain_thompson(3));
  const std::array<double, 3> rate = {0.2, 0.5, 0.6};
  Rng rng(3), audience(4);
  std::size_t best_picks = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::size_t arm = bandit.choose(rng);
    bandit.observe(arm, audience.uniform() < rate[arm]);
    if (step >= 15000) best_picks += arm == 2;
  }
  EXPECT_GT(best_picks, 4500u);
  EXPECT_NEAR(bandit.posterior_mean(2), 0.6, 0.02);
}

TEST(Bandit, FloorGivesEveryArmAtLeastItsShare) {
  ThompsonBandit bandit = make_bandit({.arms = 4, .floor = 0.05});
  feed(bandit, 0, 2000, 0.9);
  for (std::size_t arm = 1; arm < 4; ++arm) feed(bandit, arm, 2000, 0.1);
  Rng rng(5);
  const std::vector<double> shares = choice_shares(bandit, rng, 200000);
  for (std::size_t arm = 1; arm < 4; ++arm) {
    EXPECT_NEAR(shares[arm], 0.05, 0.003) << "arm " << arm;
    EXPECT_NEAR(bandit.propensity(arm, rng, 2000), 0.05, 1e-9) << "arm " << arm;
  }
  EXPECT_NEAR(shares[0], 0.85, 0.005);
  EXPECT_NEAR(bandit.propensity(0, rng, 2000), 0.85, 1e-9);

  // Without the floor the losing arms are (practically) never chosen.
  ThompsonBandit no_floor = make_bandit(plain_thompson(4));
  feed(no_floor, 0, 2000, 0.9);
  for (std::size_t arm = 1; arm < 4; ++arm) feed(no_floor, arm, 2000, 0.1);
  EXPECT_EQ(choice_shares(no_floor, rng, 20000)[0], 1.0);
}

TEST(Bandit, MinimumDataKeepsChoosingUniformlyAmongArmsBelowIt) {
  ThompsonBandit bandit = make_bandit({.arms = 3, .floor = 0.0, .min_observations = 5});
  Rng rng(6);
  for (double share : choice_shares(bandit, rng, 30000)) EXPECT_NEAR(share, 1.0 / 3.0, 0.015);

  feed(bandit, 0, 5, 1.0);  // arm 0 looks perfect but the others have no data yet
  std::vector<double> shares = choice_shares(bandit, rng, 30000);
  EXPECT_EQ(shares[0], 0.0);
  EXPECT_NEAR(shares[1], 0.5, 0.015);
  EXPECT_DOUBLE_EQ(bandit.propensity(0, rng), 0.0);
  EXPECT_DOUBLE_EQ(bandit.propensity(1, rng), 0.5);

  feed(bandit, 1, 5, 0.0);
  feed(bandit, 2, 4, 0.0);
  EXPECT_EQ(choice_shares(bandit, rng, 1000)[2], 1.0);
  feed(bandit, 2, 1, 0.0);  // every arm has its minimum: Thompson sampling exploits arm 0
  shares = choice_shares(bandit, rng, 30000);
  EXPECT_GT(shares[0], 0.9);
  EXPECT_NEAR(bandit.propensity(0, rng, 30000), shares[0], 0.02);
}

TEST(Bandit, FloorStillAppliesDuringTheMinimumDataPhase) {
  ThompsonBandit bandit = make_bandit({.arms = 2, .floor = 0.1, .min_observations = 3});
  feed(bandit, 0, 3, 1.0);
  Rng rng(8);
  EXPECT_NEAR(choice_shares(bandit, rng, 100000)[0], 0.1, 0.005);
  EXPECT_DOUBLE_EQ(bandit.propensity(0, rng), 0.1);
  EXPECT_DOUBLE_EQ(bandit.propensity(1, rng), 0.9);
}

TEST(Bandit, DiscountingFadesOldResults) {
  ThompsonBandit bandit = make_bandit({.arms = 2, .floor = 0.0, .discount = 0.9});
  for (int i = 0; i < 10; ++i) bandit.observe(0, true);
  EXPECT_NEAR(bandit.arm(0).successes, (1.0 - std::pow(0.9, 10)) / 0.1, 1e-9);
  EXPECT_EQ(bandit.arm(0).observations, 10u);
  for (int i = 0; i < 50; ++i) bandit.observe(1, false);  // arm 0 is not observed, yet it fades
  EXPECT_NEAR(bandit.arm(0).successes, (1.0 - std::pow(0.9, 10)) / 0.1 * std::pow(0.9, 50), 1e-9);
  EXPECT_LT(bandit.arm(1).failures, 10.0);  // bounded by 1 / (1 - 0.9)

  ThompsonBandit undiscounted = make_bandit(plain_thompson(1));
  for (int i = 0; i < 10; ++i) undiscounted.observe(0, true);
  EXPECT_DOUBLE_EQ(undiscounted.arm(0).successes, 10.0);

  // A batch is discounted once.
  ThompsonBandit batched = make_bandit({.arms = 2, .floor = 0.0, .discount = 0.5});
  const std::array<std::uint64_t, 2> successes = {4, 0}, failures = {0, 2};
  batched.observe_batch(successes, failures);
  batched.observe_batch(successes, failures);
  EXPECT_DOUBLE_EQ(batched.arm(0).successes, 6.0);
  EXPECT_DOUBLE_EQ(batched.arm(1).failures, 3.0);
  EXPECT_EQ(batched.arm(0).observations, 8u);
}

// The best arm changes after a long run: the discounted chooser follows within a few hundred
// steps; the undiscounted one still trusts its long history of the old best arm.
TEST(Bandit, DiscountingFollowsDrift) {
  const auto share_of_new_best = [](double discount) {
    ThompsonBandit bandit = make_bandit({.arms = 2, .floor = 0.0, .discount = discount});
    Rng rng(9), audience(10);
    constexpr int kChange = 20000;
    std::size_t picks = 0;
    for (int step = 0; step < kChange + 3000; ++step) {
      const std::array<double, 2> rate =
          step < kChange ? std::array{0.6, 0.4} : std::array{0.4, 0.6};
      const std::size_t arm = bandit.choose(rng);
      bandit.observe(arm, audience.uniform() < rate[arm]);
      if (step >= kChange + 1000) picks += arm == 1;
    }
    return static_cast<double>(picks) / 2000.0;
  };
  EXPECT_GT(share_of_new_best(0.99), 0.8);
  EXPECT_LT(share_of_new_best(1.0), 0.3);
}

TEST(Bandit, ResetArmGoesBackToThePrior) {
  ThompsonBandit bandit = make_bandit(plain_thompson(2));
  feed(bandit, 1, 100, 0.3);
  bandit.reset_arm(1);
  EXPECT_EQ(bandit.arm(1).observations, 0u);
  EXPECT_DOUBLE_EQ(bandit.posterior_mean(1), 0.5);
}

TEST(Bandit, SameSeedSameChoices) {
  const auto run = [](std::uint64_t seed) {
    ThompsonBandit bandit = make_bandit({.arms = 5, .floor = 0.01, .min_observations = 3});
    Rng rng(seed), audience(seed + 1);
    std::vector<std::size_t> choices;
    for (int step = 0; step < 2000; ++step) {
      const std::size_t arm = bandit.choose(rng);
      bandit.observe(arm, audience.uniform() < 0.1 * static_cast<double>(arm + 1));
      choices.push_back(arm);
    }
    return choices;
  };
  EXPECT_EQ(run(77), run(77));
  EXPECT_NE(run(77), run(78));
}

TEST(ChapelleLiTable1, DeterministicPerSeedWhateverTheThreads) {
  Table1Options options{.reps = 4, .seed = 5, .horizon = 20000, .delays = {1, 10}, .threads = 1};
  const auto one_thread = run_chapelle_li_table1(options);
  options.threads = 2;
  const auto two_threads = run_chapelle_li_table1(options);
  ASSERT_TRUE(one_thread && two_threads);
  EXPECT_EQ(to_json(*one_thread), to_json(*two_threads));
  options.seed = 6;
  EXPECT_NE(to_json(*run_chapelle_li_table1(options)), to_json(*two_threads));
}

TEST(ChapelleLiTable1, RefusesBadOptions) {
  EXPECT_FALSE(run_chapelle_li_table1({.reps = 0}).has_value());
  EXPECT_FALSE(run_chapelle_li_table1({.reps = 1, .delays = {0}}).has_value());
  EXPECT_FALSE(run_chapelle_li_table1({.reps = 1, .delays = {}}).has_value());
}

// A tenth of the paper's horizon: the regret per step should be about the paper's 0.009 (a little
// more, since the early steps, before any arm is well known, weigh more), and delays cost.
TEST(ChapelleLiTable1, SmallRunHasPlausibleRegret) {
  const auto report = run_chapelle_li_table1(
      {.reps = 8, .seed = 1, .horizon = 100000, .delays = {1, 1000}, .threads = 2});
  ASSERT_TRUE(report.has_value()) << report.error().message;
  ASSERT_EQ(report->rows.size(), 2u);
  const SimulationRow& immediate = report->rows[0];
  EXPECT_GT(immediate.regret, 500.0);
  EXPECT_LT(immediate.regret, 2500.0);
  EXPECT_FALSE(immediate.paper.has_value());  // not the paper's horizon
  EXPECT_GT(report->rows[1].regret, 2.0 * immediate.regret);

  const nlohmann::json json = to_json(*report);
  EXPECT_EQ(json["scenario"], "chapelle-li-table1");
  EXPECT_EQ(json["rows"][0]["delay"], 1);
  EXPECT_TRUE(json["rows"][0]["paper"].is_null());
}

TEST(ChapelleLiTable1, PaperFigures) {
  EXPECT_EQ(chapelle_li_table1_regret(1), 9105.0);
  EXPECT_EQ(chapelle_li_table1_regret(1000), 59256.0);
  EXPECT_FALSE(chapelle_li_table1_regret(2).has_value());
}

TEST(Drift, DiscountingFollowsASwapOfTheBestArmSoonerAndWithLessRegret) {
  DriftOptions options;
  options.reps = 6;
  options.seed = 3;
  options.horizon = 60'000;
  options.change_at = 30'000;
  options.discounts = {1.0, 0.9995};
  auto report = run_drift(options);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  ASSERT_EQ(report->rows.size(), 2u);
  const DriftRow& kept = report->rows[0];
  const DriftRow& faded = report->rows[1];
  EXPECT_EQ(faded.reconverged, 6u);
  ASSERT_TRUE(faded.steps.has_value());
  if (kept.steps) {
    EXPECT_LT(*faded.steps * 2, *kept.steps);
  }
  EXPECT_LT(faded.regret_after, kept.regret_after);
  auto again = run_drift(options);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(to_json(*again), to_json(*report)) << "the same seed gives the same figures";
  options.change_at = options.horizon;
  EXPECT_FALSE(run_drift(options).has_value());
}

}  // namespace
}  // namespace reelflow::optimize
