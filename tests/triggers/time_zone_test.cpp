#include "triggers/time_zone.hpp"

#include <gtest/gtest.h>

namespace reelflow::triggers {
namespace {

UtcSeconds utc(int year, unsigned month, unsigned day, int hour, int minute) {
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60;
}

TimeZone zone(const char* name) {
  auto loaded = TimeZone::load(name);
  EXPECT_TRUE(loaded) << loaded.error().message;
  return loaded ? *loaded : TimeZone::fixed("UTC", 0);
}

TEST(TimeZone, BerlinOffsetsFromTableAndFooterRule) {
  TimeZone berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.utc_offset(utc(2026, 1, 15, 12, 0)), 3600);
  EXPECT_EQ(berlin.utc_offset(utc(2026, 7, 15, 12, 0)), 7200);
  EXPECT_EQ(berlin.utc_offset(utc(2026, 3, 29, 0, 59)), 3600);
  EXPECT_EQ(berlin.utc_offset(utc(2026, 3, 29, 1, 0)), 7200);
  EXPECT_EQ(berlin.utc_offset(utc(2026, 10, 25, 0, 59)), 7200);
  EXPECT_EQ(berlin.utc_offset(utc(2026, 10, 25, 1, 0)), 3600);
  // Past the table's end (2037): the POSIX TZ footer rule decides.
  EXPECT_EQ(berlin.utc_offset(utc(2045, 7, 1, 0, 0)), 7200);
  EXPECT_EQ(berlin.utc_offset(utc(2045, 12, 1, 0, 0)), 3600);
  EXPECT_EQ(berlin.utc_offset(utc(2045, 3, 26, 0, 59)), 3600);  // last Sunday of March 2045
  EXPECT_EQ(berlin.utc_offset(utc(2045, 3, 26, 1, 0)), 7200);
}

TEST(TimeZone, SouthernHemisphereRule) {
  TimeZone sydney = zone("Australia/Sydney");
  EXPECT_EQ(sydney.utc_offset(utc(2026, 1, 15, 0, 0)), 11 * 3600);
  EXPECT_EQ(sydney.utc_offset(utc(2026, 7, 15, 0, 0)), 10 * 3600);
  EXPECT_EQ(sydney.utc_offset(utc(2050, 1, 15, 0, 0)), 11 * 3600);
  EXPECT_EQ(sydney.utc_offset(utc(2050, 7, 15, 0, 0)), 10 * 3600);
}

TEST(TimeZone, ResolvesGapsAndOverlaps) {
  TimeZone berlin = zone("Europe/Berlin");
  const LocalSeconds gap = days_from_civil(2026, 3, 29) * 86400 + 2 * 3600 + 30 * 60;
  auto in_gap = berlin.resolve(gap);
  EXPECT_EQ(in_gap.kind, LocalResolution::Kind::gap);
  EXPECT_EQ(in_gap.gap_end, utc(2026, 3, 29, 1, 0));
  const LocalSeconds twice = days_from_civil(2026, 10, 25) * 86400 + 2 * 3600 + 30 * 60;
  auto overlap = berlin.resolve(twice);
  EXPECT_EQ(overlap.kind, LocalResolution::Kind::ambiguous);
  EXPECT_EQ(overlap.earliest, utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(overlap.latest, utc(2026, 10, 25, 1, 30));
  auto normal = berlin.resolve(days_from_civil(2026, 6, 1) * 86400 + 12 * 3600);
  EXPECT_EQ(normal.kind, LocalResolution::Kind::unique);
  EXPECT_EQ(normal.earliest, utc(2026, 6, 1, 10, 0));
}

TEST(TimeZone, RejectsBadAndUnknownNames) {
  auto traversal = TimeZone::load("../../etc/passwd");
  ASSERT_FALSE(traversal);
  EXPECT_NE(traversal.error().message.find("not a valid IANA zone name"), std::string::npos);
  auto unknown = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_FALSE(TimeZone::parse("Broken", "TZif2 but short"));
}

TEST(TimeZone, UtcWithoutTzdataFallsBack) {
  auto utc_zone = TimeZone::load("UTC", "/nonexistent/zoneinfo");
  ASSERT_TRUE(utc_zone) << utc_zone.error().message;
  EXPECT_EQ(utc_zone->utc_offset(0), 0);
}

TEST(TimeZone, FormatsIsoUtc) {
  const auto instant =
      std::chrono::system_clock::time_point(std::chrono::seconds(utc(2026, 3, 29, 1, 0) + 7)) +
      std::chrono::milliseconds(42);
  EXPECT_EQ(format_utc_iso(instant), "2026-03-29T01:00:07Z");
  EXPECT_EQ(format_utc_iso(instant, true), "2026-03-29T01:00:07.042Z");
  EXPECT_EQ(format_utc_iso_minute(instant), "2026-03-29T01:00Z");
  EXPECT_EQ(weekday(days_from_civil(2026, 3, 29)), 0u);   // a Sunday
  EXPECT_EQ(weekday(days_from_civil(1969, 12, 31)), 3u);  // a Wednesday
}

}  // namespace
}  // namespace reelflow::triggers
