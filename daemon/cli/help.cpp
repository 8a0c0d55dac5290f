#include "cli/help.hpp"

namespace reelflow::cli {

// The options every daemon verb shares, appended to its help (a macro so that it concatenates
// with the raw string literals at compile time).
#define DAEMON_OPTIONS                                                                     \
  "\nCommon options:\n"                                                                    \
  "  --json                 print the daemon's JSON answer\n"                              \
  "  --control ENDPOINT     unix:PATH or tcp:HOST:PORT (default: REELFLOW_CONTROL, else\n" \
  "                         unix:/run/reelflow/control.sock)\n"                            \
  "  --token-file FILE      bearer token for tcp: (default: REELFLOW_TOKEN)\n"             \
  "\nExit status: 0 done, 1 the daemon is unreachable or refused, 2 usage error.\n"

const char* main_help() {
  return R"(reelflow - run and inspect short-video marketing workflows

Usage: reelflow [--plugin-dir DIR]... [--control ENDPOINT] COMMAND [ARGS]

Offline commands (no daemon needed):
  validate FILE...     check workflow files; every problem as FILE:LINE:COL: error: message
  schema               print the JSON Schema of the workflow format, for editor autocompletion
  plugins              list plugins, their step types and options
  run WORKFLOW         run a workflow once in the foreground
  optimize simulate    the Thompson-sampling chooser against simulated audiences
                       (--scenario chapelle-li-table1|chapelle-li-fig1|drift, --reps N,
                       --seed S, --horizon T, --json)

Daemon commands (ask the running reelflowd; each takes --json):
  status               the daemon's state, runs by state, queue and workers
  workflows            loaded workflows, their triggers and whether they are paused
  runs                 recent runs, newest first (--workflow W, --state S, --limit N)
  run show ID          one run: its steps with timings, attempts, errors and outputs
  trigger WORKFLOW     start a run now (--input FILE: as if FILE had arrived)
  retry ID             run a failed or cancelled run again from its failed step
  cancel ID            cancel a run that has not finished
  pause WORKFLOW       start no new runs of WORKFLOW until resumed
  resume WORKFLOW      start runs of WORKFLOW again
  schedule             the posts to be published, as a calendar (--days N, --tz ZONE);
                       'schedule cancel ID', 'schedule move ID TIME'
  accounts             publishing accounts: platform, status, token expiry
  optimize times       the hours publish_at: best learned for an account (--account A)
  optimize list        experiments of optimize.choose: arms, decisions, the leading arm
  optimize show NAME   one experiment's arms: pulls, results, posterior mean, 95% interval,
                       chance of being best (--plot FILE.png: the posteriors over time)
  posts                published posts with their latest metrics (--account A)
  links                tracked links: 'links [list]', 'links show CODE', 'links create URL',
                       'links disable CODE', 'links enable CODE'
  models               engagement model versions and their holdout figures;
                       'models rollback [V]' makes an earlier version active again
  report               the funnel from views to revenue (--campaign C, --since DATE,
                       --by platform|video|variant|day; --csv, --json, --html FILE)

Global options:
  --plugin-dir DIR     also load plugins from DIR (repeatable; searched before
                       REELFLOW_PLUGIN_PATH and the built-in directory)
  --control ENDPOINT   the daemon's control API: unix:PATH or tcp:HOST:PORT
                       (default unix:/run/reelflow/control.sock)
  --token-file FILE    the bearer token for a tcp: endpoint
  -h, --help           show help; 'reelflow COMMAND --help' for a command
  --version            print the version

Environment:
  REELFLOW_PLUGIN_PATH  colon-separated plugin directories
  REELFLOW_CONTROL      the control endpoint when --control is not given
  REELFLOW_TOKEN        the bearer token for a tcp: endpoint when --token-file is not given

Exit status: 0 success, 1 failed, 2 usage error, 3 invalid workflow.
Documentation: docs/workflows.md (the YAML format), docs/plugins.md (writing plugins).
)";
}

