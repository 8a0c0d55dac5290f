// Topics (#话题) in the text of a Chinese short-video post, as Douyin and Kuaishou write them:
// the post's caption (or its title when it has none) with each tag appended as "#tag" unless the
// text already has that topic. Deterministic, so that a publisher's reconcile can recognise its
// own post by the text. Thread-safety: pure functions.
#ifndef REELFLOW_PLUGINS_SUPPORT_TEXT_TOPICS_HPP
#define REELFLOW_PLUGINS_SUPPORT_TEXT_TOPICS_HPP

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace reelflow::text {

// A tag without its leading '#'.
std::string tag_name(std::string tag);

// Why a tag cannot be a topic ("is empty", "contains whitespace", "contains '#'"), or nullopt.
std::optional<std::string> tag_problem(const std::string& raw);

// True when text holds "#name" as a whole topic (not the start of a longer one).
bool has_topic(std::string_view text, std::string_view name);

// The post's text (post_json: caption, title, tags) with its tags as topics.
std::string compose_with_topics(const nlohmann::json& post);

}  // namespace reelflow::text

#endif  // REELFLOW_PLUGINS_SUPPORT_TEXT_TOPICS_HPP
