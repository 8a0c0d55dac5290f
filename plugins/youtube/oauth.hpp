// youtube.publish's token refresh: Google's OAuth 2.0 token endpoint, grant_type=refresh_token
// (README.md, "Token refresh", has the sources).
//
//   POST {token_base}/token   (token_base: the account option, https://oauth2.googleapis.com)
//   Content-Type: application/x-www-form-urlencoded
//   client_id=…&client_secret=…&refresh_token=…&grant_type=refresh_token
//   200 {"access_token", "expires_in" (s, about 3600), "scope", "token_type": "Bearer",
//        "refresh_token"? (Google keeps the refresh token: normally absent),
//        "refresh_token_expires_in"? (time-based access only)}
//   4xx {"error": "invalid_grant" | "invalid_client" | ..., "error_description"}
//
// How the answer reads as a publisher status:
//   invalid_grant (expired, revoked, or an unverified "Testing" app's 7-day token)
//                                 -> RF_STATUS_RECONNECT ("Google refused the refresh token ...")
//   no refresh_token / client_id / client_secret in the credentials
//                                 -> RF_STATUS_RECONNECT (nothing to renew the token with)
//   429, 5xx, network failures    -> RF_STATUS_RETRY (retry_after from Retry-After)
//   anything else (invalid_client, unauthorized_client, invalid_request, ...)
//                                 -> RF_STATUS_ERROR
//
// Every credential (client id and secret, refresh and access tokens) is in Request::redact and
// never in a message. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "api.hpp"

namespace reelflow::youtube {

inline constexpr std::string_view kDefaultTokenBase = "https://oauth2.googleapis.com";
// The OAuth scope youtube.publish uploads with.
inline constexpr std::string_view kUploadScope = "https://www.googleapis.com/auth/youtube.upload";

struct Refreshed {
  // The new credentials for the host to merge over the old ones: access_token, expires_at
  // (ISO 8601 UTC), refresh_token when Google sent one, refresh_token_expires_at when Google
  // said how long the refresh token lasts.
  nlohmann::json credentials;
  std::vector<std::string> warnings;  // nothing secret in them
};

// Renews the access token of the account in account_json ({"name", "options", "credentials"},
// plugin.h). now_millis dates expires_at.
tl::expected<Refreshed, Failure> refresh_access_token(const nlohmann::json& account,
                                                      const std::function<bool()>& cancelled,
                                                      std::int64_t now_millis);

}  // namespace reelflow::youtube
