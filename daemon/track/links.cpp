#include "track/links.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "common/iso_time.hpp"
#include "common/url.hpp"

namespace reelflow::track {

namespace {

using nlohmann::json;

bool has_parameter(std::string_view query, std::string_view name) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const auto end = std::min(query.find('&', at), query.size());
    std::string_view pair = query.substr(at, end - at);
    if (pair.substr(0, pair.find('=')) == name) return true;
    at = end + 1;
  }
  return false;
}

}  // namespace

std::string add_query_parameters(std::string_view url,
                                 const std::vector<std::pair<std::string, std::string>>& params) {
  const auto hash = url.find('#');
  std::string base(url.substr(0, hash));
  const std::string fragment = hash == std::string_view::npos ? "" : std::string(url.substr(hash));
  const auto question = base.find('?');
  const std::string query = question == std::string::npos ? "" : base.substr(question + 1);
  bool first = question == std::string::npos;
  for (const auto& [name, value] : params) {
    if (value.empty() || has_parameter(query, name)) continue;
    if (first) {
      base += '?';
      first = false;
    } else if (base.back() != '?' && base.back() != '&') {
      base += '&';
    }
    base += name + "=" + url_encode(value);
  }
  return base + fragment;
}

Result<store::Link> link_from_request(const json& request) {
  if (!request.is_object()) return fail("a link request must be a JSON object");
  auto field = [&](const char* name, std::size_t max) -> Result<std::string> {
    auto found = request.find(name);
    if (found == request.end() || found->is_null()) return std::string();
    if (!found->is_string()) return fail(std::string(name) + " must be text");
    std::string value = found->get<std::string>();
    if (value.size() > max) {
      return fail(std::string(name) + " is longer than " + std::to_string(max) + " bytes");
    }
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return fail(std::string(name) + " contains control characters");
    }
    return value;
  };
  store::Link link;
  auto url = field("url", 2048);
  if (!url) return tl::unexpected(url.error());
  if (url->empty()) return fail("url is required: the landing page the link leads to");
  std::string lower = *url;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  const bool http = lower.starts_with("http://") || lower.starts_with("https://");
  const std::size_t host_at = lower.find("://") + 3;
  if (!http || host_at >= lower.size() || lower[host_at] == '/' ||
      url->find(' ') != std::string::npos) {
    return fail("url must be an http:// or https:// address without spaces, got '" +
                url->substr(0, 80) + "'");
  }
  const std::pair<const char*, std::string*> fields[] = {
      {"platform", &link.platform}, {"campaign", &link.campaign}, {"variant", &link.variant},
      {"medium", &link.medium},     {"video", &link.video},       {"title", &link.title},
      {"key", &link.link_key}};
  for (const auto& [name, into] : fields) {
    auto value = field(name, std::string_view(name) == "key" ? 512 : 256);
    if (!value) return tl::unexpected(value.error());
    *into = *value;
  }
  if (link.medium.empty()) link.medium = "social";
  link.target = add_query_parameters(*url, {{"utm_source", link.platform},
                                            {"utm_medium", link.medium},
                                            {"utm_campaign", link.campaign},
                                            {"utm_content", link.variant}});
  return link;
}

json link_json(const store::Link& link, const std::string& short_url) {
  return {{"code", link.code},
          {"short_url", short_url},
          {"target", link.target},
          {"platform", link.platform},
          {"campaign", link.campaign},
          {"variant", link.variant},
          {"medium", link.medium},
          {"video", link.video},
          {"title", link.title},
          {"enabled", link.enabled},
          {"created_at", format_iso_time(link.created_at)}};
}

}  // namespace reelflow::track
