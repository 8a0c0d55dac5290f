#!/usr/bin/env bash
# throughput — runs/s of a trivial one-step workflow with plugin isolation on (`--workers 2`):
# `dtest.effect` (millis: 0), which runs in a reelflow-worker process, beside `hello.stamp`, which
# is flagged RF_STEP_IN_PROCESS and so runs inside the daemon even with isolation on. No external
# anchor: the in-process figure is the comparison, and the ratio is the cost of isolation.
# Usage: bench/throughput.sh BUILD_DIR [RUNS]   (RUNS per step type, default 1000)
#
# Each phase: 10 warm-up runs (workers started, caches warm; not counted), then RUNS triggers as
# fast as 4 concurrent clients can send them (POST /v1/workflows/NAME/trigger over the control
# socket), timed from the first submit until all of them have succeeded (the run counts of
# /v1/status, polled every 50 ms; then checked against /v1/runs). Both
# workflows allow 2 runs at once (`concurrency: 2`), matching the 2 workers.
set -euo pipefail

BUILD=${1:-build}
RUNS=${2:-1000}
BENCH=throughput
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_common.sh"
bench_require "$BUILD/tests/daemon/plugins/dtest.so" reelflow_plugin_dtest
DTEST_DIR=$(realpath "$BUILD/tests/daemon/plugins")

mkdir -p "$WORK/workflows"
echo "a trivial input" >"$WORK/input.mp4"
cat >"$WORK/workflows/isolated.yaml" <<EOF
name: isolated
on:
  manual: {}
concurrency: 2
steps:
  - id: effect
    uses: dtest.effect
    with: {log: "$WORK/effects.log", millis: 0}
EOF
cat >"$WORK/workflows/inprocess.yaml" <<EOF
name: inprocess
on:
  manual: {}
concurrency: 2
steps:
  - id: stamp
    uses: hello.stamp
EOF

bench_start_daemon --plugin-dir "$DTEST_DIR"

timeout 900 python3 - "$WORK" "$RUNS" <<'PY' &
import concurrent.futures, http.client, json, os, socket, sys, time

work, count = sys.argv[1], int(sys.argv[2])
sock_path, source = f"{work}/control.sock", f"{work}/input.mp4"
WARMUP = 10
CLIENTS = 4  # concurrent submitters, so one client's round trips are not the ceiling

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.socket_path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)

def api(method, path, body=None):
    connection = UnixHTTPConnection(sock_path)
    try:
        payload = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()

def run_counts():
    status, body = api("GET", "/v1/status")
    if status != 200:
        sys.exit(f"throughput: GET /v1/status answered {status}: {body}")
    return body["runs"]

def trigger(workflow):
    status, body = api("POST", f"/v1/workflows/{workflow}/trigger", {"input": source})
    if status != 200:
        sys.exit(f"throughput: trigger {workflow} answered {status}: {body}")

def batch(workflow, n):
    """Submits n runs from CLIENTS connections at once and waits until all have succeeded (the
    cheap /v1/status counts, polled every 50 ms); returns (wall s, submit s)."""
    before = run_counts().get("succeeded", 0)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda _: trigger(workflow), range(n)))
    submitted = time.monotonic() - started
    deadline = time.monotonic() + 600
    while True:
        counts = run_counts()
        bad = {state: counts.get(state, 0) for state in ("failed", "cancelled") if counts.get(state)}
        if bad:
            sys.exit(f"throughput: {workflow}: runs ended badly: {bad} (see the daemon log)")
        if counts.get("succeeded", 0) >= before + n:
            break
        if time.monotonic() > deadline:
            sys.exit(f"throughput: {workflow}: {n} runs not finished within 600 s: {counts}")
        time.sleep(0.05)
    wall = time.monotonic() - started
    status, body = api("GET", f"/v1/runs?workflow={workflow}&state=succeeded&limit=10000")
    if status != 200 or len(body["runs"]) < n:
        sys.exit(f"throughput: {workflow}: /v1/runs does not list {n} succeeded runs")
    return wall, submitted

TICK = os.sysconf("SC_CLK_TCK")

def cpu_seconds(pid):
    """user + system CPU of pid and of its children (the workers), in seconds"""
    def one(p):
        try:
            with open(f"/proc/{p}/stat") as text:
                fields = text.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0, None
        return (int(fields[11]) + int(fields[12])) / TICK, int(fields[1])
    own = one(pid)[0]
    workers = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            seconds, parent = one(int(entry))
            if parent == pid:
                workers += seconds
    return own, workers

def step_seconds():
    """step type -> (sum, count) of reelflow_step_duration_seconds from /metrics"""
    connection = UnixHTTPConnection(sock_path)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    found = {}
    for line in text.splitlines():
        for suffix, index in (("_sum", 0), ("_count", 1)):
            prefix = "reelflow_step_duration_seconds" + suffix + '{step_type="'
            if line.startswith(prefix):
                step_type = line[len(prefix):].split('"', 1)[0]
                found.setdefault(step_type, [0.0, 0.0])[index] = float(line.rsplit(" ", 1)[1])
    return found

daemon_pid = api("GET", "/v1/status")[1]["pid"]
rates = {}
for workflow, step_type in (("isolated", "dtest.effect"), ("inprocess", "hello.stamp")):
    batch(workflow, WARMUP)
    steps_before = step_seconds().get(step_type, [0.0, 0.0])
    cpu_before = cpu_seconds(daemon_pid)
    wall, submitted = batch(workflow, count)
    cpu_after = cpu_seconds(daemon_pid)
    steps_after = step_seconds().get(step_type, [0.0, 0.0])
    rates[workflow] = count / wall
    mean_step = (steps_after[0] - steps_before[0]) / max(1.0, steps_after[1] - steps_before[1])
    print(f"  {workflow}: {count} runs in {wall:.2f} s (submitting took {submitted:.2f} s); "
          f"{step_type} steps took {mean_step * 1000:.2f} ms on average; CPU per run: daemon "
          f"{(cpu_after[0] - cpu_before[0]) / count * 1000:.2f} ms, workers "
          f"{(cpu_after[1] - cpu_before[1]) / count * 1000:.2f} ms")

status, body = api("GET", "/v1/status")
workers = body.get("workers", {}) if status == 200 else {}
print(f"throughput: {rates['isolated']:.1f} runs/s with worker isolation (dtest.effect), "
      f"{rates['inprocess']:.1f} runs/s in-process (hello.stamp); isolation costs "
      f"{rates['isolated'] / rates['inprocess']:.2f}x")
if workers:
    print(f"  workers: {json.dumps(workers, sort_keys=True)}")
PY
DRIVER=$!
wait "$DRIVER"
DRIVER=

# Worker isolation must have been real: the effect log has one line per dtest.effect run.
effects=$(wc -l <"$WORK/effects.log")
if [ "$effects" -ne $((RUNS + 10)) ]; then
  echo "throughput: expected $((RUNS + 10)) dtest.effect lines, found $effects" >&2
  exit 1
fi
