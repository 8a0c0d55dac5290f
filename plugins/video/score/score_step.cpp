// video.score: the score backend (video.d/score.so) of the video plugin. It scores the clips of
// video.extract 0..1 for engagement with the engagement model (model.hpp) and, when configured,
// image embeddings of their covers (embedding.hpp). See README.md for options and output.
//
// This file includes no LibTorch header: the model and the embeddings are behind plain C++
// interfaces, so only model.cpp and embedding.cpp pay LibTorch's compile time.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "score/embedding.hpp"
#include "score/model.hpp"
#include "score/score_options.hpp"
#include "support/backend.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = reelflow::json;
namespace score = reelflow::video::score;

consteval bool option_platforms_match_the_model() {
  std::size_t count = 0;
  while (reelflow::video::kScorePlatforms[count] != nullptr) ++count;
  if (count != score::kPlatformNames.size()) return false;
  for (std::size_t i = 0; i < count; ++i) {
    if (std::string_view(reelflow::video::kScorePlatforms[i]) != score::kPlatformNames[i]) {
      return false;
    }
  }
  return true;
}
static_assert(option_platforms_match_the_model(),
              "kScorePlatforms (score_options.hpp) must list score::kPlatformNames in order");

constexpr std::size_t kTopContributions = 5;
constexpr std::string_view kPrefix = "video.score: ";

// value to `digits` decimals, so the details read 0.95 rather than 0.9500000000000001.
double rounded(double value, int digits = 4) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// Path, size and modification time: enough to notice that a cached model file was replaced.
struct FileStamp {
  std::string path;
  std::uintmax_t size = 0;
  fs::file_time_type modified;
  int option = 0;  // embedding_size for an embedding model
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const std::string& path, int option = 0) {
  std::error_code error;
  FileStamp stamp{path, 0, {}, option};
  stamp.size = fs::file_size(path, error);
  if (error) stamp.size = 0;
  stamp.modified = fs::last_write_time(path, error);
  if (error) stamp.modified = {};
  return stamp;
}

// One input clip, read and checked.
struct Clip {
  std::size_t index = 0;
  json::Object object;
  score::Features features;
  std::optional<std::string> cover;
  bool embedding_missing = false;
  score::Explanation explanation;
};

// Reads clip `index`; the error names the clip and the problem.
tl::expected<Clip, std::string> read_clip(const json::Value& value, std::size_t index) {
  const std::string where = "clip " + std::to_string(index);
  const auto fail = [&](const std::string& problem) {
    return tl::unexpected<std::string>(std::string(kPrefix) + where + " " + problem);
  };
  std::optional<json::Object> object = value.as_object();
  if (!object) return fail("is not an object");
  Clip clip;
  clip.index = index;
  clip.object = std::move(*object);
  const json::Value* features_value = clip.object.find("features");
  const std::optional<json::Object> features =
      features_value != nullptr ? features_value->as_object() : std::nullopt;
  if (!features) {
    return fail("has no `features` object (score the `clips` output of video.extract)");
  }
  for (const auto& [name, feature] : features->members()) {
    if (feature.is_null()) continue;  // not measured (e.g. loudness of a silent clip): missing
    const std::optional<double> number = feature.as_double();
    if (!number || !std::isfinite(*number)) {
      return fail("has feature '" + name + "' that is not a number: " + feature.json_text());
    }
    clip.features.values[name] = *number;
  }
  if (!clip.features.values.contains("duration")) {
    const auto start = clip.object.get_double("start");
    const auto end = clip.object.get_double("end");
    if (start && end && *end > *start) clip.features.values["duration"] = *end - *start;
  }
  if (const json::Value* cover = clip.object.find("cover"); cover != nullptr) {
    if (cover->is_string() && !cover->text().empty()) {
      clip.cover = cover->text();
    } else if (!cover->is_null()) {
      return fail("has a `cover` that is not a path: " + cover->json_text());
    }
  }
  return clip;
}

