#include "store/track_store.hpp"

#include "common/iso_time.hpp"
#include "store/click_log.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

namespace reelflow::store {

namespace {

using nlohmann::json;

constexpr Millis kDayMs = 86400000;

std::string random_code(std::size_t length) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::random_device device;
  std::string code;
  code.reserve(length);
  while (code.size() < length) {
    // Rejection sampling: 62 * 4 = 248 values of a byte map evenly onto the alphabet.
    std::uint32_t word = device();
    for (int i = 0; i < 4 && code.size() < length; ++i, word >>= 8) {
      const std::uint32_t byte = word & 0xff;
      if (byte < 248) code.push_back(kAlphabet[byte % 62]);
    }
  }
  return code;
}

Link read_link(SQLite::Statement& row) {
  Link link;
  link.code = row.getColumn(0).getString();
  link.link_key = row.getColumn(1).isNull() ? "" : row.getColumn(1).getString();
  link.target = row.getColumn(2).getString();
  link.platform = row.getColumn(3).getString();
  link.campaign = row.getColumn(4).getString();
  link.variant = row.getColumn(5).getString();
  link.medium = row.getColumn(6).getString();
  link.video = row.getColumn(7).getString();
  link.title = row.getColumn(8).getString();
  link.enabled = row.getColumn(9).getInt() != 0;
  link.created_at = row.getColumn(10).getInt64();
  return link;
}

constexpr const char* kLinkColumns =
    "code, link_key, target, platform, campaign, variant, medium, video, title, enabled, "
    "created_at";

ConversionRecord read_conversion(SQLite::Statement& row) {
  ConversionRecord record;
  record.id = row.getColumn(0).getInt64();
  record.source = row.getColumn(1).getString();
  record.order_id = row.getColumn(2).isNull() ? "" : row.getColumn(2).getString();
  record.event = row.getColumn(3).getString();
  record.value = row.getColumn(4).getDouble();
  record.currency = row.getColumn(5).getString();
  record.at = row.getColumn(6).getInt64();
  record.click_id = row.getColumn(7).getString();
  record.code = row.getColumn(8).getString();
  record.attributed = row.getColumn(9).getInt() != 0;
  return record;
}

constexpr const char* kConversionColumns =
    "id, source, order_id, event, value, currency, at, click_id, code, attributed";

// One group of the report: a FUNNEL (report_render.hpp).
struct Funnel {
  std::int64_t posts = 0;
  double views = 0, likes = 0, comments = 0, shares = 0;
  std::int64_t clicks_total = 0, clicks_human = 0, clicks_bot = 0, clicks_duplicate = 0;
  std::int64_t conversions = 0;
  double revenue = 0;
  std::set<std::string> currencies;
  std::string title;

  void add(const Funnel& other) {
    posts += other.posts;
    views += other.views;
    likes += other.likes;
    comments += other.comments;
    shares += other.shares;
    clicks_total += other.clicks_total;
    clicks_human += other.clicks_human;
    clicks_bot += other.clicks_bot;
    clicks_duplicate += other.clicks_duplicate;
    conversions += other.conversions;
    revenue += other.revenue;
    currencies.insert(other.currencies.begin(), other.currencies.end());
  }

  json to_json(const std::string& key) const {
    auto ratio = [](double a, double b) { return b > 0 ? json(a / b) : json(nullptr); };
    json out = {{"posts", posts},
                {"views", views},
                {"likes", likes},
                {"comments", comments},
                {"shares", shares},
                {"clicks_total", clicks_total},
                {"clicks_human", clicks_human},
                {"clicks_bot", clicks_bot},
                {"clicks_duplicate", clicks_duplicate},
                {"conversions", conversions},
                {"revenue", std::round(revenue * 100) / 100},
                {"ctr", ratio(static_cast<double>(clicks_human), views)},
                {"cvr", ratio(static_cast<double>(conversions), static_cast<double>(clicks_human))},
                {"rpm", views > 0 ? json(revenue * 1000 / views) : json(nullptr)}};
    if (!key.empty()) out["key"] = key;
    if (!title.empty()) out["title"] = title;
    return out;
  }
};

// "2026-11-30": the UTC day of an instant.
std::string day_text(Millis ms) { return format_iso_time(ms).substr(0, 10); }

}  // namespace

