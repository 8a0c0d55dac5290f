// The engagement model on its own: the prior orders hand-made clips the documented way, training
// recovers a known relationship from synthetic data, and the model file round-trips and rejects
// bad files. No LibTorch header here: the test uses model.hpp only.
#include "score/model.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace reelflow::video::score {
namespace {

namespace fs = std::filesystem;

Features neutral_clip() {
  Features features;
  const EngagementModel prior = EngagementModel::prior();
  for (const FeatureSpec& spec : prior.features()) features.values[spec.name] = spec.neutral;
  return features;
}

Features good_clip() {
  Features features;
  features.values = {{"duration", 25},     {"motion", 12},         {"sharpness", 600},
                     {"brightness", 140},  {"contrast", 60},       {"colourfulness", 70},
                     {"text_ratio", 0.1},  {"face_ratio", 0.8},    {"face_area", 0.15},
                     {"brisque", 20},      {"loudness_lufs", -14}, {"silence_ratio", 0.05},
                     {"voice_ratio", 0.7}, {"music_ratio", 0.4},   {"cuts_per_minute", 14}};
  return features;
}

Features poor_clip() {
  Features features;
  features.values = {{"duration", 25},      {"motion", 1},          {"sharpness", 20},
                     {"brightness", 40},    {"contrast", 20},       {"colourfulness", 10},
                     {"text_ratio", 0},     {"face_ratio", 0},      {"face_area", 0},
                     {"brisque", 70},       {"loudness_lufs", -35}, {"silence_ratio", 0.7},
                     {"voice_ratio", 0.05}, {"music_ratio", 0},     {"cuts_per_minute", 2}};
  return features;
}

Features with(Features features, const std::string& name, double value) {
  features.values[name] = value;
  return features;
}

double score_of(const Features& features, Platform platform = Platform::other) {
  static const EngagementModel prior = EngagementModel::prior();
  return prior.predict(features, Context{platform, std::nullopt});
}

// ---- The prior -----------------------------------------------------------------------------

TEST(EngagementPrior, ANeutralClipScoresOneHalfAndListsWhatIsMissing) {
  const EngagementModel prior = EngagementModel::prior();
  EXPECT_EQ(prior.description(), "prior");
  EXPECT_DOUBLE_EQ(prior.predict(neutral_clip(), Context{}), 0.5);
  const Explanation empty = prior.explain(Features{}, Context{});
  EXPECT_DOUBLE_EQ(empty.score, 0.5);
  EXPECT_EQ(empty.missing.size(), kFeatureNames.size());
  EXPECT_TRUE(empty.contributions.empty());
}

TEST(EngagementPrior, OrdersHandMadeClips) {
  const double good = score_of(good_clip());
  const double neutral = score_of(neutral_clip());
  const double poor = score_of(poor_clip());
  std::cout << "prior: good " << good << ", neutral " << neutral << ", poor " << poor << "\n";
  EXPECT_GT(good, 0.85);
  EXPECT_LT(poor, 0.15);
  EXPECT_GT(good, neutral);
  EXPECT_GT(neutral, poor);
}

TEST(EngagementPrior, EachFeatureMovesTheScoreTheDocumentedWay) {
  const Features base = neutral_clip();
  const double at_neutral = score_of(base);
  const auto raises = [&](const std::string& name, double value) {
    EXPECT_GT(score_of(with(base, name, value)), at_neutral) << name << " = " << value;
  };
  const auto lowers = [&](const std::string& name, double value) {
    EXPECT_LT(score_of(with(base, name, value)), at_neutral) << name << " = " << value;
  };
  raises("sharpness", 800);
  lowers("sharpness", 15);
  raises("colourfulness", 90);
  raises("face_ratio", 0.9);
  raises("face_area", 0.3);
  raises("voice_ratio", 0.9);
  raises("contrast", 80);
  raises("motion", 15);
  lowers("motion", 0.5);
  lowers("brisque", 75);
  raises("brisque", 10);
  lowers("silence_ratio", 0.8);
  lowers("loudness_lufs", -40);
  lowers("loudness_lufs", -2);  // clipping
}

TEST(EngagementPrior, BrightButNotBlownOut) {
  const Features base = neutral_clip();
  const double bright = score_of(with(base, "brightness", 160));
  const double normal = score_of(with(base, "brightness", 120));
  const double blown = score_of(with(base, "brightness", 235));
  const double dim = score_of(with(base, "brightness", 80));
  const double dark = score_of(with(base, "brightness", 25));
  EXPECT_GT(bright, normal);
  EXPECT_GT(normal, blown);
  EXPECT_GT(normal, dim);
  EXPECT_GT(dim, dark);
  EXPECT_LT(dark, blown);  // very dark is the worst
}

TEST(EngagementPrior, ModerateCutsPerMinuteScoreBest) {
  const Features base = neutral_clip();
  const double moderate = score_of(with(base, "cuts_per_minute", 16));
  EXPECT_GT(moderate, score_of(with(base, "cuts_per_minute", 2)));
  EXPECT_GT(moderate, score_of(with(base, "cuts_per_minute", 45)));
}

TEST(EngagementPrior, ClipLengthIsJudgedAgainstThePlatform) {
  const Features base = neutral_clip();
  const Features short_clip = with(base, "duration", 20);
  const Features long_clip = with(base, "duration", 90);
  const Features tiny_clip = with(base, "duration", 5);
  EXPECT_GT(score_of(short_clip, Platform::douyin), score_of(long_clip, Platform::douyin));
  EXPECT_GT(score_of(long_clip, Platform::bilibili), score_of(long_clip, Platform::douyin));
  EXPECT_GT(score_of(long_clip, Platform::bilibili), score_of(tiny_clip, Platform::bilibili));
  EXPECT_GT(score_of(short_clip, Platform::instagram_reels),
            score_of(long_clip, Platform::instagram_reels));
}

TEST(EngagementPrior, PrefersEveningPublishingSlightly) {
  const EngagementModel prior = EngagementModel::prior();
  const Features base = neutral_clip();
  const double evening = prior.predict(base, Context{Platform::other, 20});
  const double morning = prior.predict(base, Context{Platform::other, 8});
  const double unknown = prior.predict(base, Context{Platform::other, std::nullopt});
  EXPECT_GT(evening, unknown);
  EXPECT_LT(morning, unknown);
  EXPECT_LT(evening - morning, 0.2);  // a nudge, not a verdict
}

TEST(EngagementPrior, IsDeterministic) {
  const EngagementModel first = EngagementModel::prior();
  const EngagementModel second = EngagementModel::prior();
  EXPECT_EQ(first.hidden_units(), second.hidden_units());
  for (const Features& features : {good_clip(), poor_clip(), neutral_clip()}) {
    EXPECT_EQ(first.predict(features, Context{Platform::douyin, 21}),
              second.predict(features, Context{Platform::douyin, 21}));
  }
}

TEST(EngagementPrior, ExplainsWhatMovedTheScore) {
  const EngagementModel prior = EngagementModel::prior();
  Features features = poor_clip();
  features.values["unknown_feature"] = 3;
  const Explanation explanation = prior.explain(features, Context{});
  EXPECT_NEAR(explanation.score, 1 / (1 + std::exp(-explanation.logit)), 1e-12);
  ASSERT_FALSE(explanation.contributions.empty());
  EXPECT_LT(explanation.contributions.front().logit_change, 0);
  // The prior's hidden units each read one input, so contributions add up to the logit.
  double sum = 0;
  for (const Contribution& contribution : explanation.contributions) {
    sum += contribution.logit_change;
  }
  EXPECT_NEAR(sum, explanation.logit, 1e-9);
  EXPECT_TRUE(explanation.missing.empty());
  EXPECT_EQ(explanation.ignored, std::vector<std::string>{"unknown_feature"});
  const auto silence =
      std::find_if(explanation.contributions.begin(), explanation.contributions.end(),
                   [](const Contribution& c) { return c.input == "silence_ratio"; });
  ASSERT_NE(silence, explanation.contributions.end());
  EXPECT_LT(silence->logit_change, 0);
}

TEST(EngagementPrior, AMissingFeatureCountsAsItsNeutralValue) {
  const EngagementModel prior = EngagementModel::prior();
  Features partial;
  partial.values = {{"sharpness", 500}, {"silence_ratio", 0.5}};
  Features completed = neutral_clip();
  completed.values["sharpness"] = 500;
  completed.values["silence_ratio"] = 0.5;
  EXPECT_DOUBLE_EQ(prior.predict(partial, Context{}), prior.predict(completed, Context{}));
  EXPECT_EQ(prior.explain(partial, Context{}).missing.size(), kFeatureNames.size() - 2);
}

TEST(EngagementPrior, RefusesMalformedInputs) {
  const EngagementModel prior = EngagementModel::prior();
  Features features = good_clip();
  features.embedding = {1, 2, 3};
  EXPECT_THROW(prior.predict(features, Context{}), std::invalid_argument);
  EXPECT_THROW(prior.predict(good_clip(), Context{Platform::other, 24}), std::invalid_argument);
  EXPECT_THROW(prior.predict(with(good_clip(), "motion", NAN), Context{}), std::invalid_argument);
}

// ---- Training ------------------------------------------------------------------------------

// Synthetic clips whose engagement follows a known function:
//   y = sigmoid(2 z(sharpness) - 1.5 silence_ratio + face_ratio + platform effect) + noise,
// z(sharpness) = ln(sharpness / 150), platform effect douyin +0.5, youtube_shorts +0.25,
// bilibili -0.5, others 0. Every other feature and the hour vary at random and do not matter.
class Synthetic {
 public:
  explicit Synthetic(std::uint64_t seed) : random_(seed) {}

