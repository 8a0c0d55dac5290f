#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/sha256.hpp"
#include "test_registry.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::workflow {
namespace {

using nlohmann::json;
using testing::test_registry;

LoadResult load(const std::string& text) {
  return load_workflow_text(text, "test.yaml", test_registry());
}

std::string all_diagnostics(const LoadResult& result) {
  std::string out;
  for (const auto& diagnostic : result.diagnostics) out += diagnostic.format() + "\n";
  return out;
}

const Workflow& loaded(const LoadResult& result) {
  EXPECT_TRUE(result.workflow.has_value()) << all_diagnostics(result);
  static const Workflow kEmpty;
  return result.workflow ? *result.workflow : kEmpty;
}

constexpr const char* kFullWorkflow = R"(name: launch
on:
  watch:
    path: /srv/inbox
    patterns: ["*.mp4", '*.mov']
    recursive: true
    settle: 1m30s
  schedule:
    cron: "0 9 * * mon-fri"
    timezone: Europe/Paris
  manual:
env:
  campaign: winter
  greeting: "hi ${{ trigger.name }}"
  count: 3
concurrency: 3
steps:
  - id: split
    uses: wft.noop
  - id: stamp
    uses: wft.stamp
    for_each: ${{ steps.split.outputs.clips }}
    max_parallel: 4
    if: steps.split.outputs.count > 0
    with:
      title: "${{ stem(item) }}"
      count: 5
      ratio: 0.5
      loud: true
      wait: 2m
      file: /tmp/x.mp4
      mode: best
      tags: [a, "b"]
      meta: {k: 1, n: null, s: '2'}
    retry:
      max_attempts: 3
      backoff: {initial: 500ms, factor: 1.5, max: 1m}
    timeout: 10m
    continue_on_error: true
  - id: fan
    uses: wft.stamp
    for_each: [douyin, youtube]
    if: ${{ item != 'youtube' }}
    with:
      title: ${{ steps.stamp.outputs.name }}
      count: ${{ steps.split.outputs.count }}
)";

TEST(Load, FullWorkflowModel) {
  auto result = load(kFullWorkflow);
  const Workflow& workflow = loaded(result);
  EXPECT_EQ(workflow.name, "launch");
  EXPECT_EQ(workflow.file, "test.yaml");
  EXPECT_EQ(workflow.content_hash, sha256_hex(kFullWorkflow));

  ASSERT_EQ(workflow.on.plugin_triggers.size(), 1u);
  const TriggerConfig* watch = workflow.on.find("watch.folder");
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(watch->key, "watch");
  EXPECT_EQ(watch->mark.line, 3);
  EXPECT_EQ(watch->options, (json{{"path", "/srv/inbox"},
                                  {"patterns", {"*.mp4", "*.mov"}},
                                  {"recursive", true},
                                  {"settle", 90.0}}));
  ASSERT_TRUE(workflow.on.schedule);
  EXPECT_EQ(workflow.on.schedule->cron, "0 9 * * mon-fri");
  EXPECT_EQ(workflow.on.schedule->timezone, "Europe/Paris");
  EXPECT_TRUE(workflow.on.manual);

  EXPECT_EQ(workflow.env,
            json({{"campaign", "winter"}, {"greeting", "hi ${{ trigger.name }}"}, {"count", "3"}}));
  EXPECT_EQ(workflow.concurrency.max_runs, 3);

  ASSERT_EQ(workflow.steps.size(), 3u);
  const Step& split = workflow.steps[0];
  EXPECT_EQ(split.id, "split");
  EXPECT_EQ(split.uses, "wft.noop");
  EXPECT_EQ(split.with, json::object());
  EXPECT_FALSE(split.for_each);
  EXPECT_FALSE(split.if_expr);
  EXPECT_EQ(split.retry.max_attempts, 1);
  EXPECT_FALSE(split.timeout);
  EXPECT_EQ(split.mark.line, 18);
  EXPECT_EQ(split.mark.column, 5);

  const Step* stamp = workflow.find_step("stamp");
  ASSERT_NE(stamp, nullptr);
  EXPECT_EQ(stamp->for_each, json("${{ steps.split.outputs.clips }}"));
  EXPECT_EQ(stamp->max_parallel, 4);
  EXPECT_EQ(stamp->if_expr, "steps.split.outputs.count > 0");
  EXPECT_EQ(stamp->with["title"], "${{ stem(item) }}");
  EXPECT_EQ(stamp->with["count"], 5);
  EXPECT_EQ(stamp->with["ratio"], 0.5);
  EXPECT_EQ(stamp->with["loud"], true);
  EXPECT_EQ(stamp->with["wait"], "2m");  // converted to seconds by normalize_options at run time
  EXPECT_EQ(stamp->with["tags"], json({"a", "b"}));
  EXPECT_EQ(stamp->with["meta"], json({{"k", 1}, {"n", nullptr}, {"s", "2"}}));
  ASSERT_TRUE(stamp->with_marks.contains("count"));
  EXPECT_EQ(stamp->with_marks.find("count")->second.line, 27);
  EXPECT_EQ(stamp->with_marks.find("count")->second.column, 14);
  EXPECT_EQ(stamp->retry.max_attempts, 3);
  EXPECT_DOUBLE_EQ(stamp->retry.backoff.initial, 0.5);
  EXPECT_DOUBLE_EQ(stamp->retry.backoff.factor, 1.5);
  EXPECT_DOUBLE_EQ(stamp->retry.backoff.max, 60.0);
  ASSERT_TRUE(stamp->timeout);
  EXPECT_DOUBLE_EQ(*stamp->timeout, 600.0);
  EXPECT_TRUE(stamp->continue_on_error);

  const Step* fan = workflow.find_step("fan");
  ASSERT_NE(fan, nullptr);
  EXPECT_EQ(fan->for_each, json({"douyin", "youtube"}));
  EXPECT_EQ(fan->if_expr, "${{ item != 'youtube' }}");
  EXPECT_EQ(workflow.find_step("nope"), nullptr);
}

