#include "features/accumulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace reelflow::video {

static_assert(sizeof(FrameRecord) == 32, "the memory budget counts 32 bytes per frame");
static_assert(sizeof(SampleRecord) == 40, "the memory budget counts 40 bytes per sample");

namespace {

constexpr double kDefaultFrameSeconds = 1.0 / 30;
constexpr double kUnmeasuredBrisque = 50;
// Below these a frame is "uniform" and makes a poor hash (uniform frames all hash alike).
constexpr double kHashMinEntropy = 3.0;
constexpr double kHashMinContrast = 10.0;

template <typename Record>
std::size_t first_at_or_after(const std::vector<Record>& records, double time) {
  return static_cast<std::size_t>(
      std::lower_bound(records.begin(), records.end(), time,
                       [](const Record& record, double t) { return record.time < t; }) -
      records.begin());
}

// Indices [first, last) of the records inside the range; when none is, the one nearest to its
// middle (if any).
template <typename Record, typename Keep>
std::vector<std::size_t> records_in(const std::vector<Record>& records, TimeRange range,
                                    Keep keep) {
  std::vector<std::size_t> inside;
  for (std::size_t i = first_at_or_after(records, range.start);
       i < records.size() && records[i].time < range.end; ++i) {
    if (keep(records[i])) inside.push_back(i);
  }
  if (!inside.empty()) return inside;
  const double middle = (range.start + range.end) / 2;
  double best = std::numeric_limits<double>::infinity();
  std::size_t nearest = records.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const double distance = std::abs(records[i].time - middle);
    if (keep(records[i]) && distance < best) {
      best = distance;
      nearest = i;
    }
  }
  if (nearest < records.size()) inside.push_back(nearest);
  return inside;
}

}  // namespace

std::vector<std::pair<std::string_view, double>> RangeFeatures::named() const {
  return {{"duration", duration},           {"motion", motion},
          {"sharpness", sharpness},         {"brightness", brightness},
          {"contrast", contrast},           {"colourfulness", colourfulness},
          {"text_ratio", text_ratio},       {"face_ratio", face_ratio},
          {"face_area", face_area},         {"brisque", brisque},
          {"loudness_lufs", loudness_lufs}, {"silence_ratio", silence_ratio},
          {"voice_ratio", voice_ratio},     {"music_ratio", music_ratio},
          {"has_audio", has_audio},         {"cuts_per_minute", cuts_per_minute}};
}

Result<FeatureAccumulator> FeatureAccumulator::create(const FeatureOptions& options) {
  auto analyzer = SampleAnalyzer::create(options.models);
  if (!analyzer) return tl::unexpected(analyzer.error());
  return FeatureAccumulator(std::move(*analyzer), options);
}

FeatureAccumulator::FeatureAccumulator(SampleAnalyzer analyzer, const FeatureOptions& options)
    : options_(options),
      analyzer_(std::move(analyzer)),
      thumbnails_(options.thumbnail_box, options.max_thumbnails) {
  options_.sample_interval = std::max(0.04, options_.sample_interval);
  options_.heavy_interval = std::max(options_.sample_interval, options_.heavy_interval);
}

FeatureAccumulator::FeatureAccumulator(FeatureAccumulator&&) noexcept = default;
FeatureAccumulator& FeatureAccumulator::operator=(FeatureAccumulator&&) noexcept = default;
FeatureAccumulator::~FeatureAccumulator() = default;

bool FeatureAccumulator::detects_faces() const { return analyzer_.detects_faces(); }
bool FeatureAccumulator::measures_brisque() const { return analyzer_.measures_brisque(); }

double FeatureAccumulator::duration() const {
  if (frames_.empty()) return 0;
  return frames_.back().time + frames_.back().duration;
}

std::size_t FeatureAccumulator::frame_at_or_after(double time) const {
  return first_at_or_after(frames_, time);
}

