// The registry the loader tests validate against: the wft test plugin, loaded once per process.
#pragma once

#include <gtest/gtest.h>

#include "plugin_host/registry.hpp"

namespace reelflow::workflow::testing {

inline const plugin_host::Registry& test_registry() {
  static const plugin_host::Registry* registry = [] {
    auto* loaded = new plugin_host::Registry();  // lives for the whole test process
    for (const auto& error : loaded->load_dir(WFT_PLUGIN_DIR)) {
      ADD_FAILURE() << "loading test plugins: " << error.message;
    }
    return loaded;
  }();
  return *registry;
}

}  // namespace reelflow::workflow::testing
