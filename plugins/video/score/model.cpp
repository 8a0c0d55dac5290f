// The engagement model (model.hpp) on LibTorch: the prior's weights, inference, training and the
// model file. The only translation unit of reelflow_video_score_model that includes LibTorch.
#include "score/model.hpp"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <numbers>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "score/torch_support.hpp"

namespace reelflow::video::score {

namespace {

namespace fs = std::filesystem;

constexpr double kClamp = 4.0;      // |z| of a normalised feature
constexpr double kLogFloor = 1e-6;  // t(value) = log(max(value, kLogFloor)) for "log" features
constexpr std::int64_t kPlatformCount = kPlatformNames.size();
constexpr std::int64_t kHourColumns = 2;  // sin, cos
constexpr std::int64_t kEmbeddingColumns = kEmbeddingDim;
constexpr std::int64_t kSpareUnits = 16;  // free hidden units the prior leaves to training
constexpr std::uint64_t kPriorSeed = 20240601;
constexpr const char* kFormat = "reelflow-engagement-model";
constexpr int kFormatVersion = 1;

// ---- The heuristic prior (README.md, "The prior"): keep the two in step. --------------------

// Logit change per unit of z above and below the neutral value: a feature that helps has positive
// slopes on both sides; slope_below > slope_above means "falling short hurts more than excess
// helps".
struct FeaturePrior {
  std::string_view name;
  std::string_view transform;
  double neutral;
  double scale;
  double slope_above;
  double slope_below;
};

constexpr FeaturePrior kFeaturePriors[] = {
    {"duration", "log", 20, 0.7, 0, 0},  // platform-relative: see kDurationWindows
    {"motion", "linear", 8, 6, 0.15, 0.30},
    {"sharpness", "log", 150, 1.0, 0.50, 0.70},
    {"brightness", "linear", 120, 40, 0.20, 0.50},
    {"contrast", "linear", 50, 20, 0.20, 0.30},
    {"colourfulness", "linear", 40, 25, 0.30, 0.30},
    {"text_ratio", "linear", 0.1, 0.15, 0.10, 0.10},
    {"face_ratio", "linear", 0.3, 0.3, 0.50, 0.40},
    {"face_area", "linear", 0.05, 0.08, 0.20, 0.20},
    {"brisque", "linear", 35, 15, -0.50, -0.30},
    {"loudness_lufs", "linear", -16, 6, 0.0, 0.30},
    {"silence_ratio", "linear", 0.2, 0.2, -0.60, -0.20},
    {"voice_ratio", "linear", 0.4, 0.3, 0.40, 0.30},
    {"music_ratio", "linear", 0.3, 0.3, 0.15, 0.15},
    {"cuts_per_minute", "linear", 12, 8, 0.20, 0.30},
};

consteval bool priors_follow_feature_names() {
  if (std::size(kFeaturePriors) != kFeatureNames.size()) return false;
  for (std::size_t i = 0; i < kFeatureNames.size(); ++i) {
    if (kFeaturePriors[i].name != kFeatureNames[i]) return false;
  }
  return true;
}
static_assert(priors_follow_feature_names(), "kFeaturePriors must list kFeatureNames in order");

// A hidden unit relu(direction * z(feature) - threshold) with a fixed output weight: an extra
// penalty beyond a threshold (blown-out or very dark frames, frantic cutting, clipping audio).
struct HingePrior {
  std::string_view feature;
  double direction;
  double threshold;  // in z units
  double output_weight;
};

constexpr HingePrior kHingePriors[] = {
    {"brightness", +1, 2.0, -1.5},       // mean luma above 200: blown out
    {"brightness", -1, 1.5, -1.0},       // mean luma below 60: very dark
    {"cuts_per_minute", +1, 1.5, -0.6},  // more than 24 cuts a minute
    {"loudness_lufs", +1, 2.0, -0.5},    // louder than -4 LUFS: clipping
};

// The clip length each platform's audience finishes, in seconds (kPlatformNames order). Two
// hidden units read log(duration) against these bounds through the platform one-hot.
struct DurationWindow {
  double shortest;
  double longest;
};
constexpr DurationWindow kDurationWindows[kPlatformCount] = {
    {8, 40},    // douyin
    {8, 45},    // kuaishou
    {10, 60},   // wechat_channels
    {15, 60},   // youtube_shorts
    {8, 40},    // tiktok
    {30, 180},  // bilibili
    {7, 30},    // instagram_reels
    {10, 60},   // other
};
constexpr double kTooLongWeight = -0.8;  // per z unit (x2 in length) beyond the window
constexpr double kTooShortWeight = -0.6;

// Publishing hour: logit += kHourAmplitude * cos(2 pi (hour - kHourPeak) / 24).
constexpr double kHourAmplitude = 0.2;
constexpr double kHourPeak = 20;

// ---- Helpers -------------------------------------------------------------------------------

const at::TensorOptions kDouble = at::TensorOptions().dtype(at::kDouble);

double transformed(const FeatureSpec& spec, double value) {
  return spec.transform == "log" ? std::log(std::max(value, kLogFloor)) : value;
}

double normalised(const FeatureSpec& spec, double value) {
  const double z = (transformed(spec, value) - transformed(spec, spec.neutral)) / spec.scale;
  return std::clamp(z, -kClamp, kClamp);
}

// nullopt when the inputs are well formed; otherwise what is wrong with them.
std::optional<std::string> check_inputs(const Features& features, const Context& context) {
  if (!features.embedding.empty() && features.embedding.size() != kEmbeddingDim) {
    return "the embedding has " + std::to_string(features.embedding.size()) + " numbers, not " +
           std::to_string(kEmbeddingDim);
  }
  for (const double value : features.embedding) {
    if (!std::isfinite(value)) return std::string("the embedding has a non-finite number");
  }
  if (context.hour && (*context.hour < 0 || *context.hour > 23)) {
    return "hour " + std::to_string(*context.hour) + " is not in 0..23";
  }
  const auto platform = static_cast<std::size_t>(context.platform);
  if (platform >= kPlatformNames.size()) return std::string("unknown platform");
  for (const auto& [name, value] : features.values) {
    if (!std::isfinite(value)) return "feature '" + name + "' is not a finite number";
  }
  return std::nullopt;
}

std::vector<double> tensor_values(const at::Tensor& tensor) {
  const at::Tensor flat = tensor.detach().to(at::kDouble).contiguous().reshape({-1});
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

}  // namespace

std::optional<Platform> platform_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kPlatformNames.size(); ++i) {
    if (kPlatformNames[i] == name) return static_cast<Platform>(i);
  }
  return std::nullopt;
}