TEST(Load, DefaultsAndShortForms) {
  auto result = load(R"(name: small
on: {manual: {}}
concurrency: {max_runs: 2}
steps:
  - id: only
    uses: wft.stamp
    with: {title: t}
    retry: 4
    if: false
)");
  const Workflow& workflow = loaded(result);
  EXPECT_TRUE(workflow.on.manual);
  EXPECT_TRUE(workflow.on.plugin_triggers.empty());
  EXPECT_FALSE(workflow.on.schedule);
  EXPECT_EQ(workflow.concurrency.max_runs, 2);
  ASSERT_EQ(workflow.steps.size(), 1u);
  EXPECT_EQ(workflow.steps[0].retry.max_attempts, 4);
  EXPECT_DOUBLE_EQ(workflow.steps[0].retry.backoff.initial, 1.0);
  EXPECT_DOUBLE_EQ(workflow.steps[0].retry.backoff.factor, 2.0);
  EXPECT_EQ(workflow.steps[0].if_expr, "false");
  EXPECT_EQ(workflow.steps[0].max_parallel, 1);
  EXPECT_FALSE(workflow.steps[0].continue_on_error);
}

TEST(Load, WatchDefaults) {
  auto result = load("name: w\non:\n  watch: {path: in}\nsteps: [{id: a, uses: wft.noop}]\n");
  const Workflow& workflow = loaded(result);
  const TriggerConfig* watch = workflow.on.find("watch.folder");
  ASSERT_NE(watch, nullptr);
  // The path stays as written: the daemon resolves it against its working directory.
  EXPECT_EQ(
      watch->options,
      (json{{"path", "in"}, {"patterns", json::array()}, {"recursive", false}, {"settle", 2.0}}));
}

// ------------------------------------------------------------------------------------------------
// Plugin triggers: `on.<key>` names a trigger type by its full name, or by its plugin's name when
// it is that plugin's only trigger type.

LoadResult load_with_triggers(const std::string& on) {
  return load_workflow_text("name: t\non:\n" + on + "steps: [{id: a, uses: wft.noop}]\n",
                            "test.yaml", testing::trigger_test_registry());
}

std::vector<std::string> messages(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& diagnostic : result.diagnostics) {
    out.push_back(std::to_string(diagnostic.mark.line) + ":" +
                  std::to_string(diagnostic.mark.column) + ": " + diagnostic.message);
  }
  return out;
}

TEST(LoadTriggers, FullNameAndPluginNameNameTheSameTriggerType) {
  auto full = load_with_triggers("  watch.folder: {path: in, patterns: \"*.mov\"}\n");
  const TriggerConfig* watch = loaded(full).on.find("watch.folder");
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(watch->key, "watch.folder");
  // One pattern written alone is a list of one.
  EXPECT_EQ(watch->options["patterns"], json({"*.mov"}));

  auto both = load_with_triggers("  watch: {path: a}\n  watch.folder: {path: b}\n");
  EXPECT_EQ(messages(both),
            std::vector<std::string>{"4:3: 'on.watch.folder' names the same trigger type "
                                     "(watch.folder) as 'on.watch' on line 3; a workflow uses "
                                     "each trigger type once"});
}

