// youtube.publish: puts a video on YouTube as a Short through the YouTube Data API v3, with
// Google's resumable upload protocol, so that an interrupted upload continues from the last byte
// YouTube acknowledged instead of starting over (README.md has the protocol and its sources).
//
// The stages (plugin.h, "Publisher types") map onto the API like this:
//   prepare   checks the post against YouTube's documented limits (metadata.hpp); no request.
//   start     POST /upload/youtube/v3/videos?uploadType=resumable with the video resource:
//             the answer's Location is the session URI. Output: the session.
//   upload    PUTs the file in chunks of chunk_mib MiB (multiples of 256 KiB) with
//             Content-Range; each 308 Resume Incomplete says through Range how much YouTube
//             holds, and is checkpointed. After an interruption it first asks the session with
//             an empty PUT "Content-Range: bytes */total". The last chunk's 200/201 carries the
//             video resource: the video now exists, with its id.
//   finalize  sets the cover as the thumbnail (best effort: a warning if YouTube refuses it).
//   poll      videos.list part=status,processingDetails: uploadStatus processed/uploaded is
//             published, rejected/failed/deleted is failed.
//   reconcile asks the session (the same empty PUT): the video, the session, or nothing.
//   metrics   videos.list part=statistics.
//   refresh   Google's token endpoint, grant_type=refresh_token (oauth.hpp): a new access token
//             and its expires_at; Google keeps the refresh token.
//
// A 401 (or a 403 authError/forbidden) from any call is RF_STATUS_RECONNECT: the host renews the
// token with refresh and makes the call again once.
//
// The session (the plugin's JSON, recorded by the host):
//   {"upload_url", "total", "acked", "content_type", "privacy", "publish_at"?,
//    "upload_begun"?, "final_sent"?, "video_id"?, "post_id"?, "url"?, "privacy_warned"?,
//    "missing_polls"?, "thumbnail_token_refused"?}
// upload_begun is recorded before the first byte is sent (from then on a new upload call asks
// the session first); final_sent before the last chunk is sent (from then on the video may exist
// even if no answer came back, which reconcile must not mistake for "nothing").
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <thread>
#include <variant>

#include "api.hpp"
#include "metadata.hpp"
#include "oauth.hpp"

namespace {

namespace fs = std::filesystem;
namespace yt = reelflow::youtube;
namespace http = reelflow::http;
using json = nlohmann::json;

const std::string kPrefix = "youtube.publish: ";
constexpr std::uint64_t kMiB = 1u << 20;
// videos.list may not list a video the instant its upload completes; after this many answers in
// a row without it, the video is taken as gone.
constexpr int kMissingPollsBeforeFailing = 5;
constexpr int kReconcileAttempts = 3;

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string shorts_url(const std::string& video_id) {
  return "https://youtube.com/shorts/" + video_id;
}

// Fails the call the way `failure` says, with retry_after / not_before in the output.
rf_status report(const reelflow::Run& run, const yt::Failure& failure) {
  json output = json::object();
  if (failure.retry_after) output["retry_after"] = *failure.retry_after;
  if (failure.not_before) output["not_before"] = *failure.not_before;
  if (!output.empty()) run.set_output(dump(output));
  return run.fail_with(failure.status, failure.message);
}

// maybe_created: the last chunk went out in an earlier call whose answer never came, so the
// video may exist.
rf_status session_gone(const reelflow::Run& run, bool maybe_created, long status) {
  if (maybe_created) {
    return run.fail(kPrefix + "the YouTube upload session is gone (" + std::to_string(status) +
                    ") after its last chunk was sent: YouTube may or may not have created the "
                    "video; check the channel's uploads (YouTube Studio) before publishing again");
  }
  return run.fail(kPrefix + "the YouTube upload session is gone (" + std::to_string(status) +
                  "): it expired or was cancelled before the upload finished, so nothing was "
                  "published; publish the video again (reelflow does not start a post over on its "
                  "own)");
}

// What asking the session ("bytes */total") found out.
struct Holds {
  std::uint64_t bytes = 0;  // 308: how much of the file YouTube has
};
struct Finished {
  http::Response response;  // 200/201: the upload is complete; the body is the video resource
};
struct Gone {
  long status = 404;  // 404/410: the session expired or was cancelled
};
using Probe = std::variant<Holds, Finished, Gone, yt::Failure>;

Probe probe_session(const yt::Client& client, const std::string& url, std::uint64_t total) {
  http::Request request = client.request("PUT", url);
  request.headers.emplace_back("Content-Range", "bytes */" + std::to_string(total));
  request.total_timeout_seconds = 120;
  auto response = client.send(request);
  if (!response) return yt::network_failure(response.error());
  if (response->status == 308) {
    auto held = yt::acknowledged_bytes(*response);
    if (!held || *held > total) {
      return yt::Failure{RF_STATUS_RETRY,
                         kPrefix +
                             "YouTube's answer about the upload session had an unreadable "
                             "Range header: " +
                             response->header("range").value_or(""),
                         std::nullopt, std::nullopt};
    }
    return Holds{*held};
  }
  if (response->status == 200 || response->status == 201) return Finished{std::move(*response)};
  if (response->status == 404 || response->status == 410) return Gone{response->status};
  return yt::classify(*response, "asking the upload session how much it received", client.account(),
                      yt::now_millis());
}

class YouTube {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = yt::read_account(post);
    if (!account) return run.fail_with(account.error().status, account.error().message);
    auto plan = yt::plan_upload(post, yt::now_millis());
    if (!plan) return run.fail(plan.error());
    for (const auto& warning : plan->warnings) run.warn(kPrefix + warning);
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    auto account = yt::read_account(post);
    if (!account) return run.fail_with(account.error().status, account.error().message);
    auto plan = yt::plan_upload(post, yt::now_millis());
    if (!plan) return run.fail(plan.error());

