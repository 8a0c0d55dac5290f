// render_colour [FRAMES] [LUT.cube] — the cost of grading 1080×1920 yuv420p frames with a 33³ LUT:
// ColourGrade::apply (tetrahedral and trilinear, one thread) side by side with FFmpeg's lut3d on
// the same frames (testsrc2), the anchor being the ffmpeg CLI graph with lut3d minus the same
// graph without it, so that only the LUT's cost is compared. Prints ms per frame as wall time and
// as CPU time (the machine is shared: CPU time is the steadier figure), the ratios, and the error
// of the fast path against the exact per-pixel grade (ExactGrade) in 8-bit code values.
//
// Without LUT.cube a smooth creative look (lifted shadows, warm highlights, channel mixing) is
// written to a temporary directory.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "render/colour/exact_grade.hpp"
#include "render/colour/grade.hpp"

namespace {

using namespace reelflow::video;

constexpr int kWidth = 1080, kHeight = 1920;
constexpr int kDistinctFrames = 8;  // decoded once, graded in turn (bounded memory)
constexpr int kRepeats = 3;         // every timing is the best of this many runs

struct Times {
  double wall = 0;  // seconds
  double cpu = 0;   // seconds, user + system
};

double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

std::string testsrc(int frames) {
  return "ffmpeg -v error -nostdin -f lavfi -i testsrc2=s=" + std::to_string(kWidth) + "x" +
         std::to_string(kHeight) + ":r=30 -frames:v " + std::to_string(frames);
}

// The best wall and CPU time of a shell command over kRepeats runs.
Times time_command(const std::string& command) {
  Times best{1e30, 1e30};
  for (int run = 0; run < kRepeats; ++run) {
    const double cpu_start = cpu_seconds(RUSAGE_CHILDREN);
    const auto start = std::chrono::steady_clock::now();
    const int status = std::system(command.c_str());
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (status != 0) {
      std::fprintf(stderr, "failed (%d): %s\n", status, command.c_str());
      std::exit(1);
    }
    best.wall = std::min(best.wall, wall);
    best.cpu = std::min(best.cpu, cpu_seconds(RUSAGE_CHILDREN) - cpu_start);
  }
  return best;
}

std::vector<Yuv420Image> read_testsrc_frames(int count) {
  // Converted with the BT.709 matrix the grade assumes (swscale's default is BT.601).
  const std::string command =
      testsrc(count) +
      " -vf scale=out_color_matrix=bt709:out_range=tv -f rawvideo -pix_fmt yuv420p -";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::perror("popen");
    std::exit(1);
  }
  std::vector<Yuv420Image> frames;
  for (int i = 0; i < count; ++i) {
    Yuv420Image image(kWidth, kHeight);
    if (std::fread(image.data.data(), 1, image.data.size(), pipe) != image.data.size()) {
      std::fprintf(stderr, "short read from: %s\n", command.c_str());
      std::exit(1);
    }
    frames.push_back(std::move(image));
  }
  pclose(pipe);
  return frames;
}

std::string write_look_lut(const std::string& dir) {
  const std::string path = dir + "/look33.cube";
  std::ofstream out(path);
  out << "TITLE \"bench look\"\nLUT_3D_SIZE 33\n";
  for (int b = 0; b < 33; ++b) {
    for (int g = 0; g < 33; ++g) {
      for (int r = 0; r < 33; ++r) {
        const double red = r / 32.0, green = g / 32.0, blue = b / 32.0;
        out << std::pow(red, 0.8) * 0.9 + 0.1 * green << ' ' << std::pow(green, 1.1) << ' '
            << 0.15 + 0.7 * blue + 0.15 * red * green << '\n';
      }
    }
  }
  return path;
}

// Best of kRepeats passes over `count` frames; the copy of the source frame is not timed.
Times time_grade(const ColourGrade& grade, const std::vector<Yuv420Image>& sources, int count) {
  Times best{1e30, 1e30};
  Yuv420Image work(kWidth, kHeight);
  for (int run = 0; run < kRepeats; ++run) {
    Times total;
    for (int i = 0; i < count; ++i) {
      std::copy(sources[i % sources.size()].data.begin(), sources[i % sources.size()].data.end(),
                work.data.begin());
      const double cpu_start = thread_cpu_seconds();
      const auto start = std::chrono::steady_clock::now();
      grade.apply(work.view);
      total.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      total.cpu += thread_cpu_seconds() - cpu_start;
    }
    best.wall = std::min(best.wall, total.wall);
    best.cpu = std::min(best.cpu, total.cpu);
  }
  return best;
}

