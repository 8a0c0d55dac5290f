#include <gtest/gtest.h>

#include "test_registry.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::workflow {
namespace {

using nlohmann::json;

json schema() { return workflow_schema(testing::test_registry()); }

const json* rule_for(const json& step, const std::string& step_type) {
  for (const auto& rule : step["allOf"]) {
    if (rule["if"]["properties"]["uses"]["const"] == step_type) return &rule;
  }
  return nullptr;
}

TEST(Schema, IsValidJsonWithTheTopLevelShape) {
  json document = schema();
  // Round-trips through text, as `reelflow schema` prints it.
  json reparsed = json::parse(document.dump(2));
  EXPECT_EQ(reparsed, document);
  EXPECT_EQ(document["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(document["type"], "object");
  EXPECT_EQ(document["additionalProperties"], false);
  EXPECT_EQ(document["required"], json({"name", "on", "steps"}));
  for (const char* key : {"name", "on", "env", "concurrency", "steps"}) {
    EXPECT_TRUE(document["properties"].contains(key)) << key;
    EXPECT_TRUE(document["properties"][key].contains("description")) << key;
  }
  const json& on = document["properties"]["on"];
  EXPECT_EQ(on["additionalProperties"], false);
  // Plugin triggers: the watch plugin's watch.folder, also under the plugin's name.
  EXPECT_EQ(on["properties"]["watch"]["required"], json({"path"}));
  EXPECT_EQ(on["properties"]["watch"], on["properties"]["watch.folder"]);
  EXPECT_EQ(on["properties"]["watch"]["additionalProperties"], false);
  const json& settle = on["properties"]["watch"]["properties"]["settle"];
  EXPECT_EQ(settle["default"], "2s");
  EXPECT_EQ(settle["anyOf"].size(), 2u);  // "2s" or a number: no ${{ }} template in triggers
  const json& patterns = on["properties"]["watch"]["properties"]["patterns"];
  EXPECT_EQ(patterns["anyOf"][0]["type"], "array");
  EXPECT_EQ(patterns["anyOf"][1]["type"], "string");  // one glob written alone
  EXPECT_EQ(on["properties"]["schedule"]["required"], json({"cron"}));
  EXPECT_EQ(document["properties"]["steps"]["items"]["$ref"], "#/$defs/step");
}

TEST(Schema, StepsListEveryStepTypeAndOption) {
  json document = schema();
  const json& step = document["$defs"]["step"];
  EXPECT_EQ(step["additionalProperties"], false);
  EXPECT_EQ(step["required"], json({"id", "uses"}));
  const json& names = step["properties"]["uses"]["enum"];
  for (const auto& name : testing::test_registry().step_type_names()) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_NE(rule_for(step, name), nullptr) << name;
  }
  for (const char* key : {"id", "uses", "with", "if", "for_each", "max_parallel", "retry",
                          "timeout", "continue_on_error"}) {
    EXPECT_TRUE(step["properties"].contains(key)) << key;
  }

  const json* stamp = rule_for(step, "wft.stamp");
  ASSERT_NE(stamp, nullptr);
  EXPECT_EQ((*stamp)["if"]["required"], json({"uses"}));
  EXPECT_EQ((*stamp)["then"]["required"], json({"with"}));
  const json& with = (*stamp)["then"]["properties"]["with"];
  EXPECT_EQ(with["additionalProperties"], false);
  EXPECT_EQ(with["required"], json({"title"}));
  const json& options = with["properties"];
  for (const char* option :
       {"text", "title", "count", "ratio", "loud", "wait", "file", "mode", "tags", "meta"}) {
    ASSERT_TRUE(options.contains(option)) << option;
    EXPECT_TRUE(options[option].contains("description")) << option;
  }
  // Strings are plain; everything else also accepts a template.
  EXPECT_EQ(options["text"]["type"], "string");
  EXPECT_EQ(options["text"]["default"], "hi");
  EXPECT_EQ(options["file"]["type"], "string");
  EXPECT_EQ(options["count"]["anyOf"][0],
            json({{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}));
  EXPECT_EQ(options["count"]["anyOf"][1], json({{"type", "string"}, {"pattern", "\\$\\{\\{"}}));
  EXPECT_EQ(options["count"]["default"], 3);
  EXPECT_EQ(options["ratio"]["anyOf"][0]["type"], "number");
  EXPECT_EQ(options["loud"]["anyOf"][0]["type"], "boolean");
  EXPECT_EQ(options["mode"]["anyOf"][0]["enum"], json({"fast", "slow", "best"}));
  EXPECT_EQ(options["tags"]["anyOf"][0]["type"], "array");
  EXPECT_EQ(options["tags"]["anyOf"][0]["items"]["type"], "string");
  EXPECT_EQ(options["tags"]["anyOf"][0]["maxItems"], 5);
  EXPECT_EQ(options["meta"]["anyOf"][0]["type"], "object");
  const json& wait = options["wait"]["anyOf"][0]["anyOf"];
  EXPECT_EQ(wait[0]["type"], "string");
  EXPECT_EQ(wait[1]["maximum"], 3600.0);
  EXPECT_EQ(options["title"]["description"], "Title of the video. (string, required)");

  const json* noop = rule_for(step, "wft.noop");
  ASSERT_NE(noop, nullptr);
  EXPECT_FALSE((*noop)["then"].contains("required"));
  EXPECT_EQ((*noop)["then"]["properties"]["with"]["properties"], json::object());
}

TEST(Schema, WorksWithAnEmptyRegistry) {
  plugin_host::Registry empty;
  json document = workflow_schema(empty);
  EXPECT_FALSE(document["$defs"]["step"].contains("allOf"));
  EXPECT_EQ(document["$defs"]["step"]["properties"]["uses"]["type"], "string");
}

}  // namespace
}  // namespace reelflow::workflow
