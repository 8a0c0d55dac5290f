// webhook.publish: hands a post to the team's own system (a CMS, a Zapier-style hook, an
// internal approval tool) as one signed HTTP POST: the post as JSON, and the video and cover as
// multipart file parts or as URLs the receiver fetches. README.md is the receiver's contract.
//
// The stages, and why delivering twice cannot happen:
//   prepare   the account's configuration is consistent, the media readable, the JSON sane;
//   start     nothing remote: the session is {"delivery": <idempotency key>};
//   upload    nothing: the POST carries the media;
//   finalize  the POST, signed (X-Reelflow-Signature) and keyed (Idempotency-Key). 2xx is
//             delivered; 409 is "already received this key", also delivered. The receiver
//             de-duplicates on the key (a documented requirement), so the host may repeat the
//             POST after a dropped connection without making a second post;
//   poll      without status_url, delivered is published; with it, GET it until the receiver
//             says "published" or "failed";
//   reconcile without status_url, "nothing" (the repeated POST is de-duplicated by the
//             receiver); with it, GET it: 404 is "nothing", an answer is "post".
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/http_client.hpp"
#include "signing.hpp"

namespace {

namespace fs = std::filesystem;
namespace http = reelflow::http;
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr std::string_view kWhere = "webhook.publish";
constexpr std::size_t kMaxReceiverMessageBytes = 300;
constexpr std::size_t kMaxPostJsonBytes = 1u << 20;  // the JSON part, not the media
constexpr int kReconcileAttempts = 3;
constexpr double kMaxReconcileWaitSeconds = 30;
constexpr std::string_view kPublishEvent = "post.publish";
constexpr std::string_view kStatusEvent = "post.status";

// ---------------------------------------------------------------------------------------------
// The account
// ---------------------------------------------------------------------------------------------

// The account's configuration and credentials, checked, for one post.
struct Account {
  std::string name;
  std::string url;
  std::string status_url;  // {id} already replaced; empty: delivered means published
  bool multipart = true;   // media "multipart"; false: media "url"
  std::string media_base_url;
  double timeout_seconds = 60;
  std::string secret;
  std::string bearer;               // empty: no Authorization header
  std::vector<std::string> redact;  // credentials and the endpoints' paths (capability URLs)

