// When a platform lets an account post: the quotas and posting windows a publisher declares
// (rf_publisher_type.scheduling_json, ABI 1.2) and an account's own "limits" in its secret.
//
// A publisher declares, for example (plugins/youtube):
//
//   {"quotas":  [{"name": "uploads", "limit": 6, "per": "day", "time_zone": "America/Los_Angeles",
//                 "note": "10,000 quota units a day, 1,600 per upload"}],
//    "windows": ["Mon-Fri 12:00-15:00", "Sat,Sun 09:00-12:00"],
//    "windows_note": "reelflow's starting point, not a published study"}
//
//   quotas   posts the platform allows per window: "per" is "day" (a calendar day in time_zone,
//            default UTC) or a rolling duration ("1m", "24h"). A post that would go over a quota
//            waits for the window to free up (it is rescheduled, not failed).
//   windows  when `publish_at: best` posts, until the optimizer has learned better: "DAYS
//            HH:MM-HH:MM" in the account's time zone, DAYS being "daily", "Mon-Fri", "Sat,Sun",
//            "Tue" and so on; an end of 24:00 is midnight.
//
// An account (secret account.<name>) narrows or widens these with its "limits":
//
//   {"per_day": 3, "min_spacing": "2h", "time_zone": "Asia/Shanghai",
//    "quotas": {"uploads": 60}, "windows": ["daily 19:00-22:00"]}
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace reelflow::plugin_host {

struct PostQuota {
  std::string name;            // "uploads"
  int limit = 0;               // posts per window, > 0
  std::int64_t window_ms = 0;  // a rolling window; 0: the calendar day in time_zone
  std::string time_zone;       // for calendar days; empty: the account's time zone, else UTC
  std::string note;            // where the figure comes from
};

// Minutes of the week in local time: [start, end) with Monday 00:00 = 0.
struct PostingWindow {
  int start_minute = 0;
  int end_minute = 0;
};

struct PostingRules {
  std::vector<PostQuota> quotas;
  std::vector<PostingWindow> windows;
  std::vector<std::string> window_texts;  // as written, for listings
  std::string windows_note;
};

// Parses a publisher's scheduling_json value (null or an object). The error names the field.
Result<PostingRules> parse_posting_rules(const nlohmann::json& value);

// "Mon-Fri 12:00-15:00" -> one window per day. The error says what is wrong with `text`.
Result<std::vector<PostingWindow>> parse_posting_window(std::string_view text);

// The platform's rules with an account's limits applied (its "quotas" overrides by name, its
// "windows" replace the platform's, its "per_day" becomes one more calendar-day quota in its
// "time_zone"). The error names the field of the account's limits that is wrong.
Result<PostingRules> apply_account_limits(PostingRules platform, const nlohmann::json& limits);

// For listings: "6 per day (America/Los_Angeles)", "6 per 1m".
std::string describe_quota(const PostQuota& quota);

}  // namespace reelflow::plugin_host
