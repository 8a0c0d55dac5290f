// youtube.publish's side of the YouTube Data API v3: the account it speaks for, requests that
// carry its token (and never show it), and how an answer that is not a success reads as a
// publisher status:
//
//   401, or 403 with reason forbidden / insufficientPermissions / authError
//                                     -> RF_STATUS_RECONNECT ("access token rejected: ...")
//   403 quotaExceeded / dailyLimitExceeded
//                                     -> RF_STATUS_LATER, not_before = the next 08:00 UTC
//                                        (the project's quota resets at midnight Pacific Time)
//   uploadLimitExceeded (a 400)       -> RF_STATUS_LATER, not_before = 24 hours from now
//                                        (the channel's own daily upload limit)
//   429, 403 rateLimitExceeded / userRateLimitExceeded, 5xx, network errors
//                                     -> RF_STATUS_RETRY, retry_after from Retry-After
//   any other 4xx                     -> RF_STATUS_ERROR naming the post field it is about
//
// Errors come in Google's envelope: {"error": {"code", "message", "errors": [{"domain",
// "reason", "message", "location"}]}}; the first reason decides.
//
// Thread-safety: values and pure functions; Client::send may be called from any thread.
#pragma once

#include <reelflow/plugin.h>

#include <cstdint>
#include <functional>
#include <http/http_client.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace reelflow::youtube {

inline constexpr std::string_view kDefaultApiBase = "https://www.googleapis.com";

// The account a post is published with (post_json "account").
struct Account {
  std::string name;
  std::string api_base;      // without a trailing '/'
  std::string access_token;  // never logged: every request redacts it
};

// The account of a post; the error says what is missing (RF_STATUS_RECONNECT when the token is).
struct AccountError {
  rf_status status = RF_STATUS_ERROR;
  std::string message;
};
tl::expected<Account, AccountError> read_account(const nlohmann::json& post);

// Why a call did not succeed, as the publisher reports it.
struct Failure {
  rf_status status = RF_STATUS_ERROR;
  std::string message;
  std::optional<double> retry_after;      // seconds, for RF_STATUS_RETRY
  std::optional<std::string> not_before;  // ISO 8601, for RF_STATUS_LATER
};

// Google's error envelope, read leniently (empty strings for what is not there).
struct GoogleError {
  std::string reason;
  std::string message;
  std::string location;
};
GoogleError read_google_error(const http::Response& response);

// The reading of a non-success answer (table above). `doing` says what the call was for, e.g.
// "creating the upload session"; now_millis dates not_before.
Failure classify(const http::Response& response, std::string_view doing, const Account& account,
                 std::int64_t now_millis);

// A network failure: RETRY when the HTTP client says it is worth it, else ERROR.
Failure network_failure(const http::HttpError& error);

// What a 308 Resume Incomplete says the session holds: "Range: bytes=0-N" -> N+1, no Range -> 0,
// nullopt when the header is there but not of that form.
std::optional<std::uint64_t> acknowledged_bytes(const http::Response& response);

// The next 08:00 UTC after now: midnight Pacific Standard Time, at or after the daily reset of
// the project's quota whether or not daylight saving time is in effect.
std::int64_t next_quota_reset(std::int64_t now_millis);

std::int64_t now_millis();

// Requests on behalf of one account: the bearer token, redaction, cancellation.
class Client {
 public:
  Client(Account account, std::function<bool()> cancelled)
      : account_(std::move(account)), cancelled_(std::move(cancelled)) {}

  const Account& account() const noexcept { return account_; }

  // A request to api_base + path_and_query (or to an absolute URL such as the session URI).
  http::Request request(std::string method, std::string_view url_or_path) const;
  tl::expected<http::Response, http::HttpError> send(const http::Request& request) const {
    return http::send(request);
  }

 private:
  Account account_;
  std::function<bool()> cancelled_;
};

// The body of a success as JSON; nullopt when it is not a JSON object.
std::optional<nlohmann::json> json_body(const http::Response& response);

}  // namespace reelflow::youtube
