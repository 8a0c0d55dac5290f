#include "track/user_agent.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <utility>

namespace reelflow::track {
namespace {

// ---------------------------------------------------------------------------------------------
// User agents

// Where a marker must sit in the (lower-cased, trimmed) user agent.
enum class Where {
  anywhere,
  start,  // the user agent begins with it: an app's own HTTP client names the app first, while
          // the same app's in-app browser appends its name after "Mozilla/5.0 (...) ..."
  alone,  // the user agent begins with it and is one bare product token, without a comment
};

// One known agent. Needles are lower case: user agents are matched case-insensitively, because
// vendors are not consistent ("Googlebot", "googlebot", "GOOGLEBOT", "Facebot", "facebot").
struct Marker {
  std::string_view needle;
  Visitor kind;
  std::string_view agent;  // empty for people
  Where where = Where::anywhere;
  std::string_view also = {};  // a second needle that must also be present
};

constexpr Visitor kHuman = Visitor::human;
constexpr Visitor kBot = Visitor::bot;
constexpr Visitor kPreview = Visitor::preview;

// First match wins, so a string that carries another vendor's token comes before that vendor
// (Apple's iMessage claims to be facebookexternalhit and Twitterbot, LINE's previewer claims to
// be facebookexternalhit, Telegram's to be "like TwitterBot").
constexpr Marker kMarkers[] = {
    // -- Link previewers that borrow another vendor's name.
    {"facebookexternalhit", kPreview, "iMessage previewer", Where::anywhere, "twitterbot"},
    {"line-poker", kPreview, "LINE previewer"},
    {"kakaotalk-scrap", kPreview, "KakaoTalk previewer"},
    {"telegrambot", kPreview, "Telegram previewer"},

    // -- Link previewers: the fetch a chat or social app makes to draw a card for a link.
    {"facebookexternalhit", kPreview, "Facebook previewer"},  // also WhatsApp, Messenger, Instagram
    {"facebot", kPreview, "Facebook previewer"},
    {"twitterbot", kPreview, "Twitterbot"},
    {"slackbot-linkexpanding", kPreview, "Slack previewer"},
    {"slack-imgproxy", kPreview, "Slack previewer"},
    {"slackbot", kPreview, "Slack previewer"},
    {"whatsapp/", kPreview, "WhatsApp previewer", Where::start},  // Signal sends it too
    {"discordbot", kPreview, "Discord previewer"},
    {"linkedinbot", kPreview, "LinkedIn previewer"},
    {"pinterestbot", kPreview, "Pinterest previewer"},
    {"pinterest.com/bot", kPreview, "Pinterest previewer"},
    {"redditbot", kPreview, "Reddit previewer"},
    {"skypeuripreview", kPreview, "Skype previewer"},
    {"microsoftpreview", kPreview, "Microsoft previewer"},  // Teams, Outlook, Bing
    {"bingpreview", kPreview, "Microsoft previewer"},
    {"snap url preview", kPreview, "Snapchat previewer"},
    {"tiktokspider", kPreview, "TikTok previewer"},
    {"viber/", kPreview, "Viber previewer", Where::start},  // the app's client, not its browser
    {"google-pagerenderer", kPreview, "Google previewer"},  // Google Messages, Chat
    {"google web preview", kPreview, "Google previewer"},
    {"applenewsbot", kPreview, "Apple previewer"},
    {"(mastodon/", kPreview, "Mastodon previewer"},
    {"bluesky cardyb", kPreview, "Bluesky previewer"},
    {"vkshare", kPreview, "VK previewer"},
    {"quora link preview", kPreview, "Quora previewer"},
    {"yahoo:linkexpander", kPreview, "Yahoo previewer"},
    {"embedly", kPreview, "Embedly"},
    {"iframely", kPreview, "Iframely"},

    // -- Search and SEO crawlers.
    {"googlebot", kBot, "Googlebot"},
    {"google-inspectiontool", kBot, "Google-InspectionTool"},
    {"adsbot-google", kBot, "AdsBot-Google"},
    {"mediapartners-google", kBot, "Mediapartners-Google"},
    {"storebot-google", kBot, "Storebot-Google"},
    {"googleother", kBot, "GoogleOther"},
    {"feedfetcher-google", kBot, "FeedFetcher-Google"},
    {"apis-google", kBot, "APIs-Google"},
    {"duplexweb-google", kBot, "DuplexWeb-Google"},
    {"google-site-verification", kBot, "Google-Site-Verification"},
    {"google-read-aloud", kBot, "Google Read Aloud"},
    {"google favicon", kBot, "Google Favicon"},
    {"googleimageproxy", kBot, "GoogleImageProxy"},
    {"google-safety", kBot, "Google-Safety"},
    {"chrome-lighthouse", kBot, "Lighthouse"},
    {"google page speed", kBot, "PageSpeed Insights"},
    {"bingbot", kBot, "bingbot"},
    {"adidxbot", kBot, "AdIdxBot"},
    {"msnbot", kBot, "msnbot"},
    {"baiduspider", kBot, "Baiduspider"},
    {"yandexbot", kBot, "YandexBot"},
    {"yandex.com/bots", kBot, "Yandex"},
    {"duckduckbot", kBot, "DuckDuckBot"},
    {"duckduckgo-favicons-bot", kBot, "DuckDuckGo"},
    {"applebot", kBot, "Applebot"},
    {"bytespider", kBot, "Bytespider"},
    {"petalbot", kBot, "PetalBot"},
    {"aspiegelbot", kBot, "AspiegelBot"},
    {"sogou", kBot, "Sogou", Where::anywhere, "spider"},  // not Sogou's browser
    {"360spider", kBot, "360Spider"},
    {"haosouspider", kBot, "360Spider"},
    {"yisouspider", kBot, "YisouSpider"},
    {"ahrefsbot", kBot, "AhrefsBot"},
    {"ahrefssiteaudit", kBot, "AhrefsBot"},
    {"semrushbot", kBot, "SemrushBot"},
    {"siteauditbot", kBot, "SemrushBot"},
    {"mj12bot", kBot, "MJ12bot"},
    {"dotbot", kBot, "DotBot"},
    {"rogerbot", kBot, "rogerbot"},
    {"blexbot", kBot, "BLEXBot"},
    {"dataforseobot", kBot, "DataForSeoBot"},
    {"serpstatbot", kBot, "serpstatbot"},
    {"screaming frog", kBot, "Screaming Frog"},
    {"seznambot", kBot, "SeznamBot"},
    {"coccocbot", kBot, "coccocbot"},
    {"yeti/", kBot, "Yeti"},  // Naver
    {"yahoo! slurp", kBot, "Yahoo! Slurp"},
    {"mojeekbot", kBot, "MojeekBot"},
    {"qwantify", kBot, "Qwantbot"},
    {"qwantbot", kBot, "Qwantbot"},
    {"exabot", kBot, "Exabot"},
    {"ia_archiver", kBot, "ia_archiver"},
    {"archive.org_bot", kBot, "archive.org_bot"},
    {"amazonbot", kBot, "Amazonbot"},
    {"facebookcatalog", kBot, "facebookcatalog"},

    // -- AI crawlers and AI assistants' fetchers.
    {"gptbot", kBot, "GPTBot"},
    {"chatgpt-user", kBot, "ChatGPT-User"},
    {"oai-searchbot", kBot, "OAI-SearchBot"},
    {"claudebot", kBot, "ClaudeBot"},
    {"claude-user", kBot, "Claude-User"},
    {"claude-searchbot", kBot, "Claude-SearchBot"},
    {"claude-web", kBot, "Claude-Web"},
    {"anthropic-ai", kBot, "anthropic-ai"},
    {"ccbot", kBot, "CCBot"},
    {"perplexitybot", kBot, "PerplexityBot"},
    {"perplexity-user", kBot, "Perplexity-User"},
    {"meta-externalagent", kBot, "Meta-ExternalAgent"},
    {"meta-externalfetcher", kBot, "Meta-ExternalFetcher"},
    {"diffbot", kBot, "Diffbot"},
    {"cohere-ai", kBot, "cohere-ai"},

    // -- Uptime monitors, load balancers' health checks, security scanners.
    {"uptimerobot", kBot, "UptimeRobot"},
    {"pingdom", kBot, "Pingdom"},
    {"statuscake", kBot, "StatusCake"},
    {"site24x7", kBot, "Site24x7"},
    {"newrelicpinger", kBot, "New Relic"},
    {"datadog", kBot, "Datadog"},
    {"checkly", kBot, "Checkly"},
    {"betteruptime", kBot, "Better Uptime"},
    {"updown.io", kBot, "updown.io"},
    {"elb-healthchecker", kBot, "ELB-HealthChecker"},
    {"kube-probe", kBot, "kube-probe"},
    {"route53-health-check", kBot, "Route53-Health-Check"},
    {"check_http", kBot, "check_http"},
    {"zgrab", kBot, "zgrab"},
    {"masscan", kBot, "masscan"},
    {"nmap scripting engine", kBot, "Nmap"},
    {"nuclei", kBot, "Nuclei"},
    {"sqlmap", kBot, "sqlmap"},

    // -- Command-line tools, HTTP libraries, headless browsers.
    {"curl/", kBot, "curl", Where::start},
    {"libcurl/", kBot, "curl"},
    {"wget/", kBot, "Wget", Where::start},
    {"python-requests", kBot, "python-requests"},
    {"python-urllib", kBot, "Python-urllib"},
    {"python-httpx", kBot, "python-httpx"},
    {"aiohttp", kBot, "aiohttp"},
    {"scrapy", kBot, "Scrapy"},
    {"go-http-client", kBot, "Go-http-client"},
    {"go ", kBot, "Go-http-client", Where::start, "package http"},
    {"okhttp/", kBot, "okhttp", Where::alone},  // apps' in-app browsers may append it
    {"java/", kBot, "Java", Where::start},
    {"apache-httpclient", kBot, "Apache-HttpClient"},
    {"jakarta commons-httpclient", kBot, "Apache-HttpClient"},
    {"axios/", kBot, "axios", Where::start},
    {"node-fetch", kBot, "node-fetch", Where::start},
    {"undici", kBot, "undici", Where::start},
    {"got (", kBot, "got", Where::start},
    {"libwww-perl", kBot, "libwww-perl"},
    {"lwp-", kBot, "libwww-perl", Where::start},
    {"postmanruntime", kBot, "PostmanRuntime"},
    {"insomnia/", kBot, "Insomnia", Where::start},
    {"guzzlehttp", kBot, "Guzzle"},
    {"restsharp", kBot, "RestSharp"},
    {"http.rb/", kBot, "http.rb", Where::start},
    {"php/", kBot, "PHP", Where::start},
    {"winhttp", kBot, "WinHTTP"},
    {"windowspowershell", kBot, "PowerShell"},
    {"headlesschrome", kBot, "HeadlessChrome"},
    {"phantomjs", kBot, "PhantomJS"},

    // -- In-app browsers of apps that also have a previewer: people, matched before the
    //    previewer rows below. (Other in-app browsers need no row: they carry no bot marker.)
    {"micromessenger", kHuman, {}},    // WeChat and WeCom, "MicroMessenger/8.0.49 NetType/WIFI"
    {"bytedancewebview", kHuman, {}},  // Douyin, TikTok, Toutiao
    {"musical_ly", kHuman, {}},        // TikTok
    {"appname/trill", kHuman, {}},     // TikTok (Asia)
    {"trill_", kHuman, {}},
    {"aweme", kHuman, {}},  // Douyin: "aweme_230400 ... AppName/aweme"
    {"bytelocale", kHuman, {}},

    // -- The same apps without their in-app browser's markers: the app's own fetch.
    {"wechat", kPreview, "WeChat previewer"},  // "WeChat/8.0.42 CFNetwork/...", share extension
    {"tiktok", kPreview, "TikTok previewer"},
};

// Words that, anywhere in an otherwise unknown user agent, mean a robot. The agent reported is
// the product token around the word ("FooCrawler/1.0" -> "FooCrawler").
struct GenericWord {
  std::string_view word;
  Visitor kind;
};

constexpr GenericWord kGenericWords[] = {
    {"preview", kPreview}, {"unfurl", kPreview}, {"linkexpand", kPreview}, {"bot", kBot},
    {"crawl", kBot},       {"spider", kBot},     {"slurp", kBot},          {"scraper", kBot},
    {"fetcher", kBot},     {"scanner", kBot},    {"checker", kBot},        {"archiver", kBot},
    {"monitor", kBot},     {"headless", kBot},   {"http client", kBot},    {"httpclient", kBot},
    {"http-client", kBot},
};

// Phone and tablet names that contain one of the words above, and are not robots ("CUBOT X30",
// "CamScanner"). Each phrase contains the word it excuses.
constexpr std::string_view kNotRobots[] = {
    "cubot",   "power bot",  "power_bot",  "bot tab",
    "bot_tab", "bot senior", "bot junior", "camscanner",
};

constexpr std::size_t kMaxAgentLength = 48;

constexpr char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

constexpr bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr bool is_name_char(char c) {
  return is_letter(c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A lower-cased copy, on the stack for any user agent a server lets through whole.
class LowerCase {
 public:
  explicit LowerCase(std::string_view text) {
    char* out = inline_.data();
    if (text.size() > inline_.size()) {
      heap_.resize(text.size());
      out = heap_.data();
    }
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = to_lower(text[i]);
    view_ = std::string_view(out, text.size());
  }
  LowerCase(const LowerCase&) = delete;
  LowerCase& operator=(const LowerCase&) = delete;

  std::string_view view() const { return view_; }

 private:
  std::array<char, 1024> inline_;
  std::string heap_;
  std::string_view view_;
};

// Whether a marker found at `at` applies: its place in the user agent, and its second needle.
bool applies(const Marker& marker, std::string_view lower, std::size_t at) {
  switch (marker.where) {
    case Where::anywhere:
      break;
    case Where::start:
      if (at != 0) return false;
      break;
    case Where::alone:
      if (at != 0 || contains(lower, " ")) return false;
      break;
  }
  return marker.also.empty() || contains(lower, marker.also);
}

// "bot" counts as a word ending ("Googlebot/", "SomeBot;", "bots"), not inside one ("Botify"
// is fine to miss; "abbott" is not a robot), and not inside a device name.
bool is_robot_word(std::string_view lower, std::size_t at, std::string_view word) {
  if (word == "bot") {
    std::size_t end = at + word.size();
    if (end < lower.size() && lower[end] == 's') ++end;
    if (end < lower.size() && is_letter(lower[end])) return false;
  }
  for (std::string_view phrase : kNotRobots) {
    const std::size_t offset = phrase.find(word);
    if (offset == std::string_view::npos || offset > at) continue;
    if (lower.substr(at - offset, phrase.size()) == phrase) return false;
  }
  return true;
}

// The product name at the start of the user agent ("Bitrix link preview", "Chrome" from
// "Chrome/120"), kept to characters that are safe in a report.
std::string leading_product(std::string_view original) {
  std::string name;
  for (char c : original) {
    if (c == '/' || c == '(' || c == ';' || c == ',' || name.size() == kMaxAgentLength) break;
    if (!is_name_char(c) && c != ' ') break;
    name += c;
  }
  while (!name.empty() && name.back() == ' ') name.pop_back();
  return name;
}

// The name token that contains [at, at + length) in the original user agent.
std::string_view token_around(std::string_view original, std::size_t at, std::size_t length) {
  std::size_t begin = at;
  while (begin > 0 && is_name_char(original[begin - 1])) --begin;
  std::size_t end = at + length;
  while (end < original.size() && is_name_char(original[end])) ++end;
  return original.substr(begin, std::min(end - begin, kMaxAgentLength));
}

// The product just before a URL: "Dataprovider/6.92; +https://..." -> "Dataprovider".
std::string_view product_before(std::string_view original, std::size_t url_at) {
  std::size_t end = url_at;
  while (end > 0 && std::strchr(" +;,(", original[end - 1]) != nullptr) --end;
  std::size_t begin = end;
  while (begin > 0 && (is_name_char(original[begin - 1]) || original[begin - 1] == '/')) --begin;
  std::string_view token = original.substr(begin, end - begin);
  token = token.substr(0, token.find('/'));
  return token.substr(0, kMaxAgentLength);
}

// A robot's report name: `agent` when there is one, else the product the user agent starts with.
Classification robot(Visitor kind, std::string_view agent, std::string_view original) {
  if (!agent.empty()) return {kind, std::string(agent)};
  std::string product = leading_product(original);
  if (product.empty()) product = kind == Visitor::preview ? "unknown previewer" : "unknown robot";
  return {kind, std::move(product)};
}

// One pass over the user agent finds every needle, markers and generic words alike: the needles
// are indexed by their first three characters, so each position costs one table look-up and a
// compare for the rare needle that starts there. Needle n is kMarkers[n], or a generic word after
// the markers; a lower number wins, which keeps the tables' first-match-wins order.
constexpr std::size_t kMarkerCount = std::size(kMarkers);
constexpr std::size_t kNeedleCount = kMarkerCount + std::size(kGenericWords);
constexpr std::size_t kBuckets = 1024;

constexpr std::string_view needle_text(std::size_t needle) {
  return needle < kMarkerCount ? kMarkers[needle].needle
                               : kGenericWords[needle - kMarkerCount].word;
}

constexpr std::size_t bucket_of(char first, char second, char third) {
  const unsigned hash =
      (static_cast<unsigned char>(first) * 31u + static_cast<unsigned char>(second)) * 31u +
      static_cast<unsigned char>(third);
  return hash % kBuckets;
}

struct NeedleIndex {
  std::array<std::uint16_t, kBuckets + 1> begin{};  // bucket b holds needles[begin[b], begin[b+1])
  std::array<std::uint16_t, kNeedleCount> needles{};  // ascending within a bucket
};

consteval NeedleIndex build_index() {
  NeedleIndex index;
  std::array<std::uint16_t, kBuckets> counts{};
  for (std::size_t n = 0; n < kNeedleCount; ++n) {
    const std::string_view text = needle_text(n);
    if (text.size() < 3) throw "a needle needs three characters";
    for (char c : text) {
      if (c >= 'A' && c <= 'Z') throw "needles are lower case";
    }
    ++counts[bucket_of(text[0], text[1], text[2])];
  }
  for (std::size_t b = 0; b < kBuckets; ++b) {
    index.begin[b + 1] = static_cast<std::uint16_t>(index.begin[b] + counts[b]);
  }
  std::array<std::uint16_t, kBuckets> next{};
  for (std::size_t b = 0; b < kBuckets; ++b) next[b] = index.begin[b];
  for (std::size_t n = 0; n < kNeedleCount; ++n) {
    const std::string_view text = needle_text(n);
    index.needles[next[bucket_of(text[0], text[1], text[2])]++] = static_cast<std::uint16_t>(n);
  }
  return index;
}

constexpr NeedleIndex kIndex = build_index();

struct Found {
  std::size_t needle = kNeedleCount;  // the winning needle, kNeedleCount for none
  std::size_t at = 0;
};

Found find_needles(std::string_view lower) {
  Found found;
  for (std::size_t at = 0; at + 2 < lower.size(); ++at) {
    const std::size_t bucket = bucket_of(lower[at], lower[at + 1], lower[at + 2]);
    for (std::size_t k = kIndex.begin[bucket]; k < kIndex.begin[bucket + 1]; ++k) {
      const std::size_t needle = kIndex.needles[k];
      if (needle >= found.needle) break;  // ascending: nothing better in this bucket
      const std::string_view text = needle_text(needle);
      if (lower.substr(at, text.size()) != text) continue;
      const bool counts = needle < kMarkerCount ? applies(kMarkers[needle], lower, at)
                                                : is_robot_word(lower, at, text);
      if (counts) found = {needle, at};
    }
  }
  return found;
}

Classification generic(std::string_view original, std::string_view lower, const Found& found) {
  if (found.needle < kNeedleCount) {
    const GenericWord& generic_word = kGenericWords[found.needle - kMarkerCount];
    std::string_view token = token_around(original, found.at, generic_word.word.size());
    // A bare word ("...; bot; ...", "link preview") says nothing: name the product instead.
    if (token.size() == generic_word.word.size()) token = {};
    return robot(generic_word.kind, token, original);
  }
  // Robots link to a page about themselves: "(compatible; Foo/1.0; +https://foo.example/bot)".
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    const std::size_t at = lower.find(scheme);
    if (at != std::string_view::npos) return robot(kBot, product_before(original, at), original);
  }
  // One bare product token ("Chrome", "Mozilla/5.0", "okhttp/4.9.0"): browsers always say more.
  if (!contains(lower, " ") && !contains(lower, "(")) return robot(kBot, {}, original);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Addresses

constexpr std::size_t kAddressBuffer = INET6_ADDRSTRLEN + 1;

// ":443" after an address.
bool is_port_suffix(std::string_view text) {
  if (text.size() < 2 || text.size() > 6 || text.front() != ':') return false;
  unsigned value = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

// Copies `text` into `buffer` as a C string; false when it cannot be an address.
bool to_c_string(std::string_view text, std::array<char, kAddressBuffer>& buffer) {
  if (text.empty() || text.size() >= buffer.size()) return false;
  if (text.find('\0') != std::string_view::npos) return false;
  std::memcpy(buffer.data(), text.data(), text.size());
  buffer[text.size()] = '\0';
  return true;
}

std::string ipv4_slash_24(const std::uint8_t* bytes) {
  in_addr address{};
  std::array<std::uint8_t, 4> kept = {bytes[0], bytes[1], bytes[2], 0};
  std::memcpy(&address, kept.data(), kept.size());
  std::array<char, INET_ADDRSTRLEN> text{};
  if (inet_ntop(AF_INET, &address, text.data(), text.size()) == nullptr) return {};
  return text.data();
}

std::string ipv6_slash_48(in6_addr address) {
  std::memset(address.s6_addr + 6, 0, sizeof address.s6_addr - 6);
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(AF_INET6, &address, text.data(), text.size()) == nullptr) return {};
  return text.data();
}

bool is_ipv4_mapped(const in6_addr& address) {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(address.s6_addr, kPrefix, sizeof kPrefix) == 0;
}

std::string anonymize_ipv4(std::string_view text) {
  std::array<char, kAddressBuffer> buffer{};
  in_addr address{};
  if (!to_c_string(text, buffer) || inet_pton(AF_INET, buffer.data(), &address) != 1) return {};
  std::array<std::uint8_t, 4> bytes{};
  std::memcpy(bytes.data(), &address, bytes.size());
  return ipv4_slash_24(bytes.data());
}

std::string anonymize_ipv6(std::string_view text) {
  // A zone ("fe80::1%eth0") names an interface of the host that saw it: not part of the address.
  const std::size_t percent = text.find('%');
  if (percent != std::string_view::npos) {
    if (percent + 1 == text.size()) return {};
    text = text.substr(0, percent);
  }
  std::array<char, kAddressBuffer> buffer{};
  in6_addr address{};
  if (!to_c_string(text, buffer) || inet_pton(AF_INET6, buffer.data(), &address) != 1) return {};
  if (is_ipv4_mapped(address)) return ipv4_slash_24(address.s6_addr + 12);
  return ipv6_slash_48(address);
}

}  // namespace

Classification classify_user_agent(std::string_view user_agent) {
  const std::string_view original = trim(user_agent);
  if (original.empty()) return {Visitor::bot, "no user agent"};
  const LowerCase lower_case(original);
  const std::string_view lower = lower_case.view();
  const Found found = find_needles(lower);
  if (found.needle < kMarkerCount) {
    const Marker& marker = kMarkers[found.needle];
    return {marker.kind, std::string(marker.agent)};
  }
  return generic(original, lower, found);
}

std::string_view visitor_name(Visitor kind) {
  switch (kind) {
    case Visitor::human:
      return "human";
    case Visitor::bot:
      return "bot";
    case Visitor::preview:
      return "preview";
  }
  return "unknown";  // a value outside the enum: a programming error upstream
}

std::string anonymize_ip(std::string_view address) {
  std::string_view text = trim(address);
  if (text.empty()) return {};
  if (text.front() == '[') {  // "[2001:db8::1]" or "[2001:db8::1]:443"
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return {};
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && !is_port_suffix(after)) return {};
    return anonymize_ipv6(text.substr(1, close - 1));
  }
  const std::size_t first_colon = text.find(':');
  if (first_colon == std::string_view::npos) return anonymize_ipv4(text);
  if (first_colon == text.rfind(':') && is_port_suffix(text.substr(first_colon))) {
    return anonymize_ipv4(text.substr(0, first_colon));  // "203.0.113.7:5060"
  }
  return anonymize_ipv6(text);
}

}  // namespace reelflow::track
