#include "workflow/suggest.hpp"

#include <gtest/gtest.h>

namespace reelflow::workflow {
namespace {

const std::vector<std::string> kStepKeys = {"id",    "uses",     "with",
                                            "if",    "for_each", "max_parallel",
                                            "retry", "timeout",  "continue_on_error"};

TEST(Suggest, Distance) {
  EXPECT_EQ(edit_distance("with", "wiht"), 1u);  // a transposition
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(Suggest, CloseNamesOnly) {
  EXPECT_EQ(suggest("wiht", kStepKeys), "with");
  EXPECT_EQ(suggest("timout", kStepKeys), "timeout");
  EXPECT_EQ(suggest("Uses", kStepKeys), "uses");
  EXPECT_EQ(suggest("continue", kStepKeys), "continue_on_error");  // a prefix
  EXPECT_EQ(suggest("foreach", kStepKeys), "for_each");
  EXPECT_EQ(suggest("stamp", {"hello.stamp", "wft.noop"}), "hello.stamp");
  EXPECT_EQ(suggest("helo.stamp", {"hello.stamp", "wft.noop"}), "hello.stamp");
  EXPECT_FALSE(suggest("banana", kStepKeys));
  EXPECT_FALSE(suggest("xyz", kStepKeys));
  EXPECT_FALSE(suggest("on", kStepKeys));
  EXPECT_FALSE(suggest("", kStepKeys));
  EXPECT_EQ(did_you_mean("wiht", kStepKeys), "; did you mean 'with'?");
  EXPECT_EQ(did_you_mean("zzzzzz", kStepKeys), "");
}

}  // namespace
}  // namespace reelflow::workflow
