// Generated images and frames for the features tests (test-only).
#ifndef REELFLOW_VIDEO_FEATURES_TEST_IMAGES_HPP
#define REELFLOW_VIDEO_FEATURES_TEST_IMAGES_HPP

#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "media/frame.hpp"

namespace reelflow::video::testing {

inline constexpr int kWidth = 256;
inline constexpr int kHeight = 144;

// A busy, colourful, sharp "natural-looking" picture: a gradient, random shapes, mild noise.
inline cv::Mat scene(std::uint64_t seed, cv::Size size = {kWidth, kHeight}) {
  cv::RNG rng(seed);
  cv::Mat image(size, CV_8UC3);
  const cv::Vec3b top(static_cast<uchar>(rng.uniform(40, 200)),
                      static_cast<uchar>(rng.uniform(40, 200)),
                      static_cast<uchar>(rng.uniform(40, 200)));
  for (int y = 0; y < size.height; ++y) {
    const double mix = static_cast<double>(y) / size.height;
    image.row(y).setTo(cv::Scalar(top[0] * (1 - mix) + 30 * mix, top[1] * (1 - mix) + 90 * mix,
                                  top[2] * (1 - mix) + 60 * mix));
  }
  const int scale = std::max(1, size.width / kWidth);
  for (int i = 0; i < 60; ++i) {
    const cv::Scalar colour(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    const cv::Point centre(rng.uniform(0, size.width), rng.uniform(0, size.height));
    switch (rng.uniform(0, 3)) {
      case 0:
        cv::circle(image, centre, rng.uniform(3, 25) * scale, colour, cv::FILLED, cv::LINE_AA);
        break;
      case 1:
        cv::rectangle(
            image,
            cv::Rect(centre.x, centre.y, rng.uniform(4, 40) * scale, rng.uniform(4, 30) * scale),
            colour, cv::FILLED);
        break;
      default:
        cv::line(image, centre,
                 centre + cv::Point(rng.uniform(-40, 40) * scale, rng.uniform(-40, 40) * scale),
                 colour, rng.uniform(1, 3) * scale, cv::LINE_AA);
    }
  }
  cv::Mat noise(size, CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 4);
  cv::Mat noisy;
  image.convertTo(noisy, CV_16SC3);
  noisy += noise;
  noisy.convertTo(image, CV_8UC3);
  cv::GaussianBlur(image, image, {0, 0}, 0.6 * scale);
  return image;
}

// A cartoon frontal face (skin, hair, brows, eyes, nose, mouth) of height ~1.1·size centred at
// `centre`; OpenCV's LBP and Haar frontal-face cascades detect it.
inline void draw_face(cv::Mat& image, cv::Point centre, int size) {
  const auto s = [size](double fraction) { return static_cast<int>(size * fraction); };
  cv::ellipse(image, centre, {s(0.42), s(0.55)}, 0, 0, 360, {140, 170, 220}, cv::FILLED,
              cv::LINE_AA);
  cv::ellipse(image, centre + cv::Point(0, -s(0.5)), {s(0.45), s(0.2)}, 0, 180, 360, {30, 40, 60},
              cv::FILLED, cv::LINE_AA);
  for (const int side : {-1, 1}) {
    const cv::Point eye = centre + cv::Point(side * s(0.17), -s(0.1));
    cv::ellipse(image, eye + cv::Point(0, -s(0.09)), {s(0.11), s(0.025)}, 0, 0, 360, {40, 50, 70},
                cv::FILLED, cv::LINE_AA);
    cv::ellipse(image, eye, {s(0.09), s(0.045)}, 0, 0, 360, {250, 250, 250}, cv::FILLED,
                cv::LINE_AA);
    cv::circle(image, eye, s(0.04), {40, 30, 20}, cv::FILLED, cv::LINE_AA);
  }
  cv::ellipse(image, centre + cv::Point(0, s(0.08)), {s(0.05), s(0.1)}, 0, 0, 360, {115, 140, 190},
              cv::FILLED, cv::LINE_AA);
  cv::ellipse(image, centre + cv::Point(0, s(0.28)), {s(0.16), s(0.05)}, 0, 0, 360, {70, 70, 160},
              cv::FILLED, cv::LINE_AA);
}

inline cv::Mat face_scene(int size = 80) {
  cv::Mat image(kHeight, kWidth, CV_8UC3, cv::Scalar(90, 110, 100));
  draw_face(image, {kWidth / 2, kHeight / 2}, size);
  cv::GaussianBlur(image, image, {0, 0}, 1.0);
  return image;
}

inline cv::Mat blurred(const cv::Mat& image, double sigma) {
  cv::Mat result;
  cv::GaussianBlur(image, result, {0, 0}, sigma);
  return result;
}

inline AnalysisFrame frame_of(const cv::Mat& bgr, std::int64_t index, double fps = 30) {
  AnalysisFrame frame;
  frame.index = index;
  frame.time = static_cast<double>(index) / fps;
  frame.duration = 1 / fps;
  frame.keyframe = index == 0;
  frame.bgr = bgr;
  return frame;
}

}  // namespace reelflow::video::testing

#endif  // REELFLOW_VIDEO_FEATURES_TEST_IMAGES_HPP
