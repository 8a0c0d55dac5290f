// The host's publishing driver (plugin.h, "Publisher types"): runs one post through the
// publisher's stages, recording each stage durably before the call that could have an outside
// effect, so that after a crash the post resumes where it stood instead of being sent again.
//
//   checkpoint record: {"stage": S, "session": {...the plugin's session}, "error"?: "..."}
//   S: starting    the intent is recorded; start may or may not have created a session
//      uploading   a session exists; upload resumes it (the plugin asks the platform)
//      finalizing  finalize was about to be called; whether it took effect is unknown
//      polling     the post is committed; poll until the platform has processed it
//      published   done: the session holds post_id and url
//      failed      the platform refused the post; never retried on its own
//
// After a crash the engine calls reconcile with the intent (and its last checkpoint). "starting"
// and "finalizing" are the two stages where the outcome of the last call is unknown: the
// plugin's reconcile asks the platform, and only "found": "nothing" lets the call be made again.
// A publisher's RETRY before start is returned to the engine (nothing happened yet); after start
// every retry happens here, on the same session, and the post never starts over.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/iso_time.hpp"
#include "common/sha256.hpp"
#include "plugin_host/executor.hpp"
#include "plugin_host/mp4_info.hpp"
#include "plugin_host/options.hpp"
#include "plugin_host/publish_options.hpp"

namespace reelflow::plugin_host {

namespace {

using json = nlohmann::json;

// Bounds on the retries the driver makes on its own, per call.
constexpr int kMaxStartAttempts = 4;
constexpr int kMaxUploadAttempts = 8;
constexpr int kMaxFinalizeAttempts = 4;
constexpr int kMaxReconcileAttempts = 4;
constexpr double kMaxBackoffSeconds = 60;
// Access tokens are renewed when they expire within this long.
constexpr std::int64_t kRefreshAheadMillis = 10 * 60 * 1000;
// A post of an account that must be connected again is held, and looked at again this often.
constexpr std::int64_t kHoldRecheckMillis = 5 * 60 * 1000;
// The start of build_post's message for such an account (Executor::publish holds the post).
constexpr std::string_view kHeldPrefix = "held: ";

std::int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every string inside `value` (credentials), for redaction.
// Credential fields that name or time things rather than grant access: left readable in
// messages (an expiry or a scope name is what a person needs to see).
bool public_field(const std::string& key) {
  static const char* const kPublic[] = {"expires_at", "refresh_expires_at", "expires_in",
                                        "refresh_expires_in", "scope", "token_type", "client_id",
                                        "client_key", "app_id", "open_id", "ig_user_id",
                                        "user_id", "union_id", "refresh_renewals"};
  for (const char* name : kPublic) {
    if (key == name) return true;
  }
  return false;
}

void collect_strings(const json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() >= 4) out.push_back(text);
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (!public_field(key)) collect_strings(item, out);
    }
  } else if (value.is_array()) {
    for (const auto& item : value) collect_strings(item, out);
  }
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  return text;
}

StepOutcome failed(std::string message, rf_status status = RF_STATUS_ERROR) {
  StepOutcome outcome;
  outcome.status = status;
  outcome.error = std::move(message);
  return outcome;
}

