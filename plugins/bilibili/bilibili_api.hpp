// The Bilibili open platform's request layer, as bilibili.publish uses it.
//
// Every request to the open platform carries the signature headers of the platform's "接口签名实现
// 标准" (signature version 2.0): x-bili-content-md5 (MD5 of the body; of "" for a GET, an empty
// body or a multipart body whose only part is a file), x-bili-timestamp, x-bili-signature-nonce,
// x-bili-accesskeyid (the app's client_id), x-bili-signature-method (HMAC-SHA256),
// x-bili-signature-version (2.0), access-token, and Authorization: the lower-case hex
// HMAC-SHA256, keyed with the app secret, of the x-bili-* headers sorted by name, written
// "name:value" and joined by "\n" (no trailing newline). MD5 and HMAC come from OpenSSL's
// libcrypto; nothing here hashes by hand.
//
// Responses are the envelope {"code", "message", "data"}: code 0 is success, anything else is a
// refusal that classify() reads into a host status (RETRY, RECONNECT, LATER or ERROR) with a
// message that names the account and what was refused, never a token or the secret.
//
// Token refresh is the one call outside that scheme: POST
// {oauth_base}/x/account-oauth2/v1/refresh_token with client_id, client_secret,
// grant_type=refresh_token and refresh_token as URL parameters, unsigned (the OAuth endpoints take
// no x-bili-* headers), answered with the same envelope. Each refresh token works once: the
// answer carries the next one. classify_refresh() reads 122007 (refreshToken不合法) as RECONNECT.
//
// Thread-safety: the functions are pure; a Client is used by one call at a time.
#ifndef REELFLOW_PLUGINS_BILIBILI_API_HPP
#define REELFLOW_PLUGINS_BILIBILI_API_HPP

#include <reelflow/plugin.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "http/http_client.hpp"

namespace reelflow::bilibili {

// What a call could not do, read for the host.
struct Failure {
  rf_status status = RF_STATUS_ERROR;
  std::string message;                // names the account and what was refused; no secrets
  std::optional<double> retry_after;  // seconds, when the platform said so (Retry-After)
};

template <typename T>
using Outcome = tl::expected<T, Failure>;

inline tl::unexpected<Failure> failure(rf_status status, std::string message) {
  return tl::unexpected(Failure{status, std::move(message), std::nullopt});
}

// The documented codes this plugin reads (状态码 page of the open platform docs).
namespace code {
inline constexpr long kMissingAuthParameters = 127000;  // 缺少鉴权参数
inline constexpr long kAccessTokenInvalid = 127001;     // access_token验证错误
inline constexpr long kClientIdInvalid = 127004;        // client_id验证错误
inline constexpr long kAppNotCertified = 127006;        // 应用认证未通过
inline constexpr long kNoApiPermission = 127007;        // 应用无该接口权限
inline constexpr long kRequestLimit = 127009;           // api请求次数达到上限
inline constexpr long kUserNotAuthorized = 127011;      // 该接口用户未授权
inline constexpr long kSignatureRefused = 127012;       // 鉴权错误
inline constexpr long kUploadTokenInvalid = 127022;     // upload_token验证错误
inline constexpr long kBadParameter = 127100;           // 请求参数错误
inline constexpr long kBadFileType = 127102;            // 文件类型错误
inline constexpr long kArchiveNotFound = 127124;        // 不存在该稿件
inline constexpr long kBusinessError = 127200;          // 业务异常,请联系开放平台
inline constexpr long kSystemBusy = 127201;             // 系统繁忙,请稍后再试
inline constexpr long kCategoryUnavailable = 127207;    // 此分区暂不可用
// OAuth2 (the token endpoints on api.bilibili.com).
inline constexpr long kOauthClientIdInvalid = 122000;      // client_id错误
inline constexpr long kOauthClientSecretInvalid = 122001;  // client_secret 错误
inline constexpr long kOauthCodeNotFound = 122002;         // code未找到
inline constexpr long kRefreshTokenInvalid = 122007;       // refreshToken不合法
}  // namespace code

// Lower-case hex digests.
std::string md5_hex(std::string_view data);
Outcome<std::string> md5_hex_of_file(const std::filesystem::path& path, std::uint64_t offset,
                                     std::uint64_t length);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// 32 random hex digits (RAND_bytes), a fresh x-bili-signature-nonce for every request.
std::string new_nonce();

// The text Authorization signs: every header whose name starts with "x-bili-", sorted by name,
// as "name:value" lines joined by "\n".
std::string canonical_string(const http::Headers& headers);

struct AppCredentials {
  std::string client_id;      // x-bili-accesskeyid
  std::string client_secret;  // the HMAC key; never sent
  std::string access_token;   // the user's OAuth token, sent as access-token
};

// The signed headers of one request. content_type empty: no Content-Type header (multipart
// bodies, whose boundary libcurl writes).
http::Headers signed_headers(const AppCredentials& app, std::string_view content_type,
                             std::string_view content_md5, std::int64_t timestamp,
                             const std::string& nonce);

// Reads a failed call: an HTTP status (0 for none), the envelope's code and message.
Failure classify(const std::string& account, const std::string& what, long http_status,
                 long api_code, const std::string& api_message);

// Signed calls to the open platform and its upload host.
class Client {
 public:
  Client(AppCredentials app, std::string account, std::function<bool()> cancelled)
      : app_(std::move(app)), account_(std::move(account)), cancelled_(std::move(cancelled)) {}

