// reelflow plugin SDK: a header-only C++20 layer over <reelflow/plugin.h> for plugin authors.
//
// It depends only on plugin.h and the standard library, and adds no ABI of its own: everything it
// builds is a plain plugin.h struct, and the only symbol a plugin exports is still
// reelflow_plugin_entry. What it offers:
//
//   reelflow::option::*          constexpr builders for option tables (struct_size set for you);
//                                reelflow::json_string<"text"> quotes a default at compile time.
//   reelflow::step_type<Step>()  an rf_step_type whose callbacks construct and call your class
//                                Step; no exception ever crosses the C boundary.
//   reelflow::trigger_type<T>()  an rf_trigger_type (ABI 1.1) whose callbacks construct and call
//                                your class T, an event source on the daemon's loop.
//   reelflow::publisher_type<P>() an rf_publisher_type (ABI 1.2) whose callbacks construct and
//                                call your class P, which puts videos on one platform.
//   reelflow::plugin()           the rf_plugin descriptor; REELFLOW_PLUGIN(descriptor) defines the
//                                entry function.
//   reelflow::Run                the host services of one step execution as C++ calls (log,
//                                progress, cancelled, artifact dir, secrets, state, output, fail,
//                                checkpoint, and (ABI 1.3) call: the daemon's services).
//   reelflow::json               a small JSON writer for outputs and a small reader for the
//                                option and context objects the host passes in.
//
// A step class looks like this (see plugins/hello/hello.cpp for a complete plugin):
//
//   class Stamp {
//    public:
//     explicit Stamp(std::string_view config_json);        // optional; or (const Host&, config)
//     rf_status run(reelflow::Run& run);                    // required
//     void cancel();                                        // optional; called from another thread
//     rf_status reconcile(reelflow::Run& run, std::string_view intent_json);  // irreversible steps
//   };
//
// A trigger class (see plugins/watch for a complete one; plugin.h for the contract):
//
//   class Ticker {
//    public:
//     // Required; throw to refuse to start.
//     Ticker(const reelflow::TriggerHost& host, std::string_view config_json,
//            std::string_view options_json);
//     int fd() const;                // with on_readable: a pollable descriptor
//     void on_readable();
//     std::int64_t next_timeout();   // with on_timer: ms until on_timer, -1 for none
//     void on_timer();
//     ~Ticker();                     // stop: close the fd
//   };
//
// It needs fd + on_readable, next_timeout + on_timer, or both. It starts runs with
// host.emit(trigger_object, key). An exception escaping the constructor makes start return NULL
// (the message is logged through the host); one escaping another member is logged and the call
// returns (next_timeout and fd then answer -1).
//
// Contract: run/reconcile report failure by returning run.fail("what failed, on which input"),
// which records the message and returns RF_STATUS_ERROR. An exception escaping Step's constructor
// makes create return NULL (the message is logged); one escaping run/reconcile fails the step with
// "unexpected error: <what()>". Prefer explicit failures with actionable messages.
//
// Thread-safety: a Step instance serves many runs, one at a time (run and reconcile are never
// concurrent on one instance), but cancel() is called from another thread while run() is in
// progress: make what it touches atomic. A trigger instance is only ever called from the daemon's
// loop thread, one call at a time; it must never block. Different instances may run concurrently,
// so any state shared between instances must be thread-safe. A Run is a handle valid only during
// the call it was made for; its member functions may be called from any thread during that call.
// json:: values are plain values: one thread at a time per object.
//
// JSON limits (by design; use a full JSON library if you need more): the writer escapes strings
// correctly (quotes, backslashes, control characters; valid UTF-8 passes through unchanged and
// invalid bytes become U+FFFD) and writes numbers in their shortest round-trip form (non-finite
// as null); it does not check for duplicate keys. The reader parses one JSON object per call,
// validates the whole text (RFC 8259 grammar, nesting up to 128 levels), decodes strings
// (including \u escapes and surrogate pairs), and keeps nested objects and arrays as raw JSON text
// that as_object()/as_array() parse on demand. It does not validate UTF-8 inside strings, keeps
// numbers as their literal text (as_int/as_double convert on request), and lets the last of
// duplicate keys win. It is meant for the flat objects the host passes in, not for large data.
#ifndef REELFLOW_PLUGIN_HPP
#define REELFLOW_PLUGIN_HPP

#include <reelflow/plugin.h>

#if __cplusplus < 202002L
#error "<reelflow/plugin.hpp> needs C++20 (compile with -std=c++20); plugin.h alone works in C."
#endif

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace reelflow {

// =================================================================================================
// JSON writer
// =================================================================================================

namespace json {

namespace detail {

// Length of the well-formed UTF-8 sequence at the start of text (whose first byte is >= 0x80),
// or 0 if it is not well formed (overlong, surrogate, beyond U+10FFFF, truncated).
constexpr std::size_t utf8_sequence_length(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // no overlong forms
    if (lead == 0xED) second_max = 0x9F;  // no UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // no overlong forms
    if (lead == 0xF4) second_max = 0x8F;  // nothing beyond U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// JSON's two-character escape for c ("\\n" for a newline), or nullptr if it has none.
constexpr const char* short_escape(char c) noexcept {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return nullptr;
  }
}

inline constexpr char kHexDigits[] = "0123456789abcdef";

template <typename T>
inline constexpr bool is_optional_v = false;
template <typename T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <typename T>
inline constexpr bool always_false_v = false;

}  // namespace detail

// Appends text to out as a JSON string literal, quotes included.
inline void append_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x80) {
      const std::size_t length = detail::utf8_sequence_length(text.substr(i));
      if (length == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    if (const char* escape = detail::short_escape(static_cast<char>(byte))) {
      out += escape;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += detail::kHexDigits[byte >> 4];
      out += detail::kHexDigits[byte & 0xF];
    } else {
      out += static_cast<char>(byte);
    }
    ++i;
  }
  out += '"';
}

// text as a JSON string literal: quote("a\"b") == R"("a\"b")".
inline std::string quote(std::string_view text) {
  std::string out;
  append_string(out, text);
  return out;
}

// JSON text that is inserted as is (the caller vouches that it is valid JSON).
struct Raw {
  std::string text;
  const std::string& json_text() const noexcept { return text; }
};

// Appends value as JSON. Supported: bool, integers, floating point (non-finite becomes null),
// anything convertible to std::string_view, const char* (NULL becomes null),
// std::filesystem::path, std::nullptr_t, std::optional<T> (empty becomes null), and every type
// with a json_text() member (Raw, ObjectBuilder, ArrayBuilder, Value). char is refused: write
// std::string(1, c) or an integer explicitly.
template <typename T>
void append_value(std::string& out, const T& value) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<U, std::nullptr_t>) {
    out += "null";
  } else if constexpr (std::is_same_v<U, char>) {
    static_assert(detail::always_false_v<U>,
                  "reelflow::json: a char is ambiguous; write std::string(1, c) or an integer");
  } else if constexpr (std::is_integral_v<U>) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
  } else if constexpr (std::is_floating_point_v<U>) {
    if (!std::isfinite(value)) {
      out += "null";
    } else {
      char buffer[64];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
      out.append(buffer, result.ptr);
    }
  } else if constexpr (std::is_pointer_v<U>) {
    static_assert(std::is_same_v<std::remove_cv_t<std::remove_pointer_t<U>>, char>,
                  "reelflow::json: only char pointers (C strings) can be written");
    if (value == nullptr) {
      out += "null";
    } else {
      append_string(out, std::string_view(value));
    }
  } else if constexpr (std::is_same_v<U, std::filesystem::path>) {
    append_string(out, value.string());
  } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
    append_string(out, std::string_view(value));
  } else if constexpr (detail::is_optional_v<U>) {
    if (value) {
      append_value(out, *value);
    } else {
      out += "null";
    }
  } else if constexpr (requires { value.json_text(); }) {
    out += value.json_text();
  } else {
    static_assert(detail::always_false_v<U>, "reelflow::json: no JSON form for this type");
  }
}