// The post the publisher's callbacks receive (plugin.h, post_json), or why it cannot be built.
// need_video: false for the metrics of a published post, whose file may be gone by then.
Result<json> build_post(const StepTypeInfo& step_type, const json& options, const json& context,
                        const RunServices& services, const json& checkpoint,
                        bool need_video = true) {
  const PublisherTypeInfo& publisher = *step_type.publisher;
  const std::string where = step_type.name;
  json post = json::object();
  const std::string key = context.value("idempotency_key", "");
  if (key.empty()) return fail(where + ": the run gave no idempotency key");
  post["id"] = "post-" + key;
  post["idempotency_key"] = key;
  post["platform"] = publisher.platform;

  const std::string account_name = options.value("account", "");
  std::optional<std::string> account_text;
  if (services.secret) account_text = services.secret("account." + account_name);
  auto account = account_from_secret(step_type, account_name, account_text);
  if (!account) return tl::unexpected(account.error());
  // The stored record (refreshed credentials) wins while it grew from the secret as it is now;
  // new credentials in the secret (the account was connected again) start a new record.
  const json secret_credentials = account->value("credentials", json::object());
  const std::string seed = sha256_hex(secret_credentials.dump());
  json credentials = secret_credentials;
  json record = json::object();
  if (services.account_get) {
    if (auto stored = services.account_get(account_name); stored && stored->value("seed", "") == seed) {
      record = *stored;
      if (record.value("status", "ok") == "reconnect_needed") {
        return fail(std::string(kHeldPrefix) + where + ": account '" + account_name +
                    "' needs to be connected again (" +
                    record.value("message", "the platform refused its tokens") +
                    "): authorize reelflow on " + publisher.platform +
                    " again and put the new credentials in the secret 'account." + account_name +
                    "'");  // the engine says what happens next: held (daemon) or failed (offline)
      }
      credentials = record.value("credentials", secret_credentials);
    }
  }
  json account_json = json::object();
  account_json["name"] = account_name;
  account_json["options"] = (*account)["options"];
  account_json["credentials"] = std::move(credentials);
  post["account"] = std::move(account_json);
  post["_account_record"] = {{"seed", seed}, {"record", record}};  // the driver's, not the plugin's

  const std::filesystem::path video = options.value("video", "");
  std::error_code ec;
  const auto size = std::filesystem::file_size(video, ec);
  if (ec && need_video) return fail(where + ": video " + video.string() + ": " + ec.message());
  post["video"] = {{"path", video.string()}, {"size_bytes", ec ? 0 : size}};
  if (need_video) {
    // Duration and display size for the platforms' rules, when the file is an MP4/MOV.
    if (auto info = read_mp4_info(video)) {
      if (info->duration_seconds > 0) post["video"]["duration_seconds"] = info->duration_seconds;
      if (info->width > 0) {
        post["video"]["width"] = info->width;
        post["video"]["height"] = info->height;
      }
    }
  }
  const std::string cover = options.value("cover", "");
  if (need_video && !cover.empty() && !std::filesystem::is_regular_file(cover, ec)) {
    return fail(where + ": cover " + cover + " is not a readable file");
  }
  post["cover"] = cover.empty() ? json(nullptr) : json(cover);
  post["title"] = options.value("title", "");
  post["caption"] = options.value("caption", "");
  post["tags"] = options.value("tags", json::array());
  const std::string link = options.value("link", "");
  post["link"] = link.empty() ? json(nullptr) : json(link);
  // The engine resolved publish_at (time zone, "+2h") to an instant before the step ran; a post
  // that got somewhere keeps the instant it was first built with, so it stays the same post.
  const std::string publish_at = options.value("publish_at", "");
  post["publish_at"] = checkpoint.value("publish_at", "");
  if (post["publish_at"] == "") {
    post["publish_at"] = publish_at.empty() ? format_iso_time(now_millis()) : publish_at;
  }
  json own = json::object();
  for (const auto& option : publisher.options) {
    if (auto found = options.find(option.name); found != options.end()) own[option.name] = *found;
  }
  post["options"] = std::move(own);
  return post;
}

class Driver {
 public:
  // call(services, which, post, session): one callback of the publisher ("refresh" gets the
  // account as its post).
  using Call =
      std::function<Result<StepOutcome>(const RunServices&, const char*, const json&, const json&)>;

  Driver(const StepTypeInfo& step_type, const RunServices& services, json post,
         double poll_timeout, Call call)
      : step_type_(step_type),
        services_(services),
        post_(std::move(post)),
        poll_timeout_(poll_timeout),
        call_(std::move(call)) {
    account_seed_ = post_["_account_record"].value("seed", "");
    account_record_ = post_["_account_record"].value("record", json::object());
    post_.erase("_account_record");
    collect_strings(post_["account"]["credentials"], secrets_);
  }