  static double platform_effect(Platform platform) {
    switch (platform) {
      case Platform::douyin:
        return 0.5;
      case Platform::youtube_shorts:
        return 0.25;
      case Platform::bilibili:
        return -0.5;
      default:
        return 0;
    }
  }
  static double truth(const Features& features, const Context& context) {
    const double logit = 2 * std::log(features.values.at("sharpness") / 150) -
                         1.5 * features.values.at("silence_ratio") +
                         features.values.at("face_ratio") + platform_effect(context.platform);
    return 1 / (1 + std::exp(-logit));
  }

  Example example() {
    Example out;
    auto& v = out.features.values;
    v["duration"] = uniform(5, 120);
    v["motion"] = uniform(0, 30);
    v["sharpness"] = std::exp(std::normal_distribution<double>(std::log(150.0), 1.0)(random_));
    v["brightness"] = uniform(20, 235);
    v["contrast"] = uniform(10, 90);
    v["colourfulness"] = uniform(0, 120);
    v["text_ratio"] = uniform(0, 0.5);
    v["face_ratio"] = uniform(0, 1);
    v["face_area"] = uniform(0, 0.4);
    v["brisque"] = uniform(5, 80);
    v["loudness_lufs"] = uniform(-40, -8);
    v["silence_ratio"] = uniform(0, 1);
    v["voice_ratio"] = uniform(0, 1);
    v["music_ratio"] = uniform(0, 1);
    v["cuts_per_minute"] = uniform(0, 40);
    out.context.platform = static_cast<Platform>(std::uniform_int_distribution<int>(0, 7)(random_));
    out.context.hour = std::uniform_int_distribution<int>(0, 23)(random_);
    const double noise = std::normal_distribution<double>(0, 0.03)(random_);
    out.engagement = std::clamp(truth(out.features, out.context) + noise, 0.0, 1.0);
    return out;
  }
  std::vector<Example> examples(std::size_t count) {
    std::vector<Example> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(example());
    return out;
  }

