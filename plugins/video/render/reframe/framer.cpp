#include "render/reframe/framer.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

extern "C" {
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
}

namespace reelflow::video {

namespace {

// Bicubic, as the FFmpeg CLI's scale filter does by default: the same look and the same cost per
// pixel as the anchor's crop+scale graph.
constexpr int kScaleFlags = SWS_BICUBIC;
// The blurred background is made at 1/kBlurShrink of the output size, blurred there with a
// Gaussian of kBlurSigma small pixels (about 40 output pixels), and upscaled bilinearly.
constexpr int kBlurShrink = 16;
constexpr double kBlurSigma = 2.5;

int even_floor(double value) { return static_cast<int>(std::floor(value / 2)) * 2; }
int even_round(double value) { return static_cast<int>(std::lround(value / 2)) * 2; }

enum class Mode { center, fit, fill };

Mode mode_of(const ReframeOptions& options) {
  if (!check_reframe_options(options)) return Mode::center;
  if (options.mode == "fit") return Mode::fit;
  if (options.mode == "fill") return Mode::fill;
  return Mode::center;
}

bool parse_colour(const std::string& text, int rgb[3]) {
  if (text.size() != 7 || text[0] != '#') return false;
  for (int c = 0; c < 3; ++c) {
    int value = 0;
    for (int i = 0; i < 2; ++i) {
      const char ch = text[static_cast<std::size_t>(1 + 2 * c + i)];
      int digit = 0;
      if (ch >= '0' && ch <= '9') {
        digit = ch - '0';
      } else if (ch >= 'a' && ch <= 'f') {
        digit = ch - 'a' + 10;
      } else if (ch >= 'A' && ch <= 'F') {
        digit = ch - 'A' + 10;
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    rgb[c] = value;
  }
  return true;
}

// "#RRGGBB" (sRGB, gamma-encoded) as BT.709 limited-range Y, Cb, Cr; black when unreadable.
void colour_to_yuv(const std::string& text, std::uint8_t yuv[3]) {
  int rgb[3] = {0, 0, 0};
  if (!parse_colour(text, rgb)) rgb[0] = rgb[1] = rgb[2] = 0;
  const double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  const double luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const double cb = (b - luma) / 1.8556, cr = (r - luma) / 1.5748;
  const auto byte = [](double value) {
    return static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
  };
  yuv[0] = byte(16 + 219 * luma);
  yuv[1] = byte(128 + 224 * cb);
  yuv[2] = byte(128 + 224 * cr);
}

// A window made valid for a source: even, at least 2×2, inside the frame.
CropWindow clamp_window(CropWindow window, int source_width, int source_height) {
  window.width = std::clamp(even_floor(window.width), 2, source_width & ~1);
  window.height = std::clamp(even_floor(window.height), 2, source_height & ~1);
  window.x = std::clamp(even_floor(window.x), 0, (source_width - window.width) & ~1);
  window.y = std::clamp(even_floor(window.y), 0, (source_height - window.height) & ~1);
  return window;
}

// Bilinear sampling positions of one axis: for each destination index, the first source index
// and the weight (0..256) of the second.
struct Taps {
  std::vector<int> index;
  std::vector<int> weight;
};

Taps bilinear_taps(int destination, int source) {
  Taps taps;
  taps.index.resize(static_cast<std::size_t>(destination));
  taps.weight.resize(static_cast<std::size_t>(destination));
  const double step = static_cast<double>(source) / destination;
  for (int i = 0; i < destination; ++i) {
    const double position = std::clamp((i + 0.5) * step - 0.5, 0.0, source - 1.0);
    int first = std::min(static_cast<int>(position), std::max(0, source - 2));
    int weight = static_cast<int>(std::lround((position - first) * 256));
    if (source == 1) first = 0, weight = 0;
    taps.index[static_cast<std::size_t>(i)] = first;
    taps.weight[static_cast<std::size_t>(i)] = weight;
  }
  return taps;
}

// A separable Gaussian blur of an 8-bit plane in place, clamped at the edges; `scratch` holds
// one plane of floats.
void gaussian_blur(std::uint8_t* plane, int width, int height, int stride, double sigma,
                   std::vector<float>& scratch, std::vector<float>& kernel) {
  const int radius = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
  kernel.assign(static_cast<std::size_t>(2 * radius + 1), 0.0f);
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) {
    sum += kernel[static_cast<std::size_t>(i + radius)] =
        static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  }
  for (float& k : kernel) k = static_cast<float>(k / sum);
  scratch.resize(static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = plane + static_cast<std::ptrdiff_t>(y) * stride;
    float* out = scratch.data() + static_cast<std::ptrdiff_t>(y) * width;
    for (int x = 0; x < width; ++x) {
      float total = 0;
      for (int i = -radius; i <= radius; ++i) {
        total +=
            kernel[static_cast<std::size_t>(i + radius)] * row[std::clamp(x + i, 0, width - 1)];
      }
      out[x] = total;
    }
  }
  for (int y = 0; y < height; ++y) {
    std::uint8_t* out = plane + static_cast<std::ptrdiff_t>(y) * stride;
    for (int x = 0; x < width; ++x) {
      float total = 0;
      for (int i = -radius; i <= radius; ++i) {
        total += kernel[static_cast<std::size_t>(i + radius)] *
                 scratch[static_cast<std::size_t>(std::clamp(y + i, 0, height - 1)) * width + x];
      }
      out[x] = static_cast<std::uint8_t>(std::clamp(total + 0.5f, 0.0f, 255.0f));
    }
  }
}

}  // namespace

CropWindow centred_window(int source_width, int source_height, double aspect) {
  CropWindow window;
  if (source_width <= 0 || source_height <= 0 || !(aspect > 0)) return window;
  if (static_cast<double>(source_width) / source_height > aspect) {
    window.height = source_height & ~1;
    window.width = std::min(source_width & ~1, std::max(2, even_round(source_height * aspect)));
  } else {
    window.width = source_width & ~1;
    window.height = std::min(source_height & ~1, std::max(2, even_round(source_width / aspect)));
  }
  window.x = even_floor((source_width - window.width) / 2.0);
  window.y = even_floor((source_height - window.height) / 2.0);
  return window;
}

Result<void> check_reframe_options(const ReframeOptions& options) {
  if (options.mode != "fill" && options.mode != "fit" && options.mode != "center") {
    return error("reframe mode '" + options.mode + "' is not one of fill, fit, center");
  }
  int rgb[3];
  if (options.background != "blur" && !parse_colour(options.background, rgb)) {
    return error("reframe background '" + options.background +
                 "' is neither \"blur\" nor a colour \"#RRGGBB\"");
  }
  return {};
}

CropWindow CropPath::at(double time, int source_width, int source_height, double aspect) const {
  if (windows.empty()) return centred_window(source_width, source_height, aspect);
  auto after = std::upper_bound(windows.begin(), windows.end(), time,
                                [](double t, const CropWindow& window) { return t < window.time; });
  const CropWindow& window = after == windows.begin() ? windows.front() : *std::prev(after);
  if (window.width <= 0 || window.height <= 0) {
    return centred_window(source_width, source_height, aspect);
  }
  return clamp_window(window, source_width, source_height);
}

struct Framer::Impl {
  Mode mode = Mode::center;
  int source_width = 0;
  int source_height = 0;
  int out_width = 0;
  int out_height = 0;
  double aspect = 1;
  CropPath path;

