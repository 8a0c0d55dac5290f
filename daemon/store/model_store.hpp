// The engagement model's tables in the daemon's database (schema 7): the versions of a model
// (its file, SHA-256, status, parent and the metrics it was judged by) and the training examples
// recorded for published clips. SQL only; the rules (what is promoted, which files are
// installed where, how an outcome is computed) are ModelRegistry's (model_registry.hpp).
//
// Like TrackStore, it works on a connection of its own to the database that open_sqlite_store
// created and migrated, so a long export (a read transaction over every example) never holds the
// engine's connection. Every mutating call is one transaction. Times are passed in.
//
// Thread-safety: every call may come from any thread; calls are serialised by a mutex inside.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/store.hpp"

namespace reelflow::store {

// One version of a model. Status: "active" (at most one per name: the one installed), "retired"
// (was active, replaced or rolled back from) or "rejected" (never active: it did not beat the
// active version).
struct ModelVersion {
  std::int64_t version = 0;  // unique across names, increasing
  std::string name;          // e.g. "engagement"
  std::string file;          // the version's own copy of the model file
  std::string sha256;        // of that file, recorded when it was registered
  std::string status;
  std::optional<std::int64_t> parent;  // the version it was trained from; nullopt: the prior
  std::string register_key;            // the execution that registered it (empty: none)
  Millis created_at = 0;
  std::optional<Millis> activated_at;  // its latest activation
  std::string reason;                  // why it was promoted or rejected
  nlohmann::json metrics = nlohmann::json::object();
};

struct NewModelExample {
  std::string post_key;  // the post's idempotency key (posts.idempotency_key)
  nlohmann::json features =
      nlohmann::json::object();  // the clip's inputs, as the registry keeps them
  Millis recorded_at = 0;
};

// A recorded example joined with its post and the metrics taken at one label.
struct StoredExample {
  std::string post_key;
  Millis published_at = 0;
  std::string platform;                     // the post's (publisher's) platform, e.g. "youtube"
  std::string features_json;                // as recorded (JSON text)
  std::optional<std::string> metrics_json;  // the metrics at the label; nullopt: not taken (yet)
};

class ModelStore {
 public:
  // Opens a connection of its own to the daemon's database (already migrated to schema 7).
  static Result<std::unique_ptr<ModelStore>> open(const std::filesystem::path& path,
                                                  int busy_timeout_ms = 5000);
  ~ModelStore();
  ModelStore(const ModelStore&) = delete;
  ModelStore& operator=(const ModelStore&) = delete;

  // --- training examples ---
  // Records the examples in one transaction; a post already recorded keeps its first example.
  // Returns how many were new.
  Result<std::size_t> record_examples(std::span<const NewModelExample> examples);
  Result<std::size_t> count_examples();
  // Calls visit for every recorded example whose post is recorded, oldest post first (then by
  // key), with the metrics taken at `label`, inside one read transaction (a consistent
  // snapshot) on a connection opened for it, so the other calls do not wait for the export.
  // Stops at visit's first error and returns it. Returns how many were visited.
  Result<std::size_t> for_each_example(
      std::string_view label, const std::function<Result<void>(const StoredExample&)>& visit);

  // --- versions ---
  // Newest first; name empty: every name.
  Result<std::vector<ModelVersion>> versions(std::string_view name);
  Result<std::optional<ModelVersion>> version(std::int64_t version);
  Result<std::optional<ModelVersion>> active(std::string_view name);
  Result<std::vector<ModelVersion>> all_active();
  Result<std::optional<ModelVersion>> by_register_key(std::string_view key);
  // The number the next added version gets.
  Result<std::int64_t> next_version();
  // Adds the version (its number must be next_version()'s). When its status is "active", the
  // name's active version becomes "retired" in the same transaction.
  Result<void> add_version(const ModelVersion& version);
  // Makes `version` its name's active version (the active one retired) with activated_at = at;
  // refused for a version that does not exist.
  Result<void> activate(std::int64_t version, Millis at);

 private:
  class Impl;
  explicit ModelStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::store
