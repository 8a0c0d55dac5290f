// The detector is a pipeline over a window of FrameRecords (scores and tiny thumbnails, never
// frames). Each push describes the new frame, then runs three stages, each as soon as the frames
// it looks at have arrived: fades on the new frame (a state machine over flat runs and ramps),
// hard cuts on the frame cut_delay back (it needs its neighbours and the frames a flash returns
// to), dissolves on the frame max_dissolve_half back (it needs frames that far on both sides).
// Stages propose Boundary candidates; finish() merges them into shots.
#include "shots/shot_detector.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <opencv2/imgproc.hpp>
#include <utility>
#include <vector>

namespace reelflow::video {

namespace {

// Colour histogram of a thumbnail: hue (chromatic pixels only) plus one "achromatic" bin,
// saturation and value. Each part sums to 1.
constexpr int kHueBins = 16;
constexpr int kSatBins = 8;
constexpr int kValBins = 16;
constexpr int kHistBins = kHueBins + 1 + kSatBins + kValBins;
using Histogram = std::array<float, kHistBins>;

// Soft binning: a value splits its weight between the two nearest bin centres, so that a small
// change of brightness (say on a dark frame) moves a histogram a little, not a whole bin.
class SoftBins {
 public:
  SoftBins(int values, int bins, bool circular) : splits_(static_cast<std::size_t>(values)) {
    const double width = static_cast<double>(values) / bins;
    for (int v = 0; v < values; ++v) {
      const double position = (v + 0.5) / width - 0.5;
      int low = static_cast<int>(std::floor(position));
      float high_weight = static_cast<float>(position - low);
      int high = low + 1;
      if (circular) {
        low = (low + bins) % bins;
        high = high % bins;
      } else if (low < 0) {
        low = high = 0;
      } else if (high >= bins) {
        low = high = bins - 1;
      }
      if (low == high) high_weight = 0;
      splits_[static_cast<std::size_t>(v)] = {low, high, high_weight};
    }
  }
  void add(float* bins, int value, float weight) const {
    const Split& split = splits_[static_cast<std::size_t>(value)];
    bins[split.low] += weight * (1.0F - split.high_weight);
    bins[split.high] += weight * split.high_weight;
  }

 private:
  struct Split {
    int low, high;
    float high_weight;
  };
  std::vector<Split> splits_;
};

// A dissolve's middle frame keeps at most this share of the fine-detail energy around it.
constexpr double kDetailDip = 0.8;
// Flat frames lasting this long are a shot of their own (a black screen), not just a fade.
constexpr double kLongFlatSeconds = 1.0;

// Least RMS change (0..255) between the frames around a mix, and the longest gap bridged in a
// run of mixed frames.
constexpr double kMinMixChange = 8.0;
constexpr std::int64_t kMaxRunGap = 2;

// Half-widths (frames) at which a frame is tested as a mix of the frames around it.
constexpr std::array<int, 9> kDissolveHalves = {2, 3, 4, 6, 8, 12, 16, 20, 24};

// What is kept of one frame while it is in the window.
struct FrameRecord {
  std::int64_t ordinal = 0;  // push order, from 0
  std::int64_t index = 0;    // AnalysisFrame::index
  double time = 0;
  double duration = 0;
  double luma_mean = 0;
  double luma_stddev = 0;
  bool flat = false;
  Histogram hist{};
  cv::Mat tiny;           // CV_32FC3, about 32 px wide; released once no stage needs it
  cv::Mat micro;          // CV_32FC3, about 16 px wide: the dissolve test's view (tolerates motion)
  cv::Scalar micro_mean;  // per channel
  double detail = 0;      // mean squared Laplacian of the thumbnail's luma: fine-detail energy
  double step_rms = 0;    // RMS pixel change of `micro` from the previous frame (0..255)
  double content = 0;     // content change from the previous frame (0..100)
  double adaptive_ratio = 0;
  double gradual = 0;  // passes the dissolve test: 1 - its relative residual; else 0
  bool flash = false;
};

enum class Kind { cut = 1, dissolve = 2, fade = 3 };  // higher wins a conflict

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::cut:
      return "cut";
    case Kind::dissolve:
      return "dissolve";
    case Kind::fade:
      return "fade";
  }
  return "cut";
}