// Builds a JSON object, keys in insertion order:
//   std::string text = json::ObjectBuilder().add("stamp", path).add("size", 42).str();
class ObjectBuilder {
 public:
  template <typename T>
  ObjectBuilder& add(std::string_view key, const T& value) {
    if (text_.size() > 1) text_ += ',';
    append_string(text_, key);
    text_ += ':';
    append_value(text_, value);
    return *this;
  }
  bool empty() const noexcept { return text_.size() == 1; }
  std::string str() const { return text_ + '}'; }
  std::string json_text() const { return str(); }

 private:
  std::string text_ = "{";
};

// Builds a JSON array: json::ArrayBuilder().push("a").push(1).str() == R"(["a",1])".
class ArrayBuilder {
 public:
  template <typename T>
  ArrayBuilder& push(const T& value) {
    if (text_.size() > 1) text_ += ',';
    append_value(text_, value);
    return *this;
  }
  bool empty() const noexcept { return text_.size() == 1; }
  std::string str() const { return text_ + ']'; }
  std::string json_text() const { return str(); }

 private:
  std::string text_ = "[";
};

// =================================================================================================
// JSON reader
// =================================================================================================

enum class Type { null, boolean, number, string, object, array };

class Object;

// One JSON value as read by Object::parse.
class Value {
 public:
  Value() = default;
  Value(Type type, std::string text) : type_(type), text_(std::move(text)) {}

  Type type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == Type::null; }
  bool is_bool() const noexcept { return type_ == Type::boolean; }
  bool is_number() const noexcept { return type_ == Type::number; }
  bool is_string() const noexcept { return type_ == Type::string; }
  bool is_object() const noexcept { return type_ == Type::object; }
  bool is_array() const noexcept { return type_ == Type::array; }

  // string: the decoded string; number: the literal as written; bool: "true"/"false";
  // null: "null"; object/array: the raw JSON text.
  const std::string& text() const noexcept { return text_; }

  // The value as JSON text again (strings quoted), e.g. to copy it into an output.
  std::string json_text() const { return type_ == Type::string ? quote(text_) : text_; }

  // Each returns nullopt when the value is of another type (or a number out of range).
  std::optional<std::string> as_string() const {
    if (type_ != Type::string) return std::nullopt;
    return text_;
  }
  std::optional<bool> as_bool() const {
    if (type_ != Type::boolean) return std::nullopt;
    return text_ == "true";
  }
  std::optional<double> as_double() const {
    if (type_ != Type::number) return std::nullopt;
    double result = 0;
    const auto [end, error] = std::from_chars(text_.data(), text_.data() + text_.size(), result);
    if (error != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
    return result;
  }
  // Integers written as 30 or as 30.0 / 3e1 (the host may send durations as 30.0).
  std::optional<std::int64_t> as_int() const {
    if (type_ != Type::number) return std::nullopt;
    std::int64_t result = 0;
    const auto [end, error] = std::from_chars(text_.data(), text_.data() + text_.size(), result);
    if (error == std::errc() && end == text_.data() + text_.size()) return result;
    const std::optional<double> real = as_double();
    if (!real || std::trunc(*real) != *real || *real < -9223372036854775808.0 ||
        *real >= 9223372036854775808.0) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(*real);
  }
  inline std::optional<Object> as_object() const;
  inline std::optional<std::vector<Value>> as_array() const;

 private:
  Type type_ = Type::null;
  std::string text_ = "null";
};

