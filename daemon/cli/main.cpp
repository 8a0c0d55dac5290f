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
  std::vector<std::string> globals;
  while (!words.empty() && words.front().starts_with("--plugin-dir")) {
    globals.push_back(words.front());
    words.erase(words.begin());
    if (globals.back() == "--plugin-dir" && !words.empty()) {
      globals.push_back(words.front());
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
  words.insert(words.end(), globals.begin(), globals.end());
  if (command == "help") {
    const char* text = words.empty() ? main_help() : command_help(words.front());
    if (text == nullptr) {
      std::fprintf(stderr, "reelflow: no command '%s'\n", words.front().c_str());
      return kExitUsage;
    }
    std::fputs(text, stdout);
    return kExitOk;
  }
  if (command == "validate") return validate_command(Args(words));
  if (command == "schema") return schema_command(Args(words));
  if (command == "plugins") return plugins_command(Args(words));
  if (command == "run") return run_command(Args(words));
  std::fprintf(stderr, "reelflow: no command '%s'. Try 'reelflow --help'.\n", command.c_str());
  return kExitUsage;
}
