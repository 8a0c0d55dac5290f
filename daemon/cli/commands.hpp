// The `reelflow` commands. Each takes the words after its name and returns the process exit
// status: 0 success, 1 the thing checked or run failed, 2 a usage error, 3 an invalid workflow.
#pragma once

#include <string>
#include <vector>

#include "cli/args.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalidWorkflow = 3;

// Plugins from --plugin-dir (in order), then REELFLOW_PLUGIN_PATH (colon-separated), then the
// built-in directory; the first plugin to provide a step type wins and later ones are reported.
// Problems are printed to stderr as warnings unless quiet.
plugin_host::Registry load_plugins(Args& args, bool quiet = false);

int validate_command(Args args);
int schema_command(Args args);
int plugins_command(Args args);
int optimize_command(Args args);  // optimize simulate --scenario NAME [--reps N] [--seed S] [--json]
int run_command(Args args);

// Daemon verbs (daemon_commands.cpp): they talk to reelflowd's control API, chosen by --control
// or REELFLOW_CONTROL (default unix:/run/reelflow/control.sock), with a bearer token from
// --token-file or REELFLOW_TOKEN on TCP. Exit 1 when the daemon is unreachable or says no.
int status_command(Args args);
int workflows_command(Args args);
int runs_command(Args args);
int run_show_command(Args args);  // `reelflow run show ID`
int trigger_command(Args args);
int retry_command(Args args);
int cancel_command(Args args);
int pause_command(Args args);
int resume_command(Args args);
int schedule_command(Args args);
int accounts_command(Args args);  // accounts [--json]
int models_command(Args args);    // models [list|rollback [V]] [--name N] [--json]
int links_command(Args args);     // links [list|show|create|disable|enable] [--json]
int report_command(Args args);    // report [--campaign C] [--since D] [--by B] [--csv|--json|--html F]
int posts_command(Args args);     // posts [--account A] [--json]  // schedule [--days N] [--tz ZONE], schedule cancel|move

}  // namespace reelflow::cli
