// TikTok's documented rules for a Direct Post video, as pure functions the publisher checks before
// anything reaches TikTok (prepare) and uses to build the request (start, upload):
//
//   - the post's text (post_info.title): the caption with its hashtags and the tracked link, at
//     most 2200 UTF-16 code units;
//   - hashtags: one word each (letters, digits, underscore), written "#tag";
//   - the file: MP4, MOV or WebM, not empty, at most 4 GB;
//   - the chunks (Media Transfer Guide): chunk_size between 5 MB and 64 MB, total_chunk_count =
//     floor(video_size / chunk_size), the trailing bytes merged into the last chunk (at most
//     128 MB), a file smaller than a chunk sent whole, 1 to 1000 chunks.
//
// Where "MB" is ambiguous, the plan satisfies both readings: chunks are at least 5 MiB
// (> 5,000,000 bytes) and at most 64,000,000 bytes (< 64 MiB). Everything here is a plain value
// computation: safe from any thread.
#ifndef REELFLOW_PLUGINS_TIKTOK_RULES_HPP
#define REELFLOW_PLUGINS_TIKTOK_RULES_HPP

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace reelflow::tiktok {

inline constexpr std::size_t kMaxTitleUtf16 = 2200;
inline constexpr std::uint64_t kMinChunkBytes = 5ull * 1024 * 1024;  // 5 MiB
inline constexpr std::uint64_t kMaxChunkBytes = 64'000'000;          // 64 MB, decimal
inline constexpr std::uint64_t kMaxLastChunkBytes = 128'000'000;     // 128 MB, decimal
inline constexpr std::uint64_t kMaxChunks = 1000;
inline constexpr std::uint64_t kMaxVideoBytes = 4ull * 1024 * 1024 * 1024;  // 4 GB

// The number of UTF-16 code units `utf8` takes (TikTok counts title length in them): 2 for a code
// point above U+FFFF, 1 otherwise; an invalid byte counts as 1.
std::size_t utf16_length(std::string_view utf8);

// The text TikTok shows under the video: the caption (the title when the caption is empty), then
// every tag not already in it as "#tag", then the link. Fails naming the first bad tag.
tl::expected<std::string, std::string> compose_post_text(const nlohmann::json& post);

// The MIME type of the video, from its extension, or nullopt for a format TikTok does not take.
std::optional<std::string> video_content_type(std::string_view path);

// How a file of video_size bytes is cut: chunk i starts at i * chunk_size and is chunk_size long,
// except the last, which runs to the end of the file.
struct ChunkPlan {
  std::uint64_t video_size = 0;
  std::uint64_t chunk_size = 0;
  std::uint64_t chunk_count = 0;

  std::uint64_t offset(std::uint64_t index) const { return index * chunk_size; }
  std::uint64_t length(std::uint64_t index) const {
    return index + 1 == chunk_count ? video_size - offset(index) : chunk_size;
  }
};

// The plan for a file of video_size bytes with the chunk size the post asked for (in bytes,
// clamped to [kMinChunkBytes, kMaxChunkBytes]), or why the file cannot be sent.
tl::expected<ChunkPlan, std::string> plan_chunks(std::uint64_t video_size,
                                                 std::uint64_t preferred_chunk_bytes);

}  // namespace reelflow::tiktok

#endif  // REELFLOW_PLUGINS_TIKTOK_RULES_HPP
