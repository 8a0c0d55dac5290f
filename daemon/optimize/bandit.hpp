// Thompson sampling for choosing between variants (issue 8), with the fast random samplers it
// needs. Two choosers share one set of guards:
//   ThompsonBandit  rates (CTR, CVR): Beta-Bernoulli arms, posterior Beta(1 + s, 1 + f) from a
//                   uniform prior.
//   GaussianBandit  continuous rewards (views per hour, revenue per post) with unknown mean and
//                   variance: a Normal-Inverse-Gamma posterior per arm from a weak prior centred
//                   and scaled on the pooled data of all arms (see GaussianBandit below); the
//                   arm's mean then has a Student-t posterior.
// choose() draws one posterior sample of each arm's mean and picks the largest, so each arm is
// chosen with the posterior probability that it is the best. The guards, from GrowthBook's
// bandits, make that fit for production traffic:
//   - an exploration floor: with probability floor * K the choice is uniform, so every arm is
//     chosen with probability at least `floor` (requires floor * K <= 1);
//   - a minimum of data: until every arm has `min_observations` observations, the choice is
//     uniform among the arms that have fewer (no exploiting on a handful of results);
//   - forgetting against drift, one of
//       discount: before each update every arm's statistics are multiplied by `discount`
//         (1 = no discounting), so old results fade with a half-life of ln 2 / -ln(discount)
//         updates, whichever arm they came from;
//       window: only the last `window` observations OF EACH ARM count (0 = all). Per arm, not
//         overall: a chooser that works sends most traffic to one arm, and an overall window
//         would push the other arms' few results out within `window` steps, so their
//         posteriors would fall back to the prior and be re-explored at a rate set by the
//         window instead of by the evidence; per arm, every arm keeps up to `window` results
//         and an arm's results age only when that arm is observed again (the floor keeps even
//         losing arms observed now and then).
//     The minimum-data rule counts raw observations, never discounted or windowed ones, so
//     forgetting never sends a chooser back to uniform exploration.
// An observation is one result: for ThompsonBandit one trial (a publication seen by 5000 people of
// whom 40 clicked is 5000 observations, 40 successes), for GaussianBandit one reward value.
// Plain Thompson sampling (as Chapelle & Li measured it) is floor 0, minimum 0, discount 1,
// window 0.
//
// propensity() estimates the probability that choose() picks an arm, for logging each decision
// (off-policy learning needs it); it is Monte-Carlo and meant for one decision, not a simulation's
// inner loop.
//
// choose() does not allocate; updates do not allocate without a window (with one, the per-arm
// history grows in chunks). Thread-safety: one thread at a time per chooser and per Rng; separate
// instances are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace reelflow::optimize {

// xoshiro256** (Blackman & Vigna) seeded through splitmix64: fast, 2^256 - 1 period, and the same
// stream for the same seed on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in {0, ..., n - 1}; n > 0. Lemire's multiply-shift (bias below 2^-32 for small n).
  std::size_t below(std::size_t n);
  // Standard normal (Marsaglia's polar method; the second value of each pair is kept for the
  // next call).
  double normal();

 private:
  std::uint64_t state_[4];
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

// One element of a seed sequence: a well-mixed 64-bit value from (seed, index), so that
// repetition i of a simulation gets the same stream whichever thread runs it.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);

// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 through Gamma(shape + 1) * U^(1/shape).
// GammaSampler precomputes the constants for one shape, for repeated draws.
class GammaSampler {
 public:
  explicit GammaSampler(double shape = 1.0);
  double operator()(Rng& rng) const;
  double shape() const { return shape_; }

 private:
  double shape_;
  double d_;          // max(shape, shape + 1) - 1/3
  double c_;          // 1 / sqrt(9 d)
  double inv_shape_;  // 1 / shape when shape < 1 (the boost), else 0
};

double sample_gamma(double shape, Rng& rng);
// Beta(a, b) as X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b); a, b > 0.
double sample_beta(double a, double b, Rng& rng);

struct BanditConfig {
  std::size_t arms = 2;
  double floor = 0.01;                 // minimum probability of each arm; floor * arms <= 1
  std::uint64_t min_observations = 0;  // per arm, before exploiting
  double discount = 1.0;               // per update, in (0, 1]
  std::uint64_t window = 0;            // per arm, last observations that count; 0 = all.
                                       // Either a discount below 1 or a window, not both.
};

// Plain Thompson sampling, as in Chapelle & Li's simulations.
BanditConfig plain_thompson(std::size_t arms);

// The error names the setting that is out of range (shared by both choosers).
Result<void> check_config(const BanditConfig& config);

struct ArmState {
  double successes = 0.0;          // discounted or windowed
  double failures = 0.0;           // discounted or windowed
  std::uint64_t observations = 0;  // raw count (trials), for the minimum-data rule
};

class ThompsonBandit {
 public:
  // The error names the setting that is out of range.
  static Result<ThompsonBandit> create(const BanditConfig& config);

  std::size_t arms() const { return arms_.size(); }
  const BanditConfig& config() const { return config_; }
  const ArmState& arm(std::size_t index) const { return arms_[index]; }
  // Posterior mean (1 + s) / (2 + s + f).
  double posterior_mean(std::size_t index) const;

  std::size_t choose(Rng& rng) const;
  // P(choose() == arm): exact for the floor and the minimum-data phase, `draws` Monte-Carlo
  // samples for the Thompson part.
  double propensity(std::size_t arm, Rng& rng, std::size_t draws = 10000) const;