std::string new_click_id(Millis at) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id(16, '0');
  std::uint64_t time = static_cast<std::uint64_t>(std::max<Millis>(at, 0));
  for (int i = 7; i >= 0; --i, time /= 62) id[static_cast<std::size_t>(i)] = kAlphabet[time % 62];
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uint64_t bits = random();
  for (std::size_t i = 8; i < 16; ++i, bits /= 62) id[i] = kAlphabet[bits % 62];
  return id;
}

std::string link_code_of_url(std::string_view url) {
  const auto at = url.rfind("/l/");
  if (at == std::string_view::npos) return "";
  std::string_view code = url.substr(at + 3);
  code = code.substr(0, code.find_first_of("?#/"));
  if (code.empty() || code.size() > 64) return "";
  for (char c : code) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return "";
  }
  return std::string(code);
}

class TrackStore::Impl {
 public:
  Impl(std::string path, SQLite::Database reader, SQLite::Database importer,
       std::unique_ptr<ClickLog> log, bool full_sync,
       std::function<void(const std::string&)> warn)
      : path_(std::move(path)),
        db_(std::move(reader)),
        import_db_(std::move(importer)),
        log_(std::move(log)),
        full_sync_(full_sync),
        warn_(std::move(warn)) {}

  // What a crash left in the log goes into the database before anything new is logged; then the
  // importer (and with full sync, the syncer) start.
  Result<void> recover() {
    while (true) {
      auto step = import_available();
      if (!step) return tl::unexpected(step.error());
      if (*step == 0) break;
    }
    if (log_->damaged_at_open() > 0) {
      warn("tracking: " + log_->path().string() + ": skipped a damaged record of " +
           std::to_string(log_->damaged_at_open()) + " bytes at its end (a write interrupted "
           "by a power loss); every click before it is in the database");
    }
    if (auto lap = log_->start_lap_if_consumed(imported_, 0); !lap) {
      return tl::unexpected(lap.error());
    }
    remember_recent_clicks();
    import_thread_ = std::thread([this] { import_loop(); });
    if (full_sync_) sync_thread_ = std::thread([this] { sync_loop(); });
    return {};
  }

  ~Impl() {
    {
      std::lock_guard lock(import_mutex_);
      stopping_ = true;
    }
    import_wake_.notify_all();
    {
      std::lock_guard lock(sync_mutex_);
      sync_stopping_ = true;
    }
    sync_wake_.notify_all();
    if (import_thread_.joinable()) import_thread_.join();
    if (sync_thread_.joinable()) sync_thread_.join();
  }

  template <typename Body>
  auto guarded(const std::string& what, Body&& body) -> decltype(body()) {
    std::lock_guard lock(db_mutex_);
    try {
      return body();
    } catch (const std::exception& e) {
      return fail(path_ + ": " + what + ": " + e.what());
    }
  }

  Result<Link> create_link(Link link, Millis now) {
    return guarded("create link", [&]() -> Result<Link> {
      if (!link.link_key.empty()) {
        SQLite::Statement existing(
            db_, std::string("SELECT ") + kLinkColumns + " FROM links WHERE link_key = ?");
        existing.bind(1, link.link_key);
        if (existing.executeStep()) return read_link(existing);
      }
      link.created_at = now;
      link.enabled = true;
      for (int attempt = 0; attempt < 8; ++attempt) {
        link.code = random_code(12);
        SQLite::Statement insert(
            db_,
            "INSERT INTO links (code, link_key, target, platform, campaign, variant, medium, "
            "video, title, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
            "ON CONFLICT (code) DO NOTHING");
        insert.bind(1, link.code);
        if (link.link_key.empty()) {
          insert.bind(2);
        } else {
          insert.bind(2, link.link_key);
        }
        insert.bind(3, link.target);
        insert.bind(4, link.platform);
        insert.bind(5, link.campaign);
        insert.bind(6, link.variant);
        insert.bind(7, link.medium);
        insert.bind(8, link.video);
        insert.bind(9, link.title);
        insert.bind(10, now);
        if (insert.exec() == 1) return link;
      }
      return fail("no free link code after 8 tries");
    });
  }

  Result<std::optional<Link>> find_link(std::string_view code) {
    return guarded("read link", [&]() -> Result<std::optional<Link>> {
      SQLite::Statement statement(db_,
                                  std::string("SELECT ") + kLinkColumns + " FROM links WHERE code = ?");
      statement.bind(1, std::string(code));
      if (!statement.executeStep()) return std::optional<Link>();
      return std::optional<Link>(read_link(statement));
    });
  }

