// Cron expressions for `on.schedule.cron`: five fields "minute hour day-of-month month
// day-of-week" with `*`, lists (1,15), ranges (1-5), steps (*/10, 0-30/5), month names jan..dec and
// day names sun..sat (7 is also Sunday), plus @hourly, @daily, @weekly, @monthly and @yearly.
// As in classic cron, when both day fields are restricted a day matches if either matches.
// Thread-safety: pure functions.
#pragma once

#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace reelflow::workflow {

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // bits 1..31
  std::bitset<13> months;         // bits 1..12
  std::bitset<7> days_of_week;    // 0 = Sunday
  bool day_of_month_restricted = false;
  bool day_of_week_restricted = false;
};

struct CronProblem {
  std::size_t offset = 0;  // byte offset in the expression where the bad field starts
  std::string message;     // e.g. "hour field: 25 is out of range 0-23"
};

tl::expected<CronSchedule, CronProblem> parse_cron(std::string_view expression);

}  // namespace reelflow::workflow
