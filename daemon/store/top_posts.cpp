#include "store/top_posts.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "common/iso_time.hpp"

namespace reelflow::store {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array kMetrics = {"views",  "likes",       "comments", "shares",
                                 "clicks", "conversions", "revenue",  "ctr"};
constexpr std::array kFields = {"since",    "until",   "min_age",  "metric",   "limit",
                                "platform", "account", "campaign", "workflow", "exclude_reposted",
                                "run_id",   "step_id"};
constexpr int kMaxLimit = 100;

struct Request {
  PostsFilter filter;
  std::string metric;
  int limit = 10;
  std::optional<Millis> exclude_reposted;  // milliseconds
  std::string run_id, step_id;
};

// Text or null (empty); anything else is an error naming the field.
Result<std::string> optional_text(const json& request, const char* field) {
  auto found = request.find(field);
  if (found == request.end() || found->is_null()) return std::string();
  if (!found->is_string()) {
    return fail("`" + std::string(field) + "` must be text or null, got " + found->dump());
  }
  return found->get<std::string>();
}

// Seconds >= 0 as milliseconds, or nullopt when absent or null.
Result<std::optional<Millis>> optional_seconds(const json& request, const char* field) {
  auto found = request.find(field);
  if (found == request.end() || found->is_null()) return std::optional<Millis>();
  if (!found->is_number() || !std::isfinite(found->get<double>()) || found->get<double>() < 0) {
    return fail("`" + std::string(field) + "` must be a number of seconds >= 0, got " +
                found->dump());
  }
  return std::optional<Millis>(static_cast<Millis>(std::llround(found->get<double>() * 1000)));
}

Result<Millis> time_field(const json& request, const char* field) {
  const json& value = request.at(field);
  if (!value.is_string()) {
    return fail("`" + std::string(field) + "` must be an ISO 8601 time such as " +
                "2026-09-01T00:00:00Z, got " + value.dump());
  }
  auto at = parse_iso_time(value.get<std::string>());
  if (!at) return fail("`" + std::string(field) + "`: " + at.error().message);
  return *at;
}

Result<Request> parse_request(const json& request, Millis now) {
  if (!request.is_object()) return fail("the request must be a JSON object");
  for (const auto& [name, value] : request.items()) {
    if (std::find(kFields.begin(), kFields.end(), name) == kFields.end()) {
      std::string known;
      for (const char* field : kFields) known += (known.empty() ? "" : ", ") + std::string(field);
      return fail("unknown field `" + name + "` (known: " + known + ")");
    }
  }
  Request out;
  if (!request.contains("since")) return fail("`since` is required (an ISO 8601 time)");
  auto since = time_field(request, "since");
  if (!since) return tl::unexpected(since.error());
  out.filter.since = *since;
  out.filter.until = now;
  if (request.contains("until") && !request["until"].is_null()) {
    auto until = time_field(request, "until");
    if (!until) return tl::unexpected(until.error());
    out.filter.until = std::min(*until, now);
  }
  auto min_age = optional_seconds(request, "min_age");
  if (!min_age) return tl::unexpected(min_age.error());
  if (*min_age) out.filter.until = std::min(out.filter.until, now - **min_age);

  auto metric = request.find("metric");
  const bool known_metric =
      metric != request.end() && metric->is_string() &&
      std::find(kMetrics.begin(), kMetrics.end(), metric->get<std::string>()) != kMetrics.end();
  if (!known_metric) {
    std::string names;
    for (const char* name : kMetrics) names += (names.empty() ? "" : ", ") + std::string(name);
    return fail("`metric` must be one of " + names + ", got " +
                (metric == request.end() ? std::string("nothing") : metric->dump()));
  }
  out.metric = metric->get<std::string>();

  if (auto limit = request.find("limit"); limit != request.end() && !limit->is_null()) {
    if (!limit->is_number_integer() || limit->get<std::int64_t>() < 1 ||
        limit->get<std::int64_t>() > kMaxLimit) {
      return fail("`limit` must be an integer from 1 to " + std::to_string(kMaxLimit) + ", got " +
                  limit->dump());
    }
    out.limit = limit->get<int>();
  }
  for (auto [field, target] :
       {std::pair{"platform", &out.filter.platform}, std::pair{"account", &out.filter.account},
        std::pair{"campaign", &out.filter.campaign}, std::pair{"workflow", &out.filter.workflow},
        std::pair{"run_id", &out.run_id}, std::pair{"step_id", &out.step_id}}) {
    auto text = optional_text(request, field);
    if (!text) return tl::unexpected(text.error());
    *target = std::move(*text);
  }
  auto exclude = optional_seconds(request, "exclude_reposted");
  if (!exclude) return tl::unexpected(exclude.error());
  if (*exclude && **exclude > 0) out.exclude_reposted = **exclude;
  return out;
}

// The post's value for the metric, or nullopt when it has none (see top_posts.hpp).
std::optional<double> metric_value(const PostPerformance& post, const std::string& metric) {
  const bool pulled = post.metrics_at.has_value();
  if (metric == "views") return pulled ? std::optional(post.views) : std::nullopt;
  if (metric == "likes") return pulled ? std::optional(post.likes) : std::nullopt;
  if (metric == "comments") return pulled ? std::optional(post.comments) : std::nullopt;
  if (metric == "shares") return pulled ? std::optional(post.shares) : std::nullopt;
  if (!post.has_link) return std::nullopt;
  if (metric == "clicks") return static_cast<double>(post.clicks);
  if (metric == "conversions") return static_cast<double>(post.conversions);
  if (metric == "revenue") return post.revenue;
  if (!pulled || post.views <= 0) return std::nullopt;  // ctr
  return static_cast<double>(post.clicks) / post.views;
}

std::string text_option(const json& options, const char* name) {
  auto found = options.find(name);
  return found != options.end() && found->is_string() ? found->get<std::string>() : "";
}

bool is_file(const fs::path& path) {
  std::error_code ec;
  return !path.empty() && fs::is_regular_file(path, ec);
}

// The hand-over copy of `video` that a folder.publish post of the same run made: the post's
// directory (its url, file://DIR) holds post.json naming the copied file.
std::optional<fs::path> handover_copy(const std::vector<PostRecord>& run_posts,
                                      const std::string& video) {
  for (const PostRecord& other : run_posts) {
    if (other.platform != "folder" || text_option(other.options, "video") != video) continue;
    if (!other.url.starts_with("file://")) continue;
    const fs::path dir = other.url.substr(7);
    std::ifstream in(dir / "post.json");
    const json post = json::parse(in, nullptr, false);
    std::string name = post.is_object() ? post.value("video", "") : "";
    if (name.empty() || name.find('/') != std::string::npos) {
      name = "video" + fs::path(video).extension().string();
    }
    if (is_file(dir / name)) return dir / name;
  }
  return std::nullopt;
}

// The landing page of a link's target: its utm_ query parameters removed.
std::string landing_of(const std::string& target) {
  const auto query_at = target.find('?');
  if (query_at == std::string::npos) return target;
  const auto fragment_at = target.find('#', query_at);
  const std::string query =
      target.substr(query_at + 1, fragment_at == std::string::npos ? std::string::npos
                                                                   : fragment_at - query_at - 1);
  std::string kept;
  std::size_t start = 0;
  while (start <= query.size()) {
    const auto end = std::min(query.find('&', start), query.size());
    const std::string part = query.substr(start, end - start);
    if (!part.empty() && !part.starts_with("utm_")) kept += (kept.empty() ? "" : "&") + part;
    start = end + 1;
  }
  return target.substr(0, query_at) + (kept.empty() ? "" : "?" + kept) +
         (fragment_at == std::string::npos ? "" : target.substr(fragment_at));
}

json or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json post_json(const PostPerformance& entry, const std::string& metric, double value,
               const fs::path& video, const char* video_source) {
  const PostRecord& post = entry.post;
  const json& options = post.options;
  json metrics = {
      {"views", entry.views},
      {"likes", entry.likes},
      {"comments", entry.comments},
      {"shares", entry.shares},
      {"metrics_at", entry.metrics_at ? json(format_iso_time(*entry.metrics_at)) : json(nullptr)}};
  if (entry.has_link) {
    metrics["clicks"] = entry.clicks;
    metrics["conversions"] = entry.conversions;
    metrics["revenue"] = entry.revenue;
  } else {
    metrics["clicks"] = metrics["conversions"] = metrics["revenue"] = nullptr;
  }
  metrics["ctr"] = metric_value(entry, "ctr") ? json(*metric_value(entry, "ctr")) : json(nullptr);
  auto tags = options.find("tags");
  return {{"key", post.idempotency_key},
          {"post_id", post.post_id},
          {"platform", post.platform},
          {"account", post.account},
          {"step_type", post.step_type},
          {"url", post.url},
          {"video", video.string()},
          {"video_source", video_source},
          {"published_video", text_option(options, "video")},
          {"title", or_null(text_option(options, "title"))},
          {"caption", or_null(text_option(options, "caption"))},
          {"tags", tags != options.end() && tags->is_array() ? *tags : json::array()},
          {"link", or_null(text_option(options, "link"))},
          {"link_code", or_null(entry.link_code)},
          {"landing", entry.target.empty() ? json(nullptr) : json(landing_of(entry.target))},
          {"campaign", or_null(entry.campaign)},
          {"published_at", format_iso_time(post.published_at)},
          {"metric", metric},
          {"value", value},
          {"metrics", std::move(metrics)},
          {"run_id", post.run_id},
          {"step_id", post.step_id},
          {"item", post.item == kNoItem ? json(nullptr) : json(post.item)},
          {"workflow", or_null(entry.workflow)}};
}

// Why a post's video cannot be published again.
std::string missing_reason(const PostPerformance& entry, const std::string& video) {
  if (video.empty()) return "the post has no `video` option";
  std::string reason = "its video '" + video + "' no longer exists";
  if (entry.artifacts_purged_at) {
    reason += " (the files of run " + entry.post.run_id + " were purged on " +
              format_iso_time(*entry.artifacts_purged_at).substr(0, 10) +
              ": keep them longer with artifact_retention)";
  }
  return reason + " and no hand-over copy of it was found";
}

}  // namespace

