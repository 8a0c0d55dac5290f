// The engagement model's retraining below the daemon: the registry (store/model_registry.hpp)
// on a real SQLite database with real LibTorch model files, and the retraining library
// (plugins/video/score/retrain.hpp) on synthetic posts with a known relationship.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/sha256.hpp"
#include "score/model.hpp"
#include "score/retrain.hpp"
#include "store/model_registry.hpp"
#include "store/model_store.hpp"
#include "store/store.hpp"

namespace {

namespace fs = std::filesystem;
namespace score = reelflow::video::score;
namespace store = reelflow::store;
using nlohmann::json;
using Kind = store::RegistryError::Kind;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Synthetic posts: engagement = sigmoid(-2 + s * 1.5 ln(sharpness/150) - 2 (silence - 0.2)
// + s * (face - 0.3)), s = +1, or -1 for `flipped` (the audience changed its mind).
std::vector<score::DatedExample> synthetic(std::size_t count, std::int64_t start, bool flipped,
                                           unsigned seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<score::DatedExample> examples;
  const double sign = flipped ? -1 : 1;
  for (std::size_t i = 0; i < count; ++i) {
    score::DatedExample dated;
    const double sharpness = std::exp(std::log(20.0) + unit(random) * std::log(60.0));
    const double silence = unit(random) * 0.8;
    const double face = unit(random);
    dated.example.features.values = {
        {"sharpness", sharpness}, {"silence_ratio", silence}, {"face_ratio", face}};
    const double logit =
        -2 + sign * 1.5 * std::log(sharpness / 150) - 2 * (silence - 0.2) + sign * (face - 0.3);
    dated.example.engagement = 1 / (1 + std::exp(-logit));
    dated.example.weight = 100 + 900 * unit(random);
    dated.published_at = start + static_cast<std::int64_t>(i) * 60'000;
    examples.push_back(std::move(dated));
  }
  return examples;
}

score::RetrainOptions quick_options() {
  score::RetrainOptions options;
  options.train.epochs = 15;
  options.train.batch_size = 64;
  options.train.learning_rate = 0.01;
  options.holdout_fraction = 0.2;
  return options;
}

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("reelflow-models-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "artifacts" / "run1");
    auto opened = store::open_sqlite_store(root_ / "reelflow.db");
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    auto models = store::ModelStore::open(root_ / "reelflow.db");
    ASSERT_TRUE(models) << models.error().message;
    models_ = std::move(*models);
    registry_ = std::make_unique<store::ModelRegistry>(
        *models_, *store_,
        store::ModelRegistryConfig{
            root_ / "models", root_ / "artifacts",
            [](store::Millis at, const std::string& zone) -> std::optional<int> {
              if (zone != "UTC") return std::nullopt;
              return static_cast<int>(at / 3'600'000 % 24);
            }});
  }
  void TearDown() override {
    registry_.reset();
    models_.reset();
    store_.reset();
    fs::remove_all(root_);
  }

  // A real model file: the prior, or the prior trained a little on synthetic posts (another file).
  fs::path model_file(const std::string& name, bool trained = false) {
    score::EngagementModel model = score::EngagementModel::prior();
    if (trained) {
      std::vector<score::Example> examples;
      for (auto& dated : synthetic(200, 0, false, 7)) examples.push_back(dated.example);
      score::TrainOptions options;
      options.epochs = 2;
      EXPECT_TRUE(model.train(examples, options));
    }
    const fs::path path = root_ / (name + ".pt");
    EXPECT_TRUE(model.save(path));
    return path;
  }

  static json candidate(const fs::path& file, json parent, double current, double candidate,
                        const std::string& key = "") {
    return {{"file", file.string()},
            {"parent", parent},
            {"metric", "bce"},
            {"min_improvement", 0.001},
            {"key", key},
            {"metrics",
             {{"holdout",
               {{"current", {{"bce", current}, {"mse", 0.01}}},
                {"candidate", {{"bce", candidate}, {"mse", 0.01}}}}},
              {"data", {{"examples", 500}, {"last_published_at", 1000}}}}}};
  }

  json active_versions() {
    auto listed = registry_->list("");
    EXPECT_TRUE(listed);
    return listed ? (*listed)["active"] : json();
  }

  std::string installed() { return read_bytes(registry_->installed_path("engagement")); }

  fs::path root_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ModelStore> models_;
  std::unique_ptr<store::ModelRegistry> registry_;
};

TEST_F(ModelRegistryTest, PromotesACandidateThatBeatsTheActiveModelAndInstallsIt) {
  const fs::path first = model_file("first");
  auto registered = registry_->register_candidate(candidate(first, nullptr, 0.30, 0.25), 1000);
  ASSERT_TRUE(registered) << registered.error().message;
  EXPECT_EQ((*registered)["version"], 1);
  EXPECT_EQ((*registered)["status"], "active");
  EXPECT_NE((*registered)["reason"].get<std::string>().find("the built-in prior"),
            std::string::npos);
  EXPECT_EQ(installed(), read_bytes(first));
  EXPECT_EQ((*registered)["sha256"], reelflow::sha256_hex(read_bytes(first)));
  EXPECT_EQ(active_versions(), json({{"engagement", 1}}));

  const fs::path second = model_file("second", true);
  registered = registry_->register_candidate(candidate(second, 1, 0.25, 0.20), 2000);
  ASSERT_TRUE(registered) << registered.error().message;
  EXPECT_EQ((*registered)["status"], "active");
  EXPECT_EQ(installed(), read_bytes(second));
  auto listed = registry_->list("engagement");
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["models"][0]["version"], 2);
  EXPECT_EQ((*listed)["models"][1]["status"], "retired");
  EXPECT_EQ((*listed)["models"][0]["parent"], 1);
}

