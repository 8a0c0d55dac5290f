#include "cli/args.hpp"

namespace reelflow::cli {

bool Args::flag(std::string_view name) {
  bool found = false;
  for (auto it = words_.begin(); it != words_.end();) {
    if (*it == "--") break;
    if (*it == name) {
      found = true;
      it = words_.erase(it);
    } else {
      ++it;
    }
  }
  return found;
}

std::vector<std::string> Args::options(std::string_view name) {
  std::vector<std::string> values;
  std::string with_equals = std::string(name) + "=";
  for (auto it = words_.begin(); it != words_.end();) {
    if (*it == "--") break;
    if (*it == name) {
      if (std::next(it) == words_.end() || *std::next(it) == "--") {
        errors_.push_back(std::string(name) + " needs a value");
        it = words_.erase(it);
        continue;
      }
      values.push_back(*std::next(it));
      it = words_.erase(it, std::next(it, 2));
    } else if (it->starts_with(with_equals)) {
      values.push_back(it->substr(with_equals.size()));
      it = words_.erase(it);
    } else {
      ++it;
    }
  }
  return values;
}

std::optional<std::string> Args::option(std::string_view name) {
  auto values = options(name);
  if (values.empty()) return std::nullopt;
  return values.back();
}

std::vector<std::string> Args::positional() {
  std::vector<std::string> rest;
  bool options_ended = false;
  for (const auto& word : words_) {
    if (!options_ended && word == "--") {
      options_ended = true;
    } else if (!options_ended && word.size() > 1 && word[0] == '-') {
      errors_.push_back("unknown option " + word);
    } else {
      rest.push_back(word);
    }
  }
  return rest;
}

}  // namespace reelflow::cli
