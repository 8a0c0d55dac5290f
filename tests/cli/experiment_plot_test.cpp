// The `optimize show --plot` chart's text (daemon/cli/experiment_plot.hpp, plot_text.hpp): Chinese
// arm and experiment names drawn as glyphs from the real fonts-noto-cjk font, not as '?'; long
// names cut to fit; the pixel-font fallback and its one warning when the font is missing; UTF-8
// decoding. Each picture is written to disk and decoded back from the PNG.
#include "cli/experiment_plot.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/plot_text.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using reelflow::cli::decode_utf8;
using reelflow::cli::kPlotFontFile;
using reelflow::cli::plot_experiment;
using reelflow::cli::PlotOptions;
using reelflow::cli::PlotText;

constexpr int kLegendLeft = 1000;  // experiment_plot.cpp: kRight + 30
constexpr int kLegendTop = 100;    // the legend's heading, above kTop

struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
  const std::uint8_t* at(int x, int y) const {
    return &rgb[static_cast<std::size_t>((y * width + x) * 3)];
  }
};

std::uint32_t read32(const std::string& bytes, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

// An 8-bit RGB PNG, any filter, checked CRCs; a failed expectation on anything else.
Image decode_png(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  Image image;
  if (bytes.size() < 8 || bytes.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) {
    ADD_FAILURE() << file << " is not a PNG";
    return image;
  }
  std::string compressed;
  bool ended = false;
  for (std::size_t at = 8; at + 12 <= bytes.size() && !ended;) {
    const std::uint32_t length = read32(bytes, at);
    if (at + 12 + length > bytes.size()) break;
    const std::string type = bytes.substr(at + 4, 4);
    const std::string data = bytes.substr(at + 8, length);
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + at + 4), length + 4);
    EXPECT_EQ(crc, read32(bytes, at + 8 + length)) << type << " chunk CRC";
    if (type == "IHDR") {
      image.width = static_cast<int>(read32(data, 0));
      image.height = static_cast<int>(read32(data, 4));
      EXPECT_EQ(data.substr(8, 5), std::string("\x08\x02\x00\x00\x00", 5)) << "8-bit RGB";
    } else if (type == "IDAT") {
      compressed += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + length;
  }
  EXPECT_TRUE(ended) << file << " has no IEND";
  const std::size_t stride = static_cast<std::size_t>(image.width) * 3;
  std::vector<std::uint8_t> raw((stride + 1) * static_cast<std::size_t>(image.height));
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (image.width <= 0 || image.height <= 0 ||
      uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                 static_cast<uLong>(compressed.size())) != Z_OK ||
      raw_size != raw.size()) {
    ADD_FAILURE() << file << ": the pixel data does not inflate to " << raw.size() << " bytes";
    return Image{};
  }
  image.rgb.resize(stride * static_cast<std::size_t>(image.height));
  for (std::size_t y = 0; y < static_cast<std::size_t>(image.height); ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* line = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &image.rgb[y * stride];
    const std::uint8_t* up = y > 0 ? &image.rgb[(y - 1) * stride] : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? out[i - 3] : 0, b = up ? up[i] : 0, c = up && i >= 3 ? up[i - 3] : 0;
      int predicted = 0;
      if (filter == 1) predicted = a;
      if (filter == 2) predicted = b;
      if (filter == 3) predicted = (a + b) / 2;
      if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      EXPECT_LE(filter, 4) << "row " << y;
      out[i] = static_cast<std::uint8_t>(line[i] + predicted);
    }
  }
  return image;
}

// Pixels inside [x0, x1) x [y0, y1) that differ between two pictures of the same size.
int differing(const Image& a, const Image& b, int x0, int y0, int x1, int y1) {
  int count = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      const std::uint8_t *p = a.at(x, y), *q = b.at(x, y);
      if (p[0] != q[0] || p[1] != q[1] || p[2] != q[2]) ++count;
    }
  }
  return count;
}

// Dark text pixels (the legend's names are near-black ink) inside the box.
int ink(const Image& image, int x0, int y0, int x1, int y1) {
  int count = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      const std::uint8_t* p = image.at(x, y);
      if (p[0] < 110 && p[1] < 110 && p[2] < 110) ++count;
    }
  }
  return count;
}