std::string_view platform_name(Platform platform) {
  return kPlatformNames.at(static_cast<std::size_t>(platform));
}

// ---- Impl ----------------------------------------------------------------------------------

struct EngagementModel::Impl {
  std::vector<FeatureSpec> features;
  std::string description;
  nlohmann::json training;  // the last training report, null if never trained
  // hidden = relu(x W1^T + b1), logit = hidden w2^T + b2; all double, CPU.
  at::Tensor hidden_weight;  // [H, D]
  at::Tensor hidden_bias;    // [H]
  at::Tensor output_weight;  // [1, H]
  at::Tensor output_bias;    // [1]

  std::int64_t feature_count() const { return static_cast<std::int64_t>(features.size()); }
  std::int64_t platform_column(Platform platform) const {
    return feature_count() + static_cast<std::int64_t>(platform);
  }
  std::int64_t hour_column() const { return feature_count() + kPlatformCount; }
  std::int64_t embedding_column() const { return hour_column() + kHourColumns; }
  std::int64_t input_dim() const { return embedding_column() + kEmbeddingColumns; }

  std::vector<at::Tensor> parameters() const {
    return {hidden_weight, hidden_bias, output_weight, output_bias};
  }
  void set_parameters(const std::vector<at::Tensor>& values) {
    hidden_weight = values.at(0);
    hidden_bias = values.at(1);
    output_weight = values.at(2);
    output_bias = values.at(3);
  }

  std::unique_ptr<Impl> clone() const {
    auto copy = std::make_unique<Impl>(*this);
    std::vector<at::Tensor> values;
    for (const at::Tensor& parameter : parameters()) values.push_back(parameter.detach().clone());
    copy->set_parameters(values);
    return copy;
  }