 private:
  double uniform(double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random_);
  }
  std::mt19937_64 random_;
};

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double mean_a = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mean_b = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += (a[i] - mean_a) * (b[i] - mean_b);
    aa += (a[i] - mean_a) * (a[i] - mean_a);
    bb += (b[i] - mean_b) * (b[i] - mean_b);
  }
  return ab / std::sqrt(aa * bb);
}

std::vector<double> ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> out(values.size());
  for (std::size_t r = 0; r < order.size(); ++r) out[order[r]] = static_cast<double>(r);
  return out;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  return pearson(ranks(a), ranks(b));
}

TEST(EngagementTraining, RecoversAKnownRelationship) {
  Synthetic synthetic(7);
  const std::vector<Example> train = synthetic.examples(3000);
  const std::vector<Example> held_out = synthetic.examples(1000);
  std::vector<double> truth;
  for (const Example& example : held_out) {
    truth.push_back(Synthetic::truth(example.features, example.context));
  }

  EngagementModel model = EngagementModel::prior();
  const std::vector<double> prior_predictions = model.predict(held_out);
  TrainOptions options;
  options.epochs = 40;
  options.learning_rate = 0.01;
  options.weight_decay = 1e-5;
  options.validation_split = 0.25;
  options.seed = 11;
  const auto started = std::chrono::steady_clock::now();
  const auto report = model.train(train, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(report) << report.error();
  ASSERT_TRUE(report->validation_loss && report->initial_validation_loss);

  const std::vector<double> predictions = model.predict(held_out);
  const double prior_pearson = pearson(prior_predictions, truth);
  const double trained_pearson = pearson(predictions, truth);
  const double trained_spearman = spearman(predictions, truth);
  std::cout << "training: " << report->train_examples << " train / " << report->validation_examples
            << " validation examples, " << report->epochs_run << " epochs (best "
            << report->best_epoch << ") in " << seconds << " s\n"
            << "  train loss (BCE)       " << report->initial_train_loss << " -> "
            << report->train_loss << "\n"
            << "  validation loss (BCE)  " << *report->initial_validation_loss << " -> "
            << *report->validation_loss << "\n"
            << "  validation MSE         " << *report->initial_validation_mse << " -> "
            << *report->validation_mse << "\n"
            << "  held-out vs truth: Pearson " << prior_pearson << " (prior) -> " << trained_pearson
            << ", Spearman " << spearman(prior_predictions, truth) << " (prior) -> "
            << trained_spearman << "\n";
  RecordProperty("validation_mse_before", std::to_string(*report->initial_validation_mse));
  RecordProperty("validation_mse_after", std::to_string(*report->validation_mse));
  RecordProperty("pearson", std::to_string(trained_pearson));

  EXPECT_LT(*report->validation_loss, *report->initial_validation_loss);
  EXPECT_LT(*report->validation_mse, 0.25 * *report->initial_validation_mse);
  EXPECT_GT(trained_pearson, 0.95);
  EXPECT_GT(trained_spearman, 0.95);
  EXPECT_EQ(model.description(), "prior, trained on 3000 examples");

  // Sensitivities (finite differences of predict) have the signs of the known relationship.
  struct Probe {
    std::string name;
    std::function<Example(Example)> change;
    int expected_sign;
  };
  const std::vector<Probe> probes = {
      {"sharpness x1.5",
       [](Example e) {
         e.features.values["sharpness"] *= 1.5;
         return e;
       },
       +1},
      {"silence_ratio +0.1",
       [](Example e) {
         e.features.values["silence_ratio"] += 0.1;
         return e;
       },
       -1},
      {"face_ratio +0.1",
       [](Example e) {
         e.features.values["face_ratio"] += 0.1;
         return e;
       },
       +1},
      {"platform other -> douyin",
       [](Example e) {
         e.context.platform = Platform::douyin;
         return e;
       },
       +1},
      {"platform other -> bilibili",
       [](Example e) {
         e.context.platform = Platform::bilibili;
         return e;
       },
       -1},
  };
  std::vector<Example> base(held_out.begin(), held_out.begin() + 300);
  for (Example& example : base) example.context.platform = Platform::other;
  const std::vector<double> at_base = model.predict(base);
  for (const Probe& probe : probes) {
    std::vector<Example> changed;
    for (const Example& example : base) changed.push_back(probe.change(example));
    const std::vector<double> after = model.predict(changed);
    double mean = 0;
    int agreeing = 0;
    for (std::size_t i = 0; i < base.size(); ++i) {
      const double delta = after[i] - at_base[i];
      mean += delta / static_cast<double>(base.size());
      if (delta * probe.expected_sign > 0) ++agreeing;
    }
    std::cout << "  sensitivity " << probe.name << ": mean " << mean << ", sign right in "
              << agreeing << "/" << base.size() << "\n";
    EXPECT_GT(mean * probe.expected_sign, 0) << probe.name;
    EXPECT_GE(agreeing, static_cast<int>(base.size() * 9 / 10)) << probe.name;
  }
  EXPECT_LT(seconds, 30);
}

TEST(EngagementTraining, LearnsFromEmbeddings) {
  std::mt19937_64 random(3);
  std::normal_distribution<double> normal(0, 1);
  std::vector<Example> examples(800);
  for (Example& example : examples) {
    example.features.embedding.resize(kEmbeddingDim);
    for (double& value : example.features.embedding) value = normal(random);
    example.engagement = 1 / (1 + std::exp(-2 * example.features.embedding[3]));
  }
  EngagementModel model = EngagementModel::prior();
  TrainOptions options;
  options.epochs = 30;
  options.validation_split = 0.25;
  const auto report = model.train(examples, options);
  ASSERT_TRUE(report) << report.error();
  std::vector<double> truth;
  for (const Example& example : examples) truth.push_back(example.engagement);
  EXPECT_GT(pearson(model.predict(examples), truth), 0.95);
}

TEST(EngagementTraining, IsDeterministicForASeed) {
  Synthetic synthetic(5);
  const std::vector<Example> examples = synthetic.examples(300);
  TrainOptions options;
  options.epochs = 5;
  EngagementModel first = EngagementModel::prior();
  EngagementModel second = EngagementModel::prior();
  const auto first_report = first.train(examples, options);
  const auto second_report = second.train(examples, options);
  ASSERT_TRUE(first_report && second_report);
  EXPECT_EQ(first_report->validation_loss, second_report->validation_loss);
  EXPECT_EQ(first.predict(examples), second.predict(examples));
}

TEST(EngagementTraining, StopsWhenTheCallbackSaysSo) {
  Synthetic synthetic(6);
  TrainOptions options;
  options.epochs = 50;
  options.on_epoch = [](const EpochStats& stats) { return stats.epoch < 3; };
  EngagementModel model = EngagementModel::prior();
  const auto report = model.train(synthetic.examples(200), options);
  ASSERT_TRUE(report) << report.error();
  EXPECT_EQ(report->epochs_run, 3);
}

TEST(EngagementTraining, RejectsBadExamplesAndLeavesTheModelAsItWas) {
  Synthetic synthetic(8);
  std::vector<Example> examples = synthetic.examples(10);
  examples[3].engagement = 1.5;
  EngagementModel model = EngagementModel::prior();
  const Features probe = good_clip();
  const double before = model.predict(probe, Context{});
  auto report = model.train(examples, TrainOptions{});
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().find("example 3"), std::string::npos) << report.error();
  EXPECT_NE(report.error().find("0..1"), std::string::npos) << report.error();

  examples[3].engagement = 0.5;
  examples[5].features.embedding = {1.0};
  report = model.train(examples, TrainOptions{});
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().find("example 5"), std::string::npos) << report.error();

  EXPECT_FALSE(model.train({}, TrainOptions{}));
  TrainOptions no_epochs;
  no_epochs.epochs = 0;
  EXPECT_FALSE(model.train(synthetic.examples(5), no_epochs));
  EXPECT_EQ(model.predict(probe, Context{}), before);
  EXPECT_EQ(model.description(), "prior");
}

