// What the daemon verbs share (daemon_commands.cpp, schedule_command.cpp): one request to the
// running reelflowd over its control API with the verb's connection settings, and the usage
// error format. Thread-safety: one thread.
#pragma once

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/control_client.hpp"

namespace reelflow::cli {

using nlohmann::json;

inline int usage_error(const std::string& command, const std::vector<std::string>& problems) {
  for (const auto& problem : problems) {
    std::fprintf(stderr, "reelflow %s: %s\n", command.c_str(), problem.c_str());
  }
  std::fprintf(stderr, "Try 'reelflow %s --help'.\n", command.c_str());
  return kExitUsage;
}

inline std::string trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// One daemon verb's connection settings and output mode, read from its arguments:
// --control / REELFLOW_CONTROL, --token-file / REELFLOW_TOKEN, --json.
class DaemonCall {
 public:
  DaemonCall(std::string command, Args& args) : command_(std::move(command)) {
    as_json = args.flag("--json");
    auto control = args.option("--control");
    auto token_file = args.option("--token-file");
    args.options("--plugin-dir");  // a global option; the daemon verbs have no use for it
    std::string endpoint_text(server::kDefaultControlEndpoint);
    if (control) {
      endpoint_text = *control;
    } else if (const char* env = std::getenv("REELFLOW_CONTROL"); env != nullptr && *env) {
      endpoint_text = env;
    }
    auto endpoint = server::parse_control_endpoint(endpoint_text);
    if (!endpoint) {
      problems.push_back(endpoint.error().message);
      return;
    }
    std::string token;
    if (token_file) {
      std::ifstream in(*token_file);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) {
        problems.push_back("cannot read token file " + *token_file);
        return;
      }
      token = trim(text.str());
    } else if (const char* env = std::getenv("REELFLOW_TOKEN"); env != nullptr) {
      token = trim(env);
    }
    if (endpoint->is_tcp() && token.empty()) {
      problems.push_back(endpoint->to_string() +
                         " needs the daemon's bearer token: set REELFLOW_TOKEN or pass "
                         "--token-file FILE");
      return;
    }
    client_.emplace(*endpoint, std::move(token));
  }

  // The reply's JSON on 2xx; otherwise prints what went wrong and returns nullopt.
  std::optional<json> request(std::string_view method, const std::string& target,
                              const std::string& body = {}) {
    auto reply = client_->request(method, target, body);
    if (!reply) {
      std::fprintf(stderr, "reelflow %s: %s\n", command_.c_str(), reply.error().message.c_str());
      return std::nullopt;
    }
    json parsed = json::parse(reply->body, nullptr, false);
    if (reply->status >= 200 && reply->status < 300) {
      if (parsed.is_discarded()) {
        std::fprintf(stderr, "reelflow %s: the daemon at %s answered with something not JSON\n",
                     command_.c_str(), client_->endpoint().to_string().c_str());
        return std::nullopt;
      }
      return parsed;
    }
    std::string message =
        parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()
            ? parsed["error"].get<std::string>()
            : "HTTP " + std::to_string(reply->status);
    std::fprintf(stderr, "reelflow %s: %s (HTTP %d)\n", command_.c_str(), message.c_str(),
                 reply->status);
    if (reply->status == 401) {
      std::fprintf(stderr,
                   "The daemon refused the token; set REELFLOW_TOKEN or --token-file to the "
                   "token in the daemon's configuration.\n");
    }
    return std::nullopt;
  }

  bool as_json = false;
  std::vector<std::string> problems;

 private:
  std::string command_;
  std::optional<ControlClient> client_;
};

inline void print_json(const json& value) {
  std::printf("%s\n", value.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

}  // namespace reelflow::cli