namespace detail {

// Recursive-descent parser over one JSON text. Every function returns false after setting error.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool parse_object(std::vector<std::pair<std::string, Value>>& members) {
    skip_whitespace();
    if (!expect('{', "a JSON object")) return false;
    skip_whitespace();
    if (consume('}')) return finish();
    while (true) {
      skip_whitespace();
      std::string key;
      if (!peek('"')) return fail("expected a string key");
      if (!parse_string(key)) return false;
      skip_whitespace();
      if (!expect(':', "':'")) return false;
      Value value;
      if (!parse_value(value, 1)) return false;
      members.emplace_back(std::move(key), std::move(value));
      skip_whitespace();
      if (consume(',')) continue;
      if (!expect('}', "',' or '}'")) return false;
      return finish();
    }
  }

  bool parse_array(std::vector<Value>& items) {
    skip_whitespace();
    if (!expect('[', "a JSON array")) return false;
    skip_whitespace();
    if (consume(']')) return finish();
    while (true) {
      Value value;
      if (!parse_value(value, 1)) return false;
      items.push_back(std::move(value));
      skip_whitespace();
      if (consume(',')) continue;
      if (!expect(']', "',' or ']'")) return false;
      return finish();
    }
  }

  const std::string& error() const noexcept { return error_; }

 private:
  static constexpr int kMaxDepth = 128;

  bool parse_value(Value& out, int depth) {
    skip_whitespace();
    if (at_end()) return fail("expected a value");
    const std::size_t start = pos_;
    switch (text_[pos_]) {
      case '"': {
        std::string decoded;
        if (!parse_string(decoded)) return false;
        out = Value(Type::string, std::move(decoded));
        return true;
      }
      case '{':
      case '[':
        if (!skip_container(depth)) return false;
        out = Value(text_[start] == '{' ? Type::object : Type::array,
                    std::string(text_.substr(start, pos_ - start)));
        return true;
      case 't':
        if (!literal("true")) return false;
        out = Value(Type::boolean, "true");
        return true;
      case 'f':
        if (!literal("false")) return false;
        out = Value(Type::boolean, "false");
        return true;
      case 'n':
        if (!literal("null")) return false;
        out = Value();
        return true;
      default:
        if (!skip_number()) return false;
        out = Value(Type::number, std::string(text_.substr(start, pos_ - start)));
        return true;
    }
  }

  // Validates a nested object or array without building values for it.
  bool skip_container(int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 128 levels");
    const char close = text_[pos_] == '{' ? '}' : ']';
    ++pos_;
    skip_whitespace();
    if (consume(close)) return true;
    while (true) {
      skip_whitespace();
      if (close == '}') {
        std::string key;
        if (!peek('"')) return fail("expected a string key");
        if (!parse_string(key)) return false;
        skip_whitespace();
        if (!expect(':', "':'")) return false;
      }
      Value ignored;
      if (!parse_value(ignored, depth + 1)) return false;
      skip_whitespace();
      if (consume(',')) continue;
      return close == '}' ? expect('}', "',' or '}'") : expect(']', "',' or ']'");
    }
  }

  bool parse_string(std::string& out) {
    ++pos_;  // the opening quote
    while (true) {
      if (at_end()) return fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        return fail("control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) return fail("unterminated string");
      switch (text_[pos_++]) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t code = 0;
          if (!hex4(code)) return false;
          if (code >= 0xD800 && code <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            const std::size_t saved = pos_;
            pos_ += 2;
            std::uint32_t low = 0;
            if (!hex4(low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = saved;  // a lone high surrogate followed by another escape
            }
          }
          if (code >= 0xD800 && code <= 0xDFFF) code = 0xFFFD;  // lone surrogate
          append_utf8(out, code);
          break;
        }
        default:
          --pos_;
          return fail("invalid escape in a string");
      }
    }
  }

  bool hex4(std::uint32_t& code) {
    if (text_.size() - pos_ < 4) return fail("truncated \\u escape");
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9') {
        code |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        code |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        code |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        --pos_;
        return fail("invalid \\u escape");
      }
    }
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool skip_number() {
    consume('-');
    if (consume('0')) {
      // no leading zeros
    } else if (!skip_digits()) {
      return fail("expected a value");
    }
    if (consume('.') && !skip_digits()) return fail("expected digits after '.'");
    if (consume('e') || consume('E')) {
      if (!consume('+')) consume('-');
      if (!skip_digits()) return fail("expected digits in the exponent");
    }
    return true;
  }

  bool skip_digits() {
    const std::size_t start = pos_;
    while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("expected a value");
    pos_ += word.size();
    return true;
  }

  bool finish() {
    skip_whitespace();
    return at_end() || fail("unexpected text after the end");
  }

  void skip_whitespace() noexcept {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                         text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  bool peek(char c) const noexcept { return !at_end() && text_[pos_] == c; }
  bool consume(char c) noexcept {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  bool expect(char c, std::string_view what) {
    return consume(c) || fail("expected " + std::string(what));
  }
  bool fail(std::string message) {
    error_ = std::move(message) + " at offset " + std::to_string(pos_);
    return false;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace detail

// A parsed JSON object: its members in document order.
//   auto options = json::Object::parse(run.options_json());
//   std::string greeting = options->get_string("greeting").value_or("Hello");
class Object {
 public:
  using Member = std::pair<std::string, Value>;

  // nullopt when text is not exactly one JSON object; *error (if given) then says why and where,
  // e.g. "expected ':' at offset 7".
  static std::optional<Object> parse(std::string_view text, std::string* error = nullptr) {
    Object object;
    detail::Parser parser(text);
    if (!parser.parse_object(object.members_)) {
      if (error != nullptr) *error = parser.error();
      return std::nullopt;
    }
    return object;
  }

  // The member named key (the last one if the key repeats), or nullptr.
  const Value* find(std::string_view key) const noexcept {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
      if (it->first == key) return &it->second;
    }
    return nullptr;
  }
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  // nullopt when the key is absent or its value has another type (null included).
  std::optional<std::string> get_string(std::string_view key) const {
    const Value* value = find(key);
    return value != nullptr ? value->as_string() : std::nullopt;
  }
  std::optional<bool> get_bool(std::string_view key) const {
    const Value* value = find(key);
    return value != nullptr ? value->as_bool() : std::nullopt;
  }
  std::optional<double> get_double(std::string_view key) const {
    const Value* value = find(key);
    return value != nullptr ? value->as_double() : std::nullopt;
  }
  std::optional<std::int64_t> get_int(std::string_view key) const {
    const Value* value = find(key);
    return value != nullptr ? value->as_int() : std::nullopt;
  }
  std::optional<Object> get_object(std::string_view key) const {
    const Value* value = find(key);
    return value != nullptr ? value->as_object() : std::nullopt;
  }

  const std::vector<Member>& members() const noexcept { return members_; }
  std::size_t size() const noexcept { return members_.size(); }
  bool empty() const noexcept { return members_.empty(); }

 private:
  std::vector<Member> members_;
};

std::optional<Object> Value::as_object() const {
  if (type_ != Type::object) return std::nullopt;
  return Object::parse(text_);
}

std::optional<std::vector<Value>> Value::as_array() const {
  if (type_ != Type::array) return std::nullopt;
  std::vector<Value> items;
  detail::Parser parser(text_);
  if (!parser.parse_array(items)) return std::nullopt;
  return items;
}

}  // namespace json

// =================================================================================================
// Host services
// =================================================================================================

// The host as seen outside a run (in a Step constructor): logging only.
class Host {
 public:
  explicit Host(const rf_host* host) noexcept : host_(host) {}

  void log(rf_log_level level, std::string_view message) const {
    if (host_ != nullptr && host_->log != nullptr) {
      host_->log(nullptr, level, std::string(message).c_str());
    }
  }
  std::uint16_t abi_major() const noexcept { return host_->abi_major; }
  std::uint16_t abi_minor() const noexcept { return host_->abi_minor; }
  const rf_host* raw() const noexcept { return host_; }

 private:
  const rf_host* host_;
};

// What one trigger instance may do: log, and start runs. Valid from the trigger's constructor
// until its destructor starts; use it only inside the trigger's own member functions.
class TriggerHost {
 public:
  explicit TriggerHost(const rf_trigger_host* host) noexcept : host_(host) {}

  // Never log secrets.
  void log(rf_log_level level, std::string_view message) const {
    if (host_ != nullptr && host_->log != nullptr) {
      host_->log(host_, level, std::string(message).c_str());
    }
  }
  void debug(std::string_view message) const { log(RF_LOG_DEBUG, message); }
  void info(std::string_view message) const { log(RF_LOG_INFO, message); }
  void warn(std::string_view message) const { log(RF_LOG_WARN, message); }
  void error(std::string_view message) const { log(RF_LOG_ERROR, message); }

  // Starts a run: trigger_json is a JSON object (the run's `trigger`), key its idempotency key
  // (the same event must always give the same key). False when the host refused the event; it
  // logs why.
  bool emit(const std::string& trigger_json, std::string_view key) const {
    return host_ != nullptr && host_->emit != nullptr &&
           host_->emit(host_, trigger_json.c_str(), std::string(key).c_str()) == 0;
  }
  bool emit(const json::ObjectBuilder& trigger, std::string_view key) const {
    return emit(trigger.str(), key);
  }

  const rf_trigger_host* raw() const noexcept { return host_; }

 private:
  const rf_trigger_host* host_;
};

// One execution of one step: the options and context the host passed, and its services.
class Run {
 public:
  Run(const rf_host* host, rf_run* handle, std::string_view options_json = "{}",
      std::string_view context_json = "{}") noexcept
      : host_(host), handle_(handle), options_json_(options_json), context_json_(context_json) {}

  // The step's options: a JSON object, defaults filled in, durations in seconds.
  std::string_view options_json() const noexcept { return options_json_; }
  // {"run_id", "step_id", "workflow", "attempt", "trigger": {...}, "item": ...}
  std::string_view context_json() const noexcept { return context_json_; }

  // Never log secrets.
  void log(rf_log_level level, std::string_view message) const {
    if (host_->log != nullptr) host_->log(handle_, level, std::string(message).c_str());
  }
  void debug(std::string_view message) const { log(RF_LOG_DEBUG, message); }
  void info(std::string_view message) const { log(RF_LOG_INFO, message); }
  void warn(std::string_view message) const { log(RF_LOG_WARN, message); }
  void error(std::string_view message) const { log(RF_LOG_ERROR, message); }

  // fraction in [0,1], or negative when unknown. Cheap: the host rate-limits.
  void progress(double fraction, std::string_view message = {}) const {
    if (host_->progress == nullptr) return;
    if (message.empty()) {
      host_->progress(handle_, fraction, nullptr);
    } else {
      host_->progress(handle_, fraction, std::string(message).c_str());
    }
  }

  // True once the run should stop (cancel, timeout, shutdown): return RF_STATUS_CANCELLED soon.
  bool cancelled() const { return host_->cancelled != nullptr && host_->cancelled(handle_) != 0; }

  // An existing, writable directory private to this execution; files there outlive the call.
  std::filesystem::path artifact_dir() const {
    const char* dir = host_->artifact_dir != nullptr ? host_->artifact_dir(handle_) : nullptr;
    return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path();
  }

  // nullopt when no such secret exists.
  std::optional<std::string> secret(std::string_view name) const {
    return read_buffer(host_->secret, name);
  }

  // Per-plugin persistent key-value state; nullopt when the key is not set.
  std::optional<std::string> state_get(std::string_view key) const {
    return read_buffer(host_->state_get, key);
  }
  bool state_set(std::string_view key, std::string_view value) const {
    return host_->state_set != nullptr &&
           host_->state_set(handle_, std::string(key).c_str(), std::string(value).c_str()) == 0;
  }
  bool state_erase(std::string_view key) const {
    return host_->state_set != nullptr &&
           host_->state_set(handle_, std::string(key).c_str(), nullptr) == 0;
  }

  // The step's outputs, a JSON object; a later call replaces an earlier one. False if the host
  // refused it.
  bool set_output(const std::string& json_object) const {
    return host_->set_output != nullptr && host_->set_output(handle_, json_object.c_str()) == 0;
  }
  bool set_output(const json::ObjectBuilder& output) const { return set_output(output.str()); }

  // Records why the step failed and returns RF_STATUS_ERROR, for `return run.fail(...)`.
  // Say what failed and on which input; never include secrets.
  rf_status fail(std::string_view message) const { return fail_with(RF_STATUS_ERROR, message); }
  // The same message, with another status: RF_STATUS_RETRY for a transient failure, and (ABI 1.2,
  // publishers) RF_STATUS_RECONNECT or RF_STATUS_LATER.
  rf_status fail_with(rf_status status, std::string_view message) const {
    if (host_->fail != nullptr) host_->fail(handle_, std::string(message).c_str());
    return status;
  }

  // ABI 1.2: durably records the progress of this irreversible execution (a publisher's session)
  // and returns once it is stored. False if the host could not store it (stop, then) or is older.
  bool checkpoint(const std::string& json_object) const {
    return host_->struct_size >= offsetof(rf_host, checkpoint) + sizeof(host_->checkpoint) &&
           host_->checkpoint != nullptr && host_->checkpoint(handle_, json_object.c_str()) == 0;
  }
  bool checkpoint(const json::ObjectBuilder& session) const { return checkpoint(session.str()); }

  // ABI 1.3: asks the daemon for one of its services (docs/plugins.md lists them, e.g.
  // "links.create") and returns its answer, a JSON object as text. nullopt when the service failed
  // or does not exist, when request_json is not a JSON object, or on a host older than 1.3; *error
  // (if given) then says why, e.g. the daemon's {"error": "..."}. An answer larger than the first
  // buffer is fetched again with one that fits (services answer the same request the same way).
  std::optional<std::string> call(std::string_view service, std::string_view request_json,
                                  std::string* error = nullptr) const {
    const auto failed = [&](std::string message) -> std::optional<std::string> {
      if (error != nullptr) *error = std::move(message);
      return std::nullopt;
    };
    if (host_->struct_size < offsetof(rf_host, call) + sizeof(host_->call) ||
        host_->call == nullptr) {
      return failed(std::string(service) +
                    ": this host offers no daemon services (it is older than ABI 1.3)");
    }
    const std::string name(service);
    const std::string request(request_json);
    std::string buffer(kFirstCallBuffer, '\0');
    for (int attempt = 0; attempt < 8; ++attempt) {
      const long length =
          host_->call(handle_, name.c_str(), request.c_str(), buffer.data(), buffer.size());
      if (length < 0) {
        const auto answer = json::Object::parse(std::string_view(buffer.c_str()));
        const auto message = answer ? answer->get_string("error") : std::nullopt;
        return failed(message ? *message : name + " failed without saying why");
      }
      if (static_cast<std::size_t>(length) < buffer.size()) {
        buffer.resize(static_cast<std::size_t>(length));
        return buffer;
      }
      buffer.assign(static_cast<std::size_t>(length) + 1, '\0');
    }
    return failed(name + ": the answer changed size on every call");
  }
  std::optional<std::string> call(std::string_view service, const json::ObjectBuilder& request,
                                  std::string* error = nullptr) const {
    return call(service, request.str(), error);
  }

  const rf_host* host() const noexcept { return host_; }
  rf_run* handle() const noexcept { return handle_; }

 private:
  using BufferFn = long (*)(rf_run*, const char*, char*, size_t);
  // Most answers (a link, a record) fit in the first buffer, so a call crosses to the daemon once.
  static constexpr std::size_t kFirstCallBuffer = 4096;

  // The two-call protocol: ask for the length, then fetch; retry if the value grew in between.
  std::optional<std::string> read_buffer(BufferFn fn, std::string_view name) const {
    if (fn == nullptr) return std::nullopt;
    const std::string key(name);
    long length = fn(handle_, key.c_str(), nullptr, 0);
    for (int attempt = 0; attempt < 8 && length >= 0; ++attempt) {
      std::string value(static_cast<std::size_t>(length) + 1, '\0');
      const long actual = fn(handle_, key.c_str(), value.data(), value.size());
      if (actual >= 0 && actual <= length) {
        value.resize(static_cast<std::size_t>(actual));
        return value;
      }
      length = actual;
    }
    return std::nullopt;
  }

  const rf_host* host_;
  rf_run* handle_;
  std::string_view options_json_;
  std::string_view context_json_;
};

// =================================================================================================
// Option tables
// =================================================================================================

namespace detail {

template <std::size_t N>
struct FixedString {
  char chars[N]{};
  constexpr FixedString(const char (&text)[N]) { std::copy_n(text, N, chars); }  // NOLINT
  constexpr std::string_view view() const { return std::string_view(chars, N - 1); }
};

constexpr std::size_t quoted_length(std::string_view text) {
  std::size_t length = 2;
  for (const char c : text) {
    if (json::detail::short_escape(c) != nullptr) {
      length += 2;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      length += 6;
    } else {
      length += 1;
    }
  }
  return length;
}

// S as a NUL-terminated JSON string literal, escaped like json::append_string (S is taken as
// written: its bytes are not checked for UTF-8).
template <FixedString S>
consteval auto quoted() {
  std::array<char, quoted_length(S.view()) + 1> out{};  // zero-filled: ends with NUL
  std::size_t at = 0;
  const auto put = [&](std::string_view piece) {
    for (const char c : piece) out[at++] = c;
  };
  put("\"");
  for (const char c : S.view()) {
    const auto byte = static_cast<unsigned char>(c);
    if (const char* escape = json::detail::short_escape(c)) {
      put(escape);
    } else if (byte < 0x20) {
      put("\\u00");
      put(std::string_view(&json::detail::kHexDigits[byte >> 4], 1));
      put(std::string_view(&json::detail::kHexDigits[byte & 0xF], 1));
    } else {
      put(std::string_view(&c, 1));
    }
  }
  put("\"");
  return out;
}

template <FixedString S>
inline constexpr auto quoted_storage = quoted<S>();

}  // namespace detail

// A string literal as JSON text, escaped at compile time, for option defaults:
// json_string<"Hello"> is the C string "\"Hello\"".
template <detail::FixedString S>
inline constexpr const char* json_string = detail::quoted_storage<S>.data();

// For options without a default.
inline constexpr const char* no_default = nullptr;

namespace option {

// One row of an option table; converts to rf_option. Modifiers return a changed copy:
//   option::integer("retries", "3", "How often to retry.").range(0, 10)
struct Spec {
  rf_option value;

  // The workflow must set it; any default is ignored.
  constexpr Spec required() const {
    Spec copy = *this;
    copy.value.required = 1;
    return copy;
  }
  // Bounds for integer, number and duration (in seconds) options, and for a list's length.
  constexpr Spec min(double bound) const {
    Spec copy = *this;
    copy.value.has_min = 1;
    copy.value.min = bound;
    return copy;
  }
  constexpr Spec max(double bound) const {
    Spec copy = *this;
    copy.value.has_max = 1;
    copy.value.max = bound;
    return copy;
  }
  constexpr Spec range(double low, double high) const { return min(low).max(high); }

  constexpr operator rf_option() const { return value; }  // NOLINT: implicit by design
};

// default_json is JSON text ("3", "true", "2.5", json_string<"text">) or no_default.
constexpr Spec make(rf_option_type type, const char* name, const char* default_json,
                    const char* help) {
  rf_option value{};
  value.struct_size = static_cast<std::uint32_t>(sizeof(rf_option));
  value.name = name;
  value.type = type;
  value.default_json = default_json;
  value.help = help;
  return Spec{value};
}

// A JSON string.
constexpr Spec string(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_STRING, name, default_json, help);
}
// A JSON integer; the plugin reads it with get_int.
constexpr Spec integer(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_INT, name, default_json, help);
}
// Any JSON number (RF_OPT_FLOAT).
constexpr Spec number(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_FLOAT, name, default_json, help);
}
constexpr Spec boolean(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_BOOL, name, default_json, help);
}
// Written as "30s", "1m30s", "2h", "500ms" or a number of seconds; the plugin receives a number
// of seconds (possibly fractional). The default may be json_string<"30s"> or "30".
constexpr Spec duration(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_DURATION, name, default_json, help);
}
// A file or directory path, as a JSON string.
constexpr Spec path(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_PATH, name, default_json, help);
}
// One of values, a NULL-terminated array with static lifetime:
//   constexpr const char* kModes[] = {"fast", "best", nullptr};
constexpr Spec enumeration(const char* name, const char* const* values, const char* default_json,
                           const char* help) {
  Spec spec = make(RF_OPT_ENUM, name, default_json, help);
  spec.value.enum_values = values;
  return spec;
}
// A JSON array whose items have item_type (0 for any); min/max bound its length.
constexpr Spec list(const char* name, rf_option_type item_type, const char* default_json,
                    const char* help) {
  Spec spec = make(RF_OPT_LIST, name, default_json, help);
  spec.value.item_type = item_type;
  return spec;
}
// A free-form JSON object.
constexpr Spec object(const char* name, const char* default_json, const char* help) {
  return make(RF_OPT_OBJECT, name, default_json, help);
}

}  // namespace option

