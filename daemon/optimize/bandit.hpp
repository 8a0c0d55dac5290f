// Thompson sampling over Beta-Bernoulli arms (issue 8, deliverable 1), with the fast random
// samplers it needs.
//
// An arm's posterior is Beta(1 + successes, 1 + failures) from a uniform prior. choose() draws one
// sample per arm and picks the largest, so each arm is chosen with the posterior probability that
// it is the best. Three guards from GrowthBook's bandits make it fit for production traffic:
//   - an exploration floor: with probability floor * K the choice is uniform, so every arm is
//     chosen with probability at least `floor` (requires floor * K <= 1);
//   - a minimum of data: until every arm has `min_observations` observations, the choice is
//     uniform among the arms that have fewer (no exploiting on a handful of results);
//   - discounting against drift: before each update every arm's successes and failures are
//     multiplied by `discount` (1 = no discounting), so old results fade with a half-life of
//     ln 2 / -ln(discount) updates. The minimum-data rule counts raw observations, not discounted
//     ones, so discounting never sends a chooser back to uniform exploration.
// Plain Thompson sampling (as Chapelle & Li measured it) is floor 0, minimum 0, discount 1.
//
// propensity() estimates the probability that choose() picks an arm, for logging each decision
// (off-policy learning needs it); it is Monte-Carlo and meant for one decision, not a simulation's
// inner loop.
//
// choose() and the updates do not allocate. Thread-safety: one thread at a time per
// ThompsonBandit and per Rng; separate instances are independent.
#pragma once

#include <cstddef>
#include <cstdint>
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
};

// Plain Thompson sampling, as in Chapelle & Li's simulations.
BanditConfig plain_thompson(std::size_t arms);

struct ArmState {
  double successes = 0.0;          // discounted
  double failures = 0.0;           // discounted
  std::uint64_t observations = 0;  // raw count, for the minimum-data rule
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
  // A batch of results revealed together (delayed feedback): discounts every arm once, then adds
  // successes[i] and failures[i] to arm i. Both spans have arms() elements.
  void observe_batch(std::span<const std::uint64_t> successes,
                     std::span<const std::uint64_t> failures);
  // The arm is replaced by a new one: its posterior goes back to the prior.
  void reset_arm(std::size_t arm);

 private:
  explicit ThompsonBandit(const BanditConfig& config);
  void apply_discount();
  void refresh_samplers(std::size_t arm);
  // The Thompson step alone: argmax of one posterior draw per arm.
  std::size_t sample_best(Rng& rng) const;
  // Arms with fewer than min_observations observations, or 0 when every arm has enough.
  std::size_t count_below_minimum() const;

  BanditConfig config_;
  std::vector<ArmState> arms_;
  std::vector<GammaSampler> success_samplers_;  // Gamma(1 + s) per arm
  std::vector<GammaSampler> failure_samplers_;  // Gamma(1 + f) per arm
};

}  // namespace reelflow::optimize
