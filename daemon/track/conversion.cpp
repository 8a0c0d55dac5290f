#include "track/conversion.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <variant>
#include <vector>

#include "common/iso_time.hpp"

namespace reelflow::track {

namespace {

constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr std::size_t kMaxEchoBytes = 64;
constexpr std::size_t kMaxSignatureHeaderBytes = 4096;
constexpr std::size_t kMaxTimestampDigits = 12;  // unix seconds until the year 33658
constexpr double kMaxValue = 1e12;               // exclusive
constexpr double kMaxUnixSeconds = 1e11;         // exclusive; above it, milliseconds were sent
constexpr std::size_t kMaxOrderIdCharacters = 128;
constexpr std::size_t kMaxTimeTextBytes = 64;
constexpr std::size_t kDigestBytes = 32;

using Digest = std::array<unsigned char, kDigestBytes>;

// ---- Text ---------------------------------------------------------------------------------------

// The length of the well-formed UTF-8 sequence starting at text[at] (1 to 4 bytes), with its code
// point; 0 when it is ill-formed (a stray continuation byte, an overlong form, a surrogate, above
// U+10FFFF, or cut short). The ranges are those of Unicode's table 3-7.
std::size_t utf8_sequence(std::string_view text, std::size_t at, std::uint32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  std::uint32_t value = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0Fu;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07u;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(at + i);
    if (next < low || next > high) return 0;
    low = 0x80;
    high = 0xBF;
    value = (value << 6) | (next & 0x3Fu);
  }
  code_point = value;
  return length;
}

// The offset of the first ill-formed UTF-8 byte, if any.
std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  std::uint32_t code_point = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_sequence(text, at, code_point);
    if (length == 0) return at;
    at += length;
  }
  return std::nullopt;
}

bool is_control(std::uint32_t code_point) {
  return code_point < 0x20 || (code_point >= 0x7F && code_point < 0xA0);
}

// Untrusted text for an error message, in quotes: at most about kMaxEchoBytes bytes, cut on a
// character boundary, with control characters and ill-formed bytes written as \xNN so that
// nothing sent can break a log line.
std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t at = 0;
  while (at < text.size() && at < kMaxEchoBytes) {
    std::uint32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, at, code_point);
    if (length != 0 && !is_control(code_point)) {
      out.append(text.substr(at, length));
      at += length;
      continue;
    }
    for (std::size_t end = at + (length == 0 ? 1 : length); at < end; ++at) {
      const auto byte = static_cast<unsigned char>(text[at]);
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  out += '\'';
  if (at < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }
char to_ascii_lower(char c) { return is_ascii_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char to_ascii_upper(char c) { return is_ascii_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_ascii_lower(a[i]) != to_ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_ascii_digit(c)) return false;
  }
  return true;
}

int hex_digit(char c) {
  if (is_ascii_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 64 hex digits, either case, as the 32 bytes they spell.
std::optional<Digest> parse_digest_hex(std::string_view hex) {
  if (hex.size() != 2 * kDigestBytes) return std::nullopt;
  Digest digest{};
  for (std::size_t i = 0; i < kDigestBytes; ++i) {
    const int high = hex_digit(hex[2 * i]);
    const int low = hex_digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return digest;
}

// Click ids and link codes: [A-Za-z0-9_-]{min,max}.
bool is_token(std::string_view text, std::size_t min_length, std::size_t max_length) {
  if (text.size() < min_length || text.size() > max_length) return false;
  for (char c : text) {
    if (!is_ascii_digit(c) && !is_ascii_upper(c) && !is_ascii_lower(c) && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

// One application/x-www-form-urlencoded name or value: %XX escapes, '+' for a space.
Result<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (c == '+') {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      const int high = at + 1 < text.size() ? hex_digit(text[at + 1]) : -1;
      const int low = at + 2 < text.size() ? hex_digit(text[at + 2]) : -1;
      if (high < 0 || low < 0) {
        return fail("invalid percent escape " + quote(text.substr(at, 3)) +
                    " (a '%' must be followed by two hex digits)");
      }
      out += static_cast<char>(high * 16 + low);
      at += 2;
    }
  }
  return out;
}

// A query or form body as sent: its '&'-separated pieces, empty ones included, each with the raw
// name (before the first '=') and raw value (after it; empty when there is no '=').
struct QueryPiece {
  std::string_view text;
  std::string_view name;
  std::string_view value;
};

std::vector<QueryPiece> split_query(std::string_view query) {
  std::vector<QueryPiece> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(query.find('&', start), query.size());
    const std::string_view text = query.substr(start, end - start);
    const std::size_t equals = text.find('=');
    pieces.push_back(
        {text, text.substr(0, equals),
         equals == std::string_view::npos ? std::string_view{} : text.substr(equals + 1)});
    if (end == query.size()) break;
    start = end + 1;
  }
  return pieces;
}

// ---- HMAC ---------------------------------------------------------------------------------------

Digest hmac_sha256(std::string_view key, std::string_view message) {
  // OpenSSL wants non-null pointers even for empty input.
  static constexpr unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  const auto* message_bytes =
      message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  assert(key.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()));
  Digest digest{};
  unsigned int length = 0;
  const unsigned char* done = HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
                                   message_bytes, message.size(), digest.data(), &length);
  // Fails only when OpenSSL cannot run SHA-256 at all (no memory, a broken provider setup).
  assert(done != nullptr && length == kDigestBytes);
  (void)done;
  return digest;
}

std::string to_hex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * digest.size());
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0x0F];
  }
  return hex;
}

