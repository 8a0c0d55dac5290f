#include "optimize/experiments.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "common/iso_time.hpp"

namespace reelflow::optimize {

namespace {

using nlohmann::json;
using store::Millis;

constexpr std::size_t kMaxArms = 50;
constexpr std::size_t kMaxArmName = 200;
constexpr std::size_t kMaxExperimentName = 128;
constexpr std::uint64_t kMaxMinObservations = 1'000'000;
constexpr std::size_t kHistoryDraws = 2000;
constexpr std::size_t kMaxHistoryPoints = 120;
constexpr Millis kDayMs = 86'400'000;

tl::unexpected<Error> option_error(std::string_view option, const std::string& problem) {
  return fail("option `" + std::string(option) + "` " + problem);
}

std::string kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "nothing";
    case json::value_t::boolean:
      return "true/false";
    case json::value_t::string:
      return "text";
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "a mapping";
    default:
      return "a number";
  }
}

// The member, or nullptr when it is absent or null (an option the step did not set).
const json* member(const json& object, const char* name) {
  auto found = object.find(name);
  if (found == object.end() || found->is_null()) return nullptr;
  return &*found;
}

std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

Result<double> number_option(const json& options, const char* name, double fallback) {
  const json* value = member(options, name);
  if (value == nullptr) return fallback;
  if (!value->is_number()) return option_error(name, "must be a number, got " + kind_of(*value));
  const double number = value->get<double>();
  if (!std::isfinite(number)) return option_error(name, "must be a finite number");
  return number;
}

bool valid_experiment_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxExperimentName) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Result<std::vector<Arm>> parse_arms(const json& options) {
  const json* arms = member(options, "arms");
  if (arms == nullptr) {
    return option_error("arms", "is required: a list of at least 2 variants");
  }
  if (!arms->is_array()) {
    return option_error(
        "arms",
        "must be a list of variants (text, or mappings with a `name`), got " + kind_of(*arms));
  }
  if (arms->size() < 2) {
    return option_error(
        "arms", "needs at least 2 variants to choose from, got " + std::to_string(arms->size()));
  }
  if (arms->size() > kMaxArms) {
    return option_error("arms", "may have at most " + std::to_string(kMaxArms) + " variants, got " +
                                    std::to_string(arms->size()));
  }
  std::vector<Arm> list;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < arms->size(); ++i) {
    const json& item = (*arms)[i];
    const std::string where = "item " + std::to_string(i + 1);
    Arm arm;
    arm.value = item;
    if (item.is_string()) {
      arm.name = item.get<std::string>();
    } else if (item.is_number() || item.is_boolean()) {
      arm.name = item.dump();
    } else if (item.is_object()) {
      const json* name = member(item, "name");
      if (name == nullptr || !name->is_string()) {
        return option_error("arms", where + " is a mapping without a `name` (text): every " +
                                        "variant needs a name");
      }
      arm.name = name->get<std::string>();
    } else {
      return option_error(
          "arms",
          where + " must be text, a number or a mapping with a `name`, got " + kind_of(item));
    }
    if (arm.name.empty()) return option_error("arms", where + " has an empty name");
    if (arm.name.size() > kMaxArmName) {
      return option_error(
          "arms", where + "'s name is longer than " + std::to_string(kMaxArmName) + " bytes");
    }
    if (std::any_of(arm.name.begin(), arm.name.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return option_error("arms", where + "'s name contains a control character");
    }
    auto [previous, inserted] = seen.emplace(arm.name, i + 1);
    if (!inserted) {
      return option_error("arms", "has two variants named '" + arm.name + "' (items " +
                                      std::to_string(previous->second) + " and " +
                                      std::to_string(i + 1) + "): names must differ");
    }
    list.push_back(std::move(arm));
  }
  return list;
}

