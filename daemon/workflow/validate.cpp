// The workflow loader and validator: walks the YAML tree once, builds the model and records every
// problem it meets as a Diagnostic at the 1-based line and column of the offending key or value.
// yaml-cpp exceptions stop at this file's boundary.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <system_error>
#include <tuple>

#include "common/duration.hpp"
#include "common/iso_time.hpp"
#include "common/sha256.hpp"
#include "plugin_host/options.hpp"
#include "workflow/cron.hpp"
#include "workflow/expr.hpp"
#include "workflow/suggest.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::workflow {

namespace {

using nlohmann::json;

// A `with`, `env` or `for_each` value may use anchors and aliases; expanding them is bounded so a
// "billion laughs" document ends in a diagnostic instead of exhausting memory.
constexpr std::size_t kMaxValueNodes = 100000;
constexpr int kMaxValueDepth = 100;
// Checking references is quadratic in the number of steps; no real workflow comes close.
constexpr std::size_t kMaxSteps = 1000;

const std::vector<std::string> kTopKeys = {"name", "on", "env", "concurrency", "steps"};
// The triggers built into the daemon; every other key of `on` names a plugin's trigger type.
const std::vector<std::string> kBuiltinTriggers = {"schedule", "manual"};
const std::vector<std::string> kScheduleKeys = {"cron", "timezone"};
const std::vector<std::string> kConcurrencyKeys = {"max_runs"};
const std::vector<std::string> kStepKeys = {"id",    "uses",     "with",
                                            "if",    "for_each", "max_parallel",
                                            "retry", "timeout",  "continue_on_error",
                                            "wait"};
const std::vector<std::string> kWaitKeys = {"until", "for"};
const std::vector<std::string> kRetryKeys = {"max_attempts", "backoff"};
const std::vector<std::string> kBackoffKeys = {"initial", "factor", "max"};

Mark mark_of(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return Mark{0, 0};
  return Mark{mark.line + 1, mark.column + 1};
}

Mark mark_of(const YAML::Node& node) { return mark_of(node.Mark()); }

// [a-z][a-z0-9_-]*, at most 64 bytes.
bool valid_step_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() < 'a' || id.front() > 'z') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes.
bool valid_env_name(std::string_view name) {
  auto letter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  if (name.empty() || name.size() > 128 || !letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return letter(c) || std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string shorten(std::string_view text) {
  constexpr std::size_t kShown = 60;
  std::string out(text.substr(0, kShown));
  if (text.size() > kShown) out += "...";
  return out;
}

// ---------------------------------------------------------------------------------------------
// YAML 1.2 core schema typing of scalars
// ---------------------------------------------------------------------------------------------

bool is_plain(const YAML::Node& node) { return node.Tag() == "?" || node.Tag().empty(); }

std::optional<json> plain_number(const std::string& text) {
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (text.empty() || text.size() > 64) return std::nullopt;
  auto integer = [&](std::string_view digits, int base) -> std::optional<json> {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (ec == std::errc() && end == digits.data() + digits.size()) return json(value);
    return std::nullopt;
  };
  if (std::regex_match(text, kInt)) {
    std::string_view digits = text;
    if (digits.front() == '+') digits.remove_prefix(1);
    if (auto value = integer(digits, 10)) return value;
    // Too large for 64 bits: fall through to a float.
  }
  if (std::regex_match(text, kOctal)) return integer(std::string_view(text).substr(2), 8);
  if (std::regex_match(text, kHex)) return integer(std::string_view(text).substr(2), 16);
  if (std::regex_match(text, kFloat) || std::regex_match(text, kInt)) {
    std::string_view digits = text;
    if (digits.front() == '+') digits.remove_prefix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc() && std::isfinite(value)) return json(value);
  }
  return std::nullopt;
}

// The typed JSON value of a scalar: quoted and block scalars are strings; plain ones are null,
// booleans, integers or floats when they look like one (.inf and .nan stay strings: JSON has no
// such numbers).
json scalar_value(const YAML::Node& node) {
  if (node.IsNull()) return nullptr;
  const std::string& text = node.Scalar();
  if (node.Tag() == "tag:yaml.org,2002:str" ||
      !(is_plain(node) || node.Tag().starts_with("tag:"))) {
    return text;
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (auto number = plain_number(text)) return *number;
  return text;
}

std::string json_kind(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "the number " + value.dump();
    case json::value_t::string:
      return "'" + shorten(value.get<std::string>()) + "'";
    default:
      return "a value";
  }
}

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return json_kind(scalar_value(node));
    default:
      return "nothing";
  }
}