TEST(LoadTriggers, PluginNameOfSeveralTriggerTypesIsAmbiguous) {
  auto result = load_with_triggers("  wftrig: {}\n");
  EXPECT_EQ(messages(result),
            std::vector<std::string>{"3:3: 'on.wftrig' is ambiguous: plugin 'wftrig' provides "
                                     "several trigger types (wftrig.poll, wftrig.hook); write one "
                                     "of them"});
  auto hook = load_with_triggers("  wftrig.hook:\n");
  EXPECT_NE(loaded(hook).on.find("wftrig.hook"), nullptr);
}

TEST(LoadTriggers, UnknownTriggersGetASuggestionOrTheList) {
  EXPECT_EQ(messages(load_with_triggers("  wacth: {path: in}\n")),
            std::vector<std::string>{"3:3: unknown key 'wacth' in 'on'; did you mean 'watch'?"});
  EXPECT_EQ(messages(load_with_triggers("  webhook: {}\n")),
            std::vector<std::string>{"3:3: unknown key 'webhook' in 'on' (the triggers here: "
                                     "watch, wftrig.hook, wftrig.poll, schedule, manual)"});
}

TEST(LoadTriggers, WatchWithoutTheWatchPluginIsUnknown) {
  plugin_host::Registry wft_only;
  ASSERT_TRUE(wft_only.load_dir(WFT_PLUGIN_DIR).empty());
  auto result = load_workflow_text(
      "name: t\non:\n  watch: {path: in}\nsteps: [{id: a, uses: "
      "wft.noop}]\n",
      "test.yaml", wft_only);
  EXPECT_EQ(messages(result),
            std::vector<std::string>{
                "3:3: unknown key 'watch' in 'on' (the triggers here: schedule, manual)"});
}

TEST(LoadTriggers, OptionsAreCheckedAgainstTheOptionTable) {
  auto result = load_with_triggers(
      "  wftrig.poll:\n"
      "    every: 500ms\n"
      "    count: 42\n"
      "    mode: turbo\n"
      "    tags: [1]\n"
      "    meta: [not, a, mapping]\n"
      "    label: ${{ trigger.name }}\n"
      "    colour: red\n");
  EXPECT_EQ(messages(result),
            (std::vector<std::string>{
                "4:5: missing required key 'url' in 'on.wftrig.poll' (URL of the feed)",
                "4:12: 'on.wftrig.poll.every': expected a duration of at least 1 seconds, got 0.5",
                "5:12: 'on.wftrig.poll.count': expected an integer between 1 and 10, got 42",
                "6:11: 'on.wftrig.poll.mode': expected one of fast, slow, got \"turbo\"",
                "7:11: 'on.wftrig.poll.tags': item 1: expected a string, got 1",
                "8:11: 'on.wftrig.poll.meta': expected a mapping, got [\"not\",\"a\",\"mapping\"]",
                "9:12: 'on.wftrig.poll.label' cannot use ${{ }} expressions: a trigger runs "
                "before there is a run to take values from",
                "10:5: unknown key 'colour' in 'on.wftrig.poll'"}));
}

TEST(LoadTriggers, ValidOptionsAreNormalised) {
  auto result = load_with_triggers(
      "  wftrig.poll: {every: 1m30s, url: \"https://example.com/feed\", meta: {a: 1}}\n");
  const TriggerConfig* poll = loaded(result).on.find("wftrig.poll");
  ASSERT_NE(poll, nullptr);
  EXPECT_EQ(poll->options, (json{{"every", 90.0},
                                 {"url", "https://example.com/feed"},
                                 {"meta", {{"a", 1}}},
                                 {"count", 3},
                                 {"mode", "fast"},
                                 {"tags", json::array()}}));
}

TEST(LoadTriggers, AnEmptyTriggerStillNeedsItsRequiredOptions) {
  EXPECT_EQ(messages(load_with_triggers("  watch:\n")),
            std::vector<std::string>{
                "3:3: missing required key 'path' in 'on.watch' (the folder to watch)"});
}

