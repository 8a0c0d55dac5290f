// Audio features over any time range: EBU R128 integrated loudness and a silence / voice / music
// share, from audio streamed in once.
//
// Loudness: the audio goes through libebur128 in 100 ms steps; after each step the momentary
// loudness (the K-weighted, channel-weighted mean square of the last 400 ms, ITU-R BS.1770) is
// kept as one float. Those are exactly the overlapping 400 ms gating blocks of BS.1770-4, so the
// integrated loudness of a range is computed afterwards from the blocks that lie inside it, with
// the −70 LUFS absolute gate and the −10 LU relative gate: for the whole stream it equals
// libebur128's own ebur128_loudness_global (tested). Memory: 8 bytes per 100 ms.
//
// Classification: a heuristic, not a trained model. Every 100 ms block is silence when its
// level (mean square over channels) is below −50 dBFS. Otherwise it takes the class of the
// one-second window centred on it, from 20 ms sub-frames of the mono mix:
//   - low-energy ratio: share of sub-frames below half the window's mean energy (speech pauses
//     between syllables and words; sustained music has few);
//   - 2–8 Hz envelope modulation: the syllable rate of speech (~4 Hz) modulates its amplitude
//     deeply; sustained tones and chords hardly;
//   - zero-crossing-rate variation: speech alternates voiced (low ZCR) and unvoiced (high ZCR)
//     sounds.
// A window is voice when those say "speech-like" together (see kVoice* in the .cpp); any other
// non-silent sound is music ("music" means "not speech": steady noise such as wind or traffic
// counts as music). Known limits: strongly percussive music (drums alone, rap over a sparse beat)
// can pass as voice; speech over loud music is usually music; singing is usually music.
//
// Thread-safety: one thread at a time.
#ifndef REELFLOW_VIDEO_FEATURES_AUDIO_ANALYSIS_HPP
#define REELFLOW_VIDEO_FEATURES_AUDIO_ANALYSIS_HPP

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "features/time_range.hpp"
#include "media/frame.hpp"

namespace reelflow::video {

enum class AudioClass : std::uint8_t { silence, voice, music };
const char* to_string(AudioClass audio_class);

struct AudioRangeFeatures {
  bool has_audio = false;      // some audio blocks fall in the range
  double loudness_lufs = -70;  // integrated (gated) loudness; −70 when silent or no audio
  double silence_ratio = 1;    // shares of the range's audio time, summing to 1
  double voice_ratio = 0;
  double music_ratio = 0;
};

// Per-window classification inputs, exposed for tests and tuning.
struct AudioWindowFeatures {
  double low_energy_ratio = 0;  // 0..1
  double modulation = 0;        // 2–8 Hz envelope modulation depth, 0..~1.5
  double zcr_variation = 0;     // coefficient of variation of the sub-frames' ZCR
};
AudioClass classify_window(const AudioWindowFeatures& window);

class AudioAnalysis {
 public:
  AudioAnalysis();
  AudioAnalysis(AudioAnalysis&&) noexcept;
  AudioAnalysis& operator=(AudioAnalysis&&) noexcept;
  ~AudioAnalysis();

  // Chunks in time order. A gap in the chunk times (up to 10 minutes) is filled with silence; an
  // overlap or a larger jump is treated as timestamp jitter and the audio taken as contiguous.
  // A change of channel count or sample rate continues the same time line. Audio libebur128
  // refuses (e.g. more than 64 channels) stops the analysis: problem() says why.
  void add(const AudioChunk& chunk);
  // Classifies the last blocks; call once after the last add().
  void finish();

  AudioRangeFeatures range(TimeRange range) const;
  // Integrated loudness of the range in LUFS, −70 when nothing passes the absolute gate.
  double integrated_loudness(TimeRange range) const;

  double start_time() const { return start_time_; }
  double block_seconds() const { return block_seconds_; }
  std::size_t block_count() const { return blocks_.size(); }
  AudioClass block_class(std::size_t block) const { return blocks_[block].audio_class; }
  // The window features behind each block's class, when kept (keep_window_features(true)).
  const std::vector<AudioWindowFeatures>& window_features() const { return windows_; }
  void keep_window_features(bool keep) { keep_windows_ = keep; }
  const std::string& problem() const { return problem_; }

 private:
  struct Block {
    float energy = -1;  // 400 ms block ending here; −1 before 400 ms of audio
    AudioClass audio_class = AudioClass::silence;
    bool classified = false;
  };
  struct SubFrame {
    float energy = 0;
    float zero_crossings = 0;  // per sample
  };
  struct Meter;

  bool open_meter(int channels, int sample_rate);
  void feed(const float* samples, int frames);
  void complete_block();
  void classify_pending(bool final);
  // Indices [first, last) of the blocks that can matter for `range` (a superset).
  std::pair<std::size_t, std::size_t> blocks_near(TimeRange range) const;
  AudioWindowFeatures window_features_ending_at(
      std::size_t count) const;  // the last `count` sub-frames

  std::unique_ptr<Meter> meter_;
  int channels_ = 0;
  int sample_rate_ = 0;
  int block_frames_ = 0;  // samples per channel in 100 ms
  double start_time_ = 0;
  double block_seconds_ = 0.1;
  double next_time_ = 0;  // time of the next expected sample
  bool started_ = false;
  std::vector<float> pending_;  // interleaved samples of the current block
  int pending_frames_ = 0;
  std::vector<Block> blocks_;
  std::deque<SubFrame> recent_;  // the last second of sub-frames (50)
  std::size_t classified_until_ = 0;
  std::int64_t blocks_since_open_ = 0;
  std::vector<AudioWindowFeatures> windows_;
  bool keep_windows_ = false;
  std::string problem_;
  bool failed_ = false;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_AUDIO_ANALYSIS_HPP
