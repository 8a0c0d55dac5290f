// plan_crop(): one decode of small frames feeds the shot detector, a frontal-face cascade on
// sampled frames and a frame-differencing motion centroid; each shot then gets its own path
// (README.md).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <system_error>
#include <utility>
#include <vector>

#include "media/decoder.hpp"
#include "render/reframe/framer.hpp"
#include "shots/shot_detector.hpp"

namespace reelflow::video {

namespace {

// detectMultiScale: 1.1 between scales (features/sample_metrics.cpp uses 1.2): a face found in
// every sample, not every other one, keeps the path on it; about 3 ms per 320×180 frame.
constexpr double kFaceScaleStep = 1.1;
constexpr int kFaceMinNeighbours = 3;
// Faces smaller than this share of the largest face in a frame do not pull the window.
constexpr double kMinorFaceArea = 0.4;
// Frame differences below this (grey levels) are noise and compression, not motion.
constexpr int kMotionThreshold = 16;
// Motion of the first frames of a shot is the cut itself.
constexpr int kSkipFramesAfterCut = 2;
// Outliers (a missed face, a stray detection) are removed by a running median of this many
// observations before anything else.
constexpr int kMedianObservations = 5;
// The dead zone's hysteresis (shot_centres): how fast the window closes the gap once it moves,
// and when a subject is at rest again (share of the frame per second, for how long).
constexpr double kCatchUpSeconds = 0.25;
constexpr double kRestSpeed = 0.02;
constexpr double kRestSeconds = 0.3;

// What one analysed frame says about the subject; positions are 0..1 of the frame.
struct FrameObservation {
  std::int64_t index = 0;
  double time = 0;
  double motion_energy = 0;  // mean thresholded difference from the previous frame, 0..1
  double motion_x = 0.5;     // energy centroid
  double motion_y = 0.5;
  bool face_sampled = false;
  bool face = false;
  double face_x = 0.5;  // centre of the largest faces
  double face_y = 0.5;
};

struct Point {
  double time = 0;
  double value = 0;  // subject centre on the free axis, 0..1
};

class Analysis {
 public:
  // window_share: the crop window's size on the free axis as a share of the frame's.
  Analysis(const CropPlanOptions& plan, cv::CascadeClassifier* faces, bool horizontal,
           double window_share)
      : plan_(plan), faces_(faces), horizontal_(horizontal), window_share_(window_share) {}

  void add(const AnalysisFrame& frame) {
    FrameObservation observation;
    observation.index = frame.index;
    observation.time = frame.time;
    cv::cvtColor(frame.bgr, grey_, cv::COLOR_BGR2GRAY);
    if (!previous_.empty() && previous_.size() == grey_.size()) {
      cv::absdiff(grey_, previous_, difference_);
      cv::threshold(difference_, difference_, kMotionThreshold, 255, cv::THRESH_TOZERO);
      const cv::Moments moments = cv::moments(difference_);
      if (moments.m00 > 0) {
        observation.motion_energy = moments.m00 / (255.0 * static_cast<double>(grey_.total()));
        observation.motion_x = moments.m10 / moments.m00 / grey_.cols;
        observation.motion_y = moments.m01 / moments.m00 / grey_.rows;
      }
    }
    // One face sample per 1/face_samples_per_second slot of the timeline: the first frame in it.
    const auto slot = static_cast<std::int64_t>(
        std::floor(frame.time * std::max(0.1, plan_.face_samples_per_second) + 1e-3));
    if (faces_ != nullptr && slot != face_slot_) {
      face_slot_ = slot;
      observation.face_sampled = true;
      detect_face(grey_, observation);
    }
    std::swap(grey_, previous_);
    observations.push_back(observation);
    shots.push(frame);
  }

  std::vector<FrameObservation> observations;
  ShotDetector shots;

