// `reelflow optimize simulate`: the Thompson-sampling chooser against simulated audiences
// (daemon/optimize/simulate.hpp), for users curious how it learns and as the proof against
// Chapelle & Li's published numbers. Runs offline; no daemon needed.
#include <charconv>
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/daemon_call.hpp"
#include "cli/help.hpp"
#include "optimize/simulate.hpp"

namespace reelflow::cli {

namespace {

std::optional<std::uint64_t> whole_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

int optimize_command(Args args) {
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(command_help("optimize"), stdout);
    return kExitOk;
  }
  const bool as_json = args.flag("--json");
  auto scenario = args.option("--scenario");
  auto reps = args.option("--reps");
  auto seed = args.option("--seed");
  args.options("--plugin-dir");  // a global option with no use here
  auto words = args.positional();
  auto problems = args.errors();
  if (words.empty() || words[0] != "simulate") {
    problems.push_back(words.empty() ? "say what to do: simulate"
                                     : "no action '" + words[0] + "' (simulate; list and show "
                                                                  "come with optimize.choose)");
  } else if (words.size() > 1) {
    problems.push_back("simulate takes no further words; use --scenario NAME");
  }
  optimize::Table1Options options;
  options.reps = 20;
  if (!scenario) {
    problems.push_back("--scenario is required (chapelle-li-table1, drift)");
  } else if (*scenario != optimize::kChapelleLiTable1 && *scenario != optimize::kDrift) {
    problems.push_back("no scenario '" + *scenario + "' (known: chapelle-li-table1, drift)");
  }
  if (reps) {
    auto value = whole_number(*reps);
    if (!value || *value < 1 || *value > 10000) {
      problems.push_back("--reps must be a whole number from 1 to 10000");
    } else {
      options.reps = *value;
    }
  }
  if (seed) {
    auto value = whole_number(*seed);
    if (!value) {
      problems.push_back("--seed must be a whole number");
    } else {
      options.seed = *value;
    }
  }
  if (!problems.empty()) return usage_error("optimize", problems);
  if (*scenario == optimize::kDrift) {
    optimize::DriftOptions drift;
    drift.reps = options.reps;
    drift.seed = options.seed;
    auto report = optimize::run_drift(drift);
    if (!report) {
      std::fprintf(stderr, "reelflow optimize: %s\n", report.error().message.c_str());
      return kExitFailed;
    }
    if (as_json) {
      print_json(optimize::to_json(*report));
      return kExitOk;
    }
    std::printf("Drift: 5 variants clicked 5%%, 4%%, 3%%, 2%%, 1%%; at step %llu of %llu the best "
                "and the worst swap.\nSteps until the chooser picks the new best in half of its last 1000 "
                "choices; %llu repetitions, seed %llu.\n\n  discount   re-converged   mean steps   "
                "regret after the change\n",
                static_cast<unsigned long long>(report->change_at),
                static_cast<unsigned long long>(report->horizon),
                static_cast<unsigned long long>(report->reps),
                static_cast<unsigned long long>(report->seed));
    for (const auto& row : report->rows) {
      const std::string steps = row.steps ? std::to_string(static_cast<long long>(*row.steps))
                                          : std::string("never");
      std::printf("  %8.4f   %5llu of %-4llu %11s   %9.0f\n", row.discount,
                  static_cast<unsigned long long>(row.reconverged),
                  static_cast<unsigned long long>(report->reps), steps.c_str(), row.regret_after);
    }
    std::printf("\ndiscount 1 keeps every old result; below 1 old results fade, so the chooser "
                "follows a change sooner\nand pays for it with more exploring when nothing "
                "changes.\n");
    return kExitOk;
  }
  if (!as_json) {
    std::fprintf(stderr, "simulating %llu repetitions of 10^6 steps at 7 delays ...\n",
                 static_cast<unsigned long long>(options.reps));
  }
  auto report = optimize::run_chapelle_li_table1(options);
  if (!report) {
    std::fprintf(stderr, "reelflow optimize: %s\n", report.error().message.c_str());
    return kExitFailed;
  }
  if (as_json) {
    print_json(optimize::to_json(*report));
    return kExitOk;
  }
  std::printf("Chapelle & Li (2011), Table 1: Thompson sampling's regret, %llu repetitions, seed "
              "%llu\n\n  delay     regret     paper   ratio\n",
              static_cast<unsigned long long>(report->reps),
              static_cast<unsigned long long>(report->seed));
  for (const auto& row : report->rows) {
    std::printf("  %5llu  %9.0f  %8.0f   %5.3f\n", static_cast<unsigned long long>(row.delay),
                row.regret, row.paper.value_or(0), row.ratio.value_or(0));
  }
  std::printf("\nregret: how much the chooser lost against always picking the best arm; the "
              "delay is how many steps\nits results arrive late. 'ratio' is ours over the paper's.\n");
  return kExitOk;
}

}  // namespace reelflow::cli