  // From `record` (empty: a fresh post) to published, failed or unknown.
  StepOutcome drive(json record) {
    std::string stage = record.value("stage", "");
    session_ = record.value("session", json::object());
    // Renew the access token ahead of its expiry rather than discover it expired mid-upload.
    if (expires_soon()) {
      if (auto refused = refresh()) return *refused;
    }
    if (stage.empty()) {
      auto prepared = invoke("prepare", json::object());
      if (prepared.status != RF_STATUS_OK) return prepared;  // nothing happened: any status goes
      if (!record_stage("starting")) return unrecordable();
      stage = "starting";
      auto started = start();
      if (started) return *started;
      stage = "uploading";
    } else if (stage == "starting") {
      auto found = reconcile();
      if (!found) return unknown("start", reconcile_error_);
      if (*found == "nothing") {
        if (auto started = start()) return *started;
        stage = "uploading";
      } else {
        stage = *found == "post" ? "polling" : "uploading";
        if (!record_stage(stage)) return unrecordable();
      }
    } else if (stage == "published") {
      return published();
    } else if (stage == "failed") {
      return failed(record.value("error", step_type_.name + ": the platform refused this post"));
    }

    if (stage == "uploading") {
      if (auto stopped = upload()) return *stopped;
      stage = "finalizing";
      if (!record_stage(stage)) return unrecordable();
      if (auto stopped = finalize()) return *stopped;
      stage = "polling";
    } else if (stage == "finalizing") {
      auto found = reconcile();
      if (!found) return unknown("finalize", reconcile_error_);
      if (*found == "session") {
        // The platform holds the session but no post: make sure every byte is there (upload asks
        // the platform and sends only what is missing), then commit.
        if (!record_stage("uploading")) return unrecordable();
        if (auto stopped = upload()) return *stopped;
        if (!record_stage("finalizing")) return unrecordable();
      }
      if (*found != "post") {
        if (auto stopped = finalize()) return *stopped;
      } else if (!record_stage("polling")) {
        return unrecordable();
      }
      stage = "polling";
    }
    return poll();
  }

 private:
  // One callback of the publisher; its output is the new session (merged: a plugin may return
  // only what changed).
  // One callback; a refused access token is refreshed once and the call made again.
  StepOutcome invoke(const char* which, const json& session) {
    refresh_failed_ = false;
    StepOutcome outcome = invoke_once(which, post_, session);
    if (outcome.status == RF_STATUS_RECONNECT && !refreshed_ &&
        step_type_.publisher->callbacks.refresh != nullptr) {
      log(RF_LOG_INFO, std::string(which) + ": the access token was refused; refreshing it");
      if (auto refused = refresh()) {
        // Keep the platform's first answer: it may say more (a missing scope) than the refresh.
        refused->error = which + std::string(": ") + outcome.error + "; then " + refused->error;
        return *refused;
      }
      outcome = invoke_once(which, post_, session);
    }
    if (outcome.status == RF_STATUS_RECONNECT) mark_reconnect_needed(outcome.error);
    return outcome;
  }

  bool expires_soon() const {
    if (step_type_.publisher->callbacks.refresh == nullptr) return false;
    const json& credentials = post_["account"]["credentials"];
    auto found = credentials.find("expires_at");
    if (found == credentials.end()) return false;
    std::int64_t expires = 0;
    if (found->is_string()) {
      auto parsed = parse_iso_time(found->get<std::string>());
      if (!parsed) return false;
      expires = *parsed;
    } else if (found->is_number()) {
      expires = static_cast<std::int64_t>(found->get<double>() * 1000);  // Unix seconds
    } else {
      return false;
    }
    return expires - now_millis() < refresh_ahead_ms_;
  }

 public:
  // For the daemon's check of accounts ahead of expiry: refreshes when the token expires soon.
  StepOutcome refresh_if_due() {
    StepOutcome outcome;
    outcome.status = RF_STATUS_OK;
    if (!expires_soon()) {
      outcome.outputs = {{"refreshed", false}};
      return outcome;
    }
    if (auto refused = refresh()) return *refused;
    outcome.outputs = {{"refreshed", true},
                       {"expires_at", post_["account"]["credentials"].value("expires_at", json())}};
    return outcome;
  }

 private:

