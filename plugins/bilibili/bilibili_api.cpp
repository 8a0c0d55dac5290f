#include "bilibili_api.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <memory>

namespace reelflow::bilibili {

namespace {

using json = nlohmann::json;

std::string to_hex(const unsigned char* bytes, std::size_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (std::size_t i = 0; i < length; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xF]);
  }
  return out;
}

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string code_text(long api_code, const std::string& api_message) {
  std::string text = "code " + std::to_string(api_code);
  if (!api_message.empty() && api_message != std::to_string(api_code)) text += ": " + api_message;
  return text;
}

}  // namespace

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return to_hex(digest, length);
}

Outcome<std::string> md5_hex_of_file(const std::filesystem::path& path, std::uint64_t offset,
                                     std::uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  if (in) in.seekg(static_cast<std::streamoff>(offset));
  if (!in) return failure(RF_STATUS_ERROR, "bilibili.publish: cannot read " + path.string());
  DigestContext context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), EVP_md5(), nullptr) != 1) {
    return failure(RF_STATUS_ERROR, "bilibili.publish: libcrypto cannot compute an MD5");
  }
  std::vector<char> buffer(1 << 16);
  std::uint64_t left = length;
  while (left > 0) {
    in.read(buffer.data(),
            static_cast<std::streamsize>(std::min<std::uint64_t>(left, buffer.size())));
    const auto got = in.gcount();
    if (got <= 0) {
      return failure(RF_STATUS_ERROR, "bilibili.publish: " + path.string() + " ended early");
    }
    EVP_DigestUpdate(context.get(), buffer.data(), static_cast<std::size_t>(got));
    left -= static_cast<std::uint64_t>(got);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &digest_length);
  return to_hex(digest, digest_length);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return to_hex(digest, length);
}

std::string new_nonce() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // No entropy source: fall back to the clock, still unique per request in practice.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < sizeof bytes; ++i) {
      bytes[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(now) >> ((i % 8) * 8));
    }
  }
  return to_hex(bytes, sizeof bytes);
}

std::string canonical_string(const http::Headers& headers) {
  std::vector<std::pair<std::string, std::string>> signed_lines;
  for (const auto& [name, value] : headers) {
    std::string key = lower(name);
    if (key.starts_with("x-bili-")) signed_lines.emplace_back(std::move(key), value);
  }
  std::sort(signed_lines.begin(), signed_lines.end());
  std::string text;
  for (const auto& [name, value] : signed_lines) {
    if (!text.empty()) text += '\n';
    text += name + ":" + value;
  }
  return text;
}

http::Headers signed_headers(const AppCredentials& app, std::string_view content_type,
                             std::string_view content_md5, std::int64_t timestamp,
                             const std::string& nonce) {
  http::Headers headers = {
      {"x-bili-accesskeyid", app.client_id},      {"x-bili-content-md5", std::string(content_md5)},
      {"x-bili-signature-method", "HMAC-SHA256"}, {"x-bili-signature-nonce", nonce},
      {"x-bili-signature-version", "2.0"},        {"x-bili-timestamp", std::to_string(timestamp)},
  };
  const std::string signature = hmac_sha256_hex(app.client_secret, canonical_string(headers));
  headers.emplace_back("Accept", "application/json");
  if (!content_type.empty()) headers.emplace_back("Content-Type", std::string(content_type));
  headers.emplace_back("access-token", app.access_token);
  headers.emplace_back("Authorization", signature);
  return headers;
}

Failure classify(const std::string& account, const std::string& what, long http_status,
                 long api_code, const std::string& api_message) {
  const std::string prefix = "bilibili.publish: " + what + ": ";
  const std::string said =
      api_code != 0 ? code_text(api_code, api_message) : "HTTP " + std::to_string(http_status);
  if (http_status == 401 || api_code == code::kAccessTokenInvalid ||
      api_code == code::kUserNotAuthorized) {
    return {RF_STATUS_RECONNECT,
            "bilibili.publish: access token rejected: reconnect the account '" + account + "' (" +
                what + " answered " + said + ")",
            std::nullopt};
  }
  if (http_status == 429) {
    return {RF_STATUS_RETRY, prefix + "rate limited (HTTP 429)", std::nullopt};
  }
  if (http_status >= 500 || api_code == code::kSystemBusy) {
    return {RF_STATUS_RETRY, prefix + "the platform is busy (" + said + ")", std::nullopt};
  }
  switch (api_code) {
    case code::kMissingAuthParameters:
    case code::kSignatureRefused:
    case code::kClientIdInvalid:
      return {RF_STATUS_ERROR,
              prefix + "the request signature was refused (" + said +
                  "): check the client_id and client_secret of account '" + account + "'",
              std::nullopt};
    case code::kAppNotCertified:
    case code::kNoApiPermission:
      return {RF_STATUS_ERROR,
              prefix + "the app may not use this API (" + said +
                  "): apply for the video submission capability on the open platform",
              std::nullopt};
    case code::kRequestLimit:
      return {RF_STATUS_LATER,
              prefix + "account '" + account + "' reached a platform limit (" + said + ")",
              std::nullopt};
    case code::kUploadTokenInvalid:
      return {RF_STATUS_ERROR,
              prefix + "the upload session (upload_token) was refused (" + said + ")",
              std::nullopt};
    case code::kCategoryUnavailable:
      return {RF_STATUS_ERROR, prefix + "the category (tid) is not available (" + said + ")",
              std::nullopt};
    default:
      return {RF_STATUS_ERROR, prefix + "refused (" + said + ")", std::nullopt};
  }
}