TEST_F(ModelRegistryTest, RejectsACandidateThatDoesNotImproveAndKeepsTheActiveOne) {
  const fs::path first = model_file("first");
  ASSERT_TRUE(registry_->register_candidate(candidate(first, nullptr, 0.30, 0.25), 1000));
  const fs::path second = model_file("second", true);
  // Better, but by less than min_improvement (0.1 %).
  auto registered = registry_->register_candidate(candidate(second, 1, 0.25, 0.2499), 2000);
  ASSERT_TRUE(registered) << registered.error().message;
  EXPECT_EQ((*registered)["status"], "rejected");
  EXPECT_EQ((*registered)["active"], 1);
  EXPECT_NE((*registered)["reason"].get<std::string>().find("not better by at least 0.1%"),
            std::string::npos)
      << (*registered)["reason"];
  // Worse.
  registered = registry_->register_candidate(candidate(second, 1, 0.25, 0.27), 3000);
  ASSERT_TRUE(registered);
  EXPECT_EQ((*registered)["status"], "rejected");
  // Compared with the prior while v1 is active: the comparison no longer holds.
  registered = registry_->register_candidate(candidate(second, nullptr, 0.30, 0.10), 4000);
  ASSERT_TRUE(registered);
  EXPECT_EQ((*registered)["status"], "rejected");
  EXPECT_NE((*registered)["reason"].get<std::string>().find("v1 is active now"), std::string::npos);

  EXPECT_EQ(active_versions(), json({{"engagement", 1}}));
  EXPECT_EQ(installed(), read_bytes(first));
  auto versions = models_->versions("engagement");
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->size(), 4u) << "rejected versions are kept with their metrics";
  EXPECT_EQ(versions->front().metrics["decision"]["candidate"], 0.10);
  EXPECT_TRUE(fs::exists(versions->front().file));
}

TEST_F(ModelRegistryTest, ACorruptCandidateIsRefusedAndTheActiveModelStays) {
  const fs::path first = model_file("first");
  ASSERT_TRUE(registry_->register_candidate(candidate(first, nullptr, 0.30, 0.25), 1000));
  const std::string good = read_bytes(model_file("second", true));

  const fs::path truncated = root_ / "truncated.pt";
  write_bytes(truncated, good.substr(0, good.size() / 2));
  const fs::path garbage = root_ / "garbage.pt";
  write_bytes(garbage, std::string(4096, 'x'));
  const fs::path missing = root_ / "missing.pt";
  for (const fs::path& file : {truncated, garbage, missing}) {
    auto refused = registry_->register_candidate(candidate(file, 1, 0.25, 0.01), 2000);
    ASSERT_FALSE(refused) << file;
    EXPECT_EQ(refused.error().kind, Kind::refused);
    const std::string& message = refused.error().message;
    EXPECT_NE(message.find("candidate model file '" + file.string() + "'"), std::string::npos)
        << message;
    EXPECT_NE(message.find("the active model stays v1"), std::string::npos) << message;
  }
  EXPECT_NE(registry_->register_candidate(candidate(truncated, 1, 0.25, 0.01), 2000)
                .error()
                .message.find("truncated"),
            std::string::npos);
  EXPECT_NE(registry_->register_candidate(candidate(garbage, 1, 0.25, 0.01), 2000)
                .error()
                .message.find("not a model archive"),
            std::string::npos);
  EXPECT_NE(registry_->register_candidate(candidate(missing, 1, 0.25, 0.01), 2000)
                .error()
                .message.find("does not exist"),
            std::string::npos);
  auto versions = models_->versions("");
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->size(), 1u);
  EXPECT_EQ(active_versions(), json({{"engagement", 1}}));
  EXPECT_EQ(installed(), read_bytes(first));
}