double FeatureAccumulator::frame_appeal(const FrameMetrics& metrics) {
  // Sharp, well exposed, with some contrast, and still (motion blur and transitions move).
  const double exposure = 1 - std::min(1.0, std::abs(metrics.brightness - 128.0) / 128);
  const double stillness = 1 / (1 + metrics.motion / 10.0);
  const double flatness = metrics.contrast < 10 ? 0.3 : 1.0;
  return std::log1p(metrics.sharpness) * (0.25 + exposure) * stillness * flatness;
}

void FeatureAccumulator::add_frame(const AnalysisFrame& frame) {
  if (finished_ || frame.bgr.empty() || frame.bgr.type() != CV_8UC3) return;
  double time = frame.time;
  double interval = 0;
  if (!std::isfinite(time)) {  // the decoder's contract says this cannot happen; be safe
    time = frames_.empty() ? 0 : frames_.back().time + frames_.back().duration;
  }
  if (!frames_.empty()) {
    time = std::max(time, frames_.back().time);
    interval = time - frames_.back().time;
  }
  const FrameMetrics metrics = meter_.measure(frame.bgr, interval);
  frames_.push_back({.time = time,
                     .duration = static_cast<float>(
                         std::isfinite(frame.duration) ? std::max(0.0, frame.duration) : 0.0),
                     .motion = metrics.motion,
                     .sharpness = metrics.sharpness,
                     .brightness = metrics.brightness,
                     .contrast = metrics.contrast,
                     .colourfulness = metrics.colourfulness});

  if (window_ < 0) window_origin_ = time;
  const auto window =
      static_cast<std::int64_t>(std::floor((time - window_origin_) / options_.sample_interval));
  if (window != window_) {
    close_window();
    window_ = window;
  }
  const double appeal = frame_appeal(metrics);
  if (!window_open_ || appeal > window_best_appeal_) {
    frame.bgr.copyTo(window_best_);
    window_best_appeal_ = appeal;
    window_best_frame_ = static_cast<std::uint32_t>(frames_.size() - 1);
    window_open_ = true;
  }
}

void FeatureAccumulator::close_window() {
  if (!window_open_) return;
  window_open_ = false;
  cv::cvtColor(window_best_, window_grey_, cv::COLOR_BGR2GRAY);
  const TextEstimate text = detect_text(window_grey_);
  SampleRecord sample;
  sample.time = frames_[window_best_frame_].time;
  sample.frame = window_best_frame_;
  sample.text_area = static_cast<float>(text.area);
  sample.text = text.present;
  sample.entropy = static_cast<float>(luma_entropy(window_grey_));
  sample.phash = perceptual_hash(window_grey_);
  const bool models = analyzer_.detects_faces() || analyzer_.measures_brisque();
  const bool due = !heavy_done_ || sample.time - last_heavy_time_ >=
                                       options_.heavy_interval - options_.sample_interval / 2;
  if (models && due) {
    const FaceEstimate faces = analyzer_.faces(window_grey_);
    sample.faces = static_cast<std::uint8_t>(std::min(faces.count, 255));
    sample.face_area = static_cast<float>(faces.largest_area);
    sample.brisque = static_cast<float>(analyzer_.brisque(window_best_));
    sample.heavy = true;
    last_heavy_time_ = sample.time;
    heavy_done_ = true;
  }
  samples_.push_back(sample);
  thumbnails_.add(sample.time, window_best_, window_best_appeal_);
}

void FeatureAccumulator::add_audio(const AudioChunk& chunk) {
  if (!finished_) audio_.add(chunk);
}

void FeatureAccumulator::finish() {
  if (finished_) return;
  close_window();
  audio_.finish();
  finished_ = true;
}

