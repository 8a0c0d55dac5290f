// Heavy plugins in two halves: a thin descriptor and a backend loaded on first use.
//
// The daemon loads every plugin to read its option tables (validation, `reelflow plugins`, the
// JSON Schema), and workers load every plugin in the plugin directory. A plugin that links
// OpenCV or LibTorch directly would map those libraries (and run their static initialisers) in
// the daemon and in every worker. Instead:
//
//   - the thin half (`<plugin>.so`, built with reelflow_add_plugin) carries the descriptor: step
//     names, summaries, flags and option tables, with callbacks made by forwarding_step<>();
//   - a backend (`<plugin>.d/<backend>.so`, built with reelflow_add_plugin_backend) carries the
//     same step types with the real callbacks and exports `reelflow_backend_entry`.
//
// The first `create` of a forwarding step dlopens its backend next to the thin half's own file
// (found with dladdr), so a heavy library loads only in a worker that runs one of its steps. A
// missing or broken backend fails that create with a log line naming the file and dlerror().
//
// Thread-safety: backends load once per process under a lock; every forwarded call has the
// threading contract of plugin.h.
#ifndef REELFLOW_PLUGINS_SUPPORT_BACKEND_HPP
#define REELFLOW_PLUGINS_SUPPORT_BACKEND_HPP

#include <dlfcn.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <reelflow/plugin.hpp>
#include <string>
#include <string_view>

#define RF_BACKEND_ENTRY_SYMBOL "reelflow_backend_entry"

namespace reelflow::support {

namespace detail {

inline void anchor() {}  // an address inside the thin half, for dladdr

struct LoadedBackend {
  const rf_plugin* descriptor = nullptr;
  std::string error;
};

// Loads (once per process) the backend `file`, a path relative to the directory of the shared
// object this header is compiled into.
inline const LoadedBackend& load_backend(std::string_view file) {
  static std::mutex mutex;
  static std::map<std::string, LoadedBackend, std::less<>> loaded;
  const std::lock_guard lock(mutex);
  if (auto found = loaded.find(file); found != loaded.end()) return found->second;
  LoadedBackend& result = loaded[std::string(file)];
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&anchor), &info) == 0 || info.dli_fname == nullptr) {
    result.error = "cannot tell where the plugin file is (dladdr failed)";
    return result;
  }
  const std::filesystem::path path =
      std::filesystem::path(info.dli_fname).parent_path() / std::string(file);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    result.error = "cannot load the plugin backend '" + path.string() +
                   "': " + (why != nullptr ? why : "unknown error");
    return result;
  }
  auto entry = reinterpret_cast<rf_plugin_entry_fn>(dlsym(handle, RF_BACKEND_ENTRY_SYMBOL));
  if (entry == nullptr) {
    result.error =
        "the plugin backend '" + path.string() + "' does not export " + RF_BACKEND_ENTRY_SYMBOL;
    return result;
  }
  result.descriptor = entry(RF_ABI_MAJOR, RF_ABI_MINOR);
  if (result.descriptor == nullptr) {
    result.error = "the plugin backend '" + path.string() + "' refused ABI " +
                   std::to_string(RF_ABI_MAJOR) + "." + std::to_string(RF_ABI_MINOR);
  }
  return result;
}

inline const rf_step_type* backend_step(std::string_view file, std::string_view step,
                                        std::string& error) {
  const LoadedBackend& backend = load_backend(file);
  if (backend.descriptor == nullptr) {
    error = backend.error;
    return nullptr;
  }
  const rf_plugin& plugin = *backend.descriptor;
  if (plugin.step_type_count == 0 || plugin.step_types == nullptr) {
    error = "the plugin backend '" + std::string(file) + "' declares no step types";
    return nullptr;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(plugin.step_types);
  const std::size_t stride = plugin.step_types[0].struct_size;
  for (std::size_t i = 0; i < plugin.step_type_count; ++i) {
    const auto* type = reinterpret_cast<const rf_step_type*>(bytes + i * stride);
    if (type->name != nullptr && step == type->name) return type;
  }
  error =
      "the plugin backend '" + std::string(file) + "' has no step type '" + std::string(step) + "'";
  return nullptr;
}

struct Forwarded {
  const rf_step_type* real;
  void* instance;
};

template <reelflow::detail::FixedString File, reelflow::detail::FixedString Step>
struct Forwarder {
  static void* create(const rf_host* host, const char* config_json) noexcept {
    try {
      std::string error;
      const rf_step_type* real = backend_step(File.view(), Step.view(), error);
      if (real == nullptr) {
        if (host != nullptr && host->log != nullptr) {
          host->log(nullptr, RF_LOG_ERROR, (std::string(Step.view()) + ": " + error).c_str());
        }
        return nullptr;
      }
      void* instance = real->create(host, config_json);
      if (instance == nullptr) return nullptr;
      return new Forwarded{real, instance};
    } catch (...) {
      return nullptr;
    }
  }
  static rf_status run(void* self, rf_run* run, const char* options_json,
                       const char* context_json) noexcept {
    auto* forwarded = static_cast<Forwarded*>(self);
    return forwarded->real->run(forwarded->instance, run, options_json, context_json);
  }
  static void cancel(void* self) noexcept {
    auto* forwarded = static_cast<Forwarded*>(self);
    if (forwarded->real->cancel != nullptr) forwarded->real->cancel(forwarded->instance);
  }
  static void destroy(void* self) noexcept {
    auto* forwarded = static_cast<Forwarded*>(self);
    forwarded->real->destroy(forwarded->instance);
    delete forwarded;
  }
};

}  // namespace detail

// A step type of the thin half whose callbacks forward to the step of the same name in the
// backend File (relative to the thin half's directory, e.g. "video.d/media.so"). Not for
// RF_STEP_IRREVERSIBLE step types (no reconcile forwarding yet).
template <reelflow::detail::FixedString File, reelflow::detail::FixedString Step, std::size_t N>
constexpr rf_step_type forwarding_step(const char* summary, std::uint32_t flags,
                                       const rf_option (&options)[N]) {
  using Callbacks = detail::Forwarder<File, Step>;
  rf_step_type type{};
  type.struct_size = static_cast<std::uint32_t>(sizeof(rf_step_type));
  type.name = Step.chars;
  type.summary = summary;
  type.flags = flags;
  type.options = options;
  type.option_count = N;
  type.create = &Callbacks::create;
  type.run = &Callbacks::run;
  type.cancel = &Callbacks::cancel;
  type.destroy = &Callbacks::destroy;
  return type;
}

}  // namespace reelflow::support

// The backend's exported entry; same contract as REELFLOW_PLUGIN.
#define REELFLOW_BACKEND(descriptor)                                                      \
  extern "C" RF_EXPORT const rf_plugin* reelflow_backend_entry(uint16_t host_major,       \
                                                               uint16_t /*host_minor*/) { \
    return host_major == RF_ABI_MAJOR ? &(descriptor) : nullptr;                          \
  }

#endif  // REELFLOW_PLUGINS_SUPPORT_BACKEND_HPP
