// Posterior summaries: quantiles against known values, credible-interval coverage, probability of
// being best.
#include "optimize/posterior.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "optimize/chooser.hpp"

namespace reelflow::optimize {
namespace {

// P(Binomial(n, p) >= k), summed term by term: equals I_p(k, n - k + 1).
double binomial_upper_tail(int n, int k, double p) {
  double total = 0.0;
  for (int j = k; j <= n; ++j) {
    total += std::exp(std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) +
                      j * std::log(p) + (n - j) * std::log1p(-p));
  }
  return total;
}

TEST(IncompleteBeta, MatchesClosedFormsAndTheBinomialIdentity) {
  for (double x : {0.0, 0.01, 0.3, 0.5, 0.77, 1.0}) {
    EXPECT_NEAR(regularized_incomplete_beta(1.0, 1.0, x), x, 1e-14);
    EXPECT_NEAR(regularized_incomplete_beta(3.0, 1.0, x), x * x * x, 1e-14);
    EXPECT_NEAR(regularized_incomplete_beta(0.5, 0.5, x),
                2.0 / std::numbers::pi * std::asin(std::sqrt(x)), 1e-13);
  }
  EXPECT_NEAR(regularized_incomplete_beta(20.0, 31.0, 0.3), 0.084802598553825625, 1e-14);
  for (auto [n, k, p] : {std::tuple{50, 20, 0.3}, {400, 37, 0.1}, {2000, 1000, 0.51}}) {
    EXPECT_NEAR(regularized_incomplete_beta(k, n - k + 1.0, p), binomial_upper_tail(n, k, p), 1e-11)
        << n << " " << k << " " << p;
  }
  // Symmetry: I_x(a, b) = 1 - I_{1-x}(b, a), on both sides of the continued fraction's switch.
  for (double x : {0.05, 0.2, 0.5, 0.9}) {
    EXPECT_NEAR(regularized_incomplete_beta(7.5, 2.25, x),
                1.0 - regularized_incomplete_beta(2.25, 7.5, 1.0 - x), 1e-14);
  }
}

// Reference quantiles from mpmath at 40 digits (betainc / binomial sums, bisection).
TEST(BetaQuantile, MatchesReferenceValues) {
  struct Case {
    double a, b, lower, upper;
  };
  const std::array<Case, 5> cases = {{
      {3, 7, 0.074854631419691812, 0.60009357371631216},
      {11, 191, 0.02763248222477102, 0.089589144173246169},
      {41, 11, 0.6688426487470713, 0.88710940025025658},
      {1001, 9001, 0.0942751130731928, 0.10603633195250612},
      {0.5, 0.5, std::pow(std::sin(std::numbers::pi * 0.025 / 2.0), 2.0),
       std::pow(std::sin(std::numbers::pi * 0.975 / 2.0), 2.0)},
  }};
  for (const Case& c : cases) {
    EXPECT_NEAR(beta_quantile(c.a, c.b, 0.025), c.lower, 1e-12 + 1e-10 * c.lower)
        << c.a << "," << c.b;
    EXPECT_NEAR(beta_quantile(c.a, c.b, 0.975), c.upper, 1e-12 + 1e-10 * c.upper)
        << c.a << "," << c.b;
  }
  EXPECT_NEAR(beta_quantile(2.0, 1.0, 0.36), 0.6, 1e-14);  // CDF x^2
  EXPECT_EQ(beta_quantile(2.0, 3.0, 0.0), 0.0);
  EXPECT_EQ(beta_quantile(2.0, 3.0, 1.0), 1.0);
  // Counts of a busy publication: quantile and CDF invert each other.
  const double q = beta_quantile(40001.0, 960001.0, 0.975);
  EXPECT_NEAR(regularized_incomplete_beta(40001.0, 960001.0, q), 0.975, 1e-9);
  EXPECT_GT(q, 40001.0 / 1000002.0);
}

TEST(StudentT, QuantilesMatchReferenceValues) {
  const std::array<std::pair<double, double>, 6> cases = {{{1, 12.7062047361747046},
                                                           {2, 4.30265272974946385},
                                                           {3, 3.18244630528370959},
                                                           {10, 2.22813885198627475},
                                                           {30, 2.04227245630123831},
                                                           {1000, 1.96233908082640848}}};
  for (auto [dof, quantile] : cases) {
    EXPECT_NEAR(student_t_quantile(0.975, dof), quantile, 1e-9 * quantile) << dof;
    EXPECT_NEAR(student_t_quantile(0.025, dof), -quantile, 1e-9 * quantile) << dof;
    EXPECT_NEAR(student_t_cdf(quantile, dof), 0.975, 1e-12) << dof;
  }
  EXPECT_NEAR(student_t_quantile(0.975, 1e7), 1.959963984540054, 1e-6);  // the normal's
  EXPECT_EQ(student_t_quantile(0.5, 4.0), 0.0);
  EXPECT_NEAR(student_t_cdf(0.0, 3.0), 0.5, 1e-15);
}

// Under its own prior a Bayesian credible interval covers the truth with exactly its level:
// draw a rate from the uniform prior, 40 results, and count how often the 95% interval holds it.
TEST(Summary, BetaIntervalsCoverAtTheirLevel) {
  Rng rng(41);
  constexpr int kTrials = 4000;
  int covered = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const double rate = rng.uniform();
    ArmState arm;
    for (int i = 0; i < 40; ++i) (rng.uniform() < rate ? arm.successes : arm.failures) += 1.0;
    arm.observations = 40;
    const auto summary = summarize(std::span<const ArmState>(&arm, 1), {.draws = 1});
    ASSERT_TRUE(summary.has_value());
    covered += (*summary)[0].lower <= rate && rate <= (*summary)[0].upper;
  }
  // Binomial standard error of the share: sqrt(0.95 * 0.05 / 4000) = 0.0034.
  EXPECT_NEAR(static_cast<double>(covered) / kTrials, 0.95, 0.012);
}

