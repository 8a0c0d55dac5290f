#include "render/pipeline/source.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cmath>

#include "media/convert.hpp"
#include "media/libav.hpp"

namespace reelflow::video {

namespace {

// Consecutive packets the decoder may reject before the input counts as corrupt.
constexpr int kMaxConsecutiveErrors = 64;

struct SwsFreer {
  void operator()(SwsContext* context) const { sws_freeContext(context); }
};
using Scaler = std::unique_ptr<SwsContext, SwsFreer>;

bool is_hdr(AVColorTransferCharacteristic transfer) {
  return transfer == AVCOL_TRC_SMPTE2084 || transfer == AVCOL_TRC_ARIB_STD_B67;
}

int sws_matrix(AVColorSpace space, int height) {
  switch (space) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    case AVCOL_SPC_UNSPECIFIED:
      return height > 576 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    default:
      return SWS_CS_ITU601;
  }
}

Yuv420 view_of(const AVFrame& frame) {
  Yuv420 view;
  for (int p = 0; p < 3; ++p) {
    view.plane[p] = frame.data[p];
    view.stride[p] = frame.linesize[p];
  }
  view.width = frame.width & ~1;
  view.height = frame.height & ~1;
  return view;
}

}  // namespace

void rotate_yuv420(const Yuv420& source, int clockwise, Yuv420Image& out) {
  const bool swap = clockwise == 90 || clockwise == 270;
  const int width = swap ? source.height : source.width;
  const int height = swap ? source.width : source.height;
  if (out.view.width != width || out.view.height != height) out.resize(width, height);
  for (int p = 0; p < 3; ++p) {
    const int shift = p == 0 ? 0 : 1;
    const int in_w = source.width >> shift, in_h = source.height >> shift;
    const int out_w = width >> shift, out_h = height >> shift;
    for (int r = 0; r < out_h; ++r) {
      std::uint8_t* dst = out.view.row(p, r);
      if (clockwise == 180) {
        const std::uint8_t* src = source.row(p, in_h - 1 - r);
        for (int c = 0; c < out_w; ++c) dst[c] = src[in_w - 1 - c];
      } else if (clockwise == 90) {  // out(r, c) = in(in_h - 1 - c, r)
        const std::uint8_t* base = source.plane[p] + r;
        const std::ptrdiff_t stride = source.stride[p];
        for (int c = 0; c < out_w; ++c) dst[c] = base[(in_h - 1 - c) * stride];
      } else {  // 270: out(r, c) = in(c, in_w - 1 - r)
        const std::uint8_t* base = source.plane[p] + (in_w - 1 - r);
        const std::ptrdiff_t stride = source.stride[p];
        for (int c = 0; c < out_w; ++c) dst[c] = base[c * stride];
      }
    }
  }
}

struct SourceReader::Impl {
  SourceInfo info;
  av::Input input;
  av::Codec decoder;
  const AVStream* stream = nullptr;
  std::int64_t origin = 0;  // stream time base
  double fallback_duration = 1.0 / 25;
  av::Packet packet{av_packet_alloc()};
  av::Frame frame{av_frame_alloc()};
  bool draining = false;
  bool ended = false;
  int consecutive_errors = 0;

  Scaler scaler;
  int scaler_format = -1, scaler_width = 0, scaler_height = 0;
  Yuv420Image converted;
  Yuv420Image rotated;
  std::unique_ptr<FrameConverter> hdr;
  cv::Mat bgr;

  Result<void> to_picture(SourceFrame& out);
  Result<void> scale(const std::uint8_t* const* data, const int* linesize, int format, int width,
                     int height, int matrix, bool full_range, Yuv420Image& target);
};

