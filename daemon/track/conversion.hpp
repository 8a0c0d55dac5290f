// Conversion postbacks from shops and CRMs: the POST /c body (JSON or form), its HMAC-SHA256
// signature, and the GET /p.gif pixel's signed query string.
//
// POST /c
//   X-Reelflow-Source: shop                  the source; its secret is conversion.<source>
//                                            (default source: "default")
//   X-Reelflow-Signature: t=1764470000,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//   {"click": "<rf_click>" | "code": "<link code>", "event": "purchase", "value": 49.9,
//    "currency": "EUR", "order_id": "A-1001", "at": "2026-11-30T10:00:00Z" (optional)}
//   The same fields may come as application/x-www-form-urlencoded.
//
// GET /p.gif?source=shop&click=...&event=purchase&value=49.9&currency=EUR&order_id=A-1001
//            &t=1764470000&sig=<hex HMAC-SHA256(secret, "<t>.<the query without sig>")>
//
// Fields (the same names in JSON, forms and the pixel):
//   click     a click id, or `code` a link code: exactly one of them; [A-Za-z0-9_-]{4,64}
//   event     required; "lead", "purchase" or a custom name; ASCII letters are lower-cased
//             ("Purchase" -> "purchase"), then it must match [a-z0-9_.-]{1,64}
//   value     optional, default 0; >= 0 and < 1e12. A JSON number or a string of decimal digits
//             with an optional '.' ("49.90"; no sign, exponent, spaces or thousands separators)
//   currency  three letters, upper-cased ("eur" -> "EUR"); required when value > 0, kept (and
//             checked) when given with a value of 0
//   order_id  1-128 characters of UTF-8 without control characters, or a JSON integer; kept
//             exactly as sent (no trimming)
//   at        optional; ISO 8601 with an offset or Z ("2026-11-30T10:00:00+01:00"), or unix
//             seconds (a JSON number or a string of digits, below 1e11: milliseconds are refused)
// A JSON null or an empty string counts as an absent field. Other names are ignored (shops send
// extras), but each of the names above may appear only once. Form and query text is
// percent-decoded ('+' is a space); a bad escape or ill-formed UTF-8 is refused, as is a JSON body
// that is not UTF-8 or not an object. Bodies and pixel queries above 64 KiB are refused. Error
// messages name the field and quote at most ~64 bytes of what was sent.
//
// Signatures. The header is a comma-separated list: exactly one t=<unix seconds> and one or more
// v1=<64 hex digits> (any v1 may match, so a sender can sign with an old and a new secret while a
// secret is rotated), in any order, with optional spaces around items; other keys (a future
// v2=) are ignored. The signature is checked before the timestamp, so "outside the window" is
// only said of an authentic request: a replay or a sender's clock that is off. t must be within
// `window_s` of now (default 300 s). An empty secret matches nothing (an unconfigured source).
// Idempotency on order_id is the store's job (one conversion per source and order id).
//
// The pixel. The query is split on '&'; the one piece whose name is `sig` is dropped and the
// others are joined with '&' again, byte for byte as sent (same order, same percent-encoding).
// The signed message is "<t>." followed by that text, where <t> is the value of the query's `t`
// parameter. A sender builds its query, signs it, and appends "&sig=<hex>" (sig may in fact stand
// anywhere). Reordering or re-encoding the other parameters breaks the signature. The pixel's
// `source` must be [A-Za-z0-9_-]{1,64}; `source`, `t` and `sig` are not conversion fields.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace reelflow::track {

struct Conversion {
  std::string click_id;  // rf_click from the redirect; or empty when `code` is given
  std::string code;      // link code; or empty when `click_id` is given
  std::string event;     // "lead", "purchase", or a custom name: [a-z0-9_.-]{1,64}
  double value = 0;      // >= 0 and < 1e12
  std::string currency;  // ISO 4217 style, three upper-case letters; may be empty when value is 0
  std::string order_id;  // empty: not idempotent (each postback counts)
  std::optional<std::int64_t> at_ms;  // when it happened, if the sender says
};

// Parses a POST /c body by its Content-Type (application/json, or
// application/x-www-form-urlencoded; case and parameters such as "; charset=utf-8" are ignored).
// The error names the field and what is wrong with it.
Result<Conversion> parse_conversion(std::string_view content_type, std::string_view body);

// Checks an X-Reelflow-Signature header against the body. The error says which check failed
// (malformed header, no matching signature, timestamp outside the window by how much) and never
// includes the secret or the expected signature. now_s and window_s must not be negative.
Result<void> verify_signature(std::string_view header, std::string_view body,
                              std::string_view secret, std::int64_t now_s,
                              std::int64_t window_s = 300);

// A pixel's query string (after '?'): its source (for the secret lookup), then, once the secret
// is known, the conversion with its signature checked.
// pixel_source: the decoded `source` parameter; "default" when there is none or it is empty; ""
// (a name no secret has, so the pixel is refused) when it is invalid or appears twice.
std::string pixel_source(std::string_view query);
Result<Conversion> parse_pixel(std::string_view query, std::string_view secret, std::int64_t now_s,
                               std::int64_t window_s = 300);

// Lower-case hex HMAC-SHA256, for senders and tests.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

}  // namespace reelflow::track
