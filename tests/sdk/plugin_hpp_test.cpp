// <reelflow/plugin.hpp> on its own: the JSON writer and reader, the option builders, and the
// step-type and trigger-type callbacks driven through fake host tables, as a host would call them.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <reelflow/plugin.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;
using namespace std::string_literals;

// ------------------------------------------------------------------------------------------------
// JSON writer

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json::quote("plain"), R"("plain")");
  EXPECT_EQ(json::quote("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(json::quote("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(json::quote("\x01\x1f\x7f"s), "\"\\u0001\\u001f\x7f\"");
  EXPECT_EQ(json::quote("nul\0in"s), R"("nul\u0000in")");
  EXPECT_EQ(json::quote(""), R"("")");
}

TEST(JsonWriter, PassesValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json::quote("é 中 😀"), "\"é 中 😀\"");
  EXPECT_EQ(json::quote("\xff"), "\"\xEF\xBF\xBD\"");                  // not a lead byte
  EXPECT_EQ(json::quote("a\xc3"), "\"a\xEF\xBF\xBD\"");                // truncated
  EXPECT_EQ(json::quote("\xc0\xaf"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  EXPECT_EQ(json::quote("\xed\xa0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  EXPECT_EQ(json::quote("\xf4\x90\x80\x80").substr(0, 4), "\"\xEF\xBF\xBD");           // > U+10FFFF
}

TEST(JsonWriter, WritesNumbersBoolsNullsAndNesting) {
  const std::optional<int> none;
  const std::optional<std::string> some = "x";
  const char* null_text = nullptr;
  std::string text =
      json::ObjectBuilder()
          .add("min", std::numeric_limits<std::int64_t>::min())
          .add("max", std::numeric_limits<std::uint64_t>::max())
          .add("real", 0.1)
          .add("nan", std::numeric_limits<double>::quiet_NaN())
          .add("inf", -std::numeric_limits<double>::infinity())
          .add("yes", true)
          .add("null", nullptr)
          .add("none", none)
          .add("some", some)
          .add("c_string", "c")
          .add("null_c_string", null_text)
          .add("path", std::filesystem::path("/tmp/a b"))
          .add("list", json::ArrayBuilder().push(1).push("two").push(json::ObjectBuilder()))
          .add("raw", json::Raw{R"({"k":[1]})"})
          .str();
  EXPECT_EQ(text, R"({"min":-9223372036854775808,"max":18446744073709551615,"real":0.1,"nan":null,)"
                  R"("inf":null,"yes":true,"null":null,"none":null,"some":"x","c_string":"c",)"
                  R"("null_c_string":null,"path":"/tmp/a b","list":[1,"two",{}],"raw":{"k":[1]}})");
  EXPECT_EQ(json::ObjectBuilder().str(), "{}");
  EXPECT_EQ(json::ArrayBuilder().str(), "[]");
}

TEST(JsonWriter, KeysAreEscapedToo) {
  EXPECT_EQ(json::ObjectBuilder().add("a\"\n", 1).str(), R"({"a\"\n":1})");
}

// ------------------------------------------------------------------------------------------------
// JSON reader

TEST(JsonReader, ReadsFlatObjects) {
  auto object = json::Object::parse(
      R"( { "s": "text", "i": 42, "neg": -7, "f": 2.5e1, "t": true, "no": false, "n": null } )");
  ASSERT_TRUE(object);
  EXPECT_EQ(object->size(), 7u);
  EXPECT_EQ(object->get_string("s"), "text");
  EXPECT_EQ(object->get_int("i"), 42);
  EXPECT_EQ(object->get_int("neg"), -7);
  EXPECT_EQ(object->get_double("f"), 25.0);
  EXPECT_EQ(object->get_int("f"), 25);
  EXPECT_EQ(object->get_bool("t"), true);
  EXPECT_EQ(object->get_bool("no"), false);
  ASSERT_NE(object->find("n"), nullptr);
  EXPECT_TRUE(object->find("n")->is_null());
  EXPECT_EQ(object->get_string("n"), std::nullopt);
  EXPECT_EQ(object->get_string("missing"), std::nullopt);
  EXPECT_EQ(object->get_int("s"), std::nullopt);
  EXPECT_EQ(object->get_string("i"), std::nullopt);
  EXPECT_EQ(object->find("i")->text(), "42");
}

TEST(JsonReader, IntegersOnlyWhenIntegral) {
  auto object =
      json::Object::parse(R"({"a": 30.0, "b": 30.5, "c": 1e30, "d": 9223372036854775807})");
  ASSERT_TRUE(object);
  EXPECT_EQ(object->get_int("a"), 30);
  EXPECT_EQ(object->get_int("b"), std::nullopt);
  EXPECT_EQ(object->get_int("c"), std::nullopt);
  EXPECT_EQ(object->get_int("d"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(object->get_double("b"), 30.5);
}

TEST(JsonReader, DecodesEscapesAndSurrogatePairs) {
  auto object = json::Object::parse(
      R"({"e": "q\" b\\ s\/ \b\f\n\r\t", "u": "\u00e9\u4e2d\ud83d\ude00", "lone": "\ud800x\udc00",)"
      R"( "raw": "é😀"})");
  ASSERT_TRUE(object);
  EXPECT_EQ(object->get_string("e"), "q\" b\\ s/ \b\f\n\r\t");
  EXPECT_EQ(object->get_string("u"), "é中😀");
  EXPECT_EQ(object->get_string("lone"), "\xEF\xBF\xBDx\xEF\xBF\xBD");
  EXPECT_EQ(object->get_string("raw"), "é😀");
}

TEST(JsonReader, KeepsNestedValuesAsRawTextAndParsesThemOnDemand) {
  auto context = json::Object::parse(
      R"({"run_id": "r1", "trigger": {"file": "/in/a.mp4", "meta": {"x": [1, 2]}},)"
      R"( "item": [1, "two", {"three": 3}, [4]], "attempt": 2})");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->find("trigger")->text(), R"({"file": "/in/a.mp4", "meta": {"x": [1, 2]}})");
  auto trigger = context->get_object("trigger");
  ASSERT_TRUE(trigger);
  EXPECT_EQ(trigger->get_string("file"), "/in/a.mp4");
  EXPECT_EQ(trigger->get_object("meta")->find("x")->text(), "[1, 2]");
  auto items = context->find("item")->as_array();
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].as_int(), 1);
  EXPECT_EQ((*items)[1].as_string(), "two");
  EXPECT_EQ((*items)[2].as_object()->get_int("three"), 3);
  EXPECT_TRUE((*items)[3].is_array());
  EXPECT_EQ(context->get_int("attempt"), 2);
  EXPECT_EQ(context->find("run_id")->json_text(), R"("r1")");
}