  // Writes the D inputs of one clip into row (zeroed by the caller).
  void encode(const Features& input, const Context& context, double* row,
              Explanation* notes) const {
    for (std::int64_t i = 0; i < feature_count(); ++i) {
      const FeatureSpec& spec = features[static_cast<std::size_t>(i)];
      const auto found = input.values.find(spec.name);
      if (found == input.values.end()) {
        if (notes != nullptr) notes->missing.push_back(spec.name);
        continue;  // z = 0: the neutral value
      }
      row[i] = normalised(spec, found->second);
    }
    if (notes != nullptr) {
      for (const auto& [name, value] : input.values) {
        const bool known = std::any_of(features.begin(), features.end(),
                                       [&](const FeatureSpec& spec) { return spec.name == name; });
        if (!known) notes->ignored.push_back(name);
      }
    }
    row[platform_column(context.platform)] = 1.0;
    if (context.hour) {
      const double angle = 2 * std::numbers::pi * *context.hour / 24.0;
      row[hour_column()] = std::sin(angle);
      row[hour_column() + 1] = std::cos(angle);
    }
    for (std::size_t i = 0; i < input.embedding.size(); ++i) {
      row[embedding_column() + static_cast<std::int64_t>(i)] = input.embedding[i];
    }
  }

  at::Tensor encode_all(const std::vector<Example>& examples) const {
    const std::int64_t width = input_dim();
    at::Tensor inputs = at::zeros({static_cast<std::int64_t>(examples.size()), width}, kDouble);
    double* data = inputs.data_ptr<double>();
    for (std::size_t i = 0; i < examples.size(); ++i) {
      encode(examples[i].features, examples[i].context, data + static_cast<std::int64_t>(i) * width,
             nullptr);
    }
    return inputs;
  }

  static at::Tensor logits(const std::vector<at::Tensor>& parameters, const at::Tensor& inputs) {
    const at::Tensor hidden = at::relu(at::linear(inputs, parameters[0], parameters[1]));
    return at::linear(hidden, parameters[2], parameters[3]).squeeze(-1);
  }
  at::Tensor logits(const at::Tensor& inputs) const { return logits(parameters(), inputs); }
};

