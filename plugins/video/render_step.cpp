// video.render: the options of one run turned into a RenderRequest (render/pipeline), its
// progress forwarded to the host, and the result described as the step's output.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "render/pipeline/pipeline.hpp"
#include "steps.hpp"

namespace reelflow::video {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kStep = "video.render";

int even(double value) { return std::max(2, static_cast<int>(std::lround(value / 2)) * 2); }

// Width and height from the aspect ("9:16"), 1080 px on the short side.
void size_of_aspect(const std::string& aspect, int& width, int& height) {
  const auto colon = aspect.find(':');
  const double w = std::stod(aspect.substr(0, colon));
  const double h = std::stod(aspect.substr(colon + 1));
  if (w <= h) {
    width = 1080;
    height = even(1080 * h / w);
  } else {
    height = 1080;
    width = even(1080 * w / h);
  }
}

std::string text_option(const json& options, const char* name) {
  auto it = options.find(name);
  return it != options.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The sidecar captions next to the input: same stem, .srt or .ass.
std::string sidecar_of(const std::string& input) {
  for (const char* extension : {".srt", ".ass", ".SRT", ".ASS"}) {
    fs::path candidate(input);
    candidate.replace_extension(extension);
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return "";
}

}  // namespace

rf_status Render::run(reelflow::Run& run) {
  auto input = read_input(run, kStep);
  if (!input) return run.fail(input.error());
  const json& options = input->options;
  const std::string prefix = std::string(kStep) + ": ";

  RenderRequest request;
  request.input = input->path;
  // Platform, shape and size.
  const std::string preset_name = text_option(options, "preset");
  const PlatformPreset* preset = nullptr;
  if (!preset_name.empty()) {
    preset = find_preset(preset_name);
    if (preset == nullptr) return run.fail(prefix + "unknown preset '" + preset_name + "'");
    request.preset_name = preset_name;
    request.limits = preset->limits;
    request.safe = preset->safe;
    request.width = preset->width;
    request.height = preset->height;
  }
  const std::string aspect = text_option(options, "aspect");
  if (!aspect.empty() || preset == nullptr) {
    size_of_aspect(aspect.empty() ? "9:16" : aspect, request.width, request.height);
  }
  const double aspect_ratio = static_cast<double>(request.width) / request.height;
  const bool has_width = options.contains("width") && options["width"].is_number();
  const bool has_height = options.contains("height") && options["height"].is_number();
  if (has_width) request.width = options["width"].get<int>();
  if (has_height) request.height = options["height"].get<int>();
  if (has_width && !has_height) request.height = even(request.width / aspect_ratio);
  if (has_height && !has_width) request.width = even(request.height * aspect_ratio);
  if (request.width % 2 != 0 || request.height % 2 != 0) {
    return run.fail(prefix + "width and height must be even, not " + std::to_string(request.width) +
                    "x" + std::to_string(request.height));
  }
  if (options.contains("max_duration") && options["max_duration"].is_number()) {
    request.limits.max_duration = options["max_duration"].get<double>();
  }
  if (options.contains("max_file_size") && options["max_file_size"].is_number()) {
    request.limits.max_file_size = options["max_file_size"].get<std::int64_t>();
  }
  request.trim_to_limit = options.value("trim_to_limit", false);

  // Time.
  request.start = options.value("start", 0.0);
  request.end = options.value("end", 0.0);
  if (request.end > 0 && request.end <= request.start) {
    return run.fail(prefix + "end (" + std::to_string(request.end) + " s) is not after start (" +
                    std::to_string(request.start) + " s)");
  }
  request.speed = options.value("speed", 1.0);
  request.fade_in = options.value("fade_in", 0.0);
  request.fade_out = options.value("fade_out", 0.0);
  request.intro = text_option(options, "intro");
  request.outro = text_option(options, "outro");

  // Picture.
  request.reframe.mode = options.value("mode", std::string("fill"));
  request.reframe.background = options.value("background", std::string("blur"));
  request.colour.lut = text_option(options, "lut");
  request.colour.interpolation = options.value("lut_interpolation", std::string("tetrahedral"));
  request.colour.brightness = options.value("brightness", 0.0);
  request.colour.contrast = options.value("contrast", 1.0);
  request.colour.saturation = options.value("saturation", 1.0);
  request.logo.path = text_option(options, "logo");
  request.logo.position = options.value("logo_position", std::string("top-right"));
  request.logo.scale = options.value("logo_scale", 0.18);
  request.logo.margin = options.value("logo_margin", 0.04);
  request.logo.opacity = options.value("logo_opacity", 1.0);
  request.logo.start = options.value("logo_start", 0.0);
  request.logo.end = options.value("logo_end", -1.0);
  request.captions.sidecar = text_option(options, "captions");
  if (request.captions.sidecar.empty()) request.captions.sidecar = sidecar_of(request.input);
  if (const std::string text = text_option(options, "caption_text"); !text.empty()) {
    // Shown over the whole clip (source timeline; the overlay maps it onto the output).
    request.captions.cues.push_back({request.start, 1e9, text});
  }
  request.captions.style = options.value("caption_style", std::string("outline"));
  request.captions.title = text_option(options, "title");
  request.captions.title_duration = options.value("title_duration", 3.0);

  // Sound.
  request.audio.fade_in = request.fade_in;
  request.audio.fade_out = request.fade_out;
  request.audio.normalize = options.value("normalize", true);
  request.audio.target_lufs = options.value("loudness", -14.0);
  request.audio.true_peak_db = options.value("true_peak", -1.0);
  request.audio.music = text_option(options, "music");
  request.audio.music_gain_db = options.value("music_gain", -18.0);
  request.audio.duck_db = options.value("duck", -12.0);
  request.audio.when_missing = options.value("silent_audio", true) ? "silent" : "none";

  // Encoder and output.
  request.crf = options.value("crf", 20);
  request.x264_preset = options.value("x264_preset", std::string("veryfast"));
  request.output = text_option(options, "output");
  if (request.output.empty()) {
    const fs::path artifacts = run.artifact_dir();
    if (artifacts.empty()) return run.fail(prefix + "the host gave no artifact directory");
    std::string tag = preset_name;
    if (tag.empty()) tag = std::to_string(request.width) + "x" + std::to_string(request.height);
    request.output =
        (artifacts / (fs::path(request.input).stem().string() + "-" + tag + ".mp4")).string();
  }
  // Later steps (publish) get a path that does not depend on the worker's directory.
  std::error_code absolute_error;
  if (const fs::path absolute = fs::absolute(request.output, absolute_error); !absolute_error) {
    request.output = absolute.string();
  }
  request.progress = [&run](double fraction, const std::string& message) {
    run.progress(fraction, message);
  };
  request.cancelled = [&run] { return run.cancelled(); };
  request.warn = [&run, &prefix](const std::string& message) { run.warn(prefix + message); };

  auto rendered = render(request);
  if (!rendered) return run.fail(prefix + rendered.error());
  if (rendered->cancelled) return RF_STATUS_CANCELLED;
  json audio = {{"present", rendered->audio_present}};
  if (rendered->audio_present) {
    audio["lufs"] = rendered->audio_lufs;
    audio["true_peak"] = rendered->audio_true_peak;
  }
  const json output = {{"path", rendered->path},
                       {"input", request.input},
                       {"width", rendered->width},
                       {"height", rendered->height},
                       {"duration", rendered->duration},
                       {"fps", rendered->fps},
                       {"frames", rendered->frames},
                       {"preset", preset_name.empty() ? json(nullptr) : json(preset_name)},
                       {"audio", audio},
                       {"size_bytes", rendered->size_bytes},
                       {"trimmed", rendered->trimmed},
                       {"tonemap", rendered->tonemap},
                       {"limits", rendered->checked}};
  run.info(prefix + "'" + request.input + "' -> '" + rendered->path +
           "': " + std::to_string(rendered->frames) + " frames, " +
           std::to_string(rendered->duration) + " s");
  if (!run.set_output(output.dump())) return run.fail(prefix + "the host refused the output");
  return RF_STATUS_OK;
}

}  // namespace reelflow::video
