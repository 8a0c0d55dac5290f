// track.link through the real plugin host: Registry loads the built track.so, Executor runs the
// step in process, and a RunServices.call lambda plays the daemon's links.create service,
// recording every request and answering like the daemon (the same link for the same key).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_host/executor.hpp"
#include "plugin_host/options.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {
namespace {

using nlohmann::json;

class TrackLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = registry_.load_file(TRACK_PLUGIN_PATH);
    ASSERT_TRUE(loaded) << loaded.error().message;
    step_ = registry_.find("track.link");
    ASSERT_NE(step_, nullptr);
    services_.call = [this](std::string_view service, const json& request) -> Result<json> {
      calls_.push_back({std::string(service), request});
      if (refusal_) return fail(*refusal_);
      const std::string key = request.value("key", "");
      auto [link, added] = links_.try_emplace(key, "c" + std::to_string(links_.size() + 1));
      return json{{"code", link->second},
                  {"short_url", "https://go.example/l/" + link->second},
                  {"target", request.value("url", "") + "?utm_source=x"},
                  {"created", added}};
    };
  }

  static json context(const std::string& step_id = "link", int attempt = 1,
                      std::optional<int> item_index = std::nullopt) {
    json context = {{"run_id", "20261201T100000-abcd1234"},
                    {"step_id", step_id},
                    {"workflow", "launch"},
                    {"attempt", attempt},
                    {"trigger", {{"event", "manual"}}}};
    if (item_index) {
      context["item"] = "clip";
      context["item_index"] = *item_index;
    }
    return context;
  }

  // Runs track.link with `with` (normalised like the engine does).
  StepOutcome run(const json& with, const json& run_context = context()) {
    auto options = normalize_options(*step_, with);
    EXPECT_TRUE(options) << (options ? "" : options.error().message);
    auto outcome = executor_.run(*step_, options.value_or(json::object()), run_context, services_);
    EXPECT_TRUE(outcome) << (outcome ? "" : outcome.error().message);
    return outcome.value_or(StepOutcome{});
  }

  Registry registry_;
  Executor executor_;
  RunServices services_;
  const StepTypeInfo* step_ = nullptr;
  struct Call {
    std::string service;
    json request;
  };
  std::vector<Call> calls_;
  std::map<std::string, std::string> links_;  // key -> code
  std::optional<std::string> refusal_;
};

TEST_F(TrackLinkTest, DeclaresItsStepTypeAndOptions) {
  EXPECT_EQ(step_->plugin->name, "track");
  EXPECT_TRUE(step_->rerun_safe());
  EXPECT_FALSE(step_->irreversible());
  const OptionSpec* url = step_->find_option("url");
  ASSERT_NE(url, nullptr);
  EXPECT_TRUE(url->required);
  const OptionSpec* medium = step_->find_option("medium");
  ASSERT_NE(medium, nullptr);
  ASSERT_TRUE(medium->default_value.has_value());
  EXPECT_EQ(*medium->default_value, "social");
  for (const char* name : {"platform", "campaign", "variant", "video", "title", "key"}) {
    const OptionSpec* option = step_->find_option(name);
    ASSERT_NE(option, nullptr) << name;
    EXPECT_FALSE(option->required) << name;
    EXPECT_FALSE(option->default_value.has_value()) << name;
    EXPECT_FALSE(option->help.empty()) << name;
  }
}

TEST_F(TrackLinkTest, AsksTheDaemonForTheLinkAndOutputsIt) {
  StepOutcome outcome = run({{"url", "https://shop.example/new?ref=a"},
                             {"platform", "youtube"},
                             {"campaign", "winter"},
                             {"variant", "b"},
                             {"video", "/srv/out/clip.mp4"},
                             {"title", "Winter launch"}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].service, "links.create");
  // The plugin says what the link is for; the daemon owns the UTM parameters: none are sent, and
  // the landing page goes as written.
  EXPECT_EQ(calls_[0].request, json({{"url", "https://shop.example/new?ref=a"},
                                     {"platform", "youtube"},
                                     {"campaign", "winter"},
                                     {"variant", "b"},
                                     {"medium", "social"},
                                     {"video", "/srv/out/clip.mp4"},
                                     {"title", "Winter launch"},
                                     {"key", "20261201T100000-abcd1234/link"}}));
  EXPECT_EQ(outcome.outputs, json({{"code", "c1"},
                                   {"url", "https://go.example/l/c1"},
                                   {"target", "https://shop.example/new?ref=a?utm_source=x"}}));
}