  // One observed reward (true = success), after discounting every arm once.
  void observe(std::size_t arm, bool success);
  // `trials` results of which `successes` succeeded, revealed together (a publication's clicks
  // out of its views): discounts every arm once, then adds them; successes <= trials. With a
  // window the successes are taken as spread evenly through the trials.
  void observe(std::size_t arm, std::uint64_t successes, std::uint64_t trials);
  // A batch of results revealed together (delayed feedback): discounts every arm once, then adds
  // successes[i] and failures[i] to arm i. Both spans have arms() elements.
  void observe_batch(std::span<const std::uint64_t> successes,
                     std::span<const std::uint64_t> failures);
  // The arm is replaced by a new one: its posterior goes back to the prior.
  void reset_arm(std::size_t arm);

 private:
  // A run of results in an arm's window: trials (possibly a fraction after the oldest run was
  // cut to fit the window) of which successes succeeded.
  struct Run {
    double successes;
    double trials;
  };

  explicit ThompsonBandit(const BanditConfig& config);
  void apply_discount();
  // Adds a run to the arm's window and drops the oldest results beyond it.
  void add_to_window(std::size_t arm, double successes, double trials);
  void refresh_samplers(std::size_t arm);
  // The Thompson step alone: argmax of one posterior draw per arm.
  std::size_t sample_best(Rng& rng) const;
  // Arms with fewer than min_observations observations, or 0 when every arm has enough.
  std::size_t count_below_minimum() const;

  BanditConfig config_;
  std::vector<ArmState> arms_;
  std::vector<GammaSampler> success_samplers_;  // Gamma(1 + s) per arm
  std::vector<GammaSampler> failure_samplers_;  // Gamma(1 + f) per arm
  std::vector<std::deque<Run>> windows_;        // per arm, oldest first; empty without a window
};

// Continuous rewards. Per arm the chooser keeps the weighted count w, mean m and sum of squared
// deviations m2 of its rewards (weights 1, times discount^age when discounting; the last `window`
// rewards when windowing). The prior of every arm is Normal-Inverse-Gamma(mu0, kappa0 = 1,
// alpha0 = 1, beta0 = s0^2): worth one observation, centred on the pooled mean mu0 of all arms'
// (weighted) rewards and scaled by their pooled variance s0^2 (empirical Bayes; 1 when there is
// no spread yet, the square of the mean if that is not 0). The scale has to come from the data:
// rewards are views per hour or cents, and a fixed prior variance would be strong for one and
// meaningless for the other. Conjugate update:
//   kappa = 1 + w, mu = (mu0 + w m) / kappa, alpha = 1 + w / 2,
//   beta = s0^2 + m2 / 2 + w (m - mu0)^2 / (2 kappa),
// so the arm's mean is Student-t with 2 alpha degrees of freedom, location mu and scale
// sqrt(beta / (alpha kappa)). An arm without data samples from the prior (t with 2 degrees of
// freedom around the pooled mean, as wide as all the data): wide, so it gets tried.
// Because the prior is pooled, an arm's posterior moves a little when other arms are observed.
struct GaussianArmState {
  double weight = 0.0;             // discounted or windowed count
  double mean = 0.0;               // weighted mean of the rewards (0 when weight is 0)
  double m2 = 0.0;                 // weighted sum of squared deviations from mean
  std::uint64_t observations = 0;  // raw count, for the minimum-data rule
};

// A Student-t distribution: location + scale * T(dof).
struct StudentT {
  double location = 0.0;
  double scale = 1.0;
  double dof = 1.0;
};

// The posterior of each arm's mean under the pooled prior above, in the arms' order.
std::vector<StudentT> gaussian_posteriors(std::span<const GaussianArmState> arms);

class GaussianBandit {
 public:
  // The error names the setting that is out of range.
  static Result<GaussianBandit> create(const BanditConfig& config);

  std::size_t arms() const { return arms_.size(); }
  const BanditConfig& config() const { return config_; }
  const GaussianArmState& arm(std::size_t index) const { return arms_[index]; }
  // The location of the arm's posterior (its mean, shrunk a little toward the pooled mean).
  double posterior_mean(std::size_t index) const { return posteriors_[index].location; }
  const StudentT& posterior(std::size_t index) const { return posteriors_[index]; }

  std::size_t choose(Rng& rng) const;
  // P(choose() == arm), as ThompsonBandit::propensity.
  double propensity(std::size_t arm, Rng& rng, std::size_t draws = 10000) const;

  // One reward (finite; asserted), after discounting every arm once.
  void observe(std::size_t arm, double reward);
  // The arm is replaced by a new one: it forgets its rewards.
  void reset_arm(std::size_t arm);

 private:
  explicit GaussianBandit(const BanditConfig& config);
  void add_to_window(std::size_t arm, double reward);
  void recompute_from_window(std::size_t arm);
  void refresh_posteriors();
  std::size_t sample_best(Rng& rng) const;
  std::size_t count_below_minimum() const;

  BanditConfig config_;
  std::vector<GaussianArmState> arms_;
  std::vector<StudentT> posteriors_;
  std::vector<GammaSampler> precision_samplers_;  // Gamma(dof / 2) per arm, for the t draws
  std::vector<std::deque<double>> windows_;       // per arm, oldest first; empty without a window
  std::vector<std::uint64_t> removals_;           // per arm, since the window was last recomputed
};

}  // namespace reelflow::optimize
