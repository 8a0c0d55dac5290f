#include "features/near_duplicate.hpp"

#include <algorithm>
#include <bit>
#include <opencv2/img_hash/phash.hpp>

namespace reelflow::video {

namespace {

constexpr std::string_view kClipHashPrefix = "p1:";
constexpr std::size_t kHexDigits = 16;

int hex_value(char digit) {
  if (digit >= '0' && digit <= '9') return digit - '0';
  if (digit >= 'a' && digit <= 'f') return digit - 'a' + 10;
  if (digit >= 'A' && digit <= 'F') return digit - 'A' + 10;
  return -1;
}

}  // namespace

std::uint64_t perceptual_hash(const cv::Mat& image) {
  CV_Assert(image.depth() == CV_8U && !image.empty());
  cv::Mat bytes;
  // PHash::compute converts BGR(A) to grey itself; the object holds no state worth keeping.
  cv::img_hash::PHash::create()->compute(image, bytes);
  std::uint64_t hash = 0;
  for (int i = 0; i < static_cast<int>(bytes.total()) && i < 8; ++i) {
    hash = (hash << 8) | bytes.at<std::uint8_t>(i);
  }
  return hash;
}

int hamming_distance(std::uint64_t a, std::uint64_t b) { return std::popcount(a ^ b); }

std::string hash_to_hex(std::uint64_t hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(kHexDigits, '0');
  for (std::size_t i = 0; i < kHexDigits; ++i) {
    hex[kHexDigits - 1 - i] = kDigits[(hash >> (4 * i)) & 0xF];
  }
  return hex;
}

std::optional<std::uint64_t> hash_from_hex(std::string_view hex) {
  if (hex.size() != kHexDigits) return std::nullopt;
  std::uint64_t hash = 0;
  for (const char digit : hex) {
    const int value = hex_value(digit);
    if (value < 0) return std::nullopt;
    hash = (hash << 4) | static_cast<std::uint64_t>(value);
  }
  return hash;
}

std::string encode_clip_hash(const ClipHash& hash) {
  std::string text(kClipHashPrefix);
  for (std::size_t i = 0; i < hash.frames.size(); ++i) {
    if (i > 0) text += ',';
    text += hash_to_hex(hash.frames[i]);
  }
  return text;
}

Result<ClipHash> decode_clip_hash(std::string_view text) {
  auto quoted = [&] {
    return "'" + std::string(text.substr(0, 80)) + (text.size() > 80 ? "...'" : "'");
  };
  if (!text.starts_with(kClipHashPrefix)) {
    return error("clip hash " + quoted() + " does not start with '" + std::string(kClipHashPrefix) +
                 "'");
  }
  ClipHash hash;
  std::string_view rest = text.substr(kClipHashPrefix.size());
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view word = rest.substr(0, comma);
    const auto frame = hash_from_hex(word);
    if (!frame) {
      return error("clip hash " + quoted() + ": '" + std::string(word.substr(0, 20)) +
                   "' is not 16 hex digits");
    }
    hash.frames.push_back(*frame);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return error("clip hash " + quoted() + " ends with a comma");
  }
  return hash;
}

double clip_distance(const ClipHash& clip, const ClipHash& published) {
  if (clip.frames.empty() || published.frames.empty()) return 64;
  double total = 0;
  for (const std::uint64_t frame : clip.frames) {
    int closest = 64;
    for (const std::uint64_t other : published.frames) {
      closest = std::min(closest, hamming_distance(frame, other));
    }
    total += closest;
  }
  return total / static_cast<double>(clip.frames.size());
}

const char* to_string(DuplicateKind kind) {
  switch (kind) {
    case DuplicateKind::unique:
      return "unique";
    case DuplicateKind::near_duplicate:
      return "near_duplicate";
    case DuplicateKind::duplicate:
      return "duplicate";
  }
  return "unique";
}

DuplicateCheck find_duplicate(const ClipHash& clip, std::span<const PublishedClip> published,
                              const DuplicateThresholds& thresholds) {
  DuplicateCheck check;
  const PublishedClip* closest = nullptr;
  for (const PublishedClip& candidate : published) {
    const auto decoded = decode_clip_hash(candidate.hash);
    if (!decoded) {
      ++check.unreadable;
      continue;
    }
    const double distance = clip_distance(clip, *decoded);
    if (distance < check.distance) {
      check.distance = distance;
      closest = &candidate;
    }
  }
  if (closest == nullptr) return check;
  if (check.distance <= thresholds.duplicate) {
    check.kind = DuplicateKind::duplicate;
  } else if (check.distance <= thresholds.near_duplicate) {
    check.kind = DuplicateKind::near_duplicate;
  }
  if (check.kind != DuplicateKind::unique) check.id = closest->id;
  return check;
}

}  // namespace reelflow::video
