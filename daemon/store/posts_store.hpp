// Published posts ranked by how they did, for the posts.top daemon service (top_posts.hpp): each
// post in a period with its latest metrics pull and what its tracked link brought (post_join.hpp:
// the same counting as the experiments' outcome join), and the ledger of posts picked for
// re-posting, so that a post is not re-posted twice in a row.
//
// The ledger lives in the posts plugin's key-value state (plugin_state, plugin "posts", key
// "repost/<run id>/<post idempotency key>", value {"post", "run_id", "step_id", "video", "at"}):
// one entry per run and post picked. A pick counts as a re-post once the picking run published
// a post of the picked video.
//
// Clicks are read from the clicks table: call TrackStore::import_clicks() first so that the
// clicks already logged are in it.
//
// Thread-safety: every call may come from any thread (one mutex-guarded connection).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/store.hpp"

namespace reelflow::store {

// Which posts: published_at in [since, until]; each text filter empty for any.
struct PostsFilter {
  Millis since = 0;
  Millis until = 0;
  std::string platform;
  std::string account;
  std::string campaign;  // the campaign of the tracked link the post carried
  std::string workflow;  // the workflow of the run that published it
};

// A post and what is known of how it did.
struct PostPerformance {
  PostRecord post;
  std::string workflow;                       // of the run that published it
  std::optional<Millis> artifacts_purged_at;  // when that run's files were purged
  std::optional<Millis> metrics_at;           // the latest metrics pull; nullopt: none yet
  double views = 0, likes = 0, comments = 0, shares = 0;  // of that pull
  bool has_link = false;  // it carried a tracked link the daemon knows
  std::string link_code;
  std::string campaign;          // the link's campaign
  std::string target;            // where the link leads, UTM parameters included
  std::int64_t clicks = 0;       // human, non-duplicate clicks on the link
  std::int64_t conversions = 0;  // attributed to the link
  double revenue = 0;            // their value
};

// One post picked for re-posting.
struct RepostPick {
  std::string post_key;  // the picked post's idempotency key
  std::string run_id;    // the run that picked it
  std::string step_id;
  std::string video;  // the file the run was given to re-post
  Millis at = 0;
};

class PostsStore {
 public:
  // Opens a connection of its own to the daemon's database (already migrated to version 5+).
  static Result<std::unique_ptr<PostsStore>> open(const std::filesystem::path& path,
                                                  int busy_timeout_ms = 5000);
  ~PostsStore();
  PostsStore(const PostsStore&) = delete;
  PostsStore& operator=(const PostsStore&) = delete;

  // Every post the filter takes, oldest first, with its performance.
  Result<std::vector<PostPerformance>> performance(const PostsFilter& filter);
  // Every post published by the run, in the order published.
  Result<std::vector<PostRecord>> run_posts(std::string_view run_id);
  // Writes (replaces) the ledger entry of each picked post, all in one transaction.
  Result<void> record_picks(const std::vector<RepostPick>& picks);
  // Picks made at or after `since` by runs other than `except_run` that published a post whose
  // `video` option is the picked video: the posts re-posted recently.
  Result<std::vector<RepostPick>> reposted_since(Millis since, std::string_view except_run);

 private:
  class Impl;
  explicit PostsStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::store
