// The audio of a render: the source audio of each segment (intro, clip, outro) cut, sped up or
// slowed down with its pitch kept, faded, normalised to a loudness target (EBU R128) with a true
// peak ceiling, and optionally mixed over background music that ducks under the voice. The
// result is one PCM track on the output's timeline, which the pipeline encodes as AAC.
//
// A/V sync: every segment fills exactly its `duration` (padded with silence or cut), so that
// segment boundaries land where the video's do. Times are on each file's video time line, so
// audio that starts later or earlier than the video (edit lists) keeps its offset.
//
// Errors name the file and the problem (missing, not media, corrupt audio data) or the option
// out of range. Memory: the whole track as float (23 MB per minute of 48 kHz stereo).
//
// Thread-safety: render_audio() shares no state; call it from any thread.
#ifndef REELFLOW_VIDEO_RENDER_AUDIO_AUDIO_TRACK_HPP
#define REELFLOW_VIDEO_RENDER_AUDIO_AUDIO_TRACK_HPP

#include <string>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

struct AudioSegment {
  std::string path;     // a media file; one without an audio stream gives silence
  double start = 0;     // source seconds, on the video stream's timeline (AnalysisFrame::time)
  double end = 0;       // source seconds; 0: to the end of the file
  double speed = 1.0;   // 0.5 .. 2.0, pitch preserved
  double duration = 0;  // output seconds this segment fills exactly; 0: (end - start) / speed
};

struct AudioOptions {
  std::vector<AudioSegment> segments;  // played one after the other
  double fade_in = 0;                  // seconds, at the start of the whole track (equal-power)
  double fade_out = 0;                 // seconds, at its end (equal-power)
  bool normalize = true;
  double target_lufs = -14.0;           // integrated loudness, EBU R128
  double true_peak_db = -1.0;           // ceiling, dBTP
  std::string music;                    // background music file ("" none), looped to the length
  double music_gain_db = -18.0;         // gain on the music file's own level, before ducking; the
                                        // voice is at target_lufs when mixed (if normalize)
  double duck_db = -12.0;               // how far the music drops while the voice is present
  std::string when_missing = "silent";  // no audio anywhere: "silent" track or "none"
  int sample_rate = 48000;
  int channels = 2;
};

struct AudioTrack {
  bool present = false;  // false only for when_missing == "none" without source audio or music
  int sample_rate = 48000;
  int channels = 2;
  std::vector<float> samples;      // interleaved, channels × frames
  double input_lufs = 0;           // of the cut, retimed source (before normalising); -70 silence
  double output_lufs = 0;          // of the result
  double output_true_peak_db = 0;  // dBTP (4× oversampled, libebur128); -120 silence
};

Result<AudioTrack> render_audio(const AudioOptions& options);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_AUDIO_AUDIO_TRACK_HPP
