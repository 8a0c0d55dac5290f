// Shot detection on a corpus the test generates: distinct synthetic shots (textured scenes seen
// through a moving camera) joined by hard cuts, fades through black or white and dissolves, with
// white flashes inside shots, all at known frame positions. The corpus runs twice: from memory
// (no ffmpeg needed), and encoded to H.264 files by the ffmpeg CLI (one of them at a variable
// frame rate) and decoded back through reelflow::video::decode(). Each case prints its precision
// and recall; hard cuts must be frame-exact, gradual transitions must put the new shot's first
// frame inside the transition.
#include "shots/shot_detector.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "media/decoder.hpp"

namespace reelflow::video {
namespace {

namespace fs = std::filesystem;

constexpr int kWidth = 320;
constexpr int kHeight = 180;

// ---------------------------------------------------------------------------------------------
// Synthetic shots

// `objects`: a still camera on a scene that large objects cross quickly.
enum class Motion { still, shake, pan, fast_pan, zoom_in, zoom_out, pan_zoom, objects };

// How a case's scenes look: a palette shared by all shots (hue >= 0), and dark (night) scenes.
struct Look {
  double hue = -1;
  bool dark = false;
};

// A scene drawn once on a canvas twice the frame size (a gradient, smooth and fine noise
// texture, a dozen shapes in the scene's own palette), seen through a camera that moves.
class Scene {
 public:
  Scene(std::uint32_t seed, Motion motion, int length, Look look = {})
      : motion_(motion), seed_(seed) {
    cv::RNG rng(seed);
    const cv::Size size(2 * kWidth, 2 * kHeight);
    const double hue = look.hue >= 0 ? look.hue + rng.uniform(-8.0, 8.0) : rng.uniform(0.0, 180.0);
    const double brightest = look.dark ? 70.0 : 255.0;
    const auto colour = [&](double spread) {
      const double h = std::fmod(hue + rng.uniform(-spread, spread) + 180.0, 180.0);
      cv::Mat pixel(1, 1, CV_8UC3,
                    cv::Scalar(h, rng.uniform(60.0, 255.0), rng.uniform(0.2, 1.0) * brightest));
      cv::cvtColor(pixel, pixel, cv::COLOR_HSV2BGR);
      const cv::Vec3b bgr = pixel.at<cv::Vec3b>(0, 0);
      return cv::Scalar(bgr[0], bgr[1], bgr[2]);
    };

    // Background gradient between two colours of the palette, in a random direction.
    cv::Mat canvas(size, CV_32FC3);
    const cv::Scalar from = colour(25), to = colour(25);
    const double angle = rng.uniform(0.0, CV_PI);
    const double ux = std::cos(angle), uy = std::sin(angle);
    const double extent = std::abs(ux) * size.width + std::abs(uy) * size.height;
    for (int y = 0; y < size.height; ++y) {
      auto* row = canvas.ptr<cv::Vec3f>(y);
      for (int x = 0; x < size.width; ++x) {
        const double a = std::clamp(
            0.5 + ((x - size.width / 2.0) * ux + (y - size.height / 2.0) * uy) / extent, 0.0, 1.0);
        for (int c = 0; c < 3; ++c) row[x][c] = static_cast<float>(from[c] * (1 - a) + to[c] * a);
      }
    }
    // Smooth large-scale texture.
    cv::Mat blobs(6, 10, CV_32FC3);
    rng.fill(blobs, cv::RNG::NORMAL, 0.0, look.dark ? 8.0 : 30.0);
    cv::resize(blobs, blobs, size, 0, 0, cv::INTER_CUBIC);
    canvas += blobs;
    canvas.convertTo(canvas_, CV_8UC3);

    // Shapes.
    const int shapes = rng.uniform(8, 16);
    for (int k = 0; k < shapes; ++k) {
      const cv::Scalar c = colour(rng.uniform(0, 3) == 0 ? 90.0 : 40.0);
      const cv::Point centre(rng.uniform(0, size.width), rng.uniform(0, size.height));
      const int r = rng.uniform(12, 90);
      switch (rng.uniform(0, 4)) {
        case 0:
          cv::circle(canvas_, centre, r, c, cv::FILLED, cv::LINE_AA);
          break;
        case 1:
          cv::rectangle(canvas_, centre, centre + cv::Point(r, rng.uniform(10, 80)), c, cv::FILLED,
                        cv::LINE_AA);
          break;
        case 2:
          cv::ellipse(canvas_, centre, cv::Size(r, r / 2 + 5), rng.uniform(0.0, 180.0), 0, 360, c,
                      cv::FILLED, cv::LINE_AA);
          break;
        default: {
          const std::vector<cv::Point> triangle = {
              centre, centre + cv::Point(rng.uniform(-r, r), rng.uniform(-r, r)),
              centre + cv::Point(rng.uniform(-r, r), rng.uniform(-r, r))};
          cv::fillConvexPoly(canvas_, triangle, c, cv::LINE_AA);
          cv::line(canvas_, centre, centre + cv::Point(2 * r, -r), colour(90), rng.uniform(2, 8),
                   cv::LINE_AA);
        }
      }
    }
    // Fine texture that moves with the scene.
    cv::Mat grain(size, CV_16SC3);
    rng.fill(grain, cv::RNG::NORMAL, 0.0, look.dark ? 3.0 : 9.0);
    cv::Mat canvas16;
    canvas_.convertTo(canvas16, CV_16SC3);
    canvas16 += grain;
    canvas16.convertTo(canvas_, CV_8UC3);

    // Camera path: canvas pixels per frame pixel (zoom) and the centre's start and speed.
    const double per_frame = 1.0 / std::max(length, 1);
    zoom_ = rng.uniform(1.1, 1.5);
    centre_ = cv::Point2d(size.width / 2.0 + rng.uniform(-80.0, 80.0),
                          size.height / 2.0 + rng.uniform(-40.0, 40.0));
    const double direction = rng.uniform(0.0, 2 * CV_PI);
    const auto speed = [&](double pixels) {
      return cv::Point2d(std::cos(direction) * pixels, std::sin(direction) * pixels * 0.5);
    };
    switch (motion) {
      case Motion::still:
      case Motion::shake:
        break;
      case Motion::objects:
        for (int k = 0; k < 3; ++k) {
          MovingObject object;
          object.start =
              cv::Point2d(rng.uniform(0.0, 1.0 * kWidth), rng.uniform(0.0, 1.0 * kHeight));
          object.velocity = cv::Point2d(rng.uniform(-9.0, 9.0), rng.uniform(-4.0, 4.0));
          object.radius = rng.uniform(18, 40);
          object.colour = colour(90);
          objects_.push_back(object);
        }
        break;
      case Motion::pan:
        velocity_ = speed(rng.uniform(1.5, 3.5));
        break;
      case Motion::fast_pan:
        velocity_ = speed(rng.uniform(8.0, 11.0));
        break;
      case Motion::zoom_in:
        zoom_ = 1.8;
        zoom_rate_ = -0.7 * per_frame;
        break;
      case Motion::zoom_out:
        zoom_ = 1.1;
        zoom_rate_ = 0.7 * per_frame;
        break;
      case Motion::pan_zoom:
        velocity_ = speed(rng.uniform(1.0, 2.5));
        zoom_ = 1.6;
        zoom_rate_ = -0.5 * per_frame;
        break;
    }
    centre_ -= velocity_ * (length / 2.0);  // the pan passes the chosen centre half way
  }