// FNV-1a: a seed from the decision key that is the same on every platform and run.
std::uint64_t seed_of(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

Millis seconds_to_ms(double seconds) { return static_cast<Millis>(std::llround(seconds * 1000)); }

// The chooser's view of an experiment: its results (inside the window), oldest known first.
struct Model {
  std::vector<Observation> rows;
  std::vector<std::uint64_t> counted;  // results per arm (decisions), for the minimum-data rule
};

Model build_model(const ExperimentConfig& config,
                  const std::vector<store::DecisionOutcomes>& decisions, Millis now,
                  Millis decided_until = std::numeric_limits<Millis>::max()) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < config.arms.size(); ++i) index.emplace(config.arms[i].name, i);
  const Millis window_start = config.window_seconds > 0 ? std::min(now, decided_until) -
                                                              seconds_to_ms(config.window_seconds)
                                                        : std::numeric_limits<Millis>::min();
  Model model;
  model.counted.assign(config.arms.size(), 0);
  for (const auto& outcomes : decisions) {
    const auto& decision = outcomes.decision;
    if (decision.decided_at > decided_until || decision.decided_at < window_start) continue;
    auto arm = index.find(decision.arm);
    if (arm == index.end()) continue;  // an arm the experiment no longer has
    auto result = observation(config, outcomes, now);
    if (!result) continue;
    Observation row;
    row.arm = arm->second;
    row.time = result->known_at;
    if (model_of(config.reward) == RewardModel::bernoulli) {
      row.reward = result->successes;
      row.trials = result->trials;
    } else {
      row.reward = result->value;
      row.trials = 1;
    }
    model.rows.push_back(row);
    ++model.counted[arm->second];
  }
  std::stable_sort(model.rows.begin(), model.rows.end(),
                   [](const Observation& a, const Observation& b) { return a.time < b.time; });
  return model;
}

ChooserConfig chooser_config(const ExperimentConfig& config) {
  ChooserConfig chooser;
  chooser.model = model_of(config.reward);
  chooser.bandit.arms = config.arms.size();
  chooser.bandit.floor = config.floor;
  chooser.bandit.min_observations = 0;  // counted here, in decisions (see the header)
  chooser.bandit.discount = config.discount;
  chooser.bandit.window = 0;  // in time, here
  return chooser;
}

// Arms below the minimum of data.
std::vector<std::size_t> below_minimum(const ExperimentConfig& config, const Model& model) {
  std::vector<std::size_t> below;
  for (std::size_t i = 0; i < model.counted.size(); ++i) {
    if (model.counted[i] < config.min_observations) below.push_back(i);
  }
  return below;
}

// P(choose each arm): the floor's uniform share, then uniform among the arms below the minimum
// of data, or each arm's posterior probability of being best.
std::vector<double> choice_probabilities(const ExperimentConfig& config,
                                         const std::vector<std::size_t>& below,
                                         const std::vector<ArmSummary>& summaries) {
  const double arms = static_cast<double>(config.arms.size());
  const double rest = 1.0 - config.floor * arms;
  std::vector<double> probabilities(config.arms.size(), config.floor);
  if (!below.empty()) {
    for (std::size_t arm : below) probabilities[arm] += rest / static_cast<double>(below.size());
  } else {
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
      probabilities[i] += rest * summaries[i].probability_best;
    }
  }
  return probabilities;
}

std::string day_label(Millis at) { return format_iso_time(at).substr(0, 10); }

json rounded(double value, int digits = 6) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// What `show` and `list` need of one experiment.
struct View {
  ExperimentConfig config;
  store::ExperimentRecord record;
  std::vector<store::DecisionOutcomes> decisions;
  Model model;
  std::vector<ArmSummary> summaries;
  std::vector<double> chance;  // P(the next choice picks each arm)
  std::string phase;
};

