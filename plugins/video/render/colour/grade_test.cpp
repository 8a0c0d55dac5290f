#include "render/colour/grade.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>

#include "render/colour/exact_grade.hpp"

namespace reelflow::video {
namespace {

using Rgb = std::array<double, 3>;

// Writes an N³ .cube whose entry at node (r, g, b) / (N - 1) is look(r, g, b), named after the
// running test too (ctest may run tests in parallel).
std::string write_lut(const std::string& name, int size, const std::function<Rgb(Rgb)>& look) {
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(test.begin(), test.end(), '/', '_');
  const std::string path = std::string(COLOUR_TEST_OUTPUT_DIR) + "/" + test + "_" + name;
  std::ofstream out(path);
  out << "TITLE \"" << name << "\"\nLUT_3D_SIZE " << size << "\n";
  for (int b = 0; b < size; ++b) {
    for (int g = 0; g < size; ++g) {
      for (int r = 0; r < size; ++r) {
        const double step = 1.0 / (size - 1);
        const Rgb value = look({r * step, g * step, b * step});
        out << value[0] << ' ' << value[1] << ' ' << value[2] << '\n';
      }
    }
  }
  return path;
}

// BT.709 limited range, unrounded codes.
std::array<double, 3> yuv_from_rgb(const Rgb& rgb) {
  const double luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  return {16 + 219 * luma, 128 + 224 * (rgb[2] - luma) / 1.8556,
          128 + 224 * (rgb[0] - luma) / 1.5748};
}

std::uint8_t code(double value) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
}

// A frame made from smooth RGB gradients (so in gamut, like decoded video): Y per pixel, chroma
// the mean of each 2×2 block.
Yuv420Image gradient_frame(int width = 320, int height = 256) {
  Yuv420Image image(width, height);
  const auto rgb_at = [&](int x, int y) -> Rgb {
    return {static_cast<double>(x) / (width - 1), static_cast<double>(y) / (height - 1),
            0.5 + 0.5 * std::sin(x * 0.045) * std::cos(y * 0.031)};
  };
  for (int by = 0; by < height / 2; ++by) {
    for (int bx = 0; bx < width / 2; ++bx) {
      double u = 0, v = 0;
      for (int dy = 0; dy < 2; ++dy) {
        for (int dx = 0; dx < 2; ++dx) {
          const auto yuv = yuv_from_rgb(rgb_at(2 * bx + dx, 2 * by + dy));
          image.view.row(0, 2 * by + dy)[2 * bx + dx] = code(yuv[0]);
          u += yuv[1] / 4;
          v += yuv[2] / 4;
        }
      }
      image.view.row(1, by)[bx] = code(u);
      image.view.row(2, by)[bx] = code(v);
    }
  }
  return image;
}

// Each 2×2 block a random RGB colour, each pixel's luma a little apart: all of the gamut, edges
// included.
Yuv420Image random_colour_frame(int width, int height, unsigned seed) {
  Yuv420Image image(width, height);
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> unit(0, 1), shade(0.97, 1.0);
  for (int by = 0; by < height / 2; ++by) {
    for (int bx = 0; bx < width / 2; ++bx) {
      const Rgb colour = {unit(random), unit(random), unit(random)};
      double u = 0, v = 0;
      for (int dy = 0; dy < 2; ++dy) {
        for (int dx = 0; dx < 2; ++dx) {
          const double k = shade(random);
          const auto yuv = yuv_from_rgb({colour[0] * k, colour[1] * k, colour[2] * k});
          image.view.row(0, 2 * by + dy)[2 * bx + dx] = code(yuv[0]);
          u += yuv[1] / 4;
          v += yuv[2] / 4;
        }
      }
      image.view.row(1, by)[bx] = code(u);
      image.view.row(2, by)[bx] = code(v);
    }
  }
  return image;
}

Yuv420Image flat_frame(const Rgb& rgb) {
  Yuv420Image image(64, 32);
  const auto yuv = yuv_from_rgb(rgb);
  for (int p = 0; p < 3; ++p) {
    std::fill(image.data.begin() + (p == 0   ? 0
                                    : p == 1 ? 64 * 32
                                             : 64 * 32 + 32 * 16),
              image.data.begin() + (p == 0   ? 64 * 32
                                    : p == 1 ? 64 * 32 + 32 * 16
                                             : 64 * 32 * 3 / 2),
              code(yuv[p]));
  }
  return image;
}

// Any legal-range values, including out-of-gamut combinations.
Yuv420Image noise_frame(int width, int height, unsigned seed) {
  Yuv420Image image(width, height);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> luma(16, 235), chroma(16, 240);
  const std::size_t luma_size = static_cast<std::size_t>(width) * height;
  for (std::size_t i = 0; i < image.data.size(); ++i) {
    image.data[i] = static_cast<std::uint8_t>(i < luma_size ? luma(random) : chroma(random));
  }
  return image;
}

struct Difference {
  int max[3] = {0, 0, 0};
  double mean[3] = {0, 0, 0};
};

Difference compare(const Yuv420& a, const Yuv420& b) {
  Difference difference;
  for (int p = 0; p < 3; ++p) {
    const int width = p == 0 ? a.width : a.width / 2;
    const int height = p == 0 ? a.height : a.height / 2;
    double sum = 0;
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const int d = std::abs(a.row(p, y)[x] - b.row(p, y)[x]);
        difference.max[p] = std::max(difference.max[p], d);
        sum += d;
      }
    }
    difference.mean[p] = sum / (static_cast<double>(width) * height);
  }
  return difference;
}

