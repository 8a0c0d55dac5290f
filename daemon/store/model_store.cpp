#include "store/model_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <mutex>
#include <type_traits>

namespace reelflow::store {

namespace {

using nlohmann::json;

constexpr const char* kVersionColumns =
    "version, name, file, sha256, status, parent, register_key, created_at, activated_at, "
    "reason, metrics_json";

ModelVersion read_version(SQLite::Statement& row) {
  ModelVersion version;
  version.version = row.getColumn(0).getInt64();
  version.name = row.getColumn(1).getString();
  version.file = row.getColumn(2).getString();
  version.sha256 = row.getColumn(3).getString();
  version.status = row.getColumn(4).getString();
  if (!row.getColumn(5).isNull()) version.parent = row.getColumn(5).getInt64();
  version.register_key = row.getColumn(6).isNull() ? "" : row.getColumn(6).getString();
  version.created_at = row.getColumn(7).getInt64();
  if (!row.getColumn(8).isNull()) version.activated_at = row.getColumn(8).getInt64();
  version.reason = row.getColumn(9).getString();
  version.metrics = json::parse(row.getColumn(10).getString());
  return version;
}

}  // namespace

class ModelStore::Impl {
 public:
  Impl(std::string path, SQLite::Database db, int busy_timeout_ms)
      : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), db_(std::move(db)) {}

  Result<std::size_t> record_examples(std::span<const NewModelExample> examples) {
    return write("record model examples", [&]() -> Result<std::size_t> {
      SQLite::Statement insert(db_,
                               "INSERT OR IGNORE INTO model_examples (post_key, features_json, "
                               "recorded_at) VALUES (?, ?, ?)");
      std::size_t added = 0;
      for (const NewModelExample& example : examples) {
        insert.bind(1, example.post_key);
        insert.bind(2, example.features.dump(-1, ' ', false, json::error_handler_t::replace));
        insert.bind(3, example.recorded_at);
        added += static_cast<std::size_t>(insert.exec());
        insert.reset();
      }
      return added;
    });
  }

  Result<std::size_t> count_examples() {
    return read("count model examples", [&]() -> Result<std::size_t> {
      return static_cast<std::size_t>(
          db_.execAndGet("SELECT COUNT(*) FROM model_examples").getInt64());
    });
  }

  // On a connection of its own and without the mutex: an export of 100,000 examples takes about
  // a second, and the other calls (the control API's list, on the event loop) must not wait.
  Result<std::size_t> for_each_example(
      std::string_view label, const std::function<Result<void>(const StoredExample&)>& visit) {
    const std::string owned_label(label);
    try {
      SQLite::Database reader(path_, SQLite::OPEN_READONLY, busy_timeout_ms_);
      // One read transaction: the rows form one snapshot even while posts are being added.
      SQLite::Transaction snapshot(reader, SQLite::TransactionBehavior::DEFERRED);
      SQLite::Statement rows(
          reader,
          "SELECT p.idempotency_key, p.published_at, p.platform, e.features_json, m.metrics_json "
          "FROM posts p JOIN model_examples e ON e.post_key = p.idempotency_key "
          "LEFT JOIN post_metrics m ON m.idempotency_key = p.idempotency_key AND m.label = ? "
          "ORDER BY p.published_at, p.idempotency_key");
      rows.bind(1, owned_label);
      std::size_t visited = 0;
      StoredExample example;
      while (rows.executeStep()) {
        example.post_key = rows.getColumn(0).getString();
        example.published_at = rows.getColumn(1).getInt64();
        example.platform = rows.getColumn(2).getString();
        example.features_json = rows.getColumn(3).getString();
        if (rows.getColumn(4).isNull()) {
          example.metrics_json.reset();
        } else {
          example.metrics_json = rows.getColumn(4).getString();
        }
        if (auto visited_ok = visit(example); !visited_ok) {
          return tl::unexpected(error_for("export model examples", visited_ok.error().message));
        }
        ++visited;
      }
      snapshot.commit();
      return visited;
    } catch (const std::exception& e) {
      return tl::unexpected(error_for("export model examples", e.what()));
    }
  }

  Result<std::vector<ModelVersion>> versions(std::string_view name) {
    const std::string owned(name);
    return read("list model versions", [&]() -> Result<std::vector<ModelVersion>> {
      SQLite::Statement rows(db_, std::string("SELECT ") + kVersionColumns +
                                      " FROM models WHERE ?1 = '' OR name = ?1 "
                                      "ORDER BY version DESC");
      rows.bind(1, owned);
      std::vector<ModelVersion> list;
      while (rows.executeStep()) list.push_back(read_version(rows));
      return list;
    });
  }

  Result<std::optional<ModelVersion>> one(const std::string& operation, const std::string& where,
                                          const std::function<void(SQLite::Statement&)>& bind) {
    return read(operation, [&]() -> Result<std::optional<ModelVersion>> {
      SQLite::Statement row(
          db_, std::string("SELECT ") + kVersionColumns + " FROM models WHERE " + where);
      bind(row);
      if (!row.executeStep()) return std::nullopt;
      return read_version(row);
    });
  }

  Result<std::vector<ModelVersion>> all_active() {
    return read("list active models", [&]() -> Result<std::vector<ModelVersion>> {
      SQLite::Statement rows(db_, std::string("SELECT ") + kVersionColumns +
                                      " FROM models WHERE status = 'active' ORDER BY name");
      std::vector<ModelVersion> list;
      while (rows.executeStep()) list.push_back(read_version(rows));
      return list;
    });
  }

  Result<std::int64_t> next_version() {
    return read("next model version", [&]() -> Result<std::int64_t> {
      return db_.execAndGet("SELECT COALESCE(MAX(version), 0) + 1 FROM models").getInt64();
    });
  }

