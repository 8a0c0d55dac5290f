// FeatureAccumulator: the features of a video, measured once in the streaming decode and then
// reported for any time range (a shot, a clip, the whole video) without holding frames.
//
// Use from the decode loop:
//
//   auto features = FeatureAccumulator::create(options);          // loads the models once
//   decode(path, decode_options,
//          [&](const AnalysisFrame& frame) { features->add_frame(frame); /* + shots */ },
//          [&](const AudioChunk& chunk) { features->add_audio(chunk); });
//   features->finish();
//   features->features(clip_range, shot_ranges).named();         // → the score model's inputs
//   select_covers(*features, shot_ranges, {0, duration}, {...}); // covers.hpp
//   features->clip_hash(clip_range);                             // near_duplicate.hpp
//   render_contact_sheet(sheet, features->thumbnails());         // contact_sheet.hpp
//
// What runs when (CPU time on a 256×144 frame, one core of the 2-core development machine;
// the test Cost.PerFrame prints them):
//   - every frame: FrameMeter (motion, sharpness, brightness, contrast, colourfulness), about
//     0.06 ms, and a "best frame of this sample window" comparison (a copy of the small frame
//     when it is the best so far);
//   - once per sample_interval (0.5 s), on the best-looking frame of that window (sharp, well
//     exposed, still): text heuristic (0.2 ms), luma entropy, PHash and a thumbnail;
//   - once per heavy_interval (1 s), on that sample too: faces (1.9 ms) and BRISQUE (2.8 ms).
//   On average about 0.27 ms per frame of 30 fps video, all included (also measured through
//   media/decoder.hpp on a 720p H.264 file). OpenCV may parallelise some of these calls over its
//   own threads; a worker that also runs decoder threads may prefer cv::setNumThreads(1).
//
// Memory: 32 bytes per frame, 40 per sample, 8 per 100 ms of audio, plus the thumbnail reel
// (17 MB at most at the defaults). For 2 hours at 30 fps: 216 000 frames × 32 B = 6.9 MB,
// 14 400 samples × 40 B = 0.6 MB, 72 000 audio blocks × 8 B = 0.6 MB: about 8 MB + 17 MB.
//
// Frames must come in presentation order with non-decreasing times (a frame whose time goes
// backwards is recorded at the previous frame's time); empty frames and frames that are not
// 8-bit BGR (CV_8UC3) are ignored.
//
// Thread-safety: one thread at a time. The const queries may run concurrently with each other
// once finish() has returned.
#ifndef REELFLOW_VIDEO_FEATURES_ACCUMULATOR_HPP
#define REELFLOW_VIDEO_FEATURES_ACCUMULATOR_HPP

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "features/audio_analysis.hpp"
#include "features/frame_metrics.hpp"
#include "features/near_duplicate.hpp"
#include "features/sample_metrics.hpp"
#include "features/thumbnails.hpp"
#include "features/time_range.hpp"
#include "media/frame.hpp"

namespace reelflow::video {

// The features of one time range. named() gives them as the flat, stably named numbers the score
// model consumes. Every value is finite. Units and ranges:
//
//   duration         s        length of the range
//   motion           0..255   mean absolute luma change per 1/30 s (frame-weighted by duration;
//                             the first frame of each shot excluded, so cuts do not count)
//   sharpness        ≥ 0      mean variance of the Laplacian (grey levels², at 256 px width):
//                             < 30 soft/blurred, 100–2000 typical sharp footage
//   brightness       0..255   mean luma
//   contrast         0..~128  mean per-frame luma standard deviation
//   colourfulness    0..~200  mean Hasler–Süsstrunk M: < 15 nearly grey, ~45 average, > 80 vivid
//   text_ratio       0..1     share of samples with on-screen text (heuristic; see detect_text)
//   face_ratio       0..1     share of face samples with at least one frontal face
//   face_area        0..1     mean largest-face area fraction over the samples that have a face
//                             (0 when none has)
//   brisque          0..100   mean BRISQUE (lower is better; ~20 clean, > 50 degraded); 50 when
//                             not measured (BRISQUE off)
//   loudness_lufs    −70..0   EBU R128 integrated loudness (gated); −70 for silence or no audio
//   silence_ratio    0..1     shares of the range's audio that is silence, voice, music
//   voice_ratio      0..1     (heuristic classes, see audio_analysis.hpp); they sum to 1;
//   music_ratio      0..1     without audio: silence 1, voice 0, music 0
//   has_audio        0 or 1
//   cuts_per_minute  ≥ 0      shot starts strictly inside the range, per minute of the range
//
// Samples happen every 0.5 s (faces and BRISQUE every 1 s): a range shorter than that takes the
// sample nearest to its middle.
struct RangeFeatures {
  double duration = 0;
  double motion = 0;
  double sharpness = 0;
  double brightness = 0;
  double contrast = 0;
  double colourfulness = 0;
  double text_ratio = 0;
  double face_ratio = 0;
  double face_area = 0;
  double brisque = 50;
  double loudness_lufs = -70;
  double silence_ratio = 1;
  double voice_ratio = 0;
  double music_ratio = 0;
  double has_audio = 0;
  double cuts_per_minute = 0;