ColourGrade make_grade(const ColourOptions& options) {
  auto grade = ColourGrade::create(options);
  EXPECT_TRUE(grade) << grade.error();
  return std::move(*grade);
}

// Fast and exact results of the same options on a copy of `input` each.
Difference fast_versus_exact(const ColourOptions& options, const Yuv420Image& input) {
  Yuv420Image fast = input, exact = input;
  make_grade(options).apply(fast.view);
  auto reference = ExactGrade::create(options);
  EXPECT_TRUE(reference) << reference.error();
  reference->apply(exact.view);
  return compare(fast.view, exact.view);
}

Rgb look(Rgb c) {  // a "creative" LUT: lifted shadows, warm highlights, cross-channel mixing
  return {std::pow(c[0], 0.8) * 0.9 + 0.1 * c[1], std::pow(c[1], 1.1),
          0.15 + 0.7 * c[2] + 0.15 * c[0] * c[1]};
}

class Interpolations : public ::testing::TestWithParam<const char*> {};

TEST(ColourGrade, NeutralOptionsAreIdentity) {
  EXPECT_TRUE(make_grade({}).identity());
  ColourOptions options;
  options.saturation = 1.2;
  EXPECT_FALSE(make_grade(options).identity());
  options = {};
  options.lut = write_lut("identity2.cube", 2, [](Rgb c) { return c; });
  EXPECT_FALSE(make_grade(options).identity());
}

TEST_P(Interpolations, IdentityLutKeepsFramesWithinOne) {
  ColourOptions options;
  options.interpolation = GetParam();
  options.lut = write_lut("identity33.cube", 33, [](Rgb c) { return c; });
  const ColourGrade grade = make_grade(options);
  for (const auto& input : {gradient_frame(), random_colour_frame(256, 256, 6)}) {
    Yuv420Image output = input;
    grade.apply(output.view);
    const Difference difference = compare(input.view, output.view);
    for (int p = 0; p < 3; ++p) EXPECT_LE(difference.max[p], 1) << "plane " << p;
  }
}