  Result<void> add_version(const ModelVersion& version) {
    return write("add model version " + std::to_string(version.version), [&]() -> Result<void> {
      if (version.status == "active") retire_active(version.name);
      SQLite::Statement insert(db_, std::string("INSERT INTO models (") + kVersionColumns +
                                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert.bind(1, version.version);
      insert.bind(2, version.name);
      insert.bind(3, version.file);
      insert.bind(4, version.sha256);
      insert.bind(5, version.status);
      if (version.parent) {
        insert.bind(6, *version.parent);
      } else {
        insert.bind(6);
      }
      if (version.register_key.empty()) {
        insert.bind(7);
      } else {
        insert.bind(7, version.register_key);
      }
      insert.bind(8, version.created_at);
      if (version.activated_at) {
        insert.bind(9, *version.activated_at);
      } else {
        insert.bind(9);
      }
      insert.bind(10, version.reason);
      insert.bind(11, version.metrics.dump(-1, ' ', false, json::error_handler_t::replace));
      insert.exec();
      return {};
    });
  }

  Result<void> activate(std::int64_t version, Millis at) {
    return write("activate model version " + std::to_string(version), [&]() -> Result<void> {
      SQLite::Statement name_of(db_, "SELECT name FROM models WHERE version = ?");
      name_of.bind(1, version);
      if (!name_of.executeStep()) return fail("no such version");
      retire_active(name_of.getColumn(0).getString());
      SQLite::Statement update(
          db_, "UPDATE models SET status = 'active', activated_at = ? WHERE version = ?");
      update.bind(1, at);
      update.bind(2, version);
      update.exec();
      return {};
    });
  }

 private:
  void retire_active(const std::string& name) {
    SQLite::Statement retire(
        db_, "UPDATE models SET status = 'retired' WHERE name = ? AND status = 'active'");
    retire.bind(1, name);
    retire.exec();
  }

  Error error_for(std::string_view operation, std::string_view what) const {
    return Error{path_ + ": " + std::string(operation) + ": " + std::string(what)};
  }

  template <typename Body>
  std::invoke_result_t<Body> read(std::string_view operation, Body&& body) {
    std::lock_guard lock(mutex_);
    try {
      auto result = body();
      if (!result) return tl::unexpected(error_for(operation, result.error().message));
      return result;
    } catch (const std::exception& e) {
      return tl::unexpected(error_for(operation, e.what()));
    }
  }

  // body in one write transaction (BEGIN IMMEDIATE: the write lock up front, waiting for the busy
  // timeout rather than failing at the first write); committed only if body succeeds.
  template <typename Body>
  std::invoke_result_t<Body> write(std::string_view operation, Body&& body) {
    using R = std::invoke_result_t<Body>;
    std::lock_guard lock(mutex_);
    try {
      SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
      R result = body();
      if (!result) return tl::unexpected(error_for(operation, result.error().message));
      transaction.commit();
      return result;
    } catch (const std::exception& e) {
      return tl::unexpected(error_for(operation, e.what()));
    }
  }

  std::string path_;
  int busy_timeout_ms_;
  SQLite::Database db_;
  std::mutex mutex_;
};

Result<std::unique_ptr<ModelStore>> ModelStore::open(const std::filesystem::path& path,
                                                     int busy_timeout_ms) {
  const std::string name = path.string();
  try {
    SQLite::Database db(path, SQLite::OPEN_READWRITE, busy_timeout_ms);
    db.exec("PRAGMA synchronous = FULL");
    if (db.execAndGet("PRAGMA user_version").getInt() < 7) {
      return fail(name + ": the database has no model tables yet (schema version below 7)");
    }
    return std::unique_ptr<ModelStore>(
        new ModelStore(std::make_unique<Impl>(name, std::move(db), busy_timeout_ms)));
  } catch (const std::exception& e) {
    return fail(name + ": cannot open the model tables: " + e.what());
  }
}

ModelStore::ModelStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelStore::~ModelStore() = default;

Result<std::size_t> ModelStore::record_examples(std::span<const NewModelExample> examples) {
  return impl_->record_examples(examples);
}
Result<std::size_t> ModelStore::count_examples() { return impl_->count_examples(); }
Result<std::size_t> ModelStore::for_each_example(
    std::string_view label, const std::function<Result<void>(const StoredExample&)>& visit) {
  return impl_->for_each_example(label, visit);
}
Result<std::vector<ModelVersion>> ModelStore::versions(std::string_view name) {
  return impl_->versions(name);
}
Result<std::optional<ModelVersion>> ModelStore::version(std::int64_t version) {
  return impl_->one("read model version " + std::to_string(version), "version = ?",
                    [&](SQLite::Statement& row) { row.bind(1, version); });
}
Result<std::optional<ModelVersion>> ModelStore::active(std::string_view name) {
  const std::string owned(name);
  return impl_->one("read the active model " + owned, "name = ? AND status = 'active'",
                    [&](SQLite::Statement& row) { row.bind(1, owned); });
}
Result<std::vector<ModelVersion>> ModelStore::all_active() { return impl_->all_active(); }
Result<std::optional<ModelVersion>> ModelStore::by_register_key(std::string_view key) {
  const std::string owned(key);
  return impl_->one("read the model registered by " + owned, "register_key = ?",
                    [&](SQLite::Statement& row) { row.bind(1, owned); });
}
Result<std::int64_t> ModelStore::next_version() { return impl_->next_version(); }
Result<void> ModelStore::add_version(const ModelVersion& version) {
  return impl_->add_version(version);
}
Result<void> ModelStore::activate(std::int64_t version, Millis at) {
  return impl_->activate(version, at);
}

}  // namespace reelflow::store
