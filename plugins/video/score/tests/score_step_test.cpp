// video.score end to end through the daemon's plugin host: Registry loads the built thin
// video.so, the Executor runs video.score in process, and the thin half loads video.d/score.so
// (LibTorch) on first use, as a worker does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "plugin_host/executor.hpp"
#include "plugin_host/options.hpp"
#include "plugin_host/registry.hpp"
#include "score/model.hpp"

namespace reelflow::plugin_host {
namespace {

namespace fs = std::filesystem;
namespace score = reelflow::video::score;
using nlohmann::json;

json good_features() {
  return {{"duration", 25},     {"motion", 12},         {"sharpness", 600},
          {"brightness", 140},  {"contrast", 60},       {"colourfulness", 70},
          {"text_ratio", 0.1},  {"face_ratio", 0.8},    {"face_area", 0.15},
          {"brisque", 20},      {"loudness_lufs", -14}, {"silence_ratio", 0.05},
          {"voice_ratio", 0.7}, {"music_ratio", 0.4},   {"cuts_per_minute", 14}};
}

json poor_features() {
  return {{"duration", 25},      {"motion", 1},          {"sharpness", 20},
          {"brightness", 40},    {"contrast", 20},       {"colourfulness", 10},
          {"text_ratio", 0},     {"face_ratio", 0},      {"face_area", 0},
          {"brisque", 70},       {"loudness_lufs", -35}, {"silence_ratio", 0.7},
          {"voice_ratio", 0.05}, {"music_ratio", 0},     {"cuts_per_minute", 2}};
}

json clip(const std::string& name, json features, const json& cover = nullptr) {
  return {{"path", "/clips/" + name + ".mp4"}, {"start", 10.0}, {"end", 35.0}, {"score", 0.42},
          {"features", std::move(features)},   {"cover", cover}};
}

class VideoScoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("video_score_step_test." + std::to_string(::getpid()) + "." +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "artifacts");
    services_.artifact_dir = root_ / "artifacts";
    services_.log = [this](rf_log_level, std::string_view message) {
      log_.append(message).append("\n");
    };
    auto loaded = registry_.load_file(VIDEO_PLUGIN_PATH);
    ASSERT_TRUE(loaded) << loaded.error().message;
    step_ = registry_.find("video.score");
    ASSERT_NE(step_, nullptr);
  }
  void TearDown() override { fs::remove_all(root_); }

  StepOutcome run(const json& with) {
    auto options = normalize_options(*step_, with);
    EXPECT_TRUE(options) << (options ? "" : options.error().message);
    const json context = {{"run_id", "run-7"},
                          {"step_id", "score"},
                          {"workflow", "test"},
                          {"attempt", 1},
                          {"trigger", json::object()}};
    auto outcome = executor_.run(*step_, options.value_or(json::object()), context, services_);
    EXPECT_TRUE(outcome) << (outcome ? "" : outcome.error().message) << "\n" << log_;
    return outcome.value_or(StepOutcome{});
  }

  // A JPEG cover: a colour gradient, or a checkerboard.
  fs::path write_cover(const std::string& name, bool checkerboard) {
    cv::Mat image(180, 320, CV_8UC3);
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) {
        const bool dark = ((x / 20) + (y / 20)) % 2 == 0;
        image.at<cv::Vec3b>(y, x) =
            checkerboard ? (dark ? cv::Vec3b(20, 20, 20) : cv::Vec3b(235, 235, 235))
                         : cv::Vec3b(static_cast<unsigned char>(x * 255 / image.cols),
                                     static_cast<unsigned char>(y * 255 / image.rows), 128);
      }
    }
    const fs::path path = root_ / (name + ".jpg");
    EXPECT_TRUE(cv::imwrite(path.string(), image));
    return path;
  }

  fs::path write_file(const std::string& name, const std::string& content) {
    const fs::path path = root_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  fs::path root_;
  Registry registry_;
  Executor executor_;
  RunServices services_;
  std::string log_;
  const StepTypeInfo* step_ = nullptr;
};

