// A small command-line parser for `reelflow`: flags and options may appear anywhere after the
// command; `--name=value` and `--name value` are both accepted; `--` ends options.
// Thread-safety: one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reelflow::cli {

class Args {
 public:
  explicit Args(std::vector<std::string> words) : words_(std::move(words)) {}

  // Removes every occurrence of a boolean flag; true if it was present.
  bool flag(std::string_view name);
  // Removes every occurrence of an option with a value; the values in order. A missing value is
  // recorded as an error.
  std::vector<std::string> options(std::string_view name);
  std::optional<std::string> option(std::string_view name);  // the last one given

  // What is left: positional words. Unknown `--options` left over are errors.
  std::vector<std::string> positional();
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> words_;
  std::vector<std::string> errors_;
};

}  // namespace reelflow::cli