// A shot boundary candidate: the new shot starts at `first`; the transition spans
// span_first..span_last (ordinals, inclusive).
struct Boundary {
  Kind kind = Kind::cut;
  double strength = 0;
  std::int64_t first = 0;
  std::int64_t index = 0;           // of the first frame of the new shot
  std::int64_t previous_index = 0;  // of the last frame of the old shot
  double time = 0;
  std::int64_t span_first = 0;
  std::int64_t span_last = 0;
  double span_start = 0;  // seconds
  double span_end = 0;    // seconds, exclusive
};

bool wins(const Boundary& a, const Boundary& b) {
  if (a.kind != b.kind) return static_cast<int>(a.kind) > static_cast<int>(b.kind);
  return a.strength > b.strength;
}

double total_variation(const float* a, const float* b, int bins) {
  double sum = 0;
  for (int i = 0; i < bins; ++i) sum += std::abs(a[i] - b[i]);
  return 0.5 * sum;
}

}  // namespace

struct ShotDetector::State {
  explicit State(ShotOptions options_in) : options(std::move(options_in)) {
    options.thumbnail_width = std::max(options.thumbnail_width, 16);
    options.adaptive_window = std::max(options.adaptive_window, 1);
    options.max_flash_frames = std::max(options.max_flash_frames, 0);
    options.max_fade_frames = std::max(options.max_fade_frames, 1);
    options.max_dissolve_half = std::clamp(options.max_dissolve_half, 2, kDissolveHalves.back());
    cut_delay = std::max(options.adaptive_window, options.max_flash_frames);
    dissolve_delay = options.detect_dissolves ? options.max_dissolve_half : 0;
    emit_delay = std::max({cut_delay + options.max_flash_frames + 2, dissolve_delay + 1,
                           options.max_flash_frames + 6});
    thumbnail_keep = 2 * dissolve_delay + 2 * options.max_flash_frames + 8;
    // Scores (not thumbnails) of the last few seconds: fade ramps and long flat runs look back.
    record_keep = std::max({emit_delay, thumbnail_keep,
                            options.max_fade_frames + options.max_flash_frames + 8, 150}) +
                  2;
  }

  ShotOptions options;
  int cut_delay = 0;
  int dissolve_delay = 0;
  int emit_delay = 0;
  int thumbnail_keep = 0;
  int record_keep = 0;

  std::deque<FrameRecord> window;  // the last record_keep frames, oldest first
  std::int64_t next_ordinal = 0;
  std::int64_t next_emit = 0;
  double first_time = 0;  // of the first frame pushed
  std::int64_t first_index = 0;
  std::vector<Boundary> boundaries;
  bool finished = false;

  const SoftBins hue_bins{180, kHueBins, true};  // OpenCV's 8-bit hue is 0..179
  const SoftBins sat_bins{256, kSatBins, false};
  const SoftBins val_bins{256, kValBins, false};

  // Scratch buffers, reused between frames.
  cv::Mat small, hsv, gray, laplacian, tiny8;
  cv::Mat halves[2];

  // Fade state machine.
  enum class FadeState { normal, flat, fade_in } fade_state = FadeState::normal;
  std::int64_t flat_first = 0, flat_last = 0, fade_out_first = 0, fade_in_last = 0;
  double flat_mean = 0;  // the luma a fade goes to: 0 or 255
  bool fade_in_ended = false;
  double flat_first_time = 0;
  bool long_flat = false;  // the flat run has lasted kLongFlatSeconds

  // The open run of frames that pass the dissolve test.
  bool run_open = false;
  std::int64_t run_first = 0, run_last = 0;

  FrameRecord* record(std::int64_t ordinal) {
    if (window.empty() || ordinal < window.front().ordinal || ordinal > window.back().ordinal) {
      return nullptr;
    }
    return &window[static_cast<std::size_t>(ordinal - window.front().ordinal)];
  }