  Result<std::vector<Link>> list_links(std::string_view campaign, int limit) {
    return guarded("list links", [&]() -> Result<std::vector<Link>> {
      SQLite::Statement statement(
          db_, std::string("SELECT ") + kLinkColumns +
                   " FROM links WHERE (?1 = '' OR campaign = ?1) ORDER BY created_at DESC, code "
                   "LIMIT ?2");
      statement.bind(1, std::string(campaign));
      statement.bind(2, limit);
      std::vector<Link> links;
      while (statement.executeStep()) links.push_back(read_link(statement));
      return links;
    });
  }

  Result<bool> set_link_enabled(std::string_view code, bool enabled) {
    return guarded("change link", [&]() -> Result<bool> {
      SQLite::Statement statement(db_, "UPDATE links SET enabled = ? WHERE code = ?");
      statement.bind(1, enabled ? 1 : 0);
      statement.bind(2, std::string(code));
      return statement.exec() == 1;
    });
  }

  Result<ClickCounts> click_counts(std::string_view code) {
    return guarded("count clicks", [&]() -> Result<ClickCounts> {
      SQLite::Statement statement(
          db_, "SELECT kind, duplicate, COUNT(*) FROM clicks WHERE code = ? GROUP BY kind, duplicate");
      statement.bind(1, std::string(code));
      ClickCounts counts;
      while (statement.executeStep()) {
        const std::string kind = statement.getColumn(0).getString();
        const bool duplicate = statement.getColumn(1).getInt() != 0;
        const std::int64_t n = statement.getColumn(2).getInt64();
        counts.total += n;
        if (kind != "human") {
          counts.bot += n;
        } else if (duplicate) {
          counts.duplicate += n;
        } else {
          counts.human += n;
        }
      }
      return counts;
    });
  }

  Result<std::uint64_t> log_clicks(std::span<Click> clicks, Millis window) {
    const std::uint64_t end = log_->end(), imported = imported_.load();
    if (end - imported > kMaxClickBacklog) {
      return fail(log_->path().string() + ": " + std::to_string((end - imported) >> 20) +
                  " MiB of clicks wait for the database, which does not take them (" +
                  last_import_error() + ")");
    }
    for (Click& click : clicks) {
      click.duplicate = click.kind == "human" && window > 0 && is_duplicate(click, window);
    }
    auto position = log_->append(clicks);
    if (!position) return position;
    logged_ += clicks.size();
    if (!clicks.empty()) prune(window);
    return position;
  }

  void when_synced(std::uint64_t position, std::function<void(const Result<void>&)> done) {
    {
      std::lock_guard lock(sync_mutex_);
      sync_requests_.push_back({position, std::move(done)});
    }
    sync_wake_.notify_one();
  }

  Result<void> import_clicks(std::chrono::milliseconds timeout) {
    const std::uint64_t target = log_->end();
    std::unique_lock lock(import_mutex_);
    if (imported_.load() >= target) return {};
    import_requested_ = true;
    import_wake_.notify_all();
    if (import_done_.wait_for(lock, timeout, [&] { return imported_.load() >= target; })) {
      return {};
    }
    return fail(path_ + ": clicks are still being copied from the click log (" +
                last_import_error() + ")");
  }

  bool full_sync() const { return full_sync_; }

  std::size_t pending() const {
    const std::uint64_t logged = logged_.load(), done = committed.load();
    return logged > done ? static_cast<std::size_t>(logged - done) : 0;
  }

