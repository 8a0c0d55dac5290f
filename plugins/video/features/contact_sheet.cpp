#include "features/contact_sheet.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "features/file_output.hpp"

namespace reelflow::video {

namespace {

// Colours (BGR).
const cv::Scalar kBackground(26, 26, 26);
const cv::Scalar kPanel(44, 44, 44);
const cv::Scalar kText(240, 240, 240);
const cv::Scalar kMuted(165, 165, 165);
const cv::Scalar kShotA(78, 78, 78);
const cv::Scalar kShotB(104, 104, 104);
const cv::Scalar kCover(0, 225, 255);  // yellow
const cv::Scalar kBlack(0, 0, 0);
// Clip ranks 1, 2, 3, ...: orange, blue, green, magenta, cyan, red, then again.
const std::array<cv::Scalar, 6> kClipColours = {cv::Scalar(0, 128, 255), cv::Scalar(255, 150, 40),
                                                cv::Scalar(80, 200, 60), cv::Scalar(210, 80, 210),
                                                cv::Scalar(200, 200, 0), cv::Scalar(60, 60, 230)};

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kMargin = 20;
constexpr int kGap = 12;
constexpr int kHeaderHeight = 78;
constexpr int kTimelineHeight = 104;
constexpr int kLegendRowHeight = 24;
constexpr int kCellPadding = 4;
constexpr int kCellTextHeight = 44;

cv::Scalar clip_colour(int rank) {
  const auto index = static_cast<std::size_t>(std::max(rank, 1) - 1) % kClipColours.size();
  return kClipColours[index];
}

// Red (0) → yellow (0.5) → green (1).
cv::Scalar score_colour(double score) {
  const double s = std::clamp(score, 0.0, 1.0);
  if (s < 0.5) return {40, 80 + 300 * s, 230};
  return {40, 230, 230 - 380 * (s - 0.5)};
}

std::string ascii(const std::string& text) {
  std::string result;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      if ((byte & 0xC0) != 0x80) result += '?';  // one '?' per UTF-8 character
    } else {
      result += byte >= 0x20 ? c : ' ';
    }
  }
  return result;
}

std::string score_text(double score) {
  if (!std::isfinite(score)) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.2f", score);
  return text;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, seconds < 10 ? "%.1fs" : "%.0fs", seconds);
  return text;
}

int text_width(const std::string& text, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &baseline).width;
}

void put(cv::Mat& image, const std::string& text, cv::Point origin, double scale,
         const cv::Scalar& colour, int thickness = 1) {
  cv::putText(image, text, origin, kFont, scale, colour, thickness, cv::LINE_AA);
}

// A filled tag with text, anchored at its top-left corner.
void tag(cv::Mat& image, const std::string& text, cv::Point corner, const cv::Scalar& fill) {
  const double scale = 0.42;
  const int width = text_width(text, scale, 1) + 8;
  cv::rectangle(image, cv::Rect(corner.x, corner.y, width, 17), fill, cv::FILLED);
  put(image, text, {corner.x + 4, corner.y + 13}, scale, kBlack, 1);
}

struct Plan {
  int width = 0;
  int height = 0;
  double duration = 0;
  cv::Size thumb;
  int cell_width = 0;
  int cell_height = 0;
  int columns = 1;
  int legend_top = 0;
  int legend_rows = 0;
  int grid_top = 0;
  std::vector<std::size_t> cells;  // shots shown in the grid
};

double sheet_duration(const ContactSheet& sheet) {
  double duration = sheet.duration;
  for (const SheetShot& shot : sheet.shots) duration = std::max(duration, shot.range.end);
  for (const SheetClip& clip : sheet.clips) duration = std::max(duration, clip.range.end);
  return duration;
}

bool in_any_clip(const ContactSheet& sheet, const SheetShot& shot, const SheetClip** which) {
  double best = 0;
  for (const SheetClip& clip : sheet.clips) {
    const double overlap =
        std::min(shot.range.end, clip.range.end) - std::max(shot.range.start, clip.range.start);
    if (overlap > 0.5 * shot.range.length() && overlap > best) {
      best = overlap;
      if (which != nullptr) *which = &clip;
    }
  }
  return best > 0;
}