TEST_F(ModelRegistryTest, RollbackChecksTheFileAndKeepsTheActiveModelWhenItIsCorrupt) {
  const fs::path first = model_file("first");
  const fs::path second = model_file("second", true);
  ASSERT_TRUE(registry_->register_candidate(candidate(first, nullptr, 0.30, 0.25), 1000));
  ASSERT_TRUE(registry_->register_candidate(candidate(second, 1, 0.25, 0.20), 2000));
  ASSERT_TRUE(registry_->register_candidate(candidate(first, 2, 0.20, 0.30), 3000));  // v3 rejected

  auto rolled = registry_->rollback(1, "engagement", 4000);
  ASSERT_TRUE(rolled) << rolled.error().message;
  EXPECT_EQ((*rolled)["active"], 1);
  EXPECT_EQ((*rolled)["previous"], 2);
  EXPECT_EQ(installed(), read_bytes(first));
  // Without a version: the one active before the current one.
  rolled = registry_->rollback(std::nullopt, "engagement", 5000);
  ASSERT_TRUE(rolled) << rolled.error().message;
  EXPECT_EQ((*rolled)["active"], 2);
  EXPECT_EQ(installed(), read_bytes(second));
  rolled = registry_->rollback(2, "engagement", 5500);
  ASSERT_TRUE(rolled);
  EXPECT_EQ((*rolled)["changed"], false);

  // v1's stored copy is damaged: refused, naming the file; v2 stays active and installed.
  auto v1 = models_->version(1);
  ASSERT_TRUE(v1 && *v1);
  std::string bytes = read_bytes((*v1)->file);
  bytes[bytes.size() / 2] ^= 0x20;
  write_bytes((*v1)->file, bytes);
  auto refused = registry_->rollback(1, "engagement", 6000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Kind::refused);
  EXPECT_NE(
      refused.error().message.find("model file '" + (*v1)->file + "' of version 1 is corrupt"),
      std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("the active model stays v2"), std::string::npos);
  EXPECT_EQ(active_versions(), json({{"engagement", 2}}));
  EXPECT_EQ(installed(), read_bytes(second));

  refused = registry_->rollback(3, "engagement", 6000);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("version 3 was rejected"), std::string::npos);
  refused = registry_->rollback(9, "engagement", 6000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Kind::not_found);
  EXPECT_EQ(active_versions(), json({{"engagement", 2}}));
}

TEST_F(ModelRegistryTest, RegisteringTheSameExecutionAgainGivesTheSameVersion) {
  const fs::path first = model_file("first");
  auto once =
      registry_->register_candidate(candidate(first, nullptr, 0.3, 0.2, "run-1/register"), 1000);
  auto twice =
      registry_->register_candidate(candidate(first, nullptr, 0.3, 0.2, "run-1/register"), 2000);
  ASSERT_TRUE(once && twice);
  EXPECT_EQ((*once)["version"], (*twice)["version"]);
  EXPECT_EQ((*twice)["existing"], true);
  auto versions = models_->versions("");
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->size(), 1u);
}

TEST_F(ModelRegistryTest, RepairReinstallsAMissingOrStaleActiveFile) {
  const fs::path first = model_file("first");
  ASSERT_TRUE(registry_->register_candidate(candidate(first, nullptr, 0.3, 0.2), 1000));
  auto nothing = registry_->repair();
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
  fs::remove(registry_->installed_path("engagement"));
  auto repaired = registry_->repair();
  ASSERT_TRUE(repaired);
  ASSERT_EQ(repaired->size(), 1u);
  EXPECT_NE(repaired->front().find("installed version 1"), std::string::npos);
  EXPECT_EQ(installed(), read_bytes(first));
  write_bytes(registry_->installed_path("engagement"), "stale");
  ASSERT_TRUE(registry_->repair());
  EXPECT_EQ(installed(), read_bytes(first));
}

