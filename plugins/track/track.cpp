// track: tracked short links for click tracking (issue 7).
//
// Step type track.link asks the daemon for a short link to a landing page, through the daemon
// service "links.create" (rf_host.call, ABI 1.3): links live in the daemon's database, which the
// step cannot reach from its worker process. The daemon keeps the link, adds the UTM parameters
// to the target and counts the clicks on /l/<code>; this plugin only says what the link is for:
//
//   request  {"url", "platform", "campaign", "variant", "medium", "video", "title", "key"}
//            (absent or empty options are null; url is the landing page as given, without UTM)
//   answer   {"code", "short_url", "target", ...}
//   outputs  {"code", "url": the short URL, "target": the landing page with its UTM parameters}
//
// The key makes it idempotent: the daemon returns the same link for the same key, and the default
// key is the execution's identity (run id, step id, for_each item index), so a retry or a restart
// of the same execution gets the same link, never a second one. Hence RF_STEP_RERUN_SAFE.
#include <algorithm>
#include <cctype>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;

constexpr rf_option kLinkOptions[] = {
    option::string("url", reelflow::no_default,
                   "The landing page the link leads to: an http:// or https:// address. The daemon "
                   "adds the UTM parameters.")
        .required(),
    option::string("platform", reelflow::no_default,
                   "Where the link is posted, e.g. youtube (utm_source)."),
    option::string("campaign", reelflow::no_default, "The campaign it belongs to (utm_campaign)."),
    option::string("variant", reelflow::no_default,
                   "Which version of the post it is, to compare variants (utm_content)."),
    option::string("medium", reelflow::json_string<"social">, "The kind of traffic (utm_medium)."),
    option::string("video", reelflow::no_default,
                   "The video the link goes out with (its file or id), for reports."),
    option::string("title", reelflow::no_default, "A name for the link in reports."),
    option::string("key", reelflow::no_default,
                   "The same key always gives the same link. Default: this execution (run, step "
                   "and for_each item), so a retry or restart returns the same link."),
};

constexpr std::string_view kService = "links.create";

// An absolute http(s) address with a host and no whitespace or control characters.
bool is_web_address(std::string_view url) {
  const auto lower_starts_with = [&](std::string_view prefix) {
    return url.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), url.begin(), [](char a, char b) {
             return a == std::tolower(static_cast<unsigned char>(b));
           });
  };
  std::size_t host_at = 0;
  if (lower_starts_with("https://")) {
    host_at = 8;
  } else if (lower_starts_with("http://")) {
    host_at = 7;
  } else {
    return false;
  }
  if (url.size() == host_at || url[host_at] == '/' || url[host_at] == '?' || url[host_at] == '#') {
    return false;
  }
  return std::none_of(url.begin(), url.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

// The option's text, or nullopt when it is absent or empty.
std::optional<std::string> text_option(const json::Object& options, std::string_view name) {
  auto value = options.get_string(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

// The execution's identity: "<run id>/<step id>" and "/<item index>" inside for_each, the same
// for every attempt of the execution and after a restart (like the engine's idempotency keys).
std::optional<std::string> execution_key(const json::Object& context) {
  const auto run_id = context.get_string("run_id");
  const auto step_id = context.get_string("step_id");
  if (!run_id || run_id->empty() || !step_id || step_id->empty()) return std::nullopt;
  std::string key = *run_id + "/" + *step_id;
  if (const json::Value* item = context.find("item_index"); item != nullptr && !item->is_null()) {
    key += "/" + item->text();
  }
  return key;
}

class Link {
 public:
  rf_status run(reelflow::Run& run) {
    std::string problem;
    const auto options = json::Object::parse(run.options_json(), &problem);
    if (!options) return run.fail("track.link: the options are not a JSON object: " + problem);
    const auto context = json::Object::parse(run.context_json(), &problem);
    if (!context) return run.fail("track.link: the context is not a JSON object: " + problem);

    const std::string url = options->get_string("url").value_or("");
    if (!is_web_address(url)) {
      return run.fail("track.link: option `url` must be an http:// or https:// address, got '" +
                      url + "'");
    }
    std::optional<std::string> key = text_option(*options, "key");
    if (!key) key = execution_key(*context);
    if (!key) {
      return run.fail(
          "track.link: the run gave no run_id and step_id to key the link by: set option `key`");
    }

    const std::string request = json::ObjectBuilder()
                                    .add("url", url)
                                    .add("platform", text_option(*options, "platform"))
                                    .add("campaign", text_option(*options, "campaign"))
                                    .add("variant", text_option(*options, "variant"))
                                    .add("medium", text_option(*options, "medium"))
                                    .add("video", text_option(*options, "video"))
                                    .add("title", text_option(*options, "title"))
                                    .add("key", *key)
                                    .str();
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    std::string refusal;
    const auto answer_text = run.call(kService, request, &refusal);
    if (!answer_text) return run.fail("track.link: the daemon refused the link: " + refusal);
    const auto answer = json::Object::parse(*answer_text, &problem);
    if (!answer) {
      return run.fail("track.link: the daemon's answer is not a JSON object: " + problem);
    }
    const auto code = answer->get_string("code");
    const auto short_url = answer->get_string("short_url");
    const auto target = answer->get_string("target");
    if (!code || code->empty() || !short_url || short_url->empty() || !target) {
      return run.fail("track.link: the daemon's answer lacks code, short_url or target: " +
                      *answer_text);
    }

    run.info("link " + *short_url + " -> " + *target + " (key " + *key + ")");
    if (!run.set_output(json::ObjectBuilder()
                            .add("code", *code)
                            .add("url", *short_url)
                            .add("target", *target))) {
      return run.fail("track.link: the host refused the output");
    }
    return RF_STATUS_OK;
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Link>(
        {.name = "track.link",
         .summary = "A tracked short link to a landing page (needs reelflowd)",
         .flags = RF_STEP_RERUN_SAFE},
        kLinkOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "track",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Tracked short links for click tracking"},
                     kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