  void shrink(const cv::Mat& source, cv::Size target);
  FrameRecord describe(const AnalysisFrame& frame);
  double content_distance(const FrameRecord& a, const FrameRecord& b) const;
  bool returns_after_spike(std::int64_t before, std::int64_t after);
  void add_boundary(Kind kind, double strength, std::int64_t first, std::int64_t span_first,
                    std::int64_t span_last);

  void fade_stage(std::int64_t n);
  void finish_fade();
  void cut_stage(std::int64_t i, std::int64_t last);
  void dissolve_stage(std::int64_t m, std::int64_t last);
  void close_dissolve_run(std::int64_t last);
  void emit_until(std::int64_t last_ordinal);
  std::vector<Shot> build_shots();
};

// Downscales into `small`: box averages by two (OpenCV's fast path) while the picture is at
// least twice the target, then one bilinear step to the exact size. A direct area resize by a
// non-integer factor costs several times more.
void ShotDetector::State::shrink(const cv::Mat& source, cv::Size target) {
  cv::Mat current = source;
  int which = 0;
  while (current.cols >= 2 * target.width && current.rows >= 2 * target.height) {
    const cv::Mat even = current(cv::Rect(0, 0, current.cols & ~1, current.rows & ~1));
    cv::resize(even, halves[which], cv::Size(even.cols / 2, even.rows / 2), 0, 0, cv::INTER_AREA);
    current = halves[which];
    which ^= 1;
  }
  if (current.size() == target) {
    current.copyTo(small);
  } else {
    cv::resize(current, small, target, 0, 0, cv::INTER_LINEAR);
  }
}

FrameRecord ShotDetector::State::describe(const AnalysisFrame& frame) {
  FrameRecord rec;
  rec.index = frame.index;
  rec.time = frame.time;
  rec.duration = frame.duration;

  // The decoder gives 8-bit BGR; anything else is made so (an empty frame counts as black).
  cv::Mat source = frame.bgr;
  if (source.empty()) source = cv::Mat(9, 16, CV_8UC3, cv::Scalar::all(0));
  if (source.depth() != CV_8U) {
    const double scale = source.depth() == CV_16U   ? 1.0 / 257.0
                         : source.depth() >= CV_32F ? 255.0
                                                    : 1.0;
    source.convertTo(source, CV_8U, scale);
  }
  if (source.channels() == 1) cv::cvtColor(source, source, cv::COLOR_GRAY2BGR);
  if (source.channels() == 4) cv::cvtColor(source, source, cv::COLOR_BGRA2BGR);
  const int width = options.thumbnail_width;
  const int height =
      std::max(2, static_cast<int>(std::lround(static_cast<double>(width) * source.rows /
                                               std::max(source.cols, 1))));
  shrink(source, cv::Size(width, height));

  cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
  cv::Scalar mean, stddev;
  cv::meanStdDev(gray, mean, stddev);
  rec.luma_mean = mean[0];
  rec.luma_stddev = stddev[0];
  rec.flat = rec.luma_stddev < options.flat_stddev &&
             (rec.luma_mean < options.flat_dark || rec.luma_mean > options.flat_bright);

  cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);  // 8-bit: H in 0..179
  std::array<float, kHistBins> sums{};
  float* hue = sums.data();
  float* sat = hue + kHueBins + 1;
  float* val = sat + kSatBins;
  for (int y = 0; y < hsv.rows; ++y) {
    const auto* row = hsv.ptr<cv::Vec3b>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      const int h = row[x][0], sv = std::min(row[x][1], row[x][2]);
      // Hue means little for greys and near-black: such pixels go to the achromatic bin.
      const float chroma = std::clamp((static_cast<float>(sv) - 24.0F) / 32.0F, 0.0F, 1.0F);
      hue_bins.add(hue, h, chroma);
      hue[kHueBins] += 1.0F - chroma;
      sat_bins.add(sat, row[x][1], 1.0F);
      val_bins.add(val, row[x][2], 1.0F);
    }
  }
  const float pixels = static_cast<float>(hsv.rows * hsv.cols);
  for (int i = 0; i < kHistBins; ++i) rec.hist[i] = sums[i] / pixels;

  cv::resize(small, tiny8, cv::Size(std::max(width / 2, 8), std::max(height / 2, 2)), 0, 0,
             cv::INTER_AREA);
  tiny8.convertTo(rec.tiny, CV_32FC3);
  cv::resize(rec.tiny, rec.micro,
             cv::Size(std::max(rec.tiny.cols / 2, 4), std::max(rec.tiny.rows / 2, 2)), 0, 0,
             cv::INTER_AREA);
  rec.micro_mean = cv::mean(rec.micro);
  cv::Laplacian(gray, laplacian, CV_32F);
  rec.detail = cv::mean(laplacian.mul(laplacian))[0];
  return rec;
}