RangeFeatures FeatureAccumulator::features(TimeRange range,
                                           std::span<const TimeRange> shots) const {
  RangeFeatures features;
  features.duration = range.length();

  // Frames: duration-weighted means; motion without the first frame of the video and of each
  // shot (a cut is not motion).
  std::vector<std::size_t> shot_starts;
  for (const TimeRange& shot : shots) {
    if (shot.start >= range.start && shot.start < range.end) {
      shot_starts.push_back(frame_at_or_after(shot.start));
    }
  }
  std::sort(shot_starts.begin(), shot_starts.end());
  const std::vector<std::size_t> frames =
      records_in(frames_, range, [](const auto&) { return true; });
  double weight_sum = 0;
  double motion_weight = 0;
  for (const std::size_t i : frames) {
    const FrameRecord& frame = frames_[i];
    const double weight = frame.duration > 0 ? frame.duration : kDefaultFrameSeconds;
    weight_sum += weight;
    features.sharpness += weight * frame.sharpness;
    features.brightness += weight * frame.brightness;
    features.contrast += weight * frame.contrast;
    features.colourfulness += weight * frame.colourfulness;
    if (i > 0 && !std::binary_search(shot_starts.begin(), shot_starts.end(), i)) {
      motion_weight += weight;
      features.motion += weight * frame.motion;
    }
  }
  if (weight_sum > 0) {
    features.sharpness /= weight_sum;
    features.brightness /= weight_sum;
    features.contrast /= weight_sum;
    features.colourfulness /= weight_sum;
  }
  if (motion_weight > 0) features.motion /= motion_weight;

  // Samples.
  const std::vector<std::size_t> samples =
      records_in(samples_, range, [](const auto&) { return true; });
  if (!samples.empty()) {
    const auto with_text = std::count_if(samples.begin(), samples.end(),
                                         [&](std::size_t i) { return samples_[i].text; });
    features.text_ratio = static_cast<double>(with_text) / static_cast<double>(samples.size());
  }
  const std::vector<std::size_t> heavy =
      records_in(samples_, range, [](const SampleRecord& sample) { return sample.heavy; });
  if (!heavy.empty() && analyzer_.detects_faces()) {
    int with_faces = 0;
    for (const std::size_t i : heavy) {
      if (samples_[i].faces == 0) continue;
      ++with_faces;
      features.face_area += samples_[i].face_area;
    }
    features.face_ratio = static_cast<double>(with_faces) / static_cast<double>(heavy.size());
    if (with_faces > 0) features.face_area /= with_faces;
  }
  if (!heavy.empty() && analyzer_.measures_brisque()) {
    double sum = 0;
    for (const std::size_t i : heavy) sum += samples_[i].brisque;
    features.brisque = sum / static_cast<double>(heavy.size());
  } else {
    features.brisque = kUnmeasuredBrisque;
  }

  // Audio.
  const AudioRangeFeatures audio = audio_.range(range);
  features.has_audio = audio.has_audio ? 1 : 0;
  features.loudness_lufs = audio.loudness_lufs;
  features.silence_ratio = audio.silence_ratio;
  features.voice_ratio = audio.voice_ratio;
  features.music_ratio = audio.music_ratio;

  // Cuts: shot starts strictly inside the range.
  const double epsilon = 1e-6;
  const auto cuts = std::count_if(shots.begin(), shots.end(), [&](const TimeRange& shot) {
    return shot.start > range.start + epsilon && shot.start < range.end - epsilon;
  });
  if (features.duration > 0) {
    features.cuts_per_minute = static_cast<double>(cuts) * 60 / features.duration;
  }
  return features;
}

ClipHash FeatureAccumulator::clip_hash(TimeRange range) const {
  ClipHash hash;
  const std::vector<std::size_t> inside =
      records_in(samples_, range, [](const auto&) { return true; });
  std::vector<std::size_t> usable;
  for (const std::size_t i : inside) {
    const SampleRecord& sample = samples_[i];
    if (sample.entropy >= kHashMinEntropy && frames_[sample.frame].contrast >= kHashMinContrast) {
      usable.push_back(i);
    }
  }
  const std::vector<std::size_t>& chosen = usable.empty() ? inside : usable;
  const std::size_t count = std::min<std::size_t>(kClipHashFrames, chosen.size());
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t pick = (2 * k + 1) * chosen.size() / (2 * count);
    hash.frames.push_back(samples_[chosen[pick]].phash);
  }
  return hash;
}

}  // namespace reelflow::video
