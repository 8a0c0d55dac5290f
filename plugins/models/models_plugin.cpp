// models: retraining the engagement model that video.score uses (issue 8; README.md).
//
// The thin half of a two-part plugin (plugins/support/backend.hpp). It declares three step
// types and runs one of them itself:
//
//   models.examples  asks the daemon (rf_host.call "models.examples") to write the stored
//                    training examples, each with its observed outcome, into this execution's
//                    artifact directory; says whether there are enough to retrain (`ready`);
//   models.train     forwarded to models.d/train.so (LibTorch): trains a candidate and scores it
//                    and the active version on the most recent posts;
//   models.register  forwarded to models.d/train.so: checks the candidate file with LibTorch and
//                    asks the daemon ("models.register") to store it as a version, promoted only
//                    if it beats the active one.
//
// So the daemon, which loads this file to validate workflows, never maps LibTorch.
#include <filesystem>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>

#include "models/model_options.hpp"
#include "support/backend.hpp"

namespace {

namespace json = reelflow::json;
namespace models = reelflow::models;

constexpr std::string_view kService = "models.examples";

class Examples {
 public:
  rf_status run(reelflow::Run& run) {
    std::string problem;
    const auto options = json::Object::parse(run.options_json(), &problem);
    if (!options) return fail(run, "the options are not a JSON object: " + problem);
    const std::filesystem::path dir = run.artifact_dir();
    if (dir.empty()) return fail(run, "the host gave no artifact directory to write into");
    const std::string path = (dir / "examples.jsonl").string();

    json::ArrayBuilder engaged;
    if (const json::Value* counters = options->find("engaged"); counters != nullptr) {
      if (const auto items = counters->as_array()) {
        for (const json::Value& counter : *items) engaged.push(counter);
      }
    }
    const std::string request = json::ObjectBuilder()
                                    .add("path", path)
                                    .add("name", options->get_string("name"))
                                    .add("label", options->get_string("label"))
                                    .add("engaged", engaged)
                                    .add("min_views", options->get_int("min_views"))
                                    .add("weight_cap", options->get_int("weight_cap"))
                                    .str();
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    std::string refusal;
    const auto answer_text = run.call(kService, request, &refusal);
    if (!answer_text) return fail(run, "the daemon could not export the examples: " + refusal);
    const auto answer = json::Object::parse(*answer_text, &problem);
    if (!answer) return fail(run, "the daemon's answer is not a JSON object: " + problem);

    const std::int64_t examples = answer->get_int("examples").value_or(0);
    const std::int64_t new_examples = answer->get_int("new_examples").value_or(0);
    const std::int64_t min_examples = options->get_int("min_examples").value_or(200);
    const std::int64_t min_new = options->get_int("min_new_examples").value_or(50);
    std::string reason;
    if (examples < min_examples) {
      reason = std::to_string(examples) + " usable examples, fewer than min_examples (" +
               std::to_string(min_examples) + ")";
    } else if (new_examples < min_new) {
      reason = std::to_string(new_examples) +
               " examples published since the newest version was trained, fewer than "
               "min_new_examples (" +
               std::to_string(min_new) + ")";
    }
    const bool ready = reason.empty();
    if (ready)
      reason = std::to_string(examples) + " examples, " + std::to_string(new_examples) + " new";

    json::ObjectBuilder output;
    for (const auto& [key, value] : answer->members()) output.add(key, value);
    output.add("ready", ready).add("reason", reason);
    const auto skipped = answer->find("skipped");
    run.info("exported " + std::to_string(examples) + " examples to " + path +
             (skipped != nullptr ? " (skipped: " + skipped->json_text() + ")" : "") + "; " +
             (ready ? "ready to retrain: " : "not retraining: ") + reason);
    if (!run.set_output(output)) return fail(run, "the host refused the output");
    return RF_STATUS_OK;
  }

 private:
  static rf_status fail(const reelflow::Run& run, const std::string& message) {
    return run.fail("models.examples: " + message);
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Examples>(
        {.name = "models.examples",
         .summary = "Export the stored training examples with their outcomes (needs reelflowd)",
         .flags = RF_STEP_RERUN_SAFE},
        models::kExamplesOptions),
    reelflow::support::forwarding_step<"models.d/train.so", "models.train">(
        "Train a candidate engagement model and score it against the active one on the most "
        "recent posts (LibTorch)",
        RF_STEP_RERUN_SAFE, models::kTrainOptions),
    reelflow::support::forwarding_step<"models.d/train.so", "models.register">(
        "Store a candidate as a model version; it replaces the active one only if it is better "
        "(needs reelflowd)",
        RF_STEP_RERUN_SAFE, models::kRegisterOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "models",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Retrain the engagement model on the outcomes of published clips"},
                     kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
