// The options every publisher's step type has (ABI 1.2): the host adds them in front of the
// publisher's own, so every platform is configured the same way in a workflow:
//
//   - uses: youtube.publish
//     with:
//       account: brand            # accounts.<name> in the daemon's configuration
//       video: ${{ steps.render.outputs.path }}
//       title: "..."              # and caption, tags, cover, link
//       publish_at: "2026-12-01 18:00"
//       time_zone: Europe/Berlin
//       privacy: public           # the publisher's own options follow
//
// Thread-safety: plain values.
#pragma once

#include <vector>

#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {

// The common options followed by `own` (the publisher's options).
std::vector<OptionSpec> publish_options(const std::vector<OptionSpec>& own);

}  // namespace reelflow::plugin_host