TEST(JsonReader, LastDuplicateKeyWins) {
  auto object = json::Object::parse(R"({"a": 1, "a": 2})");
  ASSERT_TRUE(object);
  EXPECT_EQ(object->get_int("a"), 2);
}

TEST(JsonReader, RejectsWhatIsNotExactlyOneObject) {
  const char* bad[] = {
      "",
      "[]",
      "\"s\"",
      "{",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{a:1}",
      "{\"a\":01}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":1e}",
      "{\"a\":-}",
      "{\"a\":tru}",
      "{\"a\":\"x}",
      "{\"a\":\"\\x\"}",
      "{\"a\":\"\\u12g4\"}",
      "{\"a\":[1,]}",
      "{\"a\":{\"b\":1,}}",
      "{} {}",
      "{\"a\":1} x",
      "{\"a\":NaN}",
      "{\"a\":'s'}",
      "{\"a\":[}",
  };
  for (const char* text : bad) {
    std::string error;
    EXPECT_FALSE(json::Object::parse(text, &error)) << text;
    EXPECT_NE(error.find("at offset"), std::string::npos) << text << ": " << error;
  }
  std::string error;
  EXPECT_FALSE(json::Object::parse("{\"a\":\"tab\there\"}", &error));
  EXPECT_EQ(error, "control character in a string at offset 9");
}

