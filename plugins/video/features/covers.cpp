#include "features/covers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>

#include "features/file_output.hpp"

namespace reelflow::video {

namespace {

constexpr std::size_t kMotionNeighbourhood = 3;  // frames each side of a candidate
constexpr double kMotionMedianFactor = 2.5;
constexpr float kFadeRamp = 6;           // grey levels of mean luma across the neighbourhood
constexpr double kHeavyReach = 1.5;      // s: borrow faces/BRISQUE from a sample this near
constexpr std::size_t kHeavySearch = 4;  // samples each side

struct Candidate {
  std::size_t sample = 0;
  std::size_t shot = CoverChoice::kNoShot;
  double score = 0;
  bool passes = true;
};

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

std::size_t shot_of(std::span<const TimeRange> shots, double time) {
  const auto after =
      std::upper_bound(shots.begin(), shots.end(), time,
                       [](double t, const TimeRange& shot) { return t < shot.start; });
  if (after == shots.begin()) return CoverChoice::kNoShot;
  const auto index = static_cast<std::size_t>(after - shots.begin()) - 1;
  return time < shots[index].end ? index : CoverChoice::kNoShot;
}

}  // namespace

double cover_score(const FrameRecord& frame, double brisque, int faces, double face_area) {
  const double sharpness =
      std::min(1.0, std::log1p(std::max(0.0F, frame.sharpness)) / std::log1p(1500.0));
  const double exposure = std::max(0.0, 1 - std::abs(frame.brightness - 125.0) / 125);
  const double contrast = std::min(1.0, frame.contrast / 64.0);
  const double colour = std::min(1.0, frame.colourfulness / 90.0);
  const double quality = std::isfinite(brisque) ? std::clamp(1 - brisque / 100, 0.0, 1.0) : 0.5;
  const double face = faces > 0 ? 0.6 + 0.4 * std::min(1.0, face_area / 0.08) : 0.0;
  return 0.25 * sharpness + 0.15 * exposure + 0.15 * contrast + 0.15 * colour + 0.15 * quality +
         0.15 * face;
}

std::vector<CoverChoice> select_covers(const FeatureAccumulator& features,
                                       std::span<const TimeRange> shots, TimeRange range,
                                       const CoverOptions& options,
                                       std::span<const TimeRange> transitions) {
  const std::vector<SampleRecord>& samples = features.samples();
  const std::vector<FrameRecord>& frames = features.frames();
  std::vector<CoverChoice> chosen;
  if (options.count <= 0 || samples.empty()) return chosen;

  std::vector<std::size_t> inside;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (range.contains(samples[i].time)) inside.push_back(i);
  }
  if (inside.empty()) {  // a range shorter than a sample window: the nearest sample
    const double middle = (range.start + range.end) / 2;
    std::size_t nearest = 0;
    for (std::size_t i = 1; i < samples.size(); ++i) {
      if (std::abs(samples[i].time - middle) < std::abs(samples[nearest].time - middle)) {
        nearest = i;
      }
    }
    inside.push_back(nearest);
  }

  std::vector<double> sharpness;
  for (const std::size_t i : inside) sharpness.push_back(frames[samples[i].frame].sharpness);
  const double sharpness_floor =
      std::max(options.min_sharpness, options.relative_sharpness * median(sharpness));
  std::vector<double> motion;
  for (std::size_t f = features.frame_at_or_after(range.start);
       f < frames.size() && frames[f].time < range.end; ++f) {
    motion.push_back(frames[f].motion);
  }
  const double motion_ceiling =
      std::max(options.max_motion, kMotionMedianFactor * median(std::move(motion)));
  const double video_start = frames.empty() ? 0 : frames.front().time;
  const double video_end = features.duration();

