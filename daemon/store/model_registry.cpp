#include "store/model_registry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/iso_time.hpp"
#include "common/sha256.hpp"

namespace reelflow::store {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Kind = RegistryError::Kind;

constexpr std::string_view kDefaultName = "engagement";
constexpr std::uintmax_t kMaxModelBytes = 512ull << 20;  // far above a real model (~40 kB)

tl::unexpected<RegistryError> error(Kind kind, std::string message) {
  return tl::unexpected(RegistryError{kind, std::move(message)});
}

// A model name: 1..64 of [a-z0-9_-], so it is safe inside a file name.
bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

RegistryResult<std::string> name_of(const json& request, std::string_view service) {
  const json name = request.value("name", json(kDefaultName));
  if (!name.is_string() || !valid_name(name.get<std::string>())) {
    return error(Kind::invalid, std::string(service) +
                                    ": `name` must be 1 to 64 of a-z, 0-9, '_' and '-', got " +
                                    name.dump());
  }
  return name.get<std::string>();
}

std::optional<double> number_at(const json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  auto found = object.find(key);
  if (found == object.end() || !found->is_number()) return std::nullopt;
  const double value = found->get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::string version_text(const std::optional<ModelVersion>& version) {
  return version ? "v" + std::to_string(version->version) : "the built-in prior";
}

// "%.6g" without trailing noise, for messages.
std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

// "-6.2%", "+0.4%".
std::string signed_percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.1f%%", value);
  return text;
}

// The whole file, refused past kMaxModelBytes; the error names the file.
Result<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found)
    return fail("'" + path.string() + "' does not exist");
  if (ec) return fail("'" + path.string() + "': " + ec.message());
  if (!fs::is_regular_file(status)) return fail("'" + path.string() + "' is not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) return fail("'" + path.string() + "': " + ec.message());
  if (size > kMaxModelBytes) {
    return fail("'" + path.string() + "' is " + std::to_string(size) +
                " bytes, more than a model file can be");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    return fail("'" + path.string() + "' cannot be read");
  }
  return bytes;
}

// LibTorch model files are zip archives: a local file header first and an end-of-central-directory
// record in the last 64 kB + 22 bytes. Catches truncated files and files that are not archives;
// the models.register step has checked the content itself with LibTorch.
std::optional<std::string> zip_problem(std::string_view bytes) {
  if (bytes.size() < 22)
    return "it is too short to be a model archive (" + std::to_string(bytes.size()) + " bytes)";
  if (bytes.substr(0, 4) != std::string_view("PK\x03\x04", 4)) {
    return std::string("it is not a model archive (LibTorch model files are zip archives)");
  }
  const std::size_t tail = std::min<std::size_t>(bytes.size(), 65535 + 22);
  if (bytes.substr(bytes.size() - tail).rfind(std::string_view("PK\x05\x06", 4)) ==
      std::string_view::npos) {
    return std::string("its archive has no end record: the file is truncated or damaged");
  }
  return std::nullopt;
}

// Writes bytes to path atomically and durably: a temporary file next to it, fsync, rename over,
// fsync of the directory.
Result<void> write_atomically(const fs::path& path, std::string_view bytes) {
  const fs::path partial = fs::path(path).concat(".partial");
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot write '" + partial.string() + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(partial.c_str());
      return fail("cannot write '" + partial.string() + "': " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(partial.c_str());
    return fail("cannot write '" + partial.string() + "': " + why);
  }
  if (::rename(partial.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(partial.c_str());
    return fail("cannot rename '" + partial.string() + "' to '" + path.string() + "': " + why);
  }
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

// The version's file, read and checked against its recorded SHA-256; `stays` ends a refusal.
RegistryResult<std::string> verified_bytes(const ModelVersion& version, const std::string& stays) {
  auto bytes = read_file(version.file);
  if (!bytes) {
    return error(Kind::refused, "model file of version " + std::to_string(version.version) + ": " +
                                    bytes.error().message + stays);
  }
  const std::string digest = sha256_hex(*bytes);
  if (digest != version.sha256) {
    return error(Kind::refused, "model file '" + version.file + "' of version " +
                                    std::to_string(version.version) +
                                    " is corrupt or was replaced: its SHA-256 is " + digest +
                                    ", recorded " + version.sha256 + stays);
  }
  return std::move(*bytes);
}

// The request's path for models.examples: absolute, below root, in an existing directory.
RegistryResult<fs::path> export_path(const json& request, const fs::path& root) {
  const json value = request.value("path", json());
  if (!value.is_string() || value.get<std::string>().empty()) {
    return error(Kind::invalid,
                 "models.examples: `path` must be the file to write (in the run's "
                 "artifact directory)");
  }
  // A relative path is the worker's, whose working directory is the daemon's.
  std::error_code ec;
  const fs::path path = fs::absolute(value.get<std::string>(), ec).lexically_normal();
  const fs::path relative = path.lexically_relative(root);
  if (ec || relative.empty() || *relative.begin() == ".." || relative == ".") {
    return error(Kind::invalid,
                 "models.examples: `path` must be a file under the daemon's "
                 "artifact directory " +
                     root.string() + ", got '" + path.string() + "'");
  }
  if (!fs::is_directory(path.parent_path(), ec)) {
    return error(Kind::invalid,
                 "models.examples: the directory of '" + path.string() + "' does not exist");
  }
  return path;
}

void append_number(std::string& out, double value) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  out.append(text, ec == std::errc{} ? end : text);
}

}  // namespace