// =================================================================================================
// Step types
// =================================================================================================

struct StepDescription {
  const char* name = nullptr;     // "<plugin>.<step>", e.g. "hello.stamp"
  const char* summary = nullptr;  // one line for listings
  std::uint32_t flags = 0;        // RF_STEP_*
};

struct PluginDescription {
  const char* name = nullptr;     // [a-z][a-z0-9_]*, the prefix of its step and trigger type names
  const char* version = nullptr;  // the plugin's own version, e.g. "1.2.0"
  const char* license = nullptr;  // SPDX identifier
  const char* summary = nullptr;  // one line
};

template <typename Step>
concept StepClass = requires(Step& step, Run& run) {
  { step.run(run) } -> std::same_as<rf_status>;
};

namespace detail {

template <typename Step>
Step make_step(const Host& host, std::string_view config_json) {
  if constexpr (std::is_constructible_v<Step, const Host&, std::string_view>) {
    return Step(host, config_json);
  } else if constexpr (std::is_constructible_v<Step, std::string_view>) {
    return Step(config_json);
  } else {
    static_assert(std::is_default_constructible_v<Step>,
                  "a step class needs a constructor taking (const reelflow::Host&, "
                  "std::string_view config_json), (std::string_view config_json) or nothing");
    return Step();
  }
}

// What create returns: the step object and the host it needs for every later call.
template <typename Step>
struct Instance {
  Instance(const rf_host* host_table, std::string_view config_json)
      : host(host_table), step(make_step<Step>(Host(host_table), config_json)) {}
  const rf_host* host;
  Step step;
};

// Called with what() of an exception; must not throw itself.
inline rf_status fail_unexpected(const Run& run, const char* what) noexcept {
  try {
    return run.fail(std::string("unexpected error: ") + what);
  } catch (...) {
    if (run.host()->fail != nullptr) run.host()->fail(run.handle(), what);
    return RF_STATUS_ERROR;
  }
}

template <typename Body>
rf_status guarded(const Run& run, Body&& body) noexcept {
  try {
    return std::forward<Body>(body)();
  } catch (const std::exception& error) {
    return fail_unexpected(run, error.what());
  } catch (...) {
    return fail_unexpected(run, "an exception that is not a std::exception");
  }
}

inline void log_create_failure(const Host& host, const char* what) noexcept {
  try {
    host.log(RF_LOG_ERROR, std::string("cannot create the step instance: ") + what);
  } catch (...) {
  }
}

inline std::string_view or_empty_object(const char* json) noexcept {
  return json != nullptr ? std::string_view(json) : std::string_view("{}");
}

template <typename Step>
struct Callbacks {
  static void* create(const rf_host* host, const char* config_json) noexcept {
    try {
      return new Instance<Step>(host, or_empty_object(config_json));
    } catch (const std::exception& error) {
      log_create_failure(Host(host), error.what());
    } catch (...) {
      log_create_failure(Host(host), "an exception that is not a std::exception");
    }
    return nullptr;
  }

