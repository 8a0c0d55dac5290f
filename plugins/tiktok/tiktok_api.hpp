// The calls tiktok.publish makes to TikTok's API v2 (open.tiktokapis.com), each returning the
// response's `data` object or a Failure that already says what the host should do with it:
//
//   creator_info()   POST /v2/post/publish/creator_info/query/   (video.publish, read-only)
//   init_video(body) POST /v2/post/publish/video/init/           (video.publish; 6 a minute)
//   post_status(id)  POST /v2/post/publish/status/fetch/         (video.publish; 30 a minute)
//   query_videos(ids) POST /v2/video/query/?fields=...           (video.list)
//   put_chunk(...)   PUT {upload_url} with Content-Range         (the upload host; no bearer)
//   refresh_access_token(grant)  POST /v2/oauth/token/ (form; grant_type=refresh_token)
//
// TikTok answers every API call with {"data": {...}, "error": {"code", "message", "log_id"}};
// error.code "ok" is success. classify_error() maps the documented codes onto host statuses:
// access_token_invalid -> RECONNECT, scope_not_authorized -> RECONNECT naming the scope,
// rate_limit_exceeded / HTTP 429 -> RETRY (Retry-After when sent), spam_risk_too_many_posts /
// spam_risk_too_many_pending_share / reached_active_user_cap -> LATER, internal_error / 5xx /
// network failures -> RETRY, everything else -> ERROR with TikTok's own message. The access token
// and the upload URL's token never appear in a message.
//
// The token endpoint answers OAuth-style instead: the token fields at the top level on success,
// {"error", "error_description", "log_id"} on failure. classify_oauth_error() maps invalid_grant
// (the refresh token is invalid, expired, revoked or was rotated away) -> RECONNECT,
// server_error / temporarily_unavailable / 429 / 5xx / network -> RETRY, invalid_client and the
// rest -> ERROR. The client secret and both tokens never appear in a message.
//
// Thread-safety: an Api is used by one callback at a time; separate instances are independent.
#ifndef REELFLOW_PLUGINS_TIKTOK_API_HPP
#define REELFLOW_PLUGINS_TIKTOK_API_HPP

#include <reelflow/plugin.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "http/http_client.hpp"

namespace reelflow::tiktok {

inline constexpr const char* kDefaultApiBase = "https://open.tiktokapis.com";
inline constexpr const char* kPublishScope = "video.publish";
inline constexpr const char* kListScope = "video.list";
// Wait after a 429 that carries no Retry-After: TikTok's limits are per minute.
inline constexpr double kDefaultRetryAfterSeconds = 60;

// Why a call did not succeed, and what the host should do: RF_STATUS_ERROR, RETRY, RECONNECT,
// LATER or CANCELLED. The message names the endpoint and what TikTok said.
struct Failure {
  rf_status status = RF_STATUS_ERROR;
  std::string message;
  std::optional<double> retry_after;
};

template <typename T>
using Result = tl::expected<T, Failure>;

// The account a post goes out on: post.account (name, options.api_base, credentials).
struct Account {
  std::string name;
  std::string api_base;  // without a trailing '/'
  std::string access_token;
};

// Reads post.account; fails (ERROR) when the access token is missing.
Result<Account> read_account(const nlohmann::json& post);

// What renewing the access token takes (refresh's account_json): the app's client_key and
// client_secret and the user's latest refresh token, all from credentials.
struct RefreshGrant {
  std::string account;   // the account's name, for messages
  std::string api_base;  // the token endpoint's host: TikTok serves it from the API host
  std::string client_key;
  std::string client_secret;
  std::string refresh_token;
};

// Reads account_json ({"name", "options", "credentials"}): RECONNECT without a refresh token
// (nothing can renew the access token), ERROR without client_key / client_secret.
Result<RefreshGrant> read_refresh_grant(const nlohmann::json& account);

// A successful answer of /v2/oauth/token/. Lifetimes are in seconds from now.
struct Tokens {
  std::string access_token;
  std::int64_t expires_in = 0;
  std::string refresh_token;                    // TikTok's latest; may differ from the one sent
  std::optional<std::int64_t> refresh_expires_in;
  std::string scope;                            // comma separated
};

// Maps a refusal of the token endpoint (HTTP status, OAuth error and error_description) onto a
// Failure naming the account.
Failure classify_oauth_error(const std::string& account, long http_status,
                             const std::string& error, const std::string& description,
                             std::optional<double> retry_after);

// POST {api_base}/v2/oauth/token/ with grant_type=refresh_token.
Result<Tokens> refresh_access_token(const RefreshGrant& grant, std::function<bool()> cancelled);

// The answer of the upload host to one chunk: 206 (more to come), 201 (complete), or another
// status the caller interprets (416: not the chunk TikTok expected next).
struct ChunkAnswer {
  long status = 0;
  std::string body;
  std::optional<double> retry_after;
};

// Maps an answer of TikTok's API (HTTP status, error.code, error.message) onto a Failure.
// `endpoint` names the call in the message; `scope` is the one it needs.
Failure classify_error(const Account& account, std::string_view endpoint, std::string_view scope,
                       long http_status, const std::string& code, const std::string& message,
                       std::optional<double> retry_after);

class Api {
 public:
  // `cancelled` is polled during transfers; true aborts them with RF_STATUS_CANCELLED.
  Api(Account account, std::function<bool()> cancelled);

  Result<nlohmann::json> creator_info();
  Result<nlohmann::json> init_video(const nlohmann::json& body);
  Result<nlohmann::json> post_status(const std::string& publish_id);
  Result<nlohmann::json> query_videos(const std::vector<std::string>& video_ids);

  // One chunk: bytes [offset, offset + length) of `path`, with
  // Content-Range: bytes offset-(offset+length-1)/video_size. Fails only when no answer came
  // (network, cancel); any HTTP status comes back as a ChunkAnswer.
  Result<ChunkAnswer> put_chunk(const std::string& upload_url, const std::string& path,
                                std::uint64_t offset, std::uint64_t length,
                                std::uint64_t video_size, const std::string& content_type);

  const Account& account() const { return account_; }

 private:
  Result<nlohmann::json> call(std::string_view endpoint, const std::string& path_and_query,
                              const nlohmann::json& body, std::string_view scope);
  Failure network_failure(std::string_view endpoint, const http::HttpError& error) const;

  Account account_;
  std::function<bool()> cancelled_;
};

// The value of the upload URL's credential-like query parameters (upload_token), for redaction.
std::vector<std::string> upload_url_secrets(const std::string& upload_url);

}  // namespace reelflow::tiktok

#endif  // REELFLOW_PLUGINS_TIKTOK_API_HPP
