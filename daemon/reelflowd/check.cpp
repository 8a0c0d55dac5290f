#include "reelflowd/check.hpp"

#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "plugin_host/options.hpp"
#include "plugin_host/publish_options.hpp"
#include "plugin_host/registry.hpp"
#include "reelflowd/workflow_set.hpp"
#include "workflow/expr.hpp"

namespace reelflow::daemon {

namespace {

namespace fs = std::filesystem;

// A directory that exists (and this user can list), or the first existing ancestor this user can
// create it in. The problem, or "" when fine.
std::string directory_problem(const fs::path& dir, bool needs_write) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return "is not a directory";
    const int mode = R_OK | X_OK | (needs_write ? W_OK : 0);
    if (::access(dir.c_str(), mode) != 0) {
      return needs_write ? "is not writable by this user" : "is not readable by this user";
    }
    return "";
  }
  fs::path ancestor = dir.parent_path();
  while (!ancestor.empty() && !fs::exists(ancestor, ec) && ancestor != ancestor.parent_path()) {
    ancestor = ancestor.parent_path();
  }
  if (ancestor.empty() || ::access(ancestor.c_str(), W_OK | X_OK) != 0) {
    return "does not exist and cannot be created by this user (" + ancestor.string() +
           " is not writable)";
  }
  return "";
}

}  // namespace

int check_setup(const DaemonConfig& config, std::FILE* summary_out, std::FILE* problems_out) {
  int problems = 0;
  auto problem = [&](const std::string& line) {
    std::fprintf(problems_out, "%s\n", line.c_str());
    ++problems;
  };

  // The state dir: not opened or locked, only looked at.
  if (auto why = directory_problem(config.state_dir, true); !why.empty()) {
    problem(config.state_dir.string() + ": error: the state dir " + why);
  }

  // Secrets: the same reading as at the start and on every reload.
  auto secrets = load_secrets(config);
  if (!secrets) problem(secrets.error().message);
  if (config.control_token_file) {
    std::ifstream in(*config.control_token_file);
    std::string token;
    std::getline(in, token);
    if (token.find_first_not_of(" \t\r") == std::string::npos) {
      problem(config.control_token_file->string() + ": error: cannot read the control token");
    }
  }

  // Plugins, as the daemon loads them: a plugin that fails is a warning there too.
  plugin_host::Registry registry;
  std::vector<fs::path> plugin_dirs = config.plugin_dirs;
  std::error_code ec;
  if (fs::path builtin = plugin_host::builtin_plugin_dir(); fs::is_directory(builtin, ec)) {
    plugin_dirs.push_back(builtin);
  }
  for (const auto& dir : plugin_dirs) {
    for (const auto& warning : registry.load_dir(dir)) {
      std::fprintf(problems_out, "warning: %s\n", warning.message.c_str());
    }
  }

  // Workflows.
  WorkflowSet workflows;
  auto report = workflows.load(config.workflows_dir, registry);
  for (const auto& line : report.diagnostics) problem(line);
  if (!fs::is_directory(config.workflows_dir, ec)) {
    if (report.diagnostics.empty()) {
      problem(config.workflows_dir.string() + ": error: the workflows directory does not exist");
    }
  }

  // What the steps need from the secrets: each publisher step's account (when the workflow
  // names it, not a template), and the secrets templates read. A missing account fails the post,
  // so it is a problem; a missing secrets.X only a warning (default(secrets.X, ...) is allowed).
  if (secrets) {
    auto secret_text = [&](const std::string& name) -> std::optional<std::string> {
      auto found = secrets->find(name);
      if (found == secrets->end()) return std::nullopt;
      return found->is_string() ? found->get<std::string>() : found->dump();
    };
    for (const auto& [name, loaded] : workflows.by_name()) {
      std::set<std::string> warned;
      for (const auto& step : loaded.steps) {
        const std::string where = loaded.file.string() + ": workflow '" + name + "', step '" +
                                  step.id + "'";
        const plugin_host::StepTypeInfo* type = registry.find(step.uses);
        auto account = step.with.find("account");
        if (type != nullptr && type->publisher != nullptr && account != step.with.end() &&
            account->is_string() && account->get<std::string>().find("${{") == std::string::npos) {
          const std::string account_name = account->get<std::string>();
          auto checked = plugin_host::account_from_secret(*type, account_name,
                                                          secret_text("account." + account_name));
          if (!checked) problem(where + ": error: " + checked.error().message);
        }
        for (const auto& secret : workflow::secret_references(step.with)) {
          if (secrets->contains(secret) || !warned.insert(secret).second) continue;
          std::fprintf(problems_out, "warning: %s reads secrets.%s, which is not set (%s)\n",
                       where.c_str(), secret.c_str(), secrets_origin(config).c_str());
        }
      }
    }
  }

  // Folders the triggers name, resolved as the daemon does (against the working directory).
  const fs::path base_dir = fs::current_path(ec);
  std::set<std::string> seen;
  for (const auto& [name, loaded] : workflows.by_name()) {
    for (const auto& trigger : loaded.on.plugin_triggers) {
      const plugin_host::TriggerTypeInfo* type = registry.find_trigger(trigger.type);
      if (type == nullptr) continue;  // the validator reported it
      auto options = plugin_host::normalize_trigger_options(*type, trigger.options, base_dir);
      if (!options) {
        problem(loaded.file.string() + ": error: " + options.error().message);
        continue;
      }
      for (const auto& spec : type->options) {
        if (spec.type != RF_OPT_PATH) continue;
        auto value = options->find(spec.name);
        if (value == options->end() || !value->is_string()) continue;
        const fs::path folder = value->get<std::string>();
        if (!seen.insert(folder.string()).second) continue;
        if (auto why = directory_problem(folder, false); !why.empty()) {
          problem(loaded.file.string() + ": error: " + type->name + " folder " + folder.string() +
                  " (workflow '" + name + "') " + why);
        }
      }
    }
  }

  const std::string what =
      config.config_file.empty() ? std::string("defaults and flags") : config.config_file.string();
  if (problems > 0) {
    std::fprintf(problems_out, "reelflowd --check: %d problem(s) (%s)\n", problems, what.c_str());
  } else {
    std::fprintf(summary_out, "%s: ok (%d workflow(s) in %s, %zu plugin(s), secrets %s)\n",
                 what.c_str(), report.loaded, config.workflows_dir.string().c_str(),
                 registry.plugins().size(),
                 config.secrets_file && fs::exists(*config.secrets_file, ec)
                     ? ("from " + config.secrets_file->string()).c_str()
                     : "file absent");
  }
  return problems;
}

}  // namespace reelflow::daemon