namespace {

// Weighted binary cross-entropy (soft targets) and weighted MSE of the scores.
struct Losses {
  double cross_entropy = 0;
  double mse = 0;
};

Losses evaluate(const std::vector<at::Tensor>& parameters, const at::Tensor& inputs,
                const at::Tensor& targets, const at::Tensor& weights) {
  const at::NoGradGuard no_grad;
  const at::Tensor logits = EngagementModel::Impl::logits(parameters, inputs);
  const double total_weight = weights.sum().item<double>();
  const double cross_entropy =
      at::binary_cross_entropy_with_logits(logits, targets, weights, {}, at::Reduction::Sum)
          .item<double>() /
      total_weight;
  const double mse =
      ((at::sigmoid(logits) - targets).square() * weights).sum().item<double>() / total_weight;
  return {cross_entropy, mse};
}

std::unique_ptr<EngagementModel::Impl> build_prior() {
  detail::use_one_torch_thread();
  auto impl = std::make_unique<EngagementModel::Impl>();
  impl->description = "prior";
  impl->training = nullptr;
  for (const FeaturePrior& prior : kFeaturePriors) {
    impl->features.push_back(
        {std::string(prior.name), std::string(prior.transform), prior.neutral, prior.scale});
  }
  const auto feature_index = [&](std::string_view name) {
    for (std::size_t i = 0; i < kFeatureNames.size(); ++i) {
      if (kFeatureNames[i] == name) return static_cast<std::int64_t>(i);
    }
    throw std::logic_error("no feature " + std::string(name));
  };

  const std::int64_t inputs = impl->input_dim();
  const std::int64_t pair_units = 2 * inputs;
  const std::int64_t hinge_units = static_cast<std::int64_t>(std::size(kHingePriors)) + 2;
  const std::int64_t hidden = pair_units + hinge_units + kSpareUnits;
  at::Tensor w1 = at::zeros({hidden, inputs}, kDouble);
  at::Tensor b1 = at::zeros({hidden}, kDouble);
  at::Tensor w2 = at::zeros({1, hidden}, kDouble);
  at::Tensor b2 = at::zeros({1}, kDouble);
  auto w1a = w1.accessor<double, 2>();
  auto b1a = b1.accessor<double, 1>();
  auto w2a = w2.accessor<double, 2>();

  // Every input passes through a pair of units, relu(x) and relu(-x), whose difference is x: the
  // first layer is an exact identity, and the second layer can weigh each side on its own.
  const auto set_slopes = [&](std::int64_t column, double above, double below) {
    w2a[0][2 * column] = above;
    w2a[0][2 * column + 1] = -below;
  };
  for (std::int64_t column = 0; column < inputs; ++column) {
    w1a[2 * column][column] = 1.0;
    w1a[2 * column + 1][column] = -1.0;
  }
  for (std::size_t i = 0; i < std::size(kFeaturePriors); ++i) {
    set_slopes(static_cast<std::int64_t>(i), kFeaturePriors[i].slope_above,
               kFeaturePriors[i].slope_below);
  }
  const double peak = 2 * std::numbers::pi * kHourPeak / 24.0;
  const double sin_slope = kHourAmplitude * std::sin(peak);
  const double cos_slope = kHourAmplitude * std::cos(peak);
  set_slopes(impl->hour_column(), sin_slope, sin_slope);
  set_slopes(impl->hour_column() + 1, cos_slope, cos_slope);

  std::int64_t unit = pair_units;
  for (const HingePrior& hinge : kHingePriors) {
    w1a[unit][feature_index(hinge.feature)] = hinge.direction;
    b1a[unit] = -hinge.threshold;
    w2a[0][unit] = hinge.output_weight;
    ++unit;
  }
  // Duration against the platform's window: relu(z - z(longest_p)) and relu(z(shortest_p) - z).
  const FeatureSpec& duration = impl->features[static_cast<std::size_t>(feature_index("duration"))];
  const std::int64_t duration_column = feature_index("duration");
  const auto z_of = [&](double seconds) {
    return (std::log(seconds) - std::log(duration.neutral)) / duration.scale;
  };
  for (std::int64_t p = 0; p < kPlatformCount; ++p) {
    const std::int64_t column = impl->platform_column(static_cast<Platform>(p));
    w1a[unit][column] = -z_of(kDurationWindows[p].longest);
    w1a[unit + 1][column] = z_of(kDurationWindows[p].shortest);
  }
  w1a[unit][duration_column] = 1.0;
  w2a[0][unit] = kTooLongWeight;
  w1a[unit + 1][duration_column] = -1.0;
  w2a[0][unit + 1] = kTooShortWeight;
  unit += 2;

  // Spare units: small fixed-seed random input weights and a zero output weight, so they change
  // nothing until training gives them a use.
  at::Generator generator = at::detail::createCPUGenerator(kPriorSeed);
  w1.slice(0, unit, hidden)
      .copy_(at::randn({hidden - unit, inputs}, generator, kDouble) /
             std::sqrt(static_cast<double>(inputs)));

  impl->set_parameters({w1, b1, w2, b2});
  return impl;
}

nlohmann::json report_json(const TrainReport& report) {
  nlohmann::json out = {{"train_examples", report.train_examples},
                        {"validation_examples", report.validation_examples},
                        {"epochs_run", report.epochs_run},
                        {"best_epoch", report.best_epoch},
                        {"initial_train_loss", report.initial_train_loss},
                        {"train_loss", report.train_loss}};
  if (report.validation_loss) {
    out["initial_validation_loss"] = *report.initial_validation_loss;
    out["validation_loss"] = *report.validation_loss;
    out["initial_validation_mse"] = *report.initial_validation_mse;
    out["validation_mse"] = *report.validation_mse;
  }
  return out;
}

}  // namespace

// ---- EngagementModel -----------------------------------------------------------------------

EngagementModel::EngagementModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngagementModel::EngagementModel(const EngagementModel& other) : impl_(other.impl_->clone()) {}
EngagementModel& EngagementModel::operator=(const EngagementModel& other) {
  if (this != &other) impl_ = other.impl_->clone();
  return *this;
}
EngagementModel::EngagementModel(EngagementModel&&) noexcept = default;
EngagementModel& EngagementModel::operator=(EngagementModel&&) noexcept = default;
EngagementModel::~EngagementModel() = default;