json::ArrayBuilder string_array(const std::vector<std::string>& items) {
  json::ArrayBuilder array;
  for (const std::string& item : items) array.push(item);
  return array;
}

// The input clip with `index`, `score`, `score_details` (and `extract_score`, the score
// video.extract gave it, if any).
std::string output_clip(const Clip& clip, const std::string& model_name) {
  json::ObjectBuilder out;
  for (const auto& [key, value] : clip.object.members()) {
    if (key == "index" || key == "score" || key == "score_details" || key == "extract_score") {
      continue;
    }
    out.add(key, value);
  }
  if (const json::Value* old = clip.object.find("score"); old != nullptr && old->is_number()) {
    out.add("extract_score", *old);
  }
  const score::Explanation& explanation = clip.explanation;
  json::ArrayBuilder top;
  for (std::size_t i = 0; i < explanation.contributions.size() && i < kTopContributions; ++i) {
    const score::Contribution& contribution = explanation.contributions[i];
    if (std::abs(contribution.logit_change) < 1e-9) break;
    json::ObjectBuilder item;
    item.add("input", contribution.input).add("contribution", rounded(contribution.logit_change));
    if (const auto found = clip.features.values.find(contribution.input);
        found != clip.features.values.end()) {
      item.add("value", found->second);
    }
    top.push(item);
  }
  std::vector<std::string> missing = explanation.missing;
  if (clip.embedding_missing) missing.emplace_back("embedding");
  json::ObjectBuilder details;
  details.add("model", model_name)
      .add("logit", rounded(explanation.logit))
      .add("top", top)
      .add("missing", string_array(missing));
  if (!explanation.ignored.empty()) details.add("ignored", string_array(explanation.ignored));
  if (!clip.features.embedding.empty()) {
    json::ArrayBuilder embedding;
    for (const double value : clip.features.embedding) embedding.push(rounded(value, 6));
    details.add("embedding", embedding);
  }
  out.add("index", clip.index).add("score", explanation.score).add("score_details", details);
  return out.str();
}

class ScoreStep {
 public:
  rf_status run(reelflow::Run& run) {
    std::string problem;
    const auto options = json::Object::parse(run.options_json(), &problem);
    if (!options) return fail(run, "the options are not a JSON object: " + problem);

    // Context.
    score::Context context;
    const std::string platform = options->get_string("platform").value_or("other");
    const auto parsed_platform = score::platform_from_name(platform);
    if (!parsed_platform) return fail(run, "unknown platform '" + platform + "'");
    context.platform = *parsed_platform;
    if (const json::Value* hour = options->find("hour"); hour != nullptr && !hour->is_null()) {
      const auto value = hour->as_int();
      if (!value || *value < 0 || *value > 23) {
        return fail(run, "option `hour` must be an integer 0..23, got " + hour->json_text());
      }
      context.hour = static_cast<int>(*value);
    }

    // Models.
    std::optional<std::string> model_path = options->get_string("model");
    if (model_path && options->get_string("missing_model").value_or("fail") == "prior") {
      std::error_code missing;
      if (!fs::exists(*model_path, missing) && !missing) {
        run.info("model file '" + *model_path +
                 "' does not exist (yet): scoring with the built-in prior (missing_model: prior)");
        model_path.reset();
      }
    }
    auto model = model_for(model_path);
    if (!model) return fail(run, model.error());
    const std::string model_name = model_path ? *model_path : "prior";
    const score::EmbeddingModel* embedder = nullptr;
    if (const auto path = options->get_string("embedding_model"); path && !path->empty()) {
      const int size = static_cast<int>(options->get_int("embedding_size").value_or(224));
      auto loaded = embedding_for(*path, size);
      if (!loaded) return fail(run, loaded.error());
      embedder = *loaded;
    }

    // Clips.
    const json::Value* clips_value = options->find("clips");
    const auto items = clips_value != nullptr ? clips_value->as_array() : std::nullopt;
    if (!items) return fail(run, "option `clips` must be a list of clips from video.extract");
    std::vector<Clip> clips;
    clips.reserve(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      auto clip = read_clip((*items)[i], i);
      if (!clip) return run.fail(clip.error());
      if (embedder != nullptr) {
        if (clip->cover) {
          auto embedding = embedder->embed(*clip->cover);
          if (!embedding) return fail(run, "clip " + std::to_string(i) + ": " + embedding.error());
          clip->features.embedding = std::move(*embedding);
        } else {
          clip->embedding_missing = true;
        }
      }
      clip->explanation = (*model)->explain(clip->features, context);
      clips.push_back(std::move(*clip));
      run.progress(static_cast<double>(i + 1) / static_cast<double>(items->size()));
    }
    std::stable_sort(clips.begin(), clips.end(), [](const Clip& a, const Clip& b) {
      return a.explanation.score > b.explanation.score;
    });

    json::ArrayBuilder scored;
    for (const Clip& clip : clips) scored.push(json::Raw{output_clip(clip, model_name)});
    json::ObjectBuilder output;
    output.add("clips", scored)
        .add("best", clips.empty() ? std::optional<std::size_t>() : clips.front().index)
        .add("model", model_name)
        .add("platform", platform)
        .add("hour", context.hour);
    if (embedder != nullptr) output.add("embedding_model", embedder->path());
    if (clips.empty()) {
      run.info("no clips to score");
    } else {
      run.info("scored " + std::to_string(clips.size()) + " clips with model " + model_name +
               "; best: clip " + std::to_string(clips.front().index) + " (" +
               std::to_string(clips.front().explanation.score) + ")");
    }
    if (!run.set_output(output)) return fail(run, "the host refused the output");
    return RF_STATUS_OK;
  }

