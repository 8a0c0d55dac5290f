// Experiments over variants (issue 8): what the optimize.choose step declares, how a decision's
// joined outcomes become a reward, the choice of an arm with its propensity, and what
// `reelflow optimize list|show` and GET /v1/experiments[/<name>] report.
//
// An experiment is a named set of arms (variants: a cover, a caption template, a preset, a slot)
// and a reward. Each execution of an optimize.choose step is one decision: the arm chosen for that
// publication, stored with its propensity (the probability the chooser gave it) under the
// execution's key, so a retry or restart returns the same arm. Rewards arrive later (delayed
// feedback): store/optimize_store.hpp joins each decision to the posts, metrics, clicks and
// conversions of its run; observation() says whether that is a result yet and which:
//
//   reward          model      a decision counts once                     its result
//   ctr             rate       its posts' metrics show views              human clicks out of views
//   cvr             rate       its links have a human click               conversions out of clicks
//   revenue         continuous its posts have metrics                     revenue per post
//   views_per_hour  continuous its posts have metrics                     views per hour per post
//   weighted        continuous its posts have metrics                     sum of weight * component
//                                                                          per post
// and in every case only once `settle` has passed since the decision (time for late clicks and
// conversions). Until then the decision is pending: it counts as a pull, never as a failure.
//
// The choice (choose_arm) rebuilds a Chooser (chooser.hpp) from the results, oldest known first:
// Beta-Bernoulli arms for rates, Gaussian (Normal-Inverse-Gamma) arms for continuous rewards, with
// the exploration floor and discounting done there; the sliding window is in time (decisions made
// within `window` before now), and the minimum of data counts decisions with a result per arm
// (not views or clicks), so it means the same for every reward.
//
// Thread-safety: pure functions, except those taking an OptimizeStore, which is itself safe for
// concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "optimize/chooser.hpp"
#include "store/optimize_store.hpp"

namespace reelflow::optimize {

enum class Reward { ctr, cvr, revenue, views_per_hour, weighted };

std::string_view name(Reward reward);
std::optional<Reward> parse_reward(std::string_view text);
// ctr and cvr are rates (bernoulli); the others continuous (gaussian).
RewardModel model_of(Reward reward);

// The components a weighted reward may weigh (per post): views, likes, comments, shares, clicks,
// conversions, revenue.
const std::vector<std::string>& weight_components();

struct Arm {
  std::string name;
  nlohmann::json value;  // what the step outputs: the string, number or object as declared
};

struct ExperimentConfig {
  std::string name;
  std::string workflow;
  std::vector<Arm> arms;
  Reward reward = Reward::ctr;
  std::map<std::string, double> weights;  // weighted only
  double floor = 0.01;
  std::uint64_t min_observations = 5;  // decisions with a result, per arm
  double discount = 1.0;               // per result, in (0, 1]
  double window_seconds = 0;           // 0: every decision counts
  double settle_seconds = 0;
};

// The defaults of the step's options (one place for the plugin's table, the docs and the tests).
inline constexpr double kDefaultFloor = 0.01;
inline constexpr std::uint64_t kDefaultMinObservations = 5;

// The execution a decision belongs to.
struct Execution {
  std::string workflow;
  std::string run_id;
  std::string step_id;
  int item = store::kNoItem;  // the for_each item index, or kNoItem

  // "<run id>/<step id>[/<item>]", as track.link keys its links.
  std::string key() const;
};

// The experiment name when the step gives none: "<workflow>.<step id>".
std::string default_experiment_name(std::string_view workflow, std::string_view step_id);

// The config from the step's options (as optimize.choose sends them: durations in seconds). Every
// error names the option: "option `floor` must be ...".
Result<ExperimentConfig> parse_config(const nlohmann::json& options, std::string_view workflow,
                                      std::string_view step_id);
// The execution from the request: "workflow", "run_id", "step_id", "item" (a number or null).
Result<Execution> parse_execution(const nlohmann::json& request);

// The config as the step's options again, normalized: {"experiment", "arms": [value, ...],
// "reward", "weights" (weighted only), "floor", "min_observations", "discount", "window" (seconds
// or null), "settle" (seconds)}. parse_config() reads it back (stored experiments).
nlohmann::json to_json(const ExperimentConfig& config);

// One decision's result, when it has one.
struct DecisionResult {
  double successes = 0;        // rates
  std::uint64_t trials = 0;    // rates: >= 1
  double value = 0;            // continuous rewards
  store::Millis known_at = 0;  // when it became known (orders the results)
};
// The decision's result as of `now`, or nullopt while it is pending (see the table above).
std::optional<DecisionResult> observation(const ExperimentConfig& config,
                                          const store::DecisionOutcomes& outcomes,
                                          store::Millis now);

struct Choice {
  std::size_t arm = 0;
  double propensity = 0;              // P(this arm) at the moment of the choice
  std::vector<double> probabilities;  // P(each arm), in config order
  std::string phase;                  // "minimum-data" or "thompson"
};

// Chooses an arm from the decisions so far (their outcomes joined as of `now`). The same inputs
// and seed give the same choice. The probabilities' Thompson part is Monte-Carlo over `draws`
// posterior draws (standard error at most 0.5 / sqrt(draws)).
inline constexpr std::size_t kPropensityDraws = 10000;
Result<Choice> choose_arm(const ExperimentConfig& config,
                          const std::vector<store::DecisionOutcomes>& decisions, store::Millis now,
                          std::uint64_t seed, std::size_t draws = kPropensityDraws);

// The daemon service "optimize.choose" (rf_host.call): the request is the step's options plus
// "workflow", "run_id", "step_id" and "item"; the answer {"experiment", "decision", "arm",
// "index", "value", "propensity", "phase", "repeat"}. A decision key seen before answers with
// that decision (repeat: true) and changes nothing.
Result<nlohmann::json> choose_service(store::OptimizeStore& store, const nlohmann::json& request,
                                      store::Millis now);

// GET /v1/experiments: {"experiments": [{"name", "workflow", "reward", "arms", "decisions",
// "observations", "pending", "leader", "leader_probability", "last_decision_at"}]}.
Result<nlohmann::json> experiments_json(store::OptimizeStore& store, store::Millis now);
// GET /v1/experiments/<name>: the experiment with its arms ({"name", "value", "active", "pulls",
// "observations", "pending", "successes", "trials", "total", "mean", "lower", "upper",
// "probability_best", "last_propensity"}) and "history" (posterior mean and 95 % interval per arm
// over time: {"by": "day"|"decision", "points": [{"x", "label", "decisions", "arms": [{"mean",
// "lower", "upper", "observations"}]}]}); nullopt when there is no such experiment.
Result<std::optional<nlohmann::json>> experiment_json(store::OptimizeStore& store,
                                                      std::string_view name, store::Millis now);

}  // namespace reelflow::optimize