TEST_F(TrackLinkTest, AbsentAndEmptyOptionsAreNull) {
  StepOutcome outcome = run({{"url", "http://shop.example"}, {"campaign", ""}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  ASSERT_EQ(calls_.size(), 1u);
  const json& request = calls_[0].request;
  for (const char* name : {"platform", "campaign", "variant", "video", "title"}) {
    ASSERT_TRUE(request.contains(name)) << name;
    EXPECT_TRUE(request[name].is_null()) << name;
  }
  EXPECT_EQ(request["medium"], "social");
}

TEST_F(TrackLinkTest, DefaultKeyIsTheSameForEveryAttemptOfOneExecution) {
  const json with = {{"url", "https://shop.example"}};
  StepOutcome first = run(with, context("link", 1));
  StepOutcome retried = run(with, context("link", 2));  // a retry, or the same after a restart
  ASSERT_EQ(first.status, RF_STATUS_OK) << first.error;
  ASSERT_EQ(retried.status, RF_STATUS_OK) << retried.error;
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0].request["key"], calls_[1].request["key"]);
  EXPECT_EQ(first.outputs, retried.outputs);
  EXPECT_EQ(links_.size(), 1u);

  // Another step, or another for_each item, is another link.
  run(with, context("other"));
  run(with, context("link", 1, 0));
  run(with, context("link", 1, 1));
  ASSERT_EQ(calls_.size(), 5u);
  EXPECT_EQ(calls_[2].request["key"], "20261201T100000-abcd1234/other");
  EXPECT_EQ(calls_[3].request["key"], "20261201T100000-abcd1234/link/0");
  EXPECT_EQ(calls_[4].request["key"], "20261201T100000-abcd1234/link/1");
  EXPECT_EQ(links_.size(), 4u);
}

TEST_F(TrackLinkTest, ExplicitKeyWins) {
  run({{"url", "https://shop.example"}, {"key", "launch-2026"}}, context("a"));
  run({{"url", "https://shop.example"}, {"key", "launch-2026"}}, context("b"));
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0].request["key"], "launch-2026");
  EXPECT_EQ(calls_[1].request["key"], "launch-2026");
  EXPECT_EQ(links_.size(), 1u);
}

TEST_F(TrackLinkTest, RefusesAnAddressThatIsNotHttp) {
  for (const char* url : {"ftp://shop.example/file", "javascript:alert(1)", "shop.example/new",
                          "https://", "https:///path", "http://shop.example/a b", ""}) {
    StepOutcome outcome = run({{"url", url}});
    EXPECT_EQ(outcome.status, RF_STATUS_ERROR) << url;
    EXPECT_NE(outcome.error.find("option `url`"), std::string::npos) << outcome.error;
    EXPECT_NE(outcome.error.find("http"), std::string::npos) << outcome.error;
    EXPECT_TRUE(outcome.outputs.empty()) << url;
  }
  EXPECT_TRUE(calls_.empty());  // nothing reached the daemon
  EXPECT_EQ(run({{"url", "HTTPS://Shop.Example"}}).status, RF_STATUS_OK);
}

TEST_F(TrackLinkTest, RefusalByTheDaemonIsTheStepsError) {
  refusal_ = "campaign is longer than 100 characters";
  StepOutcome outcome = run({{"url", "https://shop.example"}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(outcome.error,
            "track.link: the daemon refused the link: campaign is longer than 100 characters");
}

TEST_F(TrackLinkTest, WithoutTheDaemonItSaysSo) {
  services_.call = nullptr;  // a host without daemon services
  StepOutcome outcome = run({{"url", "https://shop.example"}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_EQ(outcome.error.rfind("track.link: the daemon refused the link: links.create", 0), 0u)
      << outcome.error;
}

TEST_F(TrackLinkTest, AnAnswerWithoutTheLinkIsAnError) {
  services_.call = [](std::string_view, const json&) -> Result<json> {
    return json{{"code", "c1"}};
  };
  StepOutcome outcome = run({{"url", "https://shop.example"}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find("short_url"), std::string::npos) << outcome.error;
}

}  // namespace
}  // namespace reelflow::plugin_host
