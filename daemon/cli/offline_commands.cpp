// The offline commands: validate, schema, plugins, run. None of them needs a daemon.
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "store/account_files.hpp"
#include "cli/help.hpp"
#include "cli/progress.hpp"
#include "engine/runner.hpp"
#include "plugin_host/options.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Written by the SIGINT/SIGTERM handler, read by the run: a lock-free atomic is the one kind of
// global a signal handler may touch.
std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted.store(true); }

int usage_error(const std::string& command, const std::vector<std::string>& problems) {
  for (const auto& problem : problems) {
    std::fprintf(stderr, "reelflow %s: %s\n", command.c_str(), problem.c_str());
  }
  std::fprintf(stderr, "Try 'reelflow %s --help'.\n", command.c_str());
  return kExitUsage;
}

bool wants_help(Args& args, const char* command) {
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(command_help(command), stdout);
    return true;
  }
  return false;
}

json option_json(const plugin_host::OptionSpec& option) {
  json entry = {{"name", option.name},
                {"type", plugin_host::option_type_name(option.type)},
                {"required", option.required},
                {"help", option.help}};
  if (option.default_value) entry["default"] = *option.default_value;
  if (option.min) entry["min"] = *option.min;
  if (option.max) entry["max"] = *option.max;
  if (!option.enum_values.empty()) entry["enum"] = option.enum_values;
  if (option.type == RF_OPT_LIST) entry["item_type"] = plugin_host::option_type_name(option.item_type);
  return entry;
}

json plugins_json(const plugin_host::Registry& registry) {
  json plugins = json::array();
  for (const auto& plugin : registry.plugins()) {
    json step_types = json::array();
    for (const auto& step_type : plugin->step_types) {
      json options = json::array();
      for (const auto& option : step_type.options) options.push_back(option_json(option));
      json entry = {{"name", step_type.name},
                    {"summary", step_type.summary},
                    {"rerun_safe", step_type.rerun_safe()},
                    {"irreversible", step_type.irreversible()},
                    {"in_process", (step_type.flags & RF_STEP_IN_PROCESS) != 0},
                    {"options", std::move(options)}};
      if (step_type.publisher != nullptr) {
        json account_options = json::array();
        for (const auto& option : step_type.publisher->account_options) {
          account_options.push_back(option_json(option));
        }
        const auto& rules = step_type.publisher->rules;
        json quotas = json::array();
        for (const auto& quota : rules.quotas) {
          quotas.push_back({{"name", quota.name},
                            {"limit", quota.limit},
                            {"per", quota.window_ms == 0 ? json("day") : json(quota.window_ms / 1000.0)},
                            {"time_zone", quota.time_zone},
                            {"description", plugin_host::describe_quota(quota)},
                            {"note", quota.note}});
        }
        entry["publisher"] = {{"platform", step_type.publisher->platform},
                              {"account_options", std::move(account_options)},
                              {"quotas", std::move(quotas)},
                              {"windows", rules.window_texts},
                              {"windows_note", rules.windows_note}};
      }
      step_types.push_back(std::move(entry));
    }
    json trigger_types = json::array();
    for (const auto& trigger_type : plugin->trigger_types) {
      json options = json::array();
      for (const auto& option : trigger_type.options) options.push_back(option_json(option));
      trigger_types.push_back({{"name", trigger_type.name},
                               {"key", trigger_type.workflow_key()},
                               {"summary", trigger_type.summary},
                               {"options", std::move(options)}});
    }
    plugins.push_back(
        {{"name", plugin->name},
         {"version", plugin->version},
         {"license", plugin->license},
         {"summary", plugin->summary},
         {"path", plugin->path.string()},
         {"abi", std::to_string(plugin->abi_major) + "." + std::to_string(plugin->abi_minor)},
         {"step_types", std::move(step_types)},
         {"trigger_types", std::move(trigger_types)}});
  }
  return plugins;
}

