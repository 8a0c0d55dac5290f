#include "features/frame_metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <opencv2/imgproc.hpp>

namespace reelflow::video {

namespace {

constexpr double kReferenceInterval = 1.0 / 30;

// Text heuristic constants, for frames about 256 px wide (scaled with the frame otherwise).
constexpr double kMinEdgeStrength = 40;   // grey levels of morphological gradient
constexpr double kMinLineHeight = 0.025;  // of the frame height
constexpr double kMaxLineHeight = 0.4;
constexpr int kMinLinePixels = 5;
constexpr double kMinLineAspect = 2.0;     // width / height: two or more glyphs
constexpr double kMinLineFill = 0.45;      // component pixels / box
constexpr double kLargeLineHeight = 0.15;  // of the frame height: a title
constexpr double kMinLargeLineFill = 0.3;
constexpr double kTextPresentArea = 0.004;  // of the frame
constexpr int kMinStrokes = 4;              // edge runs across a line of text, at least
constexpr double kStrokesPerHeight = 1.6;   // and per line height of width (~2 per glyph)

// Runs of edge pixels along a row.
int count_strokes(const std::uint8_t* row, int width) {
  int runs = 0;
  bool inside = false;
  for (int x = 0; x < width; ++x) {
    const bool edge = row[x] != 0;
    if (edge && !inside) ++runs;
    inside = edge;
  }
  return runs;
}

}  // namespace

FrameMetrics FrameMeter::measure(const cv::Mat& bgr, double interval) {
  CV_Assert(bgr.type() == CV_8UC3);
  std::swap(grey_, previous_grey_);
  cv::cvtColor(bgr, grey_, cv::COLOR_BGR2GRAY);

  FrameMetrics metrics;
  cv::Scalar mean;
  cv::Scalar stddev;
  cv::meanStdDev(grey_, mean, stddev);
  metrics.brightness = static_cast<float>(mean[0]);
  metrics.contrast = static_cast<float>(stddev[0]);
  metrics.sharpness = static_cast<float>(laplacian_variance(grey_));
  metrics.colourfulness = static_cast<float>(colourfulness(bgr));
  if (previous_grey_.size() == grey_.size()) {
    cv::absdiff(grey_, previous_grey_, scratch_);
    const double step = interval > 0 ? std::clamp(interval, 1.0 / 240, 1.0) : kReferenceInterval;
    metrics.motion =
        static_cast<float>(std::min(255.0, cv::mean(scratch_)[0] * kReferenceInterval / step));
  }
  return metrics;
}

double colourfulness(const cv::Mat& bgr) {
  CV_Assert(bgr.type() == CV_8UC3);
  // Integer sums of rg and 2·yb (= R + G − 2B) and their squares: exact, and no float per pixel.
  std::int64_t sum_rg = 0;
  std::int64_t sum_rg2 = 0;
  std::int64_t sum_yb = 0;
  std::int64_t sum_yb2 = 0;
  std::int64_t count = 0;
  for (int y = 0; y < bgr.rows; y += 2) {
    const auto* row = bgr.ptr<std::uint8_t>(y);
    std::int64_t rg_row = 0;
    std::int64_t rg2_row = 0;
    std::int64_t yb_row = 0;
    std::int64_t yb2_row = 0;
    for (int x = 0; x < bgr.cols; x += 2) {
      const int blue = row[3 * x];
      const int green = row[3 * x + 1];
      const int red = row[3 * x + 2];
      const int rg = red - green;
      const int yb2 = red + green - 2 * blue;
      rg_row += rg;
      rg2_row += rg * rg;
      yb_row += yb2;
      yb2_row += yb2 * yb2;
    }
    sum_rg += rg_row;
    sum_rg2 += rg2_row;
    sum_yb += yb_row;
    sum_yb2 += yb2_row;
    count += (bgr.cols + 1) / 2;
  }
  if (count == 0) return 0;
  const double n = static_cast<double>(count);
  const double mean_rg = static_cast<double>(sum_rg) / n;
  const double mean_yb = static_cast<double>(sum_yb) / n / 2;
  const double var_rg = std::max(0.0, static_cast<double>(sum_rg2) / n - mean_rg * mean_rg);
  const double var_yb = std::max(0.0, static_cast<double>(sum_yb2) / n / 4 - mean_yb * mean_yb);
  return std::sqrt(var_rg + var_yb) + 0.3 * std::sqrt(mean_rg * mean_rg + mean_yb * mean_yb);
}

double laplacian_variance(const cv::Mat& grey) {
  CV_Assert(grey.type() == CV_8UC1);
  if (grey.rows < 3 || grey.cols < 3) return 0;
  // The 4-neighbour Laplacian (cv::Laplacian with ksize 1) over interior pixels, in integers:
  // about 4× faster than cv::Laplacian + cv::meanStdDev on a 256×144 frame.
  std::int64_t sum = 0;
  std::int64_t sum_squares = 0;
  for (int y = 1; y < grey.rows - 1; ++y) {
    const auto* above = grey.ptr<std::uint8_t>(y - 1);
    const auto* row = grey.ptr<std::uint8_t>(y);
    const auto* below = grey.ptr<std::uint8_t>(y + 1);
    // 32-bit sums over runs of 1024 pixels (1024 · 1020² < 2³¹) vectorize well.
    for (int run = 1; run < grey.cols - 1; run += 1024) {
      const int run_end = std::min(grey.cols - 1, run + 1024);
      std::int32_t run_sum = 0;
      std::int32_t run_squares = 0;
      for (int x = run; x < run_end; ++x) {
        const std::int32_t value =
            above[x] + below[x] + row[x - 1] + row[x + 1] - 4 * static_cast<std::int32_t>(row[x]);
        run_sum += value;
        run_squares += value * value;
      }
      sum += run_sum;
      sum_squares += run_squares;
    }
  }
  const double count = static_cast<double>(grey.rows - 2) * (grey.cols - 2);
  const double mean = static_cast<double>(sum) / count;
  return std::max(0.0, static_cast<double>(sum_squares) / count - mean * mean);
}

double luma_entropy(const cv::Mat& grey) {
  CV_Assert(grey.type() == CV_8UC1);
  std::array<std::int64_t, 256> histogram{};
  for (int y = 0; y < grey.rows; ++y) {
    const auto* row = grey.ptr<std::uint8_t>(y);
    for (int x = 0; x < grey.cols; ++x) ++histogram[row[x]];
  }
  const double total = static_cast<double>(grey.total());
  if (total == 0) return 0;
  double entropy = 0;
  for (const std::int64_t count : histogram) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / total;
    entropy -= p * std::log2(p);
  }
  return entropy;
}