TEST(JsonReader, LimitsNestingDepth) {
  std::string deep = "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}";
  std::string error;
  EXPECT_FALSE(json::Object::parse(deep, &error));
  EXPECT_NE(error.find("nesting"), std::string::npos) << error;
  std::string fine = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(json::Object::parse(fine));
}

TEST(JsonReader, RoundTripsWhatTheWriterWrites) {
  const std::string tricky = "\"\\\n\x01 é 😀 \x7f";
  auto object = json::Object::parse(json::ObjectBuilder().add("k", tricky).str());
  ASSERT_TRUE(object);
  EXPECT_EQ(object->get_string("k"), tricky);
}

// ------------------------------------------------------------------------------------------------
// Option tables

constexpr const char* kModes[] = {"fast", "best", nullptr};
constexpr rf_option kOptions[] = {
    option::string("greeting", reelflow::json_string<"Say \"hi\"\n">, "A greeting."),
    option::integer("retries", "3", "How often.").range(0, 10),
    option::number("ratio", "0.5", "A ratio.").min(0),
    option::boolean("dry", "false", "Dry run."),
    option::duration("timeout", reelflow::json_string<"30s">, "How long."),
    option::path("input", reelflow::no_default, "Input file.").required(),
    option::enumeration("mode", kModes, reelflow::json_string<"fast">, "Mode."),
    option::list("tags", RF_OPT_STRING, "[]", "Tags.").max(5),
    option::object("extra", "{}", "Anything."),
};

static_assert(kOptions[0].struct_size == sizeof(rf_option));
static_assert(kOptions[1].type == RF_OPT_INT && kOptions[1].has_min && kOptions[1].max == 10);
static_assert(kOptions[5].required == 1 && kOptions[5].default_json == nullptr);
static_assert(std::string_view(reelflow::json_string<"a\"b">) == R"("a\"b")");

TEST(OptionTable, BuildsPlainRfOptions) {
  EXPECT_STREQ(kOptions[0].default_json, R"("Say \"hi\"\n")");
  EXPECT_EQ(kOptions[0].type, RF_OPT_STRING);
  EXPECT_STREQ(kOptions[0].help, "A greeting.");
  EXPECT_EQ(kOptions[1].has_min, 1);
  EXPECT_EQ(kOptions[1].min, 0);
  EXPECT_EQ(kOptions[2].has_max, 0);
  EXPECT_STREQ(kOptions[4].default_json, R"("30s")");
  EXPECT_EQ(kOptions[6].enum_values, kModes);
  EXPECT_EQ(kOptions[7].item_type, RF_OPT_STRING);
  EXPECT_EQ(kOptions[7].max, 5);
  EXPECT_EQ(kOptions[8].type, RF_OPT_OBJECT);
  EXPECT_STREQ(reelflow::json_string<"\x01">, R"("\u0001")");
  for (const rf_option& row : kOptions) EXPECT_EQ(row.struct_size, sizeof(rf_option));
}

// ------------------------------------------------------------------------------------------------
// Step types through a fake host

// A host that records what the plugin did.
struct FakeHost {
  std::vector<std::string> logs;
  std::vector<std::string> failures;
  std::string output;
  std::map<std::string, std::string> secrets;
  std::map<std::string, std::string> state;
  bool cancelled = false;
  int secret_calls = 0;

  static FakeHost& of(rf_run* run) { return *reinterpret_cast<FakeHost*>(run); }
  static long copy(const std::string* value, char* buf, size_t cap) {
    if (value == nullptr) return -1;
    if (buf != nullptr && cap > value->size()) std::memcpy(buf, value->c_str(), value->size() + 1);
    return static_cast<long>(value->size());
  }

