#include "media/convert.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace reelflow::video {

namespace {

struct Matrix {
  float kr, kb;
};

Matrix matrix_for(const AVFrame& frame) {
  switch (frame.colorspace) {
    case AVCOL_SPC_BT709:
      return {0.2126F, 0.0722F};
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return {0.2627F, 0.0593F};
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
      return {0.299F, 0.114F};
    default:  // unspecified: what players assume, by frame size
      return frame.height >= 720 ? Matrix{0.2126F, 0.0722F} : Matrix{0.299F, 0.114F};
  }
}

bool full_range(const AVFrame& frame) {
  if (frame.color_range == AVCOL_RANGE_JPEG) return true;
  switch (frame.format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
      return true;
    default:
      return false;
  }
}

// SMPTE ST 2084 (PQ) EOTF: non-linear signal in [0,1] -> linear light in nits.
float pq_to_nits(float signal) {
  constexpr float m1 = 2610.0F / 16384.0F, m2 = 2523.0F / 4096.0F * 128.0F;
  constexpr float c1 = 3424.0F / 4096.0F, c2 = 2413.0F / 4096.0F * 32.0F,
                  c3 = 2392.0F / 4096.0F * 32.0F;
  const float p = std::pow(std::clamp(signal, 0.0F, 1.0F), 1.0F / m2);
  return 10000.0F * std::pow(std::max(p - c1, 0.0F) / (c2 - c3 * p), 1.0F / m1);
}

// ARIB STD-B67 (HLG) inverse OETF: signal -> scene light in [0,1] (OOTF applied separately).
float hlg_to_scene(float signal) {
  constexpr float a = 0.17883277F, b = 0.28466892F, c = 0.55991073F;
  signal = std::clamp(signal, 0.0F, 1.0F);
  return signal <= 0.5F ? signal * signal / 3.0F : (std::exp((signal - c) / a) + b) / 12.0F;
}

// Hable's filmic curve, as used by FFmpeg's tonemap filter.
float hable(float x) {
  constexpr float a = 0.15F, b = 0.50F, c = 0.10F, d = 0.20F, e = 0.02F, f = 0.30F;
  return (x * (x * a + b * c) + d * e) / (x * (x * a + b) + d * f) - e / f;
}

// The mean of every factor × factor block of an 8- or 16-bit plane (cropped to whole blocks),
// as CV_32F code values. This is the one per-frame cost of the analysis that grows with the input
// resolution, and it is bound by reading the planes the decoder's threads just wrote. So for
// factors of 4 and more only two rows of each block are read, at a quarter and three quarters of
// its height (each output pixel averages 2 rows × factor columns: enough for analysis frames, and
// at 1080p a quarter of the memory traffic). The row sums are plain loops that the compiler
// vectorises (convert.cpp is built with -O3).
template <typename T>
void box_average(const cv::Mat& plane, int factor, cv::Size out_size, cv::Mat& out,
                 std::vector<std::uint32_t>& sums) {
  out.create(out_size, CV_32F);
  const int rows = factor >= 4 ? 2 : factor;
  const int row_step = factor / rows;
  const int first_row = row_step / 2;
  const int used_width = out_size.width * factor;
  sums.resize(static_cast<std::size_t>(used_width));
  const float scale = 1.0F / static_cast<float>(factor * rows);
  for (int oy = 0; oy < out_size.height; ++oy) {
    std::uint32_t* sum = sums.data();
    const T* first = plane.ptr<T>(oy * factor + first_row);
    for (int x = 0; x < used_width; ++x) sum[x] = first[x];
    for (int r = 1; r < rows; ++r) {
      const T* row = plane.ptr<T>(oy * factor + first_row + r * row_step);
      for (int x = 0; x < used_width; ++x) sum[x] += row[x];
    }
    auto* o = out.ptr<float>(oy);
    for (int ox = 0; ox < out_size.width; ++ox) {
      std::uint32_t total = 0;
      const std::uint32_t* block = sum + static_cast<std::ptrdiff_t>(ox) * factor;
      for (int dx = 0; dx < factor; ++dx) total += block[dx];
      o[ox] = static_cast<float>(total) * scale;
    }
  }
}

enum class Transfer { sdr, pq, hlg };

Transfer transfer_of(const AVFrame& frame) {
  if (frame.color_trc == AVCOL_TRC_SMPTE2084) return Transfer::pq;
  if (frame.color_trc == AVCOL_TRC_ARIB_STD_B67) return Transfer::hlg;
  return Transfer::sdr;
}

// Y'CbCr planes of the same size (CV_32F, Y in [0,1], C in [-0.5,0.5]) to 8-bit BGR.
void to_bgr(const cv::Mat& y, const cv::Mat& cb, const cv::Mat& cr, const Matrix& m,
            Transfer transfer, cv::Mat& out) {
  out.create(y.rows, y.cols, CV_8UC3);
  const float kg = 1.0F - m.kr - m.kb;
  // BT.2020 -> BT.709 primaries, linear light (ITU-R BT.2087).
  constexpr float g[3][3] = {
      {1.6605F, -0.5876F, -0.0728F}, {-0.1246F, 1.1329F, -0.0083F}, {-0.0182F, -0.1006F, 1.1187F}};
  constexpr float kSdrWhiteNits = 100.0F;
  constexpr float kPeakNits = 1000.0F;
  const float hable_white = hable(kPeakNits / kSdrWhiteNits);
  for (int row = 0; row < y.rows; ++row) {
    const float* py = y.ptr<float>(row);
    const float* pb = cb.ptr<float>(row);
    const float* pr = cr.ptr<float>(row);
    auto* o = out.ptr<cv::Vec3b>(row);
    for (int col = 0; col < y.cols; ++col) {
      float r = py[col] + 2.0F * (1.0F - m.kr) * pr[col];
      float b = py[col] + 2.0F * (1.0F - m.kb) * pb[col];
      float gg = (py[col] - m.kr * r - m.kb * b) / kg;
      if (transfer != Transfer::sdr) {
        std::array<float, 3> lin{};
        const float rgb[3] = {r, gg, b};
        for (int i = 0; i < 3; ++i) {
          // Linear light relative to SDR white (1.0 = 100 nits).
          lin[i] = transfer == Transfer::pq
                       ? pq_to_nits(rgb[i]) / kSdrWhiteNits
                       : std::pow(hlg_to_scene(rgb[i]), 1.2F) * kPeakNits / kSdrWhiteNits;
        }
        float mapped[3];
        for (int i = 0; i < 3; ++i) {
          const float v = g[i][0] * lin[0] + g[i][1] * lin[1] + g[i][2] * lin[2];
          const float toned = hable(std::max(v, 0.0F)) / hable_white;
          mapped[i] = std::pow(std::clamp(toned, 0.0F, 1.0F), 1.0F / 2.4F);  // BT.1886 display
        }
        r = mapped[0];
        gg = mapped[1];
        b = mapped[2];
      }
      o[col] = cv::Vec3b(cv::saturate_cast<uchar>(b * 255.0F + 0.5F),
                         cv::saturate_cast<uchar>(gg * 255.0F + 0.5F),
                         cv::saturate_cast<uchar>(r * 255.0F + 0.5F));
    }
  }
}

}  // namespace