const SheetCover* cover_in(const ContactSheet& sheet, const SheetShot& shot) {
  const SheetCover* found = nullptr;
  for (const SheetCover& cover : sheet.covers) {
    if (shot.range.contains(cover.time) && (found == nullptr || cover.rank < found->rank)) {
      found = &cover;
    }
  }
  return found;
}

std::vector<std::size_t> choose_cells(const ContactSheet& sheet, int max_cells) {
  const std::size_t count = sheet.shots.size();
  const auto limit = static_cast<std::size_t>(std::max(1, max_cells));
  std::vector<std::size_t> cells;
  if (count <= limit) {
    for (std::size_t i = 0; i < count; ++i) cells.push_back(i);
    return cells;
  }
  std::set<std::size_t> chosen;
  for (std::size_t i = 0; i < count && chosen.size() < limit; ++i) {
    const SheetShot& shot = sheet.shots[i];
    if (in_any_clip(sheet, shot, nullptr) || cover_in(sheet, shot) != nullptr) chosen.insert(i);
  }
  const std::size_t rest = limit - chosen.size();
  for (std::size_t k = 0; k < rest; ++k) {
    std::size_t index = (2 * k + 1) * count / (2 * rest);
    while (chosen.count(index) != 0 && index + 1 < count) ++index;
    chosen.insert(index);
  }
  cells.assign(chosen.begin(), chosen.end());
  return cells;
}

Plan plan_sheet(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                const ContactSheetLayout& layout) {
  Plan plan;
  plan.width = std::max(640, layout.width);
  plan.duration = sheet_duration(sheet);
  if (!thumbnails.thumbnails().empty()) {
    plan.thumb = thumbnails.thumbnails().front().bgr.size();
  } else {
    plan.thumb = {thumbnails.box(), thumbnails.box() * 9 / 16};
  }
  plan.thumb.width = std::max(plan.thumb.width, 96);  // room for the caption text
  plan.cell_width = plan.thumb.width + 2 * kCellPadding;
  plan.cell_height = plan.thumb.height + 2 * kCellPadding + kCellTextHeight;
  plan.columns = std::max(1, (plan.width - 2 * kMargin + kGap) / (plan.cell_width + kGap));
  plan.legend_top = kHeaderHeight + kTimelineHeight;
  plan.legend_rows =
      std::max<int>(1, static_cast<int>(std::max(sheet.clips.size(), sheet.covers.size()))) + 1;
  plan.grid_top = plan.legend_top + plan.legend_rows * kLegendRowHeight + kGap;
  plan.cells = choose_cells(sheet, layout.max_cells);
  const int rows = (static_cast<int>(plan.cells.size()) + plan.columns - 1) / plan.columns;
  plan.height = plan.grid_top + rows * (plan.cell_height + kGap) + kMargin;
  return plan;
}

int nice_tick(double duration) {
  for (const int step : {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}) {
    if (duration / step <= 12) return step;
  }
  return 7200;
}

void draw_header(cv::Mat& image, const ContactSheet& sheet, const Plan& plan) {
  std::string title = ascii(sheet.title.empty() ? std::string("video") : sheet.title);
  while (title.size() > 4 && text_width(title, 0.85, 2) > plan.width - 2 * kMargin) {
    title.resize(title.size() - 4);
    title += "...";
  }
  put(image, title, {kMargin, 36}, 0.85, kText, 2);
  char summary[256];
  std::snprintf(summary, sizeof summary, "%s long    %zu shots    %zu clips    %zu covers",
                format_timecode(plan.duration).c_str(), sheet.shots.size(), sheet.clips.size(),
                sheet.covers.size());
  std::string line = summary;
  if (plan.cells.size() < sheet.shots.size()) {
    line += "    (grid shows " + std::to_string(plan.cells.size()) + " of " +
            std::to_string(sheet.shots.size()) + " shots)";
  }
  put(image, line, {kMargin, 64}, 0.5, kMuted, 1);
  const std::string key = "timeline: covers above, shots (filled to their score), clips below";
  const int key_width = text_width(key, 0.42, 1);
  if (text_width(line, 0.5, 1) + key_width + 40 < plan.width - 2 * kMargin) {
    put(image, key, {plan.width - kMargin - key_width, 64}, 0.42, kMuted, 1);
  }
}

