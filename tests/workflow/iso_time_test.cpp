// ISO 8601 instants as `wait.until` and the control API write them.
#include "common/iso_time.hpp"

#include <gtest/gtest.h>

namespace reelflow {
namespace {

TEST(IsoTime, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_iso_time("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(parse_iso_time("2026-12-01T01:00:00Z").value(), 1796086800000);
  // The same instant written in Shanghai time, with and without seconds and colon.
  EXPECT_EQ(parse_iso_time("2026-12-01T09:00:00+08:00").value(), 1796086800000);
  EXPECT_EQ(parse_iso_time("2026-12-01T09:00+0800").value(), 1796086800000);
  EXPECT_EQ(parse_iso_time("2026-11-30 20:00:00-05:00").value(), 1796086800000);
  EXPECT_EQ(parse_iso_time("2026-12-01T01:00:00.250Z").value(), 1796086800250);
  EXPECT_EQ(parse_iso_time("2024-02-29T00:00:00Z").value(), 1709164800000);
}

TEST(IsoTime, RefusesAmbiguousOrMalformedTimes) {
  for (const char* text : {"2026-12-01T09:00:00", "2026-12-01", "tomorrow", "2026-13-01T00:00Z",
                           "2026-02-29T00:00Z", "2026-12-01T24:00Z", "2026-12-01T09:00:00+25:00",
                           "2026-12-01T09:00:00Zjunk", ""}) {
    auto parsed = parse_iso_time(text);
    EXPECT_FALSE(parsed.has_value()) << text;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find("is not a time"), std::string::npos);
    }
  }
  EXPECT_NE(parse_iso_time("2026-12-01T09:00:00").error().message.find("no time zone offset"),
            std::string::npos);
}

TEST(IsoTime, FormatsInUtcWithMilliseconds) {
  EXPECT_EQ(format_iso_time(1796086800250), "2026-12-01T01:00:00.250Z");
  EXPECT_EQ(parse_iso_time(format_iso_time(1796086800250)).value(), 1796086800250);
}

}  // namespace
}  // namespace reelflow
