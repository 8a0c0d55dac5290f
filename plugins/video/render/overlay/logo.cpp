// Logo: the PNG is decoded, premultiplied, scaled and converted to a Sprite once at load; apply()
// only blends, so a frame costs time proportional to the logo's area and allocates nothing.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "overlay.hpp"
#include "sprite.hpp"

namespace reelflow::video {

struct Logo::Impl {
  overlay::Sprite sprite;
  Rect placed;
  double start = 0;
  double end = -1;
};

namespace {

std::string quoted(const std::string& path) { return "'" + path + "'"; }

Result<std::vector<unsigned char>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error("logo " + quoted(path) + " cannot be read: " + std::strerror(errno));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) return error("logo " + quoted(path) + " cannot be read: " + std::strerror(errno));
  return bytes;
}

// Decodes to 4-channel float BGRA in 0..1 with the colour premultiplied by alpha.
Result<cv::Mat> decode_premultiplied(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return error(bytes.error());
  static constexpr std::array<unsigned char, 8> png_signature = {0x89, 'P',  'N',  'G',
                                                                 '\r', '\n', 0x1a, '\n'};
  if (bytes->empty()) return error("logo " + quoted(path) + " is empty (expected a PNG)");
  if (bytes->size() < png_signature.size() ||
      !std::equal(png_signature.begin(), png_signature.end(), bytes->begin())) {
    return error("logo " + quoted(path) + " is not a PNG");
  }
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(*bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return error("logo " + quoted(path) + " is a damaged PNG: " + e.what());
  }
  if (decoded.empty())
    return error("logo " + quoted(path) + " is a damaged PNG that cannot be decoded");

  const double range = decoded.depth() == CV_16U ? 65535.0 : 255.0;
  cv::Mat bgra;
  switch (decoded.channels()) {
    case 1:
      cv::cvtColor(decoded, bgra, cv::COLOR_GRAY2BGRA);
      break;
    case 3:
      cv::cvtColor(decoded, bgra, cv::COLOR_BGR2BGRA);
      break;
    case 4:
      bgra = decoded;
      break;
    default:
      return error("logo " + quoted(path) + " has " + std::to_string(decoded.channels()) +
                   " channels (expected grey, RGB or RGBA)");
  }
  // Gray/BGR → BGRA fills alpha with the maximum of the depth: opaque.
  cv::Mat premultiplied;
  bgra.convertTo(premultiplied, CV_32FC4, 1.0 / range);
  premultiplied.forEach<cv::Vec4f>([](cv::Vec4f& p, const int*) {
    p[0] *= p[3];
    p[1] *= p[3];
    p[2] *= p[3];
  });
  return premultiplied;
}

Result<Rect> place(const LogoOptions& options, int width, int height, int out_width, Rect safe) {
  const int margin = static_cast<int>(std::lround(options.margin * out_width));
  const int left = safe.x + margin, right = safe.x + safe.width - margin - width;
  const int top = safe.y + margin, bottom = safe.y + safe.height - margin - height;
  Rect rect{0, 0, width, height};
  if (options.position == "top-left") {
    rect.x = left, rect.y = top;
  } else if (options.position == "top-right") {
    rect.x = right, rect.y = top;
  } else if (options.position == "bottom-left") {
    rect.x = left, rect.y = bottom;
  } else if (options.position == "bottom-right") {
    rect.x = right, rect.y = bottom;
  } else if (options.position == "center") {
    rect.x = safe.x + (safe.width - width) / 2, rect.y = safe.y + (safe.height - height) / 2;
  } else {
    return error("logo position '" + options.position +
                 "' is not one of top-left, top-right, bottom-left, bottom-right, center");
  }
  // Even, for the chroma planes; rounding towards the inside of the safe area.
  auto even_inside = [](int value, int low) { return value <= low ? (low + 1) & ~1 : value & ~1; };
  rect.x = even_inside(rect.x, safe.x);
  rect.y = even_inside(rect.y, safe.y);
  return rect;
}

}  // namespace