void draw_timeline(cv::Mat& image, const ContactSheet& sheet, const Plan& plan) {
  const int left = kMargin;
  const int right = plan.width - kMargin;
  const int covers_top = kHeaderHeight;
  const int bar_top = covers_top + 24;
  const int bar_height = 30;
  const int clips_top = bar_top + bar_height + 4;
  const int clip_height = 20;
  const int ticks_top = clips_top + clip_height + 4;
  const double duration = plan.duration > 0 ? plan.duration : 1;
  auto x_of = [&](double time) {
    return left +
           static_cast<int>(std::lround(std::clamp(time / duration, 0.0, 1.0) * (right - left)));
  };

  cv::rectangle(image, cv::Rect(left, bar_top, right - left, bar_height), kPanel, cv::FILLED);
  for (std::size_t i = 0; i < sheet.shots.size(); ++i) {
    const SheetShot& shot = sheet.shots[i];
    const int x0 = x_of(shot.range.start);
    const int x1 = std::max(x0 + 1, x_of(shot.range.end));
    cv::rectangle(image, cv::Rect(x0, bar_top, x1 - x0, bar_height), i % 2 ? kShotB : kShotA,
                  cv::FILLED);
    if (std::isfinite(shot.score)) {  // the shot's score as a filled height
      const int height =
          static_cast<int>(std::lround(std::clamp(shot.score, 0.0, 1.0) * (bar_height - 4)));
      cv::rectangle(image, cv::Rect(x0, bar_top + bar_height - height, x1 - x0, height),
                    score_colour(shot.score) * 0.75, cv::FILLED);
    }
    if (i > 0) cv::line(image, {x0, bar_top}, {x0, bar_top + bar_height - 1}, kBackground, 1);
  }
  for (const SheetClip& clip : sheet.clips) {
    const int x0 = x_of(clip.range.start);
    const int x1 = std::max(x0 + 2, x_of(clip.range.end));
    const cv::Scalar colour = clip_colour(clip.rank);
    cv::rectangle(image, cv::Rect(x0, bar_top - 1, x1 - x0, bar_height + 2), colour, 2);
    cv::rectangle(image, cv::Rect(x0, clips_top, x1 - x0, clip_height), colour, cv::FILLED);
    for (const std::string& label :
         {"CLIP " + std::to_string(clip.rank), std::to_string(clip.rank)}) {
      if (text_width(label, 0.45, 1) + 6 <= x1 - x0) {
        put(image, label, {x0 + 4, clips_top + 15}, 0.45, kBlack, 1);
        break;
      }
    }
  }
  // Covers: a marker each; labels of covers closer than a label's width share one ("C1 C2").
  std::vector<SheetCover> covers = sheet.covers;
  std::sort(covers.begin(), covers.end(),
            [](const SheetCover& a, const SheetCover& b) { return a.time < b.time; });
  for (std::size_t i = 0; i < covers.size();) {
    const int x = x_of(covers[i].time);
    std::string label;
    std::size_t j = i;
    for (; j < covers.size() && x_of(covers[j].time) - x < 40; ++j) {
      const int marker_x = x_of(covers[j].time);
      const std::vector<cv::Point> marker = {{marker_x - 7, covers_top + 8},
                                             {marker_x + 7, covers_top + 8},
                                             {marker_x, covers_top + 20}};
      cv::fillConvexPoly(image, marker, kCover, cv::LINE_AA);
      label += (label.empty() ? "C" : " C") + std::to_string(covers[j].rank);
    }
    const int width = text_width(label, 0.42, 1);
    const int label_x = x + 9 + width <= right ? x + 9 : x - 9 - width;
    put(image, label, {label_x, covers_top + 18}, 0.42, kCover, 1);
    i = j;
  }
  const int step = nice_tick(duration);
  for (int t = 0; t <= static_cast<int>(duration) + 1; t += step) {
    if (t > duration + 1e-9) break;
    const int x = x_of(t);
    cv::line(image, {x, ticks_top}, {x, ticks_top + 5}, kMuted, 1);
    const std::string label = format_timecode(t);
    const int width = text_width(label, 0.4, 1);
    put(image, label, {std::clamp(x - width / 2, left, right - width), ticks_top + 19}, 0.4, kMuted,
        1);
  }
}