Result<View> make_view(store::OptimizeStore& store, const store::ExperimentRecord& record,
                       Millis now) {
  View view;
  view.record = record;
  auto config = parse_config(record.config, record.workflow, "");
  if (!config) {
    return fail("experiment " + record.name +
                ": its stored config is not valid: " + config.error().message);
  }
  view.config = std::move(*config);
  view.config.name = record.name;
  auto decisions = store.decisions_with_outcomes(record.name, 0);
  if (!decisions) return tl::unexpected(decisions.error());
  view.decisions = std::move(*decisions);
  view.model = build_model(view.config, view.decisions, now);
  auto chooser = Chooser::rebuild(chooser_config(view.config), view.model.rows);
  if (!chooser) return tl::unexpected(chooser.error());
  auto summaries = chooser->summary({.level = 0.95, .seed = seed_of(record.name), .draws = 20000});
  if (!summaries) return tl::unexpected(summaries.error());
  view.summaries = std::move(*summaries);
  const auto below = below_minimum(view.config, view.model);
  view.chance = choice_probabilities(view.config, below, view.summaries);
  view.phase = below.empty() ? "thompson" : "minimum-data";
  return view;
}

// The posterior of each arm at points in time: after each day (or each few decisions, when
// they all fall within two days), from the decisions made until then with the results known now.
Result<json> history(const View& view, Millis now) {
  json points = json::array();
  if (view.decisions.empty()) return json{{"by", "decision"}, {"points", std::move(points)}};
  const Millis first = view.decisions.front().decision.decided_at;
  const Millis last = view.decisions.back().decision.decided_at;
  struct Cut {
    Millis until;
    std::size_t decisions;  // made until then
    json x;
    std::string label;
  };
  std::vector<Cut> cuts;
  std::string by;
  if (last - first >= 2 * kDayMs) {
    by = "day";
    const Millis first_day = first - first % kDayMs;
    const Millis days = (last - first_day) / kDayMs + 1;
    const Millis step = (days + static_cast<Millis>(kMaxHistoryPoints) - 1) /
                        static_cast<Millis>(kMaxHistoryPoints);
    std::size_t made = 0;
    for (Millis day = 0; day < days; day += step) {
      const Millis end = first_day + (day + step) * kDayMs - 1;
      const Millis until = std::min(end, last);
      while (made < view.decisions.size() && view.decisions[made].decision.decided_at <= until) {
        ++made;
      }
      cuts.push_back({until, made, json(day), day_label(first_day + day * kDayMs)});
    }
  } else {
    by = "decision";
    const std::size_t total = view.decisions.size();
    const std::size_t step = (total + kMaxHistoryPoints - 1) / kMaxHistoryPoints;
    for (std::size_t made = step; made < total + step; made += step) {
      const std::size_t count = std::min(made, total);
      cuts.push_back({view.decisions[count - 1].decision.decided_at, count, json(count),
                      std::to_string(count)});
      if (count == total) break;
    }
  }
  const ChooserConfig chooser_setup = chooser_config(view.config);
  for (const Cut& cut : cuts) {
    // Decisions are ordered by time; those made at the cut's very millisecond but after its count
    // belong to the next point.
    std::vector<store::DecisionOutcomes> made(
        view.decisions.begin(),
        view.decisions.begin() + static_cast<std::ptrdiff_t>(cut.decisions));
    const Model model = build_model(view.config, made, now, cut.until);
    auto chooser = Chooser::rebuild(chooser_setup, model.rows);
    if (!chooser) return tl::unexpected(chooser.error());
    auto summaries = chooser->summary(
        {.level = 0.95, .seed = seed_of(view.record.name), .draws = kHistoryDraws});
    if (!summaries) return tl::unexpected(summaries.error());
    json arms = json::array();
    for (std::size_t i = 0; i < summaries->size(); ++i) {
      const ArmSummary& s = (*summaries)[i];
      arms.push_back({{"mean", rounded(s.mean)},
                      {"lower", rounded(s.lower)},
                      {"upper", rounded(s.upper)},
                      {"observations", model.counted[i]}});
    }
    points.push_back({{"x", cut.x},
                      {"label", cut.label},
                      {"decisions", cut.decisions},
                      {"arms", std::move(arms)}});
  }
  return json{{"by", by}, {"points", std::move(points)}};
}

