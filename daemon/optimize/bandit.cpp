#include "optimize/bandit.hpp"

#include <algorithm>
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

// The guards both choosers share. `Arms` is a vector of ArmState or GaussianArmState (both have
// `observations`); `sample_best` is the Thompson step alone.
template <typename Arms>
std::size_t count_below(const BanditConfig& config, const Arms& arms) {
  if (config.min_observations == 0) return 0;
  std::size_t below = 0;
  for (const auto& state : arms) below += state.observations < config.min_observations;
  return below;
}

template <typename Arms, typename SampleBest>
std::size_t choose_guarded(const BanditConfig& config, const Arms& arms, Rng& rng,
                           SampleBest sample_best) {
  const double uniform_share = config.floor * static_cast<double>(arms.size());
  if (uniform_share > 0.0 && rng.uniform() < uniform_share) return rng.below(arms.size());
  if (const std::size_t below = count_below(config, arms); below > 0) {
    std::size_t skip = rng.below(below);
    for (std::size_t i = 0; i < arms.size(); ++i) {
      if (arms[i].observations >= config.min_observations) continue;
      if (skip-- == 0) return i;
    }
  }
  return sample_best(rng);
}

template <typename Arms, typename SampleBest>
double propensity_guarded(const BanditConfig& config, const Arms& arms, std::size_t arm, Rng& rng,
                          std::size_t draws, SampleBest sample_best) {
  assert(arm < arms.size() && draws > 0);
  const double uniform_share = config.floor * static_cast<double>(arms.size());
  double rest = 0.0;  // P(arm) when the floor's uniform draw does not happen
  if (const std::size_t below = count_below(config, arms); below > 0) {
    rest =
        arms[arm].observations < config.min_observations ? 1.0 / static_cast<double>(below) : 0.0;
  } else {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < draws; ++i) hits += sample_best(rng) == arm;
    rest = static_cast<double>(hits) / static_cast<double>(draws);
  }
  return config.floor + (1.0 - uniform_share) * rest;
}

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

Result<void> check_config(const BanditConfig& config) {
  if (config.arms < 1) return fail("bandit: arms must be at least 1 (got 0)");
  if (!(config.floor >= 0.0) || config.floor * static_cast<double>(config.arms) > 1.0) {
    return fail("bandit: floor must be in [0, 1/arms] = [0, " +
                std::to_string(1.0 / static_cast<double>(config.arms)) + "] (got " +
                std::to_string(config.floor) + ")");
  }
  if (!(config.discount > 0.0 && config.discount <= 1.0)) {
    return fail("bandit: discount must be in (0, 1] (got " + std::to_string(config.discount) + ")");
  }
  if (config.window > 0 && config.discount != 1.0) {
    return fail("bandit: use a discount or a window, not both (got discount " +
                std::to_string(config.discount) + " and window " + std::to_string(config.window) +
                ")");
  }
  return {};
}

Result<ThompsonBandit> ThompsonBandit::create(const BanditConfig& config) {
  if (auto checked = check_config(config); !checked) return tl::unexpected(checked.error());
  return ThompsonBandit(config);
}

ThompsonBandit::ThompsonBandit(const BanditConfig& config)
    : config_(config),
      arms_(config.arms),
      success_samplers_(config.arms, GammaSampler(1.0)),
      failure_samplers_(config.arms, GammaSampler(1.0)),
      windows_(config.window > 0 ? config.arms : 0) {}

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

std::size_t ThompsonBandit::count_below_minimum() const { return count_below(config_, arms_); }

std::size_t ThompsonBandit::choose(Rng& rng) const {
  return choose_guarded(config_, arms_, rng, [this](Rng& r) { return sample_best(r); });
}

