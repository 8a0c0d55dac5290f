#!/usr/bin/env bash
# model_retrain — engagement-model retraining time on 100,000 stored posts, against issue 8's
# target of under 30 s on 2 cores.
#
# Fills a fresh state database with POSTS synthetic published posts, each with its clip's
# features and its metrics at 24 h (tests/models/models_seed: the real store path; not timed),
# starts reelflowd on it with the repository's workflows/retrain.yaml unchanged, triggers it and
# times the run: models.examples (export from SQLite to JSON lines), models.train (a worker
# process starting, loading LibTorch, reading the examples, training 80 % and scoring the most
# recent 20 % with both models) and models.register (hash, copy, install). Also prints the
# worker's peak RSS, and the worst case: the same workflow once more with early stopping off (and
# min_new_examples 0), so every one of its `epochs` runs, from the version just trained. Builds
# nothing.
# Usage: bench/model_retrain.sh BUILD_DIR [POSTS]
set -euo pipefail

BENCH=model_retrain
BUILD=${1:-build}
POSTS=${2:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/daemon_common.sh
source "$(dirname "$0")/lib/daemon_common.sh"
bench_require "$BUILD/tests/bin/models_seed" models_seed
bench_require "$BUILD/lib/reelflow/plugins/models.so" reelflow_plugin_models
bench_require "$BUILD/lib/reelflow/plugins/models.d/train.so" reelflow_backend_models_train

mkdir -p "$WORK/workflows"
cp "$ROOT/workflows/retrain.yaml" "$WORK/workflows/"
sed -e 's/^name: retrain$/name: retrain_every_epoch/' -e 's/patience: 3$/patience: 0/' \
  -e 's/min_new_examples: 50 /min_new_examples: 0  /' \
  "$ROOT/workflows/retrain.yaml" >"$WORK/workflows/retrain_every_epoch.yaml"
grep -q '^name: retrain_every_epoch$' "$WORK/workflows/retrain_every_epoch.yaml"
grep -q 'patience: 0$' "$WORK/workflows/retrain_every_epoch.yaml"
grep -q 'min_new_examples: 0 ' "$WORK/workflows/retrain_every_epoch.yaml"
fill_start=$(date +%s.%N)
"$BUILD/tests/bin/models_seed" "$WORK/state" "$POSTS" >/dev/null
fill_seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
  "$fill_start" "$(date +%s.%N)")
db_mb=$(du -m "$WORK/state/reelflow.db" | cut -f1)

bench_start_daemon
python3 - "$SOCK" "$PID" "$POSTS" "$fill_seconds" "$db_mb" <<'PYTHON'
import http.client
import json
import os
import socket
import sys
import time
from datetime import datetime

sock_path, daemon_pid, posts, fill_seconds, db_mb = sys.argv[1:6]
TARGET = 30.0


class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)


def api(method, path, body=None):
    connection = Unix("localhost", timeout=30)
    connection.request(method, path, body=None if body is None else json.dumps(body),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read() or b"null")
    connection.close()
    return response.status, answer


def peak_rss_of_children():
    """The largest VmHWM (MB) among the daemon's child processes (its workers)."""
    peak = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as handle:
                parent = handle.read().rsplit(")", 1)[1].split()[1]
            if parent != daemon_pid:
                continue
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024 / 1e6)
        except OSError:
            continue
    return peak


def seconds_between(a, b):
    parse = lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (parse(b) - parse(a)).total_seconds()


def retrain(workflow):
    """Runs the workflow; returns (run, seconds from its creation to its end, peak worker RSS)."""
    status, started = api("POST", f"/v1/workflows/{workflow}/trigger", {})
    if status != 200:
        sys.exit(f"model_retrain: cannot start {workflow}: {started}")
    run_id = started["run_id"]
    peak = 0.0
    deadline = time.monotonic() + 600
    while True:
        peak = max(peak, peak_rss_of_children())
        status, run = api("GET", "/v1/runs/" + run_id)
        if run["state"] in ("succeeded", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            sys.exit(f"model_retrain: {workflow} did not finish within 10 minutes")
        time.sleep(0.1)
    if run["state"] != "succeeded":
        sys.exit(f"model_retrain: {workflow} {run['state']}: {run.get('error', '')}")
    return run, seconds_between(run["created_at"], run["finished_at"]), peak


run, total, peak = retrain("retrain")
steps = {step["id"]: step for step in run["steps"]}
examples = steps["examples"]["outputs"]
train = steps["train"]["outputs"]
register = steps["register"]["outputs"]
holdout = train["metrics"]["holdout"]
training = train["metrics"]["training"]

print(f"model_retrain: {int(posts):,} stored posts retrained in {total:.1f} s "
      f"(target {TARGET:.0f} s on 2 cores; {total / TARGET:.2f}x of target)")
print(f"  export    models.examples  {steps['examples']['seconds']:6.2f} s  "
      f"{examples['examples']:,} examples, skipped {json.dumps(examples['skipped'])}")
print(f"  train     models.train     {steps['train']['seconds']:6.2f} s  "
      f"training {training['seconds']:.2f} s on {training['examples']:,} posts: "
      f"{training['epochs_run']} of at most {training['epochs']} epochs (patience "
      f"{training['patience']}, best {training['best_epoch']}), batch {training['batch_size']}, "
      f"Adam lr {training['learning_rate']}, validation split {training['validation_split']}")
print(f"            holdout: the {holdout['examples']:,} most recent posts, BCE "
      f"{holdout['candidate']['bce']:.4f} (candidate) against {holdout['current']['bce']:.4f} "
      f"(prior); MSE {holdout['candidate']['mse']:.6f} against {holdout['current']['mse']:.6f}")
print(f"  register  models.register  {steps['register']['seconds']:6.2f} s  "
      f"v{register['version']} {register['status']}")
print(f"  worker peak RSS {peak:.0f} MB; store {db_mb} MB, filled in {fill_seconds} s (not timed)")

run, worst, peak = retrain("retrain_every_epoch")
training = [s for s in run["steps"] if s["id"] == "train"][-1]["outputs"]["metrics"]["training"]
print(f"  worst case, every epoch (patience 0): {worst:.1f} s, {training['epochs_run']} epochs "
      f"trained in {training['seconds']:.2f} s ({worst / TARGET:.2f}x of target)")
PYTHON