  // The main scaler: a crop window (center, fill) or the whole frame (fit) to its place in `out`.
  SwsContext* scaler = nullptr;
  int scaler_width = 0;
  int scaler_height = 0;

  // Aligned rows for the main scaler when the caller's are not (scale()); sized on first use
  // (the destination size of the main scaler never changes).
  std::vector<std::uint8_t> staging;
  int staging_stride[3] = {0, 0, 0};

  // fit: where the scaled source goes, and the background.
  int foreground_x = 0, foreground_y = 0, foreground_width = 0, foreground_height = 0;
  bool flat = true;
  std::uint8_t flat_yuv[3] = {16, 128, 128};
  SwsContext* shrinker = nullptr;  // centred window → small background
  int shrinker_width = 0;
  int shrinker_height = 0;
  Yuv420Image small;
  Taps columns[2], rows[2];  // bilinear taps, luma and chroma
  std::vector<float> blur_scratch, blur_kernel;
  // The blurred small image upscaled horizontally to the output width (its rows only): each
  // background row is then a vertical blend of two of these rows, which vectorises well.
  Yuv420Image wide;

  ~Impl() {
    sws_freeContext(scaler);
    sws_freeContext(shrinker);
  }

  void scale(SwsContext*& context, int& context_width, int& context_height, const Yuv420& source,
             const CropWindow& window, std::uint8_t* const destination[3],
             const int destination_stride[3], int width, int height, int flags = kScaleFlags,
             bool stage_unaligned = true) {
    if (context == nullptr || context_width != window.width || context_height != window.height) {
      context =
          sws_getCachedContext(context, window.width, window.height, AV_PIX_FMT_YUV420P, width,
                               height, AV_PIX_FMT_YUV420P, flags, nullptr, nullptr, nullptr);
      context_width = window.width;
      context_height = window.height;
    }
    if (context == nullptr) return;  // out of memory: the frame keeps what it had
    const std::uint8_t* planes[3] = {
        source.row(0, window.y) + window.x,
        source.row(1, window.y / 2) + window.x / 2,
        source.row(2, window.y / 2) + window.x / 2,
    };
    if (!stage_unaligned || aligned(destination, destination_stride)) {
      sws_scale(context, planes, source.stride, 0, window.height, destination, destination_stride);
      return;
    }
    // swscale writes rows that start off a 16-byte boundary with MMX instead of SSE2/AVX2, about
    // half again as slow: scale into aligned rows and copy (a quarter of the difference).
    if (staging.empty()) {
      staging_stride[0] = (width + 63) & ~63;
      staging_stride[1] = staging_stride[2] = (width / 2 + 63) & ~63;
      staging.resize(static_cast<std::size_t>(staging_stride[0]) * height +
                     2 * static_cast<std::size_t>(staging_stride[1]) * (height / 2) + 64);
    }
    std::uint8_t* base =
        staging.data() + (64 - reinterpret_cast<std::uintptr_t>(staging.data()) % 64) % 64;
    std::uint8_t* const staged[3] = {
        base, base + static_cast<std::ptrdiff_t>(staging_stride[0]) * height,
        base + static_cast<std::ptrdiff_t>(staging_stride[0]) * height +
            static_cast<std::ptrdiff_t>(staging_stride[1]) * (height / 2)};
    sws_scale(context, planes, source.stride, 0, window.height, staged, staging_stride);
    for (int p = 0; p < 3; ++p) {
      const int plane_rows = p == 0 ? height : height / 2, bytes = p == 0 ? width : width / 2;
      for (int y = 0; y < plane_rows; ++y) {
        std::memcpy(destination[p] + static_cast<std::ptrdiff_t>(y) * destination_stride[p],
                    staged[p] + static_cast<std::ptrdiff_t>(y) * staging_stride[p],
                    static_cast<std::size_t>(bytes));
      }
    }
  }

