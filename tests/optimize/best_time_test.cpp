#include "optimize/best_time.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/iso_time.hpp"

namespace reelflow::optimize {
namespace {

using nlohmann::json;
using triggers::TimeZone;

constexpr std::int64_t kHourMs = 3600 * 1000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

TimeZone zone(const std::string& name) {
  auto loaded = TimeZone::load(name);
  EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
  return loaded ? *loaded : TimeZone::fixed("UTC", 0);
}

// The instant of a wall time in `tz` (the first occurrence when it repeats).
// `day` may run below 1 (into the months before).
std::int64_t local_ms(const TimeZone& tz, int year, unsigned month, int day, int hour,
                      int minute = 0) {
  const triggers::LocalSeconds wall =
      (triggers::days_from_civil(year, month, 1) + day - 1) * 86400 + hour * 3600 + minute * 60;
  return tz.resolve(wall).earliest * 1000;
}

std::int64_t iso(const char* text) {
  auto parsed = parse_iso_time(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(0);
}

// A post with one 24h pull of 1000 views and `rate` of them engaging.
PostOutcome post_at(std::int64_t at_ms, double rate) {
  const auto engaged = static_cast<std::int64_t>(rate * 1000 + 0.5);
  return {at_ms,
          {{"24h",
            {{"views", 1000},
             {"likes", engaged - engaged / 5},
             {"comments", engaged / 10},
             {"shares", engaged / 5 - engaged / 10}}}}};
}

int argmax(const WeekScores& scores) {
  return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

std::vector<plugin_host::PostingWindow> windows_of(std::initializer_list<const char*> texts) {
  std::vector<plugin_host::PostingWindow> windows;
  for (const char* text : texts) {
    auto parsed = plugin_host::parse_posting_window(text);
    EXPECT_TRUE(parsed.has_value()) << text;
    if (parsed) windows.insert(windows.end(), parsed->begin(), parsed->end());
  }
  return windows;
}

// Monday 00:00 = 0.
constexpr int hour_index(int day_from_monday, int hour) { return day_from_monday * 24 + hour; }

TEST(BestTime, HourOfWeekFollowsTheZoneThroughDaylightSaving) {
  const TimeZone berlin = zone("Europe/Berlin");
  // Tuesday 19:00 in Berlin: 18:00 UTC in winter (CET), 17:00 UTC in summer (CEST).
  EXPECT_EQ(hour_of_week(berlin, iso("2026-02-17T18:00:00Z")), hour_index(1, 19));
  EXPECT_EQ(hour_of_week(berlin, iso("2026-04-07T17:00:00Z")), hour_index(1, 19));
  EXPECT_EQ(hour_of_week(zone("UTC"), iso("2026-04-07T17:00:00Z")), hour_index(1, 17));
  // Both occurrences of the repeated hour on the fall-back night are Sunday 02:00.
  EXPECT_EQ(hour_of_week(berlin, iso("2026-10-25T00:30:00Z")), hour_index(6, 2));
  EXPECT_EQ(hour_of_week(berlin, iso("2026-10-25T01:30:00Z")), hour_index(6, 2));
  // A zone east of UTC crosses the day: Monday 01:00 UTC is Monday 09:00 in Shanghai, and
  // Sunday 20:00 UTC is Monday 04:00 there.
  EXPECT_EQ(hour_of_week(zone("Asia/Shanghai"), iso("2026-05-03T20:00:00Z")), hour_index(0, 4));
  EXPECT_EQ(describe_hour(hour_index(1, 19)), "Tue 19:00");
  EXPECT_EQ(describe_hour(167), "Sun 23:00");
}

TEST(BestTime, AKnownPeakHourIsRecoveredAndTheNextOneChosen) {
  const TimeZone new_york = zone("America/New_York");
  const std::int64_t now = iso("2026-05-06T16:00:00Z");  // Wednesday 12:00 in New York
  // 16 weeks of posts, four a day at hours that move from day to day, about 3% engaging, with a
  // deterministic wobble; Thursday 20:00 local engages at 8%.
  std::vector<PostOutcome> posts;
  std::uint32_t state = 12345;
  for (int day = 1; day <= 16 * 7 - 1; ++day) {
    for (int slot = 0; slot < 4; ++slot) {
      state = state * 1664525u + 1013904223u;
      const int hour = static_cast<int>((state >> 8) % 24);
      const std::int64_t day_start = now - day * kDayMs;
      // The local wall hour `hour` on that day.
      const triggers::LocalSeconds local_day =
          triggers::floor_div(new_york.to_local(day_start / 1000), 86400) * 86400;
      const std::int64_t at = new_york.resolve(local_day + hour * 3600 + 600).earliest * 1000;
      const double wobble = static_cast<double>((state >> 4) % 11) / 1000.0 - 0.005;
      posts.push_back(post_at(at, 0.03 + wobble));
    }
  }
  // Every Thursday at 20:10 local (across the change to summer time on 8 March), the peak.
  for (int week = 0; week < 15; ++week) {
    posts.push_back(post_at(local_ms(new_york, 2026, 4, 30 - 7 * week, 20, 10), 0.08));
  }
  const auto windows = windows_of({"Mon-Fri 12:00-14:00"});
  const BestTimes times = learn_best_times(posts, new_york, windows, now);
  EXPECT_EQ(times.posts, static_cast<int>(posts.size()));
  EXPECT_EQ(times.skipped, 0);
  EXPECT_TRUE(times.decides);
  EXPECT_EQ(argmax(times.scores), hour_index(3, 20)) << describe_hour(argmax(times.scores));
  ASSERT_TRUE(times.mean.has_value());
  EXPECT_NEAR(*times.mean, 0.033, 0.003);
  EXPECT_GT(times.scores[hour_index(3, 20)], 1.4 * *times.mean);

  // From Wednesday noon, the best hour within the week is Thursday 20:00 EDT = Friday 00:00 UTC.
  const UpcomingSlot next = best_upcoming_slot(times.scores, new_york, now);
  EXPECT_EQ(next.hour_of_week, hour_index(3, 20));
  EXPECT_EQ(format_iso_time(next.at_ms), "2026-05-08T00:00:00.000Z");
  // The same input in another order gives the same scores (deterministic, order-free).
  std::reverse(posts.begin(), posts.end());
  const BestTimes again = learn_best_times(posts, new_york, windows, now);
  EXPECT_EQ(again.scores, times.scores);
  // Posts outside the 16 weeks or after now do not count.
  posts.push_back(post_at(now - 17 * 7 * kDayMs, 0.9));
  posts.push_back(post_at(now + kHourMs, 0.9));
  EXPECT_EQ(learn_best_times(posts, new_york, windows, now).posts, times.posts);
}

TEST(BestTime, ThinDataStaysNearThePriorAndMoreDataOutweighsIt) {
  const TimeZone utc = zone("UTC");
  const std::int64_t now = iso("2026-05-06T12:00:00Z");
  const auto windows = windows_of({"Mon-Fri 19:00-22:00"});
  // Tuesday 10:00 engages at 10%, Wednesday 03:00 at 2%; the windows are elsewhere.
  auto history = [&](int each) {
    std::vector<PostOutcome> posts;
    for (int week = 1; week <= each; ++week) {
      posts.push_back(post_at(local_ms(utc, 2026, 5, 5, 10) - week * 7 * kDayMs, 0.10));
      posts.push_back(post_at(local_ms(utc, 2026, 5, 6, 3) - week * 7 * kDayMs, 0.02));
    }
    return posts;
  };
  const BestTimes thin = learn_best_times(history(1), utc, windows, now);
  EXPECT_EQ(thin.posts, 2);
  EXPECT_FALSE(thin.decides);
  ASSERT_TRUE(thin.mean.has_value());
  EXPECT_NEAR(*thin.mean, 0.06, 1e-9);
  for (std::size_t h = 0; h < kHoursPerWeek; ++h) {
    // One post per hour moves it 1 - (5/6)^2 = 31% of the way from the prior to its data.
    EXPECT_NEAR(thin.scores[h], thin.prior[h], 0.4 * thin.prior[h]) << describe_hour(int(h));
  }
  // Inside the windows the prior is 20% above the mean, outside 20% below.
  EXPECT_NEAR(thin.prior[hour_index(0, 19)], 0.072, 1e-9);
  EXPECT_NEAR(thin.prior[hour_index(0, 10)], 0.048, 1e-9);
  const int thin_best = argmax(thin.scores);
  EXPECT_TRUE(thin_best % 24 >= 19 && thin_best % 24 < 22 && thin_best / 24 < 5)
      << describe_hour(thin_best);

  const BestTimes rich = learn_best_times(history(15), utc, windows, now);
  EXPECT_EQ(rich.posts, 30);
  EXPECT_TRUE(rich.decides);
  EXPECT_EQ(argmax(rich.scores), hour_index(1, 10)) << describe_hour(argmax(rich.scores));
  EXPECT_GT(rich.weight[hour_index(1, 10)], 14.9);
  // The data's weight grows with the posts: 1 post leaves most of the way to the prior, 15 most
  // of the way to the data.
  const std::size_t tue10 = hour_index(1, 10);
  EXPECT_LT(thin.scores[tue10] - thin.prior[tue10], 0.5 * (0.10 - thin.prior[tue10]));
  EXPECT_GT(rich.scores[tue10] - rich.prior[tue10], 0.5 * (0.10 - rich.prior[tue10]));

  // Without posts the scores are the windows' shape; without windows, flat.
  const BestTimes none = learn_best_times({}, utc, windows, now);
  EXPECT_EQ(none.posts, 0);
  EXPECT_FALSE(none.mean.has_value());
  EXPECT_NEAR(none.scores[hour_index(2, 20)], 1.2, 1e-9);
  EXPECT_NEAR(none.scores[hour_index(5, 20)], 0.8, 1e-9);
  const BestTimes flat = learn_best_times({}, utc, {}, now);
  EXPECT_EQ(*std::min_element(flat.scores.begin(), flat.scores.end()),
            *std::max_element(flat.scores.begin(), flat.scores.end()));
}

TEST(BestTime, PostsAcrossADaylightSavingChangeLandOnTheirLocalHour) {
  const TimeZone berlin = zone("Europe/Berlin");
  const std::int64_t now = iso("2026-04-20T12:00:00Z");
  // Tuesdays 19:30 Berlin time from February to April: 18:30 UTC before 29 March, 17:30 after.
  std::vector<PostOutcome> posts;
  for (std::int64_t at = iso("2026-02-03T18:30:00Z"); at < iso("2026-03-29T00:00:00Z");
       at += 7 * kDayMs) {
    posts.push_back(post_at(at, 0.09));
  }
  for (std::int64_t at = iso("2026-03-31T17:30:00Z"); at < now; at += 7 * kDayMs) {
    posts.push_back(post_at(at, 0.09));
  }
  // Everything else 3%, spread over other hours.
  for (int day = 1; day <= 70; ++day) {
    posts.push_back(post_at(now - day * kDayMs + (day % 9) * kHourMs, 0.03));
  }
  const BestTimes berlin_times = learn_best_times(posts, berlin, {}, now);
  EXPECT_EQ(argmax(berlin_times.scores), hour_index(1, 19))
      << describe_hour(argmax(berlin_times.scores));
  // Read in UTC the same posts split between 17:00 and 18:00: no single hour holds them all.
  const BestTimes utc_times = learn_best_times(posts, zone("UTC"), {}, now);
  EXPECT_LT(utc_times.weight[hour_index(1, 18)], berlin_times.weight[hour_index(1, 19)]);
}

TEST(BestTime, TheUpcomingSlotSkipsAndRepeatsHoursAsTheClockDoes) {
  const TimeZone berlin = zone("Europe/Berlin");
  WeekScores scores{};
  scores.fill(0.01);
  scores[hour_index(6, 2)] = 0.05;   // Sunday 02:00
  scores[hour_index(1, 19)] = 0.04;  // Tuesday 19:00
  // Saturday 28 March: the night to Sunday skips 02:00-03:00, and the next Sunday 02:00
  // (5 April) is more than 7 days away: Tuesday 19:00 summer time is the best within the week.
  UpcomingSlot spring = best_upcoming_slot(scores, berlin, iso("2026-03-28T12:00:00Z"));
  EXPECT_EQ(spring.hour_of_week, hour_index(1, 19));
  EXPECT_EQ(format_iso_time(spring.at_ms), "2026-03-31T17:00:00.000Z");  // 19:00 CEST
  // Two days later, 5 April 02:00 is within the week.
  UpcomingSlot after = best_upcoming_slot(scores, berlin, iso("2026-03-30T12:00:00Z"));
  EXPECT_EQ(after.hour_of_week, hour_index(6, 2));
  EXPECT_EQ(format_iso_time(after.at_ms), "2026-04-05T00:00:00.000Z");
  // Saturday 24 October: 02:00 happens twice that night; the first one (CEST) is chosen.
  UpcomingSlot fall = best_upcoming_slot(scores, berlin, iso("2026-10-24T12:00:00Z"));
  EXPECT_EQ(fall.hour_of_week, hour_index(6, 2));
  EXPECT_EQ(format_iso_time(fall.at_ms), "2026-10-25T00:00:00.000Z");
}

TEST(BestTime, TheUpcomingSlotHonoursLeadTimeHorizonAndTheHourUnderWay) {
  const TimeZone utc = zone("UTC");
  WeekScores scores{};
  scores.fill(0.01);
  scores[hour_index(2, 12)] = 0.05;  // Wednesday 12:00
  scores[hour_index(2, 18)] = 0.03;  // Wednesday 18:00
  scores[hour_index(4, 9)] = 0.04;   // Friday 09:00
  // Inside the best hour: now.
  const std::int64_t noon_twenty = iso("2026-05-06T12:20:00Z");
  UpcomingSlot now_slot = best_upcoming_slot(scores, utc, noon_twenty);
  EXPECT_EQ(now_slot.at_ms, noon_twenty);
  EXPECT_EQ(now_slot.hour_of_week, hour_index(2, 12));
  // A lead of 15 minutes still lands inside it; a lead of an hour does not: the next Wednesday
  // 12:00 is within the 7 days after 13:20, and within 6 days Friday 09:00 is the best.
  EXPECT_EQ(best_upcoming_slot(scores, utc, noon_twenty, 15 * 60 * 1000).at_ms,
            noon_twenty + 15 * 60 * 1000);
  EXPECT_EQ(format_iso_time(best_upcoming_slot(scores, utc, noon_twenty, kHourMs).at_ms),
            "2026-05-13T12:00:00.000Z");
  EXPECT_EQ(
      format_iso_time(best_upcoming_slot(scores, utc, noon_twenty, kHourMs, 6 * kDayMs).at_ms),
      "2026-05-08T09:00:00.000Z");
  // Within one day only, Wednesday 18:00.
  EXPECT_EQ(format_iso_time(best_upcoming_slot(scores, utc, noon_twenty, kHourMs, kDayMs).at_ms),
            "2026-05-06T18:00:00.000Z");
  // Equal scores: the earliest, which is now.
  WeekScores flat{};
  flat.fill(0.02);
  EXPECT_EQ(best_upcoming_slot(flat, utc, noon_twenty).at_ms, noon_twenty);
  // Top hours as windows, in the week's order.
  auto top = top_hours(scores, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].start_minute, hour_index(2, 12) * 60);
  EXPECT_EQ(top[1].start_minute, hour_index(4, 9) * 60);
  EXPECT_EQ(top[1].end_minute, hour_index(4, 10) * 60);
}

TEST(BestTime, ThePullClosestToADayStandsForAPost) {
  const json pulls = {{"1h", {{"views", 100}, {"likes", 50}}},
                      {"6h", {{"views", 300}, {"likes", 60}}},
                      {"24h", {{"views", 1000}, {"likes", 40}, {"comments", 5}, {"shares", 5}}},
                      {"7d", {{"views", 5000}, {"likes", 100}}}};
  auto chosen = engagement_of(pulls);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(chosen->label, "24h");
  EXPECT_NEAR(chosen->rate, 0.05, 1e-12);
  // Without 24h: 3d (3x) is closer than 6h (4x).
  json other = pulls;
  other.erase("24h");
  other["3d"] = {{"views", 2000}, {"likes", 20}};
  EXPECT_EQ(engagement_of(other)->label, "3d");
  // A tie (12h and 2d are both 2x away) goes to the later pull.
  EXPECT_EQ(engagement_of(
                {{"12h", {{"views", 100}, {"likes", 1}}}, {"2d", {{"views", 100}, {"likes", 2}}}})
                ->label,
            "2d");
  // A 24h pull with no views falls back to the next closest usable one.
  json fallback = pulls;
  fallback["24h"]["views"] = 0;
  EXPECT_EQ(engagement_of(fallback)->label, "6h");
  // Engagements above the views are capped at a rate of 1.
  EXPECT_EQ(engagement_of({{"24h", {{"views", 10}, {"likes", 50}}}})->rate, 1.0);
}

TEST(BestTime, BadMetricsAreSkippedWithoutACrash) {
  const TimeZone utc = zone("UTC");
  const std::int64_t now = iso("2026-05-06T12:00:00Z");
  const std::int64_t at = now - 2 * kDayMs;
  const std::vector<PostOutcome> posts = {
      {at, json::object()},                                 // never pulled
      {at, {{"24h", {{"likes", 5}, {"comments", 1}}}}},     // no views
      {at, {{"24h", {{"views", 0}, {"likes", 5}}}}},        // zero views
      {at, {{"24h", {{"views", 5}, {"likes", 1}}}}},        // too few views
      {at, {{"24h", {{"views", "many"}, {"likes", 5}}}}},   // not a number
      {at, {{"24h", {{"views", -100}, {"likes", 5}}}}},     // negative
      {at, {{"24h", {{"views", 100}, {"likes", -1}}}}},     // negative counter
      {at, {{"24h", {{"views", 100}, {"saved", 3}}}}},      // no engagements
      {at, {{"24h", {{"views", nullptr}, {"likes", 5}}}}},  // null
      {at, {{"soon", {{"views", 100}, {"likes", 5}}}}},     // not an age
      {at, {{"24h", json::array({1, 2})}}},                 // not an object
      {at, json::array()},                                  // not an object
      {at, nullptr},                                        // nothing
  };
  const BestTimes times = learn_best_times(posts, utc, windows_of({"daily 19:00-21:00"}), now);
  EXPECT_EQ(times.posts, 0);
  EXPECT_EQ(times.skipped, static_cast<int>(posts.size()));
  EXPECT_FALSE(times.decides);
  EXPECT_EQ(times.scores, times.prior);
  // One good post among them counts alone.
  std::vector<PostOutcome> with_good = posts;
  with_good.push_back(post_at(at, 0.04));
  const BestTimes one = learn_best_times(with_good, utc, {}, now);
  EXPECT_EQ(one.posts, 1);
  EXPECT_NEAR(one.mean.value_or(0), 0.04, 1e-9);
  const json shown = to_json(one, {}, std::nullopt, 3);
  EXPECT_EQ(shown["posts"], 1);
  EXPECT_EQ(shown["skipped"], static_cast<int>(posts.size()));
  EXPECT_EQ(shown["scores"].size(), 168u);
  EXPECT_EQ(shown["top"].size(), 3u);
  EXPECT_EQ(shown["history_weeks"], 16);
  EXPECT_FALSE(shown.contains("next"));
}

}  // namespace
}  // namespace reelflow::optimize
