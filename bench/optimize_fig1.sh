#!/usr/bin/env bash
# optimize_fig1 — Chapelle & Li's (NIPS 2011) Figure 1 with the daemon's Thompson-sampling
# chooser: best arm 0.5, the other K - 1 at 0.5 - eps, K in {10, 100}, eps in {0.02, 0.1}; the
# mean regret / ln T at T = 10^3 ... 10^7 beside the Lai-Robbins asymptotic lower bound on it,
# and their ratio. The paper plots this (no table), so there is no pass mark: the figure is how the
# ratio approaches 1 as T grows. 10 reps of 10^7 steps (the default) cost about 680 CPU-seconds,
# under 6 minutes on 2 idle cores (K = 100 costs ten times K = 10). Builds nothing.
# Usage: bench/optimize_fig1.sh BUILD_DIR [--reps N] [--seed S] [--horizon T] [--threads N] [--json]
set -euo pipefail

BUILD=${1:-build}
shift || true
PROGRAM=$BUILD/bench/optimize_fig1
if [ ! -x "$PROGRAM" ]; then
  echo "optimize_fig1: $PROGRAM not built (ninja -C $BUILD optimize_fig1)" >&2
  exit 1
fi
exec "$PROGRAM" "$@"
