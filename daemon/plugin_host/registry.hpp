// The plugin registry: loads plugin shared objects, negotiates the ABI, and keeps a host-side,
// normalised copy of every plugin's descriptor, step types, trigger types (ABI 1.1) and option
// tables.
//
// Contract: a plugin that fails to load (not a shared object, truncated, wrong architecture,
// unresolved symbols, no entry symbol, ABI mismatch, malformed descriptor, a step type, trigger
// type or plugin name already taken) is reported as an Error naming the file and the reason, is
// unloaded again, and leaves the registry as it was. Loaded plugins stay loaded for the process's
// lifetime (no dlclose, not even in ~Registry: plugins may have started threads or registered
// atexit handlers, and StepTypeInfo::callbacks and TriggerTypeInfo::callbacks point into them).
//
// Robustness: the ELF header and segments are checked before dlopen (glibc dies of SIGBUS on a
// file truncated after its headers), and everything the descriptor points at is read through a
// probe that turns an unmapped pointer into an Error. Code cannot be checked: a plugin whose
// constructors or entry function crash take the loading process down, which is why plugin steps
// run in worker processes.
//
// Thread-safety: load from one thread; once loading is done, the const interface is safe for
// concurrent readers.
#pragma once

#include <reelflow/plugin.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "plugin_host/publish_limits.hpp"

namespace reelflow::plugin_host {

struct OptionSpec {
  std::string name;
  rf_option_type type = RF_OPT_STRING;
  std::optional<nlohmann::json> default_value;  // parsed from default_json
  bool required = false;
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> enum_values;
  std::string help;
  int item_type = 0;  // rf_option_type of list elements, 0 for any
};

struct PluginInfo;
struct PublisherTypeInfo;

struct StepTypeInfo {
  std::string name;
  std::string summary;
  uint32_t flags = 0;
  std::vector<OptionSpec> options;
  const PluginInfo* plugin = nullptr;
  // A host-sized copy of the plugin's rf_step_type: fields an older-minor plugin lacks are zero.
  // All zero for the step type of a publisher (below).
  rf_step_type callbacks{};
  // Set for the step type the host makes of a publisher (ABI 1.2): its options are the common
  // post options (publish::common_options) followed by the publisher's own, and the executor runs
  // the host's publishing driver instead of a plugin `run`.
  const PublisherTypeInfo* publisher = nullptr;

  const OptionSpec* find_option(std::string_view option_name) const;
  bool rerun_safe() const { return (flags & RF_STEP_RERUN_SAFE) != 0; }
  bool irreversible() const { return (flags & RF_STEP_IRREVERSIBLE) != 0; }
};

// A trigger type (ABI 1.1): an event source that starts runs, run inside the daemon's loop.
struct TriggerTypeInfo {
  std::string name;  // "<plugin>.<trigger>"
  std::string summary;
  uint32_t flags = 0;
  std::vector<OptionSpec> options;
  const PluginInfo* plugin = nullptr;
  // A host-sized copy of the plugin's rf_trigger_type: fields an older-minor plugin lacks are zero.
  rf_trigger_type callbacks{};

  const OptionSpec* find_option(std::string_view option_name) const;
  // The key a workflow writes under `on`: the plugin's name when this is the plugin's only
  // trigger type (`watch` for watch.folder) and that name is not a built-in trigger's (schedule,
  // manual), otherwise the full name.
  std::string workflow_key() const;
};

// A publisher type (ABI 1.2): puts videos on one platform. Workflows use it as the step type of
// the same name, which the registry adds to the plugin's step types.
struct PublisherTypeInfo {
  std::string name;      // "<plugin>.<step>", e.g. "youtube.publish"
  std::string platform;  // e.g. "youtube"
  std::string summary;
  uint32_t flags = 0;
  std::vector<OptionSpec> options;          // the publisher's own post options
  std::vector<OptionSpec> account_options;  // the keys of an account's configuration
  PostingRules rules;  // its quotas and posting windows (scheduling_json)
  const PluginInfo* plugin = nullptr;
  // A host-sized copy of the plugin's rf_publisher_type.
  rf_publisher_type callbacks{};
};

struct PluginInfo {
  std::filesystem::path path;
  std::string name;
  std::string version;
  std::string license;
  std::string summary;
  uint16_t abi_major = 0;
  uint16_t abi_minor = 0;
  std::vector<StepTypeInfo> step_types;
  std::vector<TriggerTypeInfo> trigger_types;  // empty for plugins built for ABI 1.0
  std::vector<PublisherTypeInfo> publisher_types;  // empty for plugins built before ABI 1.2
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;

  // Loads one plugin file.
  Result<const PluginInfo*> load_file(const std::filesystem::path& shared_object);

  // Loads every regular file ending in .so directly inside dir, in name order. Returns one
  // Error per file that did not load (the others stay loaded); a missing dir is one Error.
  std::vector<Error> load_dir(const std::filesystem::path& dir);

  const StepTypeInfo* find(std::string_view step_type) const;
  std::vector<std::string> step_type_names() const;  // sorted
  const TriggerTypeInfo* find_trigger(std::string_view trigger_type) const;
  std::vector<std::string> trigger_type_names() const;  // sorted
  const PublisherTypeInfo* find_publisher(std::string_view publisher_type) const;
  std::vector<std::string> publisher_type_names() const;  // sorted
  const PluginInfo* find_plugin(std::string_view plugin_name) const;
  const std::vector<std::unique_ptr<PluginInfo>>& plugins() const { return plugins_; }

 private:
  std::vector<std::unique_ptr<PluginInfo>> plugins_;
  std::vector<void*> handles_;
};

// The built-in plugin directory: <directory of the running executable>/../lib/reelflow/plugins.
std::filesystem::path builtin_plugin_dir();

}  // namespace reelflow::plugin_host
