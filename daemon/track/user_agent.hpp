// Who clicked a tracked link: a person in a browser (an app's in-app browser included), a bot or
// crawler, or a link previewer (the fetch a chat or social app makes to draw a card for a shared
// link). Only people count as human clicks; the others are recorded, flagged.
//
// In-app previewers and in-app browsers of the same app look alike: WeChat, Douyin, TikTok, X,
// Facebook, Slack and Telegram each have both, and the classification tells them apart. A
// previewer names itself ("TelegramBot (like TwitterBot)", "facebookexternalhit/1.1") or is the
// app's own HTTP client ("WeChat/8.0.49 CFNetwork/...", "Viber/12.8 CFNetwork/..."); the in-app
// browser is a WebView that appends the app's marks to a browser's string ("MicroMessenger/8.0.49
// NetType/WIFI", "aweme_230400 ... BytedanceWebview", "[FBAN/FBIOS;...]", "Telegram-Android/11.4").
//
// How a user agent is read: case-insensitively, against a table of known agents (first match
// wins), then against generic robot words ("bot" as a word ending, "crawler", "spider", "preview",
// ...), then a link to the robot's own page ("+https://..."), then a bare product token with no
// comment ("okhttp/4.9.0", "Chrome"); anything else is a person. One pass over the string, and
// no allocation beyond the result's agent name for user agents up to 1 KiB.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace reelflow::track {

enum class Visitor { human, bot, preview };

struct Classification {
  Visitor kind = Visitor::human;
  // What it is, for reports and the clicks table: "Twitterbot", "Slack previewer", "Googlebot",
  // "curl", ...; empty for people. Previewers are "<app> previewer" (X's keeps the name X gives
  // it, "Twitterbot"); robots have their own names. An unknown robot is named by its own token,
  // at most 48 characters of [A-Za-z0-9._-] and spaces, so the name is safe in any report.
  std::string agent;
};

// From the User-Agent header (empty or missing: a bot, agent "no user agent").
Classification classify_user_agent(std::string_view user_agent);

// "human", "bot", "preview".
std::string_view visitor_name(Visitor kind);

// The address kept for a click when raw addresses are not: an IPv4 address to its /24
// ("203.0.113.0"), an IPv6 address to its /48 in canonical compressed form ("2001:db8:1::"); an
// IPv4-mapped IPv6 address (::ffff:203.0.113.7) as IPv4. Also accepted, and unwrapped: blanks
// around it, brackets ("[2001:db8::1]"), a port after brackets or after IPv4 ("[::1]:443",
// "203.0.113.7:5060"), an IPv6 zone ("fe80::1%eth0", dropped). Empty when `address` is not an IP
// address (a host name, a list, a prefix, a bracketed IPv4 address, ...).
std::string anonymize_ip(std::string_view address);

}  // namespace reelflow::track