// Continuous rewards: five arms of 15 rewards each (means 0..4, spread 3), the usual
// frequentist check. The pooled prior adds about one observation's worth, so the coverage is
// near but not exactly the level; docs/optimize.md gives the figures.
TEST(Summary, GaussianIntervalsCoverNearTheirLevel) {
  Rng rng(42);
  constexpr int kTrials = 1500;
  int covered = 0, total = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::array<GaussianArmState, 5> arms{};
    GaussianBandit bandit = GaussianBandit::create(plain_thompson(5)).value();
    for (int i = 0; i < 15; ++i) {
      for (std::size_t arm = 0; arm < 5; ++arm) {
        bandit.observe(arm, static_cast<double>(arm) + 3.0 * rng.normal());
      }
    }
    for (std::size_t arm = 0; arm < 5; ++arm) arms[arm] = bandit.arm(arm);
    const auto summary = summarize(std::span<const GaussianArmState>(arms), {.draws = 1});
    ASSERT_TRUE(summary.has_value());
    for (std::size_t arm = 0; arm < 5; ++arm) {
      const double truth = static_cast<double>(arm);
      covered += (*summary)[arm].lower <= truth && truth <= (*summary)[arm].upper;
      ++total;
    }
  }
  const double coverage = static_cast<double>(covered) / total;
  EXPECT_GT(coverage, 0.93);
  EXPECT_LT(coverage, 0.97);
}

TEST(Summary, GaussianIntervalIsTheStudentTOfThePosterior) {
  std::array<GaussianArmState, 2> arms{};
  arms[0] = {.weight = 12, .mean = 250.0, .m2 = 12 * 900.0, .observations = 12};
  arms[1] = {.weight = 3, .mean = 180.0, .m2 = 3 * 400.0, .observations = 3};
  const auto summary = summarize(std::span<const GaussianArmState>(arms));
  ASSERT_TRUE(summary.has_value());
  const std::vector<StudentT> posteriors = gaussian_posteriors(arms);
  for (std::size_t i = 0; i < 2; ++i) {
    const double half = posteriors[i].scale * student_t_quantile(0.975, posteriors[i].dof);
    EXPECT_DOUBLE_EQ((*summary)[i].mean, posteriors[i].location);
    EXPECT_NEAR((*summary)[i].lower, posteriors[i].location - half, 1e-9);
    EXPECT_NEAR((*summary)[i].upper, posteriors[i].location + half, 1e-9);
    EXPECT_EQ((*summary)[i].observations, arms[i].observations);
  }
  // By hand for arm 1: pooled mean (12*250 + 3*180) / 15 = 236, pooled variance
  // (10800 + 1200 + 12*14^2 + 3*56^2) / 15 = 1584; kappa 4, alpha 2.5, dof 5,
  // location (236 + 540) / 4 = 194, beta 1584 + 600 + 3 * 56^2 / 8 = 3360,
  // scale sqrt(3360 / 10) = sqrt(336).
  EXPECT_NEAR(posteriors[1].location, 194.0, 1e-9);
  EXPECT_NEAR(posteriors[1].dof, 5.0, 1e-12);
  EXPECT_NEAR(posteriors[1].scale, std::sqrt(336.0), 1e-9);
  EXPECT_GT((*summary)[0].probability_best, 0.95);
}

