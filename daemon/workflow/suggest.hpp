// "Did you mean ...?" for misspelled keys, step types, functions and step ids. A suggestion is
// made only when the candidate is close (optimal-string-alignment distance of at most 2, at most 1
// for short names, ignoring case) or one name is a prefix of the other, so wildly different names
// get no suggestion. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelflow::workflow {

// Optimal string alignment (restricted Damerau-Levenshtein) distance, case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest acceptable candidate, or nullopt.
std::optional<std::string> suggest(std::string_view input,
                                   const std::vector<std::string>& candidates);

// "; did you mean 'x'?" or "".
std::string did_you_mean(std::string_view input, const std::vector<std::string>& candidates);

}  // namespace reelflow::workflow
