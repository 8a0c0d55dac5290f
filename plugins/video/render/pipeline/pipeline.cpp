#include "render/pipeline/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>

#include "render/pipeline/mp4_writer.hpp"
#include "render/pipeline/source.hpp"

namespace reelflow::video {

namespace {

namespace fs = std::filesystem;

constexpr double kMaxFrameRate = 60;
constexpr double kEpsilon = 1e-6;

struct Segment {
  std::unique_ptr<SourceReader> reader;
  double start = 0;  // source seconds
  double end = 0;    // source seconds
  double speed = 1.0;
  double offset = 0;  // output seconds where it starts
  bool clip = false;  // the main clip (intro and outro are not)

  double duration() const { return (end - start) / speed; }
};

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}

std::string fps_text(double fps) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g fps", fps);
  return text;
}

std::string bytes_text(std::int64_t bytes) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f MB (%lld bytes)", static_cast<double>(bytes) / 1e6,
                static_cast<long long>(bytes));
  return text;
}

// Fades a limited-range frame towards black: factor 1 leaves it, 0 makes it black.
void fade_to_black(Yuv420& frame, double factor) {
  const int scale = static_cast<int>(std::lround(std::clamp(factor, 0.0, 1.0) * 256));
  if (scale >= 256) return;
  for (int y = 0; y < frame.height; ++y) {
    std::uint8_t* row = frame.row(0, y);
    for (int x = 0; x < frame.width; ++x)
      row[x] = static_cast<std::uint8_t>(16 + (((row[x] - 16) * scale) >> 8));
  }
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < frame.height / 2; ++y) {
      std::uint8_t* row = frame.row(p, y);
      for (int x = 0; x < frame.width / 2; ++x) {
        row[x] = static_cast<std::uint8_t>(128 + (((row[x] - 128) * scale) / 256));
      }
    }
  }
}

Result<Segment> open_segment(const std::string& path, double start, double end, double speed,
                             bool clip, int threads) {
  auto reader = SourceReader::open(path, threads);
  if (!reader) return tl::unexpected(reader.error());
  Segment segment;
  const double length = (*reader)->info().duration;
  segment.start = std::max(0.0, start);
  segment.end = end > 0 && (length <= 0 || end < length) ? end : length;
  segment.speed = speed;
  segment.clip = clip;
  if (segment.end <= 0) return error("'" + path + "': its length is unknown");
  if (segment.start >= segment.end) {
    return error("start " + seconds_text(segment.start) + " is not before the end (" +
                 seconds_text(segment.end) + ") of '" + path + "'");
  }
  segment.reader = std::move(*reader);
  return segment;
}

}  // namespace

