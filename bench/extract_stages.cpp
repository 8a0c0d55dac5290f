// extract_stages FILE [DECODER_THREADS [deblock]] — where the time of a video.extract pass goes: the same
// file decoded four times (decode only; + shot detection; + features and audio; everything), each
// reported as wall time, CPU time (user + system, all threads) and CPU milliseconds per frame. Run
// by bench/extract.sh; useful alone when tuning a stage. As video.extract does, the decoder skips
// the in-loop deblocking filter unless the third argument is "deblock".
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "features/accumulator.hpp"
#include "media/decoder.hpp"
#include "shots/shot_detector.hpp"

namespace {

using namespace reelflow::video;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: extract_stages FILE [DECODER_THREADS [deblock]]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : DecodeOptions{}.threads;
  const bool deblock = argc > 3 && std::string(argv[3]) == "deblock";
  std::printf("%-22s %8s %8s %12s\n", "stage", "wall s", "cpu s", "cpu ms/frame");
  for (int stage = 0; stage < 4; ++stage) {
    const bool shots = stage == 1 || stage == 3;
    const bool features = stage >= 2;
    auto accumulator = FeatureAccumulator::create();
    if (!accumulator) {
      std::fprintf(stderr, "%s\n", accumulator.error().c_str());
      return 1;
    }
    ShotDetector detector;
    DecodeOptions options;
    options.decode_audio = features;
    options.threads = threads;
    options.deblock = deblock;
    const auto wall_start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    auto summary = decode(
        path, options,
        [&](const AnalysisFrame& frame) {
          if (shots) detector.push(frame);
          if (features) accumulator->add_frame(frame);
        },
        [&](const AudioChunk& chunk) {
          if (features) accumulator->add_audio(chunk);
        });
    if (!summary) {
      std::fprintf(stderr, "%s\n", summary.error().c_str());
      return 1;
    }
    if (shots) detector.finish();
    if (features) accumulator->finish();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double cpu = cpu_seconds() - cpu_start;
    static const char* const kNames[] = {"decode + convert", "+ shots", "+ features + audio",
                                         "all"};
    std::printf("%-22s %8.2f %8.2f %12.2f\n", kNames[stage], wall, cpu,
                1000.0 * cpu / static_cast<double>(summary->frames));
  }
  return 0;
}
