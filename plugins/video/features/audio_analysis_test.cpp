// Loudness against the EBU R128 / BS.1770 relations and libebur128 itself; silence, voice and
// music classes on generated signals.
#include "features/audio_analysis.hpp"

#include <ebur128.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <vector>

namespace reelflow::video {
namespace {

constexpr int kRate = 48000;

double dbfs_to_amplitude(double dbfs) { return std::pow(10.0, dbfs / 20); }

// Interleaved samples of `seconds` of signal(t, channel).
template <typename Signal>
std::vector<float> generate(double seconds, int channels, Signal signal, int rate = kRate) {
  const auto frames = static_cast<std::size_t>(seconds * rate);
  std::vector<float> samples(frames * static_cast<std::size_t>(channels));
  for (std::size_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / rate;
    for (int c = 0; c < channels; ++c) {
      samples[i * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)] =
          static_cast<float>(signal(t, c));
    }
  }
  return samples;
}

std::vector<float> sine(double seconds, double frequency, double dbfs, int channels = 1) {
  const double amplitude = dbfs_to_amplitude(dbfs);  // peak-referred: a full-scale sine is 0 dBFS
  return generate(seconds, channels, [&](double t, int) {
    return amplitude * std::sin(2 * std::numbers::pi * frequency * t);
  });
}

// Feeds `samples` in chunks of `chunk` frames, starting at `start` seconds.
void feed(AudioAnalysis& analysis, const std::vector<float>& samples, int channels,
          double start = 0, int chunk = 1024, int rate = kRate) {
  const int frames = static_cast<int>(samples.size()) / channels;
  for (int offset = 0; offset < frames; offset += chunk) {
    AudioChunk piece;
    piece.time = start + static_cast<double>(offset) / rate;
    piece.samples = samples.data() + static_cast<std::ptrdiff_t>(offset) * channels;
    piece.frames = std::min(chunk, frames - offset);
    piece.channels = channels;
    piece.sample_rate = rate;
    analysis.add(piece);
  }
}

double libebur128_global(const std::vector<float>& samples, int channels) {
  ebur128_state* state = ebur128_init(static_cast<unsigned>(channels), kRate, EBUR128_MODE_I);
  ebur128_add_frames_float(state, samples.data(),
                           samples.size() / static_cast<std::size_t>(channels));
  double loudness = 0;
  ebur128_loudness_global(state, &loudness);
  ebur128_destroy(&state);
  return loudness;
}

TEST(Loudness, MonoSineAtMinus20DbfsIsMinus23Lufs) {
  // BS.1770: a 1 kHz sine has mean square A²/2 (−3.01 dB re. full scale) and the K-weighting
  // gain at 1 kHz (+0.69 dB) cancels the −0.691 offset: −20 dBFS reads −23.0 LUFS on one channel.
  const std::vector<float> samples = sine(10, 1000, -20);
  AudioAnalysis analysis;
  feed(analysis, samples, 1);
  analysis.finish();
  const double loudness = analysis.integrated_loudness({0, 10});
  EXPECT_NEAR(loudness, -23.0, 0.1);
  EXPECT_NEAR(loudness, libebur128_global(samples, 1), 0.01);
}

TEST(Loudness, StereoSineOfEbuTech3341Case1) {
  // EBU Tech 3341 test 1: stereo 1 kHz sine at −23 dBFS per channel → −23.0 ± 0.1 LUFS.
  const std::vector<float> samples = sine(20, 1000, -23, 2);
  AudioAnalysis analysis;
  feed(analysis, samples, 2, 0, 4410);
  analysis.finish();
  EXPECT_NEAR(analysis.integrated_loudness({0, 20}), -23.0, 0.1);
  EXPECT_NEAR(analysis.range({0, 20}).loudness_lufs, -23.0, 0.1);
}

TEST(Loudness, RangesSeeTheirOwnLevelAndTheWholeMatchesLibebur128) {
  std::vector<float> samples = sine(10, 1000, -30);
  const std::vector<float> louder = sine(10, 1000, -20);
  samples.insert(samples.end(), louder.begin(), louder.end());
  AudioAnalysis analysis;
  feed(analysis, samples, 1, 0, 777);  // odd chunk size: blocks must not depend on it
  analysis.finish();
  EXPECT_NEAR(analysis.integrated_loudness({0, 10}), -33.0, 0.1);
  EXPECT_NEAR(analysis.integrated_loudness({10, 20}), -23.0, 0.1);
  EXPECT_NEAR(analysis.integrated_loudness({0, 20}), libebur128_global(samples, 1), 0.01);
  // Shorter than a gating block: the block around its middle.
  EXPECT_NEAR(analysis.integrated_loudness({15, 15.2}), -23.0, 0.2);
}

TEST(Loudness, SilenceAndNoAudioReadMinus70) {
  AudioAnalysis silent;
  feed(silent, std::vector<float>(5 * kRate, 0.0F), 1);
  silent.finish();
  const AudioRangeFeatures features = silent.range({0, 5});
  EXPECT_TRUE(features.has_audio);
  EXPECT_EQ(features.loudness_lufs, -70);
  EXPECT_NEAR(features.silence_ratio, 1, 1e-9);

  AudioAnalysis none;
  none.finish();
  const AudioRangeFeatures nothing = none.range({0, 5});
  EXPECT_FALSE(nothing.has_audio);
  EXPECT_EQ(nothing.loudness_lufs, -70);
  EXPECT_EQ(nothing.silence_ratio, 1);
}

TEST(Loudness, GapsInChunkTimesKeepTheTimeLine) {
  // 2 s of tone, a 3 s hole in the timestamps, then 2 s of a louder tone at t = 5.
  AudioAnalysis analysis;
  feed(analysis, sine(2, 1000, -30), 1, 0);
  feed(analysis, sine(2, 1000, -20), 1, 5);
  analysis.finish();
  EXPECT_NEAR(analysis.integrated_loudness({5, 7}), -23.0, 0.15);
  EXPECT_NEAR(analysis.integrated_loudness({0, 2}), -33.0, 0.15);
  const AudioRangeFeatures hole = analysis.range({2.5, 4.5});
  EXPECT_NEAR(hole.silence_ratio, 1, 1e-9);
  EXPECT_NEAR(static_cast<double>(analysis.block_count()) * analysis.block_seconds(), 7, 0.11);
}

TEST(Loudness, TooManyChannelsStopsWithAReason) {
  AudioAnalysis analysis;
  std::vector<float> samples(100 * 4800, 0.1F);
  AudioChunk chunk{
      .time = 0, .samples = samples.data(), .frames = 4800, .channels = 100, .sample_rate = kRate};
  analysis.add(chunk);
  analysis.finish();
  if (analysis.problem().empty()) GTEST_SKIP() << "this libebur128 accepts 100 channels";
  EXPECT_NE(analysis.problem().find("100 channels"), std::string::npos) << analysis.problem();
  EXPECT_FALSE(analysis.range({0, 1}).has_audio);
}

// --- Classification -------------------------------------------------------------------------

// Sustained chords (three notes with two harmonics each), changing every 0.5 s without gaps.
std::vector<float> chord_music(double seconds) {
  const double roots[] = {220.0, 293.66, 246.94, 329.63};
  return generate(seconds, 2, [&](double t, int) {
    const double root = roots[static_cast<int>(t / 0.5) % 4];
    double value = 0;
    for (const double ratio : {1.0, 1.25, 1.5}) {
      for (int harmonic = 1; harmonic <= 3; ++harmonic) {
        value += std::sin(2 * std::numbers::pi * root * ratio * harmonic * t) / (harmonic * 2.0);
      }
    }
    return 0.08 * value;
  });
}

// Speech-like: syllables at about 4 per second (random 120–220 ms bursts, 60–160 ms pauses), as
// noise only (the brief's "modulated noise bursts") or as voiced (a 110–150 Hz pulse train with
// formant-like harmonic weights) followed by an unvoiced noise consonant; a −48 dBFS room-tone
// floor keeps the pauses from being digital silence.
std::vector<float> speech_like(double seconds, bool voiced, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> gaussian(0, 1);
  std::vector<float> samples(static_cast<std::size_t>(seconds * kRate));
  std::size_t at = 0;
  while (at < samples.size()) {
    const auto burst = static_cast<std::size_t>((0.12 + 0.1 * uniform(random)) * kRate);
    const auto pause = static_cast<std::size_t>((0.06 + 0.1 * uniform(random)) * kRate);
    const double f0 = 110 + 40 * uniform(random);
    const double level = 0.1 + 0.15 * uniform(random);
    for (std::size_t i = 0; i < burst && at + i < samples.size(); ++i) {
      const double t = static_cast<double>(i) / kRate;
      const double envelope = std::sin(std::numbers::pi * static_cast<double>(i) / burst);
      double value = 0;
      const bool consonant = voiced && i > burst * 3 / 4;
      if (voiced && !consonant) {
        for (int h = 1; h <= 25; ++h) {
          const double frequency = f0 * h;
          const double formants = std::exp(-std::pow((frequency - 700) / 250, 2)) +
                                  0.6 * std::exp(-std::pow((frequency - 1200) / 300, 2)) + 0.05;
          value += formants * std::sin(2 * std::numbers::pi * frequency * t) / 3;
        }
      } else {
        value = 0.5 * gaussian(random);
      }
      samples[at + i] = static_cast<float>(level * envelope * value);
    }
    at += burst + pause;
  }
  const double floor = dbfs_to_amplitude(-48);
  for (float& sample : samples) sample += static_cast<float>(floor * gaussian(random) / 3);
  return samples;
}

AudioRangeFeatures classify(const std::vector<float>& samples, int channels, double seconds,
                            const char* name) {
  AudioAnalysis analysis;
  analysis.keep_window_features(true);
  feed(analysis, samples, channels);
  analysis.finish();
  const AudioRangeFeatures features = analysis.range({0, seconds});
  double ler = 0;
  double modulation = 0;
  double zcr = 0;
  for (const AudioWindowFeatures& window : analysis.window_features()) {
    ler += window.low_energy_ratio;
    modulation += window.modulation;
    zcr += window.zcr_variation;
  }
  const auto windows =
      static_cast<double>(std::max<std::size_t>(1, analysis.window_features().size()));
  std::printf(
      "%-22s silence %.2f voice %.2f music %.2f | mean ler %.2f modulation %.2f zcr-cv %.2f | "
      "%.1f LUFS\n",
      name, features.silence_ratio, features.voice_ratio, features.music_ratio, ler / windows,
      modulation / windows, zcr / windows, features.loudness_lufs);
  return features;
}

TEST(AudioClasses, Silence) {
  const double seconds = 6;
  const AudioRangeFeatures zeros =
      classify(std::vector<float>(static_cast<std::size_t>(seconds * kRate), 0.0F), 1, seconds,
               "digital silence");
  EXPECT_NEAR(zeros.silence_ratio, 1, 1e-9);
  std::mt19937 random(3);
  std::normal_distribution<double> gaussian(0, dbfs_to_amplitude(-62));
  std::vector<float> hiss(static_cast<std::size_t>(seconds * kRate));
  for (float& sample : hiss) sample = static_cast<float>(gaussian(random));
  EXPECT_NEAR(classify(hiss, 1, seconds, "-62 dBFS hiss").silence_ratio, 1, 1e-9);
}

TEST(AudioClasses, TonesAndChordsAreMusic) {
  const AudioRangeFeatures chords = classify(chord_music(10), 2, 10, "chords");
  EXPECT_GT(chords.music_ratio, 0.9);
  EXPECT_LT(chords.voice_ratio, 0.1);
  const AudioRangeFeatures tone = classify(sine(8, 440, -18), 1, 8, "440 Hz tone");
  EXPECT_GT(tone.music_ratio, 0.95);
}

TEST(AudioClasses, ModulatedNoiseBurstsAreVoice) {
  const AudioRangeFeatures bursts = classify(speech_like(12, false, 7), 1, 12, "noise bursts");
  EXPECT_GT(bursts.voice_ratio, 0.8);
  EXPECT_LT(bursts.music_ratio, 0.15);
}

TEST(AudioClasses, VoicedAndUnvoicedSyllablesAreVoice) {
  const AudioRangeFeatures speech = classify(speech_like(12, true, 11), 1, 12, "synthetic speech");
  EXPECT_GT(speech.voice_ratio, 0.8);
  EXPECT_LT(speech.music_ratio, 0.15);
}

TEST(AudioClasses, MixedProgrammeSplitsByTime) {
  // 4 s speech, 4 s silence, 4 s music: each range gets its class.
  std::vector<float> programme = speech_like(4, true, 5);
  programme.resize(programme.size() + 4 * kRate, 0.0F);
  std::vector<float> music = chord_music(4);
  for (std::size_t i = 0; i < music.size(); i += 2) programme.push_back(music[i]);  // left only
  AudioAnalysis analysis;
  feed(analysis, programme, 1);
  analysis.finish();
  EXPECT_GT(analysis.range({0.5, 3.5}).voice_ratio, 0.8);
  EXPECT_GT(analysis.range({4.5, 7.5}).silence_ratio, 0.95);
  EXPECT_GT(analysis.range({8.5, 11.5}).music_ratio, 0.8);
}

}  // namespace
}  // namespace reelflow::video
