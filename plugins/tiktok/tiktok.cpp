// tiktok.publish: posts a video to a TikTok account through the Content Posting API's Direct Post
// (README.md has the protocol, with links to TikTok's documentation). The host's stages map onto
// TikTok's calls like this:
//
//   prepare   checks the post locally (caption length in UTF-16 units, hashtags, format, size,
//             chunk plan), then asks creator_info/query (read-only) whether the creator offers
//             the privacy level and allows the video's duration;
//   start     creator_info/query again (the creator's settings may have changed since the post was
//             scheduled; it also gives the username for the post's URL), then video/init with the
//             post's text and settings and the chunk plan: the session is {publish_id, upload_url,
//             the plan, next_chunk: 0};
//   upload    PUTs chunk next_chunk, next_chunk + 1, ... in order, checkpointing after every chunk
//             TikTok acknowledged (206; 201 for the last), so that a retry resumes at the first
//             chunk TikTok has not acknowledged;
//   finalize  nothing: the last chunk commits a Direct Post;
//   poll      status/fetch until PUBLISH_COMPLETE (published) or FAILED;
//   reconcile status/fetch of the session's publish_id: "post" once every byte is in, "session"
//             while chunks are missing, "nothing" without a publish_id;
//   metrics   video/query for the post's counters.
//   refresh   oauth/token with grant_type=refresh_token: the new access token, TikTok's latest
//             refresh token (the one sent stops working once TikTok rotates it), expires_at and
//             refresh_expires_at; an invalid_grant asks to reconnect the account.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <reelflow/plugin.hpp>
#include <string>
#include <vector>

#include "tiktok_api.hpp"
#include "tiktok_rules.hpp"

