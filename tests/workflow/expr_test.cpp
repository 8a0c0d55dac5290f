#include "workflow/expr.hpp"

#include <gtest/gtest.h>

#include <string>

namespace reelflow::workflow {
namespace {

using nlohmann::json;

json scope() {
  return json::parse(R"({
    "trigger": {"file": "/in/clips/summer.sale.mp4", "name": "summer.sale.mp4", "size": 1500,
                "tags": ["a", "b"], "empty": "", "zero": 0},
    "steps": {"split": {"outputs": {"clips": ["c1.mp4", "c2.mp4"], "score": 0.75,
                                    "meta": {"lang": "fr"}}}},
    "env": {"campaign": "winter", "quote": "it's"},
    "secrets": {"token": "s3cret"},
    "item": "douyin"
  })");
}

json eval_ok(std::string_view expression) {
  auto value = evaluate(expression, scope());
  EXPECT_TRUE(value.has_value()) << expression << ": " << value.error().message;
  return value ? *value : json("<error>");
}

std::string eval_error(std::string_view expression) {
  auto value = evaluate(expression, scope());
  EXPECT_FALSE(value.has_value()) << expression << " gave " << (value ? value->dump() : "");
  return value ? std::string() : value.error().message;
}

TEST(Expr, Literals) {
  EXPECT_EQ(eval_ok("'it''s'"), "it's");
  EXPECT_EQ(eval_ok(R"("say \"hi\"\n")"), "say \"hi\"\n");
  EXPECT_EQ(eval_ok("42"), 42);
  EXPECT_EQ(eval_ok("-7"), -7);
  EXPECT_EQ(eval_ok("2.5"), 2.5);
  EXPECT_EQ(eval_ok("1e3"), 1000.0);
  EXPECT_EQ(eval_ok("true"), true);
  EXPECT_EQ(eval_ok("false"), false);
  EXPECT_EQ(eval_ok("null"), nullptr);
  EXPECT_EQ(eval_ok("  'é 🎬 ünï'  "), "é 🎬 ünï");
}

TEST(Expr, PropertyAndIndexAccess) {
  EXPECT_EQ(eval_ok("trigger.file"), "/in/clips/summer.sale.mp4");
  EXPECT_EQ(eval_ok("trigger['file']"), "/in/clips/summer.sale.mp4");
  EXPECT_EQ(eval_ok("steps.split.outputs.clips[1]"), "c2.mp4");
  EXPECT_EQ(eval_ok("steps.split.outputs.clips[-1]"), "c2.mp4");
  EXPECT_EQ(eval_ok("steps.split.outputs.clips[5]"), nullptr);
  EXPECT_EQ(eval_ok("steps['split'].outputs['meta'].lang"), "fr");
  EXPECT_EQ(eval_ok("item"), "douyin");
  EXPECT_EQ(eval_ok("secrets.token"), "s3cret");
}

TEST(Expr, MissingKeysAreNull) {
  EXPECT_EQ(eval_ok("trigger.nope"), nullptr);
  EXPECT_EQ(eval_ok("trigger.nope.deeper.still"), nullptr);
  EXPECT_EQ(eval_ok("steps.unknown.outputs.x"), nullptr);
  EXPECT_EQ(eval_ok("env['missing']"), nullptr);
  // A root the scope lacks but the language knows is null too.
  auto value = evaluate("item", json::object());
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, nullptr);
}

