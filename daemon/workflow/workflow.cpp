#include "workflow/workflow.hpp"

#include <fstream>
#include <sstream>

namespace reelflow::workflow {

std::string Diagnostic::format() const {
  std::string location = file;
  if (mark.line > 0) {
    location += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
  }
  return location + ": error: " + message;
}

nlohmann::json Diagnostic::to_json() const {
  return {{"file", file},
          {"line", mark.line},
          {"column", mark.column},
          {"severity", "error"},
          {"message", message}};
}

const TriggerConfig* Triggers::find(std::string_view trigger_type) const {
  for (const auto& trigger : plugin_triggers) {
    if (trigger.type == trigger_type) return &trigger;
  }
  return nullptr;
}

const Step* Workflow::find_step(std::string_view id) const {
  for (const auto& step : steps) {
    if (step.id == id) return &step;
  }
  return nullptr;
}

LoadResult load_workflow(const std::filesystem::path& file, const plugin_host::Registry& registry) {
  // A workflow is a small text file; anything larger is a mistake (or hostile) and is refused
  // before it is read into memory.
  constexpr std::uintmax_t kMaxFileBytes = 4u << 20;
  auto unreadable = [&](const std::string& why) {
    LoadResult result;
    result.diagnostics.push_back(Diagnostic{file.string(), Mark{}, why});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    return unreadable("cannot read the workflow: it is a directory");
  }
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return unreadable("cannot read the workflow: " + ec.message());
  if (size > kMaxFileBytes) {
    return unreadable("cannot read the workflow: it is " + std::to_string(size) +
                      " bytes; the limit is " + std::to_string(kMaxFileBytes));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return unreadable("cannot read the workflow: could not open the file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return unreadable("cannot read the workflow: read error");
  return load_workflow_text(bytes.str(), file.string(), registry);
}

}  // namespace reelflow::workflow