json model_version_json(const ModelVersion& version) {
  return {{"version", version.version},
          {"name", version.name},
          {"status", version.status},
          {"parent", version.parent ? json(*version.parent) : json(nullptr)},
          {"created_at", format_iso_time(version.created_at)},
          {"activated_at",
           version.activated_at ? json(format_iso_time(*version.activated_at)) : json(nullptr)},
          {"reason", version.reason},
          {"file", version.file},
          {"sha256", version.sha256},
          {"metrics", version.metrics}};
}

ModelRegistry::ModelRegistry(ModelStore& models, Store& store, ModelRegistryConfig config)
    : models_(models), store_(store), config_(std::move(config)) {
  // Absolute, so the version files recorded and the paths in answers do not depend on the
  // working directory of whoever reads them.
  std::error_code ec;
  config_.models_dir = fs::absolute(config_.models_dir, ec).lexically_normal();
  config_.artifact_root = fs::absolute(config_.artifact_root, ec).lexically_normal();
}

fs::path ModelRegistry::installed_path(std::string_view name) const {
  return config_.models_dir / (std::string(name) + ".pt");
}

RegistryResult<json> ModelRegistry::call(std::string_view service, const json& request,
                                         Millis now) {
  if (!request.is_object()) {
    return error(Kind::invalid, std::string(service) + ": the request must be a JSON object");
  }
  if (service == "models.record_example") return record_example(request, now);
  if (service == "models.examples") return export_examples(request);
  if (service == "models.register") return register_candidate(request, now);
  return error(Kind::invalid, "no daemon service '" + std::string(service) +
                                  "' (known: models.record_example, models.examples, "
                                  "models.register)");
}

// --- models.record_example ----------------------------------------------------------------

RegistryResult<json> ModelRegistry::record_example(const json& request, Millis now) {
  const json key = request.value("post", json());
  if (!key.is_string() || key.get<std::string>().empty()) {
    return error(Kind::invalid, "models.record_example: `post` must be the post's idempotency key");
  }
  const std::string post_key = key.get<std::string>();
  const json item = request.value("item", json());
  const json* clip = nullptr;
  if (item.is_object() && item.contains("features") && item["features"].is_object()) {
    clip = &item;
  } else if (item.is_object() && item.contains("clip") && item["clip"].is_object() &&
             item["clip"].contains("features") && item["clip"]["features"].is_object()) {
    clip = &item["clip"];
  }
  if (clip == nullptr) {
    return json{{"recorded", false},
                {"post", post_key},
                {"reason",
                 "the published item carries no scored clip (an object with a "
                 "`features` object, or a `clip` holding one)"}};
  }
  auto post = store_.get_post(post_key);
  if (!post) return error(Kind::failed, "models.record_example: " + post.error().message);
  if (!*post) {
    return error(Kind::not_found,
                 "models.record_example: no post recorded under key '" + post_key + "'");
  }

  json features = json::object();
  for (const auto& [name, value] : (*clip)["features"].items()) {
    if (value.is_number() && std::isfinite(value.get<double>())) features[name] = value;
  }
  if (!features.contains("duration")) {
    const auto start = number_at(*clip, "start");
    const auto end = number_at(*clip, "end");
    if (start && end && *end > *start) features["duration"] = *end - *start;
  }
  if (features.empty()) {
    return json{
        {"recorded", false}, {"post", post_key}, {"reason", "the clip has no measured features"}};
  }
  json example = {{"features", features}};
  if (clip->contains("score_details") && (*clip)["score_details"].is_object()) {
    const json& details = (*clip)["score_details"];
    if (details.contains("embedding") && details["embedding"].is_array()) {
      const json& embedding = details["embedding"];
      const bool numbers = std::all_of(embedding.begin(), embedding.end(), [](const json& v) {
        return v.is_number() && std::isfinite(v.get<double>());
      });
      if (numbers && !embedding.empty()) example["embedding"] = embedding;
    }
    if (details.contains("model") && details["model"].is_string()) {
      example["scored_by"] = details["model"];
    }
  }
  if (const auto score = number_at(*clip, "score")) example["score"] = *score;
  const json zone = (*post)->options.value("time_zone", json("UTC"));
  const std::string zone_name = zone.is_string() ? zone.get<std::string>() : "UTC";
  if (config_.local_hour) {
    if (const auto hour = config_.local_hour((*post)->published_at, zone_name)) {
      example["hour"] = *hour;
      example["time_zone"] = zone_name;
    }
  }
  const NewModelExample row{post_key, example, now};
  auto added = models_.record_examples(std::span(&row, 1));
  if (!added) return error(Kind::failed, "models.record_example: " + added.error().message);
  return json{{"recorded", true},
              {"post", post_key},
              {"new", *added == 1},
              {"features", features.size()},
              {"hour", example.value("hour", json())}};
}

