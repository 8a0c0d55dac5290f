#include "optimize/best_time.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "common/duration.hpp"
#include "common/iso_time.hpp"

namespace reelflow::optimize {

namespace {

using nlohmann::json;

constexpr std::int64_t kSecondsPerHour = 3600;
constexpr int kMinutesPerWeek = kHoursPerWeek * 60;

// A counter of a pull: nullopt when absent; a negative or non-numeric value makes the pull
// unusable (`bad`).
std::optional<double> counter(const json& values, const char* name, bool& bad) {
  auto found = values.find(name);
  if (found == values.end() || found->is_null()) return std::nullopt;
  if (!found->is_number()) {
    bad = true;
    return std::nullopt;
  }
  const double value = found->get<double>();
  if (!std::isfinite(value) || value < 0) {
    bad = true;
    return std::nullopt;
  }
  return value;
}

std::optional<double> rate_of(const json& values, const BestTimeConfig& config) {
  if (!values.is_object()) return std::nullopt;
  bool bad = false;
  auto views = counter(values, "views", bad);
  std::optional<double> parts[] = {counter(values, "likes", bad), counter(values, "comments", bad),
                                   counter(values, "shares", bad)};
  if (bad || !views || *views < std::max(config.min_views, 1.0)) return std::nullopt;
  double engagements = 0;
  bool any = false;
  for (const auto& part : parts) {
    if (!part) continue;
    engagements += *part;
    any = true;
  }
  if (!any) return std::nullopt;
  return std::min(1.0, engagements / *views);
}

// Circular distance between two positions on a ring of `size`.
int ring_distance(int a, int b, int size) {
  const int d = std::abs(a - b) % size;
  return std::min(d, size - d);
}

// The share of hour `hour` of the week that the windows cover.
double window_coverage(const std::vector<plugin_host::PostingWindow>& windows, int hour) {
  const int start = hour * 60;
  const int end = start + 60;
  std::array<bool, 60> covered{};
  for (const auto& window : windows) {
    // Windows are minutes of the week; one may run past the week's end into Monday.
    for (int shift : {0, -kMinutesPerWeek, kMinutesPerWeek}) {
      const int from = std::max(start, window.start_minute + shift);
      const int to = std::min(end, window.end_minute + shift);
      for (int minute = from; minute < to; ++minute)
        covered[static_cast<std::size_t>(minute - start)] = true;
    }
  }
  return static_cast<double>(std::count(covered.begin(), covered.end(), true)) / 60.0;
}

double round_to(double value, double scale) { return std::round(value * scale) / scale; }

}  // namespace

std::optional<Engagement> engagement_of(const json& metrics, const BestTimeConfig& config) {
  if (!metrics.is_object()) return std::nullopt;
  struct Candidate {
    double distance;
    double seconds;
    std::string label;
  };
  std::vector<Candidate> candidates;
  for (const auto& [label, values] : metrics.items()) {
    auto seconds = parse_duration(label);
    if (!seconds || *seconds <= 0) continue;
    candidates.push_back(
        {std::abs(std::log(*seconds / config.target_age_seconds)), *seconds, label});
  }
  // Closest to the target age first; on a tie the later pull (more settled counters).
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.distance != b.distance) return a.distance < b.distance;
    return a.seconds > b.seconds;
  });
  for (const auto& candidate : candidates) {
    if (auto rate = rate_of(metrics[candidate.label], config)) {
      return Engagement{*rate, candidate.label};
    }
  }
  return std::nullopt;
}

int hour_of_week(const triggers::TimeZone& zone, std::int64_t instant_ms) {
  const triggers::LocalSeconds local = zone.to_local(triggers::floor_div(instant_ms, 1000));
  const std::int64_t days = triggers::floor_div(local, 86400);
  const int monday_based = static_cast<int>((triggers::weekday(days) + 6) % 7);
  const int hour = static_cast<int>((local - days * 86400) / kSecondsPerHour);
  return monday_based * 24 + hour;
}

