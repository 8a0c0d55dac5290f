// Retraining the engagement model on what published clips did (the models plugin's
// models.train step; README.md "Retraining"): read the examples the daemon exported
// (models.examples, one JSON object per line, oldest post first), hold out the most recent posts,
// train a candidate from the current model on the older ones, and score both models on the
// holdout. Whether the candidate replaces the current model is the daemon's decision
// (models.register), made on these scores.
//
// Why a holdout by time: the candidate will score clips published after everything it was
// trained on, so it is judged the same way — on the newest posts, which neither model has seen.
// A random split would let it learn from posts published after some of those it is judged on.
//
// Plain C++ over model.hpp: no LibTorch header, like the step. Thread-safety: functions are
// reentrant; the models passed in are only read.
#ifndef REELFLOW_VIDEO_SCORE_RETRAIN_HPP
#define REELFLOW_VIDEO_SCORE_RETRAIN_HPP

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "score/model.hpp"

namespace reelflow::video::score {

// An example and the time its post went out (milliseconds since the epoch, UTC).
struct DatedExample {
  Example example;
  std::int64_t published_at = 0;
};

struct ExampleFile {
  std::vector<DatedExample> examples;  // in file order (the daemon writes oldest first)
  std::size_t unknown_platform = 0;    // posts on a platform the model has no column for: "other"
  std::size_t dropped_embedding = 0;   // embeddings of another length than kEmbeddingDim, left out
  std::size_t bad_hour = 0;            // hours outside 0..23, left out (unknown hour)
};

// Reads a models.examples file: per line {"published_at", "platform", "engagement", "weight",
// "example": {"features": {...}, "embedding": [...], "hour": H}} (other keys are ignored). The
// error names the file, the line and the problem.
tl::expected<ExampleFile, std::string> read_example_file(const std::filesystem::path& path);

// The model's platform for a post's platform (a publisher's name): douyin, kuaishou, tiktok and
// bilibili as they are; youtube -> youtube_shorts, instagram -> instagram_reels, wechat ->
// wechat_channels; the model's own names as they are; anything else -> other (known = false).
Platform model_platform(std::string_view publisher_platform, bool* known = nullptr);

// Weighted binary cross-entropy of the scores against the observed rates (the training loss;
// its floor is the rates' own entropy, not 0) and weighted mean squared error.
struct HoldoutScores {
  double cross_entropy = 0;
  double mse = 0;
  std::size_t examples = 0;
  double weight = 0;  // the sum of the examples' weights
};
HoldoutScores evaluate(const EngagementModel& model, const std::vector<Example>& examples);

struct RetrainOptions {
  // Training on the older examples; its validation_split is a random part of those, for
  // keep_best, never the holdout.
  TrainOptions train;
  double holdout_fraction = 0.2;  // the most recent fraction of the examples ...
  std::size_t holdout_count = 0;  // ... or, when > 0, this many
  std::size_t min_holdout = 10;   // fewer is an error: the comparison would be noise
  std::size_t min_train = 10;
  // Early stopping: stop once the validation loss has not improved by more than min_delta
  // (relative) for this many epochs in a row (0: run every epoch). With train.keep_best the best
  // epoch's weights are kept either way.
  int patience = 0;
  double min_delta = 1e-4;
};

struct RetrainResult {
  EngagementModel candidate;  // the current model trained further
  TrainReport report;
  std::size_t train_examples = 0;
  std::size_t holdout_examples = 0;
  std::int64_t train_to = 0;      // published_at of the newest training example
  std::int64_t holdout_from = 0;  // ... of the oldest and newest holdout example
  std::int64_t holdout_to = 0;
  HoldoutScores current;            // the current model on the holdout
  HoldoutScores candidate_holdout;  // the candidate on the holdout
};

// Sorts the examples by publish time (stable), holds out the most recent ones, trains a copy of
// `current` on the rest and scores both on the holdout. The error names the problem (too few
// examples, bad options, a bad example); `current` is never changed.
tl::expected<RetrainResult, std::string> retrain(const EngagementModel& current,
                                                 std::vector<DatedExample> examples,
                                                 const RetrainOptions& options);

}  // namespace reelflow::video::score

#endif  // REELFLOW_VIDEO_SCORE_RETRAIN_HPP