TEST_F(ModelRegistryTest, PublishedClipsExportOldestFirstWithTheirOutcome) {
  // Three posts, recorded out of order; their metrics at 24h (one has none yet, one too few views).
  const auto post = [&](const std::string& key, store::Millis at, json metrics) {
    store::PostRecord record;
    record.idempotency_key = key;
    record.run_id = "run";
    record.step_id = "publish";
    record.step_type = "youtube.publish";
    record.platform = "youtube";
    record.account = "brand";
    record.post_id = key;
    record.url = "https://example.invalid/" + key;
    record.published_at = at;
    record.options = {{"time_zone", "UTC"}};
    ASSERT_TRUE(store_->record_post(record));
    if (!metrics.is_null()) {
      ASSERT_TRUE(store_->record_post_metrics(key, {"24h", at + 86'400'000, metrics}));
    }
  };
  const store::Millis hour20 = 20 * 3'600'000;
  post("late", hour20 + 2000, {{"views", 50000}, {"likes", 900}, {"comments", 80}, {"shares", 20}});
  post("early", hour20 + 1000, {{"views", 200}, {"likes", 12}, {"comments", 6}, {"shares", 2}});
  post("fresh", hour20 + 3000, nullptr);
  post("unseen", hour20 + 4000, {{"views", 3}, {"likes", 1}});
  post("plain", hour20 + 5000, {{"views", 500}, {"likes", 5}});

  json embedding = json::array();
  for (int i = 0; i < 16; ++i) embedding.push_back(i * 0.1);
  const json clip = {
      {"path", "/tmp/c.mp4"},
      {"start", 10.0},
      {"end", 35.0},
      {"features", {{"sharpness", 300}, {"face_ratio", 0.4}, {"loudness_lufs", nullptr}}},
      {"score", 0.8},
      {"score_details", {{"model", "prior"}, {"embedding", embedding}}}};
  for (const char* key : {"late", "early", "fresh", "unseen"}) {
    auto recorded = registry_->record_example({{"post", key}, {"item", clip}}, 10);
    ASSERT_TRUE(recorded) << recorded.error().message;
    EXPECT_EQ((*recorded)["recorded"], true);
    EXPECT_EQ((*recorded)["hour"], 20);
  }
  // A render output carrying its clip.
  auto wrapped = registry_->record_example(
      {{"post", "plain"}, {"item", {{"path", "/tmp/r.mp4"}, {"clip", clip}}}}, 10);
  ASSERT_TRUE(wrapped);
  EXPECT_EQ((*wrapped)["recorded"], true);
  // An item without a clip is not an example; an unknown post is an error.
  auto no_clip = registry_->record_example({{"post", "plain"}, {"item", {{"path", "/x.mp4"}}}}, 10);
  ASSERT_TRUE(no_clip);
  EXPECT_EQ((*no_clip)["recorded"], false);
  auto unknown = registry_->record_example({{"post", "nope"}, {"item", clip}}, 10);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, Kind::not_found);

  const fs::path out = root_ / "artifacts" / "run1" / "examples.jsonl";
  auto exported = registry_->export_examples(
      {{"path", out.string()}, {"label", "24h"}, {"min_views", 10}, {"weight_cap", 10000}});
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ((*exported)["examples"], 3);
  EXPECT_EQ((*exported)["skipped"]["no_metrics"], 1);
  EXPECT_EQ((*exported)["skipped"]["few_views"], 1);
  EXPECT_EQ((*exported)["new_examples"], 3);
  EXPECT_EQ((*exported)["active"], nullptr);
  EXPECT_EQ((*exported)["outcome"],
            "(likes + comments + shares) / views at 24h, weight min(views, 10000)");
  std::ifstream lines(out);
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["post"], "early");
  EXPECT_EQ(rows[1]["post"], "late");
  EXPECT_EQ(rows[2]["post"], "plain");
  EXPECT_DOUBLE_EQ(rows[0]["engagement"].get<double>(), 20.0 / 200);
  EXPECT_EQ(rows[0]["weight"], 200);
  EXPECT_DOUBLE_EQ(rows[1]["engagement"].get<double>(), 1000.0 / 50000);
  EXPECT_EQ(rows[1]["weight"], 10000) << "capped";
  EXPECT_EQ(rows[0]["platform"], "youtube");
  const json& example = rows[0]["example"];
  EXPECT_EQ(example["features"],
            json({{"sharpness", 300}, {"face_ratio", 0.4}, {"duration", 25.0}}));
  EXPECT_EQ(example["embedding"].size(), 16u);
  EXPECT_EQ(example["hour"], 20);

  // The file reads back as training examples.
  auto file = score::read_example_file(out);
  ASSERT_TRUE(file) << file.error();
  ASSERT_EQ(file->examples.size(), 3u);
  EXPECT_EQ(file->examples[0].example.context.platform, score::Platform::youtube_shorts);
  EXPECT_EQ(file->examples[0].example.context.hour, 20);
  EXPECT_EQ(file->examples[0].example.features.embedding.size(), score::kEmbeddingDim);

  // Only below the artifact directory.
  for (const std::string& path :
       {(root_ / "elsewhere.jsonl").string(), (root_ / "artifacts" / ".." / "x.jsonl").string(),
        std::string("relative.jsonl")}) {
    auto refused = registry_->export_examples({{"path", path}});
    ASSERT_FALSE(refused) << path;
    EXPECT_EQ(refused.error().kind, Kind::invalid);
  }
}