std::string describe_hour(int hour_of_week) {
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  const int wrapped = ((hour_of_week % kHoursPerWeek) + kHoursPerWeek) % kHoursPerWeek;
  char text[16];
  std::snprintf(text, sizeof text, "%s %02d:00", kDays[wrapped / 24], wrapped % 24);
  return text;
}

BestTimes learn_best_times(const std::vector<PostOutcome>& posts, const triggers::TimeZone& zone,
                           const std::vector<plugin_host::PostingWindow>& windows,
                           std::int64_t now_ms, const BestTimeConfig& config) {
  BestTimes out;
  // (hour of the week, rate) per usable post, summed in sorted order so that the scores do not
  // depend on the order of `posts` even in the last bit.
  std::vector<std::pair<int, double>> rated;
  for (const auto& post : posts) {
    if (post.published_at_ms > now_ms || post.published_at_ms < now_ms - config.history_ms) {
      continue;
    }
    auto engagement = engagement_of(post.metrics, config);
    if (!engagement) {
      ++out.skipped;
      continue;
    }
    rated.emplace_back(hour_of_week(zone, post.published_at_ms), engagement->rate);
  }
  std::sort(rated.begin(), rated.end());
  WeekScores count{}, sum{};
  for (const auto& [hour, rate] : rated) {
    count[static_cast<std::size_t>(hour)] += 1;
    sum[static_cast<std::size_t>(hour)] += rate;
  }
  out.posts = static_cast<int>(rated.size());
  const double total = std::accumulate(sum.begin(), sum.end(), 0.0);
  if (out.posts > 0) out.mean = total / out.posts;
  const double mu = out.mean.value_or(1.0);

  out.has_windows = !windows.empty();
  for (int hour = 0; hour < kHoursPerWeek; ++hour) {
    const double lift =
        out.has_windows ? config.window_lift * (2 * window_coverage(windows, hour) - 1) : 0.0;
    out.prior[static_cast<std::size_t>(hour)] = mu * (1 + lift);
  }

  const int reach = std::max(0, config.kernel_reach_hours);
  const double sigma = std::max(config.kernel_sigma_hours, 1e-6);
  auto kernel = [&](int distance) {
    return distance > reach ? 0.0 : std::exp(-0.5 * distance * distance / (sigma * sigma));
  };
  // The hour of the day pooled over the seven days, then each hour of the week on its own.
  std::array<double, 24> day_count{}, day_sum{};
  for (int hour = 0; hour < kHoursPerWeek; ++hour) {
    day_count[static_cast<std::size_t>(hour % 24)] += count[static_cast<std::size_t>(hour)];
    day_sum[static_cast<std::size_t>(hour % 24)] += sum[static_cast<std::size_t>(hour)];
  }
  const double kappa = std::max(config.prior_strength, 0.0);
  for (int hour = 0; hour < kHoursPerWeek; ++hour) {
    const auto h = static_cast<std::size_t>(hour);
    double day_n = 0, day_y = 0, week_n = 0, week_y = 0;
    for (int other = 0; other < 24; ++other) {
      const double k = kernel(ring_distance(hour % 24, other, 24));
      day_n += k * day_count[static_cast<std::size_t>(other)];
      day_y += k * day_sum[static_cast<std::size_t>(other)];
    }
    for (int offset = -reach; offset <= reach; ++offset) {
      const auto other = static_cast<std::size_t>((hour + offset + kHoursPerWeek) % kHoursPerWeek);
      const double k = kernel(std::abs(offset));
      week_n += k * count[other];
      week_y += k * sum[other];
    }
    const double daily =
        day_n + kappa > 0 ? (day_y + kappa * out.prior[h]) / (day_n + kappa) : out.prior[h];
    out.scores[h] = week_n + kappa > 0 ? (week_y + kappa * daily) / (week_n + kappa) : daily;
    out.weight[h] = week_n;
  }
  out.decides = out.posts >= config.min_posts;
  return out;
}