// Content change between two frames, 0..100: colour-histogram distance (robust to motion) plus
// mean absolute pixel difference on the tiny thumbnail (sensitive to layout).
double ShotDetector::State::content_distance(const FrameRecord& a, const FrameRecord& b) const {
  const double hist =
      (total_variation(a.hist.data(), b.hist.data(), kHueBins + 1) +
       total_variation(a.hist.data() + kHueBins + 1, b.hist.data() + kHueBins + 1, kSatBins) +
       total_variation(a.hist.data() + kHueBins + 1 + kSatBins,
                       b.hist.data() + kHueBins + 1 + kSatBins, kValBins)) /
      3.0;
  double pixel = 0;
  if (!a.tiny.empty() && !b.tiny.empty() && a.tiny.size() == b.tiny.size()) {
    const auto* pa = a.tiny.ptr<float>();
    const auto* pb = b.tiny.ptr<float>();
    const std::size_t count = a.tiny.total() * 3;
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += std::abs(pa[i] - pb[i]);
    pixel = sum / static_cast<double>(count) / 255.0;
  }
  return std::min(100.0, 50.0 * hist + 100.0 * pixel);
}

// Frames `before` and `after` (ordinals, fewer than max_flash_frames + 3 apart) look alike while
// the frames between them went far from `before`: a spike, such as a flash, not a new shot.
bool ShotDetector::State::returns_after_spike(std::int64_t before, std::int64_t after) {
  const FrameRecord* first = record(before);
  const FrameRecord* last = record(after);
  if (first == nullptr || last == nullptr || after - before < 2) return false;
  double excursion = 0;
  for (std::int64_t k = before + 1; k < after; ++k) {
    if (const FrameRecord* mid = record(k)) {
      excursion = std::max(excursion, content_distance(*first, *mid));
    }
  }
  // Back means: much closer than the excursion went, and no farther than the motion of the frames
  // before the spike explains over that many frames (or than a cut's least change).
  double baseline = 0;
  int counted = 0;
  for (std::int64_t k = before - 3; k <= before; ++k) {
    if (const FrameRecord* frame = record(k); frame != nullptr && k > 0) {
      baseline += frame->content;
      ++counted;
    }
  }
  baseline = counted > 0 ? baseline / counted : 0.0;
  const double explained =
      std::max(options.min_content, 1.5 * static_cast<double>(after - before) * baseline);
  const double back = content_distance(*first, *last);
  if (back > 0.4 * excursion || back > explained) return false;
  for (std::int64_t k = before + 1; k < after; ++k) {
    if (FrameRecord* mid = record(k)) mid->flash = true;
  }
  return true;
}

void ShotDetector::State::add_boundary(Kind kind, double strength, std::int64_t first,
                                       std::int64_t span_first, std::int64_t span_last) {
  const FrameRecord* start = record(first);
  const FrameRecord* previous = record(first - 1);
  if (start == nullptr || previous == nullptr) return;
  span_first = std::max(span_first, window.front().ordinal);
  span_last = std::min(span_last, window.back().ordinal);
  Boundary boundary;
  boundary.kind = kind;
  boundary.strength = strength;
  boundary.first = first;
  boundary.index = start->index;
  boundary.previous_index = previous->index;
  boundary.time = start->time;
  boundary.span_first = span_first;
  boundary.span_last = span_last;
  boundary.span_start = record(span_first)->time;
  boundary.span_end = record(span_last)->time + record(span_last)->duration;
  if (kind == Kind::cut) boundary.span_start = boundary.span_end = start->time;
  boundaries.push_back(boundary);
}

