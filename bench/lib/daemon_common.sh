# Sourced by the daemon benchmarks (daemon_idle, trigger_latency, throughput): checks that what
# they run is built, makes their work directory ($WORK), and on exit stops the daemon ($PID) and
# any load driver ($DRIVER) and removes $WORK. Set BENCH (the benchmark's name) and BUILD first.

# bench_require FILE TARGET...: FILE must exist, else say which targets build it.
bench_require() {
  local file=$1
  shift
  if [ ! -e "$file" ]; then
    echo "$BENCH: $file not built (cmake --build $BUILD --target $*)" >&2
    exit 1
  fi
}

bench_require "$BUILD/bin/reelflowd" reelflowd
bench_require "$BUILD/bin/reelflow-worker" reelflow-worker
bench_require "$BUILD/lib/reelflow/plugins/hello.so" reelflow_plugin_hello
REELFLOWD=$(realpath "$BUILD/bin/reelflowd")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reelflow-bench-$BENCH.XXXXXX")
PID=
DRIVER=
bench_cleanup() {
  if [ -n "$DRIVER" ]; then kill -TERM "$DRIVER" 2>/dev/null || true; fi
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench_start_daemon [EXTRA FLAGS...]: starts reelflowd on $WORK/workflows in $WORK (control socket
# $SOCK, log $WORK/daemon.log, pid $PID, tracking listener on a free port unless EXTRA FLAGS give
# --listen) and waits up to 20 s for its control API to answer.
SOCK=$WORK/control.sock
bench_start_daemon() {
  (cd "$WORK" && exec "$REELFLOWD" --state-dir "$WORK/state" --workflows "$WORK/workflows" \
     --listen 127.0.0.1:0 "$@" --control "unix:$SOCK" --workers 2) >"$WORK/daemon.log" 2>&1 </dev/null &
  PID=$!
  for _ in $(seq 200); do
    if ! kill -0 "$PID" 2>/dev/null; then
      echo "$BENCH: reelflowd exited during start-up:" >&2
      cat "$WORK/daemon.log" >&2
      exit 1
    fi
    curl -sf --max-time 2 --unix-socket "$SOCK" http://localhost/v1/status >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "$BENCH: the control socket did not answer within 20 s" >&2
  cat "$WORK/daemon.log" >&2
  exit 1
}
