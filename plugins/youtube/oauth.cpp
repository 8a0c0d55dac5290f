#include "oauth.hpp"

#include <sstream>

#include "json/reply.hpp"
#include "metadata.hpp"

namespace reelflow::youtube {

namespace {

using json = nlohmann::json;
using reelflow::reply::text_at;

constexpr std::string_view kPrefix = "youtube.publish: ";


// A positive number of seconds, given as a number or a string of digits.
std::optional<std::int64_t> seconds_at(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return std::nullopt;
  if (found->is_number()) {
    const double value = found->get<double>();
    if (value > 0) return static_cast<std::int64_t>(value);
    return std::nullopt;
  }
  if (found->is_string()) {
    try {
      const std::int64_t value = std::stoll(found->get<std::string>());
      if (value > 0) return value;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::string form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += http::url_encode(name) + "=" + http::url_encode(value);
  }
  return body;
}

bool has_scope(const std::string& scopes, std::string_view wanted) {
  std::istringstream words(scopes);
  std::string word;
  while (words >> word) {
    if (word == wanted || word == "https://www.googleapis.com/auth/youtube" ||
        word == "https://www.googleapis.com/auth/youtube.force-ssl") {
      return true;
    }
  }
  return false;
}

Failure failure(rf_status status, std::string message) {
  return Failure{status, std::move(message), std::nullopt, std::nullopt};
}

}  // namespace

tl::expected<Refreshed, Failure> refresh_access_token(const json& account,
                                                      const std::function<bool()>& cancelled,
                                                      std::int64_t now) {
  const std::string name = account.value("name", std::string());
  const json options = account.value("options", json::object());
  const json credentials = account.value("credentials", json::object());
  std::string token_base = options.value("token_base", std::string(kDefaultTokenBase));
  while (!token_base.empty() && token_base.back() == '/') token_base.pop_back();
  if (token_base.rfind("https://", 0) != 0 && token_base.rfind("http://", 0) != 0) {
    return tl::unexpected(failure(RF_STATUS_ERROR, std::string(kPrefix) + "account '" + name +
                                                       "': token_base '" + token_base +
                                                       "' is not an http(s) URL"));
  }
  const std::string refresh_token = text_at(credentials, "refresh_token");
  const std::string client_id = text_at(credentials, "client_id");
  const std::string client_secret = text_at(credentials, "client_secret");
  std::string missing;
  for (const auto& [key, value] :
       {std::pair{"refresh_token", &refresh_token}, std::pair{"client_id", &client_id},
        std::pair{"client_secret", &client_secret}}) {
    if (value->empty()) missing += std::string(missing.empty() ? "" : ", ") + key;
  }
  if (!missing.empty()) {
    // Nothing to renew the token with: only connecting the account again helps.
    return tl::unexpected(failure(
        RF_STATUS_RECONNECT,
        "account '" + name + "' has no " + missing +
            " in its credentials, so its access token cannot be renewed: authorize reelflow on "
            "the channel with offline access (access_type=offline) and put access_token, "
            "refresh_token, client_id and client_secret (the OAuth client's) in the account's "
            "secret"));
  }

  http::Request request;
  request.method = "POST";
  request.url = token_base + "/token";
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("Accept", "application/json");
  request.body = form({{"client_id", client_id},
                       {"client_secret", client_secret},
                       {"refresh_token", refresh_token},
                       {"grant_type", "refresh_token"}});
  request.redact = {refresh_token, client_secret, client_id};
  if (std::string old = text_at(credentials, "access_token"); !old.empty()) {
    request.redact.push_back(std::move(old));
  }
  request.total_timeout_seconds = 60;
  request.cancelled = cancelled;
  auto response = http::send(request);
  if (!response) {
    Failure failed = network_failure(response.error());
    failed.message =
        std::string(kPrefix) + "refreshing the access token: " + response.error().message;
    return tl::unexpected(std::move(failed));
  }

  const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status == 200) {
    const std::string access_token = body.is_object() ? text_at(body, "access_token") : "";
    if (access_token.empty()) {
      return tl::unexpected(failure(
          RF_STATUS_RETRY, std::string(kPrefix) + "Google's token endpoint answered 200 without an "
                                                  "access_token"));
    }
    Refreshed out;
    // Google documents access tokens of one hour; an answer without expires_in is taken as that.
    const std::int64_t lifetime = seconds_at(body, "expires_in").value_or(3600);
    out.credentials = {{"access_token", access_token},
                       {"expires_at", format_iso_time(now + lifetime * 1000)}};
    if (std::string rotated = text_at(body, "refresh_token"); !rotated.empty()) {
      out.credentials["refresh_token"] = rotated;  // kept whenever Google sends a new one
    }
    if (auto lasts = seconds_at(body, "refresh_token_expires_in")) {
      out.credentials["refresh_token_expires_at"] = format_iso_time(now + *lasts * 1000);
      out.warnings.push_back(
          std::string(kPrefix) + "the refresh token of account '" + name + "' expires at " +
          format_iso_time(now + *lasts * 1000) +
          " (time-based access): the account must be connected again before then");
    }
    if (const std::string scope = text_at(body, "scope");
        !scope.empty() && !has_scope(scope, kUploadScope)) {
      out.warnings.push_back(std::string(kPrefix) + "the renewed token of account '" + name +
                             "' lacks the youtube.upload scope (granted: " + scope +
                             "); uploads will be refused until the account is connected again "
                             "with it");
    }
    return out;
  }

  const std::string error = body.is_object() ? text_at(body, "error") : "";
  const std::string description =
      http::redact(body.is_object() ? text_at(body, "error_description") : "", request.redact);
  std::string said = std::to_string(response->status);
  if (!error.empty()) said += " " + error;
  if (!description.empty()) said += ": " + description;
  if (error.empty() && description.empty() && !response->body.empty()) {
    said += ": " + http::redact(response->body.substr(0, 200), request.redact);
  }

  if (error == "invalid_grant") {
    return tl::unexpected(failure(
        RF_STATUS_RECONNECT,
        "Google refused the refresh token of account '" + name + "' (" + said +
            "): access was revoked, the token went unused for six months, or the OAuth app is "
            "in \"Testing\" publishing status, whose refresh tokens expire after 7 days; "
            "authorize reelflow on the channel again and put the new refresh_token in the "
            "account's secret"));
  }
  if (response->status == 429 || response->status >= 500) {
    Failure retry =
        failure(RF_STATUS_RETRY, std::string(kPrefix) + "Google's token endpoint answered " + said +
                                     " while refreshing the access token");
    retry.retry_after = response->retry_after();
    return tl::unexpected(std::move(retry));
  }
  if (error == "invalid_client" || error == "unauthorized_client" || error == "deleted_client") {
    return tl::unexpected(failure(
        RF_STATUS_ERROR, std::string(kPrefix) + "Google refused the OAuth client of account '" +
                             name + "' (" + said +
                             "): check credentials.client_id and credentials.client_secret "
                             "(they must be the client the refresh token was issued to)"));
  }
  return tl::unexpected(failure(RF_STATUS_ERROR, std::string(kPrefix) +
                                                     "Google's token endpoint refused to refresh "
                                                     "the access token of account '" +
                                                     name + "' (" + said + ")"));
}

}  // namespace reelflow::youtube
