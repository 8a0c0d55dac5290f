// Experiments over variants (optimize/experiments.hpp) on a real SQLite database: config errors
// name the option; delayed rewards are joined to the right decision and arm (posts, their latest
// metrics, clicks on the run's links, attributed conversions) and a decision without outcomes
// yet is pending, never a failure; the exploration floor holds over many choices; a decision key
// seen before returns the same arm, also after the store is opened again.
#include "optimize/experiments.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/optimize_store.hpp"
#include "store/store.hpp"
#include "store/track_store.hpp"

namespace reelflow::optimize {
namespace {

using nlohmann::json;
using store::Millis;

constexpr Millis kStart = 1'780'000'000'000;  // 2026-05-28
constexpr Millis kHour = 3'600'000;
// Posterior draws per choice where many choices are made (the probabilities are then rougher; the
// choices themselves are exact Thompson draws).
constexpr std::size_t kFewDraws = 200;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "reelflow-optimize-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

json request(json options, const std::string& run_id, json item = nullptr,
             const std::string& step_id = "pick") {
  options["workflow"] = "launch";
  options["run_id"] = run_id;
  options["step_id"] = step_id;
  options["item"] = item;
  return options;
}

std::string config_error(const json& options) {
  auto parsed = parse_config(options, "launch", "pick");
  return parsed ? "" : parsed.error().message;
}

// --- config ---------------------------------------------------------------------------------

TEST(ExperimentConfig, DefaultsAndNames) {
  auto config =
      parse_config({{"arms", {"cover-a", "cover-b", {{"name", "warm"}, {"caption", "Hi"}}, 3}}},
                   "launch", "pick");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->name, "launch.pick");
  EXPECT_EQ(config->reward, Reward::ctr);
  EXPECT_DOUBLE_EQ(config->floor, kDefaultFloor);
  EXPECT_EQ(config->min_observations, kDefaultMinObservations);
  EXPECT_DOUBLE_EQ(config->discount, 1.0);
  ASSERT_EQ(config->arms.size(), 4u);
  EXPECT_EQ(config->arms[0].name, "cover-a");
  EXPECT_EQ(config->arms[2].name, "warm");
  EXPECT_EQ(config->arms[2].value["caption"], "Hi");
  EXPECT_EQ(config->arms[3].name, "3");
  // The stored form reads back to the same config.
  auto again = parse_config(to_json(*config), "launch", "other");
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->name, "launch.pick");
  EXPECT_EQ(to_json(*again), to_json(*config));
}

TEST(ExperimentConfig, EveryErrorNamesItsOption) {
  const json arms = {"a", "b", "c"};
  struct Case {
    json options;
    std::string option;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {json::object(), "arms", "required"},
      {{{"arms", "a"}}, "arms", "list"},
      {{{"arms", {"a"}}}, "arms", "at least 2"},
      {{{"arms", {"a", "a"}}}, "arms", "two variants named 'a' (items 1 and 2)"},
      {{{"arms", {"a", {{"caption", "x"}}}}}, "arms", "item 2 is a mapping without a `name`"},
      {{{"arms", {"a", json::array()}}}, "arms", "item 2"},
      {{{"arms", {"a", ""}}}, "arms", "empty name"},
      {{{"arms", arms}, {"floor", 0.5}}, "floor", "0.333333"},
      {{{"arms", arms}, {"floor", -0.1}}, "floor", "from 0"},
      {{{"arms", arms}, {"floor", "high"}}, "floor", "number"},
      {{{"arms", arms}, {"reward", "likes"}}, "reward", "'likes'"},
      {{{"arms", arms}, {"reward", "weighted"}}, "weights", "needed"},
      {{{"arms", arms}, {"reward", "weighted"}, {"weights", {{"hearts", 1}}}},
       "weights",
       "'hearts'"},
      {{{"arms", arms}, {"reward", "weighted"}, {"weights", {{"views", 0}}}}, "weights", "all 0"},
      {{{"arms", arms}, {"weights", {{"views", 1}}}}, "weights", "only applies"},
      {{{"arms", arms}, {"discount", 0}}, "discount", "above 0"},
      {{{"arms", arms}, {"discount", 1.5}}, "discount", "at most 1"},
      {{{"arms", arms}, {"discount", 0.99}, {"window", 86400}}, "window", "discount"},
      {{{"arms", arms}, {"window", 0}}, "window", "positive"},
      {{{"arms", arms}, {"min_observations", 2.5}}, "min_observations", "whole number"},
      {{{"arms", arms}, {"min_observations", -1}}, "min_observations", "whole number"},
      {{{"arms", arms}, {"settle", -5}}, "settle", "negative"},
      {{{"arms", arms}, {"experiment", "has space"}}, "experiment", "'has space'"},
      {{{"arms", arms}, {"experiment", 7}}, "experiment", "text"},
  };
  for (const Case& c : cases) {
    const std::string message = config_error(c.options);
    EXPECT_NE(message.find("option `" + c.option + "`"), std::string::npos)
        << c.options.dump() << " -> " << message;
    EXPECT_NE(message.find(c.detail), std::string::npos) << c.options.dump() << " -> " << message;
  }
  EXPECT_EQ(config_error({{"arms", arms}, {"floor", 1.0 / 3}, {"window", 3600}, {"settle", 0}}),
            "");
}