 private:
  // The subject is the largest face, with the other large faces (kMinorFaceArea) that fit in
  // the window beside it; its centre is the middle of their boxes. (An area-weighted mean of two
  // faces far apart would frame neither.)
  void detect_face(const cv::Mat& grey, FrameObservation& observation) {
    cv::equalizeHist(grey, equalized_);
    faces_->detectMultiScale(equalized_, found_, kFaceScaleStep, kFaceMinNeighbours, 0);
    if (found_.empty()) return;
    std::sort(found_.begin(), found_.end(),
              [](const cv::Rect& a, const cv::Rect& b) { return a.area() > b.area(); });
    const double extent = (horizontal_ ? grey.cols : grey.rows) * window_share_ * 0.9;
    const auto low = [this](const cv::Rect& face) { return horizontal_ ? face.x : face.y; };
    const auto high = [this](const cv::Rect& face) {
      return horizontal_ ? face.x + face.width : face.y + face.height;
    };
    int first = low(found_.front()), last = high(found_.front());
    for (const cv::Rect& face : found_) {
      if (face.area() < kMinorFaceArea * found_.front().area()) break;
      if (std::max(last, high(face)) - std::min(first, low(face)) > extent) continue;
      first = std::min(first, low(face));
      last = std::max(last, high(face));
    }
    observation.face = true;
    const double centre = (first + last) / 2.0 / (horizontal_ ? grey.cols : grey.rows);
    (horizontal_ ? observation.face_x : observation.face_y) = centre;
  }

