#include "optimize/chooser.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace reelflow::optimize {

namespace {

std::string describe(double value) {
  std::string text = std::to_string(value);
  // std::to_string gives 6 decimals; drop the trailing zeros for whole numbers.
  if (const auto dot = text.find('.'); dot != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

}  // namespace

std::string_view name(RewardModel model) {
  return model == RewardModel::gaussian ? "gaussian" : "bernoulli";
}

std::optional<RewardModel> parse_reward_model(std::string_view text) {
  if (text == "bernoulli") return RewardModel::bernoulli;
  if (text == "gaussian") return RewardModel::gaussian;
  return std::nullopt;
}

Result<Chooser> Chooser::create(const ChooserConfig& config) {
  if (config.model == RewardModel::gaussian) {
    auto bandit = GaussianBandit::create(config.bandit);
    if (!bandit) return tl::unexpected(bandit.error());
    return Chooser(config.model, std::move(*bandit));
  }
  auto bandit = ThompsonBandit::create(config.bandit);
  if (!bandit) return tl::unexpected(bandit.error());
  return Chooser(config.model, std::move(*bandit));
}

Result<Chooser> Chooser::rebuild(const ChooserConfig& config,
                                 std::span<const Observation> observations) {
  auto chooser = create(config);
  if (!chooser) return chooser;
  std::vector<std::size_t> order(observations.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t left, std::size_t right) {
    return observations[left].time < observations[right].time;
  });
  for (std::size_t index : order) {
    if (auto observed = chooser->observe(observations[index]); !observed) {
      return fail("observation " + std::to_string(index) + " (time " +
                  std::to_string(observations[index].time) + "): " + observed.error().message);
    }
  }
  return chooser;
}

std::size_t Chooser::arms() const {
  return std::visit([](const auto& bandit) { return bandit.arms(); }, bandit_);
}

const BanditConfig& Chooser::config() const {
  return std::visit([](const auto& bandit) -> const BanditConfig& { return bandit.config(); },
                    bandit_);
}

std::uint64_t Chooser::observations(std::size_t arm) const {
  return std::visit([arm](const auto& bandit) { return bandit.arm(arm).observations; }, bandit_);
}

double Chooser::posterior_mean(std::size_t arm) const {
  return std::visit([arm](const auto& bandit) { return bandit.posterior_mean(arm); }, bandit_);
}

std::size_t Chooser::choose(Rng& rng) const {
  return std::visit([&rng](const auto& bandit) { return bandit.choose(rng); }, bandit_);
}

double Chooser::propensity(std::size_t arm, Rng& rng, std::size_t draws) const {
  return std::visit([&](const auto& bandit) { return bandit.propensity(arm, rng, draws); },
                    bandit_);
}

Result<void> Chooser::observe(const Observation& observation) {
  if (observation.arm >= arms()) {
    return fail("arm " + std::to_string(observation.arm) + " is out of range (" +
                std::to_string(arms()) + " arms)");
  }
  if (auto* bandit = std::get_if<GaussianBandit>(&bandit_)) {
    if (!std::isfinite(observation.reward)) {
      return fail("reward " + describe(observation.reward) + " is not a finite number");
    }
    if (observation.trials != 1) {
      return fail("a gaussian reward is one value; trials must be 1 (got " +
                  std::to_string(observation.trials) + ")");
    }
    bandit->observe(observation.arm, observation.reward);
    return {};
  }
  auto& bandit = std::get<ThompsonBandit>(bandit_);
  const double successes = observation.reward;
  if (observation.trials == 0) return fail("trials must be at least 1 (got 0)");
  if (!(successes >= 0.0) || successes != std::floor(successes) ||
      successes > static_cast<double>(observation.trials)) {
    return fail("a bernoulli reward counts successes: a whole number from 0 to trials = " +
                std::to_string(observation.trials) + " (got " + describe(successes) + ")");
  }
  bandit.observe(observation.arm, static_cast<std::uint64_t>(successes), observation.trials);
  return {};
}

void Chooser::reset_arm(std::size_t arm) {
  std::visit([arm](auto& bandit) { bandit.reset_arm(arm); }, bandit_);
}

Result<std::vector<ArmSummary>> Chooser::summary(const SummaryOptions& options) const {
  if (const auto* bandit = std::get_if<GaussianBandit>(&bandit_)) {
    std::vector<GaussianArmState> arms;
    for (std::size_t i = 0; i < bandit->arms(); ++i) arms.push_back(bandit->arm(i));
    return summarize(std::span<const GaussianArmState>(arms), options);
  }
  const auto& bandit = std::get<ThompsonBandit>(bandit_);
  std::vector<ArmState> arms;
  for (std::size_t i = 0; i < bandit.arms(); ++i) arms.push_back(bandit.arm(i));
  return summarize(std::span<const ArmState>(arms), options);
}

}  // namespace reelflow::optimize