json answer_of(const store::DecisionRecord& decision, const ExperimentConfig& config, bool repeat) {
  json index = nullptr;
  for (std::size_t i = 0; i < config.arms.size(); ++i) {
    if (config.arms[i].name == decision.arm) index = i;
  }
  return {{"experiment", decision.experiment},
          {"decision", decision.decision_key},
          {"arm", decision.arm},
          {"index", index},
          {"value", decision.context.value("value", json(decision.arm))},
          {"propensity", decision.propensity},
          {"phase", decision.context.value("phase", "")},
          {"repeat", repeat}};
}

}  // namespace

std::string_view name(Reward reward) {
  switch (reward) {
    case Reward::ctr:
      return "ctr";
    case Reward::cvr:
      return "cvr";
    case Reward::revenue:
      return "revenue";
    case Reward::views_per_hour:
      return "views_per_hour";
    case Reward::weighted:
      return "weighted";
  }
  return "ctr";
}

std::optional<Reward> parse_reward(std::string_view text) {
  for (Reward reward :
       {Reward::ctr, Reward::cvr, Reward::revenue, Reward::views_per_hour, Reward::weighted}) {
    if (name(reward) == text) return reward;
  }
  return std::nullopt;
}

RewardModel model_of(Reward reward) {
  return reward == Reward::ctr || reward == Reward::cvr ? RewardModel::bernoulli
                                                        : RewardModel::gaussian;
}

const std::vector<std::string>& weight_components() {
  static const std::vector<std::string> components = {"views",  "likes",       "comments", "shares",
                                                      "clicks", "conversions", "revenue"};
  return components;
}

std::string Execution::key() const {
  return run_id + "/" + step_id + (item == store::kNoItem ? "" : "/" + std::to_string(item));
}

std::string default_experiment_name(std::string_view workflow, std::string_view step_id) {
  return std::string(workflow) + "." + std::string(step_id);
}