  // Frame t of the shot (t may run past the shot's own length, into a dissolve).
  cv::Mat render(int t) const {
    double zoom = zoom_ + zoom_rate_ * t;
    cv::Point2d centre = centre_ + velocity_ * static_cast<double>(t);
    if (motion_ == Motion::shake) {
      centre += cv::Point2d(3.0 * std::sin(t * 0.9 + seed_), 2.0 * std::cos(t * 1.3 + seed_));
    }
    zoom = std::clamp(zoom, 0.8, 1.95);
    const cv::Matx23d to_canvas(zoom, 0, centre.x - zoom * kWidth / 2.0, 0, zoom,
                                centre.y - zoom * kHeight / 2.0);
    cv::Mat frame;
    cv::warpAffine(canvas_, frame, to_canvas, cv::Size(kWidth, kHeight),
                   cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
    for (const MovingObject& object : objects_) {
      const cv::Point2d at = object.start + object.velocity * static_cast<double>(t);
      cv::circle(frame,
                 cv::Point(static_cast<int>(std::fmod(at.x + 4 * kWidth, 1.5 * kWidth)),
                           static_cast<int>(std::fmod(at.y + 4 * kHeight, 1.5 * kHeight))),
                 object.radius, object.colour, cv::FILLED, cv::LINE_AA);
    }
    return frame;
  }

 private:
  cv::Mat canvas_;
  Motion motion_;
  std::uint32_t seed_;
  double zoom_ = 1.3;
  double zoom_rate_ = 0;
  cv::Point2d centre_;
  cv::Point2d velocity_;
  struct MovingObject {
    cv::Point2d start, velocity;
    int radius = 20;
    cv::Scalar colour;
  };
  std::vector<MovingObject> objects_;
};

// ---------------------------------------------------------------------------------------------
// Cases: shots, the edits between them, flashes inside them

enum class Join { cut, fade_black, fade_white, dissolve };

struct Edit {
  Join join = Join::cut;
  int out = 0;   // fade-out frames, or the dissolve's length
  int hold = 0;  // black or white frames
  int in = 0;    // fade-in frames
};

Edit cut() { return {}; }
Edit fade(int out, int hold, int in, bool white = false) {
  return {white ? Join::fade_white : Join::fade_black, out, hold, in};
}
Edit dissolve(int length) { return {Join::dissolve, length, 0, 0}; }

struct Flash {
  int shot = 0;
  int at = 0;             // frames into the shot
  int frames = 1;         // 1 to 3
  double strength = 1.0;  // 1: pure white at its peak
};

struct CorpusCase {
  std::string name;
  std::uint32_t seed = 1;
  int fps = 25;
  bool vfr = false;                           // time(n) = vfr_time(n) instead of n / fps
  std::vector<std::pair<Motion, int>> shots;  // camera motion and own length in frames
  std::vector<Edit> edits;                    // shots.size() - 1 of them
  std::vector<Flash> flashes;
  double palette_hue = -1;  // >= 0: every shot of the case in this palette
  bool dark = false;
};

// The variable-frame-rate time line: 30 fps, then 15 fps (a phone in low light), then 24 fps.
constexpr const char* kVfrExpression =
    "if(lt(N,100),N/30,if(lt(N,200),100/30+(N-100)/15,100/30+100/15+(N-200)/24))";
double vfr_time(std::int64_t n) {
  if (n < 100) return n / 30.0;
  if (n < 200) return 100 / 30.0 + (n - 100) / 15.0;
  return 100 / 30.0 + 100 / 15.0 + (n - 200) / 24.0;
}

// Where the boundaries are: a cut at one frame; a gradual transition anywhere from its first
// frame to the first clean frame of the new shot.
struct TruthBoundary {
  bool gradual = false;
  std::int64_t first = 0;
  std::int64_t last = 0;
};

struct Truth {
  std::vector<TruthBoundary> boundaries;
  std::vector<std::pair<std::int64_t, std::int64_t>> flashes;  // first..last frame
  std::int64_t frames = 0;
};

// One output frame: shot `shot` at its time `t`, possibly mixed with another, faded, flashed.
struct PlannedFrame {
  int shot = 0;
  int t = 0;
  int other = -1;
  int other_t = 0;
  double mix = 0;      // weight of `other`
  double fade = 1;     // weight of the picture against the fade colour
  double fade_to = 0;  // 0 black, 255 white
  double flash = 0;    // weight of white
};

class Timeline {
 public:
  explicit Timeline(const CorpusCase& spec) : spec_(spec) {
    for (std::size_t i = 0; i < spec.shots.size(); ++i) {
      const int dissolve_in =
          i > 0 && spec.edits[i - 1].join == Join::dissolve ? spec.edits[i - 1].out : 0;
      scenes_.emplace_back(spec.seed * 7919U + static_cast<std::uint32_t>(i) * 104729U,
                           spec.shots[i].first, spec.shots[i].second + dissolve_in,
                           Look{spec.palette_hue, spec.dark});
    }
    plan();
  }

