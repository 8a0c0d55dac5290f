// optimize.choose's experiments and decisions in the daemon's database (schema version 6), and the
// join that gives each decision its outcomes.
//
// A decision is one choice of an arm for one execution of an optimize.choose step; its key is the
// execution (run id, step id and for_each item), so a retry or a restart finds the decision made
// before instead of choosing again. Rewards are never stored with the decision: they arrive later
// (delayed feedback) and are joined at read time from what the rest of the daemon records about
// the decision's run:
//   - posts: the posts of the same run (posts.run_id) and, for a decision inside for_each, the
//     same item; a decision outside for_each (item kNoItem) owns every post of its run;
//   - metrics: each post's latest pull (post_metrics, the greatest taken_at);
//   - links: the links minted in the same run and item (links.link_key "<run>/<step>[/<item>]",
//     as track.link keys them) and the links the decision's posts carry (their `link` option);
//   - clicks: human, non-duplicate clicks on those links; conversions: the conversions
//     attributed to those links, and their value.
// What counts as an observation (and when) is the reward's business (optimize/experiments.hpp).
//
// Thread-safety: every call may come from any thread (one mutex-guarded connection).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/store.hpp"

namespace reelflow::store {

struct ExperimentRecord {
  std::string name;
  std::string workflow;                              // the workflow that declared it last
  nlohmann::json config = nlohmann::json::object();  // optimize::ExperimentConfig as JSON
  Millis created_at = 0;
  Millis updated_at = 0;
};

struct DecisionRecord {
  std::string decision_key;  // "<run id>/<step id>[/<item>]"
  std::string experiment;
  std::string arm;        // the chosen arm's name
  double propensity = 0;  // the probability that the chooser picked this arm at that moment
  std::string run_id;
  std::string step_id;
  int item = kNoItem;
  Millis decided_at = 0;
  nlohmann::json context = nlohmann::json::object();  // {"workflow", "value", "probabilities"}
};

// What the rest of the daemon knows about a decision's run so far (see the header comment).
struct DecisionOutcomes {
  DecisionRecord decision;
  std::int64_t posts = 0;               // posts of the decision
  std::int64_t posts_with_metrics = 0;  // of those, with at least one metrics pull
  Millis first_published_at = 0;        // 0: no post
  Millis last_metrics_at = 0;           // 0: no metrics
  double views = 0, likes = 0, comments = 0, shares = 0;  // latest pulls, summed over posts
  // Sum over posts with metrics of views / hours of age at the pull (at least a minute).
  double views_per_hour = 0;
  std::int64_t links = 0;
  std::int64_t clicks = 0;       // human, non-duplicate
  std::int64_t conversions = 0;  // attributed to the decision's links
  double revenue = 0;            // their value (currencies are not converted)
};

class OptimizeStore {
 public:
  // Opens a connection of its own to the daemon's database (already migrated to version 6+).
  static Result<std::unique_ptr<OptimizeStore>> open(const std::filesystem::path& path,
                                                     int busy_timeout_ms = 5000);
  ~OptimizeStore();
  OptimizeStore(const OptimizeStore&) = delete;
  OptimizeStore& operator=(const OptimizeStore&) = delete;

  // Inserts or replaces the experiment's workflow and config; created_at is kept from the first.
  Result<void> put_experiment(const ExperimentRecord& experiment);
  Result<std::optional<ExperimentRecord>> get_experiment(std::string_view name);
  // By name.
  Result<std::vector<ExperimentRecord>> list_experiments();

  Result<std::optional<DecisionRecord>> find_decision(std::string_view decision_key);
  // Stores the decision unless its key is stored already; returns the stored one (the earlier
  // decision when the key existed), so concurrent callers agree on one arm.
  Result<DecisionRecord> record_decision(const DecisionRecord& decision);
  // Every decision of the experiment made at or after `since`, oldest first, with the outcomes
  // known so far.
  Result<std::vector<DecisionOutcomes>> decisions_with_outcomes(std::string_view experiment,
                                                                Millis since);
  // Decisions per experiment and the time of the last one: {name: {count, last}}.
  struct DecisionCount {
    std::int64_t decisions = 0;
    Millis last_decided_at = 0;
  };
  Result<std::vector<std::pair<std::string, DecisionCount>>> decision_counts();

 private:
  class Impl;
  explicit OptimizeStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::store