TEST_F(VideoScoreTest, DeclaresItsOptions) {
  EXPECT_EQ(step_->plugin->name, "video");
  EXPECT_TRUE(step_->rerun_safe());
  const OptionSpec* clips = step_->find_option("clips");
  ASSERT_NE(clips, nullptr);
  EXPECT_TRUE(clips->required);
  EXPECT_EQ(clips->type, RF_OPT_LIST);
  EXPECT_EQ(clips->item_type, RF_OPT_OBJECT);
  const OptionSpec* platform = step_->find_option("platform");
  ASSERT_NE(platform, nullptr);
  EXPECT_EQ(platform->type, RF_OPT_ENUM);
  EXPECT_EQ(platform->default_value, json("other"));
  ASSERT_EQ(platform->enum_values.size(), score::kPlatformNames.size());
  const OptionSpec* hour = step_->find_option("hour");
  ASSERT_NE(hour, nullptr);
  EXPECT_FALSE(hour->default_value.has_value());
  EXPECT_EQ(hour->max, 23);
  EXPECT_NE(step_->find_option("model"), nullptr);
  EXPECT_NE(step_->find_option("embedding_model"), nullptr);
  const OptionSpec* size = step_->find_option("embedding_size");
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->default_value, json(224));
  // The host rejects an unknown platform before the step runs.
  EXPECT_FALSE(normalize_options(*step_, {{"clips", json::array()}, {"platform", "myspace"}}));
}