UpcomingSlot best_upcoming_slot(const WeekScores& scores, const triggers::TimeZone& zone,
                                std::int64_t now_ms, std::int64_t lead_ms,
                                std::int64_t horizon_ms) {
  const std::int64_t start_ms = now_ms + std::max<std::int64_t>(lead_ms, 0);
  const std::int64_t end_ms = start_ms + std::max<std::int64_t>(horizon_ms, 1);
  UpcomingSlot best;
  best.at_ms = start_ms;
  best.hour_of_week = hour_of_week(zone, start_ms);
  best.score = scores[static_cast<std::size_t>(best.hour_of_week)];
  const triggers::LocalSeconds local = zone.to_local(triggers::floor_div(start_ms, 1000));
  const triggers::LocalSeconds hour_start =
      triggers::floor_div(local, kSecondsPerHour) * kSecondsPerHour;
  // Every local hour that starts within the horizon (a week has 168; DST adds or drops one).
  const std::int64_t bound = horizon_ms / (kSecondsPerHour * 1000) + 3;
  for (std::int64_t k = 1; k <= bound; ++k) {
    const triggers::LocalSeconds wall = hour_start + k * kSecondsPerHour;
    const auto resolved = zone.resolve(wall);
    triggers::UtcSeconds instant = resolved.earliest;
    if (resolved.kind == triggers::LocalResolution::Kind::gap) {
      // Skipped in full (the usual hour-long gap) or in part (the hour begins at the gap's end).
      if (zone.to_local(resolved.gap_end) >= wall + kSecondsPerHour) continue;
      instant = resolved.gap_end;
    }
    const std::int64_t at_ms = instant * 1000;
    if (at_ms <= start_ms) continue;
    if (at_ms >= end_ms) break;
    const int hour = hour_of_week(zone, at_ms);
    const double score = scores[static_cast<std::size_t>(hour)];
    if (score > best.score) best = {at_ms, hour, score};
  }
  return best;
}

std::vector<plugin_host::PostingWindow> top_hours(const WeekScores& scores, std::size_t count) {
  std::vector<int> order(kHoursPerWeek);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)];
  });
  order.resize(std::min<std::size_t>(count, order.size()));
  std::sort(order.begin(), order.end());
  std::vector<plugin_host::PostingWindow> windows;
  for (int hour : order) windows.push_back({hour * 60, hour * 60 + 60});
  return windows;
}

json to_json(const BestTimes& times, const BestTimeConfig& config,
             const std::optional<UpcomingSlot>& next, std::size_t top) {
  json scores = json::array(), prior = json::array(), weight = json::array();
  for (std::size_t h = 0; h < kHoursPerWeek; ++h) {
    scores.push_back(round_to(times.scores[h], 1e6));
    prior.push_back(round_to(times.prior[h], 1e6));
    weight.push_back(round_to(times.weight[h], 1e3));
  }
  json best = json::array();
  std::vector<int> order(kHoursPerWeek);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return times.scores[static_cast<std::size_t>(a)] > times.scores[static_cast<std::size_t>(b)];
  });
  for (std::size_t i = 0; i < std::min<std::size_t>(top, order.size()); ++i) {
    const auto h = static_cast<std::size_t>(order[i]);
    best.push_back({{"hour_of_week", order[i]},
                    {"when", describe_hour(order[i])},
                    {"score", round_to(times.scores[h], 1e6)},
                    {"prior", round_to(times.prior[h], 1e6)},
                    {"weight", round_to(times.weight[h], 1e3)}});
  }
  json out = {{"posts", times.posts},
              {"skipped", times.skipped},
              {"mean", times.mean ? json(round_to(*times.mean, 1e6)) : json(nullptr)},
              {"min_posts", config.min_posts},
              {"decides", times.decides},
              {"history_weeks", config.history_ms / (7LL * 86400 * 1000)},
              {"has_windows", times.has_windows},
              {"top", std::move(best)},
              {"scores", std::move(scores)},
              {"prior", std::move(prior)},
              {"weight", std::move(weight)}};
  if (next) {
    out["next"] = {{"at", format_iso_time(next->at_ms)},
                   {"at_ms", next->at_ms},
                   {"hour_of_week", next->hour_of_week},
                   {"when", describe_hour(next->hour_of_week)},
                   {"score", round_to(next->score, 1e6)}};
  }
  return out;
}

}  // namespace reelflow::optimize
