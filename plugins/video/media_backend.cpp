// video.d/media.so: the FFmpeg + OpenCV half of the video plugin (see video_plugin.cpp).
#include <reelflow/plugin.hpp>

#include "options.hpp"
#include "render_options.hpp"
#include "steps.hpp"
#include "support/backend.hpp"

namespace {

namespace video = reelflow::video;

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<video::Probe>(
        {.name = "video.probe", .summary = "Probe a video", .flags = RF_STEP_RERUN_SAFE},
        video::kProbeOptions),
    reelflow::step_type<video::Extract>(
        {.name = "video.extract", .summary = "Extract clips", .flags = RF_STEP_RERUN_SAFE},
        video::kExtractOptions),
    reelflow::step_type<video::Render>(
        {.name = "video.render", .summary = "Render a video", .flags = RF_STEP_RERUN_SAFE},
        video::kRenderOptions),
};

constexpr rf_plugin kBackend = reelflow::plugin(
    {.name = "video", .version = "0.1.0", .license = "Apache-2.0", .summary = "media backend"},
    kStepTypes);

}  // namespace

REELFLOW_BACKEND(kBackend)
