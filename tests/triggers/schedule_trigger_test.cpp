#include "triggers/schedule_trigger.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace reelflow::triggers {
namespace {

using std::chrono::seconds;

SystemTime at(int year, unsigned month, unsigned day, int hour, int minute) {
  return SystemTime(seconds(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60));
}

std::string next(const char* cron, const char* zone_name, SystemTime after) {
  auto schedule = workflow::parse_cron(cron);
  EXPECT_TRUE(schedule) << cron;
  auto zone = TimeZone::load(zone_name);
  EXPECT_TRUE(zone) << zone.error().message;
  if (!schedule || !zone) return "";
  auto fire = next_fire(*schedule, *zone, after);
  if (!fire) return "error: " + fire.error().message;
  return format_utc_iso(*fire);
}

TEST(NextFire, BerlinSpringForwardGapFiresAtGapEnd) {
  // 02:30 does not exist on 2026-03-29: fires at 03:00 CEST (01:00Z); the next day is normal.
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", at(2026, 3, 28, 12, 0)), "2026-03-29T01:00:00Z");
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", at(2026, 3, 29, 1, 0)), "2026-03-30T00:30:00Z");
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", at(2026, 3, 27, 12, 0)), "2026-03-28T01:30:00Z");
  // Every minute: 01:59 CET is followed by 03:00 CEST; gap minutes coalesce into one fire.
  EXPECT_EQ(next("* * * * *", "Europe/Berlin", at(2026, 3, 29, 0, 59)), "2026-03-29T01:00:00Z");
  EXPECT_EQ(next("* * * * *", "Europe/Berlin", at(2026, 3, 29, 1, 0)), "2026-03-29T01:01:00Z");
  EXPECT_EQ(next("0 9 * * *", "Europe/Berlin", at(2026, 3, 29, 0, 0)), "2026-03-29T07:00:00Z");
}

TEST(NextFire, BerlinFallBackFiresFirstOccurrenceOnce) {
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", at(2026, 10, 24, 12, 0)), "2026-10-25T00:30:00Z");
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", at(2026, 10, 25, 0, 30)), "2026-10-26T01:30:00Z");
  // Half-hourly: 02:30 CEST (00:30Z), then the repeated 02:00/02:30 CET are skipped.
  EXPECT_EQ(next("*/30 * * * *", "Europe/Berlin", at(2026, 10, 25, 0, 30)), "2026-10-25T02:00:00Z");
  // Asked from inside the second occurrence, it waits for 03:00 CET.
  EXPECT_EQ(next("*/30 * * * *", "Europe/Berlin", at(2026, 10, 25, 1, 10)), "2026-10-25T02:00:00Z");
  EXPECT_EQ(next("0 12 * * *", "Europe/Berlin", at(2026, 10, 25, 0, 0)), "2026-10-25T11:00:00Z");
}

TEST(NextFire, NewYorkTransitions) {
  EXPECT_EQ(next("30 2 * * *", "America/New_York", at(2026, 3, 7, 12, 0)), "2026-03-08T07:00:00Z");
  EXPECT_EQ(next("30 2 * * *", "America/New_York", at(2026, 3, 6, 12, 0)), "2026-03-07T07:30:00Z");
  EXPECT_EQ(next("30 2 * * *", "America/New_York", at(2026, 3, 8, 7, 0)), "2026-03-09T06:30:00Z");
  EXPECT_EQ(next("30 1 * * *", "America/New_York", at(2026, 10, 31, 12, 0)),
            "2026-11-01T05:30:00Z");
  EXPECT_EQ(next("30 1 * * *", "America/New_York", at(2026, 11, 1, 5, 30)), "2026-11-02T06:30:00Z");
  EXPECT_EQ(next("0 9 * * mon-fri", "America/New_York", at(2026, 11, 1, 0, 0)),
            "2026-11-02T14:00:00Z");
}

TEST(NextFire, ShanghaiHasNoDst) {
  EXPECT_EQ(next("0 9 * * *", "Asia/Shanghai", at(2026, 7, 1, 0, 0)), "2026-07-01T01:00:00Z");
  EXPECT_EQ(next("0 9 * * *", "Asia/Shanghai", at(2026, 12, 31, 2, 0)), "2027-01-01T01:00:00Z");
  EXPECT_EQ(next("30 2 * * *", "Asia/Shanghai", at(2026, 3, 28, 19, 0)), "2026-03-29T18:30:00Z");
}

TEST(NextFire, MacrosAndCalendarRules) {
  EXPECT_EQ(next("@daily", "UTC", at(2026, 1, 1, 0, 0)), "2026-01-02T00:00:00Z");
  EXPECT_EQ(next("@hourly", "UTC", at(2026, 1, 1, 0, 0) + seconds(1)), "2026-01-01T01:00:00Z");
  EXPECT_EQ(next("@weekly", "UTC", at(2026, 1, 1, 0, 0)), "2026-01-04T00:00:00Z");  // a Sunday
  EXPECT_EQ(next("@monthly", "Europe/Berlin", at(2026, 1, 15, 0, 0)), "2026-01-31T23:00:00Z");
  EXPECT_EQ(next("@yearly", "America/New_York", at(2026, 6, 1, 0, 0)), "2027-01-01T05:00:00Z");
  EXPECT_EQ(next("0 12 29 2 *", "UTC", at(2026, 1, 1, 0, 0)), "2028-02-29T12:00:00Z");
  // Both day fields restricted: either matches (the 13th or any Friday).
  EXPECT_EQ(next("0 0 13 * fri", "UTC", at(2026, 3, 1, 0, 0)), "2026-03-06T00:00:00Z");
  EXPECT_EQ(next("0 0 31 2 *", "UTC", at(2026, 1, 1, 0, 0)).rfind("error: ", 0), 0u);
  // After 2037 (the TZif table's end) the footer rule still moves the gap.
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", at(2045, 3, 25, 12, 0)), "2045-03-26T01:00:00Z");
}

// A wall clock shifted so that a chosen instant is "now" (single-threaded: the test's loop).
struct ShiftedClock {
  std::chrono::system_clock::duration shift{};
  SystemTime now() const { return std::chrono::system_clock::now() + shift; }
  void set(SystemTime when) { shift = when - std::chrono::system_clock::now(); }
};

void run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
}

