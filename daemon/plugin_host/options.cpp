#include "plugin_host/options.hpp"

#include <cmath>

#include "common/duration.hpp"

namespace reelflow::plugin_host {

namespace {

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::string range_text(const OptionSpec& spec, std::string_view unit) {
  auto number = [](double v) {
    nlohmann::json j = v;
    if (std::floor(v) == v && std::abs(v) < 1e15) j = static_cast<long long>(v);
    return j.dump();
  };
  if (spec.min && spec.max) {
    return " between " + number(*spec.min) + " and " + number(*spec.max) + std::string(unit);
  }
  if (spec.min) return " of at least " + number(*spec.min) + std::string(unit);
  if (spec.max) return " of at most " + number(*spec.max) + std::string(unit);
  return "";
}

bool in_range(const OptionSpec& spec, double v) {
  return (!spec.min || v >= *spec.min) && (!spec.max || v <= *spec.max);
}

std::optional<double> duration_seconds(const nlohmann::json& value) {
  if (value.is_number()) {
    double v = value.get<double>();
    if (v < 0 || !std::isfinite(v)) return std::nullopt;
    return v;
  }
  if (value.is_string()) return parse_duration(value.get<std::string>());
  return std::nullopt;
}

std::optional<std::string> check_scalar(int type, const nlohmann::json& value) {
  switch (type) {
    case RF_OPT_STRING:
    case RF_OPT_PATH:
    case RF_OPT_ENUM:
      if (!value.is_string()) return "expected a string, got " + describe(value);
      return std::nullopt;
    case RF_OPT_INT:
      if (!value.is_number_integer()) return "expected an integer, got " + describe(value);
      return std::nullopt;
    case RF_OPT_FLOAT:
      if (!value.is_number()) return "expected a number, got " + describe(value);
      return std::nullopt;
    case RF_OPT_BOOL:
      if (!value.is_boolean()) return "expected true or false, got " + describe(value);
      return std::nullopt;
    case RF_OPT_DURATION:
      if (!duration_seconds(value)) {
        return "expected a duration such as 30s, 1m30s or 2h, got " + describe(value);
      }
      return std::nullopt;
    case RF_OPT_LIST:
      if (!value.is_array()) return "expected a list, got " + describe(value);
      return std::nullopt;
    case RF_OPT_OBJECT:
      if (!value.is_object()) return "expected a mapping, got " + describe(value);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string_view option_type_name(int type) {
  switch (type) {
    case RF_OPT_STRING: return "string";
    case RF_OPT_INT: return "int";
    case RF_OPT_FLOAT: return "float";
    case RF_OPT_BOOL: return "bool";
    case RF_OPT_DURATION: return "duration";
    case RF_OPT_PATH: return "path";
    case RF_OPT_ENUM: return "enum";
    case RF_OPT_LIST: return "list";
    case RF_OPT_OBJECT: return "object";
    default: return "any";
  }
}

std::optional<std::string> check_option_value(const OptionSpec& spec, const nlohmann::json& value) {
  if (auto problem = check_scalar(spec.type, value)) return problem;
  switch (spec.type) {
    case RF_OPT_INT:
      if (!in_range(spec, value.get<double>())) {
        return "expected an integer" + range_text(spec, "") + ", got " + describe(value);
      }
      break;
    case RF_OPT_FLOAT:
      if (!in_range(spec, value.get<double>())) {
        return "expected a number" + range_text(spec, "") + ", got " + describe(value);
      }
      break;
    case RF_OPT_DURATION:
      if (!in_range(spec, *duration_seconds(value))) {
        return "expected a duration" + range_text(spec, " seconds") + ", got " + describe(value);
      }
      break;
    case RF_OPT_ENUM: {
      const auto& text = value.get_ref<const std::string&>();
      for (const auto& allowed : spec.enum_values) {
        if (allowed == text) return std::nullopt;
      }
      std::string list;
      for (const auto& allowed : spec.enum_values) list += (list.empty() ? "" : ", ") + allowed;
      return "expected one of " + list + ", got " + describe(value);
    }
    case RF_OPT_LIST: {
      double length = static_cast<double>(value.size());
      if (!in_range(spec, length)) {
        return "expected a list with a length" + range_text(spec, "") + ", got " +
               std::to_string(value.size()) + " items";
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (auto problem = check_scalar(spec.item_type, value[i])) {
          return "item " + std::to_string(i + 1) + ": " + *problem;
        }
      }
      break;
    }
    default:
      break;
  }
  return std::nullopt;
}

Result<nlohmann::json> normalize_options(const StepTypeInfo& step_type, const nlohmann::json& with) {
  if (!with.is_null() && !with.is_object()) {
    return fail(step_type.name + ": `with` must be a mapping, got " + describe(with));
  }
  return normalize_options(step_type.name, step_type.options, with);
}

Result<nlohmann::json> normalize_options(std::string_view owner_name,
                                         const std::vector<OptionSpec>& options,
                                         const nlohmann::json& with) {
  const std::string owner(owner_name);
  if (!with.is_null() && !with.is_object()) {
    return fail(owner + ": the options must be a mapping, got " + describe(with));
  }
  auto find = [&](std::string_view name) -> const OptionSpec* {
    for (const auto& option : options) {
      if (option.name == name) return &option;
    }
    return nullptr;
  };
  nlohmann::json out = nlohmann::json::object();
  if (with.is_object()) {
    for (const auto& [key, value] : with.items()) {
      const OptionSpec* spec = find(key);
      if (spec == nullptr) return fail(owner + ": unknown option '" + key + "'");
      if (auto problem = check_option_value(*spec, value)) {
        return fail(owner + ": option '" + key + "': " + *problem);
      }
      out[key] = spec->type == RF_OPT_DURATION ? nlohmann::json(*duration_seconds(value)) : value;
    }
  }
  for (const auto& spec : options) {
    if (out.contains(spec.name)) continue;
    if (spec.required) {
      return fail(owner + ": required option '" + spec.name + "' is missing");
    }
    if (spec.default_value) {
      out[spec.name] = spec.type == RF_OPT_DURATION && duration_seconds(*spec.default_value)
                           ? nlohmann::json(*duration_seconds(*spec.default_value))
                           : *spec.default_value;
    }
  }
  return out;
}

Result<nlohmann::json> normalize_trigger_options(const TriggerTypeInfo& trigger_type,
                                                 const nlohmann::json& with,
                                                 const std::filesystem::path& base_dir) {
  auto normalized = normalize_options(trigger_type.name, trigger_type.options, with);
  if (!normalized) return normalized;
  auto absolute = [&](const nlohmann::json& value) {
    std::filesystem::path path = value.get<std::string>();
    if (path.is_relative()) path = base_dir / path;
    path = path.lexically_normal();
    // "/srv/inbox/" and "/srv/inbox" name one folder; keep the root as it is.
    if (!path.has_filename() && path != path.root_path()) path = path.parent_path();
    return nlohmann::json(path.string());
  };
  for (const auto& spec : trigger_type.options) {
    auto it = normalized->find(spec.name);
    if (it == normalized->end()) continue;
    if (spec.type == RF_OPT_PATH && it->is_string()) {
      *it = absolute(*it);
    } else if (spec.type == RF_OPT_LIST && spec.item_type == RF_OPT_PATH && it->is_array()) {
      for (auto& item : *it) {
        if (item.is_string()) item = absolute(item);
      }
    }
  }
  return normalized;
}

}  // namespace reelflow::plugin_host
