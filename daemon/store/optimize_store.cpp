#include "store/optimize_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <set>

#include "store/post_join.hpp"
#include "store/track_store.hpp"

namespace reelflow::store {

namespace {

using nlohmann::json;

constexpr const char* kDecisionColumns =
    "d.decision_key, d.experiment, d.arm, d.propensity, d.run_id, d.step_id, d.item, "
    "d.decided_at, d.context_json";

DecisionRecord read_decision(SQLite::Statement& row) {
  DecisionRecord decision;
  decision.decision_key = row.getColumn(0).getString();
  decision.experiment = row.getColumn(1).getString();
  decision.arm = row.getColumn(2).getString();
  decision.propensity = row.getColumn(3).getDouble();
  decision.run_id = row.getColumn(4).getString();
  decision.step_id = row.getColumn(5).getString();
  decision.item = row.getColumn(6).getInt();
  decision.decided_at = row.getColumn(7).getInt64();
  decision.context = json::parse(row.getColumn(8).getString(), nullptr, false);
  if (!decision.context.is_object()) decision.context = json::object();
  return decision;
}

ExperimentRecord read_experiment(SQLite::Statement& row) {
  ExperimentRecord experiment;
  experiment.name = row.getColumn(0).getString();
  experiment.workflow = row.getColumn(1).getString();
  experiment.config = json::parse(row.getColumn(2).getString(), nullptr, false);
  if (!experiment.config.is_object()) experiment.config = json::object();
  experiment.created_at = row.getColumn(3).getInt64();
  experiment.updated_at = row.getColumn(4).getInt64();
  return experiment;
}

// The for_each item a track.link key names: "<run>/<step>/<item>" -> item; "<run>/<step>" ->
// kNoItem; nullopt when the rest of the key after "<run>/" is not of that form.
std::optional<int> item_of_link_key(std::string_view rest) {
  const auto slash = rest.find('/');
  if (slash == 0) return std::nullopt;
  if (slash == std::string_view::npos) return kNoItem;
  const std::string_view digits = rest.substr(slash + 1);
  int item = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), item);
  if (ec != std::errc{} || end != digits.data() + digits.size() || item < 0) return std::nullopt;
  return item;
}

}  // namespace

class OptimizeStore::Impl {
 public:
  Impl(std::string path, SQLite::Database db) : path_(std::move(path)), db_(std::move(db)) {}

  template <typename Body>
  auto guarded(const std::string& what, Body&& body) -> decltype(body()) {
    return guarded_call(mutex_, path_, what, std::forward<Body>(body));
  }

  Result<void> put_experiment(const ExperimentRecord& experiment) {
    return guarded("store experiment " + experiment.name, [&]() -> Result<void> {
      SQLite::Statement statement(
          db_,
          "INSERT INTO experiments (name, workflow, config_json, created_at, updated_at) "
          "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET "
          "workflow = excluded.workflow, config_json = excluded.config_json, "
          "updated_at = excluded.updated_at");
      statement.bind(1, experiment.name);
      statement.bind(2, experiment.workflow);
      statement.bind(3, experiment.config.dump());
      statement.bind(4, experiment.updated_at);
      statement.exec();
      return {};
    });
  }

  Result<std::optional<ExperimentRecord>> get_experiment(std::string_view name) {
    return guarded("read experiment " + std::string(name),
                   [&]() -> Result<std::optional<ExperimentRecord>> {
                     SQLite::Statement statement(
                         db_,
                         "SELECT name, workflow, config_json, created_at, updated_at FROM "
                         "experiments WHERE name = ?");
                     statement.bind(1, std::string(name));
                     if (!statement.executeStep()) return std::optional<ExperimentRecord>();
                     return std::optional<ExperimentRecord>(read_experiment(statement));
                   });
  }

  Result<std::vector<ExperimentRecord>> list_experiments() {
    return guarded("list experiments", [&]() -> Result<std::vector<ExperimentRecord>> {
      SQLite::Statement statement(
          db_,
          "SELECT name, workflow, config_json, created_at, updated_at FROM experiments ORDER BY "
          "name");
      std::vector<ExperimentRecord> list;
      while (statement.executeStep()) list.push_back(read_experiment(statement));
      return list;
    });
  }

  Result<std::optional<DecisionRecord>> find_decision(std::string_view key) {
    return guarded("read decision " + std::string(key),
                   [&]() -> Result<std::optional<DecisionRecord>> { return find_locked(key); });
  }

