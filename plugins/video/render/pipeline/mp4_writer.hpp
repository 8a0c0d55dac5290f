// The render's output file: H.264 High yuv420p through libx264 (closed GOP, a keyframe every
// `keyframe_interval` seconds of output time, CRF and preset as asked) and AAC-LC from libavcodec's
// native encoder, muxed into MP4 with the `moov` atom before `mdat` (faststart).
//
// Video frames carry their own output times (variable frame rate is written as is). The file is
// written under `<path>.part` and renamed to `path` by finish(); a writer destroyed before finish()
// removes its partial file.
//
// One thread at a time.
#ifndef REELFLOW_VIDEO_RENDER_PIPELINE_MP4_WRITER_HPP
#define REELFLOW_VIDEO_RENDER_PIPELINE_MP4_WRITER_HPP

#include <cstdint>
#include <memory>
#include <string>

#include "media/frame.hpp"
#include "render/image.hpp"

namespace reelflow::video {

struct EncoderSettings {
  int width = 1080;
  int height = 1920;
  double frame_rate = 30;          // nominal, for the stream header and the rate control
  double max_frame_rate = 60;      // sizes the GOP backstop
  double keyframe_interval = 2.0;  // seconds
  int crf = 20;
  std::string x264_preset = "veryfast";
  int threads = 0;  // 0: libx264 decides
  bool audio = true;
  int sample_rate = 48000;
  int channels = 2;
  int audio_bitrate = 160000;
};

class Mp4Writer {
 public:
  // Errors name the output file.
  static Result<std::unique_ptr<Mp4Writer>> open(const std::string& path,
                                                 const EncoderSettings& settings);
  ~Mp4Writer();
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;

  // A picture of the output size to draw the next frame into: passing it to write_video() saves
  // a copy. Valid until the next write_video().
  Result<Yuv420> canvas();

  // One picture (width × height) shown from `time` for `duration` output seconds. Times must
  // increase; a frame that would not advance by one tick of the 1/90000 clock is skipped.
  Result<void> write_video(const Yuv420& picture, double time, double duration);

  // Interleaved float samples (channels × frames), continuing the audio track.
  Result<void> write_audio(const float* samples, std::int64_t frames);
  std::int64_t audio_frames_written() const;

  // Flushes the encoders, writes the index (moved to the front) and renames the file.
  Result<void> finish();

  std::int64_t video_frames() const;

 private:
  struct Impl;
  explicit Mp4Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_RENDER_PIPELINE_MP4_WRITER_HPP
