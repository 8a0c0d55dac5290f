#include "tiktok_api.hpp"

#include <cmath>
#include <utility>

namespace reelflow::tiktok {

namespace {

using json = nlohmann::json;

std::string account_label(const Account& account) { return "account '" + account.name + "'"; }

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
