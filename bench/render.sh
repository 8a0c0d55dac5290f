#!/usr/bin/env bash
# render — video.render (reframe to 1080×1920 + logo + captions + fades + loudness, veryfast CRF 20)
# against the equivalent FFmpeg CLI filter graph on the same input at the same x264 preset and CRF,
# and the same pair with a 33³ LUT added to both, all in one run (issue 5's targets: ≤ 1.1× the
# FFmpeg graph without the LUT; ≥ 2× faster than FFmpeg's with lut3d). Also `mode: fill` against
# the plain FFmpeg graph, and PSNR/SSIM of our outputs against FFmpeg's.
# Usage: bench/render.sh BUILD_DIR [SECONDS]   (length of the generated video, default 20)
#
# The input: SECONDS of generated 1080p30 H.264 + AAC (bench/lib/video_common.sh); a 400×200 RGBA
# logo, an SRT with an English and a Chinese line per cue, and a warm 33³ .cube
# (bench_render_media). Each command runs 3 times, each run started when the machine is quiet
# (bench/lib/measure.py); the median wall time and the median CPU time (user + system, steadier
# when other jobs start mid-run on a shared machine) are reported.
#
# The FFmpeg graph is written to match what video.render does with these options:
# - crop to the centred 608×1080 window (video.render's window: even width, even x) and scale
#   bicubic to 1080×1920;
# - the logo scaled (area) to 194×97 and overlaid at 788,138 (scale 0.18 and margin 0.04 of the
#   width inside 5 % safe margins, top-right) — converted to YUV with BT.709, as ours is (the
#   overlay filter's automatic conversion would use BT.601);
# - libass with the SRT and force_style setting what our caption track uses: PlayRes 1080×1920,
#   Noto Sans CJK SC at 86.4 px (0.045 of the height), 6.048 px black outline (0.07 of the size),
#   no shadow, MarginV 116,
#   MarginL/R 74;
# - 1 s fade in and out (video: fade; audio: afade), audio loudnorm=I=-14:TP=-1 single pass (what
#   most people run; ours measures the whole track first, so it lands on the target and FFmpeg's
#   dynamic mode only approaches it), AAC 48 kHz;
# - with the LUT: the frame converted to RGB with BT.709 explicitly (untagged yuv420p would be
#   taken as BT.601 by the conversion FFmpeg inserts for lut3d), lut3d (tetrahedral, its default
#   and ours), back to yuv420p with BT.709.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
LENGTH=${2:-20}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/reelflow-bench-render.XXXXXX")
# BENCH_KEEP=DIR keeps the inputs and outputs there (to look at them).
trap 'if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp "$WORK"/*.* "$BENCH_KEEP"/; fi; rm -rf "$WORK"' EXIT
for need in "$BUILD/bin/reelflow" "$BUILD/lib/reelflow/plugins/video.so"; do
  [ -e "$need" ] || { echo "render: $need is not built (packaging/dev build)" >&2; exit 1; }
done
[ "$LENGTH" -ge 4 ] || { echo "render: SECONDS must be at least 4" >&2; exit 1; }

LIB="$(dirname "${BASH_SOURCE[0]}")/lib"
source "$LIB/video_common.sh"

echo "render: generating ${LENGTH} s of 1080p H.264, a logo, captions and a LUT ..." >&2
bench_source_video "$WORK/in.mp4" "$LENGTH"
bench_render_media "$WORK" "$LENGTH"
FRAMES=$(ffprobe -v error -select_streams v -show_entries stream=nb_frames -of csv=p=0 "$WORK/in.mp4")

FADE_OUT_START=$((LENGTH - 1))
CAPTION_STYLE="PlayResX=1080,PlayResY=1920,FontName=Noto Sans CJK SC,FontSize=86.4,\
PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,BorderStyle=1,Outline=6.048,Shadow=0,\
Alignment=2,MarginV=116,MarginL=74,MarginR=74"

