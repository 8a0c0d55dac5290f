// Helpers for the store tests: a temporary directory removed at the end of the test.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace reelflow::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "reelflow-store-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Unwraps a Result in a test, failing with its error message.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                  \
  auto lhs##_result = (expr);                                            \
  ASSERT_TRUE(lhs##_result.has_value()) << lhs##_result.error().message; \
  auto lhs = std::move(*lhs##_result)

#define ASSERT_OK(expr)                                                \
  do {                                                                 \
    auto ok_result_ = (expr);                                          \
    ASSERT_TRUE(ok_result_.has_value()) << ok_result_.error().message; \
  } while (0)

}  // namespace reelflow::store::testing