  std::int64_t frames() const { return static_cast<std::int64_t>(plan_.size()); }
  const Truth& truth() const { return truth_; }
  double time(std::int64_t n) const {
    return spec_.vfr ? vfr_time(n) : static_cast<double>(n) / spec_.fps;
  }

  cv::Mat render(std::int64_t n) const {
    const PlannedFrame& p = plan_[static_cast<std::size_t>(n)];
    cv::Mat picture;
    scenes_[static_cast<std::size_t>(p.shot)].render(p.t).convertTo(picture, CV_32FC3);
    if (p.other >= 0) {
      cv::Mat other;
      scenes_[static_cast<std::size_t>(p.other)].render(p.other_t).convertTo(other, CV_32FC3);
      picture = picture * (1 - p.mix) + other * p.mix;
    }
    if (p.fade < 1) picture = picture * p.fade + cv::Scalar::all(p.fade_to * (1 - p.fade));
    if (p.flash > 0) picture = picture * (1 - p.flash) + cv::Scalar::all(255 * p.flash);
    cv::Mat noise(picture.size(), CV_32FC3);
    cv::RNG rng(static_cast<std::uint64_t>(spec_.seed) * 1000003ULL +
                static_cast<std::uint64_t>(n));
    rng.fill(noise, cv::RNG::NORMAL, 0.0, 2.0);  // sensor noise, new in every frame
    picture += noise;
    cv::Mat frame;
    picture.convertTo(frame, CV_8UC3);
    return frame;
  }

 private:
  void plan() {
    const auto& shots = spec_.shots;
    int start_t = 0;  // a shot that follows a dissolve has already run for its length
    for (std::size_t i = 0; i < shots.size(); ++i) {
      const int own = shots[i].second;
      const int shot = static_cast<int>(i);
      const std::int64_t shot_first = frames();
      const Edit* before = i > 0 ? &spec_.edits[i - 1] : nullptr;
      const Edit* after = i + 1 < shots.size() ? &spec_.edits[i] : nullptr;
      for (int k = 0; k < own; ++k) {
        PlannedFrame p;
        p.shot = shot;
        p.t = start_t + k;
        if (before != nullptr &&
            (before->join == Join::fade_black || before->join == Join::fade_white) &&
            k < before->in) {
          p.fade = (k + 1.0) / (before->in + 1.0);
          p.fade_to = before->join == Join::fade_white ? 255 : 0;
        }
        if (after != nullptr &&
            (after->join == Join::fade_black || after->join == Join::fade_white) &&
            k >= own - after->out) {
          p.fade = 1.0 - (k - (own - after->out) + 1.0) / (after->out + 1.0);
          p.fade_to = after->join == Join::fade_white ? 255 : 0;
        }
        plan_.push_back(p);
      }
      for (const Flash& flash : spec_.flashes) {
        if (flash.shot != shot) continue;
        const std::int64_t first = shot_first + flash.at;
        static constexpr double kProfile[3][3] = {{1, 0, 0}, {1, 0.6, 0}, {0.6, 1, 0.6}};
        for (int k = 0; k < flash.frames; ++k) {
          plan_[static_cast<std::size_t>(first + k)].flash =
              flash.strength * kProfile[flash.frames - 1][k];
        }
        truth_.flashes.emplace_back(first, first + flash.frames - 1);
      }
      start_t = 0;
      if (after == nullptr) break;
      const std::int64_t out_first = frames() - after->out;
      switch (after->join) {
        case Join::cut:
          truth_.boundaries.push_back({false, frames(), frames()});
          break;
        case Join::fade_black:
        case Join::fade_white: {
          for (int k = 0; k < after->hold; ++k) {
            PlannedFrame p;
            p.shot = shot;
            p.t = own + k;
            p.fade = 0;
            p.fade_to = after->join == Join::fade_white ? 255 : 0;
            plan_.push_back(p);
          }
          const std::int64_t in_last = frames() + after->in;  // the first clean frame of i + 1
          truth_.boundaries.push_back({true, out_first, in_last});
          break;
        }
        case Join::dissolve: {
          const std::int64_t first = frames();
          for (int k = 0; k < after->out; ++k) {
            PlannedFrame p;
            p.shot = shot;
            p.t = own + k;
            p.other = shot + 1;
            p.other_t = k;
            p.mix = (k + 1.0) / (after->out + 1.0);
            plan_.push_back(p);
          }
          truth_.boundaries.push_back({true, first, frames()});
          start_t = after->out;
          break;
        }
      }
    }
    truth_.frames = frames();
  }