// Unix seconds as sent in a signature: 1 to kMaxTimestampDigits decimal digits, no sign.
std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  if (!all_digits(text) || text.size() > kMaxTimestampDigits) return std::nullopt;
  std::int64_t seconds = 0;
  std::from_chars(text.data(), text.data() + text.size(), seconds);
  return seconds;
}

// The checks common to the header and the pixel: some candidate equals HMAC(secret,
// "<t>.<message>") (compared in constant time), then t is within the window. `what` names the
// signature in messages ("the signature", "the pixel's sig").
Result<void> check_signed(std::string_view timestamp_text, std::int64_t timestamp,
                          const std::vector<Digest>& candidates, std::string_view message,
                          std::string_view secret, std::int64_t now_s, std::int64_t window_s,
                          const std::string& what, const std::string& signed_as) {
  assert(now_s >= 0 && window_s >= 0);
  if (secret.empty()) {
    return fail(what + " cannot be checked: no secret is configured for this source");
  }
  std::string signed_text;
  signed_text.reserve(timestamp_text.size() + 1 + message.size());
  signed_text.append(timestamp_text).append(".").append(message);
  const Digest expected = hmac_sha256(secret, signed_text);
  bool matched = false;
  for (const Digest& candidate : candidates) {
    matched |= CRYPTO_memcmp(candidate.data(), expected.data(), expected.size()) == 0;
  }
  if (!matched) {
    return fail(what + " does not match (HMAC-SHA256 with the source's secret over " + signed_as +
                "; check the secret and that exactly the bytes sent were signed)");
  }
  // Both are in [0, INT64_MAX], so the difference cannot overflow.
  const std::int64_t age = now_s - timestamp;
  if (age > window_s) {
    return fail(what + "'s timestamp t=" + std::to_string(timestamp) + " is " +
                std::to_string(age) + " s in the past; the window is " + std::to_string(window_s) +
                " s (a replayed request, or the sender's clock is off)");
  }
  if (-age > window_s) {
    return fail(what + "'s timestamp t=" + std::to_string(timestamp) + " is " +
                std::to_string(-age) + " s in the future; the window is " +
                std::to_string(window_s) + " s (check the sender's clock)");
  }
  return {};
}

// ---- Conversion fields --------------------------------------------------------------------------

enum Field : std::size_t { kClick, kCode, kEvent, kValue, kCurrency, kOrderId, kAt, kFieldCount };
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "click", "code", "event", "value", "currency", "order_id", "at"};

std::optional<Field> field_named(std::string_view name) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

// A JSON number as sent: its value, and its exact decimal text when it is an integer.
struct JsonNumber {
  double value = 0;
  std::optional<std::string> integer_text;
};