TEST(ExperimentConfig, ExecutionKeyIsTheRunStepAndItem) {
  auto execution = parse_execution(request({}, "R1", 2));
  ASSERT_TRUE(execution.has_value()) << execution.error().message;
  EXPECT_EQ(execution->key(), "R1/pick/2");
  execution = parse_execution(request({}, "R1"));
  ASSERT_TRUE(execution.has_value());
  EXPECT_EQ(execution->key(), "R1/pick");
  EXPECT_FALSE(parse_execution(request({}, "R1", -1)).has_value());
  EXPECT_FALSE(parse_execution(json{{"step_id", "pick"}, {"workflow", "w"}}).has_value());
}

// --- the reward join, on a real database ----------------------------------------------------

class ExperimentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = store::database_path(dir_.path());
    auto opened = store::open_sqlite_store(path);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    store_ = std::move(*opened);
    auto track = store::TrackStore::open(path, 2000, false);
    ASSERT_TRUE(track.has_value()) << track.error().message;
    track_ = std::move(*track);
    auto optimize = store::OptimizeStore::open(path, 2000);
    ASSERT_TRUE(optimize.has_value()) << optimize.error().message;
    optimize_ = std::move(*optimize);
  }

  void decide(const std::string& run_id, int item, const std::string& arm, Millis at,
              const std::string& experiment = "launch.pick") {
    store::DecisionRecord decision;
    decision.run_id = run_id;
    decision.step_id = "pick";
    decision.item = item;
    decision.decision_key = run_id + "/pick" + (item < 0 ? "" : "/" + std::to_string(item));
    decision.experiment = experiment;
    decision.arm = arm;
    decision.propensity = 0.5;
    decision.decided_at = at;
    auto stored = optimize_->record_decision(decision);
    ASSERT_TRUE(stored.has_value()) << stored.error().message;
  }

  // A link as track.link mints it (key "<run>/<step>[/<item>]"), or with a key of one's own.
  std::string link(const std::string& key) {
    store::Link link;
    link.link_key = key;
    link.target = "https://shop.example/p";
    auto made = track_->create_link(link, kStart);
    EXPECT_TRUE(made.has_value()) << made.error().message;
    return made ? made->code : "";
  }

  void clicks(const std::string& code, int humans, const std::string& kind = "human",
              const std::string& visitor_prefix = "v") {
    std::vector<store::Click> batch;
    for (int i = 0; i < humans; ++i) {
      store::Click click;
      click.id = store::new_click_id(kStart + i);
      click.code = code;
      click.at = kStart + i;
      click.kind = kind;
      click.visitor = visitor_prefix + code + std::to_string(i);
      batch.push_back(click);
    }
    auto logged = track_->log_clicks(batch, kHour);
    ASSERT_TRUE(logged.has_value()) << logged.error().message;
    auto imported = track_->import_clicks();
    ASSERT_TRUE(imported.has_value()) << imported.error().message;
  }

  void conversion(const std::string& code, double value, const std::string& order) {
    store::NewConversion conversion;
    conversion.source = "shop";
    conversion.code = code;
    conversion.event = "purchase";
    conversion.value = value;
    conversion.currency = "EUR";
    conversion.order_id = order;
    conversion.at = kStart + kHour;
    auto recorded = track_->record_conversion(conversion, 7 * 24 * kHour, kStart + kHour);
    ASSERT_TRUE(recorded.has_value()) << recorded.error().message;
  }

  void post(const std::string& run_id, int item, Millis at, const std::string& link_url = "") {
    store::PostRecord post;
    post.run_id = run_id;
    post.step_id = "publish";
    post.item = item;
    post.idempotency_key = run_id + "/publish" + (item < 0 ? "" : "/" + std::to_string(item));
    post.step_type = "folder.publish";
    post.platform = "folder";
    post.account = "brand";
    post.post_id = post.idempotency_key;
    post.published_at = at;
    if (!link_url.empty()) post.options = {{"link", link_url}};
    auto recorded = store_->record_post(post);
    ASSERT_TRUE(recorded.has_value()) << recorded.error().message;
  }

  void metrics(const std::string& run_id, int item, const std::string& label, Millis at,
               double views) {
    const std::string key = run_id + "/publish" + (item < 0 ? "" : "/" + std::to_string(item));
    auto recorded = store_->record_post_metrics(
        key,
        {label, at, {{"views", views}, {"likes", views / 10}, {"comments", 1}, {"shares", 2}}});
    ASSERT_TRUE(recorded.has_value()) << recorded.error().message;
  }

  std::map<std::string, store::DecisionOutcomes> outcomes(
      const std::string& experiment = "launch.pick") {
    auto list = optimize_->decisions_with_outcomes(experiment, 0);
    EXPECT_TRUE(list.has_value()) << list.error().message;
    std::map<std::string, store::DecisionOutcomes> by_key;
    if (list) {
      for (auto& o : *list) by_key.emplace(o.decision.decision_key, o);
    }
    return by_key;
  }

  ExperimentConfig config(json options = json::object()) {
    if (!options.contains("arms")) options["arms"] = {"a", "b"};
    auto parsed = parse_config(options, "launch", "pick");
    EXPECT_TRUE(parsed.has_value()) << parsed.error().message;
    return parsed ? *parsed : ExperimentConfig{};
  }

  json shown(const std::string& name, Millis now) {
    auto shown = experiment_json(*optimize_, name, now);
    EXPECT_TRUE(shown.has_value()) << shown.error().message;
    return shown && *shown ? **shown : json();
  }

  static const json& arm_of(const json& experiment, const std::string& name) {
    for (const auto& arm : experiment.at("arms")) {
      if (arm.at("name") == name) return arm;
    }
    throw std::runtime_error("no arm " + name);
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::TrackStore> track_;
  std::unique_ptr<store::OptimizeStore> optimize_;
};

