#include "optimize/posterior.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>
#include <string>

namespace reelflow::optimize {

namespace {

// lgamma(x) - Stirling's approximation, for x >= 10 (error below 1e-12).
double stirling_correction(double x) {
  const double inverse = 1.0 / x;
  const double inverse_squared = inverse * inverse;
  return inverse * (1.0 / 12.0 - inverse_squared *
                                     (1.0 / 360.0 -
                                      inverse_squared * (1.0 / 1260.0 - inverse_squared / 1680.0)));
}

// log(x^a (1 - x)^b / B(a, b)). For large a and b, lgamma's absolute rounding (about 1e-16 of
// a value near a log a) would swamp the result, so the Stirling terms cancel analytically there.
double log_power_terms(double a, double b, double x) {
  if (std::min(a, b) >= 10.0) {
    const double sum = a + b;
    const double offset = x * b - (1.0 - x) * a;  // x (a + b) - a
    return a * std::log1p(offset / a) + b * std::log1p(-offset / b) + 0.5 * std::log(a * b / sum) -
           0.5 * std::log(2.0 * std::numbers::pi) - stirling_correction(a) -
           stirling_correction(b) + stirling_correction(sum);
  }
  return std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
         b * std::log1p(-x);
}

// The continued fraction for I_x(a, b) (Numerical Recipes' betacf, modified Lentz), converging
// fast for x < (a + 1) / (a + b + 2); it needs about sqrt(max(a, b)) terms there.
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-15;
  const int max_terms = 1000 + static_cast<int>(std::min(1e6, 20.0 * std::sqrt(std::max(a, b))));
  const double sum = a + b, a_plus = a + 1.0, a_minus = a - 1.0;
  double c = 1.0;
  double d = 1.0 - sum * x / a_plus;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= max_terms; ++m) {
    const double m2 = 2.0 * m;
    double term = m * (b - m) * x / ((a_minus + m2) * (a + m2));
    d = 1.0 + term * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1.0 + term / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    term = -(a + m) * (sum + m) * x / ((a + m2) * (a_plus + m2));
    d = 1.0 + term * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1.0 + term / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1.0) < kEpsilon) break;
  }
  return h;
}

// The x in [0, 1] where an increasing `cdf` reaches p, by bisection down to adjacent doubles.
template <typename Cdf>
double invert_on_unit_interval(Cdf cdf, double p) {
  double low = 0.0, high = 1.0;
  for (int i = 0; i < 1100; ++i) {
    const double middle = 0.5 * (low + high);
    if (middle <= low || middle >= high) break;
    (cdf(middle) < p ? low : high) = middle;
  }
  return 0.5 * (low + high);
}

Result<void> check_options(std::size_t arms, const SummaryOptions& options) {
  if (arms == 0) return fail("posterior summary: no arms");
  if (!(options.level > 0.0 && options.level < 1.0)) {
    return fail("posterior summary: level must be in (0, 1) (got " + std::to_string(options.level) +
                ")");
  }
  if (options.draws < 1) return fail("posterior summary: draws must be at least 1 (got 0)");
  return {};
}

