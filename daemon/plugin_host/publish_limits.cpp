#include "plugin_host/publish_limits.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

#include "common/duration.hpp"

namespace reelflow::plugin_host {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu",
                                                   "fri", "sat", "sun"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::array<std::string_view, 7> kDayNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

// "Mon" or "monday" (any case) -> 0; -1 when not a day.
int day_index(std::string_view name) {
  const std::string key = lower(name);
  for (std::size_t i = 0; i < kDays.size(); ++i) {
    if (kDays[i] == key || kDayNames[i] == key) return static_cast<int>(i);
  }
  return -1;
}

// "HH:MM" -> minutes after midnight (24:00 allowed), or -1.
int clock_minutes(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return -1;
  for (std::size_t i : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) return -1;
  return hours * 60 + minutes;
}

Result<PostQuota> parse_quota(const json& entry, const std::string& where) {
  if (!entry.is_object()) return fail(where + " must be an object");
  PostQuota quota;
  if (!entry.contains("name") || !entry["name"].is_string() ||
      entry["name"].get<std::string>().empty()) {
    return fail(where + ".name must be non-empty text");
  }
  quota.name = entry["name"].get<std::string>();
  const std::string label = where + " ('" + quota.name + "')";
  if (!entry.contains("limit") || !entry["limit"].is_number_integer() ||
      entry["limit"].get<std::int64_t>() < 1 || entry["limit"].get<std::int64_t>() > 1000000) {
    return fail(label + ".limit must be a whole number from 1 to 1000000");
  }
  quota.limit = entry["limit"].get<int>();
  const std::string per = entry.value("per", std::string());
  if (per != "day") {
    auto seconds = parse_duration(per);
    if (!seconds || *seconds < 1 || *seconds > 31 * 86400.0) {
      return fail(label + ".per must be \"day\" or a duration from 1s to 31d such as \"1m\" or "
                          "\"24h\", got \"" + per + "\"");
    }
    quota.window_ms = std::llround(*seconds * 1000);
  }
  if (entry.contains("time_zone")) {
    if (!entry["time_zone"].is_string()) return fail(label + ".time_zone must be text");
    quota.time_zone = entry["time_zone"].get<std::string>();
  }
  if (entry.contains("note")) {
    if (!entry["note"].is_string()) return fail(label + ".note must be text");
    quota.note = entry["note"].get<std::string>();
  }
  return quota;
}

// Fills rules.windows and rules.window_texts from a list of "DAYS HH:MM-HH:MM".
Result<void> parse_windows(const json& list, const std::string& where, PostingRules& rules) {
  if (!list.is_array()) return fail(where + " must be a list of \"DAYS HH:MM-HH:MM\"");
  std::vector<PostingWindow> windows;
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) return fail(where + "[" + std::to_string(i) + "] must be text");
    auto parsed = parse_posting_window(list[i].get<std::string>());
    if (!parsed) return fail(where + "[" + std::to_string(i) + "]: " + parsed.error().message);
    windows.insert(windows.end(), parsed->begin(), parsed->end());
    texts.push_back(list[i].get<std::string>());
  }
  rules.windows = std::move(windows);
  rules.window_texts = std::move(texts);
  return {};
}

}  // namespace

Result<std::vector<PostingWindow>> parse_posting_window(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  const auto space = text.find(' ');
  if (space == std::string_view::npos) {
    return fail(quoted + " is not \"DAYS HH:MM-HH:MM\" (for example \"Mon-Fri 12:00-14:00\")");
  }
  std::string_view days = text.substr(0, space);
  std::string_view hours = text.substr(space + 1);
  while (!hours.empty() && hours.front() == ' ') hours.remove_prefix(1);
  std::array<bool, 7> on{};
  if (lower(days) == "daily") {
    on.fill(true);
  } else {
    while (!days.empty()) {
      const auto comma = days.find(',');
      std::string_view part = days.substr(0, comma);
      days = comma == std::string_view::npos ? std::string_view() : days.substr(comma + 1);
      const auto dash = part.find('-');
      const int first = day_index(part.substr(0, dash));
      const int last = dash == std::string_view::npos ? first : day_index(part.substr(dash + 1));
      if (first < 0 || last < 0) {
        return fail(quoted + ": '" + std::string(part) +
                    "' is not a day or a range of days (Mon, Tue, ... Sun, Mon-Fri, daily)");
      }
      for (int d = first;; d = (d + 1) % 7) {
        on[static_cast<std::size_t>(d)] = true;
        if (d == last) break;
      }
    }
  }
  const auto dash = hours.find('-');
  const int start = dash == std::string_view::npos ? -1 : clock_minutes(hours.substr(0, dash));
  const int end = dash == std::string_view::npos ? -1 : clock_minutes(hours.substr(dash + 1));
  if (start < 0 || end < 0 || start >= 1440) {
    return fail(quoted + ": the hours must be HH:MM-HH:MM, for example 12:00-14:00");
  }
  if (end <= start) {
    return fail(quoted + ": the window ends before it starts (a window that crosses midnight is "
                         "two windows, e.g. \"daily 22:00-24:00\" and \"daily 00:00-01:00\")");
  }
  std::vector<PostingWindow> windows;
  for (int d = 0; d < 7; ++d) {
    if (on[static_cast<std::size_t>(d)]) windows.push_back({d * 1440 + start, d * 1440 + end});
  }
  return windows;
}