// Fades through black or white: a run of flat frames, with the luma contrast falling towards it
// (fade-out) and rising after it (fade-in). The new shot starts after the flat frames.
void ShotDetector::State::fade_stage(std::int64_t n) {
  const FrameRecord& frame = *record(n);
  // One step of a fade: the picture moves towards the flat colour, its contrast (luma standard
  // deviation) and its distance from the flat colour shrinking by the same factor, as they do
  // when a picture is mixed with a uniform one. (Near the flat end noise blurs the factors.)
  const auto toward_flat = [&](const FrameRecord& from, const FrameRecord& to) {
    const double contrast_from = from.luma_stddev, contrast_to = to.luma_stddev;
    const double distance_from = std::abs(from.luma_mean - flat_mean);
    const double distance_to = std::abs(to.luma_mean - flat_mean);
    if (contrast_to > contrast_from * 0.985 - 0.1 || distance_to > distance_from + 1.0) {
      return false;
    }
    if (contrast_from < 2 * options.flat_stddev || distance_from < 8.0) return true;
    const double contrast_drop = 1.0 - contrast_to / contrast_from;
    const double distance_drop = 1.0 - distance_to / distance_from;
    return std::abs(contrast_drop - distance_drop) <=
           0.5 * std::max(contrast_drop, distance_drop) + 0.005;
  };
  switch (fade_state) {
    case FadeState::fade_in: {
      const FrameRecord* previous = record(n - 1);
      if (!fade_in_ended) {
        if (!frame.flat && previous != nullptr && toward_flat(frame, *previous) &&
            n - flat_last <= options.max_fade_frames) {
          fade_in_last = n;
          return;
        }
        fade_in_ended = true;
      }
      // Wait for the frames the flash test compares.
      if (!frame.flat && n <= fade_in_last + 1) return;
      finish_fade();
      [[fallthrough]];
    }
    case FadeState::normal:
      if (frame.flat) {
        fade_state = FadeState::flat;
        flat_first = flat_last = n;
        flat_mean = frame.luma_mean < 128 ? 0.0 : 255.0;  // black or white
        // The fade-out ramp: frames each flatter than the one before, back from the flat run.
        std::int64_t k = n - 1;
        while (n - k <= options.max_fade_frames) {
          const FrameRecord* current = record(k);
          const FrameRecord* before = record(k - 1);
          if (current == nullptr || before == nullptr || !toward_flat(*before, *current)) break;
          --k;
        }
        fade_out_first = k + 1;  // == n: no ramp (a cut to black or white)
        flat_first_time = frame.time;
        long_flat = false;
      }
      return;
    case FadeState::flat:
      if (frame.flat) {
        flat_last = n;
        // Black (or white) long enough to be a shot of its own: it starts here, after the
        // fade-out or with a cut; the fade-in will start the next shot.
        if (!long_flat && frame.time - flat_first_time >= kLongFlatSeconds) {
          long_flat = true;
          if (flat_first > 0) {
            add_boundary(flat_first - fade_out_first >= 2 ? Kind::fade : Kind::cut, 0.0, flat_first,
                         fade_out_first, flat_first);
          }
        }
        return;
      }
      fade_state = FadeState::fade_in;
      fade_in_last = n;
      fade_in_ended = false;
      return;
  }
}

