// publish_at as workflows write it, resolved against the system's tz database: DST gaps and
// overlaps in Europe/Berlin and America/New_York, Asia/Shanghai without DST, delays, instants.
#include "engine/publish_time.hpp"

#include <gtest/gtest.h>

#include "common/iso_time.hpp"

namespace reelflow::engine {
namespace {

std::int64_t at(const char* iso) { return *parse_iso_time(iso); }

std::string resolved(const char* text, const char* zone, std::int64_t now = 0) {
  auto instant = resolve_publish_at(text, zone, now);
  if (!instant) return "error: " + instant.error().message;
  return format_iso_time(*instant);
}

TEST(PublishTime, EmptyMeansNowAndPlusIsADelay) {
  const std::int64_t now = at("2026-11-30T10:00:00Z");
  EXPECT_EQ(resolved("", "Europe/Berlin", now), "2026-11-30T10:00:00.000Z");
  EXPECT_EQ(resolved("+2h", "Europe/Berlin", now), "2026-11-30T12:00:00.000Z");
  EXPECT_EQ(resolved(" +90m ", "UTC", now), "2026-11-30T11:30:00.000Z");
  EXPECT_EQ(resolved("+1d", "UTC", now), "2026-12-01T10:00:00.000Z");
}

TEST(PublishTime, AnInstantWithAnOffsetIgnoresTheZone) {
  EXPECT_EQ(resolved("2026-12-01T18:00:00+08:00", "America/New_York"),
            "2026-12-01T10:00:00.000Z");
  EXPECT_EQ(resolved("2026-12-01T18:00Z", "Asia/Shanghai"), "2026-12-01T18:00:00.000Z");
}

TEST(PublishTime, WallTimesFollowTheZonesOffsetOnThatDay) {
  // Berlin: CET (+1) in winter, CEST (+2) in summer.
  EXPECT_EQ(resolved("2026-01-15 18:00", "Europe/Berlin"), "2026-01-15T17:00:00.000Z");
  EXPECT_EQ(resolved("2026-07-15 18:00", "Europe/Berlin"), "2026-07-15T16:00:00.000Z");
  // New York: EST (-5), EDT (-4).
  EXPECT_EQ(resolved("2026-01-15T09:30", "America/New_York"), "2026-01-15T14:30:00.000Z");
  EXPECT_EQ(resolved("2026-07-15 09:30:15", "America/New_York"), "2026-07-15T13:30:15.000Z");
  // Shanghai: +8 all year.
  EXPECT_EQ(resolved("2026-01-15 20:00", "Asia/Shanghai"), "2026-01-15T12:00:00.000Z");
  EXPECT_EQ(resolved("2026-07-15 20:00", "Asia/Shanghai"), "2026-07-15T12:00:00.000Z");
}

TEST(PublishTime, ATimeInASpringForwardGapMovesToTheGapsEnd) {
  // 2026-03-29 02:00 CET -> 03:00 CEST in Berlin: 02:30 does not exist.
  EXPECT_EQ(resolved("2026-03-29 02:30", "Europe/Berlin"), "2026-03-29T01:00:00.000Z");
  // 2026-03-08 02:00 EST -> 03:00 EDT in New York.
  EXPECT_EQ(resolved("2026-03-08 02:30", "America/New_York"), "2026-03-08T07:00:00.000Z");
}

TEST(PublishTime, ARepeatedTimeMeansItsFirstOccurrence) {
  // 2026-10-25 03:00 CEST -> 02:00 CET in Berlin: 02:30 happens twice, first at 00:30Z.
  EXPECT_EQ(resolved("2026-10-25 02:30", "Europe/Berlin"), "2026-10-25T00:30:00.000Z");
  // 2026-11-01 02:00 EDT -> 01:00 EST in New York: 01:30 first at 05:30Z.
  EXPECT_EQ(resolved("2026-11-01 01:30", "America/New_York"), "2026-11-01T05:30:00.000Z");
}

TEST(PublishTime, MistakesAreNamed) {
  EXPECT_NE(resolved("tomorrow 6pm", "UTC").find("is not a time"), std::string::npos);
  EXPECT_NE(resolved("2026-13-01 10:00", "UTC").find("is not a time"), std::string::npos);
  EXPECT_NE(resolved("+soon", "UTC").find("after '+' give a duration"), std::string::npos);
  EXPECT_NE(resolved("2026-12-01 10:00", "Mars/Olympus").find("time_zone"), std::string::npos);
}

}  // namespace
}  // namespace reelflow::engine
