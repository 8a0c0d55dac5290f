// reelflowd's configuration: a YAML file (default /etc/reelflow/reelflowd.yaml, documented in
// packaging/reelflowd.yaml) overridden by command-line flags. Unknown keys and wrong values are
// errors with FILE:LINE:COL, like workflows. Also reads the secrets: NAME=VALUE lines from
// secrets_file and one file per secret from systemd credentials ($CREDENTIALS_DIRECTORY).
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"

namespace reelflow::daemon {

struct DaemonConfig {
  std::filesystem::path config_file;  // empty when none was read
  std::filesystem::path state_dir = "/var/lib/reelflow";
  std::filesystem::path workflows_dir = "/etc/reelflow/workflows";
  std::vector<std::filesystem::path> plugin_dirs;  // besides the built-in directory
  std::string control = "unix:/run/reelflow/control.sock";
  std::optional<std::filesystem::path> control_token_file;
  std::string control_group = "reelflow";
  std::string listen = "127.0.0.1:8080";
  int workers = 2;
  std::uint64_t worker_memory_limit = 2ull << 30;  // bytes
  bool isolate_plugins = true;                     // false: every step in-process (tests, debug)
  double step_grace = 30;                          // seconds a cancelled step gets to stop
  double shutdown_grace = 60;                      // seconds running steps get on SIGTERM
  double artifact_retention = 14 * 86400.0;        // seconds
  LogLevel log_level = LogLevel::info;
  nlohmann::json plugins = nlohmann::json::object();  // plugin name -> its config
  std::optional<std::filesystem::path> secrets_file = "/etc/reelflow/secrets";
  // The tracking server on `listen` ("" turns it off): its `track:` section.
  struct Track {
    std::string public_url;         // short links start with this (default http://<listen>)
    bool raw_ip = false;            // keep whole client addresses (default: /24 and /48)
    bool trust_forwarded_for = false;  // behind a reverse proxy
    double duplicate_window = 3600;    // seconds
    double attribution_window = 7 * 86400.0;
    double replay_window = 300;
    double request_timeout = 10;  // to receive one whole request (slow clients are closed)
    // click_sync: normal (default: survives kill -9; the click log is synced about every second)
    // | full (each round of 302s waits for a sync of the click log: survives power loss)
    bool click_sync_full = false;
  } track;
};

// Reads the config file. A missing file is an error only when must_exist (it was named with
// --config); otherwise the defaults stand.
Result<DaemonConfig> load_config(const std::filesystem::path& file, bool must_exist);

// Applies reelflowd's command-line flags over config. Returns the usage error, if any.
// Flags: --state-dir DIR, --workflows DIR, --plugin-dir DIR (repeatable), --control SPEC,
// --listen HOST:PORT, --workers N, --in-process, --log-level LEVEL.
Result<void> apply_flags(DaemonConfig& config, std::vector<std::string> flags);

// Secrets by name, from secrets_file and $CREDENTIALS_DIRECTORY. A secrets file readable by
// others is refused (the message says to chmod 600 it).
Result<nlohmann::json> load_secrets(const DaemonConfig& config);

// Where load_secrets() reads, for messages about a secret that is not set:
// "secrets file: /etc/reelflow/secrets" (", which does not exist"; "; systemd credentials: DIR").
std::string secrets_origin(const DaemonConfig& config);

// "2GiB", "512MiB", "1G", "1000000" -> bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace reelflow::daemon
