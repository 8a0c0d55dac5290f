// Near-duplicate detection with perceptual hashes: so that a clip already published, or nearly
// the same (re-encoded, resized, re-cut by a few frames), is flagged before it is published again.
//
// A frame's hash is OpenCV img_hash's PHash: 64 bits from the signs of the low-frequency DCT
// coefficients of a 32×32 luma thumbnail. Re-encoding and resizing move it by a few bits (<= 4
// in the tests); unrelated frames are about 32 bits apart. A clip's hash is the PHashes of up to
// kClipHashFrames frames spread over the clip (see FeatureAccumulator::clip_hash), stored as
// text: "p1:" then 16 lowercase hex digits per frame, comma-separated, in time order.
//
// The distance between a new clip A and a published clip B is the mean, over A's frames, of the
// Hamming distance to the closest of B's frames (0..64). It is directional on purpose: a new
// clip made of frames that were all published is flagged, even when the published clip was
// longer. Limits: uniform frames (black, solid colour) hash alike, so the accumulator avoids them
// when it picks a clip's frames; two different clips shot in the same static setting (same
// presenter, same room) can come out as near duplicates; mirrored or heavily cropped copies are
// not found.
//
// The daemon persists the hash strings (the plugin's key-value state); this file encodes,
// decodes and compares them. Pure functions; safe from any thread.
#ifndef REELFLOW_VIDEO_FEATURES_NEAR_DUPLICATE_HPP
#define REELFLOW_VIDEO_FEATURES_NEAR_DUPLICATE_HPP

#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "media/frame.hpp"

namespace reelflow::video {

inline constexpr int kClipHashFrames = 8;

// PHash of an 8-bit BGR or grey image; the 8 hash bytes big-endian.
std::uint64_t perceptual_hash(const cv::Mat& image);

int hamming_distance(std::uint64_t a, std::uint64_t b);

std::string hash_to_hex(std::uint64_t hash);                       // 16 lowercase hex digits
std::optional<std::uint64_t> hash_from_hex(std::string_view hex);  // exactly 16 hex digits

struct ClipHash {
  std::vector<std::uint64_t> frames;  // in time order; empty when the clip had no usable frame
};

std::string encode_clip_hash(const ClipHash& hash);
// Parses what encode_clip_hash wrote; the error says what is wrong with the text.
Result<ClipHash> decode_clip_hash(std::string_view text);

// 0..64 (see the header comment); 64 when either hash is empty.
double clip_distance(const ClipHash& clip, const ClipHash& published);

struct PublishedClip {
  std::string id;    // whatever the caller uses to name it (e.g. a post id or a clip path)
  std::string hash;  // encode_clip_hash() text, as stored
};

enum class DuplicateKind { unique, near_duplicate, duplicate };
const char* to_string(DuplicateKind kind);  // "unique", "near_duplicate", "duplicate"

struct DuplicateThresholds {
  double duplicate = 4;        // distance <= this: the same clip (re-encoded, resized)
  double near_duplicate = 12;  // distance <= this: nearly the same (re-cut, overlay, re-graded)
};

struct DuplicateCheck {
  DuplicateKind kind = DuplicateKind::unique;
  std::string id;        // the closest published clip, when kind != unique
  double distance = 64;  // to the closest published clip (64 when there is none)
  int unreadable = 0;    // stored hashes that did not decode (skipped)
};

DuplicateCheck find_duplicate(const ClipHash& clip, std::span<const PublishedClip> published,
                              const DuplicateThresholds& thresholds = {});

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_NEAR_DUPLICATE_HPP