Result<PostingRules> parse_posting_rules(const json& value) {
  PostingRules rules;
  if (value.is_null()) return rules;
  if (!value.is_object()) return fail("scheduling_json must be a JSON object");
  for (const auto& [key, field] : value.items()) {
    if (key != "quotas" && key != "windows" && key != "windows_note") {
      return fail("scheduling_json has an unknown field '" + key +
                  "' (known: quotas, windows, windows_note)");
    }
  }
  if (value.contains("quotas")) {
    const json& list = value["quotas"];
    if (!list.is_array()) return fail("scheduling_json.quotas must be a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto quota = parse_quota(list[i], "scheduling_json.quotas[" + std::to_string(i) + "]");
      if (!quota) return tl::unexpected(quota.error());
      for (const auto& earlier : rules.quotas) {
        if (earlier.name == quota->name) {
          return fail("scheduling_json.quotas: '" + quota->name + "' is declared twice");
        }
      }
      rules.quotas.push_back(std::move(*quota));
    }
  }
  if (value.contains("windows")) {
    auto windows = parse_windows(value["windows"], "scheduling_json.windows", rules);
    if (!windows) return tl::unexpected(windows.error());
  }
  if (value.contains("windows_note")) {
    if (!value["windows_note"].is_string()) {
      return fail("scheduling_json.windows_note must be text");
    }
    rules.windows_note = value["windows_note"].get<std::string>();
  }
  return rules;
}

Result<PostingRules> apply_account_limits(PostingRules rules, const json& limits) {
  if (limits.is_null()) return rules;
  if (!limits.is_object()) return fail("limits must be an object");
  std::string zone;
  if (limits.contains("time_zone")) {
    if (!limits["time_zone"].is_string()) return fail("limits.time_zone must be text");
    zone = limits["time_zone"].get<std::string>();
  }
  if (limits.contains("quotas")) {
    const json& overrides = limits["quotas"];
    if (!overrides.is_object()) {
      return fail("limits.quotas must map a quota's name to its limit, e.g. {\"uploads\": 60}");
    }
    for (const auto& [name, value] : overrides.items()) {
      auto found = std::find_if(rules.quotas.begin(), rules.quotas.end(),
                                [&](const PostQuota& q) { return q.name == name; });
      if (found == rules.quotas.end()) {
        std::string known;
        for (const auto& q : rules.quotas) known += (known.empty() ? "" : ", ") + q.name;
        return fail("limits.quotas." + name + ": the platform has no quota of that name" +
                    (known.empty() ? std::string(" (it declares none)") : " (it has: " + known + ")"));
      }
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
          value.get<std::int64_t>() > 1000000) {
        return fail("limits.quotas." + name +
                    " must be a whole number (0 lifts the platform's quota)");
      }
      if (value.get<int>() == 0) {
        rules.quotas.erase(found);
      } else {
        found->limit = value.get<int>();
        found->note = "the account's limits";
      }
    }
  }
  for (auto& quota : rules.quotas) {
    if (quota.window_ms == 0 && quota.time_zone.empty()) quota.time_zone = zone;
  }
  if (limits.contains("per_day")) {
    const json& per_day = limits["per_day"];
    if (!per_day.is_number_integer() || per_day.get<std::int64_t>() < 0) {
      return fail("limits.per_day must be a whole number of posts");
    }
    if (per_day.get<int>() > 0) {
      rules.quotas.push_back({.name = "per_day", .limit = per_day.get<int>(), .window_ms = 0,
                              .time_zone = zone, .note = "the account's limits"});
    }
  }
  if (limits.contains("windows")) {
    auto windows = parse_windows(limits["windows"], "limits.windows", rules);
    if (!windows) return tl::unexpected(windows.error());
    rules.windows_note = "the account's limits";
  }
  return rules;
}

std::string describe_quota(const PostQuota& quota) {
  std::string text = std::to_string(quota.limit) + " per ";
  if (quota.window_ms == 0) {
    text += "day (" + (quota.time_zone.empty() ? std::string("UTC") : quota.time_zone) + ")";
  } else if (quota.window_ms % 3600000 == 0) {
    text += std::to_string(quota.window_ms / 3600000) + "h";
  } else if (quota.window_ms % 60000 == 0) {
    text += std::to_string(quota.window_ms / 60000) + "m";
  } else {
    text += std::to_string(quota.window_ms / 1000) + "s";
  }
  return text;
}

}  // namespace reelflow::plugin_host
