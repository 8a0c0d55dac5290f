// Image embeddings for video.score: any TorchScript image model (for example a ResNet18 the user
// exported with torch.jit.trace or torch.jit.script) applied to a clip's cover JPEG, its output
// pooled to kEmbeddingDim numbers that the engagement model takes as extra inputs.
//
// The image: decoded (OpenCV), shorter side resized to `input_size`, centre-cropped to a square,
// RGB, scaled to 0..1 and normalised with the ImageNet mean and standard deviation, as a
// [1, 3, input_size, input_size] float tensor. The model's output: the first tensor (a tuple or
// list yields its first element), spatial dimensions averaged away when it has more than two,
// flattened, averaged over kEmbeddingDim contiguous chunks (adaptive average pooling), then
// standardised across those numbers (mean 0, standard deviation 1) so the scale of the model's
// output does not matter.
//
// No LibTorch in this header; embedding.cpp is the only translation unit that includes it.
// Thread-safety: one thread at a time per EmbeddingModel.
#ifndef REELFLOW_VIDEO_SCORE_EMBEDDING_HPP
#define REELFLOW_VIDEO_SCORE_EMBEDDING_HPP

#if defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI != 1
#error "score/embedding.hpp: compile with the libstdc++ C++11 ABI, as LibTorch is"
#endif

#include <filesystem>
#include <memory>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace reelflow::video::score {

class EmbeddingModel {
 public:
  // Loads the TorchScript file and checks it once on a grey image of input_size x input_size, so
  // that a corrupt file or a model that does not take a [1, 3, S, S] image fails here. The error
  // names the file and the problem.
  static tl::expected<EmbeddingModel, std::string> load(const std::filesystem::path& path,
                                                        int input_size);

  EmbeddingModel(EmbeddingModel&&) noexcept;
  EmbeddingModel& operator=(EmbeddingModel&&) noexcept;
  ~EmbeddingModel();

  // kEmbeddingDim numbers for the image file; the error names the image (unreadable, not an
  // image) or the model (failed on it, non-finite output).
  tl::expected<std::vector<double>, std::string> embed(const std::filesystem::path& image) const;

  const std::filesystem::path& path() const;
  int input_size() const;

  struct Impl;  // opaque: defined in embedding.cpp only

 private:
  explicit EmbeddingModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reelflow::video::score

#endif  // REELFLOW_VIDEO_SCORE_EMBEDDING_HPP