TEST(Load, YamlCoreSchemaTyping) {
  auto result = load(R"(name: typing
on: {manual: }
steps:
  - id: a
    uses: wft.stamp
    with:
      title: x
      meta:
        int: 42
        negative: -7
        float: 1.5
        exp: 1e3
        yes_bool: true
        caps_bool: FALSE
        null_word: null
        tilde: ~
        empty:
        quoted_int: "42"
        quoted_bool: 'true'
        hex: 0x1F
        octal: 0o17
        huge: 123456789012345678901234567890
        inf: .inf
        version: 1.2.3
        yaml11_bool: yes
        block: |
          two
          lines
)");
  const Workflow& workflow = loaded(result);
  ASSERT_EQ(workflow.steps.size(), 1u);
  const json& meta = workflow.steps[0].with["meta"];
  EXPECT_EQ(meta["int"], 42);
  EXPECT_TRUE(meta["int"].is_number_integer());
  EXPECT_EQ(meta["negative"], -7);
  EXPECT_EQ(meta["float"], 1.5);
  EXPECT_EQ(meta["exp"], 1000.0);
  EXPECT_EQ(meta["yes_bool"], true);
  EXPECT_EQ(meta["caps_bool"], false);
  EXPECT_EQ(meta["null_word"], nullptr);
  EXPECT_EQ(meta["tilde"], nullptr);
  EXPECT_EQ(meta["empty"], nullptr);
  EXPECT_EQ(meta["quoted_int"], "42");
  EXPECT_EQ(meta["quoted_bool"], "true");
  EXPECT_EQ(meta["hex"], 31);
  EXPECT_EQ(meta["octal"], 15);
  EXPECT_TRUE(meta["huge"].is_number_float());
  EXPECT_EQ(meta["inf"], ".inf");
  EXPECT_EQ(meta["version"], "1.2.3");
  EXPECT_EQ(meta["yaml11_bool"], "yes");  // YAML 1.2: only true/false are booleans
  EXPECT_EQ(meta["block"], "two\nlines\n");
}

TEST(Load, OptionTemplatesSkipTheTypeCheckButAreChecked) {
  auto ok = load(R"(name: t
on: {manual: }
steps:
  - id: a
    uses: wft.noop
  - id: b
    uses: wft.stamp
    with:
      title: x
      count: ${{ steps.a.outputs.n }}
      loud: "${{ steps.a.outputs.flag }}"
      mode: ${{ default(steps.a.outputs.mode, 'fast') }}
)");
  loaded(ok);
  auto bad = load(R"(name: t
on: {manual: }
steps:
  - id: b
    uses: wft.stamp
    with:
      title: x
      count: ${{ steps.a.outputs.n }}
)");
  ASSERT_EQ(bad.diagnostics.size(), 1u) << all_diagnostics(bad);
  EXPECT_EQ(bad.diagnostics[0].mark.line, 8);
  EXPECT_EQ(bad.diagnostics[0].mark.column, 24);
  EXPECT_EQ(bad.diagnostics[0].message, "no step 'a'");
}

TEST(Load, ExpressionColumnsInsideScalars) {
  // The same bad name 'nope' in a plain, a single-quoted (with an escaped quote before it), a
  // double-quoted (with an escape before it) and a block scalar.
  auto result = load(R"(name: cols
on: {manual: }
steps:
  - id: a
    uses: wft.stamp
    with:
      title: x ${{ nope }}
      text: 'it''s ${{ nope }}'
      file: "tab\t${{ nope }}"
      meta:
        k: |
          line ${{ nope }}
)");
  ASSERT_EQ(result.diagnostics.size(), 4u) << all_diagnostics(result);
  auto at = [&](std::size_t i) {
    return std::to_string(result.diagnostics[i].mark.line) + ":" +
           std::to_string(result.diagnostics[i].mark.column);
  };
  EXPECT_EQ(at(0), "7:20");
  EXPECT_EQ(at(1), "8:24");
  EXPECT_EQ(at(2), "9:23");
  EXPECT_EQ(at(3), "11:12");  // block scalars point at the value
  for (const auto& diagnostic : result.diagnostics) {
    EXPECT_NE(diagnostic.message.find("unknown name 'nope'"), std::string::npos);
  }
}

TEST(Load, DiagnosticFormatAndJson) {
  auto result = load("name: x\non: {manual: }\nsteps:\n  - id: a\n    uses: wft.nope\n");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_FALSE(result.workflow);
  const Diagnostic& diagnostic = result.diagnostics[0];
  EXPECT_EQ(diagnostic.format(),
            "test.yaml:5:11: error: unknown step type 'wft.nope' in step 'a'; did you mean "
            "'wft.noop'?");
  json expected = {{"file", "test.yaml"},
                   {"line", 5},
                   {"column", 11},
                   {"severity", "error"},
                   {"message", diagnostic.message}};
  EXPECT_EQ(diagnostic.to_json(), expected);
}

