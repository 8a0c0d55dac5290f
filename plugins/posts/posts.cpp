// posts: the best performers among past posts, for workflows that publish them again (evergreen
// re-posting, issue 9).
//
// Step type posts.top asks the daemon for the top posts of a period by one metric, through the
// daemon service "posts.top" (rf_host.call, ABI 1.3): posts, their metrics pulls, tracked links,
// clicks and conversions live in the daemon's database, which the step cannot reach from its
// worker process. The daemon ranks, finds a video file for each post that can still be published
// (the published file, else a folder.publish hand-over copy; a post with neither is skipped with
// its reason) and records the picks, so that a later run can leave out what was re-posted:
//
//   request  {"since": now - window, "until": null, "min_age", "metric", "limit", "platform",
//             "account", "campaign", "workflow", "exclude_reposted", "run_id", "step_id"}
//            (durations in seconds; absent or empty text options are null; exclude_reposted 0 is
//             null)
//   answer   {"posts": [...], "count", "considered", "without_metric", "excluded_reposted",
//             "skipped_missing_video", "skipped": [...], ...}  (daemon/store/top_posts.hpp)
//   outputs  the answer's posts, count, skipped_missing_video, skipped, considered,
//            excluded_reposted, without_metric
//
// Re-running gives the same picks (the run's own picks never exclude anything), hence
// RF_STEP_RERUN_SAFE.
#include <cmath>
#include <ctime>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;

constexpr const char* kMetrics[] = {"views",       "likes",   "comments", "shares", "clicks",
                                    "conversions", "revenue", "ctr",      nullptr};

constexpr rf_option kTopOptions[] = {
    option::enumeration("metric", kMetrics, reelflow::json_string<"views">,
                        "What makes a post best: views, likes, comments or shares (its latest "
                        "metrics pull), clicks (human clicks on its tracked link), conversions, "
                        "revenue, or ctr (clicks per view)."),
    option::integer("limit", "5", "How many posts, best first.").range(1, 100),
    option::duration("window", reelflow::json_string<"90d">,
                     "Posts published within this long before now.")
        .min(1),
    option::duration("min_age", reelflow::json_string<"30d">,
                     "Leave out posts younger than this (they have not had their run yet).")
        .min(0),
    option::string("platform", reelflow::no_default,
                   "Only posts on this platform, e.g. youtube (a publisher's platform name)."),
    option::string("account", reelflow::no_default, "Only posts of this account."),
    option::string("campaign", reelflow::no_default,
                   "Only posts whose tracked link belongs to this campaign."),
    option::string("workflow", reelflow::no_default,
                   "Only posts published by runs of this workflow."),
    option::duration("exclude_reposted", reelflow::json_string<"60d">,
                     "Leave out posts (and videos) another run picked and re-posted within this "
                     "long; 0 keeps them.")
        .min(0),
};

constexpr std::string_view kService = "posts.top";

// "2026-09-01T10:00:00Z".
std::string iso_utc(std::time_t seconds) {
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// The option's text, or nullopt when it is absent or empty.
std::optional<std::string> text_option(const json::Object& options, std::string_view name) {
  auto value = options.get_string(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

// The answer's member as JSON text, or `fallback` when it is missing.
json::Raw member(const json::Object& answer, std::string_view name, const char* fallback) {
  const json::Value* value = answer.find(name);
  return json::Raw{value != nullptr ? value->json_text() : fallback};
}

class Top {
 public:
  rf_status run(reelflow::Run& run) {
    std::string problem;
    const auto options = json::Object::parse(run.options_json(), &problem);
    if (!options) return run.fail("posts.top: the options are not a JSON object: " + problem);
    const auto context = json::Object::parse(run.context_json(), &problem);
    if (!context) return run.fail("posts.top: the context is not a JSON object: " + problem);

    const double window = options->get_double("window").value_or(90 * 86400.0);
    const double exclude = options->get_double("exclude_reposted").value_or(0);
    const auto since = static_cast<std::time_t>(std::time(nullptr) - std::llround(window));
    const std::string request =
        json::ObjectBuilder()
            .add("since", iso_utc(since))
            .add("until", nullptr)
            .add("min_age", options->get_double("min_age").value_or(0))
            .add("metric", options->get_string("metric").value_or("views"))
            .add("limit", options->get_int("limit").value_or(5))
            .add("platform", text_option(*options, "platform"))
            .add("account", text_option(*options, "account"))
            .add("campaign", text_option(*options, "campaign"))
            .add("workflow", text_option(*options, "workflow"))
            .add("exclude_reposted", exclude > 0 ? std::optional<double>(exclude) : std::nullopt)
            .add("run_id", text_option(*context, "run_id"))
            .add("step_id", text_option(*context, "step_id"))
            .str();
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    std::string refusal;
    const auto answer_text = run.call(kService, request, &refusal);
    if (!answer_text) return run.fail("posts.top: the daemon refused the query: " + refusal);
    const auto answer = json::Object::parse(*answer_text, &problem);
    const json::Value* posts = answer ? answer->find("posts") : nullptr;
    if (posts == nullptr || !posts->is_array()) {
      return run.fail("posts.top: the daemon's answer has no list of posts: " + *answer_text);
    }

    // Each post left out for its missing video is worth a line in the run's log.
    const json::Value* skipped = answer->find("skipped");
    if (skipped != nullptr && skipped->is_array()) {
      for (const json::Value& entry : skipped->as_array().value_or(std::vector<json::Value>{})) {
        const auto fields = entry.as_object();
        if (!fields) continue;
        run.warn("skipped " + fields->get_string("platform").value_or("?") + " post " +
                 fields->get_string("url").value_or("?") + ": " +
                 fields->get_string("reason").value_or("no reason given"));
      }
    }
    const std::int64_t count = answer->get_int("count").value_or(0);
    run.info(
        std::to_string(count) + " post(s) by " + options->get_string("metric").value_or("views") +
        " of " + std::to_string(answer->get_int("considered").value_or(0)) + " in the period (" +
        std::to_string(answer->get_int("excluded_reposted").value_or(0)) + " re-posted recently, " +
        std::to_string(answer->get_int("without_metric").value_or(0)) + " without the metric, " +
        std::to_string(answer->get_int("skipped_missing_video").value_or(0)) +
        " without their video)");
    if (!run.set_output(
            json::ObjectBuilder()
                .add("posts", member(*answer, "posts", "[]"))
                .add("count", count)
                .add("considered", member(*answer, "considered", "0"))
                .add("excluded_reposted", member(*answer, "excluded_reposted", "0"))
                .add("without_metric", member(*answer, "without_metric", "0"))
                .add("skipped_missing_video", member(*answer, "skipped_missing_video", "0"))
                .add("skipped", member(*answer, "skipped", "[]")))) {
      return run.fail("posts.top: the host refused the output");
    }
    return RF_STATUS_OK;
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Top>(
        {.name = "posts.top",
         .summary = "The best past posts by a metric, with their videos (needs reelflowd)",
         .flags = RF_STEP_RERUN_SAFE},
        kTopOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "posts",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Past posts and how they did, for re-posting"},
                     kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