// An option table as `reelflow plugins` prints it: name, type, default or required, range, help.
void print_options_text(const std::vector<plugin_host::OptionSpec>& options) {
  std::size_t width = 0;
  for (const auto& option : options) width = std::max(width, option.name.size());
  for (const auto& option : options) {
    std::string type(plugin_host::option_type_name(option.type));
    if (option.type == RF_OPT_ENUM) {
      type.clear();
      for (const auto& value : option.enum_values) type += (type.empty() ? "" : "|") + value;
    }
    std::string detail;
    if (option.required) {
      detail = "required";
    } else if (option.default_value) {
      detail = "default " + option.default_value->dump();
    }
    if (option.min || option.max) {
      json low = option.min ? json(*option.min) : json("");
      json high = option.max ? json(*option.max) : json("");
      detail += std::string(detail.empty() ? "" : ", ") + "range " +
                (option.min ? low.dump() : "") + ".." + (option.max ? high.dump() : "");
    }
    std::printf("    %-*s  %s%s\n", static_cast<int>(width), option.name.c_str(), type.c_str(),
                detail.empty() ? "" : (" (" + detail + ")").c_str());
    if (!option.help.empty()) {
      std::printf("    %-*s  %s\n", static_cast<int>(width), "", option.help.c_str());
    }
  }
}

void print_plugins_text(const plugin_host::Registry& registry) {
  if (registry.plugins().empty()) {
    std::puts("No plugins found. Give a directory with --plugin-dir DIR.");
    return;
  }
  for (const auto& plugin : registry.plugins()) {
    std::printf("%s %s (%s)  %s\n", plugin->name.c_str(), plugin->version.c_str(),
                plugin->license.c_str(), plugin->path.c_str());
    if (!plugin->summary.empty()) std::printf("  %s\n", plugin->summary.c_str());
    for (const auto& step_type : plugin->step_types) {
      std::string traits;
      if (step_type.rerun_safe()) traits += "rerun-safe";
      if (step_type.irreversible()) traits += std::string(traits.empty() ? "" : ", ") + "irreversible";
      if (step_type.flags & RF_STEP_IN_PROCESS) {
        traits += std::string(traits.empty() ? "" : ", ") + "in-process";
      }
      if (step_type.publisher != nullptr) {
        traits = "publisher, platform " + step_type.publisher->platform;
      }
      std::printf("\n  %s  %s%s\n", step_type.name.c_str(), step_type.summary.c_str(),
                  traits.empty() ? "" : ("  [" + traits + "]").c_str());
      print_options_text(step_type.options);
      if (step_type.publisher != nullptr && !step_type.publisher->account_options.empty()) {
        std::printf("    account options (the secret account.<name>, under \"options\"):\n");
        print_options_text(step_type.publisher->account_options);
      }
      if (step_type.publisher != nullptr) {
        const auto& rules = step_type.publisher->rules;
        for (const auto& quota : rules.quotas) {
          std::printf("    quota %s: %s%s\n", quota.name.c_str(),
                      plugin_host::describe_quota(quota).c_str(),
                      quota.note.empty() ? "" : (" - " + quota.note).c_str());
        }
        if (!rules.window_texts.empty()) {
          std::string list;
          for (const auto& text : rules.window_texts) list += (list.empty() ? "" : ", ") + text;
          std::printf("    publish_at: best posts in %s, in the account's time zone%s\n",
                      list.c_str(),
                      rules.windows_note.empty() ? "" : (" - " + rules.windows_note).c_str());
        }
      }
    }
    for (const auto& trigger_type : plugin->trigger_types) {
      std::printf("\n  %s  %s  [trigger, on.%s]\n", trigger_type.name.c_str(),
                  trigger_type.summary.c_str(), trigger_type.workflow_key().c_str());
      print_options_text(trigger_type.options);
    }
    std::putchar('\n');
  }
}
// NAME=VALUE pairs from the command line into a JSON object.
bool parse_assignments(const std::vector<std::string>& words, const char* flag, json& into,
                       std::vector<std::string>& problems) {
  for (const auto& word : words) {
    auto equals = word.find('=');
    if (equals == std::string::npos || equals == 0) {
      problems.push_back(std::string(flag) + " takes NAME=VALUE, got '" + word + "'");
      return false;
    }
    into[word.substr(0, equals)] = word.substr(equals + 1);
  }
  return true;
}