TEST_F(ExperimentStoreTest, DelayedClicksAndViewsAreJoinedToTheirDecisionOnlyOnceMetricsArrive) {
  const ExperimentConfig ctr = config();
  decide("R1", store::kNoItem, "a", kStart);
  decide("R2", store::kNoItem, "b", kStart + 1);
  // Nothing published yet: both pending.
  for (const auto& [key, o] : outcomes()) EXPECT_FALSE(observation(ctr, o, kStart + kHour)) << key;

  // R1 publishes with a link; people click before any metrics are pulled: still pending, the
  // clicks are not failures and not yet successes either.
  const std::string r1_link = link("R1/link");
  post("R1", store::kNoItem, kStart + 10);
  clicks(r1_link, 7);
  clicks(r1_link, 3, "bot");             // bots are not people
  clicks(r1_link, 2, "human", "again");  // new visitors
  auto joined = outcomes();
  EXPECT_EQ(joined.at("R1/pick").posts, 1);
  EXPECT_EQ(joined.at("R1/pick").clicks, 9);
  EXPECT_EQ(joined.at("R1/pick").posts_with_metrics, 0);
  EXPECT_FALSE(observation(ctr, joined.at("R1/pick"), kStart + kHour));

  // The platform's metrics arrive: now R1 is an observation of arm a, 9 clicks out of 300 views;
  // the later pull replaces the earlier one.
  metrics("R1", store::kNoItem, "1h", kStart + kHour, 120);
  metrics("R1", store::kNoItem, "6h", kStart + 6 * kHour, 300);
  joined = outcomes();
  auto result = observation(ctr, joined.at("R1/pick"), kStart + 7 * kHour);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->trials, 300u);
  EXPECT_DOUBLE_EQ(result->successes, 9);
  EXPECT_EQ(result->known_at, kStart + 6 * kHour);
  // R2 is untouched by R1's clicks.
  EXPECT_EQ(joined.at("R2/pick").clicks, 0);
  EXPECT_FALSE(observation(ctr, joined.at("R2/pick"), kStart + 7 * kHour));

  // Later still, R2's post and a link of its own (a custom key, found through the post's link).
  const std::string r2_link = link("custom-key-for-R2");
  post("R2", store::kNoItem, kStart + 20, "https://go.example/l/" + r2_link);
  clicks(r2_link, 2);
  metrics("R2", store::kNoItem, "1h", kStart + 2 * kHour, 400);
  joined = outcomes();
  result = observation(ctr, joined.at("R2/pick"), kStart + 7 * kHour);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->trials, 400u);
  EXPECT_DOUBLE_EQ(result->successes, 2);

  // The arms' tallies as `reelflow optimize show` reports them.
  ASSERT_TRUE(optimize_->put_experiment({"launch.pick", "launch", to_json(ctr), kStart, kStart}));
  const json experiment = shown("launch.pick", kStart + 7 * kHour);
  EXPECT_EQ(experiment.at("decisions"), 2);
  EXPECT_EQ(experiment.at("observations"), 2);
  EXPECT_EQ(experiment.at("pending"), 0);
  EXPECT_EQ(arm_of(experiment, "a").at("successes"), 9);
  EXPECT_EQ(arm_of(experiment, "a").at("trials"), 300);
  EXPECT_EQ(arm_of(experiment, "b").at("successes"), 2);
  EXPECT_EQ(arm_of(experiment, "b").at("trials"), 400);
  EXPECT_GT(arm_of(experiment, "a").at("probability_best").get<double>(), 0.9);
  EXPECT_NEAR(arm_of(experiment, "a").at("mean").get<double>(), 10.0 / 302, 1e-6);
  EXPECT_LT(arm_of(experiment, "a").at("lower").get<double>(), 9.0 / 300);
  EXPECT_GT(arm_of(experiment, "a").at("upper").get<double>(), 9.0 / 300);
}