std::int64_t expiry_from(std::int64_t expires_in, std::int64_t now) {
  constexpr std::int64_t kEarliestTime = 1'000'000'000;  // 2001-09-09T01:46:40Z
  return expires_in >= kEarliestTime ? expires_in : now + expires_in;
}

Failure classify_refresh(const std::string& account, long http_status, long api_code,
                         const std::string& api_message) {
  std::string said = http_status != 0 ? "HTTP " + std::to_string(http_status) : "";
  if (api_code != 0) said += (said.empty() ? "" : ", ") + code_text(api_code, api_message);
  if (said.empty()) said = "no code";
  const std::string who = "account '" + account + "'";
  if (api_code == code::kRefreshTokenInvalid) {
    return {RF_STATUS_RECONNECT,
            "bilibili.publish: bilibili refused the refresh token of " + who +
                " (it was already used, expired or revoked; " + said +
                "): authorize the app on bilibili again",
            std::nullopt};
  }
  if (http_status == 429) {
    return {RF_STATUS_RETRY,
            "bilibili.publish: renewing the access token of " + who + ": rate limited (HTTP 429)",
            std::nullopt};
  }
  if (http_status >= 500 || api_code == code::kSystemBusy) {
    return {RF_STATUS_RETRY,
            "bilibili.publish: renewing the access token of " + who + ": the platform is busy (" +
                said + ")",
            std::nullopt};
  }
  if (api_code == code::kOauthClientIdInvalid || api_code == code::kOauthClientSecretInvalid) {
    return {RF_STATUS_ERROR,
            "bilibili.publish: renewing the access token of " + who +
                ": the app credentials were refused (" + said + "): check the client_id and "
                "credentials.client_secret",
            std::nullopt};
  }
  return {RF_STATUS_ERROR,
          "bilibili.publish: renewing the access token of " + who + ": refused (" + said + ")",
          std::nullopt};
}

Outcome<Tokens> refresh_access_token(const RefreshGrant& grant, std::function<bool()> cancelled) {
  http::Request request;
  request.method = "POST";
  // The docs list the four parameters as URL parameters, with no body.
  request.url = grant.oauth_base + "/x/account-oauth2/v1/refresh_token" +
                query({{"client_id", grant.client_id},
                       {"client_secret", grant.client_secret},
                       {"grant_type", "refresh_token"},
                       {"refresh_token", grant.refresh_token}});
  request.headers = {{"Accept", "application/json"},
                     {"Content-Type", "application/x-www-form-urlencoded"}};
  request.total_timeout_seconds = 60;
  request.redact = {grant.client_secret, grant.refresh_token,
                    http::url_encode(grant.client_secret), http::url_encode(grant.refresh_token)};
  request.cancelled = std::move(cancelled);
  auto response = http::send(request);
  const std::string what = "renewing the access token of account '" + grant.account + "'";
  if (!response) {
    const http::HttpError& error = response.error();
    if (error.cancelled) {
      return failure(RF_STATUS_CANCELLED, "bilibili.publish: " + what + ": cancelled");
    }
    return failure(error.retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                   "bilibili.publish: " + what + ": " + error.message);
  }
  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  long api_code = 0;
  std::string api_message;
  json data;
  if (body.is_object()) {
    if (auto found = body.find("code"); found != body.end() && found->is_number_integer()) {
      api_code = found->get<long>();
    }
    if (auto found = body.find("message"); found != body.end() && found->is_string()) {
      api_message = found->get<std::string>();
    }
    if (auto found = body.find("data"); found != body.end() && found->is_object()) data = *found;
  }
  const auto text = [&data](const char* key) {
    if (!data.is_object()) return std::string();
    const auto found = data.find(key);
    return found != data.end() && found->is_string() ? found->get<std::string>() : std::string();
  };
  std::vector<std::string> secrets = request.redact;
  secrets.push_back(text("access_token"));
  secrets.push_back(text("refresh_token"));
  api_message = http::redact(std::move(api_message), secrets);
  const bool http_ok = http::classify(response->status) == http::StatusClass::ok;
  if (!http_ok || (body.is_object() && api_code != 0)) {
    Failure refused = classify_refresh(grant.account, http_ok ? 0 : response->status, api_code,
                                       api_message);
    if (refused.status == RF_STATUS_RETRY) refused.retry_after = response->retry_after();
    return tl::unexpected(std::move(refused));
  }
  if (!body.is_object()) {
    return failure(RF_STATUS_ERROR,
                   "bilibili.publish: " + what + ": the platform answered something that is not "
                   "JSON");
  }
  Tokens tokens;
  tokens.access_token = text("access_token");
  tokens.refresh_token = text("refresh_token");
  if (data.is_object()) {
    const auto expires_in = data.find("expires_in");
    std::optional<std::int64_t> value;
    if (expires_in != data.end() && expires_in->is_number()) {
      value = static_cast<std::int64_t>(expires_in->get<double>());
    } else if (expires_in != data.end() && expires_in->is_string()) {
      const std::string digits = expires_in->get<std::string>();
      if (!digits.empty() && digits.size() < 18 &&
          digits.find_first_not_of("0123456789") == std::string::npos) {
        value = std::stoll(digits);
      }
    }
    if (value && *value > 0) tokens.expires_at = expiry_from(*value, unix_seconds());
  }
  if (tokens.access_token.empty() || tokens.expires_at <= 0) {
    return failure(RF_STATUS_ERROR, "bilibili.publish: " + what +
                                        ": the answer has no access_token and expires_in");
  }
  return tokens;
}

