// The chapelle-li-fig1 scenario: the Lai-Robbins bound and a small run.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "optimize/simulate.hpp"

namespace reelflow::optimize {
namespace {

TEST(ChapelleLiFig1, LaiRobbinsBoundMatchesAHandComputedValue) {
  // KL(0.4 || 0.5) = 0.4 ln 0.8 + 0.6 ln 1.2 = 0.0201355...; (0.5 - 0.4) / that = 4.96635.
  EXPECT_NEAR(bernoulli_kl(0.4, 0.5), 0.4 * std::log(0.8) + 0.6 * std::log(1.2), 1e-15);
  EXPECT_NEAR(bernoulli_kl(0.4, 0.5), 0.020135513, 1e-9);
  const std::vector<double> two = {0.5, 0.4};
  EXPECT_NEAR(lai_robbins_bound(0.5, two), 4.96635, 1e-5);
  // K = 10, eps = 0.1: nine such arms. The best arm and equal arms add nothing.
  const std::vector<double> ten = {0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.5};
  EXPECT_NEAR(lai_robbins_bound(0.5, ten), 9 * 4.96635, 1e-4);
  EXPECT_EQ(bernoulli_kl(0.0, 0.5), std::log(2.0));
}

TEST(ChapelleLiFig1, SmallRunIsSane) {
  Fig1Options options;
  options.reps = 4;
  options.seed = 2;
  options.horizon = 20000;
  options.arms = {10};
  options.epsilons = {0.1, 0.02};
  const auto report = run_chapelle_li_fig1(options);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  ASSERT_EQ(report->rows.size(), 2u);
  for (const Fig1Row& row : report->rows) {
    SCOPED_TRACE(row.epsilon);
    ASSERT_EQ(row.checkpoints.size(), 3u);  // 10^3, 10^4 and the horizon
    EXPECT_EQ(row.checkpoints[0].steps, 1000u);
    EXPECT_EQ(row.checkpoints[2].steps, 20000u);
    double previous = 0.0;
    for (const Fig1Checkpoint& point : row.checkpoints) {
      EXPECT_GT(point.regret, previous);  // cumulative, and never zero: it must explore
      // Never more than always choosing a worse arm.
      EXPECT_LE(point.regret, row.epsilon * static_cast<double>(point.steps));
      EXPECT_NEAR(point.regret_per_log, point.regret / std::log(double(point.steps)), 1e-9);
      previous = point.regret;
    }
    // It learns: the regret per step falls.
    EXPECT_LT(row.checkpoints[2].regret / 20000.0, row.checkpoints[0].regret / 1000.0);
  }
  EXPECT_NEAR(report->rows[0].bound, 9 * 4.96635, 1e-4);
  // Easy (eps 0.1) costs less than hard (eps 0.02) per unit of bound at this horizon.
  EXPECT_GT(report->rows[0].checkpoints[2].regret_per_log / report->rows[0].bound,
            report->rows[1].checkpoints[2].regret_per_log / report->rows[1].bound);

  const nlohmann::json json = to_json(*report);
  EXPECT_EQ(json["scenario"], "chapelle-li-fig1");
  EXPECT_EQ(json["rows"].size(), 2u);
  EXPECT_EQ(json["rows"][0]["arms"], 10);
  EXPECT_EQ(json["rows"][0]["checkpoints"].size(), 3u);
  EXPECT_EQ(json["rows"][0]["regret_per_log"], json["rows"][0]["checkpoints"][2]["regret_per_log"]);
}

TEST(ChapelleLiFig1, DeterministicPerSeedWhateverTheThreads) {
  Fig1Options options;
  options.reps = 3;
  options.horizon = 5000;
  options.arms = {10, 100};
  options.epsilons = {0.1};
  options.threads = 1;
  const auto one = run_chapelle_li_fig1(options);
  options.threads = 2;
  const auto two = run_chapelle_li_fig1(options);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(to_json(*one), to_json(*two));
  // A setting's figures do not depend on which other settings run beside it.
  options.arms = {100};
  const auto alone = run_chapelle_li_fig1(options);
  ASSERT_TRUE(alone.has_value());
  EXPECT_EQ(alone->rows[0].checkpoints[0].regret, two->rows[1].checkpoints[0].regret);
  options.seed = 99;
  EXPECT_NE(to_json(*run_chapelle_li_fig1(options)), to_json(*alone));
}

TEST(ChapelleLiFig1, RefusesBadOptions) {
  const auto refused = [](Fig1Options options, std::string_view words) {
    const auto report = run_chapelle_li_fig1(options);
    ASSERT_FALSE(report.has_value());
    EXPECT_NE(report.error().message.find(words), std::string::npos) << report.error().message;
  };
  refused({.reps = 0}, "reps");
  refused({.horizon = 1}, "horizon");
  refused({.arms = {1}}, "arms");
  refused({.epsilons = {0.5}}, "epsilon");
  refused({.epsilons = {}}, "no settings");
  refused({.horizon = 1000, .checkpoints = {100, 50}}, "checkpoints");
  refused({.horizon = 1000, .checkpoints = {5000}}, "checkpoints");
  const auto with_checkpoints = run_chapelle_li_fig1(
      {.reps = 1, .horizon = 300, .arms = {2}, .epsilons = {0.1}, .checkpoints = {10, 100}});
  ASSERT_TRUE(with_checkpoints.has_value());
  EXPECT_EQ(with_checkpoints->rows[0].checkpoints.size(), 3u);  // the horizon is added
}

}  // namespace
}  // namespace reelflow::optimize