// --- the retraining library -------------------------------------------------------------------

TEST(Retrain, HoldsOutTheMostRecentPostsByPublishTime) {
  auto examples = synthetic(400, 1'000'000, false, 3);
  std::shuffle(examples.begin(), examples.end(), std::mt19937_64(5));  // any order in
  auto options = quick_options();
  options.train.epochs = 1;
  options.holdout_fraction = 0.25;
  auto result = score::retrain(score::EngagementModel::prior(), examples, options);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->holdout_examples, 100u);
  EXPECT_EQ(result->train_examples, 300u);
  EXPECT_EQ(result->holdout_from, 1'000'000 + 300 * 60'000);
  EXPECT_EQ(result->holdout_to, 1'000'000 + 399 * 60'000);
  EXPECT_EQ(result->train_to, 1'000'000 + 299 * 60'000);
  EXPECT_EQ(result->current.examples, 100u);
  EXPECT_EQ(result->report.train_examples + result->report.validation_examples, 300u)
      << "the holdout is never trained on";
  options.holdout_count = 30;
  result = score::retrain(score::EngagementModel::prior(), examples, options);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->holdout_examples, 30u);

  options.holdout_count = 0;
  auto too_few =
      score::retrain(score::EngagementModel::prior(), synthetic(12, 0, false, 1), options);
  ASSERT_FALSE(too_few);
  EXPECT_NE(too_few.error().find("12 examples are too few"), std::string::npos) << too_few.error();
}

TEST(Retrain, StopsEarlyOnceTheValidationLossNoLongerImproves) {
  // Rates that have nothing to do with the features: after the intercept is learned, nothing
  // improves the validation loss any more.
  auto examples = synthetic(600, 0, false, 31);
  std::mt19937_64 random(32);
  for (auto& dated : examples) {
    dated.example.engagement = std::uniform_real_distribution<double>(0, 0.2)(random);
  }
  auto options = quick_options();
  options.train.epochs = 60;
  options.patience = 2;
  auto result = score::retrain(score::EngagementModel::prior(), examples, options);
  ASSERT_TRUE(result) << result.error();
  EXPECT_LT(result->report.epochs_run, 60);
  EXPECT_GE(result->report.epochs_run, 2);
  EXPECT_LT(result->report.best_epoch, result->report.epochs_run);
  options.patience = 0;
  options.train.epochs = 8;
  result = score::retrain(score::EngagementModel::prior(), examples, options);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->report.epochs_run, 8);
}

TEST(Retrain, ScoresTheHoldoutAsWeightedCrossEntropyAndSquaredError) {
  // The prior gives a clip with only neutral features exactly 0.5: BCE ln 2 whatever the rate.
  std::vector<score::Example> examples(2);
  examples[0].engagement = 0.1;
  examples[0].weight = 3;
  examples[1].engagement = 0.7;
  examples[1].weight = 1;
  const auto scores = score::evaluate(score::EngagementModel::prior(), examples);
  EXPECT_NEAR(scores.cross_entropy, std::log(2.0), 1e-9);
  EXPECT_NEAR(scores.mse, (3 * 0.16 + 1 * 0.04) / 4, 1e-9);
  EXPECT_EQ(scores.weight, 4);
}

TEST(Retrain, ACandidateThatLearnedTheRelationshipBeatsThePriorOnTheHoldout) {
  auto result = score::retrain(score::EngagementModel::prior(), synthetic(1500, 0, false, 11),
                               quick_options());
  ASSERT_TRUE(result) << result.error();
  std::printf("holdout BCE: prior %.4f, candidate %.4f; MSE %.5f -> %.5f\n",
              result->current.cross_entropy, result->candidate_holdout.cross_entropy,
              result->current.mse, result->candidate_holdout.mse);
  EXPECT_LT(result->candidate_holdout.cross_entropy, result->current.cross_entropy * 0.9);
  EXPECT_LT(result->candidate_holdout.mse, result->current.mse);
}