TEST_F(ExperimentStoreTest, ForEachDecisionsGetTheirOwnItemsPostsAndLinks) {
  const ExperimentConfig ctr = config();
  decide("R3", 0, "a", kStart);
  decide("R3", 1, "b", kStart);
  const std::string first = link("R3/link/0");
  const std::string second = link("R3/link/1");
  link("R3/link");  // outside for_each: belongs to no single item's decision
  post("R3", 0, kStart);
  post("R3", 1, kStart);
  clicks(first, 4);
  clicks(second, 1);
  metrics("R3", 0, "1h", kStart + kHour, 100);
  auto joined = outcomes();
  EXPECT_EQ(joined.at("R3/pick/0").clicks, 4);
  EXPECT_EQ(joined.at("R3/pick/0").links, 1);
  EXPECT_EQ(joined.at("R3/pick/1").clicks, 1);
  EXPECT_EQ(joined.at("R3/pick/0").posts, 1);
  EXPECT_TRUE(observation(ctr, joined.at("R3/pick/0"), kStart + 2 * kHour));
  EXPECT_FALSE(observation(ctr, joined.at("R3/pick/1"), kStart + 2 * kHour))
      << "item 1 has no metrics yet";
}

TEST_F(ExperimentStoreTest, ConversionsAndRevenueWaitForClicksMetricsAndTheSettleTime) {
  decide("R4", store::kNoItem, "a", kStart);
  const std::string code = link("R4/link");
  post("R4", store::kNoItem, kStart);
  post("R4", 0, kStart);  // a second post of the run (say another platform)

  const ExperimentConfig cvr = config({{"reward", "cvr"}, {"settle", 24 * 3600}});
  auto joined = outcomes();
  EXPECT_FALSE(observation(cvr, joined.at("R4/pick"), kStart + 48 * kHour)) << "no click yet";
  clicks(code, 5);
  conversion(code, 30, "A-1");
  conversion(code, 20, "A-2");
  conversion(code, 20, "A-2");  // the same order again: counted once
  joined = outcomes();
  EXPECT_EQ(joined.at("R4/pick").conversions, 2);
  EXPECT_DOUBLE_EQ(joined.at("R4/pick").revenue, 50);
  EXPECT_FALSE(observation(cvr, joined.at("R4/pick"), kStart + 23 * kHour)) << "still settling";
  auto result = observation(cvr, joined.at("R4/pick"), kStart + 24 * kHour);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->trials, 5u);
  EXPECT_DOUBLE_EQ(result->successes, 2);

  const ExperimentConfig revenue = config({{"reward", "revenue"}});
  EXPECT_FALSE(observation(revenue, joined.at("R4/pick"), kStart + 24 * kHour))
      << "revenue counts once the posts are live (metrics pulled)";
  metrics("R4", store::kNoItem, "1h", kStart + kHour, 50);
  joined = outcomes();
  result = observation(revenue, joined.at("R4/pick"), kStart + 24 * kHour);
  ASSERT_TRUE(result.has_value());
  EXPECT_DOUBLE_EQ(result->value, 25) << "revenue per post: 50 over 2 posts";

  const ExperimentConfig per_hour = config({{"reward", "views_per_hour"}});
  result = observation(per_hour, joined.at("R4/pick"), kStart + 24 * kHour);
  ASSERT_TRUE(result.has_value());
  EXPECT_DOUBLE_EQ(result->value, 50) << "50 views one hour after publishing";

  const ExperimentConfig weighted =
      config({{"reward", "weighted"}, {"weights", {{"clicks", 1}, {"revenue", 0.1}}}});
  result = observation(weighted, joined.at("R4/pick"), kStart + 24 * kHour);
  ASSERT_TRUE(result.has_value());
  EXPECT_DOUBLE_EQ(result->value, (5 * 1 + 50 * 0.1) / 2);
}

