// Option values against option tables: normalize_options (what a plugin receives) and
// check_option_value (what the validator reports), using the option table of a real plugin.
#include "plugin_host/options.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace reelflow::plugin_host {
namespace {

using ::testing::HasSubstr;
using testing::test_plugin;
using json = nlohmann::json;

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = registry_.load_file(test_plugin("phtest_good"));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    convert_ = registry_.find("phtest_good.convert");
    ASSERT_NE(convert_, nullptr);
  }

  // normalize_options with the required input added.
  Result<json> normalize(json with) {
    with["input"] = "/videos/in.mp4";
    return normalize_options(*convert_, with);
  }

  std::string error_of(const json& with) {
    auto normalized = normalize_options(*convert_, with);
    EXPECT_FALSE(normalized.has_value()) << with.dump();
    return normalized ? "" : normalized.error().message;
  }

  Registry registry_;
  const StepTypeInfo* convert_ = nullptr;
};

TEST_F(OptionsTest, DefaultsAreFilledAndDurationsBecomeSeconds) {
  auto normalized = normalize(json::object());
  ASSERT_TRUE(normalized.has_value()) << normalized.error().message;
  EXPECT_EQ(*normalized, (json{{"input", "/videos/in.mp4"},
                               {"title", "untitled"},
                               {"count", 3},
                               {"enabled", true},
                               {"settle", 90.0},
                               {"mode", "fast"},
                               {"tags", json::array()}}));
}

TEST_F(OptionsTest, GivenValuesWin) {
  auto normalized = normalize({{"title", "Summer"},
                               {"count", 10},
                               {"ratio", 0.25},
                               {"enabled", false},
                               {"mode", "slow"},
                               {"tags", {"a", "b"}},
                               {"extra", {{"k", 1}}}});
  ASSERT_TRUE(normalized.has_value()) << normalized.error().message;
  EXPECT_EQ((*normalized)["title"], "Summer");
  EXPECT_EQ((*normalized)["count"], 10);
  EXPECT_EQ((*normalized)["ratio"], 0.25);
  EXPECT_EQ((*normalized)["enabled"], false);
  EXPECT_EQ((*normalized)["mode"], "slow");
  EXPECT_EQ((*normalized)["tags"], (json{"a", "b"}));
  EXPECT_EQ((*normalized)["extra"], (json{{"k", 1}}));
}

TEST_F(OptionsTest, DurationsAsTextOrSeconds) {
  EXPECT_EQ((*normalize({{"settle", "2h"}}))["settle"], 7200.0);
  EXPECT_EQ((*normalize({{"settle", "1m30s"}}))["settle"], 90.0);
  EXPECT_EQ((*normalize({{"settle", 5}}))["settle"], 5.0);
  EXPECT_EQ((*normalize({{"settle", "1500ms"}}))["settle"], 1.5);
  auto too_short = normalize({{"settle", "500ms"}});
  ASSERT_FALSE(too_short.has_value());
  EXPECT_EQ(too_short.error().message,
            "phtest_good.convert: option 'settle': expected a duration of at least 1 seconds, got "
            "\"500ms\"");
  auto not_a_duration = normalize({{"settle", "soon"}});
  ASSERT_FALSE(not_a_duration.has_value());
  EXPECT_THAT(not_a_duration.error().message, HasSubstr("expected a duration such as 30s"));
}

TEST_F(OptionsTest, RequiredOptionMustBeSet) {
  EXPECT_EQ(error_of(json::object()), "phtest_good.convert: required option 'input' is missing");
  EXPECT_EQ(error_of(nullptr), "phtest_good.convert: required option 'input' is missing");
}

TEST_F(OptionsTest, UnknownOptionIsNamed) {
  EXPECT_EQ(error_of({{"input", "/v.mp4"}, {"colour", "red"}}),
            "phtest_good.convert: unknown option 'colour'");
}

TEST_F(OptionsTest, WithMustBeAMapping) {
  EXPECT_THAT(error_of(json::array({1, 2})), HasSubstr("`with` must be a mapping"));
}

TEST_F(OptionsTest, EnumAcceptsOnlyItsValues) {
  auto result = normalize({{"mode", "medium"}});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message,
            "phtest_good.convert: option 'mode': expected one of fast, slow, got \"medium\"");
}

TEST_F(OptionsTest, IntegerTypeAndRange) {
  auto too_big = normalize({{"count", 42}});
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().message,
            "phtest_good.convert: option 'count': expected an integer between 1 and 10, got 42");
  auto fraction = normalize({{"count", 2.5}});
  ASSERT_FALSE(fraction.has_value());
  EXPECT_THAT(fraction.error().message, HasSubstr("expected an integer, got 2.5"));
  auto text = normalize({{"count", "3"}});
  ASSERT_FALSE(text.has_value());
  EXPECT_THAT(text.error().message, HasSubstr("expected an integer, got \"3\""));
}