    const yt::Client client(*account, [&run] { return run.cancelled(); });
    http::Request request = client.request(
        "POST", "/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status");
    request.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");
    request.headers.emplace_back("X-Upload-Content-Length", std::to_string(plan->video_size));
    request.headers.emplace_back("X-Upload-Content-Type", plan->content_type);
    request.body = dump(plan->metadata);
    request.total_timeout_seconds = 120;
    auto response = client.send(request);
    if (!response) return report(run, yt::network_failure(response.error()));
    if (response->status != 200 && response->status != 201) {
      return report(
          run, yt::classify(*response, "creating the upload session", *account, yt::now_millis()));
    }
    const std::string location = response->header("location").value_or("");
    if (location.empty()) {
      return run.fail_with(RF_STATUS_RETRY,
                           kPrefix + "YouTube answered " + std::to_string(response->status) +
                               " to the upload session request but gave no session URI "
                               "(Location header)");
    }
    json session = {{"upload_url", location},
                    {"total", plan->video_size},
                    {"acked", 0},
                    {"content_type", plan->content_type},
                    {"privacy", plan->privacy}};
    if (plan->publish_at) {
      session["publish_at"] = *plan->publish_at;
      run.info(kPrefix + "YouTube will publish the video at " + *plan->publish_at +
               " (private until then)");
    }
    run.set_output(dump(session));
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = yt::read_account(post);
    if (!account) return run.fail_with(account.error().status, account.error().message);
    const std::string url = session.value("upload_url", std::string());
    const std::uint64_t total = session.value("total", std::uint64_t{0});
    if (url.empty() || total == 0) {
      return run.fail(kPrefix +
                      "the post's session has no upload session URI: it cannot be resumed");
    }
    const fs::path video = post["video"].value("path", std::string());
    std::error_code ec;
    if (fs::file_size(video, ec) != total || ec) {
      return run.fail(kPrefix + "video " + video.string() + " is not the " + std::to_string(total) +
                      "-byte file whose upload began (" + (ec ? ec.message() : "its size changed") +
                      "); it cannot be resumed");
    }
    const std::int64_t chunk_mib =
        std::clamp<std::int64_t>(post["options"].value("chunk_mib", std::int64_t{8}), 1, 64);
    const std::uint64_t chunk_size = static_cast<std::uint64_t>(chunk_mib) * kMiB;
    const std::string content_type = session.value("content_type", "application/octet-stream");
    const yt::Client client(*account, [&run] { return run.cancelled(); });

    std::uint64_t acked = session.value("acked", std::uint64_t{0});
    const bool final_sent_before = session.value("final_sent", false);
    if (session.value("upload_begun", false)) {
      // A resumption: what YouTube holds, not what was last recorded, is where to go on from.
      Probe probe = probe_session(client, url, total);
      if (auto* failure = std::get_if<yt::Failure>(&probe)) return report(run, *failure);
      if (auto* gone = std::get_if<Gone>(&probe))
        return session_gone(run, final_sent_before, gone->status);
      if (auto* finished = std::get_if<Finished>(&probe)) {
        return complete(run, session, finished->response);
      }
      const std::uint64_t held = std::get<Holds>(probe).bytes;
      if (held != acked) {
        run.info(kPrefix + "YouTube holds " + std::to_string(held) + " of " +
                 std::to_string(total) + " bytes; going on from there");
      }
      acked = held;
      session["acked"] = acked;
    }