 private:
  static rf_status fail(const reelflow::Run& run, const std::string& message) {
    return run.fail(std::string(kPrefix) + message);
  }

  // The built-in prior, or the model file at path (cached until the file changes).
  tl::expected<const score::EngagementModel*, std::string> model_for(
      const std::optional<std::string>& path) {
    if (!path) {
      if (!prior_) prior_ = score::EngagementModel::prior();
      return &*prior_;
    }
    const FileStamp stamp = stamp_of(*path);
    if (!model_ || model_stamp_ != stamp) {
      model_.reset();
      auto loaded = score::EngagementModel::load(*path);
      if (!loaded) return tl::unexpected<std::string>(loaded.error());
      model_ = std::move(*loaded);
      model_stamp_ = stamp;
    }
    return &*model_;
  }

  tl::expected<const score::EmbeddingModel*, std::string> embedding_for(const std::string& path,
                                                                        int size) {
    const FileStamp stamp = stamp_of(path, size);
    if (!embedding_ || embedding_stamp_ != stamp) {
      embedding_.reset();
      auto loaded = score::EmbeddingModel::load(path, size);
      if (!loaded) return tl::unexpected<std::string>(loaded.error());
      embedding_ = std::move(*loaded);
      embedding_stamp_ = stamp;
    }
    return &*embedding_;
  }

  // A step instance serves one run at a time (plugin.hpp), so these caches need no lock.
  std::optional<score::EngagementModel> prior_;
  std::optional<score::EngagementModel> model_;
  FileStamp model_stamp_;
  std::optional<score::EmbeddingModel> embedding_;
  FileStamp embedding_stamp_;
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<ScoreStep>(
        {.name = "video.score",
         .summary = "Score clips 0..1 for engagement with a small LibTorch model",
         .flags = RF_STEP_RERUN_SAFE},
        reelflow::video::kScoreOptions),
};

constexpr rf_plugin kBackend = reelflow::plugin({.name = "video",
                                                 .version = "0.1.0",
                                                 .license = "Apache-2.0",
                                                 .summary = "video.score backend (LibTorch)"},
                                                kStepTypes);

}  // namespace

REELFLOW_BACKEND(kBackend)