  static rf_status run(void* instance, rf_run* handle, const char* options_json,
                       const char* context_json) noexcept {
    auto* self = static_cast<Instance<Step>*>(instance);
    Run run(self->host, handle, or_empty_object(options_json), or_empty_object(context_json));
    return guarded(run, [&] { return self->step.run(run); });
  }

  static void cancel(void* instance) noexcept {
    try {
      static_cast<Instance<Step>*>(instance)->step.cancel();
    } catch (...) {
      // cancel is a request; the run still notices cancelled().
    }
  }

  static void destroy(void* instance) noexcept { delete static_cast<Instance<Step>*>(instance); }

  static rf_status reconcile(void* instance, rf_run* handle, const char* options_json,
                             const char* context_json, const char* intent_json) noexcept {
    auto* self = static_cast<Instance<Step>*>(instance);
    Run run(self->host, handle, or_empty_object(options_json), or_empty_object(context_json));
    const std::string_view intent = or_empty_object(intent_json);
    return guarded(run, [&] { return self->step.reconcile(run, intent); });
  }
};

// Not constexpr on purpose: calling it while building a constexpr table is a compile error that
// names the problem.
inline void irreversible_step_type_needs_a_reconcile_member() {}

}  // namespace detail

// An rf_step_type whose callbacks construct Step (once per instance) and call its members.
// cancel and reconcile are set only when Step has them; RF_STEP_IRREVERSIBLE requires reconcile.
template <StepClass Step>
constexpr rf_step_type step_type(const StepDescription& description, const rf_option* options,
                                 std::size_t option_count) {
  using Callbacks = detail::Callbacks<Step>;
  constexpr bool has_cancel = requires(Step & step) { step.cancel(); };
  constexpr bool has_reconcile = requires(Step & step, Run & run, std::string_view intent) {
    { step.reconcile(run, intent) } -> std::same_as<rf_status>;
  };
  if ((description.flags & RF_STEP_IRREVERSIBLE) != 0 && !has_reconcile) {
    detail::irreversible_step_type_needs_a_reconcile_member();
  }
  rf_step_type type{};
  type.struct_size = static_cast<std::uint32_t>(sizeof(rf_step_type));
  type.name = description.name;
  type.summary = description.summary;
  type.flags = description.flags;
  type.options = options;
  type.option_count = option_count;
  type.create = &Callbacks::create;
  type.run = &Callbacks::run;
  type.destroy = &Callbacks::destroy;
  if constexpr (has_cancel) type.cancel = &Callbacks::cancel;
  if constexpr (has_reconcile) type.reconcile = &Callbacks::reconcile;
  return type;
}