std::string query(const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string text;
  for (const auto& [name, value] : parameters) {
    text += text.empty() ? '?' : '&';
    text += http::url_encode(name) + "=" + http::url_encode(value);
  }
  return text;
}

Outcome<json> Client::get(const std::string& what, const std::string& url) {
  http::Request request;
  request.method = "GET";
  request.url = url;
  request.total_timeout_seconds = 120;
  return send(what, std::move(request), "application/json", md5_hex(""));
}

Outcome<json> Client::post_json(const std::string& what, const std::string& url,
                                const std::string& body) {
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.body = body;
  request.total_timeout_seconds = 120;
  return send(what, std::move(request), "application/json", md5_hex(body));
}

Outcome<json> Client::post_file_range(const std::string& what, const std::string& url,
                                      const http::FileRange& range) {
  auto digest = md5_hex_of_file(range.path, range.offset, range.length);
  if (!digest) return tl::unexpected(digest.error());
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.file = range;
  return send(what, std::move(request), "application/octet-stream", *digest);
}

Outcome<json> Client::post_file_form(const std::string& what, const std::string& url,
                                     const std::string& field, const std::filesystem::path& file,
                                     const std::string& content_type) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec)
    return failure(RF_STATUS_ERROR, "bilibili.publish: " + file.string() + ": " + ec.message());
  http::Request request;
  request.method = "POST";
  request.url = url;
  http::FormPart part;
  part.name = field;
  part.file = http::FileRange{file, 0, size};
  part.filename = file.filename().string();
  part.content_type = content_type;
  request.form.push_back(std::move(part));
  request.total_timeout_seconds = 300;
  // The body's MD5 leaves files out (签名 docs): a form of one file part signs the empty string.
  return send(what, std::move(request), "", md5_hex(""));
}

Outcome<json> Client::send(const std::string& what, http::Request request,
                           std::string_view content_type, std::string_view content_md5) {
  http::Headers headers =
      signed_headers(app_, content_type, content_md5, unix_seconds(), new_nonce());
  request.headers.insert(request.headers.end(), headers.begin(), headers.end());
  request.redact = {app_.client_secret, app_.access_token};
  request.cancelled = cancelled_;
  auto response = http::send(request);
  if (!response) {
    const http::HttpError& error = response.error();
    if (error.cancelled) {
      return failure(RF_STATUS_CANCELLED, "bilibili.publish: " + what + ": cancelled");
    }
    return failure(error.retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                   "bilibili.publish: " + what + ": " + error.message);
  }
  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  long api_code = 0;
  std::string api_message;
  if (body.is_object()) {
    if (auto found = body.find("code"); found != body.end() && found->is_number_integer()) {
      api_code = found->get<long>();
    }
    if (auto found = body.find("message"); found != body.end() && found->is_string()) {
      api_message = http::redact(found->get<std::string>(), request.redact);
    }
  }
  const bool http_ok = http::classify(response->status) == http::StatusClass::ok;
  if (http_ok && body.is_object() && api_code == 0) {
    auto data = body.find("data");
    return data != body.end() ? *data : json(nullptr);
  }
  if (http_ok && !body.is_object()) {
    return failure(RF_STATUS_ERROR, "bilibili.publish: " + what +
                                        ": the platform answered something that is not JSON");
  }
  Failure refused = classify(account_, what, http_ok ? 0 : response->status, api_code, api_message);
  if (refused.status == RF_STATUS_RETRY) refused.retry_after = response->retry_after();
  return tl::unexpected(std::move(refused));
}

}  // namespace reelflow::bilibili
