#!/usr/bin/env bash
# trigger_latency — from a file's close in a watched folder to its run's first step starting, minus
# the configured settle time, against issue 3's target: under 1 s plus the settle.
# Usage: bench/trigger_latency.sh BUILD_DIR [FILES]   (FILES: how many files, default 20)
#
# The files are written one at a time (open, write, close, in this script's python3); the time
# right after close() is the start. The end is the `ts=` of the daemon's `step started` log line
# for that file's run (millisecond resolution, the same CLOCK_REALTIME). Each run is awaited through
# the control API before the next file is written, so runs never queue behind each other.
set -euo pipefail

BUILD=${1:-build}
FILES=${2:-20}
SETTLE_MS=200
TARGET_S=1
BENCH=latency
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_common.sh"

mkdir -p "$WORK/workflows" "$WORK/inbox"
cat >"$WORK/workflows/latency.yaml" <<EOF
name: latency
on:
  watch: {path: $WORK/inbox, patterns: ["*.mp4"], settle: ${SETTLE_MS}ms}
steps:
  - id: stamp
    uses: hello.stamp
EOF

bench_start_daemon
sleep 1  # let the start-up scan of the (empty) folder finish

timeout $((FILES * 15 + 30)) python3 - "$WORK" "$FILES" "$SETTLE_MS" "$TARGET_S" <<'PY' &
import datetime, http.client, json, os, re, socket, statistics, sys, time

work, files, settle, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000, float(sys.argv[4])
sock_path, log_path, inbox = f"{work}/control.sock", f"{work}/daemon.log", f"{work}/inbox"

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.socket_path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)

def runs():
    connection = UnixHTTPConnection(sock_path)
    try:
        connection.request("GET", "/v1/runs?limit=1000")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    if response.status != 200:
        sys.exit(f"trigger_latency: GET /v1/runs answered {response.status}: {body}")
    return body["runs"]

STARTED = re.compile(r'^ts=(\S+) .*\brun=(\S+) .*msg="step started')

def step_started(run_id):
    with open(log_path) as text:
        for line in text:
            match = STARTED.match(line)
            if match and match.group(2) == run_id:
                return datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
    return None

latencies = []
for i in range(files):
    name = f"clip-{i:03d}.mp4"
    with open(os.path.join(inbox, name), "wb") as out:
        out.write(os.urandom(4096))
    closed = time.time()
    deadline = time.monotonic() + 10
    run = None
    while time.monotonic() < deadline:
        mine = [r for r in runs() if r.get("trigger", {}).get("name") == name]
        if mine and mine[0]["state"] in ("succeeded", "failed", "cancelled"):
            run = mine[0]
            break
        time.sleep(0.02)
    if run is None:
        sys.exit(f"trigger_latency: no finished run for {name} within 10 s (see the daemon log)")
    if run["state"] != "succeeded":
        sys.exit(f"trigger_latency: the run for {name} {run['state']}: {run.get('error')}")
    started = step_started(run["id"])
    if started is None:
        sys.exit(f"trigger_latency: no 'step started' log line with a ts= for run {run['id']}")
    latencies.append(started - closed - settle)
    time.sleep(0.2)

median, worst = statistics.median(latencies), max(latencies)
print(f"trigger_latency: median {median:.3f} s, max {worst:.3f} s after the {settle * 1000:.0f} ms "
      f"settle, over {files} files (target < {target:g} s; {worst / target:.2f}x)")
print("  each file, s: " + " ".join(f"{value:.3f}" for value in latencies))
if worst >= target:
    print(f"trigger_latency: target missed: max {worst:.3f} s >= {target:g} s")
PY
DRIVER=$!
wait "$DRIVER"
DRIVER=
