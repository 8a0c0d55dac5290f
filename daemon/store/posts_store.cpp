#include "store/posts_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "store/post_join.hpp"

namespace reelflow::store {

namespace {

using nlohmann::json;

constexpr const char* kLedgerPlugin = "posts";
constexpr std::string_view kLedgerPrefix = "repost/";

std::string video_of(const json& options) {
  if (!options.is_object()) return "";
  auto video = options.find("video");
  return video != options.end() && video->is_string() ? video->get<std::string>() : "";
}

}  // namespace

class PostsStore::Impl {
 public:
  Impl(std::string path, SQLite::Database db) : path_(std::move(path)), db_(std::move(db)) {}

  template <typename Body>
  auto locked(const std::string& what, Body&& body) -> decltype(body()) {
    return guarded_call(mutex_, path_, what, std::forward<Body>(body));
  }

  std::vector<PostPerformance> performance(const PostsFilter& filter) {
    std::vector<PostPerformance> list;
    SQLite::Statement statement(
        db_, std::string("SELECT ") + kPostColumns + ", r.workflow, r.artifacts_purged_at, " +
                 kLatestMetricsColumns +
                 " FROM posts p LEFT JOIN runs r ON r.id = p.run_id "
                 "WHERE p.published_at >= ?1 AND p.published_at <= ?2 "
                 "AND (?3 = '' OR p.platform = ?3) AND (?4 = '' OR p.account = ?4) "
                 "AND (?5 = '' OR r.workflow = ?5) ORDER BY p.published_at, p.idempotency_key");
    statement.bind(1, filter.since);
    statement.bind(2, filter.until);
    statement.bind(3, filter.platform);
    statement.bind(4, filter.account);
    statement.bind(5, filter.workflow);
    SQLite::Statement link(db_, "SELECT campaign, target FROM links WHERE code = ?");
    LinkOutcomeReader outcomes(db_);
    while (statement.executeStep()) {
      PostPerformance entry;
      entry.post = read_post(statement);
      entry.workflow = statement.getColumn(11).isNull() ? "" : statement.getColumn(11).getString();
      if (!statement.getColumn(12).isNull())
        entry.artifacts_purged_at = statement.getColumn(12).getInt64();
      if (!statement.getColumn(13).isNull()) {
        const json metrics = json::parse(statement.getColumn(14).getString(), nullptr, false);
        if (metrics.is_object()) {
          entry.metrics_at = statement.getColumn(13).getInt64();
          entry.views = metric_number(metrics, "views");
          entry.likes = metric_number(metrics, "likes");
          entry.comments = metric_number(metrics, "comments");
          entry.shares = metric_number(metrics, "shares");
        }
      }
      entry.link_code = post_link_code(entry.post.options);
      if (!entry.link_code.empty()) {
        link.bind(1, entry.link_code);
        if (link.executeStep()) {
          entry.campaign = link.getColumn(0).getString();
          entry.target = link.getColumn(1).getString();
        }
        link.reset();
        if (auto outcome = outcomes.read(entry.link_code)) {
          entry.has_link = true;
          entry.clicks = outcome->clicks;
          entry.conversions = outcome->conversions;
          entry.revenue = outcome->revenue;
        }
      }
      if (!filter.campaign.empty() && (!entry.has_link || entry.campaign != filter.campaign)) {
        continue;
      }
      list.push_back(std::move(entry));
    }
    return list;
  }

  std::vector<PostRecord> run_posts(const std::string& run_id) {
    SQLite::Statement statement(db_, std::string("SELECT ") + kPostColumns +
                                         " FROM posts WHERE run_id = ? ORDER BY published_at");
    statement.bind(1, run_id);
    std::vector<PostRecord> posts;
    while (statement.executeStep()) posts.push_back(read_post(statement));
    return posts;
  }

