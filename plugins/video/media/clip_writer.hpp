// Cutting a clip [start, end) out of a video into an MP4, frame-accurate, with its audio.
//
//   copy      the start falls on a keyframe: packets are copied (no quality loss, fastest);
//   smart     H.264 whose start falls inside a GOP: the frames from the start up to the next
//             keyframe are re-encoded with libx264 (own parameter-set ids, merged into the
//             track's avcC), the rest is copied;
//   reencode  anything else (other codecs, or a clip inside one GOP): the whole clip is
//             encoded as H.264 High, yuv420p.
// Audio is copied when MP4 can carry it, else encoded to AAC-LC; it stays on the video's time
// line, so the clip is in sync. `moov` is written first (faststart).
//
// Times are seconds on the decoder's time line (AnalysisFrame::time: 0 = the first frame).
// Thread-safety: no shared state; one call per thread.
#ifndef REELFLOW_VIDEO_MEDIA_CLIP_WRITER_HPP
#define REELFLOW_VIDEO_MEDIA_CLIP_WRITER_HPP

#include <cstdint>
#include <string>

#include "media/frame.hpp"

namespace reelflow::video {

struct ClipResult {
  std::string path;
  double start = 0;  // the first frame's time (the requested start, or the frame at it)
  double end = 0;
  std::string method;               // "copy", "smart" or "reencode"
  std::int64_t encoded_frames = 0;  // frames that went through the encoder
  std::int64_t copied_packets = 0;  // video packets copied
  bool audio = false;
};

Result<ClipResult> write_clip(const std::string& input, double start, double end,
                              const std::string& output);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_MEDIA_CLIP_WRITER_HPP