// The fade-in ramp has ended (or the stream has): a fade, unless it was a flash.
void ShotDetector::State::finish_fade() {
  fade_state = FadeState::normal;
  // A video that opens on a moment of black (or white) fades into its first shot.
  if (!long_flat && (fade_out_first == 0 || flat_first == 0)) return;
  // A few flat frames with the same picture before and after them (and their ramps): a flash, or
  // a dropout.
  const int spike = options.max_flash_frames;
  if (flat_last - flat_first + 1 <= spike) {
    for (std::int64_t before = fade_out_first - 1; before >= fade_out_first - 2; --before) {
      for (std::int64_t after = fade_in_last + 1; after <= fade_in_last + 2; ++after) {
        if (after - before - 1 <= spike + 2 && returns_after_spike(before, after)) return;
      }
    }
  }
  // The new shot starts with its fade-in, whose first frames may be dark (or bright) enough to
  // count as flat: go back while frames stand out of the flat run's floor.
  double floor = 1e9;
  for (std::int64_t k = flat_first; k <= flat_last; ++k) {
    if (const FrameRecord* frame = record(k)) floor = std::min(floor, frame->luma_stddev);
  }
  std::int64_t start = flat_last + 1;
  while (start - 1 > flat_first && record(start - 1) != nullptr &&
         record(start - 1)->luma_stddev > floor + 1.0 &&
         record(start - 1)->luma_stddev < record(start)->luma_stddev) {
    --start;
  }
  // Through black from a picture to the same picture is no new shot.
  const FrameRecord* first = record(fade_in_last + 1);
  if (first == nullptr) first = record(fade_in_last);
  const FrameRecord* previous = record(fade_out_first - 1);
  const double strength =
      first != nullptr && previous != nullptr ? content_distance(*previous, *first) : 100.0;
  if (!long_flat && strength < options.min_content) return;
  if (long_flat) {  // the flat frames were a shot: only the fade-in belongs to this transition
    add_boundary(fade_in_last - start >= 1 ? Kind::fade : Kind::cut, strength, start, start - 1,
                 fade_in_last);
    return;
  }
  add_boundary(Kind::fade, strength, start, fade_out_first, fade_in_last);
}

// Hard cuts: the content change of frame i against its neighbours' (AdaptiveDetector), with an
// absolute floor, unless the change is a spike the picture returns from (a flash).
void ShotDetector::State::cut_stage(std::int64_t i, std::int64_t last) {
  FrameRecord& frame = *record(i);
  if (i == 0) return;
  const int w = options.adaptive_window;
  double sum = 0;
  int count = 0;
  for (std::int64_t j = i - w; j <= i + w; ++j) {
    if (j == i || j < 1 || j > last) continue;
    if (const FrameRecord* neighbour = record(j)) {
      sum += neighbour->content;
      ++count;
    }
  }
  const double average = count > 0 ? sum / count : 0.0;
  frame.adaptive_ratio = frame.content / std::max(average, 0.5);
  // Spikes a little short of a cut are tested too, so that the scores mark soft flashes.
  if (frame.content < options.min_content || frame.adaptive_ratio < 0.5 * options.adaptive_ratio) {
    return;
  }
  for (int length = 1; length <= options.max_flash_frames; ++length) {
    // Frame i starts a spike of `length` frames, or ends one.
    if (i + length <= last && returns_after_spike(i - 1, i + length)) return;
    if (i - 1 - length >= 0 && returns_after_spike(i - 1 - length, i)) return;
  }
  if (frame.adaptive_ratio >= options.adaptive_ratio) {
    add_boundary(Kind::cut, frame.content, i, i, i);
  }
}

