// When an account's next post may go (engine/post_slots.hpp): rolling and calendar-day quotas,
// spacing, and posting windows, against the system's tz database (DST in Europe/Berlin and
// America/New_York, none in Asia/Shanghai). 2026-11-30 is a Monday.
#include "engine/post_slots.hpp"

#include <gtest/gtest.h>

#include "common/iso_time.hpp"

namespace reelflow::engine {
namespace {

using plugin_host::PostQuota;

std::int64_t at(const char* iso) { return *parse_iso_time(iso); }

std::string slot(const Pacing& pacing, const std::vector<std::int64_t>& taken, const char* now) {
  auto t = next_post_slot(pacing, taken, at(now));
  if (!t) return "error: " + t.error().message;
  return format_iso_time(*t);
}

std::vector<plugin_host::PostingWindow> windows(std::initializer_list<const char*> texts) {
  std::vector<plugin_host::PostingWindow> out;
  for (const char* text : texts) {
    auto parsed = plugin_host::parse_posting_window(text);
    EXPECT_TRUE(parsed.has_value()) << text;
    if (parsed) out.insert(out.end(), parsed->begin(), parsed->end());
  }
  return out;
}

std::string window_time(std::initializer_list<const char*> texts, const char* zone,
                        const char* now) {
  auto t = next_window_time(windows(texts), zone, at(now));
  if (!t) return "error: " + t.error().message;
  return format_iso_time(*t);
}

TEST(PostSlots, NothingPacesAnEmptyPacing) {
  EXPECT_EQ(slot({}, {at("2026-11-30T09:59:59Z")}, "2026-11-30T10:00:00Z"),
            "2026-11-30T10:00:00.000Z");
}

TEST(PostSlots, ARollingQuotaWaitsForTheOldestPostInTheWindowToLeaveIt) {
  // TikTok: 6 video/init calls a minute.
  Pacing pacing;
  pacing.quotas.push_back({.name = "inits", .limit = 6, .window_ms = 60000});
  std::vector<std::int64_t> taken;
  for (int s : {50, 41, 32, 23, 14, 5}) taken.push_back(at("2026-11-30T10:00:00Z") - s * 1000);
  EXPECT_EQ(slot(pacing, taken, "2026-11-30T10:00:00Z"), "2026-11-30T10:00:10.000Z");
  taken.erase(taken.begin());  // five in the last minute: one more may go now
  EXPECT_EQ(slot(pacing, taken, "2026-11-30T10:00:00Z"), "2026-11-30T10:00:00.000Z");
}

TEST(PostSlots, ACalendarDayQuotaWaitsForTheNextLocalMidnight) {
  // Bilibili: 5 submissions a day, in Shanghai (UTC+8, no DST): 18:00 local now.
  Pacing pacing;
  pacing.quotas.push_back({.name = "submissions", .limit = 5, .time_zone = "Asia/Shanghai"});
  std::vector<std::int64_t> taken;
  for (int h = 2; h <= 6; ++h) taken.push_back(at("2026-11-30T00:00:00Z") + h * 3600000LL);
  EXPECT_EQ(slot(pacing, taken, "2026-11-30T10:00:00Z"), "2026-11-30T16:00:00.000Z");
  // A post at 23:30 UTC on the 29th was the 30th in Shanghai; one at 15:30 UTC the 29th was not.
  taken = {at("2026-11-29T15:30:00Z"), at("2026-11-29T16:30:00Z"), taken[0], taken[1], taken[2],
           taken[3]};
  EXPECT_EQ(slot(pacing, taken, "2026-11-30T10:00:00Z"), "2026-11-30T16:00:00.000Z");
  taken.erase(taken.begin() + 1);
  EXPECT_EQ(slot(pacing, taken, "2026-11-30T10:00:00Z"), "2026-11-30T10:00:00.000Z");
}

TEST(PostSlots, ADayQuotaFollowsDaylightSavingTime) {
  // America/New_York falls back on 2026-11-01: that day has 25 hours, and ends at 05:00 UTC.
  Pacing pacing;
  pacing.quotas.push_back({.name = "uploads", .limit = 1, .time_zone = "America/New_York"});
  EXPECT_EQ(slot(pacing, {at("2026-11-01T05:00:00Z")}, "2026-11-01T12:00:00Z"),
            "2026-11-02T05:00:00.000Z");
  // Europe/Berlin springs forward on 2027-03-28: a 23-hour day that ends at 22:00 UTC.
  pacing.quotas[0].time_zone = "Europe/Berlin";
  EXPECT_EQ(slot(pacing, {at("2027-03-28T08:00:00Z")}, "2027-03-28T09:00:00Z"),
            "2027-03-28T22:00:00.000Z");
}

TEST(PostSlots, SpacingKeepsPostsApartOnBothSides) {
  Pacing pacing;
  pacing.spacing_ms = 3600000;
  EXPECT_EQ(slot(pacing, {at("2026-11-30T09:30:00Z")}, "2026-11-30T10:00:00Z"),
            "2026-11-30T10:30:00.000Z");
  // A post scheduled at 10:20 and one at 11:30: the first free hour starts at 12:30.
  EXPECT_EQ(slot(pacing, {at("2026-11-30T10:20:00Z"), at("2026-11-30T11:30:00Z")},
                 "2026-11-30T10:00:00Z"),
            "2026-11-30T12:30:00.000Z");
}

TEST(PostSlots, WindowsAndSpacingTogetherMoveAPostToTheNextWindow) {
  Pacing pacing;
  pacing.spacing_ms = 3600000;
  pacing.windows = windows({"Mon-Fri 12:00-14:00"});
  pacing.windows_zone = "UTC";
  EXPECT_EQ(slot(pacing, {at("2026-11-30T12:30:00Z")}, "2026-11-30T12:10:00Z"),
            "2026-11-30T13:30:00.000Z");
  EXPECT_EQ(slot(pacing, {at("2026-11-30T13:30:00Z")}, "2026-11-30T13:10:00Z"),
            "2026-12-01T12:00:00.000Z")
      << "14:30 is past Monday's window: Tuesday's opens at 12:00";
}

TEST(PostSlots, WindowsStartInTheirZone) {
  // Monday 18:00 in Shanghai is 10:00 UTC.
  EXPECT_EQ(window_time({"Mon-Fri 12:00-14:00"}, "Asia/Shanghai", "2026-11-30T01:00:00Z"),
            "2026-11-30T04:00:00.000Z");
  EXPECT_EQ(window_time({"Mon-Fri 12:00-14:00"}, "Asia/Shanghai", "2026-11-30T05:00:00Z"),
            "2026-11-30T05:00:00.000Z")
      << "inside a window: now";
  // Friday 14:00 Shanghai is past the last weekday window: next Monday 12:00.
  EXPECT_EQ(window_time({"Mon-Fri 12:00-14:00"}, "Asia/Shanghai", "2026-12-04T06:00:00Z"),
            "2026-12-07T04:00:00.000Z");
  EXPECT_EQ(window_time({"Sun 23:00-24:00", "Mon 08:00-09:00"}, "UTC", "2026-12-06T23:59:30Z"),
            "2026-12-06T23:59:30.000Z");
}

TEST(PostSlots, AWindowStartThatDaylightSavingSkipsBeginsAtTheEndOfTheGap) {
  // Berlin 2027-03-28: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 does not exist.
  EXPECT_EQ(window_time({"Sun 02:30-04:00"}, "Europe/Berlin", "2027-03-27T12:00:00Z"),
            "2027-03-28T01:00:00.000Z");
  // New York 2026-11-01: 18:00 is EST (UTC-5) after the night's fall-back.
  EXPECT_EQ(window_time({"daily 18:00-19:00"}, "America/New_York", "2026-10-31T23:30:00Z"),
            "2026-11-01T23:00:00.000Z");
}

TEST(PostSlots, AZoneThatCannotBeLoadedIsNamed) {
  Pacing pacing;
  pacing.quotas.push_back({.name = "uploads", .limit = 1, .time_zone = "Mars/Olympus"});
  EXPECT_EQ(slot(pacing, {at("2026-11-30T05:00:00Z")}, "2026-11-30T12:00:00Z").substr(0, 48),
            "error: quota 'uploads': time zone 'Mars/Olympus'");
}

}  // namespace
}  // namespace reelflow::engine
