#include "reelflowd/config.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>

#include "common/duration.hpp"

namespace reelflow::daemon {

namespace {

namespace fs = std::filesystem;

std::string where(const fs::path& file, const YAML::Node& node) {
  const auto mark = node.Mark();
  return file.string() + ":" + std::to_string(mark.line + 1) + ":" +
         std::to_string(mark.column + 1) + ": error: ";
}

nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) object[entry.first.as<std::string>()] = to_json(entry.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& entry : node) array.push_back(to_json(entry));
      return array;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted
      if (text == "true") return true;
      if (text == "false") return false;
      if (text == "null" || text == "~") return nullptr;
      long long integer = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
      if (ec == std::errc() && end == text.data() + text.size()) return integer;
      double number = 0;
      auto [fend, fec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (fec == std::errc() && fend == text.data() + text.size()) return number;
      return text;
    }
    default:
      return nullptr;
  }
}

std::optional<LogLevel> parse_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warning" || text == "warn") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

bool valid_control(std::string_view spec) {
  return (spec.starts_with("unix:") && spec.size() > 5) ||
         (spec.starts_with("tcp:") && spec.find(':', 4) != std::string_view::npos);
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
  if (ec != std::errc()) return std::nullopt;
  std::string unit(end, text.data() + text.size());
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  std::uint64_t factor = 1;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "K" || unit == "KiB" || unit == "k") {
    factor = 1ull << 10;
  } else if (unit == "M" || unit == "MiB") {
    factor = 1ull << 20;
  } else if (unit == "G" || unit == "GiB") {
    factor = 1ull << 30;
  } else if (unit == "T" || unit == "TiB") {
    factor = 1ull << 40;
  } else {
    return std::nullopt;
  }
  return amount * factor;
}