// --- models.examples ----------------------------------------------------------------------

RegistryResult<json> ModelRegistry::export_examples(const json& request) {
  constexpr std::string_view kService = "models.examples";
  auto name = name_of(request, kService);
  if (!name) return tl::unexpected(name.error());
  auto path = export_path(request, config_.artifact_root);
  if (!path) return tl::unexpected(path.error());
  const json label_value = request.value("label", json("24h"));
  if (!label_value.is_string() || label_value.get<std::string>().empty()) {
    return error(Kind::invalid, "models.examples: `label` must be a metrics label such as 24h");
  }
  const std::string label = label_value.get<std::string>();
  const json engaged_value = request.value("engaged", json::array({"likes", "comments", "shares"}));
  std::vector<std::string> engaged;
  if (engaged_value.is_array()) {
    for (const auto& counter : engaged_value) {
      if (counter.is_string() && !counter.get<std::string>().empty()) {
        engaged.push_back(counter.get<std::string>());
      }
    }
  }
  if (engaged.empty() || engaged.size() != engaged_value.size() || engaged.size() > 16) {
    return error(Kind::invalid,
                 "models.examples: `engaged` must list 1 to 16 counter names "
                 "such as likes, comments, shares; got " +
                     engaged_value.dump());
  }
  const auto min_views = number_at(request, "min_views").value_or(10);
  const auto weight_cap = number_at(request, "weight_cap").value_or(10000);
  if (!(min_views >= 1) || !(weight_cap >= 1)) {
    return error(Kind::invalid, "models.examples: `min_views` and `weight_cap` must be at least 1");
  }

  // The latest version (of any status) says which examples it was trained on: the ones after
  // are new.
  auto versions = models_.versions(*name);
  if (!versions) return error(Kind::failed, "models.examples: " + versions.error().message);
  std::optional<Millis> trained_until;
  if (!versions->empty()) {
    const json& data = versions->front().metrics.value("data", json::object());
    if (data.is_object() && data.contains("last_published_at") &&
        data["last_published_at"].is_number_integer()) {
      trained_until = data["last_published_at"].get<Millis>();
    }
  }
  auto active = models_.active(*name);
  if (!active) return error(Kind::failed, "models.examples: " + active.error().message);

  const fs::path partial = fs::path(*path).concat(".partial");
  std::FILE* out = std::fopen(partial.c_str(), "w");
  if (out == nullptr) {
    return error(Kind::failed, "models.examples: cannot write '" + partial.string() +
                                   "': " + std::strerror(errno));
  }
  std::size_t written = 0, new_examples = 0, no_metrics = 0, few_views = 0, capped = 0;
  std::optional<Millis> first, last;
  std::string line;
  auto visited = models_.for_each_example(label, [&](const StoredExample& row) -> Result<void> {
    if (!row.metrics_json) {
      ++no_metrics;
      return {};
    }
    const json metrics = json::parse(*row.metrics_json, nullptr, false);
    const auto views = number_at(metrics, "views");
    if (!views || *views < min_views) {
      ++few_views;
      return {};
    }
    double engaged_count = 0;
    for (const std::string& counter : engaged) {
      engaged_count += std::max(0.0, number_at(metrics, counter).value_or(0));
    }
    double rate = engaged_count / *views;
    if (rate > 1) {
      rate = 1;
      ++capped;
    }
    line.clear();
    line += "{\"post\":";
    line += json(row.post_key).dump();
    line += ",\"published_at\":" + std::to_string(row.published_at);
    line += ",\"platform\":";
    line += json(row.platform).dump();
    line += ",\"engagement\":";
    append_number(line, rate);
    line += ",\"weight\":";
    append_number(line, std::min(*views, weight_cap));
    line += ",\"views\":";
    append_number(line, *views);
    line += ",\"engaged\":";
    append_number(line, engaged_count);
    line += ",\"example\":";
    line += row.features_json;
    line += "}\n";
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return fail("cannot write '" + partial.string() + "': " + std::strerror(errno));
    }
    ++written;
    if (!trained_until || row.published_at > *trained_until) ++new_examples;
    if (!first) first = row.published_at;
    last = row.published_at;
    return {};
  });
  const bool flushed = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
  std::fclose(out);
  if (!visited || !flushed) {
    std::remove(partial.c_str());
    return error(Kind::failed,
                 "models.examples: " + (visited ? "cannot write '" + partial.string() + "'"
                                                : visited.error().message));
  }
  std::error_code ec;
  fs::rename(partial, *path, ec);
  if (ec) {
    return error(Kind::failed,
                 "models.examples: cannot rename '" + partial.string() + "': " + ec.message());
  }
  std::string outcome;
  for (const std::string& counter : engaged) outcome += (outcome.empty() ? "" : " + ") + counter;
  outcome = "(" + outcome + ") / views at " + label + ", weight min(views, " +
            short_number(weight_cap) + ")";
  json active_json = nullptr;
  if (*active) {
    active_json = {
        {"version", (*active)->version}, {"file", (*active)->file}, {"sha256", (*active)->sha256}};
  }
  return json{{"path", path->string()},
              {"name", *name},
              {"label", label},
              {"outcome", outcome},
              {"examples", written},
              {"new_examples", new_examples},
              {"skipped", {{"no_metrics", no_metrics}, {"few_views", few_views}}},
              {"capped", capped},
              {"first_published_at", first ? json(format_iso_time(*first)) : json(nullptr)},
              {"last_published_at", last ? json(format_iso_time(*last)) : json(nullptr)},
              {"active", active_json}};
}