// The current model knows the audience; then the older posts it is retrained on say the
// opposite, while the newest posts (the holdout) still behave as before. The candidate is worse
// on the holdout, and the registry keeps the current model.
TEST(Retrain, ACandidateThatDoesNotImproveOnTheRecentPostsIsRejected) {
  score::EngagementModel current = score::EngagementModel::prior();
  {
    std::vector<score::Example> known;
    for (auto& dated : synthetic(1500, 0, false, 21)) known.push_back(dated.example);
    score::TrainOptions options;
    options.epochs = 15;
    ASSERT_TRUE(current.train(known, options));
  }
  auto examples = synthetic(1000, 0, true, 22);
  for (auto& recent : synthetic(250, 1000 * 60'000, false, 23)) examples.push_back(recent);
  auto options = quick_options();
  options.holdout_count = 250;
  auto result = score::retrain(current, examples, options);
  ASSERT_TRUE(result) << result.error();
  std::printf("holdout BCE: current %.4f, candidate %.4f\n", result->current.cross_entropy,
              result->candidate_holdout.cross_entropy);
  EXPECT_GT(result->candidate_holdout.cross_entropy, result->current.cross_entropy);

  // Through the daemon's registry: the current model is v1, the candidate is refused promotion.
  const fs::path root =
      fs::temp_directory_path() / ("reelflow-retrain-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  auto opened = store::open_sqlite_store(root / "reelflow.db");
  ASSERT_TRUE(opened);
  auto models = store::ModelStore::open(root / "reelflow.db");
  ASSERT_TRUE(models);
  store::ModelRegistry registry(**models, **opened, {root / "models", root / "artifacts", {}});
  ASSERT_TRUE(current.save(root / "current.pt"));
  ASSERT_TRUE(result->candidate.save(root / "candidate.pt"));
  const auto metrics = [](double current_bce, double candidate_bce) {
    return json{{"holdout",
                 {{"current", {{"bce", current_bce}, {"mse", 0}}},
                  {"candidate", {{"bce", candidate_bce}, {"mse", 0}}}}}};
  };
  ASSERT_TRUE(
      registry.register_candidate({{"file", (root / "current.pt").string()},
                                   {"parent", nullptr},
                                   {"metrics", metrics(1.0, result->current.cross_entropy)}},
                                  1));
  auto decided = registry.register_candidate(
      {{"file", (root / "candidate.pt").string()},
       {"parent", 1},
       {"metrics",
        metrics(result->current.cross_entropy, result->candidate_holdout.cross_entropy)}},
      2);
  ASSERT_TRUE(decided) << decided.error().message;
  EXPECT_EQ((*decided)["status"], "rejected") << (*decided)["reason"];
  EXPECT_EQ((*decided)["active"], 1);
  fs::remove_all(root);
}

TEST(Retrain, AnExamplesFileWithABadLineIsRefusedNamingTheLine) {
  const fs::path path =
      fs::temp_directory_path() / ("reelflow-examples-" + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(path)
      << R"({"published_at": 1, "platform": "douyin", "engagement": 0.1, "weight": 5, "example": {"features": {"sharpness": 100}}})"
      << "\n"
      << R"({"published_at": 2, "platform": "douyin", "engagement": 1.5, "weight": 5, "example": {"features": {}}})"
      << "\n";
  auto file = score::read_example_file(path);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error(),
            "examples file '" + path.string() + "' line 2: `engagement` must be a rate in 0..1");
  fs::remove(path);
  auto missing = score::read_example_file(path);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot be opened"), std::string::npos);
}

TEST(Retrain, PublisherPlatformsMapOntoTheModelsPlatforms) {
  bool known = false;
  EXPECT_EQ(score::model_platform("youtube", &known), score::Platform::youtube_shorts);
  EXPECT_TRUE(known);
  EXPECT_EQ(score::model_platform("instagram"), score::Platform::instagram_reels);
  EXPECT_EQ(score::model_platform("douyin"), score::Platform::douyin);
  EXPECT_EQ(score::model_platform("wechat_channels"), score::Platform::wechat_channels);
  EXPECT_EQ(score::model_platform("folder", &known), score::Platform::other);
  EXPECT_FALSE(known);
}

}  // namespace
