// What a publisher needs to know of the video without decoding it: duration and display size,
// read from an MP4/MOV file's `moov` box (mvhd: timescale and duration; the first video track's
// tkhd: width and height, swapped when its matrix rotates by 90 or 270 degrees). The daemon does
// not link FFmpeg, and this is all platforms' rules ask about. Thread-safety: pure function.
#pragma once

#include <filesystem>
#include <optional>

namespace reelflow::plugin_host {

struct Mp4Info {
  double duration_seconds = 0;
  int width = 0;   // as displayed (after rotation); 0 when no video track was found
  int height = 0;
};

// nullopt for a file that is not an MP4/MOV or whose moov cannot be read.
std::optional<Mp4Info> read_mp4_info(const std::filesystem::path& file);

}  // namespace reelflow::plugin_host