TEST_F(OptionsTest, FloatRange) {
  EXPECT_TRUE(normalize({{"ratio", 1}}).has_value());
  auto result = normalize({{"ratio", 1.5}});
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("expected a number between 0 and 1, got 1.5"));
}

TEST_F(OptionsTest, BoolPathAndObjectTypes) {
  EXPECT_THAT(normalize({{"enabled", "yes"}}).error().message,
              HasSubstr("expected true or false, got \"yes\""));
  EXPECT_THAT(error_of({{"input", 7}}), HasSubstr("option 'input': expected a string, got 7"));
  EXPECT_THAT(normalize({{"extra", json::array()}}).error().message,
              HasSubstr("expected a mapping, got []"));
}

TEST_F(OptionsTest, ListLengthAndItemTypes) {
  auto wrong_item = normalize({{"tags", {"a", 2}}});
  ASSERT_FALSE(wrong_item.has_value());
  EXPECT_EQ(wrong_item.error().message,
            "phtest_good.convert: option 'tags': item 2: expected a string, got 2");
  auto too_long = normalize({{"tags", {"a", "b", "c", "d"}}});
  ASSERT_FALSE(too_long.has_value());
  EXPECT_THAT(too_long.error().message,
              HasSubstr("expected a list with a length of at most 3, got 4 items"));
  EXPECT_THAT(normalize({{"tags", "a"}}).error().message, HasSubstr("expected a list"));
}

OptionSpec spec(std::string name, rf_option_type type) {
  OptionSpec made;
  made.name = std::move(name);
  made.type = type;
  return made;
}

TEST(CheckOptionValue, HandMadeSpecs) {
  OptionSpec any_list = spec("items", RF_OPT_LIST);
  EXPECT_EQ(check_option_value(any_list, json{1, "two", nullptr}), std::nullopt);

  OptionSpec durations = spec("delays", RF_OPT_LIST);
  durations.item_type = RF_OPT_DURATION;
  EXPECT_EQ(check_option_value(durations, json{"30s", 5}), std::nullopt);
  EXPECT_THAT(check_option_value(durations, json{"30s", "later"}).value_or(""),
              HasSubstr("item 2: expected a duration"));

  OptionSpec timeout = spec("timeout", RF_OPT_DURATION);
  timeout.max = 60.0;
  EXPECT_EQ(check_option_value(timeout, "1m"), std::nullopt);
  EXPECT_EQ(check_option_value(timeout, "1m1s").value_or(""),
            "expected a duration of at most 60 seconds, got \"1m1s\"");
  EXPECT_TRUE(check_option_value(timeout, -5).has_value());

  OptionSpec at_least_two = spec("pair", RF_OPT_LIST);
  at_least_two.min = 2.0;
  EXPECT_EQ(check_option_value(at_least_two, json{1}).value_or(""),
            "expected a list with a length of at least 2, got 1 items");
}

// A trigger's options: normalised like a step's, and path options made absolute against the
// daemon's working directory (the base given), so plugin and listing agree on the folder.
TEST(NormalizeTriggerOptions, DefaultsDurationsAndAbsolutePaths) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(test_plugin("phtest_trig")).has_value());
  const TriggerTypeInfo* inbox = registry.find_trigger("phtest_trig.inbox");
  ASSERT_NE(inbox, nullptr);

  auto relative = normalize_trigger_options(*inbox, {{"path", "in/./box/"}}, "/srv/reelflow");
  ASSERT_TRUE(relative.has_value()) << relative.error().message;
  EXPECT_EQ(*relative,
            (json{{"path", "/srv/reelflow/in/box"}, {"patterns", json::array()}, {"settle", 2.0}}));

  auto absolute = normalize_trigger_options(
      *inbox, {{"path", "/data/inbox"}, {"patterns", {"*.mp4"}}, {"settle", "1m"}}, "/elsewhere");
  ASSERT_TRUE(absolute.has_value()) << absolute.error().message;
  EXPECT_EQ(*absolute, (json{{"path", "/data/inbox"}, {"patterns", {"*.mp4"}}, {"settle", 60.0}}));

  auto missing = normalize_trigger_options(*inbox, json::object(), "/");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "phtest_trig.inbox: required option 'path' is missing");
  auto unknown = normalize_trigger_options(*inbox, {{"path", "/x"}, {"nope", 1}}, "/");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message, "phtest_trig.inbox: unknown option 'nope'");
}

}  // namespace
}  // namespace reelflow::plugin_host