// ---- The model file ------------------------------------------------------------------------

class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("video_score_model_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ModelFileTest, SaveAndLoadRoundTrip) {
  Synthetic synthetic(9);
  const std::vector<Example> examples = synthetic.examples(400);
  EngagementModel model = EngagementModel::prior();
  TrainOptions options;
  options.epochs = 5;
  ASSERT_TRUE(model.train(examples, options));
  const fs::path path = dir_ / "engagement.pt";
  const auto saved = model.save(path);
  ASSERT_TRUE(saved) << saved.error();
  EXPECT_FALSE(fs::exists(dir_ / "engagement.pt.partial"));

  const auto loaded = EngagementModel::load(path);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->description(), model.description());
  EXPECT_EQ(loaded->hidden_units(), model.hidden_units());
  ASSERT_EQ(loaded->features().size(), model.features().size());
  for (std::size_t i = 0; i < model.features().size(); ++i) {
    EXPECT_EQ(loaded->features()[i].name, model.features()[i].name);
    EXPECT_EQ(loaded->features()[i].transform, model.features()[i].transform);
    EXPECT_EQ(loaded->features()[i].neutral, model.features()[i].neutral);
    EXPECT_EQ(loaded->features()[i].scale, model.features()[i].scale);
  }
  EXPECT_EQ(loaded->predict(examples), model.predict(examples));  // bit for bit

  // The prior round-trips too, and a loaded model trains further.
  ASSERT_TRUE(EngagementModel::prior().save(dir_ / "prior.pt"));
  auto prior = EngagementModel::load(dir_ / "prior.pt");
  ASSERT_TRUE(prior) << prior.error();
  EXPECT_EQ(prior->predict(good_clip(), Context{}), score_of(good_clip()));
  EXPECT_TRUE(prior->train(examples, options));
}

