// The schedule trigger: fires a workflow at the times a five-field cron expression names, read
// on the wall clock of an IANA time zone (`on.schedule: {cron, timezone}`).
//
// Daylight-saving rules (see next_fire):
//  - a wall time that does not exist (spring-forward gap, e.g. 02:30 on 2026-03-29 in
//    Europe/Berlin) fires at the first valid instant after the gap (03:00 CEST); several cron
//    times inside one gap coalesce into that single fire;
//  - a wall time that happens twice (fall-back overlap) fires once, at its first occurrence; the
//    repeated hour does not fire again, so an every-minute schedule pauses during it.
//
// Missed fires are not replayed: a trigger started (or restarted) at T fires for the first cron
// time after T. Work that must survive restarts belongs in the engine's durable timers. If the
// loop runs late (clock jump, a stalled handler) the due time fires once, late, and the schedule
// continues from the current time. The timer wakes at most every `max_sleep` to re-read the wall
// clock, so a stepped system clock is noticed without waking more often than that while idle.
//
// Events: trigger = {"event": "schedule", "scheduled_for": ISO 8601 UTC, "timezone"},
// key = "schedule:<UTC minute>", e.g. "schedule:2026-03-29T01:00Z".
// Thread-safety: one thread, the io_context's; next_fire is pure.
#pragma once

// Boost 1.74 Asio under GCC 12 in C++20 mode needs <utility> first.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/log.hpp"
#include "common/result.hpp"
#include "triggers/time_zone.hpp"
#include "triggers/trigger.hpp"
#include "workflow/cron.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::triggers {

using SystemTime = std::chrono::system_clock::time_point;

// The first instant strictly after `after` (whole minutes) at which `cron` fires in `zone`.
// Fails when the expression matches no day within eight years (e.g. "0 0 31 2 *").
Result<SystemTime> next_fire(const workflow::CronSchedule& cron, const TimeZone& zone,
                             SystemTime after);

struct ScheduleOptions {
  // The wall clock; tests inject a shifted one.
  std::function<SystemTime()> now = [] { return std::chrono::system_clock::now(); };
  std::chrono::milliseconds max_sleep = std::chrono::minutes(10);
  std::filesystem::path zoneinfo_dir = "/usr/share/zoneinfo";
};

class ScheduleTrigger {
 public:
  // Parses the cron expression and loads the zone (errors name both), then arms the timer.
  // `log` must outlive the trigger.
  static Result<ScheduleTrigger> start(boost::asio::io_context& io, const Logger& log,
                                       std::string workflow,
                                       const workflow::ScheduleTrigger& config, TriggerSink sink,
                                       ScheduleOptions options = {});

  ScheduleTrigger(ScheduleTrigger&&) noexcept;
  ScheduleTrigger& operator=(ScheduleTrigger&&) noexcept;
  ~ScheduleTrigger();  // stops

  // Cancels the timer; no event is emitted afterwards. Idempotent.
  void stop();
  // The instant the timer is armed for (for status output).
  SystemTime next_fire_time() const;

  class State;

 private:
  explicit ScheduleTrigger(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace reelflow::triggers