const char* command_help(std::string_view command) {
  if (command == "validate") {
    return R"(Usage: reelflow validate [--json] [--quiet] FILE...

Checks workflow files against the workflow format and the options of every loaded plugin,
and reports every problem found, each as
  FILE:LINE:COL: error: message
Nothing runs. Exit status 0 when every file is clean, 3 when any has a problem.

Options:
  --json          print {"files": [{"file", "ok", "diagnostics": [...]}], "errors": N}
  -q, --quiet     do not print 'FILE: ok' for clean files
  --plugin-dir DIR  also load plugins from DIR (repeatable)
)";
  }
  if (command == "schema") {
    return R"(Usage: reelflow schema [--output FILE]

Prints a JSON Schema (draft 2020-12) of the workflow format, including the options of every
loaded plugin's step types. Point your editor's YAML extension at it for autocompletion, e.g.
put this first line in a workflow:
  # yaml-language-server: $schema=/path/to/reelflow.schema.json

Options:
  --output FILE   write the schema to FILE instead of standard output
  --plugin-dir DIR  also load plugins from DIR (repeatable)
)";
  }
  if (command == "plugins") {
    return R"(Usage: reelflow plugins [--json]

Lists the loaded plugins with their version, license and file, and each step type with its
options: type, default, range or allowed values, and help text. Plugins that fail to load are
reported on standard error with the reason.

Options:
  --json          machine-readable: {"plugins": [{"name", "version", "path", "step_types": [...]}]}
  --plugin-dir DIR  also load plugins from DIR (repeatable)
)";
  }
  if (command == "run") {
    return R"(Usage: reelflow run WORKFLOW [--input FILE] [options]

Runs a workflow once, in the foreground, without a daemon: as if FILE had arrived in the
watched folder (trigger.file). Shows a line per step and a progress bar for long steps on
standard error, then the outputs. The workflow is validated first; nothing runs if it has errors.
Ctrl-C cancels the run (the running step is asked to stop).

Options:
  --input FILE          the trigger's file (trigger.file, trigger.name, trigger.size)
  --artifacts DIR       where step files go: DIR/<run id>/<step id>/ (default ./reelflow-runs)
  --accounts DIR        where publishing accounts' refreshed credentials are kept, one 0600
                        file each (default ./reelflow-accounts)
  --secret NAME=VALUE   a secret for secrets.NAME and the plugins (repeatable)
  --secrets-file FILE   secrets as NAME=VALUE lines (keep it chmod 600)
  --env NAME=VALUE      override an env value of the workflow (repeatable)
  --json                print the run record (every step's state, attempts, outputs) as JSON
  -v, --verbose         show plugins' debug log lines
  --plugin-dir DIR      also load plugins from DIR (repeatable)

Exit status: 0 the run succeeded, 1 it failed or was cancelled, 2 usage, 3 invalid workflow.

'reelflow run show ID' is different: it shows a run of the daemon ('reelflow help run show').
)";
  }
  if (command == "status") {
    return R"(Usage: reelflow status [--json]

Shows the daemon's version, pid, uptime and state (running or draining), the number of
workflows, runs queued and active, runs by state, and busy and idle workers with restarts.
)" DAEMON_OPTIONS;
  }
  if (command == "workflows") {
    return R"(Usage: reelflow workflows [--json]

Lists the workflows the daemon has loaded: name, active or paused, triggers and file.
)" DAEMON_OPTIONS;
  }
  if (command == "runs") {
    return R"(Usage: reelflow runs [--workflow W] [--state S] [--limit N] [--json]

Lists runs, newest first: id, workflow, state, when created and finished, trigger, error.

Options:
  --workflow W    only runs of workflow W
  --state S       only runs in state S (pending, running, waiting, succeeded, failed, cancelled)
  --limit N       at most N runs (default 50)
)" DAEMON_OPTIONS;
  }
  if (command == "run show") {
    return R"(Usage: reelflow run show ID [--json]

Shows one run of the daemon: workflow, state, trigger, times, error, and each step execution
with its item (for_each), attempt, state, start time and duration, then its error and outputs.
)" DAEMON_OPTIONS;
  }
  if (command == "trigger") {
    return R"(Usage: reelflow trigger WORKFLOW [--input FILE] [--json]

Starts a run of WORKFLOW now, as if FILE had arrived in its watched folder. FILE is passed as
an absolute path, so the daemon must be able to read it. A file already run with the same
content is not run again; the existing run is named instead. A paused workflow refuses.
)" DAEMON_OPTIONS;
  }
  if (command == "retry") {
    return R"(Usage: reelflow retry ID [--json]

Runs a failed or cancelled run again, from the step that did not finish.
)" DAEMON_OPTIONS;
  }
  if (command == "cancel") {
    return R"(Usage: reelflow cancel ID [--json]

Cancels a run that has not finished; its running step is asked to stop.
)" DAEMON_OPTIONS;
  }
  if (command == "pause") {
    return R"(Usage: reelflow pause WORKFLOW [--json]

Stops starting new runs of WORKFLOW; runs already started carry on. Triggers that arrive
meanwhile are kept and run after 'reelflow resume'.
)" DAEMON_OPTIONS;
  }
  if (command == "resume") {
    return R"(Usage: reelflow resume WORKFLOW [--json]

Starts runs of a paused WORKFLOW again.
)" DAEMON_OPTIONS;
  }
  if (command == "posts") {
    return R"(Usage: reelflow posts [--account A] [--json]

Lists the posts the daemon published, newest first: when, platform, account, the platform's post
id, the latest metrics pulled (views, likes, comments, shares; each publisher step's metrics_at
says when: 1h, 6h, 24h, 3d and 7d after publishing unless told) and the post's URL. --json has
every pull.
)" DAEMON_OPTIONS;
  }
  if (command == "optimize") {
    return R"(Usage: reelflow optimize simulate --scenario NAME [--reps N] [--seed S] [--horizon T]
                                  [--json]

Runs the Thompson-sampling chooser that picks between a workflow's variants against simulated
audiences, offline.

  chapelle-li-table1   O. Chapelle and L. Li, "An Empirical Evaluation of Thompson Sampling"
                       (NIPS 2011), Table 1: 10 variants whose success rates are drawn from
                       Beta(4,4), one replaced now and then, 10^6 steps, results arriving 1 to
                       1000 steps late; the regret beside the paper's. 20 repetitions by default
                       (about 30 s on 2 cores); the paper used 100.

  chapelle-li-fig1     the same paper, Figure 1: the best variant succeeds half the time, the
                       others 0.02 or 0.1 less, 10 or 100 variants; regret / ln T at growing
                       T beside the Lai-Robbins bound, sum (p* - p) / KL(p, p*), that no
                       chooser beats in the long run. 20 repetitions of 10^5 steps by default
                       (about 15 s); --horizon up to 10^8 (bench/optimize_fig1.sh runs 10^7).

  drift                5 variants clicked 5 % to 1 %; halfway through, the best and the worst
                       swap. How many steps the chooser needs to follow, with and without
                       discounting old results (discount 1, 0.9995, 0.999, 0.995), and its
                       regret after the change. About 2 s.

--horizon T sets the steps of the two Chapelle & Li scenarios (table1: the paper's figures are
for 10^6 only).

--json prints {"scenario", "reps", "seed", "horizon", "rows": [...]}: for chapelle-li-table1
{"delay", "regret", "standard_error", "paper", "ratio"}, for chapelle-li-fig1 {"arms",
"epsilon", "bound", "regret_per_log", "checkpoints": [{"steps", "regret", "standard_error",
"regret_per_log"}]}, for drift {"discount", "arm_window", "reconverged", "steps",
"regret_after", "regret_before"}.

Usage: reelflow optimize times --account A [--time-zone ZONE] [--top N] [--json]

Asks the daemon which hours of the week `publish_at: best` learned for account A: an engagement
score (likes + comments + shares per view, from the pull closest to 24h) for each local hour,
from the account's posts of the last 16 weeks, shrunk towards its posting windows while the
posts are few. Prints the N best hours (default 5), whether the learned hours or the windows
decide (10 posts with metrics are needed) with the next time publish_at: best would choose, and
a 7 x 24 table of the scores. The zone is the account's limits.time_zone, else --time-zone,
else UTC. --json prints GET /v1/best-times?account=A (docs/publishing.md).

Usage: reelflow optimize list [--json]
       reelflow optimize show NAME [--json] [--plot FILE.png]

Asks the daemon about the experiments of optimize.choose steps (docs/optimize.md). `list` shows
each experiment's workflow, reward, arms, decisions, how many still wait for their outcome, and
the arm most likely best. `show NAME` shows its arms: decisions (pulls), results and pending
decisions, successes out of trials (rates) or the total reward, the posterior mean with its 95%
credible interval, the chance each arm is the best, and the chance the next decision picks it.
--plot FILE.png draws each arm's posterior mean and 95% band over time (by day, or by decision
while all fall within two days) with a legend, for a report or a chat. --json prints
GET /v1/experiments or GET /v1/experiments/NAME.
)";
  }
  if (command == "links") {
    return R"(Usage: reelflow links [list] [--campaign C] [--json]
       reelflow links show CODE [--json]
       reelflow links create URL [--platform P] [--campaign C] [--variant V] [--medium M]
                                 [--title T] [--video FILE] [--json]
       reelflow links disable CODE | enable CODE

Tracked short links: GET <public_url>/l/CODE on the daemon's tracking listener redirects to the
link's target with rf_click=<click id> added, after the click is stored. Workflows make them with
a track.link step; 'create' makes one by hand. URL gets utm_source (platform), utm_medium
(medium, default social), utm_campaign and utm_content (variant) unless it has them.

  list              links, newest first (--campaign C: one campaign's)
  show CODE         one link: its clicks (human, repeat visitors within the hour, bots and
                    link previews, all) and the conversions attributed to it
  create URL        a new link; --json prints it with its code and short_url
  disable CODE      the link answers 410 Gone from now on (its clicks and conversions stay)
  enable CODE       it redirects again
)" DAEMON_OPTIONS;
  }
  if (command == "models") {
    return R"(Usage: reelflow models [list] [--name N] [--json]
       reelflow models rollback [V] [--name N] [--json]

The versions of the engagement model that video.score uses, newest first. A retraining workflow
(models.examples, models.train, models.register; workflows/retrain.yaml) adds one each time it
runs: the candidate is scored against the active version on the most recent posts, and becomes
active only if it is better by min_improvement; otherwise it is kept as "rejected", with the
reason. The active version is installed at <state>/models/<name>.pt.

  list              every version: status (active, retired, rejected), when, the version it
                    was trained from, the holdout metric of the candidate against the version
                    active then, how many posts it learned from, and why it was (not) promoted
  rollback [V]      make version V (3 or v3) active again, or without V the version active
                    before the current one; refused for a rejected version and for a version
                    whose file is missing or no longer matches its recorded SHA-256 (the
                    active model then stays)
  --name N          the model (default: every model for list, engagement for rollback)
)" DAEMON_OPTIONS;
  }
  if (command == "report") {
    return R"(Usage: reelflow report [--campaign C] [--since DATE] [--by platform|video|variant|day]
                       [--csv | --json | --html FILE]

The funnel of the posts and links in the period: posts, views, likes, comments and shares (the
latest metrics pulled from the platforms), human clicks (bots, link previews and repeat clicks
are counted apart), conversions and revenue attributed to the links, CTR (human clicks per
view), CVR (conversions per human click) and revenue per 1000 views, one row per platform (or
video, variant, day) with totals.

  --since DATE      from DATE (YYYY-MM-DD, UTC) on; default: everything
  --csv             the rows as CSV, for spreadsheets
  --html FILE       a self-contained page with charts (funnel per platform, clicks and
                    conversions over time, top videos)
)" DAEMON_OPTIONS;
  }
  if (command == "accounts") {
    return R"(Usage: reelflow accounts [--json]

Lists the publishing accounts the daemon knows (the secrets named account.NAME): platform, the
step type that publishes there, status (ok, or RECONNECT NEEDED when the platform refused the
account's refresh token: its posts stop until it is connected again), when its access token
expires and when it was last refreshed. Credentials are never shown.
)" DAEMON_OPTIONS;
  }
  if (command == "schedule") {
    return R"(Usage: reelflow schedule [--days N] [--tz ZONE] [--json]
       reelflow schedule cancel ID
       reelflow schedule move ID TIME [--tz ZONE]

Shows the posts the daemon will publish in the next N days (default 7), earliest first, grouped
by day in ZONE (default: $TZ, else the system's time zone): time, platform, account, title, the
post's id, and its workflow and run. A post is a publisher step (e.g. youtube.publish) waiting
for its publish_at; what is not yet scheduled (its run has not reached the step) is not shown.

  cancel ID         cancel the post: its run is cancelled and nothing of it is published
  move ID TIME      publish it at TIME instead: '2026-12-01 18:00' (in ZONE), an ISO 8601 time
                    with an offset, or a delay like '+2h'. The post gets a new id.
)" DAEMON_OPTIONS;
  }
  return nullptr;
}

}  // namespace reelflow::cli
