#include "store/post_join.hpp"

#include "store/track_store.hpp"

namespace reelflow::store {

PostRecord read_post(SQLite::Statement& row) {
  PostRecord post;
  post.idempotency_key = row.getColumn(0).getString();
  post.run_id = row.getColumn(1).getString();
  post.step_id = row.getColumn(2).getString();
  post.item = row.getColumn(3).getInt();
  post.step_type = row.getColumn(4).getString();
  post.platform = row.getColumn(5).getString();
  post.account = row.getColumn(6).getString();
  post.post_id = row.getColumn(7).getString();
  post.url = row.getColumn(8).getString();
  post.published_at = row.getColumn(9).getInt64();
  post.options = nlohmann::json::parse(row.getColumn(10).getString());
  return post;
}

double metric_number(const nlohmann::json& metrics, const char* name) {
  auto found = metrics.find(name);
  return found != metrics.end() && found->is_number() ? found->get<double>() : 0.0;
}

std::string post_link_code(const nlohmann::json& options) {
  if (!options.is_object()) return "";
  auto link = options.find("link");
  if (link == options.end() || !link->is_string()) return "";
  return link_code_of_url(link->get<std::string>());
}

LinkOutcomeReader::LinkOutcomeReader(SQLite::Database& db)
    : link_exists_(db, "SELECT 1 FROM links WHERE code = ?"),
      clicks_(db,
              "SELECT COUNT(*) FROM clicks WHERE code = ? AND kind = 'human' AND duplicate = 0"),
      conversions_(db,
                   "SELECT COUNT(*), COALESCE(SUM(value), 0) FROM conversions WHERE code = ? AND "
                   "attributed = 1") {}

std::optional<LinkOutcome> LinkOutcomeReader::read(const std::string& code) {
  link_exists_.bind(1, code);
  const bool exists = link_exists_.executeStep();
  link_exists_.reset();
  if (!exists) return std::nullopt;
  LinkOutcome outcome;
  clicks_.bind(1, code);
  if (clicks_.executeStep()) outcome.clicks = clicks_.getColumn(0).getInt64();
  clicks_.reset();
  conversions_.bind(1, code);
  if (conversions_.executeStep()) {
    outcome.conversions = conversions_.getColumn(0).getInt64();
    outcome.revenue = conversions_.getColumn(1).getDouble();
  }
  conversions_.reset();
  return outcome;
}

}  // namespace reelflow::store