// A field as it arrived: text (a form value, a JSON string) or a JSON number. Absent fields (and
// nulls and empty strings) are std::nullopt.
using RawValue = std::variant<std::string, JsonNumber>;
using RawFields = std::array<std::optional<RawValue>, kFieldCount>;

std::string field_error(Field field, const std::string& problem) {
  return std::string(kFieldNames[field]) + ": " + problem;
}

Result<std::string> text_field(const RawValue& raw, Field field) {
  if (const auto* text = std::get_if<std::string>(&raw)) return *text;
  return fail(field_error(field, "expected a string, got a number"));
}

// "49.90", "0", "5.", ".5": digits with at most one '.', no sign, exponent or spaces.
std::optional<double> parse_decimal(std::string_view text) {
  bool seen_point = false, seen_digit = false;
  for (char c : text) {
    if (is_ascii_digit(c)) {
      seen_digit = true;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      return std::nullopt;
    }
  }
  if (!seen_digit) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    // Too large is caught by the range check; too small (a very long 0.000...) is zero.
    bool integer_part_zero = true;
    for (char c : text) {
      if (c == '.') break;
      if (c != '0') integer_part_zero = false;
    }
    return integer_part_zero ? 0.0 : std::numeric_limits<double>::infinity();
  }
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<double> parse_value(const RawValue& raw) {
  double value = 0;
  if (const auto* number = std::get_if<JsonNumber>(&raw)) {
    value = number->value;
  } else {
    const auto& text = std::get<std::string>(raw);
    const auto parsed = parse_decimal(text);
    if (!parsed) {
      return fail(field_error(kValue, quote(text) +
                                          " is not a decimal number like 49.90 (digits and an "
                                          "optional '.'; no sign, exponent or separators)"));
    }
    value = *parsed;
  }
  if (!std::isfinite(value) || value < 0 || value >= kMaxValue) {
    return fail(field_error(kValue, "must be at least 0 and below 1e12"));
  }
  return value == 0 ? 0.0 : value;  // no -0
}

Result<std::string> parse_currency(const RawValue& raw) {
  auto text = text_field(raw, kCurrency);
  if (!text) return text;
  std::string code = *text;
  bool letters = code.size() == 3;
  for (char& c : code) {
    c = to_ascii_upper(c);
    letters = letters && is_ascii_upper(c);
  }
  if (!letters) {
    return fail(field_error(kCurrency, quote(*text) + " is not a currency code (three letters, "
                                                      "like EUR)"));
  }
  return code;
}

Result<std::string> parse_event(const RawValue& raw) {
  auto text = text_field(raw, kEvent);
  if (!text) return text;
  std::string event = *text;
  bool valid = !event.empty() && event.size() <= 64;
  for (char& c : event) {
    c = to_ascii_lower(c);
    valid = valid && (is_ascii_lower(c) || is_ascii_digit(c) || c == '_' || c == '.' || c == '-');
  }
  if (!valid) {
    return fail(field_error(kEvent, quote(*text) +
                                        " is not an event name (1-64 characters of a-z, 0-9, "
                                        "'_', '.', '-', like purchase or lead)"));
  }
  return event;
}

Result<std::string> parse_order_id(const RawValue& raw) {
  if (const auto* number = std::get_if<JsonNumber>(&raw)) {
    if (!number->integer_text) {
      return fail(field_error(kOrderId, "expected a string or an integer, got a fraction"));
    }
    return *number->integer_text;
  }
  const auto& text = std::get<std::string>(raw);
  std::size_t characters = 0;
  for (std::size_t at = 0; at < text.size(); ++characters) {
    std::uint32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, at, code_point);
    if (length == 0) {
      return fail(field_error(kOrderId, "is not valid UTF-8 (at byte " + std::to_string(at) + ")"));
    }
    if (is_control(code_point)) {
      return fail(field_error(kOrderId, quote(text) + " contains a control character (at byte " +
                                            std::to_string(at) + ")"));
    }
    at += length;
  }
  if (characters > kMaxOrderIdCharacters) {
    return fail(field_error(
        kOrderId, "is " + std::to_string(characters) + " characters long; the limit is 128"));
  }
  return text;
}