  Result<ConversionOutcome> record_conversion(const NewConversion& input, Millis window,
                                              Millis now) {
    return guarded("record conversion", [&]() -> Result<ConversionOutcome> {
      ConversionOutcome outcome;
      ConversionRecord& record = outcome.conversion;
      record.source = input.source;
      record.order_id = input.order_id;
      record.event = input.event;
      record.value = input.value;
      record.currency = input.currency;
      record.at = input.at;
      if (!input.order_id.empty()) {
        SQLite::Statement existing(db_, std::string("SELECT ") + kConversionColumns +
                                            " FROM conversions WHERE source = ? AND order_id = ?");
        existing.bind(1, input.source);
        existing.bind(2, input.order_id);
        if (existing.executeStep()) {
          outcome.conversion = read_conversion(existing);
          outcome.duplicate = true;
          return outcome;
        }
      }
      if (!input.click_id.empty()) {
        SQLite::Statement click(db_, "SELECT code, at FROM clicks WHERE id = ?");
        click.bind(1, input.click_id);
        if (!click.executeStep()) return fail("no click " + input.click_id);
        const std::string code = click.getColumn(0).getString();
        const Millis clicked_at = click.getColumn(1).getInt64();
        record.click_id = input.click_id;
        if (input.at - clicked_at > window) {
          outcome.why_unattributed = "the click is older than the attribution window";
        } else {
          record.code = code;
          record.attributed = true;
        }
      } else {
        SQLite::Statement link(db_, "SELECT 1 FROM links WHERE code = ?");
        link.bind(1, input.code);
        if (!link.executeStep()) return fail("no link " + input.code);
        record.code = input.code;
        record.attributed = true;
        SQLite::Statement last(
            db_,
            "SELECT id FROM clicks WHERE code = ? AND kind = 'human' AND at <= ? AND at >= ? "
            "ORDER BY at DESC LIMIT 1");
        last.bind(1, input.code);
        last.bind(2, input.at);
        last.bind(3, input.at - window);
        if (last.executeStep()) record.click_id = last.getColumn(0).getString();
      }
      SQLite::Statement insert(
          db_,
          "INSERT INTO conversions (source, order_id, event, value, currency, at, received_at, "
          "click_id, code, attributed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert.bind(1, record.source);
      if (record.order_id.empty()) {
        insert.bind(2);
      } else {
        insert.bind(2, record.order_id);
      }
      insert.bind(3, record.event);
      insert.bind(4, record.value);
      insert.bind(5, record.currency);
      insert.bind(6, record.at);
      insert.bind(7, now);
      insert.bind(8, record.click_id);
      insert.bind(9, record.attributed ? record.code : std::string());
      insert.bind(10, record.attributed ? 1 : 0);
      insert.exec();
      record.id = db_.getLastInsertRowid();
      if (!record.attributed) record.code.clear();
      return outcome;
    });
  }

  Result<std::vector<ConversionRecord>> conversions_of_link(std::string_view code) {
    return guarded("read conversions", [&]() -> Result<std::vector<ConversionRecord>> {
      SQLite::Statement statement(db_, std::string("SELECT ") + kConversionColumns +
                                           " FROM conversions WHERE code = ? ORDER BY at");
      statement.bind(1, std::string(code));
      std::vector<ConversionRecord> list;
      while (statement.executeStep()) list.push_back(read_conversion(statement));
      return list;
    });
  }

  Result<json> report(const ReportQuery& query, Millis now);

  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::uint64_t> batches{0};

 private:
  // Copies the click log into the database: when asked (import_clicks) or every 100 ms, all that
  // is there, in transactions of up to 4 MiB of log; empties the log when it is all imported.
  void import_loop() {
    std::unique_lock lock(import_mutex_);
    while (true) {
      import_wake_.wait_for(lock, std::chrono::milliseconds(100),
                            [&] { return stopping_ || import_requested_; });
      const bool stop = stopping_;
      import_requested_ = false;
      lock.unlock();
      while (true) {
        auto step = import_available();
        if (!step) {
          remember_import_error(step.error().message);
          break;
        }
        if (*step == 0) break;
      }
      if (auto lap = log_->start_lap_if_consumed(imported_.load(), 1 << 20); !lap) {
        remember_import_error(lap.error().message);
      }
      // Normal sync: the log reaches the disk within about a second (power loss loses at most
      // that); full sync syncs it before every round's answers.
      if (!full_sync_ && std::chrono::steady_clock::now() - last_sync_ > std::chrono::seconds(1)) {
        last_sync_ = std::chrono::steady_clock::now();
        if (log_->end() != synced_end_) {
          if (auto synced = log_->sync(); synced) {
            synced_end_ = *synced;
          } else {
            remember_import_error(synced.error().message);
          }
        }
      }
      lock.lock();
      import_done_.notify_all();
      if (stop) return;
    }
  }

  // One transaction's worth of the log into the database; the number of clicks imported (0: the
  // log is imported up to its end, or up to a damaged record).
  Result<std::size_t> import_available() {
    const std::uint64_t from = imported_.load();
    auto read = log_->read(from, 4 << 20);
    if (!read) return tl::unexpected(read.error());
    const DecodedClicks& decoded = *read;
    if (decoded.clicks.empty()) return std::size_t{0};
    try {
      SQLite::Transaction transaction(import_db_, SQLite::TransactionBehavior::IMMEDIATE);
      // OR IGNORE: after a crash between the commit and emptying the log, the same clicks come
      // again.
      SQLite::Statement insert(
          import_db_,
          "INSERT OR IGNORE INTO clicks (id, code, at, kind, duplicate, agent, visitor, ip, "
          "user_agent, referer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (const Click& click : decoded.clicks) {
        insert.bind(1, click.id);
        insert.bind(2, click.code);
        insert.bind(3, click.at);
        insert.bind(4, click.kind);
        insert.bind(5, click.duplicate ? 1 : 0);
        insert.bind(6, click.agent);
        insert.bind(7, click.visitor);
        insert.bind(8, click.ip);
        insert.bind(9, click.user_agent);
        insert.bind(10, click.referer);
        insert.exec();
        insert.reset();
      }
      transaction.commit();
    } catch (const std::exception& e) {
      return fail(path_ + ": cannot copy " + std::to_string(decoded.clicks.size()) +
                  " click(s) from the click log into the database: " + e.what());
    }
    imported_ = from + decoded.consumed;
    committed += decoded.clicks.size();
    ++batches;
    {
      std::lock_guard lock(error_mutex_);
      import_error_.clear();
    }
    return decoded.clicks.size();
  }

  // Full sync: syncs the log once for every round waiting (group commit over fdatasync).
  void sync_loop() {
    std::vector<SyncRequest> requests;
    while (true) {
      {
        std::unique_lock lock(sync_mutex_);
        sync_wake_.wait(lock, [&] { return sync_stopping_ || !sync_requests_.empty(); });
        if (sync_requests_.empty()) return;
        requests.swap(sync_requests_);
      }
      auto synced = log_->sync();
      Result<void> outcome;
      if (!synced) outcome = tl::unexpected(synced.error());
      for (auto& request : requests) {
        if (request.done) request.done(outcome);
      }
      requests.clear();
    }
  }

  void remember_import_error(const std::string& message) {
    {
      std::lock_guard lock(error_mutex_);
      import_error_ = message;
    }
    warn("tracking: " + message + "; the clicks stay in the click log and are copied when the "
         "database takes them");
  }

  std::string last_import_error() {
    std::lock_guard lock(error_mutex_);
    return import_error_.empty() ? "the import is behind" : import_error_;
  }

  // At most once every 10 s.
  void warn(const std::string& message) {
    if (!warn_) return;
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(error_mutex_);
      if (last_warning_.time_since_epoch().count() != 0 &&
          now - last_warning_ < std::chrono::seconds(10)) {
        return;
      }
      last_warning_ = now;
    }
    warn_(message);
  }

