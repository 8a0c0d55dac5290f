// What the choosers know about each arm, in numbers a person can read (issue 8, "Visibility"):
// observations, posterior mean, a credible interval and the probability of being the best arm.
// `reelflow optimize show` prints these.
//
// Credible intervals are exact posterior quantiles, not normal approximations: Beta quantiles for
// rates, Student-t quantiles for continuous rewards, both by inverting the regularized incomplete
// beta function (continued fraction, Numerical Recipes' betacf / Lentz), accurate to about 1e-10
// in probability. The probability of being best is Monte-Carlo (one posterior draw per arm per
// round, `draws` rounds) from a seeded Rng: the same statistics and seed give the same figures on
// every run and platform, and the probabilities sum to exactly 1. It is the posterior's belief,
// not the chance of being chosen (that includes the floor and the minimum-data rule: see
// propensity()).
//
// Thread-safety: pure functions (std::lgamma inside is not guaranteed reentrant on every libc;
// glibc's is, apart from its sign global, which is unused here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "optimize/bandit.hpp"

namespace reelflow::optimize {

// I_x(a, b) for a, b > 0, x in [0, 1].
double regularized_incomplete_beta(double a, double b, double x);
// The p-quantile of Beta(a, b): the x with I_x(a, b) = p; a, b > 0, p in [0, 1].
double beta_quantile(double a, double b, double p);
// P(T <= t) for Student's t with dof > 0 degrees of freedom.
double student_t_cdf(double t, double dof);
// The p-quantile of Student's t with dof > 0 degrees of freedom; p in (0, 1).
double student_t_quantile(double p, double dof);

struct SummaryOptions {
  double level = 0.95;     // of the central credible interval, in (0, 1)
  std::uint64_t seed = 1;  // of the Monte-Carlo probability of being best
  std::size_t draws =
      20000;  // rounds; the probabilities' standard error is at most 0.5/sqrt(draws)
};

struct ArmSummary {
  std::uint64_t observations = 0;  // raw results (trials for rates, values for rewards)
  double weight = 0.0;             // what still counts after discounting or windowing
  double mean = 0.0;               // posterior mean
  double lower = 0.0;              // central credible interval at SummaryOptions::level
  double upper = 0.0;
  double probability_best = 0.0;  // posterior probability that this arm's mean is the largest
};

// Rates: arm i's posterior is Beta(1 + successes, 1 + failures). Errors: no arms, or options out
// of range (named).
Result<std::vector<ArmSummary>> summarize(std::span<const ArmState> arms,
                                          const SummaryOptions& options = {});
// Continuous rewards: the posteriors of gaussian_posteriors() (pooled prior).
Result<std::vector<ArmSummary>> summarize(std::span<const GaussianArmState> arms,
                                          const SummaryOptions& options = {});

// [{"observations", "weight", "mean", "lower", "upper", "probability_best"}, ...] in arm order.
nlohmann::json to_json(std::span<const ArmSummary> summaries);

}  // namespace reelflow::optimize