  // "webhook.publish: account 'brand': "
  std::string where() const { return std::string(kWhere) + ": account '" + name + "': "; }
};

bool is_http_url(std::string_view url) {
  return (url.starts_with("http://") && url.size() > 7) ||
         (url.starts_with("https://") && url.size() > 8);
}

// What follows scheme://host[:port] in a URL ("/hooks/catch/1/abc?x=1"), or "".
std::string url_path(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const auto path_start = url.find_first_of("/?#", scheme_end + 3);
  if (path_start == std::string_view::npos) return {};
  return std::string(url.substr(path_start));
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  std::size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

tl::expected<Account, std::string> read_account(const json& post) {
  const json& account_json = post.at("account");
  Account account;
  account.name = account_json.value("name", "");
  const std::string where = account.where();
  const json options = account_json.value("options", json::object());
  const json credentials = account_json.value("credentials", json::object());

  account.url = options.value("url", "");
  if (!is_http_url(account.url)) {
    return tl::unexpected(where +
                          "option 'url' (the receiver's endpoint) must be an http:// or "
                          "https:// URL");
  }
  const std::string status_template = options.value("status_url", "");
  if (!status_template.empty()) {
    if (!is_http_url(status_template)) {
      return tl::unexpected(where + "option 'status_url' must be an http:// or https:// URL");
    }
    if (status_template.find("{id}") == std::string::npos) {
      return tl::unexpected(where +
                            "option 'status_url' must contain {id} (replaced by the "
                            "post's \"id\", URL-encoded)");
    }
    account.status_url =
        replace_all(status_template, "{id}", http::url_encode(post.value("id", "")));
  }
  const std::string media = options.value("media", "multipart");
  if (media != "multipart" && media != "url") {
    return tl::unexpected(where + "option 'media' must be \"multipart\" or \"url\", not \"" +
                          media + "\"");
  }
  account.multipart = media == "multipart";
  account.media_base_url = options.value("media_base_url", "");
  if (!account.multipart && !is_http_url(account.media_base_url)) {
    return tl::unexpected(
        where +
        "option 'media_base_url' is required with media \"url\": the http(s) URL prefix "
        "under which the receiver can fetch the video and cover files");
  }
  account.timeout_seconds = options.value("timeout", 60.0);
  if (!(account.timeout_seconds > 0)) {
    return tl::unexpected(where + "option 'timeout' must be a positive number of seconds");
  }

  const auto secret = credentials.find("secret");
  if (secret == credentials.end() || !secret->is_string() ||
      secret->get_ref<const std::string&>().empty()) {
    return tl::unexpected(where +
                          "credentials.secret is missing: the HMAC key the receiver "
                          "verifies X-Reelflow-Signature with");
  }
  account.secret = secret->get<std::string>();
  if (const auto bearer = credentials.find("bearer"); bearer != credentials.end()) {
    if (!bearer->is_string()) {
      return tl::unexpected(where +
                            "credentials.bearer must be a string (the token sent as "
                            "Authorization: Bearer)");
    }
    account.bearer = bearer->get<std::string>();
  }

  account.redact = {account.secret, account.bearer};
  for (const std::string* url : {&account.url, &account.status_url}) {
    if (std::string path = url_path(*url); path.size() > 1) account.redact.push_back(path);
  }
  return account;
}

// ---------------------------------------------------------------------------------------------
// The post's JSON
// ---------------------------------------------------------------------------------------------

// A media file as the receiver is told about it.
struct MediaFile {
  fs::path path;
  std::string file;  // the file name: the multipart part's filename, the URL's last segment
  std::uint64_t size_bytes = 0;
  std::string sha256;  // empty until hashed
  std::string content_type;
};

std::string content_type_for(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".mp4" || extension == ".m4v") return "video/mp4";
  if (extension == ".mov") return "video/quicktime";
  if (extension == ".webm") return "video/webm";
  if (extension == ".mkv") return "video/x-matroska";
  if (extension == ".jpg" || extension == ".jpeg") return "image/jpeg";
  if (extension == ".png") return "image/png";
  if (extension == ".webp") return "image/webp";
  if (extension == ".gif") return "image/gif";
  return "application/octet-stream";
}

// The file at `path` (named `field` in messages): readable, not empty.
tl::expected<MediaFile, std::string> inspect_media(const fs::path& path, std::string_view field) {
  const std::string where = std::string(kWhere) + ": " + std::string(field) + " " + path.string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return tl::unexpected(where + " is not a file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return tl::unexpected(where + ": " + ec.message());
  if (size == 0) return tl::unexpected(where + " is empty");
  if (!std::ifstream(path, std::ios::binary)) return tl::unexpected(where + " is not readable");
  MediaFile media;
  media.path = path;
  media.file = path.filename().string();
  media.size_bytes = size;
  media.content_type = content_type_for(path);
  return media;
}

std::string media_url(const Account& account, const MediaFile& media) {
  std::string url = account.media_base_url;
  if (!url.ends_with('/')) url += '/';
  return url + http::url_encode(media.file);
}

ordered_json media_json(const Account& account, const MediaFile& media) {
  ordered_json out = {
      {"file", media.file}, {"size_bytes", media.size_bytes}, {"sha256", media.sha256}};
  if (!account.multipart) out["url"] = media_url(account, media);
  return out;
}

// The JSON the receiver gets (README.md, "The body"); these exact bytes are signed.
std::string post_body(const json& post, const Account& account, const MediaFile& video,
                      const std::optional<MediaFile>& cover) {
  ordered_json body;
  body["id"] = post.value("id", "");
  body["idempotency_key"] = post.value("idempotency_key", "");
  body["platform"] = "webhook";
  body["account"] = account.name;
  body["title"] = post.value("title", "");
  body["caption"] = post.value("caption", "");
  body["tags"] = ordered_json(post.value("tags", json::array()));
  body["link"] = ordered_json(post.value("link", json()));
  body["publish_at"] = post.value("publish_at", "");
  body["video"] = media_json(account, video);
  body["cover"] = cover ? media_json(account, *cover) : ordered_json(nullptr);
  body["options"] = ordered_json(post.value("options", json::object()));
  return body.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

// The video and, if the post has one, the cover.
struct Media {
  MediaFile video;
  std::optional<MediaFile> cover;
};

tl::expected<Media, std::string> inspect_post_media(const json& post) {
  Media media;
  auto video = inspect_media(post.at("video").value("path", ""), "video");
  if (!video) return tl::unexpected(video.error());
  media.video = std::move(*video);
  if (const auto cover = post.find("cover"); cover != post.end() && cover->is_string()) {
    auto file = inspect_media(cover->get<std::string>(), "cover");
    if (!file) return tl::unexpected(file.error());
    media.cover = std::move(*file);
  }
  return media;
}

// ---------------------------------------------------------------------------------------------
// Talking to the receiver
// ---------------------------------------------------------------------------------------------

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request to the receiver, signed over `signed_payload` (the JSON part; "" for a GET).
http::Request signed_request(const reelflow::Run& run, const Account& account, std::string method,
                             std::string url, std::string_view signed_payload,
                             std::string_view idempotency_key, std::string_view event) {
  http::Request request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.connect_timeout_seconds = std::min(15.0, account.timeout_seconds);
  // No byte moving for `timeout` seconds (also while the receiver thinks about its answer).
  request.stall_seconds = account.timeout_seconds;
  request.redact = account.redact;
  request.cancelled = [&run] { return run.cancelled(); };
  request.headers = {
      {"X-Reelflow-Signature",
       reelflow::webhook::signature_header(account.secret, unix_seconds(), signed_payload)},
      {"X-Reelflow-Event", std::string(event)},
      {"Idempotency-Key", std::string(idempotency_key)},
      {"Accept", "application/json"},
  };
  if (!account.bearer.empty())
    request.headers.emplace_back("Authorization", "Bearer " + account.bearer);
  return request;
}

// Cuts text to at most `limit` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "…";
}

// What the receiver said, for a message: its JSON "error" (a string, or an object's "message"),
// "message" or "detail", else the body as text; credentials removed, at most 300 bytes.
std::string receiver_message(const http::Response& response, const Account& account) {
  std::string text;
  const json answer = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_object()) {
    const auto string_at = [](const json& object, const char* key) -> std::string {
      const auto found = object.find(key);
      return found != object.end() && found->is_string() ? found->get<std::string>() : "";
    };
    text = string_at(answer, "error");
    if (text.empty()) {
      if (const auto error = answer.find("error"); error != answer.end() && error->is_object()) {
        text = string_at(*error, "message");
      }
    }
    if (text.empty()) text = string_at(answer, "message");
    if (text.empty()) text = string_at(answer, "detail");
  }
  if (text.empty()) text = response.body;
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  text = http::redact(std::move(text), account.redact);
  text = truncate_utf8(std::move(text), kMaxReceiverMessageBytes);
  return text.empty() ? "no message" : text;
}

// The status and outputs for a network failure.
rf_status network_failure(const reelflow::Run& run, const Account& account,
                          const http::HttpError& error) {
  if (error.cancelled) return RF_STATUS_CANCELLED;
  const std::string message = account.where() + error.message;
  return error.retryable ? run.fail_with(RF_STATUS_RETRY, message) : run.fail(message);
}

// The status and outputs for an answer that is not a success: 401/403 RECONNECT, 429 and 5xx
// RETRY (with retry_after), anything else ERROR with the receiver's message.
rf_status refused(const reelflow::Run& run, const Account& account, const http::Response& response,
                  std::string_view doing) {
  // "HTTP 422 while delivering the post"
  const std::string context =
      "HTTP " + std::to_string(response.status) + " while " + std::string(doing);
  const std::string said = receiver_message(response, account);
  const std::string where = account.where();
  if (response.status == 401 || response.status == 403) {
    return run.fail_with(RF_STATUS_RECONNECT,
                         where + "the receiver refused our credentials (" + context + ": " + said +
                             "); check the account's credentials.secret (the HMAC key) and "
                             "credentials.bearer");
  }
  if (response.status == 429 || response.status >= 500) {
    if (const auto after = response.retry_after()) {
      run.set_output(json({{"retry_after", *after}}).dump());
    }
    const char* what =
        response.status == 429 ? "the receiver is rate limiting us" : "the receiver failed";
    return run.fail_with(RF_STATUS_RETRY, where + what + " (" + context + ": " + said + ")");
  }
  if (response.status >= 300 && response.status < 400) {
    return run.fail(where + "the receiver answered " + context +
                    " (a redirect, which is not followed): configure the final address");
  }
  return run.fail(where + "the receiver refused the post (" + context + "): " + said);
}

bool is_success(long status) { return status >= 200 && status < 300; }

// Copies the receiver's {"id", "url"} (when given) into the session as post_id / url.
void take_receiver_ids(const std::string& body, json& session) {
  const json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) return;
  if (const auto id = answer.find("id"); id != answer.end()) {
    if (id->is_string() && !id->get_ref<const std::string&>().empty()) {
      session["post_id"] = id->get<std::string>();
    } else if (id->is_number_integer()) {
      session["post_id"] = id->dump();
    }
  }
  if (const auto url = answer.find("url");
      url != answer.end() && url->is_string() && !url->get_ref<const std::string&>().empty()) {
    session["url"] = url->get<std::string>();
  }
}

