// Durations as people write them in workflows: "500ms", "30s", "1m30s", "2h", "1d", or a bare
// number of seconds. Used for step timeouts, retry backoff, watch settle times and DURATION options.
#pragma once

#include <optional>
#include <string_view>

namespace reelflow {

// Seconds, or nullopt when the text is not a duration. Negative durations are not durations.
std::optional<double> parse_duration(std::string_view text);

}  // namespace reelflow