TEST_P(Interpolations, InvertLutInvertsLumaAndChroma) {
  ColourOptions options;
  options.interpolation = GetParam();
  options.lut = write_lut("invert.cube", 17, [](Rgb c) {
    return Rgb{1 - c[0], 1 - c[1], 1 - c[2]};
  });
  const Yuv420Image input = gradient_frame();
  Yuv420Image output = input;
  make_grade(options).apply(output.view);
  int worst = 0;
  for (int y = 0; y < input.view.height; ++y) {
    for (int x = 0; x < input.view.width; ++x) {
      worst = std::max(worst, std::abs(output.view.row(0, y)[x] - (251 - input.view.row(0, y)[x])));
    }
  }
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < input.view.height / 2; ++y) {
      for (int x = 0; x < input.view.width / 2; ++x) {
        const int expected = std::min(255, 256 - input.view.row(p, y)[x]);
        worst = std::max(worst, std::abs(output.view.row(p, y)[x] - expected));
      }
    }
  }
  EXPECT_LE(worst, 1);
}

TEST_P(Interpolations, ChannelSwapLutTurnsColoursIntoTheirSwaps) {
  ColourOptions options;
  options.interpolation = GetParam();
  options.lut = write_lut("swap_rb.cube", 33, [](Rgb c) { return Rgb{c[2], c[1], c[0]}; });
  const ColourGrade grade = make_grade(options);
  for (const Rgb colour : {Rgb{1, 0, 0}, Rgb{0, 1, 0}, Rgb{0, 0, 1}, Rgb{1, 0.5, 0.1},
                           Rgb{0.1, 0.6, 0.7}, Rgb{0.5, 0.5, 0.5}}) {
    Yuv420Image frame = flat_frame(colour);
    grade.apply(frame.view);
    const auto expected = yuv_from_rgb({colour[2], colour[1], colour[0]});
    for (int p = 0; p < 3; ++p) {
      EXPECT_NEAR(frame.view.row(p, 5)[7], expected[p], 1.5)
          << "plane " << p << " of " << colour[0] << ' ' << colour[1] << ' ' << colour[2];
    }
  }
}

TEST_P(Interpolations, CreativeLutIsCloseToTheExactPerPixelGrade) {
  ColourOptions options;
  options.interpolation = GetParam();
  options.lut = write_lut("look33.cube", 33, look);
  // Pictures (in gamut): within a code, nearly always exact.
  for (const auto& input : {gradient_frame(), random_colour_frame(256, 256, 5)}) {
    const Difference difference = fast_versus_exact(options, input);
    for (int p = 0; p < 3; ++p) {
      EXPECT_LE(difference.max[p], 1) << "plane " << p;
      EXPECT_LE(difference.mean[p], 0.1) << "plane " << p;
    }
  }
}

TEST_P(Interpolations, OutOfGamutNoiseStaysNearTheExactPerPixelGrade) {
  // Uniform legal-range Y'CbCr is mostly outside the RGB gamut, where the exact grade clamps
  // and the table interpolates across the clamp's kink (exact_grade.hpp).
  ColourOptions options;
  options.interpolation = GetParam();
  options.lut = write_lut("look33.cube", 33, look);
  const Difference difference = fast_versus_exact(options, noise_frame(256, 128, 7));
  for (int p = 0; p < 3; ++p) {
    EXPECT_LE(difference.max[p], 24) << "plane " << p;
    EXPECT_LE(difference.mean[p], 1.0) << "plane " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(ColourGrade, Interpolations,
                         ::testing::Values("trilinear", "tetrahedral"));

TEST(ColourGrade, TrilinearAndTetrahedralAgreeOnASmoothLut) {
  const Yuv420Image input = gradient_frame();
  ColourOptions options;
  options.lut = write_lut("look17.cube", 17, look);
  options.interpolation = "trilinear";
  Yuv420Image trilinear = input;
  make_grade(options).apply(trilinear.view);
  options.interpolation = "tetrahedral";
  Yuv420Image tetrahedral = input;
  make_grade(options).apply(tetrahedral.view);
  const Difference difference = compare(trilinear.view, tetrahedral.view);
  for (int p = 0; p < 3; ++p) EXPECT_LE(difference.max[p], 2) << "plane " << p;
}

TEST(ColourGrade, SaturationZeroIsGreyAndKeepsLuma) {
  ColourOptions options;
  options.saturation = 0;
  const Yuv420Image input = noise_frame(128, 64, 1);
  Yuv420Image output = input;
  make_grade(options).apply(output.view);
  EXPECT_EQ(compare(input.view, output.view).max[0], 0);
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 64; ++x) ASSERT_EQ(output.view.row(p, y)[x], 128);
    }
  }
}

