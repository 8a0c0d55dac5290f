// Clip choice on hand-made shot lists: boundaries, lengths, ranking, no overlap, long takes.
#include "clips/clip_selection.hpp"

#include <gtest/gtest.h>

namespace reelflow::video {
namespace {

std::vector<ScoredShot> shots_of(std::initializer_list<std::pair<double, double>> lengths_scores) {
  std::vector<ScoredShot> shots;
  double at = 0;
  for (const auto& [length, score] : lengths_scores) {
    shots.push_back({at, at + length, score});
    at += length;
  }
  return shots;
}

TEST(ClipSelection, PicksTheBestShotsAlignedToBoundariesWithoutOverlap) {
  // 12 shots of 5 s; shots 6..9 are the good part.
  auto shots = shots_of({{5, .2},
                         {5, .2},
                         {5, .3},
                         {5, .2},
                         {5, .3},
                         {5, .2},
                         {5, .9},
                         {5, .9},
                         {5, .8},
                         {5, .9},
                         {5, .1},
                         {5, .4}});
  auto clips = select_clips(shots, {.target = 20, .min = 10, .max = 30, .count = 2});
  ASSERT_EQ(clips.size(), 2U);
  EXPECT_DOUBLE_EQ(clips[0].start, 30);
  EXPECT_DOUBLE_EQ(clips[0].end, 50);
  EXPECT_EQ(clips[0].first_shot, 6U);
  EXPECT_EQ(clips[0].last_shot, 9U);
  EXPECT_GT(clips[0].score, clips[1].score);
  EXPECT_TRUE(clips[1].end <= clips[0].start || clips[1].start >= clips[0].end);
  for (const auto& clip : clips) {
    EXPECT_GE(clip.end - clip.start, 10);
    EXPECT_LE(clip.end - clip.start, 30);
    bool start_on_boundary = false, end_on_boundary = false;
    for (const auto& shot : shots) {
      start_on_boundary |= shot.start == clip.start;
      end_on_boundary |= shot.end == clip.end;
    }
    EXPECT_TRUE(start_on_boundary && end_on_boundary);
  }
}

TEST(ClipSelection, PrefersTheTargetLengthAmongEqualShots) {
  auto shots = shots_of({{4, .5}, {4, .5}, {4, .5}, {4, .5}, {4, .5}, {4, .5}, {4, .5}});
  auto clips = select_clips(shots, {.target = 12, .min = 4, .max = 28, .count = 1});
  ASSERT_EQ(clips.size(), 1U);
  EXPECT_DOUBLE_EQ(clips[0].end - clips[0].start, 12);
}

TEST(ClipSelection, CutsALongTakeIntoTargetPieces) {
  auto shots = shots_of({{100, .6}});
  auto clips = select_clips(shots, {.target = 30, .min = 10, .max = 40, .count = 5});
  // Pieces 0-30, 30-60, 60-90, 90-100: four clips that tile the take without overlap.
  ASSERT_EQ(clips.size(), 4U);
  double covered = 0;
  for (const auto& clip : clips) {
    EXPECT_LE(clip.end - clip.start, 40);
    EXPECT_GE(clip.end - clip.start, 10);
    covered += clip.end - clip.start;
  }
  EXPECT_DOUBLE_EQ(covered, 100);
}

TEST(ClipSelection, NothingWhenTheVideoIsShorterThanMin) {
  auto shots = shots_of({{3, .9}, {2, .9}});
  EXPECT_TRUE(select_clips(shots, {.target = 30, .min = 10, .max = 60, .count = 3}).empty());
  EXPECT_TRUE(select_clips({}, {}).empty());
}

TEST(ClipSelection, CountZeroChoosesNothing) {
  auto shots = shots_of({{30, .9}});
  EXPECT_TRUE(select_clips(shots, {.target = 30, .min = 10, .max = 60, .count = 0}).empty());
}

}  // namespace
}  // namespace reelflow::video