template <StepClass Step, std::size_t N>
constexpr rf_step_type step_type(const StepDescription& description,
                                 const rf_option (&options)[N]) {
  return step_type<Step>(description, options, N);
}

template <StepClass Step>
constexpr rf_step_type step_type(const StepDescription& description) {
  return step_type<Step>(description, nullptr, 0);
}

// =================================================================================================
// Trigger types (ABI 1.1)
// =================================================================================================

struct TriggerDescription {
  const char* name = nullptr;     // "<plugin>.<trigger>", e.g. "watch.folder"
  const char* summary = nullptr;  // one line for listings
  std::uint32_t flags = 0;        // none defined yet
};

template <typename T>
concept TriggerWithDescriptor = requires(T& trigger) {
  { trigger.fd() } -> std::convertible_to<int>;
  trigger.on_readable();
};

template <typename T>
concept TriggerWithTimer = requires(T& trigger) {
  { trigger.next_timeout() } -> std::convertible_to<std::int64_t>;
  trigger.on_timer();
};

template <typename T>
concept TriggerClass =
    std::is_constructible_v<T, const TriggerHost&, std::string_view, std::string_view> &&
    (TriggerWithDescriptor<T> || TriggerWithTimer<T>);

namespace detail {

// What start returns: the host table (for logging from the callbacks) and the trigger.
template <typename T>
struct TriggerInstance {
  TriggerInstance(const rf_trigger_host* host_table, std::string_view config_json,
                  std::string_view options_json)
      : host(host_table), trigger(TriggerHost(host_table), config_json, options_json) {}
  const rf_trigger_host* host;
  T trigger;
};

inline void log_trigger_error(const rf_trigger_host* host, const char* prefix,
                              const char* what) noexcept {
  try {
    TriggerHost(host).error(std::string(prefix) + what);
  } catch (...) {
  }
}

// Runs body; an exception is logged through the host and fallback returned instead.
template <typename Result, typename Body>
Result trigger_guarded(const rf_trigger_host* host, Result fallback, Body&& body) noexcept {
  try {
    return std::forward<Body>(body)();
  } catch (const std::exception& error) {
    log_trigger_error(host, "unexpected error: ", error.what());
  } catch (...) {
    log_trigger_error(host, "unexpected error: ", "an exception that is not a std::exception");
  }
  return fallback;
}

template <typename T>
struct TriggerCallbacks {
  static void* start(const rf_trigger_host* host, const char* config_json,
                     const char* options_json) noexcept {
    try {
      return new TriggerInstance<T>(host, or_empty_object(config_json),
                                    or_empty_object(options_json));
    } catch (const std::exception& error) {
      log_trigger_error(host, "cannot start: ", error.what());
    } catch (...) {
      log_trigger_error(host, "cannot start: ", "an exception that is not a std::exception");
    }
    return nullptr;
  }

