// The control API's view of the daemon. The HTTP server (control_server.hpp) parses requests,
// checks authorisation and calls a ControlBackend; the daemon implements the backend over its
// engine and store. Every call happens on the daemon's event-loop thread and must return quickly
// (a store query, a queue push): no plugin work, no waiting for a run.
//
// Routes (all JSON; errors are {"error": "message"} with the status below):
//   GET  /v1/status                      status()
//   GET  /v1/workflows                   workflows()
//   GET  /v1/runs?workflow=W&state=S&limit=N   runs()
//   GET  /v1/runs/<id>                   run()          404 unknown id
//   POST /v1/workflows/<name>/trigger    trigger()      body {"input": "/path"}; 404, 400, 409
//   paused POST /v1/runs/<id>/retry             retry()        409 when the run is not
//   failed/cancelled POST /v1/runs/<id>/cancel            cancel()       409 when already finished
//   POST /v1/workflows/<name>/pause      pause()
//   POST /v1/workflows/<name>/resume     resume()
//   GET  /metrics                        metrics()      Prometheus text format 0.0.4
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace reelflow::server {

struct ControlError {
  int http_status = 500;  // 400 bad request, 404 not found, 409 conflict, 503 shutting down
  std::string message;
};

template <typename T>
using ControlResult = tl::expected<T, ControlError>;

struct RunFilter {
  std::optional<std::string> workflow;
  std::optional<std::string> state;
  int limit = 50;
};

class ControlBackend {
 public:
  virtual ~ControlBackend() = default;

  // {"version", "pid", "uptime_seconds", "state": "running"|"draining", "runs": {state: count},
  //  "queued", "active", "workers": {"busy", "idle", "restarts"}, "workflows": N}
  virtual nlohmann::json status() = 0;
  // {"workflows": [{"name", "file", "content_hash", "paused", "triggers": [...]}]}
  virtual nlohmann::json workflows() = 0;
  // {"runs": [{"id", "workflow", "state", "created_at", "started_at", "finished_at", "trigger",
  //            "error"}]}  newest first; times as ISO 8601 UTC strings
  virtual ControlResult<nlohmann::json> runs(const RunFilter& filter) = 0;
  // One run with {"steps": [{"id", "item", "attempt", "state", "started_at", "finished_at",
  //   "seconds", "outputs", "error"}]}
  virtual ControlResult<nlohmann::json> run(const std::string& id) = 0;
  // Starts a run as if `input` had arrived; returns {"run_id", "created": bool}.
  virtual ControlResult<nlohmann::json> trigger(const std::string& workflow,
                                                const nlohmann::json& body) = 0;
  virtual ControlResult<nlohmann::json> retry(const std::string& id) = 0;
  virtual ControlResult<nlohmann::json> cancel(const std::string& id) = 0;
  virtual ControlResult<nlohmann::json> pause(const std::string& workflow) = 0;
  virtual ControlResult<nlohmann::json> resume(const std::string& workflow) = 0;
  virtual std::string metrics() = 0;
  // Scheduled posts due within `days`: {"posts": [{"id", "due_at", "run_id", "workflow",
  // "step_id", "step_type", "platform", "account", "title", "video"}]}, earliest first.
  virtual ControlResult<nlohmann::json> schedule(double days) = 0;
  virtual ControlResult<nlohmann::json> schedule_cancel(const std::string& id) = 0;
  // Published posts, newest first: {"posts": [{"key", "run_id", "step_id", "step_type",
  // "platform", "account", "post_id", "url", "published_at", "metrics": {label: {"taken_at",
  // ...counters}}}]}; account empty = all.
  virtual ControlResult<nlohmann::json> posts(const std::string& account, int limit) = 0;
  // {"accounts": [...]} as Engine::accounts(), never credentials.
  virtual ControlResult<nlohmann::json> accounts() = 0;
  // GET /v1/best-times?account=A[&time_zone=Z]: the account's hours of the week as
  // `publish_at: best` learns them (optimize::to_json of optimize/best_time.hpp, plus "account",
  // "platform", "time_zone", "windows"); 400 without an account or with a bad zone or limits,
  // 404 an unknown account.
  virtual ControlResult<nlohmann::json> best_times(const std::string& /*account*/,
                                                   const std::string& /*time_zone*/) {
    return tl::unexpected(ControlError{404, "best times are not available here"});
  }
  // Tracked links (track/links.hpp): GET /v1/links?campaign=C&limit=N -> {"links": [...]};
  // POST /v1/links {"url", "platform", ...} -> the link (400 bad request);
  // GET /v1/links/<code> -> the link with "clicks_total", "clicks_human", "clicks_bot",
  // "clicks_duplicate" and "conversions": [...] (404); POST /v1/links/<code>/disable|enable.
  virtual ControlResult<nlohmann::json> links(const std::string& campaign, int limit) = 0;
  virtual ControlResult<nlohmann::json> link(const std::string& code) = 0;
  virtual ControlResult<nlohmann::json> link_create(const nlohmann::json& body) = 0;
  virtual ControlResult<nlohmann::json> link_enable(const std::string& code, bool enabled) = 0;
  // GET /v1/report?campaign=C&since=YYYY-MM-DD&by=platform|video|variant|day: the funnel
  // (track/report_render.hpp describes the JSON).
  virtual ControlResult<nlohmann::json> report(const std::string& campaign,
                                               const std::string& since, const std::string& by) = 0;
  // optimize.choose's experiments (optimize/experiments.hpp describes the JSON):
  // GET /v1/experiments -> {"experiments": [...]}; GET /v1/experiments/<name> -> one with its arms
  // and their posteriors over time (404 unknown name). A backend without experiments answers 404.
  virtual ControlResult<nlohmann::json> experiments() {
    return tl::unexpected(ControlError{404, "this daemon keeps no experiments"});
  }
  virtual ControlResult<nlohmann::json> experiment(const std::string& name) {
    return tl::unexpected(ControlError{404, "no experiment " + name});
  }
  // Engagement model versions (store/model_registry.hpp): GET /v1/models?name=N -> {"models":
  // [...], "active": {name: version}, "installed": {name: path}}; POST /v1/models/<V>/rollback
  // (V a version, or "previous" with ?name=N, default engagement) -> {"name", "active",
  // "previous", "installed", "changed"}: 404 unknown version, 409 refused (a rejected version, a
  // missing or corrupt file: the active model stays). A backend without models answers 404.
  virtual ControlResult<nlohmann::json> models(const std::string& name) {
    return tl::unexpected(ControlError{404, "this daemon keeps no models (" + name + ")"});
  }
  virtual ControlResult<nlohmann::json> model_rollback(const std::string& version,
                                                       const std::string& name) {
    return tl::unexpected(ControlError{404, "no model version " + version + " (" + name + ")"});
  }
  // body: {"at": ISO 8601 with an offset}
  virtual ControlResult<nlohmann::json> schedule_move(const std::string& id,
                                                      const nlohmann::json& body) = 0;
};

}  // namespace reelflow::server