  // Renews the account's token: the new credentials are stored durably before anything uses
  // them. nullopt: refreshed; otherwise why the post stops.
  std::optional<StepOutcome> refresh() {
    refreshed_ = true;
    const json account = post_["account"];
    StepOutcome outcome = invoke_once("refresh", account, json::object());
    const std::string name = account.value("name", "");
    if (outcome.status == RF_STATUS_RECONNECT) {
      mark_reconnect_needed(outcome.error);
      refresh_failed_ = true;
      return failed(step_type_.name + ": account '" + name + "' must be connected again: " +
                        outcome.error,
                    RF_STATUS_RECONNECT);
    }
    if (outcome.status != RF_STATUS_OK) {
      outcome.error = step_type_.name + ": refreshing the access token of account '" + name +
                      "' failed: " + outcome.error;
      // Not a refusal of the post: its stage stays as it is, so a later attempt goes on.
      refresh_failed_ = true;
      if (outcome.status == RF_STATUS_RETRY) refreshed_ = false;  // the token endpoint may be back
      return outcome;
    }
    auto fresh = outcome.outputs.find("credentials");
    if (fresh == outcome.outputs.end() || !fresh->is_object()) {
      return failed(step_type_.name + ": refresh answered without a \"credentials\" object");
    }
    json credentials = account.value("credentials", json::object());
    credentials.update(*fresh);  // a platform that keeps its refresh token returns only the rest
    json record = account_record_;
    record["credentials"] = credentials;
    record["seed"] = account_seed_;
    record["status"] = "ok";
    record.erase("message");
    if (auto note = outcome.outputs.find("note"); note != outcome.outputs.end() &&
                                                  note->is_string()) {
      record["message"] = *note;  // e.g. "authorize again before 2027-03-01" (reelflow accounts)
    }
    record["refreshed_at"] = format_iso_time(now_millis());
    record["updated_at"] = record["refreshed_at"];
    record["refresh_count"] = record.value("refresh_count", 0) + 1;
    if (!services_.account_set || !services_.account_set(name, record)) {
      return failed(step_type_.name + ": the refreshed credentials of account '" + name +
                    "' could not be stored; stopped rather than use tokens that would be lost");
    }
    account_record_ = record;
    post_["account"]["credentials"] = credentials;
    collect_strings(credentials, secrets_);
    log(RF_LOG_INFO, "refreshed the access token of account '" + name + "'");
    return std::nullopt;
  }

  void mark_reconnect_needed(const std::string& why) {
    if (!services_.account_set) return;
    json record = account_record_;
    record["credentials"] = post_["account"]["credentials"];
    record["seed"] = account_seed_;
    record["status"] = "reconnect_needed";
    record["message"] = redact(why, secrets_);
    record["updated_at"] = format_iso_time(now_millis());
    services_.account_set(post_["account"].value("name", ""), record);
  }

  StepOutcome invoke_once(const char* which, const json& post, const json& session) {
    RunServices services = services_;
    services.log = [this](rf_log_level level, std::string_view message) {
      if (services_.log) services_.log(level, redact(std::string(message), secrets_));
    };
    if (std::string(which) == "refresh") {
      // Inside refresh a checkpoint holds credentials the platform has already issued (the first
      // of two calls rotated the refresh token): they go to the account's record at once.
      services.checkpoint = [this](const json& checkpoint) {
        auto fresh = checkpoint.find("credentials");
        if (fresh == checkpoint.end() || !fresh->is_object() || !services_.account_set) {
          return false;
        }
        json credentials = post_["account"]["credentials"];
        credentials.update(*fresh);
        json record = account_record_;
        record["credentials"] = credentials;
        record["seed"] = account_seed_;
        record["updated_at"] = format_iso_time(now_millis());
        if (!services_.account_set(post_["account"].value("name", ""), record)) return false;
        account_record_ = record;
        post_["account"]["credentials"] = credentials;
        collect_strings(credentials, secrets_);
        return true;
      };
      auto outcome = call_(services, which, post, session);
      if (!outcome) return failed(redact(outcome.error().message, secrets_));
      outcome->error = redact(std::move(outcome->error), secrets_);
      return std::move(*outcome);
    }
    services.checkpoint = [this, which](const json& checkpoint) {
      // A mid-call checkpoint (upload's acknowledged chunks, an id finalize learned): the
      // session so far.
      json merged = session_;
      merged.update(checkpoint);
      const std::string stage = std::string(which) == "upload" ? "uploading" : stage_;
      if (!write(json{{"stage", stage}, {"session", merged}})) return false;
      session_ = std::move(merged);
      return true;
    };
    auto outcome = call_(services, which, post, session);
    if (!outcome) return failed(redact(outcome.error().message, secrets_));
    outcome->error = redact(std::move(outcome->error), secrets_);
    return std::move(*outcome);
  }