void draw_legend(cv::Mat& image, const ContactSheet& sheet, const Plan& plan) {
  const int clips_left = kMargin;
  const int covers_left = plan.width / 2 + kMargin;
  int y = plan.legend_top + 16;
  put(image, sheet.clips.empty() ? "Clips: none chosen" : "Clips (best first)", {clips_left, y},
      0.5, kText, 1);
  put(image, sheet.covers.empty() ? "Covers: none chosen" : "Covers", {covers_left, y}, 0.5, kText,
      1);
  std::vector<SheetClip> clips = sheet.clips;
  std::sort(clips.begin(), clips.end(),
            [](const SheetClip& a, const SheetClip& b) { return a.rank < b.rank; });
  int row = 1;
  for (const SheetClip& clip : clips) {
    const int top = plan.legend_top + row * kLegendRowHeight;
    tag(image, "CLIP " + std::to_string(clip.rank), {clips_left, top + 4}, clip_colour(clip.rank));
    char text[160];
    std::snprintf(text, sizeof text, "%s - %s   (%s)   score %s",
                  format_timecode(clip.range.start).c_str(),
                  format_timecode(clip.range.end).c_str(),
                  seconds_text(clip.range.length()).c_str(), score_text(clip.score).c_str());
    put(image, text, {clips_left + 70, top + 17}, 0.48, kText, 1);
    ++row;
  }
  std::vector<SheetCover> covers = sheet.covers;
  std::sort(covers.begin(), covers.end(),
            [](const SheetCover& a, const SheetCover& b) { return a.rank < b.rank; });
  row = 1;
  for (const SheetCover& cover : covers) {
    const int top = plan.legend_top + row * kLegendRowHeight;
    tag(image, "COVER " + std::to_string(cover.rank), {covers_left, top + 4}, kCover);
    const std::string text =
        "at " + format_timecode(cover.time) + "   score " + score_text(cover.score);
    put(image, text, {covers_left + 80, top + 17}, 0.48, kText, 1);
    ++row;
  }
}

