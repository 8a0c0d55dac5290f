#include "features/audio_analysis.hpp"

#include <ebur128.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <numbers>

namespace reelflow::video {

namespace {

constexpr int kSubFramesPerBlock = 5;      // 20 ms each
constexpr std::size_t kWindowBlocks = 10;  // one second
constexpr std::size_t kWindowSubFrames = kWindowBlocks * kSubFramesPerBlock;
constexpr std::int64_t kBlocksPerGatingBlock = 4;  // 400 ms
constexpr double kSilenceLevel = 1e-5;             // −50 dBFS mean square
constexpr double kMaxGapSeconds = 600;
constexpr double kAbsoluteGateLufs = -70;
constexpr double kRelativeGateLu = -10;

// Voice when the window is speech-like on pauses and syllable-rate modulation, or on a strong
// voiced/unvoiced alternation with some of both. Tuned on generated signals (audio_test.cpp):
// sustained chords measure ler < 0.1 and modulation < 0.1; modulated noise bursts and the
// synthetic voiced/unvoiced syllables measure ler > 0.4 and modulation > 0.6.
constexpr double kVoiceLowEnergy = 0.3;
constexpr double kVoiceModulation = 0.35;
constexpr double kVoiceZcrVariation = 0.9;
constexpr double kVoiceZcrLowEnergy = 0.2;
constexpr double kVoiceZcrModulation = 0.2;

double lufs_to_energy(double lufs) { return std::pow(10.0, (lufs + 0.691) / 10); }
double energy_to_lufs(double energy) { return -0.691 + 10 * std::log10(energy); }

}  // namespace

const char* to_string(AudioClass audio_class) {
  switch (audio_class) {
    case AudioClass::silence:
      return "silence";
    case AudioClass::voice:
      return "voice";
    case AudioClass::music:
      return "music";
  }
  return "silence";
}

AudioClass classify_window(const AudioWindowFeatures& window) {
  const bool pauses_and_syllables =
      window.low_energy_ratio >= kVoiceLowEnergy && window.modulation >= kVoiceModulation;
  const bool voiced_unvoiced = window.zcr_variation >= kVoiceZcrVariation &&
                               window.low_energy_ratio >= kVoiceZcrLowEnergy &&
                               window.modulation >= kVoiceZcrModulation;
  return pauses_and_syllables || voiced_unvoiced ? AudioClass::voice : AudioClass::music;
}

struct AudioAnalysis::Meter {
  ebur128_state* state = nullptr;
  Meter() = default;
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;
  ~Meter() {
    if (state != nullptr) ebur128_destroy(&state);
  }
};

AudioAnalysis::AudioAnalysis() = default;
AudioAnalysis::AudioAnalysis(AudioAnalysis&&) noexcept = default;
AudioAnalysis& AudioAnalysis::operator=(AudioAnalysis&&) noexcept = default;
AudioAnalysis::~AudioAnalysis() = default;

bool AudioAnalysis::open_meter(int channels, int sample_rate) {
  auto meter = std::make_unique<Meter>();
  meter->state = ebur128_init(static_cast<unsigned>(channels),
                              static_cast<unsigned long>(sample_rate), EBUR128_MODE_M);
  if (meter->state == nullptr) {
    problem_ = "audio analysis stopped: libebur128 does not take " + std::to_string(channels) +
               " channels at " + std::to_string(sample_rate) + " Hz";
    failed_ = true;
    return false;
  }
  meter_ = std::move(meter);
  channels_ = channels;
  sample_rate_ = sample_rate;
  block_frames_ = (sample_rate + 5) / 10;  // as libebur128 counts 100 ms
  block_seconds_ = static_cast<double>(block_frames_) / sample_rate;
  pending_.assign(static_cast<std::size_t>(block_frames_) * channels, 0.0F);
  pending_frames_ = 0;
  blocks_since_open_ = 0;
  return true;
}

void AudioAnalysis::add(const AudioChunk& chunk) {
  if (failed_ || chunk.samples == nullptr || chunk.frames <= 0 || chunk.channels <= 0 ||
      chunk.sample_rate <= 0) {
    return;
  }
  if (!started_) {
    start_time_ = chunk.time;
    next_time_ = chunk.time;
    started_ = true;
  }
  if (chunk.channels != channels_ || chunk.sample_rate != sample_rate_) {
    if (pending_frames_ > 0) {  // finish the block with silence: the time line stays whole
      std::fill(pending_.begin() + static_cast<std::ptrdiff_t>(pending_frames_) * channels_,
                pending_.end(), 0.0F);
      pending_frames_ = block_frames_;
      complete_block();
    }
    if (!open_meter(chunk.channels, chunk.sample_rate)) return;
  }
  const double gap = chunk.time - next_time_;
  if (gap > block_seconds_ && gap <= kMaxGapSeconds) {
    const std::vector<float> silence(static_cast<std::size_t>(block_frames_) * channels_, 0.0F);
    auto missing = static_cast<std::int64_t>(std::llround(gap * sample_rate_));
    while (missing > 0) {
      const int frames = static_cast<int>(std::min<std::int64_t>(missing, block_frames_));
      feed(silence.data(), frames);
      missing -= frames;
    }
  }
  feed(chunk.samples, chunk.frames);
}

void AudioAnalysis::feed(const float* samples, int frames) {
  next_time_ += static_cast<double>(frames) / sample_rate_;
  while (frames > 0) {
    const int take = std::min(frames, block_frames_ - pending_frames_);
    std::copy_n(samples, static_cast<std::size_t>(take) * channels_,
                pending_.begin() + static_cast<std::ptrdiff_t>(pending_frames_) * channels_);
    pending_frames_ += take;
    samples += static_cast<std::ptrdiff_t>(take) * channels_;
    frames -= take;
    if (pending_frames_ == block_frames_) complete_block();
  }
}

void AudioAnalysis::complete_block() {
  ebur128_add_frames_float(meter_->state, pending_.data(), static_cast<std::size_t>(block_frames_));
  pending_frames_ = 0;
  ++blocks_since_open_;

  Block block;
  if (blocks_since_open_ >= kBlocksPerGatingBlock) {
    double momentary = 0;
    if (ebur128_loudness_momentary(meter_->state, &momentary) == EBUR128_SUCCESS) {
      block.energy = std::isfinite(momentary) ? static_cast<float>(lufs_to_energy(momentary)) : 0;
    }
  }

  // Level over all channels, and the mono mix's sub-frames for the classifier.
  double sum_squares = 0;
  for (const float sample : pending_) sum_squares += static_cast<double>(sample) * sample;
  const double level = sum_squares / static_cast<double>(pending_.size());
  for (int part = 0; part < kSubFramesPerBlock; ++part) {
    const int begin = block_frames_ * part / kSubFramesPerBlock;
    const int end = block_frames_ * (part + 1) / kSubFramesPerBlock;
    double energy = 0;
    int crossings = 0;
    float previous = 0;
    for (int frame = begin; frame < end; ++frame) {
      float mono = 0;
      for (int channel = 0; channel < channels_; ++channel) {
        mono += pending_[static_cast<std::size_t>(frame) * channels_ + channel];
      }
      mono /= static_cast<float>(channels_);
      energy += static_cast<double>(mono) * mono;
      if (frame > begin && ((mono >= 0) != (previous >= 0))) ++crossings;
      previous = mono;
    }
    const int length = std::max(1, end - begin);
    recent_.push_back({static_cast<float>(energy / length),
                       static_cast<float>(crossings) / static_cast<float>(length)});
    if (recent_.size() > kWindowSubFrames) recent_.pop_front();
  }
  block.classified = level < kSilenceLevel;  // silence is final
  blocks_.push_back(block);
  classify_pending(false);
}

AudioWindowFeatures AudioAnalysis::window_features_ending_at(std::size_t count) const {
  AudioWindowFeatures features;
  const std::size_t first = recent_.size() - count;
  double mean_energy = 0;
  for (std::size_t i = first; i < recent_.size(); ++i) mean_energy += recent_[i].energy;
  mean_energy /= static_cast<double>(count);
  if (!(mean_energy > 0)) return features;

  int quiet = 0;
  double envelope_sum = 0;
  std::array<std::complex<double>, 16> modulation_bins{};
  // 20 ms sub-frames sample the envelope at 50 Hz; bin k of an n-point DFT is k·50/n Hz.
  const double rate = 50.0;
  const auto lowest = static_cast<std::size_t>(std::ceil(2.0 * count / rate));
  const auto highest = std::min<std::size_t>(15, static_cast<std::size_t>(8.0 * count / rate));
  double zcr_sum = 0;
  double zcr_squares = 0;
  int voiced = 0;
  for (std::size_t i = first; i < recent_.size(); ++i) {
    const SubFrame& sub = recent_[i];
    if (sub.energy < 0.5 * mean_energy) ++quiet;
    const double amplitude = std::sqrt(static_cast<double>(sub.energy));
    envelope_sum += amplitude;
    const double position = static_cast<double>(i - first);
    for (std::size_t k = std::max<std::size_t>(1, lowest); k <= highest; ++k) {
      modulation_bins[k] +=
          amplitude * std::polar(1.0, -2 * std::numbers::pi * static_cast<double>(k) * position /
                                          static_cast<double>(count));
    }
    if (sub.energy > 0.1 * mean_energy) {
      zcr_sum += sub.zero_crossings;
      zcr_squares += static_cast<double>(sub.zero_crossings) * sub.zero_crossings;
      ++voiced;
    }
  }
  features.low_energy_ratio = static_cast<double>(quiet) / static_cast<double>(count);
  if (lowest >= 1 && highest >= lowest && envelope_sum > 0) {
    double power = 0;
    for (std::size_t k = lowest; k <= highest; ++k) power += std::norm(modulation_bins[k]);
    features.modulation = 2 * std::sqrt(power) / envelope_sum;
  }
  if (voiced >= 2 && zcr_sum > 0) {
    const double mean = zcr_sum / voiced;
    const double variance = std::max(0.0, zcr_squares / voiced - mean * mean);
    features.zcr_variation = std::sqrt(variance) / mean;
  }
  return features;
}

void AudioAnalysis::classify_pending(bool final) {
  const std::size_t count = blocks_.size();
  if (!final && count < kWindowBlocks) return;
  const std::size_t window_subframes = std::min(recent_.size(), kWindowSubFrames);
  if (window_subframes == 0) return;
  const AudioWindowFeatures window = window_features_ending_at(window_subframes);
  const AudioClass window_class = classify_window(window);
  if (keep_windows_) windows_.push_back(window);
  // Blocks the window is centred on: its middle one; on the first window, the ones before as
  // well; at the end, all that are left.
  const std::size_t centre = count >= kWindowBlocks / 2 ? count - kWindowBlocks / 2 : 0;
  const std::size_t from = count == kWindowBlocks || final ? 0 : centre;
  const std::size_t to = final ? count : centre + 1;
  for (std::size_t b = from; b < to && b < count; ++b) {
    Block& block = blocks_[b];
    if (block.classified) continue;
    block.audio_class = window_class;
    block.classified = true;
  }
}

void AudioAnalysis::finish() {
  if (meter_ == nullptr || blocks_.empty()) return;
  classify_pending(true);
}

std::pair<std::size_t, std::size_t> AudioAnalysis::blocks_near(TimeRange range) const {
  // Block b spans [start + b·s, start + (b + 1)·s); its gating block reaches back 3 blocks more.
  const double count = static_cast<double>(blocks_.size());
  const double first = std::floor((range.start - start_time_) / block_seconds_) - 1;
  const double last =
      std::ceil((range.end - start_time_) / block_seconds_) + kBlocksPerGatingBlock + 1;
  return {static_cast<std::size_t>(std::clamp(first, 0.0, count)),
          static_cast<std::size_t>(std::clamp(last, 0.0, count))};
}

double AudioAnalysis::integrated_loudness(TimeRange range) const {
  // Gating blocks: the 400 ms ending with block b spans [start + (b − 3)·s, start + (b + 1)·s).
  const double epsilon = 1e-6;
  std::vector<double> energies;
  const auto [first, last] = blocks_near(range);
  for (std::size_t b = first; b < last; ++b) {
    if (blocks_[b].energy < 0) continue;
    const double end = start_time_ + static_cast<double>(b + 1) * block_seconds_;
    const double begin = end - kBlocksPerGatingBlock * block_seconds_;
    if (begin >= range.start - epsilon && end <= range.end + epsilon) {
      energies.push_back(blocks_[b].energy);
    }
  }
  if (energies.empty()) {  // shorter than 400 ms: the gating block around its middle
    const double middle = (range.start + range.end) / 2 + 2 * block_seconds_;
    const double index = std::floor((middle - start_time_) / block_seconds_);
    if (index >= 0 && index < static_cast<double>(blocks_.size())) {
      const float energy = blocks_[static_cast<std::size_t>(index)].energy;
      if (energy >= 0) energies.push_back(energy);
    }
  }
  const double absolute_gate = lufs_to_energy(kAbsoluteGateLufs);
  double sum = 0;
  int counted = 0;
  for (const double energy : energies) {
    if (energy >= absolute_gate) {
      sum += energy;
      ++counted;
    }
  }
  if (counted == 0) return kAbsoluteGateLufs;
  const double relative_gate = sum / counted * std::pow(10.0, kRelativeGateLu / 10);
  sum = 0;
  counted = 0;
  for (const double energy : energies) {
    if (energy >= absolute_gate && energy >= relative_gate) {
      sum += energy;
      ++counted;
    }
  }
  if (counted == 0) return kAbsoluteGateLufs;
  return std::max(kAbsoluteGateLufs, energy_to_lufs(sum / counted));
}

AudioRangeFeatures AudioAnalysis::range(TimeRange range) const {
  AudioRangeFeatures features;
  int counts[3] = {0, 0, 0};
  int total = 0;
  const auto [first, last] = blocks_near(range);
  for (std::size_t b = first; b < last; ++b) {
    const double middle = start_time_ + (static_cast<double>(b) + 0.5) * block_seconds_;
    if (!range.contains(middle)) continue;
    ++counts[static_cast<int>(blocks_[b].audio_class)];
    ++total;
  }
  if (total == 0) return features;
  features.has_audio = true;
  features.silence_ratio = static_cast<double>(counts[0]) / total;
  features.voice_ratio = static_cast<double>(counts[1]) / total;
  features.music_ratio = static_cast<double>(counts[2]) / total;
  features.loudness_lufs = integrated_loudness(range);
  return features;
}

}  // namespace reelflow::video