double ThompsonBandit::propensity(std::size_t arm, Rng& rng, std::size_t draws) const {
  return propensity_guarded(config_, arms_, arm, rng, draws,
                            [this](Rng& r) { return sample_best(r); });
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

void ThompsonBandit::add_to_window(std::size_t arm, double successes, double trials) {
  std::deque<Run>& window = windows_[arm];
  ArmState& state = arms_[arm];
  window.push_back(Run{successes, trials});
  state.successes += successes;
  state.failures += trials - successes;
  const auto limit = static_cast<double>(config_.window);
  double excess = state.successes + state.failures - limit;
  while (excess > 0.0 && !window.empty()) {
    Run& oldest = window.front();
    if (oldest.trials <= excess) {
      excess -= oldest.trials;
      state.successes -= oldest.successes;
      state.failures -= oldest.trials - oldest.successes;
      window.pop_front();
      continue;
    }
    // Cut the oldest run to fit, keeping its success rate (its successes spread evenly).
    const double cut_successes = oldest.successes * (excess / oldest.trials);
    state.successes -= cut_successes;
    state.failures -= excess - cut_successes;
    oldest.successes -= cut_successes;
    oldest.trials -= excess;
    break;
  }
  // Subtraction leaves rounding behind; the runs hold the exact figures.
  if (window.size() == 1 || state.successes < 0.0 || state.failures < 0.0) {
    state.successes = 0.0;
    state.failures = 0.0;
    for (const Run& run : window) {
      state.successes += run.successes;
      state.failures += run.trials - run.successes;
    }
  }
}

void ThompsonBandit::observe(std::size_t arm, bool success) {
  assert(arm < arms_.size());
  apply_discount();
  ArmState& state = arms_[arm];
  if (config_.window > 0) {
    add_to_window(arm, success ? 1.0 : 0.0, 1.0);
  } else {
    (success ? state.successes : state.failures) += 1.0;
  }
  ++state.observations;
  if (config_.discount == 1.0) {
    refresh_samplers(arm);
  } else {
    for (std::size_t i = 0; i < arms_.size(); ++i) refresh_samplers(i);
  }
}

void ThompsonBandit::observe(std::size_t arm, std::uint64_t successes, std::uint64_t trials) {
  assert(arm < arms_.size() && successes <= trials);
  if (trials == 0) return;
  apply_discount();
  ArmState& state = arms_[arm];
  const auto wins = static_cast<double>(successes);
  const auto tries = static_cast<double>(trials);
  if (config_.window > 0) {
    add_to_window(arm, wins, tries);
  } else {
    state.successes += wins;
    state.failures += tries - wins;
  }
  state.observations += trials;
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
    if (config_.window > 0) {
      if (successes[i] + failures[i] > 0) {
        add_to_window(i, static_cast<double>(successes[i]),
                      static_cast<double>(successes[i] + failures[i]));
      }
    } else {
      state.successes += static_cast<double>(successes[i]);
      state.failures += static_cast<double>(failures[i]);
    }
    state.observations += successes[i] + failures[i];
    if (config_.discount != 1.0 || successes[i] + failures[i] > 0) refresh_samplers(i);
  }
}

void ThompsonBandit::reset_arm(std::size_t arm) {
  assert(arm < arms_.size());
  arms_[arm] = ArmState{};
  if (!windows_.empty()) windows_[arm].clear();
  refresh_samplers(arm);
}

namespace {

// The Normal-Inverse-Gamma posterior of each arm under the pooled prior (see bandit.hpp), into
// `out` (arms.size() elements).
void compute_gaussian_posteriors(std::span<const GaussianArmState> arms, std::span<StudentT> out) {
  double total_weight = 0.0, weighted_sum = 0.0;
  for (const GaussianArmState& state : arms) {
    total_weight += state.weight;
    weighted_sum += state.weight * state.mean;
  }
  double prior_mean = 0.0, prior_variance = 0.0;
  if (total_weight > 0.0) {
    prior_mean = weighted_sum / total_weight;
    double squares = 0.0;  // within the arms plus between them
    for (const GaussianArmState& state : arms) {
      const double offset = state.mean - prior_mean;
      squares += state.m2 + state.weight * offset * offset;
    }
    prior_variance = squares / total_weight;
  }
  if (!(prior_variance > 0.0)) prior_variance = prior_mean != 0.0 ? prior_mean * prior_mean : 1.0;

  for (std::size_t i = 0; i < arms.size(); ++i) {
    const GaussianArmState& state = arms[i];
    const double kappa = 1.0 + state.weight;
    const double location = (prior_mean + state.weight * state.mean) / kappa;
    const double alpha = 1.0 + 0.5 * state.weight;
    const double offset = state.mean - prior_mean;
    const double beta =
        prior_variance + 0.5 * state.m2 + state.weight * offset * offset / (2.0 * kappa);
    out[i] = StudentT{
        .location = location, .scale = std::sqrt(beta / (alpha * kappa)), .dof = 2.0 * alpha};
  }
}

}  // namespace

std::vector<StudentT> gaussian_posteriors(std::span<const GaussianArmState> arms) {
  std::vector<StudentT> posteriors(arms.size());
  compute_gaussian_posteriors(arms, posteriors);
  return posteriors;
}

