#!/usr/bin/env bash
# daemon_idle — an idle reelflowd (one watched workflow, nothing to do): its memory and its
# wake-ups, against issue 3's targets: RSS < 30 MB and no periodic wake-ups.
# Usage: bench/daemon_idle.sh BUILD_DIR [SECONDS]   (SECONDS: the measured window, default 60)
#
# After a 5 s warm-up, the context switches (voluntary + nonvoluntary) of every daemon thread are
# read from /proc/PID/task/*/status once a second through the window; each switch is a time
# the thread went to sleep or was preempted, so a thread that sleeps undisturbed in epoll_wait or on
# a condition variable adds 0. Reading /proc does not wake the daemon.
set -euo pipefail

BUILD=${1:-build}
SECONDS_WINDOW=${2:-60}
WARMUP=5
RSS_TARGET_MB=30
BENCH=idle
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon_common.sh"

mkdir -p "$WORK/workflows" "$WORK/inbox"
cat >"$WORK/workflows/idle.yaml" <<EOF
name: idle
on:
  watch: {path: $WORK/inbox, patterns: ["*.mp4"], settle: 2s}
steps:
  - id: stamp
    uses: hello.stamp
EOF

bench_start_daemon

sleep "$WARMUP"

timeout $((SECONDS_WINDOW + 30)) python3 - "$PID" "$SECONDS_WINDOW" "$RSS_TARGET_MB" "$WARMUP" <<'PY' &
import os, sys, time

pid, window, target, WARMUP = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])

def status(path):
    fields = {}
    try:
        with open(path) as text:
            for line in text:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError:
        return None
    return fields

def threads():
    """tid -> (comm, voluntary + nonvoluntary context switches)"""
    result = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        fields = status(f"/proc/{pid}/task/{tid}/status")
        if fields is None:
            continue
        switches = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
        result[int(tid)] = (fields["Name"], switches)
    return result

def children():
    """Processes whose parent is the daemon: its reelflow-worker processes."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as text:
                stat = text.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found

def kib(fields, key):
    return int(fields[key].split()[0])

# Sampled every second, so the report can say when each thread woke (periodic or one-off).
before = threads()
previous = dict(before)
when = {}  # tid -> [second of the window at which its count rose]
start = time.monotonic()
while (elapsed := time.monotonic() - start) < window:
    time.sleep(min(1.0, window - elapsed))
    now = threads()
    for tid, (name, count) in now.items():
        if count != previous.get(tid, (name, 0))[1]:
            when.setdefault(tid, []).append(time.monotonic() - start)
    previous = {**previous, **now}
after = threads()
mine = status(f"/proc/{pid}/status")
if mine is None:
    sys.exit("daemon_idle: reelflowd exited during the window")

wakeups = 0
busy = []
for tid, (name, count) in after.items():
    delta = count - before[tid][1] if tid in before else count
    wakeups += delta
    if delta:
        busy.append((delta, tid, name))
gone = [tid for tid in before if tid not in after]

workers = children()
worker_rss = worker_hwm = 0
for child in workers:
    fields = status(f"/proc/{child}/status")
    if fields:
        worker_rss += kib(fields, "VmRSS")
        worker_hwm += kib(fields, "VmHWM")

MB = 1024 / 1e6  # /proc's "kB" are KiB; the target is in MB (10^6 bytes), the strict reading
rss = kib(mine, "VmRSS") * MB
hwm = kib(mine, "VmHWM") * MB
print(f"daemon_idle: RSS {rss:.1f} MB (peak {hwm:.1f} MB; target < {target:.0f} MB; "
      f"{rss / target:.2f}x), {wakeups} wake-ups in {window:g} s (target 0), "
      f"{len(after)} threads, {len(workers)} worker processes"
      + (f" ({worker_rss * MB:.1f} MB RSS, peak {worker_hwm * MB:.1f} MB)" if workers else ""))
for delta, tid, name in sorted(busy, reverse=True):
    seconds = ", ".join(f"{t:.0f}" for t in when.get(tid, [])[:20])
    print(f"  thread {tid} ({name}): {delta} context switches, in second(s) {seconds} of the "
          f"window (which starts {WARMUP:g} s after the last control API request)")
if window < 300:
    print("  note: Boost.Asio's epoll reactor wakes an idle event loop every 5 min (its timerfd "
          "is never armed for longer); a window under 300 s may or may not include that wake-up")
if gone or len(after) != len(before):
    print(f"  threads came and went during the window: {len(before)} -> {len(after)}")
if rss >= target:
    print(f"daemon_idle: RSS target missed: {rss:.1f} MB >= {target:.0f} MB")
PY
DRIVER=$!
wait "$DRIVER"
DRIVER=
