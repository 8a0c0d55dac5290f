# Sourced by the video benchmarks (bench/extract*.sh): test media and the workflow they run.

# bench_source_video OUT SECONDS: 1920x1080 at 30 fps, H.264 High (libx264 -preset veryfast
# -crf 23, a keyframe every 2 s) with AAC audio: four lavfi sources (testsrc2, mandelbrot,
# cellauto, smptehdbars) with grain, cut into shots of 3-8 s.
bench_source_video() {
  local out=$1 length=$2 parts=() filter="" i=0 at=0
  local sources=("testsrc2=size=1920x1080:rate=30" "mandelbrot=size=1920x1080:rate=30"
                 "cellauto=size=1920x1080:rate=30:rule=110" "smptehdbars=size=1920x1080:rate=30")
  while [ "$at" -lt "$length" ]; do
    local shot=$(( 3 + (i * 7) % 6 ))
    [ $((at + shot)) -gt "$length" ] && shot=$((length - at))
    filter+="${sources[$((i % 4))]},trim=duration=$shot,setpts=PTS-STARTPTS,format=yuv420p,noise=alls=3:allf=t[v$i];"
    parts+=("[v$i]")
    at=$((at + shot)); i=$((i + 1))
  done
  filter+="$(IFS=; echo "${parts[*]}")concat=n=$i:v=1:a=0[v]"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=frequency=330:sample_rate=48000" \
    -filter_complex "$filter" -map '[v]' -map 0:a -t "$length" \
    -c:v libx264 -preset veryfast -crf 23 -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k \
    -movflags +faststart "$out"
}

# bench_extract_workflow OUT: video.extract (3 clips of 5-30 s, 3 covers) then video.score.
bench_extract_workflow() {
  cat >"$1" <<'YAML'
name: bench-extract
on:
  manual: {}
steps:
  - id: extract
    uses: video.extract
    with: {target: 15s, min: 5s, max: 30s, count: 3, covers: 3}
  - id: score
    uses: video.score
    with:
      clips: ${{ steps.extract.outputs.clips }}
      platform: douyin
YAML
}