// A GET /v1/experiments/<name> answer: a week of daily points, the first arm ahead.
json experiment(const std::string& name, const std::vector<std::string>& arm_names) {
  json arms = json::array();
  for (std::size_t i = 0; i < arm_names.size(); ++i) {
    const double mean = 0.05 - 0.01 * static_cast<double>(i);
    arms.push_back(
        {{"name", arm_names[i]},
         {"active", true},
         {"mean", mean},
         {"lower", mean - 0.008},
         {"upper", mean + 0.008},
         {"probability_best", i == 0 ? 0.9 : 0.1 / static_cast<double>(arm_names.size())},
         {"observations", 40}});
  }
  json points = json::array();
  for (int day = 0; day < 7; ++day) {
    json point_arms = json::array();
    for (std::size_t i = 0; i < arm_names.size(); ++i) {
      const double mean = 0.05 - 0.01 * static_cast<double>(i);
      const double width = 0.03 / (day + 1);
      point_arms.push_back({{"mean", mean + (day % 2 ? 0.002 : -0.002)},
                            {"lower", mean - width},
                            {"upper", mean + width},
                            {"observations", 5 * (day + 1)}});
    }
    points.push_back({{"x", day},
                      {"label", "2026-03-0" + std::to_string(day + 1)},
                      {"decisions", 10 * (day + 1)},
                      {"arms", point_arms}});
  }
  return {{"name", name},
          {"reward", "ctr"},
          {"model", "bernoulli"},
          {"decisions", 70},
          {"observations", 40 * static_cast<int>(arm_names.size())},
          {"arms", arms},
          {"history", {{"by", "day"}, {"points", points}}},
          {"generated_at", "2026-03-07T12:00:00Z"}};
}

class ExperimentPlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("reelflow-plot-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The picture of `shown`, drawn with `font`; warnings collected in warnings_.
  Image plot(const json& shown, const std::string& file, const fs::path& font = kPlotFontFile) {
    PlotOptions options;
    options.font = font;
    options.warn = [this](const std::string& warning) { warnings_.push_back(warning); };
    const auto drawn = plot_experiment(shown, dir_ / file, options);
    EXPECT_TRUE(drawn) << (drawn ? "" : drawn.error().message);
    EXPECT_FALSE(fs::exists(dir_ / (file + ".part")));
    Image image = decode_png(dir_ / file);
    EXPECT_EQ(image.width, 1280);
    EXPECT_EQ(image.height, 720);
    return image;
  }

  fs::path dir_;
  std::vector<std::string> warnings_;
};

TEST_F(ExperimentPlotTest, ChineseArmNamesAreDrawnAsGlyphsNotQuestionMarks) {
  ASSERT_TRUE(fs::exists(kPlotFontFile)) << kPlotFontFile << ": install fonts-noto-cjk";
  const Image chinese = plot(experiment("封面测试", {"封面A", "封面B", "晚上8点"}), "chinese.png");
  const Image marks = plot(experiment("????", {"??A", "??B", "??8?"}), "marks.png");
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
  if (chinese.rgb.empty() || marks.rgb.empty()) return;

  // The legend's names: ink, and not the question marks' ink.
  EXPECT_GT(ink(chinese, kLegendLeft, kLegendTop, 1280, 720), 300);
  EXPECT_GT(differing(chinese, marks, kLegendLeft, kLegendTop, 1280, 720), 300);
  // The title carries the experiment's name.
  EXPECT_GT(differing(chinese, marks, 0, 0, 1280, 50), 200);
  // The plot area itself is the same data.
  EXPECT_EQ(differing(chinese, marks, 101, 130, 960, 630), 0);
}

TEST_F(ExperimentPlotTest, DifferentChineseNamesAreDifferentGlyphs) {
  // Not one missing-glyph box for every ideograph: 封面 and 标题 draw differently.
  const Image covers = plot(experiment("test", {"封面A", "封面B"}), "covers.png");
  const Image titles = plot(experiment("test", {"标题A", "标题B"}), "titles.png");
  if (covers.rgb.empty() || titles.rgb.empty()) return;
  EXPECT_GT(differing(covers, titles, kLegendLeft, kLegendTop, 1280, 720), 200);
  EXPECT_EQ(differing(covers, titles, 0, 0, kLegendLeft, 720), 0);
}

