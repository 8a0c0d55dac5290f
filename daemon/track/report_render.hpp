// `reelflow report` output: the funnel from views to revenue, as a terminal table, CSV, JSON, or
// a self-contained HTML page with charts (no scripts or fonts fetched from anywhere).
//
// The report is the JSON object the daemon's GET /v1/report answers (store: track queries):
//
//   {"generated_at": "2026-11-30T10:00:00Z",
//    "since": "2026-11-01" | null, "campaign": "launch" | null,
//    "by": "platform" | "video" | "variant" | "day",
//    "currency": "EUR" | null,              // null: no revenue, or mixed currencies (see rows)
//    "totals": FUNNEL,
//    "rows":      [{"key": "youtube", ...FUNNEL}, ...],   // by `by`, largest revenue first;
//                                                         // by video, rows may carry "title" too
//    "platforms": [{"key": "youtube", ...FUNNEL}, ...],   // always by platform (funnel chart)
//    "daily":     [{"day": "2026-11-29", "clicks_human": 12, "conversions": 1,
//                   "revenue": 49.9}, ...],               // oldest first, every day in range
//    "top_videos": [{"key": "/srv/out/clip-1.mp4", "title": "...", ...FUNNEL}, ...]}  // <= 10
//
//   FUNNEL = {"posts": 3, "views": 1200, "likes": 80, "comments": 5, "shares": 4,
//             "clicks_total": 70, "clicks_human": 50, "clicks_bot": 15, "clicks_duplicate": 5,
//             "conversions": 4, "revenue": 199.6,
//             "ctr": 0.0417 | null,   // clicks_human / views   (null when views is 0)
//             "cvr": 0.08 | null,     // conversions / clicks_human
//             "rpm": 166.33 | null}   // revenue per 1000 views
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace reelflow::track {

// A table for the terminal: one row per `rows` entry and a totals line, aligned (CJK characters
// count two columns; long keys are cut with "…"), ratios as percentages, numbers with thousands
// separators; a short line when there is no data yet. Control characters in keys are replaced.
std::string render_report_text(const nlohmann::json& report);

// RFC 4180 CSV of `rows` (CRLF line ends) with a header line: key, every FUNNEL field (ratios as
// fractions, empty when null; '.' decimals whatever the locale), then currency (empty when null).
std::string render_report_csv(const nlohmann::json& report);

// One HTML file: the totals, the funnel per platform (bars), clicks and conversions over time
// (bars and a line from `daily`), top videos (table with bars), and the `rows` table; inline CSS
// and inline SVG only, and a Content-Security-Policy that forbids scripts and fetches. Text from
// the report is HTML-escaped.
std::string render_report_html(const nlohmann::json& report);

}  // namespace reelflow::track