// --- models.register ----------------------------------------------------------------------

RegistryResult<json> ModelRegistry::register_candidate(const json& request, Millis now) {
  constexpr std::string_view kService = "models.register";
  auto name = name_of(request, kService);
  if (!name) return tl::unexpected(name.error());
  const json file_value = request.value("file", json());
  if (!file_value.is_string() || file_value.get<std::string>().empty() ||
      !fs::path(file_value.get<std::string>()).is_absolute()) {
    return error(Kind::invalid,
                 "models.register: `file` must be the candidate model file's "
                 "absolute path, got " +
                     file_value.dump());
  }
  const fs::path candidate_file = file_value.get<std::string>();
  const json metric_value = request.value("metric", json("bce"));
  if (metric_value != "bce" && metric_value != "mse") {
    return error(Kind::invalid,
                 "models.register: `metric` must be bce or mse, got " + metric_value.dump());
  }
  const std::string metric = metric_value.get<std::string>();
  const double min_improvement = number_at(request, "min_improvement").value_or(0.001);
  if (!(min_improvement >= 0 && min_improvement < 1)) {
    return error(Kind::invalid, "models.register: `min_improvement` must be in [0, 1)");
  }
  const json metrics = request.value("metrics", json::object());
  const json holdout = metrics.is_object() ? metrics.value("holdout", json()) : json();
  const auto current_score =
      holdout.is_object() ? number_at(holdout.value("current", json()), metric) : std::nullopt;
  const auto candidate_score =
      holdout.is_object() ? number_at(holdout.value("candidate", json()), metric) : std::nullopt;
  if (!current_score || !candidate_score || *current_score < 0 || *candidate_score < 0) {
    return error(Kind::invalid,
                 "models.register: `metrics.holdout` must give the current and "
                 "the candidate model's " +
                     metric + " on the holdout");
  }
  std::optional<std::int64_t> parent;
  if (const json value = request.value("parent", json()); value.is_number_integer()) {
    parent = value.get<std::int64_t>();
  } else if (!value.is_null()) {
    return error(Kind::invalid, "models.register: `parent` must be a version number or null");
  }
  const json key_value = request.value("key", json(""));
  const std::string key = key_value.is_string() ? key_value.get<std::string>() : "";

  const std::lock_guard lock(mutex_);
  if (!key.empty()) {
    auto existing = models_.by_register_key(key);
    if (!existing) return error(Kind::failed, "models.register: " + existing.error().message);
    if (*existing) {  // the same execution again (a retry, a restart): what it got before
      json answer = model_version_json(**existing);
      answer["installed"] = installed_path(*name).string();
      answer["existing"] = true;
      return answer;
    }
  }
  auto active = models_.active(*name);
  if (!active) return error(Kind::failed, "models.register: " + active.error().message);
  const std::string stays =
      "; nothing was registered and the active model stays " + version_text(*active);

  auto bytes = read_file(candidate_file);
  if (!bytes) {
    return error(Kind::refused,
                 "models.register: candidate model file " + bytes.error().message + stays);
  }
  if (auto problem = zip_problem(*bytes)) {
    return error(Kind::refused, "models.register: candidate model file '" +
                                    candidate_file.string() + "': " + *problem + stays);
  }

  // The decision: the candidate must have been compared with the model that is active now, and
  // beat it on the holdout by at least min_improvement (relative).
  // 0 stands for the prior (versions start at 1).
  const std::int64_t active_number = *active ? (*active)->version : 0;
  const json active_json = *active ? json((*active)->version) : json(nullptr);
  const std::string parent_text = parent ? "v" + std::to_string(*parent) : "the prior";
  const std::string metric_name = metric == "bce" ? "BCE" : "MSE";
  bool promote = false;
  std::string reason;
  if (parent.value_or(0) != active_number) {
    reason = "compared with " + parent_text + " but " + version_text(*active) +
             " is active now; retrain to compare with it";
  } else {
    const double threshold = *current_score * (1 - min_improvement);
    const double change =
        *current_score > 0 ? (*candidate_score - *current_score) / *current_score * 100 : 0.0;
    const std::string figures = "holdout " + metric_name + " " + short_number(*candidate_score) +
                                " against " + short_number(*current_score) + " for " +
                                version_text(*active) + " (" + signed_percent(change) + ")";
    promote = *candidate_score < threshold;
    reason = promote ? figures
                     : figures + ": not better by at least " + short_number(min_improvement * 100) +
                           "% (min_improvement)";
  }

  auto number = models_.next_version();
  if (!number) return error(Kind::failed, "models.register: " + number.error().message);
  std::error_code ec;
  fs::create_directories(config_.models_dir, ec);
  if (ec) {
    return error(Kind::failed, "models.register: cannot create " + config_.models_dir.string() +
                                   ": " + ec.message());
  }
  ModelVersion version;
  version.version = *number;
  version.name = *name;
  version.file = (config_.models_dir / (*name + "-v" + std::to_string(*number) + ".pt")).string();
  version.sha256 = sha256_hex(*bytes);
  version.status = promote ? "active" : "rejected";
  version.parent = parent;
  version.register_key = key;
  version.created_at = now;
  if (promote) version.activated_at = now;
  version.reason = reason;
  version.metrics = metrics;
  version.metrics["decision"] = {{"metric", metric},
                                 {"min_improvement", min_improvement},
                                 {"candidate", *candidate_score},
                                 {"active", *current_score},
                                 {"active_version", active_json},
                                 {"candidate_file", candidate_file.string()}};
  if (auto copied = write_atomically(version.file, *bytes); !copied) {
    return error(Kind::failed, "models.register: " + copied.error().message);
  }
  if (auto added = models_.add_version(version); !added) {
    fs::remove(version.file, ec);
    return error(Kind::failed, "models.register: " + added.error().message);
  }
  if (promote) {
    if (auto installed = install(version); !installed) {
      return error(Kind::failed, "models.register: version " + std::to_string(version.version) +
                                     " is active but its file could not be installed: " +
                                     installed.error().message +
                                     " (the daemon installs it at its next start)");
    }
  }
  json answer = model_version_json(version);
  answer["installed"] = installed_path(*name).string();
  answer["active"] = promote ? json(version.version) : active_json;
  return answer;
}