TEST_F(ModelFileTest, AMissingFileIsNamed) {
  const fs::path path = dir_ / "no-such-model.pt";
  const auto loaded = EngagementModel::load(path);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find(path.string()), std::string::npos) << loaded.error();
  EXPECT_NE(loaded.error().find("does not exist"), std::string::npos) << loaded.error();
}

TEST_F(ModelFileTest, ACorruptFileIsNamed) {
  const fs::path garbage = dir_ / "garbage.pt";
  std::ofstream(garbage, std::ios::binary) << "this is not a model archive\x01\x02\x03";
  auto loaded = EngagementModel::load(garbage);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find(garbage.string()), std::string::npos) << loaded.error();
  std::cout << "corrupt model: " << loaded.error() << "\n";

  // A real model file cut in half.
  const fs::path whole = dir_ / "whole.pt";
  ASSERT_TRUE(EngagementModel::prior().save(whole));
  std::ifstream in(whole, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path truncated = dir_ / "truncated.pt";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  loaded = EngagementModel::load(truncated);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find(truncated.string()), std::string::npos) << loaded.error();
  std::cout << "truncated model: " << loaded.error() << "\n";

  // A TorchScript archive that is not an engagement model.
  loaded = EngagementModel::load(TEST_EMBEDDING_MODEL);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find(TEST_EMBEDDING_MODEL), std::string::npos) << loaded.error();
  EXPECT_NE(loaded.error().find("not a reelflow engagement model"), std::string::npos)
      << loaded.error();

  // A directory.
  loaded = EngagementModel::load(dir_);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("not a regular file"), std::string::npos) << loaded.error();
}

TEST_F(ModelFileTest, AnUnwritablePlaceIsNamed) {
  const fs::path path = dir_ / "no-such-dir" / "model.pt";
  const auto saved = EngagementModel::prior().save(path);
  ASSERT_FALSE(saved);
  EXPECT_NE(saved.error().find(path.string()), std::string::npos) << saved.error();
}

}  // namespace
}  // namespace reelflow::video::score
