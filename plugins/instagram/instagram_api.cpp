#include "instagram_api.hpp"

#include <algorithm>
#include <ctime>

#include "json/reply.hpp"

namespace reelflow::instagram {

namespace {

using json = nlohmann::json;
using reelflow::reply::text_at;

std::string form_encode(const Parameters& parameters) {
  std::string text;
  for (const auto& [name, value] : parameters) {
    if (!text.empty()) text += '&';
    text += http::url_encode(name) + "=" + http::url_encode(value);
  }
  return text;
}

long integer_at(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return 0;
  if (found->is_number_integer()) return found->get<long>();
  if (found->is_string()) {
    try {
      return std::stol(found->get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}


// Subcodes the error-codes reference answers with "Try again" (a transient failure).
bool retry_subcode(long subcode) {
  return subcode == 0 || subcode == 2207001 || subcode == 2207003 || subcode == 2207032;
}

}  // namespace

Failure classify(const std::string& account, const std::string& what, const GraphError& error) {
  std::string said = "code " + std::to_string(error.code);
  if (error.subcode != 0) said += ", subcode " + std::to_string(error.subcode);
  if (error.code == 0 && error.http_status != 0) said = "HTTP " + std::to_string(error.http_status);
  std::string detail = error.message;
  if (!error.user_message.empty() && error.user_message != error.message) {
    detail += (detail.empty() ? "" : " — ") + error.user_message;
  }
  const std::string explained = detail.empty() ? said : detail + " (" + said + ")";
  const std::string prefix = "instagram.publish: " + what + ": ";
  if (error.code == 190 || error.http_status == 401) {
    return {RF_STATUS_RECONNECT,
            "instagram.publish: access token rejected: reconnect the account '" + account + "' (" +
                what + ": " + explained + ")",
            std::nullopt, 0};
  }
  if (error.code == 9 || error.subcode == 2207042) {
    return {RF_STATUS_LATER,
            prefix + "account '" + account + "' reached Instagram's publishing limit (" +
                explained + ")",
            std::nullopt, 0};
  }
  if (error.code == 4 || error.code == 17 || error.code == 32 || error.code == 613 ||
      error.code == 80002 || error.http_status == 429) {
    return {RF_STATUS_RETRY, prefix + "rate limited (" + explained + ")", std::nullopt, 0};
  }
  if (error.code == 9007 && error.subcode == 2207027) {
    return {RF_STATUS_RETRY, prefix + "the media is not ready yet (" + explained + ")",
            std::nullopt, 0};
  }
  const bool try_again_code =
      error.code == 1 || error.code == 2 || error.code == -1 || error.code == -2;
  if (error.transient || error.http_status >= 500 ||
      (try_again_code && retry_subcode(error.subcode))) {
    return {RF_STATUS_RETRY, prefix + "a transient failure (" + explained + ")", std::nullopt, 0};
  }
  if (error.code == 100) {
    return {RF_STATUS_ERROR, prefix + "a parameter was refused: " + explained, std::nullopt, 0};
  }
  return {RF_STATUS_ERROR, prefix + "refused: " + explained, std::nullopt, 0};
}

std::string format_iso_time(std::int64_t millis) {
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Outcome<json> exchange_token(const json& account, const std::function<bool()>& cancelled,
                             std::int64_t now) {
  const std::string name = text_at(account, "name");
  const json options = account.value("options", json::object());
  const json credentials = account.value("credentials", json::object());
  std::string api_base = options.value("api_base", std::string("https://graph.facebook.com"));
  while (!api_base.empty() && api_base.back() == '/') api_base.pop_back();
  const std::string version = options.value("graph_version", std::string("v21.0"));
  const std::string token = text_at(credentials, "access_token");
  std::string app_id = text_at(credentials, "app_id");
  if (app_id.empty()) app_id = text_at(credentials, "client_id");
  std::string app_secret = text_at(credentials, "app_secret");
  if (app_secret.empty()) app_secret = text_at(credentials, "client_secret");
  std::string missing;
  using Field = std::pair<const char*, const std::string*>;
  for (const auto& [key, value] : {Field{"access_token", &token}, Field{"app_id", &app_id},
                                   Field{"app_secret", &app_secret}}) {
    if (value->empty()) missing += std::string(missing.empty() ? "" : ", ") + key;
  }
  if (!missing.empty()) {
    // Nothing to renew the token with: only connecting the account again helps.
    return failure(RF_STATUS_RECONNECT,
                   "account '" + name + "' has no " + missing +
                       " in its credentials, so its access token cannot be renewed: log in "
                       "with Facebook again and put the long-lived access_token, with the "
                       "app's app_id and app_secret, in the account's secret");
  }

  http::Request request;
  request.method = "GET";
  request.url = api_base + "/" + version + "/oauth/access_token?" +
                form_encode({{"grant_type", "fb_exchange_token"},
                             {"client_id", app_id},
                             {"client_secret", app_secret},
                             {"fb_exchange_token", token}});
  // The values, and their URL-encoded forms (the URL is in network errors' messages).
  for (const std::string& secret : {token, app_secret, app_id}) {
    request.redact.push_back(secret);
    request.redact.push_back(http::url_encode(secret));
  }
  request.total_timeout_seconds = 60;
  request.cancelled = cancelled;
  const std::string what = "refreshing the access token (fb_exchange_token)";
  auto response = http::send(request);
  if (!response) {
    if (response.error().cancelled) {
      return failure(RF_STATUS_CANCELLED, "instagram.publish: " + what + ": cancelled");
    }
    return failure(response.error().retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
                   "instagram.publish: " + what + ": " +
                       http::redact(response.error().message, request.redact));
  }
  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  const bool http_ok = http::classify(response->status) == http::StatusClass::ok;
  if (http_ok && body.is_object() && !body.contains("error")) {
    const std::string fresh = text_at(body, "access_token");
    if (fresh.empty()) {
      return failure(RF_STATUS_RETRY,
                     "instagram.publish: " + what + ": the answer has no access_token");
    }
    json out = {{"access_token", fresh}, {"expires_at", nullptr}};
    if (const long lifetime = integer_at(body, "expires_in"); lifetime > 0) {
      out["expires_at"] = format_iso_time(now + static_cast<std::int64_t>(lifetime) * 1000);
    }
    return out;
  }
  GraphError error;
  error.http_status = response->status;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const json& object = body["error"];
    error.code = integer_at(object, "code");
    error.subcode = integer_at(object, "error_subcode");
    error.transient = object.value("is_transient", false);
    error.message = http::redact(text_at(object, "message"), request.redact);
  } else {
    error.message = http::redact(response->body.substr(0, 200), request.redact);
  }
  std::string said = "HTTP " + std::to_string(error.http_status);
  if (error.code != 0) said = "code " + std::to_string(error.code);
  if (error.subcode != 0) said += ", subcode " + std::to_string(error.subcode);
  const std::string explained = error.message.empty() ? said : error.message + " (" + said + ")";
  if (error.code == 190 || error.http_status == 401) {
    return failure(RF_STATUS_RECONNECT,
                   "Meta refused to refresh the access token of account '" + name +
                       "' (fb_exchange_token: " + explained +
                       "): a long-lived token that expired (they last about 60 days) or was "
                       "invalidated (a password change, the app removed) cannot be renewed; log "
                       "in with Facebook again and put the new token in the account's secret");
  }
  if (error.transient || error.http_status >= 500 || error.http_status == 429 || error.code == 2 ||
      error.code == 4 || error.code == 17 || error.code == 32 || error.code == 613) {
    Failure retry{RF_STATUS_RETRY, "instagram.publish: " + what + ": " + explained, std::nullopt,
                  error.code};
    retry.retry_after = response->retry_after();
    return tl::unexpected(std::move(retry));
  }
  if (error.code == 1 || error.code == 101) {
    return failure(RF_STATUS_ERROR, "instagram.publish: " + what + " for account '" + name +
                                        "': Meta refused the app (" + explained +
                                        "): check credentials.app_id and credentials.app_secret");
  }
  return failure(RF_STATUS_ERROR, "instagram.publish: " + what + " for account '" + name +
                                      "' refused: " + explained);
}

Outcome<json> Graph::get(const std::string& what, const std::string& path,
                         const Parameters& parameters) {
  http::Request request;
  request.method = "GET";
  request.url = settings_.api_base + "/" + settings_.version + "/" + path;
  if (!parameters.empty()) request.url += "?" + form_encode(parameters);
  request.total_timeout_seconds = 120;
  return send(what, std::move(request));
}

Outcome<json> Graph::post(const std::string& what, const std::string& path,
                          const Parameters& parameters) {
  http::Request request;
  request.method = "POST";
  request.url = settings_.api_base + "/" + settings_.version + "/" + path;
  request.body = form_encode(parameters);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.total_timeout_seconds = 120;
  return send(what, std::move(request));
}

Failure Graph::network_failure(const std::string& what, const http::HttpError& error) const {
  if (error.cancelled)
    return {RF_STATUS_CANCELLED, "instagram.publish: " + what + ": cancelled", std::nullopt, 0};
  return {error.retryable ? RF_STATUS_RETRY : RF_STATUS_ERROR,
          "instagram.publish: " + what + ": " + error.message, std::nullopt, 0};
}

Outcome<json> Graph::send(const std::string& what, http::Request request) {
  request.headers.emplace_back("Authorization", "Bearer " + settings_.access_token);
  request.redact = {settings_.access_token};
  request.cancelled = cancelled_;
  auto response = http::send(request);
  if (!response) return tl::unexpected(network_failure(what, response.error()));
  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  const bool http_ok = http::classify(response->status) == http::StatusClass::ok;
  if (http_ok && body.is_object() && !body.contains("error")) return body;
  GraphError error;
  error.http_status = response->status;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const json& object = body["error"];
    error.code = integer_at(object, "code");
    error.subcode = integer_at(object, "error_subcode");
    error.transient = object.value("is_transient", false);
    error.message = http::redact(text_at(object, "message"), request.redact);
    error.user_message = http::redact(text_at(object, "error_user_msg"), request.redact);
  } else if (http_ok) {
    return failure(RF_STATUS_ERROR, "instagram.publish: " + what +
                                        ": the Graph API answered something that is "
                                        "not a JSON object");
  }
  Failure refused = classify(settings_.account, what, error);
  if (refused.status == RF_STATUS_RETRY) refused.retry_after = response->retry_after();
  refused.graph_code = error.code;
  return tl::unexpected(std::move(refused));
}

std::string Graph::upload_url(const std::string& container_id) const {
  return settings_.upload_base + "/ig-api-upload/" + settings_.version + "/" + container_id;
}

Outcome<json> Graph::read_upload_answer(
    const std::string& what, const tl::expected<http::Response, http::HttpError>& response) {
  if (!response) return tl::unexpected(network_failure(what, response.error()));
  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  const long status = response->status;
  if (http::classify(status) == http::StatusClass::ok && body.is_object() &&
      !body.contains("debug_info") && !body.contains("error")) {
    return body;
  }
  // The Graph error object, should the upload host answer with one.
  if (body.is_object() && body.contains("error")) {
    GraphError error;
    error.http_status = status;
    error.code = integer_at(body["error"], "code");
    error.subcode = integer_at(body["error"], "error_subcode");
    error.transient = body["error"].value("is_transient", false);
    error.message = text_at(body["error"], "message");
    Failure refused = classify(settings_.account, what, error);
    if (refused.status == RF_STATUS_RETRY) refused.retry_after = response->retry_after();
    return tl::unexpected(std::move(refused));
  }
  json info = body.is_object() ? body.value("debug_info", json::object()) : json::object();
  const std::string type = text_at(info, "type");
  const std::string message = http::redact(text_at(info, "message"), {settings_.access_token});
  const std::string said = (type.empty() ? "HTTP " + std::to_string(status) : type) +
                           (message.empty() ? "" : ": " + message);
  if (status == 401 || type == "NotAuthorizedError" || type == "OAuthException") {
    return failure(RF_STATUS_RECONNECT,
                   "instagram.publish: access token rejected: reconnect the account '" +
                       settings_.account + "' (" + what + ": " + said + ")");
  }
  if (status == 429 || status >= 500 || info.value("retriable", false)) {
    Failure retry{RF_STATUS_RETRY, "instagram.publish: " + what + ": " + said, std::nullopt, 0};
    retry.retry_after = response->retry_after();
    return tl::unexpected(std::move(retry));
  }
  return failure(RF_STATUS_ERROR, "instagram.publish: " + what + " refused: " + said);
}

Outcome<json> Graph::upload(const std::string& url, const std::string& file, std::uint64_t offset,
                            std::uint64_t file_size) {
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Authorization", "OAuth " + settings_.access_token},
                     {"offset", std::to_string(offset)},
                     {"file_size", std::to_string(file_size)},
                     {"Content-Type", "application/octet-stream"}};
  request.file = http::FileRange{file, offset, file_size - offset};
  request.redact = {settings_.access_token};
  request.cancelled = cancelled_;
  return read_upload_answer("video upload from byte " + std::to_string(offset),
                            http::send(request));
}

Outcome<std::optional<std::uint64_t>> Graph::uploaded_bytes(const std::string& url) {
  http::Request request;
  request.method = "GET";
  request.url = url;
  request.headers = {{"Authorization", "OAuth " + settings_.access_token}};
  request.redact = {settings_.access_token};
  request.cancelled = cancelled_;
  request.total_timeout_seconds = 60;
  auto response = http::send(request);
  if (response && (response->status == 404 || response->status == 405)) {
    return std::optional<std::uint64_t>();  // the host does not answer this question
  }
  auto answer = read_upload_answer("asking how much of the upload arrived", response);
  if (!answer) return tl::unexpected(answer.error());
  for (const char* key : {"offset", "file_offset", "bytes_transferred"}) {
    if (auto found = answer->find(key); found != answer->end()) {
      if (found->is_number_unsigned() || found->is_number_integer()) {
        return std::optional<std::uint64_t>(std::max<std::int64_t>(0, found->get<std::int64_t>()));
      }
      if (found->is_string()) {
        try {
          return std::optional<std::uint64_t>(std::stoull(found->get<std::string>()));
        } catch (...) {
        }
      }
    }
  }
  return std::optional<std::uint64_t>();
}

}  // namespace reelflow::instagram