  CorpusCase spec_;
  std::vector<Scene> scenes_;
  std::vector<PlannedFrame> plan_;
  Truth truth_;
};

std::pair<Motion, int> take(Motion motion, int frames) { return {motion, frames}; }
Flash flash(int shot, int at, int frames, double strength) { return {shot, at, frames, strength}; }

CorpusCase make_case(std::string name, std::uint32_t seed, int fps,
                     std::vector<std::pair<Motion, int>> shots, std::vector<Edit> edits,
                     std::vector<Flash> flashes = {}) {
  CorpusCase spec;
  spec.name = std::move(name);
  spec.seed = seed;
  spec.fps = fps;
  spec.shots = std::move(shots);
  spec.edits = std::move(edits);
  spec.flashes = std::move(flashes);
  return spec;
}

// The corpus: six cases for what the detector must do, three harder ones (shots sharing one
// palette with objects crossing still frames, night scenes, long transitions and fast motion).
std::vector<CorpusCase> corpus() {
  using M = Motion;
  std::vector<CorpusCase> cases;
  cases.push_back(
      make_case("cuts_still_and_shake", 11, 25,
                {take(M::still, 40), take(M::shake, 55), take(M::still, 30), take(M::shake, 70),
                 take(M::still, 12), take(M::shake, 45), take(M::still, 60), take(M::shake, 35),
                 take(M::still, 50), take(M::shake, 15), take(M::still, 40), take(M::shake, 45)},
                std::vector<Edit>(11, cut())));
  cases.push_back(make_case(
      "cuts_camera_motion", 23, 30,
      {take(M::pan, 60), take(M::zoom_in, 50), take(M::fast_pan, 40), take(M::zoom_out, 55),
       take(M::pan_zoom, 45), take(M::pan, 70), take(M::fast_pan, 35), take(M::shake, 40),
       take(M::zoom_in, 60), take(M::pan, 45), take(M::pan_zoom, 50), take(M::fast_pan, 40)},
      std::vector<Edit>(11, cut())));
  cases.push_back(make_case(
      "fades", 37, 25,
      {take(M::still, 50), take(M::pan, 55), take(M::zoom_in, 50), take(M::shake, 60),
       take(M::pan_zoom, 50), take(M::still, 55), take(M::pan, 50), take(M::zoom_out, 55)},
      {fade(10, 3, 10), fade(6, 1, 6), fade(8, 2, 8, true), fade(15, 5, 0), fade(0, 4, 12),
       fade(12, 1, 12, true), fade(20, 8, 20)}));
  cases.push_back(make_case(
      "dissolves", 41, 30,
      {take(M::still, 50), take(M::pan, 55), take(M::zoom_in, 50), take(M::shake, 60),
       take(M::pan_zoom, 50), take(M::still, 55), take(M::pan, 50), take(M::zoom_out, 55)},
      {dissolve(8), dissolve(12), dissolve(16), dissolve(20), dissolve(30), dissolve(45),
       dissolve(10)}));
  cases.push_back(make_case(
      "flashes", 53, 25,
      {take(M::still, 70), take(M::pan, 80), take(M::shake, 70), take(M::zoom_in, 75),
       take(M::still, 70), take(M::pan_zoom, 80)},
      std::vector<Edit>(5, cut()),
      {flash(0, 20, 1, 1.0), flash(0, 45, 2, 1.0), flash(1, 15, 3, 1.0), flash(1, 50, 1, 0.7),
       flash(2, 30, 2, 0.8), flash(3, 20, 1, 1.0), flash(3, 50, 3, 0.7), flash(4, 10, 2, 1.0),
       flash(4, 40, 1, 0.6), flash(5, 25, 3, 1.0), flash(5, 60, 1, 1.0)}));
  cases.push_back(
      make_case("mixed_vfr", 67, 30,
                {take(M::pan, 45), take(M::still, 40), take(M::zoom_in, 35), take(M::shake, 40),
                 take(M::pan, 40), take(M::zoom_out, 45), take(M::still, 40), take(M::pan_zoom, 45),
                 take(M::fast_pan, 35), take(M::shake, 40)},
                {cut(), dissolve(15), cut(), fade(8, 2, 8), cut(), dissolve(24), cut(),
                 fade(10, 2, 10, true), cut()},
                {flash(1, 20, 2, 1.0), flash(6, 15, 1, 1.0), flash(9, 20, 3, 0.8)}));
  cases.back().vfr = true;
  cases.push_back(make_case(
      "same_palette_objects", 79, 25,
      {take(M::objects, 50), take(M::still, 45), take(M::objects, 55), take(M::pan, 50),
       take(M::fast_pan, 45), take(M::objects, 50), take(M::zoom_in, 45), take(M::shake, 50)},
      {cut(), cut(), dissolve(12), cut(), cut(), dissolve(20), cut()},
      {flash(4, 20, 2, 1.0), flash(3, 30, 1, 0.8), flash(0, 25, 1, 1.0)}));
  cases.back().palette_hue = 40;
  cases.push_back(
      make_case("night", 83, 25,
                {take(M::still, 50), take(M::shake, 45), take(M::pan, 55), take(M::objects, 50),
                 take(M::zoom_out, 45), take(M::still, 50), take(M::pan, 50)},
                {cut(), cut(), fade(12, 3, 12), cut(), dissolve(16), cut()},
                {flash(2, 30, 1, 1.0), flash(5, 20, 2, 0.8)}));
  cases.back().dark = true;
  cases.push_back(make_case(
      "long_transitions_fast_motion", 97, 30,
      {take(M::fast_pan, 50), take(M::fast_pan, 50), take(M::pan_zoom, 50), take(M::pan, 50),
       take(M::zoom_in, 60), take(M::objects, 50), take(M::fast_pan, 50)},
      {dissolve(15), fade(30, 4, 30), dissolve(60), cut(), dissolve(24), cut()}));
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Scoring

struct Count {
  int tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp == 0 ? 1.0 : static_cast<double>(tp) / (tp + fp); }
  double recall() const { return tp + fn == 0 ? 1.0 : static_cast<double>(tp) / (tp + fn); }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
  }
  Count& operator+=(const Count& other) {
    tp += other.tp;
    fp += other.fp;
    fn += other.fn;
    return *this;
  }
};

struct Evaluation {
  Count cuts, gradual;
  int flash_boundaries = 0;  // detected boundaries inside or right after a flash
};

// Each detected boundary (the start of shots 1, 2, ...) matches at most one true boundary. An
// unmatched detection is a false positive of the kind it claims to be.
Evaluation evaluate(const Truth& truth, const std::vector<Shot>& shots) {
  Evaluation result;
  std::vector<bool> used(shots.size(), false);
  for (const TruthBoundary& boundary : truth.boundaries) {
    bool found = false;
    for (std::size_t s = 1; s < shots.size() && !found; ++s) {
      if (used[s]) continue;
      const std::int64_t first = shots[s].start_frame;
      if (first >= boundary.first && first <= boundary.last) used[s] = found = true;
    }
    Count& count = boundary.gradual ? result.gradual : result.cuts;
    ++(found ? count.tp : count.fn);
  }
  for (std::size_t s = 1; s < shots.size(); ++s) {
    if (!used[s]) ++(shots[s].transition == "cut" ? result.cuts.fp : result.gradual.fp);
    for (const auto& [first, last] : truth.flashes) {
      if (shots[s].start_frame >= first && shots[s].start_frame <= last + 1) {
        ++result.flash_boundaries;
      }
    }
  }
  return result;
}

void print(const std::string& label, const Evaluation& e) {
  std::printf(
      "  %-28s cuts P=%.3f R=%.3f F1=%.3f (tp %d fp %d fn %d)   gradual P=%.3f R=%.3f "
      "F1=%.3f (tp %d fp %d fn %d)   flash boundaries %d\n",
      label.c_str(), e.cuts.precision(), e.cuts.recall(), e.cuts.f1(), e.cuts.tp, e.cuts.fp,
      e.cuts.fn, e.gradual.precision(), e.gradual.recall(), e.gradual.f1(), e.gradual.tp,
      e.gradual.fp, e.gradual.fn, e.flash_boundaries);
}

std::string describe(const std::vector<Shot>& shots) {
  std::string text;
  for (const Shot& shot : shots) {
    char line[160];
    std::snprintf(line, sizeof line, "    #%d %s frames %lld..%lld (%.3f..%.3f s)\n", shot.index,
                  shot.transition.c_str(), static_cast<long long>(shot.start_frame),
                  static_cast<long long>(shot.end_frame), shot.start, shot.end);
    text += line;
  }
  return text;
}

AnalysisFrame analysis_frame(const Timeline& timeline, std::int64_t n, const cv::Mat& bgr) {
  AnalysisFrame frame;
  frame.index = n;
  frame.time = timeline.time(n);
  frame.duration = timeline.time(n + 1) - timeline.time(n);
  frame.bgr = bgr;
  return frame;
}

// The detector fed straight from the renderer, at the decoder's analysis size.
std::vector<Shot> detect_in_memory(const Timeline& timeline, ShotOptions options = {}) {
  ShotDetector detector(std::move(options));
  cv::Mat small;
  for (std::int64_t n = 0; n < timeline.frames(); ++n) {
    cv::resize(timeline.render(n), small, cv::Size(256, 144), 0, 0, cv::INTER_AREA);
    detector.push(analysis_frame(timeline, n, small));
  }
  return detector.finish();
}

// ---------------------------------------------------------------------------------------------
// Unit tests on frames made in memory (no ffmpeg)

CorpusCase two_shots(Edit edit, Motion first = Motion::still, Motion second = Motion::still) {
  return make_case("two_shots", 5, 25, {{first, 40}, {second, 40}}, {edit});
}

TEST(ShotDetector, NothingPushedIsNoShots) {
  ShotDetector detector;
  EXPECT_TRUE(detector.finish().empty());
}

TEST(ShotDetector, OneFrameIsOneShot) {
  ShotDetector detector;
  AnalysisFrame frame;
  frame.time = 0;
  frame.duration = 0.04;
  frame.bgr = cv::Mat(144, 256, CV_8UC3, cv::Scalar(20, 120, 200));
  detector.push(frame);
  const std::vector<Shot> shots = detector.finish();
  ASSERT_EQ(shots.size(), 1U);
  EXPECT_EQ(shots[0].start_frame, 0);
  EXPECT_EQ(shots[0].end_frame, 0);
  EXPECT_DOUBLE_EQ(shots[0].end, 0.04);
  EXPECT_EQ(shots[0].transition, "start");
}

TEST(ShotDetector, OddFramesAreTakenAsTheyCome) {
  // Grey, BGRA, 16-bit, empty and resized (even turned) frames: taken, without a crash.
  ShotDetector detector;
  const std::vector<cv::Mat> frames = {cv::Mat(144, 256, CV_8UC1, cv::Scalar(90)),
                                       cv::Mat(144, 256, CV_8UC4, cv::Scalar(90)),
                                       cv::Mat(144, 256, CV_16UC3, cv::Scalar::all(90 * 257)),
                                       cv::Mat(),
                                       cv::Mat(360, 640, CV_8UC3, cv::Scalar::all(90)),
                                       cv::Mat(455, 256, CV_8UC3, cv::Scalar(10, 200, 30))};
  std::int64_t index = 0;
  for (const cv::Mat& bgr : frames) {
    AnalysisFrame frame;
    frame.index = index;
    frame.time = static_cast<double>(index++) / 25;
    frame.duration = 1.0 / 25;
    frame.bgr = bgr;
    detector.push(frame);
  }
  const std::vector<Shot> shots = detector.finish();
  ASSERT_FALSE(shots.empty());
  EXPECT_EQ(shots.front().start_frame, 0);
  EXPECT_EQ(shots.back().end_frame, index - 1);
}

TEST(ShotDetector, HardCutIsFrameExact) {
  const Timeline timeline(two_shots(cut(), Motion::shake, Motion::pan));
  const std::vector<Shot> shots = detect_in_memory(timeline);
  ASSERT_EQ(shots.size(), 2U) << describe(shots);
  EXPECT_EQ(shots[0].start_frame, 0);
  EXPECT_EQ(shots[0].end_frame, 39);
  EXPECT_EQ(shots[1].start_frame, 40);
  EXPECT_EQ(shots[1].end_frame, 79);
  EXPECT_EQ(shots[1].transition, "cut");
  EXPECT_DOUBLE_EQ(shots[0].end, 40 / 25.0);
  EXPECT_DOUBLE_EQ(shots[1].start, 40 / 25.0);
  EXPECT_DOUBLE_EQ(shots[1].end, 80 / 25.0);
  EXPECT_DOUBLE_EQ(shots[1].transition_start, shots[1].start);
}

TEST(ShotDetector, FlashesAreNotCuts) {
  CorpusCase spec = two_shots(cut(), Motion::pan, Motion::still);
  spec.shots = {{Motion::pan, 90}};
  spec.edits.clear();
  spec.flashes = {{0, 15, 1, 1.0}, {0, 40, 2, 1.0}, {0, 65, 3, 0.8}};
  std::vector<std::int64_t> flagged;
  ShotOptions options;
  options.on_frame_score = [&](const FrameScore& score) {
    if (score.flash) flagged.push_back(score.index);
  };
  const std::vector<Shot> shots = detect_in_memory(Timeline(spec), options);
  EXPECT_EQ(shots.size(), 1U) << describe(shots);
  // The scores mark frames of each flash (give or take a frame of its ramps), nothing else.
  const auto marked = [&](std::int64_t first, std::int64_t last) {
    return std::any_of(flagged.begin(), flagged.end(),
                       [&](std::int64_t frame) { return frame >= first && frame <= last; });
  };
  EXPECT_TRUE(marked(15, 15));
  EXPECT_TRUE(marked(40, 41));
  EXPECT_TRUE(marked(65, 67));
  for (const std::int64_t frame : flagged) {
    EXPECT_TRUE((frame >= 14 && frame <= 16) || (frame >= 39 && frame <= 42) ||
                (frame >= 64 && frame <= 68))
        << "frame " << frame;
  }
}

TEST(ShotDetector, LongBlackIsAShotOfItsOwn) {
  // Fade-out 30..39, 1.6 s of black 40..79, fade-in 80..89.
  const Timeline timeline(two_shots(fade(10, 40, 10), Motion::still, Motion::pan));
  const std::vector<Shot> shots = detect_in_memory(timeline);
  ASSERT_EQ(shots.size(), 3U) << describe(shots);
  EXPECT_EQ(shots[1].transition, "fade");
  EXPECT_NEAR(static_cast<double>(shots[1].start_frame), 40, 2);
  EXPECT_EQ(shots[2].transition, "fade");
  EXPECT_NEAR(static_cast<double>(shots[2].start_frame), 80, 1);
}

TEST(ShotDetector, FadeThroughBlackIsOneBoundaryInsideTheFade) {
  const Timeline timeline(two_shots(fade(10, 3, 10), Motion::still, Motion::pan));
  const std::vector<Shot> shots = detect_in_memory(timeline);
  ASSERT_EQ(shots.size(), 2U) << describe(shots);
  EXPECT_EQ(shots[1].transition, "fade");
  // Fade-out 30..39, black 40..42, fade-in 43..52: the new shot starts with its fade-in.
  EXPECT_EQ(shots[1].start_frame, 43);
  EXPECT_NEAR(shots[1].transition_start, 30 / 25.0, 2.5 / 25);
  EXPECT_NEAR(shots[1].transition_end, 53 / 25.0, 2.5 / 25);
}

TEST(ShotDetector, DissolveIsOneBoundaryInsideTheDissolve) {
  const Timeline timeline(two_shots(dissolve(20), Motion::pan, Motion::zoom_in));
  const std::vector<Shot> shots = detect_in_memory(timeline);
  ASSERT_EQ(shots.size(), 2U) << describe(shots);
  EXPECT_EQ(shots[1].transition, "dissolve");
  EXPECT_GE(shots[1].start_frame, 40);  // the dissolve's frames are 40..59
  EXPECT_LE(shots[1].start_frame, 59);
  EXPECT_LE(shots[1].transition_start, shots[1].start);
  EXPECT_GT(shots[1].transition_end, shots[1].start);
}

TEST(ShotDetector, CameraMotionIsNotACut) {
  for (const Motion motion : {Motion::fast_pan, Motion::zoom_in, Motion::pan_zoom}) {
    const CorpusCase spec = make_case("motion", 9, 25, {{motion, 80}}, {});
    const std::vector<Shot> shots = detect_in_memory(Timeline(spec));
    EXPECT_EQ(shots.size(), 1U) << describe(shots);
  }
}

TEST(ShotDetector, TimesComeFromTheFrames) {
  CorpusCase spec = two_shots(cut());
  spec.vfr = true;
  spec.shots = {{Motion::still, 110}, {Motion::shake, 30}};
  const Timeline timeline(spec);
  const std::vector<Shot> shots = detect_in_memory(timeline);
  ASSERT_EQ(shots.size(), 2U) << describe(shots);
  EXPECT_EQ(shots[1].start_frame, 110);
  EXPECT_DOUBLE_EQ(shots[1].start, vfr_time(110));
  EXPECT_DOUBLE_EQ(shots[0].end, vfr_time(110));
  EXPECT_DOUBLE_EQ(shots[1].end, vfr_time(140));
}

TEST(ShotDetector, ShotsShorterThanTheMinimumMerge) {
  CorpusCase spec = two_shots(cut());
  spec.shots = {{Motion::still, 40}, {Motion::still, 4}, {Motion::still, 40}};
  spec.edits = {cut(), cut()};
  const std::vector<Shot> shots = detect_in_memory(Timeline(spec));
  ASSERT_EQ(shots.size(), 2U) << describe(shots);
  ShotOptions keep_short;
  keep_short.min_shot_seconds = 0;
  EXPECT_EQ(detect_in_memory(Timeline(spec), keep_short).size(), 3U);
}

TEST(ShotDetector, FrameScoresArriveOncePerFrameInOrder) {
  const Timeline timeline(two_shots(cut()));
  std::vector<FrameScore> scores;
  ShotOptions options;
  options.on_frame_score = [&](const FrameScore& score) { scores.push_back(score); };
  detect_in_memory(timeline, options);
  ASSERT_EQ(static_cast<std::int64_t>(scores.size()), timeline.frames());
  for (std::size_t i = 0; i < scores.size(); ++i) EXPECT_EQ(scores[i].index, static_cast<int>(i));
  const auto peak =
      std::max_element(scores.begin(), scores.end(),
                       [](const auto& a, const auto& b) { return a.content < b.content; });
  EXPECT_EQ(peak->index, 40);
  EXPECT_GT(peak->adaptive_ratio, 3.0);
}

// Runs every case of the corpus through `detect` (case, timeline -> shots), prints each case's
// precision and recall, and checks the targets on the totals.
template <typename Detect>
void check_corpus(const char* title, Detect detect) {
  Evaluation total;
  std::printf("shot detection, %s:\n", title);
  for (const CorpusCase& spec : corpus()) {
    const Timeline timeline(spec);
    const std::vector<Shot> shots = detect(spec, timeline);
    if (::testing::Test::HasFatalFailure()) return;
    const Evaluation e = evaluate(timeline.truth(), shots);
    print(spec.name + (spec.vfr ? " (vfr)" : ""), e);
    if (e.cuts.fp + e.cuts.fn + e.gradual.fp + e.gradual.fn + e.flash_boundaries > 0) {
      std::printf("%s", describe(shots).c_str());
    }
    total.cuts += e.cuts;
    total.gradual += e.gradual;
    total.flash_boundaries += e.flash_boundaries;
  }
  print("overall", total);
  EXPECT_GE(total.cuts.f1(), 0.98);
  EXPECT_GE(total.gradual.f1(), 0.9);
  EXPECT_EQ(total.flash_boundaries, 0);
}

TEST(ShotDetector, InMemoryCorpusMeetsTheTargets) {
  check_corpus("frames from memory", [](const CorpusCase&, const Timeline& timeline) {
    return detect_in_memory(timeline);
  });
}

// The detector's own cost per 256 × 144 frame (the decoder's analysis size): far below decoding.
TEST(ShotDetector, CostsLittlePerFrame) {
  const Timeline timeline(corpus()[3]);  // dissolves and camera motion
  std::vector<cv::Mat> frames;
  for (std::int64_t n = 0; n < std::min<std::int64_t>(timeline.frames(), 240); ++n) {
    cv::Mat small;
    cv::resize(timeline.render(n), small, cv::Size(256, 144), 0, 0, cv::INTER_AREA);
    frames.push_back(small);
  }
  double best = 1e9;
  for (int round = 0; round < 3; ++round) {
    ShotDetector detector;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t n = 0; n < frames.size(); ++n) {
      detector.push(analysis_frame(timeline, static_cast<std::int64_t>(n), frames[n]));
    }
    detector.finish();
    const std::chrono::duration<double, std::milli> spent =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, spent.count() / static_cast<double>(frames.size()));
  }
  std::printf("shot detection cost: %.3f ms per 256x144 frame (best of 3 runs)\n", best);
  EXPECT_LT(best, 2.0);  // generous: the machine is shared; the target is < 0.3 ms
}