TEST(Expr, TypeErrorsNameTheExpression) {
  EXPECT_NE(eval_error("trigger.size.x").find("cannot read property 'x' of a number"),
            std::string::npos);
  EXPECT_NE(eval_error("trigger.size.x").find("'trigger.size.x'"), std::string::npos);
  EXPECT_NE(eval_error("1 < 'a'").find("cannot compare number with string"), std::string::npos);
  EXPECT_NE(eval_error("trigger < 1").find("cannot compare object with number"), std::string::npos);
  EXPECT_NE(eval_error("trigger.tags['x']").find("a list's index must be an integer"),
            std::string::npos);
  EXPECT_NE(eval_error("trigger[0]").find("an object's index must be a string"), std::string::npos);
  EXPECT_NE(eval_error("basename(3)").find("basename() argument 1 must be a string, got number"),
            std::string::npos);
  EXPECT_NE(eval_error("length(null)").find("length() needs a string, list or object"),
            std::string::npos);
  EXPECT_NE(eval_error("join(5)").find("join() argument 1 must be a list"), std::string::npos);
  EXPECT_NE(eval_error("startsWith(1, 'a')").find("must be a string"), std::string::npos);
  EXPECT_NE(eval_error("nope.x").find("unknown name 'nope'"), std::string::npos);
}

TEST(Expr, Operators) {
  EXPECT_EQ(eval_ok("trigger.size > 1000"), true);
  EXPECT_EQ(eval_ok("trigger.size >= 1500 && trigger.size <= 1500"), true);
  EXPECT_EQ(eval_ok("trigger.size < 10 || item == 'douyin'"), true);
  EXPECT_EQ(eval_ok("'abc' < 'abd'"), true);
  EXPECT_EQ(eval_ok("1 == 1.0"), true);
  EXPECT_EQ(eval_ok("1 != '1'"), true);
  EXPECT_EQ(eval_ok("!trigger.empty"), true);
  EXPECT_EQ(eval_ok("!!trigger.size"), true);
  EXPECT_EQ(eval_ok("(1 == 2) == false"), true);
  EXPECT_EQ(eval_ok("trigger.tags == trigger.tags"), true);
  EXPECT_EQ(eval_ok("null == trigger.missing"), true);
  // && and || yield an operand, so `a || 'fallback'` works, and they short-circuit.
  EXPECT_EQ(eval_ok("trigger.missing || 'fallback'"), "fallback");
  EXPECT_EQ(eval_ok("trigger.name && trigger.size"), 1500);
  EXPECT_EQ(eval_ok("false && (1 < 'a')"), false);
  EXPECT_EQ(eval_ok("true || (1 < 'a')"), true);
}

TEST(Expr, Functions) {
  EXPECT_EQ(eval_ok("format('{0} and {1}', item, 2)"), "douyin and 2");
  EXPECT_EQ(eval_ok("format('{{literal}} {0}{0}', 'x')"), "{literal} xx");
  EXPECT_EQ(eval_ok("format('no placeholders')"), "no placeholders");
  EXPECT_EQ(eval_ok("format('{0}', null)"), "");
  EXPECT_EQ(eval_ok("format('{0}', trigger.tags)"), R"(["a","b"])");
  EXPECT_NE(eval_error("format('{1}', 'a')").find("placeholder {1} has no value"),
            std::string::npos);
  EXPECT_NE(eval_error("format('{x}', 'a')").find("invalid placeholder"), std::string::npos);
  EXPECT_NE(eval_error("format('a } b')").find("unmatched '}'"), std::string::npos);
  EXPECT_EQ(eval_ok("join(trigger.tags)"), "a,b");
  EXPECT_EQ(eval_ok("join(trigger.tags, ' + ')"), "a + b");
  EXPECT_EQ(eval_ok("join(steps.split.outputs.clips, '|')"), "c1.mp4|c2.mp4");
  EXPECT_EQ(eval_ok("basename(trigger.file)"), "summer.sale.mp4");
  EXPECT_EQ(eval_ok("basename('/a/b/')"), "b");
  EXPECT_EQ(eval_ok("basename('plain')"), "plain");
  EXPECT_EQ(eval_ok("stem(trigger.file)"), "summer.sale");
  EXPECT_EQ(eval_ok("stem('/x/.hidden')"), ".hidden");
  EXPECT_EQ(eval_ok("stem('noext')"), "noext");
  EXPECT_EQ(eval_ok("default(trigger.missing, 'x')"), "x");
  EXPECT_EQ(eval_ok("default(trigger.zero, 'x')"), 0);
  EXPECT_EQ(eval_ok("default(trigger.missing.deeper, 5)"), 5);
  EXPECT_EQ(eval_ok("length('héllo')"), 5);
  EXPECT_EQ(eval_ok("length(trigger.tags)"), 2);
  EXPECT_EQ(eval_ok("length(trigger)"), 6);
  EXPECT_EQ(eval_ok("contains(trigger.file, 'sale')"), true);
  EXPECT_EQ(eval_ok("contains(trigger.tags, 'b')"), true);
  EXPECT_EQ(eval_ok("contains(trigger.tags, 'z')"), false);
  EXPECT_EQ(eval_ok("contains(steps.split.outputs.meta, 'lang')"), true);
  EXPECT_EQ(eval_ok("startsWith(trigger.name, 'summer')"), true);
  EXPECT_EQ(eval_ok("endsWith(trigger.name, '.mp4')"), true);
  EXPECT_EQ(eval_ok("endsWith(trigger.name, '.mov')"), false);
}

