// Timing for README.md (not a test): plan_crop() per source second beside a plain decode of the
// same file at the same analysis width, and Framer::frame() per 1080×1920 output frame in each
// mode from a 1920×1080 source.
//
//   reframe_timing [VIDEO]   without VIDEO, a 10 s 1080p testsrc2 clip is generated in /tmp.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "media/decoder.hpp"
#include "render/reframe/framer.hpp"

using namespace reelflow::video;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the process (all threads).
double process_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + 1e-6 * usage.ru_utime.tv_usec + usage.ru_stime.tv_sec +
         1e-6 * usage.ru_stime.tv_usec;
}

// CPU time of this thread: on a shared machine, closer to the cost than the wall clock.
double thread_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// `out_stride`: the output's luma row length (chroma: half, rounded up to 16 when the luma's
// is a multiple of 16).
void time_framer(const char* label, const ReframeOptions& options, const CropPath& path,
                 int out_stride = 1088) {
  Yuv420Image source(1920, 1080);
  unsigned seed = 1;
  for (std::uint8_t& byte : source.data) {
    seed = seed * 1103515245u + 12345u;
    byte = static_cast<std::uint8_t>(16 + (seed >> 16) % 220);
  }
  // By default the output as the encoder's AVFrame has it: rows padded to 64 bytes.
  const int chroma_stride = out_stride % 16 == 0 ? (out_stride / 2 + 15) & ~15 : out_stride / 2;
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(out_stride) * 1920 +
                                   2 * static_cast<std::size_t>(chroma_stride) * 960 + 64);
  std::uint8_t* base = buffer.data() + (64 - reinterpret_cast<std::uintptr_t>(buffer.data()) % 64);
  Yuv420 out;
  out.width = 1080;
  out.height = 1920;
  out.stride[0] = out_stride;
  out.stride[1] = out.stride[2] = chroma_stride;
  out.plane[0] = base;
  out.plane[1] = base + out_stride * 1920;
  out.plane[2] = base + out_stride * 1920 + chroma_stride * 960;
  Framer framer(options, 1920, 1080, 1080, 1920, path);
  constexpr int kFrames = 300;
  framer.frame(source.view, 0, out);  // warm up: scaler set up
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_seconds();
  for (int i = 0; i < kFrames; ++i) framer.frame(source.view, i / 30.0, out);
  std::printf("Framer::frame %-22s %.2f ms CPU (%.2f ms wall) per 1080x1920 frame\n", label,
              1000 * (thread_seconds() - cpu_start) / kFrames,
              1000 * seconds_since(start) / kFrames);
}

// CPU seconds (user + system) of an ffmpeg CLI run over `video` with `filters`, decoding with one
// thread and filtering with one thread, output discarded.
double ffmpeg_seconds(const std::string& video, const std::string& filters) {
  rusage before{}, after{};
  ::getrusage(RUSAGE_CHILDREN, &before);
  const std::string command =
      "ffmpeg -nostdin -hide_banner -loglevel error -threads 1 -filter_threads 1 -i '" + video +
      "' " + filters + " -an -f null - ";
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "failed: %s\n", command.c_str());
  ::getrusage(RUSAGE_CHILDREN, &after);
  const auto seconds = [](const timeval& t) { return t.tv_sec + 1e-6 * t.tv_usec; };
  return seconds(after.ru_utime) - seconds(before.ru_utime) + seconds(after.ru_stime) -
         seconds(before.ru_stime);
}

// The anchor: what the FFmpeg CLI's filters cost per frame beyond its decode.
void time_ffmpeg(const std::string& video, double frames) {
  const double decode_only = ffmpeg_seconds(video, "");
  const std::pair<const char*, const char*> graphs[] = {
      {"crop+scale", "-vf crop=ih*9/16:ih,scale=1080:1920"},
      {"fit blur",
       "-filter_complex \"[0:v]split[a][b];[a]crop=ih*9/16:ih,scale=1080:1920,boxblur=20[bg];"
       "[b]scale=1080:-2[fg];[bg][fg]overlay=(W-w)/2:(H-h)/2\""},
      {"fit #202020", "-vf 'scale=1080:-2,pad=1080:1920:(ow-iw)/2:(oh-ih)/2:color=#202020'"},
  };
  std::printf("ffmpeg CLI decode alone: %.2f ms CPU per frame\n", 1000 * decode_only / frames);
  for (const auto& [label, filters] : graphs) {
    std::printf("ffmpeg CLI %-12s %.2f ms CPU per frame beyond the decode\n", label,
                1000 * (ffmpeg_seconds(video, filters) - decode_only) / frames);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string video;
  std::filesystem::path generated;
  if (argc > 1) {
    video = argv[1];
  } else {
    generated = std::filesystem::temp_directory_path() /
                ("reframe-timing." + std::to_string(::getpid()) + ".mp4");
    video = generated.string();
    const std::string command =
        "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "
        "testsrc2=size=1920x1080:rate=30 -t 10 -c:v libx264 -preset veryfast -pix_fmt yuv420p '" +
        video + "'";
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "cannot generate %s\n", video.c_str());
      return 1;
    }
  }
  const auto info = probe(video);
  if (!info) {
    std::fprintf(stderr, "%s\n", info.error().c_str());
    return 1;
  }

  CropPlanOptions plan;
  DecodeOptions decode_options;
  decode_options.analysis_width = plan.analysis_width;
  decode_options.decode_audio = false;
  auto start = std::chrono::steady_clock::now();
  double cpu_start = process_seconds();
  const auto decoded = decode(video, decode_options, [](const AnalysisFrame&) {});
  const double decode_seconds = seconds_since(start);
  const double decode_cpu = process_seconds() - cpu_start;
  start = std::chrono::steady_clock::now();
  cpu_start = process_seconds();
  const auto path = plan_crop(video, 0, 0, 1080, 1920, {"fill", "blur"}, plan);
  const double plan_seconds = seconds_since(start);
  const double plan_cpu = process_seconds() - cpu_start;
  if (!decoded || !path) {
    std::fprintf(stderr, "%s\n", !decoded ? decoded.error().c_str() : path.error().c_str());
    return 1;
  }
  std::printf("%s: %dx%d, %.1f s\n", video.c_str(), info->display_width, info->display_height,
              info->duration);
  std::printf("decode alone (%d px analysis frames): %.3f s CPU (%.3f s wall) per source second\n",
              plan.analysis_width, decode_cpu / info->duration, decode_seconds / info->duration);
  std::printf(
      "plan_crop:                   %.3f s CPU (%.3f s wall) per source second (%zu windows)\n",
      plan_cpu / info->duration, plan_seconds / info->duration, path->windows.size());
  if (std::getenv("REFRAME_TIMING_WINDOWS") != nullptr) {
    for (const CropWindow& window : path->windows) {
      std::printf("  %.3f s: x %d y %d %dx%d\n", window.time, window.x, window.y, window.width,
                  window.height);
    }
  }

  time_framer("center", {"center", "blur"}, {});
  time_framer("fit blur", {"fit", "blur"}, {});
  time_framer("fit #202020", {"fit", "#202020"}, {});
  CropPath moving;
  for (int i = 0; i < 300; ++i) moving.windows.push_back({i / 30.0, 4 * i, 0, 608, 1080});
  time_framer("fill", {"fill", "blur"}, moving);
  time_framer("center, rows unaligned", {"center", "blur"}, {}, 1080);
  if (info->display_width == 1920 && info->display_height == 1080) {
    time_ffmpeg(video, static_cast<double>(decoded->frames));
  }
  if (!generated.empty()) std::filesystem::remove(generated);
  return 0;
}