TextEstimate detect_text(const cv::Mat& grey) {
  CV_Assert(grey.type() == CV_8UC1);
  TextEstimate estimate;
  if (grey.rows < 16 || grey.cols < 16) return estimate;

  cv::Mat gradient;
  cv::morphologyEx(grey, gradient, cv::MORPH_GRADIENT,
                   cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3}));
  cv::Mat edges;
  const double otsu = cv::threshold(gradient, edges, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  if (otsu < kMinEdgeStrength) {
    cv::threshold(gradient, edges, kMinEdgeStrength, 255, cv::THRESH_BINARY);
  }
  // Join the glyphs of a line: gaps up to about a letter's width.
  const int join = std::max(3, grey.cols / 32);
  cv::Mat lines;
  cv::morphologyEx(edges, lines, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_RECT, {join, 1}));

  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int count = cv::connectedComponentsWithStats(lines, labels, stats, centroids, 8, CV_32S);
  const double min_height = std::max<double>(kMinLinePixels, kMinLineHeight * grey.rows);
  const double max_height = kMaxLineHeight * grey.rows;
  double text_area = 0;
  for (int label = 1; label < count; ++label) {
    const int left = stats.at<int>(label, cv::CC_STAT_LEFT);
    const int width = stats.at<int>(label, cv::CC_STAT_WIDTH);
    const int height = stats.at<int>(label, cv::CC_STAT_HEIGHT);
    const int pixels = stats.at<int>(label, cv::CC_STAT_AREA);
    if (height < min_height || height > max_height) continue;
    if (width < kMinLineAspect * height) continue;
    if (left == 0 && left + width == grey.cols) continue;  // a border or a texture band
    const double box = static_cast<double>(width) * height;
    // Large glyphs keep holes the closing does not fill.
    const double min_fill =
        height >= kLargeLineHeight * grey.rows ? kMinLargeLineFill : kMinLineFill;
    if (pixels < min_fill * box) continue;
    // Glyphs make many vertical strokes; a solid shape (a mouth, a bar, a button) makes two.
    const int top = stats.at<int>(label, cv::CC_STAT_TOP);
    int strokes = 0;
    for (const int row : {top + height / 4, top + height / 2, top + 3 * height / 4}) {
      strokes = std::max(strokes, count_strokes(edges.ptr<std::uint8_t>(row) + left, width));
    }
    if (strokes < std::max<double>(kMinStrokes, kStrokesPerHeight * width / height)) continue;
    ++estimate.lines;
    text_area += box;
  }
  estimate.area = std::min(1.0, text_area / static_cast<double>(grey.total()));
  estimate.present = estimate.lines > 0 && estimate.area >= kTextPresentArea;
  return estimate;
}

}  // namespace reelflow::video