EngagementModel EngagementModel::prior() { return EngagementModel(build_prior()); }

const std::string& EngagementModel::description() const { return impl_->description; }
void EngagementModel::set_description(std::string description) {
  impl_->description = std::move(description);
}
const std::vector<FeatureSpec>& EngagementModel::features() const { return impl_->features; }
std::size_t EngagementModel::hidden_units() const {
  return static_cast<std::size_t>(impl_->hidden_weight.size(0));
}

double EngagementModel::predict(const Features& features, const Context& context) const {
  return explain(features, context).score;
}

std::vector<double> EngagementModel::predict(const std::vector<Example>& examples) const {
  for (const Example& example : examples) {
    if (auto problem = check_inputs(example.features, example.context)) {
      throw std::invalid_argument("EngagementModel::predict: " + *problem);
    }
  }
  if (examples.empty()) return {};
  const at::NoGradGuard no_grad;
  return tensor_values(at::sigmoid(impl_->logits(impl_->encode_all(examples))));
}

Explanation EngagementModel::explain(const Features& features, const Context& context) const {
  if (auto problem = check_inputs(features, context)) {
    throw std::invalid_argument("EngagementModel::predict: " + *problem);
  }
  Explanation explanation;
  std::vector<double> base(static_cast<std::size_t>(impl_->input_dim()), 0.0);
  impl_->encode(features, context, base.data(), &explanation);

  // Row 0: the clip as it is; then one row per input present with that input set to neutral.
  std::vector<std::string> names;
  std::vector<std::vector<double>> rows = {base};
  const auto occlude = [&](std::string name, std::int64_t first, std::int64_t count) {
    std::vector<double> row = base;
    std::fill_n(row.begin() + first, count, 0.0);
    names.push_back(std::move(name));
    rows.push_back(std::move(row));
    return &rows.back();
  };
  for (std::int64_t i = 0; i < impl_->feature_count(); ++i) {
    const std::string& name = impl_->features[static_cast<std::size_t>(i)].name;
    if (features.values.contains(name)) occlude(name, i, 1);
  }
  if (context.platform != Platform::other) {
    std::vector<double>* row =
        occlude("platform", impl_->platform_column(Platform::douyin), kPlatformCount);
    (*row)[static_cast<std::size_t>(impl_->platform_column(Platform::other))] = 1.0;
  }
  if (context.hour) occlude("hour", impl_->hour_column(), kHourColumns);
  if (!features.embedding.empty()) {
    occlude("embedding", impl_->embedding_column(), kEmbeddingColumns);
  }

  const std::int64_t width = impl_->input_dim();
  at::Tensor inputs = at::empty({static_cast<std::int64_t>(rows.size()), width}, kDouble);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(),
              inputs.data_ptr<double>() + static_cast<std::int64_t>(r) * width);
  }
  std::vector<double> logits;
  {
    const at::NoGradGuard no_grad;
    logits = tensor_values(impl_->logits(inputs));
  }
  explanation.logit = logits[0];
  explanation.score = 1.0 / (1.0 + std::exp(-logits[0]));
  for (std::size_t i = 0; i < names.size(); ++i) {
    explanation.contributions.push_back({names[i], logits[0] - logits[i + 1]});
  }
  std::stable_sort(explanation.contributions.begin(), explanation.contributions.end(),
                   [](const Contribution& a, const Contribution& b) {
                     return std::abs(a.logit_change) > std::abs(b.logit_change);
                   });
  return explanation;
}

