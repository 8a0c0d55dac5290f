#!/usr/bin/env bash
# The demo behind `packaging/dev demo`: a fresh state dir under build/demo/, a generated sample
# video, and workflows/demo.yaml run on it. Usage: packaging/demo.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:?usage: demo.sh BUILD_DIR}
DEMO=$BUILD/demo
REELFLOW=$BUILD/bin/reelflow

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

rm -rf "$DEMO"
mkdir -p "$DEMO/inbox" "$DEMO/runs"

say "generating a 6-second sample video (three shots, a tone) in $DEMO/inbox"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=30:duration=2" \
  -f lavfi -i "smptebars=size=640x360:rate=30:duration=2" \
  -f lavfi -i "mandelbrot=size=640x360:rate=30,trim=duration=2" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=6" \
  -filter_complex "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]" \
  -map "[v]" -map 3:a -c:v libx264 -preset veryfast -c:a aac -movflags +faststart \
  "$DEMO/inbox/sample.mp4"

say "validating every workflow in workflows/"
"$REELFLOW" validate "$ROOT"/workflows/*.yaml

say "plugins available"
"$REELFLOW" plugins

say "running workflows/demo.yaml on the sample (offline, no daemon)"
"$REELFLOW" run "$ROOT/workflows/demo.yaml" --input "$DEMO/inbox/sample.mp4" \
  --artifacts "$DEMO/runs"

run_dir=$(ls -d "$DEMO"/runs/*/ | head -1)
say "done. Everything is under $DEMO"
cat >&2 <<TXT
  sample video:  $DEMO/inbox/sample.mp4
  run artifacts: $run_dir
  a stamp:       ${run_dir}stamp/stamp.json

Next: edit workflows/demo.yaml and check it with
  $REELFLOW validate workflows/demo.yaml
Nothing was left running.
TXT
