// The visitor hash's salt (tracking): per installation, in <state_dir>/visitor_salt, readable by
// the daemon's user only. Created on first use with mode 0600 (written to a new file, synced, then
// renamed in, so a crash never leaves a half-written salt); an existing file with a looser mode is
// tightened to 0600 and the change reported. Thread-safety: plain functions.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace reelflow::daemon {

struct VisitorSalt {
  std::string salt;
  std::vector<std::string> notes;  // what was done to the file, for the log
};

Result<VisitorSalt> load_or_create_visitor_salt(const std::filesystem::path& file);

}  // namespace reelflow::daemon