TEST(Expr, SyntaxErrors) {
  EXPECT_NE(eval_error("").find("empty expression"), std::string::npos);
  EXPECT_NE(eval_error("1 +").find("unexpected character '+'"), std::string::npos);
  EXPECT_NE(eval_error("a = b").find("use '=='"), std::string::npos);
  EXPECT_NE(eval_error("'open").find("unterminated string"), std::string::npos);
  EXPECT_NE(eval_error("(1").find("expected ')'"), std::string::npos);
  EXPECT_NE(eval_error("trigger.").find("expected a property name"), std::string::npos);
  EXPECT_NE(eval_error("trigger[0").find("expected ']'"), std::string::npos);
  EXPECT_NE(eval_error("1 2").find("unexpected '2'"), std::string::npos);
  EXPECT_NE(eval_error("lenght(trigger)")
                .find("unknown function 'lenght'; did you mean "
                      "'length'?"),
            std::string::npos);
  EXPECT_NE(eval_error("default(1)").find("default() takes 2 arguments, got 1"), std::string::npos);
  EXPECT_NE(eval_error("join()").find("join() takes 1 or 2 arguments, got 0"), std::string::npos);
  EXPECT_NE(eval_error("format()").find("format() takes at least 1 arguments"), std::string::npos);
  EXPECT_NE(eval_error("a.b(1)").find("unexpected '('"), std::string::npos);
  EXPECT_NE(eval_error("system('rm -rf /')").find("unknown function 'system'"), std::string::npos);
}

TEST(Expr, DepthAndLengthAreBounded) {
  std::string deep = std::string(10000, '(') + "1" + std::string(10000, ')');
  EXPECT_NE(eval_error(deep).find("too long"), std::string::npos);
  std::string nested = std::string(100, '(') + "1" + std::string(100, ')');
  EXPECT_NE(eval_error(nested).find("nested too deeply"), std::string::npos);
  std::string ok = std::string(60, '(') + "1" + std::string(60, ')');
  EXPECT_EQ(eval_ok(ok), 1);
  EXPECT_NE(eval_error(std::string(100, '!') + "true").find("nested too deeply"),
            std::string::npos);
  std::string calls;
  for (int i = 0; i < 100; ++i) calls += "length(";
  calls += "'x'" + std::string(100, ')');
  EXPECT_NE(eval_error(calls).find("nested too deeply"), std::string::npos);
  std::string chain = "true";
  for (int i = 0; i < 600; ++i) chain += "&&true";
  EXPECT_NE(eval_error(chain).find("too complex"), std::string::npos);
  // Unbounded input to interpolate: many templates are fine, one huge one is an error.
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "${{ item }}-";
  auto value = interpolate(many, scope());
  ASSERT_TRUE(value);
  EXPECT_EQ(value->get<std::string>().size(), 2000u * 7);
  std::string huge = "${{ '" + std::string(kMaxExpressionLength, 'x') + "' }}";
  EXPECT_FALSE(interpolate(huge, scope()));
}