  Result<DecisionRecord> record_decision(const DecisionRecord& decision) {
    return guarded("record decision " + decision.decision_key, [&]() -> Result<DecisionRecord> {
      SQLite::Statement insert(
          db_,
          "INSERT INTO decisions (decision_key, experiment, arm, propensity, run_id, step_id, "
          "item, decided_at, context_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (decision_key) DO NOTHING");
      insert.bind(1, decision.decision_key);
      insert.bind(2, decision.experiment);
      insert.bind(3, decision.arm);
      insert.bind(4, decision.propensity);
      insert.bind(5, decision.run_id);
      insert.bind(6, decision.step_id);
      insert.bind(7, decision.item);
      insert.bind(8, decision.decided_at);
      insert.bind(9, decision.context.dump());
      insert.exec();
      auto stored = find_locked(decision.decision_key);
      if (!stored) return fail("the decision vanished after it was written");
      return *stored;
    });
  }

  Result<std::vector<DecisionOutcomes>> decisions_with_outcomes(std::string_view experiment,
                                                                Millis since) {
    return guarded("join the outcomes of experiment " + std::string(experiment),
                   [&]() -> Result<std::vector<DecisionOutcomes>> {
                     return join_outcomes(std::string(experiment), since);
                   });
  }

  Result<std::vector<std::pair<std::string, DecisionCount>>> decision_counts() {
    return guarded("count decisions",
                   [&]() -> Result<std::vector<std::pair<std::string, DecisionCount>>> {
                     SQLite::Statement statement(
                         db_,
                         "SELECT experiment, COUNT(*), MAX(decided_at) FROM decisions GROUP BY "
                         "experiment ORDER BY experiment");
                     std::vector<std::pair<std::string, DecisionCount>> counts;
                     while (statement.executeStep()) {
                       counts.emplace_back(statement.getColumn(0).getString(),
                                           DecisionCount{statement.getColumn(1).getInt64(),
                                                         statement.getColumn(2).getInt64()});
                     }
                     return counts;
                   });
  }

 private:
  std::optional<DecisionRecord> find_locked(std::string_view key) {
    SQLite::Statement statement(db_, std::string("SELECT ") + kDecisionColumns +
                                         " FROM decisions d WHERE decision_key = ?");
    statement.bind(1, std::string(key));
    if (!statement.executeStep()) return std::nullopt;
    return read_decision(statement);
  }