TEST_F(ExperimentPlotTest, LongNamesAreCutToStayInsideThePicture) {
  const std::string long_name = "抖音春季新品发布会封面测试第二轮晚上八点档";
  const Image image =
      plot(experiment(long_name + long_name, {long_name, "B", "Kuaishou evening cover, version 2"}),
           "long.png");
  if (image.rgb.empty()) return;
  // The rightmost columns stay blank: names end in an ellipsis before the edge.
  EXPECT_EQ(ink(image, 1270, 0, 1280, 720), 0);
  EXPECT_GT(ink(image, kLegendLeft, kLegendTop, 1270, 720), 300);

  PlotText text;
  ASSERT_FALSE(text.fallback()) << text.fallback_reason();
  const std::string cut = text.fit(long_name, 17, 200);
  EXPECT_LE(text.width(cut, 17), 200);
  EXPECT_GT(text.width(cut, 17), 150);
  EXPECT_EQ(cut.substr(cut.size() - 3), "\u2026");
  EXPECT_EQ(cut.substr(0, 6), "抖音");
  EXPECT_EQ(decode_utf8(cut).find(U'\uFFFD'), std::u32string::npos) << "cut inside a character";
  EXPECT_EQ(text.fit("封面A", 17, 200), "封面A");
}

TEST_F(ExperimentPlotTest, WithoutTheFontThePixelFontDrawsQuestionMarksAndOneWarningSaysWhy) {
  const fs::path missing = dir_ / "no-such-font.ttc";
  const Image chinese =
      plot(experiment("封面测试", {"封面A", "封面B", "晚上8点"}), "chinese.png", missing);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("built-in ASCII font"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find(missing.string() + " not found; install fonts-noto-cjk"),
            std::string::npos)
      << warnings_[0];
  EXPECT_EQ(warnings_[0].find('\n'), std::string::npos) << "one line";
  // One '?' per character, exactly as the ASCII names drawn with the same font.
  const Image marks = plot(experiment("????", {"??A", "??B", "??8?"}), "marks.png", missing);
  if (chinese.rgb.empty() || marks.rgb.empty()) return;
  EXPECT_EQ(differing(chinese, marks, 0, 0, 1280, 720), 0);
  EXPECT_GT(ink(chinese, kLegendLeft, kLegendTop, 1280, 720), 300);

  // A file that is not a font: the same fallback, naming the file.
  const fs::path not_a_font = dir_ / "not-a-font.ttc";
  std::ofstream(not_a_font) << "hello";
  PlotText text(not_a_font);
  EXPECT_TRUE(text.fallback());
  EXPECT_NE(text.fallback_reason().find(not_a_font.string() + " cannot be read"), std::string::npos)
      << text.fallback_reason();
}

TEST(DecodeUtf8Test, DecodesAndReplacesInvalidBytes) {
  EXPECT_EQ(decode_utf8("封A"), std::u32string({0x5C01, U'A'}));
  EXPECT_EQ(decode_utf8("晚上8点"), std::u32string({0x665A, 0x4E0A, U'8', 0x70B9}));
  EXPECT_EQ(decode_utf8("\xF0\x9F\x8E\xAC"), std::u32string({0x1F3AC}));  // 🎬
  EXPECT_EQ(decode_utf8("a\xFF"
                        "b"),
            std::u32string({U'a', 0xFFFD, U'b'}));
  EXPECT_EQ(decode_utf8("\xE5\xB0"), std::u32string({0xFFFD}));  // cut short
  EXPECT_EQ(decode_utf8("\xE5\xB0Z"), std::u32string({0xFFFD, U'Z'}));
  EXPECT_EQ(decode_utf8("\xC0\x80"), std::u32string({0xFFFD, 0xFFFD}));  // overlong NUL
  EXPECT_EQ(decode_utf8("\xE0\x80\x80"), std::u32string({0xFFFD}));      // overlong
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), std::u32string({0xFFFD}));      // a surrogate
  EXPECT_EQ(decode_utf8(""), std::u32string());
}

}  // namespace