tl::expected<TrainReport, std::string> EngagementModel::train(const std::vector<Example>& examples,
                                                              const TrainOptions& options) {
  const auto fail = [](std::string message) {
    return tl::unexpected<std::string>("training: " + std::move(message));
  };
  if (options.epochs < 1) return fail("epochs must be at least 1");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    return fail("the learning rate must be a positive number");
  }
  if (!(options.weight_decay >= 0) || !std::isfinite(options.weight_decay)) {
    return fail("the weight decay must be a number >= 0");
  }
  if (!(options.validation_split >= 0 && options.validation_split < 1)) {
    return fail("the validation split must be in [0, 1)");
  }
  if (options.batch_size < 1) return fail("the batch size must be at least 1");
  if (examples.empty()) return fail("no examples");
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const Example& example = examples[i];
    const std::string where = "example " + std::to_string(i) + ": ";
    if (auto problem = check_inputs(example.features, example.context)) {
      return fail(where + *problem);
    }
    if (!(example.engagement >= 0 && example.engagement <= 1)) {
      return fail(where + "engagement must be in 0..1");
    }
    if (!(example.weight > 0) || !std::isfinite(example.weight)) {
      return fail(where + "the weight must be a positive number");
    }
  }

  try {
    detail::use_one_torch_thread();
    const auto count = static_cast<std::int64_t>(examples.size());
    const at::Tensor inputs = impl_->encode_all(examples);
    std::vector<double> target_values;
    std::vector<double> weight_values;
    for (const Example& example : examples) {
      target_values.push_back(example.engagement);
      weight_values.push_back(example.weight);
    }
    const at::Tensor targets = at::tensor(target_values, kDouble);
    const at::Tensor weights = at::tensor(weight_values, kDouble);

    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    const at::Tensor order = at::randperm(count, generator, at::TensorOptions(at::kLong));
    std::int64_t validation_count = static_cast<std::int64_t>(
        std::llround(options.validation_split * static_cast<double>(count)));
    validation_count = std::clamp<std::int64_t>(validation_count, 0, count - 1);
    const at::Tensor validation_rows = order.slice(0, 0, validation_count);
    const at::Tensor train_rows = order.slice(0, validation_count, count);
    const at::Tensor train_inputs = inputs.index_select(0, train_rows);
    const at::Tensor train_targets = targets.index_select(0, train_rows);
    const at::Tensor train_weights = weights.index_select(0, train_rows);
    const at::Tensor validation_inputs = inputs.index_select(0, validation_rows);
    const at::Tensor validation_targets = targets.index_select(0, validation_rows);
    const at::Tensor validation_weights = weights.index_select(0, validation_rows);
    const std::int64_t train_count = count - validation_count;

    // Train copies; the model takes them only at the end.
    std::vector<at::Tensor> parameters;
    std::vector<at::Tensor> anchors;
    for (const at::Tensor& parameter : impl_->parameters()) {
      anchors.push_back(parameter.detach().clone());
      parameters.push_back(parameter.detach().clone().requires_grad_(true));
    }
    const auto snapshot = [&] {
      std::vector<at::Tensor> copy;
      for (const at::Tensor& parameter : parameters) copy.push_back(parameter.detach().clone());
      return copy;
    };
    const auto monitored = [&](const std::vector<at::Tensor>& values) {
      return validation_count > 0
                 ? evaluate(values, validation_inputs, validation_targets, validation_weights)
                 : evaluate(values, train_inputs, train_targets, train_weights);
    };

    TrainReport report;
    report.train_examples = static_cast<std::size_t>(train_count);
    report.validation_examples = static_cast<std::size_t>(validation_count);
    report.initial_train_loss =
        evaluate(parameters, train_inputs, train_targets, train_weights).cross_entropy;
    if (validation_count > 0) {
      const Losses initial =
          evaluate(parameters, validation_inputs, validation_targets, validation_weights);
      report.initial_validation_loss = initial.cross_entropy;
      report.initial_validation_mse = initial.mse;
    }

    std::vector<at::Tensor> best = snapshot();
    double best_loss = monitored(best).cross_entropy;
    torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(options.learning_rate));
    const double train_weight = train_weights.sum().item<double>();
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      const at::Tensor shuffled =
          at::randperm(train_count, generator, at::TensorOptions(at::kLong));
      double epoch_loss = 0;  // the batches' weighted BCE sums
      for (std::int64_t start = 0; start < train_count; start += options.batch_size) {
        const at::Tensor rows = shuffled.slice(
            0, start, std::min<std::int64_t>(start + options.batch_size, train_count));
        const at::Tensor batch_weights = train_weights.index_select(0, rows);
        const at::Tensor logits = Impl::logits(parameters, train_inputs.index_select(0, rows));
        const at::Tensor batch_loss =
            at::binary_cross_entropy_with_logits(logits, train_targets.index_select(0, rows),
                                                 batch_weights, {}, at::Reduction::Sum);
        epoch_loss += batch_loss.item<double>();
        at::Tensor loss = batch_loss / batch_weights.sum();
        if (options.weight_decay > 0) {
          for (std::size_t i = 0; i < parameters.size(); ++i) {
            loss = loss + options.weight_decay * (parameters[i] - anchors[i]).square().sum();
          }
        }
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
      }
      report.epochs_run = epoch;
      EpochStats stats;
      stats.epoch = epoch;
      // The mean of the epoch's batch losses, each taken before its update: free, where another
      // pass over every training example would cost a third of the epoch again.
      stats.train_loss = epoch_loss / train_weight;
      const double loss = monitored(parameters).cross_entropy;
      if (validation_count > 0) stats.validation_loss = loss;
      if (!options.keep_best || loss < best_loss) {
        best_loss = loss;
        best = snapshot();
        report.best_epoch = epoch;
      }
      if (options.on_epoch && !options.on_epoch(stats)) break;
    }

    report.train_loss = evaluate(best, train_inputs, train_targets, train_weights).cross_entropy;
    if (validation_count > 0) {
      const Losses final_losses =
          evaluate(best, validation_inputs, validation_targets, validation_weights);
      report.validation_loss = final_losses.cross_entropy;
      report.validation_mse = final_losses.mse;
    }
    impl_->set_parameters(best);
    impl_->training = report_json(report);
    impl_->description += ", trained on " + std::to_string(count) + " examples";
    return report;
  } catch (const std::exception& error) {
    return fail(detail::torch_message(error));
  }
}

