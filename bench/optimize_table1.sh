#!/usr/bin/env bash
# optimize_table1 — Chapelle & Li's (NIPS 2011) Table 1 reproduced with the daemon's
# Thompson-sampling chooser: mean regret per feedback delay beside the paper's, the ratio, PASS/FAIL
# of issue 8's +-10%, and the wall time against issue 8's targets (20 reps under 3 min, 100 under
# 10 min, on 2 cores). Builds nothing.
# Usage: bench/optimize_table1.sh BUILD_DIR [--reps N] [--seed S] [--threads T] [--json]
set -euo pipefail

BUILD=${1:-build}
shift || true
PROGRAM=$BUILD/bench/optimize_table1
if [ ! -x "$PROGRAM" ]; then
  echo "optimize_table1: $PROGRAM not built (ninja -C $BUILD optimize_table1)" >&2
  exit 1
fi

has_reps=0
for arg in "$@"; do [ "$arg" = "--reps" ] && has_reps=1; done
if [ "$has_reps" = 0 ]; then set -- --reps 20 "$@"; fi
exec "$PROGRAM" "$@"