  static int fd(void* instance) noexcept {
    auto* self = static_cast<TriggerInstance<T>*>(instance);
    return trigger_guarded(self->host, -1, [&] { return static_cast<int>(self->trigger.fd()); });
  }

  static void on_readable(void* instance) noexcept {
    auto* self = static_cast<TriggerInstance<T>*>(instance);
    trigger_guarded(self->host, 0, [&] {
      self->trigger.on_readable();
      return 0;
    });
  }

  static std::int64_t next_timeout(void* instance) noexcept {
    auto* self = static_cast<TriggerInstance<T>*>(instance);
    return trigger_guarded(self->host, std::int64_t{-1},
                           [&] { return static_cast<std::int64_t>(self->trigger.next_timeout()); });
  }

  static void on_timer(void* instance) noexcept {
    auto* self = static_cast<TriggerInstance<T>*>(instance);
    trigger_guarded(self->host, 0, [&] {
      self->trigger.on_timer();
      return 0;
    });
  }

  static void stop(void* instance) noexcept { delete static_cast<TriggerInstance<T>*>(instance); }
};

}  // namespace detail

// An rf_trigger_type whose callbacks construct T (in start), call its members and destroy it (in
// stop). fd/on_readable and next_timeout/on_timer are set only when T has them.
template <TriggerClass T>
constexpr rf_trigger_type trigger_type(const TriggerDescription& description,
                                       const rf_option* options, std::size_t option_count) {
  using Callbacks = detail::TriggerCallbacks<T>;
  rf_trigger_type type{};
  type.struct_size = static_cast<std::uint32_t>(sizeof(rf_trigger_type));
  type.name = description.name;
  type.summary = description.summary;
  type.flags = description.flags;
  type.options = options;
  type.option_count = option_count;
  type.start = &Callbacks::start;
  type.stop = &Callbacks::stop;
  if constexpr (TriggerWithDescriptor<T>) {
    type.fd = &Callbacks::fd;
    type.on_readable = &Callbacks::on_readable;
  }
  if constexpr (TriggerWithTimer<T>) {
    type.next_timeout = &Callbacks::next_timeout;
    type.on_timer = &Callbacks::on_timer;
  }
  return type;
}

template <TriggerClass T, std::size_t N>
constexpr rf_trigger_type trigger_type(const TriggerDescription& description,
                                       const rf_option (&options)[N]) {
  return trigger_type<T>(description, options, N);
}

template <TriggerClass T>
constexpr rf_trigger_type trigger_type(const TriggerDescription& description) {
  return trigger_type<T>(description, nullptr, 0);
}

// =================================================================================================
// Publisher types (ABI 1.2)
// =================================================================================================

// A publisher class (see plugins/folder for a complete one; plugin.h for the contract):
//
//   class Folder {
//    public:
//     explicit Folder(std::string_view config_json);     // or (const Host&, config) or nothing
//     rf_status prepare(reelflow::Run& run, std::string_view post);
//     rf_status start(reelflow::Run& run, std::string_view post);
//     rf_status upload(reelflow::Run& run, std::string_view post, std::string_view session);
//     rf_status finalize(reelflow::Run& run, std::string_view post, std::string_view session);
//     rf_status poll(reelflow::Run& run, std::string_view post, std::string_view session);
//     rf_status reconcile(reelflow::Run& run, std::string_view post, std::string_view session);
//     rf_status metrics(reelflow::Run& run, std::string_view post, std::string_view session);  // optional
//     rf_status refresh(reelflow::Run& run, std::string_view account);                         // optional
//     void cancel();                                                                            // optional
//   };
//
// post and session are JSON objects (plugin.h describes post_json); each call reports the new
// session with run.set_output(...). In these calls run.options_json() is the post and
// run.context_json() the session.

struct PublisherDescription {
  const char* name = nullptr;      // the step type workflows use, e.g. "youtube.publish"
  const char* platform = nullptr;  // what accounts are configured for, e.g. "youtube"
  const char* summary = nullptr;   // one line for listings
  std::uint32_t flags = 0;         // none defined yet
  const char* scheduling = nullptr;  // quotas and posting windows as JSON (plugin.h), or none
};

template <typename P>
concept PublisherClass = requires(P& p, Run& run, std::string_view text) {
  { p.prepare(run, text) } -> std::same_as<rf_status>;
  { p.start(run, text) } -> std::same_as<rf_status>;
  { p.upload(run, text, text) } -> std::same_as<rf_status>;
  { p.finalize(run, text, text) } -> std::same_as<rf_status>;
  { p.poll(run, text, text) } -> std::same_as<rf_status>;
  { p.reconcile(run, text, text) } -> std::same_as<rf_status>;
};

namespace detail {

template <typename P>
struct PublisherCallbacks {
  using Self = Instance<P>;

  template <typename Body>
  static rf_status call(void* instance, rf_run* handle, const char* post_json,
                        const char* session_json, Body&& body) noexcept {
    auto* self = static_cast<Self*>(instance);
    Run run(self->host, handle, or_empty_object(post_json), or_empty_object(session_json));
    return guarded(run, [&] {
      return body(self->step, run, run.options_json(), run.context_json());
    });
  }