void print_error(const char* interpolation, const std::string& lut,
                 const std::vector<Yuv420Image>& sources) {
  ColourOptions options;
  options.lut = lut;
  options.interpolation = interpolation;
  auto grade = ColourGrade::create(options);
  auto exact = ExactGrade::create(options);
  int max[3] = {0, 0, 0};
  double sum[3] = {0, 0, 0};
  long samples[3] = {0, 0, 0};
  for (int i = 0; i < 2; ++i) {
    Yuv420Image fast = sources[i], reference = sources[i];
    grade->apply(fast.view);
    exact->apply(reference.view);
    for (int p = 0; p < 3; ++p) {
      const int width = p == 0 ? kWidth : kWidth / 2, height = p == 0 ? kHeight : kHeight / 2;
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          const int d = std::abs(fast.view.row(p, y)[x] - reference.view.row(p, y)[x]);
          max[p] = std::max(max[p], d);
          sum[p] += d;
        }
      }
      samples[p] += static_cast<long>(width) * height;
    }
  }
  std::printf("error vs exact, %-11s  max Y/U/V %d/%d/%d  mean %.4f/%.4f/%.4f  (2 frames)\n",
              interpolation, max[0], max[1], max[2], sum[0] / static_cast<double>(samples[0]),
              sum[1] / static_cast<double>(samples[1]), sum[2] / static_cast<double>(samples[2]));
}

void print_row(const char* name, const Times& times, int frames) {
  std::printf("%-44s %9.2f %9.2f\n", name, 1000 * times.wall / frames, 1000 * times.cpu / frames);
}

}  // namespace

int main(int argc, char** argv) {
  const int frames = argc > 1 ? std::max(1, std::atoi(argv[1])) : 60;
  std::string lut = argc > 2 ? argv[2] : "";
  char dir_template[] = "/tmp/render_colour.XXXXXX";
  if (lut.empty()) {
    if (mkdtemp(dir_template) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    lut = write_look_lut(dir_template);
  }

  const auto sources = read_testsrc_frames(std::min(frames, kDistinctFrames));
  std::printf("%d frames %dx%d yuv420p (testsrc2), LUT %s; best of %d\n\n", frames, kWidth, kHeight,
              lut.c_str(), kRepeats);
  std::printf("%-44s %9s %9s\n", "", "wall ms", "cpu ms");

  Times ours[2];
  const char* const kInterpolations[] = {"tetrahedral", "trilinear"};
  for (int i = 0; i < 2; ++i) {
    ColourOptions options;
    options.lut = lut;
    options.interpolation = kInterpolations[i];
    const auto create_start = std::chrono::steady_clock::now();
    auto grade = ColourGrade::create(options);
    const double create_ms =
        1000 *
        std::chrono::duration<double>(std::chrono::steady_clock::now() - create_start).count();
    if (!grade) {
      std::fprintf(stderr, "%s\n", grade.error().c_str());
      return 1;
    }
    ours[i] = time_grade(*grade, sources, frames);
    const std::string name = std::string("ColourGrade::apply ") + kInterpolations[i] + " (create " +
                             std::to_string(static_cast<int>(create_ms)) + " ms)";
    print_row(name.c_str(), ours[i], frames);
  }

  // FFmpeg: testsrc2 decodes to yuv420p; lut3d works on RGB, so its graph converts to rgb24 and
  // applies the LUT (tetrahedral by default); "+ back" also converts to yuv420p as a render
  // must before encoding.
  const std::string src = testsrc(frames);
  const std::string sink = " -f null -";
  const Times base = time_command(src + " -vf null" + sink);
  const Times with_lut = time_command(src + " -vf lut3d=file=" + lut + sink);
  const Times base_1 = time_command(src + " -filter_threads 1 -vf null" + sink);
  const Times with_lut_1 = time_command(src + " -filter_threads 1 -vf lut3d=file=" + lut + sink);
  const Times round_trip_1 =
      time_command(src + " -filter_threads 1 -vf lut3d=file=" + lut + ",format=yuv420p" + sink);
  const auto minus = [](const Times& a, const Times& b) {
    return Times{a.wall - b.wall, a.cpu - b.cpu};
  };
  const Times anchor = minus(with_lut, base);
  const Times anchor_1 = minus(with_lut_1, base_1);
  const Times anchor_round_trip_1 = minus(round_trip_1, base_1);
  print_row("ffmpeg lut3d (filter threads: all)", anchor, frames);
  print_row("ffmpeg lut3d (1 filter thread)", anchor_1, frames);
  print_row("ffmpeg lut3d + back to yuv420p (1 thread)", anchor_round_trip_1, frames);

  std::printf("\nratio ffmpeg / ours (tetrahedral, like lut3d's default):\n");
  std::printf("  lut3d, all threads, wall      %6.1fx\n", anchor.wall / ours[0].wall);
  std::printf("  lut3d, 1 thread, cpu          %6.1fx\n", anchor_1.cpu / ours[0].cpu);
  std::printf("  lut3d + back, 1 thread, cpu   %6.1fx\n\n", anchor_round_trip_1.cpu / ours[0].cpu);

  for (const char* interpolation : kInterpolations) print_error(interpolation, lut, sources);
  if (argc <= 2) {
    std::remove(lut.c_str());
    rmdir(dir_template);
  }
  return 0;
}
