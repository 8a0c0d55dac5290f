#include "cli/experiment_plot.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "cli/plot_text.hpp"

namespace reelflow::cli {

namespace {

using nlohmann::json;

struct Color {
  std::uint8_t r, g, b;
};

constexpr Color kWhite{255, 255, 255};
constexpr Color kInk{33, 37, 41};
constexpr Color kMuted{108, 117, 125};
constexpr Color kGrid{226, 230, 234};
constexpr Color kAxis{134, 142, 150};
// Tableau 10: distinct for the usual color-blindness types, and calm on white.
constexpr std::array<Color, 10> kPalette = {{{78, 121, 167},
                                             {242, 142, 43},
                                             {225, 87, 89},
                                             {118, 183, 178},
                                             {89, 161, 79},
                                             {237, 201, 72},
                                             {176, 122, 161},
                                             {255, 157, 167},
                                             {156, 117, 95},
                                             {186, 176, 172}}};

// Font sizes in pixels (the em): body text, and the title.
constexpr int kBody = 17;
constexpr int kTitle = 26;

class Canvas {
 public:
  Canvas(int width, int height, PlotText& text)
      : width_(width),
        height_(height),
        pixels_(static_cast<std::size_t>(width * height * 3), 255),
        text_(text) {}

  int width() const { return width_; }
  int height() const { return height_; }

  // Drawing outside [x0, x1) x [y0, y1) is dropped until unclip().
  void clip(int x0, int y0, int x1, int y1) { clip_ = {x0, y0, x1, y1}; }
  void unclip() { clip_ = {0, 0, width_, height_}; }

  void blend(int x, int y, Color c, double alpha) {
    if (x < clip_[0] || y < clip_[1] || x >= clip_[2] || y >= clip_[3] || alpha <= 0) return;
    alpha = std::min(alpha, 1.0);
    std::uint8_t* p = &pixels_[static_cast<std::size_t>((y * width_ + x) * 3)];
    const std::uint8_t channels[3] = {c.r, c.g, c.b};
    for (int i = 0; i < 3; ++i) {
      p[i] = static_cast<std::uint8_t>(std::lround(p[i] * (1 - alpha) + channels[i] * alpha));
    }
  }

  void fill_rect(int x0, int y0, int x1, int y1, Color c, double alpha = 1.0) {
    for (int y = std::max(y0, 0); y < std::min(y1, height_); ++y) {
      for (int x = std::max(x0, 0); x < std::min(x1, width_); ++x) blend(x, y, c, alpha);
    }
  }

  // An anti-aliased polyline of the given width: each pixel is painted once, with the largest
  // coverage any segment gives it, so joints do not darken.
  void polyline(const std::vector<std::pair<double, double>>& points, double width, Color c) {
    if (points.empty()) return;
    const double half = width / 2;
    double min_x = points[0].first, max_x = min_x, min_y = points[0].second, max_y = min_y;
    for (const auto& [x, y] : points) {
      min_x = std::min(min_x, x), max_x = std::max(max_x, x);
      min_y = std::min(min_y, y), max_y = std::max(max_y, y);
    }
    const int x0 = std::max(0, static_cast<int>(std::floor(min_x - half - 1)));
    const int y0 = std::max(0, static_cast<int>(std::floor(min_y - half - 1)));
    const int x1 = std::min(width_ - 1, static_cast<int>(std::ceil(max_x + half + 1)));
    const int y1 = std::min(height_ - 1, static_cast<int>(std::ceil(max_y + half + 1)));
    if (x1 < x0 || y1 < y0) return;
    const int w = x1 - x0 + 1;
    std::vector<float> coverage(static_cast<std::size_t>(w * (y1 - y0 + 1)), 0.0f);
    auto cover_segment = [&](double ax, double ay, double bx, double by) {
      const int sx0 = std::max(x0, static_cast<int>(std::floor(std::min(ax, bx) - half - 1)));
      const int sx1 = std::min(x1, static_cast<int>(std::ceil(std::max(ax, bx) + half + 1)));
      const int sy0 = std::max(y0, static_cast<int>(std::floor(std::min(ay, by) - half - 1)));
      const int sy1 = std::min(y1, static_cast<int>(std::ceil(std::max(ay, by) + half + 1)));
      const double dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
      for (int y = sy0; y <= sy1; ++y) {
        for (int x = sx0; x <= sx1; ++x) {
          const double px = x + 0.5, py = y + 0.5;
          double t = length2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / length2 : 0;
          t = std::clamp(t, 0.0, 1.0);
          const double distance = std::hypot(px - (ax + t * dx), py - (ay + t * dy));
          const double value = std::clamp(half + 0.5 - distance, 0.0, 1.0);
          float& cell = coverage[static_cast<std::size_t>((y - y0) * w + (x - x0))];
          cell = std::max(cell, static_cast<float>(value));
        }
      }
    };
    if (points.size() == 1)
      cover_segment(points[0].first, points[0].second, points[0].first, points[0].second);
    for (std::size_t i = 1; i < points.size(); ++i) {
      cover_segment(points[i - 1].first, points[i - 1].second, points[i].first, points[i].second);
    }
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        blend(x, y, c, coverage[static_cast<std::size_t>((y - y0) * w + (x - x0))]);
      }
    }
  }

