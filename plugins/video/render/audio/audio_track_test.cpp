#include "audio/audio_track.hpp"

#include <ebur128.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "audio/loudness.hpp"
#include "audio/source_audio.hpp"
#include "audio/tempo.hpp"
#include "media/decoder.hpp"
#include "tests/fixtures.hpp"

namespace reelflow::video {
namespace {

using testing::ffmpeg;
using testing::MediaTest;

constexpr int kRate = 48000;
constexpr int kOneMs = kRate / 1000;

// A 25 fps H.264 picture with the given audio (lavfi expression) in MP4, AAC like a phone's.
std::string video_with_audio(const std::filesystem::path& dir, const std::string& name,
                             double seconds, const std::string& audio,
                             const std::string& audio_input_options = "") {
  return ffmpeg(dir, name,
                "-f lavfi -i testsrc2=size=160x120:rate=25:duration=" + std::to_string(seconds) +
                    " " + audio_input_options + " -f lavfi -i \"" + audio + "\" -t " +
                    std::to_string(seconds) +
                    " -map 0:v -map 1:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "
                    "-b:a 192k -movflags +faststart")
      .string();
}

// aevalsrc expression: a 1 kHz beep of amplitude 0.8 from `at` for 50 ms, silence elsewhere.
std::string beep_at(double at, double seconds) {
  const std::string begin = std::to_string(at);
  const std::string end = std::to_string(at + 0.05);
  return "aevalsrc='if(between(t," + begin + "," + end + "),0.8*sin(2*PI*1000*(t-" + begin +
         ")),0)':s=48000:d=" + std::to_string(seconds);
}

// Frame index of the first sample (first channel) louder than `threshold`, from `from`; -1: none.
std::int64_t onset(const AudioTrack& track, std::int64_t from = 0, float threshold = 0.2F) {
  const std::int64_t frames = static_cast<std::int64_t>(track.samples.size()) / track.channels;
  for (std::int64_t n = from; n < frames; ++n) {
    if (std::abs(track.samples[static_cast<std::size_t>(n * track.channels)]) > threshold) return n;
  }
  return -1;
}

double rms(const AudioTrack& track, double from, double to) {
  const auto first = static_cast<std::size_t>(from * track.sample_rate) * track.channels;
  const auto last = static_cast<std::size_t>(to * track.sample_rate) * track.channels;
  double sum = 0;
  for (std::size_t i = first; i < last; ++i) sum += track.samples[i] * track.samples[i];
  return std::sqrt(sum / static_cast<double>(last - first));
}

// Amplitude of `frequency` in the first channel between `from` and `to` seconds (Goertzel).
double amplitude_at(const AudioTrack& track, double frequency, double from, double to) {
  const auto first = static_cast<std::int64_t>(from * track.sample_rate);
  const auto last = static_cast<std::int64_t>(to * track.sample_rate);
  double re = 0;
  double im = 0;
  for (std::int64_t n = first; n < last; ++n) {
    const double phase =
        2 * std::numbers::pi * frequency * static_cast<double>(n) / track.sample_rate;
    const double x = track.samples[static_cast<std::size_t>(n * track.channels)];
    re += x * std::cos(phase);
    im += x * std::sin(phase);
  }
  return 2 * std::hypot(re, im) / static_cast<double>(last - first);
}

// The strongest frequency between 100 Hz and 4 kHz, to 1 Hz, in the first channel.
double dominant_frequency(const AudioTrack& track, double from, double to) {
  double best = 0;
  double best_amplitude = -1;
  for (double f = 100; f <= 4000; f += 10) {
    const double a = amplitude_at(track, f, from, to);
    if (a > best_amplitude) {
      best_amplitude = a;
      best = f;
    }
  }
  for (double f = best - 10; f <= best + 10; f += 1) {
    const double a = amplitude_at(track, f, from, to);
    if (a > best_amplitude) {
      best_amplitude = a;
      best = f;
    }
  }
  return best;
}

std::int64_t frames(const AudioTrack& track) {
  return static_cast<std::int64_t>(track.samples.size()) / track.channels;
}

AudioOptions plain(std::vector<AudioSegment> segments) {
  AudioOptions options;
  options.segments = std::move(segments);
  options.normalize = false;
  return options;
}

class AudioTrackTest : public MediaTest {};

TEST_F(AudioTrackTest, CutLandsABeepOnItsSample) {
  const std::string source = video_with_audio(dir_, "beep.mp4", 5, beep_at(2.0, 5));
  // From 1.5 s: the beep at 2.0 s of the source is at 0.5 s of the output.
  auto track = render_audio(plain({{source, 1.5, 3.0, 1.0, 1.5}}));
  ASSERT_TRUE(track) << track.error();
  ASSERT_TRUE(track->present);
  EXPECT_EQ(track->sample_rate, kRate);
  EXPECT_EQ(track->channels, 2);
  EXPECT_EQ(frames(*track), 3 * kRate / 2);
  EXPECT_NEAR(static_cast<double>(onset(*track)), 0.5 * kRate, kOneMs);
  // From 0 (no seek) and from 1.93 s (a cut inside an AAC frame).
  track = render_audio(plain({{source, 0, 3.0, 1.0, 3.0}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_NEAR(static_cast<double>(onset(*track)), 2.0 * kRate, kOneMs);
  track = render_audio(plain({{source, 1.93, 2.5, 1.0, 0.57}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_NEAR(static_cast<double>(onset(*track)), 0.07 * kRate, kOneMs);
}

TEST_F(AudioTrackTest, SegmentsArePaddedOrCutToTheirDuration) {
  const std::string source = video_with_audio(dir_, "beep.mp4", 3, beep_at(0.5, 3));
  // 0..2 s padded to 3 s, then 0..2 s cut to 1 s: the second beep is at 3.5 s.
  auto track = render_audio(plain({{source, 0, 2, 1.0, 3.0}, {source, 0, 2, 1.0, 1.0}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_EQ(frames(*track), 4 * kRate);
  EXPECT_NEAR(static_cast<double>(onset(*track)), 0.5 * kRate, kOneMs);
  EXPECT_NEAR(static_cast<double>(onset(*track, kRate)), 3.5 * kRate, kOneMs);
  EXPECT_LT(rms(*track, 2.0, 3.0), 1e-4);  // the padding is silence
  // Past the end of the source's audio: silence, the length is still the duration.
  track = render_audio(plain({{source, 2.5, 0, 1.0, 2.0}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_EQ(frames(*track), 2 * kRate);
  EXPECT_LT(rms(*track, 0.6, 2.0), 1e-4);
}

TEST_F(AudioTrackTest, AudioStartingAfterTheVideoStaysInSync) {
  // The audio stream starts 0.5 s after the video; its beep at 0.2 s is at 0.7 s of the video.
  const std::string source =
      video_with_audio(dir_, "late.mp4", 3, beep_at(0.2, 2.5), "-itsoffset 0.5");
  // The decoder puts the audio at the same place on the video's time line.
  double first_chunk = -1;
  auto decoded = decode(
      source, {}, [](const AnalysisFrame&) {},
      [&](const AudioChunk& chunk) {
        if (first_chunk < 0) first_chunk = chunk.time;
      });
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_NEAR(first_chunk, 0.5, 0.03);

  auto track = render_audio(plain({{source, 0, 2, 1.0, 2.0}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_NEAR(static_cast<double>(onset(*track)), 0.7 * kRate, kOneMs);
  EXPECT_LT(rms(*track, 0, 0.45), 1e-4);  // nothing before the audio starts
  track = render_audio(plain({{source, 0.6, 2, 1.0, 1.4}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_NEAR(static_cast<double>(onset(*track)), 0.1 * kRate, kOneMs);
}

// The time of the first sample louder than 0.2 in decode()'s audio chunks: where the decoder that
// video.extract uses puts it on the video's time line.
double decoder_onset(const std::string& path) {
  double found = -1;
  auto decoded = decode(
      path, {}, [](const AnalysisFrame&) {},
      [&](const AudioChunk& chunk) {
        for (int i = 0; i < chunk.frames && found < 0; ++i) {
          if (std::abs(chunk.samples[static_cast<std::ptrdiff_t>(i) * chunk.channels]) > 0.2F) {
            found = chunk.time + static_cast<double>(i) / chunk.sample_rate;
          }
        }
      });
  EXPECT_TRUE(decoded) << decoded.error();
  return found;
}

TEST_F(AudioTrackTest, TimeLineIsTheDecodersWithBFramesAndTransportStreams) {
  // B-frames (the first frame's pts is not the first packet's), delayed audio, MP4 and MPEG-TS.
  for (const std::string container : {"mp4", "ts"}) {
    SCOPED_TRACE(container);
    const std::string source =
        ffmpeg(dir_, "b." + container,
               "-f lavfi -i testsrc2=size=160x120:rate=30:duration=3 -itsoffset 0.37 -f lavfi -i "
               "\"" +
                   beep_at(1.0, 2.5) +
                   "\" -map 0:v -map 1:a -c:v libx264 -preset veryfast -bf 3 -g 15 "
                   "-pix_fmt yuv420p -c:a aac")
            .string();
    const double expected = decoder_onset(source);
    ASSERT_GT(expected, 1.2);
    auto track = render_audio(plain({{source, 0.5, 2.5, 1.0, 2.0}}));
    ASSERT_TRUE(track) << track.error();
    EXPECT_NEAR(static_cast<double>(onset(*track)) / kRate + 0.5, expected, 0.001);
  }
}

TEST_F(AudioTrackTest, AudioStartingBeforeTheVideoStaysInSync) {
  // The video starts about 0.3 s after the audio (an edit list): the audio's beep at 0.5 s is at
  // 0.5 s minus the video's start on the video's time line.
  const std::string source =
      ffmpeg(dir_, "early.mp4",
             "-itsoffset 0.3 -f lavfi -i testsrc2=size=160x120:rate=25:"
             "duration=2.7 -f lavfi -i \"" +
                 beep_at(0.5, 3) +
                 "\" -map 0:v -map 1:a -c:v libx264 -preset ultrafast "
                 "-pix_fmt yuv420p -c:a aac -fps_mode passthrough -movflags +faststart")
          .string();
  const double video_start = std::stod(testing::shell(
      "ffprobe -v error -select_streams v -show_entries stream=start_time -of csv=p=0 '" + source +
      "'"));
  ASSERT_GT(video_start, 0.25);
  auto track = render_audio(plain({{source, 0, 1, 1.0, 1.0}}));
  ASSERT_TRUE(track) << track.error();
  EXPECT_NEAR(static_cast<double>(onset(*track)), (0.5 - video_start) * kRate, kOneMs);
}

TEST_F(AudioTrackTest, SpeedKeepsPitchAndGivesTheRightLength) {
  const std::string source =
      video_with_audio(dir_, "tone.mp4", 4, "sine=frequency=440:sample_rate=48000:duration=4");
  for (const double speed : {2.0, 0.5}) {
    SCOPED_TRACE(speed);
    // duration 0: the segment's natural length, 3 s / speed.
    auto track = render_audio(plain({{source, 0.5, 3.5, speed, 0}}));
    ASSERT_TRUE(track) << track.error();
    const double seconds = static_cast<double>(frames(*track)) / kRate;
    EXPECT_NEAR(seconds, 3.0 / speed, 0.001);
    EXPECT_NEAR(dominant_frequency(*track, 0.2, seconds - 0.2), 440, 3);
    // atempo filled it: the tone (RMS 0.0625) reaches both ends.
    EXPECT_GT(rms(*track, 0, 0.01), 0.05);
    EXPECT_GT(rms(*track, seconds - 0.01, seconds), 0.05);
  }
  // change_tempo with context on both sides: full level from the first to the last sample.
  std::vector<float> tone(static_cast<std::size_t>(3.2 * kRate) * 2);
  for (std::size_t i = 0; i < tone.size(); ++i) {
    tone[i] = static_cast<float>(
        0.5 * std::sin(2 * std::numbers::pi * 440 * static_cast<double>(i / 2) / kRate));
  }
  for (const double speed : {2.0, 0.5, 1.25}) {
    SCOPED_TRACE(speed);
    const auto wanted = static_cast<std::int64_t>(std::llround(3.0 * kRate / speed));
    auto retimed = change_tempo(tone, kRate, 2, speed, kRate / 10, wanted);
    ASSERT_TRUE(retimed) << retimed.error();
    ASSERT_EQ(static_cast<std::int64_t>(retimed->size()), wanted * 2);
    AudioTrack wrapped;
    wrapped.samples = std::move(*retimed);
    const double seconds = static_cast<double>(wanted) / kRate;
    EXPECT_NEAR(rms(wrapped, 0, 0.01), 0.5 * std::sqrt(0.5), 0.05);
    EXPECT_NEAR(rms(wrapped, seconds - 0.01, seconds), 0.5 * std::sqrt(0.5), 0.05);
  }
}

// Seconds of the energy centroid of the first channel between `from` and `to`.
double centroid(const AudioTrack& track, double from, double to) {
  double energy = 0;
  double moment = 0;
  for (auto n = static_cast<std::int64_t>(from * kRate); n < static_cast<std::int64_t>(to * kRate);
       ++n) {
    const double x = track.samples[static_cast<std::size_t>(n * track.channels)];
    energy += x * x;
    moment += x * x * static_cast<double>(n);
  }
  return moment / energy / kRate;
}

TEST_F(AudioTrackTest, SpeedKeepsABeepInSync) {
  const std::string source = video_with_audio(dir_, "beep.mp4", 5, beep_at(3.0, 5));
  // The 50 ms beep 2 s after the cut's start: its middle at 2.025 s / speed.
  for (const double speed : {2.0, 1.5, 0.75, 0.5}) {
    SCOPED_TRACE(speed);
    auto track = render_audio(plain({{source, 1.0, 4.0, speed, 0}}));
    ASSERT_TRUE(track) << track.error();
    const double expected = 2.025 / speed;
    EXPECT_NEAR(centroid(*track, expected - 0.2, expected + 0.2), expected, 0.008 / speed);
  }
}

TEST_F(AudioTrackTest, FadesRiseAndFall) {
  const std::string source =
      video_with_audio(dir_, "tone.mp4", 4, "sine=frequency=440:sample_rate=48000:duration=4");
  AudioOptions options = plain({{source, 0, 4, 1.0, 4.0}});
  options.fade_in = 1.0;
  options.fade_out = 1.0;
  auto track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  double previous = 0;
  for (double t = 0; t < 1.0; t += 0.25) {
    const double level = rms(*track, t, t + 0.25);
    EXPECT_GT(level, previous * 1.05) << t;
    previous = level;
  }
  // The tone (0.125 mono, 0.088 on each of two channels), untouched.
  EXPECT_NEAR(rms(*track, 1.5, 2.5), 0.0625, 0.003);
  previous = rms(*track, 2.75, 3.0);
  for (double t = 3.0; t < 4.0; t += 0.25) {
    const double level = rms(*track, t, t + 0.25);
    EXPECT_LT(level, previous * 0.99) << t;
    previous = level;
  }
  EXPECT_LT(std::abs(track->samples.front()), 1e-3);
  EXPECT_LT(std::abs(track->samples.back()), 1e-3);
}

// Integrated loudness and true peak measured here, independently of the track's own figures.
void expect_loudness(const AudioTrack& track, double target, double ceiling) {
  ebur128_state* state = ebur128_init(static_cast<unsigned>(track.channels), kRate,
                                      EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
  ASSERT_NE(state, nullptr);
  ebur128_add_frames_float(state, track.samples.data(), static_cast<std::size_t>(frames(track)));
  double integrated = 0;
  ebur128_loudness_global(state, &integrated);
  double peak = 0;
  for (unsigned c = 0; c < static_cast<unsigned>(track.channels); ++c) {
    double channel = 0;
    ebur128_true_peak(state, c, &channel);
    peak = std::max(peak, channel);
  }
  ebur128_destroy(&state);
  EXPECT_NEAR(integrated, target, 1.0);
  EXPECT_LE(20 * std::log10(peak), ceiling);
  EXPECT_NEAR(track.output_lufs, integrated, 0.01);
}

TEST_F(AudioTrackTest, LoudnessReachesTheTargetUnderTheTruePeakCeiling) {
  const std::string quiet = video_with_audio(
      dir_, "quiet.mp4", 6, "sine=frequency=300:sample_rate=48000:duration=6,volume=-20dB");
  const std::string loud = video_with_audio(
      dir_, "loud.mp4", 6, "anoisesrc=color=pink:amplitude=1:sample_rate=48000:duration=6");
  const std::string speech_like = video_with_audio(
      dir_, "bursts.mp4", 6,
      "aevalsrc='0.9*sin(2*PI*220*t)*sin(2*PI*3*t)*gt(sin(2*PI*0.7*t),0)':s=48000:d=6");
  const std::string square =
      video_with_audio(dir_, "square.mp4", 6, "aevalsrc='0.99*sgn(sin(2*PI*100*t))':s=48000:d=6");
  for (const std::string& source : {quiet, loud, speech_like, square}) {
    SCOPED_TRACE(source);
    AudioOptions options;
    options.segments = {{source, 0, 6, 1.0, 6.0}};
    auto track = render_audio(options);
    ASSERT_TRUE(track) << track.error();
    expect_loudness(*track, -14, -1);
    EXPECT_LE(track->output_true_peak_db, -1);
  }
  // Loudness carried by 5 ms clicks at 0.9: the ceiling wins, the loudness ends 2 LU short.
  const std::string clicks = video_with_audio(
      dir_, "clicks.mp4", 6,
      "aevalsrc='0.9*lt(mod(t\\,0.25)\\,0.005)*sin(2*PI*2000*t)+0.02*sin(2*PI*200*t)':s=48000:d=6");
  AudioOptions options;
  options.segments = {{clicks, 0, 6, 1.0, 6.0}};
  auto track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  EXPECT_LE(track->output_true_peak_db, -1);
  EXPECT_NEAR(track->output_lufs, -16, 1.0);

  options.segments = {{quiet, 0, 6, 1.0, 6.0}};
  track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  // A 300 Hz sine at -38 dBFS, -3 dB on each of two channels: -41.1 - 3.0 - 0.7 + 3.0 LUFS.
  EXPECT_NEAR(track->input_lufs, -41.8, 0.5);
}

TEST_F(AudioTrackTest, SilenceStaysSilent) {
  const std::string source = video_with_audio(dir_, "silent.mp4", 2, "anullsrc=r=48000:cl=stereo");
  AudioOptions options;
  options.segments = {{source, 0, 2, 1.0, 2.0}};
  auto track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  EXPECT_TRUE(track->present);
  EXPECT_EQ(frames(*track), 2 * kRate);
  EXPECT_EQ(track->input_lufs, kSilenceLufs);
  EXPECT_EQ(track->output_lufs, kSilenceLufs);
  EXPECT_LT(rms(*track, 0, 2), 1e-6);
  // A very quiet hiss is raised by at most 30 dB.
  const std::string hiss = video_with_audio(
      dir_, "hiss.mp4", 3, "anoisesrc=amplitude=0.0003:sample_rate=48000:duration=3");
  options.segments = {{hiss, 0, 3, 1.0, 3.0}};
  track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  EXPECT_LE(track->output_lufs - track->input_lufs, 30.0 + 0.1);
}

TEST_F(AudioTrackTest, MusicDucksUnderTheVoice) {
  // Voice: 1 kHz, on for 1 s, off for 2 s. Music: 300 Hz, 4 s, looped.
  const std::string voice = video_with_audio(
      dir_, "voice.mp4", 9, "aevalsrc='lt(mod(t,3),1)*0.5*sin(2*PI*1000*t)':s=48000:d=9");
  const std::string music = ffmpeg(dir_, "music.m4a",
                                   "-f lavfi -i sine=frequency=300:sample_rate=44100:duration=4 "
                                   "-c:a aac")
                                .string();
  AudioOptions options;
  options.segments = {{voice, 0, 9, 1.0, 9.0}};
  options.music = music;
  options.duck_db = -12;
  auto track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  const double during_voice = amplitude_at(*track, 300, 0.4, 0.95);
  const double between = amplitude_at(*track, 300, 2.3, 2.95);
  EXPECT_NEAR(20 * std::log10(during_voice / between), -12, 1.0);
  // Looped: the same level in a later pause, after the music's 4 s.
  EXPECT_NEAR(amplitude_at(*track, 300, 8.3, 8.95) / between, 1.0, 0.1);
  expect_loudness(*track, -14, -1);
  // Music alone (no audio in the segments) is not ducked and is present.
  const std::string mute = ffmpeg(dir_, "mute.mp4",
                                  "-f lavfi -i testsrc2=size=160x120:rate=25:duration=3 "
                                  "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
                               .string();
  options.segments = {{mute, 0, 3, 1.0, 3.0}};
  options.when_missing = "none";
  track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  EXPECT_TRUE(track->present);
  EXPECT_NEAR(dominant_frequency(*track, 0.5, 2.5), 300, 3);
}

TEST_F(AudioTrackTest, SourceAudioKnowsWhereTheAudioEnds) {
  const std::string music = ffmpeg(dir_, "music.m4a",
                                   "-f lavfi -i sine=frequency=300:sample_rate=44100:duration=2.5 "
                                   "-c:a aac")
                                .string();
  auto source = read_source_audio(music, 0, 4, kRate, 2);
  ASSERT_TRUE(source) << source.error();
  EXPECT_TRUE(source->has_audio);
  EXPECT_EQ(source->samples.size(), static_cast<std::size_t>(4 * kRate * 2));
  EXPECT_NEAR(static_cast<double>(source->audio_frames), 2.5 * kRate, kOneMs);
  source = read_source_audio(music, 0, 0, kRate, 2);  // to the end
  ASSERT_TRUE(source) << source.error();
  EXPECT_NEAR(static_cast<double>(source->samples.size()) / 2, 2.5 * kRate, kOneMs);
}

TEST_F(AudioTrackTest, NoAudioGivesSilenceOrNone) {
  const std::string mute = ffmpeg(dir_, "mute.mp4",
                                  "-f lavfi -i testsrc2=size=160x120:rate=25:duration=3 "
                                  "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
                               .string();
  AudioOptions options;
  options.segments = {{mute, 0, 2, 1.0, 2.0}, {mute, 1, 0, 2.0, 0}};  // 2 s + (3 - 1) s / 2
  options.when_missing = "silent";
  auto track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  EXPECT_TRUE(track->present);
  EXPECT_EQ(frames(*track), 3 * kRate);
  EXPECT_LT(rms(*track, 0, 3), 1e-9);
  options.when_missing = "none";
  track = render_audio(options);
  ASSERT_TRUE(track) << track.error();
  EXPECT_FALSE(track->present);
  EXPECT_TRUE(track->samples.empty());
}

TEST_F(AudioTrackTest, CorruptAudioIsAnErrorNamingTheFile) {
  const std::filesystem::path garbage = dir_ / "garbage.m4a";
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 100000; ++i) out.put(static_cast<char>((i * 7919) % 251));
  }
  auto track = render_audio(plain({{garbage.string(), 0, 1, 1.0, 1.0}}));
  ASSERT_FALSE(track);
  EXPECT_NE(track.error().find("garbage.m4a"), std::string::npos) << track.error();

  // An M4A whose index (moov, at the end) is cut off.
  const std::filesystem::path whole =
      ffmpeg(dir_, "whole.m4a", "-f lavfi -i sine=frequency=440:duration=3 -c:a aac");
  const std::filesystem::path cut = dir_ / "cut.m4a";
  std::filesystem::copy_file(whole, cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(whole) / 2);
  track = render_audio(plain({{cut.string(), 0, 1, 1.0, 1.0}}));
  ASSERT_FALSE(track);
  EXPECT_NE(track.error().find("cut.m4a"), std::string::npos) << track.error();

  // An M4A whose audio data (after the index, moov first) is overwritten with noise.
  const std::filesystem::path noisy =
      ffmpeg(dir_, "noisy.m4a",
             "-f lavfi -i sine=frequency=440:duration=20 -c:a aac -movflags +faststart");
  {
    std::fstream file(noisy, std::ios::binary | std::ios::in | std::ios::out);
    const auto size = static_cast<std::int64_t>(std::filesystem::file_size(noisy));
    file.seekp(8000);
    for (std::int64_t i = 8000; i < size; ++i)
      file.put(static_cast<char>((i * 2654435761LL) >> 13));
  }
  track = render_audio(plain({{noisy.string(), 0, 10, 1.0, 10.0}}));
  ASSERT_FALSE(track);
  EXPECT_NE(track.error().find("noisy.m4a"), std::string::npos) << track.error();
  EXPECT_NE(track.error().find("corrupt"), std::string::npos) << track.error();

  // A missing music file.
  AudioOptions options = plain({{whole.string(), 0, 1, 1.0, 1.0}});
  options.music = (dir_ / "no-such-music.mp3").string();
  track = render_audio(options);
  ASSERT_FALSE(track);
  EXPECT_NE(track.error().find("no-such-music.mp3"), std::string::npos) << track.error();
}

TEST_F(AudioTrackTest, BadOptionsAreRefused) {
  const std::filesystem::path tone =
      ffmpeg(dir_, "tone.wav", "-f lavfi -i sine=frequency=440:duration=1");
  EXPECT_FALSE(render_audio(plain({{tone.string(), 0, 1, 3.0, 0}})));
  EXPECT_FALSE(render_audio(plain({{tone.string(), 1, 0.5, 1.0, 0}})));
  AudioOptions options = plain({{tone.string(), 0, 1, 1.0, 0}});
  options.when_missing = "loud";
  EXPECT_FALSE(render_audio(options));
}

TEST(LoudnessTest, LimiterKeepsTheTruePeakUnderTheCeiling) {
  // Inter-sample peaks: a sine at fs/4 with a 45° phase has samples at 0.707 of its peak.
  std::vector<float> samples(static_cast<std::size_t>(kRate * 2));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i] = static_cast<float>(
        std::sin(std::numbers::pi / 2 * static_cast<double>(i / 2) + std::numbers::pi / 4));
  }
  auto before = measure_loudness(samples, kRate, 2);
  ASSERT_TRUE(before);
  EXPECT_NEAR(before->true_peak_db, 0, 0.3);
  limit_true_peak(samples, kRate, 2, -3);
  auto after = measure_loudness(samples, kRate, 2);
  ASSERT_TRUE(after);
  EXPECT_LE(after->true_peak_db, -2.9);
  EXPECT_GE(after->true_peak_db, -3.5);
}

}  // namespace
}  // namespace reelflow::video