  bool write(json record) {
    stage_ = record.value("stage", stage_);
    record["publish_at"] = post_["publish_at"];
    return !services_.checkpoint || services_.checkpoint(record);
  }
  bool record_stage(const std::string& stage) {
    return write(json{{"stage", stage}, {"session", session_}});
  }
  StepOutcome unrecordable() {
    return failed(step_type_.name + ": cannot record the post's progress durably; stopped so that "
                  "it is not sent twice (the store's log says why)");
  }
  StepOutcome unknown(const char* call, const std::string& why) {
    if (reconcile_status_ == RF_STATUS_RECONNECT) {
      // Not unknown: the question could not be asked. The stage stays as recorded, so a retry
      // after the account is reconnected asks again.
      return failed(step_type_.name + ": cannot ask " + post_["platform"].get<std::string>() +
                        " whether " + call + " took effect: " + why,
                    RF_STATUS_RECONNECT);
    }
    return failed(step_type_.name + ": cannot tell whether " + call + " took effect on " +
                  post_["platform"].get<std::string>() + " (" + why +
                  "); the post is left for a person to check and is not sent again");
  }
  // The platform refused the post: recorded, never sent again on its own. A failed token
  // refresh is not that (the account or the token endpoint, not the post).
  StepOutcome refused(StepOutcome outcome) {
    if (refresh_failed_) {
      refresh_failed_ = false;
      return outcome;
    }
    json record = {{"stage", "failed"}, {"session", session_}, {"error", outcome.error}};
    write(record);
    return outcome;
  }

  // A plugin returns the session, or only what changed; null removes a key.
  void merge_output(const StepOutcome& outcome) {
    for (const auto& [key, value] : outcome.outputs.items()) {
      if (value.is_null()) {
        session_.erase(key);
      } else {
        session_[key] = value;
      }
    }
  }