  static bool aligned(std::uint8_t* const planes[3], const int strides[3]) {
    for (int p = 0; p < 3; ++p) {
      if (reinterpret_cast<std::uintptr_t>(planes[p]) % 16 != 0 || strides[p] % 16 != 0) {
        return false;
      }
    }
    return true;
  }

  void setup_fit(const ReframeOptions& options) {
    const double factor = std::min(static_cast<double>(out_width) / source_width,
                                   static_cast<double>(out_height) / source_height);
    foreground_width = std::clamp(even_round(source_width * factor), 2, out_width);
    foreground_height = std::clamp(even_round(source_height * factor), 2, out_height);
    foreground_x = even_floor((out_width - foreground_width) / 2.0);
    foreground_y = even_floor((out_height - foreground_height) / 2.0);
    flat = options.background != "blur";
    if (flat) {
      colour_to_yuv(options.background, flat_yuv);
      return;
    }
    const int small_width = std::max(2, even_round(static_cast<double>(out_width) / kBlurShrink));
    const int small_height = std::max(2, even_round(static_cast<double>(out_height) / kBlurShrink));
    small.resize(small_width, small_height);
    columns[0] = bilinear_taps(out_width, small_width);
    columns[1] = bilinear_taps(out_width / 2, small_width / 2);
    rows[0] = bilinear_taps(out_height, small_height);
    rows[1] = bilinear_taps(out_height / 2, small_height / 2);
    wide.resize(out_width, small_height);
    blur_scratch.reserve(static_cast<std::size_t>(small_width) * small_height);
  }