// --- choosing ---------------------------------------------------------------------------------

// n decisions of an arm, each with views and clicks (a ctr result).
void add_results(std::vector<store::DecisionOutcomes>& decisions, const std::string& arm, int n,
                 double views, std::int64_t clicks) {
  for (int i = 0; i < n; ++i) {
    store::DecisionOutcomes o;
    o.decision.decision_key = arm + std::to_string(i) + "-" + std::to_string(decisions.size());
    o.decision.arm = arm;
    o.decision.decided_at = kStart + static_cast<Millis>(decisions.size());
    o.posts = 1;
    o.posts_with_metrics = 1;
    o.last_metrics_at = o.decision.decided_at + kHour;
    o.views = views;
    o.clicks = clicks;
    decisions.push_back(o);
  }
}

TEST(ExperimentChoice, TheFloorHoldsOverManyChoices) {
  auto config =
      parse_config({{"arms", {"best", "middle", "worst"}}, {"floor", 0.1}, {"min_observations", 3}},
                   "launch", "pick");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  std::vector<store::DecisionOutcomes> decisions;
  add_results(decisions, "best", 20, 1000, 100);
  add_results(decisions, "middle", 20, 1000, 20);
  add_results(decisions, "worst", 20, 1000, 1);
  constexpr int kChoices = 3000;
  std::map<std::size_t, int> picks;
  for (int i = 0; i < kChoices; ++i) {
    auto choice = choose_arm(*config, decisions, kStart + 10 * kHour,
                             1000 + static_cast<std::uint64_t>(i), kFewDraws);
    ASSERT_TRUE(choice.has_value()) << choice.error().message;
    ++picks[choice->arm];
    ASSERT_EQ(choice->phase, "thompson");
    for (double p : choice->probabilities) ASSERT_GE(p, 0.1 - 1e-12);
  }
  // Each of the two losing arms: at least the floor (0.1 * 3000 = 300; 4 standard deviations of
  // a binomial below that is about 236), and not much more, since the posterior is certain.
  for (std::size_t loser : {1u, 2u}) {
    EXPECT_GT(picks[loser], 236) << "arm " << loser;
    EXPECT_LT(picks[loser], 380) << "arm " << loser;
  }
  EXPECT_GT(picks[0], 2200);

  // Without a floor the worst arm is practically never chosen: the test above can fail.
  config->floor = 0;
  int worst = 0;
  for (int i = 0; i < 500; ++i) {
    auto choice = choose_arm(*config, decisions, kStart + 10 * kHour,
                             5000 + static_cast<std::uint64_t>(i), kFewDraws);
    ASSERT_TRUE(choice.has_value());
    worst += choice->arm == 2;
  }
  EXPECT_LT(worst, 5);
}