  // Sleeps up to `seconds`, in steps, until cancelled. False when cancelled.
  bool pause(double seconds) {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
      if (services_.cancelled && services_.cancelled()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !(services_.cancelled && services_.cancelled());
  }
  static double backoff(int attempt, const StepOutcome& outcome) {
    if (auto after = outcome.outputs.find("retry_after");
        after != outcome.outputs.end() && after->is_number()) {
      return std::clamp(after->get<double>(), 0.0, 3600.0);
    }
    return std::min(kMaxBackoffSeconds, std::pow(2.0, attempt - 1));
  }
  StepOutcome cancelled(const char* stage) {
    return failed(step_type_.name + ": cancelled during " + stage +
                      "; the post's session is kept and a retry resumes it",
                  RF_STATUS_CANCELLED);
  }

  // start, retried on RETRY (a session is not a post: an orphan one is harmless). nullopt: go on.
  std::optional<StepOutcome> start() {
    for (int attempt = 1;; ++attempt) {
      auto outcome = invoke("start", json::object());
      if (outcome.status == RF_STATUS_OK) {
        session_ = outcome.outputs;
        if (!record_stage("uploading")) return unrecordable();
        return std::nullopt;
      }
      if (outcome.status != RF_STATUS_RETRY || attempt >= kMaxStartAttempts) {
        if (outcome.status == RF_STATUS_ERROR) return refused(std::move(outcome));
        // RETRY exhausted, RECONNECT, LATER, CANCELLED: nothing public exists yet.
        if (outcome.status == RF_STATUS_RETRY) outcome.status = RF_STATUS_ERROR;
        return outcome;
      }
      log(RF_LOG_WARN, "start: " + outcome.error + "; retrying");
      if (!pause(backoff(attempt, outcome))) return cancelled("start");
    }
  }

  std::optional<StepOutcome> upload() {
    for (int attempt = 1;; ++attempt) {
      auto outcome = invoke("upload", session_);
      if (outcome.status == RF_STATUS_OK) {
        merge_output(outcome);
        return std::nullopt;
      }
      if (outcome.status == RF_STATUS_RETRY && attempt < kMaxUploadAttempts) {
        log(RF_LOG_WARN, "upload: " + outcome.error + "; resuming");
        if (!pause(backoff(attempt, outcome))) return cancelled("upload");
        continue;
      }
      if (outcome.status == RF_STATUS_ERROR) return refused(std::move(outcome));
      if (outcome.status == RF_STATUS_RETRY) {
        outcome.status = RF_STATUS_ERROR;
        outcome.error += " (gave up after " + std::to_string(attempt) +
                         " attempts; the session is kept: `reelflow retry` resumes the upload)";
      }
      return outcome;
    }
  }

  std::optional<StepOutcome> finalize() {
    std::string last_found;  // what reconcile said after the last failed attempt
    for (int attempt = 1;; ++attempt) {
      auto outcome = invoke("finalize", session_);
      if (outcome.status == RF_STATUS_OK) {
        merge_output(outcome);
        if (!record_stage("polling")) return unrecordable();
        return std::nullopt;
      }
      if (outcome.status == RF_STATUS_ERROR) return refused(std::move(outcome));
      // {"sent": false}: the plugin knows the call never reached the platform (connection
      // refused), so it may simply be made again.
      const bool not_sent = outcome.outputs.value("sent", true) == false;
      if (outcome.status != RF_STATUS_RETRY || attempt >= kMaxFinalizeAttempts) {
        if (outcome.status == RF_STATUS_RETRY && not_sent) {
          outcome.status = RF_STATUS_ERROR;
          outcome.error += " (not sent after " + std::to_string(attempt) +
                           " attempts; `reelflow retry` tries again)";
          return outcome;
        }
        if (outcome.status == RF_STATUS_RETRY && !last_found.empty()) {
          // Reconcile said the post does not exist after the earlier attempts, and this one
          // failed too: not published, and safe to try again later.
          outcome.status = RF_STATUS_ERROR;
          outcome.error += " (not published after " + std::to_string(attempt) +
                           " attempts: the platform has " +
                           (last_found == "session" ? "the upload but no post"
                                                    : "nothing of it") +
                           "; `reelflow retry` tries again)";
          return outcome;
        }
        if (outcome.status == RF_STATUS_RETRY) return unknown("finalize", outcome.error);
        return outcome;
      }
      if (!pause(backoff(attempt, outcome))) return cancelled("finalize");
      if (not_sent) continue;
      // The call may have reached the platform: ask before calling it again.
      auto found = reconcile();
      if (!found) return unknown("finalize", reconcile_error_);
      if (*found == "post") {
        if (!record_stage("polling")) return unrecordable();
        return std::nullopt;
      }
      last_found = *found;
    }
  }

  // The plugin's reconcile: "nothing", "session" or "post"; nullopt when it cannot tell.
  std::optional<std::string> reconcile() {
    StepOutcome outcome;
    for (int attempt = 1;; ++attempt) {
      outcome = invoke("reconcile", session_);
      // A transient failure to ask is not an answer: ask again a few times.
      if (outcome.status != RF_STATUS_RETRY || attempt >= kMaxReconcileAttempts) break;
      log(RF_LOG_WARN, "reconcile: " + outcome.error + "; asking again");
      if (!pause(backoff(attempt, outcome))) break;
    }
    reconcile_status_ = outcome.status;
    if (outcome.status != RF_STATUS_OK) {
      reconcile_error_ = outcome.error;
      return std::nullopt;
    }
    const std::string found = outcome.outputs.value("found", "");
    if (found != "nothing" && found != "session" && found != "post") {
      reconcile_error_ = "reconcile answered found = '" + found +
                         "', not one of nothing, session, post";
      return std::nullopt;
    }
    outcome.outputs.erase("found");
    merge_output(outcome);
    log(RF_LOG_INFO, "reconciled: " +
                         std::string(found == "nothing"
                                         ? "the platform has nothing of this post, so sending it "
                                           "is safe"
                                     : found == "session" ? "the platform has its upload session"
                                                          : "the platform has the post"));
    return found;
  }

  StepOutcome poll() {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<std::int64_t>(poll_timeout_ * 1000));
    double delay = 1;
    for (int attempt = 1;; ++attempt) {
      auto outcome = invoke("poll", session_);
      if (outcome.status == RF_STATUS_OK) {
        merge_output(outcome);
        const std::string state = outcome.outputs.value("state", "");
        if (state == "published") {
          session_.erase("state");
          if (!record_stage("published")) return unrecordable();
          return published();
        }
        if (state == "failed") {
          StepOutcome refusal =
              failed(step_type_.name + ": " + post_["platform"].get<std::string>() +
                     " did not publish the post: " + outcome.outputs.value("error", "no reason given"));
          return refused(std::move(refusal));
        }
        if (state != "processing") {
          return failed(step_type_.name + ": poll answered state = '" + state +
                        "', not one of processing, published, failed");
        }
      } else if (outcome.status != RF_STATUS_RETRY) {
        if (outcome.status == RF_STATUS_ERROR) {
          outcome.error += " (the post was committed; its state on the platform is unknown)";
        }
        return outcome;
      }
      double wait = outcome.outputs.contains("retry_after") ? backoff(attempt, outcome) : delay;
      delay = std::min(30.0, delay * 1.5);
      if (std::chrono::steady_clock::now() + std::chrono::milliseconds(
                                                 static_cast<std::int64_t>(wait * 1000)) >
          deadline) {
        return failed(step_type_.name + ": the platform was still processing the post after " +
                      std::to_string(static_cast<int>(poll_timeout_)) +
                      " s (poll_timeout); it was committed and is not sent again");
      }
      if (!pause(wait)) return cancelled("poll");
    }
  }

