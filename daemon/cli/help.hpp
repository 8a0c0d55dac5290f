// Help texts of `reelflow` and each of its commands, kept in one place so `reelflow --help`,
// `reelflow help CMD` and `reelflow CMD --help` agree.
#pragma once

#include <string_view>

namespace reelflow::cli {

const char* main_help();
// The help of one command, or nullptr when there is no such command.
const char* command_help(std::string_view command);

}  // namespace reelflow::cli
