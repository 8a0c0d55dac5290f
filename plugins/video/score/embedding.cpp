// Image embeddings (embedding.hpp): a TorchScript model on a cover JPEG. The only translation
// unit of reelflow_video_score_embedding that includes LibTorch.
#include "score/embedding.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <system_error>
#include <utility>

#include "score/model.hpp"
#include "score/torch_support.hpp"

namespace reelflow::video::score {

namespace fs = std::filesystem;

struct EmbeddingModel::Impl {
  fs::path path;
  int input_size = 224;
  torch::jit::Module module;
};

namespace {

constexpr float kImageNetMean[3] = {0.485F, 0.456F, 0.406F};
constexpr float kImageNetStd[3] = {0.229F, 0.224F, 0.225F};

// The image as the model's input, or the problem with the file.
tl::expected<at::Tensor, std::string> image_tensor(const fs::path& image, int size) {
  const auto fail = [&](const std::string& problem) {
    return tl::unexpected<std::string>("cover image '" + image.string() + "' " + problem);
  };
  std::error_code error;
  const fs::file_status status = fs::status(image, error);
  if (status.type() == fs::file_type::not_found) return fail("does not exist");
  if (error) return fail("cannot be read: " + error.message());
  if (!fs::is_regular_file(status)) return fail("is not a regular file");
  cv::Mat bgr;
  try {
    bgr = cv::imread(image.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception& cv_error) {
    return fail("cannot be decoded: " + cv_error.msg);
  }
  if (bgr.empty() || bgr.cols < 1 || bgr.rows < 1) {
    return fail("cannot be decoded as an image");
  }

  // Shorter side to `size`, then the centre square.
  const double scale = static_cast<double>(size) / std::min(bgr.cols, bgr.rows);
  const int width = std::max(size, static_cast<int>(std::lround(bgr.cols * scale)));
  const int height = std::max(size, static_cast<int>(std::lround(bgr.rows * scale)));
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(width, height), 0, 0,
             scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Rect centre((width - size) / 2, (height - size) / 2, size, size);
  cv::Mat rgb;
  cv::cvtColor(resized(centre), rgb, cv::COLOR_BGR2RGB);
  cv::Mat floats;
  rgb.convertTo(floats, CV_32FC3, 1.0 / 255.0);

  at::Tensor tensor = at::from_blob(floats.data, {size, size, 3}, at::kFloat)
                          .permute({2, 0, 1})
                          .clone();  // owns its memory: floats dies with this scope
  const at::Tensor mean = at::tensor(at::ArrayRef<float>(kImageNetMean, 3)).view({3, 1, 1});
  const at::Tensor deviation = at::tensor(at::ArrayRef<float>(kImageNetStd, 3)).view({3, 1, 1});
  return ((tensor - mean) / deviation).unsqueeze(0).contiguous();
}

// The model's output on input, pooled and standardised to kEmbeddingDim numbers; throws on a
// model failure, returns the problem for an unusable output.
tl::expected<std::vector<double>, std::string> run_model(torch::jit::Module& module,
                                                         const at::Tensor& input) {
  const c10::InferenceMode inference;
  const c10::IValue result = module.forward({input});
  at::Tensor output;
  if (result.isTensor()) {
    output = result.toTensor();
  } else if (result.isTuple() && !result.toTupleRef().elements().empty() &&
             result.toTupleRef().elements()[0].isTensor()) {
    output = result.toTupleRef().elements()[0].toTensor();
  } else if (result.isTensorList() && !result.toTensorList().empty()) {
    output = result.toTensorList().get(0);
  } else {
    return tl::unexpected<std::string>("returns " + result.tagKind() + ", not a tensor");
  }
  if (output.numel() == 0) return tl::unexpected<std::string>("returns an empty tensor");
  output = output.detach().to(at::kDouble);
  if (output.dim() > 2) {
    std::vector<std::int64_t> spatial;
    for (std::int64_t d = 2; d < output.dim(); ++d) spatial.push_back(d);
    output = output.mean(spatial);
  }
  output = output.reshape({1, 1, -1});
  at::Tensor pooled =
      at::adaptive_avg_pool1d(output, {static_cast<std::int64_t>(kEmbeddingDim)}).reshape({-1});
  if (!at::isfinite(pooled).all().item<bool>()) {
    return tl::unexpected<std::string>("returns non-finite numbers");
  }
  const double mean = pooled.mean().item<double>();
  const double deviation = pooled.std(/*unbiased=*/false).item<double>();
  pooled = deviation > 1e-12 ? (pooled - mean) / deviation : at::zeros_like(pooled);
  pooled = pooled.contiguous();
  return std::vector<double>(pooled.data_ptr<double>(), pooled.data_ptr<double>() + pooled.numel());
}

}  // namespace

EmbeddingModel::EmbeddingModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmbeddingModel::EmbeddingModel(EmbeddingModel&&) noexcept = default;
EmbeddingModel& EmbeddingModel::operator=(EmbeddingModel&&) noexcept = default;
EmbeddingModel::~EmbeddingModel() = default;

const fs::path& EmbeddingModel::path() const { return impl_->path; }
int EmbeddingModel::input_size() const { return impl_->input_size; }

tl::expected<EmbeddingModel, std::string> EmbeddingModel::load(const fs::path& path,
                                                               int input_size) {
  const auto fail = [&](const std::string& problem) {
    return tl::unexpected<std::string>("embedding model '" + path.string() + "' " + problem);
  };
  if (input_size < 1) return fail("needs an input size of at least 1 pixel");
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) return fail("does not exist");
  if (error) return fail("cannot be read: " + error.message());
  if (!fs::is_regular_file(status)) return fail("is not a regular file");

  detail::use_one_torch_thread();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->input_size = input_size;
  try {
    impl->module = torch::jit::load(path.string());
  } catch (const std::exception& load_error) {
    return fail("is not a TorchScript model: " + detail::torch_message(load_error));
  }
  if (!impl->module.find_method("forward")) return fail("has no forward method");
  impl->module.eval();

  // One run on the mean image (zeros after normalisation) catches a wrong-shaped model now.
  const std::string shape =
      "[1, 3, " + std::to_string(input_size) + ", " + std::to_string(input_size) + "]";
  try {
    const auto probe = run_model(impl->module, at::zeros({1, 3, input_size, input_size}));
    if (!probe) return fail(probe.error() + " (on a " + shape + " image)");
  } catch (const std::exception& run_error) {
    return fail("fails on a " + shape + " image: " + detail::torch_message(run_error));
  }
  return EmbeddingModel(std::move(impl));
}

tl::expected<std::vector<double>, std::string> EmbeddingModel::embed(const fs::path& image) const {
  auto input = image_tensor(image, impl_->input_size);
  if (!input) return tl::unexpected<std::string>(input.error());
  try {
    auto result = run_model(impl_->module, *input);
    if (!result) {
      return tl::unexpected<std::string>("embedding model '" + impl_->path.string() + "' " +
                                         result.error() + " on '" + image.string() + "'");
    }
    return result;
  } catch (const std::exception& run_error) {
    return tl::unexpected<std::string>("embedding model '" + impl_->path.string() + "' fails on '" +
                                       image.string() + "': " + detail::torch_message(run_error));
  }
}

}  // namespace reelflow::video::score
