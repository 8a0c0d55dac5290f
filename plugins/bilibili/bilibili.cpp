// bilibili.publish: submits a video as an archive (稿件) through the Bilibili open platform's
// server-side submission API (服务端视频稿件投递), every request signed (bilibili_api.hpp).
//
// The stages (plugin.h, "Publisher types") map onto the platform's calls:
//   prepare   checks the post against the documented limits (title, description, tags, category,
//             copyright/source, video and cover size); no request.
//   start     POST /arcopen/fn/archive/video/init {name, utype "0" (chunked)} -> upload_token,
//             the session.
//   upload    POST {upload_base}/video/v2/part/upload?upload_token&part_number=N for N = 1.. in
//             order, each part the same size (8 MiB by default) but the last, checkpointing after
//             every acknowledged part; then POST /arcopen/fn/archive/video/complete (the merge).
//   finalize  POST /arcopen/fn/archive/cover/upload (multipart, when a cover is given) -> url;
//             POST /arcopen/fn/archive/add-by-utoken?upload_token {title, cover, tid, no_reprint,
//             desc, tag, copyright, source} -> resource_id (the BV id): the post.
//   poll      GET /arcopen/fn/archive/view?resource_id: addit_info.state 0 (or above) is open to
//             the public; rejected (打回), locked or failed states fail the post with the reason.
//   reconcile an upload_token but no resource_id: the account's first page of archives
//             (GET /arcopen/fn/archive/viewlist) holding this title, submitted since the session
//             started, is the post; otherwise the session stands.
//   metrics   GET /arcopen/fn/data/arc/stat?resource_id: view, like, reply, share (+ extras).
//   refresh   POST {oauth_base}/x/account-oauth2/v1/refresh_token: the new access token, the
//             next refresh token (each works once) and expires_at; 122007 asks to reconnect.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <vector>

#include "bilibili_api.hpp"
#include "http/http_client.hpp"
#include "json/reply.hpp"
#include "text/utf8.hpp"

