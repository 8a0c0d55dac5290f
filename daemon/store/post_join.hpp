// The pieces every read of posts shares: a post row, its latest metrics pull, the code of
// the tracked link it carried, and the human clicks and attributed conversions of a link. The
// experiments' outcome join (optimize_store.cpp) and the best-performers query (posts_store.cpp)
// both build on these, so a post counts the same way in `reelflow optimize show` and in
// posts.top.
//
// Private to daemon/store (it names SQLiteCpp types). Thread-safety: LinkOutcomeReader is used by
// one thread at a time, on a connection its owner guards (guarded_call).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/store.hpp"

namespace reelflow::store {

// Runs `body` (returning a Result) with `mutex` held; an exception (SQLiteCpp's) becomes an
// error naming the database and `what`. For stores with one mutex-guarded connection.
template <typename Body>
auto guarded_call(std::mutex& mutex, const std::string& database, const std::string& what,
                  Body&& body) -> decltype(body()) {
  std::lock_guard lock(mutex);
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(database + ": " + what + ": " + e.what());
  }
}

// The columns of a PostRecord, in the order read_post reads them from a row of `posts`.
inline constexpr const char* kPostColumns =
    "idempotency_key, run_id, step_id, item, step_type, platform, account, post_id, url, "
    "published_at, options_json";
PostRecord read_post(SQLite::Statement& row);

// Two columns for a query over `posts p`: the taken_at and metrics_json of the post's latest pull
// (the greatest taken_at; NULL when it has none).
inline constexpr const char* kLatestMetricsColumns =
    "(SELECT m.taken_at FROM post_metrics m WHERE m.idempotency_key = p.idempotency_key "
    " ORDER BY m.taken_at DESC, m.label LIMIT 1), "
    "(SELECT m.metrics_json FROM post_metrics m WHERE m.idempotency_key = p.idempotency_key "
    " ORDER BY m.taken_at DESC, m.label LIMIT 1)";

// A number member of a metrics object; 0 when absent or not a number.
double metric_number(const nlohmann::json& metrics, const char* name);

// The code of the tracked link in a post's options (its `link` option, a short URL); empty when
// the post carried none.
std::string post_link_code(const nlohmann::json& options);

// What one tracked link brought: human, non-duplicate clicks, and the conversions attributed to
// it with their value (currencies are not converted).
struct LinkOutcome {
  std::int64_t clicks = 0;
  std::int64_t conversions = 0;
  double revenue = 0;
};

// Reads LinkOutcomes with statements prepared once, for loops over many links.
class LinkOutcomeReader {
 public:
  explicit LinkOutcomeReader(SQLite::Database& db);
  // nullopt when no link has this code.
  std::optional<LinkOutcome> read(const std::string& code);

 private:
  SQLite::Statement link_exists_;
  SQLite::Statement clicks_;
  SQLite::Statement conversions_;
};

}  // namespace reelflow::store
