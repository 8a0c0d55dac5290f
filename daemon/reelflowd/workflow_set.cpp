#include "reelflowd/workflow_set.hpp"

#include <algorithm>

namespace reelflow::daemon {

namespace fs = std::filesystem;

WorkflowSet::LoadReport WorkflowSet::load(const fs::path& dir,
                                          const plugin_host::Registry& registry) {
  LoadReport report;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto extension = entry.path().extension();
    if (entry.is_regular_file() && (extension == ".yaml" || extension == ".yml") &&
        !entry.path().filename().string().starts_with(".")) {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    report.diagnostics.push_back(dir.string() + ": error: cannot read the workflows directory: " +
                                 ec.message());
  }
  std::sort(files.begin(), files.end());

  std::map<fs::path, workflow::Workflow> next;
  std::map<std::string, fs::path> names;
  for (const auto& file : files) {
    auto loaded = workflow::load_workflow(file, registry);
    std::optional<workflow::Workflow> chosen;
    if (loaded.workflow) {
      auto taken = names.find(loaded.workflow->name);
      if (taken != names.end()) {
        report.diagnostics.push_back(file.string() + ":1:1: error: workflow name '" +
                                     loaded.workflow->name + "' is already used by " +
                                     taken->second.string());
      } else {
        chosen = std::move(*loaded.workflow);
        ++report.loaded;
      }
    } else {
      for (const auto& diagnostic : loaded.diagnostics) {
        report.diagnostics.push_back(diagnostic.format());
      }
      if (auto previous = by_file_.find(file); previous != by_file_.end()) {
        chosen = previous->second;
        ++report.kept_previous;
      } else {
        ++report.failed;
      }
    }
    if (chosen && !names.contains(chosen->name)) {
      names[chosen->name] = file;
      next[file] = std::move(*chosen);
    }
  }
  by_file_ = std::move(next);
  return report;
}

std::map<std::string, workflow::Workflow> WorkflowSet::by_name() const {
  std::map<std::string, workflow::Workflow> named;
  for (const auto& [file, loaded] : by_file_) named.emplace(loaded.name, loaded);
  return named;
}

}  // namespace reelflow::daemon
