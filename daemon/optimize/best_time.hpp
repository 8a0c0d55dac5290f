// Best time to post (issue 8, deliverable 3): an engagement score for every local hour of the
// week (168 hours, Monday 00:00-01:00 first), learned from an account's own results and shrunk
// towards a prior built from its posting windows when the results are thin. It feeds
// `publish_at: best` (engine/runner.cpp), `GET /v1/best-times` and `reelflow optimize times`.
// The anchor is Sprout Social's best-times model: 16 weeks of the account's history, falling back
// to network-wide averages when there is too little of it.
//
// What one post contributes: its engagement rate, (likes + comments + shares) / views, capped at
// 1, from one metrics pull: the one whose label ("24h", "3d", ...) is closest to 24 hours (by
// ratio; on a tie the later one) among the pulls with at least `min_views` views. A post without
// such a pull (no views, zero views, non-numeric or negative counters, no likes, comments or
// shares at all) is skipped and counted in `skipped`.
//
// The model, for hour h of the week, with y_p a post's rate and K a Gaussian kernel over the
// distance in hours (sigma 1 h, reaching 2 h either side; circular over the day and the week):
//
//   mu          the mean rate of the account's posts (1 when there are none: the scores are then
//               the prior's shape alone)
//   prior_h     mu * (1 + lift * (2 c_h - 1)), c_h the share of hour h inside the posting windows
//               (the account's limits.windows, else its platform's); mu when there are no windows.
//               lift = 0.2: the windows are believed to be worth +-20% before any data.
//   daily_h     the hour of the day, pooled over the seven days, shrunk towards the prior:
//                 (sum_p K(day distance) y_p + kappa prior_h) / (sum_p K(day distance) + kappa)
//   score_h     the hour of the week, shrunk towards its hour of the day:
//                 (sum_p K(week distance) y_p + kappa daily_h) / (sum_p K(week distance) + kappa)
//
// kappa = 5 is the prior's strength in posts: an hour with n (kernel-weighted) posts behind it
// trusts its own mean with weight n / (n + 5). Two levels of shrinkage (hour of week -> hour of
// day -> windows) let an account with a few dozen posts learn its daily rhythm long before every
// hour of the week has data of its own. `publish_at: best` follows the scores once `min_posts`
// (10) posts count; below that the windows decide.
//
// Thread-safety: plain values and pure functions; deterministic (no randomness).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "plugin_host/publish_limits.hpp"
#include "triggers/time_zone.hpp"

namespace reelflow::optimize {

inline constexpr int kHoursPerWeek = 168;
using WeekScores = std::array<double, kHoursPerWeek>;

// One published post of the account and the metrics pulled for it.
struct PostOutcome {
  std::int64_t published_at_ms = 0;
  // label ("1h", "24h", "3d", ...) -> {"views": N, "likes": N, "comments": N, "shares": N, ...}
  nlohmann::json metrics = nlohmann::json::object();
};

struct BestTimeConfig {
  std::int64_t history_ms = 16LL * 7 * 86400 * 1000;  // posts older than this are not used
  double target_age_seconds = 86400;                  // the pull that stands for a post: ~24h
  double min_views = 10;          // a pull with fewer views is too noisy to be a rate
  double kernel_sigma_hours = 1;  // smoothing across neighbouring hours
  int kernel_reach_hours = 2;
  double prior_strength = 5;  // kappa: the prior's weight, in posts
  double window_lift = 0.2;   // how much better the windows' hours are believed to be
  int min_posts = 10;         // posts with metrics before the scores decide publish_at: best
};

// A post's engagement rate and the label of the pull it came from; nullopt when no pull is
// usable (see the header comment).
struct Engagement {
  double rate = 0;
  std::string label;
};
std::optional<Engagement> engagement_of(const nlohmann::json& metrics,
                                        const BestTimeConfig& config = {});

// The local hour of the week (0 = Monday 00:00-01:00, 167 = Sunday 23:00-24:00) of an instant.
int hour_of_week(const triggers::TimeZone& zone, std::int64_t instant_ms);
// "Tue 19:00".
std::string describe_hour(int hour_of_week);

struct BestTimes {
  WeekScores scores{};         // learned engagement rate per local hour of the week
  WeekScores prior{};          // what the scores are shrunk towards (from the windows)
  WeekScores weight{};         // kernel-weighted posts behind each hour of the week itself
  int posts = 0;               // posts of the history whose metrics counted
  int skipped = 0;             // posts of the history without usable metrics
  std::optional<double> mean;  // the account's mean rate; unset without posts
  bool has_windows = false;
  // Whether the scores decide publish_at: best (posts >= config.min_posts).
  bool decides = false;
};

// Learns the scores from `posts` (any order; those published after now_ms or more than
// config.history_ms before it are ignored) in `zone`, with `windows` (minutes of the local week)
// as the prior.
BestTimes learn_best_times(const std::vector<PostOutcome>& posts, const triggers::TimeZone& zone,
                           const std::vector<plugin_host::PostingWindow>& windows,
                           std::int64_t now_ms, const BestTimeConfig& config = {});

struct UpcomingSlot {
  std::int64_t at_ms = 0;  // when to post: the hour's start, or now + lead inside that hour
  int hour_of_week = 0;
  double score = 0;
};

// The best moment from now_ms + lead_ms on, within horizon_ms: the hour of the week with the
// highest score among the hour under way at now_ms + lead_ms (posting then) and the local hours
// that start before now_ms + lead_ms + horizon_ms (posting at their start). Ties go to the
// earliest. An hour that a spring-forward skips is no candidate; one a fall-back repeats counts
// once, at its first occurrence. horizon_ms > 0.
UpcomingSlot best_upcoming_slot(const WeekScores& scores, const triggers::TimeZone& zone,
                                std::int64_t now_ms, std::int64_t lead_ms = 0,
                                std::int64_t horizon_ms = 7LL * 86400 * 1000);

// The `count` best hours of the week (ties: the earlier hour) as one-hour posting windows,
// in the order of the week.
std::vector<plugin_host::PostingWindow> top_hours(const WeekScores& scores, std::size_t count);

// The learned times as the control API shows them: {"posts", "skipped", "mean", "min_posts",
// "decides", "history_weeks", "has_windows", "top": [{"hour_of_week", "when", "score", "prior",
// "weight"}] (the best `top` hours), "scores": [168], "prior": [168], "weight": [168]}, and
// "next": {"at", "hour_of_week", "when", "score"} when `next` is given. Rates are rounded to
// 6 decimals, weights to 3.
nlohmann::json to_json(const BestTimes& times, const BestTimeConfig& config,
                       const std::optional<UpcomingSlot>& next, std::size_t top = 10);

}  // namespace reelflow::optimize
