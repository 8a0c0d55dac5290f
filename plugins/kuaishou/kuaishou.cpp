// kuaishou.publish: puts a video on Kuaishou (快手) through the Kuaishou Open Platform's content
// API (open.kuaishou.com), on behalf of an account that authorised the app with the
// user_video_publish scope: the account's credentials hold its access_token (and the app's
// app_id, unless the account options give it). README.md gives the protocol, the documentation
// it follows and what is an assumption.
//
// The host owns the durable state machine (plugin.h, "Publisher types"); each stage here is a
// few platform calls, and the session (JSON) is what Kuaishou knows about this post:
//   start      photo/start_upload                 -> {upload_token, endpoint, fragment layout}
//   upload     http://{endpoint}/api/upload/fragment, fragment_id 0..K-1 in order, a checkpoint
//              after each acknowledged one; then /api/upload/complete?fragment_count=K
//   finalize   photo/publish (multipart: caption, cover) -> photo_id: the post, irreversible
//   poll       photo/info?photo_id                -> published once video_info.pending is false
//   reconcile  photo_id: the post; no upload_token: nothing; else the account's latest videos
//              (photo/list) matched on the exact caption and a create_time no earlier than the
//              session's start: the post, or else the session
//   metrics    photo/info                         -> view, like, comment counts
//   refresh    oauth2/refresh_token               -> a new access_token and a NEW refresh_token
//              (the old one stops working; the new one keeps the old one's expiry)
//
// Thread-safety: an instance keeps nothing between calls; the host calls one callback at a time.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <exception>
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

constexpr const char* kDefaultApiBase = "https://open.kuaishou.com";

// Limits (README.md, "Limits": which are documented and which are assumptions).
constexpr double kMiB = 1024.0 * 1024.0;
constexpr std::uint64_t kMaxFragmentBytes = 10 * 1024 * 1024;  // docs: fragments "不大于10M"
constexpr std::size_t kMaxCaptionCharacters = 500;             // assumption
// A create_time this much before the session's start still matches in reconcile (clock skew).
constexpr std::int64_t kClockSlackSeconds = 300;
constexpr int kListCount = 20;  // reconcile reads the latest 20 videos

// Kuaishou's `result` codes (1 is success) and what they mean for the host.
constexpr std::int64_t kTokenCodes[] = {
    100200102,  // request denied, e.g. an invalid token
    100200106,  // scope wrong (the user did not grant user_video_publish)
    100200107,  // invalid openid
    100200108,  // access_token expired
    100200109,  // the user revoked the app's authorisation
    100200110,  // the user's authorisation expired
    100200111,  // the user never authorised the app
};
constexpr std::int64_t kRateLimitCodes[] = {100200410, 100100402, 400002};
constexpr std::int64_t kTransientCodes[] = {100200500};
constexpr std::int64_t kVideoNotExist = 100120001;

// Token refresh (README.md, "Token refresh").
constexpr const char* kRefreshPath = "/oauth2/refresh_token";
constexpr std::int64_t kDay = 86400;
// When a reply has no expires_in: the access token is taken to last an hour (the documented
// lifetimes are "not fixed"; an early refresh costs nothing).
constexpr std::int64_t kFallbackAccessSeconds = 3600;
// A refresh token is never extended by refreshing: within this long of its expiry, every refresh
// warns that the account must be authorized again.
constexpr std::int64_t kReauthorizeWarningSeconds = 14 * kDay;
// Result codes that refuse the refresh token itself: the user must authorize the app again.
constexpr std::int64_t kRefreshRefusedCodes[] = {
    100200102,  // request denied, e.g. an invalid token
    100200105,  // invalid grant
    100200109,  // the user revoked the app's authorisation
    100200110,  // the user's authorisation expired
    100200111,  // the user never authorised the app
    100200113,  // refresh_token expired
};

