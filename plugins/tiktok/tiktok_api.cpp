#include "tiktok_api.hpp"

#include <cmath>
#include <utility>

namespace reelflow::tiktok {

namespace {

using json = nlohmann::json;

std::string account_label(const Account& account) { return "account '" + account.name + "'"; }

std::string credential(const json& credentials, const char* key) {
  const auto found = credentials.find(key);
  return found != credentials.end() && found->is_string() ? found->get<std::string>() : "";
}

// A lifetime in seconds: TikTok documents int64; a string of digits is read too.
std::optional<std::int64_t> seconds_field(const json& answer, const char* key) {
  const auto found = answer.find(key);
  if (found == answer.end()) return std::nullopt;
  if (found->is_number_integer()) return found->get<std::int64_t>();
  if (found->is_number()) return static_cast<std::int64_t>(found->get<double>());
  if (found->is_string()) {
    const std::string text = found->get<std::string>();
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::stoll(text);
  }
  return std::nullopt;
}

std::string said(std::string_view endpoint, const std::string& code, const std::string& message) {
  std::string text = "TikTok said " + (code.empty() ? std::string("nothing") : code) + " on " +
                     std::string(endpoint);
  if (!message.empty()) text += ": " + message;
  return text;
}

}  // namespace

Result<Account> read_account(const json& post) {
  const json account = post.value("account", json::object());
  Account out;
  out.name = account.value("name", "");
  const json options = account.value("options", json::object());
  out.api_base = options.value("api_base", kDefaultApiBase);
  while (!out.api_base.empty() && out.api_base.back() == '/') out.api_base.pop_back();
  const json credentials = account.value("credentials", json::object());
  if (const auto token = credentials.find("access_token");
      token != credentials.end() && token->is_string()) {
    out.access_token = token->get<std::string>();
  }
  if (out.access_token.empty()) {
    return tl::unexpected(Failure{RF_STATUS_RECONNECT,
                                  "account '" + out.name +
                                      "' has no credentials.access_token: connect the account "
                                      "to TikTok (scopes video.publish, video.list)",
                                  std::nullopt});
  }
  if (out.api_base.empty()) {
    return tl::unexpected(Failure{
        RF_STATUS_ERROR, "account '" + out.name + "': options.api_base is empty", std::nullopt});
  }
  return out;
}

Result<RefreshGrant> read_refresh_grant(const json& account) {
  RefreshGrant out;
  out.account = account.value("name", "");
  const json options = account.value("options", json::object());
  out.api_base = options.is_object() ? options.value("api_base", kDefaultApiBase) : kDefaultApiBase;
  while (!out.api_base.empty() && out.api_base.back() == '/') out.api_base.pop_back();
  const json credentials = account.value("credentials", json::object());
  if (credentials.is_object()) {
    out.client_key = credential(credentials, "client_key");
    out.client_secret = credential(credentials, "client_secret");
    out.refresh_token = credential(credentials, "refresh_token");
  }
  const std::string who = "account '" + out.account + "'";
  if (out.refresh_token.empty()) {
    return tl::unexpected(Failure{RF_STATUS_RECONNECT,
                                  who + " has no credentials.refresh_token, so its access token "
                                        "cannot be renewed: connect the account to TikTok again "
                                        "and store the refresh token with the access token",
                                  std::nullopt});
  }
  if (out.client_key.empty() || out.client_secret.empty()) {
    return tl::unexpected(Failure{RF_STATUS_ERROR,
                                  who + " has no credentials." +
                                      (out.client_key.empty() ? "client_key" : "client_secret") +
                                      ": renewing its access token needs the TikTok app's "
                                      "client_key and client_secret in the account's credentials",
                                  std::nullopt});
  }
  if (out.api_base.empty()) {
    return tl::unexpected(
        Failure{RF_STATUS_ERROR, who + ": options.api_base is empty", std::nullopt});
  }
  return out;
}

Failure classify_oauth_error(const std::string& account, long http_status,
                             const std::string& error, const std::string& description,
                             std::optional<double> retry_after) {
  std::string detail = "TikTok said " + (error.empty() ? std::string("nothing") : error) +
                       " on oauth/token (HTTP " + std::to_string(http_status) + ")";
  if (!description.empty()) detail += ": " + description;
  const std::string who = "account '" + account + "'";
  if (error == "invalid_grant") {
    return {RF_STATUS_RECONNECT,
            "TikTok refused the refresh token of " + who +
                " (it is invalid, expired, revoked, or was replaced by a newer one; " + detail +
                "): authorize reelflow on TikTok again",
            std::nullopt};
  }
  if (http_status == 429 || error == "rate_limit_exceeded") {
    const double wait = retry_after.value_or(kDefaultRetryAfterSeconds);
    return {RF_STATUS_RETRY,
            "TikTok rate limit on oauth/token for " + who + " (" + detail + "); retry after " +
                std::to_string(static_cast<long>(std::ceil(wait))) + " s",
            wait};
  }
  if (http_status >= 500 || error == "server_error" || error == "temporarily_unavailable") {
    return {RF_STATUS_RETRY,
            "TikTok failed to renew the access token of " + who + " (" + detail + ")", retry_after};
  }
  if (error == "invalid_client" || error == "unauthorized_client") {
    return {RF_STATUS_ERROR,
            "TikTok refused the app credentials of " + who +
                " (check credentials.client_key and credentials.client_secret; " + detail + ")",
            std::nullopt};
  }
  return {RF_STATUS_ERROR,
          "TikTok refused to renew the access token of " + who + " (" + detail + ")",
          std::nullopt};
}

Result<Tokens> refresh_access_token(const RefreshGrant& grant, std::function<bool()> cancelled) {
  http::Request request;
  request.method = "POST";
  request.url = grant.api_base + "/v2/oauth/token/";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Cache-Control", "no-cache"}};
  request.body = "client_key=" + http::url_encode(grant.client_key) +
                 "&client_secret=" + http::url_encode(grant.client_secret) +
                 "&grant_type=refresh_token&refresh_token=" + http::url_encode(grant.refresh_token);
  request.total_timeout_seconds = 60;
  request.redact = {grant.client_secret, grant.refresh_token, http::url_encode(grant.client_secret),
                    http::url_encode(grant.refresh_token)};
  request.cancelled = std::move(cancelled);
  auto response = http::send(request);
  if (!response) {
    const http::HttpError& error = response.error();
    if (error.cancelled) {
      return tl::unexpected(Failure{RF_STATUS_CANCELLED, "oauth/token: cancelled", std::nullopt});
    }
    return tl::unexpected(Failure{error.retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                                  "cannot reach TikTok to renew the access token of account '" +
                                      grant.account + "': " + error.message,
                                  std::nullopt});
  }
  const json answer = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  std::string error;
  std::string description;
  if (answer.is_object()) {
    // The OAuth error struct; a v2 API style {"error": {"code", ...}} is read too.
    if (const auto found = answer.find("error"); found != answer.end()) {
      if (found->is_string()) {
        error = found->get<std::string>();
      } else if (found->is_object()) {
        error = found->value("code", "");
        if (error == "ok") error.clear();
        description = found->value("message", "");
      }
    }
    if (description.empty()) description = answer.value("error_description", "");
    if (const std::string log_id = answer.value("log_id", ""); !log_id.empty() && !error.empty()) {
      description += (description.empty() ? "" : " ") + std::string("[log_id ") + log_id + "]";
    }
  }
  std::vector<std::string> secrets = request.redact;
  if (answer.is_object()) {
    for (const char* key : {"access_token", "refresh_token"}) {
      if (const std::string value = credential(answer, key); !value.empty()) {
        secrets.push_back(value);
      }
    }
  }
  description = http::redact(std::move(description), secrets);
  const bool success = response->status >= 200 && response->status < 300;
  if (!success || !error.empty()) {
    return tl::unexpected(classify_oauth_error(grant.account, response->status, error, description,
                                               response->retry_after()));
  }
  if (!answer.is_object()) {
    return tl::unexpected(Failure{RF_STATUS_ERROR,
                                  "TikTok answered oauth/token with something that is not JSON "
                                  "(HTTP " + std::to_string(response->status) + ")",
                                  std::nullopt});
  }
  Tokens tokens;
  tokens.access_token = credential(answer, "access_token");
  tokens.refresh_token = credential(answer, "refresh_token");
  tokens.scope = credential(answer, "scope");
  tokens.refresh_expires_in = seconds_field(answer, "refresh_expires_in");
  const auto expires_in = seconds_field(answer, "expires_in");
  if (tokens.access_token.empty() || !expires_in || *expires_in <= 0) {
    return tl::unexpected(Failure{RF_STATUS_ERROR,
                                  "TikTok answered oauth/token for account '" + grant.account +
                                      "' without an access_token and its expires_in",
                                  std::nullopt});
  }
  tokens.expires_in = *expires_in;
  return tokens;
}

Failure classify_error(const Account& account, std::string_view endpoint, std::string_view scope,
                       long http_status, const std::string& code, const std::string& message,
                       std::optional<double> retry_after) {
  const std::string detail = said(endpoint, code, message);
  if (code == "access_token_invalid" || (code.empty() && http_status == 401)) {
    return {RF_STATUS_RECONNECT,
            "access token rejected: reconnect the " + account_label(account) + " (" + detail + ")",
            std::nullopt};
  }
  if (code == "scope_not_authorized" || code == "scope_permission_missed") {
    return {RF_STATUS_RECONNECT,
            account_label(account) + " has not granted the " + std::string(scope) + " scope that " +
                std::string(endpoint) + " needs: reconnect the account and allow " +
                std::string(scope) + " (" + detail + ")",
            std::nullopt};
  }
  if (code == "rate_limit_exceeded" || http_status == 429) {
    const double wait = retry_after.value_or(kDefaultRetryAfterSeconds);
    return {RF_STATUS_RETRY,
            "TikTok rate limit on " + std::string(endpoint) + " for the " + account_label(account) +
                " (" + detail + "); retry after " +
                std::to_string(static_cast<long>(std::ceil(wait))) + " s",
            wait};
  }
  if (code == "spam_risk_too_many_posts") {
    return {RF_STATUS_LATER,
            "TikTok platform limit: the " + account_label(account) +
                " reached its daily cap of posts made through the API (" + detail + ")",
            std::nullopt};
  }
  if (code == "spam_risk_too_many_pending_share") {
    return {RF_STATUS_LATER,
            "TikTok platform limit: the " + account_label(account) +
                " has too many pending shares (TikTok allows at most 5 within 24 hours; " + detail +
                ")",
            std::nullopt};
  }
  if (code == "reached_active_user_cap") {
    return {RF_STATUS_LATER,
            "TikTok platform limit: this app reached its daily cap of active publishing users (" +
                detail + ")",
            std::nullopt};
  }
  if (code == "spam_risk_user_banned_from_posting") {
    return {RF_STATUS_ERROR,
            "TikTok bars the " + account_label(account) + " from posting (" + detail + ")",
            std::nullopt};
  }
  if (code == "unaudited_client_can_only_post_to_private_accounts") {
    return {RF_STATUS_ERROR,
            "TikTok refused: this app has not passed TikTok's audit, so it may post only to "
            "private accounts with privacy_level SELF_ONLY; make the " +
                account_label(account) + " private or have the app audited (" + detail + ")",
            std::nullopt};
  }
  if (code == "privacy_level_option_mismatch") {
    return {RF_STATUS_ERROR,
            "privacy_level: TikTok refused it: not one of the privacy levels the creator offers "
            "(" +
                detail + ")",
            std::nullopt};
  }
  if (code == "invalid_params" || code == "invalid_param") {
    return {RF_STATUS_ERROR,
            "TikTok refused a field of the " + std::string(endpoint) + " request (" + detail + ")",
            std::nullopt};
  }
  if (code == "internal_error" || http_status >= 500) {
    return {RF_STATUS_RETRY,
            "TikTok failed on " + std::string(endpoint) + " (HTTP " + std::to_string(http_status) +
                "; " + detail + ")",
            retry_after};
  }
  return {RF_STATUS_ERROR,
          "TikTok refused " + std::string(endpoint) + " (HTTP " + std::to_string(http_status) +
              "; " + detail + ")",
          std::nullopt};
}

std::vector<std::string> upload_url_secrets(const std::string& upload_url) {
  std::vector<std::string> secrets;
  const std::size_t query = upload_url.find('?');
  if (query == std::string::npos) return secrets;
  std::size_t pos = query + 1;
  while (pos < upload_url.size()) {
    std::size_t end = upload_url.find('&', pos);
    if (end == std::string::npos) end = upload_url.size();
    const std::string pair = upload_url.substr(pos, end - pos);
    const std::size_t eq = pair.find('=');
    if (eq != std::string::npos) {
      const std::string name = pair.substr(0, eq);
      if (name.find("token") != std::string::npos || name.find("sign") != std::string::npos) {
        secrets.push_back(pair.substr(eq + 1));
      }
    }
    pos = end + 1;
  }
  return secrets;
}

Api::Api(Account account, std::function<bool()> cancelled)
    : account_(std::move(account)), cancelled_(std::move(cancelled)) {}

Failure Api::network_failure(std::string_view endpoint, const http::HttpError& error) const {
  if (error.cancelled) {
    return {RF_STATUS_CANCELLED, std::string(endpoint) + ": cancelled", std::nullopt};
  }
  return {error.retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
          "cannot reach TikTok for " + std::string(endpoint) + ": " + error.message, std::nullopt};
}

Result<json> Api::call(std::string_view endpoint, const std::string& path_and_query,
                       const json& body, std::string_view scope) {
  http::Request request;
  request.method = "POST";
  request.url = account_.api_base + path_and_query;
  request.headers = {{"Authorization", "Bearer " + account_.access_token},
                     {"Content-Type", "application/json; charset=UTF-8"}};
  request.body = body.dump();
  request.total_timeout_seconds = 120;
  request.redact = {account_.access_token};
  request.cancelled = cancelled_;
  auto response = http::send(request);
  if (!response) return tl::unexpected(network_failure(endpoint, response.error()));

  const json answer = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  std::string code;
  std::string message;
  if (answer.is_object()) {
    const json error = answer.value("error", json::object());
    if (error.is_object()) {
      code = error.value("code", "");
      message = error.value("message", "");
      if (const std::string log_id = error.value("log_id", ""); !log_id.empty() && code != "ok") {
        message += (message.empty() ? "" : " ") + std::string("[log_id ") + log_id + "]";
      }
    }
  }
  message = http::redact(std::move(message), request.redact);
  const bool success = response->status >= 200 && response->status < 300;
  if (success && answer.is_object() && (code == "ok" || code.empty())) {
    const json data = answer.value("data", json::object());
    return data.is_object() ? data : json::object();
  }
  if (success && !answer.is_object()) {
    return tl::unexpected(Failure{RF_STATUS_ERROR,
                                  "TikTok answered " + std::string(endpoint) +
                                      " with something that is not JSON (HTTP " +
                                      std::to_string(response->status) + ")",
                                  std::nullopt});
  }
  return tl::unexpected(classify_error(account_, endpoint, scope, response->status, code, message,
                                       response->retry_after()));
}

Result<json> Api::creator_info() {
  return call("creator_info/query", "/v2/post/publish/creator_info/query/", json::object(),
              kPublishScope);
}

Result<json> Api::init_video(const json& body) {
  return call("video/init", "/v2/post/publish/video/init/", body, kPublishScope);
}

Result<json> Api::post_status(const std::string& publish_id) {
  return call("status/fetch", "/v2/post/publish/status/fetch/", json{{"publish_id", publish_id}},
              kPublishScope);
}

Result<json> Api::query_videos(const std::vector<std::string>& video_ids) {
  return call("video/query",
              "/v2/video/query/?fields=id,view_count,like_count,comment_count,share_count",
              json{{"filters", {{"video_ids", video_ids}}}}, kListScope);
}

Result<ChunkAnswer> Api::put_chunk(const std::string& upload_url, const std::string& path,
                                   std::uint64_t offset, std::uint64_t length,
                                   std::uint64_t video_size, const std::string& content_type) {
  http::Request request;
  request.method = "PUT";
  request.url = upload_url;
  request.headers = {{"Content-Type", content_type},
                     {"Content-Range", "bytes " + std::to_string(offset) + "-" +
                                           std::to_string(offset + length - 1) + "/" +
                                           std::to_string(video_size)}};
  request.file = http::FileRange{path, offset, length};
  request.redact = upload_url_secrets(upload_url);
  request.redact.push_back(account_.access_token);
  request.cancelled = cancelled_;
  auto response = http::send(request);
  if (!response) return tl::unexpected(network_failure("the chunk upload", response.error()));
  return ChunkAnswer{response->status, http::redact(response->body, request.redact),
                     response->retry_after()};
}

}  // namespace reelflow::tiktok
