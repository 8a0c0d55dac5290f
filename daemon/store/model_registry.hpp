// The engagement model's registry: the daemon side of retraining (plugins/models/README.md).
//
// It serves the daemon services that the models plugin's steps call (rf_host.call) and the
// control API's /v1/models:
//
//   models.record_example  a published post's scored clip becomes a training example
//                          (the runner calls it for every published for_each item that carries
//                          a clip);
//   models.examples        writes the examples, oldest post first, each with its observed
//                          outcome, as JSON lines into a run's artifact directory;
//   models.register        stores a trained candidate as a new version with its metrics and
//                          promotes it only if it beats the active version on the holdout;
//   list, rollback         `reelflow models [list|rollback V]`.
//
// The outcome of a post (README "The outcome"): engagement = (sum of the `engaged` counters,
// default likes + comments + shares) / views, in the metrics taken at `label` (default 24h),
// capped at 1; weight = min(views, weight_cap). Posts with fewer than min_views views, or no
// metrics at the label yet, are left out and counted.
//
// Files: every version's model file is copied to <models_dir>/<name>-v<N>.pt and its SHA-256
// recorded; the active version is installed at <models_dir>/<name>.pt (what video.score's
// `model` option points at) by writing a temporary file and renaming it over, so a reader never
// sees half a file. The daemon never links LibTorch: a candidate is validated by the
// models.register step (LibTorch, in a worker) before it gets here; the registry then refuses a
// file that is not a zip archive (LibTorch model files are), and a stored version whose bytes no
// longer match their recorded SHA-256 (a rollback to it is refused and the active model stays).
//
// Thread-safety: every call may come from any thread (run threads call the services); calls that
// change versions or files are serialised by a mutex inside.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/model_store.hpp"
#include "store/store.hpp"

namespace reelflow::store {

struct ModelRegistryConfig {
  std::filesystem::path models_dir;     // <state>/models: version files and the installed ones
  std::filesystem::path artifact_root;  // models.examples writes only below it
  // The local hour (0..23) of an instant in an IANA time zone; nullopt when the zone is unknown.
  std::function<std::optional<int>(Millis, const std::string&)> local_hour;
};

struct RegistryError {
  enum class Kind { invalid, not_found, refused, failed } kind = Kind::failed;
  std::string message;
};

template <typename T>
using RegistryResult = tl::expected<T, RegistryError>;

class ModelRegistry {
 public:
  ModelRegistry(ModelStore& models, Store& store, ModelRegistryConfig config);

  // The daemon services models.record_example, models.examples and models.register (the JSON
  // of plugins/models/README.md); an unknown service name is `invalid`.
  RegistryResult<nlohmann::json> call(std::string_view service, const nlohmann::json& request,
                                      Millis now);

  RegistryResult<nlohmann::json> record_example(const nlohmann::json& request, Millis now);
  RegistryResult<nlohmann::json> export_examples(const nlohmann::json& request);
  RegistryResult<nlohmann::json> register_candidate(const nlohmann::json& request, Millis now);

  // {"models": [versions, newest first], "active": {name: version}, "installed": {name: path}}
  RegistryResult<nlohmann::json> list(std::string_view name);
  // Makes `version` (or, without one, the version of `name` active before the current one) the
  // active version again and installs its file. Refused (and nothing changes) for a version that
  // was never active or whose file is missing or no longer matches its SHA-256.
  RegistryResult<nlohmann::json> rollback(std::optional<std::int64_t> version,
                                          std::string_view name, Millis now);

  // Installs each active version's file at its stable path when that file is missing or differs
  // (a crash between the database and the file); returns what it did, one line each.
  Result<std::vector<std::string>> repair();

  // <models_dir>/<name>.pt
  std::filesystem::path installed_path(std::string_view name) const;

 private:
  RegistryResult<void> install(const ModelVersion& version);

  ModelStore& models_;
  Store& store_;
  ModelRegistryConfig config_;
  std::mutex mutex_;  // versions and installed files change under it
};

// The JSON of one version, as /v1/models and the services show it.
nlohmann::json model_version_json(const ModelVersion& version);

}  // namespace reelflow::store