  rf_host table() {
    rf_host host{};
    host.struct_size = sizeof(rf_host);
    host.abi_major = RF_ABI_MAJOR;
    host.abi_minor = RF_ABI_MINOR;
    host.log = [](rf_run* run, rf_log_level, const char* message) {
      if (run != nullptr) of(run).logs.emplace_back(message);
    };
    host.progress = [](rf_run*, double, const char*) {};
    host.cancelled = [](rf_run* run) { return of(run).cancelled ? 1 : 0; };
    host.artifact_dir = [](rf_run*) { return "/tmp/artifacts"; };
    host.secret = [](rf_run* run, const char* name, char* buf, size_t cap) {
      FakeHost& self = of(run);
      ++self.secret_calls;
      auto it = self.secrets.find(name);
      return copy(it == self.secrets.end() ? nullptr : &it->second, buf, cap);
    };
    host.state_get = [](rf_run* run, const char* key, char* buf, size_t cap) {
      FakeHost& self = of(run);
      auto it = self.state.find(key);
      return copy(it == self.state.end() ? nullptr : &it->second, buf, cap);
    };
    host.state_set = [](rf_run* run, const char* key, const char* value) {
      if (value == nullptr) {
        of(run).state.erase(key);
      } else {
        of(run).state[key] = value;
      }
      return 0;
    };
    host.set_output = [](rf_run* run, const char* json_object) {
      of(run).output = json_object;
      return 0;
    };
    host.fail = [](rf_run* run, const char* message) { of(run).failures.emplace_back(message); };
    return host;
  }
  rf_run* handle() { return reinterpret_cast<rf_run*>(this); }
};

class Echo {
 public:
  explicit Echo(std::string_view config_json) : config_(config_json) {}

  rf_status run(reelflow::Run& run) {
    auto options = json::Object::parse(run.options_json());
    if (!options) return run.fail("echo: bad options");
    const std::string mode = options->get_string("mode").value_or("ok");
    if (mode == "throw") throw std::runtime_error("boom");
    if (mode == "fail") return run.fail("echo: asked to fail on '" + config_ + "'");
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    run.info("echoing");
    run.state_set("count", "1");
    const auto token = run.secret("token");
    const auto missing = run.secret("missing");
    run.set_output(json::ObjectBuilder()
                       .add("config", json::Raw{config_})
                       .add("token_length", token ? token->size() : 0)
                       .add("missing", missing.has_value())
                       .add("count", run.state_get("count"))
                       .add("dir", run.artifact_dir()));
    return RF_STATUS_OK;
  }
  void cancel() { cancel_calls.fetch_add(1); }
  rf_status reconcile(reelflow::Run& run, std::string_view intent_json) {
    auto intent = json::Object::parse(intent_json);
    return intent && intent->get_string("key") == "k1" ? RF_STATUS_OK : run.fail("unknown intent");
  }

  std::atomic<int> cancel_calls{0};

 private:
  std::string config_;
};

class Minimal {
 public:
  rf_status run(reelflow::Run&) { return RF_STATUS_OK; }
};

class ThrowsOnCreate {
 public:
  ThrowsOnCreate(const reelflow::Host& host, std::string_view) {
    host.log(RF_LOG_ERROR, "about to throw");
    throw std::runtime_error("no config");
  }
  rf_status run(reelflow::Run&) { return RF_STATUS_OK; }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Echo>(
        {.name = "sdk.echo", .summary = "Echo", .flags = RF_STEP_IRREVERSIBLE}, kOptions),
    reelflow::step_type<Minimal>({.name = "sdk.minimal", .summary = "Nothing"}),
    reelflow::step_type<ThrowsOnCreate>({.name = "sdk.throws", .summary = "Throws"}),
};
// ------------------------------------------------------------------------------------------------
// Trigger types

// A timer-only trigger: emits `count` ticks, one per on_timer; options {"count": N}.
class Ticker {
 public:
  Ticker(const reelflow::TriggerHost& host, std::string_view config_json,
         std::string_view options_json)
      : host_(host) {
    auto options = json::Object::parse(options_json);
    if (!options) throw std::runtime_error("options are not an object");
    remaining_ = options->get_int("count").value_or(1);
    if (remaining_ < 0) throw std::invalid_argument("count must not be negative");
    if (options->get_bool("throw_on_timer").value_or(false)) throw_on_timer_ = true;
    if (config_json.empty()) throw std::invalid_argument("no config");
    host_.info("ticking " + std::to_string(remaining_) + " times");
  }
  std::int64_t next_timeout() const { return remaining_ > 0 ? 0 : -1; }
  void on_timer() {
    if (throw_on_timer_) throw std::runtime_error("tick failed");
    const std::int64_t tick = remaining_--;
    accepted_ += host_.emit(json::ObjectBuilder().add("event", "tick").add("tick", tick),
                            "tick:" + std::to_string(tick))
                     ? 1
                     : 0;
  }
  int accepted() const { return accepted_; }

