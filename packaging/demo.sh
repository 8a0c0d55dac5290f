#!/usr/bin/env bash
# The demo behind `packaging/dev demo`: a fresh state dir under build/demo/, a generated sample
# video, workflows/demo.yaml run on it once offline (reelflow run) and once by the daemon
# (reelflowd picks the sample up from its inbox), then the daemon is stopped.
# Usage: packaging/demo.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:?usage: demo.sh BUILD_DIR}
DEMO=$BUILD/demo
REELFLOW=$BUILD/bin/reelflow

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

rm -rf "$DEMO"
mkdir -p "$DEMO/inbox" "$DEMO/runs"

say "generating a 12-second sample video (four shots, a tone) in $DEMO/inbox"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=30:duration=3" \
  -f lavfi -i "smptebars=size=640x360:rate=30:duration=3" \
  -f lavfi -i "mandelbrot=size=640x360:rate=30,trim=duration=3" \
  -f lavfi -i "cellauto=size=640x360:rate=30:rule=110,trim=duration=3" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=12" \
  -filter_complex "[0:v][1:v][2:v][3:v]concat=n=4:v=1:a=0,format=yuv420p[v]" \
  -map "[v]" -map 4:a -c:v libx264 -preset veryfast -c:a aac -movflags +faststart \
  "$DEMO/inbox/sample.mp4"

# Captions for video.render: a sidecar with the video's name, English and Chinese.
cat > "$DEMO/inbox/sample.srt" <<'SRT'
1
00:00:00,300 --> 00:00:03,000
Meet the new collection
认识我们的新系列

2
00:00:03,000 --> 00:00:06,000
Made for winter, light as air
为冬天而生，轻盈如风

3
00:00:06,000 --> 00:00:11,500
Order today — 今天下单
SRT

# The demo's publishing account: posts are handed over into $DEMO/published, one folder each.
# Real accounts go into the daemon's secrets file the same way (docs/publishing.md).
ACCOUNT="account.agency={\"platform\": \"folder\", \"options\": {\"path\": \"$DEMO/published\"}}"
printf '%s\n' "$ACCOUNT" > "$DEMO/secrets"
chmod 600 "$DEMO/secrets"
printf 'secrets_file: %s\n' "$DEMO/secrets" > "$DEMO/reelflowd.yaml"

say "validating every workflow in workflows/"
"$REELFLOW" validate "$ROOT"/workflows/*.yaml

say "plugins available"
"$REELFLOW" plugins

say "running workflows/demo.yaml on the sample (offline, no daemon)"
"$REELFLOW" run "$ROOT/workflows/demo.yaml" --input "$DEMO/inbox/sample.mp4" \
  --artifacts "$DEMO/runs" --accounts "$DEMO/accounts" --secrets-file "$DEMO/secrets"

run_dir=$(ls -d "$DEMO"/runs/*/ | head -1)

say "starting reelflowd on the same workflow; the sample is already in its inbox"
REELFLOWD=$BUILD/bin/reelflowd
export REELFLOW_CONTROL="unix:$DEMO/control.sock"
mkdir -p "$DEMO/workflows"
cp "$ROOT/workflows/demo.yaml" "$DEMO/workflows/"
daemon_pid=""
stop_daemon() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
  fi
}
trap stop_daemon EXIT
# The watch path `inbox` is relative to the daemon's working directory: build/demo/inbox.
(cd "$DEMO" && exec "$REELFLOWD" --config "$DEMO/reelflowd.yaml" --state-dir "$DEMO/state" \
  --workflows "$DEMO/workflows" --listen 127.0.0.1:0 \
  --control "$REELFLOW_CONTROL" --workers 2 2> "$DEMO/reelflowd.log") &
daemon_pid=$!
for _ in $(seq 1 100); do
  "$REELFLOW" status >/dev/null 2>&1 && break
  sleep 0.1
done
"$REELFLOW" status
daemon_run=""
for _ in $(seq 1 1200); do
  daemon_run=$("$REELFLOW" runs --state succeeded --json 2>/dev/null \
    | python3 -c 'import json,sys; runs=json.load(sys.stdin)["runs"]; print(runs[0]["id"] if runs else "")')
  [ -n "$daemon_run" ] && break
  sleep 0.1
done
[ -n "$daemon_run" ] || { echo "the daemon did not finish a run; its log: $DEMO/reelflowd.log" >&2; exit 1; }
"$REELFLOW" runs
"$REELFLOW" run show "$daemon_run"
"$REELFLOW" accounts
say "stopping reelflowd (SIGTERM: running steps finish, then it exits)"
stop_daemon
trap - EXIT

say "done. Everything is under $DEMO"
cat >&2 <<TXT
  sample video:      $DEMO/inbox/sample.mp4
  offline run:       $run_dir
  a stamp:           ${run_dir}stamp/stamp.json
  contact sheet:     ${run_dir}extract/contact_sheet.png (shots, clips, covers: open it)
  clips and covers:  ${run_dir}extract/clips/, ${run_dir}extract/covers/
  Douyin versions:   ${run_dir}render/ (1080x1920, title card, captions from sample.srt)
  published posts:   $DEMO/published/ (one folder per post: video.mp4 + post.json; the
                     offline run's and the daemon's, each published once)
  daemon state:      $DEMO/state (SQLite: reelflow.db; artifacts/$daemon_run/)
  daemon log:        $DEMO/reelflowd.log

Next: edit workflows/demo.yaml and check it with
  $REELFLOW validate workflows/demo.yaml
Nothing was left running.
TXT
