#include "plugin_host/publish_options.hpp"

#include <nlohmann/json.hpp>

#include "plugin_host/options.hpp"

namespace reelflow::plugin_host {

namespace {

OptionSpec option(std::string name, rf_option_type type, std::optional<nlohmann::json> default_value,
                  std::string help, bool required = false) {
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.required = required;
  spec.help = std::move(help);
  return spec;
}

}  // namespace

std::vector<OptionSpec> publish_options(const std::vector<OptionSpec>& own) {
  std::vector<OptionSpec> options;
  options.push_back(option("account", RF_OPT_STRING, std::nullopt,
                           "The account to publish with: the secret `account.<name>` holds its "
                           "platform, options and credentials (docs/publishing.md).",
                           true));
  options.push_back(option("video", RF_OPT_PATH, std::nullopt,
                           "The video file to publish (e.g. a video.render output).", true));
  options.push_back(option("cover", RF_OPT_PATH, nlohmann::json(""),
                           "A cover image (JPEG or PNG); empty: the platform's choice."));
  options.push_back(option("title", RF_OPT_STRING, nlohmann::json(""),
                           "The post's title, where the platform has one."));
  options.push_back(option("caption", RF_OPT_STRING, nlohmann::json(""),
                           "The caption or description; hashtags may be written inline."));
  {
    auto tags = option("tags", RF_OPT_LIST, nlohmann::json::array(),
                       "Hashtags or keywords, without '#'; each platform writes them its own way.");
    tags.item_type = RF_OPT_STRING;
    options.push_back(std::move(tags));
  }
  options.push_back(option("link", RF_OPT_STRING, nlohmann::json(""),
                           "A tracked link the publisher puts in the caption or description."));
  options.push_back(option("publish_at", RF_OPT_STRING, nlohmann::json(""),
                           "When to publish: an ISO 8601 time with offset, 'YYYY-MM-DD HH:MM' in "
                           "time_zone, or a delay like '+2h'. Empty: now."));
  options.push_back(option("time_zone", RF_OPT_STRING, nlohmann::json("UTC"),
                           "The IANA time zone publish_at is written in (e.g. Asia/Shanghai)."));
  {
    auto jitter = option("jitter", RF_OPT_DURATION, nlohmann::json(0.0),
                         "Publish up to this much later than publish_at, at random, so posts do "
                         "not go out on the minute every time (e.g. 15m).");
    jitter.min = 0;
    jitter.max = 86400;
    options.push_back(std::move(jitter));
  }
  {
    auto max_delay = option("max_delay", RF_OPT_DURATION, nlohmann::json(6 * 3600.0),
                            "A post that could not go out on time (the daemon was down) is still "
                            "published this long after publish_at, and skipped after that.");
    max_delay.min = 0;
    options.push_back(std::move(max_delay));
  }
  {
    auto poll_timeout = option("poll_timeout", RF_OPT_DURATION, nlohmann::json(3600.0),
                               "How long to wait for the platform to finish processing the "
                               "upload before the post is marked unknown.");
    poll_timeout.min = 1;
    options.push_back(std::move(poll_timeout));
  }
  {
    auto metrics_at = option("metrics_at", RF_OPT_LIST,
                             nlohmann::json::array({"1h", "6h", "24h", "3d", "7d"}),
                             "When, after publishing, the post's views, likes, comments and shares "
                             "are fetched from the platform into the store (durations; [] for never).");
    metrics_at.item_type = RF_OPT_STRING;
    options.push_back(std::move(metrics_at));
  }
  options.insert(options.end(), own.begin(), own.end());
  return options;
}

Result<nlohmann::json> account_from_secret(const StepTypeInfo& step_type,
                                           const std::string& account_name,
                                           const std::optional<std::string>& secret) {
  const PublisherTypeInfo& publisher = *step_type.publisher;
  const std::string& where = step_type.name;
  if (!secret) {
    return fail(where + ": account '" + account_name +
                "' is not configured: give the daemon a secret named 'account." + account_name +
                "' holding {\"platform\": \"" + publisher.platform +
                "\", \"options\": {...}, \"credentials\": {...}} (see docs/publishing.md)");
  }
  nlohmann::json account = nlohmann::json::parse(*secret, nullptr, /*allow_exceptions=*/false);
  if (account.is_discarded() || !account.is_object()) {
    return fail(where + ": the secret 'account." + account_name + "' is not a JSON object");
  }
  const std::string platform = account.value("platform", publisher.platform);
  if (platform != publisher.platform) {
    return fail(where + ": account '" + account_name + "' is a " + platform + " account, not " +
                publisher.platform);
  }
  auto options = normalize_options(where + " account '" + account_name + "'",
                                   publisher.account_options,
                                   account.value("options", nlohmann::json::object()));
  if (!options) return tl::unexpected(options.error());
  account["options"] = std::move(*options);
  return account;
}

}  // namespace reelflow::plugin_host
