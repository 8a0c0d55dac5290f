// Writing an encoded image to disk without leaving a partial file behind.
//
// Thread-safety: safe from any thread (for different paths).
#ifndef REELFLOW_VIDEO_FEATURES_FILE_OUTPUT_HPP
#define REELFLOW_VIDEO_FEATURES_FILE_OUTPUT_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

// Writes `bytes` to `path` + ".tmp" and renames it to `path`. On failure nothing is left at
// either name, and the error starts with "cannot write <what> '<path>'".
Result<void> write_file_atomically(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                   const std::string& what);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_FILE_OUTPUT_HPP
