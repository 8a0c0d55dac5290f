// The registries the loader tests validate against, each loaded once per process: wft and the
// real watch plugin; and, for the tests of plugin triggers, those plus wftrig.
#pragma once

#include <gtest/gtest.h>

#include "plugin_host/registry.hpp"

namespace reelflow::workflow::testing {

inline plugin_host::Registry* load_test_plugins(bool with_trigger_plugin) {
  auto* loaded = new plugin_host::Registry();  // lives for the whole test process
  for (const auto& error : loaded->load_dir(WFT_PLUGIN_DIR)) {
    ADD_FAILURE() << "loading test plugins: " << error.message;
  }
  if (auto watch = loaded->load_file(WATCH_PLUGIN_PATH); !watch) {
    ADD_FAILURE() << "loading the watch plugin: " << watch.error().message;
  }
  if (with_trigger_plugin) {
    for (const auto& error : loaded->load_dir(WFTRIG_PLUGIN_DIR)) {
      ADD_FAILURE() << "loading test plugins: " << error.message;
    }
  }
  return loaded;
}

inline const plugin_host::Registry& test_registry() {
  static const plugin_host::Registry* registry = load_test_plugins(false);
  return *registry;
}

inline const plugin_host::Registry& trigger_test_registry() {
  static const plugin_host::Registry* registry = load_test_plugins(true);
  return *registry;
}

}  // namespace reelflow::workflow::testing
