#include "triggers/schedule_trigger.hpp"

// Boost 1.74 Asio under GCC 12 in C++20 mode needs <utility> first.
#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <utility>

namespace reelflow::triggers {

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
// Long enough for any satisfiable expression: Feb 29 recurs within eight years (2096 -> 2104).
constexpr std::int64_t kSearchDays = 8 * 366 + 2;

bool day_matches(const workflow::CronSchedule& cron, const CivilDate& date, std::int64_t days) {
  const bool day_of_month = cron.days_of_month[date.day];
  const bool day_of_week = cron.days_of_week[weekday(days)];
  if (cron.day_of_month_restricted && cron.day_of_week_restricted) {
    return day_of_month || day_of_week;
  }
  return day_of_month && day_of_week;
}

}  // namespace

Result<SystemTime> next_fire(const workflow::CronSchedule& cron, const TimeZone& zone,
                             SystemTime after) {
  using std::chrono::seconds;
  const UtcSeconds after_seconds = std::chrono::floor<seconds>(after.time_since_epoch()).count();
  const LocalSeconds local_start = floor_div(zone.to_local(after_seconds), 60) * 60;
  const std::int64_t start_day = floor_div(local_start, kSecondsPerDay);
  const std::int64_t start_minute = (local_start - start_day * kSecondsPerDay) / 60;

  // Walk the wall clock forward; wall times map to instants monotonically (gap times map to the
  // gap's end, repeated times to their first occurrence), so the first mapped instant after
  // `after` is the answer.
  for (std::int64_t day = start_day; day <= start_day + kSearchDays; ++day) {
    const CivilDate date = civil_from_days(day);
    if (!cron.months[date.month]) {
      day += days_in_month(date.year, date.month) - date.day;  // to the month's last day
      continue;
    }
    if (!day_matches(cron, date, day)) continue;
    for (std::int64_t hour = 0; hour < 24; ++hour) {
      if (!cron.hours[static_cast<std::size_t>(hour)]) continue;
      for (std::int64_t minute = 0; minute < 60; ++minute) {
        if (!cron.minutes[static_cast<std::size_t>(minute)]) continue;
        if (day == start_day && hour * 60 + minute < start_minute) continue;
        const LocalSeconds wall_time = day * kSecondsPerDay + hour * 3600 + minute * 60;
        const LocalResolution resolution = zone.resolve(wall_time);
        const UtcSeconds instant = resolution.kind == LocalResolution::Kind::gap
                                       ? resolution.gap_end
                                       : resolution.earliest;
        if (instant > after_seconds) return SystemTime(seconds(instant));
      }
    }
  }
  return fail("cron expression matches no time within eight years");
}

class ScheduleTrigger::State : public std::enable_shared_from_this<State> {
 public:
  State(boost::asio::io_context& io, const Logger& log, std::string workflow,
        workflow::CronSchedule cron, TimeZone zone, TriggerSink sink, ScheduleOptions options)
      : log_(log),
        workflow_(std::move(workflow)),
        cron_(std::move(cron)),
        zone_(std::move(zone)),
        sink_(std::move(sink)),
        options_(std::move(options)),
        timer_(io) {}

  void arm(SystemTime after) {
    auto next = next_fire(cron_, zone_, after);
    if (!next) {
      log_.error("schedule trigger stopped: " + next.error().message, fields());
      return;
    }
    target_ = *next;
    log_.debug("schedule: next fire at " + format_utc_iso(target_), fields());
    wait();
  }

  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

  SystemTime target() const { return target_; }

 private:
  LogFields fields() const {
    LogFields fields;
    fields.workflow = workflow_;
    return fields;
  }

  void wait() {
    auto remaining =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(target_ - options_.now());
    remaining = std::clamp<std::chrono::steady_clock::duration>(
        remaining, std::chrono::steady_clock::duration::zero(), options_.max_sleep);
    timer_.expires_after(remaining);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (!error) self->on_timer();
    });
  }

  void on_timer() {
    if (stopped_) return;
    const SystemTime now = options_.now();
    if (now < target_) {  // woke for a max_sleep check, or the wall clock was stepped back
      wait();
      return;
    }
    if (now - target_ > std::chrono::minutes(1)) {
      log_.warn("schedule: firing " + format_utc_iso(target_) + " late (now " +
                    format_utc_iso(now) + "); times missed meanwhile are skipped",
                fields());
    }
    TriggerEvent event;
    event.workflow = workflow_;
    event.trigger = {{"event", "schedule"},
                     {"scheduled_for", format_utc_iso(target_)},
                     {"timezone", zone_.name()}};
    event.key = "schedule:" + format_utc_iso_minute(target_);
    const SystemTime fired = target_;
    sink_(std::move(event));
    if (stopped_) return;
    arm(std::max(fired, now));
  }

  const Logger& log_;
  std::string workflow_;
  workflow::CronSchedule cron_;
  TimeZone zone_;
  TriggerSink sink_;
  ScheduleOptions options_;
  boost::asio::steady_timer timer_;
  SystemTime target_{};
  bool stopped_ = false;
};

Result<ScheduleTrigger> ScheduleTrigger::start(boost::asio::io_context& io, const Logger& log,
                                               std::string workflow,
                                               const workflow::ScheduleTrigger& config,
                                               TriggerSink sink, ScheduleOptions options) {
  auto cron = workflow::parse_cron(config.cron);
  if (!cron) {
    return fail("workflow " + workflow + ": schedule cron \"" + config.cron +
                "\": " + cron.error().message);
  }
  auto zone = TimeZone::load(config.timezone, options.zoneinfo_dir);
  if (!zone) return fail("workflow " + workflow + ": schedule " + zone.error().message);
  const SystemTime now = options.now();
  if (auto first = next_fire(*cron, *zone, now); !first) {
    return fail("workflow " + workflow + ": schedule cron \"" + config.cron +
                "\": " + first.error().message);
  }
  auto state = std::make_shared<State>(io, log, std::move(workflow), std::move(*cron),
                                       std::move(*zone), std::move(sink), std::move(options));
  state->arm(now);
  return ScheduleTrigger(std::move(state));
}

ScheduleTrigger::ScheduleTrigger(std::shared_ptr<State> state) : state_(std::move(state)) {}
ScheduleTrigger::ScheduleTrigger(ScheduleTrigger&&) noexcept = default;
ScheduleTrigger& ScheduleTrigger::operator=(ScheduleTrigger&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}
ScheduleTrigger::~ScheduleTrigger() { stop(); }

void ScheduleTrigger::stop() {
  if (state_) state_->stop();
}

SystemTime ScheduleTrigger::next_fire_time() const {
  return state_ ? state_->target() : SystemTime{};
}

}  // namespace reelflow::triggers
