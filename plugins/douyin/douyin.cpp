// douyin.publish: puts a video on Douyin (抖音) through the Douyin Open Platform's video API
// (open.douyin.com), on behalf of an account that authorised the app: the account's credentials
// hold its user access token and open_id. README.md gives the protocol, the documentation it
// follows and what is an assumption.
//
// The host owns the durable state machine (plugin.h, "Publisher types"); each stage here is one
// or two platform calls, and the session (JSON) is what Douyin knows about this post:
//   start      init_video_part_upload              -> {upload_id, part_bytes, parts_total, ...}
//   upload     upload_video_part, parts 1..N in order; a checkpoint after each acknowledged part
//              (parts_acked), so a resumed upload starts at the first part not acknowledged
//   finalize   complete_video_part_upload          -> video_id (checkpointed at once), then
//              create_video {video_id, text, ...}  -> item_id: the post, the irreversible call
//   poll       video_data {item_ids}               -> published once Douyin lists the item
//   reconcile  item_id: the post; no upload_id: nothing; video_id: the account's latest videos
//              (video_list, first page) matched on the exact text and a create_time no earlier
//              than the session's start; otherwise the session
//   metrics    video_data                          -> play, digg (like), comment, share counts
//   refresh    /oauth/refresh_token/               -> a new access_token and expires_at; then,
//              when the refresh token would not outlive the next refresh by a few days,
//              /oauth/renew_refresh_token/          -> a new refresh_token (at most 5 renewals,
//              counted in the credentials' refresh_renewals)
//
// Thread-safety: an instance keeps nothing between calls; the host calls one callback at a time.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "http/http_client.hpp"
#include "json/reply.hpp"
#include "text/topics.hpp"
#include "text/utf8.hpp"