template <std::size_t N>
bool one_of(std::int64_t code, const std::int64_t (&codes)[N]) {
  return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

// Why a call did not succeed, and what the host should do about it.
struct Failure {
  rf_status status = RF_STATUS_ERROR;
  std::string message;
  std::optional<double> retry_after;
  std::int64_t code = 0;  // Kuaishou's result code, when it gave one
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
  return run.fail_with(failed.status, "kuaishou.publish: " + failed.message);
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

// Unicode code points in valid UTF-8.

std::string lower_extension(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}


// ---------------------------------------------------------------------------------------------
// The post: account, caption, options
// ---------------------------------------------------------------------------------------------

struct Account {
  std::string name;
  std::string api_base;
  std::string access_token;
  std::string app_id;
};

Result<Account> account_of(const json& post) {
  const json& account = post.at("account");
  const json options = account.value("options", json::object());
  const json credentials = account.value("credentials", json::object());
  Account out;
  out.name = account.value("name", "");
  out.api_base = options.value("api_base", kDefaultApiBase);
  while (!out.api_base.empty() && out.api_base.back() == '/') out.api_base.pop_back();
  out.access_token = credentials.value("access_token", "");
  out.app_id = credentials.value("app_id", "");
  if (out.app_id.empty()) out.app_id = options.value("app_id", "");
  if (out.access_token.empty()) {
    return failure(RF_STATUS_RECONNECT, "account '" + out.name +
                                            "' has no access_token in its credentials: connect "
                                            "the Kuaishou account (scope user_video_publish)");
  }
  if (out.app_id.empty()) {
    return failure(RF_STATUS_ERROR, "account '" + out.name +
                                        "' has no app_id (the Kuaishou app's id): set it in the "
                                        "credentials or in the account option app_id");
  }
  return out;
}


std::uint64_t fragment_bytes_of(const json& post) {
  const json own = post.value("options", json::object());
  const auto found = own.find("chunk_mib");
  const double mib = found != own.end() && found->is_number() ? found->get<double>() : 5.0;
  return static_cast<std::uint64_t>(std::llround(mib * kMiB));
}

// ---------------------------------------------------------------------------------------------
// Kuaishou's API: one call, its `result` and its errors
// ---------------------------------------------------------------------------------------------

using Query = std::vector<std::pair<std::string, std::string>>;

class Client {
 public:
  Client(Account account, reelflow::Run& run) : account_(std::move(account)), run_(run) {}

  // The open API at {api_base}{path}?app_id=..&access_token=..&<query>.
  http::Request api(const std::string& method, std::string_view path, const Query& query) const {
    return make_request(method,
                        account_.api_base + std::string(path) +
                            "?app_id=" + http::url_encode(account_.app_id) +
                            "&access_token=" + http::url_encode(account_.access_token),
                        query);
  }

  // The upload gateway named by start_upload: http://{endpoint}{path}?<query> (the docs give
  // plain http for it; an endpoint that carries its own scheme keeps it).
  http::Request gateway(std::string_view endpoint, std::string_view path,
                        const Query& query) const {
    std::string base(endpoint);
    if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) base = "http://" + base;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return make_request("POST", base + std::string(path), query);
  }

  // Sends it; the whole reply once Kuaishou said result 1. `what` names the call in messages.
  Result<json> send(std::string_view what, http::Request request) {
    auto response = http::send(request);
    if (!response) {
      if (response.error().cancelled) {
        return failure(RF_STATUS_CANCELLED, std::string(what) + ": cancelled");
      }
      return failure(response.error().retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                     std::string(what) + ": " + response.error().message);
    }
    return read(what, *response);
  }

 private:
  http::Request make_request(const std::string& method, std::string url, const Query& query) const {
    http::Request out;
    out.method = method;
    out.url = std::move(url);
    for (const auto& [key, value] : query) {
      out.url += (out.url.find('?') == std::string::npos ? "?" : "&") + key + "=" +
                 http::url_encode(value);
    }
    out.total_timeout_seconds = 120;
    out.redact = {account_.access_token};
    out.cancelled = [this] { return run_.cancelled(); };
    return out;
  }

  Result<json> read(std::string_view what, const http::Response& response) const {
    const std::string where(what);
    const json reply = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const bool has_result = reply.is_object() && reply.contains("result");
    const std::int64_t code = has_result ? integer_at(reply, "result") : 0;
    std::string message = text_at(reply, "error_msg");
    if (message.empty()) message = text_at(reply, "error");
    if (message.empty()) message = text_at(object_at(reply, "error"), "message");
    const std::string said =
        has_result && code != 1
            ? "Kuaishou result " + std::to_string(code) + (message.empty() ? "" : ": " + message)
            : "HTTP " + std::to_string(response.status) + (message.empty() ? "" : ": " + message);
    const http::StatusClass status = http::classify(response.status);

    if (status == http::StatusClass::unauthorized || one_of(code, kTokenCodes)) {
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
      return failure(RF_STATUS_RETRY, where + ": Kuaishou is unavailable (" + said + ")",
                     response.retry_after(), code);
    }
    if (status != http::StatusClass::ok || (has_result && code != 1)) {
      return failure(RF_STATUS_ERROR, where + ": Kuaishou refused the request (" + said + ")",
                     std::nullopt, code);
    }
    if (!has_result) {
      // A 2xx that is not Kuaishou's reply (a proxy's page, a truncated body): whether the call
      // took effect is unknown, so the host asks (reconcile) before calling again.
      return failure(RF_STATUS_RETRY, where + ": the reply is not Kuaishou's JSON (HTTP " +
                                          std::to_string(response.status) + ")");
    }
    return reply;
  }

  Account account_;
  reelflow::Run& run_;
};

// The page people open: play_url when Kuaishou gives one, else the web address of the photo.
std::string photo_url(const json& info, const std::string& photo_id) {
  const std::string play = text_at(info, "play_url");
  return play.empty() ? "https://www.kuaishou.com/short-video/" + photo_id : play;
}

// create_time in seconds (Kuaishou gives milliseconds; seconds are accepted too).
std::int64_t create_seconds(const json& info) {
  const std::int64_t value = integer_at(info, "create_time");
  return value > 100'000'000'000 ? value / 1000 : value;
}

// ---------------------------------------------------------------------------------------------
// Token refresh
// ---------------------------------------------------------------------------------------------

// GET {api_base}/oauth2/refresh_token?app_id&app_secret&refresh_token&grant_type=refresh_token:
// the whole reply once Kuaishou said result 1. A refused refresh token is RECONNECT with a
// message naming the account; `secrets` are kept out of every message.
Result<json> refresh_call(reelflow::Run& run, const std::string& account,
                          const std::string& api_base, const std::string& app_id,
                          const std::string& app_secret, const std::string& refresh_token,
                          const std::vector<std::string>& secrets) {
  const std::string where = "oauth2/refresh_token";
  http::Request request;
  request.method = "GET";
  request.url = api_base + kRefreshPath + "?app_id=" + http::url_encode(app_id) +
                "&app_secret=" + http::url_encode(app_secret) +
                "&refresh_token=" + http::url_encode(refresh_token) +
                "&grant_type=refresh_token";
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
  const bool has_result = reply.is_object() && reply.contains("result");
  const std::int64_t code = has_result ? integer_at(reply, "result") : 0;
  std::string message = text_at(reply, "error_msg");
  if (message.empty()) message = text_at(reply, "error");
  const std::string said =
      has_result && code != 1
          ? "Kuaishou result " + std::to_string(code) + (message.empty() ? "" : ": " + message)
          : "HTTP " + std::to_string(response->status) + (message.empty() ? "" : ": " + message);
  const http::StatusClass status = http::classify(response->status);
  if (status == http::StatusClass::unauthorized || one_of(code, kRefreshRefusedCodes)) {
    return failure(RF_STATUS_RECONNECT,
                   "account '" + account + "': Kuaishou refused the refresh token (" + where +
                       ": " + said + "); authorize reelflow on Kuaishou again",
                   std::nullopt, code);
  }
  if (status == http::StatusClass::rate_limited || one_of(code, kRateLimitCodes)) {
    return failure(RF_STATUS_RETRY, where + ": rate limited (" + said + ")",
                   response->retry_after(), code);
  }
  if (status == http::StatusClass::server_error || one_of(code, kTransientCodes)) {
    return failure(RF_STATUS_RETRY, where + ": Kuaishou is unavailable (" + said + ")",
                   response->retry_after(), code);
  }
  if (status != http::StatusClass::ok || (has_result && code != 1)) {
    return failure(RF_STATUS_ERROR, where + ": Kuaishou refused the request (" + said + ")",
                   std::nullopt, code);
  }
  if (!has_result) {
    return failure(RF_STATUS_RETRY, where + ": the reply is not Kuaishou's JSON (HTTP " +
                                        std::to_string(response->status) + ")");
  }
  return reply;
}

// ---------------------------------------------------------------------------------------------
// The publisher
// ---------------------------------------------------------------------------------------------

class Kuaishou {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    if (auto account = account_of(post); !account) return report(run, account.error());
    for (const auto& tag : post.value("tags", json::array())) {
      const std::string raw = tag.is_string() ? tag.get<std::string>() : tag.dump();
      if (!tag.is_string()) return run.fail("kuaishou.publish: tags: " + raw + " is not a string");
      if (auto problem = reelflow::text::tag_problem(raw)) {
        return run.fail("kuaishou.publish: tags: '" + raw + "' " + *problem +
                        " (a Kuaishou topic is one word after '#')");
      }
    }
    const bool from_caption = !post.value("caption", "").empty();
    if (const std::size_t length = characters(reelflow::text::compose_with_topics(post));
        length > kMaxCaptionCharacters) {
      return run.fail(std::string("kuaishou.publish: ") + (from_caption ? "caption" : "title") +
                      ": the caption (with the tags as #topics) has " + std::to_string(length) +
                      " characters; at most " + std::to_string(kMaxCaptionCharacters) +
                      " are sent to Kuaishou");
    }
    const json video = post.value("video", json::object());
    const fs::path path = video.value("path", "");
    const std::string extension = lower_extension(path);
    if (extension != ".mp4" && extension != ".mov") {
      return run.fail("kuaishou.publish: video: " + path.string() + " is not an .mp4 or .mov file");
    }
    if (video.value("size_bytes", std::uint64_t{0}) == 0) {
      return run.fail("kuaishou.publish: video: " + path.string() + " is empty");
    }
    const json cover = post.value("cover", json());
    if (!cover.is_string()) {
      return run.fail(
          "kuaishou.publish: cover: Kuaishou's publish call takes a cover image "
          "(JPEG or PNG); give the post a cover");
    }
    const std::string cover_extension = lower_extension(cover.get<std::string>());
    if (cover_extension != ".jpg" && cover_extension != ".jpeg" && cover_extension != ".png") {
      return run.fail("kuaishou.publish: cover: " + cover.get<std::string>() +
                      " is not a .jpg/.jpeg/.png image");
    }
    const std::uint64_t fragment = fragment_bytes_of(post);
    if (fragment == 0 || fragment > kMaxFragmentBytes) {
      return run.fail(
          "kuaishou.publish: chunk_mib: fragments must be more than 0 and at most "
          "10 MiB");
    }
    if (post.value("link", json()).is_string()) {
      run.warn(
          "kuaishou.publish: the link is not added to the caption (Kuaishou's rules "
          "discourage links that lead viewers off the platform)");
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = account_of(post);
    if (!account) return report(run, account.error());
    Client client(*account, run);
    auto reply =
        client.send("photo/start_upload", client.api("POST", "/openapi/photo/start_upload", {}));
    if (!reply) return report(run, reply.error());
    const std::string upload_token = text_at(*reply, "upload_token");
    const std::string endpoint = text_at(*reply, "endpoint");
    if (upload_token.empty() || endpoint.empty()) {
      return run.fail(
          "kuaishou.publish: photo/start_upload: the reply has no upload_token or "
          "endpoint (" +
          reply->dump().substr(0, 300) + ")");
    }
    const std::uint64_t size = post["video"].value("size_bytes", std::uint64_t{0});
    const std::uint64_t fragment = fragment_bytes_of(post);
    const json session = {
        {"upload_token", upload_token}, {"endpoint", endpoint},
        {"fragment_bytes", fragment},   {"fragments_total", (size + fragment - 1) / fragment},
        {"fragments_acked", 0},         {"upload_complete", false},
        {"video_bytes", size},          {"started_at", now_seconds()}};
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
    const std::uint64_t fragment = session.value("fragment_bytes", std::uint64_t{0});
    const std::uint64_t total = session.value("fragments_total", std::uint64_t{0});
    const std::string token = session.value("upload_token", "");
    const std::string endpoint = session.value("endpoint", "");
    if (token.empty() || endpoint.empty() || fragment == 0 || total == 0) {
      return run.fail(
          "kuaishou.publish: the session has no upload_token/endpoint/fragment "
          "layout: " +
          session.dump());
    }
    std::error_code error;
    if (fs::file_size(path, error) != size || error) {
      return run.fail("kuaishou.publish: video: " + path.string() +
                      " changed (or vanished) since its upload started; it cannot be resumed");
    }
    Client client(*account, run);
    for (std::uint64_t id = session.value("fragments_acked", std::uint64_t{0}); id < total; ++id) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      const std::uint64_t offset = id * fragment;
      http::Request request =
          client.gateway(endpoint, "/api/upload/fragment",
                         {{"fragment_id", std::to_string(id)}, {"upload_token", token}});
      request.redact.push_back(token);
      request.headers.emplace_back("Content-Type", "application/octet-stream");
      request.file = http::FileRange{path, offset, std::min(fragment, size - offset)};
      request.total_timeout_seconds = 0;  // the stall timeout still holds
      auto reply =
          client.send("upload fragment " + std::to_string(id + 1) + "/" + std::to_string(total),
                      std::move(request));
      if (!reply) return report(run, reply.error());
      session["fragments_acked"] = id + 1;
      if (!run.checkpoint(session.dump())) {
        return run.fail("kuaishou.publish: the host could not record the upload's progress");
      }
      run.progress(static_cast<double>(id + 1) / static_cast<double>(total));
    }
    if (!session.value("upload_complete", false)) {
      http::Request request =
          client.gateway(endpoint, "/api/upload/complete",
                         {{"fragment_count", std::to_string(total)}, {"upload_token", token}});
      request.redact.push_back(token);
      auto reply = client.send("upload complete", std::move(request));
      if (!reply) return report(run, reply.error());
      session["upload_complete"] = true;
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
    const std::string token = session.value("upload_token", "");
    Client client(*account, run);
    http::Request request = client.api("POST", "/openapi/photo/publish", {{"upload_token", token}});
    request.redact.push_back(token);
    http::FormPart caption;
    caption.name = "caption";
    caption.value = reelflow::text::compose_with_topics(post);
    const fs::path cover_path = post.value("cover", "");
    std::error_code error;
    const std::uint64_t cover_size = fs::file_size(cover_path, error);
    if (error) {
      return run.fail("kuaishou.publish: cover: " + cover_path.string() + ": " + error.message());
    }
    http::FormPart cover;
    cover.name = "cover";
    cover.file = http::FileRange{cover_path, 0, cover_size};
    cover.filename = cover_path.filename().string();
    cover.content_type = lower_extension(cover_path) == ".png" ? "image/png" : "image/jpeg";
    request.form.push_back(std::move(caption));
    request.form.push_back(std::move(cover));
    auto reply = client.send("photo/publish", std::move(request));
    if (!reply) {
      Failure failed = reply.error();
      if (failed.status == RF_STATUS_RETRY) {
        failed.message += " (Kuaishou may have published it: the host checks before retrying)";
      }
      return report(run, failed);
    }
    const json info = object_at(*reply, "video_info");
    const std::string photo_id = text_at(info, "photo_id");
    if (photo_id.empty()) {
      return run.fail("kuaishou.publish: photo/publish: the reply has no video_info.photo_id (" +
                      reply->dump().substr(0, 300) + ")");
    }
    session["photo_id"] = photo_id;
    session["post_id"] = photo_id;
    session["url"] = photo_url(info, photo_id);
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto info = fetch_info(run, post, session);
    if (!info && info.error().code != kVideoNotExist) return report(run, info.error());
    const std::string photo_id = session.value("photo_id", session.value("post_id", ""));
    bool listed = false;
    bool pending = false;
    if (info) {
      listed = !text_at(*info, "photo_id").empty();
      const auto flag = info->find("pending");
      pending = flag != info->end() && flag->is_boolean() && flag->get<bool>();
    }
    if (!listed || pending) {
      session["state"] = "processing";  // not listed yet, or still being processed
    } else {
      session["state"] = "published";
      session["photo_id"] = photo_id;
      session["post_id"] = photo_id;
      session["url"] = photo_url(*info, photo_id);
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    const json post = json::parse(post_text);
    json answer = json::parse(session_text);
    const std::string photo_id = answer.value("photo_id", answer.value("post_id", ""));
    if (!photo_id.empty()) {
      answer["found"] = "post";
    } else if (answer.value("upload_token", "").empty()) {
      answer["found"] = "nothing";  // start did not record an upload: nothing public exists
    } else {
      auto account = account_of(post);
      if (!account) return report(run, account.error());
      Client client(*account, run);
      auto reply = client.send("photo/list", client.api("GET", "/openapi/photo/list",
                                                        {{"count", std::to_string(kListCount)}}));
      if (!reply) return report(run, reply.error());
      const std::string caption = reelflow::text::compose_with_topics(post);
      const std::int64_t since = answer.value("started_at", std::int64_t{0}) - kClockSlackSeconds;
      std::optional<json> match;
      for (const auto& info : array_at(*reply, "video_list")) {
        if (text_at(info, "caption") != caption || create_seconds(info) < since) continue;
        if (!match || create_seconds(info) > create_seconds(*match)) match = info;
      }
      if (match) {
        const std::string found_id = text_at(*match, "photo_id");
        answer["found"] = "post";
        answer["photo_id"] = found_id;
        answer["post_id"] = found_id;
        answer["url"] = photo_url(*match, found_id);
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
    auto info = fetch_info(run, post, session);
    if (!info) return report(run, info.error());
    const json counters = {{"views", integer_at(*info, "view_count")},
                           {"likes", integer_at(*info, "like_count")},
                           {"comments", integer_at(*info, "comment_count")}};
    run.set_output(counters.dump());
    return RF_STATUS_OK;
  }

  // A new access token and a new refresh token (the old one stops working at once, so the
  // output must reach the host: it stores it before anything uses it).
  rf_status refresh(reelflow::Run& run, std::string_view account_text) {
    const json account = json::parse(account_text);
    const json options = account.value("options", json::object());
    const json credentials = account.value("credentials", json::object());
    const std::string name = account.value("name", "");
    std::string api_base = options.value("api_base", kDefaultApiBase);
    while (!api_base.empty() && api_base.back() == '/') api_base.pop_back();
    const std::string refresh_token = text_at(credentials, "refresh_token");
    std::string app_id = text_at(credentials, "app_id");
    if (app_id.empty()) app_id = options.value("app_id", "");
    const std::string app_secret = text_at(credentials, "app_secret");
    if (refresh_token.empty()) {
      std::vector<std::string> missing;
      for (const char* key : {"access_token", "refresh_token", "app_secret"}) {
        if (text_at(credentials, key).empty()) missing.emplace_back(key);
      }
      std::string names;
      for (std::size_t i = 0; i < missing.size(); ++i) {
        names += (i == 0 ? "" : i + 1 == missing.size() ? " or " : ", ") + missing[i];
      }
      return run.fail_with(
          RF_STATUS_RECONNECT,
          "kuaishou.publish: account '" + name + "' has no " + names +
              " in its credentials, so its access token cannot be renewed: authorize reelflow "
              "on Kuaishou again and put access_token, refresh_token, app_id and app_secret "
              "in the secret 'account." +
              name + "'");
    }
    if (app_id.empty() || app_secret.empty()) {
      return run.fail("kuaishou.publish: account '" + name + "' has no " +
                      (app_id.empty() ? "app_id" : "app_secret") +
                      " in its credentials (the Kuaishou app's, which the token refresh "
                      "needs)");
    }
    const std::vector<std::string> secrets = {refresh_token, app_secret,
                                              text_at(credentials, "access_token")};
    auto reply = refresh_call(run, name, api_base, app_id, app_secret, refresh_token, secrets);
    if (!reply) return report(run, reply.error());
    const std::string access_token = text_at(*reply, "access_token");
    if (access_token.empty()) {
      return run.fail("kuaishou.publish: oauth2/refresh_token: the reply has no access_token");
    }
    const std::int64_t now = now_seconds();
    std::int64_t expires_in = integer_at(*reply, "expires_in");
    if (expires_in <= 0) expires_in = kFallbackAccessSeconds;
    json fresh = {{"access_token", access_token}, {"expires_at", iso_time(now + expires_in)}};
    if (const std::string rotated = text_at(*reply, "refresh_token"); !rotated.empty()) {
      fresh["refresh_token"] = rotated;
    } else {
      run.warn("kuaishou.publish: account '" + name +
               "': Kuaishou's refresh answered no new refresh_token; the old one is kept, "
               "though Kuaishou documents that it stops working");
    }
    if (const std::int64_t left = integer_at(*reply, "refresh_token_expires_in"); left > 0) {
      fresh["refresh_expires_at"] = iso_time(now + left);
      if (left < kReauthorizeWarningSeconds) {
        fresh["reauthorize_before"] = iso_time(now + left);
        run.warn("kuaishou.publish: account '" + name +
                 "': its refresh token expires at " + iso_time(now + left) +
                 " and Kuaishou does not extend it: authorize reelflow on Kuaishou again "
                 "before then and put the new credentials in the secret 'account." +
                 name + "', or its posts stop after that");
      }
    }
    const json scopes = array_at(*reply, "scopes");
    if (!scopes.empty() &&
        std::find(scopes.begin(), scopes.end(), json("user_video_publish")) == scopes.end()) {
      run.warn("kuaishou.publish: account '" + name +
               "': the refreshed access token lacks the user_video_publish scope (scopes: " +
               scopes.dump() + "); publishing will be refused until the account is "
               "authorized with it");
    }
    run.set_output(json{{"credentials", fresh}}.dump());
    return RF_STATUS_OK;
  }

 private:
  // photo/info's video_info for the session's photo.
  static Result<json> fetch_info(reelflow::Run& run, const json& post, const json& session) {
    auto account = account_of(post);
    if (!account) return tl::unexpected(account.error());
    const std::string photo_id = session.value("photo_id", session.value("post_id", ""));
    if (photo_id.empty()) {
      return failure(RF_STATUS_ERROR, "the session has no photo_id: " + session.dump());
    }
    Client client(*account, run);
    auto reply = client.send("photo/info",
                             client.api("GET", "/openapi/photo/info", {{"photo_id", photo_id}}));
    if (!reply) return tl::unexpected(reply.error());
    return object_at(*reply, "video_info");
  }
};

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

constexpr rf_option kOptions[] = {
    option::number("chunk_mib", "5",
                   "Size of each uploaded fragment in MiB (Kuaishou: at most 10 MiB).")
        .range(0.0625, 10),
};

constexpr rf_option kAccountOptions[] = {
    option::string("api_base", reelflow::json_string<"https://open.kuaishou.com">,
                   "Base URL of the Kuaishou Open Platform API (change it for a proxy or a test "
                   "server)."),
    option::string("app_id", reelflow::json_string<"">,
                   "The Kuaishou app's id, when the credentials do not carry app_id."),
};

// When `publish_at: best` posts until the optimizer has learned better hours. Kuaishou documents
// no posting quota.
constexpr const char* kScheduling =
    "{\"windows\": [\"daily 12:00-13:00\", \"daily 18:00-22:00\"], "
    "\"windows_note\": \"reelflow's starting point for Chinese audiences (lunch and evening); "
    "not from a published study\"}";

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<Kuaishou>(
        {.name = "kuaishou.publish",
         .platform = "kuaishou",
         .summary = "Publish a video to Kuaishou (快手) through the Kuaishou Open Platform",
         .scheduling = kScheduling},
        kOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "kuaishou",
     .version = "1.0.0",
     .license = "Apache-2.0",
     .summary = "Kuaishou (快手) publisher: fragment upload, publish, reconcile, metrics"},
    kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
