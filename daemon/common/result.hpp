// Errors as values. Every fallible function in the daemon returns Result<T>: either the value or an
// Error whose message says what failed and on which input ("plugins/x.so: missing symbol ...").
// Exceptions are caught at library boundaries (yaml-cpp, SQLiteCpp, nlohmann::json) and turned
// into an Error there. Thread-safety: plain values, no shared state.
#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace reelflow {

struct Error {
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace reelflow