  const CropPlanOptions& plan_;
  cv::CascadeClassifier* faces_;
  bool horizontal_;
  double window_share_;
  std::int64_t face_slot_ = -1;
  cv::Mat grey_, previous_, difference_, equalized_;
  std::vector<cv::Rect> found_;
};

// Where the subject is during one shot: face centres when the shot has faces often enough,
// else motion centroids pooled per bin; empty when neither.
std::vector<Point> subject_points(const std::vector<FrameObservation>& frames,
                                  const CropPlanOptions& plan, bool horizontal) {
  std::vector<Point> points;
  int sampled = 0, with_face = 0;
  for (const FrameObservation& frame : frames) {
    sampled += frame.face_sampled ? 1 : 0;
    with_face += frame.face ? 1 : 0;
  }
  if (sampled > 0 && with_face >= std::max(1.0, plan.min_face_share * sampled)) {
    for (const FrameObservation& frame : frames) {
      if (frame.face) points.push_back({frame.time, horizontal ? frame.face_x : frame.face_y});
    }
    return points;
  }
  const double bin = std::max(1e-3, plan.motion_bin_seconds);
  std::size_t first = 0;
  for (std::size_t i = static_cast<std::size_t>(kSkipFramesAfterCut); i < frames.size();
       i = first) {
    first = i;
    double energy = 0, weighted = 0, time = 0;
    int count = 0;
    while (first < frames.size() && frames[first].time < frames[i].time + bin) {
      const FrameObservation& frame = frames[first++];
      energy += frame.motion_energy;
      weighted += frame.motion_energy * (horizontal ? frame.motion_x : frame.motion_y);
      time += frame.time;
      ++count;
    }
    if (count > 0 && energy / count >= plan.min_motion_energy) {
      points.push_back({time / count, weighted / energy});
    }
  }
  return points;
}

std::vector<Point> running_median(const std::vector<Point>& points) {
  std::vector<Point> result = points;
  const int half = kMedianObservations / 2;
  std::vector<double> window;
  for (std::size_t i = 0; i < points.size(); ++i) {
    window.clear();
    // symmetric, narrower at the ends, so that a steady trend is kept to the last point
    const std::size_t reach = std::min({static_cast<std::size_t>(half), i, points.size() - 1 - i});
    const std::size_t begin = i - reach, end = i + reach + 1;
    for (std::size_t j = begin; j < end; ++j) window.push_back(points[j].value);
    std::nth_element(window.begin(),
                     window.begin() + static_cast<std::ptrdiff_t>(window.size() / 2), window.end());
    result[i].value = window[window.size() / 2];
  }
  return result;
}

// Linear interpolation of the points at `time`, held beyond the ends.
double interpolate(const std::vector<Point>& points, double time) {
  if (time <= points.front().time) return points.front().value;
  if (time >= points.back().time) return points.back().value;
  auto after = std::upper_bound(points.begin(), points.end(), time,
                                [](double t, const Point& point) { return t < point.time; });
  const Point& a = *std::prev(after);
  const Point& b = *after;
  const double span = b.time - a.time;
  return span <= 0 ? b.value : a.value + (b.value - a.value) * (time - a.time) / span;
}

// Zero-lag smoothing: at each time, a least-squares line through the points around it, weighted
// by a Gaussian of `sigma` seconds (local linear regression). Unlike a moving average it follows
// steady motion without lag, also at a shot's edges where it sees one side only; beyond the
// first and last point it extrapolates at most `reach` seconds.
std::vector<double> smooth(const std::vector<Point>& points, const std::vector<double>& times,
                           double sigma, double reach) {
  std::vector<double> result(times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    const double time =
        std::clamp(times[i], points.front().time - reach, points.back().time + reach);
    if (sigma <= 0) {
      result[i] = interpolate(points, time);
      continue;
    }
    double w_sum = 0, t_sum = 0, tt_sum = 0, v_sum = 0, tv_sum = 0;
    auto point = std::lower_bound(points.begin(), points.end(), time - 3 * sigma,
                                  [](const Point& p, double t) { return p.time < t; });
    for (; point != points.end() && point->time <= time + 3 * sigma; ++point) {
      const double dt = point->time - time;
      const double w = std::exp(-0.5 * dt * dt / (sigma * sigma));
      w_sum += w;
      t_sum += w * dt;
      tt_sum += w * dt * dt;
      v_sum += w * point->value;
      tv_sum += w * dt * point->value;
    }
    // The line v = a + b·dt at dt = 0; a plain weighted mean when the points are too few or too
    // close together in time to give a slope; interpolation when none is near.
    const double determinant = w_sum * tt_sum - t_sum * t_sum;
    if (w_sum < 1e-3) {
      result[i] = interpolate(points, time);
    } else if (determinant > w_sum * w_sum * (0.1 * sigma) * (0.1 * sigma)) {
      result[i] = (tt_sum * v_sum - t_sum * tv_sum) / determinant;
    } else {
      result[i] = v_sum / w_sum;
    }
  }
  return result;
}

// The free-axis window centre (source pixels) at each frame of one shot.
std::vector<double> shot_centres(const std::vector<FrameObservation>& frames,
                                 const CropPlanOptions& plan, bool horizontal, double length,
                                 double window_length) {
  const std::vector<double> centred(frames.size(), length / 2);
  std::vector<Point> points = subject_points(frames, plan, horizontal);
  if (points.empty()) return centred;
  points = running_median(points);
  for (Point& point : points) point.value *= length;
  const auto [lowest, highest] =
      std::minmax_element(points.begin(), points.end(),
                          [](const Point& a, const Point& b) { return a.value < b.value; });
  if (highest->value - lowest->value <= plan.hold_fraction * length) {
    std::vector<double> values;
    for (const Point& point : points) values.push_back(point.value);
    std::nth_element(values.begin(),
                     values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
    return std::vector<double>(frames.size(), values[values.size() / 2]);
  }
  std::vector<double> times;
  for (const FrameObservation& frame : frames) times.push_back(frame.time);
  const double sample_spacing = 1 / std::max(0.1, plan.face_samples_per_second);
  std::vector<double> target = smooth(points, times, plan.smoothing_seconds,
                                      std::max(sample_spacing, plan.motion_bin_seconds));
  // Dead zone with hysteresis: the window stays while the subject stays within dead_zone of its
  // centre; once it strays further the window follows, closing the gap over about
  // kCatchUpSeconds, until the subject comes to rest again (moves slower than kRestSpeed for
  // kRestSeconds). A light second smoothing rounds the starts and stops.
  const double dead_zone = plan.dead_zone_fraction * length;
  std::vector<Point> camera_points;
  double camera = target.front(), gap = 0, resting = 0;
  bool moving = false;
  for (std::size_t i = 0; i < target.size(); ++i) {
    const double dt = i == 0 ? 0 : times[i] - times[i - 1];
    if (!moving && std::abs(target[i] - camera) > dead_zone) {
      moving = true;
      resting = 0;
      gap = target[i] - camera;
    }
    if (moving) {
      gap *= std::exp(-dt / kCatchUpSeconds);
      camera = target[i] - gap;
      const double speed = dt > 0 ? std::abs(target[i] - target[i - 1]) / dt : 0;
      resting = speed < kRestSpeed * length ? resting + dt : 0;
      if (resting >= kRestSeconds) moving = false;
    }
    camera_points.push_back({times[i], camera});
  }
  target = smooth(camera_points, times, plan.smoothing_seconds / 2, 0);
  const double half = window_length / 2;
  for (double& value : target) value = std::clamp(value, half, length - half);
  return target;
}

}  // namespace

Result<CropPath> plan_crop(const std::string& path, double start, double end, int out_width,
                           int out_height, const ReframeOptions& options) {
  return plan_crop(path, start, end, out_width, out_height, options, CropPlanOptions{});
}

Result<CropPath> plan_crop(const std::string& path, double start, double end, int out_width,
                           int out_height, const ReframeOptions& options,
                           const CropPlanOptions& plan) {
  if (auto checked = check_reframe_options(options); !checked) {
    return tl::unexpected(checked.error());
  }
  if (out_width < 2 || out_height < 2) {
    return error("reframe output size " + std::to_string(out_width) + "x" +
                 std::to_string(out_height) + " is too small");
  }
  auto info = probe(path);
  if (!info) return tl::unexpected(info.error());
  if (!info->has_video) return error("'" + path + "' has no video stream to reframe");
  const int width = info->display_width, height = info->display_height;
  const CropWindow centred =
      centred_window(width, height, static_cast<double>(out_width) / out_height);
  const bool horizontal = centred.width < (width & ~1);
  const bool vertical = centred.height < (height & ~1);
  if (!horizontal && !vertical) {  // same aspect: the whole frame
    return CropPath{{CropWindow{start, 0, 0, centred.width, centred.height}}};
  }

  cv::CascadeClassifier faces;
  if (!plan.face_cascade.empty()) {
    std::error_code ignored;
    if (!std::filesystem::is_regular_file(plan.face_cascade, ignored)) {
      return error("face cascade '" + plan.face_cascade +
                   "' is missing (Debian package opencv-data installs it)");
    }
    try {
      if (!faces.load(plan.face_cascade)) {
        return error("face cascade '" + plan.face_cascade + "' is not an OpenCV cascade file");
      }
    } catch (const cv::Exception& exception) {
      return error("face cascade '" + plan.face_cascade +
                   "' could not be loaded: " + exception.msg);
    }
  }

  Analysis analysis(plan, faces.empty() ? nullptr : &faces, horizontal,
                    horizontal ? static_cast<double>(centred.width) / width
                               : static_cast<double>(centred.height) / height);
  std::atomic<bool> past_end{false};
  const bool to_the_end = !(end > start);
  DecodeOptions decode_options;
  decode_options.analysis_width = plan.analysis_width;
  decode_options.decode_audio = false;
  decode_options.deblock = false;  // small frames, as in video.extract (media/decoder.hpp)
  decode_options.cancelled = [&] {
    return past_end.load() || (plan.cancelled && plan.cancelled());
  };
  auto decoded = decode(path, decode_options, [&](const AnalysisFrame& frame) {
    if (frame.time + 1e-6 < start) return;
    if (!to_the_end && frame.time >= end) {
      past_end = true;
      return;
    }
    analysis.add(frame);
  });
  if (!decoded) return tl::unexpected(decoded.error());
  if (plan.cancelled && plan.cancelled()) {
    return error("planning the crop of '" + path + "' was cancelled");
  }

  const std::vector<Shot> shots = analysis.shots.finish();
  const std::vector<FrameObservation>& frames = analysis.observations;
  CropPath result;
  if (frames.empty()) {
    CropWindow window = centred;
    window.time = start;
    result.windows.push_back(window);
    return result;
  }
  const double length = horizontal ? width : height;
  const double window_length = horizontal ? centred.width : centred.height;
  std::size_t next = 0;
  for (const Shot& shot : shots) {
    std::vector<FrameObservation> in_shot;
    while (next < frames.size() && frames[next].index <= shot.end_frame) {
      if (frames[next].index >= shot.start_frame) in_shot.push_back(frames[next]);
      ++next;
    }
    if (in_shot.empty()) continue;
    const std::vector<double> centres =
        shot_centres(in_shot, plan, horizontal, length, window_length);
    for (std::size_t i = 0; i < in_shot.size(); ++i) {
      CropWindow window = centred;
      window.time = i == 0 ? shot.start : in_shot[i].time;
      const int origin = static_cast<int>(std::lround((centres[i] - window_length / 2) / 2)) * 2;
      if (horizontal) {
        window.x = std::clamp(origin, 0, (width - centred.width) & ~1);
      } else {
        window.y = std::clamp(origin, 0, (height - centred.height) & ~1);
      }
      if (i > 0 && window.x == result.windows.back().x && window.y == result.windows.back().y) {
        continue;
      }
      result.windows.push_back(window);
    }
  }
  if (result.windows.empty()) {
    CropWindow window = centred;
    window.time = start;
    result.windows.push_back(window);
  }
  return result;
}

}  // namespace reelflow::video
