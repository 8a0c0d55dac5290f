// Small RAII owners and helpers for the FFmpeg libraries, shared by the decoder and the clip
// writer of the video plugin. One thread at a time per object, like the libraries themselves.
#ifndef REELFLOW_VIDEO_MEDIA_LIBAV_HPP
#define REELFLOW_VIDEO_MEDIA_LIBAV_HPP

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "media/frame.hpp"

namespace reelflow::video::av {

// av_strerror as a string: "Invalid data found when processing input".
std::string describe(int code);

struct InputCloser {
  void operator()(AVFormatContext* context) const { avformat_close_input(&context); }
};
struct CodecFreer {
  void operator()(AVCodecContext* context) const { avcodec_free_context(&context); }
};
struct FrameFreer {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketFreer {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct SwrFreer {
  void operator()(SwrContext* context) const { swr_free(&context); }
};

using Input = std::unique_ptr<AVFormatContext, InputCloser>;
using Codec = std::unique_ptr<AVCodecContext, CodecFreer>;
using Frame = std::unique_ptr<AVFrame, FrameFreer>;
using Packet = std::unique_ptr<AVPacket, PacketFreer>;
using Resampler = std::unique_ptr<SwrContext, SwrFreer>;

// Opens a media file for reading and reads its stream information. Errors name the file:
// missing, not a regular file, empty, or not a format FFmpeg can read.
Result<Input> open_input(const std::string& path);

// A decoder for `stream`, with `threads` threads (frame and slice threading).
Result<Codec> open_decoder(const std::string& path, const AVStream& stream, int threads);

// Clockwise degrees (0, 90, 180, 270) to rotate the stream's frames for display, from its
// display matrix side data.
int rotation_of(const AVStream& stream);

}  // namespace reelflow::video::av

#endif  // REELFLOW_VIDEO_MEDIA_LIBAV_HPP
