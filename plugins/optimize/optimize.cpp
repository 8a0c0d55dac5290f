// optimize: experiments over variants (issue 8).
//
// Step type optimize.choose picks one arm (variant) of an experiment for this publication by
// Thompson sampling, through the daemon service "optimize.choose" (rf_host.call, ABI 1.3): the
// experiment's decisions and the outcomes they are judged by (posts, metrics, clicks,
// conversions) live in the daemon's database, which the step cannot reach from its worker. The
// daemon validates the options (its messages name the option), chooses, and stores the decision
// with its propensity under the execution's key; this plugin only forwards the options and the
// execution's identity:
//
//   request  the options as the host normalized them (durations in seconds) and
//            {"workflow", "run_id", "step_id", "item": the for_each item index or null}
//   answer   {"experiment", "decision", "arm", "index", "value", "propensity", "phase", "repeat"}
//   outputs  {"arm", "value", "propensity", "decision", "experiment", "index"}
//
// The decision key is the execution (run id, step id, for_each item index), so a retry or a
// restart of the same execution gets the arm chosen before, never a second draw. Hence
// RF_STEP_RERUN_SAFE.
#include <cstdio>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;

constexpr const char* kRewards[] = {"ctr", "cvr", "revenue", "views_per_hour", "weighted", nullptr};

constexpr rf_option kChooseOptions[] = {
    option::list("arms", static_cast<rf_option_type>(0), reelflow::no_default,
                 "The variants to choose from, 2 to 50: text (its own name), or mappings with a "
                 "`name` and anything else the later steps read, e.g. {name: warm, caption: ...}.")
        .required()
        .range(2, 50),
    option::string("experiment", reelflow::no_default,
                   "The experiment's name (letters, digits, '.', '_', '-'); steps that name the "
                   "same experiment share its results. Default: <workflow>.<step id>."),
    option::enumeration("reward", kRewards, reelflow::json_string<"ctr">,
                        "What a variant is judged by: ctr (human clicks per view), cvr "
                        "(conversions per human click), revenue (per post), views_per_hour, or "
                        "weighted (the sum of `weights`)."),
    option::object("weights", reelflow::no_default,
                   "For reward: weighted, the weight of each component per post: views, likes, "
                   "comments, shares, clicks, conversions, revenue."),
    option::number("floor", "0.01",
                   "Every variant keeps at least this probability of being chosen (exploration "
                   "floor); at most 1 / the number of variants.")
        .range(0, 0.5),
    option::integer("min_observations", "5",
                    "Results (decisions with outcomes) each variant needs before the chooser "
                    "favours any; until then it chooses evenly among those short of it.")
        .range(0, 1000000),
    option::number("discount", "1",
                   "Each new result multiplies the weight of older ones by this (1 = keep all; "
                   "0.99 halves a result's weight after 69 newer ones), for audiences that change.")
        .range(0, 1),
    option::duration("window", reelflow::no_default,
                     "Only decisions made within this time before now count (e.g. 14d): a "
                     "sliding window, instead of discount."),
    option::duration("settle", reelflow::json_string<"0s">,
                     "A decision's outcome counts only this long after it was made, so late "
                     "clicks and conversions can arrive (e.g. 24h for cvr or revenue)."),
};

constexpr std::string_view kService = "optimize.choose";

class Choose {
 public:
  rf_status run(reelflow::Run& run) {
    std::string problem;
    const auto options = json::Object::parse(run.options_json(), &problem);
    if (!options) return run.fail("optimize.choose: the options are not a JSON object: " + problem);
    const auto context = json::Object::parse(run.context_json(), &problem);
    if (!context) return run.fail("optimize.choose: the context is not a JSON object: " + problem);
    const auto run_id = context->get_string("run_id");
    const auto step_id = context->get_string("step_id");
    if (!run_id || run_id->empty() || !step_id || step_id->empty()) {
      return run.fail("optimize.choose: the run gave no run_id and step_id to key the decision by");
    }

    json::ObjectBuilder request;
    for (const auto& [name, value] : options->members()) request.add(name, value);
    request.add("workflow", context->get_string("workflow").value_or(""))
        .add("run_id", *run_id)
        .add("step_id", *step_id);
    if (const json::Value* item = context->find("item_index");
        item != nullptr && item->is_number()) {
      request.add("item", *item);
    } else {
      request.add("item", nullptr);
    }

    if (run.cancelled()) return RF_STATUS_CANCELLED;
    std::string refusal;
    const auto answer_text = run.call(kService, request.str(), &refusal);
    if (!answer_text) return run.fail("optimize.choose: " + refusal);
    const auto answer = json::Object::parse(*answer_text, &problem);
    if (!answer) {
      return run.fail("optimize.choose: the daemon's answer is not a JSON object: " + problem);
    }
    const auto arm = answer->get_string("arm");
    const json::Value* value = answer->find("value");
    const auto propensity = answer->get_double("propensity");
    const auto decision = answer->get_string("decision");
    const auto experiment = answer->get_string("experiment");
    if (!arm || value == nullptr || !propensity || !decision || !experiment) {
      return run.fail(
          "optimize.choose: the daemon's answer lacks arm, value, propensity, decision or "
          "experiment: " +
          *answer_text);
    }
    const json::Value* index = answer->find("index");

    char propensity_text[32];
    std::snprintf(propensity_text, sizeof propensity_text, "%.4f", *propensity);
    run.info("experiment " + *experiment + ": chose " + *arm + " (propensity " + propensity_text +
             ", " + answer->get_string("phase").value_or("") +
             (answer->get_bool("repeat").value_or(false) ? ", decided before" : "") + ")");
    if (!run.set_output(json::ObjectBuilder()
                            .add("arm", *arm)
                            .add("value", *value)
                            .add("propensity", *propensity)
                            .add("decision", *decision)
                            .add("experiment", *experiment)
                            .add("index", index != nullptr ? *index : json::Value())
                            .str())) {
      return run.fail("optimize.choose: the host refused the output");
    }
    return RF_STATUS_OK;
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Choose>(
        {.name = "optimize.choose",
         .summary = "Chooses a variant per publication by Thompson sampling (needs reelflowd)",
         .flags = RF_STEP_RERUN_SAFE},
        kChooseOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "optimize",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Experiments over variants, chosen by Thompson sampling"},
                     kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
