#include "audio/audio_track.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>

#include "audio/loudness.hpp"
#include "audio/source_audio.hpp"
#include "audio/tempo.hpp"

namespace reelflow::video {

namespace {

// Voice detection for ducking: a peak follower on the voice over a fixed level (the voice is
// already at the loudness target when music is mixed), held for kVoiceHoldSeconds to bridge the
// pauses between words; the music's gain then glides down in kDuckAttackSeconds and back up in
// kDuckReleaseSeconds (one-pole time constants, on the gain in dB).
constexpr double kVoiceAttackSeconds = 0.005;
constexpr double kVoiceReleaseSeconds = 0.05;
constexpr double kVoiceHoldSeconds = 0.15;
constexpr double kVoiceThresholdDb = -45.0;
constexpr double kDuckAttackSeconds = 0.05;
constexpr double kDuckReleaseSeconds = 0.3;
// Source audio read before and after a retimed segment for atempo's start-up and tail.
constexpr double kTempoContextSeconds = 0.1;
// Upper bound on the length of a render's audio (memory: 23 MB per minute of 48 kHz stereo).
constexpr double kMaxSeconds = 3 * 3600;

std::int64_t frames_of(double seconds, int sample_rate) {
  return static_cast<std::int64_t>(std::llround(seconds * sample_rate));
}

double coefficient(double seconds, int sample_rate) {
  return 1.0 - std::exp(-1.0 / (seconds * sample_rate));
}

std::int64_t frame_count(const std::vector<float>& samples, int channels) {
  return static_cast<std::int64_t>(samples.size()) / channels;
}

Result<bool> append_segment(const AudioSegment& segment, const AudioOptions& options,
                            std::vector<float>& track) {
  const int rate = options.sample_rate;
  const int channels = options.channels;
  if (!(segment.speed >= 0.5 && segment.speed <= 2.0)) {
    return error("'" + segment.path + "': speed " + std::to_string(segment.speed) +
                 " is outside 0.5 .. 2.0");
  }
  if (segment.end > 0 && segment.end <= segment.start) {
    return error("'" + segment.path + "': the segment ends (" + std::to_string(segment.end) +
                 " s) before it starts (" + std::to_string(segment.start) + " s)");
  }
  if (segment.duration < 0 || segment.duration > kMaxSeconds) {
    return error("'" + segment.path + "': a segment duration of " +
                 std::to_string(segment.duration) + " s is out of range");
  }
  // A retimed segment is read with context on both sides, which atempo needs to render its ends.
  const bool retimed = segment.speed != 1.0;
  const double context = retimed ? kTempoContextSeconds : 0.0;
  const bool bounded = segment.end > 0;
  auto source = read_source_audio(segment.path, segment.start - context,
                                  bounded ? segment.end + context : 0.0, rate, channels);
  if (!source) return tl::unexpected(source.error());
  std::vector<float> samples = std::move(source->samples);
  const std::int64_t lead_in = frames_of(context, rate);
  std::int64_t natural = 0;  // frames of the segment's source range
  if (bounded) {
    natural = frames_of(segment.end - segment.start, rate);
  } else if (source->has_audio) {
    natural = std::max<std::int64_t>(0, source->audio_frames - lead_in);
  } else {
    natural = frames_of(std::max(0.0, source->media_duration - segment.start), rate);
  }
  const auto out_frames =
      static_cast<std::int64_t>(std::llround(static_cast<double>(natural) / segment.speed));
  if (retimed && source->has_audio) {
    auto changed = change_tempo(samples, rate, channels, segment.speed, lead_in, out_frames);
    if (!changed) return error("'" + segment.path + "': " + changed.error());
    samples = std::move(*changed);
  } else {
    samples.erase(samples.begin(),
                  samples.begin() + std::min(static_cast<std::ptrdiff_t>(samples.size()),
                                             static_cast<std::ptrdiff_t>(lead_in * channels)));
    samples.resize(static_cast<std::size_t>(out_frames * channels), 0.0F);
  }
  // Exactly `duration`: padded with silence or cut, so the next segment starts on time.
  if (segment.duration > 0) {
    samples.resize(static_cast<std::size_t>(frames_of(segment.duration, rate) * channels), 0.0F);
  }
  track.insert(track.end(), samples.begin(), samples.end());
  return source->has_audio;
}

// Equal-power (quarter-sine) fades in and out over the whole track.
void apply_fades(std::vector<float>& track, int sample_rate, int channels, double fade_in,
                 double fade_out) {
  const std::int64_t frames = frame_count(track, channels);
  const std::int64_t in_frames = std::min(frames, frames_of(std::max(0.0, fade_in), sample_rate));
  const std::int64_t out_frames = std::min(frames, frames_of(std::max(0.0, fade_out), sample_rate));
  const auto scale = [&](std::int64_t frame, double gain) {
    for (int c = 0; c < channels; ++c) {
      track[static_cast<std::size_t>(frame * channels + c)] *= static_cast<float>(gain);
    }
  };
  for (std::int64_t n = 0; n < in_frames; ++n) {
    scale(n,
          std::sin(std::numbers::pi / 2 * static_cast<double>(n) / static_cast<double>(in_frames)));
  }
  for (std::int64_t n = 0; n < out_frames; ++n) {
    const std::int64_t frame = frames - 1 - n;  // n frames before the end
    scale(frame, std::sin(std::numbers::pi / 2 * static_cast<double>(n) /
                          static_cast<double>(out_frames)));
  }
}

// The music's gain in dB per frame: 0 while the voice is quiet, duck_db while it is present.
std::vector<float> duck_gain_db(const std::vector<float>& voice, int sample_rate, int channels,
                                double duck_db) {
  const std::int64_t frames = frame_count(voice, channels);
  std::vector<float> gain_db(static_cast<std::size_t>(frames), 0.0F);
  const double voice_attack = coefficient(kVoiceAttackSeconds, sample_rate);
  const double voice_release = coefficient(kVoiceReleaseSeconds, sample_rate);
  const double duck_attack = coefficient(kDuckAttackSeconds, sample_rate);
  const double duck_release = coefficient(kDuckReleaseSeconds, sample_rate);
  const double threshold = std::pow(10.0, kVoiceThresholdDb / 20);
  const std::int64_t hold = frames_of(kVoiceHoldSeconds, sample_rate);
  std::int64_t last_voice = -hold - 1;
  double envelope = 0;
  double gain = 0;
  for (std::int64_t n = 0; n < frames; ++n) {
    double level = 0;
    for (int c = 0; c < channels; ++c) {
      level = std::max(
          level, static_cast<double>(std::abs(voice[static_cast<std::size_t>(n * channels + c)])));
    }
    envelope += (level - envelope) * (level > envelope ? voice_attack : voice_release);
    if (envelope > threshold) last_voice = n;
    const double target = n - last_voice <= hold ? duck_db : 0.0;
    gain += (target - gain) * (target < gain ? duck_attack : duck_release);
    gain_db[static_cast<std::size_t>(n)] = static_cast<float>(gain);
  }
  return gain_db;
}

// Mixes `music` (looped) under `track`, ducked under the voice.
Result<void> mix_music(const AudioOptions& options, std::vector<float>& track) {
  const int rate = options.sample_rate;
  const int channels = options.channels;
  const std::int64_t frames = frame_count(track, channels);
  if (frames == 0) return {};
  auto music =
      read_source_audio(options.music, 0, static_cast<double>(frames) / rate, rate, channels);
  if (!music) return tl::unexpected(music.error());
  if (!music->has_audio) return error("'" + options.music + "': the music has no audio stream");
  const std::int64_t loop = std::min(frame_count(music->samples, channels), music->audio_frames);
  if (loop <= 0) return {};
  const std::vector<float> duck = duck_gain_db(track, rate, channels, options.duck_db);
  for (std::int64_t n = 0; n < frames; ++n) {
    const auto gain = static_cast<float>(
        std::pow(10.0, (options.music_gain_db + duck[static_cast<std::size_t>(n)]) / 20));
    const std::int64_t from = n % loop;
    for (int c = 0; c < channels; ++c) {
      track[static_cast<std::size_t>(n * channels + c)] +=
          gain * music->samples[static_cast<std::size_t>(from * channels + c)];
    }
  }
  return {};
}

Result<void> check(const AudioOptions& options) {
  if (options.sample_rate < 8000 || options.sample_rate > 192000) {
    return error("audio: sample rate " + std::to_string(options.sample_rate) +
                 " Hz is out of range (8000 .. 192000)");
  }
  if (options.channels < 1 || options.channels > 8) {
    return error("audio: " + std::to_string(options.channels) +
                 " channels is out of range (1 .. 8)");
  }
  if (options.when_missing != "silent" && options.when_missing != "none") {
    return error("audio: when_missing must be \"silent\" or \"none\", not \"" +
                 options.when_missing + "\"");
  }
  if (!(options.target_lufs >= -70 && options.target_lufs <= 0)) {
    return error("audio: target_lufs " + std::to_string(options.target_lufs) +
                 " is out of range (-70 .. 0)");
  }
  if (!(options.true_peak_db >= -30 && options.true_peak_db <= 0)) {
    return error("audio: true_peak_db " + std::to_string(options.true_peak_db) +
                 " is out of range (-30 .. 0)");
  }
  return {};
}

}  // namespace

Result<AudioTrack> render_audio(const AudioOptions& options) {
  if (auto checked = check(options); !checked) return tl::unexpected(checked.error());
  AudioTrack result;
  result.sample_rate = options.sample_rate;
  result.channels = options.channels;
  std::vector<float>& track = result.samples;
  bool any_audio = false;
  for (const AudioSegment& segment : options.segments) {
    auto appended = append_segment(segment, options, track);
    if (!appended) return tl::unexpected(appended.error());
    any_audio = any_audio || *appended;
    if (static_cast<double>(frame_count(track, options.channels)) / options.sample_rate >
        kMaxSeconds) {
      return error("audio: the render is longer than " + std::to_string(kMaxSeconds) + " s");
    }
  }
  const bool has_music = !options.music.empty();
  if (!any_audio && !has_music && options.when_missing == "none") {
    result.samples.clear();
    result.present = false;
    result.input_lufs = kSilenceLufs;
    result.output_lufs = kSilenceLufs;
    result.output_true_peak_db = kSilencePeakDb;
    return result;
  }
  result.present = true;
  auto input = measure_loudness(track, options.sample_rate, options.channels, false);
  if (!input) return tl::unexpected(input.error());
  result.input_lufs = input->integrated_lufs;

  if (has_music) {
    // The voice first goes to the target, so that music_gain_db is relative to a normalised
    // voice; the mix is normalised again below.
    if (options.normalize && input->integrated_lufs > kSilenceLufs) {
      apply_gain(track, std::min(options.target_lufs - input->integrated_lufs, kMaxGainDb));
    }
    if (auto mixed = mix_music(options, track); !mixed) return tl::unexpected(mixed.error());
  }
  apply_fades(track, options.sample_rate, options.channels, options.fade_in, options.fade_out);
  // Without music or fades the track is what was measured: no second pass.
  std::optional<double> measured;
  if (!has_music && options.fade_in <= 0 && options.fade_out <= 0) {
    measured = input->integrated_lufs;
  }
  Result<Loudness> output =
      options.normalize ? normalize_loudness(track, options.sample_rate, options.channels,
                                             options.target_lufs, options.true_peak_db, measured)
                        : measure_loudness(track, options.sample_rate, options.channels);
  if (!output) return tl::unexpected(output.error());
  result.output_lufs = output->integrated_lufs;
  result.output_true_peak_db = output->true_peak_db;
  return result;
}

}  // namespace reelflow::video
