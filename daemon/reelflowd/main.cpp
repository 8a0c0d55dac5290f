// reelflowd: the reelflow daemon. See daemon.hpp for what it does and reelflowd --help for how
// to run it.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "reelflowd/check.hpp"
#include "reelflowd/config.hpp"
#include "reelflowd/daemon.hpp"

#ifndef REELFLOW_VERSION
#define REELFLOW_VERSION "unknown"
#endif

namespace {

const char* kHelp = R"(Usage: reelflowd [--config FILE] [options]

The reelflow daemon: watches folders and schedules, runs workflows with plugins in isolated
worker processes, keeps every run in a SQLite database under the state dir (resumed after a crash
or restart), and serves the control API that `reelflow status`, `runs`, `trigger`... talk to.

Options (override the config file):
  --config FILE         config file (default /etc/reelflow/reelflowd.yaml; optional unless given)
  --state-dir DIR       the database and run artifacts (default /var/lib/reelflow)
  --workflows DIR       directory of workflow *.yaml files (default /etc/reelflow/workflows)
  --plugin-dir DIR      also load plugins from DIR (repeatable)
  --control SPEC        control API: unix:PATH or tcp:127.0.0.1:PORT
                        (default unix:/run/reelflow/control.sock)
  --listen HOST:PORT    public HTTP listener for tracking links (default 127.0.0.1:8080)
  --workers N           worker processes, and runs at once (default 2)
  --in-process          run plugins inside the daemon (no isolation; for debugging)
  --log-level LEVEL     debug, info, warning or error
  --check               check without starting (no database, lock, sockets or triggers) and
                        exit: the config file and flags, the secrets file (readable, not
                        readable by every user), the control token file, every workflow file
                        against the plugins (FILE:LINE:COL), the folders triggers watch, the
                        accounts publish steps name (their account.NAME secrets), and the
                        state dir; every problem is listed; exit status 0 when none, 1
                        when some, 2 when the config file has errors. It runs as the calling
                        user outside the systemd sandbox: run it as reelflow, from the
                        service's working directory (/srv/reelflow), e.g.
                        cd /srv/reelflow && sudo -u reelflow reelflowd --check
  -h, --help            this help
  --version             print the version

Relative watch folders in workflows resolve against the working directory.

Signals: SIGHUP reloads workflows (a file with errors keeps its running version); SIGTERM and
SIGINT stop after running steps finish (up to shutdown_grace); unfinished runs resume on restart.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> flags;
  std::string config_file = "/etc/reelflow/reelflowd.yaml";
  bool config_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("reelflowd %s\n", REELFLOW_VERSION);
      return 0;
    }
    if (arg == "--config" && i + 1 < argc) {
      config_file = argv[++i];
      config_given = true;
    } else if (arg.starts_with("--config=")) {
      config_file = arg.substr(9);
      config_given = true;
    } else {
      flags.push_back(arg);
    }
  }
  bool check_only = false;
  std::erase_if(flags, [&](const std::string& flag) {
    if (flag != "--check") return false;
    check_only = true;
    return true;
  });
  // The file, then the flags over it, then absolute paths (outputs and logs name files by absolute
  // path whatever directory the daemon started in). Run again on SIGHUP.
  auto effective_config = [config_file, config_given,
                           flags]() -> reelflow::Result<reelflow::daemon::DaemonConfig> {
    auto loaded = reelflow::daemon::load_config(config_file, config_given);
    if (!loaded) return loaded;
    if (auto applied = reelflow::daemon::apply_flags(*loaded, flags); !applied) {
      return reelflow::fail("reelflowd: " + applied.error().message +
                            "\nTry 'reelflowd --help'.");
    }
    loaded->state_dir = std::filesystem::absolute(loaded->state_dir).lexically_normal();
    loaded->workflows_dir = std::filesystem::absolute(loaded->workflows_dir).lexically_normal();
    for (auto& dir : loaded->plugin_dirs) dir = std::filesystem::absolute(dir).lexically_normal();
    return loaded;
  };
  auto config = effective_config();
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 2;
  }
  if (check_only) return reelflow::daemon::check_setup(*config, stdout, stderr) > 0 ? 1 : 0;
  reelflow::Logger logger(config->log_level);
  reelflow::daemon::Daemon daemon(std::move(*config), logger, effective_config);
  return daemon.run();
}