// Dissolves: frame m lies on the line between the frames h before and h after it, about half
// way, for several h; those two frames differ in content, and no single step accounts for the
// change (that would be a cut). A coarse (16 px) view keeps the test tolerant of camera motion;
// what tells a dissolve from motion is the dip of fine detail: half way through a dissolve the
// details of both pictures show at half contrast, and their energy falls to about half that of
// the pictures around it, while a moving camera keeps it.
void ShotDetector::State::dissolve_stage(std::int64_t m, std::int64_t last) {
  FrameRecord& frame = *record(m);
  double best_residual = 1e9;
  double deepest_dip = 1e9;
  int windows = 0;  // half-widths at which the frame is a mix
  const std::size_t count = frame.micro.total() * 3;
  for (const int h : kDissolveHalves) {
    if (h > options.max_dissolve_half || m - h < 0 || m + h > last) break;
    const FrameRecord* before = record(m - h);
    const FrameRecord* after = record(m + h);
    if (before == nullptr || after == nullptr || before->micro.empty() || after->micro.empty() ||
        before->micro.size() != frame.micro.size() || after->micro.size() != frame.micro.size()) {
      continue;
    }
    // On the pictures' structure (each channel less its mean): a global change of brightness
    // would otherwise pass for a mix.
    const auto* s = before->micro.ptr<float>();
    const auto* e = after->micro.ptr<float>();
    const auto* x = frame.micro.ptr<float>();
    double delta_sq = 0, cross = 0, offset_sq = 0, change_sq = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t c = i % 3;
      const double delta = (e[i] - after->micro_mean[c]) - (s[i] - before->micro_mean[c]);
      const double offset = (x[i] - frame.micro_mean[c]) - (s[i] - before->micro_mean[c]);
      delta_sq += delta * delta;
      cross += offset * delta;
      offset_sq += offset * offset;
      change_sq += (e[i] - s[i]) * (e[i] - s[i]);
    }
    const double delta_rms = std::sqrt(delta_sq / static_cast<double>(count));
    if (delta_rms < kMinMixChange) continue;
    const double alpha = cross / delta_sq;
    if (alpha < 0.3 || alpha > 0.7) continue;
    const double residual =
        std::sqrt(std::max(offset_sq - cross * cross / delta_sq, 0.0) / delta_sq);
    if (residual > options.dissolve_max_residual) continue;
    // No single step makes most of the change (steps and change both with brightness).
    double largest_step = 0;
    for (std::int64_t k = m - h + 1; k <= m + h; ++k) {
      largest_step = std::max(largest_step, record(k)->step_rms);
    }
    if (largest_step > 0.5 * std::sqrt(change_sq / static_cast<double>(count))) continue;
    if (content_distance(*before, *after) < options.dissolve_min_content) continue;
    best_residual = std::min(best_residual, residual);
    deepest_dip =
        std::min(deepest_dip, frame.detail / std::max(0.5 * (before->detail + after->detail), 1.0));
    ++windows;
  }
  // Motion next to a transition can fake a mix at one distance, hardly at several.
  const bool mix = windows >= 2 && deepest_dip <= kDetailDip;
  frame.gradual = mix ? std::clamp(1.0 - best_residual, 0.0, 1.0) : 0.0;
  if (mix) {
    if (!run_open) run_first = m;
    run_open = true;
    run_last = m;
  } else if (run_open && m - run_last > kMaxRunGap) {
    close_dissolve_run(last);
  }
}

// A run of mixed frames (short gaps bridged) is one dissolve: its middle part, where the detail
// dips. The new shot starts half way, where the new picture starts to dominate.
void ShotDetector::State::close_dissolve_run(std::int64_t last) {
  run_open = false;
  const std::int64_t length = run_last - run_first + 1;
  if (length < 2) return;
  double evidence = 0;
  for (std::int64_t k = run_first; k <= run_last; ++k) evidence += record(k)->gradual;
  const std::int64_t reach = length / 2 + 1;
  add_boundary(Kind::dissolve, evidence, (run_first + run_last + 1) / 2,
               std::max<std::int64_t>(run_first - reach, 0), std::min(run_last + reach, last));
}

void ShotDetector::State::emit_until(std::int64_t last_ordinal) {
  for (; next_emit <= last_ordinal; ++next_emit) {
    const FrameRecord* frame = record(next_emit);
    if (frame == nullptr || !options.on_frame_score) continue;
    FrameScore score;
    score.index = frame->index;
    score.time = frame->time;
    score.content = frame->content;
    score.adaptive_ratio = frame->adaptive_ratio;
    score.gradual = frame->gradual;
    score.luma_mean = frame->luma_mean;
    score.luma_stddev = frame->luma_stddev;
    score.flat = frame->flat;
    score.flash = frame->flash;
    options.on_frame_score(score);
  }
}

