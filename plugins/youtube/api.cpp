#include "api.hpp"

#include <charconv>
#include <chrono>

#include "metadata.hpp"

namespace reelflow::youtube {

namespace {

using json = nlohmann::json;

constexpr std::string_view kPrefix = "youtube.publish: ";

// The post option (or part of the post) a badRequest reason is about, for the message.
std::string field_of(std::string_view reason) {
  if (reason == "invalidTitle") return "title";
  if (reason == "invalidDescription") return "caption (the description)";
  if (reason == "invalidTags") return "tags";
  if (reason == "invalidCategoryId") return "category_id";
  if (reason == "invalidPublishAt") return "publish_at";
  if (reason == "forbiddenPrivacySetting" || reason == "invalidPrivacyStatus") return "privacy";
  if (reason == "mediaBodyRequired" || reason == "invalidFilename") return "video";
  if (reason == "invalidImage") return "cover";
  return {};
}

std::string status_text(const http::Response& response, const GoogleError& error) {
  std::string text = std::to_string(response.status);
  if (!error.reason.empty()) text += " " + error.reason;
  if (!error.message.empty()) text += ": " + error.message;
  return text;
}

}  // namespace

std::int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t next_quota_reset(std::int64_t now) {
  constexpr std::int64_t kDay = 86'400'000;
  constexpr std::int64_t kEight = 8 * 3'600'000;
  std::int64_t day_start = now - ((now % kDay) + kDay) % kDay;
  std::int64_t reset = day_start + kEight;
  if (reset <= now) reset += kDay;
  return reset;
}

tl::expected<Account, AccountError> read_account(const json& post) {
  const json account = post.value("account", json::object());
  Account out;
  out.name = account.value("name", std::string());
  const json options = account.value("options", json::object());
  out.api_base = options.value("api_base", std::string(kDefaultApiBase));
  while (!out.api_base.empty() && out.api_base.back() == '/') out.api_base.pop_back();
  if (out.api_base.rfind("https://", 0) != 0 && out.api_base.rfind("http://", 0) != 0) {
    return tl::unexpected(AccountError{
        RF_STATUS_ERROR, std::string(kPrefix) + "account '" + out.name + "': api_base '" +
                             out.api_base + "' is not an http(s) URL"});
  }
  const json credentials = account.value("credentials", json::object());
  if (auto token = credentials.find("access_token");
      token != credentials.end() && token->is_string() && !token->get<std::string>().empty()) {
    out.access_token = token->get<std::string>();
  } else {
    return tl::unexpected(AccountError{
        RF_STATUS_RECONNECT,
        std::string(kPrefix) + "account '" + out.name +
            "' has no access_token in its credentials: reconnect the account (an OAuth token "
            "with the youtube.upload scope)"});
  }
  return out;
}

GoogleError read_google_error(const http::Response& response) {
  GoogleError out;
  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) {
    // Not Google's envelope (a proxy's page, an empty body): say what there is, briefly.
    out.message = response.body.substr(0, 200);
    return out;
  }
  const json error = body.value("error", json::object());
  if (error.is_string()) {  // OAuth endpoints answer {"error": "invalid_token", ...}
    out.reason = error.get<std::string>();
    out.message = body.value("error_description", std::string());
    return out;
  }
  if (!error.is_object()) return out;
  out.message = error.value("message", std::string());
  if (auto errors = error.find("errors");
      errors != error.end() && errors->is_array() && !errors->empty() && (*errors)[0].is_object()) {
    const json& first = (*errors)[0];
    out.reason = first.value("reason", std::string());
    out.location = first.value("location", std::string());
    if (out.message.empty()) out.message = first.value("message", std::string());
  }
  return out;
}

