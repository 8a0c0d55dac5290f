// Perceptual hashes: re-encoded or resized copies stay near, different pictures are far; the
// stored text round-trips and bad text is reported, not trusted.
#include "features/near_duplicate.hpp"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "features/test_images.hpp"

namespace reelflow::video {
namespace {

using testing::scene;

cv::Mat reencoded(const cv::Mat& image, int quality) {
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, quality});
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

cv::Mat resized(const cv::Mat& image, double factor) {
  cv::Mat result;
  cv::resize(image, result, {}, factor, factor, factor < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return result;
}

TEST(PerceptualHash, CopiesAreNearAndDifferentPicturesFar) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const cv::Mat original = scene(seed, {640, 360});
    const std::uint64_t hash = perceptual_hash(original);
    EXPECT_LE(hamming_distance(hash, perceptual_hash(reencoded(original, 40))), 4);
    EXPECT_LE(hamming_distance(hash, perceptual_hash(resized(original, 0.4))), 4);
    EXPECT_LE(hamming_distance(hash, perceptual_hash(reencoded(resized(original, 0.4), 60))), 4);
    for (std::uint64_t other = seed + 1; other <= 6; ++other) {
      EXPECT_GE(hamming_distance(hash, perceptual_hash(scene(other, {640, 360}))), 16)
          << seed << " vs " << other;
    }
  }
}

TEST(PerceptualHash, HexRoundTrip) {
  EXPECT_EQ(hash_to_hex(0), "0000000000000000");
  EXPECT_EQ(hash_to_hex(0x0123456789abcdefULL), "0123456789abcdef");
  EXPECT_EQ(hash_from_hex("0123456789ABCDEF"), 0x0123456789abcdefULL);
  EXPECT_FALSE(hash_from_hex("0123456789abcde"));
  EXPECT_FALSE(hash_from_hex("0123456789abcdeg"));
  EXPECT_EQ(hamming_distance(0xFF, 0x0F), 4);
}

TEST(ClipHash, EncodesDecodesAndRejectsBadText) {
  const ClipHash hash{{0x1ULL, 0xfedcba9876543210ULL}};
  const std::string text = encode_clip_hash(hash);
  EXPECT_EQ(text, "p1:0000000000000001,fedcba9876543210");
  const auto decoded = decode_clip_hash(text);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->frames, hash.frames);
  EXPECT_TRUE(decode_clip_hash("p1:")->frames.empty());
  for (const char* bad :
       {"", "x1:0000000000000001", "p1:00000000000000001", "p1:zz", "p1:0000000000000001,"}) {
    const auto result = decode_clip_hash(bad);
    EXPECT_FALSE(result) << bad;
    if (!result) {
      EXPECT_NE(result.error().find("clip hash"), std::string::npos);
    }
  }
}

ClipHash clip_of(std::initializer_list<cv::Mat> frames) {
  ClipHash hash;
  for (const cv::Mat& frame : frames) hash.frames.push_back(perceptual_hash(frame));
  return hash;
}

TEST(FindDuplicate, FlagsCopiesWithTheMatchingId) {
  const cv::Mat a1 = scene(21, {640, 360});
  const cv::Mat a2 = scene(22, {640, 360});
  const cv::Mat a3 = scene(23, {640, 360});
  const std::vector<PublishedClip> published = {
      {"post-b", encode_clip_hash(clip_of({scene(31), scene(32), scene(33)}))},
      {"post-a", encode_clip_hash(clip_of({a1, a2, a3}))},
      {"broken", "p1:nothex"},
  };

  // The same clip, re-encoded and downscaled: a duplicate of post-a.
  const DuplicateCheck copy =
      find_duplicate(clip_of({reencoded(resized(a1, 0.5), 50), reencoded(resized(a2, 0.5), 50),
                              reencoded(resized(a3, 0.5), 50)}),
                     published);
  EXPECT_EQ(copy.kind, DuplicateKind::duplicate) << copy.distance;
  EXPECT_EQ(copy.id, "post-a");
  EXPECT_EQ(copy.unreadable, 1);

  // Re-cut: two of the published frames and one new: near duplicate.
  const DuplicateCheck recut = find_duplicate(clip_of({a2, a3, scene(40)}), published);
  EXPECT_NE(recut.kind, DuplicateKind::unique) << recut.distance;
  EXPECT_EQ(recut.id, "post-a");

  // Something else entirely.
  const DuplicateCheck fresh =
      find_duplicate(clip_of({scene(50), scene(51), scene(52)}), published);
  EXPECT_EQ(fresh.kind, DuplicateKind::unique) << fresh.distance;
  EXPECT_TRUE(fresh.id.empty());
  EXPECT_GT(fresh.distance, 16);
  EXPECT_STREQ(to_string(fresh.kind), "unique");

  // Nothing published, or an empty hash: unique.
  EXPECT_EQ(find_duplicate(clip_of({a1}), {}).kind, DuplicateKind::unique);
  EXPECT_EQ(find_duplicate(ClipHash{}, published).kind, DuplicateKind::unique);
}

}  // namespace
}  // namespace reelflow::video
