// `reelflowd --check`: what the daemon would find wrong at its start, found without starting it
// (no database, no lock, no sockets, no triggers). Checks the secrets file (readable, not readable
// by every user, NAME=VALUE lines), the control token file, the plugins (warnings, as at the
// start), every workflow file against the loaded plugins (FILE:LINE:COL), every folder a trigger
// names (RF_OPT_PATH options such as watch.folder's `path`: a readable directory, or one this user
// can create) and the state dir (writable, or creatable). It runs as the user who calls it and
// outside the systemd sandbox, so a folder the unit's ReadWritePaths= lacks is not found.
// Thread-safety: plain function.
#pragma once

#include <cstdio>

#include "reelflowd/config.hpp"

namespace reelflow::daemon {

// Prints each problem on its own line to `problems_out` and a summary to `summary_out`. Returns
// the number of problems (warnings do not count).
int check_setup(const DaemonConfig& config, std::FILE* summary_out, std::FILE* problems_out);

}  // namespace reelflow::daemon
