// The step classes of the media backend (video.d/media.so): video.probe, video.extract and
// video.render.
// Each run reads its options and context as JSON and writes its output object; one instance
// serves runs one at a time (plugin.h threading contract).
#ifndef REELFLOW_VIDEO_STEPS_HPP
#define REELFLOW_VIDEO_STEPS_HPP

#include <nlohmann/json.hpp>
#include <reelflow/plugin.hpp>
#include <string>

#include "media/decoder.hpp"

namespace reelflow::video {

// The options and context of a run, parsed; the `input` option or else trigger.file.
struct StepInput {
  nlohmann::json options;
  nlohmann::json context;
  std::string path;
};
Result<StepInput> read_input(const reelflow::Run& run, const char* step);

class Probe {
 public:
  rf_status run(reelflow::Run& run);
};

class Extract {
 public:
  rf_status run(reelflow::Run& run);
};

class Render {
 public:
  rf_status run(reelflow::Run& run);
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_STEPS_HPP