 private:
  reelflow::TriggerHost host_;
  std::int64_t remaining_ = 0;
  int accepted_ = 0;
  bool throw_on_timer_ = false;
};

// A descriptor-only trigger.
class Reader {
 public:
  Reader(const reelflow::TriggerHost&, std::string_view, std::string_view) {}
  int fd() const { return 42; }
  void on_readable() { ++reads; }
  int reads = 0;
};

constexpr rf_option kTickerOptions[] = {
    option::integer("count", "1", "How many ticks."),
    option::boolean("throw_on_timer", "false", "Throw from on_timer."),
};

constexpr rf_trigger_type kTriggerTypes[] = {
    reelflow::trigger_type<Ticker>({.name = "sdk.ticker", .summary = "Ticks"}, kTickerOptions),
    reelflow::trigger_type<Reader>({.name = "sdk.reader", .summary = "Reads"}),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "sdk", .version = "0.0.1", .license = "Apache-2.0", .summary = "SDK test"}, kStepTypes,
    kTriggerTypes);
constexpr rf_plugin kTriggersOnly = reelflow::plugin(
    {.name = "sdk2", .version = "0.0.1", .license = "Apache-2.0", .summary = "SDK test"},
    kTriggerTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);

namespace {

TEST(StepType, DescriptorAndEntry) {
  EXPECT_EQ(reelflow_plugin_entry(RF_ABI_MAJOR, RF_ABI_MINOR), &kPlugin);
  EXPECT_EQ(reelflow_plugin_entry(RF_ABI_MAJOR, 0), &kPlugin);
  EXPECT_EQ(reelflow_plugin_entry(RF_ABI_MAJOR + 1, 0), nullptr);
  EXPECT_EQ(kPlugin.struct_size, sizeof(rf_plugin));
  EXPECT_EQ(kPlugin.abi_major, RF_ABI_MAJOR);
  EXPECT_EQ(kPlugin.abi_minor, RF_ABI_MINOR);
  EXPECT_EQ(kPlugin.step_type_count, 3u);
  EXPECT_EQ(kStepTypes[0].struct_size, sizeof(rf_step_type));
  EXPECT_EQ(kStepTypes[0].option_count, std::size(kOptions));
  EXPECT_NE(kStepTypes[0].cancel, nullptr);
  EXPECT_NE(kStepTypes[0].reconcile, nullptr);
  EXPECT_EQ(kStepTypes[1].options, nullptr);
  EXPECT_EQ(kStepTypes[1].option_count, 0u);
  EXPECT_EQ(kStepTypes[1].cancel, nullptr);
  EXPECT_EQ(kStepTypes[1].reconcile, nullptr);
}

// A trigger host that records logs and emitted events, refusing keys that start with "no:".
struct FakeTriggerHost {
  rf_trigger_host table{};
  std::vector<std::string> logs;
  std::vector<std::pair<std::string, std::string>> events;