  // The area between two curves over the same increasing x (pixel coordinates): for each pixel
  // column, the span between them, its ends anti-aliased.
  void band(const std::vector<std::array<double, 3>>& points, Color c, double alpha) {
    if (points.size() < 2) return;
    const int first = std::max(0, static_cast<int>(std::ceil(points.front()[0] - 0.5)));
    const int last = std::min(width_ - 1, static_cast<int>(std::floor(points.back()[0] - 0.5)));
    std::size_t segment = 1;
    for (int x = first; x <= last; ++x) {
      const double px = x + 0.5;
      while (segment + 1 < points.size() && points[segment][0] < px) ++segment;
      const auto& a = points[segment - 1];
      const auto& b = points[segment];
      const double t = b[0] > a[0] ? std::clamp((px - a[0]) / (b[0] - a[0]), 0.0, 1.0) : 0.0;
      double top = a[1] + t * (b[1] - a[1]);
      double bottom = a[2] + t * (b[2] - a[2]);
      if (top > bottom) std::swap(top, bottom);
      for (int y = std::max(0, static_cast<int>(std::floor(top)));
           y <= std::min(height_ - 1, static_cast<int>(std::floor(bottom))); ++y) {
        const double covered = std::min(bottom, y + 1.0) - std::max(top, static_cast<double>(y));
        blend(x, y, c, alpha * std::clamp(covered, 0.0, 1.0));
      }
    }
  }

  // Text with its line box's top-left corner at (x, y); `size` in pixels (kBody, kTitle).
  void text(int x, int y, std::string_view text, int size, Color c) {
    text_.draw(text, x, y, size,
               [&](int px, int py, double coverage) { blend(px, py, c, coverage); });
  }
  int text_width(std::string_view text, int size) const { return text_.width(text, size); }
  // `text`, cut with an ellipsis to at most `max_width` pixels.
  std::string fit(std::string_view text, int size, int max_width) const {
    return text_.fit(text, size, max_width);
  }

  Result<void> write_png(const std::filesystem::path& file) const {
    std::string raw;
    raw.reserve(static_cast<std::size_t>((width_ * 3 + 1) * height_));
    for (int y = 0; y < height_; ++y) {
      raw += '\0';  // filter: none
      raw.append(reinterpret_cast<const char*>(&pixels_[static_cast<std::size_t>(y * width_ * 3)]),
                 static_cast<std::size_t>(width_ * 3));
    }
    uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
    std::string compressed(compressed_size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                  reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                  6) != Z_OK) {
      return fail("cannot compress the picture for " + file.string());
    }
    compressed.resize(compressed_size);

    std::string png("\x89PNG\r\n\x1a\n", 8);
    auto put32 = [](std::string& out, std::uint32_t value) {
      for (int shift = 24; shift >= 0; shift -= 8)
        out += static_cast<char>((value >> shift) & 0xff);
    };
    auto chunk = [&](const char* type, const std::string& data) {
      put32(png, static_cast<std::uint32_t>(data.size()));
      std::string body = std::string(type, 4) + data;
      png += body;
      put32(png, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                                  static_cast<uInt>(body.size()))));
    };
    std::string header;
    put32(header, static_cast<std::uint32_t>(width_));
    put32(header, static_cast<std::uint32_t>(height_));
    header +=
        std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, no filter, no interlace
    chunk("IHDR", header);
    chunk("IDAT", compressed);
    chunk("IEND", "");

    const std::filesystem::path partial = file.string() + ".part";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      if (!out)
        return fail("cannot write " + file.string() + ": cannot create " + partial.string());
      out.write(png.data(), static_cast<std::streamsize>(png.size()));
      out.close();
      if (!out) return fail("cannot write " + file.string() + " (disk full?)");
    }
    std::error_code error;
    std::filesystem::rename(partial, file, error);
    if (error) {
      std::filesystem::remove(partial, error);
      return fail("cannot write " + file.string() + ": " + error.message());
    }
    return {};
  }

 private:
  int width_, height_;
  std::vector<std::uint8_t> pixels_;
  PlotText& text_;
  std::array<int, 4> clip_{0, 0, width_, height_};
};

