// JSON Schema (draft 2020-12) export of the workflow format for editors (the YAML language server
// and friends): the fixed keys from this module, every step and trigger type's options from the
// registry.
#include <algorithm>

#include "plugin_host/options.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::workflow {

namespace {

using nlohmann::json;

// Any string value may hold a template, whose type is known only when the step runs.
const char* const kTemplatePattern = "\\$\\{\\{";
const char* const kDurationPattern =
    "^\\s*(([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+|[0-9]+(\\.[0-9]+)?)\\s*$";

json template_string() { return {{"type", "string"}, {"pattern", kTemplatePattern}}; }

json duration_schema(std::optional<double> min = std::nullopt,
                     std::optional<double> max = std::nullopt) {
  json number = {{"type", "number"}, {"minimum", min.value_or(0.0)}};
  if (max) number["maximum"] = *max;
  return {{"anyOf", json::array({{{"type", "string"}, {"pattern", kDurationPattern}}, number})}};
}

json merged(json schema, const json& extra) {
  schema.update(extra);
  return schema;
}

json number_bound(double value, int type) {
  if (type == RF_OPT_INT) return static_cast<std::int64_t>(value);
  return value;
}

// The schema of one value of the given option type (no description, no template alternative).
json type_schema(int type, const plugin_host::OptionSpec* spec) {
  json schema = json::object();
  switch (type) {
    case RF_OPT_STRING:
    case RF_OPT_PATH:
      schema["type"] = "string";
      break;
    case RF_OPT_INT:
    case RF_OPT_FLOAT:
      schema["type"] = type == RF_OPT_INT ? "integer" : "number";
      if (spec != nullptr && spec->min) schema["minimum"] = number_bound(*spec->min, type);
      if (spec != nullptr && spec->max) schema["maximum"] = number_bound(*spec->max, type);
      break;
    case RF_OPT_BOOL:
      schema["type"] = "boolean";
      break;
    case RF_OPT_DURATION:
      return duration_schema(spec != nullptr ? spec->min : std::nullopt,
                             spec != nullptr ? spec->max : std::nullopt);
    case RF_OPT_ENUM:
      schema["type"] = "string";
      if (spec != nullptr) schema["enum"] = spec->enum_values;
      break;
    case RF_OPT_LIST:
      schema["type"] = "array";
      if (spec != nullptr) {
        if (spec->item_type != 0) {
          json item = type_schema(spec->item_type, nullptr);
          if (spec->item_type != RF_OPT_STRING && spec->item_type != RF_OPT_PATH) {
            item = {{"anyOf", json::array({item, template_string()})}};
          }
          schema["items"] = item;
        }
        if (spec->min) schema["minItems"] = static_cast<std::int64_t>(*spec->min);
        if (spec->max) schema["maxItems"] = static_cast<std::int64_t>(*spec->max);
      }
      break;
    case RF_OPT_OBJECT:
      schema["type"] = "object";
      break;
    default:
      break;  // any value
  }
  return schema;
}

json option_schema(const plugin_host::OptionSpec& option) {
  json schema = type_schema(option.type, &option);
  if (option.type != RF_OPT_STRING && option.type != RF_OPT_PATH) {
    schema = {{"anyOf", json::array({schema, template_string()})}};
  }
  std::string description = option.help;
  std::string type_note = "(" + std::string(plugin_host::option_type_name(option.type)) +
                          (option.required ? ", required)" : ")");
  schema["description"] = description.empty() ? type_note : description + " " + type_note;
  if (option.default_value && !option.required) schema["default"] = *option.default_value;
  return schema;
}

json step_type_rule(const plugin_host::StepTypeInfo& step_type) {
  json properties = json::object();
  json required = json::array();
  for (const auto& option : step_type.options) {
    properties[option.name] = option_schema(option);
    if (option.required) required.push_back(option.name);
  }
  json with = {{"type", "object"},
               {"description", "Options of " + step_type.name +
                                   (step_type.summary.empty() ? "" : ": " + step_type.summary)},
               {"properties", properties},
               {"additionalProperties", false}};
  json then = {{"properties", {{"with", with}}}};
  if (!required.empty()) {
    with["required"] = required;
    then["properties"]["with"] = with;
    then["required"] = json::array({"with"});
  }
  return {{"if", {{"properties", {{"uses", {{"const", step_type.name}}}}}, {"required", {"uses"}}}},
          {"then", then}};
}

json step_schema(const plugin_host::Registry& registry) {
  std::vector<std::string> names = registry.step_type_names();
  json uses = {{"type", "string"},
               {"description",
                "The step type, \"<plugin>.<step>\"; `reelflow plugins` lists "
                "them with their options."}};
  if (!names.empty()) uses["enum"] = names;
  json retry_object = {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"max_attempts",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 100},
          {"default", 1},
          {"description", "Attempts in all, the first included (1 = no retry)."}}},
        {"backoff",
         {{"type", "object"},
          {"additionalProperties", false},
          {"description",
           "Wait between attempts: initial, then multiplied by factor, capped "
           "at max."},
          {"properties",
           {{"initial", merged(duration_schema(),
                               {{"description", "Wait before the second attempt (default 1s)."}})},
            {"factor",
             {{"type", "number"},
              {"minimum", 1},
              {"default", 2},
              {"description", "Each wait is the previous one times this."}}},
            {"max",
             merged(duration_schema(), {{"description", "Longest wait (default 5m)."}})}}}}}}}};
  json properties = {
      {"id",
       {{"type", "string"},
        {"pattern", "^[a-z][a-z0-9_-]*$"},
        {"maxLength", 64},
        {"description",
         "Unique name of the step; later steps read its outputs as "
         "${{ steps.<id>.outputs.<name> }}."}}},
      {"uses", uses},
      {"with", {{"type", "object"}, {"description", "The step type's options."}}},
      {"if",
       {{"type", json::array({"string", "boolean"})},
        {"description",
         "Run the step only when this expression is true, e.g. "
         "steps.score.outputs.score > 0.5."}}},
      {"for_each",
       {{"anyOf", json::array({{{"type", "array"}}, template_string()})},
        {"description",
         "Run the step once per item of this list; `item` holds the current "
         "one."}}},
      {"max_parallel",
       {{"type", "integer"},
        {"minimum", 1},
        {"default", 1},
        {"description", "How many for_each items run at once."}}},
      {"retry",
       {{"anyOf",
         json::array({{{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}, retry_object})},
        {"description", "Retry a failed step: max_attempts and backoff."}}},
      {"timeout",
       merged(duration_schema(), {{"description", "Stop the attempt after this long, e.g. 10m."}})},
      {"continue_on_error",
       {{"type", "boolean"},
        {"default", false},
        {"description", "Keep running the next steps when this one fails."}}},
      {"wait",
       {{"type", "object"},
        {"description",
         "Do not start the step before a time (until: 2026-12-01T09:00:00+08:00) or for a "
         "while after the run reaches it (for: 2h). Survives daemon restarts."},
        {"properties",
         {{"until", {{"type", "string"}, {"description", "ISO 8601 time with an offset, or a template."}}},
          {"for", merged(duration_schema(), {{"description", "How long to wait, e.g. 2h."}})}}},
        {"additionalProperties", false},
        {"minProperties", 1},
        {"maxProperties", 1}}},
  };
  json rules = json::array();
  for (const auto& plugin : registry.plugins()) {
    for (const auto& step_type : plugin->step_types) rules.push_back(step_type_rule(step_type));
  }
  json step = {{"type", "object"},
               {"required", json::array({"id", "uses"})},
               {"additionalProperties", false},
               {"properties", properties}};
  if (!rules.empty()) step["allOf"] = rules;
  return step;
}

