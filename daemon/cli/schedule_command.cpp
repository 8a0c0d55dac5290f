// `reelflow schedule`: the posts the daemon will publish, as a calendar in the operator's time
// zone (or --json), and `schedule cancel ID` / `schedule move ID TIME` to change them.
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/daemon_call.hpp"
#include "cli/help.hpp"
#include "common/iso_time.hpp"
#include "engine/engine.hpp"
#include "engine/publish_time.hpp"
#include "triggers/time_zone.hpp"

namespace reelflow::cli {

namespace {

using nlohmann::json;

// The zone to show times in: --tz, else $TZ, else the system's /etc/localtime, else UTC.
Result<triggers::TimeZone> display_zone(const std::optional<std::string>& flag) {
  if (flag) return triggers::TimeZone::load(*flag);
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string name = *tz == ':' ? tz + 1 : tz;
    if (auto zone = triggers::TimeZone::load(name)) return zone;
  }
  std::ifstream local("/etc/localtime", std::ios::binary);
  if (local) {
    std::stringstream bytes;
    bytes << local.rdbuf();
    if (auto zone = triggers::TimeZone::parse("local time", bytes.str())) return zone;
  }
  return triggers::TimeZone::fixed("UTC", 0);
}

// "Tue 2026-12-01" and "18:00" of an instant in zone.
std::pair<std::string, std::string> day_and_time(std::int64_t millis,
                                                 const triggers::TimeZone& zone) {
  const std::int64_t local = zone.to_local(millis / 1000);
  const std::string iso = format_iso_time(local * 1000);  // the wall clock, spelled as UTC
  static const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  std::int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  const char* weekday = kDays[((days % 7) + 7) % 7];
  return {std::string(weekday) + " " + iso.substr(0, 10), iso.substr(11, 5)};
}

std::string text_of(const json& post, const char* key) {
  if (!post.contains(key)) return "-";
  if (post[key].is_string()) return post[key].get<std::string>();
  return post[key].dump();
}

void print_calendar(const json& reply, const triggers::TimeZone& zone, int days) {
  const json& posts = reply.contains("posts") ? reply["posts"] : json::array();
  std::printf("Scheduled posts, next %d day%s (times in %s):\n", days, days == 1 ? "" : "s",
              zone.name().c_str());
  if (posts.empty()) {
    std::printf("\n  nothing scheduled\n");
    return;
  }
  std::map<std::string, std::vector<const json*>> by_day;
  for (const auto& post : posts) {
    by_day[day_and_time(post.value("due_at_ms", std::int64_t{0}), zone).first].push_back(&post);
  }
  for (const auto& [day, entries] : by_day) {
    std::printf("\n%s\n", day.c_str());
    for (const json* post : entries) {
      const auto [unused, time] = day_and_time(post->value("due_at_ms", std::int64_t{0}), zone);
      std::string title = text_of(*post, "title");
      if (title.size() > 40) title = title.substr(0, 37) + "...";
      std::printf("  %s  %-10s %-12s %-42s post %s  (%s, run %s)\n", time.c_str(),
                  text_of(*post, "platform").c_str(), text_of(*post, "account").c_str(),
                  ("\"" + title + "\"").c_str(), text_of(*post, "id").c_str(),
                  text_of(*post, "workflow").c_str(), text_of(*post, "run_id").c_str());
    }
  }
  std::printf("\n'reelflow schedule cancel ID' cancels a post; 'reelflow schedule move ID TIME' "
              "moves it.\n");
}

}  // namespace

int schedule_command(Args args) {
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(command_help("schedule"), stdout);
    return kExitOk;
  }
  const auto zone_flag = args.option("--tz");
  const auto days_flag = args.option("--days");
  DaemonCall call("schedule", args);
  auto words = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  auto zone = display_zone(zone_flag);
  if (!zone) problems.push_back("--tz: " + zone.error().message);
  int days = 7;
  if (days_flag) {
    bool digits = !days_flag->empty() && days_flag->size() <= 3 &&
                  days_flag->find_first_not_of("0123456789") == std::string::npos;
    days = digits ? std::stoi(*days_flag) : 0;
    if (days < 1 || days > 366) problems.push_back("--days takes a number from 1 to 366");
  }
  const std::string action = words.empty() ? "" : words[0];
  if (!action.empty() && action != "cancel" && action != "move") {
    problems.push_back("unknown action '" + action + "' (cancel ID or move ID TIME)");
  } else if (action == "cancel" && words.size() != 2) {
    problems.push_back("cancel takes one post id");
  } else if (action == "move" && words.size() != 3) {
    problems.push_back("move takes a post id and a time, e.g. move 12 \"2026-12-01 18:00\"");
  }
  if (!problems.empty()) return usage_error("schedule", problems);

  if (action.empty()) {
    auto reply = call.request("GET", "/v1/schedule?days=" + std::to_string(days));
    if (!reply) return kExitFailed;
    if (call.as_json) {
      print_json(*reply);
    } else {
      print_calendar(*reply, *zone, days);
    }
    return kExitOk;
  }
  if (action == "cancel") {
    auto reply = call.request("POST", "/v1/schedule/" + url_encode(words[1]) + "/cancel");
    if (!reply) return kExitFailed;
    if (call.as_json) {
      print_json(*reply);
    } else {
      std::printf("cancelled post %s (%s on %s); its run %s is cancelled\n", words[1].c_str(),
                  text_of(*reply, "title").c_str(), text_of(*reply, "platform").c_str(),
                  text_of(*reply, "run_id").c_str());
    }
    return kExitOk;
  }
  auto due = engine::resolve_publish_at(words[2], zone->name() == "local time" ? "UTC" : zone->name(),
                                        engine::now_millis());
  if (!due) return usage_error("schedule", {due.error().message});
  auto reply = call.request("POST", "/v1/schedule/" + url_encode(words[1]) + "/move",
                            json{{"at", format_iso_time(*due)}}.dump());
  if (!reply) return kExitFailed;
  if (call.as_json) {
    print_json(*reply);
  } else {
    const auto [day, time] = day_and_time(*due, *zone);
    std::printf("moved post %s to %s %s (%s); its new id is %s\n", words[1].c_str(), day.c_str(),
                time.c_str(), zone->name().c_str(), text_of(*reply, "id").c_str());
  }
  return kExitOk;
}

}  // namespace reelflow::cli
