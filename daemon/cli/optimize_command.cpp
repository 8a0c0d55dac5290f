// `reelflow optimize simulate`: the Thompson-sampling chooser against simulated audiences
// (daemon/optimize/simulate.hpp), for users curious how it learns and as the proof against
// Chapelle & Li's published numbers. Runs offline; no daemon needed.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/daemon_call.hpp"
#include "cli/experiment_plot.hpp"
#include "cli/help.hpp"
#include "common/iso_time.hpp"
#include "common/url.hpp"
#include "optimize/best_time.hpp"
#include "optimize/simulate.hpp"

namespace reelflow::cli {

namespace {

std::optional<std::uint64_t> whole_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `simulate --scenario chapelle-li-fig1`: regret / ln T beside the Lai-Robbins bound per setting.
int simulate_fig1(const optimize::Fig1Options& options, bool as_json) {
  if (!as_json) {
    std::fprintf(stderr, "simulating %llu repetitions of %llu steps in 4 settings ...\n",
                 static_cast<unsigned long long>(options.reps),
                 static_cast<unsigned long long>(options.horizon));
  }
  auto report = optimize::run_chapelle_li_fig1(options);
  if (!report) {
    std::fprintf(stderr, "reelflow optimize: %s\n", report.error().message.c_str());
    return kExitFailed;
  }
  if (as_json) {
    print_json(optimize::to_json(*report));
    return kExitOk;
  }
  std::printf("Chapelle & Li (2011), Figure 1: the best variant succeeds 50%% of the time, the "
              "others 50%% - eps;\n%llu repetitions, seed %llu. Regret / ln T beside the "
              "Lai-Robbins lower bound on it (reached as T grows).\n",
              static_cast<unsigned long long>(report->reps),
              static_cast<unsigned long long>(report->seed));
  for (const auto& row : report->rows) {
    std::printf("\n  K = %zu, eps = %.2f (bound %.1f)\n  %10s %11s %11s %7s\n", row.arms,
                row.epsilon, row.bound, "T", "regret", "regret/lnT", "ratio");
    for (const auto& point : row.checkpoints) {
      std::printf("  %10llu %11.1f %11.1f %7.3f\n", static_cast<unsigned long long>(point.steps),
                  point.regret, point.regret_per_log, point.regret_per_log / row.bound);
    }
  }
  std::printf("\nratio is ours over the bound. The bound holds as T grows without end; at finite T "
              "the chooser\nstays below it and rises toward it (the paper ran T to 10^7: "
              "bench/optimize_fig1.sh).\n");
  return kExitOk;
}

// `optimize times --account A`: the hours `publish_at: best` learns for an account
// (optimize/best_time.hpp), asked from the daemon (GET /v1/best-times).
bool is_times_action(const Args& args) {
  Args peek = args;
  for (const char* option : {"--account", "--time-zone", "--top", "--control", "--token-file",
                             "--plugin-dir"}) {
    peek.options(option);
  }
  peek.flag("--json");
  auto words = peek.positional();
  return !words.empty() && words[0] == "times";
}

// "Tue 2026-12-01 19:00" in `zone_name`, or the UTC text when the zone cannot be loaded.
std::string local_time_text(const std::string& iso, const std::string& zone_name) {
  auto instant = parse_iso_time(iso);
  auto zone = triggers::TimeZone::load(zone_name);
  if (!instant || !zone) return iso;
  const triggers::LocalSeconds local = zone->to_local(triggers::floor_div(*instant, 1000));
  const std::int64_t days = triggers::floor_div(local, 86400);
  const auto date = triggers::civil_from_days(days);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  const std::int64_t minutes = (local - days * 86400) / 60;
  char text[64];
  std::snprintf(text, sizeof text, "%s %04lld-%02u-%02u %02lld:%02lld",
                kDays[triggers::weekday(days)], static_cast<long long>(date.year), date.month,
                date.day, static_cast<long long>(minutes / 60), static_cast<long long>(minutes % 60));
  return text;
}

int optimize_times(Args args) {
  DaemonCall call("optimize", args);
  auto account = args.option("--account");
  auto zone = args.option("--time-zone");
  auto top = args.option("--top");
  auto words = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  if (words.size() > 1) problems.push_back("times takes no further words; use --account NAME");
  if (!account || account->empty()) {
    problems.push_back("--account is required: the account whose best hours to show");
  }
  std::uint64_t rows = 5;
  if (top) {
    auto value = whole_number(*top);
    if (!value || *value < 1 || *value > 168) {
      problems.push_back("--top must be a whole number from 1 to 168");
    } else {
      rows = *value;
    }
  }
  if (!problems.empty()) return usage_error("optimize", problems);
  std::string target = "/v1/best-times?account=" + url_encode(*account);
  if (zone) target += "&time_zone=" + url_encode(*zone);
  auto reply = call.request("GET", target);
  if (!reply) return kExitFailed;
  if (call.as_json) {
    print_json(*reply);
    return kExitOk;
  }
  const json& times = *reply;
  const std::string zone_name = times.value("time_zone", "UTC");
  const int posts = times.value("posts", 0);
  const int skipped = times.value("skipped", 0);
  const int min_posts = times.value("min_posts", 10);
  std::printf("Best hours to post for account %s (%s, %s), from %d post%s with metrics in the "
              "last %d weeks",
              account->c_str(), times.value("platform", "").c_str(), zone_name.c_str(), posts,
              posts == 1 ? "" : "s", times.value("history_weeks", 16));
  if (skipped > 0) std::printf(" (%d more without usable metrics)", skipped);
  std::printf(".\n");
  if (times.contains("mean") && times["mean"].is_number()) {
    std::printf("Mean engagement: %.4f per view.\n", times["mean"].get<double>());
  } else {
    std::printf("No posts with metrics yet: the scores below are the prior alone, relative (1.2 "
                "inside the posting\nwindows, 0.8 outside, 1 everywhere without windows).\n");
  }
  const json decided = times.value("publish_at_best", json::object());
  const std::string at = decided.contains("at") && decided["at"].is_string()
                             ? local_time_text(decided["at"].get<std::string>(), zone_name)
                             : std::string("none (no posting windows)");
  if (decided.value("by", "") == "learned") {
    std::printf("publish_at: best follows the learned hours: next %s.\n", at.c_str());
  } else {
    std::printf("publish_at: best uses the posting windows until %d posts have metrics: next "
                "%s.\n",
                min_posts, at.c_str());
  }
  std::printf("\n  rank  hour        score     prior   posts\n");
  std::uint64_t rank = 0;
  for (const auto& hour : times.value("top", json::array())) {
    if (++rank > rows) break;
    std::printf("  %4llu  %-9s  %7.4f  %7.4f  %6.1f\n", static_cast<unsigned long long>(rank),
                hour.value("when", "").c_str(), hour.value("score", 0.0), hour.value("prior", 0.0),
                hour.value("weight", 0.0));
  }
  const json scores = times.value("scores", json::array());
  if (scores.size() == 168) {
    double low = scores[0].get<double>(), high = low;
    for (const auto& score : scores) {
      low = std::min(low, score.get<double>());
      high = std::max(high, score.get<double>());
    }
    static constexpr const char kLevels[] = " .:-=+*#%@";
    std::printf("\nScore by hour of the week (%s), from ' ' (%.4f) to '@' (%.4f):\n"
                "       0     6     12    18\n",
                zone_name.c_str(), low, high);
    static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    for (int day = 0; day < 7; ++day) {
      std::string row;
      for (int hour = 0; hour < 24; ++hour) {
        const double score = scores[static_cast<std::size_t>(day * 24 + hour)].get<double>();
        const int level = high > low ? static_cast<int>((score - low) / (high - low) * 9.999) : 1;
        row += kLevels[std::clamp(level, 0, 9)];
      }
      std::printf("  %s  %s\n", kDays[day], row.c_str());
    }
  }
  std::printf("\n'posts' is how many posts (weighted by closeness in hours) are behind an hour of "
              "the week; with few,\nits score stays near the prior from the posting windows.\n");
  return kExitOk;
}

}  // namespace

// `optimize list` and `optimize show NAME [--plot FILE.png]`: optimize.choose's experiments as
// the daemon reports them (GET /v1/experiments[/<name>], optimize/experiments.hpp).
namespace {

bool is_experiments_action(const Args& args) {
  Args peek = args;
  for (const char* option : {"--plot", "--control", "--token-file", "--plugin-dir"}) {
    peek.options(option);
  }
  peek.flag("--json");
  auto words = peek.positional();
  return !words.empty() && (words[0] == "list" || words[0] == "show");
}

std::string percent(double fraction, int decimals = 1) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f%%", decimals, fraction * 100);
  return text;
}

// A rate as a percent with enough digits for small rates (0.042%); other rewards as numbers.
std::string reward_value(const json& value, bool rates) {
  if (!value.is_number()) return "-";
  const double number = value.get<double>();
  char text[32];
  if (rates) {
    const double percent_value = number * 100;
    const int decimals = percent_value >= 10 ? 1 : percent_value >= 1 ? 2 : 3;
    std::snprintf(text, sizeof text, "%.*f%%", decimals, percent_value);
  } else {
    std::snprintf(text, sizeof text, std::abs(number) >= 100 ? "%.0f" : "%.2f", number);
  }
  return text;
}

std::string reward_words(const std::string& reward) {
  if (reward == "ctr") return "ctr (human clicks per view)";
  if (reward == "cvr") return "cvr (conversions per human click)";
  if (reward == "revenue") return "revenue per post";
  if (reward == "views_per_hour") return "views per hour";
  return "weighted (sum of weight x component, per post)";
}

int optimize_experiments(Args args) {
  DaemonCall call("optimize", args);
  auto plot = args.option("--plot");
  auto words = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  const bool show = words[0] == "show";
  if (show && words.size() != 2) {
    problems.push_back(words.size() < 2
                           ? "show needs the experiment's name (reelflow optimize list "
                             "names them)"
                           : "show takes one experiment name");
  }
  if (!show && words.size() > 1) problems.push_back("list takes no further words");
  if (plot && !show) problems.push_back("--plot goes with show NAME");
  if (plot && plot->empty()) problems.push_back("--plot needs a file name, e.g. --plot cover.png");
  if (!problems.empty()) return usage_error("optimize", problems);

  if (!show) {
    auto reply = call.request("GET", "/v1/experiments");
    if (!reply) return kExitFailed;
    if (call.as_json) {
      print_json(*reply);
      return kExitOk;
    }
    const json list = reply->value("experiments", json::array());
    if (list.empty()) {
      std::printf(
          "No experiments yet: a workflow step `uses: optimize.choose` starts one at its "
          "first run.\n");
      return kExitOk;
    }
    std::printf("%-28s %-16s %-15s %4s %9s %7s  %s\n", "EXPERIMENT", "WORKFLOW", "REWARD", "ARMS",
                "DECISIONS", "PENDING", "LEADER (chance it is best)");
    for (const auto& experiment : list) {
      if (experiment.contains("error")) {
        std::printf("%-28s %-16s %s\n", experiment.value("name", "").c_str(),
                    experiment.value("workflow", "").c_str(),
                    experiment.value("error", "").c_str());
        continue;
      }
      std::string leader = experiment.value("leader", "");
      if (experiment.value("observations", 0) == 0) {
        leader = "(no results yet)";
      } else {
        leader += " (" + percent(experiment.value("leader_probability", 0.0), 0) + ")";
      }
      std::printf("%-28s %-16s %-15s %4d %9lld %7lld  %s\n", experiment.value("name", "").c_str(),
                  experiment.value("workflow", "").c_str(), experiment.value("reward", "").c_str(),
                  experiment.value("arms", 0),
                  static_cast<long long>(experiment.value("decisions", 0)),
                  static_cast<long long>(experiment.value("pending", 0)), leader.c_str());
    }
    return kExitOk;
  }

  const std::string& name = words[1];
  auto reply = call.request("GET", "/v1/experiments/" + url_encode(name));
  if (!reply) return kExitFailed;
  if (plot) {
    if (auto drawn = plot_experiment(*reply, *plot); !drawn) {
      std::fprintf(stderr, "reelflow optimize: %s\n", drawn.error().message.c_str());
      return kExitFailed;
    }
  }
  if (call.as_json) {
    print_json(*reply);
    return kExitOk;
  }
  const json& experiment = *reply;
  const bool rates = experiment.value("model", "") == "bernoulli";
  const json config = experiment.value("config", json::object());
  std::printf("Experiment %s (workflow %s): reward %s.\n", experiment.value("name", "").c_str(),
              experiment.value("workflow", "").c_str(),
              reward_words(experiment.value("reward", "")).c_str());
  std::printf("%lld decisions: %lld with results, %lld pending (outcome not in yet).\n",
              static_cast<long long>(experiment.value("decisions", 0)),
              static_cast<long long>(experiment.value("observations", 0)),
              static_cast<long long>(experiment.value("pending", 0)));
  std::string forgetting = "keeps every result";
  if (config.value("window", json()).is_number()) {
    forgetting = "counts the decisions of the last " +
                 std::to_string(static_cast<long long>(config["window"].get<double>() / 3600)) +
                 " h";
  } else if (config.value("discount", 1.0) < 1) {
    forgetting = "discounts old results by " + std::to_string(config.value("discount", 1.0));
  }
  const auto minimum = static_cast<long long>(config.value("min_observations", 0));
  std::printf("Floor %s per arm; %lld result%s per arm before exploiting; %s.\n",
              percent(config.value("floor", 0.0)).c_str(), minimum, minimum == 1 ? "" : "s",
              forgetting.c_str());
  if (experiment.value("phase", "") == "minimum-data") {
    std::printf(
        "Still gathering the minimum of data: choosing evenly among the arms short of it.\n");
  }
  std::printf("\n  %-20s %6s %7s %7s  %-15s %9s  %-21s %8s %7s\n", "ARM", "PULLS", "RESULTS",
              "PENDING", rates ? "SUCCESS/TRIALS" : "TOTAL", "MEAN", "95% INTERVAL", "P(BEST)",
              "CHANCE");
  for (const auto& arm : experiment.value("arms", json::array())) {
    std::string arm_name = arm.value("name", "");
    if (!arm.value("active", true)) arm_name += " (retired)";
    char tally[48];
    if (rates) {
      std::snprintf(tally, sizeof tally, "%.0f/%.0f", arm.value("successes", 0.0),
                    arm.value("trials", 0.0));
    } else {
      std::snprintf(tally, sizeof tally, "%.2f", arm.value("total", 0.0));
    }
    const std::string interval = arm.value("lower", json()).is_number()
                                     ? "[" + reward_value(arm["lower"], rates) + ", " +
                                           reward_value(arm["upper"], rates) + "]"
                                     : "-";
    const json p_best = arm.value("probability_best", json());
    const json chance = arm.value("chance", json());
    std::printf("  %-20s %6lld %7lld %7lld  %-15s %9s  %-21s %8s %7s\n", arm_name.c_str(),
                static_cast<long long>(arm.value("pulls", 0)),
                static_cast<long long>(arm.value("observations", 0)),
                static_cast<long long>(arm.value("pending", 0)), tally,
                reward_value(arm.value("mean", json()), rates).c_str(), interval.c_str(),
                p_best.is_number() ? percent(p_best.get<double>()).c_str() : "-",
                chance.is_number() ? percent(chance.get<double>()).c_str() : "-");
  }
  std::printf(
      "\nMEAN and 95%% INTERVAL: what the results say about each arm's %s (the interval "
      "narrows as\nresults come in). P(BEST): the chance it is the best arm. CHANCE: how "
      "likely the next decision\npicks it (P(BEST) with the floor and the minimum of data "
      "applied).\n",
      experiment.value("reward", "").c_str());
  if (plot) std::printf("\nPlot written to %s.\n", plot->c_str());
  return kExitOk;
}

}  // namespace