Failure classify(const http::Response& response, std::string_view doing, const Account& account,
                 std::int64_t now) {
  const GoogleError error = read_google_error(response);
  const std::string what = status_text(response, error);
  const std::string while_doing = " while " + std::string(doing);
  Failure failure;
  failure.retry_after = response.retry_after();
  const std::string& reason = error.reason;

  if (response.status == 401 ||
      (response.status == 403 &&
       (reason == "forbidden" || reason == "insufficientPermissions" || reason == "authError"))) {
    failure.status = RF_STATUS_RECONNECT;
    failure.message =
        std::string(kPrefix) + "access token rejected: reconnect the account '" + account.name +
        "' (YouTube answered " + what + while_doing +
        (response.status == 403 ? "; the token may lack the youtube.upload scope" : "") + ")";
    return failure;
  }
  if (reason == "quotaExceeded" || reason == "dailyLimitExceeded") {
    failure.status = RF_STATUS_LATER;
    failure.not_before = format_iso_time(next_quota_reset(now));
    failure.message = std::string(kPrefix) +
                      "the YouTube Data API quota of this API project is used up for today (" +
                      what + while_doing +
                      "); it resets at midnight Pacific Time: publish the post after " +
                      *failure.not_before;
    return failure;
  }
  if (reason == "uploadLimitExceeded") {
    failure.status = RF_STATUS_LATER;
    failure.not_before = format_iso_time(now + 86'400'000);
    failure.message = std::string(kPrefix) + "the channel of account '" + account.name +
                      "' reached YouTube's limit of uploads per day (" + what + while_doing +
                      "): publish the post after " + *failure.not_before +
                      " (YouTube says to try again in 24 hours)";
    return failure;
  }
  if (response.status == 429 || response.status >= 500 || reason == "rateLimitExceeded" ||
      reason == "userRateLimitExceeded") {
    failure.status = RF_STATUS_RETRY;
    failure.message = std::string(kPrefix) + "YouTube answered " + what + while_doing +
                      (response.status == 429 || response.status == 403 ? " (rate limited)" : "");
    return failure;
  }
  failure.status = RF_STATUS_ERROR;
  failure.retry_after.reset();
  std::string field = field_of(reason);
  std::string about;
  if (!field.empty()) {
    about = " the post's " + field;
    if (!error.location.empty()) about += " (" + error.location + ")";
  } else if (!error.location.empty()) {
    about = " " + error.location;
  } else {
    about = " the request";
  }
  failure.message = std::string(kPrefix) + "YouTube refused" + about + ": " + what + while_doing;
  return failure;
}

Failure network_failure(const http::HttpError& error) {
  Failure failure;
  failure.status = error.cancelled   ? RF_STATUS_CANCELLED
                   : error.retryable ? RF_STATUS_RETRY
                                     : RF_STATUS_ERROR;
  failure.message = std::string(kPrefix) + error.message;
  return failure;
}

std::optional<std::uint64_t> acknowledged_bytes(const http::Response& response) {
  const auto range = response.header("range");
  if (!range) return 0;
  // "bytes=0-N"
  const std::string_view text = *range;
  constexpr std::string_view kStart = "bytes=0-";
  if (text.substr(0, kStart.size()) != kStart) return std::nullopt;
  std::uint64_t last = 0;
  const char* begin = text.data() + kStart.size();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, last);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return last + 1;
}

http::Request Client::request(std::string method, std::string_view url_or_path) const {
  http::Request request;
  request.method = std::move(method);
  if (url_or_path.rfind("http://", 0) == 0 || url_or_path.rfind("https://", 0) == 0) {
    request.url = std::string(url_or_path);
  } else {
    request.url = account_.api_base + std::string(url_or_path);
  }
  request.headers.emplace_back("Authorization", "Bearer " + account_.access_token);
  request.redact.push_back(account_.access_token);
  // A resumable session URI lets whoever holds it upload into the session: keep it out of
  // messages too.
  if (const auto at = request.url.find("upload_id="); at != std::string::npos) {
    const std::size_t start = at + 10;
    request.redact.push_back(request.url.substr(start, request.url.find('&', start) - start));
  }
  request.cancelled = cancelled_;
  return request;
}

std::optional<json> json_body(const http::Response& response) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return std::nullopt;
  return body;
}

}  // namespace reelflow::youtube