  // A person's last click on a link, by visitor and code: the duplicate check, in memory (no
  // index to update per click). Filled at start from the last day's clicks, pruned as it goes.
  void remember_recent_clicks() {
    try {
      const Millis since = now_millis_() - kDayMs;
      SQLite::Statement recent(import_db_,
                               "SELECT visitor, code, at FROM clicks WHERE id >= ? AND "
                               "kind = 'human'");
      recent.bind(1, new_click_id(since).substr(0, 8));
      while (recent.executeStep()) {
        const Millis at = recent.getColumn(2).getInt64();
        Millis& last = last_human_[recent.getColumn(0).getString() + "\n" +
                                   recent.getColumn(1).getString()];
        last = std::max(last, at);
      }
    } catch (const std::exception&) {
      // Without them the first repeat clicks after a restart count as people; no harm done.
    }
  }

  static Millis now_millis_() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  bool is_duplicate(const Click& click, Millis window) {
    Millis& last = last_human_[click.visitor + "\n" + click.code];
    const bool duplicate = last != 0 && click.at - last < window;
    if (!duplicate) last = click.at;  // a repeat does not extend the window
    return duplicate;
  }

  void prune(Millis window) {
    if (last_human_.size() < kPruneAbove) return;
    const Millis cutoff = now_millis_() - std::max(window, Millis{3600000});
    std::erase_if(last_human_, [&](const auto& entry) { return entry.second < cutoff; });
    if (last_human_.size() >= kPruneAbove) last_human_.clear();  // a flood: forget rather than grow
  }

  struct SyncRequest {
    std::uint64_t position;
    std::function<void(const Result<void>&)> done;
  };

