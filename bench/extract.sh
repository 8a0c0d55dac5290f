#!/usr/bin/env bash
# extract — the full video.extract + video.score pass over a 1080p H.264 video against the decode
# floor, `ffmpeg -threads 2 -i IN -an -f null -`, and FFmpeg's scene-change filter (`scdet`), all
# three on the same file in one run (issue 4's target: extract + score ≤ 1.2× the floor).
# Usage: bench/extract.sh BUILD_DIR [SECONDS]   (length of the generated video, default 60)
#
# The video: SECONDS of generated 1080p30 H.264 + AAC (bench/lib/video_common.sh; about 6 Mb/s,
# shots of 3-8 s). Each program runs 3 times, each run started when the machine is quiet
# (bench/lib/measure.py); the median wall time is reported. The run is the
# offline runner (`reelflow run`), so the figure includes starting the CLI, loading the plugins
# and LibTorch, cutting the clips and writing the covers and the contact sheet.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
SECONDS_LONG=${2:-60}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/reelflow-bench-extract.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for need in "$BUILD/bin/reelflow" "$BUILD/lib/reelflow/plugins/video.so"; do
  [ -e "$need" ] || { echo "extract: $need is not built (packaging/dev build)" >&2; exit 1; }
done

source "$(dirname "${BASH_SOURCE[0]}")/lib/video_common.sh"

echo "extract: generating ${SECONDS_LONG} s of 1080p H.264 ..." >&2
bench_source_video "$WORK/in.mp4" "$SECONDS_LONG"
FRAMES=$(ffprobe -v error -select_streams v -show_entries stream=nb_frames -of csv=p=0 "$WORK/in.mp4")
BITRATE=$(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$WORK/in.mp4")

bench_extract_workflow "$WORK/extract.yaml"

# Median wall seconds and peak RSS (MB) of a command over 3 quiet-gated runs (bench/lib/measure.py).
measure() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/lib/measure.py" --runs 3 -- "$@" | cut -d' ' -f1,2
}

read -r FLOOR FLOOR_RSS < <(measure ffmpeg -nostdin -threads 2 -i "$WORK/in.mp4" -an -f null -)
read -r SCDET _ < <(measure ffmpeg -nostdin -threads 2 -i "$WORK/in.mp4" -vf scdet -an -f null -)
read -r OURS OURS_RSS < <(measure "$BUILD/bin/reelflow" run "$WORK/extract.yaml" \
  --input "$WORK/in.mp4" --artifacts "$WORK/runs")

python3 - "$FRAMES" "$BITRATE" "$FLOOR" "$SCDET" "$OURS" "$OURS_RSS" "$SECONDS_LONG" <<'PY'
import sys
frames, bitrate, floor, scdet, ours, rss, length = sys.argv[1:]
frames, floor, scdet, ours = int(frames), float(floor), float(scdet), float(ours)
print(f"extract: {length} s of 1080p30 H.264 ({frames} frames, {int(bitrate) / 1e6:.1f} Mb/s), "
      "median of 3 runs, 2 decoder threads")
print(f"  ffmpeg decode floor      {floor:7.2f} s  {frames / floor:6.1f} fps  1.00x")
print(f"  ffmpeg scdet             {scdet:7.2f} s  {frames / scdet:6.1f} fps  {scdet / floor:.2f}x")
print(f"  video.extract + score    {ours:7.2f} s  {frames / ours:6.1f} fps  {ours / floor:.2f}x "
      f"of the floor (target <= 1.2x), {ours / scdet:.2f}x of scdet; peak RSS {rss} MB")
PY