Result<std::int64_t> unix_seconds_to_ms(double seconds, const std::string& shown) {
  if (!std::isfinite(seconds) || seconds < 0) {
    return fail(field_error(kAt, shown + " is not a time (unix seconds must not be negative)"));
  }
  if (seconds >= kMaxUnixSeconds) {
    return fail(field_error(kAt, shown + " is too large for unix seconds (milliseconds? send "
                                         "seconds, or ISO 8601 like 2026-11-30T10:00:00Z)"));
  }
  return static_cast<std::int64_t>(std::llround(seconds * 1000));
}

Result<std::int64_t> parse_at(const RawValue& raw) {
  if (const auto* number = std::get_if<JsonNumber>(&raw)) {
    return unix_seconds_to_ms(number->value, "the number");
  }
  const auto& text = std::get<std::string>(raw);
  if (all_digits(text)) {
    if (text.size() > 11) return unix_seconds_to_ms(kMaxUnixSeconds, quote(text));
    return unix_seconds_to_ms(static_cast<double>(*parse_timestamp(text)), quote(text));
  }
  // parse_iso_time quotes its input whole: hand it only short, printable ASCII.
  bool printable = text.size() <= kMaxTimeTextBytes;
  for (char c : text) printable = printable && c >= 0x20 && c < 0x7F;
  if (!printable) {
    return fail(field_error(kAt, quote(text) + " is not a time (ISO 8601 with an offset, like "
                                               "2026-11-30T10:00:00Z, or unix seconds)"));
  }
  auto millis = parse_iso_time(text);
  if (!millis) return fail(field_error(kAt, millis.error().message + "; or send unix seconds"));
  return *millis;
}

// The fields' own rules, then the rules between them.
Result<Conversion> validate(const RawFields& fields) {
  Conversion conversion;
  const bool has_click = fields[kClick].has_value(), has_code = fields[kCode].has_value();
  if (has_click && has_code) {
    return fail("click, code: send either a click id (click) or a link code (code), not both");
  }
  if (!has_click && !has_code) {
    return fail("click: missing; send the click id (click) or the link code (code)");
  }
  const Field id_field = has_click ? kClick : kCode;
  auto id = text_field(*fields[id_field], id_field);
  if (!id) return tl::unexpected(id.error());
  if (!is_token(*id, 4, 64)) {
    return fail(field_error(id_field, quote(*id) + " is not a " +
                                          (has_click ? "click id" : "link code") +
                                          " (4-64 characters of A-Z, a-z, 0-9, '_', '-')"));
  }
  (has_click ? conversion.click_id : conversion.code) = std::move(*id);

  if (!fields[kEvent]) return fail("event: missing; send e.g. event=purchase or event=lead");
  auto event = parse_event(*fields[kEvent]);
  if (!event) return tl::unexpected(event.error());
  conversion.event = std::move(*event);

  if (fields[kValue]) {
    auto value = parse_value(*fields[kValue]);
    if (!value) return tl::unexpected(value.error());
    conversion.value = *value;
  }
  if (fields[kCurrency]) {
    auto currency = parse_currency(*fields[kCurrency]);
    if (!currency) return tl::unexpected(currency.error());
    conversion.currency = std::move(*currency);
  } else if (conversion.value > 0) {
    return fail("currency: missing; it is required when value is above 0 (like EUR)");
  }
  if (fields[kOrderId]) {
    auto order_id = parse_order_id(*fields[kOrderId]);
    if (!order_id) return tl::unexpected(order_id.error());
    conversion.order_id = std::move(*order_id);
  }
  if (fields[kAt]) {
    auto at = parse_at(*fields[kAt]);
    if (!at) return tl::unexpected(at.error());
    conversion.at_ms = *at;
  }
  return conversion;
}

// ---- Bodies -------------------------------------------------------------------------------------