  void record_picks(const std::vector<RepostPick>& picks) {
    SQLite::Transaction transaction(db_);
    SQLite::Statement statement(db_,
                                "INSERT INTO plugin_state (plugin, key, value) VALUES (?1, ?2, ?3) "
                                "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value");
    for (const RepostPick& pick : picks) {
      statement.bind(1, kLedgerPlugin);
      statement.bind(2, std::string(kLedgerPrefix) + pick.run_id + "/" + pick.post_key);
      statement.bind(3, json{{"post", pick.post_key},
                             {"run_id", pick.run_id},
                             {"step_id", pick.step_id},
                             {"video", pick.video},
                             {"at", pick.at}}
                            .dump());
      statement.exec();
      statement.reset();
    }
    transaction.commit();
  }

  std::vector<RepostPick> reposted_since(Millis since, const std::string& except_run) {
    std::vector<RepostPick> picks;
    {
      // Keys "repost/..." sort between "repost/" and "repost0" ('0' follows '/').
      SQLite::Statement statement(
          db_, "SELECT value FROM plugin_state WHERE plugin = ?1 AND key > ?2 AND key < ?3");
      statement.bind(1, kLedgerPlugin);
      statement.bind(2, std::string(kLedgerPrefix));
      statement.bind(3, std::string(kLedgerPrefix.substr(0, kLedgerPrefix.size() - 1)) + "0");
      while (statement.executeStep()) {
        const json value = json::parse(statement.getColumn(0).getString(), nullptr, false);
        if (!value.is_object()) continue;
        RepostPick pick;
        pick.post_key = value.value("post", "");
        pick.run_id = value.value("run_id", "");
        pick.step_id = value.value("step_id", "");
        pick.video = value.value("video", "");
        pick.at = value.value("at", Millis{0});
        if (pick.at < since || pick.run_id == except_run || pick.video.empty()) continue;
        picks.push_back(std::move(pick));
      }
    }
    std::vector<RepostPick> reposted;
    SQLite::Statement posts(db_, "SELECT options_json FROM posts WHERE run_id = ?");
    for (RepostPick& pick : picks) {
      posts.bind(1, pick.run_id);
      bool published = false;
      while (!published && posts.executeStep()) {
        published =
            video_of(json::parse(posts.getColumn(0).getString(), nullptr, false)) == pick.video;
      }
      posts.reset();
      if (published) reposted.push_back(std::move(pick));
    }
    return reposted;
  }

 private:
  std::string path_;
  std::mutex mutex_;
  SQLite::Database db_;
};

Result<std::unique_ptr<PostsStore>> PostsStore::open(const std::filesystem::path& path,
                                                     int busy_timeout_ms) {
  const std::string name = path.string();
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE, busy_timeout_ms);
    db.exec("PRAGMA synchronous = FULL");
    if (db.execAndGet("PRAGMA user_version").getInt() < 5) {
      return fail(name + ": the database has no posts and links yet (schema version below 5)");
    }
    return std::unique_ptr<PostsStore>(new PostsStore(std::make_unique<Impl>(name, std::move(db))));
  } catch (const std::exception& e) {
    return fail(name + ": cannot open the posts: " + e.what());
  }
}

PostsStore::PostsStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostsStore::~PostsStore() = default;

Result<std::vector<PostPerformance>> PostsStore::performance(const PostsFilter& filter) {
  return impl_->locked("rank the posts", [&]() -> Result<std::vector<PostPerformance>> {
    return impl_->performance(filter);
  });
}

Result<std::vector<PostRecord>> PostsStore::run_posts(std::string_view run_id) {
  const std::string id(run_id);
  return impl_->locked("read the posts of run " + id,
                       [&]() -> Result<std::vector<PostRecord>> { return impl_->run_posts(id); });
}

Result<void> PostsStore::record_picks(const std::vector<RepostPick>& picks) {
  return impl_->locked("record the posts picked for re-posting", [&]() -> Result<void> {
    impl_->record_picks(picks);
    return {};
  });
}

Result<std::vector<RepostPick>> PostsStore::reposted_since(Millis since,
                                                           std::string_view except_run) {
  const std::string except(except_run);
  return impl_->locked(
      "read the posts picked for re-posting",
      [&]() -> Result<std::vector<RepostPick>> { return impl_->reposted_since(since, except); });
}

}  // namespace reelflow::store