// ---------------------------------------------------------------------------------------------
// The corpus encoded to H.264 and decoded through decode()

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "reelflow-shots.XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

bool have_ffmpeg() { return std::system("ffmpeg -hide_banner -version >/dev/null 2>&1") == 0; }

// Pipes the timeline's frames as raw BGR into ffmpeg: H.264, yuv420p, MP4.
bool encode(const Timeline& timeline, const CorpusCase& spec, const fs::path& path) {
  std::string command =
      "ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo "
      "-pix_fmt bgr24 -s " +
      std::to_string(kWidth) + "x" + std::to_string(kHeight) + " -r " + std::to_string(spec.fps) +
      " -i - ";
  if (spec.vfr) {
    command += std::string("-vf \"settb=1/90000,setpts='(") + kVfrExpression +
               ")/TB'\" -fps_mode vfr -enc_time_base 1/90000 -video_track_timescale 90000 ";
  }
  command +=
      "-c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -threads 1 '" + path.string() + "'";
  std::signal(SIGPIPE, SIG_IGN);  // should ffmpeg quit early: a failed write, not a dead test
  FILE* pipe = ::popen(command.c_str(), "w");
  if (pipe == nullptr) return false;
  bool written = true;
  for (std::int64_t n = 0; n < timeline.frames() && written; ++n) {
    const cv::Mat frame = timeline.render(n);
    written = std::fwrite(frame.data, 1, frame.total() * 3, pipe) == frame.total() * 3;
  }
  return ::pclose(pipe) == 0 && written;
}