TEST(ExperimentChoice, TheMinimumOfDataKeepsChoosingEvenlyAmongArmsShortOfIt) {
  auto config = parse_config({{"arms", {"a", "b", "c"}}, {"floor", 0.0}, {"min_observations", 5}},
                             "launch", "pick");
  ASSERT_TRUE(config.has_value());
  std::vector<store::DecisionOutcomes> decisions;
  add_results(decisions, "a", 50, 1000, 200);  // a looks great, but b and c lack data
  add_results(decisions, "b", 4, 1000, 1);
  add_results(decisions, "c", 1, 1000, 1);
  // Pending decisions (no metrics) do not count towards the minimum.
  store::DecisionOutcomes pending;
  pending.decision.arm = "b";
  pending.decision.decided_at = kStart;
  decisions.push_back(pending);
  std::map<std::size_t, int> picks;
  for (int i = 0; i < 4000; ++i) {
    auto choice =
        choose_arm(*config, decisions, kStart + 10 * kHour, static_cast<std::uint64_t>(i));
    ASSERT_TRUE(choice.has_value());
    ASSERT_EQ(choice->phase, "minimum-data");
    EXPECT_DOUBLE_EQ(choice->probabilities[0], 0.0);
    EXPECT_DOUBLE_EQ(choice->probabilities[1], 0.5);
    ++picks[choice->arm];
  }
  EXPECT_EQ(picks[0], 0);
  EXPECT_NEAR(picks[1], 2000, 200);
  EXPECT_NEAR(picks[2], 2000, 200);
}

TEST(ExperimentChoice, TheReportedPropensityIsHowOftenTheArmIsChosen) {
  auto config = parse_config({{"arms", {"a", "b"}}, {"floor", 0.1}, {"min_observations", 1}},
                             "launch", "pick");
  ASSERT_TRUE(config.has_value());
  std::vector<store::DecisionOutcomes> decisions;
  add_results(decisions, "a", 2, 100, 6);  // close: both arms keep a real chance
  add_results(decisions, "b", 2, 100, 4);
  double reported = 0;
  int chosen = 0;
  constexpr int kChoices = 2000;
  for (int i = 0; i < kChoices; ++i) {
    auto choice = choose_arm(*config, decisions, kStart + 10 * kHour,
                             77 + static_cast<std::uint64_t>(i), 2000);
    ASSERT_TRUE(choice.has_value());
    reported = choice->probabilities[1];
    chosen += choice->arm == 1;
  }
  EXPECT_GT(reported, 0.15);
  EXPECT_LT(reported, 0.6);
  EXPECT_NEAR(static_cast<double>(chosen) / kChoices, reported, 0.04);
}