Result<Logo> Logo::load(const LogoOptions& options, int out_width, int out_height, Rect safe_area) {
  if (options.path.empty()) return error("logo: no path given");
  if (!(options.opacity >= 0 && options.opacity <= 1))
    return error("logo opacity must be within 0..1");
  if (!(options.scale > 0 && options.scale <= 1)) return error("logo scale must be within (0, 1]");
  if (!(options.margin >= 0 && options.margin < 0.5))
    return error("logo margin must be within 0..0.5");
  if (options.end >= 0 && options.end <= options.start)
    return error("logo end must be after its start");
  if (out_width <= 0 || out_height <= 0 || safe_area.width <= 0 || safe_area.height <= 0) {
    return error("logo: empty output or safe area");
  }

  auto image = decode_premultiplied(options.path);
  if (!image) return error(image.error());

  // Size: scale × output width, aspect kept, shrunk to fit inside the safe area's margins.
  const int margin = static_cast<int>(std::lround(options.margin * out_width));
  const double max_width = std::max(2, safe_area.width - 2 * margin);
  const double max_height = std::max(2, safe_area.height - 2 * margin);
  double width = options.scale * out_width;
  double height = width * image->rows / image->cols;
  const double fit = std::min({1.0, max_width / width, max_height / height});
  width *= fit, height *= fit;
  const int target_width = std::max(2, static_cast<int>(std::lround(width)));
  const int target_height = std::max(2, static_cast<int>(std::lround(height)));

  cv::Mat scaled;
  const bool shrinking = target_width < image->cols;
  cv::resize(*image, scaled, cv::Size(target_width, target_height), 0, 0,
             shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);

  overlay::PremultipliedCanvas canvas;
  canvas.reset(target_width, target_height);  // odd sizes padded with transparent pixels
  const float opacity = static_cast<float>(options.opacity);
  for (int row = 0; row < target_height; ++row) {
    const cv::Vec4f* source = scaled.ptr<cv::Vec4f>(row);
    for (int col = 0; col < target_width; ++col) {
      // Cubic interpolation overshoots: keep 0 ≤ colour ≤ alpha ≤ 1.
      const float alpha = std::clamp(source[col][3], 0.0f, 1.0f);
      const float blue = std::clamp(source[col][0], 0.0f, alpha);
      const float green = std::clamp(source[col][1], 0.0f, alpha);
      const float red = std::clamp(source[col][2], 0.0f, alpha);
      // The conversion is affine: code value × alpha = offset × alpha + matrix × premultiplied.
      const overlay::YuvColour c = overlay::bt709_limited(red, green, blue);
      const std::size_t i = canvas.index(col, row);
      canvas.y[i] = opacity * (c.y + 16.0f * (alpha - 1.0f));
      canvas.cb[i] = opacity * (c.cb + 128.0f * (alpha - 1.0f));
      canvas.cr[i] = opacity * (c.cr + 128.0f * (alpha - 1.0f));
      canvas.alpha[i] = opacity * alpha;
    }
  }

  auto rect = place(options, target_width, target_height, out_width, safe_area);
  if (!rect) return error(rect.error());

  auto impl = std::make_unique<Impl>();
  impl->sprite.build(canvas, rect->x, rect->y);
  impl->placed = *rect;
  impl->start = options.start;
  impl->end = options.end;
  return Logo(std::move(impl));
}

Logo::Logo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Logo::~Logo() = default;
Logo::Logo(Logo&&) noexcept = default;
Logo& Logo::operator=(Logo&&) noexcept = default;

void Logo::apply(Yuv420& frame, double time) const {
  if (time < impl_->start || (impl_->end >= 0 && time >= impl_->end)) return;
  impl_->sprite.blend(frame);
}

Rect Logo::placed() const { return impl_->placed; }

}  // namespace reelflow::video