  StepOutcome published() {
    StepOutcome outcome;
    outcome.status = RF_STATUS_OK;
    outcome.outputs = {{"post_id", session_.value("post_id", "")},
                       {"url", session_.value("url", "")},
                       {"platform", post_["platform"]},
                       {"account", post_["account"]["name"]},
                       {"state", "published"}};
    return outcome;
  }

  void log(rf_log_level level, const std::string& message) {
    if (services_.log) services_.log(level, redact(message, secrets_));
  }

  const StepTypeInfo& step_type_;
  const RunServices& services_;
  json post_;
  double poll_timeout_;
  Call call_;
  json session_ = json::object();
  std::string stage_;
  std::string reconcile_error_;
  rf_status reconcile_status_ = RF_STATUS_OK;
  std::string account_seed_;
  json account_record_;
  bool refreshed_ = false;
  bool refresh_failed_ = false;  // the last failure came from refresh, not from the platform's
                                 // answer to the post

 public:
  std::int64_t refresh_ahead_ms_ = kRefreshAheadMillis;
  std::vector<std::string> secrets_;
};

}  // namespace

Result<StepOutcome> Executor::publish_refresh(const StepTypeInfo& step_type, const json& options,
                                              const json& context, const RunServices& services) {
  if (step_type.publisher->callbacks.refresh == nullptr) {
    StepOutcome outcome;
    outcome.status = RF_STATUS_OK;
    outcome.outputs = {{"refreshed", false}};
    return outcome;
  }
  auto post = build_post(step_type, options, context, services, json::object(), false);
  if (!post) return failed(post.error().message);
  auto call = [&](const RunServices& call_services, const char*, const json& account,
                  const json&) -> Result<StepOutcome> {
    const std::string account_text = account.dump();
    return call_publisher(step_type, call_services,
                          [&](const rf_publisher_type& callbacks, void* instance, rf_run* run) {
                            return static_cast<int>(
                                callbacks.refresh(instance, run, account_text.c_str()));
                          });
  };
  Driver driver(step_type, services, std::move(*post), 0, call);
  driver.refresh_ahead_ms_ =
      static_cast<std::int64_t>(context.value("refresh_ahead_seconds", 600.0) * 1000);
  StepOutcome outcome = driver.refresh_if_due();
  if (outcome.status == RF_STATUS_RECONNECT) outcome.status = RF_STATUS_ERROR;
  return outcome;
}

