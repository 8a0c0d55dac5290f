#include "render/colour/cube.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace reelflow::video {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = std::string(COLOUR_TEST_OUTPUT_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// N³ lines of an identity LUT, red fastest.
std::string identity_data(int size) {
  std::ostringstream out;
  for (int b = 0; b < size; ++b) {
    for (int g = 0; g < size; ++g) {
      for (int r = 0; r < size; ++r) {
        out << static_cast<double>(r) / (size - 1) << ' ' << static_cast<double>(g) / (size - 1)
            << ' ' << static_cast<double>(b) / (size - 1) << '\n';
      }
    }
  }
  return out.str();
}

// What a failing parse says, or "" when it succeeded.
std::string parse_error(const std::string& name, const std::string& text) {
  auto lut = read_cube_file(write_file(name, text));
  return lut ? std::string() : lut.error();
}

TEST(Cube, ReadsTitleCommentsDomainAndRedFastestOrder) {
  const std::string path = write_file("good.cube",
                                      "# Created by a grading tool\r\n"
                                      "TITLE \"Warm look\"\r\n"
                                      "\r\n"
                                      "LUT_3D_SIZE 2\r\n"
                                      "DOMAIN_MIN 0 0 0\r\n"
                                      "DOMAIN_MAX 1 1 2\r\n"
                                      "LUT_IN_VIDEO_RANGE\r\n"
                                      "0 0 0\r\n"
                                      "1 0 0\r\n"
                                      "# a comment between the data\r\n"
                                      "0 1 0\r\n"
                                      "1 1 0\r\n"
                                      "0 0 1\r\n"
                                      "1 0 1\r\n"
                                      "0 1 1\r\n"
                                      "  1.0e0\t1 1  \r\n");
  auto lut = read_cube_file(path);
  ASSERT_TRUE(lut) << lut.error();
  EXPECT_EQ(lut->title, "Warm look");
  EXPECT_EQ(lut->size, 2);
  EXPECT_EQ(lut->domain_max[2], 2.0f);
  EXPECT_EQ(lut->at(1, 0, 0), (std::array<float, 3>{1, 0, 0}));
  EXPECT_EQ(lut->at(0, 1, 0), (std::array<float, 3>{0, 1, 0}));
  EXPECT_EQ(lut->at(0, 0, 1), (std::array<float, 3>{0, 0, 1}));
  // Blue's domain is 0..2: an input of 1 is half way.
  const auto mid = lut->sample(0, 0, 1, LutInterpolation::kTrilinear);
  EXPECT_NEAR(mid[2], 0.5, 1e-9);
}

TEST(Cube, Reads65CubedAndResolveInputRange) {
  auto lut = read_cube_file(
      write_file("big.cube", "LUT_3D_INPUT_RANGE 0.0 1.0\nLUT_3D_SIZE 65\n" + identity_data(65)));
  ASSERT_TRUE(lut) << lut.error();
  EXPECT_EQ(lut->size, 65);
  EXPECT_EQ(lut->table.size(), 65u * 65 * 65);
  EXPECT_EQ(lut->at(64, 0, 0), (std::array<float, 3>{1, 0, 0}));
}

TEST(Cube, IdentityLutSamplesToItsInput) {
  auto lut = parse_cube("LUT_3D_SIZE 17\n" + identity_data(17), "identity.cube");
  ASSERT_TRUE(lut) << lut.error();
  for (const auto interpolation : {LutInterpolation::kTrilinear, LutInterpolation::kTetrahedral}) {
    for (const double r : {0.0, 0.123, 0.5, 0.77, 1.0}) {
      const auto out = lut->sample(r, 1 - r, r * r, interpolation);
      EXPECT_NEAR(out[0], r, 1e-6);
      EXPECT_NEAR(out[1], 1 - r, 1e-6);
      EXPECT_NEAR(out[2], r * r, 1e-6);
    }
    // Inputs outside the domain are clamped to it.
    const auto clamped = lut->sample(-0.5, 1.5, 0.25, interpolation);
    EXPECT_NEAR(clamped[0], 0, 1e-6);
    EXPECT_NEAR(clamped[1], 1, 1e-6);
  }
}