Result<void> SourceReader::Impl::scale(const std::uint8_t* const* data, const int* linesize,
                                       int format, int width, int height, int matrix,
                                       bool full_range, Yuv420Image& target) {
  const int out_w = width & ~1, out_h = height & ~1;
  if (!scaler || scaler_format != format || scaler_width != width || scaler_height != height) {
    scaler.reset(sws_getContext(width, height, static_cast<AVPixelFormat>(format), out_w, out_h,
                                AV_PIX_FMT_YUV420P, SWS_BILINEAR | SWS_ACCURATE_RND, nullptr,
                                nullptr, nullptr));
    if (!scaler) {
      const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(format));
      return error("'" + info.path + "': cannot convert pixel format " +
                   (name != nullptr ? name : "unknown") + " to yuv420p");
    }
    // Output: limited range, and BT.709 coefficients for RGB input. swscale does not convert
    // between YUV matrices (BT.601 and BT.2020 SDR input keep their coefficients, a small hue
    // shift), and given different source and destination tables for YUV it scales the luma
    // wrongly, so YUV sources only get their range set.
    const bool rgb =
        (av_pix_fmt_desc_get(static_cast<AVPixelFormat>(format))->flags & AV_PIX_FMT_FLAG_RGB) != 0;
    if (rgb || full_range) {
      const int* coefficients = sws_getCoefficients(rgb ? SWS_CS_ITU709 : matrix);
      sws_setColorspaceDetails(scaler.get(), coefficients, full_range ? 1 : 0, coefficients, 0, 0,
                               1 << 16, 1 << 16);
    }
    scaler_format = format;
    scaler_width = width;
    scaler_height = height;
  }
  if (target.view.width != out_w || target.view.height != out_h) target.resize(out_w, out_h);
  sws_scale(scaler.get(), data, linesize, 0, height, target.view.plane, target.view.stride);
  return {};
}

Result<void> SourceReader::Impl::to_picture(SourceFrame& out) {
  const AVFrame& f = *frame;
  const auto transfer =
      f.color_trc != AVCOL_TRC_UNSPECIFIED ? f.color_trc : stream->codecpar->color_trc;
  if (is_hdr(transfer)) {
    // Rare: tonemap through the analysis converter (linear light, Hable) to BGR, then to yuv420p.
    if (!hdr) hdr = std::make_unique<FrameConverter>(0, info.rotation);
    if (auto converted_bgr = hdr->convert(f, bgr); !converted_bgr) {
      return error("'" + info.path + "': " + converted_bgr.error());
    }
    const std::uint8_t* data[1] = {bgr.data};
    const int linesize[1] = {static_cast<int>(bgr.step[0])};
    if (auto scaled = scale(data, linesize, AV_PIX_FMT_BGR24, bgr.cols, bgr.rows, SWS_CS_ITU709,
                            true, converted);
        !scaled) {
      return scaled;
    }
    out.picture = converted.view;
    out.zero_copy = false;
    return {};
  }
  Yuv420 upright;
  if (f.format == AV_PIX_FMT_YUV420P && f.color_range != AVCOL_RANGE_JPEG) {
    upright = view_of(f);
    out.zero_copy = info.rotation == 0;
  } else {
    const bool full = f.color_range == AVCOL_RANGE_JPEG || f.format == AV_PIX_FMT_YUVJ420P ||
                      f.format == AV_PIX_FMT_YUVJ422P || f.format == AV_PIX_FMT_YUVJ444P;
    if (auto scaled = scale(f.data, f.linesize, f.format, f.width, f.height,
                            sws_matrix(f.colorspace, f.height), full, converted);
        !scaled) {
      return scaled;
    }
    upright = converted.view;
    out.zero_copy = false;
  }
  if (info.rotation != 0) {
    rotate_yuv420(upright, info.rotation, rotated);
    out.picture = rotated.view;
  } else {
    out.picture = upright;
  }
  return {};
}

SourceReader::SourceReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SourceReader::~SourceReader() = default;