  std::string path_;
  std::mutex db_mutex_;
  SQLite::Database db_;
  SQLite::Database import_db_;
  std::unique_ptr<ClickLog> log_;
  bool full_sync_;
  std::function<void(const std::string&)> warn_;
  // The appender's (log_clicks) own state.
  static constexpr std::size_t kPruneAbove = 1'000'000;
  std::unordered_map<std::string, Millis> last_human_;
  // The importer.
  std::atomic<std::uint64_t> imported_{0};  // log position up to which the database has it all
  std::atomic<std::uint64_t> logged_{0};
  std::mutex import_mutex_;
  std::condition_variable import_wake_;  // the importer waits here
  std::condition_variable import_done_;  // import_clicks() waits here
  bool stopping_ = false;
  bool import_requested_ = false;
  std::thread import_thread_;
  std::chrono::steady_clock::time_point last_sync_{};  // the importer's periodic sync
  std::uint64_t synced_end_ = 0;
  std::mutex error_mutex_;
  std::string import_error_;
  std::chrono::steady_clock::time_point last_warning_{};
  // The syncer (full sync only).
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::vector<SyncRequest> sync_requests_;
  bool sync_stopping_ = false;
  std::thread sync_thread_;
};

Result<json> TrackStore::Impl::report(const ReportQuery& query, Millis now) {
  return guarded("build the report", [&]() -> Result<json> {
    // Links of the campaign.
    std::map<std::string, Link> links;
    {
      SQLite::Statement statement(
          db_, std::string("SELECT ") + kLinkColumns + " FROM links WHERE (?1 = '' OR campaign = ?1)");
      statement.bind(1, query.campaign);
      while (statement.executeStep()) {
        Link link = read_link(statement);
        links.emplace(link.code, std::move(link));
      }
    }
    // Posts published in the period, with their latest metrics; a post belongs to the campaign
    // through its link.
    struct PostRow {
      std::string platform, video, title, code;
      Millis published_at = 0;
      json metrics = json::object();
    };
    std::map<std::string, PostRow> posts;
    {
      SQLite::Statement statement(
          db_, "SELECT idempotency_key, platform, options_json, published_at FROM posts WHERE "
               "published_at >= ?");
      statement.bind(1, query.since);
      while (statement.executeStep()) {
        PostRow row;
        row.platform = statement.getColumn(1).getString();
        json options = json::parse(statement.getColumn(2).getString(), nullptr, false);
        if (options.is_object()) {
          row.video = options.value("video", "");
          row.title = options.value("title", "");
          if (options.contains("link") && options["link"].is_string()) {
            row.code = link_code_of_url(options["link"].get<std::string>());
          }
        }
        if (!query.campaign.empty() && !links.contains(row.code)) continue;
        row.published_at = statement.getColumn(3).getInt64();
        posts.emplace(statement.getColumn(0).getString(), std::move(row));
      }
      SQLite::Statement metrics(db_,
                                "SELECT idempotency_key, metrics_json FROM post_metrics ORDER BY "
                                "taken_at");
      while (metrics.executeStep()) {
        auto found = posts.find(metrics.getColumn(0).getString());
        if (found == posts.end()) continue;
        json value = json::parse(metrics.getColumn(1).getString(), nullptr, false);
        if (value.is_object()) found->second.metrics = std::move(value);
      }
    }

    auto group_of_link = [&](const Link& link, Millis at) -> std::pair<std::string, std::string> {
      if (query.by == "video") return {link.video.empty() ? "(no video)" : link.video, link.title};
      if (query.by == "variant") return {link.variant.empty() ? "(no variant)" : link.variant, ""};
      if (query.by == "day") return {day_text(at), ""};
      return {link.platform.empty() ? "(no platform)" : link.platform, ""};
    };
    std::map<std::string, Funnel> rows, platforms, videos;
    std::map<std::string, json> daily;
    Millis earliest = now;
    auto day_entry = [&](Millis at) -> json& {
      earliest = std::min(earliest, at);
      json& entry = daily[day_text(at)];
      if (entry.is_null()) entry = {{"clicks_human", 0}, {"conversions", 0}, {"revenue", 0.0}};
      return entry;
    };

    for (const auto& [key, post] : posts) {
      Funnel f;
      f.posts = 1;
      auto number = [&](const char* name) {
        auto found = post.metrics.find(name);
        return found != post.metrics.end() && found->is_number() ? found->get<double>() : 0.0;
      };
      f.views = number("views");
      f.likes = number("likes");
      f.comments = number("comments");
      f.shares = number("shares");
      const Link* link = nullptr;
      if (auto found = links.find(post.code); found != links.end()) link = &found->second;
      std::string group;
      if (query.by == "video") {
        group = post.video.empty() ? "(no video)" : post.video;
      } else if (query.by == "variant") {
        group = link && !link->variant.empty() ? link->variant : "(no variant)";
      } else if (query.by == "day") {
        group = day_text(post.published_at);
      } else {
        group = post.platform;
      }
      rows[group].add(f);
      if (query.by == "video" && rows[group].title.empty()) rows[group].title = post.title;
      platforms[post.platform].add(f);
      Funnel& video = videos[post.video.empty() ? "(no video)" : post.video];
      video.add(f);
      if (video.title.empty()) video.title = post.title;
    }

    // Clicks in the period, by link and kind.
    {
      SQLite::Statement statement(
          db_, "SELECT code, kind, duplicate, at / 86400000, COUNT(*) FROM clicks WHERE at >= ? "
               "GROUP BY code, kind, duplicate, at / 86400000");
      statement.bind(1, query.since);
      while (statement.executeStep()) {
        auto link = links.find(statement.getColumn(0).getString());
        if (link == links.end()) continue;
        const std::string kind = statement.getColumn(1).getString();
        const bool duplicate = statement.getColumn(2).getInt() != 0;
        const Millis day = statement.getColumn(3).getInt64() * kDayMs;
        const std::int64_t n = statement.getColumn(4).getInt64();
        Funnel f;
        f.clicks_total = n;
        if (kind != "human") {
          f.clicks_bot = n;
        } else if (duplicate) {
          f.clicks_duplicate = n;
        } else {
          f.clicks_human = n;
          day_entry(day)["clicks_human"] = day_entry(day)["clicks_human"].get<std::int64_t>() + n;
        }
        auto [group, title] = group_of_link(link->second, day);
        rows[group].add(f);
        if (!title.empty() && rows[group].title.empty()) rows[group].title = title;
        platforms[link->second.platform.empty() ? "(no platform)" : link->second.platform].add(f);
        videos[link->second.video.empty() ? "(no video)" : link->second.video].add(f);
      }
    }
    // Attributed conversions in the period.
    {
      SQLite::Statement statement(
          db_, "SELECT code, at, value, currency FROM conversions WHERE attributed = 1 AND at >= ?");
      statement.bind(1, query.since);
      while (statement.executeStep()) {
        auto link = links.find(statement.getColumn(0).getString());
        if (link == links.end()) continue;
        const Millis at = statement.getColumn(1).getInt64();
        Funnel f;
        f.conversions = 1;
        f.revenue = statement.getColumn(2).getDouble();
        const std::string currency = statement.getColumn(3).getString();
        if (!currency.empty()) f.currencies.insert(currency);
        json& day = day_entry(at);
        day["conversions"] = day["conversions"].get<std::int64_t>() + 1;
        day["revenue"] = day["revenue"].get<double>() + f.revenue;
        auto [group, title] = group_of_link(link->second, at);
        rows[group].add(f);
        platforms[link->second.platform.empty() ? "(no platform)" : link->second.platform].add(f);
        videos[link->second.video.empty() ? "(no video)" : link->second.video].add(f);
      }
    }

    Funnel totals;
    for (const auto& [key, f] : rows) totals.add(f);
    auto sorted = [](const std::map<std::string, Funnel>& groups, bool by_day, std::size_t limit) {
      std::vector<std::pair<std::string, const Funnel*>> list;
      for (const auto& [key, f] : groups) list.emplace_back(key, &f);
      if (!by_day) {
        std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
          if (a.second->revenue != b.second->revenue) return a.second->revenue > b.second->revenue;
          if (a.second->clicks_human != b.second->clicks_human) {
            return a.second->clicks_human > b.second->clicks_human;
          }
          return a.second->views > b.second->views;
        });
      }
      json out = json::array();
      for (std::size_t i = 0; i < list.size() && i < limit; ++i) {
        out.push_back(list[i].second->to_json(list[i].first));
      }
      return out;
    };
    json days = json::array();
    if (!daily.empty()) {
      // Every day from `since` (or the first day with data) to today, at most a year.
      Millis start = query.since > 0 ? query.since : earliest;
      start = std::max(start, now - 365 * kDayMs);
      for (Millis t = start - start % kDayMs; t <= now; t += kDayMs) {
        const std::string day = day_text(t);
        json entry = {{"day", day}, {"clicks_human", 0}, {"conversions", 0}, {"revenue", 0.0}};
        if (auto found = daily.find(day); found != daily.end()) {
          entry["clicks_human"] = found->second["clicks_human"];
          entry["conversions"] = found->second["conversions"];
          entry["revenue"] = std::round(found->second["revenue"].get<double>() * 100) / 100;
        }
        days.push_back(std::move(entry));
      }
    }
    json report = {{"since", query.since > 0 ? json(day_text(query.since)) : json(nullptr)},
                   {"campaign", query.campaign.empty() ? json(nullptr) : json(query.campaign)},
                   {"by", query.by},
                   {"currency", totals.currencies.size() == 1 ? json(*totals.currencies.begin())
                                                              : json(nullptr)},
                   {"totals", totals.to_json("")},
                   {"rows", sorted(rows, query.by == "day", 1000)},
                   {"platforms", sorted(platforms, false, 100)},
                   {"daily", std::move(days)},
                   {"top_videos", sorted(videos, false, 10)}};
    return report;
  });
}