Result<json> top_posts_service(PostsStore& store, const json& request, Millis now) {
  auto parsed = parse_request(request, now);
  if (!parsed) return tl::unexpected(parsed.error());
  const Request& query = *parsed;

  std::vector<PostPerformance> posts;
  if (query.filter.since <= query.filter.until) {
    auto read = store.performance(query.filter);
    if (!read) return tl::unexpected(read.error());
    posts = std::move(*read);
  }
  std::set<std::string> reposted_keys, reposted_videos;
  if (query.exclude_reposted) {
    auto reposted = store.reposted_since(now - *query.exclude_reposted, query.run_id);
    if (!reposted) return tl::unexpected(reposted.error());
    for (const RepostPick& pick : *reposted) {
      reposted_keys.insert(pick.post_key);
      reposted_videos.insert(pick.video);
    }
  }

  struct Ranked {
    const PostPerformance* entry;
    double value;
  };
  std::vector<Ranked> ranked;
  std::int64_t without_metric = 0, excluded = 0;
  for (const PostPerformance& entry : posts) {
    if (reposted_keys.contains(entry.post.idempotency_key) ||
        reposted_videos.contains(text_option(entry.post.options, "video"))) {
      ++excluded;
      continue;
    }
    auto value = metric_value(entry, query.metric);
    if (!value) {
      ++without_metric;
      continue;
    }
    ranked.push_back({&entry, *value});
  }
  // Best first; ties go to more views, then to the older post (it held up longer).
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.value != b.value) return a.value > b.value;
    return a.entry->views > b.entry->views;
  });

  json answer_posts = json::array();
  json skipped = json::array();
  std::vector<RepostPick> picks;
  for (const Ranked& candidate : ranked) {
    if (static_cast<int>(answer_posts.size()) >= query.limit) break;
    const PostPerformance& entry = *candidate.entry;
    const std::string published_video = text_option(entry.post.options, "video");
    std::optional<fs::path> video;
    const char* source = "published";
    if (is_file(published_video)) {
      video = published_video;
    } else if (!published_video.empty()) {
      auto run_posts = store.run_posts(entry.post.run_id);
      if (!run_posts) return tl::unexpected(run_posts.error());
      video = handover_copy(*run_posts, published_video);
      source = "hand-over copy";
    }
    if (!video) {
      skipped.push_back({{"key", entry.post.idempotency_key},
                         {"platform", entry.post.platform},
                         {"account", entry.post.account},
                         {"url", entry.post.url},
                         {"video", published_video},
                         {"reason", missing_reason(entry, published_video)}});
      continue;
    }
    json shown = post_json(entry, query.metric, candidate.value, *video, source);
    shown["index"] = answer_posts.size();
    shown["rank"] = answer_posts.size() + 1;
    answer_posts.push_back(std::move(shown));
    picks.push_back(
        {entry.post.idempotency_key, query.run_id, query.step_id, video->string(), now});
  }
  if (!query.run_id.empty() && !picks.empty()) {
    if (auto recorded = store.record_picks(picks); !recorded) {
      return tl::unexpected(recorded.error());
    }
  }
  const std::size_t skipped_count = skipped.size();
  return json{{"posts", std::move(answer_posts)},
              {"count", picks.size()},
              {"considered", posts.size()},
              {"without_metric", without_metric},
              {"excluded_reposted", excluded},
              {"skipped_missing_video", skipped_count},
              {"skipped", std::move(skipped)},
              {"metric", query.metric},
              {"since", format_iso_time(query.filter.since)},
              {"until", format_iso_time(query.filter.until)}};
}

}  // namespace reelflow::store
