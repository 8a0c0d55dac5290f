// Tracked links as the control API and the `links.create` daemon service make them: the request
// checked, UTM parameters added to the landing page, and the JSON a link is shown as.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "store/track_store.hpp"

namespace reelflow::track {

// A link from {"url", "platform", "campaign", "variant", "medium", "video", "title", "key"}:
// url is required, http(s), at most 2048 bytes; the others are optional text of at most 256
// bytes. Its target is the url with utm_source (platform), utm_medium (medium, default
// "social"), utm_campaign and utm_content (variant) added where the url does not have them.
// The error names the field.
Result<store::Link> link_from_request(const nlohmann::json& request);

// url with the given query parameters appended (values percent-encoded; empty values and names
// the url already has are left out), before any #fragment.
std::string add_query_parameters(std::string_view url,
                                 const std::vector<std::pair<std::string, std::string>>& params);

// {"code", "short_url", "target", "platform", "campaign", "variant", "medium", "video", "title",
//  "enabled", "created_at"}
nlohmann::json link_json(const store::Link& link, const std::string& short_url);

}  // namespace reelflow::track