  std::vector<Candidate> candidates;
  for (const std::size_t i : inside) {
    const SampleRecord& sample = samples[i];
    const FrameRecord& frame = frames[sample.frame];
    Candidate candidate{.sample = i, .shot = shot_of(shots, sample.time)};

    const bool exposed =
        frame.brightness >= options.min_brightness && frame.brightness <= options.max_brightness;
    const bool textured =
        frame.contrast >= options.min_contrast && sample.entropy >= options.min_entropy;
    const bool sharp = frame.sharpness >= sharpness_floor;
    // Transition: a motion peak (cut, whip pan, flash) or a steady brightness ramp (fade) in
    // the frames around it.
    bool transition = false;
    const std::size_t first =
        sample.frame >= kMotionNeighbourhood ? sample.frame - kMotionNeighbourhood : 0;
    const std::size_t last =
        std::min(frames.size() - 1, std::size_t{sample.frame} + kMotionNeighbourhood);
    for (std::size_t f = first; f <= last; ++f) {
      if (f > 0 && frames[f].motion > motion_ceiling) transition = true;
    }
    if (std::abs(frames[last].brightness - frames[first].brightness) > kFadeRamp) {
      transition = true;
    }
    if (candidate.shot != CoverChoice::kNoShot) {
      const TimeRange& shot = shots[candidate.shot];
      if (shot.start > video_start + 1e-6 && sample.time - shot.start < options.boundary_margin) {
        transition = true;
      }
      if (shot.end < video_end - 1e-6 && shot.end - sample.time < options.boundary_margin) {
        transition = true;
      }
    }
    for (const TimeRange& span : transitions) {
      if (sample.time >= span.start - options.boundary_margin / 2 &&
          sample.time < span.end + options.boundary_margin / 2) {
        transition = true;
      }
    }
    candidate.passes = exposed && textured && sharp && !transition;

    // Faces and BRISQUE run on every other sample: borrow them from the nearest heavy sample of
    // the same shot.
    const SampleRecord* heavy = sample.heavy ? &sample : nullptr;
    for (std::size_t step = 1; heavy == nullptr && step <= kHeavySearch; ++step) {
      for (const std::size_t j : {i - step, i + step}) {  // i − step wraps past 0: out of range
        if (heavy != nullptr || j >= samples.size() || !samples[j].heavy) continue;
        if (std::abs(samples[j].time - sample.time) > kHeavyReach) continue;
        if (shot_of(shots, samples[j].time) != candidate.shot) continue;
        heavy = &samples[j];
      }
    }
    const double brisque = heavy != nullptr && features.measures_brisque()
                               ? static_cast<double>(heavy->brisque)
                               : std::nan("");
    const int faces = heavy != nullptr && features.detects_faces() ? heavy->faces : 0;
    const double face_area = heavy != nullptr ? heavy->face_area : 0;
    candidate.score = cover_score(frame, brisque, faces, face_area);
    candidates.push_back(candidate);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });

  const double min_gap =
      options.min_gap >= 0 ? options.min_gap : range.length() / (2.0 * options.count);
  std::vector<bool> taken(candidates.size(), false);
  auto pick = [&](bool need_pass, bool one_per_shot, bool spaced) {
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      if (static_cast<int>(chosen.size()) >= options.count) return;
      const Candidate& candidate = candidates[c];
      if (taken[c] || (need_pass && !candidate.passes)) continue;
      const double time = samples[candidate.sample].time;
      const bool clash = std::any_of(chosen.begin(), chosen.end(), [&](const CoverChoice& other) {
        return (one_per_shot && candidate.shot != CoverChoice::kNoShot &&
                other.shot == candidate.shot) ||
               (spaced && std::abs(other.time - time) < min_gap);
      });
      if (clash) continue;
      taken[c] = true;
      chosen.push_back({.time = time,
                        .score = candidate.score,
                        .shot = candidate.shot,
                        .passed_filters = candidate.passes});
    }
  };
  pick(true, options.one_per_shot, true);
  pick(true, false, true);
  pick(false, false, true);
  pick(false, false, false);
  std::stable_sort(chosen.begin(), chosen.end(),
                   [](const CoverChoice& a, const CoverChoice& b) { return a.score > b.score; });
  return chosen;
}

Result<void> write_cover(const cv::Mat& frame, const std::string& path, int quality) {
  if (frame.empty()) return error("cannot write cover '" + path + "': the frame is empty");
  if (frame.depth() != CV_8U || (frame.channels() != 3 && frame.channels() != 1)) {
    return error("cannot write cover '" + path + "': the frame is not 8-bit BGR or grey");
  }
  std::vector<std::uint8_t> jpeg;
  try {
    const std::vector<int> parameters = {cv::IMWRITE_JPEG_QUALITY, std::clamp(quality, 1, 100),
                                         cv::IMWRITE_JPEG_OPTIMIZE, 1};
    if (!cv::imencode(".jpg", frame, jpeg, parameters)) {
      return error("cannot write cover '" + path + "': JPEG encoding failed");
    }
  } catch (const cv::Exception& exception) {
    return error("cannot write cover '" + path + "': " + exception.msg);
  }
  return write_file_atomically(jpeg, path, "cover");
}

}  // namespace reelflow::video
