// The workflow model and its loader. A workflow is a YAML file (docs/workflows.md) naming its
// triggers (`on`: built-in schedule and manual, or a trigger type provided by a plugin, such as
// watch), environment, concurrency and steps; each step `uses` a step type provided by a plugin.
// load_workflow parses and validates in one pass and reports every problem it finds as a Diagnostic
// with the file, line and column of the offending key or value, so a team sees all of them before
// anything runs. Thread-safety: pure functions over their arguments.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_host/registry.hpp"

namespace reelflow::workflow {

struct Mark {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;
  // "FILE:LINE:COL: error: message"
  std::string format() const;
  nlohmann::json to_json() const;  // {"file","line","column","severity","message"}
};

struct Backoff {
  double initial = 1.0;  // seconds before the second attempt
  double factor = 2.0;
  double max = 300.0;
};

struct Retry {
  int max_attempts = 1;  // 1 = no retry
  Backoff backoff;
};

// A step that must not start before a time: `wait: {until: TIME}` (ISO 8601 with an offset, or
// a template giving one) or `wait: {for: DURATION}` (counted from when the run reaches the step).
// The daemon keeps the wait in its store, so it survives restarts.
struct Wait {
  std::optional<std::string> until;
  std::optional<double> for_seconds;
};

struct Step {
  std::string id;
  Mark mark;  // the step's first key
  std::string uses;
  nlohmann::json with = nlohmann::json::object();       // values may contain ${{ }} templates
  std::map<std::string, Mark, std::less<>> with_marks;  // mark of each `with` value, by key
  std::optional<std::string> if_expr;                   // with or without ${{ }}
  std::optional<nlohmann::json> for_each;               // a list, or a template string
  int max_parallel = 1;                                 // for_each fan-out limit
  Retry retry;
  std::optional<double> timeout;  // seconds
  bool continue_on_error = false;
  std::optional<Wait> wait;
};

// A trigger provided by a plugin (an rf_trigger_type), e.g. `on.watch`, which names the watch
// plugin's only trigger type, watch.folder.
struct TriggerConfig {
  std::string key;   // as written under `on`: "watch" or "watch.folder"
  std::string type;  // the trigger type it names: "watch.folder"
  // Checked against the trigger type's option table; defaults filled in, durations in seconds.
  // Path options stay as written: the daemon resolves them against its working directory.
  nlohmann::json options = nlohmann::json::object();
  Mark mark;  // the key's
};

// The built-in schedule trigger (cron + time zone).
struct ScheduleTrigger {
  std::string cron;              // five fields: minute hour day-of-month month day-of-week
  std::string timezone = "UTC";  // IANA name
};

// `on`: the built-in schedule and manual triggers, and any number of plugin triggers (each
// trigger type at most once).
struct Triggers {
  std::vector<TriggerConfig> plugin_triggers;  // in file order
  std::optional<ScheduleTrigger> schedule;
  bool manual = false;

  const TriggerConfig* find(std::string_view trigger_type) const;
};

struct Concurrency {
  int max_runs = 1;  // runs of this workflow at once
};

struct Workflow {
  std::string name;
  std::filesystem::path file;
  std::string content_hash;  // hex SHA-256 of the file's bytes
  Triggers on;
  nlohmann::json env = nlohmann::json::object();  // string values, may hold templates
  Concurrency concurrency;
  std::vector<Step> steps;

  const Step* find_step(std::string_view id) const;
};

struct LoadResult {
  std::optional<Workflow> workflow;  // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;
};

LoadResult load_workflow(const std::filesystem::path& file, const plugin_host::Registry& registry);
LoadResult load_workflow_text(std::string_view yaml_text, const std::string& file_name,
                              const plugin_host::Registry& registry);

// A JSON Schema (draft 2020-12) of the workflow format, including every step and trigger type's
// options from the registry, for editors' YAML extensions.
nlohmann::json workflow_schema(const plugin_host::Registry& registry);

}  // namespace reelflow::workflow