// Round steps (1, 2, 5 x 10^k) covering [low, high] with about `count` intervals.
struct Ticks {
  double first = 0, step = 1, last = 1;
  int decimals = 0;
};

Ticks nice_ticks(double low, double high, int count) {
  if (!(high > low)) {
    const double pad = std::abs(low) > 0 ? std::abs(low) * 0.1 : 1;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  const double step = (normalized < 1.5 ? 1
                       : normalized < 3 ? 2
                       : normalized < 7 ? 5
                                        : 10) *
                      magnitude;
  Ticks ticks;
  ticks.step = step;
  ticks.first = std::floor(low / step) * step;
  ticks.last = std::ceil(high / step) * step;
  ticks.decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
  return ticks;
}

std::string number_text(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, std::abs(value) < 1e-12 ? 0.0 : value);
  return text;
}

std::string percent_text(double fraction) {
  char text[32];
  if (fraction >= 0.995 || fraction <= 0.005) {
    std::snprintf(text, sizeof text, "%.1f%%", fraction * 100);
  } else {
    std::snprintf(text, sizeof text, "%.0f%%", fraction * 100);
  }
  return text;
}

double number_or(const json& value, double fallback) {
  return value.is_number() ? value.get<double>() : fallback;
}

}  // namespace

Result<void> plot_experiment(const json& experiment, const std::filesystem::path& file,
                             const PlotOptions& options) {
  if (!experiment.is_object() || !experiment.contains("arms") || !experiment.contains("history")) {
    return fail("the daemon's answer has no arms or history to plot");
  }
  const std::string reward = experiment.value("reward", "ctr");
  const bool rates = experiment.value("model", "bernoulli") == "bernoulli";
  const double scale_by = rates ? 100.0 : 1.0;  // rates in percent
  std::vector<std::string> names;
  std::vector<double> best, mean, lower, upper;
  std::vector<std::int64_t> results;
  for (const auto& arm : experiment["arms"]) {
    if (!arm.value("active", true)) continue;
    names.push_back(arm.value("name", "?"));
    best.push_back(number_or(arm.value("probability_best", json()), 0));
    mean.push_back(number_or(arm.value("mean", json()), 0) * (rates ? 100.0 : 1.0));
    lower.push_back(number_or(arm.value("lower", json()), 0) * (rates ? 100.0 : 1.0));
    upper.push_back(number_or(arm.value("upper", json()), 0) * (rates ? 100.0 : 1.0));
    results.push_back(arm.value("observations", std::int64_t{0}));
  }
  const json points = experiment["history"].value("points", json::array());
  const bool by_day = experiment["history"].value("by", "") == "day";

  constexpr int kWidth = 1280, kHeight = 720;
  constexpr int kLeft = 100, kTop = 130, kRight = kWidth - 310, kBottom = kHeight - 84;
  PlotText text(options.font);
  if (text.fallback()) {
    const std::string warning =
        "the plot's text uses the built-in ASCII font (other characters show as '?'): " +
        text.fallback_reason();
    if (options.warn) {
      options.warn(warning);
    } else {
      std::fprintf(stderr, "reelflow optimize: warning: %s\n", warning.c_str());
    }
  }
  Canvas canvas(kWidth, kHeight, text);
  constexpr int kTextWidth = kWidth - 2 * (kLeft - 70);

  const std::string title_start = "Experiment ", title_end = ": which variant wins?";
  const std::string title =
      title_start +
      canvas.fit(experiment.value("name", ""), kTitle,
                 kTextWidth - canvas.text_width(title_start + title_end, kTitle)) +
      title_end;
  canvas.text(kLeft - 70, 18, title, kTitle, kInk);
  const std::string reward_text = reward == "ctr"              ? "Clicks per view"
                                  : reward == "cvr"            ? "Conversions per click"
                                  : reward == "revenue"        ? "Revenue per post"
                                  : reward == "views_per_hour" ? "Views per hour"
                                                               : "Weighted reward per post";
  const std::string subtitle = reward_text + ": likely value (line), 95% range (band); " +
                               std::to_string(experiment.value("decisions", 0)) + " decisions, " +
                               std::to_string(experiment.value("observations", 0)) +
                               " with results.";
  canvas.text(kLeft - 70, 55, canvas.fit(subtitle, kBody, kTextWidth), kBody, kMuted);
  canvas.text(
      kLeft - 70, 77,
      canvas.fit("Narrow band: sure. Band above the others: the best arm. Updated " +
                     experiment.value("generated_at", std::string()).substr(0, 16) + " UTC.",
                 kBody, kTextWidth),
      kBody, kMuted);

  // The value range across every band.
  double low = std::numeric_limits<double>::infinity(), high = -low;
  double min_x = std::numeric_limits<double>::infinity(), max_x = -min_x;
  for (const auto& point : points) {
    const double x = number_or(point.value("x", json()), 0);
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    // The scale follows the means and today's intervals; the wide intervals of the first few
    // results are cut at the edge rather than squeezing everything else into a line.
    const bool last = &point == &points.back();
    for (const auto& arm : point.value("arms", json::array())) {
      if (arm.value("observations", 0) == 0) continue;  // the prior alone: not drawn
      const double mean_value = number_or(arm.value("mean", json()), 0) * scale_by;
      low = std::min(low, last ? number_or(arm.value("lower", json()), 0) * scale_by : mean_value);
      high =
          std::max(high, last ? number_or(arm.value("upper", json()), 0) * scale_by : mean_value);
    }
  }
  if (points.empty() || !(high >= low)) {
    low = 0;
    high = rates ? 100 : 1;
    min_x = 0;
    max_x = 1;
  }
  const Ticks y_ticks = nice_ticks(low, high, 6);
  double y_min = y_ticks.first, y_max = y_ticks.last;
  if (rates) {
    y_min = std::max(y_min, 0.0);
    y_max = std::min(y_max, 100.0);
  }
  if (!(y_max > y_min)) y_max = y_min + 1;
  auto to_y = [&](double value) {
    return kBottom - (value - y_min) / (y_max - y_min) * (kBottom - kTop);
  };
  const double x_pad = max_x > min_x ? 0 : 1;
  auto to_x = [&](double x) {
    return kLeft + 10 + (x - min_x + x_pad) / (max_x - min_x + 2 * x_pad) * (kRight - kLeft - 20);
  };

  // Grid and axes.
  for (double value = y_ticks.first; value <= y_ticks.last + y_ticks.step / 2;
       value += y_ticks.step) {
    if (value < y_min - 1e-9 || value > y_max + 1e-9) continue;
    const int y = static_cast<int>(std::lround(to_y(value)));
    canvas.fill_rect(kLeft, y, kRight, y + 1, kGrid);
    const std::string label = number_text(value, y_ticks.decimals) + (rates ? "%" : "");
    canvas.text(kLeft - 10 - canvas.text_width(label, kBody), y - 8, label, kBody, kMuted);
  }
  canvas.fill_rect(kLeft, kTop, kLeft + 1, kBottom + 1, kAxis);
  canvas.fill_rect(kLeft, kBottom, kRight, kBottom + 1, kAxis);
  const std::string y_title = reward == "ctr"              ? "CTR"
                              : reward == "cvr"            ? "CVR"
                              : reward == "revenue"        ? "revenue per post"
                              : reward == "views_per_hour" ? "views per hour"
                                                           : "reward per post";
  canvas.text(kLeft - 70, kTop - 26, y_title, kBody, kInk);

  // X labels: as many of the points' labels as fit, evenly spaced.
  if (!points.empty()) {
    const int label_width = canvas.text_width(by_day ? "2026-12-31" : "00000", kBody) + 24;
    const std::size_t fit =
        std::max<std::size_t>(1, static_cast<std::size_t>((kRight - kLeft) / label_width));
    const std::size_t every = (points.size() + fit - 1) / fit;
    for (std::size_t i = 0; i < points.size(); i += every) {
      const double x = to_x(number_or(points[i].value("x", json()), 0));
      const std::string label = points[i].value("label", "");
      canvas.fill_rect(static_cast<int>(x), kBottom, static_cast<int>(x) + 1, kBottom + 6, kAxis);
      canvas.text(static_cast<int>(x) - canvas.text_width(label, kBody) / 2, kBottom + 12, label,
                  kBody, kMuted);
    }
  }
  const std::string x_title =
      by_day ? "day (UTC): decisions made up to that day, with every result known now"
             : "decisions made: the posterior after the first N, with every result known now";
  canvas.text((kLeft + kRight) / 2 - canvas.text_width(x_title, kBody) / 2, kBottom + 44, x_title,
              kBody, kInk);

  // Bands first (all arms), then the lines over them, inside the plot area.
  canvas.clip(kLeft + 1, kTop - 4, kRight + 4, kBottom);
  for (std::size_t arm = 0; arm < names.size(); ++arm) {
    const Color color = kPalette[arm % kPalette.size()];
    std::vector<std::array<double, 3>> band;
    for (const auto& point : points) {
      const json arms = point.value("arms", json::array());
      if (arm >= arms.size() || arms[arm].value("observations", 0) == 0) continue;
      band.push_back({to_x(number_or(point.value("x", json()), 0)),
                      to_y(number_or(arms[arm].value("upper", json()), 0) * scale_by),
                      to_y(number_or(arms[arm].value("lower", json()), 0) * scale_by)});
    }
    if (band.size() == 1) {  // one point in time: an interval bar instead of a band
      const auto& only = band.front();
      const double x = only[0] + (static_cast<double>(arm) - (names.size() - 1) / 2.0) * 14;
      canvas.fill_rect(static_cast<int>(x) - 5, static_cast<int>(only[1]), static_cast<int>(x) + 6,
                       static_cast<int>(only[2]) + 1, color, 0.25);
    } else {
      canvas.band(band, color, 0.18);
    }
  }
  for (std::size_t arm = 0; arm < names.size(); ++arm) {
    const Color color = kPalette[arm % kPalette.size()];
    std::vector<std::pair<double, double>> line;
    for (const auto& point : points) {
      const json arms = point.value("arms", json::array());
      if (arm >= arms.size() || arms[arm].value("observations", 0) == 0) continue;
      line.emplace_back(to_x(number_or(point.value("x", json()), 0)),
                        to_y(number_or(arms[arm].value("mean", json()), 0) * scale_by));
    }
    if (line.size() == 1) {
      line[0].first += (static_cast<double>(arm) - (names.size() - 1) / 2.0) * 14;
      canvas.polyline(line, 9, color);
    } else {
      canvas.polyline(line, 3, color);
    }
  }

  canvas.unclip();

  // Legend: the arms, best first, with their probability of being best.
  std::vector<std::size_t> order(names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return best[a] > best[b]; });
  const int legend_x = kRight + 30;
  int legend_y = kTop;
  canvas.text(legend_x, legend_y - 30, "Arms, best first", kBody, kInk);
  const int legend_text_x = legend_x + 36, legend_text_width = kWidth - 12 - legend_text_x;
  constexpr int kEntry = 74;
  std::size_t shown = 0;
  for (; shown < order.size() && legend_y + kEntry <= kBottom + 20; ++shown) {
    const std::size_t arm = order[shown];
    const Color color = kPalette[arm % kPalette.size()];
    canvas.fill_rect(legend_x, legend_y + 2, legend_x + 26, legend_y + 14, color, 0.25);
    canvas.fill_rect(legend_x, legend_y + 7, legend_x + 26, legend_y + 10, color);
    canvas.text(legend_text_x, legend_y, canvas.fit(names[arm], kBody, legend_text_width), kBody,
                kInk);
    const std::string unit = rates ? "%" : "";
    const int decimals = rates ? (upper[arm] < 10 ? 2 : 1) : (std::abs(upper[arm]) < 100 ? 2 : 0);
    const std::string now = results[arm] == 0 ? "no results yet"
                                              : number_text(mean[arm], decimals) + unit + "  (" +
                                                    number_text(lower[arm], decimals) + "-" +
                                                    number_text(upper[arm], decimals) + unit + ")";
    canvas.text(legend_text_x, legend_y + 22, canvas.fit(now, kBody, legend_text_width), kBody,
                kMuted);
    canvas.text(legend_text_x, legend_y + 44, "chance best: " + percent_text(best[arm]), kBody,
                kMuted);
    legend_y += kEntry;
  }
  if (shown < order.size()) {
    canvas.text(legend_x, legend_y, std::to_string(order.size() - shown) + " more: see --json",
                kBody, kMuted);
  }
  return canvas.write_png(file);
}

}  // namespace reelflow::cli
