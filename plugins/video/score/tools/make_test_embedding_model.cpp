// make_test_embedding_model: writes a tiny TorchScript image model for the tests of video.score's
// embeddings, with LibTorch alone (no Python, no download):
//
//   make_test_embedding_model OUT.pt [--input-channels N]
//
// The model takes a [1, N, S, S] float image (N = 3 by default; any S >= 4) and returns [1, 32]:
// two 3x3 stride-2 convolutions with ReLU and a global average. Its weights come from a fixed
// seed, so the file and its outputs are the same on every run. `--input-channels 1` gives a
// model of the wrong shape for RGB covers, for the error tests.
#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

namespace {

int usage() {
  std::cerr << "usage: make_test_embedding_model OUT.pt [--input-channels N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) return usage();
  std::int64_t channels = 3;
  if (argc == 4) {
    if (std::string_view(argv[2]) != "--input-channels") return usage();
    channels = std::atoi(argv[3]);
    if (channels < 1 || channels > 16) return usage();
  }
  try {
    at::Generator generator = at::detail::createCPUGenerator(20240601);
    torch::jit::Module module("TestEmbeddingNet");
    module.register_parameter("conv1_weight",
                              at::randn({8, channels, 3, 3}, generator, at::kFloat) * 0.3, false);
    module.register_parameter("conv1_bias", at::randn({8}, generator, at::kFloat) * 0.1, false);
    module.register_parameter("conv2_weight", at::randn({32, 8, 3, 3}, generator, at::kFloat) * 0.2,
                              false);
    module.register_parameter("conv2_bias", at::randn({32}, generator, at::kFloat) * 0.1, false);
    module.define(R"(
def forward(self, image: Tensor) -> Tensor:
    x = torch.relu(torch.conv2d(image, self.conv1_weight, self.conv1_bias, [2, 2], [1, 1]))
    x = torch.relu(torch.conv2d(x, self.conv2_weight, self.conv2_bias, [2, 2], [1, 1]))
    return torch.mean(x, [2, 3])
)");
    module.eval();
    module.save(argv[1]);
  } catch (const std::exception& error) {
    std::cerr << "make_test_embedding_model: cannot write '" << argv[1] << "': " << error.what()
              << "\n";
    return 1;
  }
  return 0;
}
