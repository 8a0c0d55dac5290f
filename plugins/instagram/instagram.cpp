// instagram.publish: publishes a video as an Instagram Reel through the Instagram Graph API's
// container flow with a resumable upload (instagram_api.hpp for the wire and the errors).
//
// The stages (plugin.h, "Publisher types") map onto the API's calls:
//   prepare   checks the caption (2200 characters, 30 hashtags, 20 @mentions), the tags and the
//             video, then GET /{ig-user-id}/content_publishing_limit: a used-up 24-hour quota is
//             LATER, before anything is created.
//   start     POST /{ig-user-id}/media {media_type REELS, upload_type resumable, caption (with the
//             tracked link and the tags as hashtags), share_to_feed} -> the container id: the
//             session.
//   upload    POST {upload_base}/ig-api-upload/{v}/{container} with Authorization: OAuth, offset
//             and file_size headers and the bytes from offset. After an interrupted attempt it
//             first asks the upload host how many bytes it holds (GET on the same URL) and sends
//             only the rest.
//   finalize  waits for the container's status_code (IN_PROGRESS -> FINISHED, bounded; ERROR or
//             EXPIRED fail), then POST /{ig-user-id}/media_publish?creation_id -> the media id.
//   poll      GET /{media-id}?fields=permalink: published at its permalink.
//   reconcile the container's status_code: PUBLISHED is the post (its media id found in the
//             account's first page of media by caption), FINISHED/IN_PROGRESS the session, no
//             container (or an expired or failed one) nothing.
//   metrics   GET /{media-id}/insights?metric=views,likes,comments,shares,saved.
//   refresh   GET /oauth/access_token?grant_type=fb_exchange_token: a new long-lived token (about
//             60 days) for the current one, which must not have expired (instagram_api.hpp).
//
// A refused token (code 190, HTTP 401, the upload host's NotAuthorizedError) is
// RF_STATUS_RECONNECT in every call: the host tries refresh once and repeats the call.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <reelflow/plugin.hpp>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "instagram_api.hpp"
#include "json/reply.hpp"

namespace {

namespace fs = std::filesystem;
namespace ig = reelflow::instagram;
using json = nlohmann::json;
using reelflow::reply::text_at;
using ig::Failure;
using ig::Outcome;

// The IG User Media reference's limits for a caption, and its Reels specifications.
constexpr std::size_t kCaptionLimit = 2200;  // characters (counted as UTF-16 units: conservative)
constexpr std::size_t kHashtagLimit = 30;
constexpr std::size_t kMentionLimit = 20;
constexpr std::uint64_t kMaxVideoBytes = 300ull << 20;  // Reels: 300 MB (the conservative figure)
constexpr double kMinDurationSeconds = 3;
constexpr double kMaxDurationSeconds = 15 * 60;
constexpr int kMediaPage = 25;  // how much of the account's media reconcile looks through


std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// UTF-16 code units of UTF-8 text: what a JavaScript-style length counts (astral characters,
// such as most emoji, count twice).
std::size_t utf16_units(std::string_view utf8) {
  std::size_t units = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) == 0x80) continue;
    units += c >= 0xF0 ? 2 : 1;
  }
  return units;
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

// Occurrences of `mark` starting a word: after the start or a space, followed by a word byte.
std::size_t marked_words(std::string_view text, char mark) {
  std::size_t count = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != mark) continue;
    const bool starts = i == 0 || std::isspace(static_cast<unsigned char>(text[i - 1]));
    if (starts && is_word_byte(static_cast<unsigned char>(text[i + 1]))) ++count;
  }
  return count;
}

bool contains_hashtag(std::string_view caption, const std::string& tag) {
  const std::string wanted = "#" + tag;
  std::size_t at = 0;
  while ((at = caption.find(wanted, at)) != std::string_view::npos) {
    const std::size_t end = at + wanted.size();
    if (end == caption.size() || !is_word_byte(static_cast<unsigned char>(caption[end])))
      return true;
    at = end;
  }
  return false;
}

struct Account {
  std::string name;
  std::string ig_user_id;
  ig::Graph::Settings graph;
  double status_interval = 5;
  double processing_timeout = 300;
};

struct Post {
  Account account;
  std::string caption;  // as sent: caption, link, then the tags not already in it as hashtags
  std::vector<std::string> tags;
  fs::path video;
  std::uint64_t video_bytes = 0;
  std::optional<double> duration_seconds;
  bool has_cover = false;
  bool share_to_feed = true;
  std::optional<std::int64_t> thumb_offset;
};

