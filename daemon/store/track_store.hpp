// Tracked links, clicks and conversions in the daemon's database, on connections of their own so
// that the redirect server's writes never wait behind the engine's (and the other way round).
//
// Clicks go through a write-ahead click log (click_log.hpp): log_clicks() appends a round of
// clicks to it with one write and returns; the redirect server sends the round's 302s right after
// (with full sync, once the log is synced). A click that got its 302 is therefore in the log, and
// survives kill -9 (and with full sync, power loss; with normal sync the importer syncs the log
// about every second). An importer thread copies the log into the clicks table in large
// transactions and starts the log's next lap when all of it is in the database; at open, what a
// crash left in the log is imported first. A locked or failing database only delays
// the import (the log keeps every click); the log refuses clicks (and the server answers 503) when
// it cannot be written (full disk) or holds more than kMaxClickBacklog bytes that could not be
// imported. No counter row is updated per click: counts are read from the clicks themselves;
// reads of clicks first wait for the import of everything logged before them.
//
// The database must have been opened (and migrated) by open_sqlite_store first.
//
// Thread-safety: log_clicks() from one thread at a time (the server's loop); every other call
// from any thread. Reads and link/conversion writes share one mutex-guarded connection; the
// importer has its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/store.hpp"

namespace reelflow::store {

struct Link {
  std::string code;
  std::string link_key;  // set when a workflow step minted it: one link per key
  std::string target;    // where it redirects, UTM parameters included
  std::string platform;  // utm_source
  std::string campaign;
  std::string variant;   // utm_content
  std::string medium;
  std::string video;     // the video the post carries, for reports by video
  std::string title;
  bool enabled = true;
  Millis created_at = 0;
};

// A new click id: 8 characters of its time (base 62, milliseconds, so ids sort by time and new
// rows append to the table) and 8 random ones (about 48 bits). Thread-safe.
std::string new_click_id(Millis at);

struct Click {
  std::string id;    // the rf_click parameter the redirect appends (new_click_id)
  bool duplicate = false;  // set by log_clicks: a person clicking again within the window
  std::string code;
  Millis at = 0;
  std::string kind;  // "human", "bot", "preview" or "head" (a HEAD request)
  std::string agent; // what the bot or previewer is ("Twitterbot"); empty for people
  std::string visitor;  // a hash of the client address and user agent
  std::string ip;       // anonymised unless the operator keeps raw addresses
  std::string user_agent;
  std::string referer;
};

struct ClickCounts {
  std::int64_t total = 0;      // every recorded click
  std::int64_t human = 0;      // people, first click of a visitor within the duplicate window
  std::int64_t bot = 0;        // bots, crawlers, previewers and HEAD requests
  std::int64_t duplicate = 0;  // people clicking again within the window
};

struct NewConversion {
  std::string source;
  std::string click_id;  // one of click_id and code
  std::string code;
  std::string event;
  double value = 0;
  std::string currency;
  std::string order_id;  // empty: not idempotent
  Millis at = 0;
};

struct ConversionRecord {
  std::int64_t id = 0;
  std::string source;
  std::string order_id;
  std::string event;
  double value = 0;
  std::string currency;
  Millis at = 0;
  std::string click_id;  // the click it is attributed to (may be empty for a code-only postback)
  std::string code;      // the link it is attributed to; empty when unattributed
  bool attributed = false;
};

struct ConversionOutcome {
  ConversionRecord conversion;
  bool duplicate = false;  // the source's order id was recorded before: nothing new was counted
  std::string why_unattributed;  // when conversion.attributed is false
};

struct ReportQuery {
  std::string campaign;  // empty: every campaign
  Millis since = 0;
  std::string by = "platform";  // platform | video | variant | day
};

// Clicks the log may hold beyond what the database took before it refuses new ones.
inline constexpr std::uint64_t kMaxClickBacklog = 256ull << 20;

class TrackStore {
 public:
  // Opens connections of its own to the daemon's database (already migrated to schema 5) and its
  // click log (`<database>-clicks`), importing what the log holds.
  // full_sync: the click log is synced before a round's 302s go out (survives power loss);
  // otherwise clicks survive kill -9 and daemon crashes, and the last ones may be lost on power
  // loss. `warn` hears of import problems (a damaged log tail, a failing database), at most once
  // every 10 seconds per kind.
  static Result<std::unique_ptr<TrackStore>> open(
      const std::filesystem::path& path, int busy_timeout_ms = 5000, bool full_sync = true,
      std::function<void(const std::string&)> warn = nullptr);
  ~TrackStore();  // commits what is queued, then stops the writer
  TrackStore(const TrackStore&) = delete;
  TrackStore& operator=(const TrackStore&) = delete;

  // --- links ---
  // A new link with a fresh unguessable code (12 characters of [0-9A-Za-z], about 71 bits). A
  // link_key seen before returns that key's link unchanged.
  Result<Link> create_link(Link link, Millis now);
  Result<std::optional<Link>> find_link(std::string_view code);
  // Newest first; campaign empty: all.
  Result<std::vector<Link>> list_links(std::string_view campaign, int limit);
  // False when there is no such code.
  Result<bool> set_link_enabled(std::string_view code, bool enabled);
  Result<ClickCounts> click_counts(std::string_view code);

  // --- clicks (write-ahead click log) ---
  // Sets each click's `duplicate` (a "human" click whose visitor clicked the same code within
  // duplicate_window_ms before) and appends them to the click log in one write. On success they
  // survive kill -9 (with full sync: once when_synced() says so); returns the log position after
  // them. On error none of them is kept (full disk, or a backlog the database cannot take): the
  // server answers 503. One thread at a time.
  Result<std::uint64_t> log_clicks(std::span<Click> clicks, Millis duplicate_window_ms);
  bool full_sync() const;
  // Runs `done` on the sync thread once the click log is on disk up to `position`.
  void when_synced(std::uint64_t position, std::function<void(const Result<void>&)> done);
  // Waits until every click logged before the call is in the database, or fails after `timeout`
  // naming why the import is behind (e.g. the database is locked).
  Result<void> import_clicks(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Clicks logged and not yet in the database (for metrics).
  std::size_t clicks_pending() const;
  // Clicks imported into the database, and import transactions, since open.
  std::uint64_t clicks_committed() const;
  std::uint64_t batches_committed() const;

  // --- conversions ---
  // Records a conversion, attributed to the click (if it is no older than
  // attribution_window_ms at the conversion's time) or, for a code, to that link's last click
  // by a person within the window (or the link itself). An order id the source sent before is a
  // duplicate: acknowledged, not counted again. An unknown click or code is an error.
  Result<ConversionOutcome> record_conversion(const NewConversion& conversion,
                                              Millis attribution_window_ms, Millis now);
  Result<std::vector<ConversionRecord>> conversions_of_link(std::string_view code);

  // --- the funnel report (track/report_render.hpp describes its JSON) ---
  Result<nlohmann::json> report(const ReportQuery& query, Millis now);

 private:
  class Impl;
  explicit TrackStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The link code in a short URL ("https://go.example.com/l/Ab3xYz9QwE2r" -> "Ab3xYz9QwE2r"), or
// empty.
std::string link_code_of_url(std::string_view url);

}  // namespace reelflow::store
