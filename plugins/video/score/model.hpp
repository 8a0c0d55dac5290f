// The engagement model of video.score: a small MLP that maps a clip's quality features and its
// publishing context to a 0..1 engagement score.
//
// Inputs, in this order (see README.md for the table):
//   - the named features of video.extract (kFeatureNames), each normalised to
//     z = clamp((t(value) - t(neutral)) / scale, -4, 4) with t the identity or a log; a missing
//     feature takes its neutral value (z = 0);
//   - the platform, one-hot over kPlatformNames;
//   - the hour of day as (sin, cos) of 2*pi*hour/24, (0, 0) when unknown;
//   - an optional image embedding of kEmbeddingDim numbers (zeros when absent).
// Network: hidden = relu(W1 x + b1), score = sigmoid(w2 . hidden + b2).
//
// EngagementModel::prior() has hand-set weights documented as a heuristic prior (README.md);
// train() fits the weights to observed engagement (click-through or completion rates), starting
// from whatever weights the model holds; save()/load() keep a model in one file.
//
// No LibTorch in this header: it is plain C++ so that the step and the tests compile fast; the
// implementation (model.cpp) is the only translation unit of the model that includes LibTorch.
// The library runs LibTorch with one intra-op thread (deterministic results, and a worker runs
// one step at a time) and seeds every random draw from TrainOptions::seed.
//
// Thread-safety: const member functions may be called concurrently; train() and assignment need
// exclusive access.
#ifndef REELFLOW_VIDEO_SCORE_MODEL_HPP
#define REELFLOW_VIDEO_SCORE_MODEL_HPP

// model.cpp is compiled with LibTorch's -D_GLIBCXX_USE_CXX11_ABI=1; std::string crosses this
// interface, so every translation unit that includes it must use the same libstdc++ ABI.
#if defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI != 1
#error "score/model.hpp: compile with the libstdc++ C++11 ABI, as LibTorch is"
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace reelflow::video::score {

// The feature names of video.extract's clips, in the order of the model's inputs.
inline constexpr std::array<std::string_view, 15> kFeatureNames = {
    "duration",      "motion",        "sharpness",   "brightness",  "contrast",
    "colourfulness", "text_ratio",    "face_ratio",  "face_area",   "brisque",
    "loudness_lufs", "silence_ratio", "voice_ratio", "music_ratio", "cuts_per_minute"};

enum class Platform {
  douyin,
  kuaishou,
  wechat_channels,
  youtube_shorts,
  tiktok,
  bilibili,
  instagram_reels,
  other
};
inline constexpr std::array<std::string_view, 8> kPlatformNames = {
    "douyin", "kuaishou", "wechat_channels", "youtube_shorts",
    "tiktok", "bilibili", "instagram_reels", "other"};

std::optional<Platform> platform_from_name(std::string_view name);
std::string_view platform_name(Platform platform);

// Length of the image embedding input (see embedding.hpp).
inline constexpr std::size_t kEmbeddingDim = 16;

// One clip's inputs: named feature values (an absent name is a missing feature) and an optional
// embedding (empty, or exactly kEmbeddingDim numbers).
struct Features {
  std::map<std::string, double, std::less<>> values;
  std::vector<double> embedding;
};

struct Context {
  Platform platform = Platform::other;
  std::optional<int> hour;  // local hour of publishing, 0..23; nullopt = unknown (neutral)
};

// How one feature is normalised: z = clamp((t(value) - t(neutral)) / scale, -4, 4), t = identity
// ("linear") or natural log of max(value, 1e-6) ("log").
struct FeatureSpec {
  std::string name;
  std::string transform;  // "linear" or "log"
  double neutral = 0;     // raw value that maps to z = 0; used for a missing feature
  double scale = 1;       // in units of t(value)
};

// What moved one clip's score: the change of the model's logit when one input alone is set to
// its neutral value (feature -> neutral, platform -> "other", hour -> unknown, embedding -> none),
// i.e. positive values raised the score.
struct Contribution {
  std::string input;  // a feature name, "platform", "hour" or "embedding"
  double logit_change = 0;
};

struct Explanation {
  double score = 0;  // sigmoid(logit), 0..1
  double logit = 0;
  std::vector<Contribution> contributions;  // largest |logit_change| first
  std::vector<std::string> missing;         // model features absent from Features::values
  std::vector<std::string> ignored;         // names in Features::values the model does not use
};

// One observation for training: a clip's inputs and its observed engagement in 0..1 (e.g. a
// click-through or completion rate), with a weight (e.g. the number of impressions behind it).
struct Example {
  Features features;
  Context context;
  double engagement = 0;
  double weight = 1;
};

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0;  // the weighted mean of the epoch's batch losses (each before its update)
  std::optional<double> validation_loss;
};