TEST_F(VideoScoreTest, ScoresAndRanksClipsWithThePrior) {
  json neutral = json::object();  // every feature missing: neutral
  const StepOutcome outcome = run(
      {{"clips",
        {clip("poor", poor_features()), clip("good", good_features()), clip("neutral", neutral)}}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  const json& out = outcome.outputs;
  EXPECT_EQ(out["model"], "prior");
  EXPECT_EQ(out["platform"], "other");
  EXPECT_TRUE(out["hour"].is_null());
  EXPECT_EQ(out["best"], 1);
  ASSERT_EQ(out["clips"].size(), 3u);
  EXPECT_EQ(out["clips"][0]["index"], 1);
  EXPECT_EQ(out["clips"][1]["index"], 2);
  EXPECT_EQ(out["clips"][2]["index"], 0);
  double previous = 2;
  for (const json& scored : out["clips"]) {
    const double value = scored["score"].get<double>();
    EXPECT_GE(value, 0);
    EXPECT_LE(value, 1);
    EXPECT_LE(value, previous);
    previous = value;
    EXPECT_EQ(scored["extract_score"], 0.42);  // video.extract's own score is kept
    EXPECT_EQ(scored["start"], 10.0);
    EXPECT_EQ(scored["score_details"]["model"], "prior");
    EXPECT_TRUE(scored.contains("features"));
  }
  EXPECT_EQ(out["clips"][0]["path"], "/clips/good.mp4");
  EXPECT_GT(out["clips"][0]["score"].get<double>(), 0.85);
  EXPECT_LT(out["clips"][2]["score"].get<double>(), 0.15);

  // The details say what moved the score.
  const json& poor = out["clips"][2]["score_details"];
  std::cout << "poor clip: score " << out["clips"][2]["score"] << ", details " << poor.dump()
            << "\n";
  ASSERT_FALSE(poor["top"].empty());
  EXPECT_LE(poor["top"].size(), 5u);
  EXPECT_LT(poor["top"][0]["contribution"].get<double>(), 0);
  EXPECT_TRUE(poor["top"][0].contains("value"));
  EXPECT_TRUE(poor["missing"].empty());
  // The neutral clip: all features missing except duration, taken from end - start.
  const json& neutral_details = out["clips"][1]["score_details"];
  EXPECT_EQ(neutral_details["missing"].size(), score::kFeatureNames.size() - 1);
  for (const json& name : neutral_details["missing"]) EXPECT_NE(name, "duration");
  EXPECT_NE(log_.find("best: clip 1"), std::string::npos) << log_;
}

TEST_F(VideoScoreTest, NullAndUnknownFeaturesAreToleratedAndReported) {
  json features = good_features();
  features["loudness_lufs"] = nullptr;  // not measured
  features["sparkle"] = 3;
  const StepOutcome outcome = run({{"clips", {clip("a", features)}}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  const json& details = outcome.outputs["clips"][0]["score_details"];
  EXPECT_EQ(details["missing"], json({"loudness_lufs"}));
  EXPECT_EQ(details["ignored"], json({"sparkle"}));
}

TEST_F(VideoScoreTest, PlatformAndHourAreContext) {
  json long_features = good_features();
  long_features["duration"] = 90;
  const json clips = {clip("long", long_features)};
  const StepOutcome douyin = run({{"clips", clips}, {"platform", "douyin"}, {"hour", 20}});
  const StepOutcome bilibili = run({{"clips", clips}, {"platform", "bilibili"}, {"hour", 20}});
  ASSERT_EQ(douyin.status, RF_STATUS_OK) << douyin.error;
  ASSERT_EQ(bilibili.status, RF_STATUS_OK) << bilibili.error;
  EXPECT_EQ(douyin.outputs["hour"], 20);
  EXPECT_EQ(bilibili.outputs["platform"], "bilibili");
  EXPECT_LT(douyin.outputs["clips"][0]["score"].get<double>(),
            bilibili.outputs["clips"][0]["score"].get<double>());
}

TEST_F(VideoScoreTest, AnEmptyListScoresNothing) {
  const StepOutcome outcome = run({{"clips", json::array()}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  EXPECT_TRUE(outcome.outputs["clips"].empty());
  EXPECT_TRUE(outcome.outputs["best"].is_null());
}

TEST_F(VideoScoreTest, AFeatureThatIsNotANumberFailsNamingTheClip) {
  json bad = good_features();
  bad["sharpness"] = "very";
  const StepOutcome outcome = run({{"clips", {clip("a", good_features()), clip("b", bad)}}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find("clip 1"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("'sharpness'"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("not a number"), std::string::npos) << outcome.error;
  std::cout << outcome.error << "\n";
}

TEST_F(VideoScoreTest, AClipWithoutFeaturesFailsNamingTheClip) {
  json no_features = clip("a", good_features());
  no_features.erase("features");
  const StepOutcome outcome =
      run({{"clips", {clip("a", good_features()), clip("b", good_features()), no_features}}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find("clip 2"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("features"), std::string::npos) << outcome.error;
}

TEST_F(VideoScoreTest, UsesATrainedModelFile) {
  // Train the prior towards the opposite of its taste for sharpness, so the file visibly wins.
  std::vector<score::Example> examples;
  for (int i = 0; i < 400; ++i) {
    score::Example example;
    const double sharpness = 20 + 3 * i;
    example.features.values = {{"sharpness", sharpness}};
    example.engagement = sharpness < 400 ? 0.9 : 0.1;
    examples.push_back(example);
  }
  score::EngagementModel model = score::EngagementModel::prior();
  score::TrainOptions options;
  options.epochs = 40;
  ASSERT_TRUE(model.train(examples, options));
  const fs::path path = root_ / "engagement.pt";
  ASSERT_TRUE(model.save(path));

  json blurry = good_features();
  blurry["sharpness"] = 60;
  const json clips = {clip("sharp", good_features()), clip("blurry", blurry)};
  const StepOutcome prior = run({{"clips", clips}});
  const StepOutcome trained = run({{"clips", clips}, {"model", path.string()}});
  ASSERT_EQ(prior.status, RF_STATUS_OK) << prior.error;
  ASSERT_EQ(trained.status, RF_STATUS_OK) << trained.error;
  EXPECT_EQ(prior.outputs["best"], 0);
  EXPECT_EQ(trained.outputs["best"], 1);
  EXPECT_EQ(trained.outputs["model"], path.string());
  EXPECT_EQ(trained.outputs["clips"][0]["score_details"]["model"], path.string());
  // The step's score is the library's.
  score::Features features;
  for (const auto& [name, value] : blurry.items()) features.values[name] = value.get<double>();
  EXPECT_NEAR(trained.outputs["clips"][0]["score"].get<double>(),
              model.predict(features, score::Context{}), 1e-12);
}

TEST_F(VideoScoreTest, AMissingModelFileFailsNamingIt) {
  const fs::path path = root_ / "missing.pt";
  const StepOutcome outcome =
      run({{"clips", {clip("a", good_features())}}, {"model", path.string()}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(path.string()), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("does not exist"), std::string::npos) << outcome.error;
}

TEST_F(VideoScoreTest, AMissingModelFileCanFallBackToThePrior) {
  // Before retraining has installed a first version (plugins/models): missing_model: prior.
  const fs::path path = root_ / "models" / "engagement.pt";
  StepOutcome outcome = run({{"clips", {clip("a", good_features())}},
                             {"model", path.string()},
                             {"missing_model", "prior"}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  EXPECT_EQ(outcome.outputs["model"], "prior");
  EXPECT_EQ(outcome.outputs["clips"][0]["score_details"]["model"], "prior");
  // Once the file is there, it is used; a corrupt one still fails.
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(score::EngagementModel::prior().save(path));
  outcome = run({{"clips", {clip("a", good_features())}},
                 {"model", path.string()},
                 {"missing_model", "prior"}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  EXPECT_EQ(outcome.outputs["model"], path.string());
  write_file("models/engagement.pt", "not a model");
  outcome = run({{"clips", {clip("a", good_features())}},
                 {"model", path.string()},
                 {"missing_model", "prior"}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(path.string()), std::string::npos) << outcome.error;
}

TEST_F(VideoScoreTest, ACorruptModelFileFailsNamingIt) {
  const fs::path path = write_file("corrupt.pt", std::string("PK\x03\x04 garbage", 14));
  const StepOutcome outcome =
      run({{"clips", {clip("a", good_features())}}, {"model", path.string()}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(path.string()), std::string::npos) << outcome.error;
  EXPECT_EQ(outcome.error.find("Exception raised from"), std::string::npos) << outcome.error;
  std::cout << outcome.error << "\n";
}

TEST_F(VideoScoreTest, EmbeddingsFromTheGeneratedTorchScriptModel) {
  const json clips = {clip("gradient", good_features(), write_cover("gradient", false).string()),
                      clip("checks", good_features(), write_cover("checks", true).string()),
                      clip("no-cover", good_features())};
  const json with = {
      {"clips", clips}, {"embedding_model", TEST_EMBEDDING_MODEL}, {"embedding_size", 64}};
  const StepOutcome first = run(with);
  ASSERT_EQ(first.status, RF_STATUS_OK) << first.error;
  EXPECT_EQ(first.outputs["embedding_model"], TEST_EMBEDDING_MODEL);
  std::vector<json> embeddings(3);
  for (const json& scored : first.outputs["clips"]) {
    const int index = scored["index"].get<int>();
    const json& details = scored["score_details"];
    if (index == 2) {
      EXPECT_FALSE(details.contains("embedding"));
      EXPECT_EQ(details["missing"], json({"embedding"}));
      continue;
    }
    ASSERT_TRUE(details.contains("embedding")) << details;
    const json& embedding = details["embedding"];
    ASSERT_EQ(embedding.size(), score::kEmbeddingDim);
    double sum = 0;
    for (const json& value : embedding) {
      ASSERT_TRUE(value.is_number());
      EXPECT_TRUE(std::isfinite(value.get<double>()));
      sum += value.get<double>();
    }
    EXPECT_NEAR(sum, 0, 1e-4);  // standardised across its numbers
    EXPECT_TRUE(details["missing"].empty());
    embeddings[static_cast<std::size_t>(index)] = embedding;
  }
  EXPECT_NE(embeddings[0], embeddings[1]);  // different covers, different embeddings

  const StepOutcome second = run(with);  // deterministic, and the cached model is reused
  ASSERT_EQ(second.status, RF_STATUS_OK) << second.error;
  EXPECT_EQ(first.outputs, second.outputs);
}

TEST_F(VideoScoreTest, AWrongShapedEmbeddingModelFailsNamingTheFile) {
  const json with = {{"clips", {clip("a", good_features(), write_cover("a", false).string())}},
                     {"embedding_model", TEST_EMBEDDING_MODEL_1CH}};
  const StepOutcome outcome = run(with);
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(TEST_EMBEDDING_MODEL_1CH), std::string::npos) << outcome.error;
  std::cout << outcome.error << "\n";
  EXPECT_NE(outcome.error.find("[1, 3, 224, 224]"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("channels"), std::string::npos) << outcome.error;
  EXPECT_EQ(outcome.error.find('\n'), std::string::npos) << outcome.error;
}

TEST_F(VideoScoreTest, ACorruptEmbeddingModelFailsNamingTheFile) {
  const fs::path path = write_file("resnet18.pt", "definitely not TorchScript");
  const json with = {{"clips", {clip("a", good_features(), write_cover("a", false).string())}},
                     {"embedding_model", path.string()}};
  const StepOutcome outcome = run(with);
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(path.string()), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("not a TorchScript model"), std::string::npos) << outcome.error;
  std::cout << outcome.error << "\n";
}

TEST_F(VideoScoreTest, AnUnreadableCoverFailsNamingTheClipAndFile) {
  const fs::path missing = root_ / "missing.jpg";
  const fs::path not_jpeg = write_file("cover.jpg", "not a jpeg");
  for (const fs::path& cover : {missing, not_jpeg}) {
    const json with = {{"clips",
                        {clip("a", good_features(), write_cover("a", false).string()),
                         clip("b", good_features(), cover.string())}},
                       {"embedding_model", TEST_EMBEDDING_MODEL}};
    const StepOutcome outcome = run(with);
    EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
    EXPECT_NE(outcome.error.find("clip 1"), std::string::npos) << outcome.error;
    EXPECT_NE(outcome.error.find(cover.string()), std::string::npos) << outcome.error;
    std::cout << outcome.error << "\n";
  }
}

}  // namespace
}  // namespace reelflow::plugin_host