# ffmpeg_graph OUT_SCRIPT [LUT]: the filter graph, written to a file (-filter_complex_script) so
# that no shell or filtergraph quoting meets the style's commas.
ffmpeg_graph() {
  local grade=""
  if [ -n "${2:-}" ]; then
    grade=",scale=in_color_matrix=bt709:in_range=tv:out_range=pc,format=gbrp,lut3d=file=$2,\
scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"
  fi
  cat >"$1" <<EOF
[0:v]crop=608:1080:656:0,scale=1080:1920:flags=bicubic${grade}[base];
[1:v]scale=194:97:flags=area:out_color_matrix=bt709:out_range=tv,format=yuva420p[logo];
[base][logo]overlay=788:138:format=yuv420,subtitles=filename=$WORK/captions.srt:force_style='$CAPTION_STYLE',fade=t=in:d=1,fade=t=out:st=$FADE_OUT_START:d=1,format=yuv420p[v];
[0:a]loudnorm=I=-14:TP=-1,afade=t=in:d=1,afade=t=out:st=$FADE_OUT_START:d=1[a]
EOF
}
# ffmpeg_command ARRAY SCRIPT OUTPUT: sets ARRAY to the FFmpeg command line.
ffmpeg_command() {
  local -n command=$1  # a nameref: sets the caller's array
  # shellcheck disable=SC2034
  command=(ffmpeg -nostdin -y -loglevel error -i "$WORK/in.mp4" -i "$WORK/logo.png"
           -filter_complex_script "$2" -map '[v]' -map '[a]'
           -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -g 60
           -color_primaries bt709 -color_trc bt709 -colorspace bt709
           -c:a aac -ar 48000 -movflags +faststart "$3")
}
ffmpeg_graph "$WORK/plain.graph"
ffmpeg_graph "$WORK/lut.graph" "$WORK/warm.cube"
ffmpeg_command FFMPEG_PLAIN "$WORK/plain.graph" "$WORK/ffmpeg-plain.mp4"
ffmpeg_command FFMPEG_LUT "$WORK/lut.graph" "$WORK/ffmpeg-lut.mp4"
bench_render_workflow "$WORK/center.yaml" center "$WORK/ours-center.mp4"
bench_render_workflow "$WORK/lut.yaml" center "$WORK/ours-lut.mp4" "$WORK/warm.cube"
bench_render_workflow "$WORK/fill.yaml" fill "$WORK/ours-fill.mp4"

measure() {
  python3 "$LIB/measure.py" --runs "${BENCH_RUNS:-3}" --quiet-wait "${BENCH_QUIET_WAIT:-60}" -- "$@"
}
ours() { measure "$BUILD/bin/reelflow" run "$1" --input "$WORK/in.mp4" --artifacts "$WORK/runs"; }
measured() {  # a failed command (measure.py printed why) leaves its figures empty
  [ -n "$2" ] || { echo "render: $1 failed" >&2; exit 1; }
}

echo "render: 5 commands × 3 runs ..." >&2
read -r FF_PLAIN FF_PLAIN_RSS FF_PLAIN_NQ FF_PLAIN_CPU < <(measure "${FFMPEG_PLAIN[@]}")
read -r OURS_CENTER OURS_CENTER_RSS OURS_CENTER_NQ OURS_CENTER_CPU < <(ours "$WORK/center.yaml")
read -r FF_LUT FF_LUT_RSS FF_LUT_NQ FF_LUT_CPU < <(measure "${FFMPEG_LUT[@]}")
read -r OURS_LUT OURS_LUT_RSS OURS_LUT_NQ OURS_LUT_CPU < <(ours "$WORK/lut.yaml")
read -r OURS_FILL OURS_FILL_RSS OURS_FILL_NQ OURS_FILL_CPU < <(ours "$WORK/fill.yaml")
measured "the FFmpeg graph" "$FF_PLAIN_CPU"; measured "video.render center" "$OURS_CENTER_CPU"
measured "the FFmpeg graph with lut3d" "$FF_LUT_CPU"; measured "video.render + lut" "$OURS_LUT_CPU"
measured "video.render fill" "$OURS_FILL_CPU"

