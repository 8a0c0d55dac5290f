// Retraining on stored outcomes (retrain.hpp). No LibTorch header: the model does the tensor work.
#include "score/retrain.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <utility>

namespace reelflow::video::score {

namespace {

using nlohmann::json;

constexpr double kProbabilityFloor = 1e-12;  // log(0) guard in the cross-entropy

std::optional<double> finite_number(const json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number()) return std::nullopt;
  const double value = found->get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

Platform model_platform(std::string_view publisher_platform, bool* known) {
  struct Alias {
    std::string_view publisher;
    Platform platform;
  };
  static constexpr Alias kAliases[] = {{"youtube", Platform::youtube_shorts},
                                       {"instagram", Platform::instagram_reels},
                                       {"wechat", Platform::wechat_channels}};
  if (known != nullptr) *known = true;
  if (auto platform = platform_from_name(publisher_platform)) return *platform;
  for (const Alias& alias : kAliases) {
    if (alias.publisher == publisher_platform) return alias.platform;
  }
  if (known != nullptr) *known = false;
  return Platform::other;
}

tl::expected<ExampleFile, std::string> read_example_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return tl::unexpected("examples file '" + path.string() + "' cannot be opened");
  }
  ExampleFile file;
  std::string text;
  std::size_t line_number = 0;
  while (std::getline(in, text)) {
    ++line_number;
    if (text.empty()) continue;
    const auto fail = [&](const std::string& problem) {
      return tl::unexpected("examples file '" + path.string() + "' line " +
                            std::to_string(line_number) + ": " + problem);
    };
    const json line = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!line.is_object()) return fail("not a JSON object");
    DatedExample dated;
    const auto published_at = line.find("published_at");
    if (published_at == line.end() || !published_at->is_number_integer()) {
      return fail("`published_at` must be milliseconds since the epoch");
    }
    dated.published_at = published_at->get<std::int64_t>();
    const auto engagement = finite_number(line, "engagement");
    if (!engagement || *engagement < 0 || *engagement > 1) {
      return fail("`engagement` must be a rate in 0..1");
    }
    dated.example.engagement = *engagement;
    const auto weight = finite_number(line, "weight");
    if (!weight || *weight <= 0) return fail("`weight` must be a positive number");
    dated.example.weight = *weight;
    bool known = true;
    const auto platform = line.find("platform");
    dated.example.context.platform = model_platform(platform != line.end() && platform->is_string()
                                                        ? platform->get_ref<const std::string&>()
                                                        : std::string(),
                                                    &known);
    if (!known) ++file.unknown_platform;

    const auto example = line.find("example");
    if (example == line.end() || !example->is_object()) return fail("no `example` object");
    const auto features = example->find("features");
    if (features == example->end() || !features->is_object()) {
      return fail("the example has no `features` object");
    }
    for (const auto& [name, value] : features->items()) {
      if (!value.is_number()) continue;  // not measured
      const double number = value.get<double>();
      if (!std::isfinite(number)) return fail("feature '" + name + "' is not a finite number");
      dated.example.features.values.emplace(name, number);
    }
    if (const auto embedding = example->find("embedding");
        embedding != example->end() && embedding->is_array()) {
      if (embedding->size() != kEmbeddingDim) {
        ++file.dropped_embedding;
      } else {
        for (const json& value : *embedding) {
          if (!value.is_number() || !std::isfinite(value.get<double>())) {
            return fail("the embedding has a value that is not a finite number");
          }
          dated.example.features.embedding.push_back(value.get<double>());
        }
      }
    }
    if (const auto hour = example->find("hour"); hour != example->end() && !hour->is_null()) {
      if (hour->is_number_integer() && hour->get<int>() >= 0 && hour->get<int>() <= 23) {
        dated.example.context.hour = hour->get<int>();
      } else {
        ++file.bad_hour;
      }
    }
    file.examples.push_back(std::move(dated));
  }
  if (in.bad()) return tl::unexpected("examples file '" + path.string() + "' cannot be read");
  return file;
}

HoldoutScores evaluate(const EngagementModel& model, const std::vector<Example>& examples) {
  HoldoutScores scores;
  scores.examples = examples.size();
  if (examples.empty()) return scores;
  const std::vector<double> predicted = model.predict(examples);
  double cross_entropy = 0;
  double squared = 0;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const double p = std::clamp(predicted[i], kProbabilityFloor, 1 - kProbabilityFloor);
    const double y = examples[i].engagement;
    const double w = examples[i].weight;
    cross_entropy -= w * (y * std::log(p) + (1 - y) * std::log(1 - p));
    squared += w * (predicted[i] - y) * (predicted[i] - y);
    scores.weight += w;
  }
  scores.cross_entropy = cross_entropy / scores.weight;
  scores.mse = squared / scores.weight;
  return scores;
}

tl::expected<RetrainResult, std::string> retrain(const EngagementModel& current,
                                                 std::vector<DatedExample> examples,
                                                 const RetrainOptions& options) {
  const auto fail = [](std::string message) {
    return tl::unexpected<std::string>("retraining: " + std::move(message));
  };
  if (!(options.holdout_fraction > 0 && options.holdout_fraction < 1) &&
      options.holdout_count == 0) {
    return fail("the holdout fraction must be in (0, 1)");
  }
  std::stable_sort(
      examples.begin(), examples.end(),
      [](const DatedExample& a, const DatedExample& b) { return a.published_at < b.published_at; });
  const std::size_t total = examples.size();
  const std::size_t holdout = options.holdout_count > 0
                                  ? options.holdout_count
                                  : static_cast<std::size_t>(std::llround(
                                        options.holdout_fraction * static_cast<double>(total)));
  const std::size_t min_holdout = std::max<std::size_t>(options.min_holdout, 1);
  const std::size_t min_train = std::max<std::size_t>(options.min_train, 1);
  if (holdout < min_holdout || holdout >= total || total - holdout < min_train) {
    return fail(std::to_string(total) + " examples are too few: the holdout (the most recent " +
                std::to_string(holdout) + ") needs at least " + std::to_string(min_holdout) +
                " and training at least " + std::to_string(min_train) + " more");
  }
  const std::size_t train_count = total - holdout;

  std::vector<Example> train_part;
  std::vector<Example> holdout_part;
  train_part.reserve(train_count);
  holdout_part.reserve(holdout);
  for (std::size_t i = 0; i < total; ++i) {
    (i < train_count ? train_part : holdout_part).push_back(std::move(examples[i].example));
  }

  RetrainResult result{current,
                       {},
                       train_count,
                       holdout,
                       examples[train_count - 1].published_at,
                       examples[train_count].published_at,
                       examples.back().published_at,
                       {},
                       {}};
  try {
    result.current = evaluate(current, holdout_part);
  } catch (const std::invalid_argument& error) {
    return fail(std::string("a holdout example is malformed: ") + error.what());
  }
  TrainOptions train = options.train;
  if (options.patience > 0) {
    train.on_epoch = [&options, best = std::numeric_limits<double>::infinity(),
                      since_best = 0](const EpochStats& stats) mutable {
      const double loss = stats.validation_loss.value_or(stats.train_loss);
      if (loss < best * (1 - options.min_delta)) {
        best = loss;
        since_best = 0;
      } else {
        ++since_best;
      }
      if (options.train.on_epoch && !options.train.on_epoch(stats)) return false;
      return since_best < options.patience;
    };
  }
  auto report = result.candidate.train(train_part, train);
  if (!report) return fail(report.error());
  result.report = *report;
  result.candidate_holdout = evaluate(result.candidate, holdout_part);
  return result;
}

}  // namespace reelflow::video::score
