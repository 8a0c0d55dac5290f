// The render pipeline of video.render: decode each source (intro, the clip, outro) at full
// resolution in display orientation (source.hpp), reframe it to the output format (a Framer per
// source), grade, overlay the logo and captions, fade, encode H.264 High + AAC-LC into a faststart
// MP4 (mp4_writer.hpp), with the audio track made by render_audio() on the same timeline.
//
// Time: the clip's [start, end) source seconds play at `speed`; the output timeline is intro,
// clip, outro one after the other, each filling exactly its video duration, and the audio
// segments are given those same durations, so A/V stay in sync across segments, speed changes
// and variable frame rates (frame times are retimed, never resampled to a fixed rate). Frame rates
// above max_fps are reduced by dropping frames evenly.
//
// Limits (platform presets, presets.hpp): the output duration and frame rate are checked before
// anything is encoded (failing with the limit's name and value, or trimming the clip's end when
// trim_to_limit is set); the file size after encoding.
//
// Thread-safety: render() shares no state; its callbacks run on the calling thread.
#ifndef REELFLOW_VIDEO_RENDER_PIPELINE_PIPELINE_HPP
#define REELFLOW_VIDEO_RENDER_PIPELINE_PIPELINE_HPP

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "media/frame.hpp"
#include "render/audio/audio_track.hpp"
#include "render/colour/grade.hpp"
#include "render/overlay/overlay.hpp"
#include "render/pipeline/presets.hpp"
#include "render/reframe/framer.hpp"

namespace reelflow::video {

struct RenderRequest {
  std::string input;   // the clip
  double start = 0;    // source seconds
  double end = 0;      // source seconds; 0: to the end
  double speed = 1.0;  // 0.5 .. 2
  std::string intro;   // optional clips before and after, played whole at speed 1
  std::string outro;
  std::string output;  // .mp4 path

  int width = 1080;  // output size, even
  int height = 1920;
  ReframeOptions reframe;
  ColourOptions colour;
  LogoOptions logo;         // path "" for none
  CaptionOptions captions;  // timeline is set by render()
  AudioOptions audio;       // segments are set by render()
  double fade_in = 0;       // seconds of output, video to and from black (audio: AudioOptions)
  double fade_out = 0;

  std::string preset_name;  // for messages, "" none
  PlatformLimits limits;    // max_fps is always capped at 60
  SafeMargins safe;
  bool trim_to_limit = false;

  int crf = 20;
  std::string x264_preset = "veryfast";
  int threads = 2;  // decoder threads; x264 picks its own

  std::function<void(double fraction, const std::string& message)> progress;  // may be empty
  std::function<bool()> cancelled;                                            // may be empty
  std::function<void(const std::string& message)> warn;                       // may be empty
};

struct RenderResult {
  std::string path;
  int width = 0;
  int height = 0;
  double duration = 0;  // seconds of output
  double fps = 0;       // nominal output frame rate (the clip's, capped)
  std::int64_t frames = 0;
  std::int64_t size_bytes = 0;
  bool trimmed = false;  // the clip's end was moved to fit max_duration
  bool cancelled = false;
  bool audio_present = false;
  double audio_lufs = 0;
  double audio_true_peak = 0;
  std::string tonemap;               // "", "pq" or "hlg"
  std::vector<std::string> checked;  // the limits checked, e.g. "max_duration 180 s: 12.0 s"
};

Result<RenderResult> render(const RenderRequest& request);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_PIPELINE_PIPELINE_HPP