// ---------------------------------------------------------------------------------------------
// The publisher
// ---------------------------------------------------------------------------------------------

class Webhook {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = read_account(post);
    if (!account) return run.fail(account.error());
    auto media = inspect_post_media(post);
    if (!media) return run.fail(media.error());
    // The hashes are computed when the post is sent; a placeholder of their length here.
    media->video.sha256.assign(64, '0');
    if (media->cover) media->cover->sha256.assign(64, '0');
    const std::size_t size = post_body(post, *account, media->video, media->cover).size();
    if (size > kMaxPostJsonBytes) {
      return run.fail(std::string(kWhere) + ": the post's JSON is " + std::to_string(size) +
                      " bytes, more than the 1 MiB this publisher sends: shorten the caption, "
                      "title or tags");
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    run.set_output(json({{"delivery", post.value("idempotency_key", "")}}).dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view, std::string_view session_text) {
    run.set_output(std::string(session_text));
    return RF_STATUS_OK;
  }

  rf_status finalize(reelflow::Run& run, std::string_view post_text,
                     std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = read_account(post);
    if (!account) return run.fail(account.error());
    auto media = inspect_post_media(post);
    if (!media) return run.fail(media.error());
    const auto cancelled = [&run] { return run.cancelled(); };
    for (MediaFile* file : {&media->video, media->cover ? &*media->cover : nullptr}) {
      if (file == nullptr) continue;
      auto digest = reelflow::webhook::sha256_file_hex(file->path, cancelled);
      if (!digest) {
        if (run.cancelled()) return RF_STATUS_CANCELLED;
        return run.fail(std::string(kWhere) + ": " + digest.error());
      }
      file->sha256 = std::move(*digest);
    }

    const std::string key = post.value("idempotency_key", "");
    const std::string body = post_body(post, *account, media->video, media->cover);
    http::Request request =
        signed_request(run, *account, "POST", account->url, body, key, kPublishEvent);
    if (account->multipart) {
      http::FormPart json_part;
      json_part.name = "post";
      json_part.value = body;
      json_part.content_type = "application/json";
      request.form.push_back(std::move(json_part));
      const auto add_file = [&](const char* name, const MediaFile& file) {
        http::FormPart part;  // streamed from disk by the client, never held in memory
        part.name = name;
        part.file = http::FileRange{file.path, 0, file.size_bytes};
        part.filename = file.file;
        part.content_type = file.content_type;
        request.form.push_back(std::move(part));
      };
      add_file("video", media->video);
      if (media->cover) add_file("cover", *media->cover);
    } else {
      request.headers.emplace_back("Content-Type", "application/json");
      request.body = body;
      request.total_timeout_seconds = account->timeout_seconds;
    }

    run.info(
        "delivering the post to the receiver (" +
        std::string(account->multipart
                        ? "multipart, " + std::to_string(media->video.size_bytes) + " video bytes"
                        : "JSON with media URLs") +
        ")");
    auto response = http::send(request);
    if (!response) return network_failure(run, *account, response.error());
    if (!is_success(response->status) && response->status != 409) {
      return refused(run, *account, *response, "delivering the post");
    }
    // 409: the receiver already has this Idempotency-Key (an earlier attempt arrived); its body
    // is the first delivery's answer.
    session["delivery"] = key;
    session["post_id"] = post.value("id", "");
    session["url"] = "";
    take_receiver_ids(response->body, session);
    run.info(response->status == 409
                 ? "the receiver already had this post (HTTP 409 for its Idempotency-Key)"
                 : "delivered (HTTP " + std::to_string(response->status) + ")");
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = read_account(post);
    if (!account) return run.fail(account.error());
    // The host merges each answer into the session: drop the previous answer's leftovers.
    session.erase("retry_after");
    session.erase("error");
    if (session.value("post_id", "").empty()) session["post_id"] = post.value("id", "");
    if (account->status_url.empty()) {
      session["state"] = "published";
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    auto response = http::send(status_request(run, *account, post));
    if (!response) return network_failure(run, *account, response.error());
    if (response->status == 404) {
      return run.fail(account->where() + "the receiver's status_url answered 404 for post '" +
                      post.value("id", "") +
                      "', which it had accepted: " + receiver_message(*response, *account));
    }
    if (!is_success(response->status)) {
      return refused(run, *account, *response, "asking status_url about the post");
    }
    const json answer = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    const std::string state =
        answer.is_object() && answer.contains("state") && answer["state"].is_string()
            ? answer["state"].get<std::string>()
            : "";
    if (state == "published") {
      take_receiver_ids(response->body, session);
    } else if (state == "failed") {
      session["error"] = "the receiver reports: " + receiver_message(*response, *account);
    } else if (state == "processing") {
      if (const auto after = response->retry_after()) session["retry_after"] = *after;
    } else {
      return run.fail(account->where() +
                      "the receiver's status_url answered without a \"state\" of published, "
                      "processing or failed: " +
                      receiver_message(*response, *account));
    }
    session["state"] = state;
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    const json post = json::parse(post_text);
    json answer = json::parse(session_text);
    auto account = read_account(post);
    if (!account) return run.fail(account.error());
    answer["delivery"] = post.value("idempotency_key", "");
    if (account->status_url.empty()) {
      // Nothing to ask. Safe: a repeated POST carries the same Idempotency-Key, which the
      // receiver must de-duplicate (README.md, "Receiver requirements").
      answer["found"] = "nothing";
      run.set_output(answer.dump());
      return RF_STATUS_OK;
    }
    // The host reads any failure here as "cannot tell" and leaves the post to a person, so a
    // transient failure is retried a few times here first.
    for (int attempt = 1;; ++attempt) {
      auto response = http::send(status_request(run, *account, post));
      double wait = attempt;
      if (!response) {
        if (response.error().cancelled || !response.error().retryable ||
            attempt >= kReconcileAttempts) {
          return network_failure(run, *account, response.error());
        }
        run.warn(response.error().message + "; asking again");
      } else if (response->status == 404) {
        answer["found"] = "nothing";
        run.set_output(answer.dump());
        return RF_STATUS_OK;
      } else if (is_success(response->status)) {
        if (answer.value("post_id", "").empty()) answer["post_id"] = post.value("id", "");
        take_receiver_ids(response->body, answer);
        answer["found"] = "post";
        run.set_output(answer.dump());
        return RF_STATUS_OK;
      } else if ((response->status == 429 || response->status >= 500) &&
                 attempt < kReconcileAttempts) {
        wait = std::min(kMaxReconcileWaitSeconds, response->retry_after().value_or(wait));
        run.warn(account->where() + "status_url answered HTTP " + std::to_string(response->status) +
                 "; asking again");
      } else {
        return refused(run, *account, *response, "asking status_url about the post");
      }
      if (!pause(run, wait)) return RF_STATUS_CANCELLED;
    }
  }

 private:
  static http::Request status_request(const reelflow::Run& run, const Account& account,
                                      const json& post) {
    http::Request request = signed_request(run, account, "GET", account.status_url, "",
                                           post.value("idempotency_key", ""), kStatusEvent);
    request.total_timeout_seconds = account.timeout_seconds;
    return request;
  }

  // Sleeps `seconds` unless cancelled first; false when cancelled.
  static bool pause(const reelflow::Run& run, double seconds) {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
      if (run.cancelled()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !run.cancelled();
  }
};

constexpr const char* kMediaModes[] = {"multipart", "url", nullptr};

constexpr rf_option kAccountOptions[] = {
    reelflow::option::string("url", reelflow::no_default,
                             "The receiver's endpoint: the signed POST of each post goes here.")
        .required(),
    reelflow::option::string("status_url", reelflow::no_default,
                             "Optional URL template with {id} (the post's id) that answers "
                             "{\"state\": \"published\"|\"processing\"|\"failed\"}; without it a "
                             "delivered post counts as published."),
    reelflow::option::enumeration("media", kMediaModes, reelflow::json_string<"multipart">,
                                  "multipart: the video and cover are sent as file parts; url: "
                                  "only the JSON is sent, with URLs under media_base_url."),
    reelflow::option::string("media_base_url", reelflow::no_default,
                             "For media \"url\" (then required): the URL prefix under which the "
                             "receiver can fetch the video and cover by file name."),
    reelflow::option::duration("timeout", "60",
                               "How long the receiver may go without sending or receiving a "
                               "byte (and the whole request's limit for JSON-only requests).")
        .range(1, 3600),
};

constexpr rf_option kPostOptions[] = {
    reelflow::option::object("fields", "{}",
                             "Free-form fields for the receiver (a category, an approver), sent "
                             "as options.fields in the post's JSON."),
};

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<Webhook>(
        {.name = "webhook.publish",
         .platform = "webhook",
         .summary = "Hand the post to your own system: a signed HTTP POST of its JSON and media"},
        kPostOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "webhook",
     .version = "1.0.0",
     .license = "Apache-2.0",
     .summary = "Publish to your own system (CMS, automation hook, approval tool) over HTTP"},
    kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
