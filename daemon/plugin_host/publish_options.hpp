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

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {

// The common options followed by `own` (the publisher's options).
std::vector<OptionSpec> publish_options(const std::vector<OptionSpec>& own);

// A publisher step's account as its secret `account.<account_name>` holds it (`secret`: the
// secret's text, nullopt when no such secret is set), with its `options` checked and normalized
// against the publisher's account options. The error says what is wrong: not configured (and what
// to put in the secret), not a JSON object, an account of another platform, a bad option. The
// publishing driver and `reelflowd --check` both use it.
Result<nlohmann::json> account_from_secret(const StepTypeInfo& step_type,
                                           const std::string& account_name,
                                           const std::optional<std::string>& secret);

}  // namespace reelflow::plugin_host
