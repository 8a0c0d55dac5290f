#include "render/colour/exact_grade.hpp"

#include <algorithm>
#include <cmath>

namespace reelflow::video {

namespace {

// BT.709 luma coefficients; limited range: Y' 16..235, Cb/Cr 16..240 around 128.
constexpr double kKr = 0.2126, kKb = 0.0722, kKg = 1 - kKr - kKb;
constexpr double kCrToR = 2 * (1 - kKr), kCbToB = 2 * (1 - kKb);

std::uint8_t to_code(double value) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
}

}  // namespace

Result<ExactGrade> ExactGrade::create(const ColourOptions& options) {
  ExactGrade grade;
  if (options.interpolation == "tetrahedral") {
    grade.interpolation_ = LutInterpolation::kTetrahedral;
  } else if (options.interpolation == "trilinear") {
    grade.interpolation_ = LutInterpolation::kTrilinear;
  } else {
    return error("colour: interpolation '" + options.interpolation +
                 "' is neither 'tetrahedral' nor 'trilinear'");
  }
  if (!(options.brightness >= -1 && options.brightness <= 1)) {
    return error("colour: brightness " + std::to_string(options.brightness) + " is outside -1..1");
  }
  if (!(options.contrast >= 0 && options.contrast <= 3)) {
    return error("colour: contrast " + std::to_string(options.contrast) + " is outside 0..3");
  }
  if (!(options.saturation >= 0 && options.saturation <= 3)) {
    return error("colour: saturation " + std::to_string(options.saturation) + " is outside 0..3");
  }
  grade.brightness_ = options.brightness;
  grade.contrast_ = options.contrast;
  grade.saturation_ = options.saturation;
  if (!options.lut.empty()) {
    auto lut = read_cube_file(options.lut);
    if (!lut) return error(lut.error());
    grade.lut_ = std::move(*lut);
  }
  return grade;
}

std::array<double, 3> ExactGrade::transform(double y, double u, double v) const {
  return transform(y, u, v, false);
}

std::array<double, 3> ExactGrade::extended_transform(double y, double u, double v) const {
  return transform(y, u, v, true);
}

std::array<double, 3> ExactGrade::transform(double y, double u, double v, bool extended) const {
  double luma = (y - 16) / 219;
  double cb = (u - 128) / 224;
  double cr = (v - 128) / 224;
  if (lut_) {
    const double r = luma + kCrToR * cr;
    const double b = luma + kCbToB * cb;
    const double g = (luma - kKr * r - kKb * b) / kKg;
    const auto near_gamut = [](double channel) {
      return channel >= -kGamutMargin && channel <= 1 + kGamutMargin;
    };
    if (!(near_gamut(r) && near_gamut(g) && near_gamut(b))) extended = false;
    auto out = extended ? lut_->sample(r, g, b, interpolation_, true)
                        : lut_->sample(std::clamp(r, 0.0, 1.0), std::clamp(g, 0.0, 1.0),
                                       std::clamp(b, 0.0, 1.0), interpolation_);
    if (!extended) {
      for (double& channel : out) channel = std::clamp(channel, 0.0, 1.0);
    }
    luma = kKr * out[0] + kKg * out[1] + kKb * out[2];
    cb = (out[2] - luma) / kCbToB;
    cr = (out[0] - luma) / kCrToR;
  }
  luma = (luma - 0.5) * contrast_ + 0.5 + brightness_;
  cb *= saturation_;
  cr *= saturation_;
  return {std::clamp(16 + 219 * luma, 0.0, 255.0), std::clamp(128 + 224 * cb, 0.0, 255.0),
          std::clamp(128 + 224 * cr, 0.0, 255.0)};
}

void ExactGrade::apply(Yuv420& frame) const {
  for (int by = 0; by < frame.height / 2; ++by) {
    std::uint8_t* rows[2] = {frame.row(0, 2 * by), frame.row(0, 2 * by + 1)};
    std::uint8_t* u_row = frame.row(1, by);
    std::uint8_t* v_row = frame.row(2, by);
    for (int bx = 0; bx < frame.width / 2; ++bx) {
      double u_sum = 0, v_sum = 0;
      for (std::uint8_t* row : rows) {
        for (int dx = 0; dx < 2; ++dx) {
          const auto out = transform(row[2 * bx + dx], u_row[bx], v_row[bx]);
          row[2 * bx + dx] = to_code(out[0]);
          u_sum += out[1];
          v_sum += out[2];
        }
      }
      u_row[bx] = to_code(u_sum / 4);
      v_row[bx] = to_code(v_sum / 4);
    }
  }
}

}  // namespace reelflow::video