Outcome<Post> read_post(std::string_view text) {
  const json post = json::parse(text);
  Post out;
  const json& account = post.at("account");
  const json options = account.value("options", json::object());
  const json credentials = account.value("credentials", json::object());
  out.account.name = account.value("name", "");
  out.account.ig_user_id = text_at(credentials, "ig_user_id");
  out.account.graph.api_base =
      without_trailing_slash(options.value("api_base", "https://graph.facebook.com"));
  out.account.graph.upload_base =
      without_trailing_slash(options.value("upload_base", "https://rupload.facebook.com"));
  out.account.graph.version = options.value("graph_version", "v21.0");
  out.account.graph.access_token = text_at(credentials, "access_token");
  out.account.graph.account = out.account.name;
  out.account.status_interval = options.value("status_interval", 5.0);
  out.account.processing_timeout = options.value("processing_timeout", 300.0);
  if (out.account.ig_user_id.empty()) {
    return ig::failure(RF_STATUS_ERROR, "instagram.publish: account '" + out.account.name +
                                            "' has no credentials.ig_user_id (the Instagram "
                                            "professional account's id)");
  }
  if (out.account.graph.access_token.empty()) {
    return ig::failure(RF_STATUS_RECONNECT,
                       "instagram.publish: access token missing: reconnect the account '" +
                           out.account.name + "' (credentials.access_token is empty)");
  }
  for (const auto& tag : post.value("tags", json::array())) {
    if (!tag.is_string()) continue;
    std::string value = tag.get<std::string>();
    while (!value.empty() && (value.front() == '#' || value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    out.tags.push_back(value);
  }
  std::vector<std::string> blocks;
  if (std::string caption = post.value("caption", ""); !caption.empty()) blocks.push_back(caption);
  if (std::string link = text_at(post, "link"); !link.empty()) blocks.push_back(link);
  std::string hashtags;
  for (const auto& tag : out.tags) {
    if (tag.empty() || (!blocks.empty() && contains_hashtag(blocks.front(), tag))) continue;
    hashtags += (hashtags.empty() ? "#" : " #") + tag;
  }
  if (!hashtags.empty()) blocks.push_back(hashtags);
  for (const auto& block : blocks) out.caption += (out.caption.empty() ? "" : "\n\n") + block;

  const json& video = post.at("video");
  out.video = video.value("path", "");
  out.video_bytes = video.value("size_bytes", std::uint64_t{0});
  if (auto found = video.find("duration_seconds"); found != video.end() && found->is_number()) {
    out.duration_seconds = found->get<double>();
  }
  out.has_cover = !text_at(post, "cover").empty();
  const json own = post.value("options", json::object());
  out.share_to_feed = own.value("share_to_feed", true);
  if (auto found = own.find("thumb_offset"); found != own.end() && found->is_number_integer()) {
    out.thumb_offset = found->get<std::int64_t>();
  }
  return out;
}

std::vector<std::string> problems(const Post& post) {
  std::vector<std::string> found;
  if (const auto length = utf16_units(post.caption); length > kCaptionLimit) {
    found.push_back("caption (with the link and the tags as hashtags) has " +
                    std::to_string(length) + " characters; Instagram takes at most " +
                    std::to_string(kCaptionLimit));
  }
  if (const auto hashtags = marked_words(post.caption, '#'); hashtags > kHashtagLimit) {
    found.push_back("caption has " + std::to_string(hashtags) +
                    " hashtags (tags included); "
                    "Instagram takes at most " +
                    std::to_string(kHashtagLimit));
  }
  if (const auto mentions = marked_words(post.caption, '@'); mentions > kMentionLimit) {
    found.push_back("caption has " + std::to_string(mentions) +
                    " @mentions; Instagram takes at "
                    "most " +
                    std::to_string(kMentionLimit));
  }
  for (const auto& tag : post.tags) {
    const bool valid = !tag.empty() && std::all_of(tag.begin(), tag.end(), [](char c) {
      return is_word_byte(static_cast<unsigned char>(c));
    });
    if (!valid) {
      found.push_back("tags: '" + tag + "' is not a hashtag (letters, digits and _ only)");
    }
  }
  std::string extension = post.video.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension != ".mp4" && extension != ".mov") {
    found.push_back("video " + post.video.string() + " must be an MP4 or MOV file for a Reel");
  }
  if (post.video_bytes == 0) found.push_back("video " + post.video.string() + " is empty");
  if (post.video_bytes > kMaxVideoBytes) {
    found.push_back("video is " + std::to_string(post.video_bytes) +
                    " bytes; a Reel may have at most 300 MB");
  }
  if (post.duration_seconds && (*post.duration_seconds < kMinDurationSeconds ||
                                *post.duration_seconds > kMaxDurationSeconds)) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", *post.duration_seconds);
    found.push_back(std::string("video lasts ") + seconds +
                    " s; a Reel lasts from 3 s to 15 minutes");
  }
  return found;
}