namespace {

namespace tiktok = reelflow::tiktok;
using json = nlohmann::json;

constexpr const char* kName = "tiktok.publish";
// A public post gets its video id only after TikTok's moderation ("usually within one minute"):
// poll waits this long after PUBLISH_COMPLETE for it, then reports the post published without it.
constexpr double kModerationWaitSeconds = 300;

std::int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2024-05-01T12:00:00Z": Unix seconds as ISO 8601 UTC.
std::string iso_utc(std::int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// A failure reported to the host: the message (prefixed with the publisher's name) and, for a
// retry TikTok timed, {"retry_after": s} in the output.
rf_status report(reelflow::Run& run, const tiktok::Failure& failure) {
  if (failure.retry_after) run.set_output(json{{"retry_after", *failure.retry_after}}.dump());
  return run.fail_with(failure.status, std::string(kName) + ": " + failure.message);
}

rf_status refuse(reelflow::Run& run, const std::string& message) {
  return run.fail(std::string(kName) + ": " + message);
}

// The post's own options with their documented defaults (the host fills them; this guards a
// caller that does not).
struct PostOptions {
  std::string privacy_level = "SELF_ONLY";
  bool disable_comment = false;
  bool disable_duet = false;
  bool disable_stitch = false;
  std::int64_t cover_timestamp_ms = 0;
  std::int64_t chunk_mib = 10;
};

PostOptions read_options(const json& post) {
  const json options = post.value("options", json::object());
  PostOptions out;
  out.privacy_level = options.value("privacy_level", out.privacy_level);
  out.disable_comment = options.value("disable_comment", out.disable_comment);
  out.disable_duet = options.value("disable_duet", out.disable_duet);
  out.disable_stitch = options.value("disable_stitch", out.disable_stitch);
  out.cover_timestamp_ms = options.value("cover_timestamp_ms", out.cover_timestamp_ms);
  out.chunk_mib = options.value("chunk_mib", out.chunk_mib);
  return out;
}

// What start and upload need of the video: its file, MIME type and chunk plan.
struct Video {
  std::string path;
  std::string content_type;
  tiktok::ChunkPlan plan;
};

tl::expected<Video, std::string> read_video(const json& post, const PostOptions& options) {
  const json video = post.value("video", json::object());
  Video out;
  out.path = video.value("path", "");
  const auto content_type = tiktok::video_content_type(out.path);
  if (!content_type) {
    return tl::unexpected("video: " + out.path +
                          " is not an MP4, MOV or WebM file (by its extension); TikTok takes "
                          "only those");
  }
  out.content_type = *content_type;
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(out.path, ec);
  if (ec) return tl::unexpected("video: " + out.path + ": " + ec.message());
  auto plan = tiktok::plan_chunks(
      size, static_cast<std::uint64_t>(std::max<std::int64_t>(options.chunk_mib, 0)) << 20);
  if (!plan) return tl::unexpected("video: " + out.path + ": " + plan.error());
  out.plan = *plan;
  return out;
}

// The post's text (caption, hashtags, link), within TikTok's 2200 UTF-16 units.
tl::expected<std::string, std::string> read_text(const json& post) {
  auto text = tiktok::compose_post_text(post);
  if (!text) return text;
  if (const std::size_t units = tiktok::utf16_length(*text); units > tiktok::kMaxTitleUtf16) {
    return tl::unexpected("caption: the post's text (caption, hashtags and link) is " +
                          std::to_string(units) + " UTF-16 units long; TikTok allows at most " +
                          std::to_string(tiktok::kMaxTitleUtf16));
  }
  return text;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Checks the post against what creator_info says the creator may post now.
std::optional<std::string> check_creator(const json& creator, const json& post,
                                         const PostOptions& options, const std::string& account) {
  std::vector<std::string> offered;
  for (const auto& level : creator.value("privacy_level_options", json::array())) {
    if (level.is_string()) offered.push_back(level.get<std::string>());
  }
  if (std::find(offered.begin(), offered.end(), options.privacy_level) == offered.end()) {
    return "privacy_level: " + options.privacy_level + " is not offered for account '" + account +
           "'; TikTok offers " + (offered.empty() ? std::string("none") : join(offered)) +
           " (an app that has not passed TikTok's audit may post only SELF_ONLY)";
  }
  const json video = post.value("video", json::object());
  const auto duration = video.find("duration_seconds");
  const auto max_duration = creator.find("max_video_post_duration_sec");
  if (duration != video.end() && duration->is_number() && max_duration != creator.end() &&
      max_duration->is_number() && max_duration->get<double>() > 0 &&
      duration->get<double>() > max_duration->get<double>()) {
    return "video: it lasts " + std::to_string(duration->get<double>()) + " s; account '" +
           account + "' may post at most " + std::to_string(max_duration->get<std::int64_t>()) +
           " s (creator_info max_video_post_duration_sec)";
  }
  return std::nullopt;
}

// The video id from status/fetch's publicaly_available_post_id (TikTok's spelling), if any.
std::optional<std::string> public_post_id(const json& status) {
  const json ids = status.value("publicaly_available_post_id", json::array());
  if (!ids.is_array() || ids.empty()) return std::nullopt;
  const json& first = ids.front();
  if (first.is_number_unsigned()) return std::to_string(first.get<std::uint64_t>());
  if (first.is_number_integer()) return std::to_string(first.get<std::int64_t>());
  if (first.is_string() && !first.get<std::string>().empty()) return first.get<std::string>();
  return std::nullopt;
}

std::string video_url(const json& session, const std::string& video_id) {
  return "https://www.tiktok.com/@" + session.value("creator_username", "") + "/video/" + video_id;
}

class TikTokPublisher {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = tiktok::read_account(post);
    if (!account) return report(run, account.error());
    const PostOptions options = read_options(post);
    // Everything that can be checked locally is, before any request reaches TikTok.
    if (auto video = read_video(post, options); !video) return refuse(run, video.error());
    if (auto text = read_text(post); !text) return refuse(run, text.error());
    if (post.contains("cover") && post["cover"].is_string()) {
      run.warn(
          "tiktok.publish: cover: TikTok takes no cover image for a video; the cover is the "
          "frame at cover_timestamp_ms");
    }
    tiktok::Api api(*account, [&run] { return run.cancelled(); });
    auto creator = api.creator_info();
    if (!creator) return report(run, creator.error());
    run.debug("tiktok.publish: creator_info for account '" + account->name +
              "': " + creator->dump());
    if (auto problem = check_creator(*creator, post, options, account->name)) {
      return refuse(run, *problem);
    }
    run.set_output("{}");
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = tiktok::read_account(post);
    if (!account) return report(run, account.error());
    const PostOptions options = read_options(post);
    auto video = read_video(post, options);
    if (!video) return refuse(run, video.error());
    auto text = read_text(post);
    if (!text) return refuse(run, text.error());
    tiktok::Api api(*account, [&run] { return run.cancelled(); });
    auto creator = api.creator_info();
    if (!creator) return report(run, creator.error());
    if (auto problem = check_creator(*creator, post, options, account->name)) {
      return refuse(run, *problem);
    }
    // Where the creator has turned comments, duets or stitches off, the post may not turn them on.
    const json body = {
        {"post_info",
         {{"title", *text},
          {"privacy_level", options.privacy_level},
          {"disable_comment", options.disable_comment || creator->value("comment_disabled", false)},
          {"disable_duet", options.disable_duet || creator->value("duet_disabled", false)},
          {"disable_stitch", options.disable_stitch || creator->value("stitch_disabled", false)},
          {"video_cover_timestamp_ms", options.cover_timestamp_ms},
          {"brand_content_toggle", false},
          {"brand_organic_toggle", false}}},
        {"source_info",
         {{"source", "FILE_UPLOAD"},
          {"video_size", video->plan.video_size},
          {"chunk_size", video->plan.chunk_size},
          {"total_chunk_count", video->plan.chunk_count}}}};
    auto started = api.init_video(body);
    if (!started) return report(run, started.error());
    const std::string publish_id = started->value("publish_id", "");
    const std::string upload_url = started->value("upload_url", "");
    if (publish_id.empty() || upload_url.empty()) {
      return refuse(run, "video/init answered without a publish_id or upload_url");
    }
    run.info("tiktok.publish: TikTok opened post " + publish_id + " for account '" + account->name +
             "': " + std::to_string(video->plan.chunk_count) + " chunk(s) of " +
             std::to_string(video->plan.chunk_size) + " bytes");
    const json session = {{"publish_id", publish_id},
                          {"upload_url", upload_url},
                          {"video_size", video->plan.video_size},
                          {"chunk_size", video->plan.chunk_size},
                          {"chunk_count", video->plan.chunk_count},
                          {"next_chunk", 0},
                          {"content_type", video->content_type},
                          {"privacy_level", options.privacy_level},
                          {"creator_username", creator->value("creator_username", "")}};
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = tiktok::read_account(post);
    if (!account) return report(run, account.error());
    const std::string path = post.value("video", json::object()).value("path", "");
    tiktok::ChunkPlan plan;
    plan.video_size = session.value("video_size", std::uint64_t{0});
    plan.chunk_size = session.value("chunk_size", std::uint64_t{0});
    plan.chunk_count = session.value("chunk_count", std::uint64_t{0});
    const std::string upload_url = session.value("upload_url", "");
    if (plan.chunk_size == 0 || plan.chunk_count == 0 || upload_url.empty()) {
      return refuse(run, "the session has no upload plan (was start's output lost?)");
    }
    std::error_code ec;
    if (const auto size = std::filesystem::file_size(path, ec); ec || size != plan.video_size) {
      return refuse(run, "video: " + path + " changed since the upload began (it was " +
                             std::to_string(plan.video_size) +
                             " bytes); the post must be "
                             "sent again as a new post");
    }
    const std::string content_type = session.value("content_type", "video/mp4");
    tiktok::Api api(*account, [&run] { return run.cancelled(); });
    bool realigned = false;
    std::uint64_t index = session.value("next_chunk", std::uint64_t{0});
    if (index > 0) {
      run.info("tiktok.publish: resuming the upload at chunk " + std::to_string(index + 1) +
               " of " + std::to_string(plan.chunk_count));
    }
    while (index < plan.chunk_count) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      const std::uint64_t offset = plan.offset(index);
      const std::uint64_t length = plan.length(index);
      const std::string which = "chunk " + std::to_string(index + 1) + " of " +
                                std::to_string(plan.chunk_count) + " (bytes " +
                                std::to_string(offset) + "-" + std::to_string(offset + length - 1) +
                                "/" + std::to_string(plan.video_size) + ")";
      auto answer = api.put_chunk(upload_url, path, offset, length, plan.video_size, content_type);
      if (!answer) {
        auto failure = answer.error();
        failure.message = which + ": " + failure.message;
        return report(run, failure);
      }
      const bool last = index + 1 == plan.chunk_count;
      if (answer->status == 206 || answer->status == 201) {
        if (answer->status == 206 && last) {
          return refuse(run, which +
                                 ": TikTok still expects more bytes after the last chunk "
                                 "(HTTP 206)");
        }
        if (answer->status == 201 && !last) {
          return refuse(run, which +
                                 ": TikTok reported the upload complete before the last "
                                 "chunk (HTTP 201)");
        }
        index += 1;
        session["next_chunk"] = index;
        if (!run.checkpoint(session.dump())) {
          return refuse(run,
                        "the host could not record the upload's progress; stopped so that "
                        "it can resume");
        }
        run.progress(static_cast<double>(offset + length) / static_cast<double>(plan.video_size));
        continue;
      }
      const std::string said = which + ": HTTP " + std::to_string(answer->status) +
                               (answer->body.empty() ? "" : ": " + answer->body.substr(0, 300));
      if (answer->status == 429 || answer->status >= 500) {
        const double wait = answer->status == 429
                                ? answer->retry_after.value_or(tiktok::kDefaultRetryAfterSeconds)
                                : answer->retry_after.value_or(0);
        tiktok::Failure failure{RF_STATUS_RETRY, "TikTok's upload host failed " + said,
                                std::nullopt};
        if (answer->status == 429 || answer->retry_after) failure.retry_after = wait;
        return report(run, failure);
      }
      if (answer->status == 403 || answer->status == 404) {
        return refuse(run, "TikTok's upload host refused the upload URL (" + said +
                               "); it is valid for an hour after start: the post has to be sent "
                               "again as a new post");
      }
      // Any other refusal (416: not the chunk it expected next): ask TikTok how many bytes it has,
      // once, in case an earlier answer was lost after TikTok had taken the chunk.
      if (realigned) return refuse(run, "TikTok refused " + said);
      realigned = true;
      auto status = api.post_status(session.value("publish_id", ""));
      if (!status) return report(run, status.error());
      const std::uint64_t received = status->value("uploaded_bytes", std::uint64_t{0});
      if (received == plan.video_size) {
        index = plan.chunk_count;
      } else if (received % plan.chunk_size == 0 && received / plan.chunk_size > index &&
                 received / plan.chunk_size < plan.chunk_count) {
        index = received / plan.chunk_size;
      } else {
        return refuse(
            run, "TikTok refused " + said + " (it holds " + std::to_string(received) + " bytes)");
      }
      run.warn("tiktok.publish: TikTok already holds " + std::to_string(received) +
               " bytes; continuing from there");
      session["next_chunk"] = index;
      if (!run.checkpoint(session.dump())) {
        return refuse(run, "the host could not record the upload's progress");
      }
    }
    session["next_chunk"] = plan.chunk_count;
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  // The upload's last chunk commits a Direct Post: nothing to do.
  rf_status finalize(reelflow::Run& run, std::string_view, std::string_view session_text) {
    run.set_output(std::string(session_text));
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = tiktok::read_account(post);
    if (!account) return report(run, account.error());
    const std::string publish_id = session.value("publish_id", "");
    if (publish_id.empty()) return refuse(run, "the session has no publish_id to poll");
    tiktok::Api api(*account, [&run] { return run.cancelled(); });
    auto status = api.post_status(publish_id);
    if (!status) return report(run, status.error());
    const std::string state = status->value("status", "");
    if (state == "PUBLISH_COMPLETE") {
      return published(run, session, *status);
    }
    if (state == "FAILED") {
      session["state"] = "failed";
      session["error"] = "TikTok failed post " + publish_id + ": " +
                         status->value("fail_reason", std::string("no reason given"));
    } else if (state == "SEND_TO_USER_INBOX") {
      session["state"] = "failed";
      session["error"] = "TikTok put post " + publish_id +
                         " in the creator's inbox instead of posting it: finish it in the TikTok "
                         "app (it is not sent again)";
    } else {
      if (state != "PROCESSING_UPLOAD" && state != "PROCESSING_DOWNLOAD") {
        run.warn("tiktok.publish: status/fetch answered status '" + state +
                 "'; taking it as still processing");
      }
      session["state"] = "processing";
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    const std::string publish_id = session.value("publish_id", "");
    if (publish_id.empty()) {
      // start's output was never recorded: whatever video/init may have opened on TikTok has no
      // bytes and never becomes a post (its upload URL expires after an hour).
      session["found"] = "nothing";
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    auto account = tiktok::read_account(post);
    if (!account) return report(run, account.error());
    tiktok::Api api(*account, [&run] { return run.cancelled(); });
    auto status = api.post_status(publish_id);
    if (!status) {
      // A transient failure to ask (network, 5xx, 429) comes back as RETRY: the host asks again.
      // A refused token is RECONNECT: the host renews it and asks again (or, when it cannot,
      // keeps the stage for after the account is reconnected). Anything else (an unknown
      // publish_id) means this plugin cannot tell.
      tiktok::Failure failure = status.error();
      failure.message = "cannot ask TikTok about post " + publish_id + ": " + failure.message;
      if (failure.status != RF_STATUS_RETRY && failure.status != RF_STATUS_CANCELLED &&
          failure.status != RF_STATUS_RECONNECT) {
        failure.status = RF_STATUS_ERROR;
      }
      return report(run, failure);
    }
    const std::string state = status->value("status", "");
    const std::uint64_t video_size = session.value("video_size", std::uint64_t{0});
    const std::uint64_t received = status->value("uploaded_bytes", std::uint64_t{0});
    if (state == "PROCESSING_UPLOAD" && video_size > 0 && received < video_size) {
      session["found"] = "session";
    } else {
      session["found"] = "post";
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status metrics(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    const json session = json::parse(session_text);
    auto account = tiktok::read_account(post);
    if (!account) return report(run, account.error());
    tiktok::Api api(*account, [&run] { return run.cancelled(); });
    std::string video_id =
        session.value("public_post_id", false) ? session.value("post_id", "") : std::string();
    if (video_id.empty()) {
      // Published before TikTok gave the video id (moderation, or a private post): ask again.
      auto status = api.post_status(session.value("publish_id", ""));
      if (!status) return report(run, status.error());
      const auto id = public_post_id(*status);
      if (!id) {
        return refuse(run, "TikTok has given no video id for post " +
                               session.value("publish_id", "") +
                               " (private posts have none), so it has no counters to read");
      }
      video_id = *id;
    }
    auto answer = api.query_videos({video_id});
    if (!answer) return report(run, answer.error());
    for (const auto& item : answer->value("videos", json::array())) {
      const json id = item.value("id", json());
      const std::string text =
          id.is_string() ? id.get<std::string>() : (id.is_number() ? id.dump() : std::string());
      if (text != video_id) continue;
      const auto counter = [&](const char* field) {
        const json value = item.value(field, json(0));
        return value.is_number() ? value.get<std::int64_t>() : std::int64_t{0};
      };
      run.set_output(json{{"views", counter("view_count")},
                          {"likes", counter("like_count")},
                          {"comments", counter("comment_count")},
                          {"shares", counter("share_count")}}
                         .dump());
      return RF_STATUS_OK;
    }
    return refuse(run, "TikTok's video/query does not list video " + video_id + " of account '" +
                           account->name + "' (deleted, or not visible to this app)");
  }

  // Renews the access token (plugin.h, refresh): POST /v2/oauth/token/ with the app's
  // client_key/client_secret and the latest refresh token. The output holds everything that
  // changed; the host stores it before any other call uses it, so a rotated refresh token is
  // never lost.
  rf_status refresh(reelflow::Run& run, std::string_view account_text) {
    const json account = json::parse(account_text);
    auto grant = tiktok::read_refresh_grant(account);
    if (!grant) return report(run, grant.error());
    auto tokens = tiktok::refresh_access_token(*grant, [&run] { return run.cancelled(); });
    if (!tokens) return report(run, tokens.error());
    const std::int64_t now = now_millis() / 1000;
    json credentials = {{"access_token", tokens->access_token},
                        {"expires_at", iso_utc(now + tokens->expires_in)}};
    const bool rotated =
        !tokens->refresh_token.empty() && tokens->refresh_token != grant->refresh_token;
    if (!tokens->refresh_token.empty()) credentials["refresh_token"] = tokens->refresh_token;
    if (tokens->refresh_expires_in) {
      credentials["refresh_expires_at"] = iso_utc(now + *tokens->refresh_expires_in);
    }
    run.info("tiktok.publish: renewed the access token of account '" + grant->account +
             "' (valid for " + std::to_string(tokens->expires_in) + " s" +
             (rotated ? "; TikTok issued a new refresh token" : "") + ")");
    if (!tokens->scope.empty()) {
      for (const char* scope : {tiktok::kPublishScope, tiktok::kListScope}) {
        const std::string list = "," + tokens->scope + ",";
        if (list.find("," + std::string(scope) + ",") == std::string::npos) {
          run.warn("tiktok.publish: the renewed token of account '" + grant->account +
                   "' lacks the " + scope + " scope; reconnect the account and allow it");
        }
      }
    }
    run.set_output(json{{"credentials", credentials}}.dump());
    return RF_STATUS_OK;
  }

 private:
  static rf_status published(reelflow::Run& run, json& session, const json& status) {
    const std::string publish_id = session.value("publish_id", "");
    if (const auto id = public_post_id(status)) {
      session["state"] = "published";
      session["post_id"] = *id;
      session["public_post_id"] = true;
      session["url"] = video_url(session, *id);
      session.erase("complete_since");
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    // No video id yet. A public post gets one after moderation: wait a while for it. A private
    // post (SELF_ONLY) may never get one: it is published, known by its publish_id.
    const bool private_post = session.value("privacy_level", "SELF_ONLY") == "SELF_ONLY";
    const std::int64_t since = session.value("complete_since", now_millis());
    if (!private_post && now_millis() - since < kModerationWaitSeconds * 1000) {
      session["complete_since"] = since;
      session["state"] = "processing";
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    run.info("tiktok.publish: TikTok published post " + publish_id + " without a public video id" +
             (private_post ? " (a private post)" : " (moderation still running)") +
             "; it is known by its publish_id");
    session["state"] = "published";
    session["post_id"] = publish_id;
    session["public_post_id"] = false;
    session["url"] = "https://www.tiktok.com/@" + session.value("creator_username", "");
    session.erase("complete_since");
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }
};

constexpr const char* kPrivacyLevels[] = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS",
                                          "FOLLOWER_OF_CREATOR", "SELF_ONLY", nullptr};

constexpr rf_option kPostOptions[] = {
    reelflow::option::enumeration(
        "privacy_level", kPrivacyLevels, reelflow::json_string<"SELF_ONLY">,
        "Who may watch the video; must be one the creator offers (creator_info). An app that has "
        "not passed TikTok's audit may post only SELF_ONLY."),
    reelflow::option::boolean("disable_comment", "false",
                              "Turn comments off (forced on where the creator turned them off)."),
    reelflow::option::boolean("disable_duet", "false",
                              "Turn duets off (forced on where the creator turned them off)."),
    reelflow::option::boolean("disable_stitch", "false",
                              "Turn stitches off (forced on where the creator turned them off)."),
    reelflow::option::integer("cover_timestamp_ms", "0",
                              "The frame used as the cover, in milliseconds from the start.")
        .min(0),
    reelflow::option::integer("chunk_mib", "10",
                              "Upload chunk size in MiB (TikTok: 5 to 64 MB; 64 is sent as "
                              "64,000,000 bytes). Files smaller than a chunk go whole.")
        .range(5, 64),
};

constexpr rf_option kAccountOptions[] = {
    reelflow::option::string("api_base", reelflow::json_string<"https://open.tiktokapis.com">,
                             "TikTok's API base URL, which also serves the token endpoint "
                             "/v2/oauth/token/ (a proxy or a test server may replace it)."),
};

// When TikTok lets an account post (README.md, Limits), and when `publish_at: best` posts until the
// optimizer has learned better hours.
constexpr const char* kScheduling =
    "{\"quotas\": [{\"name\": \"inits\", \"limit\": 6, \"per\": \"1m\", "
    "\"note\": \"video/init: 6 requests a minute per access token\"}], "
    "\"windows\": [\"Tue 16:00-18:00\", \"Wed 09:00-11:00\", \"Wed 14:00-18:00\", "
    "\"Thu 09:00-11:00\", \"Thu 14:00-18:00\", \"Fri 16:00-18:00\"], "
    "\"windows_note\": \"Sprout Social's 2024 best times to post on TikTok\"}";

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<TikTokPublisher>(
        {.name = kName,
         .platform = "tiktok",
         .summary = "Post a video to a TikTok account (Content Posting API, Direct Post)",
         .scheduling = kScheduling},
        kPostOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "tiktok",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Publish to TikTok through the Content Posting API"},
                     kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
