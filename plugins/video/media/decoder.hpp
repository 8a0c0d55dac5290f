// Reading videos through libavformat/libavcodec: probing, streaming decode for analysis, and
// single full-resolution frames for covers.
//
// Contract: every function names the file and the problem in its error ("'in.mp4' is not a
// video: no video stream"); none crashes or loops without bound on corrupt, truncated, empty or
// non-media input. Decoding streams: memory does not grow with the length of the video.
// Timestamps come from the stream's presentation timestamps (variable frame rate is exact),
// rotation metadata is applied, and 10-bit/HDR input is converted to 8-bit SDR BT.709
// deliberately (PQ and HLG are tonemapped; DecodeSummary says so).
//
// Thread-safety: the functions share no state; call them from any thread. decode() runs its
// callbacks (frames and audio alike) on one analysis thread of its own, in stream order and never
// concurrently, so that the analysis overlaps with decoding; it returns after the last callback.
// An exception escaping a callback ends the decode with an error naming the file.
#ifndef REELFLOW_VIDEO_MEDIA_DECODER_HPP
#define REELFLOW_VIDEO_MEDIA_DECODER_HPP

#include <cstdint>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

// What video.probe reports (see README.md for each field's meaning).
struct MediaInfo {
  std::string path;
  std::string container;     // libavformat's short name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  double duration = 0;       // seconds
  std::int64_t bitrate = 0;  // bits per second, 0 when unknown

  bool has_video = false;
  std::string video_codec;   // e.g. "h264"
  std::string profile;       // e.g. "High", "" when unknown
  std::string pixel_format;  // e.g. "yuv420p10le"
  int bit_depth = 0;
  int width = 0;  // as coded
  int height = 0;
  int rotation = 0;       // clockwise degrees to apply for display: 0, 90, 180 or 270
  int display_width = 0;  // after rotation and sample aspect ratio
  int display_height = 0;
  std::string display_aspect;  // reduced, e.g. "9:16"
  double avg_frame_rate = 0;   // frames / duration
  double real_frame_rate = 0;  // the stream's base rate (r_frame_rate)
  bool vfr = false;            // frame durations vary (measured on the first frames)
  std::string color_transfer;  // e.g. "bt709", "smpte2084" (PQ), "arib-std-b67" (HLG)
  std::string color_primaries;
  bool hdr = false;              // PQ or HLG transfer
  std::int64_t frame_count = 0;  // from the container; 0 when it does not say

  bool has_audio = false;
  std::string audio_codec;
  int sample_rate = 0;
  int channels = 0;
};

Result<MediaInfo> probe(const std::string& path);

struct DecodeOptions {
  int analysis_width = 256;  // width of AnalysisFrame::bgr (height keeps the display aspect)
  int threads = 2;           // decoder threads (chunked decoding: workers, one decoder each)
  // Decode independent chunks of GOPs in parallel when the container has a keyframe index (MP4,
  // MOV, Matroska with cues) and is seekable; otherwise, or when false, one decoder with frame
  // threads. Both deliver the same frames, times and pixels (README.md, "Decoding").
  bool parallel = true;
  bool decode_audio = true;  // deliver AudioChunks (resampled to float, native rate)
  // Run the codec's in-loop deblocking filter (H.264, HEVC). Analysis frames are small, and
  // skipping it saves about an eighth of the decode; the drift it leaves in the reference frames
  // stays well under one grey level at analysis size (README.md, "Decoding").
  bool deblock = true;
  // Corrupt data after some frames decoded: false fails the decode; true ends it there and
  // returns what was decoded with DecodeSummary::truncated set.
  bool keep_partial = false;
  std::function<bool()> cancelled;  // polled between packets; may be empty
};

struct DecodeSummary {
  std::int64_t frames = 0;  // video frames delivered
  double duration = 0;      // seconds covered by the delivered frames
  bool truncated = false;   // ended early on corrupt data (keep_partial)
  std::string problem;      // why, when truncated
  bool cancelled = false;
  std::string tonemap;            // "" (SDR input), "pq" or "hlg": how HDR was brought to SDR
  std::int64_t audio_frames = 0;  // audio sample frames delivered
  std::int64_t chunks = 0;        // chunks decoded in parallel; 0: the sequential path ran
};

using FrameSink = std::function<void(const AnalysisFrame&)>;
using AudioSink = std::function<void(const AudioChunk&)>;

Result<DecodeSummary> decode(const std::string& path, const DecodeOptions& options,
                             const FrameSink& on_frame, const AudioSink& on_audio = {});

// The frame shown at `time` (seconds, as in AnalysisFrame::time) at full display resolution,
// 8-bit BGR, rotation applied, SDR.
Result<cv::Mat> frame_at(const std::string& path, double time);

// frame_at for several times with one open file and decoder (covers of a video and its clips).
Result<std::vector<cv::Mat>> frames_at(const std::string& path, const std::vector<double>& times);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_MEDIA_DECODER_HPP