// ---- The model file ------------------------------------------------------------------------
//
// A LibTorch archive (a zip, torch::serialize::OutputArchive; Python reads it with
// torch.jit.load) holding four double tensors, hidden_weight [H, D], hidden_bias [H],
// output_weight [1, H], output_bias [1], and a string attribute `meta`: JSON describing the
// inputs (README.md, "Model file").

tl::expected<void, std::string> EngagementModel::save(const fs::path& path) const {
  nlohmann::json features = nlohmann::json::array();
  for (const FeatureSpec& spec : impl_->features) {
    features.push_back({{"name", spec.name},
                        {"transform", spec.transform},
                        {"neutral", spec.neutral},
                        {"scale", spec.scale}});
  }
  nlohmann::json platforms = nlohmann::json::array();
  for (const std::string_view name : kPlatformNames) platforms.push_back(name);
  const nlohmann::json meta = {
      {"format", kFormat},
      {"version", kFormatVersion},
      {"description", impl_->description},
      {"features", features},
      {"clamp", kClamp},
      {"platforms", platforms},
      {"context", {"hour_sin", "hour_cos"}},
      {"embedding_dim", kEmbeddingDim},
      {"hidden", hidden_units()},
      {"activation", "relu"},
      {"output", "sigmoid"},
      {"training", impl_->training},
  };
  fs::path partial = path;
  partial += ".partial";
  try {
    torch::serialize::OutputArchive archive;
    archive.write("hidden_weight", impl_->hidden_weight.detach().contiguous());
    archive.write("hidden_bias", impl_->hidden_bias.detach().contiguous());
    archive.write("output_weight", impl_->output_weight.detach().contiguous());
    archive.write("output_bias", impl_->output_bias.detach().contiguous());
    archive.write("meta", c10::IValue(meta.dump(2)));
    archive.save_to(partial.string());
  } catch (const std::exception& error) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    return tl::unexpected<std::string>("cannot write model file '" + path.string() +
                                       "': " + detail::torch_message(error));
  }
  std::error_code error;
  fs::rename(partial, path, error);
  if (error) {
    fs::remove(partial, error);
    return tl::unexpected<std::string>("cannot write model file '" + path.string() +
                                       "': " + error.message());
  }
  return {};
}