// A trigger option: its value as written (no templates: a trigger runs before there is a run).
// A list also takes one item written alone.
json trigger_option_schema(const plugin_host::OptionSpec& option) {
  json schema = type_schema(option.type, &option);
  if (option.type == RF_OPT_STRING || option.type == RF_OPT_PATH) schema["minLength"] = 1;
  if (option.type == RF_OPT_LIST) {
    json item = option.item_type != 0 ? type_schema(option.item_type, nullptr) : json::object();
    schema = {{"anyOf", json::array({schema, item})}};
  }
  std::string type_note = "(" + std::string(plugin_host::option_type_name(option.type)) +
                          (option.required ? ", required)" : ")");
  schema["description"] = option.help.empty() ? type_note : option.help + " " + type_note;
  if (option.default_value && !option.required) schema["default"] = *option.default_value;
  return schema;
}

json trigger_type_schema(const plugin_host::TriggerTypeInfo& trigger_type) {
  json properties = json::object();
  json required = json::array();
  for (const auto& option : trigger_type.options) {
    properties[option.name] = trigger_option_schema(option);
    if (option.required) required.push_back(option.name);
  }
  json schema = {
      {"type", "object"},
      {"additionalProperties", false},
      {"description", (trigger_type.summary.empty() ? trigger_type.name : trigger_type.summary) +
                          " (trigger type " + trigger_type.name + ")."},
      {"properties", properties}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

}  // namespace

nlohmann::json workflow_schema(const plugin_host::Registry& registry) {
  json schedule = {
      {"type", "object"},
      {"required", json::array({"cron"})},
      {"additionalProperties", false},
      {"description", "Start runs on a timetable."},
      {"properties",
       {{"cron",
         {{"type", "string"},
          {"description",
           "Five fields: minute hour day-of-month month day-of-week, e.g. "
           "\"0 9 * * mon-fri\"; or @hourly, @daily, @weekly, @monthly, @yearly."}}},
        {"timezone",
         {{"type", "string"},
          {"default", "UTC"},
          {"description", "IANA time zone of the cron fields, e.g. Europe/Paris."}}}}}};
  json manual = {{"anyOf", json::array({{{"type", "object"}, {"maxProperties", 0}},
                                        {{"type", "null"}},
                                        {{"type", "boolean"}}})},
                 {"description", "Allow runs started by hand (`reelflow run`)."}};
  // Plugin triggers under their full name, and under the plugin's name when it is the plugin's
  // only trigger type (`watch` for watch.folder).
  json triggers = {{"schedule", schedule}, {"manual", manual}};
  std::vector<std::string> trigger_names;
  for (const auto& plugin : registry.plugins()) {
    for (const auto& trigger_type : plugin->trigger_types) {
      json schema = trigger_type_schema(trigger_type);
      triggers[trigger_type.name] = schema;
      triggers[trigger_type.workflow_key()] = schema;
      trigger_names.push_back(trigger_type.workflow_key());
    }
  }
  std::sort(trigger_names.begin(), trigger_names.end());
  std::string trigger_list;
  for (const auto& name : trigger_names) trigger_list += name + ", ";
  json concurrency = {
      {"anyOf",
       json::array({{{"type", "integer"}, {"minimum", 1}},
                    {{"type", "object"},
                     {"additionalProperties", false},
                     {"properties", {{"max_runs", {{"type", "integer"}, {"minimum", 1}}}}}}})},
      {"description", "How many runs of this workflow may run at once (default 1)."}};
  return {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"$id", "https://reelflow.dev/schemas/workflow.json"},
      {"title", "reelflow workflow"},
      {"description", "A reelflow workflow: triggers, environment and the steps to run."},
      {"type", "object"},
      {"required", json::array({"name", "on", "steps"})},
      {"additionalProperties", false},
      {"properties",
       {{"name", {{"type", "string"}, {"minLength", 1}, {"description", "The workflow's name."}}},
        {"on",
         {{"type", "object"},
          {"minProperties", 1},
          {"additionalProperties", false},
          {"description", "What starts a run: " + trigger_list + "schedule and/or manual."},
          {"properties", triggers}}},
        {"env",
         {{"type", "object"},
          {"propertyNames", {{"pattern", "^[A-Za-z_][A-Za-z0-9_]*$"}}},
          {"additionalProperties", {{"type", json::array({"string", "number", "boolean"})}}},
          {"description", "Values every step can read as ${{ env.NAME }}."}}},
        {"concurrency", concurrency},
        {"steps",
         {{"type", "array"},
          {"minItems", 1},
          {"items", {{"$ref", "#/$defs/step"}}},
          {"description", "The steps, run in order."}}}}},
      {"$defs", {{"step", step_schema(registry)}}},
  };
}

}  // namespace reelflow::workflow
