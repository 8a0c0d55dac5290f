#include "features/sample_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/quality/qualitybrisque.hpp>
#include <system_error>
#include <utility>
#include <vector>

namespace reelflow::video {

namespace {

// detectMultiScale: a 1.2 step between scales and 3 neighbours; 1.1 finds a few more faces
// (between two scales) for about twice the time.
constexpr double kFaceScaleStep = 1.2;
constexpr int kFaceMinNeighbours = 3;

Result<void> check_readable(const std::string& path, const char* what) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return video::error(std::string(what) + " '" + path +
                        "' is missing (Debian package opencv-data installs it)");
  }
  return {};
}

}  // namespace

struct SampleAnalyzer::Models {
  cv::CascadeClassifier faces;
  cv::Ptr<cv::quality::QualityBRISQUE> brisque;
  std::vector<cv::Rect> found;
  cv::Mat equalized;
  cv::Mat resized;
};

SampleAnalyzer::SampleAnalyzer(std::unique_ptr<Models> models, SampleOptions options)
    : models_(std::move(models)), options_(std::move(options)) {}
SampleAnalyzer::SampleAnalyzer(SampleAnalyzer&&) noexcept = default;
SampleAnalyzer& SampleAnalyzer::operator=(SampleAnalyzer&&) noexcept = default;
SampleAnalyzer::~SampleAnalyzer() = default;

Result<SampleAnalyzer> SampleAnalyzer::create(const SampleOptions& options) {
  auto models = std::make_unique<Models>();
  if (!options.face_cascade.empty()) {
    if (auto readable = check_readable(options.face_cascade, "face cascade"); !readable) {
      return tl::unexpected(readable.error());
    }
    try {
      if (!models->faces.load(options.face_cascade)) {
        return error("face cascade '" + options.face_cascade +
                     "' could not be loaded: not an OpenCV cascade file");
      }
    } catch (const cv::Exception& exception) {
      return error("face cascade '" + options.face_cascade +
                   "' could not be loaded: " + exception.msg);
    }
  }
  if (!options.brisque_model.empty() && !options.brisque_range.empty()) {
    for (const auto& [path, what] : {std::pair{&options.brisque_model, "BRISQUE model"},
                                     std::pair{&options.brisque_range, "BRISQUE range file"}}) {
      if (auto readable = check_readable(*path, what); !readable) {
        return tl::unexpected(readable.error());
      }
    }
    try {
      models->brisque =
          cv::quality::QualityBRISQUE::create(options.brisque_model, options.brisque_range);
    } catch (const cv::Exception& exception) {
      return error("BRISQUE model '" + options.brisque_model +
                   "' could not be loaded: " + exception.msg);
    }
  }
  return SampleAnalyzer(std::move(models), options);
}

bool SampleAnalyzer::detects_faces() const { return !models_->faces.empty(); }
bool SampleAnalyzer::measures_brisque() const { return !models_->brisque.empty(); }

FaceEstimate SampleAnalyzer::faces(const cv::Mat& grey) {
  CV_Assert(grey.type() == CV_8UC1);
  FaceEstimate estimate;
  if (!detects_faces() || grey.empty()) return estimate;
  cv::equalizeHist(grey, models_->equalized);
  models_->faces.detectMultiScale(models_->equalized, models_->found, kFaceScaleStep,
                                  kFaceMinNeighbours, 0);
  estimate.count = static_cast<int>(models_->found.size());
  for (const cv::Rect& face : models_->found) {
    estimate.largest_area = std::max(estimate.largest_area, static_cast<double>(face.area()) /
                                                                static_cast<double>(grey.total()));
  }
  return estimate;
}

double SampleAnalyzer::brisque(const cv::Mat& bgr) {
  if (!measures_brisque() || bgr.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double scale =
      std::sqrt(static_cast<double>(options_.brisque_pixels) / static_cast<double>(bgr.total()));
  const cv::Size size(std::max(32, static_cast<int>(std::lround(bgr.cols * scale))),
                      std::max(32, static_cast<int>(std::lround(bgr.rows * scale))));
  const cv::Mat* input = &bgr;
  if (size != bgr.size()) {
    cv::resize(bgr, models_->resized, size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    input = &models_->resized;
  }
  const double score = models_->brisque->compute(*input)[0];
  if (!std::isfinite(score)) return 100;
  return std::clamp(score, 0.0, 100.0);
}

}  // namespace reelflow::video