FrameConverter::FrameConverter(int target_width, int rotation)
    : target_width_(target_width), rotation_(rotation) {}

FrameConverter::~FrameConverter() { sws_freeContext(sws_); }

Result<void> FrameConverter::convert(const AVFrame& frame, cv::Mat& out) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame.format));
  if (desc == nullptr) return error("unknown pixel format " + std::to_string(frame.format));
  const bool planar_yuv =
      (desc->flags & AV_PIX_FMT_FLAG_RGB) == 0 && (desc->flags & AV_PIX_FMT_FLAG_PLANAR) != 0 &&
      (desc->flags & AV_PIX_FMT_FLAG_BE) == 0 && (desc->flags & AV_PIX_FMT_FLAG_HWACCEL) == 0 &&
      desc->nb_components >= 3 && desc->comp[0].plane == 0 && desc->comp[1].plane == 1 &&
      desc->comp[2].plane == 2 && desc->comp[0].depth >= 8 && desc->comp[0].depth <= 16 &&
      desc->log2_chroma_w <= 1 && desc->log2_chroma_h <= 1;
  Result<void> converted = planar_yuv ? convert_planar(frame, out) : convert_other(frame, out);
  if (!converted) return converted;
  // Non-square pixels: stretch to the display aspect.
  const AVRational sar = frame.sample_aspect_ratio;
  if (sar.num > 0 && sar.den > 0 && sar.num != sar.den) {
    const int width = std::max(1, static_cast<int>(std::lround(out.cols * av_q2d(sar))));
    cv::resize(out, upright_, cv::Size(width, out.rows), 0, 0, cv::INTER_AREA);
    std::swap(out, upright_);
  }
  if (rotation_ != 0) {
    const int code = rotation_ == 90    ? cv::ROTATE_90_CLOCKWISE
                     : rotation_ == 180 ? cv::ROTATE_180
                                        : cv::ROTATE_90_COUNTERCLOCKWISE;
    cv::rotate(out, upright_, code);
    std::swap(out, upright_);
  }
  return {};
}

