// optimize_fig1 [--reps N] [--seed S] [--horizon T] [--threads N] [--json]: Figure 1 of Chapelle &
// Li (2011) with the daemon's Thompson-sampling chooser (daemon/optimize/simulate.hpp): for
// K in {10, 100} arms and epsilon in {0.02, 0.1}, the mean regret / ln T at T = 10^3 ... horizon
// beside the Lai-Robbins asymptotic lower bound on it, and their ratio; then the wall time.
// The bound is asymptotic: at finite T the ratio may be above 1 (still learning) and, early on,
// even below it; the figure to watch is how the ratio moves toward 1 as T grows. Exits 2 on bad
// arguments, else 0 (there is no pass mark: the paper gives a plot, not numbers).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "optimize/simulate.hpp"

namespace {

using reelflow::optimize::Fig1Options;
using Clock = std::chrono::steady_clock;

int usage(const std::string& message) {
  std::fprintf(stderr,
               "optimize_fig1: %s\nusage: optimize_fig1 [--reps N] [--seed S] [--horizon T] "
               "[--threads N] [--json]\n",
               message.c_str());
  return 2;
}

bool parse_count(const char* text, std::uint64_t& value) {
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || text[0] == '-') return false;
  value = parsed;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Fig1Options options;
  options.reps = 10;
  options.horizon = 10'000'000;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      json = true;
      continue;
    }
    if (arg != "--reps" && arg != "--seed" && arg != "--horizon" && arg != "--threads") {
      return usage("unknown argument '" + std::string(arg) + "'");
    }
    std::uint64_t value = 0;
    if (i + 1 >= argc || !parse_count(argv[i + 1], value)) {
      return usage(std::string(arg) + " needs a non-negative integer");
    }
    ++i;
    if (arg == "--reps") options.reps = value;
    if (arg == "--seed") options.seed = value;
    if (arg == "--horizon") options.horizon = value;
    if (arg == "--threads") options.threads = static_cast<unsigned>(value);
  }

  const Clock::time_point start = Clock::now();
  const auto report = reelflow::optimize::run_chapelle_li_fig1(options);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!report) return usage(report.error().message);

  if (json) {
    nlohmann::json out = reelflow::optimize::to_json(*report);
    out["seconds"] = seconds;
    out["threads"] = options.threads;
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf(
      "Chapelle & Li (2011) Figure 1, Thompson sampling: best arm 0.5, the others 0.5 - eps; "
      "%llu reps, seed %llu, T up to %llu, %u threads\n",
      static_cast<unsigned long long>(report->reps), static_cast<unsigned long long>(report->seed),
      static_cast<unsigned long long>(report->horizon), options.threads);
  for (const auto& row : report->rows) {
    std::printf("\nK = %zu, eps = %.2f: Lai-Robbins bound on regret / ln T = %.1f\n", row.arms,
                row.epsilon, row.bound);
    std::printf("%10s %12s %9s %12s %9s\n", "T", "regret", "+-se", "regret/lnT", "ratio");
    for (const auto& point : row.checkpoints) {
      std::printf("%10llu %12.1f %9.1f %12.1f %9.3f\n",
                  static_cast<unsigned long long>(point.steps), point.regret, point.standard_error,
                  point.regret_per_log, point.regret_per_log / row.bound);
    }
  }
  std::printf("\nwall time %.1f s\n", seconds);
  return 0;
}