  // Writes the background into the bars of `out` (everything but the foreground rectangle).
  void background(const Yuv420& source, Yuv420& out) {
    if (foreground_width == out_width && foreground_height == out_height) return;  // no bars
    if (!flat) {
      const CropWindow window = centred_window(source_width, source_height, aspect);
      scale(shrinker, shrinker_width, shrinker_height, source, window, small.view.plane,
            small.view.stride, small.view.width, small.view.height, SWS_AREA, false);
      for (int p = 0; p < 3; ++p) {
        const int shift = p == 0 ? 0 : 1;
        gaussian_blur(small.view.plane[p], small.view.width >> shift, small.view.height >> shift,
                      small.view.stride[p], kBlurSigma / (1 << shift), blur_scratch, blur_kernel);
      }
      widen();
    }
    for (int p = 0; p < 3; ++p) {
      const int shift = p == 0 ? 0 : 1;
      const int width = out_width >> shift, height = out_height >> shift;
      const int left = foreground_x >> shift, right = (foreground_x + foreground_width) >> shift;
      const int top = foreground_y >> shift, bottom = (foreground_y + foreground_height) >> shift;
      for (int y = 0; y < height; ++y) {
        std::uint8_t* row = out.row(p, y);
        const bool beside = y >= top && y < bottom;
        if (beside && left == 0 && right == width) continue;
        if (flat) {
          if (beside) {
            std::memset(row, flat_yuv[p], static_cast<std::size_t>(left));
            std::memset(row + right, flat_yuv[p], static_cast<std::size_t>(width - right));
          } else {
            std::memset(row, flat_yuv[p], static_cast<std::size_t>(width));
          }
          continue;
        }
        const Taps& taps = rows[shift];
        const std::uint8_t* upper = wide.view.row(p, taps.index[static_cast<std::size_t>(y)]);
        const std::uint8_t* lower =
            wide.view.row(p, std::min(taps.index[static_cast<std::size_t>(y)] + 1,
                                      (small.view.height >> shift) - 1));
        const auto weight = static_cast<std::uint16_t>(taps.weight[static_cast<std::size_t>(y)]);
        if (beside) {
          blend_rows(upper, lower, weight, row, 0, left);
          blend_rows(upper, lower, weight, row, right, width);
        } else {
          blend_rows(upper, lower, weight, row, 0, width);
        }
      }
    }
  }

  // wide = small upscaled horizontally (bilinear), row by row.
  void widen() {
    for (int p = 0; p < 3; ++p) {
      const int shift = p == 0 ? 0 : 1;
      const Taps& taps = columns[shift];
      const int width = out_width >> shift;
      for (int y = 0; y < small.view.height >> shift; ++y) {
        const std::uint8_t* in = small.view.row(p, y);
        std::uint8_t* row = wide.view.row(p, y);
        const int last = (small.view.width >> shift) - 1;
        for (int x = 0; x < width; ++x) {
          const int first = taps.index[static_cast<std::size_t>(x)];
          const int weight = taps.weight[static_cast<std::size_t>(x)];
          row[x] = static_cast<std::uint8_t>(
              (in[first] * (256 - weight) + in[std::min(first + 1, last)] * weight + 128) >> 8);
        }
      }
    }
  }

  static void blend_rows(const std::uint8_t* upper, const std::uint8_t* lower, std::uint16_t weight,
                         std::uint8_t* row, int begin, int end) {
    const auto keep = static_cast<std::uint16_t>(256 - weight);
    for (int x = begin; x < end; ++x) {
      row[x] = static_cast<std::uint8_t>((upper[x] * keep + lower[x] * weight + 128) >> 8);
    }
  }
};

Framer::Framer(const ReframeOptions& options, int source_width, int source_height, int out_width,
               int out_height, CropPath path)
    : impl_(std::make_unique<Impl>()) {
  assert(source_width >= 2 && source_height >= 2 && out_width >= 2 && out_height >= 2);
  impl_->mode = mode_of(options);
  impl_->source_width = source_width;
  impl_->source_height = source_height;
  impl_->out_width = out_width;
  impl_->out_height = out_height;
  impl_->aspect = static_cast<double>(out_width) / out_height;
  impl_->path = std::move(path);
  if (impl_->mode == Mode::fit) impl_->setup_fit(options);
}

Framer::~Framer() = default;
Framer::Framer(Framer&&) noexcept = default;
Framer& Framer::operator=(Framer&&) noexcept = default;

void Framer::frame(const Yuv420& source, double time, Yuv420& out) {
  Impl& impl = *impl_;
  if (impl.mode == Mode::fit) {
    impl.background(source, out);
    const CropWindow whole{0, 0, 0, source.width & ~1, source.height & ~1};
    std::uint8_t* destination[3] = {
        out.row(0, impl.foreground_y) + impl.foreground_x,
        out.row(1, impl.foreground_y / 2) + impl.foreground_x / 2,
        out.row(2, impl.foreground_y / 2) + impl.foreground_x / 2,
    };
    impl.scale(impl.scaler, impl.scaler_width, impl.scaler_height, source, whole, destination,
               out.stride, impl.foreground_width, impl.foreground_height);
    return;
  }
  const CropWindow window = impl.mode == Mode::fill
                                ? impl.path.at(time, source.width, source.height, impl.aspect)
                                : centred_window(source.width, source.height, impl.aspect);
  impl.scale(impl.scaler, impl.scaler_width, impl.scaler_height, source, window, out.plane,
             out.stride, impl.out_width, impl.out_height);
}

}  // namespace reelflow::video
