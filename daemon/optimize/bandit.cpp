#include "optimize/bandit.hpp"

#include <cassert>
#include <cmath>
#include <string>

namespace reelflow::optimize {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t shifted = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= shifted;
  state_[3] = rotl(state_[3], 45);
  return result;
}

std::size_t Rng::below(std::size_t n) {
  assert(n > 0);
  const auto index = static_cast<std::size_t>(uniform() * static_cast<double>(n));
  return index < n ? index : n - 1;
}

double Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u = 0.0, v = 0.0, s = 0.0;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double scale = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * scale;
  has_spare_normal_ = true;
  return u * scale;
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t state = seed ^ (index * 0xd1b54a32d192ed03ULL);
  splitmix64(state);
  return splitmix64(state);
}

GammaSampler::GammaSampler(double shape) : shape_(shape) {
  assert(shape > 0.0);
  const double boosted = shape < 1.0 ? shape + 1.0 : shape;
  d_ = boosted - 1.0 / 3.0;
  c_ = 1.0 / std::sqrt(9.0 * d_);
  inv_shape_ = shape < 1.0 ? 1.0 / shape : 0.0;
}

double GammaSampler::operator()(Rng& rng) const {
  double draw = 0.0;
  for (;;) {
    const double x = rng.normal();
    double v = 1.0 + c_ * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = rng.uniform();
    const double x2 = x * x;
    // The squeeze accepts ~98% of draws without a logarithm.
    if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d_ * (1.0 - v + std::log(v))) {
      draw = d_ * v;
      break;
    }
  }
  if (inv_shape_ != 0.0) draw *= std::pow(rng.uniform(), inv_shape_);
  return draw;
}

double sample_gamma(double shape, Rng& rng) { return GammaSampler(shape)(rng); }

double sample_beta(double a, double b, Rng& rng) {
  const double x = sample_gamma(a, rng);
  const double y = sample_gamma(b, rng);
  return x / (x + y);
}

BanditConfig plain_thompson(std::size_t arms) {
  return BanditConfig{.arms = arms, .floor = 0.0, .min_observations = 0, .discount = 1.0};
}

Result<ThompsonBandit> ThompsonBandit::create(const BanditConfig& config) {
  if (config.arms < 1) return fail("bandit: arms must be at least 1 (got 0)");
  if (!(config.floor >= 0.0) || config.floor * static_cast<double>(config.arms) > 1.0) {
    return fail("bandit: floor must be in [0, 1/arms] = [0, " +
                std::to_string(1.0 / static_cast<double>(config.arms)) + "] (got " +
                std::to_string(config.floor) + ")");
  }
  if (!(config.discount > 0.0 && config.discount <= 1.0)) {
    return fail("bandit: discount must be in (0, 1] (got " + std::to_string(config.discount) + ")");
  }
  return ThompsonBandit(config);
}

ThompsonBandit::ThompsonBandit(const BanditConfig& config)
    : config_(config),
      arms_(config.arms),
      success_samplers_(config.arms, GammaSampler(1.0)),
      failure_samplers_(config.arms, GammaSampler(1.0)) {}

double ThompsonBandit::posterior_mean(std::size_t index) const {
  const ArmState& state = arms_[index];
  return (1.0 + state.successes) / (2.0 + state.successes + state.failures);
}

std::size_t ThompsonBandit::sample_best(Rng& rng) const {
  std::size_t best = 0;
  double best_draw = -1.0;
  for (std::size_t i = 0; i < arms_.size(); ++i) {
    const double x = success_samplers_[i](rng);
    const double y = failure_samplers_[i](rng);
    const double draw = x / (x + y);
    if (draw > best_draw) {
      best_draw = draw;
      best = i;
    }
  }
  return best;
}

std::size_t ThompsonBandit::count_below_minimum() const {
  if (config_.min_observations == 0) return 0;
  std::size_t below = 0;
  for (const ArmState& state : arms_) below += state.observations < config_.min_observations;
  return below;
}

std::size_t ThompsonBandit::choose(Rng& rng) const {
  const double uniform_share = config_.floor * static_cast<double>(arms_.size());
  if (uniform_share > 0.0 && rng.uniform() < uniform_share) return rng.below(arms_.size());
  if (const std::size_t below = count_below_minimum(); below > 0) {
    std::size_t skip = rng.below(below);
    for (std::size_t i = 0; i < arms_.size(); ++i) {
      if (arms_[i].observations >= config_.min_observations) continue;
      if (skip-- == 0) return i;
    }
  }
  return sample_best(rng);
}

double ThompsonBandit::propensity(std::size_t arm, Rng& rng, std::size_t draws) const {
  assert(arm < arms_.size() && draws > 0);
  const double uniform_share = config_.floor * static_cast<double>(arms_.size());
  double rest = 0.0;  // P(arm) when the floor's uniform draw does not happen
  if (const std::size_t below = count_below_minimum(); below > 0) {
    rest =
        arms_[arm].observations < config_.min_observations ? 1.0 / static_cast<double>(below) : 0.0;
  } else {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < draws; ++i) hits += sample_best(rng) == arm;
    rest = static_cast<double>(hits) / static_cast<double>(draws);
  }
  return config_.floor + (1.0 - uniform_share) * rest;
}

void ThompsonBandit::refresh_samplers(std::size_t arm) {
  success_samplers_[arm] = GammaSampler(1.0 + arms_[arm].successes);
  failure_samplers_[arm] = GammaSampler(1.0 + arms_[arm].failures);
}

void ThompsonBandit::apply_discount() {
  if (config_.discount == 1.0) return;
  for (ArmState& state : arms_) {
    state.successes *= config_.discount;
    state.failures *= config_.discount;
  }
}

void ThompsonBandit::observe(std::size_t arm, bool success) {
  assert(arm < arms_.size());
  apply_discount();
  ArmState& state = arms_[arm];
  (success ? state.successes : state.failures) += 1.0;
  ++state.observations;
  if (config_.discount == 1.0) {
    refresh_samplers(arm);
  } else {
    for (std::size_t i = 0; i < arms_.size(); ++i) refresh_samplers(i);
  }
}

void ThompsonBandit::observe_batch(std::span<const std::uint64_t> successes,
                                   std::span<const std::uint64_t> failures) {
  assert(successes.size() == arms_.size() && failures.size() == arms_.size());
  apply_discount();
  for (std::size_t i = 0; i < arms_.size(); ++i) {
    ArmState& state = arms_[i];
    state.successes += static_cast<double>(successes[i]);
    state.failures += static_cast<double>(failures[i]);
    state.observations += successes[i] + failures[i];
    if (config_.discount != 1.0 || successes[i] + failures[i] > 0) refresh_samplers(i);
  }
}

void ThompsonBandit::reset_arm(std::size_t arm) {
  assert(arm < arms_.size());
  arms_[arm] = ArmState{};
  refresh_samplers(arm);
}

}  // namespace reelflow::optimize