Result<std::unique_ptr<SourceReader>> SourceReader::open(const std::string& path, int threads) {
  auto impl = std::make_unique<Impl>();
  if (!impl->packet || !impl->frame) return error("'" + path + "': out of memory");
  auto input = av::open_input(path);
  if (!input) return tl::unexpected(input.error());
  impl->input = std::move(*input);
  AVFormatContext& context = *impl->input;
  const int index = av_find_best_stream(&context, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) return error("'" + path + "' is not a video: no video stream");
  impl->stream = context.streams[index];
  const AVStream& stream = *impl->stream;
  if (stream.codecpar->width <= 1 || stream.codecpar->height <= 1 ||
      static_cast<std::int64_t>(stream.codecpar->width) * stream.codecpar->height >
          16384LL * 16384LL) {
    return error("'" + path + "': the video size " + std::to_string(stream.codecpar->width) + "x" +
                 std::to_string(stream.codecpar->height) + " is not usable");
  }
  auto decoder = av::open_decoder(path, stream, threads);
  if (!decoder) return tl::unexpected(decoder.error());
  impl->decoder = std::move(*decoder);
  for (unsigned i = 0; i < context.nb_streams; ++i) {
    if (static_cast<int>(i) != index) context.streams[i]->discard = AVDISCARD_ALL;
  }

  SourceInfo& info = impl->info;
  info.path = path;
  info.rotation = av::rotation_of(stream);
  const bool swap = info.rotation == 90 || info.rotation == 270;
  info.width = (swap ? stream.codecpar->height : stream.codecpar->width) & ~1;
  info.height = (swap ? stream.codecpar->width : stream.codecpar->height) & ~1;
  impl->origin = stream.start_time != AV_NOPTS_VALUE ? stream.start_time : 0;
  if (stream.duration != AV_NOPTS_VALUE && stream.duration > 0) {
    info.duration = static_cast<double>(stream.duration) * av_q2d(stream.time_base);
  } else if (context.duration != AV_NOPTS_VALUE && context.duration > 0) {
    info.duration = static_cast<double>(context.duration) / AV_TIME_BASE;
  }
  const AVRational rate =
      stream.avg_frame_rate.num > 0 ? stream.avg_frame_rate : stream.r_frame_rate;
  info.frame_rate = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
  if (info.frame_rate > 0) impl->fallback_duration = 1.0 / info.frame_rate;
  info.hdr = is_hdr(stream.codecpar->color_trc);
  const AVPixFmtDescriptor* descriptor =
      av_pix_fmt_desc_get(static_cast<AVPixelFormat>(stream.codecpar->format));
  info.ten_bit = descriptor != nullptr && descriptor->comp[0].depth > 8;
  info.has_audio = av_find_best_stream(&context, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
  return std::unique_ptr<SourceReader>(new SourceReader(std::move(impl)));
}

const SourceInfo& SourceReader::info() const { return impl_->info; }

std::string SourceReader::tonemap() const { return impl_->hdr ? impl_->hdr->tonemap() : ""; }

Result<void> SourceReader::seek(double time) {
  Impl& s = *impl_;
  const std::int64_t target =
      s.origin + static_cast<std::int64_t>(std::floor(time / av_q2d(s.stream->time_base)));
  if (const int code = av_seek_frame(s.input.get(), s.stream->index, std::max(s.origin, target),
                                     AVSEEK_FLAG_BACKWARD);
      code < 0) {
    return error("'" + s.info.path + "': cannot seek to " + std::to_string(time) +
                 " s: " + av::describe(code));
  }
  avcodec_flush_buffers(s.decoder.get());
  s.draining = false;
  s.ended = false;
  s.consecutive_errors = 0;
  return {};
}

Result<bool> SourceReader::next(SourceFrame& out) {
  Impl& s = *impl_;
  if (s.ended) return false;
  const AVRational time_base = s.stream->time_base;
  // Each turn either receives a frame, or reads one packet, or ends: bounded by the file.
  while (true) {
    const int received = avcodec_receive_frame(s.decoder.get(), s.frame.get());
    if (received == 0) {
      s.consecutive_errors = 0;
      const std::int64_t pts = s.frame->best_effort_timestamp != AV_NOPTS_VALUE
                                   ? s.frame->best_effort_timestamp
                                   : s.frame->pts;
      out.time = pts != AV_NOPTS_VALUE ? static_cast<double>(pts - s.origin) * av_q2d(time_base)
                                       : out.time + out.duration;
      out.duration = s.frame->pkt_duration > 0
                         ? static_cast<double>(s.frame->pkt_duration) * av_q2d(time_base)
                         : s.fallback_duration;
      if (auto made = s.to_picture(out); !made) return tl::unexpected(made.error());
      return true;
    }
    if (received == AVERROR_EOF) {
      s.ended = true;
      return false;
    }
    if (received != AVERROR(EAGAIN)) {
      if (++s.consecutive_errors >= kMaxConsecutiveErrors) {
        return error("'" + s.info.path + "' is corrupt: " + av::describe(received));
      }
      continue;
    }
    if (s.draining) {
      s.ended = true;
      return false;
    }
    av_frame_unref(s.frame.get());
    const int read = av_read_frame(s.input.get(), s.packet.get());
    if (read == AVERROR_EOF) {
      avcodec_send_packet(s.decoder.get(), nullptr);
      s.draining = true;
      continue;
    }
    if (read < 0) {
      return error("'" + s.info.path + "' is corrupt or truncated: reading failed (" +
                   av::describe(read) + ")");
    }
    if (s.packet->stream_index == s.stream->index) {
      const int sent = avcodec_send_packet(s.decoder.get(), s.packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) {
        if (++s.consecutive_errors >= kMaxConsecutiveErrors) {
          av_packet_unref(s.packet.get());
          return error("'" + s.info.path +
                       "' is corrupt: " + std::to_string(kMaxConsecutiveErrors) +
                       " packets in a row could not be decoded (" + av::describe(sent) + ")");
        }
      }
    }
    av_packet_unref(s.packet.get());
  }
}

}  // namespace reelflow::video