namespace {

namespace fs = std::filesystem;
namespace http = reelflow::http;
namespace option = reelflow::option;
using json = nlohmann::json;
using reelflow::reply::array_at;
using reelflow::reply::integer_at;
using reelflow::reply::object_at;
using reelflow::reply::text_at;
using reelflow::text::characters;

constexpr const char* kDefaultApiBase = "https://open.douyin.com";
constexpr const char* kVideoApi = "/api/douyin/v1/video/";

// Limits (README.md, "Limits": which are documented and which are assumptions).
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kMinPartBytes = 5 * kMiB;  // every part but the last
constexpr std::uint64_t kMaxPartBytes = 100 * kMiB;
constexpr std::uint64_t kMaxVideoBytes = 4'000'000'000ull;  // "4GB", read as decimal
constexpr std::size_t kMaxTextCharacters = 1000;
constexpr double kMaxDurationSeconds = 15 * 60;
// A create_time this much before the session's start still matches in reconcile (clock skew
// between this machine and Douyin's).
constexpr std::int64_t kClockSlackSeconds = 300;
constexpr int kListCount = 20;  // reconcile reads the latest 20 videos

// Douyin's error codes (data.error_code / extra.error_code) and what they mean for the host.
constexpr std::int64_t kTokenCodes[] = {
    10008,     // access_token invalid or expired
    2190002,   // access_token invalid
    2190003,   // the user did not authorise this API (scope)
    2190008,   // access_token expired
    2190015,   // access_token and open_id do not match
    28001003,  // access_token invalid
    28001008,  // access_token expired
};
constexpr std::int64_t kRateLimitCodes[] = {28003017, 28003018};
constexpr std::int64_t kTransientCodes[] = {10001, 2100004, 28001005, 28001006};
constexpr std::int64_t kQuotaCodes[] = {2190001};

// Token refresh (README.md, "Token refresh").
constexpr const char* kRefreshPath = "/oauth/refresh_token/";
constexpr const char* kRenewPath = "/oauth/renew_refresh_token/";
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kAccessTokenSeconds = 15 * kDay;   // when a reply has no expires_in
constexpr std::int64_t kRefreshTokenSeconds = 30 * kDay;  // when a renewal has no expires_in
constexpr int kMaxRenewals = 5;  // "最多只能获取 5 次新的 refresh_token"
// The refresh token is renewed when it would expire less than this long after the access token
// just obtained: the next refresh (due when that access token expires) must find it valid.
constexpr std::int64_t kRenewMarginSeconds = 3 * kDay;
constexpr std::int64_t kRefreshRefusedCodes[] = {10010};  // refresh_token expired
constexpr std::int64_t kRenewLimitCode = 10020;           // renewal limit reached
constexpr std::int64_t kNoRenewScopeCode = 10004;         // no renew_refresh_token permission

template <std::size_t N>
bool one_of(std::int64_t code, const std::int64_t (&codes)[N]) {
  return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

// Why a call did not succeed, and what the host should do about it.
struct Failure {
  rf_status status = RF_STATUS_ERROR;
  std::string message;
  std::optional<double> retry_after;
  std::int64_t code = 0;  // Douyin's error code, when it gave one
};

template <typename T>
using Result = tl::expected<T, Failure>;

tl::unexpected<Failure> failure(rf_status status, std::string message,
                                std::optional<double> retry_after = std::nullopt,
                                std::int64_t code = 0) {
  return tl::unexpected(Failure{status, std::move(message), retry_after, code});
}

// Records the failure (and retry_after, for the host's backoff) and returns its status.
rf_status report(reelflow::Run& run, const Failure& failed) {
  if (failed.retry_after) run.set_output(json{{"retry_after", *failed.retry_after}}.dump());
  return run.fail_with(failed.status, "douyin.publish: " + failed.message);
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ISO 8601 UTC, to the second: "2025-01-02T03:04:05Z".
std::string iso_time(std::int64_t seconds) {
  const auto time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

// A time in the credentials, in Unix seconds: a number of seconds, or ISO 8601
// ("2025-01-02T03:04:05Z", with optional fractions and a +hh:mm offset; no zone reads as UTC).
std::optional<std::int64_t> time_at(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto found = object.find(key);
  if (found == object.end()) return std::nullopt;
  if (found->is_number()) return static_cast<std::int64_t>(found->get<double>());
  if (!found->is_string()) return std::nullopt;
  const std::string text = found->get<std::string>();
  const char* at = text.data();
  const char* const end = text.data() + text.size();
  const auto field = [&](int digits, char after, int& out) {
    if (end - at < digits) return false;
    const auto [next, error] = std::from_chars(at, at + digits, out);
    if (error != std::errc() || next != at + digits) return false;
    at = next;
    if (after == '\0') return true;
    if (at == end || (*at != after && !(after == 'T' && (*at == 't' || *at == ' ')))) return false;
    ++at;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!field(4, '-', year) || !field(2, '-', month) || !field(2, 'T', day) ||
      !field(2, ':', hour) || !field(2, ':', minute) || !field(2, '\0', second)) {
    return std::nullopt;
  }
  if (at != end && *at == '.') {
    ++at;
    while (at != end && std::isdigit(static_cast<unsigned char>(*at))) ++at;
  }
  std::int64_t offset = 0;
  if (at != end && (*at == '+' || *at == '-')) {
    const int sign = *at == '-' ? -1 : 1;
    ++at;
    int hours = 0, minutes = 0;
    if (!field(2, ':', hours) || !field(2, '\0', minutes)) return std::nullopt;
    offset = sign * (hours * 3600 + minutes * 60);
  } else if (at != end && (*at == 'Z' || *at == 'z')) {
    ++at;
  }
  if (at != end) return std::nullopt;
  std::tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&utc)) - offset;
}

// Unicode code points in valid UTF-8 (what Douyin counts as characters, as far as we know).


// ---------------------------------------------------------------------------------------------
// The post: account, text, options
// ---------------------------------------------------------------------------------------------

struct Account {
  std::string name;
  std::string api_base;
  std::string access_token;
  std::string open_id;
};

Result<Account> account_of(const json& post) {
  const json& account = post.at("account");
  Account out;
  out.name = account.value("name", "");
  out.api_base = account.value("options", json::object()).value("api_base", kDefaultApiBase);
  while (!out.api_base.empty() && out.api_base.back() == '/') out.api_base.pop_back();
  const json credentials = account.value("credentials", json::object());
  out.access_token = credentials.value("access_token", "");
  out.open_id = credentials.value("open_id", "");
  if (out.access_token.empty() || out.open_id.empty()) {
    return failure(RF_STATUS_RECONNECT,
                   "account '" + out.name + "' has no " +
                       (out.access_token.empty() ? "access_token" : "open_id") +
                       " in its credentials: connect the Douyin account (its credentials need "
                       "access_token and open_id)");
  }
  return out;
}


struct Options {
  std::uint64_t part_bytes = 20 * kMiB;
  double cover_tsp = 0;
  std::string poi_id, poi_name, micro_app_id, micro_app_title, micro_app_url;
};

Options options_of(const json& post) {
  const json own = post.value("options", json::object());
  Options out;
  const auto number = [&](const char* key, double fallback) {
    const auto found = own.find(key);
    return found != own.end() && found->is_number() ? found->get<double>() : fallback;
  };
  out.part_bytes = static_cast<std::uint64_t>(number("chunk_mib", 20)) * kMiB;
  out.cover_tsp = number("cover_tsp", 0);
  out.poi_id = own.value("poi_id", "");
  out.poi_name = own.value("poi_name", "");
  out.micro_app_id = own.value("micro_app_id", "");
  out.micro_app_title = own.value("micro_app_title", "");
  out.micro_app_url = own.value("micro_app_url", "");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Douyin's API: one call, its envelope and its errors
// ---------------------------------------------------------------------------------------------

using Query = std::vector<std::pair<std::string, std::string>>;

// What a reply says: Douyin's error code (0: none) and description, found in data, extra or
// the older top-level err_no/err_msg; `text` is "Douyin error N: ..." or "HTTP S: ...".
struct Said {
  std::int64_t code = 0;
  std::string description;
  std::string text;
};

Said said_of(const json& reply, long status) {
  Said out;
  for (const char* part : {"data", "extra"}) {
    const json section = object_at(reply, part);
    if (out.code == 0) out.code = integer_at(section, "error_code");
    if (out.description.empty()) out.description = text_at(section, "description");
    if (out.description.empty()) out.description = text_at(section, "sub_description");
  }
  if (out.code == 0) out.code = integer_at(reply, "err_no");
  if (out.description.empty()) out.description = text_at(reply, "err_msg");
  const std::string detail = out.description.empty() ? "" : ": " + out.description;
  out.text = out.code != 0 ? "Douyin error " + std::to_string(out.code) + detail
                           : "HTTP " + std::to_string(status) + detail;
  return out;
}

// True when a description says that `what` (access_token, refresh_token) is expired or invalid.
bool mentions_bad(const std::string& description, std::string_view what) {
  if (description.find(what) == std::string::npos) return false;
  for (const char* word : {"expire", "过期", "invalid", "无效"}) {
    if (description.find(word) != std::string::npos) return true;
  }
  return false;
}

class Client {
 public:
  Client(Account account, reelflow::Run& run) : account_(std::move(account)), run_(run) {}

  // Calls {api_base}/api/douyin/v1/video/<endpoint>?open_id=...&<query> with the access-token
  // header and a JSON body (or a multipart form), and returns the whole reply once Douyin said
  // error_code 0. `what` names the call in messages.
  Result<json> call(std::string_view what, const std::string& method, std::string_view endpoint,
                    const Query& query, const std::optional<json>& body,
                    std::vector<http::FormPart> form = {}) {
    http::Request request;
    request.method = method;
    request.url = account_.api_base + kVideoApi + std::string(endpoint) +
                  "?open_id=" + http::url_encode(account_.open_id);
    for (const auto& [key, value] : query) {
      request.url += "&" + key + "=" + http::url_encode(value);
    }
    request.headers.emplace_back("access-token", account_.access_token);
    if (!form.empty()) {
      request.form = std::move(form);
      request.total_timeout_seconds = 0;  // a part may take long; the stall timeout still holds
    } else {
      if (body) {
        request.headers.emplace_back("Content-Type", "application/json");
        request.body = body->dump();
      }
      request.total_timeout_seconds = 120;
    }
    request.redact = {account_.access_token, account_.open_id};
    request.cancelled = [this] { return run_.cancelled(); };

    auto response = http::send(request);
    if (!response) {
      if (response.error().cancelled)
        return failure(RF_STATUS_CANCELLED, std::string(what) + ": cancelled");
      return failure(response.error().retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                     std::string(what) + ": " + response.error().message);
    }
    return read(what, *response);
  }

 private:
  Result<json> read(std::string_view what, const http::Response& response) {
    const std::string where(what);
    json reply = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const Said reading = said_of(reply, response.status);
    const std::int64_t code = reading.code;
    const std::string& said = reading.text;
    const bool token_text = mentions_bad(reading.description, "access_token");
    const http::StatusClass status = http::classify(response.status);

    if (status == http::StatusClass::unauthorized || one_of(code, kTokenCodes) || token_text) {
      return failure(RF_STATUS_RECONNECT,
                     "access token rejected: reconnect the account '" + account_.name + "' (" +
                         where + ": " + said + ")",
                     std::nullopt, code);
    }
    if (status == http::StatusClass::rate_limited || one_of(code, kRateLimitCodes)) {
      return failure(RF_STATUS_RETRY, where + ": rate limited (" + said + ")",
                     response.retry_after(), code);
    }
    if (status == http::StatusClass::server_error || one_of(code, kTransientCodes)) {
      return failure(RF_STATUS_RETRY, where + ": Douyin is unavailable (" + said + ")",
                     response.retry_after(), code);
    }
    if (one_of(code, kQuotaCodes)) {
      return failure(RF_STATUS_LATER,
                     where + ": the account's Douyin quota is used up (" + said + ")",
                     std::nullopt, code);
    }
    if (status != http::StatusClass::ok || code != 0) {
      return failure(RF_STATUS_ERROR, where + ": Douyin refused the request (" + said + ")",
                     std::nullopt, code);
    }
    if (!reply.is_object()) {
      // A 2xx whose body is not Douyin's: a proxy's page, a truncated reply. Whether the call
      // took effect is unknown; RETRY lets the host ask (reconcile) before calling again.
      return failure(RF_STATUS_RETRY, where + ": the reply is not Douyin's JSON (HTTP " +
                                          std::to_string(response.status) + ")");
    }
    return reply;
  }

  Account account_;
  reelflow::Run& run_;
};

// data.<key> of a reply as a non-empty string, or a failure naming what is missing.
Result<std::string> data_string(const json& reply, std::string_view what,
                                const json::json_pointer& key) {
  const json data = object_at(reply, "data");
  if (data.contains(key) && data.at(key).is_string() && !data.at(key).get<std::string>().empty()) {
    return data.at(key).get<std::string>();
  }
  return failure(RF_STATUS_ERROR, std::string(what) + ": Douyin's reply has no data" +
                                      key.to_string() + " (" + reply.dump().substr(0, 300) + ")");
}

// The item in a video_list / video_data reply's data.list, by item_id.
std::optional<json> find_item(const json& reply, const std::string& item_id) {
  for (const auto& item : array_at(object_at(reply, "data"), "list")) {
    if (text_at(item, "item_id") == item_id) return item;
  }
  return std::nullopt;
}

// The page people open: the share_url Douyin gives (it may change; poll and metrics refresh it),
// else the web address built from the item id.
std::string item_url(const json& item, const std::string& item_id) {
  const std::string share = text_at(item, "share_url");
  return share.empty() ? "https://www.douyin.com/video/" + item_id : share;
}

std::int64_t statistic(const json& item, const char* key) {
  return integer_at(object_at(item, "statistics"), key);
}

// ---------------------------------------------------------------------------------------------
// Token refresh: Douyin's OAuth endpoints
// ---------------------------------------------------------------------------------------------

// POSTs a form to `url` (an /oauth/ endpoint) and returns the reply's data once Douyin said
// error_code 0. An expired or refused refresh token is RECONNECT with a message naming the
// account; `secrets` are kept out of every message.
Result<json> oauth_call(reelflow::Run& run, const std::string& account, const std::string& url,
                        std::string_view what, const Query& form,
                        const std::vector<std::string>& secrets) {
  const std::string where(what);
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  for (const auto& [key, value] : form) {
    if (!request.body.empty()) request.body += '&';
    request.body += key + "=" + http::url_encode(value);
  }
  request.total_timeout_seconds = 60;
  request.redact = secrets;
  request.cancelled = [&run] { return run.cancelled(); };

  auto response = http::send(request);
  if (!response) {
    if (response.error().cancelled) return failure(RF_STATUS_CANCELLED, where + ": cancelled");
    return failure(response.error().retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                   where + ": " + response.error().message);
  }
  const json reply = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  const Said said = said_of(reply, response->status);
  const http::StatusClass status = http::classify(response->status);
  if (status == http::StatusClass::unauthorized || one_of(said.code, kRefreshRefusedCodes) ||
      mentions_bad(said.description, "refresh_token")) {
    return failure(RF_STATUS_RECONNECT,
                   "account '" + account + "': Douyin refused the refresh token (" + where +
                       ": " + said.text + "); authorize reelflow on Douyin again",
                   std::nullopt, said.code);
  }
  if (status == http::StatusClass::rate_limited || one_of(said.code, kRateLimitCodes)) {
    return failure(RF_STATUS_RETRY, where + ": rate limited (" + said.text + ")",
                   response->retry_after(), said.code);
  }
  if (status == http::StatusClass::server_error || one_of(said.code, kTransientCodes)) {
    return failure(RF_STATUS_RETRY, where + ": Douyin is unavailable (" + said.text + ")",
                   response->retry_after(), said.code);
  }
  if (status != http::StatusClass::ok || said.code != 0) {
    return failure(RF_STATUS_ERROR, where + ": Douyin refused the request (" + said.text + ")",
                   std::nullopt, said.code);
  }
  const json data = object_at(reply, "data");
  if (data.empty()) {
    return failure(RF_STATUS_RETRY, where + ": the reply is not Douyin's JSON (HTTP " +
                                        std::to_string(response->status) + ")");
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// The publisher
// ---------------------------------------------------------------------------------------------

class Douyin {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    if (auto account = account_of(post); !account) return report(run, account.error());
    const Options options = options_of(post);
    const std::string text = reelflow::text::compose_with_topics(post);
    const bool from_caption = !post.value("caption", "").empty();

    for (const auto& tag : post.value("tags", json::array())) {
      const std::string raw = tag.is_string() ? tag.get<std::string>() : tag.dump();
      if (!tag.is_string()) return run.fail("douyin.publish: tags: " + raw + " is not a string");
      if (auto problem = reelflow::text::tag_problem(raw)) {
        return run.fail("douyin.publish: tags: '" + raw + "' " + *problem +
                        " (a Douyin topic is one word after '#')");
      }
    }
    if (const std::size_t length = characters(text); length > kMaxTextCharacters) {
      return run.fail(std::string("douyin.publish: ") + (from_caption ? "caption" : "title") +
                      ": the video's text (with the tags as #topics) has " +
                      std::to_string(length) + " characters; Douyin takes at most " +
                      std::to_string(kMaxTextCharacters));
    }

    const json video = post.value("video", json::object());
    const fs::path path = video.value("path", "");
    const std::uint64_t size = video.value("size_bytes", std::uint64_t{0});
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension != ".mp4" && extension != ".webm") {
      return run.fail("douyin.publish: video: " + path.string() +
                      " is not an .mp4 or .webm file (the formats Douyin recommends)");
    }
    if (size == 0) return run.fail("douyin.publish: video: " + path.string() + " is empty");
    if (size > kMaxVideoBytes) {
      return run.fail("douyin.publish: video: " + path.string() + " has " + std::to_string(size) +
                      " bytes; Douyin takes at most 4 GB (" + std::to_string(kMaxVideoBytes) + ")");
    }
    if (const auto duration = video.find("duration_seconds");
        duration != video.end() && duration->is_number()) {
      if (duration->get<double>() > kMaxDurationSeconds) {
        return run.fail("douyin.publish: video: " + std::to_string(duration->get<double>()) +
                        " s long; Douyin takes at most 15 minutes");
      }
      if (options.cover_tsp > duration->get<double>()) {
        return run.fail("douyin.publish: cover_tsp: " + std::to_string(options.cover_tsp) +
                        " s is past the end of the video");
      }
    }
    if (options.part_bytes < kMinPartBytes || options.part_bytes > kMaxPartBytes) {
      return run.fail("douyin.publish: chunk_mib: parts must be 5 to 100 MiB");
    }
    const bool poi = !options.poi_id.empty() || !options.poi_name.empty();
    const bool micro_app = !options.micro_app_id.empty() || !options.micro_app_title.empty() ||
                           !options.micro_app_url.empty();
    if (poi && micro_app) {
      return run.fail(
          "douyin.publish: poi_id/poi_name and micro_app_*: Douyin takes one anchor "
          "type per video, not both");
    }
    if (!options.micro_app_id.empty() && options.micro_app_title.empty()) {
      return run.fail("douyin.publish: micro_app_title: required with micro_app_id");
    }
    if (post.value("cover", json()).is_string()) {
      run.warn(
          "douyin.publish: the cover image is not uploaded (custom covers are not "
          "implemented); Douyin takes the frame at cover_tsp = " +
          std::to_string(options.cover_tsp) + " s");
    }
    if (post.value("link", json()).is_string()) {
      run.warn(
          "douyin.publish: the link is not added to the text (Douyin's rules discourage "
          "links that lead viewers off the platform)");
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = account_of(post);
    if (!account) return report(run, account.error());
    const Options options = options_of(post);
    const std::uint64_t size = post["video"].value("size_bytes", std::uint64_t{0});
    Client client(*account, run);
    auto reply = client.call("init_video_part_upload", "POST", "init_video_part_upload/", {},
                             json::object());
    if (!reply) return report(run, reply.error());
    auto upload_id =
        data_string(*reply, "init_video_part_upload", json::json_pointer("/upload_id"));
    if (!upload_id) return report(run, upload_id.error());
    const json session = {{"upload_id", *upload_id},
                          {"part_bytes", options.part_bytes},
                          {"parts_total", (size + options.part_bytes - 1) / options.part_bytes},
                          {"parts_acked", 0},
                          {"video_bytes", size},
                          {"started_at", now_seconds()}};
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = account_of(post);
    if (!account) return report(run, account.error());
    const fs::path path = post["video"].value("path", "");
    const std::uint64_t size = session.value("video_bytes", std::uint64_t{0});
    const std::uint64_t part_bytes = session.value("part_bytes", std::uint64_t{0});
    const std::uint64_t parts_total = session.value("parts_total", std::uint64_t{0});
    const std::string upload_id = session.value("upload_id", "");
    if (upload_id.empty() || part_bytes == 0 || parts_total == 0) {
      return run.fail("douyin.publish: the session has no upload_id/part layout: " +
                      session.dump());
    }
    std::error_code error;
    if (fs::file_size(path, error) != size || error) {
      return run.fail("douyin.publish: video: " + path.string() +
                      " changed (or vanished) since its upload started; it cannot be resumed");
    }
    Client client(*account, run);
    for (std::uint64_t part = session.value("parts_acked", std::uint64_t{0}) + 1;
         part <= parts_total; ++part) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      const std::uint64_t offset = (part - 1) * part_bytes;
      http::FormPart chunk;
      chunk.name = "video";
      chunk.file = http::FileRange{path, offset, std::min(part_bytes, size - offset)};
      chunk.filename = path.filename().string();
      chunk.content_type = "video/mp4";
      std::vector<http::FormPart> form;
      form.push_back(std::move(chunk));
      auto reply = client.call(
          "upload_video_part " + std::to_string(part) + "/" + std::to_string(parts_total), "POST",
          "upload_video_part/", {{"upload_id", upload_id}, {"part_number", std::to_string(part)}},
          std::nullopt, std::move(form));
      if (!reply) return report(run, reply.error());
      session["parts_acked"] = part;
      if (!run.checkpoint(session.dump())) {
        return run.fail("douyin.publish: the host could not record the upload's progress");
      }
      run.progress(static_cast<double>(part) / static_cast<double>(parts_total));
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status finalize(reelflow::Run& run, std::string_view post_text,
                     std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = account_of(post);
    if (!account) return report(run, account.error());
    Client client(*account, run);

    // complete_video_part_upload joins the parts into a video (no post yet); its video_id is
    // recorded before create_video so that reconcile knows create_video may have run.
    if (session.value("video_id", "").empty()) {
      auto reply = client.call("complete_video_part_upload", "POST", "complete_video_part_upload/",
                               {{"upload_id", session.value("upload_id", "")}}, json::object());
      if (!reply) return report(run, reply.error());
      auto video_id =
          data_string(*reply, "complete_video_part_upload", json::json_pointer("/video/video_id"));
      if (!video_id) return report(run, video_id.error());
      session["video_id"] = *video_id;
      if (!run.checkpoint(session.dump())) {
        return run.fail("douyin.publish: the host could not record the video_id");
      }
    }

    const Options options = options_of(post);
    json body = {{"video_id", session.value("video_id", "")},
                 {"text", reelflow::text::compose_with_topics(post)},
                 {"cover_tsp", options.cover_tsp}};
    const std::pair<const char*, const std::string*> optional_fields[] = {
        {"poi_id", &options.poi_id},
        {"poi_name", &options.poi_name},
        {"micro_app_id", &options.micro_app_id},
        {"micro_app_title", &options.micro_app_title},
        {"micro_app_url", &options.micro_app_url}};
    for (const auto& [key, value] : optional_fields) {
      if (!value->empty()) body[key] = *value;
    }
    auto reply = client.call("create_video", "POST", "create_video/", {}, body);
    if (!reply) {
      Failure failed = reply.error();
      if (failed.status == RF_STATUS_RETRY) {
        failed.message += " (Douyin may have created the video: the host checks before retrying)";
      }
      return report(run, failed);
    }
    auto item_id = data_string(*reply, "create_video", json::json_pointer("/item_id"));
    if (!item_id) return report(run, item_id.error());
    session["item_id"] = *item_id;
    session["post_id"] = *item_id;
    session["url"] = item_url(json::object(), *item_id);
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto item = fetch_item(run, post, session);
    if (!item) return report(run, item.error());
    const std::string item_id = session.value("item_id", session.value("post_id", ""));
    if (!*item) {
      session["state"] = "processing";
    } else {
      const json& found = **item;
      session["state"] = "published";
      session["item_id"] = item_id;
      session["post_id"] = item_id;
      session["url"] = item_url(found, item_id);
      if (found.contains("video_status")) session["video_status"] = found["video_status"];
      if (integer_at(found, "video_status") == 2) {
        run.warn("douyin.publish: Douyin marked video " + item_id +
                 " as not suitable for the public (video_status 2); it is visible to its "
                 "author only");
      }
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    const json post = json::parse(post_text);
    json answer = json::parse(session_text);
    const std::string item_id = answer.value("item_id", answer.value("post_id", ""));
    if (!item_id.empty()) {
      answer["found"] = "post";
    } else if (answer.value("upload_id", "").empty()) {
      answer["found"] = "nothing";  // start did not record an upload: nothing public exists
    } else if (answer.value("video_id", "").empty()) {
      answer["found"] = "session";  // create_video is only ever called with a recorded video_id
    } else {
      auto account = account_of(post);
      if (!account) return report(run, account.error());
      Client client(*account, run);
      auto reply =
          client.call("video_list", "GET", "video_list/",
                      {{"cursor", "0"}, {"count", std::to_string(kListCount)}}, std::nullopt);
      if (!reply) return report(run, reply.error());
      const std::string text = reelflow::text::compose_with_topics(post);
      const std::int64_t since = answer.value("started_at", std::int64_t{0}) - kClockSlackSeconds;
      std::optional<json> match;
      for (const auto& item : array_at(object_at(*reply, "data"), "list")) {
        if (text_at(item, "title") != text || integer_at(item, "create_time") < since) continue;
        if (!match || integer_at(item, "create_time") > integer_at(*match, "create_time")) {
          match = item;
        }
      }
      if (match) {
        const std::string found_id = text_at(*match, "item_id");
        answer["found"] = "post";
        answer["item_id"] = found_id;
        answer["post_id"] = found_id;
        answer["url"] = item_url(*match, found_id);
      } else {
        answer["found"] = "session";
      }
    }
    run.set_output(answer.dump());
    return RF_STATUS_OK;
  }

  rf_status metrics(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    const json session = json::parse(session_text);
    auto item = fetch_item(run, post, session);
    if (!item) return report(run, item.error());
    if (!*item) {
      return run.fail("douyin.publish: video " + session.value("item_id", "") +
                      " is not in the account's videos (deleted, or another account?)");
    }
    const json& found = **item;
    const json counters = {{"views", statistic(found, "play_count")},
                           {"likes", statistic(found, "digg_count")},
                           {"comments", statistic(found, "comment_count")},
                           {"shares", statistic(found, "share_count")},
                           {"downloads", statistic(found, "download_count")},
                           {"forwards", statistic(found, "forward_count")}};
    run.set_output(counters.dump());
    return RF_STATUS_OK;
  }

  // A new access token from the refresh token (/oauth/refresh_token/); then, when the refresh
  // token would expire less than kRenewMarginSeconds after the new access token, a new refresh
  // token (/oauth/renew_refresh_token/), at most kMaxRenewals times per authorization. The
  // access token is refreshed first: a renewal invalidates the old refresh token at once, so
  // its result must reach the host in this call's output, which only a successful call has.
  rf_status refresh(reelflow::Run& run, std::string_view account_text) {
    const json account = json::parse(account_text);
    const std::string name = account.value("name", "");
    std::string api_base =
        account.value("options", json::object()).value("api_base", kDefaultApiBase);
    while (!api_base.empty() && api_base.back() == '/') api_base.pop_back();
    const json credentials = account.value("credentials", json::object());
    const std::string refresh_token = text_at(credentials, "refresh_token");
    const std::string client_key = text_at(credentials, "client_key");
    if (refresh_token.empty()) {
      std::vector<std::string> missing;
      for (const char* key : {"access_token", "open_id", "refresh_token", "client_key"}) {
        if (text_at(credentials, key).empty()) missing.emplace_back(key);
      }
      std::string names;
      for (std::size_t i = 0; i < missing.size(); ++i) {
        names += (i == 0 ? "" : i + 1 == missing.size() ? " or " : ", ") + missing[i];
      }
      return run.fail_with(
          RF_STATUS_RECONNECT,
          "douyin.publish: account '" + name + "' has no " + names +
              " in its credentials, so its access token cannot be renewed: authorize reelflow "
              "on Douyin again and put access_token, open_id, refresh_token, "
              "refresh_expires_at and client_key in the secret 'account." +
              name + "'");
    }
    if (client_key.empty()) {
      return run.fail("douyin.publish: account '" + name +
                      "' has no client_key in its credentials (the app's client key, which "
                      "Douyin's token refresh needs)");
    }
    std::vector<std::string> secrets = {refresh_token, client_key,
                                        text_at(credentials, "access_token"),
                                        text_at(credentials, "open_id")};

    auto data = oauth_call(run, name, api_base + kRefreshPath, "refresh_token",
                           {{"client_key", client_key},
                            {"grant_type", "refresh_token"},
                            {"refresh_token", refresh_token}},
                           secrets);
    if (!data) return report(run, data.error());
    const std::string access_token = text_at(*data, "access_token");
    if (access_token.empty()) {
      return run.fail("douyin.publish: refresh_token: Douyin's reply has no access_token");
    }
    const std::int64_t now = now_seconds();
    std::int64_t expires_in = integer_at(*data, "expires_in");
    if (expires_in <= 0) expires_in = kAccessTokenSeconds;
    json fresh = {{"access_token", access_token}, {"expires_at", iso_time(now + expires_in)}};
    // The refresh token is documented to stay the same (and keep its expiry); a changed one is
    // kept all the same.
    std::string current = refresh_token;
    if (const std::string returned = text_at(*data, "refresh_token");
        !returned.empty() && returned != refresh_token) {
      fresh["refresh_token"] = returned;
      current = returned;
      secrets.push_back(returned);
    }
    if (const std::string open_id = text_at(*data, "open_id"); !open_id.empty()) {
      fresh["open_id"] = open_id;
    }
    std::optional<std::int64_t> refresh_expires = time_at(credentials, "refresh_expires_at");
    if (const std::int64_t left = integer_at(*data, "refresh_expires_in"); left > 0) {
      refresh_expires = now + left;
    }
    if (refresh_expires) fresh["refresh_expires_at"] = iso_time(*refresh_expires);

    if (!refresh_expires) {
      run.info("douyin.publish: account '" + name +
               "': when its refresh token expires is unknown (no refresh_expires_at in the "
               "credentials, no refresh_expires_in in Douyin's reply): it is not renewed");
    } else if (*refresh_expires < now + expires_in + kRenewMarginSeconds) {
      renew(run, name, api_base, client_key, current, credentials, *refresh_expires, secrets,
            fresh);
    }
    run.set_output(json{{"credentials", fresh}}.dump());
    return RF_STATUS_OK;
  }

 private:
  // Renews the refresh token `current` (valid until `expires`) into `fresh`, or says why not.
  // Never fails the refresh: the access token already obtained is good either way.
  static void renew(reelflow::Run& run, const std::string& name, const std::string& api_base,
                    const std::string& client_key, const std::string& current,
                    const json& credentials, std::int64_t expires,
                    const std::vector<std::string>& secrets, json& fresh) {
    const std::int64_t renewals = integer_at(credentials, "refresh_renewals");
    const auto renewals_used = [&](std::int64_t until) {
      fresh["refresh_renewals"] = std::max<std::int64_t>(renewals, kMaxRenewals);
      fresh["reauthorize_before"] = iso_time(until);
      run.warn("douyin.publish: account '" + name + "': Douyin renews a refresh token at most " +
               std::to_string(kMaxRenewals) +
               " times and none is left; the refresh token expires at " + iso_time(until) +
               ": authorize reelflow on Douyin again before then and put the new credentials "
               "in the secret 'account." +
               name + "', or its posts stop after that");
    };
    if (renewals >= kMaxRenewals) {
      renewals_used(expires);
      return;
    }
    auto renewed = oauth_call(run, name, api_base + kRenewPath, "renew_refresh_token",
                              {{"client_key", client_key}, {"refresh_token", current}}, secrets);
    const std::string token = renewed ? text_at(*renewed, "refresh_token") : std::string();
    if (!token.empty()) {
      const std::int64_t now = now_seconds();
      std::int64_t valid = integer_at(*renewed, "expires_in");
      if (valid <= 0) valid = kRefreshTokenSeconds;
      fresh["refresh_token"] = token;
      fresh["refresh_expires_at"] = iso_time(now + valid);
      fresh["refresh_renewals"] = renewals + 1;
      run.info("douyin.publish: account '" + name + "': renewed its refresh token (renewal " +
               std::to_string(renewals + 1) + " of " + std::to_string(kMaxRenewals) +
               "); it expires at " + iso_time(now + valid));
      if (renewals + 1 >= kMaxRenewals) renewals_used(now + valid);
      return;
    }
    if (!renewed && renewed.error().code == kRenewLimitCode) {
      renewals_used(expires);
      return;
    }
    std::string why = renewed ? "Douyin's reply has no refresh_token" : renewed.error().message;
    if (!renewed && renewed.error().code == kNoRenewScopeCode) {
      why += "; the app needs Douyin's renew_refresh_token permission";
    }
    run.warn("douyin.publish: account '" + name + "': its refresh token could not be renewed (" +
             why + "); it stays valid until " + iso_time(expires) +
             " and the next refresh tries again; if it expires first, the account must be "
             "authorized again");
  }

  // video_data for the session's item: the item, nullopt when Douyin does not list it (yet).
  static Result<std::optional<json>> fetch_item(reelflow::Run& run, const json& post,
                                                const json& session) {
    auto account = account_of(post);
    if (!account) return tl::unexpected(account.error());
    const std::string item_id = session.value("item_id", session.value("post_id", ""));
    if (item_id.empty()) {
      return failure(RF_STATUS_ERROR, "the session has no item_id: " + session.dump());
    }
    Client client(*account, run);
    auto reply = client.call("video_data", "POST", "video_data/", {},
                             json{{"item_ids", json::array({item_id})}});
    if (!reply) return tl::unexpected(reply.error());
    return find_item(*reply, item_id);
  }
};

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

constexpr rf_option kOptions[] = {
    option::integer("chunk_mib", "20",
                    "Size of each uploaded part in MiB (Douyin: at least 5 MiB except the last "
                    "part; 20 MiB recommended).")
        .range(5, 100),
    option::number("cover_tsp", "0",
                   "The frame used as the cover: seconds from the start of the video.")
        .min(0),
    option::string("poi_id", reelflow::json_string<"">, "Location (POI) id to attach."),
    option::string("poi_name", reelflow::json_string<"">, "Location (POI) name to attach."),
    option::string("micro_app_id", reelflow::json_string<"">,
                   "Mini-app (小程序) id to attach; not together with a POI."),
    option::string("micro_app_title", reelflow::json_string<"">,
                   "Mini-app title (required with micro_app_id)."),
    option::string("micro_app_url", reelflow::json_string<"">,
                   "Mini-app page path opened from the video."),
};

constexpr rf_option kAccountOptions[] = {
    option::string("api_base", reelflow::json_string<"https://open.douyin.com">,
                   "Base URL of the Douyin Open Platform API (change it for a proxy or a test "
                   "server)."),
};

// When `publish_at: best` posts until the optimizer has learned better hours. Douyin documents no
// posting quota (its quota code 2190001 reschedules the post).
constexpr const char* kScheduling =
    "{\"windows\": [\"daily 12:00-13:00\", \"daily 18:00-22:00\"], "
    "\"windows_note\": \"reelflow's starting point for Chinese audiences (lunch and evening); "
    "not from a published study\"}";

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<Douyin>(
        {.name = "douyin.publish",
         .platform = "douyin",
         .summary = "Publish a video to Douyin (抖音) through the Douyin Open Platform",
         .scheduling = kScheduling},
        kOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "douyin",
     .version = "1.0.0",
     .license = "Apache-2.0",
     .summary = "Douyin (抖音) publisher: part upload, create_video, reconcile, metrics"},
    kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