// A secrets file: one NAME=VALUE per line, # comments; it must not be readable by others.
bool read_secrets_file(const std::string& path, json& into, std::vector<std::string>& problems) {
  std::ifstream in(path);
  if (!in) {
    problems.push_back("cannot read secrets file " + path);
    return false;
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & S_IROTH)) {
    std::fprintf(stderr, "reelflow run: warning: %s is readable by every user; chmod 600 it\n",
                 path.c_str());
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    auto equals = line.find('=');
    if (equals == std::string::npos || equals == 0) {
      problems.push_back(path + ":" + std::to_string(line_number) + ": expected NAME=VALUE");
      return false;
    }
    into[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return true;
}

json trigger_for_input(const fs::path& input) {
  std::error_code ec;
  fs::path absolute = fs::absolute(input, ec);
  auto size = fs::file_size(absolute, ec);
  json trigger = {{"event", "manual"},
                  {"file", absolute.lexically_normal().string()},
                  {"name", absolute.filename().string()}};
  if (!ec) trigger["size"] = size;
  return trigger;
}

}  // namespace

plugin_host::Registry load_plugins(Args& args, bool quiet) {
  std::vector<fs::path> dirs;
  for (const auto& dir : args.options("--plugin-dir")) dirs.emplace_back(dir);
  if (const char* path = std::getenv("REELFLOW_PLUGIN_PATH"); path != nullptr) {
    std::string list = path;
    std::size_t start = 0;
    while (start <= list.size()) {
      auto end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) dirs.emplace_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  plugin_host::Registry registry;
  for (const auto& dir : dirs) {
    for (const auto& problem : registry.load_dir(dir)) {
      if (!quiet) std::fprintf(stderr, "reelflow: warning: %s\n", problem.message.c_str());
    }
  }
  fs::path builtin = plugin_host::builtin_plugin_dir();
  std::error_code ec;
  if (fs::is_directory(builtin, ec)) {
    for (const auto& problem : registry.load_dir(builtin)) {
      if (!quiet) std::fprintf(stderr, "reelflow: warning: %s\n", problem.message.c_str());
    }
  }
  return registry;
}

int validate_command(Args args) {
  if (wants_help(args, "validate")) return kExitOk;
  bool as_json = args.flag("--json");
  bool quiet = args.flag("--quiet") || args.flag("-q");
  auto registry = load_plugins(args, as_json);
  auto files = args.positional();
  if (!args.errors().empty()) return usage_error("validate", args.errors());
  if (files.empty()) return usage_error("validate", {"name at least one workflow file"});

  json report = json::array();
  std::size_t problems = 0;
  for (const auto& file : files) {
    auto loaded = workflow::load_workflow(file, registry);
    problems += loaded.diagnostics.size();
    if (as_json) {
      json diagnostics = json::array();
      for (const auto& diagnostic : loaded.diagnostics) diagnostics.push_back(diagnostic.to_json());
      report.push_back({{"file", file},
                        {"ok", loaded.diagnostics.empty()},
                        {"diagnostics", std::move(diagnostics)}});
      continue;
    }
    for (const auto& diagnostic : loaded.diagnostics) {
      std::printf("%s\n", diagnostic.format().c_str());
    }
    if (loaded.diagnostics.empty() && !quiet) std::printf("%s: ok\n", file.c_str());
  }
  if (as_json) {
    std::printf("%s\n", json({{"files", report}, {"errors", problems}}).dump(2).c_str());
  } else if (problems > 0) {
    std::fflush(stdout);  // diagnostics first, then the count, also when both go to one pipe
    std::fprintf(stderr, "%zu problem%s in %zu file%s\n", problems, problems == 1 ? "" : "s",
                 files.size(), files.size() == 1 ? "" : "s");
  }
  return problems == 0 ? kExitOk : kExitInvalidWorkflow;
}

int schema_command(Args args) {
  if (wants_help(args, "schema")) return kExitOk;
  auto output = args.option("--output");
  auto registry = load_plugins(args);
  auto rest = args.positional();
  if (!args.errors().empty() || !rest.empty()) {
    auto problems = args.errors();
    if (!rest.empty()) problems.push_back("unexpected argument '" + rest.front() + "'");
    return usage_error("schema", problems);
  }
  std::string text = workflow::workflow_schema(registry).dump(2) + "\n";
  if (!output) {
    std::fputs(text.c_str(), stdout);
    return kExitOk;
  }
  std::ofstream out(*output, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) {
    std::fprintf(stderr, "reelflow schema: cannot write %s\n", output->c_str());
    return kExitFailed;
  }
  std::fprintf(stderr, "wrote %s\n", output->c_str());
  return kExitOk;
}

int plugins_command(Args args) {
  if (wants_help(args, "plugins")) return kExitOk;
  bool as_json = args.flag("--json");
  auto registry = load_plugins(args);
  auto rest = args.positional();
  if (!args.errors().empty() || !rest.empty()) {
    auto problems = args.errors();
    if (!rest.empty()) problems.push_back("unexpected argument '" + rest.front() + "'");
    return usage_error("plugins", problems);
  }
  if (as_json) {
    std::printf("%s\n", json({{"plugins", plugins_json(registry)}}).dump(2).c_str());
  } else {
    print_plugins_text(registry);
  }
  return kExitOk;
}

int run_command(Args args) {
  if (wants_help(args, "run")) return kExitOk;
  bool as_json = args.flag("--json");
  bool verbose = args.flag("--verbose") || args.flag("-v");
  auto input = args.option("--input");
  auto artifacts = args.option("--artifacts");
  auto accounts_dir = args.option("--accounts");
  std::vector<std::string> problems;
  json secrets = json::object();
  json env = json::object();
  const auto secret_options = args.options("--secret");
  const auto secrets_files = args.options("--secrets-file");
  parse_assignments(secret_options, "--secret", secrets, problems);
  parse_assignments(args.options("--env"), "--env", env, problems);
  for (const auto& file : secrets_files) {
    read_secrets_file(file, secrets, problems);
  }
  auto registry = load_plugins(args);
  auto rest = args.positional();
  problems.insert(problems.end(), args.errors().begin(), args.errors().end());
  if (rest.size() != 1) problems.push_back("name exactly one workflow file");
  if (!problems.empty()) return usage_error("run", problems);

  json trigger = {{"event", "manual"}};
  if (input) {
    std::error_code ec;
    if (!fs::exists(*input, ec)) {
      std::fprintf(stderr, "reelflow run: input %s does not exist\n", input->c_str());
      return kExitUsage;
    }
    trigger = trigger_for_input(*input);
  }

  auto loaded = workflow::load_workflow(rest.front(), registry);
  if (!loaded.workflow) {
    for (const auto& diagnostic : loaded.diagnostics) {
      std::fprintf(stderr, "%s\n", diagnostic.format().c_str());
    }
    std::fprintf(stderr, "reelflow run: %s is not valid; nothing was run\n", rest.front().c_str());
    return kExitInvalidWorkflow;
  }

  engine::RunOptions options;
  options.artifact_root = artifacts ? fs::path(*artifacts) : fs::path("reelflow-runs");
  options.secrets = std::move(secrets);
  {  // Where secrets come from, for "secrets.X is not set (...)".
    std::string origin = secrets_files.empty() ? "no --secrets-file given" : "secrets files:";
    for (const auto& file : secrets_files) origin += " " + file;
    if (!secret_options.empty()) origin += "; --secret given";
    options.secrets_origin = std::move(origin);
  }
  options.env_overrides = std::move(env);
  // Refreshed account credentials outlive the run (a rotated refresh token must not be lost).
  store::AccountFiles accounts(accounts_dir ? fs::path(*accounts_dir) : fs::path("reelflow-accounts"));
  options.account_get = [&accounts](std::string_view account) -> std::optional<json> {
    auto record = accounts.get(account);
    if (!record) {
      std::fprintf(stderr, "reelflow run: %s\n", record.error().message.c_str());
      return std::nullopt;
    }
    return *record;
  };
  options.account_set = [&accounts](std::string_view account, const json& record) {
    auto written = accounts.put(account, record);
    if (!written) std::fprintf(stderr, "reelflow run: %s\n", written.error().message.c_str());
    return written.has_value();
  };
  // options.host_call stays unset: the daemon's services (rf_host.call, e.g. links.create for
  // track.link) live in its database, so a step that needs one fails saying to use reelflowd.
  options.cancel = &g_interrupted;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);

  TerminalProgress progress(stderr, loaded.workflow->steps.size(), verbose);
  std::fprintf(stderr, "running %s on %s\n", loaded.workflow->name.c_str(),
               input ? input->c_str() : "no input");
  auto record = engine::run_workflow(*loaded.workflow, registry, trigger, options, progress);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  if (as_json) {
    std::printf("%s\n", record.to_json().dump(2).c_str());
  } else {
    print_run_summary(stdout, record);
  }
  return record.state == "succeeded" ? kExitOk : kExitFailed;
}

}  // namespace reelflow::cli
