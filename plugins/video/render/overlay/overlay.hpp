// Overlays for video.render, drawn into 8-bit BT.709 limited-range yuv420p output frames in
// place: a logo or watermark (PNG with alpha), captions (SRT or ASS sidecar, or text from the
// workflow; CJK through fonts-noto-cjk; wrapped to the safe area; outline or box style) and an
// optional title card over the first seconds. Times are seconds on the output's timeline;
// sidecar cues are mapped onto it with CaptionOptions::timeline.
//
// Thread-safety: Logo::apply is const and may run concurrently; Captions is used by one thread at
// a time.
#ifndef REELFLOW_VIDEO_RENDER_OVERLAY_OVERLAY_HPP
#define REELFLOW_VIDEO_RENDER_OVERLAY_OVERLAY_HPP

#include <memory>
#include <string>
#include <vector>

#include "media/frame.hpp"
#include "render/image.hpp"

namespace reelflow::video {

// Output pixels.
struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

struct LogoOptions {
  std::string path;                    // PNG (alpha honoured)
  std::string position = "top-right";  // top-left, top-right, bottom-left, bottom-right, center
  double margin = 0.04;                // fraction of the output width, from the safe area's edge
  double scale = 0.18;                 // logo width as a fraction of the output width
  double opacity = 1.0;                // 0 .. 1
  double start = 0;                    // output seconds
  double end = -1;                     // output seconds; -1: to the end
};

class Logo {
 public:
  // safe_area: where the logo must stay (the platform's UI-free region).
  static Result<Logo> load(const LogoOptions& options, int out_width, int out_height,
                           Rect safe_area);
  ~Logo();
  Logo(Logo&&) noexcept;
  Logo& operator=(Logo&&) noexcept;

  void apply(Yuv420& frame, double time) const;
  Rect placed() const;  // where it lands

 private:
  struct Impl;
  explicit Logo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct CaptionCue {
  double start = 0;  // seconds (source timeline for sidecar and workflow cues)
  double end = 0;
  std::string text;  // UTF-8; "\n" breaks a line
};

// Source time t shows at output time output_offset + (t - source_start) / speed.
struct Timeline {
  double source_start = 0;
  double speed = 1.0;
  double output_offset = 0;
};

// A region the title card and captions keep clear of while it shows (the logo): an event of our
// own track that would be drawn over it (or within a small gap of it) while both show moves off
// it vertically, for its whole duration: top-aligned text (the title) to below its bottom edge,
// bottom-aligned text (captions) to above its top edge. ASS sidecars keep their own layout.
struct KeepClear {
  Rect rect;         // output pixels
  double start = 0;  // output seconds
  double end = -1;   // output seconds; -1: to the end
};

struct CaptionOptions {
  std::string sidecar;            // .srt or .ass file, "" for none
  std::vector<CaptionCue> cues;   // from the workflow (used when there is no sidecar)
  Timeline timeline;              // maps cue times onto the output
  std::string style = "outline";  // "outline" or "box"
  std::string font = "Noto Sans CJK SC";
  double size = 0.045;  // text height as a fraction of the output height
  std::string colour = "#FFFFFF";
  std::string outline_colour = "#000000";
  std::string box_colour = "#000000A0";  // RRGGBBAA
  std::string title;                     // title card text over the first seconds, "" none
  double title_duration = 3.0;           // output seconds
  std::vector<KeepClear> keep_clear;     // e.g. the logo (the pipeline adds it)
};

class Captions {
 public:
  // Errors name the sidecar file and the problem (unreadable, not SRT/ASS, bad timestamp line).
  static Result<Captions> create(const CaptionOptions& options, int out_width, int out_height,
                                 Rect safe_area);
  ~Captions();
  Captions(Captions&&) noexcept;
  Captions& operator=(Captions&&) noexcept;

  bool empty() const;  // no cues and no title: the pipeline skips apply()
  void apply(Yuv420& frame, double time);

 private:
  struct Impl;
  explicit Captions(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_OVERLAY_OVERLAY_HPP