struct TrainOptions {
  int epochs = 200;
  double learning_rate = 0.01;  // Adam
  // L2 pull towards the weights the model had when train() started (the prior, or the loaded
  // model), not towards zero: with few examples the model stays close to what it knew.
  double weight_decay = 1e-4;
  std::uint64_t seed = 1;         // the validation split, batch order and nothing else
  double validation_split = 0.2;  // fraction held out, 0 for none
  int batch_size = 64;
  // Keep the weights of the epoch with the lowest validation loss (train loss without a
  // validation set) instead of the last epoch's.
  bool keep_best = true;
  // Called after every epoch; returning false stops training (e.g. when the step is cancelled).
  std::function<bool(const EpochStats&)> on_epoch;
};

// Losses are the weighted binary cross-entropy against the soft targets (its floor is the
// targets' own entropy, not 0); MSE is the weighted mean squared error of the scores.
struct TrainReport {
  std::size_t train_examples = 0;
  std::size_t validation_examples = 0;
  int epochs_run = 0;
  int best_epoch = 0;  // 0: the starting weights were kept
  double initial_train_loss = 0;
  double train_loss = 0;
  std::optional<double> initial_validation_loss;
  std::optional<double> validation_loss;
  std::optional<double> initial_validation_mse;
  std::optional<double> validation_mse;
};

class EngagementModel {
 public:
  // The heuristic prior (README.md, "The prior"). Deterministic: the same weights every time.
  static EngagementModel prior();

  // Reads a file written by save(). The error names the file and the problem (missing, not a
  // model archive, wrong format version, inconsistent shapes, non-finite weights).
  static tl::expected<EngagementModel, std::string> load(const std::filesystem::path& path);

  // Writes the model atomically (a temporary file renamed over path).
  tl::expected<void, std::string> save(const std::filesystem::path& path) const;

  EngagementModel(const EngagementModel& other);  // a deep copy
  EngagementModel& operator=(const EngagementModel& other);
  EngagementModel(EngagementModel&&) noexcept;
  EngagementModel& operator=(EngagementModel&&) noexcept;
  ~EngagementModel();

  // 0..1. Throws std::invalid_argument for a programmer error: an embedding that is neither
  // empty nor kEmbeddingDim long, an hour outside 0..23, a non-finite feature value.
  double predict(const Features& features, const Context& context) const;
  std::vector<double> predict(const std::vector<Example>& examples) const;

  // The score with the contributions of each input present (see Contribution).
  Explanation explain(const Features& features, const Context& context) const;

  // Fits the weights to examples, starting from the current ones. The error names the first bad
  // example (engagement outside 0..1, non-positive weight, wrong embedding length, bad hour) or
  // option. The model is unchanged on error.
  tl::expected<TrainReport, std::string> train(const std::vector<Example>& examples,
                                               const TrainOptions& options);

  // "prior", or what save() recorded ("trained on N examples ...").
  const std::string& description() const;
  void set_description(std::string description);
  const std::vector<FeatureSpec>& features() const;
  std::size_t hidden_units() const;

  struct Impl;  // opaque: defined in model.cpp only

 private:
  explicit EngagementModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::video::score

#endif  // REELFLOW_VIDEO_SCORE_MODEL_HPP
