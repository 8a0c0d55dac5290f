// `reelflow optimize show NAME --plot FILE.png`: each arm's posterior over time as a PNG a
// marketer can read at a glance: the posterior mean as a line and its 95 % credible interval as
// a shaded band per arm, by day (or by decision count when every decision falls within two
// days), with a legend naming the arms and their probability of being best, axis labels and a
// title.
//
// Drawn without a graphics library (the CLI stays light: no OpenCV or fonts to load for every
// command): an RGB canvas with anti-aliased lines and translucent bands, a built-in 5x7 pixel
// font (ASCII; other characters are drawn as '?'), written as PNG through zlib.
//
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace reelflow::cli {

// `experiment` is GET /v1/experiments/<name> (optimize/experiments.hpp). The error names the
// file when it cannot be written.
Result<void> plot_experiment(const nlohmann::json& experiment, const std::filesystem::path& file);

}  // namespace reelflow::cli