    while (acked < total) {
      if (run.cancelled()) {
        return run.fail_with(RF_STATUS_CANCELLED, kPrefix + "upload cancelled at byte " +
                                                      std::to_string(acked) + "; it can resume");
      }
      const std::uint64_t length = std::min(chunk_size, total - acked);
      const bool last = acked + length == total;
      // Recorded before the bytes leave: from the first byte on, a later call must ask the
      // session where it stands; from the last one on, the video may exist without an answer.
      const bool first_send = !session.value("upload_begun", false);
      const bool final_send = last && !session.value("final_sent", false);
      if (first_send) session["upload_begun"] = true;
      if (final_send) session["final_sent"] = true;
      if ((first_send || final_send) && !run.checkpoint(dump(session))) return unrecordable(run);
      http::Request request = client.request("PUT", url);
      request.headers.emplace_back("Content-Type", content_type);
      request.headers.emplace_back("Content-Range", "bytes " + std::to_string(acked) + "-" +
                                                        std::to_string(acked + length - 1) + "/" +
                                                        std::to_string(total));
      request.file = http::FileRange{video, acked, length};
      auto response = client.send(request);
      if (!response) return report(run, yt::network_failure(response.error()));
      const long status = response->status;
      if (status == 200 || status == 201) return complete(run, session, *response);
      if (status == 404 || status == 410) return session_gone(run, final_sent_before, status);
      if (status != 308) {
        return report(run, yt::classify(*response,
                                        "uploading bytes " + std::to_string(acked) + "-" +
                                            std::to_string(acked + length - 1),
                                        *account, yt::now_millis()));
      }
      const auto held = yt::acknowledged_bytes(*response);
      if (!held || *held > total) {
        return run.fail_with(RF_STATUS_RETRY,
                             kPrefix +
                                 "YouTube's answer to a chunk had an unreadable Range "
                                 "header: " +
                                 response->header("range").value_or(""));
      }
      acked = *held;
      session["acked"] = acked;
      if (!run.checkpoint(dump(session))) return unrecordable(run);
      run.progress(static_cast<double>(acked) / static_cast<double>(total));
    }
    // Every byte is acknowledged but no answer carried the video: ask the session for it.
    return run.fail_with(RF_STATUS_RETRY, kPrefix + "YouTube holds all " + std::to_string(total) +
                                              " bytes but has not answered with the video yet");
  }