Result<ExperimentConfig> parse_config(const json& options, std::string_view workflow,
                                      std::string_view step_id) {
  if (!options.is_object()) return fail("the options are not a JSON object");
  ExperimentConfig config;
  config.workflow = std::string(workflow);
  if (const json* name = member(options, "experiment");
      name != nullptr && !(name->is_string() && name->get<std::string>().empty())) {
    if (!name->is_string()) {
      return option_error("experiment", "must be text, got " + kind_of(*name));
    }
    config.name = name->get<std::string>();
  } else {
    config.name = default_experiment_name(workflow, step_id);
  }
  if (!valid_experiment_name(config.name)) {
    return option_error("experiment",
                        "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit (it names the experiment in `reelflow optimize show`), "
                        "got '" +
                            config.name + "'");
  }

  auto arms = parse_arms(options);
  if (!arms) return tl::unexpected(arms.error());
  config.arms = std::move(*arms);

  if (const json* reward = member(options, "reward"); reward != nullptr) {
    auto parsed = reward->is_string() ? parse_reward(reward->get<std::string>()) : std::nullopt;
    if (!parsed) {
      return option_error(
          "reward",
          "must be ctr, cvr, revenue, views_per_hour or weighted, got " +
              (reward->is_string() ? "'" + reward->get<std::string>() + "'" : kind_of(*reward)));
    }
    config.reward = *parsed;
  }

  const json* weights = member(options, "weights");
  if (config.reward == Reward::weighted) {
    if (weights == nullptr || !weights->is_object() || weights->empty()) {
      return option_error("weights", "is needed with reward: weighted: a mapping of components " +
                                         std::string("(views, likes, comments, shares, clicks, "
                                                     "conversions, revenue) to their weights"));
    }
    const auto& known = weight_components();
    bool any = false;
    for (const auto& [component, weight] : weights->items()) {
      if (std::find(known.begin(), known.end(), component) == known.end()) {
        return option_error("weights", "has an unknown component '" + component +
                                           "' (known: views, likes, comments, shares, clicks, "
                                           "conversions, revenue)");
      }
      if (!weight.is_number() || !std::isfinite(weight.get<double>())) {
        return option_error("weights",
                            "gives '" + component + "' " + kind_of(weight) + ", not a number");
      }
      config.weights[component] = weight.get<double>();
      any = any || weight.get<double>() != 0;
    }
    if (!any) return option_error("weights", "are all 0: the reward would always be 0");
  } else if (weights != nullptr && !(weights->is_object() && weights->empty())) {
    return option_error("weights", "only applies to reward: weighted (the reward is " +
                                       std::string(name(config.reward)) + ")");
  }

  const double arm_count = static_cast<double>(config.arms.size());
  auto floor = number_option(options, "floor", kDefaultFloor);
  if (!floor) return tl::unexpected(floor.error());
  if (*floor < 0 || *floor * arm_count > 1.0 + 1e-12) {
    return option_error(
        "floor", "must be from 0 to 1/" + std::to_string(config.arms.size()) + " = " +
                     short_number(1.0 / arm_count) + " with " + std::to_string(config.arms.size()) +
                     " arms (each arm gets at least the floor), got " + short_number(*floor));
  }
  config.floor = std::min(*floor, 1.0 / arm_count);

  if (const json* minimum = member(options, "min_observations"); minimum != nullptr) {
    const bool whole = minimum->is_number_integer() ||
                       (minimum->is_number_float() && std::isfinite(minimum->get<double>()) &&
                        std::trunc(minimum->get<double>()) == minimum->get<double>());
    if (!whole || minimum->get<double>() < 0 ||
        minimum->get<double>() > static_cast<double>(kMaxMinObservations)) {
      return option_error("min_observations",
                          "must be a whole number from 0 to " +
                              std::to_string(kMaxMinObservations) + ", got " +
                              (minimum->is_number() ? minimum->dump() : kind_of(*minimum)));
    }
    config.min_observations = static_cast<std::uint64_t>(minimum->get<double>());
  } else {
    config.min_observations = kDefaultMinObservations;
  }

  auto discount = number_option(options, "discount", 1.0);
  if (!discount) return tl::unexpected(discount.error());
  if (!(*discount > 0 && *discount <= 1)) {
    return option_error("discount",
                        "must be above 0 and at most 1 (1 = keep every result; 0.99 = "
                        "a result weighs half after 69 newer ones), got " +
                            short_number(*discount));
  }
  config.discount = *discount;

  auto window = number_option(options, "window", 0);
  if (!window) return tl::unexpected(window.error());
  if (*window < 0) return option_error("window", "must be a positive duration such as 14d");
  if (member(options, "window") != nullptr && *window == 0) {
    return option_error("window",
                        "must be a positive duration such as 14d (leave it out to "
                        "keep every decision)");
  }
  config.window_seconds = *window;
  if (config.window_seconds > 0 && config.discount < 1) {
    return option_error("window", "and option `discount` both forget old results: set one of them");
  }

  auto settle = number_option(options, "settle", 0);
  if (!settle) return tl::unexpected(settle.error());
  if (*settle < 0)
    return option_error("settle", "must be a duration such as 24h, got a negative one");
  config.settle_seconds = *settle;
  return config;
}

Result<Execution> parse_execution(const json& request) {
  if (!request.is_object()) return fail("the request is not a JSON object");
  Execution execution;
  auto text = [&](const char* name, std::string& out, bool required) -> Result<void> {
    const json* value = member(request, name);
    if (value == nullptr || !value->is_string() || value->get<std::string>().empty()) {
      if (!required && (value == nullptr || value->is_string())) return {};
      return fail("the request has no `" + std::string(name) +
                  "` (text): optimize.choose sends its run's");
    }
    out = value->get<std::string>();
    return {};
  };
  if (auto ok = text("run_id", execution.run_id, true); !ok) return tl::unexpected(ok.error());
  if (auto ok = text("step_id", execution.step_id, true); !ok) return tl::unexpected(ok.error());
  if (auto ok = text("workflow", execution.workflow, true); !ok) return tl::unexpected(ok.error());
  if (const json* item = member(request, "item"); item != nullptr) {
    if (!item->is_number_integer() || item->get<std::int64_t>() < 0 ||
        item->get<std::int64_t>() > 1'000'000'000) {
      return fail(
          "the request's `item` must be a for_each item index (a whole number from 0), got " +
          item->dump());
    }
    execution.item = static_cast<int>(item->get<std::int64_t>());
  }
  return execution;
}