// Monte-Carlo P(best): `draw(i, rng)` samples arm i's posterior mean.
template <typename Draw>
void fill_probability_best(std::vector<ArmSummary>& summaries, const SummaryOptions& options,
                           Draw draw) {
  Rng rng(options.seed);
  std::vector<std::uint64_t> wins(summaries.size(), 0);
  for (std::size_t round = 0; round < options.draws; ++round) {
    std::size_t best = 0;
    double best_draw = 0.0;
    for (std::size_t i = 0; i < summaries.size(); ++i) {
      const double value = draw(i, rng);
      if (i == 0 || value > best_draw) {
        best_draw = value;
        best = i;
      }
    }
    ++wins[best];
  }
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    summaries[i].probability_best =
        static_cast<double>(wins[i]) / static_cast<double>(options.draws);
  }
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  assert(a > 0.0 && b > 0.0);
  if (!(x > 0.0)) return 0.0;
  if (x >= 1.0) return 1.0;
  const double front = std::exp(log_power_terms(a, b, x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double beta_quantile(double a, double b, double p) {
  assert(a > 0.0 && b > 0.0);
  if (!(p > 0.0)) return 0.0;
  if (p >= 1.0) return 1.0;
  return invert_on_unit_interval([&](double x) { return regularized_incomplete_beta(a, b, x); }, p);
}

double student_t_cdf(double t, double dof) {
  assert(dof > 0.0);
  // P(|T| > |t|) = I_x(dof / 2, 1 / 2) with x = dof / (dof + t^2).
  const double tail = 0.5 * regularized_incomplete_beta(0.5 * dof, 0.5, dof / (dof + t * t));
  return t > 0.0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double dof) {
  assert(dof > 0.0 && p > 0.0 && p < 1.0);
  if (p == 0.5) return 0.0;
  // Solve I_x(dof / 2, 1 / 2) = 2 min(p, 1 - p), then |t| = sqrt(dof (1 - x) / x); 1 - x comes
  // from the mirrored function I_{1-x}(1 / 2, dof / 2) to keep its digits when x is near 1.
  const double two_tail = 2.0 * std::min(p, 1.0 - p);
  const double one_minus_x = beta_quantile(0.5, 0.5 * dof, 1.0 - two_tail);
  const double x = 1.0 - one_minus_x;
  const double magnitude = std::sqrt(dof * one_minus_x / x);
  return p < 0.5 ? -magnitude : magnitude;
}

Result<std::vector<ArmSummary>> summarize(std::span<const ArmState> arms,
                                          const SummaryOptions& options) {
  if (auto checked = check_options(arms.size(), options); !checked) {
    return tl::unexpected(checked.error());
  }
  const double tail = 0.5 * (1.0 - options.level);
  std::vector<ArmSummary> summaries(arms.size());
  std::vector<GammaSampler> success_samplers, failure_samplers;
  for (std::size_t i = 0; i < arms.size(); ++i) {
    const double a = 1.0 + arms[i].successes, b = 1.0 + arms[i].failures;
    summaries[i] = ArmSummary{.observations = arms[i].observations,
                              .weight = arms[i].successes + arms[i].failures,
                              .mean = a / (a + b),
                              .lower = beta_quantile(a, b, tail),
                              .upper = beta_quantile(a, b, 1.0 - tail),
                              .probability_best = 0.0};
    success_samplers.emplace_back(a);
    failure_samplers.emplace_back(b);
  }
  fill_probability_best(summaries, options, [&](std::size_t i, Rng& rng) {
    const double x = success_samplers[i](rng);
    const double y = failure_samplers[i](rng);
    return x / (x + y);
  });
  return summaries;
}

Result<std::vector<ArmSummary>> summarize(std::span<const GaussianArmState> arms,
                                          const SummaryOptions& options) {
  if (auto checked = check_options(arms.size(), options); !checked) {
    return tl::unexpected(checked.error());
  }
  const double tail = 0.5 * (1.0 - options.level);
  const std::vector<StudentT> posteriors = gaussian_posteriors(arms);
  std::vector<ArmSummary> summaries(arms.size());
  std::vector<GammaSampler> precision_samplers;
  for (std::size_t i = 0; i < arms.size(); ++i) {
    const StudentT& posterior = posteriors[i];
    const double quantile = student_t_quantile(1.0 - tail, posterior.dof);
    summaries[i] = ArmSummary{.observations = arms[i].observations,
                              .weight = arms[i].weight,
                              .mean = posterior.location,
                              .lower = posterior.location - posterior.scale * quantile,
                              .upper = posterior.location + posterior.scale * quantile,
                              .probability_best = 0.0};
    precision_samplers.emplace_back(0.5 * posterior.dof);
  }
  fill_probability_best(summaries, options, [&](std::size_t i, Rng& rng) {
    const StudentT& posterior = posteriors[i];
    const double z = rng.normal();
    const double gamma = precision_samplers[i](rng);
    return posterior.location + posterior.scale * z * std::sqrt(0.5 * posterior.dof / gamma);
  });
  return summaries;
}

nlohmann::json to_json(std::span<const ArmSummary> summaries) {
  nlohmann::json arms = nlohmann::json::array();
  for (const ArmSummary& summary : summaries) {
    arms.push_back({{"observations", summary.observations},
                    {"weight", summary.weight},
                    {"mean", summary.mean},
                    {"lower", summary.lower},
                    {"upper", summary.upper},
                    {"probability_best", summary.probability_best}});
  }
  return arms;
}

}  // namespace reelflow::optimize