Result<RawFields> read_json(std::string_view body) {
  if (const auto bad = first_invalid_utf8(body)) {
    return fail("the JSON body is not valid UTF-8 (at byte " + std::to_string(*bad) + ")");
  }
  std::set<std::string, std::less<>> seen;
  std::optional<std::string> duplicate;
  const auto note_duplicates = [&](int depth, nlohmann::json::parse_event_t event,
                                   nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && !duplicate) {
      const auto& name = parsed.get_ref<const std::string&>();
      if (field_named(name) && !seen.insert(name).second) duplicate = name;
    }
    return true;
  };
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(body, note_duplicates);
  } catch (const nlohmann::json::parse_error& error) {
    return fail("the body is not valid JSON (at byte " + std::to_string(error.byte) + ")");
  } catch (const nlohmann::json::exception&) {
    return fail("the body is not valid JSON (a number is too large)");
  }
  if (!document.is_object()) {
    return fail(std::string("the JSON body must be an object, like {\"click\": \"...\", "
                            "\"event\": \"purchase\"}; it is a JSON ") +
                document.type_name());
  }
  if (duplicate) return fail(*duplicate + ": appears more than once");
  RawFields fields;
  for (const auto& [name, item] : document.items()) {
    const auto field = field_named(name);
    if (!field || item.is_null()) continue;
    if (item.is_string()) {
      const auto& text = item.get_ref<const std::string&>();
      if (!text.empty()) fields[*field] = text;
    } else if (item.is_number()) {
      JsonNumber number{item.get<double>(), std::nullopt};
      if (item.is_number_integer()) number.integer_text = item.dump();
      fields[*field] = std::move(number);
    } else {
      // The remaining types are boolean, array and object.
      return fail(field_error(*field, std::string("expected a string or a number, got ") +
                                          (item.is_boolean() ? "a " : "an ") + item.type_name()));
    }
  }
  return fields;
}

// Form bodies and pixel queries: the conversion fields among the pieces; other names are ignored,
// their values not even decoded.
Result<RawFields> read_form(std::string_view query) {
  RawFields fields;
  std::array<bool, kFieldCount> seen{};
  for (const QueryPiece& piece : split_query(query)) {
    if (piece.text.empty()) continue;
    auto name = form_decode(piece.name);
    if (!name) {
      return fail("a parameter name " + quote(piece.name) + " has an " + name.error().message);
    }
    const auto field = field_named(*name);
    if (!field) continue;
    if (seen[*field]) return fail(field_error(*field, "appears more than once"));
    seen[*field] = true;
    auto value = form_decode(piece.value);
    if (!value) return fail(field_error(*field, value.error().message));
    if (const auto bad = first_invalid_utf8(*value)) {
      return fail(field_error(*field, "is not valid UTF-8 after percent-decoding (at byte " +
                                          std::to_string(*bad) + ")"));
    }
    if (!value->empty()) fields[*field] = std::move(*value);
  }
  return fields;
}

// The media type of a Content-Type, without parameters or surrounding spaces.
std::string_view media_type(std::string_view content_type) {
  return trim_spaces(content_type.substr(0, content_type.find(';')));
}

Result<void> check_size(std::string_view what, std::size_t size) {
  if (size <= kMaxBodyBytes) return {};
  return fail(std::string(what) + " is " + std::to_string(size) +
              " bytes; the limit is 65536 (64 KiB)");
}

}  // namespace

Result<Conversion> parse_conversion(std::string_view content_type, std::string_view body) {
  const std::string_view type = media_type(content_type);
  const bool json = equals_ignoring_case(type, "application/json");
  const bool form = equals_ignoring_case(type, "application/x-www-form-urlencoded");
  if (!json && !form) {
    return fail("unsupported Content-Type " + quote(content_type) +
                "; send application/json or application/x-www-form-urlencoded");
  }
  if (auto size = check_size("the body", body.size()); !size) return tl::unexpected(size.error());
  auto fields = json ? read_json(body) : read_form(body);
  if (!fields) return tl::unexpected(fields.error());
  return validate(*fields);
}