json to_json(const ExperimentConfig& config) {
  json arms = json::array();
  for (const Arm& arm : config.arms) arms.push_back(arm.value);
  json out = {{"experiment", config.name},
              {"arms", std::move(arms)},
              {"reward", name(config.reward)},
              {"floor", config.floor},
              {"min_observations", config.min_observations},
              {"discount", config.discount},
              {"window", config.window_seconds > 0 ? json(config.window_seconds) : json(nullptr)},
              {"settle", config.settle_seconds}};
  if (config.reward == Reward::weighted) out["weights"] = config.weights;
  return out;
}

std::optional<DecisionResult> observation(const ExperimentConfig& config,
                                          const store::DecisionOutcomes& outcomes, Millis now) {
  const Millis settled_at = outcomes.decision.decided_at + seconds_to_ms(config.settle_seconds);
  if (now < settled_at) return std::nullopt;
  DecisionResult result;
  result.known_at = std::max(settled_at, outcomes.last_metrics_at);
  switch (config.reward) {
    case Reward::ctr: {
      if (outcomes.posts_with_metrics == 0) return std::nullopt;
      const double views = std::floor(std::max(outcomes.views, 0.0));
      if (views < 1) return std::nullopt;  // nothing seen yet: no trial
      result.trials = static_cast<std::uint64_t>(views);
      result.successes =
          std::min(static_cast<double>(std::max<std::int64_t>(outcomes.clicks, 0)), views);
      return result;
    }
    case Reward::cvr: {
      if (outcomes.clicks < 1) return std::nullopt;
      result.trials = static_cast<std::uint64_t>(outcomes.clicks);
      result.successes = static_cast<double>(std::min(outcomes.conversions, outcomes.clicks));
      return result;
    }
    case Reward::revenue: {
      if (outcomes.posts_with_metrics == 0) return std::nullopt;
      result.value = outcomes.revenue / static_cast<double>(outcomes.posts);
      return result;
    }
    case Reward::views_per_hour: {
      if (outcomes.posts_with_metrics == 0) return std::nullopt;
      result.value = outcomes.views_per_hour / static_cast<double>(outcomes.posts_with_metrics);
      return result;
    }
    case Reward::weighted: {
      if (outcomes.posts_with_metrics == 0) return std::nullopt;
      const std::map<std::string, double> components = {
          {"views", outcomes.views},
          {"likes", outcomes.likes},
          {"comments", outcomes.comments},
          {"shares", outcomes.shares},
          {"clicks", static_cast<double>(outcomes.clicks)},
          {"conversions", static_cast<double>(outcomes.conversions)},
          {"revenue", outcomes.revenue}};
      double sum = 0;
      for (const auto& [component, weight] : config.weights)
        sum += weight * components.at(component);
      result.value = sum / static_cast<double>(outcomes.posts);
      return result;
    }
  }
  return std::nullopt;
}

Result<Choice> choose_arm(const ExperimentConfig& config,
                          const std::vector<store::DecisionOutcomes>& decisions, Millis now,
                          std::uint64_t seed, std::size_t draws) {
  const Model model = build_model(config, decisions, now);
  // The chooser samples the posteriors only: the floor and the minimum of data are applied here,
  // so that one pass of draws gives every arm's probability.
  ChooserConfig thompson = chooser_config(config);
  thompson.bandit.floor = 0;
  auto chooser = Chooser::rebuild(thompson, model.rows);
  if (!chooser) return tl::unexpected(chooser.error());
  const auto below = below_minimum(config, model);
  const std::size_t arms = config.arms.size();
  Choice choice;
  Rng rng(seed);
  std::vector<ArmSummary> best(arms);
  if (below.empty()) {
    choice.phase = "thompson";
    Rng draws_rng(derive_seed(seed, 1));
    std::vector<std::size_t> wins(arms, 0);
    draws = std::max<std::size_t>(draws, 1);
    for (std::size_t i = 0; i < draws; ++i) ++wins[chooser->choose(draws_rng)];
    for (std::size_t i = 0; i < arms; ++i) {
      best[i].probability_best = static_cast<double>(wins[i]) / static_cast<double>(draws);
    }
  } else {
    choice.phase = "minimum-data";
  }
  choice.probabilities = choice_probabilities(config, below, best);
  const double uniform_share = config.floor * static_cast<double>(arms);
  if (rng.uniform() < uniform_share) {
    choice.arm = rng.below(arms);
  } else if (!below.empty()) {
    choice.arm = below[rng.below(below.size())];
  } else {
    choice.arm = chooser->choose(rng);
  }
  choice.propensity = choice.probabilities[choice.arm];
  return choice;
}