std::vector<Shot> ShotDetector::State::build_shots() {
  std::vector<Shot> shots;
  if (window.empty()) return shots;

  // Overlapping transitions are one: the strongest kind describes it (a fade also looks like two
  // dissolves and may hold a cut at its flat frames). Strongest first, each taken unless it
  // overlaps one already taken.
  std::sort(boundaries.begin(), boundaries.end(),
            [](const Boundary& a, const Boundary& b) { return wins(a, b); });
  std::vector<Boundary> merged;
  for (const Boundary& boundary : boundaries) {
    const bool overlaps = std::any_of(merged.begin(), merged.end(), [&](const Boundary& taken) {
      return boundary.span_first <= taken.span_last && boundary.span_last >= taken.span_first;
    });
    if (!overlaps) merged.push_back(boundary);
  }
  std::sort(merged.begin(), merged.end(),
            [](const Boundary& a, const Boundary& b) { return a.first < b.first; });
  // Shots shorter than min_shot_seconds: the weaker of the two boundaries goes.
  std::vector<Boundary> kept;
  for (const Boundary& boundary : merged) {
    if (boundary.time - first_time < options.min_shot_seconds) continue;
    if (!kept.empty() && boundary.time - kept.back().time < options.min_shot_seconds) {
      if (wins(boundary, kept.back())) kept.back() = boundary;
      continue;
    }
    kept.push_back(boundary);
  }

  const FrameRecord& final_frame = window.back();
  Shot shot;
  shot.index = 0;
  shot.start = first_time;
  shot.start_frame = first_index;
  shot.transition = "start";
  shot.transition_start = shot.transition_end = first_time;
  for (const Boundary& boundary : kept) {
    shot.end = boundary.time;
    shot.end_frame = boundary.previous_index;
    shots.push_back(shot);
    shot = Shot{};
    shot.index = static_cast<int>(shots.size());
    shot.start = boundary.time;
    shot.start_frame = boundary.index;
    shot.transition = kind_name(boundary.kind);
    shot.transition_start = boundary.span_start;
    shot.transition_end = boundary.span_end;
  }
  shot.end = final_frame.time + final_frame.duration;
  shot.end_frame = final_frame.index;
  shots.push_back(shot);
  return shots;
}

ShotDetector::ShotDetector(ShotOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}
ShotDetector::~ShotDetector() = default;
ShotDetector::ShotDetector(ShotDetector&&) noexcept = default;
ShotDetector& ShotDetector::operator=(ShotDetector&&) noexcept = default;

void ShotDetector::push(const AnalysisFrame& frame) {
  State& s = *state_;
  if (s.finished) return;
  FrameRecord rec = s.describe(frame);
  rec.ordinal = s.next_ordinal++;
  if (const FrameRecord* previous = s.record(rec.ordinal - 1)) {
    rec.content = s.content_distance(*previous, rec);
    if (previous->micro.size() == rec.micro.size()) {
      rec.step_rms = cv::norm(previous->micro, rec.micro, cv::NORM_L2) /
                     std::sqrt(static_cast<double>(rec.micro.total() * 3));
    }
  } else {
    s.first_time = rec.time;
    s.first_index = rec.index;
  }
  s.window.push_back(std::move(rec));
  const std::int64_t n = s.next_ordinal - 1;

  if (s.options.detect_fades) s.fade_stage(n);
  if (n - s.cut_delay >= 0) s.cut_stage(n - s.cut_delay, n);
  if (s.options.detect_dissolves && n - s.dissolve_delay >= 0) {
    s.dissolve_stage(n - s.dissolve_delay, n);
  }
  s.emit_until(n - s.emit_delay);

  while (static_cast<int>(s.window.size()) > s.record_keep) s.window.pop_front();
  const std::int64_t stale = n - s.thumbnail_keep;
  if (FrameRecord* old = s.record(stale)) {
    old->tiny.release();
    old->micro.release();
  }
}

std::vector<Shot> ShotDetector::finish() {
  State& s = *state_;
  if (s.finished || s.window.empty()) {
    s.finished = true;
    return {};
  }
  s.finished = true;
  const std::int64_t n = s.next_ordinal - 1;
  for (std::int64_t i = std::max<std::int64_t>(0, n - s.cut_delay + 1); i <= n; ++i) {
    s.cut_stage(i, n);
  }
  if (s.options.detect_dissolves) {
    for (std::int64_t m = std::max<std::int64_t>(0, n - s.dissolve_delay + 1); m <= n; ++m) {
      s.dissolve_stage(m, n);
    }
    if (s.run_open) s.close_dissolve_run(n);
  }
  if (s.options.detect_fades && s.fade_state == State::FadeState::fade_in) s.finish_fade();
  s.emit_until(n);
  return s.build_shots();
}

}  // namespace reelflow::video