Result<void> verify_signature(std::string_view header, std::string_view body,
                              std::string_view secret, std::int64_t now_s, std::int64_t window_s) {
  const auto malformed = [](const std::string& why) {
    return fail("X-Reelflow-Signature is malformed: " + why +
                " (expected t=<unix seconds>,v1=<64 hex digits>)");
  };
  if (header.size() > kMaxSignatureHeaderBytes) {
    return malformed("it is " + std::to_string(header.size()) + " bytes long");
  }
  if (trim_spaces(header).empty()) return malformed("it is empty");
  std::optional<std::string_view> timestamp_text;
  std::vector<Digest> candidates;
  std::size_t start = 0;
  while (start <= header.size()) {
    const std::size_t end = std::min(header.find(',', start), header.size());
    const std::string_view item = trim_spaces(header.substr(start, end - start));
    start = end + 1;
    if (item.empty()) continue;  // "t=1,,v1=..." or a trailing comma
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return malformed(quote(item) + " is not key=value");
    }
    const std::string_view key = item.substr(0, equals), value = item.substr(equals + 1);
    if (key == "t") {
      if (timestamp_text) return malformed("t appears twice");
      timestamp_text = value;
    } else if (key == "v1") {
      const auto digest = parse_digest_hex(value);
      if (!digest) {
        return malformed("a v1 value is not 64 hex digits (it has " + std::to_string(value.size()) +
                         " characters)");
      }
      candidates.push_back(*digest);
    }  // other keys: later schemes, ignored
  }
  if (!timestamp_text) return malformed("t is missing");
  const auto timestamp = parse_timestamp(*timestamp_text);
  if (!timestamp) return malformed("t=" + quote(*timestamp_text) + " is not unix seconds");
  if (candidates.empty()) return malformed("there is no v1 signature");
  return check_signed(*timestamp_text, *timestamp, candidates, body, secret, now_s, window_s,
                      "the signature", "\"<t>.<body>\"");
}

std::string pixel_source(std::string_view query) {
  std::optional<std::string> source;
  for (const QueryPiece& piece : split_query(query)) {
    auto name = form_decode(piece.name);
    if (!name || *name != "source") continue;
    if (source) return "";  // ambiguous: refuse rather than pick one
    auto value = form_decode(piece.value);
    if (!value) return "";
    source = std::move(*value);
  }
  if (!source || source->empty()) return "default";
  return is_token(*source, 1, 64) ? *source : "";
}

Result<Conversion> parse_pixel(std::string_view query, std::string_view secret, std::int64_t now_s,
                               std::int64_t window_s) {
  if (auto size = check_size("the pixel's query", query.size()); !size) {
    return tl::unexpected(size.error());
  }
  const auto malformed = [](const std::string& why) {
    return fail("the pixel's query is malformed: " + why +
                " (it needs t=<unix seconds> and sig=<64 hex digits>)");
  };
  const std::vector<QueryPiece> pieces = split_query(query);
  std::optional<std::size_t> sig_index;
  std::optional<std::string> timestamp_text;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    auto name = form_decode(pieces[i].name);
    if (!name) {
      return malformed("a parameter name " + quote(pieces[i].name) + " has an " +
                       name.error().message);
    }
    if (*name == "sig") {
      if (sig_index) return malformed("sig appears twice");
      sig_index = i;
    } else if (*name == "t") {
      if (timestamp_text) return malformed("t appears twice");
      auto value = form_decode(pieces[i].value);
      if (!value) return malformed("t has an " + value.error().message);
      timestamp_text = std::move(*value);
    }
  }
  if (!sig_index) return malformed("sig is missing");
  if (!timestamp_text) return malformed("t is missing");
  const auto timestamp = parse_timestamp(*timestamp_text);
  if (!timestamp) return malformed("t=" + quote(*timestamp_text) + " is not unix seconds");
  auto sig_hex = form_decode(pieces[*sig_index].value);
  const auto digest = sig_hex ? parse_digest_hex(*sig_hex) : std::nullopt;
  if (!digest) return malformed("sig is not 64 hex digits");

  std::string signed_query;
  signed_query.reserve(query.size());
  bool first = true;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i == *sig_index) continue;
    if (!first) signed_query += '&';
    signed_query.append(pieces[i].text);
    first = false;
  }
  if (auto checked = check_signed(*timestamp_text, *timestamp, {*digest}, signed_query, secret,
                                  now_s, window_s, "the pixel's sig",
                                  "\"<t>.\" + the query without its sig parameter");
      !checked) {
    return tl::unexpected(checked.error());
  }
  auto fields = read_form(query);
  if (!fields) return tl::unexpected(fields.error());
  return validate(*fields);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return to_hex(hmac_sha256(key, message));
}

}  // namespace reelflow::track