Result<void> FrameConverter::convert_planar(const AVFrame& frame, cv::Mat& out) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame.format));
  const int depth = desc->comp[0].depth;
  const int type = depth > 8 ? CV_16UC1 : CV_8UC1;
  int factor = 1;
  if (target_width_ > 0) {
    factor = std::max(
        1, static_cast<int>(std::lround(static_cast<double>(frame.width) / target_width_)));
    // Subsampled chroma: an even factor keeps the chroma blocks whole.
    const bool subsampled = desc->log2_chroma_w > 0 || desc->log2_chroma_h > 0;
    if (subsampled && factor > 1 && factor % 2 == 1) ++factor;
  }
  const int out_width = std::max(1, frame.width / factor);
  const int out_height = std::max(1, frame.height / factor);
  const cv::Size out_size(out_width, out_height);
  for (int p = 0; p < 3; ++p) {
    const int shift_w = p == 0 ? 0 : desc->log2_chroma_w;
    const int shift_h = p == 0 ? 0 : desc->log2_chroma_h;
    const int plane_width = AV_CEIL_RSHIFT(frame.width, shift_w);
    const int plane_height = AV_CEIL_RSHIFT(frame.height, shift_h);
    const cv::Mat plane(plane_height, plane_width, type, frame.data[p],
                        static_cast<size_t>(frame.linesize[p]));
    const int block_w = factor >> shift_w;
    const int block_h = factor >> shift_h;
    if (block_w >= 1 && block_h >= 1 && block_w << shift_w == factor &&
        block_h << shift_h == factor && block_w == block_h) {
      if (type == CV_8UC1) {
        box_average<std::uint8_t>(plane, block_w, out_size, small_[p], sums_);
      } else {
        box_average<std::uint16_t>(plane, block_w, out_size, small_[p], sums_);
      }
    } else {
      // Full resolution (covers), or chroma subsampled in one direction only: resampled.
      cv::resize(plane, planes_[p], out_size, 0, 0,
                 plane.cols > out_width ? cv::INTER_AREA : cv::INTER_LINEAR);
      planes_[p].convertTo(small_[p], CV_32F);
    }
  }
  // To Y in [0,1] and C in [-0.5,0.5].
  const float scale = static_cast<float>(1 << (depth - 8));
  if (full_range(frame)) {
    const float max_code = static_cast<float>((1 << depth) - 1);
    small_[0].convertTo(small_[0], CV_32F, 1.0 / max_code);
    for (int p = 1; p < 3; ++p) {
      small_[p].convertTo(small_[p], CV_32F, 1.0 / max_code, -128.0 * scale / max_code);
    }
  } else {
    small_[0].convertTo(small_[0], CV_32F, 1.0 / (219.0 * scale), -16.0 / 219.0);
    for (int p = 1; p < 3; ++p) {
      small_[p].convertTo(small_[p], CV_32F, 1.0 / (224.0 * scale), -128.0 / 224.0);
    }
  }
  const Transfer transfer = transfer_of(frame);
  if (transfer == Transfer::pq) tonemap_ = "pq";
  if (transfer == Transfer::hlg) tonemap_ = "hlg";
  to_bgr(small_[0], small_[1], small_[2], matrix_for(frame), transfer, out);
  return {};
}

Result<void> FrameConverter::convert_other(const AVFrame& frame, cv::Mat& out) {
  const int factor =
      target_width_ > 0
          ? std::max(
                1, static_cast<int>(std::lround(static_cast<double>(frame.width) / target_width_)))
          : 1;
  const int out_width = std::max(1, frame.width / factor);
  const int out_height = std::max(1, frame.height / factor);
  sws_ = sws_getCachedContext(sws_, frame.width, frame.height,
                              static_cast<AVPixelFormat>(frame.format), out_width, out_height,
                              AV_PIX_FMT_BGR24, SWS_AREA, nullptr, nullptr, nullptr);
  if (sws_ == nullptr) {
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame.format));
    return error(std::string("cannot convert pixel format ") + (name != nullptr ? name : "?"));
  }
  out.create(out_height, out_width, CV_8UC3);
  uint8_t* destination[4] = {out.data, nullptr, nullptr, nullptr};
  int strides[4] = {static_cast<int>(out.step[0]), 0, 0, 0};
  sws_scale(sws_, frame.data, frame.linesize, 0, frame.height, destination, strides);
  return {};
}

}  // namespace reelflow::video