tl::expected<EngagementModel, std::string> EngagementModel::load(const fs::path& path) {
  const auto fail = [&](const std::string& problem) {
    return tl::unexpected<std::string>("model file '" + path.string() + "': " + problem);
  };
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) return fail("does not exist");
  if (error) return fail(error.message());
  if (!fs::is_regular_file(status)) return fail("is not a regular file");

  detail::use_one_torch_thread();
  auto impl = std::make_unique<Impl>();
  nlohmann::json meta;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    c10::IValue meta_text;
    if (!archive.try_read("meta", meta_text) || !meta_text.isString()) {
      return fail("not a reelflow engagement model (no `meta` string)");
    }
    meta = nlohmann::json::parse(meta_text.toStringRef());
    archive.read("hidden_weight", impl->hidden_weight);
    archive.read("hidden_bias", impl->hidden_bias);
    archive.read("output_weight", impl->output_weight);
    archive.read("output_bias", impl->output_bias);
  } catch (const nlohmann::json::exception& json_error) {
    return fail(std::string("its `meta` is not valid JSON: ") + json_error.what());
  } catch (const std::exception& load_error) {
    return fail("not a readable model archive: " + detail::torch_message(load_error));
  }

  try {
    if (meta.value("format", "") != kFormat) return fail("not a reelflow engagement model");
    if (meta.value("version", 0) != kFormatVersion) {
      return fail("format version " + meta.value("version", nlohmann::json()).dump() +
                  " is not supported (this build reads version " + std::to_string(kFormatVersion) +
                  ")");
    }
    impl->description = meta.value("description", path.filename().string());
    impl->training = meta.value("training", nlohmann::json());
    for (const nlohmann::json& feature : meta.at("features")) {
      FeatureSpec spec{feature.at("name").get<std::string>(),
                       feature.at("transform").get<std::string>(),
                       feature.at("neutral").get<double>(), feature.at("scale").get<double>()};
      if (spec.name.empty()) return fail("a feature has an empty name");
      if (spec.transform != "linear" && spec.transform != "log") {
        return fail("feature '" + spec.name + "' has an unknown transform '" + spec.transform +
                    "'");
      }
      if (!std::isfinite(spec.neutral) || !(spec.scale > 0) || !std::isfinite(spec.scale)) {
        return fail("feature '" + spec.name + "' has a bad neutral value or scale");
      }
      for (const FeatureSpec& other : impl->features) {
        if (other.name == spec.name) return fail("feature '" + spec.name + "' appears twice");
      }
      impl->features.push_back(std::move(spec));
    }
    const auto platforms = meta.at("platforms").get<std::vector<std::string>>();
    if (!std::equal(platforms.begin(), platforms.end(), kPlatformNames.begin(),
                    kPlatformNames.end())) {
      return fail("its platform list differs from this build's");
    }
    if (meta.at("embedding_dim").get<std::size_t>() != kEmbeddingDim) {
      return fail("its embedding length differs from this build's (" +
                  std::to_string(kEmbeddingDim) + ")");
    }
  } catch (const nlohmann::json::exception& json_error) {
    return fail(std::string("its `meta` is incomplete: ") + json_error.what());
  }

  const std::int64_t inputs = impl->input_dim();
  const std::int64_t hidden = impl->hidden_weight.dim() == 2 ? impl->hidden_weight.size(0) : -1;
  const auto shape_ok = [](const at::Tensor& tensor, std::vector<std::int64_t> shape) {
    return tensor.defined() && tensor.sizes().vec() == shape;
  };
  if (hidden < 1 || !shape_ok(impl->hidden_weight, {hidden, inputs}) ||
      !shape_ok(impl->hidden_bias, {hidden}) || !shape_ok(impl->output_weight, {1, hidden}) ||
      !shape_ok(impl->output_bias, {1})) {
    return fail("its weights do not fit its inputs (" + std::to_string(inputs) +
                " inputs; hidden_weight is " + c10::str(impl->hidden_weight.sizes()) + ")");
  }
  std::vector<at::Tensor> values;
  for (const at::Tensor& parameter : impl->parameters()) {
    at::Tensor value = parameter.detach().to(at::kDouble).contiguous();
    if (!at::isfinite(value).all().item<bool>()) return fail("it holds non-finite weights");
    values.push_back(value);
  }
  impl->set_parameters(values);
  return EngagementModel(std::move(impl));
}

}  // namespace reelflow::video::score