frames_of() { ffprobe -v error -count_packets -select_streams v -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
# compare OURS THEIRS: "PSNR_ALL PSNR_Y SSIM_ALL" of ours against FFmpeg's, frame by frame.
compare() {
  ffmpeg -nostdin -hide_banner -i "$1" -i "$2" -lavfi \
    "[0:v]split[a0][a1];[1:v]split[b0][b1];[a0][b0]psnr;[a1][b1]ssim" -f null - 2>&1 |
    python3 -c '
import re, sys
text = sys.stdin.read()
psnr = re.search(r"PSNR y:([\d.inf]+) u:[\d.inf]+ v:[\d.inf]+ average:([\d.inf]+)", text)
ssim = re.search(r"SSIM .*All:([\d.]+)", text)
print(psnr.group(2), psnr.group(1), ssim.group(1))'
}
loudness_of() {  # integrated LUFS and true peak of a file (ebur128, 4× oversampled peak)
  ffmpeg -nostdin -hide_banner -i "$1" -map 0:a -af ebur128=peak=true -f null - 2>&1 |
    python3 -c '
import re, sys
text = sys.stdin.read().split("Summary:")[-1]
print(re.search(r"I:\s+(-?[\d.]+) LUFS", text).group(1), re.search(r"Peak:\s+(-?[\d.]+) dBFS", text).group(1))'
}

python3 - "$LENGTH" "$FRAMES" "${BENCH_RUNS:-3}" \
  "$FF_PLAIN $FF_PLAIN_RSS $FF_PLAIN_NQ $FF_PLAIN_CPU $(frames_of "$WORK/ffmpeg-plain.mp4") - - - $(loudness_of "$WORK/ffmpeg-plain.mp4")" \
  "$OURS_CENTER $OURS_CENTER_RSS $OURS_CENTER_NQ $OURS_CENTER_CPU $(frames_of "$WORK/ours-center.mp4") $(compare "$WORK/ours-center.mp4" "$WORK/ffmpeg-plain.mp4") $(loudness_of "$WORK/ours-center.mp4")" \
  "$OURS_FILL $OURS_FILL_RSS $OURS_FILL_NQ $OURS_FILL_CPU $(frames_of "$WORK/ours-fill.mp4") $(compare "$WORK/ours-fill.mp4" "$WORK/ffmpeg-plain.mp4") $(loudness_of "$WORK/ours-fill.mp4")" \
  "$FF_LUT $FF_LUT_RSS $FF_LUT_NQ $FF_LUT_CPU $(frames_of "$WORK/ffmpeg-lut.mp4") - - - $(loudness_of "$WORK/ffmpeg-lut.mp4")" \
  "$OURS_LUT $OURS_LUT_RSS $OURS_LUT_NQ $OURS_LUT_CPU $(frames_of "$WORK/ours-lut.mp4") $(compare "$WORK/ours-lut.mp4" "$WORK/ffmpeg-lut.mp4") $(loudness_of "$WORK/ours-lut.mp4")" <<'PY'
import sys
length, source_frames, runs = sys.argv[1], sys.argv[2], sys.argv[3]
names = ["ffmpeg crop,scale,overlay,subtitles,fade + loudnorm", "video.render center",
         "video.render fill", "ffmpeg ... + lut3d 33^3", "video.render center + lut 33^3"]
rows = []
for name, fields in zip(names, sys.argv[4:]):
    wall, rss, not_quiet, cpu, frames, psnr, psnr_y, ssim, lufs, peak = fields.split()
    rows.append(dict(name=name, wall=float(wall), cpu=float(cpu), rss=rss, nq=int(not_quiet), frames=int(frames),
                     psnr=psnr, psnr_y=psnr_y, ssim=ssim, lufs=lufs, peak=peak))
ff, center, fill, ff_lut, lut = rows
print(f"render: {length} s of 1080p30 H.264 ({source_frames} frames) -> 1080x1920, veryfast CRF 20, "
      f"median of {runs} runs")
print(f"  {'':52} {'frames':>6} {'wall s':>7} {'fps':>6} {'ratio':>6} {'CPU s':>6} {'ratio':>6}  {'PSNR dB (Y)':>13} {'SSIM':>6}"
      f"  {'LUFS':>6} {'peak':>5}  RSS MB")
def line(row, against):
    ratio, cpu_ratio = row["wall"] / against["wall"], row["cpu"] / against["cpu"]
    compare = (f"{float(row['psnr']):6.2f} ({float(row['psnr_y']):5.2f}) {float(row['ssim']):6.4f}" if row["psnr"] != "-"
               else f"{'-':>13} {'-':>6}")
    nq = f"  ({row['nq']} of {runs} runs not quiet)" if row["nq"] else ""
    print(f"  {row['name']:52} {row['frames']:6d} {row['wall']:7.2f} "
          f"{row['frames'] / row['wall']:6.1f} {ratio:5.2f}x {row['cpu']:6.1f} {cpu_ratio:5.2f}x  {compare}  {row['lufs']:>6} "
          f"{row['peak']:>5}  {row['rss']:>6}{nq}")
for row in rows:
    line(row, ff)
print(f"  plain graph: ours/FFmpeg {center['wall'] / ff['wall']:.2f}x wall, "
      f"{center['cpu'] / ff['cpu']:.2f}x CPU (target <= 1.1x); fill {fill['wall'] / ff['wall']:.2f}x wall, "
      f"{fill['cpu'] / ff['cpu']:.2f}x CPU")
print(f"  with the LUT: FFmpeg/ours {ff_lut['wall'] / lut['wall']:.2f}x wall, "
      f"{ff_lut['cpu'] / lut['cpu']:.2f}x CPU (target >= 2x); CPU per frame the LUT adds: FFmpeg "
      f"{(ff_lut['cpu'] - ff['cpu']) / ff_lut['frames'] * 1000:.1f} ms, ours "
      f"{(lut['cpu'] - center['cpu']) / lut['frames'] * 1000:.1f} ms")
print("  ratios: to the plain FFmpeg graph; PSNR/SSIM: ours against FFmpeg's output of the same "
      "graph (fill: against the centred crop)")
PY