Result<RenderResult> render(const RenderRequest& request) {
  if (request.speed < 0.5 - kEpsilon || request.speed > 2.0 + kEpsilon) {
    return error("speed " + std::to_string(request.speed) + " is outside 0.5 .. 2");
  }
  if (request.width < 2 || request.height < 2 || request.width % 2 || request.height % 2) {
    return error("the output size " + std::to_string(request.width) + "x" +
                 std::to_string(request.height) + " must be even");
  }
  if (request.output.empty()) return error("no output path");
  const std::string limit_owner =
      request.preset_name.empty() ? std::string("the") : request.preset_name + "'s";

  // Sources, in output order.
  std::vector<Segment> segments;
  if (!request.intro.empty()) {
    auto intro = open_segment(request.intro, 0, 0, 1.0, false, request.threads);
    if (!intro) return error("intro: " + intro.error());
    segments.push_back(std::move(*intro));
  }
  auto clip =
      open_segment(request.input, request.start, request.end, request.speed, true, request.threads);
  if (!clip) return tl::unexpected(clip.error());
  segments.push_back(std::move(*clip));
  const std::size_t clip_index = segments.size() - 1;
  if (!request.outro.empty()) {
    auto outro = open_segment(request.outro, 0, 0, 1.0, false, request.threads);
    if (!outro) return error("outro: " + outro.error());
    segments.push_back(std::move(*outro));
  }
  const SourceInfo& clip_info = segments[clip_index].reader->info();

  RenderResult result;
  // Frame rate: the clip's (retimed by the speed), at most 60 and the platform's maximum.
  const double max_fps =
      std::min(kMaxFrameRate, request.limits.max_fps > 0 ? request.limits.max_fps : kMaxFrameRate);
  const double clip_fps = clip_info.frame_rate > 0 ? clip_info.frame_rate : 30;
  result.fps = std::min(clip_fps * request.speed, max_fps);
  int clip_repeat = 1;
  if (request.limits.min_fps > 0) {
    // Below the platform's minimum (a 15 fps screen recording, or slow motion): each frame is
    // shown 2, 3 or 4 times, as FFmpeg's fps filter would; the motion stays what it was.
    while (result.fps * clip_repeat < request.limits.min_fps - 0.01 && clip_repeat < 4) {
      ++clip_repeat;
    }
    if (result.fps * clip_repeat < request.limits.min_fps - 0.01) {
      return error("frame rate " + fps_text(clip_fps) + " of '" + request.input + "' is below " +
                   limit_owner + " min_fps limit of " + fps_text(request.limits.min_fps) +
                   " even with each frame shown 4 times");
    }
    if (clip_repeat > 1 && request.warn) {
      request.warn("'" + request.input + "' plays at " + fps_text(result.fps) + "; each frame is " +
                   "shown " + std::to_string(clip_repeat) + " times to meet " + limit_owner +
                   " min_fps of " + fps_text(request.limits.min_fps));
    }
    result.fps *= clip_repeat;
    result.checked.push_back("min_fps " + fps_text(request.limits.min_fps) + ": " +
                             fps_text(result.fps));
  }
  result.checked.push_back("max_fps " + fps_text(max_fps) + ": " + fps_text(result.fps));

  // Duration: checked (or the clip trimmed) before anything is encoded.
  const auto total_duration = [&] {
    double total = 0;
    for (const Segment& s : segments) total += s.duration();
    return total;
  };
  if (request.limits.max_duration > 0) {
    const double total = total_duration();
    const double excess = total - request.limits.max_duration;
    if (excess > 1e-3) {
      Segment& main = segments[clip_index];
      if (!request.trim_to_limit) {
        return error("duration " + seconds_text(total) + " is over " + limit_owner +
                     " max_duration limit of " + seconds_text(request.limits.max_duration) +
                     " (set trim_to_limit to cut the clip's end)");
      }
      if (main.duration() - excess < 0.1) {
        return error("duration " + seconds_text(total) + " is over " + limit_owner +
                     " max_duration limit of " + seconds_text(request.limits.max_duration) +
                     " and the intro and outro alone leave no room for the clip");
      }
      main.end -= excess * main.speed;
      result.trimmed = true;
    }
    result.checked.push_back("max_duration " + seconds_text(request.limits.max_duration) + ": " +
                             seconds_text(total_duration()));
  }
  double offset = 0;
  for (Segment& s : segments) {
    s.offset = offset;
    offset += s.duration();
  }
  const double total = offset;

  // Effects, made once for the output format (before the slow parts: a bad LUT, logo or
  // sidecar fails at once).
  auto grade = ColourGrade::create(request.colour);
  if (!grade) return error(grade.error());
  const Rect safe_area = request.safe.rect(request.width, request.height);
  std::optional<Logo> logo;
  std::optional<Captions> captions;
  if (!request.logo.path.empty()) {
    auto loaded = Logo::load(request.logo, request.width, request.height, safe_area);
    if (!loaded) return error(loaded.error());
    logo.emplace(std::move(*loaded));
  }
  {
    CaptionOptions caption_options = request.captions;
    caption_options.timeline = {segments[clip_index].start, segments[clip_index].speed,
                                segments[clip_index].offset};
    // The title card and captions are laid out clear of the logo while it shows.
    if (logo && request.logo.opacity > 0)
      caption_options.keep_clear.push_back({logo->placed(), request.logo.start, request.logo.end});
    auto made = Captions::create(caption_options, request.width, request.height, safe_area);
    if (!made) return error(made.error());
    if (!made->empty()) captions.emplace(std::move(*made));
  }

  // Audio: one PCM track with each segment filling exactly its video duration.
  AudioOptions audio_options = request.audio;
  audio_options.segments.clear();
  for (const Segment& s : segments) {
    audio_options.segments.push_back(
        {s.reader->info().path, s.start, s.end, s.speed, s.duration()});
  }
  audio_options.sample_rate = 48000;
  if (request.progress) request.progress(0.0, "audio and reframing plan");
  // The audio and the fill plans each read their sources once before the first frame: in
  // parallel.
  auto audio_job =
      std::async(std::launch::async, [&audio_options] { return render_audio(audio_options); });
  std::vector<CropPath> crop_paths(segments.size());
  if (request.reframe.mode == "fill") {
    for (std::size_t i = 0; i < segments.size(); ++i) {
      auto planned = plan_crop(segments[i].reader->info().path, segments[i].start, segments[i].end,
                               request.width, request.height, request.reframe);
      if (!planned) return error("reframe: " + planned.error());
      crop_paths[i] = std::move(*planned);
    }
  }
  auto audio = audio_job.get();
  if (!audio) return error("audio: " + audio.error());
  result.audio_present = audio->present;
  result.audio_lufs = audio->output_lufs;
  result.audio_true_peak = audio->output_true_peak_db;
  const int channels = std::max(1, audio->channels);
  const std::int64_t audio_total = static_cast<std::int64_t>(audio->samples.size()) / channels;

  // The output.
  std::error_code ec;
  const fs::path output_path(request.output);
  if (output_path.has_parent_path()) fs::create_directories(output_path.parent_path(), ec);
  EncoderSettings settings;
  settings.width = request.width;
  settings.height = request.height;
  settings.frame_rate = result.fps;
  settings.max_frame_rate = max_fps;
  settings.crf = request.crf;
  settings.x264_preset = request.x264_preset;
  settings.audio = audio->present;
  settings.sample_rate = audio->sample_rate;
  settings.channels = channels;
  auto writer = Mp4Writer::open(request.output, settings);
  if (!writer) return tl::unexpected(writer.error());

  std::int64_t audio_done = 0;
  const auto audio_until = [&](double time) -> Result<void> {
    if (!audio->present) return {};
    const std::int64_t until =
        std::min(audio_total, static_cast<std::int64_t>(std::llround(time * audio->sample_rate)));
    if (until <= audio_done) return {};
    auto wrote =
        (*writer)->write_audio(audio->samples.data() + audio_done * channels, until - audio_done);
    audio_done = until;
    return wrote;
  };

  double expected_frames = 0;
  for (const Segment& s : segments) {
    const double fps = s.reader->info().frame_rate > 0 ? s.reader->info().frame_rate : 30;
    expected_frames += s.duration() * std::min(fps * s.speed, max_fps);
  }
  const auto expected = std::max<std::int64_t>(1, std::llround(expected_frames));
  const std::int64_t progress_step = std::max<std::int64_t>(1, expected / 200);

  std::int64_t last_slot = -1;
  std::int64_t frames = 0;
  for (std::size_t index = 0; index < segments.size(); ++index) {
    Segment& segment = segments[index];
    const SourceInfo& info = segment.reader->info();
    Framer framer(request.reframe, info.width, info.height, request.width, request.height,
                  std::move(crop_paths[index]));
    if (segment.start > 0) {
      if (auto sought = segment.reader->seek(segment.start); !sought) {
        return tl::unexpected(sought.error());
      }
    }
    const double segment_end = segment.offset + segment.duration();
    double last_source_end = segment.start;
    SourceFrame frame;
    // Bounded by the source's length: next() ends at the end of the stream.
    while (true) {
      if (request.cancelled && request.cancelled()) {
        result.cancelled = true;
        return result;
      }
      auto got = segment.reader->next(frame);
      if (!got) return tl::unexpected(got.error());
      if (!*got) break;
      if (frame.time + frame.duration <= segment.start + kEpsilon) continue;  // before the start
      if (frame.time >= segment.end - kEpsilon) break;
      last_source_end = frame.time + frame.duration;
      if (frame.picture.width != info.width || frame.picture.height != info.height) {
        return error("'" + info.path + "': the picture size changes mid-stream (" +
                     std::to_string(info.width) + "x" + std::to_string(info.height) + " to " +
                     std::to_string(frame.picture.width) + "x" +
                     std::to_string(frame.picture.height) + " at " + seconds_text(frame.time) +
                     "); re-encode it first");
      }
      const double out_time =
          segment.offset + std::max(0.0, frame.time - segment.start) / segment.speed;
      const auto slot = static_cast<std::int64_t>(std::floor(out_time * max_fps + 1e-6));
      if (slot <= last_slot) continue;  // above the frame-rate cap: dropped evenly
      last_slot = slot;
      // Until the next frame, or the next slot when frames are being dropped (matters for the
      // last frame: the muxer takes the others' durations from the timestamps).
      const double duration =
          std::max(1e-4, std::min(std::max(frame.duration / segment.speed,
                                           static_cast<double>(slot + 1) / max_fps - out_time),
                                  segment_end - out_time));
      // Slowed down below the platform's minimum rate: each frame is shown `repeat` times.
      const int repeat = segment.clip ? clip_repeat : 1;
      for (int copy = 0; copy < repeat; ++copy) {
        const double time = out_time + duration * copy / repeat;
        auto canvas = (*writer)->canvas();  // drawn in place: no copy into the encoder
        if (!canvas) return tl::unexpected(canvas.error());
        framer.frame(frame.picture, frame.time, *canvas);
        if (!grade->identity()) grade->apply(*canvas);
        if (logo) logo->apply(*canvas, time);
        if (captions) captions->apply(*canvas, time);
        double fade = 1.0;
        if (request.fade_in > 0) fade = std::min(fade, time / request.fade_in);
        if (request.fade_out > 0) fade = std::min(fade, (total - time) / request.fade_out);
        if (fade < 1.0) fade_to_black(*canvas, fade);
        if (auto wrote = (*writer)->write_video(*canvas, time, duration / repeat); !wrote) {
          return tl::unexpected(wrote.error());
        }
      }
      if (auto wrote = audio_until(out_time + 0.5); !wrote) return tl::unexpected(wrote.error());
      ++frames;
      if (request.progress && frames % progress_step == 0) {
        request.progress(
            std::min(0.99, static_cast<double>(frames) / static_cast<double>(expected)),
            "frame " + std::to_string(frames) + "/" + std::to_string(expected));
      }
    }
    // A source cut short would freeze on its last frame: fail like video.extract does.
    if (last_source_end < segment.end - std::max(0.5, 0.02 * segment.end)) {
      return error("'" + info.path + "' is corrupt or truncated: its video ends at " +
                   seconds_text(last_source_end) + " but its header says " +
                   seconds_text(segment.end));
    }
    if (info.hdr && result.tonemap.empty()) result.tonemap = segment.reader->tonemap();
  }
  if (frames == 0) return error("'" + request.input + "': no video frame in the range");
  if (auto wrote = audio_until(total + 1.0); !wrote) return tl::unexpected(wrote.error());
  if (auto finished = (*writer)->finish(); !finished) return tl::unexpected(finished.error());

  result.path = request.output;
  result.width = request.width;
  result.height = request.height;
  result.duration = total;
  result.frames = (*writer)->video_frames();
  result.size_bytes = static_cast<std::int64_t>(fs::file_size(request.output, ec));
  if (request.limits.max_file_size > 0) {
    if (result.size_bytes > request.limits.max_file_size) {
      fs::remove(request.output, ec);
      return error("file size " + bytes_text(result.size_bytes) + " is over " + limit_owner +
                   " max_file_size limit of " + bytes_text(request.limits.max_file_size) +
                   " (raise crf or shorten the clip)");
    }
    result.checked.push_back("max_file_size " + bytes_text(request.limits.max_file_size) + ": " +
                             bytes_text(result.size_bytes));
  }
  if (request.progress) {
    request.progress(1.0, "frame " + std::to_string(frames) + "/" + std::to_string(frames));
  }
  return result;
}

}  // namespace reelflow::video
