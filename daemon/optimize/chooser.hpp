// One chooser for either kind of reward (issue 8: optimize.choose), and its rebuilding from
// stored results.
//
// A Chooser is a ThompsonBandit (model `bernoulli`: rates such as CTR and CVR) or a
// GaussianBandit (model `gaussian`: continuous rewards such as views per hour or revenue per
// post) behind one interface; bandit.hpp explains the sampling and the guards (floor, minimum
// data, discount or window).
//
// The daemon keeps decisions and their results in its database, not choosers in memory: to
// decide, the caller reads the experiment's results as Observation rows and calls rebuild(),
// which feeds them in time order exactly as the live updates would have been (one update per row,
// so a discount applies once per row and a window counts each row's results). A result's time is
// when it became known, not when the decision was made: with delayed rewards that is the order
// in which a live chooser would have learned them. Rows with equal times keep their given order.
//
// Thread-safety: one thread at a time per Chooser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "optimize/bandit.hpp"
#include "optimize/posterior.hpp"

namespace reelflow::optimize {

enum class RewardModel {
  bernoulli,  // successes out of trials (Beta posterior)
  gaussian,   // one real-valued reward per observation (Normal-Inverse-Gamma posterior)
};

// "bernoulli" or "gaussian".
std::string_view name(RewardModel model);
// The inverse of name(); nothing for any other text.
std::optional<RewardModel> parse_reward_model(std::string_view text);

struct ChooserConfig {
  RewardModel model = RewardModel::bernoulli;
  BanditConfig bandit;  // arms, floor, min_observations, discount, window
};

// One stored result.
struct Observation {
  std::size_t arm = 0;       // index into the experiment's arms
  double reward = 0.0;       // bernoulli: successes (whole, 0..trials); gaussian: the reward
  std::uint64_t trials = 1;  // bernoulli: results in this row (>= 1); gaussian: must be 1
  std::int64_t time = 0;     // when the result became known, any unit; only the order matters
};

class Chooser {
 public:
  // The error names the setting that is out of range.
  static Result<Chooser> create(const ChooserConfig& config);
  // create(), then observe() each row in time order (stable). The error names the bad setting,
  // or the first bad row by its position and time.
  static Result<Chooser> rebuild(const ChooserConfig& config,
                                 std::span<const Observation> observations);

  RewardModel model() const { return model_; }
  std::size_t arms() const;
  const BanditConfig& config() const;
  // Raw results of the arm (trials or values).
  std::uint64_t observations(std::size_t arm) const;
  double posterior_mean(std::size_t arm) const;

  std::size_t choose(Rng& rng) const;
  // P(choose() == arm): exact for the floor and minimum-data parts, Monte-Carlo for the rest.
  double propensity(std::size_t arm, Rng& rng, std::size_t draws = 10000) const;

  // One result. Errors (the chooser unchanged): arm out of range; bernoulli reward not a whole
  // number from 0 to trials, or trials 0; gaussian reward not finite, or trials other than 1.
  Result<void> observe(const Observation& observation);
  // The arm's variant was replaced: its posterior goes back to the prior.
  void reset_arm(std::size_t arm);

  // Per arm: observations, posterior mean, credible interval, probability of being best.
  Result<std::vector<ArmSummary>> summary(const SummaryOptions& options = {}) const;

  // The underlying chooser of the model, or null.
  const ThompsonBandit* bernoulli() const { return std::get_if<ThompsonBandit>(&bandit_); }
  const GaussianBandit* gaussian() const { return std::get_if<GaussianBandit>(&bandit_); }

 private:
  Chooser(RewardModel model, std::variant<ThompsonBandit, GaussianBandit> bandit)
      : model_(model), bandit_(std::move(bandit)) {}

  RewardModel model_;
  std::variant<ThompsonBandit, GaussianBandit> bandit_;
};

}  // namespace reelflow::optimize
