#!/usr/bin/env bash
# extract_memory — peak RSS of video.extract + video.score on 1080p inputs of different lengths
# (issue 4: flat with the length; a 2-hour 1080p input under 500 MB). Usage:
#   bench/extract_memory.sh BUILD_DIR [MINUTES...]     (default: 1 10 60)
#
# Each input is one generated minute of 1080p30 H.264 + AAC (four lavfi sources with grain, shots
# of 3-8 s, as in bench/extract.sh) repeated with FFmpeg's concat demuxer and stream copy, so a
# long input costs no encoding. Peak RSS is the reelflow process's ru_maxrss (the offline runner
# runs the steps in its own process, like one worker).
set -euo pipefail

BUILD=$(realpath "${1:-build}")
shift || true
LENGTHS=("$@")
[ ${#LENGTHS[@]} -gt 0 ] || LENGTHS=(1 10 60)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/reelflow-bench-extract-memory.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/lib/video_common.sh"

echo "extract_memory: generating one minute of 1080p H.264 ..." >&2
bench_source_video "$WORK/minute.mp4" 60
bench_extract_workflow "$WORK/extract.yaml"

printf 'extract_memory: peak RSS of video.extract + video.score (offline run), 1080p30 H.264\n'
printf '  %8s %10s %10s %12s\n' "minutes" "wall s" "fps" "peak RSS MB"
for minutes in "${LENGTHS[@]}"; do
  : >"$WORK/list.txt"
  for _ in $(seq 1 "$minutes"); do echo "file '$WORK/minute.mp4'" >>"$WORK/list.txt"; done
  ffmpeg -nostdin -loglevel error -y -f concat -safe 0 -i "$WORK/list.txt" -c copy \
    -movflags +faststart "$WORK/in.mp4"
  python3 - "$BUILD/bin/reelflow" "$WORK" "$minutes" <<'PY'
import resource, subprocess, sys, time
reelflow, work, minutes = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.monotonic()
done = subprocess.run([reelflow, "run", f"{work}/extract.yaml", "--input", f"{work}/in.mp4",
                       "--artifacts", f"{work}/runs"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE)
wall = time.monotonic() - start
if done.returncode != 0:
    sys.stderr.write(done.stderr.decode(errors="replace")[-3000:])
    sys.exit(f"extract_memory: the run on {minutes} min failed")
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"  {minutes:8d} {wall:10.1f} {minutes * 60 * 30 / wall:10.1f} {rss:12.0f}")
PY
  rm -rf "$WORK/runs" "$WORK/in.mp4"
done
