#include "text/topics.hpp"

namespace reelflow::text {

std::string tag_name(std::string tag) {
  if (!tag.empty() && tag.front() == '#') tag.erase(0, 1);
  return tag;
}

std::optional<std::string> tag_problem(const std::string& raw) {
  const std::string tag = tag_name(raw);
  if (tag.empty()) return "is empty";
  for (const char c : tag) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return "contains whitespace";
    if (c == '#' || c == '@') return std::string("contains '") + c + "'";
  }
  return std::nullopt;
}

bool has_topic(std::string_view text, std::string_view name) {
  const std::string hashtag = "#" + std::string(name);
  for (std::size_t at = text.find(hashtag); at != std::string_view::npos;
       at = text.find(hashtag, at + 1)) {
    const std::size_t end = at + hashtag.size();
    if (end == text.size() ||
        std::string_view(" \t\r\n#@,.;:!?").find(text[end]) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

std::string compose_with_topics(const nlohmann::json& post) {
  std::string text = post.value("caption", "");
  if (text.empty()) text = post.value("title", "");
  for (const auto& tag : post.value("tags", nlohmann::json::array())) {
    if (!tag.is_string()) continue;
    const std::string name = tag_name(tag.get<std::string>());
    if (name.empty() || has_topic(text, name)) continue;
    if (!text.empty() && text.back() != ' ' && text.back() != '\n') text += ' ';
    text += "#" + name;
  }
  return text;
}

}  // namespace reelflow::text
