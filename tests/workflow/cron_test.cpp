#include "workflow/cron.hpp"

#include <gtest/gtest.h>

namespace reelflow::workflow {
namespace {

TEST(Cron, ParsesFieldsListsRangesStepsAndNames) {
  auto cron = parse_cron("*/15 9-17 1,15 jan-mar MON-fri");
  ASSERT_TRUE(cron) << cron.error().message;
  EXPECT_EQ(cron->minutes.count(), 4u);
  EXPECT_TRUE(cron->minutes[45]);
  EXPECT_EQ(cron->hours.count(), 9u);
  EXPECT_TRUE(cron->days_of_month[1] && cron->days_of_month[15]);
  EXPECT_EQ(cron->days_of_month.count(), 2u);
  EXPECT_EQ(cron->months.count(), 3u);
  EXPECT_TRUE(cron->months[3]);
  EXPECT_EQ(cron->days_of_week.count(), 5u);
  EXPECT_FALSE(cron->days_of_week[0]);
  EXPECT_TRUE(cron->day_of_month_restricted);
  EXPECT_TRUE(cron->day_of_week_restricted);
}

TEST(Cron, SundayIsZeroOrSevenAndMacrosWork) {
  auto sunday = parse_cron("0 0 * * 7");
  ASSERT_TRUE(sunday);
  EXPECT_TRUE(sunday->days_of_week[0]);
  auto every = parse_cron("0 0 * * *");
  ASSERT_TRUE(every);
  EXPECT_EQ(every->days_of_week.count(), 7u);
  EXPECT_FALSE(every->day_of_week_restricted);
  auto from = parse_cron("5/20 * * * *");
  ASSERT_TRUE(from);
  EXPECT_EQ(from->minutes.count(), 3u);  // 5, 25, 45
  auto daily = parse_cron("@daily");
  ASSERT_TRUE(daily);
  EXPECT_TRUE(daily->hours[0]);
  EXPECT_EQ(daily->hours.count(), 1u);
}

TEST(Cron, ErrorsNameTheFieldAndValue) {
  auto bad_hour = parse_cron("0 25 * * *");
  ASSERT_FALSE(bad_hour);
  EXPECT_EQ(bad_hour.error().message, "hour field: 25 is out of range 0-23");
  EXPECT_EQ(bad_hour.error().offset, 2u);
  auto bad_name = parse_cron("0 9 * foo *");
  ASSERT_FALSE(bad_name);
  EXPECT_NE(bad_name.error().message.find("month field: 'foo' is not a number"), std::string::npos);
  EXPECT_EQ(bad_name.error().offset, 6u);
  auto count = parse_cron("0 9 * *");
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message.find("expected 5 fields"), std::string::npos);
  EXPECT_FALSE(parse_cron("*/0 * * * *"));
  EXPECT_FALSE(parse_cron("10-5 * * * *"));
  EXPECT_FALSE(parse_cron("1,,2 * * * *"));
  EXPECT_FALSE(parse_cron("@sometimes"));
  EXPECT_FALSE(parse_cron(""));
  EXPECT_FALSE(parse_cron("0 0 0 * *"));  // day-of-month starts at 1
}

}  // namespace
}  // namespace reelflow::workflow