TEST(Expr, LongStringsAndUnicode) {
  std::string long_text(3000, 'z');
  EXPECT_EQ(eval_ok("'" + long_text + "'"), long_text);
  EXPECT_EQ(eval_ok("length('🎬🎬🎬')"), 3);
  auto value = interpolate("Vidéo ${{ env.campaign }} — 🎬 ${{ env.quote }}", scope());
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, "Vidéo winter — 🎬 it's");
}

TEST(Expr, InterpolationKeepsTypeOfASingleTemplate) {
  auto list = interpolate("${{ steps.split.outputs.clips }}", scope());
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, json({"c1.mp4", "c2.mp4"}));
  auto number = interpolate("  ${{ trigger.size }}\n", scope());
  ASSERT_TRUE(number);
  EXPECT_EQ(*number, 1500);
  auto null_value = interpolate("${{ trigger.missing }}", scope());
  ASSERT_TRUE(null_value);
  EXPECT_EQ(*null_value, nullptr);
  // Two templates, or text around one: a string.
  auto text = interpolate("${{ trigger.size }} bytes, ${{ trigger.tags }}", scope());
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, R"(1500 bytes, ["a","b"])");
  auto pair = interpolate("${{ item }}${{ item }}", scope());
  ASSERT_TRUE(pair);
  EXPECT_EQ(*pair, "douyindouyin");
  auto missing = interpolate("[${{ trigger.missing }}]", scope());
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, "[]");
  auto plain = interpolate("no templates {{ here }}", scope());
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "no templates {{ here }}");
  // '}}' inside a quoted string does not close the template.
  auto braces = interpolate("${{ format('{{{0}}}', item) }}", scope());
  ASSERT_TRUE(braces) << braces.error().message;
  EXPECT_EQ(*braces, "{douyin}");
}

TEST(Expr, UnterminatedTemplateIsAnError) {
  auto value = interpolate("hello ${{ trigger.file", scope());
  ASSERT_FALSE(value);
  EXPECT_NE(value.error().message.find("unterminated '${{'"), std::string::npos);
  EXPECT_FALSE(interpolate("${{ 'x' }} and ${{", scope()));
  EXPECT_FALSE(interpolate("${{ '}} }}", scope()));
}

TEST(Expr, InterpolateValueWalksContainers) {
  json with = {{"title", "${{ stem(trigger.file) }}"},
               {"clips", "${{ steps.split.outputs.clips }}"},
               {"nested", {{"list", {"${{ item }}", 3, true}}}},
               {"count", 2}};
  auto value = interpolate_value(with, scope());
  ASSERT_TRUE(value);
  EXPECT_EQ((*value)["title"], "summer.sale");
  EXPECT_EQ((*value)["clips"], json({"c1.mp4", "c2.mp4"}));
  EXPECT_EQ((*value)["nested"]["list"], json({"douyin", 3, true}));
  EXPECT_EQ((*value)["count"], 2);
  EXPECT_FALSE(interpolate_value(json{{"bad", "${{ 1 < 'a' }}"}}, scope()));
}

TEST(Expr, Truthy) {
  EXPECT_FALSE(truthy(nullptr));
  EXPECT_FALSE(truthy(false));
  EXPECT_FALSE(truthy(0));
  EXPECT_FALSE(truthy(0.0));
  EXPECT_FALSE(truthy(""));
  EXPECT_FALSE(truthy(json::array()));
  EXPECT_FALSE(truthy(json::object()));
  EXPECT_TRUE(truthy(true));
  EXPECT_TRUE(truthy(-1));
  EXPECT_TRUE(truthy(0.1));
  EXPECT_TRUE(truthy("false"));
  EXPECT_TRUE(truthy(json::array({0})));
  EXPECT_TRUE(truthy(json{{"a", 1}}));
}

