// video.probe: what a video file is, before anything decodes it.
#include "steps.hpp"

namespace reelflow::video {

Result<StepInput> read_input(const reelflow::Run& run, const char* step) {
  StepInput input;
  input.options = nlohmann::json::parse(run.options_json(), nullptr, false);
  input.context = nlohmann::json::parse(run.context_json(), nullptr, false);
  if (!input.options.is_object())
    return error(std::string(step) + ": the options are not an object");
  if (!input.context.is_object()) input.context = nlohmann::json::object();
  if (auto it = input.options.find("input"); it != input.options.end() && it->is_string()) {
    input.path = it->get<std::string>();
  } else if (auto trigger = input.context.find("trigger");
             trigger != input.context.end() && trigger->is_object() && trigger->contains("file") &&
             (*trigger)["file"].is_string()) {
    input.path = (*trigger)["file"].get<std::string>();
  }
  if (input.path.empty()) {
    return error(std::string(step) +
                 ": no input video: set the `input` option or start the run with a file "
                 "(trigger.file)");
  }
  return input;
}

rf_status Probe::run(reelflow::Run& run) {
  auto input = read_input(run, "video.probe");
  if (!input) return run.fail(input.error());
  auto info = probe(input->path);
  if (!info) return run.fail("video.probe: " + info.error());
  nlohmann::json out = {{"path", info->path},           {"container", info->container},
                        {"duration", info->duration},   {"bitrate", info->bitrate},
                        {"has_video", info->has_video}, {"has_audio", info->has_audio}};
  if (info->has_video) {
    out.update({{"video_codec", info->video_codec},
                {"profile", info->profile},
                {"pixel_format", info->pixel_format},
                {"bit_depth", info->bit_depth},
                {"width", info->width},
                {"height", info->height},
                {"rotation", info->rotation},
                {"display_width", info->display_width},
                {"display_height", info->display_height},
                {"display_aspect", info->display_aspect},
                {"avg_frame_rate", info->avg_frame_rate},
                {"real_frame_rate", info->real_frame_rate},
                {"vfr", info->vfr},
                {"color_transfer", info->color_transfer},
                {"color_primaries", info->color_primaries},
                {"hdr", info->hdr},
                {"frame_count", info->frame_count}});
  }
  if (info->has_audio) {
    out["audio"] = {{"codec", info->audio_codec},
                    {"sample_rate", info->sample_rate},
                    {"channels", info->channels}};
  } else {
    out["audio"] = nullptr;
  }
  if (!run.set_output(out.dump())) return run.fail("video.probe: the host refused the output");
  return RF_STATUS_OK;
}

}  // namespace reelflow::video
