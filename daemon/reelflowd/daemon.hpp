// reelflowd as a whole: one io_context drives triggers, signals, timers and the control API; the
// engine runs workflows on threads of their own and plugins in worker processes. This class wires
// those parts together and is the control API's backend.
//
// Lifecycle: run() opens the store, loads plugins and workflows, resumes unfinished runs, opens
// the control socket and the triggers (the built-in schedule, and every plugin trigger a workflow
// names under `on`, started from the registry and driven on the io_context; one that fails to
// start is logged and the workflow keeps its other triggers), and tells systemd READY=1. SIGHUP
// reloads the config file (log level, secrets, grace periods and retention apply at once; settings
// that need a restart are named in a warning; a config with errors is not applied) and the
// workflows (a file with errors keeps its running version). SIGTERM/SIGINT drain: no new runs,
// running ones get shutdown_grace to finish, whatever is left resumes at the next start; exit
// status 0. Thread-safety: everything runs on the io_context thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "reelflowd/config.hpp"
#include "server/control.hpp"

namespace reelflow::daemon {

class Daemon : public server::ControlBackend {
 public:
  // reload: reads the configuration again (file and flags), for SIGHUP.
  using ConfigLoader = std::function<Result<DaemonConfig>()>;
  Daemon(DaemonConfig config, Logger& logger, ConfigLoader reload);
  ~Daemon() override;

  // Runs until SIGTERM/SIGINT and the drain are done. Returns the exit status.
  int run();

  nlohmann::json status() override;
  nlohmann::json workflows() override;
  server::ControlResult<nlohmann::json> runs(const server::RunFilter& filter) override;
  server::ControlResult<nlohmann::json> run(const std::string& id) override;
  server::ControlResult<nlohmann::json> trigger(const std::string& workflow,
                                                const nlohmann::json& body) override;
  server::ControlResult<nlohmann::json> retry(const std::string& id) override;
  server::ControlResult<nlohmann::json> cancel(const std::string& id) override;
  server::ControlResult<nlohmann::json> schedule(double days) override;
  server::ControlResult<nlohmann::json> accounts() override;
  server::ControlResult<nlohmann::json> best_times(const std::string& account,
                                                   const std::string& time_zone) override;
  server::ControlResult<nlohmann::json> posts(const std::string& account, int limit) override;
  server::ControlResult<nlohmann::json> schedule_cancel(const std::string& id) override;
  server::ControlResult<nlohmann::json> schedule_move(const std::string& id,
                                                      const nlohmann::json& body) override;
  server::ControlResult<nlohmann::json> pause(const std::string& workflow) override;
  server::ControlResult<nlohmann::json> resume(const std::string& workflow) override;
  std::string metrics() override;
  server::ControlResult<nlohmann::json> links(const std::string& campaign, int limit) override;
  server::ControlResult<nlohmann::json> link(const std::string& code) override;
  server::ControlResult<nlohmann::json> link_create(const nlohmann::json& body) override;
  server::ControlResult<nlohmann::json> link_enable(const std::string& code, bool enabled) override;
  server::ControlResult<nlohmann::json> report(const std::string& campaign,
                                               const std::string& since,
                                               const std::string& by) override;
  server::ControlResult<nlohmann::json> experiments() override;
  server::ControlResult<nlohmann::json> experiment(const std::string& name) override;
  server::ControlResult<nlohmann::json> models(const std::string& name) override;
  server::ControlResult<nlohmann::json> model_rollback(const std::string& version,
                                                       const std::string& name) override;

  // The daemon services steps call through rf_host.call (docs/plugins.md): "links.create",
  // "optimize.choose".
  // Called from worker-coordination threads.
  Result<nlohmann::json> host_call(std::string_view service, const nlohmann::json& request);

 private:
  // A link's public URL: the tracking server's, or http://<listen>/l/CODE when it is off.
  std::string short_url(const std::string& code) const;
  struct Parts;
  // Applies a reloaded configuration: what can change live does; the rest is named in a warning.
  void apply_reloaded(const DaemonConfig& next);

  DaemonConfig config_;
  ConfigLoader reload_;
  Logger& logger_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace reelflow::daemon