TEST(ShotDetector, EncodedCorpusMeetsTheTargets) {
  if (!have_ffmpeg()) GTEST_SKIP() << "the ffmpeg CLI is not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const auto encode_and_decode = [&](const CorpusCase& spec, const Timeline& timeline) {
    std::vector<Shot> shots;
    const fs::path path = dir.path() / (spec.name + ".mp4");
    EXPECT_TRUE(encode(timeline, spec, path)) << "ffmpeg failed on " << spec.name;
    ShotDetector detector;
    DecodeOptions options;
    options.decode_audio = false;
    const auto summary =
        decode(path.string(), options, [&](const AnalysisFrame& frame) { detector.push(frame); });
    EXPECT_TRUE(summary) << summary.error();
    if (!summary) return shots;
    EXPECT_EQ(summary->frames, timeline.frames()) << spec.name;
    shots = detector.finish();
    // Seconds are the frames' presentation times, on the variable-rate file too. (The last
    // frame's duration is the stream's average, so the last shot's end is not checked.)
    for (const Shot& shot : shots) {
      EXPECT_NEAR(shot.start, timeline.time(shot.start_frame), 1e-3) << spec.name;
      if (shot.index + 1 < static_cast<int>(shots.size())) {
        EXPECT_NEAR(shot.end, timeline.time(shot.end_frame + 1), 1e-3) << spec.name;
      }
    }
    if (!shots.empty()) {
      EXPECT_EQ(shots.back().end_frame, timeline.frames() - 1) << spec.name;
    }
    return shots;
  };
  check_corpus("H.264 files decoded through decode()", encode_and_decode);
}

}  // namespace
}  // namespace reelflow::video