  rf_status finalize(reelflow::Run& run, std::string_view post_text,
                     std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    const std::string video_id = session.value("video_id", std::string());
    if (video_id.empty()) {
      return run.fail(kPrefix +
                      "finalize: the session holds no video id (the upload did not finish)");
    }
    auto account = yt::read_account(post);
    auto cover = yt::read_cover(post);
    if (!cover) {
      run.warn(cover.error() + "; the video keeps the thumbnail YouTube picks");
    } else if (*cover && !account) {
      run.warn(account.error().message + "; the cover was not set as the thumbnail");
    } else if (*cover) {
      // A refused access token is worth renewing when the account can be (the host refreshes
      // it and calls finalize again, which only sets the thumbnail: the video exists already),
      // once: the flag, checkpointed, makes the next refusal a warning, so that a best-effort
      // thumbnail never stops a published video. Otherwise the thumbnail stays best effort.
      const json credentials = post["account"].value("credentials", json::object());
      const bool renewable = !credentials.value("refresh_token", std::string()).empty() &&
                             !session.value("thumbnail_token_refused", false);
      if (auto refused = set_thumbnail(run, *account, video_id, **cover, renewable)) {
        session["thumbnail_token_refused"] = true;
        if (run.checkpoint(dump(session))) return report(run, *refused);
        run.warn(refused->message + "; the video is published with the thumbnail YouTube picks");
      }
    }
    session["post_id"] = video_id;
    session["url"] = shorts_url(video_id);
    run.set_output(dump(session));
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    auto account = yt::read_account(post);
    if (!account) return run.fail_with(account.error().status, account.error().message);
    const std::string video_id = session.value("video_id", std::string());
    if (video_id.empty()) return run.fail(kPrefix + "poll: the session holds no video id");
    const yt::Client client(*account, [&run] { return run.cancelled(); });
    auto listed =
        list_video(client, video_id, "status,processingDetails", "reading the video's status");
    if (auto* failure = std::get_if<yt::Failure>(&listed)) return report(run, *failure);
    const auto& item = std::get<std::optional<json>>(listed);
    if (!item) {
      const int missing = session.value("missing_polls", 0) + 1;
      session["missing_polls"] = missing;
      if (missing >= kMissingPollsBeforeFailing) {
        session["state"] = "failed";
        session["error"] = "YouTube does not list video " + video_id + " (was it deleted?)";
      } else {
        session["state"] = "processing";
      }
      run.set_output(dump(session));
      return RF_STATUS_OK;
    }
    session["missing_polls"] = 0;
    const json status = item->value("status", json::object());
    const std::string upload_status = status.value("uploadStatus", std::string());
    if (upload_status == "processed" || upload_status == "uploaded") {
      warn_if_privacy_differs(run, session, status);
      session["state"] = "published";
      session["post_id"] = video_id;
      session["url"] = shorts_url(video_id);
    } else if (upload_status == "rejected") {
      session["state"] = "failed";
      session["error"] = "YouTube rejected the video (" +
                         status.value("rejectionReason", std::string("no reason given")) + ")";
    } else if (upload_status == "failed") {
      session["state"] = "failed";
      session["error"] = "YouTube could not process the video (" +
                         status.value("failureReason", std::string("no reason given")) + ")";
    } else if (upload_status == "deleted") {
      session["state"] = "failed";
      session["error"] = "the video was deleted on YouTube";
    } else {
      session["state"] = "processing";
    }
    run.set_output(dump(session));
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    const std::string video_id = session.value("video_id", std::string());
    if (!video_id.empty()) {
      // The last chunk's answer carried the video: it exists (finalize only adds the thumbnail).
      session["found"] = "post";
      session["post_id"] = video_id;
      session["url"] = shorts_url(video_id);
      run.set_output(dump(session));
      return RF_STATUS_OK;
    }
    const std::string url = session.value("upload_url", std::string());
    if (url.empty()) {
      // start's answer was never recorded: at most an unused session exists, which is no post
      // and expires on its own.
      session["found"] = "nothing";
      run.set_output(dump(session));
      return RF_STATUS_OK;
    }
    auto account = yt::read_account(post);
    if (!account) return run.fail_with(account.error().status, account.error().message);
    const yt::Client client(*account, [&run] { return run.cancelled(); });
    const std::uint64_t total = session.value("total", std::uint64_t{0});
    Probe probe = probe_session(client, url, total);
    for (int attempt = 1; attempt < kReconcileAttempts; ++attempt) {
      const auto* failure = std::get_if<yt::Failure>(&probe);
      if (failure == nullptr || failure->status != RF_STATUS_RETRY || run.cancelled()) break;
      std::this_thread::sleep_for(std::chrono::seconds(attempt));
      probe = probe_session(client, url, total);
    }
    if (auto* failure = std::get_if<yt::Failure>(&probe)) {
      yt::Failure cannot_tell = *failure;
      cannot_tell.message += " (reconciling: cannot tell whether the video exists)";
      return report(run, cannot_tell);
    }
    if (auto* finished = std::get_if<Finished>(&probe)) {
      const auto body = yt::json_body(finished->response);
      const std::string id = body ? body->value("id", std::string()) : std::string();
      if (id.empty()) {
        return run.fail(kPrefix +
                        "the upload session says the upload is complete but names no "
                        "video: check the channel's uploads");
      }
      session["found"] = "post";
      session["video_id"] = id;
      session["post_id"] = id;
      session["url"] = shorts_url(id);
      session["acked"] = total;
    } else if (auto* holds = std::get_if<Holds>(&probe)) {
      session["found"] = "session";
      session["acked"] = holds->bytes;
      session["upload_begun"] = true;
    } else if (!session.value("final_sent", false)) {
      // The session is gone and its last chunk was never sent: YouTube creates the video only
      // with the last byte, so there is none.
      session["found"] = "nothing";
    } else {
      return run.fail(kPrefix + "the upload session is gone (" +
                      std::to_string(std::get<Gone>(probe).status) +
                      ") after its last chunk was sent: the video may exist or not; check the "
                      "channel's uploads (YouTube Studio) before publishing again");
    }
    run.set_output(dump(session));
    return RF_STATUS_OK;
  }