Result<DaemonConfig> load_config(const fs::path& file, bool must_exist) {
  DaemonConfig config;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (must_exist) return fail(file.string() + ": error: the config file does not exist");
    return config;
  }
  config.config_file = file;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::ParserException& error) {
    return fail(file.string() + ":" + std::to_string(error.mark.line + 1) + ":" +
                std::to_string(error.mark.column + 1) + ": error: YAML syntax error: " + error.msg);
  } catch (const YAML::Exception& error) {
    return fail(file.string() + ": error: cannot read the config file: " + error.what());
  }
  if (root.IsNull()) return config;
  if (!root.IsMap()) return fail(where(file, root) + "the config file must be a mapping");

  std::string problems;
  auto problem = [&](const YAML::Node& node, const std::string& message) {
    problems += (problems.empty() ? "" : "\n") + where(file, node) + message;
  };
  auto text = [&](const YAML::Node& node, const std::string& key) -> std::optional<std::string> {
    if (!node.IsScalar()) {
      problem(node, "'" + key + "' must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  };
  auto duration = [&](const YAML::Node& node, const std::string& key, double& into) {
    if (auto value = text(node, key)) {
      if (auto seconds = parse_duration(*value)) {
        into = *seconds;
      } else {
        problem(node, "'" + key + "' must be a duration such as 30s, 5m or 14d, got '" + *value +
                          "'");
      }
    }
  };

  static const std::set<std::string> kKeys = {
      "state_dir",     "workflows",          "plugin_dirs",        "control",
      "control_token_file", "control_group", "listen",             "workers",
      "worker_memory_limit", "isolate_plugins", "step_grace",      "shutdown_grace",
      "artifact_retention", "log_level",     "plugins",            "secrets_file",
      "track"};
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (!kKeys.contains(key)) {
      problem(entry.first, "unknown key '" + key + "'");
    } else if (key == "state_dir") {
      if (auto v = text(value, key)) config.state_dir = *v;
    } else if (key == "workflows") {
      if (auto v = text(value, key)) config.workflows_dir = *v;
    } else if (key == "plugin_dirs") {
      if (!value.IsSequence()) {
        problem(value, "'plugin_dirs' must be a list of directories");
      } else {
        for (const auto& dir : value) {
          if (auto v = text(dir, key)) config.plugin_dirs.emplace_back(*v);
        }
      }
    } else if (key == "control") {
      if (auto v = text(value, key)) {
        if (valid_control(*v)) {
          config.control = *v;
        } else {
          problem(value, "'control' must be unix:PATH or tcp:HOST:PORT, got '" + *v + "'");
        }
      }
    } else if (key == "control_token_file") {
      if (auto v = text(value, key)) config.control_token_file = *v;
    } else if (key == "control_group") {
      if (auto v = text(value, key)) config.control_group = *v;
    } else if (key == "listen") {
      if (auto v = text(value, key)) config.listen = *v;
    } else if (key == "workers") {
      auto v = text(value, key);
      int workers = 0;
      if (v && std::from_chars(v->data(), v->data() + v->size(), workers).ec == std::errc() &&
          workers >= 1 && workers <= 256) {
        config.workers = workers;
      } else if (v) {
        problem(value, "'workers' must be a whole number from 1 to 256, got '" + *v + "'");
      }
    } else if (key == "worker_memory_limit") {
      if (auto v = text(value, key)) {
        if (auto bytes = parse_size(*v); bytes && *bytes >= (64ull << 20)) {
          config.worker_memory_limit = *bytes;
        } else {
          problem(value, "'worker_memory_limit' must be a size of at least 64MiB such as 2GiB, "
                         "got '" + *v + "'");
        }
      }
    } else if (key == "isolate_plugins") {
      auto v = text(value, key);
      if (v && (*v == "true" || *v == "false")) {
        config.isolate_plugins = *v == "true";
      } else if (v) {
        problem(value, "'isolate_plugins' must be true or false");
      }
    } else if (key == "step_grace") {
      duration(value, key, config.step_grace);
    } else if (key == "shutdown_grace") {
      duration(value, key, config.shutdown_grace);
    } else if (key == "artifact_retention") {
      duration(value, key, config.artifact_retention);
    } else if (key == "log_level") {
      if (auto v = text(value, key)) {
        if (auto level = parse_level(*v)) {
          config.log_level = *level;
        } else {
          problem(value, "'log_level' must be debug, info, warning or error, got '" + *v + "'");
        }
      }
    } else if (key == "plugins") {
      if (!value.IsMap()) {
        problem(value, "'plugins' must map plugin names to their settings");
      } else {
        config.plugins = to_json(value);
        for (const auto& plugin : value) {
          if (!plugin.second.IsMap()) {
            problem(plugin.second, "the settings of plugin '" + plugin.first.as<std::string>() +
                                       "' must be a mapping");
          }
        }
      }
    } else if (key == "secrets_file") {
      if (auto v = text(value, key)) config.secrets_file = *v;
    } else if (key == "track") {
      if (value.IsNull()) continue;  // `track:` with nothing under it: the defaults
      if (!value.IsMap()) {
        problem(value, "'track' must be a mapping (public_url, raw_ip, ...)");
        continue;
      }
      auto flag = [&](const YAML::Node& node, const std::string& name, bool& into) {
        auto v = text(node, name);
        if (v && (*v == "true" || *v == "false")) {
          into = *v == "true";
        } else if (v) {
          problem(node, "'track." + name + "' must be true or false");
        }
      };
      for (const auto& field : value) {
        const std::string name = field.first.as<std::string>();
        if (name == "public_url") {
          if (auto v = text(field.second, name)) {
            if (!v->starts_with("http://") && !v->starts_with("https://")) {
              problem(field.second, "'track.public_url' must start with http:// or https://");
            } else {
              config.track.public_url = *v;
            }
          }
        } else if (name == "raw_ip") {
          flag(field.second, name, config.track.raw_ip);
        } else if (name == "trust_forwarded_for") {
          flag(field.second, name, config.track.trust_forwarded_for);
        } else if (name == "duplicate_window") {
          duration(field.second, name, config.track.duplicate_window);
        } else if (name == "attribution_window") {
          duration(field.second, name, config.track.attribution_window);
        } else if (name == "replay_window") {
          duration(field.second, name, config.track.replay_window);
        } else if (name == "request_timeout") {
          duration(field.second, name, config.track.request_timeout);
        } else if (name == "click_sync") {
          auto v = text(field.second, name);
          if (v && (*v == "full" || *v == "normal")) {
            config.track.click_sync_full = *v == "full";
          } else if (v) {
            problem(field.second, "'track.click_sync' must be full or normal, got '" + *v + "'");
          }
        } else {
          problem(field.first, "unknown key 'track." + name + "' (known: public_url, raw_ip, "
                               "trust_forwarded_for, duplicate_window, attribution_window, "
                               "replay_window, request_timeout, click_sync)");
        }
      }
    }
  }
  if (!problems.empty()) return fail(problems);
  return config;
}

Result<void> apply_flags(DaemonConfig& config, std::vector<std::string> flags) {
  for (std::size_t i = 0; i < flags.size(); ++i) {
    std::string flag = flags[i];
    std::string value;
    bool has_value = false;
    if (auto equals = flag.find('='); flag.starts_with("--") && equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
      has_value = true;
    }
    auto take = [&]() -> Result<std::string> {
      if (has_value) return value;
      if (i + 1 >= flags.size()) return fail(flag + " needs a value");
      return flags[++i];
    };
    if (flag == "--in-process") {
      config.isolate_plugins = false;
      continue;
    }
    auto argument = take();
    if (!argument) return tl::unexpected(argument.error());
    if (flag == "--state-dir") {
      config.state_dir = *argument;
    } else if (flag == "--workflows") {
      config.workflows_dir = *argument;
    } else if (flag == "--plugin-dir") {
      config.plugin_dirs.emplace_back(*argument);
    } else if (flag == "--control") {
      if (!valid_control(*argument)) {
        return fail("--control must be unix:PATH or tcp:HOST:PORT, got '" + *argument + "'");
      }
      config.control = *argument;
    } else if (flag == "--listen") {
      config.listen = *argument;
    } else if (flag == "--workers") {
      int workers = 0;
      if (std::from_chars(argument->data(), argument->data() + argument->size(), workers).ec !=
              std::errc() ||
          workers < 1 || workers > 256) {
        return fail("--workers must be a whole number from 1 to 256, got '" + *argument + "'");
      }
      config.workers = workers;
    } else if (flag == "--log-level") {
      auto level = parse_level(*argument);
      if (!level) return fail("--log-level must be debug, info, warning or error");
      config.log_level = *level;
    } else {
      return fail("unknown option " + flag);
    }
  }
  return {};
}

std::string secrets_origin(const DaemonConfig& config) {
  std::string origin;
  std::error_code ec;
  if (!config.secrets_file) {
    origin = "no secrets file is configured";
  } else {
    origin = "secrets file: " + config.secrets_file->string();
    if (!fs::exists(*config.secrets_file, ec)) origin += ", which does not exist";
  }
  if (const char* credentials = std::getenv("CREDENTIALS_DIRECTORY"); credentials != nullptr) {
    origin += std::string("; systemd credentials: ") + credentials;
  }
  return origin;
}

Result<nlohmann::json> load_secrets(const DaemonConfig& config) {
  nlohmann::json secrets = nlohmann::json::object();
  std::error_code ec;
  if (config.secrets_file && fs::exists(*config.secrets_file, ec)) {
    struct stat info {};
    if (::stat(config.secrets_file->c_str(), &info) == 0 && (info.st_mode & S_IROTH) != 0) {
      return fail(config.secrets_file->string() +
                  ": error: the secrets file is readable by every user; make it readable by the "
                  "daemon only: chown root:reelflow FILE && chmod 0640 FILE");
    }
    std::ifstream in(*config.secrets_file);
    if (!in) return fail(config.secrets_file->string() + ": error: cannot read the secrets file");
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty() || line[0] == '#') continue;
      auto equals = line.find('=');
      if (equals == std::string::npos || equals == 0) {
        // The line may hold a secret: name only the line, never its text.
        return fail(config.secrets_file->string() + ":" + std::to_string(number) +
                    ": error: expected NAME=VALUE");
      }
      secrets[line.substr(0, equals)] = line.substr(equals + 1);
    }
  }
  if (const char* credentials = std::getenv("CREDENTIALS_DIRECTORY"); credentials != nullptr) {
    for (const auto& entry : fs::directory_iterator(credentials, ec)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
      secrets[entry.path().filename().string()] = value;
    }
  }
  return secrets;
}

}  // namespace reelflow::daemon