TEST(Expr, EvaluateCondition) {
  auto bare = evaluate_condition("trigger.size > 1000", scope());
  ASSERT_TRUE(bare);
  EXPECT_TRUE(*bare);
  auto wrapped = evaluate_condition("${{ trigger.size > 100000 }}", scope());
  ASSERT_TRUE(wrapped);
  EXPECT_FALSE(*wrapped);
  EXPECT_FALSE(evaluate_condition("trigger.size > 'x'", scope()));
}

// --- static checks ------------------------------------------------------------------------------

ReferenceRules rules_for_third_step() {
  ReferenceRules rules;
  rules.earlier_step_ids = {"split", "score"};
  rules.later_step_ids = {"publish"};
  rules.current_step_id = "render";
  return rules;
}

TEST(CheckTemplate, AcceptsValidReferences) {
  auto rules = rules_for_third_step();
  EXPECT_TRUE(check_template("plain text", rules).empty());
  EXPECT_TRUE(
      check_template("${{ steps.split.outputs.clips }} ${{ trigger.file }}", rules).empty());
  EXPECT_TRUE(check_template("${{ steps['score'].outputs.value > 0.5 }}", rules).empty());
  EXPECT_TRUE(check_template("${{ default(env.x, secrets.y) }}", rules).empty());
  EXPECT_TRUE(check_expression("steps.split.outputs.n > 1 && trigger.size < 5", rules).empty());
}

TEST(CheckTemplate, ReportsProblemsWithOffsets) {
  auto rules = rules_for_third_step();
  auto problems = check_template("x ${{ steps.publish.outputs.url }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].offset, 12u);  // the step id
  EXPECT_EQ(problems[0].message,
            "step 'publish' runs after 'render'; only earlier steps' outputs can be used");

  problems = check_template("${{ steps.splt.outputs.clips }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "no step 'splt'; did you mean 'split'?");

  problems = check_template("${{ steps.render.outputs.x }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "step 'render' cannot read its own outputs");

  problems = check_template("${{ steps.split.output.clips }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("did you mean 'outputs'?"), std::string::npos);

  problems = check_template("${{ item }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].offset, 4u);
  EXPECT_EQ(problems[0].message, "'item' is only available in a step with for_each");
  rules.item_allowed = true;
  EXPECT_TRUE(check_template("${{ item }}", rules).empty());

  problems = check_template("${{ triger.file }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("unknown name 'triger'; did you mean 'trigger'?"),
            std::string::npos);

  problems = check_template("ok ${{ 1 + 2 }}", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].offset, 9u);

  problems = check_template("a ${{ x", rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].offset, 2u);

  // Several templates: every problem.
  problems = check_template("${{ nope }} ${{ lenght('a') }}", rules);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[1].offset, 16u);

  ReferenceRules env_rules;
  env_rules.steps_allowed = false;
  problems = check_template("${{ steps.a.outputs.b }}", env_rules);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "step outputs are not available here");
}

TEST(SecretReferences, NamesEverySecretATemplateReadsOnceInOrder) {
  json with = json::parse(R"({
    "token": "${{ secrets.douyin_token }}",
    "header": "Bearer ${{ secrets['api-key'] }} ${{ secrets.douyin_token }}",
    "nested": {"list": ["${{ default(secrets.fallback, env.x) }}", 3, null]},
    "plain": "secrets.not_a_template",
    "dynamic": "${{ secrets[env.name] }}",
    "broken": "${{ secrets.",
    "other": "${{ steps.a.outputs.secrets }}"
  })");
  // nlohmann::json keeps keys sorted: header (api-key, douyin_token) comes before nested.
  EXPECT_EQ(secret_references(with),
            (std::vector<std::string>{"api-key", "douyin_token", "fallback"}));
  EXPECT_TRUE(secret_references(json("no templates")).empty());
}

}  // namespace
}  // namespace reelflow::workflow
