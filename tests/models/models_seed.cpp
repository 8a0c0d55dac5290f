// models_seed: fills a daemon state directory with synthetic published posts through the real
// store path (open_sqlite_store + Store::record_post / record_post_metrics, and
// ModelStore::record_examples for their clips), as if clips scored by video.score had been
// published and their metrics pulled. For the daemon test and bench/model_retrain.sh.
//
// Usage: models_seed STATE_DIR COUNT [--start MS] [--spacing MS] [--seed N] [--drift]
//
// Each post has the 15 clip features drawn at random, a platform, a local hour and, at label
// 24h, views (log-normal, median about 2000) and likes + comments + shares drawn around
// views * rate, with the true rate
//     logit(rate) = -2.9 + 0.8 ln(sharpness / 150) - 2 (silence_ratio - 0.2)
//                   + 1.2 (face_ratio - 0.3) + platform effect + 0.3 cos(2 pi (hour - 20) / 24)
// --drift flips the signs of the sharpness and face terms (the audience changed), so a model
// trained before the change is worse on posts after it. The daemon must not be running.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "store/model_store.hpp"
#include "store/store.hpp"

namespace {

using nlohmann::json;
namespace store = reelflow::store;

struct Settings {
  std::string state_dir;
  long count = 0;
  store::Millis start = 1'700'000'000'000;  // 2023-11-14
  store::Millis spacing = 60'000;
  unsigned seed = 1;
  bool drift = false;
};

int usage(const char* problem) {
  std::fprintf(stderr,
               "models_seed: %s\nUsage: models_seed STATE_DIR COUNT [--start MS] [--spacing MS] "
               "[--seed N] [--drift]\n",
               problem);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    const auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (word == "--drift") {
      settings.drift = true;
    } else if (word == "--start" || word == "--spacing" || word == "--seed") {
      const char* text = value();
      if (text == nullptr) return usage(("no value after " + word).c_str());
      const long long number = std::atoll(text);
      if (word == "--start") settings.start = number;
      if (word == "--spacing") settings.spacing = number;
      if (word == "--seed") settings.seed = static_cast<unsigned>(number);
    } else {
      positional.push_back(word);
    }
  }
  if (positional.size() != 2) return usage("give STATE_DIR and COUNT");
  settings.state_dir = positional[0];
  settings.count = std::atol(positional[1].c_str());
  if (settings.count < 1) return usage("COUNT must be at least 1");

  std::error_code created;
  std::filesystem::create_directories(settings.state_dir, created);
  auto opened = store::open_sqlite_store(store::database_path(settings.state_dir));
  if (!opened) return std::fprintf(stderr, "models_seed: %s\n", opened.error().message.c_str()), 1;
  auto models = store::ModelStore::open(store::database_path(settings.state_dir));
  if (!models) return std::fprintf(stderr, "models_seed: %s\n", models.error().message.c_str()), 1;

  static constexpr const char* kPlatforms[] = {"douyin",    "youtube",  "tiktok", "bilibili",
                                               "instagram", "kuaishou", "folder"};
  static constexpr double kPlatformEffect[] = {0.3, -0.1, 0.2, -0.4, 0.1, 0.0, -0.2};
  std::mt19937_64 random(settings.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> normal(0, 1);
  const auto between = [&](double low, double high) { return low + (high - low) * unit(random); };

  std::vector<store::NewModelExample> examples;
  examples.reserve(static_cast<std::size_t>(settings.count));
  auto written = (*opened)->in_transaction([&]() -> reelflow::Result<void> {
    for (long i = 0; i < settings.count; ++i) {
      const std::size_t platform = static_cast<std::size_t>(random() % std::size(kPlatforms));
      const int hour = static_cast<int>(random() % 24);
      const json features = {{"duration", between(6, 60)},
                             {"motion", between(0, 30)},
                             {"sharpness", std::exp(between(std::log(20.0), std::log(1500.0)))},
                             {"brightness", between(30, 220)},
                             {"contrast", between(10, 90)},
                             {"colourfulness", between(5, 90)},
                             {"text_ratio", between(0, 0.4)},
                             {"face_ratio", between(0, 1)},
                             {"face_area", between(0, 0.3)},
                             {"brisque", between(10, 70)},
                             {"loudness_lufs", between(-40, -6)},
                             {"silence_ratio", between(0, 0.8)},
                             {"voice_ratio", between(0, 1)},
                             {"music_ratio", between(0, 1)},
                             {"cuts_per_minute", between(0, 40)}};
      const double sign = settings.drift ? -1 : 1;
      const double logit = -2.9 + sign * 0.8 * std::log(features["sharpness"].get<double>() / 150) -
                           2.0 * (features["silence_ratio"].get<double>() - 0.2) +
                           sign * 1.2 * (features["face_ratio"].get<double>() - 0.3) +
                           kPlatformEffect[platform] +
                           0.3 * std::cos(2 * std::numbers::pi * (hour - 20) / 24.0);
      const double rate = 1 / (1 + std::exp(-logit));
      const double views = std::round(std::exp(std::log(2000.0) + 1.2 * normal(random))) + 1;
      const double spread = std::sqrt(views * rate * (1 - rate));
      const double engaged = std::max(0.0, std::round(views * rate + spread * normal(random)));

      store::PostRecord post;
      post.idempotency_key = "seed-" + std::to_string(settings.start) + "/" + std::to_string(i);
      post.run_id = "seed-run";
      post.step_id = "publish";
      post.item = static_cast<int>(i);
      post.step_type = std::string(kPlatforms[platform]) + ".publish";
      post.platform = kPlatforms[platform];
      post.account = "seed";
      post.post_id = "p" + std::to_string(i);
      post.url = "https://example.invalid/" + post.post_id;
      post.published_at = settings.start + i * settings.spacing;
      post.options = {{"time_zone", "UTC"}};
      if (auto recorded = (*opened)->record_post(post); !recorded) {
        return reelflow::fail(recorded.error().message);
      }
      const double likes = std::round(engaged * 0.7);
      const double comments = std::round(engaged * 0.2);
      store::PostMetrics metrics{"24h",
                                 post.published_at + 86'400'000,
                                 {{"views", views},
                                  {"likes", likes},
                                  {"comments", comments},
                                  {"shares", engaged - likes - comments}}};
      if (auto recorded = (*opened)->record_post_metrics(post.idempotency_key, metrics);
          !recorded) {
        return reelflow::fail(recorded.error().message);
      }
      examples.push_back({post.idempotency_key,
                          {{"features", features}, {"hour", hour}, {"time_zone", "UTC"}},
                          post.published_at});
    }
    return {};
  });
  if (!written)
    return std::fprintf(stderr, "models_seed: %s\n", written.error().message.c_str()), 1;
  auto added = (*models)->record_examples(examples);
  if (!added) return std::fprintf(stderr, "models_seed: %s\n", added.error().message.c_str()), 1;
  std::printf("models_seed: %ld posts from %lld, %zu new examples\n", settings.count,
              static_cast<long long>(settings.start), *added);
  return 0;
}