Result<json> choose_service(store::OptimizeStore& store, const json& request, Millis now) {
  auto execution = parse_execution(request);
  if (!execution) return tl::unexpected(execution.error());
  auto config = parse_config(request, execution->workflow, execution->step_id);
  if (!config) return tl::unexpected(config.error());
  const std::string key = execution->key();
  auto existing = store.find_decision(key);
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) return answer_of(**existing, *config, true);

  store::ExperimentRecord record{config->name, execution->workflow, to_json(*config), now, now};
  if (auto put = store.put_experiment(record); !put) return tl::unexpected(put.error());
  const Millis since = config->window_seconds > 0 ? now - seconds_to_ms(config->window_seconds) : 0;
  auto decisions = store.decisions_with_outcomes(config->name, since);
  if (!decisions) return tl::unexpected(decisions.error());
  auto choice = choose_arm(*config, *decisions, now, seed_of(key));
  if (!choice) return tl::unexpected(choice.error());

  store::DecisionRecord decision;
  decision.decision_key = key;
  decision.experiment = config->name;
  decision.arm = config->arms[choice->arm].name;
  decision.propensity = choice->propensity;
  decision.run_id = execution->run_id;
  decision.step_id = execution->step_id;
  decision.item = execution->item;
  decision.decided_at = now;
  json probabilities = json::object();
  for (std::size_t i = 0; i < config->arms.size(); ++i) {
    probabilities[config->arms[i].name] = choice->probabilities[i];
  }
  decision.context = {{"workflow", execution->workflow},
                      {"value", config->arms[choice->arm].value},
                      {"phase", choice->phase},
                      {"probabilities", std::move(probabilities)}};
  auto stored = store.record_decision(decision);
  if (!stored) return tl::unexpected(stored.error());
  // Another call with the same key may have stored its decision first: that one stands.
  const bool repeat = stored->decided_at != decision.decided_at || stored->arm != decision.arm;
  return answer_of(*stored, *config, repeat);
}

Result<json> experiments_json(store::OptimizeStore& store, Millis now) {
  auto records = store.list_experiments();
  if (!records) return tl::unexpected(records.error());
  json list = json::array();
  for (const auto& record : *records) {
    auto view = make_view(store, record, now);
    if (!view) {
      list.push_back(
          {{"name", record.name}, {"workflow", record.workflow}, {"error", view.error().message}});
      continue;
    }
    std::size_t leader = 0;
    for (std::size_t i = 1; i < view->summaries.size(); ++i) {
      if (view->summaries[i].probability_best > view->summaries[leader].probability_best)
        leader = i;
    }
    std::int64_t observations = 0;
    for (const auto& outcomes : view->decisions) {
      observations += observation(view->config, outcomes, now).has_value();
    }
    const auto decisions = static_cast<std::int64_t>(view->decisions.size());
    list.push_back({{"name", record.name},
                    {"workflow", record.workflow},
                    {"reward", name(view->config.reward)},
                    {"model", name(model_of(view->config.reward))},
                    {"arms", view->config.arms.size()},
                    {"decisions", decisions},
                    {"observations", observations},
                    {"pending", decisions - observations},
                    {"phase", view->phase},
                    {"leader", view->config.arms[leader].name},
                    {"leader_probability", rounded(view->summaries[leader].probability_best, 4)},
                    {"last_decision_at",
                     view->decisions.empty()
                         ? json(nullptr)
                         : json(format_iso_time(view->decisions.back().decision.decided_at))}});
  }
  return json{{"experiments", std::move(list)}};
}

