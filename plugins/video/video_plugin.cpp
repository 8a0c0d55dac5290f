// video: the thin half of the video plugin. It declares the step types and their option tables
// and forwards every call to a backend loaded on first use (plugins/support/backend.hpp), so
// that loading video.so in the daemon maps neither FFmpeg, OpenCV nor LibTorch.
#include <reelflow/plugin.hpp>

#include "options.hpp"
#include "render_options.hpp"
#include "score/score_options.hpp"
#include "support/backend.hpp"

namespace {

using reelflow::support::forwarding_step;
namespace video = reelflow::video;

constexpr rf_step_type kStepTypes[] = {
    forwarding_step<"video.d/media.so", "video.probe">(
        "Read a video's container, streams, rotation, frame rate and HDR facts", RF_STEP_RERUN_SAFE,
        video::kProbeOptions),
    forwarding_step<"video.d/media.so", "video.extract">(
        "Find shots, measure quality, cut ranked highlight clips and choose covers",
        RF_STEP_RERUN_SAFE, video::kExtractOptions),
    forwarding_step<"video.d/media.so", "video.render">(
        "Render a platform-ready MP4: reframe, grade, logo, captions, fades, speed, loudness",
        RF_STEP_RERUN_SAFE, video::kRenderOptions),
    forwarding_step<"video.d/score.so", "video.score">(
        "Score clips 0..1 for engagement with a small LibTorch model", RF_STEP_RERUN_SAFE,
        video::kScoreOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin({.name = "video",
                                                .version = "0.1.0",
                                                .license = "Apache-2.0",
                                                .summary = "Probe, extract and score videos"},
                                               kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
