# Sourced by the video benchmarks (bench/extract*.sh, bench/render.sh): test media and the
# workflows they run.

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

# bench_render_media DIR SECONDS: what bench/render.sh overlays and grades with, in DIR:
# logo.png — 400×200 RGBA, an opaque orange disc on a translucent (alpha 120/255) red-to-yellow
#            band, so both the blend and the edges are exercised;
# captions.srt — a cue every 3 s over SECONDS, each one English line and one Chinese line, short
#            enough to fit the 9:16 safe area without wrapping (FFmpeg's libass cannot break CJK);
# warm.cube — a 33³ warm creative grade: lifted blacks, a soft S-curve, red up and blue down in
#            the highlights, a little channel mixing (smooth, so interpolation is the only error).
bench_render_media() {
  local dir=$1 length=$2
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=c=black:s=400x200" -frames:v 1 \
    -vf "format=rgba,geq=r='255':g='60+160*X/W':b='40':a='if(lt(hypot(X-200\,Y-100)\,80)\,255\,120)'" \
    "$dir/logo.png"
  python3 - "$dir" "$length" <<'PY'
import sys
directory, length = sys.argv[1], int(sys.argv[2])
english = ["Summer sale today", "Free shipping", "New colours in", "Tap to shop now",
           "Limited stock", "Made to last"]
chinese = ["夏季大促今天开始", "全场包邮", "新配色上市", "点击立即购买", "限量发售", "经久耐用"]
def stamp(seconds):
    return f"{int(seconds // 3600):02}:{int(seconds // 60 % 60):02}:{int(seconds % 60):02},{int(round(seconds * 1000)) % 1000:03}"
with open(f"{directory}/captions.srt", "w", encoding="utf-8") as srt:
    for n, start in enumerate(range(0, length, 3)):
        end = min(start + 2.8, length)
        srt.write(f"{n + 1}\n{stamp(start)} --> {stamp(end)}\n"
                  f"{english[n % len(english)]}\n{chinese[n % len(chinese)]}\n\n")
size = 33
def grade(r, g, b):
    curve = lambda v: v + 0.3 * v * (1 - v) * (2 * v - 1) + 0.04 * (1 - v)  # S, lifted blacks
    r, g, b = curve(r), curve(g), curve(b)
    r, g, b = r * 1.06 + 0.03 * g, g * 1.0 + 0.02 * r, b * 0.88 + 0.04 * g  # warm
    return [min(1.0, max(0.0, v)) for v in (r, g, b)]
with open(f"{directory}/warm.cube", "w") as cube:
    cube.write('TITLE "warm"\nLUT_3D_SIZE 33\n')
    for bi in range(size):          # red varies fastest
        for gi in range(size):
            for ri in range(size):
                r, g, b = grade(ri / (size - 1), gi / (size - 1), bi / (size - 1))
                cube.write(f"{r:.6f} {g:.6f} {b:.6f}\n")
PY
}

# bench_render_workflow OUT MODE OUTPUT [LUT]: one video.render step to 1080×1920 (reframe MODE),
# with bench_render_media's logo and captions, 1 s fades, loudness to −14 LUFS / −1 dBTP,
# veryfast CRF 20, written to OUTPUT; graded with LUT if given.
bench_render_workflow() {
  local out=$1 mode=$2 output=$3 lut=${4:-} media
  media=$(dirname "$output")
  cat >"$out" <<YAML
name: bench-render
on:
  manual: {}
steps:
  - id: render
    uses: video.render
    with:
      width: 1080
      height: 1920
      mode: $mode
      logo: $media/logo.png
      captions: $media/captions.srt
      fade_in: 1s
      fade_out: 1s
      loudness: -14
      true_peak: -1
      x264_preset: veryfast
      crf: 20
      output: $output
YAML
  if [ -n "$lut" ]; then echo "      lut: $lut" >>"$out"; fi
}
