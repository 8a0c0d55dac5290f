// The watch plugin: trigger type watch.folder, a run for every complete file that lands in a
// folder. Workflows write it as `on: {watch: {path, patterns, recursive, settle}}` (the plugin's
// only trigger type, so its name alone names it). The logic is FolderWatch (folder_watch.hpp);
// this file is its option table and the adapter to the trigger ABI.
#include <chrono>
#include <cmath>
#include <reelflow/plugin.hpp>
#include <stdexcept>
#include <string>
#include <utility>

#include "folder_watch.hpp"

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;
using reelflow::watch::FolderHost;
using reelflow::watch::FolderOptions;
using reelflow::watch::FolderWatch;
using reelflow::watch::Level;

// `help` of a required option also ends the validator's "missing required key" message, in
// lower case and without the full stop: keep it short.
constexpr rf_option kFolderOptions[] = {
    option::path("path", reelflow::no_default, "The folder to watch.").required(),
    option::list("patterns", RF_OPT_STRING, "[]",
                 "Globs of file names to accept, e.g. [\"*.mp4\", \"*.mov\"]; empty accepts "
                 "every file."),
    option::boolean("recursive", "false", "Watch sub-folders too."),
    option::duration("settle", reelflow::json_string<"2s">,
                     "How long a file must stay unchanged before a run starts."),
};

// The options the host normalised (path absolute, defaults filled, settle in seconds) and the
// plugin's daemon-level config: retry_interval (seconds), hash_chunk (bytes), remembered_keys.
FolderOptions parse_options(std::string_view config_json, std::string_view options_json) {
  std::string error;
  auto options = json::Object::parse(options_json, &error);
  if (!options) throw std::runtime_error("the options are not a JSON object: " + error);
  FolderOptions parsed;
  parsed.path = options->get_string("path").value_or("");
  if (const json::Value* patterns = options->find("patterns")) {
    auto items = patterns->as_array();
    if (!items) throw std::runtime_error("'patterns' is not a list");
    for (const auto& item : *items) {
      auto pattern = item.as_string();
      if (!pattern) throw std::runtime_error("each pattern must be text, got " + item.text());
      parsed.patterns.push_back(std::move(*pattern));
    }
  }
  parsed.recursive = options->get_bool("recursive").value_or(false);
  parsed.settle = options->get_double("settle").value_or(2.0);

  auto config = json::Object::parse(config_json, &error);
  if (!config) throw std::runtime_error("the plugin config is not a JSON object: " + error);
  for (const auto& [key, value] : config->members()) {
    if (key == "retry_interval") {
      auto seconds = value.as_double();
      if (!seconds || !(*seconds > 0)) {
        throw std::runtime_error("config retry_interval must be a positive number of seconds");
      }
      parsed.retry_interval =
          std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*seconds * 1000)));
    } else if (key == "hash_chunk" || key == "remembered_keys") {
      auto count = value.as_int();
      if (!count || *count < 1)
        throw std::runtime_error("config " + key + " must be a positive integer");
      (key == "hash_chunk" ? parsed.hash_chunk : parsed.remembered_keys) =
          static_cast<std::size_t>(*count);
    } else {
      throw std::runtime_error("unknown key '" + key +
                               "' in the watch plugin's config (known: retry_interval, "
                               "hash_chunk, remembered_keys)");
    }
  }
  return parsed;
}

FolderHost folder_host(const reelflow::TriggerHost& host) {
  FolderHost out;
  out.log = [host](Level level, const std::string& message) {
    switch (level) {
      case Level::debug:
        host.debug(message);
        break;
      case Level::info:
        host.info(message);
        break;
      case Level::warn:
        host.warn(message);
        break;
      case Level::error:
        host.error(message);
        break;
    }
  };
  out.emit = [host](const std::string& trigger, const std::string& key) {
    return host.emit(trigger, key);
  };
  return out;
}

class Folder {
 public:
  Folder(const reelflow::TriggerHost& host, std::string_view config_json,
         std::string_view options_json)
      : watch_(parse_options(config_json, options_json), folder_host(host)) {}

  int fd() const { return watch_.fd(); }
  void on_readable() { watch_.on_readable(); }
  std::int64_t next_timeout() const { return watch_.next_timeout(); }
  void on_timer() { watch_.on_timer(); }

 private:
  FolderWatch watch_;
};

constexpr rf_trigger_type kTriggerTypes[] = {
    reelflow::trigger_type<Folder>(
        {.name = "watch.folder", .summary = "A run for every complete new file in a folder"},
        kFolderOptions),
};

constexpr rf_plugin kPlugin =
    reelflow::plugin({.name = "watch",
                      .version = "1.0.0",
                      .license = "Apache-2.0",
                      .summary = "Watch folders (inotify): a run per new file, never twice"},
                     kTriggerTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