  rf_status metrics(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    const json session = json::parse(session_text);
    auto account = yt::read_account(post);
    if (!account) return run.fail_with(account.error().status, account.error().message);
    std::string video_id = session.value("video_id", session.value("post_id", std::string()));
    if (video_id.empty()) return run.fail(kPrefix + "metrics: the session holds no video id");
    const yt::Client client(*account, [&run] { return run.cancelled(); });
    auto listed = list_video(client, video_id, "statistics", "reading the video's statistics");
    if (auto* failure = std::get_if<yt::Failure>(&listed)) return report(run, *failure);
    const auto& item = std::get<std::optional<json>>(listed);
    if (!item) return run.fail(kPrefix + "YouTube does not list video " + video_id);
    const json statistics = item->value("statistics", json::object());
    json output = json::object();
    // The API writes the counters as strings of digits; a hidden one is absent.
    for (const auto& [from, to] : {std::pair{"viewCount", "views"}, std::pair{"likeCount", "likes"},
                                   std::pair{"commentCount", "comments"}}) {
      auto found = statistics.find(from);
      if (found == statistics.end()) continue;
      if (found->is_number_integer()) {
        output[to] = found->get<std::int64_t>();
      } else if (found->is_string()) {
        try {
          output[to] = std::stoll(found->get<std::string>());
        } catch (const std::exception&) {
          run.warn(kPrefix + "statistics." + from +
                   " is not a number: " + found->get<std::string>());
        }
      }
    }
    run.set_output(dump(output));
    return RF_STATUS_OK;
  }

  rf_status refresh(reelflow::Run& run, std::string_view account_text) {
    const json account = json::parse(account_text);
    auto refreshed = yt::refresh_access_token(
        account, [&run] { return run.cancelled(); }, yt::now_millis());
    if (!refreshed) return report(run, refreshed.error());
    for (const auto& warning : refreshed->warnings) run.warn(warning);
    run.set_output(dump(json{{"credentials", refreshed->credentials}}));
    return RF_STATUS_OK;
  }

 private:
  static rf_status unrecordable(const reelflow::Run& run) {
    return run.fail(kPrefix +
                    "the host could not record the upload's progress; stopped so that "
                    "the upload can be resumed rather than guessed");
  }

  // The last chunk's (or the probe's) 200/201: the video resource.
  static rf_status complete(const reelflow::Run& run, json& session,
                            const http::Response& response) {
    const auto body = yt::json_body(response);
    const std::string id = body ? body->value("id", std::string()) : std::string();
    if (id.empty()) {
      return run.fail_with(RF_STATUS_RETRY,
                           kPrefix +
                               "YouTube finished the upload but its answer named no video; "
                               "asking the upload session again");
    }
    session["video_id"] = id;
    session["acked"] = session.value("total", std::uint64_t{0});
    if (body->contains("status") && (*body)["status"].is_object()) {
      warn_if_privacy_differs(run, session, (*body)["status"]);
    }
    run.info(kPrefix + "uploaded video " + id);
    run.progress(1.0);
    run.set_output(dump(session));
    return RF_STATUS_OK;
  }

  // YouTube locks videos uploaded through an unaudited API project to private: say so once.
  static void warn_if_privacy_differs(const reelflow::Run& run, json& session, const json& status) {
    const std::string asked = session.value("privacy", std::string());
    const std::string got = status.value("privacyStatus", std::string());
    if (asked.empty() || got.empty() || asked == got || session.value("privacy_warned", false)) {
      return;
    }
    session["privacy_warned"] = true;
    run.warn(kPrefix + "YouTube made the video " + got + " although " + asked +
             " was asked: videos uploaded through an API project that has not passed YouTube's "
             "audit are locked private (see plugins/youtube/README.md)");
  }

  // videos.list for one video: its item, nullopt when YouTube does not list it, or a failure.
  static std::variant<std::optional<json>, yt::Failure> list_video(const yt::Client& client,
                                                                   const std::string& video_id,
                                                                   const std::string& parts,
                                                                   std::string_view doing) {
    http::Request request = client.request(
        "GET", "/youtube/v3/videos?part=" + parts + "&id=" + http::url_encode(video_id));
    request.total_timeout_seconds = 60;
    auto response = client.send(request);
    if (!response) return yt::network_failure(response.error());
    if (response->status != 200) {
      return yt::classify(*response, doing, client.account(), yt::now_millis());
    }
    const auto body = yt::json_body(*response);
    if (!body) {
      return yt::Failure{RF_STATUS_RETRY, kPrefix + "videos.list answered with something not JSON",
                         std::nullopt, std::nullopt};
    }
    const json items = body->value("items", json::array());
    if (!items.is_array()) return std::optional<json>();
    for (const auto& item : items) {
      if (item.is_object() && item.value("id", std::string()) == video_id) return item;
    }
    return std::optional<json>();
  }

