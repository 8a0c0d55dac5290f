// Option tables of the models plugin's steps, shared by the thin models.so (which the daemon
// loads to validate workflows) and its LibTorch backend models.d/train.so. Plain SDK code.
#ifndef REELFLOW_MODELS_MODEL_OPTIONS_HPP
#define REELFLOW_MODELS_MODEL_OPTIONS_HPP

#include <reelflow/plugin.hpp>

namespace reelflow::models {

namespace option = reelflow::option;

inline constexpr rf_option kExamplesOptions[] = {
    option::string("name", reelflow::json_string<"engagement">,
                   "The model: its versions, and the installed file <state>/models/<name>.pt "
                   "that video.score's `model` option points at."),
    option::string("label", reelflow::json_string<"24h">,
                   "Which metrics pull is a post's outcome: one of the publisher steps' "
                   "metrics_at labels (1h, 6h, 24h, 3d, 7d). Posts without it yet are left out."),
    option::list("engaged", RF_OPT_STRING, R"(["likes", "comments", "shares"])",
                 "The counters that make the outcome: engagement = their sum / views.")
        .min(1)
        .max(16),
    option::integer("min_views", "10",
                    "Posts with fewer views at the label are left out (their rate is noise).")
        .range(1, 1e9),
    option::integer("weight_cap", "10000",
                    "A post weighs min(views, weight_cap) in training and evaluation, so a few "
                    "viral posts do not outweigh all others.")
        .range(1, 1e12),
    option::integer("min_examples", "200",
                    "Fewer usable examples than this: `ready` is false (train and register "
                    "steps should be skipped with `if: ${{ steps.<id>.outputs.ready }}`).")
        .range(20, 1e9),
    option::integer("min_new_examples", "50",
                    "Fewer examples published since the newest registered version was trained: "
                    "`ready` is false (nothing new to learn from).")
        .range(0, 1e9),
};

inline constexpr const char* kTrainFrom[] = {"active", "prior", nullptr};

inline constexpr rf_option kTrainOptions[] = {
    option::object("examples", reelflow::no_default,
                   "The outputs of a models.examples step: ${{ steps.<id>.outputs }}.")
        .required(),
    option::enumeration("from", kTrainFrom, reelflow::json_string<"active">,
                        "Train further from the active version (its weights are also what "
                        "weight_decay pulls towards), or start from the built-in prior."),
    option::number("holdout", "0.2",
                   "The most recent fraction of the examples (by publish time) held out: both "
                   "the active model and the candidate are scored on it.")
        .range(0.01, 0.9),
    option::integer("holdout_count", "0",
                    "Hold out this many most recent examples instead of a fraction (0: use "
                    "`holdout`).")
        .range(0, 1e9),
    option::integer("epochs", "20", "At most this many passes over the training examples.")
        .range(1, 10000),
    option::integer("patience", "3",
                    "Stop once the validation loss has not improved for this many epochs in a "
                    "row (the best epoch's weights are kept); 0: run every epoch.")
        .range(0, 10000),
    option::integer("batch_size", "256", "Examples per Adam step.").range(1, 1e6),
    option::number("learning_rate", "0.003", "Adam's step size.").range(1e-6, 1),
    option::number("weight_decay", "0.0001",
                   "L2 pull towards the starting weights (README.md of video.score, "
                   "\"Training\").")
        .range(0, 10),
    option::number("validation_split", "0.1",
                   "A random part of the training examples for keeping the best epoch (never "
                   "the holdout).")
        .range(0, 0.5),
    option::integer("seed", "1", "Seeds the validation split and the batch order.")
        .range(0, 4294967295.0),
};

inline constexpr const char* kMetrics[] = {"bce", "mse", nullptr};

inline constexpr rf_option kRegisterOptions[] = {
    option::object("candidate", reelflow::no_default,
                   "The outputs of a models.train step: ${{ steps.<id>.outputs }}.")
        .required(),
    option::enumeration("metric", kMetrics, reelflow::json_string<"bce">,
                        "What decides on the holdout: bce (weighted cross-entropy, the training "
                        "loss) or mse (weighted squared error of the rates)."),
    option::number("min_improvement", "0.001",
                   "The candidate replaces the active version only if its holdout metric is "
                   "lower by at least this fraction (0.001 = 0.1 %).")
        .range(0, 0.99),
};

}  // namespace reelflow::models

#endif  // REELFLOW_MODELS_MODEL_OPTIONS_HPP
