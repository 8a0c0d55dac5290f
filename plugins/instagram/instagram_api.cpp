#include "instagram_api.hpp"

#include <algorithm>

namespace reelflow::instagram {

namespace {

using json = nlohmann::json;

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

std::string string_at(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
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
    error.message = http::redact(string_at(object, "message"), request.redact);
    error.user_message = http::redact(string_at(object, "error_user_msg"), request.redact);
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
    error.message = string_at(body["error"], "message");
    Failure refused = classify(settings_.account, what, error);
    if (refused.status == RF_STATUS_RETRY) refused.retry_after = response->retry_after();
    return tl::unexpected(std::move(refused));
  }
  json info = body.is_object() ? body.value("debug_info", json::object()) : json::object();
  const std::string type = string_at(info, "type");
  const std::string message = http::redact(string_at(info, "message"), {settings_.access_token});
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