  static rf_status prepare(void* instance, rf_run* run, const char* post) noexcept {
    return call(instance, run, post, nullptr,
                [](P& p, Run& r, std::string_view post_json, std::string_view) {
                  return p.prepare(r, post_json);
                });
  }
  static rf_status start(void* instance, rf_run* run, const char* post) noexcept {
    return call(instance, run, post, nullptr,
                [](P& p, Run& r, std::string_view post_json, std::string_view) {
                  return p.start(r, post_json);
                });
  }
  static rf_status upload(void* instance, rf_run* run, const char* post,
                          const char* session) noexcept {
    return call(instance, run, post, session,
                [](P& p, Run& r, std::string_view a, std::string_view b) {
                  return p.upload(r, a, b);
                });
  }
  static rf_status finalize(void* instance, rf_run* run, const char* post,
                            const char* session) noexcept {
    return call(instance, run, post, session,
                [](P& p, Run& r, std::string_view a, std::string_view b) {
                  return p.finalize(r, a, b);
                });
  }
  static rf_status poll(void* instance, rf_run* run, const char* post,
                        const char* session) noexcept {
    return call(instance, run, post, session,
                [](P& p, Run& r, std::string_view a, std::string_view b) { return p.poll(r, a, b); });
  }
  static rf_status reconcile(void* instance, rf_run* run, const char* post,
                             const char* session) noexcept {
    return call(instance, run, post, session,
                [](P& p, Run& r, std::string_view a, std::string_view b) {
                  return p.reconcile(r, a, b);
                });
  }
  static rf_status metrics(void* instance, rf_run* run, const char* post,
                           const char* session) noexcept {
    return call(instance, run, post, session,
                [](P& p, Run& r, std::string_view a, std::string_view b) {
                  return p.metrics(r, a, b);
                });
  }
  static rf_status refresh(void* instance, rf_run* run, const char* account) noexcept {
    return call(instance, run, account, nullptr,
                [](P& p, Run& r, std::string_view a, std::string_view) { return p.refresh(r, a); });
  }
};

}  // namespace detail

// An rf_publisher_type whose callbacks construct P (once per instance) and call its members.
// metrics, refresh and cancel are set only when P has them.
template <PublisherClass P>
constexpr rf_publisher_type publisher_type(const PublisherDescription& description,
                                           const rf_option* options, std::size_t option_count,
                                           const rf_option* account_options = nullptr,
                                           std::size_t account_option_count = 0) {
  using Callbacks = detail::PublisherCallbacks<P>;
  using Lifetime = detail::Callbacks<P>;
  rf_publisher_type type{};
  type.struct_size = static_cast<std::uint32_t>(sizeof(rf_publisher_type));
  type.name = description.name;
  type.platform = description.platform;
  type.summary = description.summary;
  type.flags = description.flags;
  type.options = options;
  type.option_count = option_count;
  type.account_options = account_options;
  type.account_option_count = account_option_count;
  type.scheduling_json = description.scheduling;
  type.create = &Lifetime::create;
  type.destroy = &Lifetime::destroy;
  if constexpr (requires(P & p) { p.cancel(); }) type.cancel = &Lifetime::cancel;
  type.prepare = &Callbacks::prepare;
  type.start = &Callbacks::start;
  type.upload = &Callbacks::upload;
  type.finalize = &Callbacks::finalize;
  type.poll = &Callbacks::poll;
  type.reconcile = &Callbacks::reconcile;
  if constexpr (requires(P & p, Run & run, std::string_view text) {
                  { p.metrics(run, text, text) } -> std::same_as<rf_status>;
                }) {
    type.metrics = &Callbacks::metrics;
  }
  if constexpr (requires(P & p, Run & run, std::string_view text) {
                  { p.refresh(run, text) } -> std::same_as<rf_status>;
                }) {
    type.refresh = &Callbacks::refresh;
  }
  return type;
}

template <PublisherClass P, std::size_t N>
constexpr rf_publisher_type publisher_type(const PublisherDescription& description,
                                           const rf_option (&options)[N]) {
  return publisher_type<P>(description, options, N);
}

template <PublisherClass P, std::size_t N, std::size_t M>
constexpr rf_publisher_type publisher_type(const PublisherDescription& description,
                                           const rf_option (&options)[N],
                                           const rf_option (&account_options)[M]) {
  return publisher_type<P>(description, options, N, account_options, M);
}

template <PublisherClass P>
constexpr rf_publisher_type publisher_type(const PublisherDescription& description) {
  return publisher_type<P>(description, nullptr, 0);
}

// =================================================================================================
// The plugin descriptor
// =================================================================================================

namespace detail {

constexpr rf_plugin make_plugin(const PluginDescription& description,
                                const rf_step_type* step_types, std::size_t step_type_count,
                                const rf_trigger_type* trigger_types,
                                std::size_t trigger_type_count,
                                const rf_publisher_type* publisher_types = nullptr,
                                std::size_t publisher_type_count = 0) {
  rf_plugin descriptor{};
  descriptor.struct_size = static_cast<std::uint32_t>(sizeof(rf_plugin));
  descriptor.abi_major = RF_ABI_MAJOR;
  descriptor.abi_minor = RF_ABI_MINOR;
  descriptor.name = description.name;
  descriptor.version = description.version;
  descriptor.license = description.license;
  descriptor.summary = description.summary;
  descriptor.step_types = step_types;
  descriptor.step_type_count = step_type_count;
  descriptor.trigger_types = trigger_types;
  descriptor.trigger_type_count = trigger_type_count;
  descriptor.publisher_types = publisher_types;
  descriptor.publisher_type_count = publisher_type_count;
  return descriptor;
}

}  // namespace detail

// A plugin with step types.
template <std::size_t N>
constexpr rf_plugin plugin(const PluginDescription& description,
                           const rf_step_type (&step_types)[N]) {
  return detail::make_plugin(description, step_types, N, nullptr, 0);
}

// A plugin with trigger types only.
template <std::size_t M>
constexpr rf_plugin plugin(const PluginDescription& description,
                           const rf_trigger_type (&trigger_types)[M]) {
  return detail::make_plugin(description, nullptr, 0, trigger_types, M);
}

// A plugin with both.
template <std::size_t N, std::size_t M>
constexpr rf_plugin plugin(const PluginDescription& description,
                           const rf_step_type (&step_types)[N],
                           const rf_trigger_type (&trigger_types)[M]) {
  return detail::make_plugin(description, step_types, N, trigger_types, M);
}

// A plugin with publisher types only (ABI 1.2).
template <std::size_t K>
constexpr rf_plugin plugin(const PluginDescription& description,
                           const rf_publisher_type (&publisher_types)[K]) {
  return detail::make_plugin(description, nullptr, 0, nullptr, 0, publisher_types, K);
}

}  // namespace reelflow

// Defines the exported entry function, returning &descriptor (an rf_plugin with static storage,
// usually a constexpr built with reelflow::plugin) to a host of the same ABI major. Use once per
// plugin, at namespace scope, followed by a semicolon: REELFLOW_PLUGIN(kPlugin);
#define REELFLOW_PLUGIN(descriptor)                                                      \
  extern "C" RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t host_major,       \
                                                              uint16_t /*host_minor*/) { \
    return host_major == RF_ABI_MAJOR ? &(descriptor) : nullptr;                         \
  }                                                                                      \
  static_assert(std::is_same_v<decltype(&reelflow_plugin_entry), rf_plugin_entry_fn>,    \
                "reelflow_plugin_entry must match rf_plugin_entry_fn")

#endif  // REELFLOW_PLUGIN_HPP
