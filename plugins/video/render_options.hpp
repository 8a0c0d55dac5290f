// Option table of video.render, shared by the thin plugin (video.so) and the media backend
// (video.d/media.so). Flat on purpose: every effect is one or a few options (README.md).
#ifndef REELFLOW_VIDEO_RENDER_OPTIONS_HPP
#define REELFLOW_VIDEO_RENDER_OPTIONS_HPP

#include <reelflow/plugin.hpp>

#include "options.hpp"

namespace reelflow::video {

namespace render_option_values {
inline constexpr const char* kPresets[] = {"douyin",          "kuaishou",       "wechat-channels",
                                           "tiktok",          "youtube-shorts", "bilibili",
                                           "instagram-reels", "xiaohongshu",    nullptr};
inline constexpr const char* kAspects[] = {"9:16", "1:1", "4:5", "16:9", nullptr};
inline constexpr const char* kModes[] = {"fill", "fit", "center", nullptr};
inline constexpr const char* kInterpolations[] = {"tetrahedral", "trilinear", nullptr};
inline constexpr const char* kLogoPositions[] = {"top-right",   "top-left", "bottom-right",
                                                 "bottom-left", "center",   nullptr};
inline constexpr const char* kCaptionStyles[] = {"outline", "box", nullptr};
inline constexpr const char* kX264Presets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                               "fast",      "medium",    "slow",     nullptr};
}  // namespace render_option_values

inline constexpr rf_option kRenderOptions[] = {
    option::path("input", no_default,
                 "Video to render. Default: the file that triggered the run (trigger.file). For "
                 "video.extract's clips: `for_each: ${{ steps.extract.outputs.clips }}` with "
                 "`input: ${{ steps.extract.outputs.input }}`, `start: ${{ item.start }}`, "
                 "`end: ${{ item.end }}` (one encode from the source, its captions sidecar "
                 "found), or `input: ${{ item.path }}`."),
    option::enumeration("preset", render_option_values::kPresets, no_default,
                        "Platform: its resolution, frame-rate range, duration and file-size "
                        "limits and UI safe area. Without one: no limits, 5 % margins."),
    option::enumeration("aspect", render_option_values::kAspects, no_default,
                        "Output shape, 1080 px on the short side. Default: the preset's, else "
                        "9:16."),
    option::integer("width", no_default, "Output width in pixels (even); overrides the aspect's.")
        .range(16, 4096),
    option::integer("height", no_default, "Output height in pixels (even); overrides the aspect's.")
        .range(16, 4096),
    option::enumeration("mode", render_option_values::kModes, json_string<"fill">,
                        "fill: crop window that follows faces and motion; fit: whole frame over "
                        "a background; center: centred crop."),
    option::string("background", json_string<"blur">,
                   "Background for mode fit: `blur` or a colour `#RRGGBB`."),
    option::duration("start", "0", "Where to start in the input.").range(0, 86400),
    option::duration("end", no_default, "Where to end in the input. Default: its end.")
        .range(0, 86400),
    option::number("speed", "1", "Playback speed; audio keeps its pitch.").range(0.5, 2),
    option::duration("fade_in", "0", "Fade in from black (and audio from silence).").range(0, 10),
    option::duration("fade_out", "0", "Fade out to black (and audio to silence).").range(0, 10),
    option::path("intro", no_default, "Clip played before, scaled to the output format."),
    option::path("outro", no_default, "Clip played after, scaled to the output format."),
    option::path("lut", no_default, "A .cube 3D LUT (up to 65 points per side)."),
    option::enumeration("lut_interpolation", render_option_values::kInterpolations,
                        json_string<"tetrahedral">, "How the LUT is interpolated."),
    option::number("brightness", "0", "Added to luma; 1 is the full range.").range(-1, 1),
    option::number("contrast", "1", "Around mid grey; 1 leaves it.").range(0, 3),
    option::number("saturation", "1", "0 is grey; 1 leaves it.").range(0, 3),
    option::path("logo", no_default, "PNG logo or watermark (alpha honoured)."),
    option::enumeration("logo_position", render_option_values::kLogoPositions,
                        json_string<"top-right">, "Corner (inside the safe area) or centre."),
    option::number("logo_scale", "0.18", "Logo width as a fraction of the output width.")
        .range(0.01, 1),
    option::number("logo_margin", "0.04",
                   "Distance from the safe area's edge, as a fraction of the output width.")
        .range(0, 0.5),
    option::number("logo_opacity", "1", "0 transparent .. 1 opaque.").range(0, 1),
    option::duration("logo_start", "0", "When the logo appears, output seconds.").range(0, 86400),
    option::duration("logo_end", no_default,
                     "When the logo goes, output seconds. Default: the end.")
        .range(0, 86400),
    option::path("captions", no_default,
                 "SRT or ASS captions. Default: the input's name with .srt or .ass, if present."),
    option::string("caption_text", no_default,
                   "Caption text shown over the whole clip (when there is no sidecar); \\n "
                   "breaks a line."),
    option::enumeration("caption_style", render_option_values::kCaptionStyles,
                        json_string<"outline">, "Captions with an outline or on a box."),
    option::string("title", no_default,
                   "Title card text over the first seconds, at the top of the safe area (below "
                   "the logo when the logo would be in its way)."),
    option::duration("title_duration", "3", "How long the title card shows.").range(0, 60),
    option::number("loudness", "-14", "Integrated loudness target, LUFS (EBU R128).")
        .range(-40, -5),
    option::number("true_peak", "-1", "True-peak ceiling, dBTP.").range(-9, 0),
    option::boolean("normalize", "true", "Normalise the loudness to `loudness`."),
    option::path("music", no_default, "Background music, looped under the voice."),
    option::number("music_gain", "-18", "Music level in dB before ducking.").range(-60, 0),
    option::number("duck", "-12", "How far the music drops while someone speaks, dB.")
        .range(-60, 0),
    option::boolean("silent_audio", "true",
                    "Input without audio: write a silent AAC track (true) or no audio (false)."),
    option::integer("crf", "20", "x264 quality: lower is better and bigger.").range(0, 51),
    option::enumeration("x264_preset", render_option_values::kX264Presets, json_string<"veryfast">,
                        "x264 speed/size trade-off."),
    option::duration("max_duration", no_default,
                     "Longest output allowed; overrides the preset's limit.")
        .range(0.1, 86400),
    option::integer("max_file_size", no_default,
                    "Largest output file in bytes; overrides the preset's limit.")
        .range(1000, 1e12),
    option::boolean("trim_to_limit", "false",
                    "Over the duration limit: cut the clip's end to fit instead of failing."),
    option::path("output", no_default,
                 "Output .mp4. Default: <artifacts>/<input name>-<preset or aspect>.mp4."),
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_OPTIONS_HPP
