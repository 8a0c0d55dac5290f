// Workflow expressions: `${{ ... }}` templates inside string values, evaluated against a scope
// object {"trigger": ..., "steps": {"<id>": {"outputs": ...}}, "item": ..., "env": ...,
// "secrets": ...}. The language is small and safe: literals (strings, numbers, true, false,
// null), property access (a.b, a['b'], a[0]), comparisons (== != < <= > >=), boolean logic
// (&& || !), parentheses, and the pure functions format, join, basename, stem, default, length
// (plus contains, startsWith, endsWith). No assignment, no loops, no code execution; nesting depth
// and template size are bounded. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace reelflow::workflow {

// Bounds that keep hostile input from exhausting the stack or the CPU.
inline constexpr std::size_t kMaxExpressionLength = 4096;  // bytes between ${{ and }}
inline constexpr int kMaxExpressionDepth = 64;             // nested (), [], calls and !

// Evaluates one expression (the text between ${{ and }}).
Result<nlohmann::json> evaluate(std::string_view expression, const nlohmann::json& scope);

// Resolves every ${{ }} in text. A text that is exactly one template yields the expression's
// value with its type; otherwise the values are formatted into the string.
Result<nlohmann::json> interpolate(std::string_view text, const nlohmann::json& scope);

// interpolate() applied to every string inside a JSON value (object values, array items).
Result<nlohmann::json> interpolate_value(const nlohmann::json& value, const nlohmann::json& scope);

// True when text holds at least one "${{" (a template, complete or not).
bool has_template(std::string_view text);

// How a value looks inside a string: strings raw, null empty, anything else compact JSON.
std::string render_text(const nlohmann::json& value);

// The secrets the templates inside value name statically (secrets.NAME, secrets['NAME']), in
// order of first use; for messages that name a secret that is not set.
std::vector<std::string> secret_references(const nlohmann::json& value);

// Truthiness used by `if`: false, null, 0, "" and empty containers are false.
bool truthy(const nlohmann::json& value);

// Static check of a text with templates, without a scope: syntax, unknown functions, wrong
// argument counts, and references. `offset` is the byte offset in text where the problem starts.
struct ExprProblem {
  std::size_t offset = 0;
  std::string message;
};
struct ReferenceRules {
  std::vector<std::string> earlier_step_ids;  // steps.<id> must name one of these
  std::vector<std::string> later_step_ids;    // to say "step X runs later" instead of "unknown"
  bool item_allowed = false;                  // only inside for_each steps
  std::string current_step_id;  // the step whose text this is ("" outside steps), for messages
  bool steps_allowed = true;    // false where no step has run yet (the workflow's env)
};
std::vector<ExprProblem> check_template(std::string_view text, const ReferenceRules& rules);

// The same checks for a bare expression (an `if:` written without ${{ }}); offsets are relative to
// the expression.
std::vector<ExprProblem> check_expression(std::string_view expression, const ReferenceRules& rules);

// The value of a step's `if`: a bare expression, or a text with templates; then truthy().
Result<bool> evaluate_condition(std::string_view condition, const nlohmann::json& scope);

}  // namespace reelflow::workflow
