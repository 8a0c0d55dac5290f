// Option tables of video.probe and video.extract, shared by the thin plugin (video.so) and the
// media backend (video.d/media.so). One table per step type drives validation, help and schema.
#ifndef REELFLOW_VIDEO_OPTIONS_HPP
#define REELFLOW_VIDEO_OPTIONS_HPP

#include <reelflow/plugin.hpp>

namespace reelflow::video {

namespace option = reelflow::option;
using reelflow::json_string;
using reelflow::no_default;

inline constexpr rf_option kProbeOptions[] = {
    option::path("input", no_default,
                 "Video to probe. Default: the file that triggered the run (trigger.file)."),
};

inline constexpr rf_option kExtractOptions[] = {
    option::path("input", no_default,
                 "Video to analyse. Default: the file that triggered the run (trigger.file)."),
    option::duration("target", json_string<"30s">, "Preferred length of each highlight clip.")
        .range(1, 600),
    option::duration("min", json_string<"10s">, "Shortest clip worth writing.").range(0.5, 600),
    option::duration("max", json_string<"60s">, "Longest clip allowed.").range(1, 3600),
    option::integer("count", "3", "How many clips to write, best first.").range(0, 50),
    option::integer("covers", "3", "How many cover JPEGs to write for the video.").range(0, 20),
    option::boolean("contact_sheet", "true",
                    "Write contact_sheet.png: the shots with their scores, the chosen clips and "
                    "covers."),
    option::boolean("keep_partial", "false",
                    "On corrupt data part-way through, keep what decoded before it (the output "
                    "says `truncated`) instead of failing the step."),
    option::integer("analysis_width", "256",
                    "Width in pixels of the small frames the analysis runs on.")
        .range(64, 1024),
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_OPTIONS_HPP
