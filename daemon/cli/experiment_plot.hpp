// `reelflow optimize show NAME --plot FILE.png`: each arm's posterior over time as a PNG a
// marketer can read at a glance: the posterior mean as a line and its 95 % credible interval as
// a shaded band per arm, by day (or by decision count when every decision falls within two
// days), with a legend naming the arms and their probability of being best, axis labels and a
// title.
//
// Drawn without a graphics library (the CLI stays light: no OpenCV to load for every command):
// an RGB canvas with anti-aliased lines and translucent bands, written as PNG through zlib. The
// text goes through FreeType with Noto Sans CJK (plot_text.hpp), so Chinese arm and experiment
// names show as written; without that font, a built-in 5x7 pixel font (ASCII; other characters
// as '?') and one warning saying why.
//
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/plot_text.hpp"
#include "common/result.hpp"

namespace reelflow::cli {

struct PlotOptions {
  // The font the text is drawn with (a .ttc: its Simplified Chinese face).
  std::filesystem::path font = kPlotFontFile;
  // Told, once per plot, why the text falls back to the pixel font. Empty: a line on stderr,
  // "reelflow optimize: warning: the plot's text uses the built-in ASCII font ...: font ... not
  // found; install fonts-noto-cjk".
  std::function<void(const std::string& warning)> warn;
};

// `experiment` is GET /v1/experiments/<name> (optimize/experiments.hpp). The error names the
// file when it cannot be written.
Result<void> plot_experiment(const nlohmann::json& experiment, const std::filesystem::path& file,
                             const PlotOptions& options = {});

}  // namespace reelflow::cli