namespace {

namespace fs = std::filesystem;
namespace http = reelflow::http;
namespace bili = reelflow::bilibili;
using json = nlohmann::json;
using reelflow::reply::text_at;
using reelflow::text::characters;
using bili::Failure;
using bili::Outcome;

// Limits from the open platform's docs (README.md says which page each comes from).
constexpr std::uint64_t kMaxVideoBytes = 4ull << 30;  // 文件大小限制为4GB
constexpr double kMaxDurationSeconds = 5 * 3600.0;    // 视频时长小于5小时
constexpr std::uint64_t kMaxCoverBytes = 5ull << 20;  // 封面 文件大小≤5MB
constexpr std::size_t kTitleLimit = 80;               // 标题 长度小于80
constexpr std::size_t kDescriptionLimit = 250;        // 描述 长度小于250
constexpr std::size_t kTagsTotalLimit = 200;          // 标签 总长度小于200
// Not in the open platform's docs (the web uploader's rules): conservative assumptions.
constexpr std::size_t kTagLimit = 20;
constexpr std::size_t kTagCountLimit = 12;
// addit_info.state values that end a submission (bilibili-API-collect's archive states).
constexpr int kFailedStates[] = {-2, -3, -4, -16, -100};
constexpr std::int64_t kReconcileClockSlack = 600;  // seconds an archive's ctime may precede ours


std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2024-05-01T12:00:00Z": Unix seconds as ISO 8601 UTC.
std::string iso_utc(std::int64_t seconds) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

struct Account {
  std::string name;
  std::string api_base;
  std::string upload_base;
  std::uint64_t part_bytes = 8ull << 20;
  bili::AppCredentials app;
};

struct Post {
  Account account;
  std::string title;
  std::string description;  // caption, then the tracked link
  std::vector<std::string> tags;
  fs::path video;
  std::uint64_t video_bytes = 0;
  std::optional<double> duration_seconds;
  std::optional<fs::path> cover;
  std::int64_t tid = 0;
  std::int64_t copyright = 1;
  bool no_reprint = true;
  std::string source;
};


Outcome<Post> read_post(std::string_view text) {
  const json post = json::parse(text);
  Post out;
  const json& account = post.at("account");
  const json options = account.value("options", json::object());
  const json credentials = account.value("credentials", json::object());
  out.account.name = account.value("name", "");
  out.account.api_base =
      without_trailing_slash(options.value("api_base", "https://member.bilibili.com"));
  out.account.upload_base =
      without_trailing_slash(options.value("upload_base", "https://openupos.bilivideo.com"));
  out.account.part_bytes = options.value("part_size", std::uint64_t{8} << 20);
  out.account.app.client_id = text_at(options, "client_id");
  if (out.account.app.client_id.empty())
    out.account.app.client_id = text_at(credentials, "client_id");
  out.account.app.client_secret = text_at(credentials, "client_secret");
  out.account.app.access_token = text_at(credentials, "access_token");
  const std::string who = "bilibili.publish: account '" + out.account.name + "' ";
  if (out.account.app.client_id.empty()) {
    return bili::failure(RF_STATUS_ERROR, who +
                                              "has no client_id (account option client_id, "
                                              "or credentials.client_id): the open platform "
                                              "app's id");
  }
  if (out.account.app.client_secret.empty()) {
    return bili::failure(RF_STATUS_ERROR, who +
                                              "has no credentials.client_secret (the open "
                                              "platform app's secret, used to sign requests)");
  }
  if (out.account.app.access_token.empty()) {
    return bili::failure(RF_STATUS_RECONNECT,
                         "bilibili.publish: access token missing: reconnect the account '" +
                             out.account.name + "' (credentials.access_token is empty)");
  }

  out.title = post.value("title", "");
  out.description = post.value("caption", "");
  if (const std::string link = text_at(post, "link"); !link.empty()) {
    out.description += (out.description.empty() ? "" : "\n") + link;
  }
  for (const auto& tag : post.value("tags", json::array())) {
    if (!tag.is_string()) continue;
    std::string value = tag.get<std::string>();
    while (!value.empty() && (value.front() == '#' || value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    out.tags.push_back(value);
  }
  const json& video = post.at("video");
  out.video = video.value("path", "");
  out.video_bytes = video.value("size_bytes", std::uint64_t{0});
  if (auto found = video.find("duration_seconds"); found != video.end() && found->is_number()) {
    out.duration_seconds = found->get<double>();
  }
  if (const std::string cover = text_at(post, "cover"); !cover.empty())
    out.cover = fs::path(cover);
  const json own = post.value("options", json::object());
  out.tid = own.value("tid", std::int64_t{0});
  out.copyright = own.value("copyright", std::int64_t{1});
  out.no_reprint = own.value("no_reprint", true);
  out.source = own.value("source", "");
  return out;
}

std::string joined_tags(const std::vector<std::string>& tags) {
  std::string text;
  for (const auto& tag : tags) text += (text.empty() ? "" : ",") + tag;
  return text;
}

// Every rule the post breaks, each naming the field and the limit.
std::vector<std::string> problems(const Post& post) {
  std::vector<std::string> found;
  const std::size_t title = characters(post.title);
  if (title == 0) found.push_back("title is required");
  if (title >= kTitleLimit) {
    found.push_back("title has " + std::to_string(title) +
                    " characters; bilibili takes fewer than " + std::to_string(kTitleLimit));
  }
  const std::size_t description = characters(post.description);
  if (description >= kDescriptionLimit) {
    found.push_back("caption (with the link, the archive's desc) has " +
                    std::to_string(description) + " characters; bilibili takes fewer than " +
                    std::to_string(kDescriptionLimit));
  }
  if (post.tags.empty()) found.push_back("tags: bilibili requires at least one tag");
  if (post.tags.size() > kTagCountLimit) {
    found.push_back("tags: " + std::to_string(post.tags.size()) + " tags; at most " +
                    std::to_string(kTagCountLimit));
  }
  for (const auto& tag : post.tags) {
    if (tag.empty()) found.push_back("tags: an empty tag");
    if (tag.find(',') != std::string::npos) {
      found.push_back("tags: '" + tag + "' contains a comma (bilibili separates tags by commas)");
    }
    if (characters(tag) > kTagLimit) {
      found.push_back("tags: '" + tag + "' has " + std::to_string(characters(tag)) +
                      " characters; at most " + std::to_string(kTagLimit));
    }
  }
  if (characters(joined_tags(post.tags)) >= kTagsTotalLimit) {
    found.push_back("tags: together (comma separated) fewer than " +
                    std::to_string(kTagsTotalLimit) + " characters");
  }
  if (post.tid <= 0) found.push_back("tid (the category) is required");
  if (post.copyright != 1 && post.copyright != 2) found.push_back("copyright must be 1 or 2");
  if (post.copyright == 2 && post.source.empty()) {
    found.push_back("source is required when copyright is 2 (a repost)");
  }
  if (post.video_bytes == 0) found.push_back("video " + post.video.string() + " is empty");
  if (post.video_bytes > kMaxVideoBytes) {
    found.push_back("video is " + std::to_string(post.video_bytes) +
                    " bytes; bilibili takes up to 4 GB");
  }
  if (post.duration_seconds && *post.duration_seconds >= kMaxDurationSeconds) {
    found.push_back("video lasts " + std::to_string(static_cast<long>(*post.duration_seconds)) +
                    " s; bilibili takes less than 5 hours");
  }
  if (post.cover) {
    std::string extension = post.cover->extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension != ".jpg" && extension != ".jpeg" && extension != ".png") {
      found.push_back("cover " + post.cover->string() + " must be a JPEG or PNG");
    }
    std::error_code ec;
    const auto size = fs::file_size(*post.cover, ec);
    if (!ec && size > kMaxCoverBytes) {
      found.push_back("cover is " + std::to_string(size) + " bytes; bilibili takes up to 5 MB");
    }
  }
  return found;
}

std::string cover_type(const fs::path& cover) {
  std::string extension = cover.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".png" ? "image/png" : "image/jpeg";
}

std::string video_url(const std::string& resource_id) {
  return "https://www.bilibili.com/video/" + resource_id;
}

class Bilibili {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    const auto found = problems(*post);
    if (!found.empty()) {
      std::string message = "bilibili.publish: the post does not meet bilibili's rules: ";
      for (std::size_t i = 0; i < found.size(); ++i) message += (i ? "; " : "") + found[i];
      return run.fail(message);
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    auto client = client_for(run, *post);
    const std::string name = post->video.filename().string();
    // utype "0": the chunked flow, required above 100 MB and used for every size here.
    const json body = {{"name", name}, {"utype", "0"}};
    auto data = client.post_json(
        "video init", post->account.api_base + "/arcopen/fn/archive/video/init", body.dump());
    if (!data) return report(run, data.error());
    const std::string token = text_at(*data, "upload_token");
    if (token.empty()) return run.fail("bilibili.publish: video init answered no upload_token");
    const std::uint64_t part_bytes = std::max<std::uint64_t>(post->account.part_bytes, 1);
    json session = {{"upload_token", token},
                    {"name", name},
                    {"started_at", unix_seconds()},
                    {"part_bytes", part_bytes},
                    {"total_bytes", post->video_bytes},
                    {"parts_total", (post->video_bytes + part_bytes - 1) / part_bytes},
                    {"parts_done", 0},
                    {"completed", false}};
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    const std::string token = text_at(session, "upload_token");
    if (token.empty()) return run.fail("bilibili.publish: the session holds no upload_token");
    if (session.value("completed", false)) {
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    std::error_code ec;
    const std::uint64_t total = fs::file_size(post->video, ec);
    if (ec)
      return run.fail("bilibili.publish: video " + post->video.string() + ": " + ec.message());
    if (total != session.value("total_bytes", total)) {
      return run.fail("bilibili.publish: video " + post->video.string() +
                      " changed size since its upload started; it cannot be resumed");
    }
    const std::uint64_t part_bytes = session.value("part_bytes", post->account.part_bytes);
    const std::uint64_t parts_total =
        std::max<std::uint64_t>(1, (total + part_bytes - 1) / part_bytes);
    auto client = client_for(run, *post);
    for (std::uint64_t part = session.value("parts_done", std::uint64_t{0}) + 1;
         part <= parts_total; ++part) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      const std::uint64_t offset = (part - 1) * part_bytes;
      const http::FileRange range{post->video, offset, std::min(part_bytes, total - offset)};
      const std::string url =
          post->account.upload_base + "/video/v2/part/upload" +
          bili::query({{"upload_token", token}, {"part_number", std::to_string(part)}});
      auto sent = client.post_file_range(
          "upload part " + std::to_string(part) + " of " + std::to_string(parts_total), url, range);
      if (!sent) return report(run, sent.error());
      session["parts_done"] = part;
      if (!run.checkpoint(session.dump())) {
        return run.fail("bilibili.publish: the host could not record the upload's progress");
      }
      run.progress(static_cast<double>(part) / static_cast<double>(parts_total),
                   ("part " + std::to_string(part) + "/" + std::to_string(parts_total)).c_str());
    }
    auto merged = client.post_json("complete (merge the parts)",
                                   post->account.api_base + "/arcopen/fn/archive/video/complete" +
                                       bili::query({{"upload_token", token}}),
                                   "");
    if (!merged) return report(run, merged.error());
    session["completed"] = true;
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status finalize(reelflow::Run& run, std::string_view post_text,
                     std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    if (!text_at(session, "resource_id").empty()) {
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    const std::string token = text_at(session, "upload_token");
    auto client = client_for(run, *post);
    if (post->cover && text_at(session, "cover_url").empty()) {
      auto cover = client.post_file_form(
          "cover upload", post->account.api_base + "/arcopen/fn/archive/cover/upload", "file",
          *post->cover, cover_type(*post->cover));
      if (!cover) return report(run, cover.error());
      const std::string url = text_at(*cover, "url");
      if (url.empty()) return run.fail("bilibili.publish: cover upload answered no url");
      session["cover_url"] = url;
      if (!run.checkpoint(session.dump())) {
        return run.fail("bilibili.publish: the host could not record the cover's url");
      }
    }
    json body = {{"title", post->title},           {"tid", post->tid},
                 {"tag", joined_tags(post->tags)}, {"desc", post->description},
                 {"copyright", post->copyright},   {"no_reprint", post->no_reprint ? 1 : 0}};
    if (const std::string cover = text_at(session, "cover_url"); !cover.empty())
      body["cover"] = cover;
    if (post->copyright == 2) body["source"] = post->source;
    auto submitted = client.post_json(
        "submit the archive (add-by-utoken, tid " + std::to_string(post->tid) + ")",
        post->account.api_base + "/arcopen/fn/archive/add-by-utoken" +
            bili::query({{"upload_token", token}}),
        body.dump());
    if (!submitted) return report(run, submitted.error());
    const std::string resource_id = text_at(*submitted, "resource_id");
    if (resource_id.empty())
      return run.fail("bilibili.publish: add-by-utoken answered no resource_id");
    session["resource_id"] = resource_id;
    session["post_id"] = resource_id;
    session["url"] = video_url(resource_id);
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    const std::string resource_id = text_at(session, "resource_id");
    if (resource_id.empty()) return run.fail("bilibili.publish: the session holds no resource_id");
    auto client = client_for(run, *post);
    auto view = client.get("archive view " + resource_id,
                           post->account.api_base + "/arcopen/fn/archive/view" +
                               bili::query({{"resource_id", resource_id}}));
    if (!view) return report(run, view.error());
    const json info = view->value("addit_info", json::object());
    const int state = info.value("state", -1);
    session["post_id"] = resource_id;
    session["url"] = video_url(resource_id);
    session["archive_state"] = state;
    if (state >= 0) {
      session["state"] = "published";
    } else if (std::find(std::begin(kFailedStates), std::end(kFailedStates), state) !=
               std::end(kFailedStates)) {
      std::string reason = text_at(info, "reject_reason");
      if (reason.empty()) reason = text_at(info, "state_desc");
      session["state"] = "failed";
      session["error"] = "archive " + resource_id + " state " + std::to_string(state) +
                         (reason.empty() ? "" : ": " + reason);
    } else {
      session["state"] = "processing";
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    json session = json::parse(session_text);
    if (!text_at(session, "resource_id").empty()) {
      session["found"] = "post";
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    if (text_at(session, "upload_token").empty()) {
      // start never recorded a token: an orphan init on the platform is harmless.
      session["found"] = "nothing";
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    auto client = client_for(run, *post);
    auto listed =
        client.get("archive list", post->account.api_base + "/arcopen/fn/archive/viewlist" +
                                       bili::query({{"pn", "1"}, {"ps", "20"}}));
    if (!listed) return report(run, listed.error());
    const std::int64_t since = session.value("started_at", std::int64_t{0}) - kReconcileClockSlack;
    for (const auto& archive : listed->value("list", json::array())) {
      if (text_at(archive, "title") != post->title) continue;
      if (archive.value("ctime", std::int64_t{0}) < since) continue;
      const std::string resource_id = text_at(archive, "resource_id");
      if (resource_id.empty()) continue;
      session["resource_id"] = resource_id;
      session["post_id"] = resource_id;
      session["url"] = video_url(resource_id);
      session["found"] = "post";
      run.set_output(session.dump());
      return RF_STATUS_OK;
    }
    session["found"] = "session";
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  // Renews the access token (plugin.h, refresh). The refresh token works once, so the output
  // always carries the next one; the host stores it before any other call uses the new token.
  rf_status refresh(reelflow::Run& run, std::string_view account_text) {
    const json account = json::parse(account_text);
    const json options = account.value("options", json::object());
    const json credentials = account.value("credentials", json::object());
    bili::RefreshGrant grant;
    grant.account = account.value("name", "");
    grant.oauth_base =
        without_trailing_slash(text_at(options, "oauth_base").empty()
                                   ? std::string("https://api.bilibili.com")
                                   : text_at(options, "oauth_base"));
    grant.client_id = text_at(options, "client_id");
    if (grant.client_id.empty()) grant.client_id = text_at(credentials, "client_id");
    grant.client_secret = text_at(credentials, "client_secret");
    grant.refresh_token = text_at(credentials, "refresh_token");
    const std::string who = "bilibili.publish: account '" + grant.account + "' ";
    if (grant.refresh_token.empty()) {
      return run.fail_with(RF_STATUS_RECONNECT,
                           who + "has no credentials.refresh_token, so its access token cannot "
                                 "be renewed: authorize the app on bilibili again and store the "
                                 "refresh token with the access token");
    }
    if (grant.client_id.empty() || grant.client_secret.empty()) {
      return run.fail(who + "has no " +
                      (grant.client_id.empty() ? "client_id (account option client_id, or "
                                                 "credentials.client_id)"
                                               : "credentials.client_secret") +
                      ": renewing the access token needs the open platform app's id and secret");
    }
    auto tokens = bili::refresh_access_token(grant, [&run] { return run.cancelled(); });
    if (!tokens) return report(run, tokens.error());
    json fresh = {{"access_token", tokens->access_token},
                  {"expires_at", iso_utc(tokens->expires_at)}};
    if (!tokens->refresh_token.empty()) {
      fresh["refresh_token"] = tokens->refresh_token;
    } else {
      run.warn("bilibili.publish: the refresh of account '" + grant.account +
               "' answered no new refresh_token; the one used may not work again");
    }
    run.info("bilibili.publish: renewed the access token of account '" + grant.account +
             "' (valid until " + iso_utc(tokens->expires_at) + ")");
    run.set_output(json{{"credentials", fresh}}.dump());
    return RF_STATUS_OK;
  }

  rf_status metrics(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    auto post = read_post(post_text);
    if (!post) return report(run, post.error());
    const json session = json::parse(session_text);
    std::string resource_id = text_at(session, "resource_id");
    if (resource_id.empty()) resource_id = text_at(session, "post_id");
    if (resource_id.empty()) return run.fail("bilibili.publish: the session holds no resource_id");
    auto client = client_for(run, *post);
    auto stat = client.get("archive stat " + resource_id,
                           post->account.api_base + "/arcopen/fn/data/arc/stat" +
                               bili::query({{"resource_id", resource_id}}));
    if (!stat) return report(run, stat.error());
    auto count = [&](const char* key) { return stat->value(key, std::int64_t{0}); };
    const json counters = {{"views", count("view")},      {"likes", count("like")},
                           {"comments", count("reply")},  {"shares", count("share")},
                           {"danmaku", count("danmaku")}, {"favorites", count("favorite")},
                           {"coins", count("coin")}};
    run.set_output(counters.dump());
    return RF_STATUS_OK;
  }

 private:
  static bili::Client client_for(reelflow::Run& run, const Post& post) {
    return bili::Client(post.account.app, post.account.name, [&run] { return run.cancelled(); });
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
    option::integer("tid", no_default,
                    "The category (分区) id, from GET /arcopen/fn/archive/type/list.")
        .required()
        .min(1),
    option::integer("copyright", "1", "1: original work (自制); 2: repost (转载, needs source).")
        .range(1, 2),
    option::boolean("no_reprint", "true", "Forbid others to repost the video (no_reprint = 1)."),
    option::string("source", json_string<"">,
                   "Where a repost (copyright 2) comes from; required for copyright 2."),
};

constexpr rf_option kAccountOptions[] = {
    option::string("api_base", json_string<"https://member.bilibili.com">,
                   "The open platform's API base URL (tests point it at a fake)."),
    option::string("upload_base", json_string<"https://openupos.bilivideo.com">,
                   "The host that takes the video's parts (POST /video/v2/part/upload)."),
    option::string("oauth_base", json_string<"https://api.bilibili.com">,
                   "The host of the OAuth token endpoints (POST "
                   "/x/account-oauth2/v1/refresh_token); tests point it at a fake."),
    option::string("client_id", json_string<"">,
                   "The open platform app's client_id (x-bili-accesskeyid); may instead be "
                   "credentials.client_id. The app secret belongs in credentials.client_secret."),
    option::integer("part_size", "8388608",
                    "Bytes per uploaded part: the docs recommend a fixed 8 MiB (8388608); smaller "
                    "parts only for slow links or tests.")
        .range(65536, 8388608),
};

// When Bilibili lets an account submit (README.md, Assumptions), and when `publish_at: best` posts
// until the optimizer has learned better hours.
constexpr const char* kScheduling =
    "{\"quotas\": [{\"name\": \"submissions\", \"limit\": 5, \"per\": \"day\", "
    "\"time_zone\": \"Asia/Shanghai\", \"note\": \"5 submissions a day (not confirmed by the "
    "open platform's docs)\"}], "
    "\"windows\": [\"daily 12:00-13:00\", \"daily 18:00-22:00\"], "
    "\"windows_note\": \"reelflow's starting point for Chinese audiences (lunch and evening); "
    "not from a published study\"}";

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<Bilibili>(
        {.name = "bilibili.publish",
         .platform = "bilibili",
         .summary = "Submit a video to Bilibili as an archive (open platform, signed requests)",
         .scheduling = kScheduling},
        kPostOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "bilibili",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Publish videos to Bilibili through its open platform"},
                     kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
