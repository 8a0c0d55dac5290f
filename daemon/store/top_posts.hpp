// The posts.top daemon service: the best performers among the posts published in a period, best
// first by one metric, each with a video file that can be published again.
//
// Request (a JSON object; any other field is an error naming it):
//   since             ISO 8601 time with an offset (required): published at or after it
//   until             ISO 8601 time or null (now): published at or before it
//   min_age           seconds >= 0 (0): published at least this long ago
//   metric            views | likes | comments | shares (the latest metrics pull),
//                     clicks (human, non-duplicate clicks on the post's tracked link),
//                     conversions, revenue (attributed to that link), ctr (clicks per view)
//   limit             integer 1..100 (10): how many posts to answer
//   platform, account, campaign (the link's), workflow (the run's): text or null, filters
//   exclude_reposted  seconds >= 0 or null (none): leave out posts (and videos) re-posted by
//                     another run within this long
//   run_id, step_id   text or null: who asks; the answered posts are recorded as picked by them
// A post without a value for the metric (no metrics pull yet, no tracked link, no views for ctr)
// is not ranked; it is counted in `without_metric`.
//
// The video: a month later the file a post was made from may be gone (run artifacts are purged
// after `artifact_retention`). Each ranked post, best first, gets the first of these that exists:
// its `video` option as published; the hand-over copy a folder.publish post of the same run made
// of the same video (`<dir>/post.json`'s "video"). Otherwise it is left out of the answer and
// listed in `skipped` with the reason, and the next best takes its place. The run's trigger input
// is never used: it is what the run started from (a raw recording), not what was posted.
//
// Answer: {"posts": [...], "count", "considered", "without_metric", "excluded_reposted",
// "skipped_missing_video", "skipped": [{"key", "platform", "account", "url", "video", "reason"}],
// "metric", "since", "until"}; each post: "index" (its position, from 0), "rank" (from 1), "key",
// "post_id", "platform", "account", "step_type", "url", "video", "video_source" ("published" or
// "hand-over copy"), "published_video", "title", "caption", "tags", "link", "link_code",
// "landing" (the link's landing page without its utm_ parameters), "campaign", "published_at",
// "metric", "value", "metrics" {views, likes, comments, shares, metrics_at, clicks, conversions,
// revenue, ctr}, "run_id", "step_id", "item", "workflow".
//
// Thread-safety: as PostsStore.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/posts_store.hpp"

namespace reelflow::store {

Result<nlohmann::json> top_posts_service(PostsStore& store, const nlohmann::json& request,
                                         Millis now);

}  // namespace reelflow::store
