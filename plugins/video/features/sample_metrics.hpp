// The costly measurements, run on sampled frames only: faces (an OpenCV cascade from Debian's
// opencv-data) and BRISQUE no-reference quality (OpenCV's quality module with the LIVE model
// from opencv-data).
//
// CPU time on a 256×144 frame, one core: faces about 1.9 ms, BRISQUE about 2.8 ms. At the
// accumulator's default of one such sample per second of video that is about 0.16 ms per frame
// of 30 fps video on average.
//
// Thread-safety: a SampleAnalyzer holds OpenCV models that are not safe for concurrent use: one
// thread at a time (use one analyzer per thread).
#ifndef REELFLOW_VIDEO_FEATURES_SAMPLE_METRICS_HPP
#define REELFLOW_VIDEO_FEATURES_SAMPLE_METRICS_HPP

#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "media/frame.hpp"

namespace reelflow::video {

inline constexpr const char* kDefaultFaceCascade =
    "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
inline constexpr const char* kDefaultBrisqueModel =
    "/usr/share/opencv4/quality/brisque_model_live.yml";
inline constexpr const char* kDefaultBrisqueRange =
    "/usr/share/opencv4/quality/brisque_range_live.yml";

struct SampleOptions {
  // An OpenCV cascade of frontal faces; "" turns face detection off. The LBP frontal-face
  // cascade is the default: about 5× faster than the Haar ones at similar recall here.
  std::string face_cascade = kDefaultFaceCascade;
  // BRISQUE model and range files; either "" turns BRISQUE off.
  std::string brisque_model = kDefaultBrisqueModel;
  std::string brisque_range = kDefaultBrisqueRange;
  // BRISQUE runs on the frame resized to this many pixels (aspect kept), so that scores compare
  // across analysis widths and orientations: 256×144 for 16:9.
  int brisque_pixels = 256 * 144;
};

struct FaceEstimate {
  int count = 0;
  double largest_area = 0;  // the largest face's box / frame area, 0..1
};

class SampleAnalyzer {
 public:
  // Fails, naming the file, when a configured model cannot be loaded.
  static Result<SampleAnalyzer> create(const SampleOptions& options);

  SampleAnalyzer(SampleAnalyzer&&) noexcept;
  SampleAnalyzer& operator=(SampleAnalyzer&&) noexcept;
  ~SampleAnalyzer();

  bool detects_faces() const;
  bool measures_brisque() const;

  // Frontal faces at least 24 px high on the analysis frame (the cascade's window): a sixth of
  // the height of a 256×144 frame, so faces in wide shots are missed; profiles and strongly
  // tilted faces are missed too. `grey`: 8-bit luma of the analysis frame. {0, 0} when face
  // detection is off.
  FaceEstimate faces(const cv::Mat& grey);

  // BRISQUE score, clamped to 0..100: about 20 for a clean natural image, higher for blur,
  // noise and compression artefacts. NaN when BRISQUE is off. `bgr`: 8-bit BGR.
  double brisque(const cv::Mat& bgr);

 private:
  struct Models;
  explicit SampleAnalyzer(std::unique_ptr<Models> models, SampleOptions options);
  std::unique_ptr<Models> models_;
  SampleOptions options_;
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_SAMPLE_METRICS_HPP