Result<std::unique_ptr<TrackStore>> TrackStore::open(
    const std::filesystem::path& path, int busy_timeout_ms, bool full_sync,
    std::function<void(const std::string&)> warn) {
  const std::string name = path.string();
  std::unique_ptr<Impl> impl;
  try {
    SQLite::Database reader(path, SQLite::OPEN_READWRITE, busy_timeout_ms);
    SQLite::Database importer(path, SQLite::OPEN_READWRITE, busy_timeout_ms);
    for (SQLite::Database* db : {&reader, &importer}) {
      // FULL: a commit survives power loss (the click log is emptied only after it); NORMAL: it
      // survives kill -9 and crashes of the daemon (the WAL is not synced per commit).
      db->exec(full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
      if (db->execAndGet("PRAGMA user_version").getInt() < 5) {
        return fail(name + ": the database has no tracking tables yet (schema version below 5)");
      }
    }
    auto log = ClickLog::open(name + "-clicks");
    if (!log) return tl::unexpected(log.error());
    impl = std::make_unique<Impl>(name, std::move(reader), std::move(importer), std::move(*log),
                                  full_sync, std::move(warn));
  } catch (const std::exception& e) {
    return fail(name + ": cannot open the tracking tables: " + e.what());
  }
  if (auto recovered = impl->recover(); !recovered) {
    return fail(name + ": cannot import the click log: " + recovered.error().message);
  }
  return std::unique_ptr<TrackStore>(new TrackStore(std::move(impl)));
}

TrackStore::TrackStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrackStore::~TrackStore() = default;

Result<Link> TrackStore::create_link(Link link, Millis now) {
  return impl_->create_link(std::move(link), now);
}
Result<std::optional<Link>> TrackStore::find_link(std::string_view code) {
  return impl_->find_link(code);
}
Result<std::vector<Link>> TrackStore::list_links(std::string_view campaign, int limit) {
  return impl_->list_links(campaign, limit);
}
Result<bool> TrackStore::set_link_enabled(std::string_view code, bool enabled) {
  return impl_->set_link_enabled(code, enabled);
}
// Reads of clicks (counts, attribution, the report) first wait for the clicks logged before them.
Result<ClickCounts> TrackStore::click_counts(std::string_view code) {
  if (auto imported = impl_->import_clicks(std::chrono::seconds(5)); !imported) {
    return tl::unexpected(imported.error());
  }
  return impl_->click_counts(code);
}
Result<std::uint64_t> TrackStore::log_clicks(std::span<Click> clicks, Millis duplicate_window_ms) {
  return impl_->log_clicks(clicks, duplicate_window_ms);
}
bool TrackStore::full_sync() const { return impl_->full_sync(); }
void TrackStore::when_synced(std::uint64_t position,
                             std::function<void(const Result<void>&)> done) {
  impl_->when_synced(position, std::move(done));
}
Result<void> TrackStore::import_clicks(std::chrono::milliseconds timeout) {
  return impl_->import_clicks(timeout);
}
std::size_t TrackStore::clicks_pending() const { return impl_->pending(); }
std::uint64_t TrackStore::clicks_committed() const { return impl_->committed.load(); }
std::uint64_t TrackStore::batches_committed() const { return impl_->batches.load(); }
Result<ConversionOutcome> TrackStore::record_conversion(const NewConversion& conversion,
                                                        Millis attribution_window_ms, Millis now) {
  if (auto imported = impl_->import_clicks(std::chrono::seconds(5)); !imported) {
    return tl::unexpected(imported.error());
  }
  return impl_->record_conversion(conversion, attribution_window_ms, now);
}
Result<std::vector<ConversionRecord>> TrackStore::conversions_of_link(std::string_view code) {
  return impl_->conversions_of_link(code);
}
Result<json> TrackStore::report(const ReportQuery& query, Millis now) {
  if (auto imported = impl_->import_clicks(std::chrono::seconds(5)); !imported) {
    return tl::unexpected(imported.error());
  }
  return impl_->report(query, now);
}

}  // namespace reelflow::store
