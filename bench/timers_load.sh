#!/usr/bin/env bash
# timers_load — time to load 100,000 pending durable timers after a restart (open + load), against
# issue 3's target of 2 s. Usage: bench/timers_load.sh BUILD_DIR [COUNT]
set -euo pipefail

BUILD=${1:-build}
COUNT=${2:-100000}
PROGRAM=$BUILD/bench/timers_load
if [ ! -x "$PROGRAM" ]; then
  echo "timers_load: $PROGRAM not built (ninja -C $BUILD timers_load)" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reelflow-bench-timers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$PROGRAM" "$WORK" "$COUNT"
