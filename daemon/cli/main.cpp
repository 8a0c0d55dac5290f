// reelflow: the command-line interface. Dispatches to the commands in commands.hpp.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/help.hpp"

#ifndef REELFLOW_VERSION
#define REELFLOW_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace reelflow::cli;
  std::vector<std::string> words(argv + 1, argv + argc);
  // Global options may come before the command; move them after it so each command sees them.
  // --plugin-dir is for the offline commands, --control and --token-file for the daemon verbs.
  std::vector<std::string> plugin_globals;
  std::vector<std::string> control_globals;
  while (!words.empty()) {
    const std::string word = words.front();
    std::vector<std::string>* globals = nullptr;
    std::string name;
    for (const char* option : {"--plugin-dir", "--control", "--token-file"}) {
      if (word == option || word.starts_with(std::string(option) + "=")) {
        name = option;
        globals = name == "--plugin-dir" ? &plugin_globals : &control_globals;
      }
    }
    if (globals == nullptr) break;
    globals->push_back(word);
    words.erase(words.begin());
    if (word == name && !words.empty()) {
      globals->push_back(words.front());
      words.erase(words.begin());
    }
  }
  if (words.empty() || words.front() == "--help" || words.front() == "-h") {
    std::fputs(main_help(), words.empty() ? stderr : stdout);
    return words.empty() ? kExitUsage : kExitOk;
  }
  if (words.front() == "--version") {
    std::printf("reelflow %s (plugin ABI %d.%d)\n", REELFLOW_VERSION, RF_ABI_MAJOR, RF_ABI_MINOR);
    return kExitOk;
  }
  std::string command = words.front();
  words.erase(words.begin());
  // `run show ID` asks the daemon; any other `run` is the offline foreground run.
  bool run_show = command == "run" && !words.empty() && words.front() == "show";
  if (run_show) words.erase(words.begin());
  if (command == "help") {
    const char* text = words.empty() ? main_help()
                       : words.size() > 1 && words[0] == "run" && words[1] == "show"
                           ? command_help("run show")
                           : command_help(words.front());
    if (text == nullptr) {
      std::fprintf(stderr, "reelflow: no command '%s'\n", words.front().c_str());
      return kExitUsage;
    }
    std::fputs(text, stdout);
    return kExitOk;
  }
  auto offline = [&] {
    words.insert(words.end(), plugin_globals.begin(), plugin_globals.end());
    return Args(words);
  };
  auto daemon_args = [&] {
    words.insert(words.end(), control_globals.begin(), control_globals.end());
    return Args(words);
  };
  if (run_show) return run_show_command(daemon_args());
  if (command == "validate") return validate_command(offline());
  if (command == "schema") return schema_command(offline());
  if (command == "plugins") return plugins_command(offline());
  if (command == "run") return run_command(offline());
  if (command == "optimize") {  // simulate is offline; times, list and show ask the daemon
    words.insert(words.end(), control_globals.begin(), control_globals.end());
    return optimize_command(offline());
  }
  if (command == "status") return status_command(daemon_args());
  if (command == "workflows") return workflows_command(daemon_args());
  if (command == "runs") return runs_command(daemon_args());
  if (command == "trigger") return trigger_command(daemon_args());
  if (command == "retry") return retry_command(daemon_args());
  if (command == "cancel") return cancel_command(daemon_args());
  if (command == "pause") return pause_command(daemon_args());
  if (command == "resume") return resume_command(daemon_args());
  if (command == "schedule") return schedule_command(daemon_args());
  if (command == "accounts") return accounts_command(daemon_args());
  if (command == "posts") return posts_command(daemon_args());
  if (command == "links") return links_command(daemon_args());
  if (command == "models") return models_command(daemon_args());
  if (command == "report") return report_command(daemon_args());
  std::fprintf(stderr, "reelflow: no command '%s'. Try 'reelflow --help'.\n", command.c_str());
  return kExitUsage;
}
