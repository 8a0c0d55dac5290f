// The daemon's loaded workflows: every *.yaml / *.yml file in the workflows directory. A reload
// validates every file first; a file with errors keeps its previously loaded version running (and
// its errors are logged as FILE:LINE:COL), so one typo never takes a working workflow down.
// Thread-safety: one thread (the event loop).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "plugin_host/registry.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::daemon {

class WorkflowSet {
 public:
  struct LoadReport {
    int loaded = 0;          // files that loaded cleanly
    int kept_previous = 0;   // files with errors whose previous version stays
    int failed = 0;          // files with errors and no previous version
    std::vector<std::string> diagnostics;  // FILE:LINE:COL: error: ...
  };

  // (Re)reads the directory. Workflows whose file disappeared are dropped. Two files declaring the
  // same workflow name: the second is an error.
  LoadReport load(const std::filesystem::path& dir, const plugin_host::Registry& registry);

  // By workflow name.
  std::map<std::string, workflow::Workflow> by_name() const;

 private:
  std::map<std::filesystem::path, workflow::Workflow> by_file_;
};

}  // namespace reelflow::daemon
