#include "workflow/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace reelflow::workflow {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Names longer than this are not compared (their distance is not worth the quadratic cost).
constexpr std::size_t kMaxCompared = 256;

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t rows = a.size() + 1;
  const std::size_t cols = b.size() + 1;
  std::vector<std::size_t> d(rows * cols);
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * cols + j]; };
  for (std::size_t i = 0; i < rows; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j < cols; ++j) at(0, j) = j;
  for (std::size_t i = 1; i < rows; ++i) {
    for (std::size_t j = 1; j < cols; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(rows - 1, cols - 1);
}

std::optional<std::string> suggest(std::string_view input,
                                   const std::vector<std::string>& candidates) {
  if (input.empty() || input.size() > kMaxCompared) return std::nullopt;
  const std::string needle = lower(input);
  std::optional<std::string> best;
  std::size_t best_score = std::numeric_limits<std::size_t>::max();
  for (const auto& candidate : candidates) {
    if (candidate.size() > kMaxCompared || candidate == input) continue;
    const std::string name = lower(candidate);
    std::size_t limit = std::min(name.size(), needle.size()) <= 3 ? 1 : 2;
    std::size_t distance = edit_distance(needle, name);
    std::size_t score = std::numeric_limits<std::size_t>::max();
    if (distance <= limit && distance < needle.size()) {
      score = distance;
    } else if (needle.size() >= 3 && (name.starts_with(needle) || needle.starts_with(name))) {
      score = 3;  // a prefix: weaker than any close spelling
    } else if (name.size() > needle.size() + 1 && name.ends_with("." + needle)) {
      score = 3;  // "stamp" for "hello.stamp"
    }
    if (score < best_score) {
      best_score = score;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view input, const std::vector<std::string>& candidates) {
  auto best = suggest(input, candidates);
  return best ? "; did you mean '" + *best + "'?" : "";
}

}  // namespace reelflow::workflow