bool pause_for(reelflow::Run& run, double seconds) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < until) {
    if (run.cancelled()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !run.cancelled();
}

class Instagram {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    const auto found = problems(*post);
    if (!found.empty()) {
      std::string message = "instagram.publish: the post does not meet Instagram's rules: ";
      for (std::size_t i = 0; i < found.size(); ++i) message += (i ? "; " : "") + found[i];
      return run.fail(message);
    }
    if (post->has_cover) {
      run.warn(
          "instagram.publish: the cover is not used: a Reel's cover must be a public URL "
          "(cover_url); set thumb_offset to pick a frame instead");
    }
    auto graph = graph_for(run, *post);
    auto limit =
        graph.get("publishing limit", post->account.ig_user_id + "/content_publishing_limit",
                  {{"fields", "quota_usage,config"}});
    if (!limit) return report(run, limit.error());
    const json data = limit->value("data", json::array());
    if (data.is_array() && !data.empty()) {
      const auto usage = data[0].value("quota_usage", std::int64_t{0});
      const auto total =
          data[0].value("config", json::object()).value("quota_total", std::int64_t{50});
      if (usage >= total) {
        return run.fail_with(RF_STATUS_LATER,
                             "instagram.publish: account '" + post->account.name + "' published " +
                                 std::to_string(usage) + " of its " + std::to_string(total) +
                                 " API posts allowed in 24 hours (content_publishing_limit)");
      }
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    auto graph = graph_for(run, *post);
    ig::Parameters parameters = {{"media_type", "REELS"},
                                 {"upload_type", "resumable"},
                                 {"caption", post->caption},
                                 {"share_to_feed", post->share_to_feed ? "true" : "false"}};
    if (post->thumb_offset)
      parameters.emplace_back("thumb_offset", std::to_string(*post->thumb_offset));
    auto created =
        graph.post("create the Reel container", post->account.ig_user_id + "/media", parameters);
    if (!created) return report(run, created.error());
    const std::string container = text_at(*created, "id");
    if (container.empty()) return run.fail("instagram.publish: the container answer has no id");
    const json session = {{"container_id", container},
                          {"uri", text_at(*created, "uri")},
                          {"caption", post->caption},
                          {"file_size", post->video_bytes},
                          {"uploaded", 0},
                          {"upload_attempted", false},
                          {"upload_done", false}};
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    if (session.value("upload_done", false)) {
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    const std::string container = text_at(session, "container_id");
    if (container.empty()) return run.fail("instagram.publish: the session holds no container_id");
    std::error_code ec;
    const std::uint64_t total = fs::file_size(post->video, ec);
    if (ec)
      return run.fail("instagram.publish: video " + post->video.string() + ": " + ec.message());
    if (total != session.value("file_size", total)) {
      return run.fail("instagram.publish: video " + post->video.string() +
                      " changed size since its upload started; it cannot be resumed");
    }
    auto graph = graph_for(run, *post);
    const std::string url = graph.upload_url(container);
    std::uint64_t offset = session.value("uploaded", std::uint64_t{0});
    if (session.value("upload_attempted", false)) {
      // An earlier attempt was cut off: the upload host knows how much of it arrived.
      auto held = graph.uploaded_bytes(url);
      if (!held) return report(run, held.error());
      offset = held->value_or(0);
      if (!held->has_value()) {
        run.warn(
            "instagram.publish: the upload host did not say how much it holds; sending the "
            "whole video again");
      }
    }
    offset = std::min(offset, total);
    session["upload_attempted"] = true;
    session["uploaded"] = offset;
    if (!run.checkpoint(session.dump())) {
      return run.fail("instagram.publish: the host could not record the upload's progress");
    }
    if (offset < total) {
      run.progress(static_cast<double>(offset) / static_cast<double>(total), "uploading");
      auto sent = graph.upload(url, post->video.string(), offset, total);
      if (!sent) return report(run, sent.error());
      if (auto success = sent->find("success");
          success != sent->end() && success->is_boolean() && !success->get<bool>()) {
        return run.fail_with(RF_STATUS_RETRY,
                             "instagram.publish: the upload host answered "
                             "success: false for " +
                                 container);
      }
    }
    session["uploaded"] = total;
    session["upload_done"] = true;
    run.progress(1.0, "uploaded");
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status finalize(reelflow::Run& run, std::string_view post_text,
                     std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    if (!text_at(session, "post_id").empty()) {
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    const std::string container = text_at(session, "container_id");
    auto graph = graph_for(run, *post);
    const double interval = std::max(0.05, post->account.status_interval);
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<std::int64_t>(
                              std::max(0.0, post->account.processing_timeout) * 1000));
    for (;;) {
      auto status = container_status(graph, container);
      if (!status) return report(run, status.error());
      const std::string code = text_at(*status, "status_code");
      if (code == "FINISHED") break;
      if (code == "PUBLISHED") {
        // An earlier media_publish took effect and its answer was lost.
        auto media = find_media(graph, *post, text_at(session, "caption"));
        if (!media) return report(run, media.error());
        if (!*media) {
          return run.fail_with(RF_STATUS_RETRY,
                               "instagram.publish: container " + container +
                                   " is published but its media is not listed yet");
        }
        session["post_id"] = **media;
        run.set_output(session.dump());
        return RF_STATUS_OK;
      }
      if (code == "ERROR" || code == "EXPIRED") {
        return run.fail("instagram.publish: container " + container + " is " + code +
                        (code == "EXPIRED"
                             ? " (not published within 24 hours)"
                             : " (processing failed: " + text_at(*status, "status") + ")") +
                        "; nothing was published");
      }
      if (std::chrono::steady_clock::now() +
              std::chrono::milliseconds(static_cast<std::int64_t>(interval * 1000)) >
          deadline) {
        run.set_output(json{{"retry_after", interval}}.dump());
        return run.fail_with(RF_STATUS_RETRY, "instagram.publish: container " + container +
                                                  " is still processing (" + code + ")");
      }
      if (!pause_for(run, interval)) return RF_STATUS_CANCELLED;
    }
    auto published =
        graph.post("publish the container (media_publish)",
                   post->account.ig_user_id + "/media_publish", {{"creation_id", container}});
    if (!published) return report(run, published.error());
    const std::string media_id = text_at(*published, "id");
    if (media_id.empty()) return run.fail("instagram.publish: media_publish answered no id");
    session["post_id"] = media_id;
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    auto graph = graph_for(run, *post);
    std::string media_id = text_at(session, "post_id");
    if (media_id.empty()) {
      auto media = find_media(graph, *post, text_at(session, "caption"));
      if (!media) return report(run, media.error());
      if (!*media) {
        session["state"] = "processing";
        run.set_output(session.dump());
        return RF_STATUS_OK;
      }
      media_id = **media;
      session["post_id"] = media_id;
    }
    auto media = graph.get("read the published media", media_id, {{"fields", "id,permalink"}});
    if (!media) return report(run, media.error());
    const std::string permalink = text_at(*media, "permalink");
    if (permalink.empty()) {
      session["state"] = "processing";
    } else {
      session["state"] = "published";
      session["url"] = permalink;
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    const std::string container = text_at(session, "container_id");
    if (!text_at(session, "post_id").empty()) return answer(run, session, "post");
    if (container.empty()) return answer(run, session, "nothing");
    auto graph = graph_for(run, *post);
    auto status = container_status(graph, container);
    if (!status) {
      if (status.error().graph_code == 100) {
        return answer(run, session, "nothing");  // no such container
      }
      return report(run, status.error());
    }
    const std::string code = text_at(*status, "status_code");
    if (code == "PUBLISHED") {
      auto media = find_media(graph, *post, text_at(session, "caption"));
      if (!media) return report(run, media.error());
      if (*media) session["post_id"] = **media;  // else poll keeps looking for it
      return answer(run, session, "post");
    }
    if (code == "FINISHED" || code == "IN_PROGRESS") return answer(run, session, "session");
    // EXPIRED or ERROR: the container can never become a post.
    return answer(run, session, "nothing");
  }

  rf_status metrics(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    const json session = json::parse(session_text);
    const std::string media_id = text_at(session, "post_id");
    if (media_id.empty()) return run.fail("instagram.publish: the session holds no media id");
    auto graph = graph_for(run, *post);
    auto insights = graph.get("media insights", media_id + "/insights",
                              {{"metric", "views,likes,comments,shares,saved"}});
    if (!insights) return report(run, insights.error());
    json counters = {{"views", 0}, {"likes", 0}, {"comments", 0}, {"shares", 0}, {"saved", 0}};
    for (const auto& metric : insights->value("data", json::array())) {
      const std::string name = text_at(metric, "name");
      const json values = metric.value("values", json::array());
      if (!counters.contains(name) || !values.is_array() || values.empty()) continue;
      counters[name] = values[0].value("value", std::int64_t{0});
    }
    run.set_output(counters.dump());
    return RF_STATUS_OK;
  }

  rf_status refresh(reelflow::Run& run, std::string_view account_text) {
    const json account = json::parse(account_text);
    auto fresh = ig::exchange_token(
        account, [&run] { return run.cancelled(); }, now_millis());
    if (!fresh) return report(run, fresh.error());
    if (fresh->at("expires_at").is_null()) {
      run.warn("instagram.publish: Meta gave the new token of account '" +
               account.value("name", std::string()) +
               "' no expires_in; it is stored without expires_at (not renewed ahead of time)");
    }
    run.set_output(json{{"credentials", *fresh}}.dump());
    return RF_STATUS_OK;
  }

 private:
  static std::int64_t now_millis() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  static ig::Graph graph_for(reelflow::Run& run, const Post& post) {
    return ig::Graph(post.account.graph, [&run] { return run.cancelled(); });
  }

  static Outcome<json> container_status(ig::Graph& graph, const std::string& container) {
    return graph.get("container " + container + " status", container,
                     {{"fields", "status_code,status"}});
  }

  // The id of the account's media whose caption is the one sent, among the newest page.
  static Outcome<std::optional<std::string>> find_media(ig::Graph& graph, const Post& post,
                                                        const std::string& caption) {
    auto listed =
        graph.get("list the account's media", post.account.ig_user_id + "/media",
                  {{"fields", "id,caption,timestamp"}, {"limit", std::to_string(kMediaPage)}});
    if (!listed) return tl::unexpected(listed.error());
    for (const auto& media : listed->value("data", json::array())) {
      if (text_at(media, "caption") == caption && !text_at(media, "id").empty()) {
        return std::optional<std::string>(text_at(media, "id"));
      }
    }
    return std::optional<std::string>();
  }

  static rf_status answer(reelflow::Run& run, json session, const char* found) {
    session["found"] = found;
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  static rf_status report(reelflow::Run& run, const Failure& failure) {
    if (failure.retry_after) run.set_output(json{{"retry_after", *failure.retry_after}}.dump());
    return run.fail_with(failure.status, failure.message);
  }
};

using reelflow::json_string;
using reelflow::no_default;
namespace option = reelflow::option;

constexpr rf_option kPostOptions[] = {
    option::boolean("share_to_feed", "true",
                    "Show the Reel in the account's feed as well as in the Reels tab."),
    option::integer("thumb_offset", no_default,
                    "Milliseconds into the video of the frame used as the cover (default: the "
                    "first frame).")
        .min(0),
};

constexpr rf_option kAccountOptions[] = {
    option::string("api_base", json_string<"https://graph.facebook.com">,
                   "The Graph API's base URL (tests point it at a fake)."),
    option::string("upload_base", json_string<"https://rupload.facebook.com">,
                   "The resumable upload host (POST /ig-api-upload/{version}/{container})."),
    option::string("graph_version", json_string<"v21.0">, "The Graph API version, e.g. v21.0."),
    option::duration("status_interval", json_string<"5s">,
                     "How often finalize asks whether the container finished processing.")
        .range(0.05, 600),
    option::duration("processing_timeout", json_string<"5m">,
                     "How long one finalize call waits for processing before it asks the host to "
                     "come back later.")
        .range(0, 3600),
};

// When `publish_at: best` posts until the optimizer has learned better hours. The publishing quota
// is not declared: prepare asks the API for it (content_publishing_limit).
constexpr const char* kScheduling =
    "{\"windows\": [\"Mon 10:00-12:00\", \"Tue 09:00-13:00\", \"Wed 10:00-13:00\", "
    "\"Fri 09:00-11:00\"], "
    "\"windows_note\": \"Sprout Social's 2023 best times to post on Instagram\"}";

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<Instagram>(
        {.name = "instagram.publish",
         .platform = "instagram",
         .summary = "Publish a video as an Instagram Reel (Graph API, resumable upload)",
         .scheduling = kScheduling},
        kPostOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "instagram",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Publish Reels to Instagram professional accounts"},
                     kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