  std::vector<DecisionOutcomes> join_outcomes(const std::string& experiment, Millis since) {
    std::vector<DecisionOutcomes> list;
    std::map<std::string, std::size_t> index;  // decision key -> position in list
    {
      SQLite::Statement statement(
          db_, std::string("SELECT ") + kDecisionColumns +
                   " FROM decisions d WHERE d.experiment = ?1 AND d.decided_at >= ?2 "
                   "ORDER BY d.decided_at, d.decision_key");
      statement.bind(1, experiment);
      statement.bind(2, since);
      while (statement.executeStep()) {
        DecisionOutcomes outcomes;
        outcomes.decision = read_decision(statement);
        index.emplace(outcomes.decision.decision_key, list.size());
        list.push_back(std::move(outcomes));
      }
    }
    if (list.empty()) return list;

    // The links of each decision: minted in its run and item, or carried by its posts.
    std::vector<std::set<std::string>> codes(list.size());
    {
      SQLite::Statement statement(
          db_,
          "SELECT d.decision_key, d.run_id, d.item, l.code, l.link_key FROM decisions d "
          "JOIN links l ON l.link_key > d.run_id || '/' AND l.link_key < d.run_id || '0' "
          "WHERE d.experiment = ?1 AND d.decided_at >= ?2");
      statement.bind(1, experiment);
      statement.bind(2, since);
      while (statement.executeStep()) {
        const std::size_t at = index.at(statement.getColumn(0).getString());
        const std::string run_id = statement.getColumn(1).getString();
        const int item = statement.getColumn(2).getInt();
        const std::string link_key = statement.getColumn(4).getString();
        const auto link_item =
            item_of_link_key(std::string_view(link_key).substr(run_id.size() + 1));
        if (!link_item) continue;  // a key of another shape that happens to share the prefix
        if (item != kNoItem && *link_item != item) continue;
        codes[at].insert(statement.getColumn(3).getString());
      }
    }

    // Posts and their latest metrics.
    {
      SQLite::Statement statement(
          db_,
          std::string("SELECT d.decision_key, p.idempotency_key, p.published_at, ") +
              "p.options_json, " + kLatestMetricsColumns +
              " FROM decisions d JOIN posts p ON p.run_id = d.run_id AND (d.item < 0 OR p.item = "
              "d.item) WHERE d.experiment = ?1 AND d.decided_at >= ?2");
      statement.bind(1, experiment);
      statement.bind(2, since);
      while (statement.executeStep()) {
        const std::size_t at = index.at(statement.getColumn(0).getString());
        DecisionOutcomes& outcomes = list[at];
        const Millis published_at = statement.getColumn(2).getInt64();
        ++outcomes.posts;
        if (outcomes.first_published_at == 0 || published_at < outcomes.first_published_at) {
          outcomes.first_published_at = published_at;
        }
        std::string code =
            post_link_code(json::parse(statement.getColumn(3).getString(), nullptr, false));
        if (!code.empty()) codes[at].insert(std::move(code));
        if (statement.getColumn(4).isNull()) continue;
        const Millis taken_at = statement.getColumn(4).getInt64();
        const json metrics = json::parse(statement.getColumn(5).getString(), nullptr, false);
        if (!metrics.is_object()) continue;
        ++outcomes.posts_with_metrics;
        outcomes.last_metrics_at = std::max(outcomes.last_metrics_at, taken_at);
        const double views = metric_number(metrics, "views");
        outcomes.views += views;
        outcomes.likes += metric_number(metrics, "likes");
        outcomes.comments += metric_number(metrics, "comments");
        outcomes.shares += metric_number(metrics, "shares");
        // Views per hour of age when the metrics were taken (at least a minute: a pull right
        // after publishing must not divide by nothing).
        const double hours =
            std::max(static_cast<double>(taken_at - published_at), 60000.0) / 3600000.0;
        outcomes.views_per_hour += views / hours;
      }
    }

    // Clicks and conversions of each decision's links.
    LinkOutcomeReader links(db_);
    for (std::size_t i = 0; i < list.size(); ++i) {
      for (const std::string& code : codes[i]) {
        const auto outcome = links.read(code);
        if (!outcome) continue;
        ++list[i].links;
        list[i].clicks += outcome->clicks;
        list[i].conversions += outcome->conversions;
        list[i].revenue += outcome->revenue;
      }
    }
    return list;
  }

  std::string path_;
  std::mutex mutex_;
  SQLite::Database db_;
};

Result<std::unique_ptr<OptimizeStore>> OptimizeStore::open(const std::filesystem::path& path,
                                                           int busy_timeout_ms) {
  const std::string name = path.string();
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE, busy_timeout_ms);
    db.exec("PRAGMA synchronous = FULL");
    if (db.execAndGet("PRAGMA user_version").getInt() < 6) {
      return fail(name + ": the database has no experiment tables yet (schema version below 6)");
    }
    return std::unique_ptr<OptimizeStore>(
        new OptimizeStore(std::make_unique<Impl>(name, std::move(db))));
  } catch (const std::exception& e) {
    return fail(name + ": cannot open the experiment tables: " + e.what());
  }
}

OptimizeStore::OptimizeStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OptimizeStore::~OptimizeStore() = default;

Result<void> OptimizeStore::put_experiment(const ExperimentRecord& experiment) {
  return impl_->put_experiment(experiment);
}
Result<std::optional<ExperimentRecord>> OptimizeStore::get_experiment(std::string_view name) {
  return impl_->get_experiment(name);
}
Result<std::vector<ExperimentRecord>> OptimizeStore::list_experiments() {
  return impl_->list_experiments();
}
Result<std::optional<DecisionRecord>> OptimizeStore::find_decision(std::string_view key) {
  return impl_->find_decision(key);
}
Result<DecisionRecord> OptimizeStore::record_decision(const DecisionRecord& decision) {
  return impl_->record_decision(decision);
}
Result<std::vector<DecisionOutcomes>> OptimizeStore::decisions_with_outcomes(
    std::string_view experiment, Millis since) {
  return impl_->decisions_with_outcomes(experiment, since);
}
Result<std::vector<std::pair<std::string, OptimizeStore::DecisionCount>>>
OptimizeStore::decision_counts() {
  return impl_->decision_counts();
}

}  // namespace reelflow::store
