// Shot detection: splits a stream of analysis frames into shots, finding hard cuts (frame-exact),
// fades through black or white, and dissolves. Flashes (a brightness spike of a few frames after
// which the picture returns to what it was) and camera motion (pans, zooms) are not boundaries.
//
// How (details in shot_detector.cpp): every frame is reduced to a 64 px thumbnail, a soft HSV
// histogram, 32 px and 16 px colour thumbnails and a few numbers. Hard cuts: the content change
// (histogram distance plus mean pixel difference) against the neighbouring frames' changes, as
// PySceneDetect's AdaptiveDetector does, with an absolute floor. Fades: runs of flat black or white
// frames and the luma ramps into and out of them. Dissolves: frames that are a linear mix of the
// frames before and after them, at several distances, with the fine-detail energy dipping as it
// does half way through a dissolve (camera motion keeps it). Flashes: a change the picture returns
// from within max_flash_frames frames is no boundary.
//
// Contract: push() every frame of a video in presentation order, then call finish() once. Memory
// is bounded: the detector keeps tiny thumbnails of the last few dozen frames and scores of the
// last few seconds, never a full frame and nothing that grows with the video (but the list of
// boundaries, which grows with the number of shots). Times are the frames' own presentation
// timestamps, so variable frame rate is exact. Cost: about 0.1 ms per 256 px frame.
//
// Thread-safety: one thread at a time per detector; separate detectors share nothing.
#ifndef REELFLOW_VIDEO_SHOTS_SHOT_DETECTOR_HPP
#define REELFLOW_VIDEO_SHOTS_SHOT_DETECTOR_HPP

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

// One shot. Frame numbers are AnalysisFrame::index values, both ends inclusive: the shot is
// frames start_frame..end_frame. Seconds come from the frames' timestamps: start is the first
// frame's time; end is the next shot's start (for the last shot: its last frame's time plus
// duration).
struct Shot {
  int index = 0;  // 0, 1, 2, ... in order
  double start = 0;
  double end = 0;
  std::int64_t start_frame = 0;
  std::int64_t end_frame = 0;
  // How this shot begins: "start" (the first shot), "cut", "fade" (through black or white) or
  // "dissolve". A cut happens at start_frame, the first frame of the new shot. A gradual
  // transition spans transition_start..transition_end (seconds, the end exclusive) and its
  // start_frame lies inside that span: for a fade, the first frame of the fade-in (after the flat
  // frames); for a dissolve, its middle, where the new picture starts to dominate. For "start"
  // and "cut", both equal `start`.
  std::string transition = "start";
  double transition_start = 0;
  double transition_end = 0;
};

// Per-frame signals, for callers that want them (motion energy, transition frames for covers).
struct FrameScore {
  std::int64_t index = 0;
  double time = 0;
  double content = 0;         // content change from the previous frame, 0..100
  double adaptive_ratio = 0;  // content / mean content of the neighbouring frames
  double gradual = 0;         // 0..1: how well the frame is a mix of the frames around it
  double luma_mean = 0;       // 0..255
  double luma_stddev = 0;
  bool flat = false;   // a near-uniform black or white frame
  bool flash = false;  // part of a flash (a brightness spike that was not a cut)
};

struct ShotOptions {
  // Width in pixels of the thumbnail the scores are computed on.
  int thumbnail_width = 64;

  // Hard cuts (AdaptiveDetector-like): a frame is a cut when its content change is at least
  // adaptive_ratio times the mean change of the adaptive_window frames on either side, and at
  // least min_content (0..100).
  double adaptive_ratio = 3.0;
  int adaptive_window = 2;
  double min_content = 12.0;
  // Shots shorter than this are merged into their neighbour (the weaker boundary goes).
  double min_shot_seconds = 0.4;
  // A spike of at most this many frames after which the picture returns is a flash, not a cut.
  int max_flash_frames = 3;

  // Fades: frames whose luma standard deviation is below flat_stddev are flat; darker than
  // flat_dark or brighter than flat_bright, they are the black or white of a fade. Ramps into and
  // out of them are followed for up to max_fade_frames frames. Flat frames lasting a second or
  // more are a shot of their own.
  bool detect_fades = true;
  double flat_stddev = 4.0;
  double flat_dark = 24.0;
  double flat_bright = 230.0;
  int max_fade_frames = 90;

  // Dissolves: a frame is a mix (1-a)·before + a·after of the frames h before and after it (on a
  // 16 px view, each channel less its mean), with a in 0.3..0.7 and a relative residual below
  // dissolve_max_residual, for at least two h up to max_dissolve_half (at most 24); before and
  // after differ by at least dissolve_min_content, no single step makes half the change, and the
  // frame's fine-detail energy dips below 0.8 of theirs.
  bool detect_dissolves = true;
  int max_dissolve_half = 24;
  double dissolve_max_residual = 0.45;
  double dissolve_min_content = 20.0;

  // Called once per frame, in order, a few dozen frames after its push (the rest in finish()).
  std::function<void(const FrameScore&)> on_frame_score;
};

class ShotDetector {
 public:
  explicit ShotDetector(ShotOptions options = {});
  ~ShotDetector();
  ShotDetector(const ShotDetector&) = delete;
  ShotDetector& operator=(const ShotDetector&) = delete;
  ShotDetector(ShotDetector&&) noexcept;
  ShotDetector& operator=(ShotDetector&&) noexcept;

  // Frames in presentation order (8-bit BGR; grey and BGRA are accepted too); the pixels are not
  // kept beyond the call.
  void push(const AnalysisFrame& frame);

  // The shots of everything pushed (empty when nothing was). Call once; later pushes are ignored.
  std::vector<Shot> finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_SHOTS_SHOT_DETECTOR_HPP