int optimize_command(Args args) {
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(command_help("optimize"), stdout);
    return kExitOk;
  }
  if (is_times_action(args)) return optimize_times(std::move(args));
  if (is_experiments_action(args)) return optimize_experiments(std::move(args));
  const bool as_json = args.flag("--json");
  auto scenario = args.option("--scenario");
  auto reps = args.option("--reps");
  auto seed = args.option("--seed");
  auto horizon = args.option("--horizon");
  // Global options with no use here.
  for (const char* global : {"--plugin-dir", "--control", "--token-file"}) args.options(global);
  auto words = args.positional();
  auto problems = args.errors();
  if (words.empty() || words[0] != "simulate") {
    problems.push_back(words.empty() ? "say what to do: list, show NAME, simulate or times"
                                     : "no action '" + words[0] +
                                           "' (known: list, show, simulate, times)");
  } else if (words.size() > 1) {
    problems.push_back("simulate takes no further words; use --scenario NAME");
  }
  optimize::Table1Options options;
  options.reps = 20;
  if (!scenario) {
    problems.push_back("--scenario is required (chapelle-li-table1, chapelle-li-fig1, drift)");
  } else if (*scenario != optimize::kChapelleLiTable1 && *scenario != optimize::kChapelleLiFig1 &&
             *scenario != optimize::kDrift) {
    problems.push_back("no scenario '" + *scenario +
                       "' (known: chapelle-li-table1, chapelle-li-fig1, drift)");
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
  if (horizon) {
    auto value = whole_number(*horizon);
    if (scenario && *scenario == optimize::kDrift) {
      problems.push_back("--horizon applies to chapelle-li-table1 and chapelle-li-fig1, not drift");
    } else if (!value || *value < 2 || *value > 100'000'000) {
      problems.push_back("--horizon must be a whole number of steps from 2 to 100000000");
    } else {
      options.horizon = *value;
    }
  }
  if (!problems.empty()) return usage_error("optimize", problems);
  if (*scenario == optimize::kChapelleLiFig1) {
    optimize::Fig1Options fig1;
    fig1.reps = reps ? options.reps : fig1.reps;
    fig1.seed = options.seed;
    fig1.horizon = horizon ? options.horizon : fig1.horizon;
    return simulate_fig1(fig1, as_json);
  }
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
    std::fprintf(stderr, "simulating %llu repetitions of %llu steps at 7 delays ...\n",
                 static_cast<unsigned long long>(options.reps),
                 static_cast<unsigned long long>(options.horizon));
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
    if (!row.paper) {  // only the paper's horizon, 10^6, has its figures
      std::printf("  %5llu  %9.0f         -       -\n", static_cast<unsigned long long>(row.delay),
                  row.regret);
      continue;
    }
    std::printf("  %5llu  %9.0f  %8.0f   %5.3f\n", static_cast<unsigned long long>(row.delay),
                row.regret, *row.paper, row.ratio.value_or(0));
  }
  std::printf("\nregret: how much the chooser lost against always picking the best arm; the "
              "delay is how many steps\nits results arrive late. 'ratio' is ours over the paper's.\n");
  return kExitOk;
}

}  // namespace reelflow::cli