TEST(Load, NoSuggestionForWildlyDifferentNames) {
  auto result = load(R"(name: x
on: {manual: }
steps:
  - id: a
    uses: video.transcode
  - id: b
    uses: wft.stamp
    with: {title: t, resolution: 4k}
    banana: 1
)");
  ASSERT_EQ(result.diagnostics.size(), 3u) << all_diagnostics(result);
  EXPECT_EQ(result.diagnostics[0].message, "unknown step type 'video.transcode' in step 'a'");
  EXPECT_EQ(result.diagnostics[1].message, "unknown option 'resolution' for wft.stamp in step 'b'");
  EXPECT_EQ(result.diagnostics[2].message, "unknown key 'banana' in step 'b'");
}

TEST(Load, FromFile) {
  auto dir = std::filesystem::temp_directory_path() / ("wf_load_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "flow.yaml";
  std::string text = "name: f\non: {manual: }\nsteps: [{id: a, uses: wft.noop}]\n";
  std::ofstream(file, std::ios::binary) << text;
  auto result = load_workflow(file, test_registry());
  ASSERT_TRUE(result.workflow) << all_diagnostics(result);
  EXPECT_EQ(result.workflow->file, file);
  EXPECT_EQ(result.workflow->content_hash, sha256_hex(text));

  auto missing = load_workflow(dir / "missing.yaml", test_registry());
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_FALSE(missing.workflow);
  EXPECT_EQ(missing.diagnostics[0].mark.line, 0);
  EXPECT_EQ(missing.diagnostics[0].format().rfind(
                (dir / "missing.yaml").string() + ": error: cannot read the workflow", 0),
            0u);
  auto directory = load_workflow(dir, test_registry());
  ASSERT_EQ(directory.diagnostics.size(), 1u);
  std::filesystem::remove_all(dir);
}

// --- hostile input: a diagnostic, never a crash or a hang ---------------------------------------

TEST(Load, HostileInput) {
  // Billion laughs: aliases that would expand to 10^9 nodes.
  std::string bomb =
      "name: b\non: {manual: }\nsteps:\n  - id: a\n    uses: wft.stamp\n    with:\n"
      "      title: t\n      meta:\n";
  for (char c = 'a'; c <= 'j'; ++c) {
    std::string previous(1, static_cast<char>(c - 1));
    std::string items = c == 'a'
                            ? "x, x, x, x, x, x, x, x, x, x"
                            : "*" + previous + ", *" + previous + ", *" + previous + ", *" +
                                  previous + ", *" + previous + ", *" + previous + ", *" +
                                  previous + ", *" + previous + ", *" + previous + ", *" + previous;
    bomb += "        " + std::string(1, c) + ": &" + c + " [" + items + "]\n";
  }
  auto result = load(bomb);
  ASSERT_FALSE(result.workflow);
  ASSERT_EQ(result.diagnostics.size(), 1u) << all_diagnostics(result);
  EXPECT_NE(result.diagnostics[0].message.find("too large"), std::string::npos);

  // Deep nesting.
  auto deep = load("name: [" + std::string(100000, '[') + "\n");
  ASSERT_FALSE(deep.diagnostics.empty());
  EXPECT_FALSE(deep.workflow);

  // Binary garbage, NUL bytes, a huge key, tabs for indentation.
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919) % 256));
  EXPECT_FALSE(load(garbage).diagnostics.empty());
  EXPECT_FALSE(load(std::string("name: a\0b\n", 10)).workflow);
  auto huge_key = load(std::string(100000, 'k') + ": 1\n");
  EXPECT_FALSE(huge_key.workflow);
  EXPECT_FALSE(load("name: x\non:\n\tmanual:\n").diagnostics.empty());

  // Very many steps.
  std::string many_steps = "name: x\non: {manual: }\nsteps:\n";
  for (int i = 0; i < 1500; ++i)
    many_steps += "  - {id: s" + std::to_string(i) + ", uses: wft.noop}\n";
  auto crowded = load(many_steps);
  ASSERT_EQ(crowded.diagnostics.size(), 1u);
  EXPECT_NE(crowded.diagnostics[0].message.find("too many steps"), std::string::npos);

  // Deeply nested expression inside a value.
  auto nested = load(
      "name: x\non: {manual: }\nsteps:\n  - id: a\n    uses: wft.stamp\n    with:\n"
      "      title: \"${{ " +
      std::string(5000, '(') + "1" + std::string(5000, ')') + " }}\"\n");
  ASSERT_EQ(nested.diagnostics.size(), 1u) << all_diagnostics(nested);
  EXPECT_NE(nested.diagnostics[0].message.find("too long"), std::string::npos);
}

}  // namespace
}  // namespace reelflow::workflow