TEST(ScheduleTrigger, FiresEveryMinuteWithInjectedClock) {
  boost::asio::io_context io;
  Logger log(LogLevel::warn);
  ShiftedClock clock;
  const SystemTime first = at(2026, 3, 29, 0, 59);  // 01:59 CET, just before the gap
  clock.set(first - std::chrono::milliseconds(300));
  std::vector<TriggerEvent> events;
  std::optional<ScheduleTrigger> trigger;
  ScheduleOptions options;
  options.now = [&clock] { return clock.now(); };
  auto started = ScheduleTrigger::start(
      io, log, "wf", workflow::ScheduleTrigger{"* * * * *", "Europe/Berlin"},
      [&](TriggerEvent event) {
        events.push_back(std::move(event));
        // Jump the wall clock to 100 ms before the next minute.
        clock.set(first + seconds(60) * static_cast<int>(events.size()) -
                  std::chrono::milliseconds(100));
      },
      options);
  ASSERT_TRUE(started) << started.error().message;
  trigger.emplace(std::move(*started));
  EXPECT_EQ(trigger->next_fire_time(), first);
  run_until(
      io, [&] { return events.size() >= 2; }, std::chrono::seconds(5));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].workflow, "wf");
  EXPECT_EQ(events[0].trigger["event"], "schedule");
  EXPECT_EQ(events[0].trigger["scheduled_for"], "2026-03-29T00:59:00Z");
  EXPECT_EQ(events[0].trigger["timezone"], "Europe/Berlin");
  EXPECT_EQ(events[0].key, "schedule:2026-03-29T00:59Z");
  EXPECT_EQ(events[1].key, "schedule:2026-03-29T01:00Z");  // 03:00 CEST, right after the gap
  trigger->stop();
  const std::size_t seen = events.size();
  clock.set(at(2026, 3, 29, 1, 2) - std::chrono::milliseconds(50));
  run_until(
      io, [] { return false; }, std::chrono::milliseconds(300));
  EXPECT_EQ(events.size(), seen);
}

TEST(ScheduleTrigger, ShortSleepsReReadTheClock) {
  boost::asio::io_context io;
  Logger log(LogLevel::warn);
  ShiftedClock clock;
  clock.set(at(2026, 6, 1, 11, 0));  // an hour before the fire time
  std::vector<TriggerEvent> events;
  ScheduleOptions options;
  options.now = [&clock] { return clock.now(); };
  options.max_sleep = std::chrono::milliseconds(50);
  auto trigger = ScheduleTrigger::start(
      io, log, "wf", workflow::ScheduleTrigger{"0 12 * * *", "UTC"},
      [&](TriggerEvent event) { events.push_back(event); }, options);
  ASSERT_TRUE(trigger) << trigger.error().message;
  run_until(
      io, [] { return false; }, std::chrono::milliseconds(150));
  EXPECT_TRUE(events.empty());
  clock.set(at(2026, 6, 1, 12, 0));  // the wall clock is stepped forward
  run_until(
      io, [&] { return !events.empty(); }, std::chrono::seconds(2));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key, "schedule:2026-06-01T12:00Z");
}

TEST(ScheduleTrigger, BadConfigErrorsNameTheInput) {
  boost::asio::io_context io;
  Logger log(LogLevel::warn);
  auto bad_cron = ScheduleTrigger::start(io, log, "wf", {"61 * * * *", "UTC"}, [](TriggerEvent) {});
  ASSERT_FALSE(bad_cron);
  EXPECT_NE(bad_cron.error().message.find("61 * * * *"), std::string::npos);
  auto bad_zone =
      ScheduleTrigger::start(io, log, "wf", {"0 * * * *", "Europe/Atlantis"}, [](TriggerEvent) {});
  ASSERT_FALSE(bad_zone);
  EXPECT_NE(bad_zone.error().message.find("Europe/Atlantis"), std::string::npos);
}

}  // namespace
}  // namespace reelflow::triggers