Result<GaussianBandit> GaussianBandit::create(const BanditConfig& config) {
  if (auto checked = check_config(config); !checked) return tl::unexpected(checked.error());
  return GaussianBandit(config);
}

GaussianBandit::GaussianBandit(const BanditConfig& config)
    : config_(config),
      arms_(config.arms),
      posteriors_(config.arms),
      precision_samplers_(config.arms, GammaSampler(1.0)),
      windows_(config.window > 0 ? config.arms : 0),
      removals_(config.arms, 0) {
  refresh_posteriors();
}

void GaussianBandit::refresh_posteriors() {
  compute_gaussian_posteriors(arms_, posteriors_);
  for (std::size_t i = 0; i < arms_.size(); ++i) {
    precision_samplers_[i] = GammaSampler(0.5 * posteriors_[i].dof);
  }
}

std::size_t GaussianBandit::sample_best(Rng& rng) const {
  std::size_t best = 0;
  double best_draw = -INFINITY;
  for (std::size_t i = 0; i < arms_.size(); ++i) {
    // T = Z / sqrt(chi2_dof / dof) and chi2_dof / dof = Gamma(dof / 2) / (dof / 2).
    const StudentT& posterior = posteriors_[i];
    const double half_dof = 0.5 * posterior.dof;
    const double z = rng.normal();
    const double gamma = precision_samplers_[i](rng);
    const double draw = posterior.location + posterior.scale * z * std::sqrt(half_dof / gamma);
    if (i == 0 || draw > best_draw) {
      best_draw = draw;
      best = i;
    }
  }
  return best;
}

std::size_t GaussianBandit::count_below_minimum() const { return count_below(config_, arms_); }

std::size_t GaussianBandit::choose(Rng& rng) const {
  return choose_guarded(config_, arms_, rng, [this](Rng& r) { return sample_best(r); });
}

double GaussianBandit::propensity(std::size_t arm, Rng& rng, std::size_t draws) const {
  return propensity_guarded(config_, arms_, arm, rng, draws,
                            [this](Rng& r) { return sample_best(r); });
}

void GaussianBandit::recompute_from_window(std::size_t arm) {
  GaussianArmState& state = arms_[arm];
  const std::deque<double>& window = windows_[arm];
  state.weight = static_cast<double>(window.size());
  state.mean = 0.0;
  state.m2 = 0.0;
  if (window.empty()) return;
  double sum = 0.0;
  for (double reward : window) sum += reward;
  state.mean = sum / state.weight;
  for (double reward : window) state.m2 += (reward - state.mean) * (reward - state.mean);
}

void GaussianBandit::add_to_window(std::size_t arm, double reward) {
  GaussianArmState& state = arms_[arm];
  std::deque<double>& window = windows_[arm];
  window.push_back(reward);
  if (window.size() <= config_.window) return;
  // Welford's update run backwards removes the oldest reward; the rounding it leaves behind is
  // cleared by an exact recomputation once per `window` removals (amortized O(1)).
  const double oldest = window.front();
  window.pop_front();
  if (++removals_[arm] >= config_.window) {
    removals_[arm] = 0;
    recompute_from_window(arm);
    return;
  }
  const double remaining = state.weight - 1.0;
  const double old_mean = state.mean;
  state.mean = old_mean - (oldest - old_mean) / remaining;
  state.m2 = std::max(0.0, state.m2 - (oldest - state.mean) * (oldest - old_mean));
  state.weight = remaining;
}

void GaussianBandit::observe(std::size_t arm, double reward) {
  assert(arm < arms_.size() && std::isfinite(reward));
  if (config_.discount != 1.0) {
    // Weights times discount: the weighted mean stays, the weight and the squares shrink.
    for (GaussianArmState& state : arms_) {
      state.weight *= config_.discount;
      state.m2 *= config_.discount;
    }
  }
  // Welford's update with weight 1 (for a window, the reward joins before the oldest leaves).
  GaussianArmState& state = arms_[arm];
  state.weight += 1.0;
  const double delta = reward - state.mean;
  state.mean += delta / state.weight;
  state.m2 += delta * (reward - state.mean);
  if (config_.window > 0) add_to_window(arm, reward);
  ++state.observations;
  refresh_posteriors();
}

void GaussianBandit::reset_arm(std::size_t arm) {
  assert(arm < arms_.size());
  arms_[arm] = GaussianArmState{};
  if (!windows_.empty()) windows_[arm].clear();
  removals_[arm] = 0;
  refresh_posteriors();
}

}  // namespace reelflow::optimize