void draw_cell(cv::Mat& image, const ContactSheet& sheet, const ThumbnailReel& thumbnails,
               const Plan& plan, std::size_t shot_index, cv::Point origin) {
  const SheetShot& shot = sheet.shots[shot_index];
  const SheetClip* clip = nullptr;
  const bool in_clip = in_any_clip(sheet, shot, &clip);
  const SheetCover* cover = cover_in(sheet, shot);
  const cv::Rect cell(origin.x, origin.y, plan.cell_width, plan.cell_height);
  cv::rectangle(image, cell, kPanel, cv::FILLED);

  const cv::Rect area(origin.x + kCellPadding, origin.y + kCellPadding, plan.thumb.width,
                      plan.thumb.height);
  if (const Thumbnail* thumbnail = thumbnails.best_in(shot.range); thumbnail != nullptr) {
    const cv::Mat& source = thumbnail->bgr;
    const double scale = std::min(static_cast<double>(area.width) / source.cols,
                                  static_cast<double>(area.height) / source.rows);
    const cv::Size size(std::max(1, static_cast<int>(source.cols * scale)),
                        std::max(1, static_cast<int>(source.rows * scale)));
    const cv::Rect target(area.x + (area.width - size.width) / 2,
                          area.y + (area.height - size.height) / 2, size.width, size.height);
    if (size == source.size()) {
      source.copyTo(image(target));
    } else {
      cv::resize(source, image(target), size, 0, 0, cv::INTER_AREA);
    }
  } else {
    cv::rectangle(image, area, kShotA, cv::FILLED);
  }
  if (in_clip) {
    const cv::Scalar colour = clip_colour(clip->rank);
    cv::rectangle(image, cell, colour, 3);
    tag(image, "CLIP " + std::to_string(clip->rank), {area.x, area.y}, colour);
  }
  if (cover != nullptr) {  // bottom-left: narrow (portrait) cells have no room beside the clip tag
    tag(image, "COVER " + std::to_string(cover->rank), {area.x, area.y + area.height - 17}, kCover);
  }

  const int text_top = area.y + area.height;
  const std::string number = "#" + std::to_string(shot_index + 1);
  put(image, number, {area.x, text_top + 18}, 0.5, kText, 1);
  put(image, format_timecode(shot.range.start),
      {area.x + text_width(number, 0.5, 1) + 8, text_top + 18}, 0.45, kMuted, 1);
  put(image, seconds_text(shot.range.length()), {area.x, text_top + 38}, 0.45, kMuted, 1);
  const std::string score = score_text(shot.score);
  const int score_width = text_width(score, 0.5, 1);
  const int bar_width = std::max(0, std::min(40, area.width - score_width - 50));
  const int score_x = area.x + area.width - score_width;
  put(image, score, {score_x, text_top + 38}, 0.5, kText, 1);
  if (std::isfinite(shot.score) && bar_width > 8) {
    const cv::Rect bar(score_x - bar_width - 6, text_top + 28, bar_width, 10);
    cv::rectangle(image, bar, kShotA, cv::FILLED);
    const int filled = static_cast<int>(std::lround(std::clamp(shot.score, 0.0, 1.0) * bar_width));
    cv::rectangle(image, cv::Rect(bar.x, bar.y, filled, bar.height), score_colour(shot.score),
                  cv::FILLED);
  }
}

}  // namespace

cv::Size contact_sheet_size(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                            const ContactSheetLayout& layout) {
  const Plan plan = plan_sheet(sheet, thumbnails, layout);
  return {plan.width, plan.height};
}

cv::Mat render_contact_sheet(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                             const ContactSheetLayout& layout) {
  const Plan plan = plan_sheet(sheet, thumbnails, layout);
  cv::Mat image(plan.height, plan.width, CV_8UC3, kBackground);
  draw_header(image, sheet, plan);
  draw_timeline(image, sheet, plan);
  draw_legend(image, sheet, plan);
  for (std::size_t cell = 0; cell < plan.cells.size(); ++cell) {
    const int column = static_cast<int>(cell) % plan.columns;
    const int row = static_cast<int>(cell) / plan.columns;
    const cv::Point origin(kMargin + column * (plan.cell_width + kGap),
                           plan.grid_top + row * (plan.cell_height + kGap));
    draw_cell(image, sheet, thumbnails, plan, plan.cells[cell], origin);
  }
  return image;
}

Result<void> write_contact_sheet(const ContactSheet& sheet, const ThumbnailReel& thumbnails,
                                 const std::string& path, const ContactSheetLayout& layout) {
  std::vector<std::uint8_t> png;
  try {
    const cv::Mat image = render_contact_sheet(sheet, thumbnails, layout);
    if (!cv::imencode(".png", image, png, {cv::IMWRITE_PNG_COMPRESSION, 6})) {
      return error("cannot write contact sheet '" + path + "': PNG encoding failed");
    }
  } catch (const cv::Exception& exception) {
    return error("cannot write contact sheet '" + path + "': " + exception.msg);
  }
  return write_file_atomically(png, path, "contact sheet");
}

}  // namespace reelflow::video