  FakeTriggerHost() {
    table.struct_size = sizeof(rf_trigger_host);
    table.abi_major = RF_ABI_MAJOR;
    table.abi_minor = RF_ABI_MINOR;
    table.log = [](const rf_trigger_host* host, rf_log_level, const char* message) {
      of(host).logs.emplace_back(message);
    };
    table.emit = [](const rf_trigger_host* host, const char* trigger_json, const char* key) {
      if (std::string_view(key).starts_with("no:")) return -1;
      of(host).events.emplace_back(trigger_json, key);
      return 0;
    };
  }
  // The table is the first member: the host finds itself from the pointer it handed out.
  static FakeTriggerHost& of(const rf_trigger_host* host) {
    return *reinterpret_cast<FakeTriggerHost*>(const_cast<rf_trigger_host*>(host));
  }
};

TEST(TriggerType, DescriptorHasOnlyTheCallbacksTheClassProvides) {
  EXPECT_EQ(kPlugin.trigger_type_count, 2u);
  EXPECT_EQ(kPlugin.trigger_types, kTriggerTypes);
  EXPECT_EQ(kTriggersOnly.step_type_count, 0u);
  EXPECT_EQ(kTriggersOnly.step_types, nullptr);
  EXPECT_EQ(kTriggersOnly.trigger_type_count, 2u);

  const rf_trigger_type& ticker = kTriggerTypes[0];
  EXPECT_EQ(ticker.struct_size, sizeof(rf_trigger_type));
  EXPECT_STREQ(ticker.name, "sdk.ticker");
  EXPECT_EQ(ticker.option_count, std::size(kTickerOptions));
  EXPECT_NE(ticker.start, nullptr);
  EXPECT_NE(ticker.stop, nullptr);
  EXPECT_NE(ticker.next_timeout, nullptr);
  EXPECT_NE(ticker.on_timer, nullptr);
  EXPECT_EQ(ticker.fd, nullptr);
  EXPECT_EQ(ticker.on_readable, nullptr);

  const rf_trigger_type& reader = kTriggerTypes[1];
  EXPECT_NE(reader.fd, nullptr);
  EXPECT_NE(reader.on_readable, nullptr);
  EXPECT_EQ(reader.next_timeout, nullptr);
  EXPECT_EQ(reader.on_timer, nullptr);
  EXPECT_EQ(reader.options, nullptr);
}

TEST(TriggerType, StartTimerEmitAndStop) {
  FakeTriggerHost fake;
  const rf_trigger_type& ticker = kTriggerTypes[0];
  void* instance = ticker.start(&fake.table, R"({"x":1})", R"({"count":2})");
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(fake.logs, std::vector<std::string>{"ticking 2 times"});
  EXPECT_EQ(ticker.next_timeout(instance), 0);
  ticker.on_timer(instance);
  EXPECT_EQ(ticker.next_timeout(instance), 0);
  ticker.on_timer(instance);
  EXPECT_EQ(ticker.next_timeout(instance), -1);
  ASSERT_EQ(fake.events.size(), 2u);
  EXPECT_EQ(fake.events[0].first, R"({"event":"tick","tick":2})");
  EXPECT_EQ(fake.events[0].second, "tick:2");
  EXPECT_EQ(fake.events[1].second, "tick:1");
  EXPECT_EQ(static_cast<reelflow::detail::TriggerInstance<Ticker>*>(instance)->trigger.accepted(),
            2);
  ticker.stop(instance);

  const rf_trigger_type& reader = kTriggerTypes[1];
  void* read_instance = reader.start(&fake.table, nullptr, nullptr);
  ASSERT_NE(read_instance, nullptr);
  EXPECT_EQ(reader.fd(read_instance), 42);
  reader.on_readable(read_instance);
  EXPECT_EQ(static_cast<reelflow::detail::TriggerInstance<Reader>*>(read_instance)->trigger.reads,
            1);
  reader.stop(read_instance);
}

TEST(TriggerType, ExceptionsAreLoggedAndNeverCrossTheBoundary) {
  FakeTriggerHost fake;
  const rf_trigger_type& ticker = kTriggerTypes[0];
  EXPECT_EQ(ticker.start(&fake.table, "{}", R"({"count":-1})"), nullptr);
  EXPECT_EQ(ticker.start(&fake.table, "{}", "not json"), nullptr);
  EXPECT_EQ(fake.logs, (std::vector<std::string>{"cannot start: count must not be negative",
                                                 "cannot start: options are not an object"}));
  fake.logs.clear();
  void* instance = ticker.start(&fake.table, "{}", R"({"throw_on_timer":true})");
  ASSERT_NE(instance, nullptr);
  ticker.on_timer(instance);
  EXPECT_EQ(fake.logs.back(), "unexpected error: tick failed");
  EXPECT_TRUE(fake.events.empty());
  ticker.stop(instance);
}

TEST(TriggerType, EmitReportsARefusal) {
  FakeTriggerHost fake;
  const reelflow::TriggerHost host(&fake.table);
  EXPECT_TRUE(host.emit(R"({"a":1})", "yes:1"));
  EXPECT_FALSE(host.emit(R"({"a":1})", "no:1"));
  EXPECT_FALSE(reelflow::TriggerHost(nullptr).emit("{}", "k"));
  EXPECT_EQ(fake.events.size(), 1u);
}

TEST(StepType, RunsThroughTheHostServices) {
  FakeHost fake;
  fake.secrets["token"] = std::string(300, 't');  // longer than any first guess
  const rf_host host = fake.table();
  const rf_step_type& echo = kStepTypes[0];
  void* instance = echo.create(&host, R"({"greeting":"hi"})");
  ASSERT_NE(instance, nullptr);

  EXPECT_EQ(echo.run(instance, fake.handle(), "{}", "{}"), RF_STATUS_OK);
  EXPECT_EQ(fake.output,
            R"({"config":{"greeting":"hi"},"token_length":300,"missing":false,"count":"1",)"
            R"("dir":"/tmp/artifacts"})");
  EXPECT_EQ(fake.secret_calls, 3);  // token: length then value; missing: one call
  EXPECT_EQ(fake.logs, std::vector<std::string>{"echoing"});
  EXPECT_TRUE(fake.failures.empty());

  fake.cancelled = true;
  EXPECT_EQ(echo.run(instance, fake.handle(), "{}", "{}"), RF_STATUS_CANCELLED);
  echo.cancel(instance);
  EXPECT_EQ(static_cast<reelflow::detail::Instance<Echo>*>(instance)->step.cancel_calls, 1);
  echo.destroy(instance);
}

TEST(StepType, FailuresAndExceptionsBecomeErrors) {
  FakeHost fake;
  const rf_host host = fake.table();
  const rf_step_type& echo = kStepTypes[0];
  void* instance = echo.create(&host, nullptr);
  ASSERT_NE(instance, nullptr);

  EXPECT_EQ(echo.run(instance, fake.handle(), R"({"mode":"fail"})", "{}"), RF_STATUS_ERROR);
  EXPECT_EQ(echo.run(instance, fake.handle(), R"({"mode":"throw"})", "{}"), RF_STATUS_ERROR);
  EXPECT_EQ(fake.failures,
            (std::vector<std::string>{"echo: asked to fail on '{}'", "unexpected error: boom"}));

  EXPECT_EQ(echo.reconcile(instance, fake.handle(), "{}", "{}", R"({"key":"k1"})"), RF_STATUS_OK);
  EXPECT_EQ(echo.reconcile(instance, fake.handle(), "{}", "{}", R"({"key":"k2"})"),
            RF_STATUS_ERROR);
  echo.destroy(instance);
}

TEST(StepType, ConstructorExceptionMakesCreateReturnNull) {
  FakeHost fake;
  const rf_host host = fake.table();
  EXPECT_EQ(kStepTypes[2].create(&host, "{}"), nullptr);
}

TEST(Run, SecretThatGrowsBetweenCallsIsReadWhole) {
  struct Growing {
    static long secret(rf_run*, const char*, char* buf, size_t cap) {
      static int calls = 0;
      const std::string value(static_cast<std::size_t>(std::min(10 * ++calls, 30)), 's');
      if (buf != nullptr && cap > value.size()) std::memcpy(buf, value.c_str(), value.size() + 1);
      return static_cast<long>(value.size());
    }
  };
  rf_host host{};
  host.secret = &Growing::secret;
  const reelflow::Run run(&host, nullptr);
  const auto value = run.secret("grows");
  ASSERT_TRUE(value);
  EXPECT_EQ(value->size(), 30u);  // 10, then 20 and 30 did not fit, then 30 fits
}

// rf_host.call (ABI 1.3) as Run::call sees it: a service that answers `answer` (or fails with
// `error_json` when answer is empty), recording each call's buffer size.
struct FakeService {
  std::string answer;
  std::string error_json;
  std::vector<std::string> services;
  std::vector<std::string> requests;
  std::vector<std::size_t> caps;