  // thumbnails.set, best effort: the post is published with or without its cover. The one
  // exception: a refused access token of an account whose token can be renewed is returned
  // (RF_STATUS_RECONNECT), so that the host renews it and finalize sets the thumbnail after all.
  static std::optional<yt::Failure> set_thumbnail(const reelflow::Run& run,
                                                  const yt::Account& account,
                                                  const std::string& video_id,
                                                  const yt::Cover& cover, bool renewable) {
    const yt::Client client(account, [&run] { return run.cancelled(); });
    http::Request request = client.request(
        "POST", "/upload/youtube/v3/thumbnails/set?videoId=" + http::url_encode(video_id) +
                    "&uploadType=media");
    request.headers.emplace_back("Content-Type", cover.content_type);
    request.file = http::FileRange{cover.path, 0, cover.size};
    request.total_timeout_seconds = 120;
    auto response = client.send(request);
    std::string problem;
    if (!response) {
      problem = response.error().message;
    } else if (response->status == 401 && renewable) {
      return yt::classify(*response, "setting the thumbnail", account, yt::now_millis());
    } else if (response->status != 200 && response->status != 201) {
      const yt::GoogleError error = yt::read_google_error(*response);
      problem = "YouTube answered " + std::to_string(response->status) +
                (error.reason.empty() ? "" : " " + error.reason) +
                (error.message.empty() ? "" : ": " + error.message);
      if (response->status == 403) {
        problem += " (custom thumbnails need a channel verified by phone)";
      }
    }
    if (problem.empty()) {
      run.info(kPrefix + "set " + cover.path + " as the thumbnail of video " + video_id);
    } else {
      run.warn(kPrefix + "could not set the cover " + cover.path + " as the thumbnail: " + problem +
               "; the video is published with the thumbnail YouTube picks");
    }
    return std::nullopt;
  }
};

constexpr const char* kPrivacyValues[] = {"public", "unlisted", "private", nullptr};

constexpr rf_option kPostOptions[] = {
    reelflow::option::enumeration(
        "privacy", kPrivacyValues, reelflow::json_string<"public">,
        "Who can watch the video (status.privacyStatus). reelflow holds a post until its "
        "publish_at, so it is uploaded with this privacy then."),
    reelflow::option::string("category_id", reelflow::json_string<"22">,
                             "The YouTube video category id (snippet.categoryId); 22 is People & "
                             "Blogs."),
    reelflow::option::boolean("made_for_kids", "false",
                              "Declares the video made for children "
                              "(status.selfDeclaredMadeForKids), as COPPA requires."),
    reelflow::option::integer("chunk_mib", "8",
                              "Upload chunk size in MiB (a multiple of YouTube's 256 KiB); "
                              "smaller chunks lose less after an interruption.")
        .range(1, 64),
};

constexpr rf_option kAccountOptions[] = {
    reelflow::option::string("api_base", reelflow::json_string<"https://www.googleapis.com">,
                             "The base URL of the YouTube Data API (a proxy or a test server may "
                             "stand in for it)."),
    reelflow::option::string(
        "token_base", reelflow::json_string<"https://oauth2.googleapis.com">,
        "The base URL of Google's OAuth 2.0 token endpoint ({token_base}/token), "
        "where refresh renews the access token."),
};

// When YouTube lets a project upload (README.md, Quota), and when `publish_at: best` posts until the
// optimizer has learned better hours.
constexpr const char* kScheduling =
    "{\"quotas\": [{\"name\": \"uploads\", \"limit\": 6, \"per\": \"day\", "
    "\"time_zone\": \"America/Los_Angeles\", \"note\": \"10,000 quota units a project a day, "
    "1,600 an upload; the quota resets at midnight Pacific Time\"}], "
    "\"windows\": [\"Mon-Fri 15:00-18:00\", \"Sat,Sun 10:00-13:00\"], "
    "\"windows_note\": \"reelflow's starting point (afternoons, weekend mornings); not from a "
    "published study\"}";

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<YouTube>(
        {.name = "youtube.publish",
         .platform = "youtube",
         .summary = "Publish a YouTube Short (YouTube Data API v3, resumable upload)",
         .scheduling = kScheduling},
        kPostOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "youtube",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Publish YouTube Shorts through the YouTube Data API v3"},
                     kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
