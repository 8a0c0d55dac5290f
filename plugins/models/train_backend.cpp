// models.d/train.so: the LibTorch half of the models plugin (README.md), loaded by models.so in
// the worker that first runs one of its steps:
//
//   models.train     reads the examples file of models.examples, loads the active version (or
//                    the prior), holds out the most recent posts, trains a candidate on the rest
//                    (score/retrain.hpp), scores both on the holdout, writes the candidate into
//                    the artifact directory and reads it back to check it;
//   models.register  checks the candidate file with LibTorch (a corrupt file fails here, naming
//                    it, and nothing is registered), then asks the daemon ("models.register") to
//                    store it as a version and promote it if it beats the active version.
//
// No LibTorch header here either: the model is behind score/model.hpp.
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>

#include "models/model_options.hpp"
#include "score/model.hpp"
#include "score/retrain.hpp"
#include "support/backend.hpp"

namespace {

namespace score = reelflow::video::score;
using nlohmann::json;

json parse_object(std::string_view text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_object() ? value : json();
}

// The execution's identity, "<run id>/<step id>[/<item index>]": the same for every attempt and
// after a restart, so registering twice gives the same version (as track.link keys its links).
std::string execution_key(const json& context) {
  const std::string run_id = context.value("run_id", "");
  const std::string step_id = context.value("step_id", "");
  if (run_id.empty() || step_id.empty()) return "";
  std::string key = run_id + "/" + step_id;
  if (context.contains("item_index") && context["item_index"].is_number_integer()) {
    key += "/" + std::to_string(context["item_index"].get<long long>());
  }
  return key;
}

double rounded(double value, int digits = 6) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

json scores_json(const score::HoldoutScores& scores) {
  return {{"bce", scores.cross_entropy}, {"mse", scores.mse}};
}

// Relative change in percent (negative: the candidate is lower, i.e. better).
json change_percent(double candidate, double current) {
  if (!(current > 0)) return nullptr;
  return rounded((candidate - current) / current * 100, 3);
}

std::string iso_time(std::int64_t millis) {
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

class Train {
 public:
  rf_status run(reelflow::Run& run) {
    const json options = parse_object(run.options_json());
    if (options.is_null()) return fail(run, "the options are not a JSON object");
    const json& examples = options.value("examples", json());
    const std::string path = examples.is_object() ? examples.value("path", "") : "";
    if (path.empty()) {
      return fail(run,
                  "option `examples` must be the outputs of a models.examples step "
                  "(${{ steps.<id>.outputs }}), with a `path`");
    }
    const std::string name = examples.value("name", "engagement");
    const json active = examples.value("active", json());

    // The model to start from and to compare with.
    std::optional<score::EngagementModel> current;
    json parent = nullptr;
    std::string parent_file;
    if (options.value("from", "active") == "active" && active.is_object()) {
      parent = active.value("version", json());
      parent_file = active.value("file", "");
      auto loaded = score::EngagementModel::load(parent_file);
      if (!loaded) {
        return fail(
            run, "the active version v" + parent.dump() + " cannot be loaded: " + loaded.error());
      }
      current = std::move(*loaded);
    } else {
      current = score::EngagementModel::prior();
    }

    auto file = score::read_example_file(path);
    if (!file) return fail(run, file.error());
    if (file->unknown_platform > 0) {
      run.info(std::to_string(file->unknown_platform) +
               " examples are from platforms the model has no column for: trained as 'other'");
    }
    if (file->dropped_embedding > 0 || file->bad_hour > 0) {
      run.warn(std::to_string(file->dropped_embedding) + " embeddings of the wrong length and " +
               std::to_string(file->bad_hour) + " hours outside 0..23 were left out");
    }
    std::int64_t last_published_at = 0;
    for (const auto& example : file->examples) {
      last_published_at = std::max(last_published_at, example.published_at);
    }
    const std::size_t total = file->examples.size();

    score::RetrainOptions retrain;
    retrain.holdout_fraction = options.value("holdout", 0.2);
    retrain.holdout_count = options.value("holdout_count", std::size_t{0});
    retrain.train.epochs = options.value("epochs", 20);
    retrain.patience = options.value("patience", 3);
    retrain.train.batch_size = options.value("batch_size", 256);
    retrain.train.learning_rate = options.value("learning_rate", 0.003);
    retrain.train.weight_decay = options.value("weight_decay", 1e-4);
    retrain.train.validation_split = options.value("validation_split", 0.1);
    retrain.train.seed = options.value("seed", std::uint64_t{1});
    const int epochs = retrain.train.epochs;
    retrain.train.on_epoch = [&run, epochs](const score::EpochStats& stats) {
      const std::string epoch =
          "epoch " + std::to_string(stats.epoch) + " of " + std::to_string(epochs);
      run.progress(static_cast<double>(stats.epoch) / epochs, epoch);
      run.debug(epoch + ": train loss " + std::to_string(stats.train_loss) + ", validation loss " +
                std::to_string(stats.validation_loss.value_or(NAN)));
      return !run.cancelled();
    };
    const auto started = std::chrono::steady_clock::now();
    auto result = score::retrain(*current, std::move(file->examples), retrain);
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    if (!result) return fail(run, result.error());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    // The candidate, written and read back: what models.register gets is a file LibTorch reads.
    const std::filesystem::path candidate = run.artifact_dir() / "candidate.pt";
    result->candidate.set_description(name + " candidate, trained on " +
                                      std::to_string(result->train_examples) + " posts up to " +
                                      iso_time(result->train_to));
    if (auto saved = result->candidate.save(candidate); !saved) return fail(run, saved.error());
    if (auto reread = score::EngagementModel::load(candidate); !reread) {
      return fail(run, "the candidate did not read back: " + reread.error());
    }

    const score::TrainReport& report = result->report;
    const json holdout = {{"examples", result->holdout_examples},
                          {"weight", result->current.weight},
                          {"from", iso_time(result->holdout_from)},
                          {"to", iso_time(result->holdout_to)},
                          {"current", scores_json(result->current)},
                          {"candidate", scores_json(result->candidate_holdout)}};
    json training = {{"examples", result->train_examples},
                     {"until", iso_time(result->train_to)},
                     {"epochs", epochs},
                     {"patience", retrain.patience},
                     {"epochs_run", report.epochs_run},
                     {"best_epoch", report.best_epoch},
                     {"batch_size", retrain.train.batch_size},
                     {"learning_rate", retrain.train.learning_rate},
                     {"weight_decay", retrain.train.weight_decay},
                     {"validation_split", retrain.train.validation_split},
                     {"seed", retrain.train.seed},
                     {"train_loss", report.train_loss},
                     {"seconds", rounded(seconds, 3)}};
    if (report.validation_loss) training["validation_loss"] = *report.validation_loss;
    const json metrics = {{"holdout", holdout},
                          {"training", training},
                          {"data",
                           {{"examples", total},
                            {"last_published_at", last_published_at},
                            {"outcome", examples.value("outcome", json())}}}};
    const json improvement = {
        {"bce",
         change_percent(result->candidate_holdout.cross_entropy, result->current.cross_entropy)},
        {"mse", change_percent(result->candidate_holdout.mse, result->current.mse)}};
    const json output = {{"name", name},       {"candidate", candidate.string()},
                         {"parent", parent},   {"parent_file", parent_file},
                         {"metrics", metrics}, {"change_percent", improvement}};

    const std::string from = parent.is_null() ? "the prior" : "v" + parent.dump();
    run.info("trained on " + std::to_string(result->train_examples) + " posts in " +
             std::to_string(seconds) + " s (best epoch " + std::to_string(report.best_epoch) +
             " of " + std::to_string(report.epochs_run) + "); on the " +
             std::to_string(result->holdout_examples) + " most recent posts BCE " +
             std::to_string(result->candidate_holdout.cross_entropy) + " against " +
             std::to_string(result->current.cross_entropy) + " for " + from + ", MSE " +
             std::to_string(result->candidate_holdout.mse) + " against " +
             std::to_string(result->current.mse));
    if (!run.set_output(output.dump())) return fail(run, "the host refused the output");
    return RF_STATUS_OK;
  }

 private:
  static rf_status fail(const reelflow::Run& run, const std::string& message) {
    return run.fail("models.train: " + message);
  }
};

class Register {
 public:
  rf_status run(reelflow::Run& run) {
    const json options = parse_object(run.options_json());
    if (options.is_null()) return fail(run, "the options are not a JSON object");
    const json context = parse_object(run.context_json());
    const json& candidate = options.value("candidate", json());
    const std::string file = candidate.is_object() ? candidate.value("candidate", "") : "";
    if (file.empty() || !candidate.value("metrics", json()).is_object()) {
      return fail(run,
                  "option `candidate` must be the outputs of a models.train step "
                  "(${{ steps.<id>.outputs }}), with `candidate` and `metrics`");
    }
    // The daemon cannot read LibTorch files; this is where a corrupt candidate is refused.
    if (auto loaded = score::EngagementModel::load(file); !loaded) {
      return fail(run, "candidate " + loaded.error() + "; nothing was registered");
    }
    const std::string key = execution_key(context.is_null() ? json::object() : context);
    const json request = {{"name", candidate.value("name", "engagement")},
                          {"file", file},
                          {"parent", candidate.value("parent", json())},
                          {"metric", options.value("metric", "bce")},
                          {"min_improvement", options.value("min_improvement", 0.001)},
                          {"metrics", candidate["metrics"]},
                          {"key", key}};
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    std::string refusal;
    const auto answer_text = run.call("models.register", request.dump(), &refusal);
    if (!answer_text) return fail(run, refusal);
    const json answer = parse_object(*answer_text);
    if (answer.is_null()) return fail(run, "the daemon's answer is not a JSON object");
    const json output = {{"version", answer.value("version", json())},
                         {"name", answer.value("name", json())},
                         {"status", answer.value("status", json())},
                         {"promoted", answer.value("status", "") == "active"},
                         {"reason", answer.value("reason", json())},
                         {"active", answer.value("active", json())},
                         {"file", answer.value("file", json())},
                         {"installed", answer.value("installed", json())}};
    const std::string version = "v" + answer.value("version", json()).dump();
    run.info(version + (output["promoted"].get<bool>() ? " is now active: " : " was rejected: ") +
             answer.value("reason", ""));
    if (!run.set_output(output.dump())) return fail(run, "the host refused the output");
    return RF_STATUS_OK;
  }

 private:
  static rf_status fail(const reelflow::Run& run, const std::string& message) {
    return run.fail("models.register: " + message);
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Train>({.name = "models.train",
                                .summary = "Train a candidate engagement model (LibTorch)",
                                .flags = RF_STEP_RERUN_SAFE},
                               reelflow::models::kTrainOptions),
    reelflow::step_type<Register>({.name = "models.register",
                                   .summary = "Register a candidate engagement model",
                                   .flags = RF_STEP_RERUN_SAFE},
                                  reelflow::models::kRegisterOptions),
};

constexpr rf_plugin kBackend = reelflow::plugin({.name = "models",
                                                 .version = "1.0.0",
                                                 .license = "Apache-2.0",
                                                 .summary = "models.train backend (LibTorch)"},
                                                kStepTypes);

}  // namespace

REELFLOW_BACKEND(kBackend)