// ---------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Validator {
 public:
  Validator(std::string_view source, std::string file, const plugin_host::Registry& registry)
      : source_(source), file_(std::move(file)), registry_(registry) {}

  LoadResult run() {
    Workflow workflow;
    workflow.file = file_;
    workflow.content_hash = sha256_hex(source_);
    try {
      std::vector<YAML::Node> documents = YAML::LoadAll(std::string(source_));
      if (documents.size() > 1) {
        error(mark_of(documents[1]), "a workflow file holds one YAML document; found another");
      }
      if (documents.empty() || documents[0].IsNull() || !documents[0].IsDefined()) {
        error(Mark{1, 1}, "the file is empty; a workflow needs at least 'name', 'on' and 'steps'");
      } else if (!documents[0].IsMap()) {
        error(mark_of(documents[0]),
              "a workflow must be a mapping with 'name', 'on' and 'steps', got " +
                  node_kind(documents[0]));
      } else {
        read_workflow(documents[0], workflow);
      }
    } catch (const YAML::ParserException& e) {
      error(mark_of(e.mark), "YAML syntax error: " + e.msg);
    } catch (const YAML::Exception& e) {
      error(mark_of(e.mark), "could not read the YAML: " + e.msg);
    } catch (const std::exception& e) {
      error(Mark{}, std::string("could not read the workflow: ") + e.what());
    }
    std::stable_sort(
        diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
          return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
        });
    LoadResult result;
    result.diagnostics = std::move(diagnostics_);
    if (result.diagnostics.empty()) result.workflow = std::move(workflow);
    return result;
  }

 private:
  void error(Mark mark, std::string message) {
    diagnostics_.push_back(Diagnostic{file_, mark, std::move(message)});
  }

  // Where `offset` (a byte offset into the scalar's value) lies in the file. Exact for plain and
  // quoted scalars on one line; block and multi-line scalars point at the value's start.
  Mark mark_in_scalar(const YAML::Node& node, std::size_t offset) const {
    const YAML::Mark start = node.Mark();
    Mark value_mark = mark_of(start);
    if (start.pos < 0 || static_cast<std::size_t>(start.pos) >= source_.size()) return value_mark;
    const auto begin = static_cast<std::size_t>(start.pos);
    const std::string& value = node.Scalar();
    const char first = source_[begin];
    if (first == '|' || first == '>') return value_mark;
    if (first != '\'' && first != '"') {
      if (begin + offset > source_.size() ||
          source_.substr(begin, offset) != std::string_view(value).substr(0, offset)) {
        return value_mark;
      }
      return Mark{value_mark.line, value_mark.column + static_cast<int>(offset)};
    }
    // Quoted: decode from the source, counting value bytes, until `offset` is reached.
    std::size_t pos = begin + 1;
    std::size_t decoded = 0;
    while (decoded < offset) {
      if (pos >= source_.size() || source_[pos] == '\n' || source_[pos] == '\r') return value_mark;
      if (first == '\'' && source_[pos] == '\'') {
        pos += 2;  // '' is one quote
        decoded += 1;
      } else if (first == '"' && source_[pos] == '\\' && pos + 1 < source_.size()) {
        char escape = source_[pos + 1];
        std::size_t hex_digits = escape == 'x' ? 2 : escape == 'u' ? 4 : escape == 'U' ? 8 : 0;
        std::size_t bytes = 1;
        if (hex_digits > 0) {
          unsigned long code =
              std::strtoul(std::string(source_.substr(pos + 2, hex_digits)).c_str(), nullptr, 16);
          bytes = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
        }
        pos += 2 + hex_digits;
        decoded += bytes;
      } else {
        ++pos;
        ++decoded;
      }
    }
    return Mark{value_mark.line, value_mark.column + static_cast<int>(pos - begin)};
  }

  // The entries of a mapping, reporting keys that are not text, duplicates and unknown keys
  // (with a suggestion). Only the first occurrence of a known key is returned.
  std::vector<Entry> entries(const YAML::Node& map, const std::string& where,
                             const std::vector<std::string>& allowed) {
    std::vector<Entry> out;
    std::map<std::string, int> first_line;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key_node = it->first;  // a copy: it-> returns a temporary
      if (!key_node.IsScalar()) {
        error(mark_of(key_node),
              "keys must be plain names, got " + node_kind(key_node) + " " + where);
        continue;
      }
      const std::string& key = key_node.Scalar();
      auto [seen, inserted] = first_line.emplace(key, mark_of(key_node).line);
      if (!inserted) {
        error(mark_of(key_node), "duplicate key '" + shorten(key) + "' " + where +
                                     " (first on line " + std::to_string(seen->second) + ")");
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error(mark_of(key_node),
              "unknown key '" + shorten(key) + "' " + where + did_you_mean(key, allowed));
        continue;
      }
      out.push_back(Entry{key, key_node, it->second});
    }
    return out;
  }

  // The mark for a value; an empty value ("key:" alone) points at its key.
  static Mark value_mark(const Entry& entry) {
    if (entry.value.IsNull()) return mark_of(entry.key_node);
    Mark mark = mark_of(entry.value);
    return mark.line == 0 ? mark_of(entry.key_node) : mark;
  }

  // --- typed scalar readers: each reports its own problem and returns nullopt --------------

  std::optional<std::string> read_text(const Entry& entry, const std::string& what) {
    if (entry.value.IsScalar() && !scalar_value(entry.value).is_null()) {
      if (!entry.value.Scalar().empty()) return entry.value.Scalar();
      error(value_mark(entry), what + " must not be empty");
      return std::nullopt;
    }
    error(value_mark(entry), what + " must be text, got " + node_kind(entry.value));
    return std::nullopt;
  }

  std::optional<bool> read_bool(const Entry& entry, const std::string& what) {
    if (entry.value.IsScalar()) {
      json value = scalar_value(entry.value);
      if (value.is_boolean()) return value.get<bool>();
    }
    error(value_mark(entry), what + " must be true or false, got " + node_kind(entry.value));
    return std::nullopt;
  }

  std::optional<int> read_int(const Entry& entry, const std::string& what, int min, int max) {
    json value = entry.value.IsScalar() ? scalar_value(entry.value) : json();
    std::string range = max == std::numeric_limits<int>::max()
                            ? " of at least " + std::to_string(min)
                            : " from " + std::to_string(min) + " to " + std::to_string(max);
    if (value.is_number_integer()) {
      auto number = value.get<std::int64_t>();
      if (number >= min && number <= max) return static_cast<int>(number);
    }
    error(value_mark(entry),
          what + " must be an integer" + range + ", got " + node_kind(entry.value));
    return std::nullopt;
  }

  std::optional<double> read_number(const Entry& entry, const std::string& what, double min) {
    json value = entry.value.IsScalar() ? scalar_value(entry.value) : json();
    if (value.is_number() && value.get<double>() >= min) return value.get<double>();
    json shown_min = min;
    if (std::floor(min) == min) shown_min = static_cast<std::int64_t>(min);
    error(value_mark(entry), what + " must be a number of at least " + shown_min.dump() + ", got " +
                                 node_kind(entry.value));
    return std::nullopt;
  }

  std::optional<double> read_duration(const Entry& entry, const std::string& what,
                                      bool allow_zero = true) {
    std::optional<double> seconds;
    if (entry.value.IsScalar()) {
      json value = scalar_value(entry.value);
      if (value.is_number()) {
        double number = value.get<double>();
        if (number >= 0) seconds = number;
      } else if (value.is_string()) {
        seconds = parse_duration(value.get<std::string>());
      }
    }
    if (!seconds) {
      error(value_mark(entry), what + " must be a duration such as 30s, 1m30s, 2h or 500ms, got " +
                                   node_kind(entry.value));
      return std::nullopt;
    }
    if (!allow_zero && *seconds <= 0) {
      error(value_mark(entry), what + " must be longer than 0 seconds");
      return std::nullopt;
    }
    return seconds;
  }

  bool expect_map(const Entry& entry, const std::string& what) {
    if (entry.value.IsMap()) return true;
    error(value_mark(entry), what + " must be a mapping, got " + node_kind(entry.value));
    return false;
  }

  // --- values kept as JSON ------------------------------------------------------------------

  std::optional<json> to_json(const YAML::Node& node, int depth) {
    if (++value_nodes_ > kMaxValueNodes) {
      if (!value_too_large_reported_) {
        error(mark_of(node), "value is too large or expands too many aliases (more than " +
                                 std::to_string(kMaxValueNodes) + " items)");
        value_too_large_reported_ = true;
      }
      return std::nullopt;
    }
    if (depth > kMaxValueDepth) {
      error(mark_of(node),
            "value is nested more than " + std::to_string(kMaxValueDepth) + " levels deep");
      return std::nullopt;
    }
    switch (node.Type()) {
      case YAML::NodeType::Sequence: {
        json out = json::array();
        for (const auto& item : node) {
          auto value = to_json(item, depth + 1);
          if (!value) return std::nullopt;
          out.push_back(std::move(*value));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        json out = json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          if (!it->first.IsScalar()) {
            error(mark_of(it->first), "keys must be plain names, got " + node_kind(it->first));
            return std::nullopt;
          }
          auto value = to_json(it->second, depth + 1);
          if (!value) return std::nullopt;
          out[it->first.Scalar()] = std::move(*value);
        }
        return out;
      }
      case YAML::NodeType::Scalar:
        return scalar_value(node);
      default:
        return json(nullptr);
    }
  }

  // Checks every template in the strings of a value, reporting at the exact column when the
  // scalar allows it. Returns true when any string holds a template.
  bool check_templates(const YAML::Node& node, const ReferenceRules& rules, int depth = 0) {
    if (depth > kMaxValueDepth || ++template_nodes_ > kMaxValueNodes) return false;
    bool found = false;
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      if (!has_template(text)) return false;
      for (const auto& problem : check_template(text, rules)) {
        error(mark_in_scalar(node, problem.offset), problem.message);
      }
      return true;
    }
    if (node.IsSequence()) {
      for (const auto& item : node) found = check_templates(item, rules, depth + 1) || found;
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        found = check_templates(it->second, rules, depth + 1) || found;
      }
    }
    return found;
  }

  // --- the document -------------------------------------------------------------------------

  void read_workflow(const YAML::Node& root, Workflow& workflow) {
    const std::string where = "at the top level";
    std::set<std::string> present;
    for (const auto& entry : entries(root, where, kTopKeys)) {
      present.insert(entry.key);
      if (entry.key == "name") {
        if (auto name = read_text(entry, "'name'")) workflow.name = *name;
      } else if (entry.key == "on") {
        read_triggers(entry, workflow.on);
      } else if (entry.key == "env") {
        read_env(entry, workflow.env);
      } else if (entry.key == "concurrency") {
        read_concurrency(entry, workflow.concurrency);
      } else if (entry.key == "steps") {
        read_steps(entry, workflow.steps);
      }
    }
    for (const char* required : {"name", "on", "steps"}) {
      if (!present.contains(required)) {
        error(mark_of(root), std::string("missing required key '") + required + "'" +
                                 (std::string_view(required) == "on"
                                      ? " (the triggers: " + trigger_list(" or ") + ")"
                                      : ""));
      }
    }
  }

  // --- triggers -----------------------------------------------------------------------------

  // "watch, schedule, manual" (or with `last_separator` " or " before the last one): the
  // triggers a workflow can use here, plugin ones first.
  std::string trigger_list(const std::string& last_separator = ", ") const {
    std::vector<std::string> names;
    for (const auto& plugin : registry_.plugins()) {
      for (const auto& type : plugin->trigger_types) names.push_back(type.workflow_key());
    }
    std::sort(names.begin(), names.end());
    names.insert(names.end(), kBuiltinTriggers.begin(), kBuiltinTriggers.end());
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) text += i + 1 == names.size() ? last_separator : ", ";
      text += names[i];
    }
    return text;
  }

  // The trigger type a key of `on` names, or nullptr after reporting why there is none.
  const plugin_host::TriggerTypeInfo* resolve_trigger(const std::string& key, Mark mark) {
    if (const auto* type = registry_.find_trigger(key)) return type;
    if (const auto* plugin = registry_.find_plugin(key); plugin != nullptr) {
      if (plugin->trigger_types.size() == 1) return &plugin->trigger_types.front();  // `on.watch`
      if (plugin->trigger_types.size() > 1) {
        std::string types;
        for (const auto& type : plugin->trigger_types) {
          types += (types.empty() ? "" : ", ") + type.name;
        }
        error(mark, "'on." + shorten(key) + "' is ambiguous: plugin '" + key +
                        "' provides several trigger types (" + types + "); write one of them");
        return nullptr;
      }
    }
    std::vector<std::string> candidates = kBuiltinTriggers;
    for (const auto& plugin : registry_.plugins()) {
      for (const auto& type : plugin->trigger_types) {
        candidates.push_back(type.name);
        candidates.push_back(type.workflow_key());
      }
    }
    std::string hint = did_you_mean(key, candidates);
    if (hint.empty()) hint = " (the triggers here: " + trigger_list() + ")";
    error(mark, "unknown key '" + shorten(key) + "' in 'on'" + hint);
    return nullptr;
  }

  void read_triggers(const Entry& on, Triggers& triggers) {
    if (!on.value.IsMap()) {
      error(value_mark(on), "'on' must be a mapping of triggers (" + trigger_list() + "), got " +
                                node_kind(on.value));
      return;
    }
    if (on.value.size() == 0) {
      error(mark_of(on.key_node), "'on' needs at least one trigger: " + trigger_list(" or "));
    }
    std::map<std::string, int> first_line;
    std::map<std::string, std::pair<std::string, int>> type_first;  // trigger type -> key, line
    for (auto it = on.value.begin(); it != on.value.end(); ++it) {
      const YAML::Node key_node = it->first;  // a copy: it-> returns a temporary
      if (!key_node.IsScalar()) {
        error(mark_of(key_node),
              "keys must be plain names, got " + node_kind(key_node) + " in 'on'");
        continue;
      }
      const std::string& key = key_node.Scalar();
      if (auto [seen, inserted] = first_line.emplace(key, mark_of(key_node).line); !inserted) {
        error(mark_of(key_node), "duplicate key '" + shorten(key) + "' in 'on' (first on line " +
                                     std::to_string(seen->second) + ")");
        continue;
      }
      const Entry entry{key, key_node, it->second};
      if (key == "schedule") {
        read_schedule(entry, triggers);
      } else if (key == "manual") {
        read_manual(entry, triggers);
      } else if (const auto* type = resolve_trigger(key, mark_of(key_node))) {
        auto [earlier, first] =
            type_first.emplace(type->name, std::make_pair(key, mark_of(key_node).line));
        if (!first) {
          error(mark_of(key_node), "'on." + key + "' names the same trigger type (" + type->name +
                                       ") as 'on." + earlier->second.first + "' on line " +
                                       std::to_string(earlier->second.second) +
                                       "; a workflow uses each trigger type once");
          continue;
        }
        read_plugin_trigger(entry, *type, triggers);
      }
    }
  }

  void read_manual(const Entry& entry, Triggers& triggers) {
    if (entry.value.IsNull() || (entry.value.IsMap() && entry.value.size() == 0)) {
      triggers.manual = true;
    } else if (entry.value.IsMap()) {
      entries(entry.value, "in 'on.manual'", {});
    } else if (auto flag = read_bool(entry, "'on.manual'")) {
      triggers.manual = *flag;
    }
  }

  // A help text as the end of a sentence in parentheses: "The folder to watch." becomes
  // "the folder to watch".
  static std::string as_note(std::string help) {
    if (!help.empty() && help.back() == '.') help.pop_back();
    if (help.size() > 1 && std::isupper(static_cast<unsigned char>(help[0])) &&
        std::islower(static_cast<unsigned char>(help[1]))) {
      help[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(help[0])));
    }
    return help;
  }

  // `on.<key>`: the options of a plugin's trigger type, checked against its option table with the
  // same messages as the built-in triggers' keys.
  void read_plugin_trigger(const Entry& trigger_entry, const plugin_host::TriggerTypeInfo& type,
                           Triggers& triggers) {
    const std::string where = "'on." + trigger_entry.key + "'";
    TriggerConfig trigger;
    trigger.key = trigger_entry.key;
    trigger.type = type.name;
    trigger.mark = mark_of(trigger_entry.key_node);
    json written = json::object();
    std::set<std::string> present;
    bool valid = true;
    if (!trigger_entry.value.IsNull()) {
      if (!expect_map(trigger_entry, where)) return;
      std::vector<std::string> names;
      for (const auto& option : type.options) names.push_back(option.name);
      for (const auto& entry : entries(trigger_entry.value, "in " + where, names)) {
        present.insert(entry.key);
        const plugin_host::OptionSpec* spec = type.find_option(entry.key);
        const std::string what = "'on." + trigger_entry.key + "." + entry.key + "'";
        auto value = read_trigger_option(entry, *spec, what);
        if (value) {
          written[entry.key] = std::move(*value);
        } else {
          valid = false;
        }
      }
    }
    for (const auto& option : type.options) {
      if (option.required && !present.contains(option.name)) {
        const Mark mark = trigger_entry.value.IsNull() ? mark_of(trigger_entry.key_node)
                                                       : mark_of(trigger_entry.value);
        std::string note = as_note(option.help);
        error(mark, "missing required key '" + option.name + "' in " + where +
                        (note.empty() ? "" : " (" + note + ")"));
        valid = false;
      }
    }
    if (!valid) return;
    auto normalized = plugin_host::normalize_options(type.name, type.options, written);
    if (!normalized) {  // cannot happen: every value was checked above
      error(mark_of(trigger_entry.key_node), normalized.error().message);
      return;
    }
    trigger.options = std::move(*normalized);
    triggers.plugin_triggers.push_back(std::move(trigger));
  }

  // One option of a plugin trigger; nullopt after reporting what is wrong. Triggers start runs,
  // so there is no run yet whose values a ${{ }} template could use.
  std::optional<json> read_trigger_option(const Entry& entry, const plugin_host::OptionSpec& spec,
                                          const std::string& what) {
    if (entry.value.IsScalar() && has_template(entry.value.Scalar())) {
      error(value_mark(entry), what +
                                   " cannot use ${{ }} expressions: a trigger runs before there "
                                   "is a run to take values from");
      return std::nullopt;
    }
    std::optional<json> value;
    switch (spec.type) {
      case RF_OPT_STRING:
      case RF_OPT_PATH:
        if (auto text = read_text(entry, what)) value = *text;
        break;
      case RF_OPT_BOOL:
        if (auto flag = read_bool(entry, what)) value = *flag;
        break;
      case RF_OPT_DURATION:
        if (auto seconds = read_duration(entry, what)) value = *seconds;
        break;
      case RF_OPT_LIST:
        // One item may be written alone: `patterns: "*.mp4"`.
        value = entry.value.IsScalar()
                    ? std::optional<json>(json::array({scalar_value(entry.value)}))
                    : to_json(entry.value, 0);
        if (!value) return std::nullopt;
        break;
      default:
        value = to_json(entry.value, 0);
        if (!value) return std::nullopt;
        break;
    }
    if (!value) return std::nullopt;
    if (auto problem = plugin_host::check_option_value(spec, *value)) {
      error(value_mark(entry), what + ": " + *problem);
      return std::nullopt;
    }
    return value;
  }

  void read_schedule(const Entry& schedule_entry, Triggers& triggers) {
    if (!expect_map(schedule_entry, "'on.schedule'")) return;
    ScheduleTrigger schedule;
    bool has_cron = false;
    for (const auto& entry : entries(schedule_entry.value, "in 'on.schedule'", kScheduleKeys)) {
      if (entry.key == "cron") {
        has_cron = true;
        auto cron = read_text(entry, "'on.schedule.cron'");
        if (!cron) continue;
        schedule.cron = *cron;
        auto parsed = parse_cron(*cron);
        if (!parsed) {
          error(mark_in_scalar(entry.value, parsed.error().offset),
                "invalid cron '" + shorten(*cron) + "': " + parsed.error().message);
        }
      } else if (entry.key == "timezone") {
        auto zone = read_text(entry, "'on.schedule.timezone'");
        if (!zone) continue;
        schedule.timezone = *zone;
        if (!valid_time_zone(*zone)) {
          error(value_mark(entry), "unknown time zone '" + shorten(*zone) +
                                       "' (use an IANA name such as Europe/Paris, "
                                       "America/New_York or UTC)");
        }
      }
    }
    if (!has_cron) {
      error(mark_of(schedule_entry.value),
            "missing required key 'cron' in 'on.schedule' (e.g. cron: \"0 9 * * mon-fri\")");
    }
    triggers.schedule = std::move(schedule);
  }

  static bool valid_time_zone(const std::string& zone) {
    if (zone == "UTC") return true;
    if (zone.empty() || zone.size() > 128 || zone.front() == '/' ||
        zone.find("..") != std::string::npos) {
      return false;
    }
    for (char c : zone) {
      bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
                c == '+';
      if (!ok) return false;
    }
    std::error_code ec;
    return std::filesystem::is_regular_file(std::filesystem::path("/usr/share/zoneinfo") / zone,
                                            ec);
  }

  void read_env(const Entry& env_entry, json& env) {
    if (env_entry.value.IsNull()) return;
    if (!expect_map(env_entry, "'env'")) return;
    ReferenceRules rules;
    rules.steps_allowed = false;
    std::set<std::string> seen;
    for (auto it = env_entry.value.begin(); it != env_entry.value.end(); ++it) {
      const YAML::Node key = it->first;     // a copy: it-> returns a temporary
      const YAML::Node value = it->second;  // a copy: it-> returns a temporary
      if (!key.IsScalar() || !valid_env_name(key.Scalar())) {
        error(mark_of(key),
              "env names must be letters, digits and '_', starting with a letter or "
              "'_', got " +
                  (key.IsScalar() ? "'" + shorten(key.Scalar()) + "'" : node_kind(key)));
        continue;
      }
      if (!seen.insert(key.Scalar()).second) {
        error(mark_of(key), "duplicate key '" + key.Scalar() + "' in 'env'");
        continue;
      }
      if (!value.IsScalar() && !value.IsNull()) {
        error(mark_of(value),
              "env value '" + key.Scalar() + "' must be text, got " + node_kind(value));
        continue;
      }
      env[key.Scalar()] = value.IsNull() ? std::string() : value.Scalar();
      check_templates(value, rules);
    }
  }

  void read_concurrency(const Entry& entry, Concurrency& concurrency) {
    if (entry.value.IsScalar()) {
      if (auto runs = read_int(entry, "'concurrency'", 1, std::numeric_limits<int>::max())) {
        concurrency.max_runs = *runs;
      }
      return;
    }
    if (!expect_map(entry, "'concurrency'")) return;
    for (const auto& field : entries(entry.value, "in 'concurrency'", kConcurrencyKeys)) {
      if (auto runs =
              read_int(field, "'concurrency.max_runs'", 1, std::numeric_limits<int>::max())) {
        concurrency.max_runs = *runs;
      }
    }
  }

  // --- steps --------------------------------------------------------------------------------

  struct StepHeader {
    YAML::Node node;
    std::string id;     // valid and first of its name, else ""
    std::string label;  // "step 'x'" or "step #3"
    std::string name;   // the id as written, even when it repeats an earlier one
  };

  void read_steps(const Entry& steps_entry, std::vector<Step>& steps) {
    if (!steps_entry.value.IsSequence()) {
      error(value_mark(steps_entry),
            "'steps' must be a list of steps, got " + node_kind(steps_entry.value));
      return;
    }
    if (steps_entry.value.size() == 0) {
      error(value_mark(steps_entry), "'steps' is empty; a workflow needs at least one step");
      return;
    }
    if (steps_entry.value.size() > kMaxSteps) {
      error(value_mark(steps_entry), "too many steps (" + std::to_string(steps_entry.value.size()) +
                                         "; the limit is " + std::to_string(kMaxSteps) + ")");
      return;
    }
    // First pass: ids, so that expressions can tell an unknown step from a later one.
    std::vector<StepHeader> headers;
    std::map<std::string, int> first_line;
    int number = 0;
    for (const auto& node : steps_entry.value) {
      ++number;
      StepHeader header{node, "", "step #" + std::to_string(number), ""};
      if (!node.IsMap()) {
        error(mark_of(node), "step #" + std::to_string(number) +
                                 " must be a mapping with 'id' and 'uses', got " + node_kind(node));
        headers.push_back(header);
        continue;
      }
      YAML::Node id_key;
      YAML::Node id_value;
      bool has_id = false;
      for (auto it = node.begin(); it != node.end() && !has_id; ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == "id") {
          id_key = it->first;
          id_value = it->second;
          has_id = true;
        }
      }
      if (!has_id) {
        error(mark_of(node), "step #" + std::to_string(number) + " is missing required key 'id'");
      } else {
        Entry entry{"id", id_key, id_value};
        if (auto id = read_text(entry, "'id' of step #" + std::to_string(number))) {
          if (!valid_step_id(*id)) {
            error(value_mark(entry), "invalid step id '" + shorten(*id) +
                                         "': use lower-case letters, digits, '_' and '-', "
                                         "starting with a letter (at most 64)");
          } else if (auto [seen, inserted] = first_line.emplace(*id, value_mark(entry).line);
                     !inserted) {
            error(value_mark(entry), "duplicate step id '" + *id + "' (first defined on line " +
                                         std::to_string(seen->second) + ")");
            header.label = "step '" + *id + "'";
            header.name = *id;
          } else {
            header.name = *id;
            header.id = *id;
            header.label = "step '" + *id + "'";
          }
        }
      }
      headers.push_back(header);
    }
    std::vector<std::string> earlier;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      ReferenceRules rules;
      rules.earlier_step_ids = earlier;
      for (std::size_t j = i + 1; j < headers.size(); ++j) {
        if (!headers[j].id.empty()) rules.later_step_ids.push_back(headers[j].id);
      }
      rules.current_step_id = headers[i].name;
      if (headers[i].node.IsMap()) {
        Step step;
        read_step(headers[i], rules, step);
        steps.push_back(std::move(step));
      }
      if (!headers[i].id.empty()) earlier.push_back(headers[i].id);
    }
  }

  void read_step(const StepHeader& header, ReferenceRules rules, Step& step) {
    const YAML::Node& node = header.node;
    const std::string& label = header.label;
    step.id = header.id;
    step.mark = mark_of(node);
    auto found = entries(node, "in " + label, kStepKeys);
    auto find = [&](std::string_view key) -> const Entry* {
      for (const auto& entry : found) {
        if (entry.key == key) return &entry;
      }
      return nullptr;
    };
    // for_each decides whether `item` may be used in the rest of the step.
    rules.item_allowed = false;
    if (const Entry* entry = find("for_each")) {
      read_for_each(*entry, label, rules, step);
      rules.item_allowed = true;
    }
    const plugin_host::StepTypeInfo* step_type = nullptr;
    if (const Entry* entry = find("uses")) {
      if (auto uses = read_text(*entry, "'uses' in " + label)) {
        step.uses = *uses;
        step_type = registry_.find(*uses);
        if (step_type == nullptr) {
          auto names = registry_.step_type_names();
          error(value_mark(*entry),
                "unknown step type '" + shorten(*uses) + "' in " + label +
                    (names.empty() ? " (no plugins are loaded)" : did_you_mean(*uses, names)));
        }
      }
    } else {
      error(mark_of(node), label + " is missing required key 'uses' (the step type, e.g. " +
                               example_step_type() + ")");
    }
    if (const Entry* entry = find("with")) {
      read_with(*entry, label, step_type, rules, step);
    } else if (step_type != nullptr) {
      report_missing_options(mark_of(node), label, *step_type, step.with);
    }
    for (const auto& entry : found) {
      if (entry.key == "if") {
        read_if(entry, label, rules, step);
      } else if (entry.key == "max_parallel") {
        if (auto limit =
                read_int(entry, "'max_parallel' in " + label, 1, std::numeric_limits<int>::max())) {
          step.max_parallel = *limit;
        }
      } else if (entry.key == "retry") {
        read_retry(entry, label, step.retry);
      } else if (entry.key == "wait") {
        read_wait(entry, label, rules, step);
      } else if (entry.key == "timeout") {
        step.timeout = read_duration(entry, "'timeout' in " + label, false);
      } else if (entry.key == "continue_on_error") {
        if (auto flag = read_bool(entry, "'continue_on_error' in " + label)) {
          step.continue_on_error = *flag;
        }
      }
    }
  }

  std::string example_step_type() const {
    auto names = registry_.step_type_names();
    return names.empty() ? "hello.stamp" : names.front();
  }

  void read_for_each(const Entry& entry, const std::string& label, const ReferenceRules& rules,
                     Step& step) {
    const std::string what = "'for_each' in " + label;
    if (entry.value.IsSequence()) {
      check_templates(entry.value, rules);
      step.for_each = to_json(entry.value, 0);
      return;
    }
    if (entry.value.IsScalar() && scalar_value(entry.value).is_string() &&
        has_template(entry.value.Scalar())) {
      check_templates(entry.value, rules);
      step.for_each = entry.value.Scalar();
      return;
    }
    error(value_mark(entry), what +
                                 " must be a list or a template that yields one (e.g. "
                                 "${{ steps.split.outputs.clips }}), got " +
                                 node_kind(entry.value));
  }

  void read_if(const Entry& entry, const std::string& label, const ReferenceRules& rules,
               Step& step) {
    const std::string what = "'if' in " + label;
    if (!entry.value.IsScalar() || entry.value.IsNull()) {
      error(value_mark(entry), what + " must be an expression, got " + node_kind(entry.value));
      return;
    }
    json value = scalar_value(entry.value);
    if (value.is_boolean()) {
      step.if_expr = value.get<bool>() ? "true" : "false";
      return;
    }
    const std::string& text = entry.value.Scalar();
    step.if_expr = text;
    if (has_template(text)) {
      check_templates(entry.value, rules);
      return;
    }
    for (const auto& problem : check_expression(text, rules)) {
      error(mark_in_scalar(entry.value, problem.offset), problem.message);
    }
  }

  void read_with(const Entry& with_entry, const std::string& label,
                 const plugin_host::StepTypeInfo* step_type, const ReferenceRules& rules,
                 Step& step) {
    if (with_entry.value.IsNull()) {
      if (step_type != nullptr) {
        report_missing_options(mark_of(with_entry.key_node), label, *step_type, step.with);
      }
      return;
    }
    if (!expect_map(with_entry, "'with' in " + label)) return;
    std::vector<std::string> option_names;
    if (step_type != nullptr) {
      for (const auto& option : step_type->options) option_names.push_back(option.name);
    }
    std::set<std::string> seen;
    for (auto it = with_entry.value.begin(); it != with_entry.value.end(); ++it) {
      const YAML::Node key_node = it->first;     // a copy: it-> returns a temporary
      const YAML::Node value_node = it->second;  // a copy: it-> returns a temporary
      if (!key_node.IsScalar()) {
        error(mark_of(key_node), "option names must be plain names, got " + node_kind(key_node));
        continue;
      }
      const std::string& key = key_node.Scalar();
      Entry entry{key, key_node, value_node};
      if (!seen.insert(key).second) {
        error(mark_of(key_node), "duplicate option '" + shorten(key) + "' in " + label);
        continue;
      }
      const plugin_host::OptionSpec* spec =
          step_type != nullptr ? step_type->find_option(key) : nullptr;
      if (step_type != nullptr && spec == nullptr) {
        error(mark_of(key_node), "unknown option '" + shorten(key) + "' for " + step_type->name +
                                     " in " + label + did_you_mean(key, option_names));
      }
      bool templated = check_templates(value_node, rules);
      auto value = to_json(value_node, 0);
      if (!value) continue;
      step.with[key] = *value;
      step.with_marks[key] = value_mark(entry);
      if (spec == nullptr || templated) continue;  // a template's type is known at run time
      if (auto problem = plugin_host::check_option_value(*spec, *value)) {
        bool wants_text =
            spec->type == RF_OPT_STRING || spec->type == RF_OPT_PATH || spec->type == RF_OPT_ENUM;
        if (wants_text && (value->is_number() || value->is_boolean())) {
          *problem += " (put it in quotes to make it text: \"" + value_node.Scalar() + "\")";
        }
        error(value_mark(entry),
              "option '" + key + "' of " + step_type->name + " in " + label + ": " + *problem);
      }
    }
    if (step_type != nullptr) {
      report_missing_options(mark_of(with_entry.value), label, *step_type, step.with);
    }
  }

  void report_missing_options(Mark mark, const std::string& label,
                              const plugin_host::StepTypeInfo& step_type, const json& with) {
    for (const auto& option : step_type.options) {
      if (option.required && !with.contains(option.name)) {
        std::string help = option.help.empty() ? "" : " (" + option.help + ")";
        error(mark, "missing required option '" + option.name + "' for " + step_type.name + " in " +
                        label + help);
      }
    }
  }

  void read_wait(const Entry& wait_entry, const std::string& label, const ReferenceRules& rules,
                 Step& step) {
    const std::string where = "'wait' in " + label;
    if (!expect_map(wait_entry, where)) return;
    Wait wait;
    auto found = entries(wait_entry.value, "in " + where, kWaitKeys);
    for (const auto& entry : found) {
      if (entry.key == "for") {
        wait.for_seconds = read_duration(entry, "'wait.for' in " + label);
      } else if (entry.key == "until") {
        auto text = read_text(entry, "'wait.until' in " + label);
        if (!text) continue;
        wait.until = *text;
        if (has_template(*text)) {
          check_templates(entry.value, rules);
        } else if (auto instant = parse_iso_time(*text); !instant) {
          error(value_mark(entry), "'wait.until' in " + label + ": " + instant.error().message);
        }
      }
    }
    bool only_unknown_keys = found.empty() && wait_entry.value.size() > 0;  // already reported
    if (found.size() != 1 && !only_unknown_keys) {
      error(mark_of(wait_entry.value),
            where + " needs exactly one of 'until' (a time) or 'for' (a duration)");
      return;
    }
    step.wait = wait;
  }

  void read_retry(const Entry& retry_entry, const std::string& label, Retry& retry) {
    const std::string where = "'retry' in " + label;
    if (retry_entry.value.IsScalar()) {  // retry: 3
      if (auto attempts = read_int(retry_entry, where, 1, 100)) retry.max_attempts = *attempts;
      return;
    }
    if (!expect_map(retry_entry, where)) return;
    for (const auto& entry : entries(retry_entry.value, "in " + where, kRetryKeys)) {
      if (entry.key == "max_attempts") {
        if (auto attempts = read_int(entry, "'retry.max_attempts' in " + label, 1, 100)) {
          retry.max_attempts = *attempts;
        }
      } else if (entry.key == "backoff") {
        read_backoff(entry, label, retry.backoff);
      }
    }
  }

  void read_backoff(const Entry& backoff_entry, const std::string& label, Backoff& backoff) {
    const std::string where = "'retry.backoff' in " + label;
    if (!expect_map(backoff_entry, where)) return;
    const Entry* max_entry = nullptr;
    bool max_ok = false;
    bool initial_ok = false;
    auto found = entries(backoff_entry.value, "in " + where, kBackoffKeys);
    for (const auto& entry : found) {
      if (entry.key == "initial") {
        if (auto seconds = read_duration(entry, "'retry.backoff.initial' in " + label)) {
          backoff.initial = *seconds;
          initial_ok = true;
        }
      } else if (entry.key == "factor") {
        if (auto factor = read_number(entry, "'retry.backoff.factor' in " + label, 1.0)) {
          backoff.factor = *factor;
        }
      } else if (entry.key == "max") {
        max_entry = &entry;
        if (auto seconds = read_duration(entry, "'retry.backoff.max' in " + label)) {
          backoff.max = *seconds;
          max_ok = true;
        }
      }
    }
    if (max_entry != nullptr && max_ok && initial_ok && backoff.max < backoff.initial) {
      error(value_mark(*max_entry),
            "'retry.backoff.max' in " + label + " is shorter than 'initial'");
    }
  }

  std::string_view source_;
  std::string file_;
  const plugin_host::Registry& registry_;
  std::vector<Diagnostic> diagnostics_;
  std::size_t value_nodes_ = 0;
  std::size_t template_nodes_ = 0;
  bool value_too_large_reported_ = false;
};

}  // namespace

LoadResult load_workflow_text(std::string_view yaml_text, const std::string& file_name,
                              const plugin_host::Registry& registry) {
  return Validator(yaml_text, file_name, registry).run();
}

}  // namespace reelflow::workflow