Result<StepOutcome> Executor::publish_metrics(const StepTypeInfo& step_type, const json& options,
                                              const json& context, const RunServices& services) {
  if (step_type.publisher->callbacks.metrics == nullptr) {
    return failed(step_type.name + " reports no metrics");
  }
  json checkpoint = json::object();
  if (services.last_checkpoint) {
    if (auto last = services.last_checkpoint(); last && last->is_object()) checkpoint = *last;
  }
  if (checkpoint.value("stage", "") != "published") {
    return failed(step_type.name + ": no published post recorded for " +
                  context.value("idempotency_key", "this execution"));
  }
  auto post = build_post(step_type, options, context, services, checkpoint, false);
  if (!post) return failed(post.error().message);
  post->erase("_account_record");
  std::vector<std::string> secrets;
  collect_strings((*post)["account"]["credentials"], secrets);
  const std::string post_text = post->dump();
  const std::string session_text = checkpoint.value("session", json::object()).dump();
  auto outcome = call_publisher(
      step_type, services, [&](const rf_publisher_type& callbacks, void* instance, rf_run* run) {
        return static_cast<int>(
            callbacks.metrics(instance, run, post_text.c_str(), session_text.c_str()));
      });
  if (!outcome) return failed(redact(outcome.error().message, secrets));
  outcome->error = redact(std::move(outcome->error), secrets);
  return outcome;
}

Result<StepOutcome> Executor::publish(const StepTypeInfo& step_type, const json& options,
                                      const json& context, const RunServices& services,
                                      const json& checkpoint) {
  auto post = build_post(step_type, options, context, services, checkpoint);
  if (!post && post.error().message.starts_with(kHeldPrefix)) {
    // Held, not failed: the engine looks again later; new credentials in the account's secret
    // (and a reload) let it go on from where it stood.
    StepOutcome held = failed(post.error().message.substr(kHeldPrefix.size()), RF_STATUS_RECONNECT);
    held.outputs = {{"not_before", format_iso_time(now_millis() + kHoldRecheckMillis)},
                    {"held", true}};
    return held;
  }
  if (!post) return failed(post.error().message);
  auto call = [&](const RunServices& call_services, const char* which, const json& post_json,
                  const json& session) -> Result<StepOutcome> {
    const std::string post_text = post_json.dump();
    const std::string session_text = session.dump();
    const std::string which_name = which;
    return call_publisher(
        step_type, call_services,
        [&](const rf_publisher_type& callbacks, void* instance, rf_run* run) -> int {
          const char* p = post_text.c_str();
          const char* s = session_text.c_str();
          if (which_name == "prepare") return callbacks.prepare(instance, run, p);
          if (which_name == "start") return callbacks.start(instance, run, p);
          if (which_name == "upload") return callbacks.upload(instance, run, p, s);
          if (which_name == "finalize") return callbacks.finalize(instance, run, p, s);
          if (which_name == "poll") return callbacks.poll(instance, run, p, s);
          if (which_name == "refresh") return callbacks.refresh(instance, run, p);
          return callbacks.reconcile(instance, run, p, s);
        });
  };
  // A post older than max_delay is skipped, not published late (the daemon was down).
  if (checkpoint.empty()) {
    if (auto at = options.find("publish_at"); at != options.end() && at->is_string() &&
                                              !at->get<std::string>().empty()) {
      auto due = parse_iso_time(at->get<std::string>());
      if (!due) return failed(step_type.name + ": publish_at: " + due.error().message);
      const double max_delay = options.value("max_delay", 6 * 3600.0);
      if (now_millis() - *due > static_cast<std::int64_t>(max_delay * 1000)) {
        return failed(step_type.name + ": skipped: the post was due at " +
                      format_iso_time(*due) + ", more than max_delay (" +
                      std::to_string(static_cast<long>(max_delay)) + " s) ago");
      }
    }
  }
  Driver driver(step_type, services, std::move(*post), options.value("poll_timeout", 3600.0), call);
  StepOutcome outcome = driver.drive(checkpoint);
  // LATER and RECONNECT go to the engine, which holds the post (not_before in the outputs): until
  // the platform's limit resets, or, for an account that must be connected again, to look again
  // in a few minutes. The post's stage stays as recorded, so it goes on from there.
  if (outcome.status == RF_STATUS_RECONNECT) {
    outcome.outputs = {{"not_before", format_iso_time(now_millis() + kHoldRecheckMillis)},
                       {"held", true}};
  }
  return outcome;
}

}  // namespace reelflow::plugin_host