  // GET url: the envelope's data.
  Outcome<nlohmann::json> get(const std::string& what, const std::string& url);
  // POST url with a JSON body (empty text: no body).
  Outcome<nlohmann::json> post_json(const std::string& what, const std::string& url,
                                    const std::string& body);
  // POST url with a byte range of a file as the raw body (one part of an upload).
  Outcome<nlohmann::json> post_file_range(const std::string& what, const std::string& url,
                                          const http::FileRange& range);
  // POST url as multipart/form-data with one file part named `field`.
  Outcome<nlohmann::json> post_file_form(const std::string& what, const std::string& url,
                                         const std::string& field,
                                         const std::filesystem::path& file,
                                         const std::string& content_type);

 private:
  Outcome<nlohmann::json> send(const std::string& what, http::Request request,
                               std::string_view content_type, std::string_view content_md5);

  AppCredentials app_;
  std::string account_;
  std::function<bool()> cancelled_;
};

// What renewing the access token takes: the app's client_id and secret and the latest
// refresh token.
struct RefreshGrant {
  std::string account;     // the account's name, for messages
  std::string oauth_base;  // https://api.bilibili.com, without a trailing '/'
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
};

// A successful refresh.
struct Tokens {
  std::string access_token;
  std::string refresh_token;  // the next one (each works once); empty if none was given
  std::int64_t expires_at = 0;  // Unix seconds
};

// The access token's expiry from the answer's expires_in: the docs define it as the expiry time
// itself (Unix seconds, e.g. 1630220614); a value too small to be a time (before 2001-09-09) is
// read as seconds from `now` instead.
std::int64_t expiry_from(std::int64_t expires_in, std::int64_t now);

// Reads a refused refresh (HTTP status, 0 for none; the envelope's code and message).
Failure classify_refresh(const std::string& account, long http_status, long api_code,
                         const std::string& api_message);

// POST {oauth_base}/x/account-oauth2/v1/refresh_token.
Outcome<Tokens> refresh_access_token(const RefreshGrant& grant, std::function<bool()> cancelled);

// "?a=1&b=2" with values percent-encoded.
std::string query(const std::vector<std::pair<std::string, std::string>>& parameters);

}  // namespace reelflow::bilibili

#endif  // REELFLOW_PLUGINS_BILIBILI_API_HPP