// --- list, rollback, install, repair ------------------------------------------------------

RegistryResult<json> ModelRegistry::list(std::string_view name) {
  if (!name.empty() && !valid_name(name)) {
    return error(Kind::invalid, "no model name '" + std::string(name) + "'");
  }
  auto versions = models_.versions(name);
  if (!versions) return error(Kind::failed, versions.error().message);
  json list = json::array();
  json active = json::object();
  json installed = json::object();
  for (const ModelVersion& version : *versions) {
    list.push_back(model_version_json(version));
    if (version.status == "active") {
      active[version.name] = version.version;
      installed[version.name] = installed_path(version.name).string();
    }
  }
  return json{{"models", std::move(list)}, {"active", active}, {"installed", installed}};
}

RegistryResult<json> ModelRegistry::rollback(std::optional<std::int64_t> version_number,
                                             std::string_view name, Millis now) {
  const std::lock_guard lock(mutex_);
  std::optional<ModelVersion> target;
  if (version_number) {
    auto found = models_.version(*version_number);
    if (!found) return error(Kind::failed, found.error().message);
    if (!*found) {
      return error(Kind::not_found, "no model version " + std::to_string(*version_number));
    }
    target = std::move(*found);
  } else {
    if (!valid_name(name)) return error(Kind::invalid, "no model name '" + std::string(name) + "'");
    auto versions = models_.versions(name);
    if (!versions) return error(Kind::failed, versions.error().message);
    for (const ModelVersion& candidate : *versions) {
      if (candidate.status != "retired" || !candidate.activated_at) continue;
      if (!target || *candidate.activated_at > *target->activated_at) target = candidate;
    }
    if (!target) {
      return error(Kind::refused, "model '" + std::string(name) +
                                      "' has no earlier active version to roll back to");
    }
  }
  auto active = models_.active(target->name);
  if (!active) return error(Kind::failed, active.error().message);
  json answer = {{"name", target->name},
                 {"active", target->version},
                 {"previous", *active ? json((*active)->version) : json(nullptr)},
                 {"installed", installed_path(target->name).string()}};
  if (target->status == "active") {
    answer["changed"] = false;
    return answer;
  }
  if (target->status == "rejected") {
    return error(Kind::refused,
                 "version " + std::to_string(target->version) +
                     " was rejected when it was registered (" + target->reason +
                     "); only a version that was active can be made active again; the active "
                     "model stays " +
                     version_text(*active));
  }
  auto bytes = verified_bytes(*target, "; the active model stays " + version_text(*active));
  if (!bytes) return tl::unexpected(bytes.error());
  if (auto activated = models_.activate(target->version, now); !activated) {
    return error(Kind::failed, activated.error().message);
  }
  if (auto written = write_atomically(installed_path(target->name), *bytes); !written) {
    return error(Kind::failed,
                 "version " + std::to_string(target->version) +
                     " is active but its file could not be installed: " + written.error().message +
                     " (the daemon installs it at its next start)");
  }
  answer["changed"] = true;
  return answer;
}

RegistryResult<void> ModelRegistry::install(const ModelVersion& version) {
  auto bytes = verified_bytes(version, "");
  if (!bytes) return tl::unexpected(bytes.error());
  if (auto written = write_atomically(installed_path(version.name), *bytes); !written) {
    return error(Kind::failed, written.error().message);
  }
  return {};
}

Result<std::vector<std::string>> ModelRegistry::repair() {
  const std::lock_guard lock(mutex_);
  auto active = models_.all_active();
  if (!active) return tl::unexpected(active.error());
  std::vector<std::string> done;
  for (const ModelVersion& version : *active) {
    const fs::path path = installed_path(version.name);
    auto installed = read_file(path);
    if (installed && sha256_hex(*installed) == version.sha256) continue;
    if (auto fixed = install(version); !fixed) {
      done.push_back("cannot install version " + std::to_string(version.version) + " of model '" +
                     version.name + "' at " + path.string() + ": " + fixed.error().message);
    } else {
      done.push_back("installed version " + std::to_string(version.version) + " of model '" +
                     version.name + "' at " + path.string() +
                     " (the file was missing or differed)");
    }
  }
  return done;
}

}  // namespace reelflow::store
