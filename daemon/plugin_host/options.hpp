// Option values against a step or trigger type's option table: the one place that knows what each
// rf_option_type accepts. The workflow validator uses check_option_value for static values; the
// engine uses normalize_options on the resolved `with` object right before a step runs, the
// validator and the daemon use normalize_trigger_options on a workflow's `on.<trigger>` mapping.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {

// "string", "int", "float", "bool", "duration", "path", "enum", "list", "object".
std::string_view option_type_name(int type);

// nullopt when value is acceptable for spec; otherwise a message such as
// "expected an integer between 1 and 10, got 42".
std::optional<std::string> check_option_value(const OptionSpec& spec, const nlohmann::json& value);

// What the plugin receives: every key known and valid, required ones present, defaults filled in,
// durations converted to seconds. The error names the step type and the option.
Result<nlohmann::json> normalize_options(const StepTypeInfo& step_type, const nlohmann::json& with);

// The same over any option table; `owner` names the step or trigger type in errors.
Result<nlohmann::json> normalize_options(std::string_view owner,
                                         const std::vector<OptionSpec>& options,
                                         const nlohmann::json& with);

// What a trigger's start receives: normalize_options, then every RF_OPT_PATH value (and every
// item of a list of paths) made absolute against base_dir and lexically normalised, so relative
// paths mean the same to the plugin as to the daemon's listing.
Result<nlohmann::json> normalize_trigger_options(const TriggerTypeInfo& trigger_type,
                                                 const nlohmann::json& with,
                                                 const std::filesystem::path& base_dir);

}  // namespace reelflow::plugin_host