TEST(ColourGrade, SaturationScalesChromaAroundGrey) {
  ColourOptions options;
  options.saturation = 2;
  const Yuv420Image input = noise_frame(128, 64, 2);
  Yuv420Image output = input;
  make_grade(options).apply(output.view);
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 64; ++x) {
        const double expected = std::clamp(128 + 2.0 * (input.view.row(p, y)[x] - 128), 0.0, 255.0);
        ASSERT_NEAR(output.view.row(p, y)[x], expected, 1.0);
      }
    }
  }
}

TEST(ColourGrade, BrightnessAndContrastMoveLumaOnly) {
  const Yuv420Image input = noise_frame(128, 64, 3);
  for (const auto& [brightness, contrast] :
       {std::pair{0.1, 1.0}, {-0.25, 1.0}, {0.0, 2.0}, {0.0, 0.5}, {0.05, 1.5}, {0.0, 0.0}}) {
    ColourOptions options;
    options.brightness = brightness;
    options.contrast = contrast;
    Yuv420Image output = input;
    make_grade(options).apply(output.view);
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 128; ++x) {
        const double mid = 16 + 219 * 0.5;
        const double expected = std::clamp(
            (input.view.row(0, y)[x] - mid) * contrast + mid + 219 * brightness, 0.0, 255.0);
        ASSERT_NEAR(output.view.row(0, y)[x], expected, 0.51)
            << "brightness " << brightness << " contrast " << contrast;
      }
    }
    const Difference chroma = compare(input.view, output.view);
    EXPECT_EQ(chroma.max[1], 0);
    EXPECT_EQ(chroma.max[2], 0);
  }
}

TEST(ColourGrade, BandsGiveTheWholeFrameResult) {
  ColourOptions options;
  options.lut = write_lut("look33.cube", 33, look);
  options.saturation = 1.3;
  options.contrast = 1.1;
  const ColourGrade grade = make_grade(options);
  const Yuv420Image input = noise_frame(200, 120, 4);
  Yuv420Image whole = input, banded = input;
  grade.apply(whole.view);
  for (const auto& [first, rows] : {std::pair{0, 34}, {34, 2}, {36, 50}, {86, 34}}) {
    Yuv420 band = banded.view;
    band.height = rows;
    band.plane[0] = banded.view.row(0, first);
    band.plane[1] = banded.view.row(1, first / 2);
    band.plane[2] = banded.view.row(2, first / 2);
    grade.apply(band);
  }
  EXPECT_EQ(whole.data, banded.data);
}

TEST(ColourGrade, BadOptionsAreErrors) {
  ColourOptions options;
  options.interpolation = "cubic";
  auto grade = ColourGrade::create(options);
  ASSERT_FALSE(grade);
  EXPECT_EQ(grade.error(),
            "colour: interpolation 'cubic' is neither 'tetrahedral' nor 'trilinear'");
  options = {};
  options.contrast = 4;
  EXPECT_FALSE(ColourGrade::create(options));
  options = {};
  options.lut = std::string(COLOUR_TEST_OUTPUT_DIR) + "/no_such.cube";
  grade = ColourGrade::create(options);
  ASSERT_FALSE(grade);
  EXPECT_NE(grade.error().find("no_such.cube"), std::string::npos) << grade.error();
}

}  // namespace
}  // namespace reelflow::video
