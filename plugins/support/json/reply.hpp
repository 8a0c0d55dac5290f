// Readers for a platform's JSON replies, which are untrusted: a field that is missing or of
// another type reads as absent (empty text, empty object or array, 0), never as an exception.
// Header-only. Thread-safety: pure functions.
#ifndef REELFLOW_PLUGINS_SUPPORT_JSON_REPLY_HPP
#define REELFLOW_PLUGINS_SUPPORT_JSON_REPLY_HPP

#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

namespace reelflow::reply {

inline std::string text_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

inline nlohmann::json object_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nlohmann::json::object();
  const auto found = object.find(key);
  return found != object.end() && found->is_object() ? *found : nlohmann::json::object();
}

inline nlohmann::json array_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nlohmann::json::array();
  const auto found = object.find(key);
  return found != object.end() && found->is_array() ? *found : nlohmann::json::array();
}

// A number, or a string of digits (some platforms quote their ids and counts).
inline std::int64_t integer_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto found = object.find(key);
  if (found == object.end()) return 0;
  if (found->is_number()) return found->get<std::int64_t>();
  if (found->is_string()) {
    try {
      return std::stoll(found->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

}  // namespace reelflow::reply

#endif  // REELFLOW_PLUGINS_SUPPORT_JSON_REPLY_HPP