  static long call(rf_run* run, const char* service, const char* request, char* buf, size_t cap) {
    auto& self = *reinterpret_cast<FakeService*>(run);
    self.services.emplace_back(service);
    self.requests.emplace_back(request);
    self.caps.push_back(cap);
    const std::string& text = self.answer.empty() ? self.error_json : self.answer;
    if (buf != nullptr && cap > text.size()) std::memcpy(buf, text.c_str(), text.size() + 1);
    return self.answer.empty() ? -1 : static_cast<long>(text.size());
  }
  rf_host table() const {
    rf_host host{};
    host.struct_size = sizeof(rf_host);
    host.abi_major = RF_ABI_MAJOR;
    host.abi_minor = RF_ABI_MINOR;
    host.call = &FakeService::call;
    return host;
  }
  rf_run* handle() { return reinterpret_cast<rf_run*>(this); }
};

TEST(Run, CallReturnsTheServicesAnswer) {
  FakeService service;
  service.answer = R"({"code":"c1","short_url":"https://go.example/l/c1"})";
  const rf_host host = service.table();
  const reelflow::Run run(&host, service.handle());
  std::string error = "untouched";
  const auto answer = run.call("links.create", R"({"url":"https://a.example"})", &error);
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, service.answer);
  EXPECT_EQ(error, "untouched");
  EXPECT_EQ(service.services, std::vector<std::string>{"links.create"});
  EXPECT_EQ(service.requests, std::vector<std::string>{R"({"url":"https://a.example"})"});
  EXPECT_EQ(service.caps.size(), 1u);  // it fit: one trip

  // The builder overload sends the same text.
  EXPECT_TRUE(run.call("links.create", json::ObjectBuilder().add("url", "https://a.example")));
  EXPECT_EQ(service.requests.back(), R"({"url":"https://a.example"})");
}

TEST(Run, CallAnswerLargerThanTheFirstBufferIsAskedForAgain) {
  FakeService service;
  service.answer = R"({"padding":")" + std::string(10000, 'p') + R"("})";
  const rf_host host = service.table();
  const reelflow::Run run(&host, service.handle());
  const auto answer = run.call("links.create", "{}");
  ASSERT_TRUE(answer);
  EXPECT_EQ(*answer, service.answer);
  ASSERT_EQ(service.caps.size(), 2u);
  EXPECT_LT(service.caps[0], service.answer.size());
  EXPECT_EQ(service.caps[1], service.answer.size() + 1);
}

TEST(Run, CallFailureGivesTheServicesError) {
  FakeService service;
  service.error_json = R"({"error":"no such service: links.create"})";
  const rf_host host = service.table();
  const reelflow::Run run(&host, service.handle());
  std::string error;
  EXPECT_FALSE(run.call("links.create", "{}", &error));
  EXPECT_EQ(error, "no such service: links.create");
  EXPECT_FALSE(run.call("links.create", "{}"));  // the error is optional

  service.error_json.clear();  // -1 and nothing in the buffer
  EXPECT_FALSE(run.call("links.create", "{}", &error));
  EXPECT_EQ(error, "links.create failed without saying why");
}

TEST(Run, CallOnAHostOlderThan13IsRefusedWithoutCallingIt) {
  FakeService service;
  service.answer = "{}";
  rf_host host = service.table();
  host.struct_size = static_cast<std::uint32_t>(offsetof(rf_host, call));  // 1.2: no `call`
  host.abi_minor = 2;
  std::string error;
  EXPECT_FALSE(reelflow::Run(&host, service.handle()).call("links.create", "{}", &error));
  EXPECT_EQ(error, "links.create: this host offers no daemon services (it is older than ABI 1.3)");
  EXPECT_TRUE(service.caps.empty());

  rf_host without = service.table();
  without.call = nullptr;
  EXPECT_FALSE(reelflow::Run(&without, service.handle()).call("links.create", "{}", &error));
  EXPECT_TRUE(service.caps.empty());
}

}  // namespace
