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
int run_command(Args args);

}  // namespace reelflow::cli