TEST_F(ExperimentStoreTest, ARepeatedDecisionKeyReturnsTheSameArmAlsoAfterReopening) {
  const json options = {{"arms", {"a", "b", "c"}}, {"min_observations", 0}, {"floor", 0.2}};
  auto first = choose_service(*optimize_, request(options, "R9"), kStart);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->at("decision"), "R9/pick");
  EXPECT_EQ(first->at("experiment"), "launch.pick");
  EXPECT_FALSE(first->at("repeat").get<bool>());
  EXPECT_GE(first->at("propensity").get<double>(), 0.2);
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto again = choose_service(*optimize_, request(options, "R9"), kStart + attempt * kHour);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(again->at("arm"), first->at("arm"));
    EXPECT_EQ(again->at("propensity"), first->at("propensity"));
    EXPECT_TRUE(again->at("repeat").get<bool>());
  }
  // A restart: a new connection to the same file.
  optimize_.reset();
  auto reopened = store::OptimizeStore::open(store::database_path(dir_.path()), 2000);
  ASSERT_TRUE(reopened.has_value());
  optimize_ = std::move(*reopened);
  auto after = choose_service(*optimize_, request(options, "R9"), kStart + 100 * kHour);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->at("arm"), first->at("arm"));
  // Other items and runs are other decisions; the experiment has exactly those.
  ASSERT_TRUE(choose_service(*optimize_, request(options, "R9", 0), kStart).has_value());
  ASSERT_TRUE(choose_service(*optimize_, request(options, "R10"), kStart).has_value());
  const json experiment = shown("launch.pick", kStart + 200 * kHour);
  EXPECT_EQ(experiment.at("decisions"), 3);
  EXPECT_EQ(experiment.at("pending"), 3);
  // Bad options reach the step as the daemon's message, naming the option; nothing is stored.
  auto refused =
      choose_service(*optimize_, request({{"arms", {"a", "b"}}, {"floor", 0.9}}, "R11"), kStart);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("option `floor`"), std::string::npos);
  auto missing = optimize_->find_decision("R11/pick");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(ExperimentStoreTest, ChoicesThroughTheServiceRespectTheFloorAndFollowTheClicks) {
  // 60 executions; after each, its post gets 100 views and arm "b" gets 10 clicks per post,
  // the others 1: the chooser must move to b, while every decision keeps the floor.
  const json options = {{"arms", {"a", "b", "c"}}, {"min_observations", 2}, {"floor", 0.05}};
  std::map<std::string, int> picks;
  for (int i = 0; i < 60; ++i) {
    const std::string run = "S" + std::to_string(100 + i);
    const Millis at = kStart + i * kHour;
    auto answer = choose_service(*optimize_, request(options, run), at);
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    EXPECT_GE(answer->at("propensity").get<double>(), 0.05 - 1e-12);
    const std::string arm = answer->at("arm");
    ++picks[arm];
    const std::string code = link(run + "/link");
    post(run, store::kNoItem, at);
    metrics(run, store::kNoItem, "1h", at + 1, 100);
    clicks(code, arm == "b" ? 10 : 1);
  }
  EXPECT_GT(picks["b"], 30);
  const json experiment = shown("launch.pick", kStart + 100 * kHour);
  EXPECT_EQ(experiment.at("decisions"), 60);
  EXPECT_GT(arm_of(experiment, "b").at("probability_best").get<double>(), 0.95);
  EXPECT_GE(arm_of(experiment, "a").at("chance").get<double>(), 0.05 - 1e-9);
  const json& history = experiment.at("history");
  EXPECT_EQ(history.at("by"), "day");
  ASSERT_GE(history.at("points").size(), 3u);
  EXPECT_EQ(history.at("points").back().at("decisions"), 60);
  // The last point is the current posterior.
  EXPECT_NEAR(history.at("points").back().at("arms").at(1).at("mean").get<double>(),
              arm_of(experiment, "b").at("mean").get<double>(), 1e-9);
  auto list = experiments_json(*optimize_, kStart + 100 * kHour);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->at("experiments").size(), 1u);
  EXPECT_EQ(list->at("experiments")[0].at("leader"), "b");
}

}  // namespace
}  // namespace reelflow::optimize