  // In the order of the table above; the names are a contract with the score model.
  std::vector<std::pair<std::string_view, double>> named() const;
};

struct FeatureOptions {
  SampleOptions models;          // face cascade and BRISQUE files ("" turns one off)
  double sample_interval = 0.5;  // s between samples (text, entropy, PHash, thumbnail)
  double heavy_interval = 1.0;   // s between samples that also get faces and BRISQUE
  int thumbnail_box = 160;       // px, longest side of contact-sheet thumbnails
  std::size_t max_thumbnails = 400;
};

// One record per analysed frame: 32 bytes.
struct FrameRecord {
  double time = 0;
  float duration = 0;
  float motion = 0;
  float sharpness = 0;
  float brightness = 0;
  float contrast = 0;
  float colourfulness = 0;
};

// One record per sample: the best-looking frame of a sample window. 40 bytes.
struct SampleRecord {
  double time = 0;
  std::uint64_t phash = 0;
  std::uint32_t frame = 0;  // index into frames()
  float text_area = 0;      // fraction of the frame in text-like lines
  float entropy = 0;        // luma entropy, bits
  float brisque = 0;        // valid when heavy and BRISQUE is on
  float face_area = 0;      // largest face / frame; valid when heavy and faces are on
  std::uint8_t faces = 0;   // count, capped at 255; valid when heavy
  bool text = false;        // detect_text(...).present
  bool heavy = false;       // faces and BRISQUE were run
};

class FeatureAccumulator {
 public:
  // Fails when a configured model file is missing or unreadable (the error names it).
  static Result<FeatureAccumulator> create(const FeatureOptions& options = {});

  FeatureAccumulator(FeatureAccumulator&&) noexcept;
  FeatureAccumulator& operator=(FeatureAccumulator&&) noexcept;
  ~FeatureAccumulator();

  void add_frame(const AnalysisFrame& frame);
  void add_audio(const AudioChunk& chunk);
  // Ends the last sample window and the audio analysis. Call once, after the last frame.
  void finish();

  // `shots`: the video's shots in time order (for cuts_per_minute and the motion exclusion);
  // may be empty.
  RangeFeatures features(TimeRange range, std::span<const TimeRange> shots = {}) const;

  // PHashes of up to kClipHashFrames samples spread evenly over the range, avoiding uniform
  // frames (low entropy or contrast) when others exist. Empty when no sample is near the range.
  ClipHash clip_hash(TimeRange range) const;

  const std::vector<FrameRecord>& frames() const { return frames_; }
  const std::vector<SampleRecord>& samples() const { return samples_; }
  const AudioAnalysis& audio() const { return audio_; }
  const ThumbnailReel& thumbnails() const { return thumbnails_; }
  bool detects_faces() const;
  bool measures_brisque() const;
  double duration() const;  // end of the last frame, s

  // The first frame at or after `time` (frames().size() when none).
  std::size_t frame_at_or_after(double time) const;

 private:
  FeatureAccumulator(SampleAnalyzer analyzer, const FeatureOptions& options);
  void close_window();
  static double frame_appeal(const FrameMetrics& metrics);

  FeatureOptions options_;
  SampleAnalyzer analyzer_;
  FrameMeter meter_;
  AudioAnalysis audio_;
  ThumbnailReel thumbnails_;
  std::vector<FrameRecord> frames_;
  std::vector<SampleRecord> samples_;

  // The current sample window: its number, and its best-looking frame so far.
  std::int64_t window_ = -1;
  double window_origin_ = 0;
  bool window_open_ = false;
  cv::Mat window_best_;
  cv::Mat window_grey_;
  double window_best_appeal_ = 0;
  std::uint32_t window_best_frame_ = 0;
  double last_heavy_time_ = 0;
  bool heavy_done_ = false;
  bool finished_ = false;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_ACCUMULATOR_HPP
