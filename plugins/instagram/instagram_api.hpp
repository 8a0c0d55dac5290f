// The Instagram Graph API as instagram.publish uses it: Graph calls on graph.facebook.com
// (Authorization: Bearer <token>, parameters as a form body or query), resumable video uploads on
// rupload.facebook.com (Authorization: OAuth <token>, offset and file_size headers), and how the
// Graph API's error object reads for the host:
//
//   {"error": {"message", "type", "code", "error_subcode", "is_transient", "error_user_msg", ...}}
//   code 190 (or HTTP 401)               -> RECONNECT (the token is expired or revoked)
//   code 9, or subcode 2207042           -> LATER (the 24-hour publishing limit)
//   codes 4, 17, 32, 613, 80002, HTTP 429 -> RETRY (rate limits; Retry-After when sent)
//   is_transient, HTTP 5xx, codes 1/2/-1/-2 with a "try again" subcode, 9007/2207027 (media not
//   ready) -> RETRY
//   code 100                             -> ERROR naming the refused parameter
//   anything else                        -> ERROR with the platform's message
//
// The upload host answers errors as {"debug_info": {"retriable", "type", "message"}}.
//
// Token refresh (Facebook Login's long-lived User access token, about 60 days): exchange_token
// sends GET {api_base}/{version}/oauth/access_token?grant_type=fb_exchange_token&client_id=
// {app_id}&client_secret={app_secret}&fb_exchange_token={the current token} and reads
// {"access_token", "token_type", "expires_in"}. An expired or invalidated token cannot be
// exchanged (code 190) -> RECONNECT; 429, 5xx, is_transient and the rate-limit codes -> RETRY;
// anything else (a wrong app secret, code 1/101) -> ERROR.
//
// Thread-safety: a Graph is used by one call at a time; the functions are pure.
#ifndef REELFLOW_PLUGINS_INSTAGRAM_API_HPP
#define REELFLOW_PLUGINS_INSTAGRAM_API_HPP

#include <reelflow/plugin.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "http/http_client.hpp"

namespace reelflow::instagram {

struct Failure {
  rf_status status = RF_STATUS_ERROR;
  std::string message;                // names the account and what was refused; no token
  std::optional<double> retry_after;  // seconds, when the platform said so
  long graph_code = 0;                // the Graph error's code, when there was one
};

template <typename T>
using Outcome = tl::expected<T, Failure>;

inline tl::unexpected<Failure> failure(rf_status status, std::string message) {
  return tl::unexpected(Failure{status, std::move(message), std::nullopt, 0});
}

// The Graph API's error object, as far as the classification needs it.
struct GraphError {
  long http_status = 0;
  long code = 0;
  long subcode = 0;
  bool transient = false;
  std::string message;
  std::string user_message;
};

Failure classify(const std::string& account, const std::string& what, const GraphError& error);

// The account's new credentials ({"access_token", "expires_at"}: ISO 8601 UTC, null when Meta
// gave no expires_in) from the fb_exchange_token call above. account is account_json
// ({"name", "options", "credentials"}, plugin.h); now_millis dates expires_at.
Outcome<nlohmann::json> exchange_token(const nlohmann::json& account,
                                       const std::function<bool()>& cancelled,
                                       std::int64_t now_millis);

// "2026-12-01T01:00:00Z" for milliseconds since the epoch.
std::string format_iso_time(std::int64_t millis);

using Parameters = std::vector<std::pair<std::string, std::string>>;

class Graph {
 public:
  struct Settings {
    std::string api_base;     // https://graph.facebook.com
    std::string upload_base;  // https://rupload.facebook.com
    std::string version;      // v21.0
    std::string access_token;
    std::string account;  // the account's name, for messages
  };

  Graph(Settings settings, std::function<bool()> cancelled)
      : settings_(std::move(settings)), cancelled_(std::move(cancelled)) {}

  // GET {api_base}/{version}/{path}?{parameters}: the answer's JSON object.
  Outcome<nlohmann::json> get(const std::string& what, const std::string& path,
                              const Parameters& parameters);
  // POST {api_base}/{version}/{path} with the parameters as a form body.
  Outcome<nlohmann::json> post(const std::string& what, const std::string& path,
                               const Parameters& parameters);

  // {upload_base}/ig-api-upload/{version}/{container_id}
  std::string upload_url(const std::string& container_id) const;
  // POST the bytes [offset, file_size) of `file` to the upload URL.
  Outcome<nlohmann::json> upload(const std::string& url, const std::string& file,
                                 std::uint64_t offset, std::uint64_t file_size);
  // GET the upload URL: how many bytes the upload host holds (nullopt: it would not say).
  Outcome<std::optional<std::uint64_t>> uploaded_bytes(const std::string& url);

 private:
  Outcome<nlohmann::json> send(const std::string& what, http::Request request);
  Outcome<nlohmann::json> read_upload_answer(const std::string& what,
                                             const tl::expected<http::Response, http::HttpError>&);
  Failure network_failure(const std::string& what, const http::HttpError& error) const;

  Settings settings_;
  std::function<bool()> cancelled_;
};

}  // namespace reelflow::instagram

#endif  // REELFLOW_PLUGINS_INSTAGRAM_API_HPP