TEST(Cube, TetrahedralFollowsTheDiagonalTrilinearBlends) {
  // Only the white corner is lit: trilinear gives r·g·b, tetrahedral the smallest fraction.
  std::string data;
  for (int i = 0; i < 7; ++i) data += "0 0 0\n";
  data += "1 1 1\n";
  auto lut = parse_cube("LUT_3D_SIZE 2\n" + data, "corner.cube");
  ASSERT_TRUE(lut) << lut.error();
  EXPECT_NEAR(lut->sample(0.5, 0.8, 0.4, LutInterpolation::kTrilinear)[0], 0.5 * 0.8 * 0.4, 1e-6);
  EXPECT_NEAR(lut->sample(0.5, 0.8, 0.4, LutInterpolation::kTetrahedral)[0], 0.4, 1e-6);
}

TEST(Cube, BadFilesNameTheFileTheLineAndTheProblem) {
  const std::string dir = std::string(COLOUR_TEST_OUTPUT_DIR) + "/";
  EXPECT_EQ(parse_error("one_d.cube",
                        "TITLE \"curve\"\nLUT_1D_SIZE 4\n0 0 0\n0.3 0.3 0.3\n"
                        "0.6 0.6 0.6\n1 1 1\n"),
            "'" + dir +
                "one_d.cube' line 2: a 1D LUT (LUT_1D_SIZE 4); only 3D LUTs (LUT_3D_SIZE) "
                "are supported");
  EXPECT_EQ(parse_error("both.cube", "LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n"),
            "'" + dir +
                "both.cube' line 1: a combined 1D + 3D LUT; only plain 3D LUTs are "
                "supported");
  EXPECT_EQ(parse_error("short.cube", "LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 0\n"),
            "'" + dir + "short.cube' line 4: end of file after 3 entries; LUT_3D_SIZE 2 needs 8");
  EXPECT_EQ(parse_error("long.cube", "LUT_3D_SIZE 2\n" + identity_data(2) + "1 1 1\n"),
            "'" + dir + "long.cube' line 10: more than 8 entries (LUT_3D_SIZE 2)");
  EXPECT_EQ(parse_error("huge.cube", "# big\nLUT_3D_SIZE 66\n"),
            "'" + dir + "huge.cube' line 2: LUT_3D_SIZE 66 is outside 2..65");
  EXPECT_EQ(parse_error("twice.cube", "LUT_3D_SIZE 2\nLUT_3D_SIZE 2\n"),
            "'" + dir + "twice.cube' line 2: LUT_3D_SIZE given twice");
  EXPECT_EQ(parse_error("word.cube", "LUT_3D_SIZE 2\n0 0 0\n1 zero 0\n"),
            "'" + dir + "word.cube' line 3: expected three numbers (r g b), got '1 zero 0'");
  EXPECT_EQ(parse_error("two.cube", "LUT_3D_SIZE 2\n0 0\n"),
            "'" + dir + "two.cube' line 2: expected three numbers (r g b), got '0 0'");
  EXPECT_EQ(parse_error("nan.cube", "LUT_3D_SIZE 2\nnan 0 0\n"),
            "'" + dir + "nan.cube' line 2: expected three numbers (r g b), got 'nan 0 0'");
  EXPECT_EQ(parse_error("early.cube", "TITLE \"x\"\n0 0 0\nLUT_3D_SIZE 2\n"),
            "'" + dir + "early.cube' line 2: table data before LUT_3D_SIZE");
  EXPECT_EQ(parse_error("late.cube", "LUT_3D_SIZE 2\n0 0 0\nDOMAIN_MIN 0 0 0\n"),
            "'" + dir + "late.cube' line 3: keyword DOMAIN_MIN after the table data has begun");
  EXPECT_EQ(parse_error("domain.cube", "DOMAIN_MIN 0 0\n"),
            "'" + dir + "domain.cube' line 1: DOMAIN_MIN needs three numbers");
  EXPECT_EQ(parse_error("inverted.cube",
                        "LUT_3D_SIZE 2\nDOMAIN_MIN 1 0 0\nDOMAIN_MAX 0 1 1\n" + identity_data(2)),
            "'" + dir + "inverted.cube': DOMAIN_MIN must be below DOMAIN_MAX in every channel");
  EXPECT_EQ(parse_error("title.cube", "TITLE unquoted\n"),
            "'" + dir + "title.cube' line 1: TITLE needs a quoted string");
  EXPECT_EQ(parse_error("empty.cube", ""),
            "'" + dir + "empty.cube': no LUT_3D_SIZE; not a 3D .cube LUT");
  auto missing = read_cube_file(dir + "missing.cube");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "cannot open the LUT '" + dir + "missing.cube'");
}

}  // namespace
}  // namespace reelflow::video
