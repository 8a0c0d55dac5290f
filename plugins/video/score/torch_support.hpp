// Small helpers shared by the score plugin's LibTorch translation units (model.cpp,
// embedding.cpp). Private: include it only from those files, never from a header others include,
// so LibTorch's headers stay out of every other translation unit.
#ifndef REELFLOW_VIDEO_SCORE_TORCH_SUPPORT_HPP
#define REELFLOW_VIDEO_SCORE_TORCH_SUPPORT_HPP

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <exception>
#include <mutex>
#include <string>
#include <string_view>

namespace reelflow::video::score::detail {

// LibTorch runs with one intra-op thread in this process: results do not depend on the thread
// count (reductions are summed in one order) and a worker runs one step at a time anyway.
inline void use_one_torch_thread() {
  static std::once_flag once;
  std::call_once(once, [] { at::set_num_threads(1); });
}

// One readable line from a LibTorch exception: c10::Error without its C++ backtrace, and for a
// TorchScript interpreter failure (a multi-line traceback) its last "...Error: ..." line.
inline std::string torch_message(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  const std::string text =
      c10_error != nullptr ? c10_error->what_without_backtrace() : error.what();
  std::string first;
  std::string last_error_line;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty()) {
      if (first.empty()) first = line;
      const std::size_t colon = line.find(": ");
      if (colon != std::string_view::npos && colon >= 5 && line.substr(colon - 5, 5) == "Error" &&
          line.find(' ') >= colon) {
        last_error_line = line;
      }
    }
    start = end + 1;
  }
  if (!last_error_line.empty()) return last_error_line;
  return first.empty() ? std::string("unknown LibTorch error") : first;
}

}  // namespace reelflow::video::score::detail

#endif  // REELFLOW_VIDEO_SCORE_TORCH_SUPPORT_HPP