Result<std::optional<json>> experiment_json(store::OptimizeStore& store,
                                            std::string_view experiment_name, Millis now) {
  auto record = store.get_experiment(experiment_name);
  if (!record) return tl::unexpected(record.error());
  if (!*record) return std::optional<json>();
  auto view = make_view(store, **record, now);
  if (!view) return tl::unexpected(view.error());
  const ExperimentConfig& config = view->config;
  const bool rates = model_of(config.reward) == RewardModel::bernoulli;

  // Raw tallies per arm name, the arms the experiment no longer has included.
  struct Tally {
    std::int64_t pulls = 0, observations = 0;
    double successes = 0, trials = 0, total = 0;
    double last_propensity = 0;
  };
  std::map<std::string, Tally> tallies;
  std::vector<std::string> retired;
  std::int64_t observations = 0;
  for (const auto& outcomes : view->decisions) {
    Tally& tally = tallies[outcomes.decision.arm];
    ++tally.pulls;
    tally.last_propensity = outcomes.decision.propensity;
    if (auto result = observation(config, outcomes, now)) {
      ++tally.observations;
      ++observations;
      tally.successes += result->successes;
      tally.trials += static_cast<double>(result->trials);
      tally.total += result->value;
    }
  }
  json arms = json::array();
  auto arm_json = [&](const std::string& arm_name, const json& value, bool active) {
    const Tally& tally = tallies[arm_name];
    json entry = {
        {"name", arm_name},
        {"value", value},
        {"active", active},
        {"pulls", tally.pulls},
        {"observations", tally.observations},
        {"pending", tally.pulls - tally.observations},
        {"last_propensity", tally.pulls > 0 ? rounded(tally.last_propensity, 4) : json(nullptr)}};
    if (rates) {
      entry["successes"] = tally.successes;
      entry["trials"] = tally.trials;
    } else {
      entry["total"] = rounded(tally.total);
    }
    return entry;
  };
  for (std::size_t i = 0; i < config.arms.size(); ++i) {
    json entry = arm_json(config.arms[i].name, config.arms[i].value, true);
    const ArmSummary& s = view->summaries[i];
    entry["mean"] = rounded(s.mean);
    entry["lower"] = rounded(s.lower);
    entry["upper"] = rounded(s.upper);
    entry["probability_best"] = rounded(s.probability_best, 4);
    entry["chance"] = rounded(view->chance[i], 4);
    arms.push_back(std::move(entry));
  }
  std::set<std::string> active;
  for (const Arm& arm : config.arms) active.insert(arm.name);
  for (const auto& [arm_name, tally] : tallies) {
    if (active.contains(arm_name)) continue;
    json entry = arm_json(arm_name, nullptr, false);
    for (const char* key : {"mean", "lower", "upper", "probability_best", "chance"})
      entry[key] = nullptr;
    arms.push_back(std::move(entry));
  }
  auto over_time = history(*view, now);
  if (!over_time) return tl::unexpected(over_time.error());
  const auto decisions = static_cast<std::int64_t>(view->decisions.size());
  json shown = {{"name", view->record.name},
                {"workflow", view->record.workflow},
                {"reward", name(config.reward)},
                {"model", name(model_of(config.reward))},
                {"config", to_json(config)},
                {"created_at", format_iso_time(view->record.created_at)},
                {"updated_at", format_iso_time(view->record.updated_at)},
                {"decisions", decisions},
                {"observations", observations},
                {"pending", decisions - observations},
                {"phase", view->phase},
                {"arms", std::move(arms)},
                {"history", std::move(*over_time)},
                {"generated_at", format_iso_time(now)}};
  return std::optional<json>(std::move(shown));
}

}  // namespace reelflow::optimize