TEST(Summary, ProbabilityOfBeingBestSumsToOneAndFavoursTheClearWinner) {
  std::vector<ArmState> arms = {{.successes = 100, .failures = 900, .observations = 1000},
                                {.successes = 50, .failures = 950, .observations = 1000},
                                {.successes = 10, .failures = 990, .observations = 1000}};
  auto summary = summarize(std::span<const ArmState>(arms), {.seed = 3});
  ASSERT_TRUE(summary.has_value());
  double sum = 0.0;
  for (const ArmSummary& arm : *summary) sum += arm.probability_best;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_GT((*summary)[0].probability_best, 0.999);
  EXPECT_NEAR((*summary)[0].mean, 101.0 / 1002.0, 1e-15);
  EXPECT_LT((*summary)[0].lower, (*summary)[0].mean);
  EXPECT_GT((*summary)[0].upper, (*summary)[0].mean);

  // Identical arms share the belief evenly.
  std::vector<ArmState> same(4, ArmState{.successes = 30, .failures = 70, .observations = 100});
  summary = summarize(std::span<const ArmState>(same), {.draws = 40000});
  sum = 0.0;
  for (const ArmSummary& arm : *summary) {
    EXPECT_NEAR(arm.probability_best, 0.25, 0.01);
    sum += arm.probability_best;
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);

  // Two close arms with many results: P(best) is close to the normal approximation
  // Phi((m1 - m2) / sqrt(v1 + v2)) of the two Betas.
  std::vector<ArmState> close = {{.successes = 300, .failures = 700},
                                 {.successes = 280, .failures = 720}};
  summary = summarize(std::span<const ArmState>(close), {.draws = 100000});
  const auto moments = [](double a, double b) {
    return std::pair{a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1.0))};
  };
  const auto [m1, v1] = moments(301, 701);
  const auto [m2, v2] = moments(281, 721);
  const double expected = 0.5 * std::erfc(-(m1 - m2) / std::sqrt(2.0 * (v1 + v2)));
  EXPECT_NEAR((*summary)[0].probability_best, expected, 0.01);
}

TEST(Summary, SameSeedSameFiguresAndOptionsChecked) {
  std::vector<ArmState> arms = {{.successes = 3, .failures = 5}, {.successes = 4, .failures = 4}};
  const auto once = summarize(std::span<const ArmState>(arms), {.seed = 9});
  const auto again = summarize(std::span<const ArmState>(arms), {.seed = 9});
  const auto other = summarize(std::span<const ArmState>(arms), {.seed = 10});
  ASSERT_TRUE(once && again && other);
  EXPECT_EQ(to_json(*once), to_json(*again));
  EXPECT_NE((*once)[0].probability_best, (*other)[0].probability_best);

  EXPECT_FALSE(summarize(std::span<const ArmState>(), {}).has_value());
  const auto bad_level = summarize(std::span<const ArmState>(arms), {.level = 1.0});
  ASSERT_FALSE(bad_level.has_value());
  EXPECT_NE(bad_level.error().message.find("level"), std::string::npos);
  EXPECT_FALSE(summarize(std::span<const ArmState>(arms), {.draws = 0}).has_value());

  const nlohmann::json json = to_json(*once);
  ASSERT_EQ(json.size(), 2u);
  for (const char* key : {"observations", "weight", "mean", "lower", "upper", "probability_best"}) {
    EXPECT_TRUE(json[0].contains(key)) << key;
  }
}

// Through the Chooser: a rebuilt experiment's summary, an arm with no data yet.
TEST(Summary, ChooserSummaryCoversArmsWithoutData) {
  auto chooser = Chooser::rebuild({.model = RewardModel::bernoulli, .bandit = {.arms = 3}},
                                  std::vector<Observation>{{.arm = 0, .reward = 12, .trials = 40},
                                                           {.arm = 1, .reward = 2, .trials = 40}});
  ASSERT_TRUE(chooser.has_value());
  const auto summary = chooser->summary();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)[2].observations, 0u);
  EXPECT_DOUBLE_EQ((*summary)[2].mean, 0.5);
  EXPECT_NEAR((*summary)[2].lower, 0.025, 1e-12);  // the uniform prior's own quantiles
  EXPECT_NEAR((*summary)[2].upper, 0.975, 1e-12);
  EXPECT_GT((*summary)[0].probability_best, (*summary)[1].probability_best);

  auto rewards = Chooser::create({.model = RewardModel::gaussian, .bandit = {.arms = 2}});
  ASSERT_TRUE(rewards.has_value());
  const auto empty = rewards->summary();
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(std::isfinite((*empty)[0].lower) && std::isfinite((*empty)[0].upper));
  EXPECT_NEAR((*empty)[0].probability_best, 0.5, 0.02);
}

}  // namespace
}  // namespace reelflow::optimize
