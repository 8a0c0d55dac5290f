#include "tiktok_rules.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace reelflow::tiktok {

namespace {

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A byte that may be part of a hashtag: ASCII letters, digits and '_', and any byte of a
// multi-byte UTF-8 sequence (hashtags in other scripts, "#冬季"). ASCII punctuation and spaces end
// a hashtag on TikTok, so a tag containing one would not be the tag the workflow asked for.
bool hashtag_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c) || c == '_'; }

// Whether `text` already holds "#tag" as a whole hashtag (case-insensitive for ASCII).
bool has_hashtag(std::string_view text, std::string_view tag) {
  const std::string haystack = ascii_lower(text);
  const std::string needle = "#" + ascii_lower(tag);
  std::size_t pos = 0;
  while ((pos = haystack.find(needle, pos)) != std::string::npos) {
    const std::size_t end = pos + needle.size();
    if (end == haystack.size() || !hashtag_byte(static_cast<unsigned char>(haystack[end]))) {
      return true;
    }
    pos = end;
  }
  return false;
}

}  // namespace

std::size_t utf16_length(std::string_view utf8) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    std::size_t length = 1;
    if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    }
    bool well_formed = length == 1 || i + length <= utf8.size();
    for (std::size_t k = 1; well_formed && k < length; ++k) {
      well_formed = (static_cast<unsigned char>(utf8[i + k]) & 0xC0) == 0x80;
    }
    if (!well_formed) length = 1;
    units += length == 4 ? 2 : 1;  // beyond the BMP: a surrogate pair
    i += length;
  }
  return units;
}

tl::expected<std::string, std::string> compose_post_text(const nlohmann::json& post) {
  std::string text = post.value("caption", "");
  if (text.empty()) text = post.value("title", "");
  std::vector<std::string> hashtags;
  for (const auto& item : post.value("tags", nlohmann::json::array())) {
    if (!item.is_string()) return tl::unexpected(std::string("tags: every tag must be a string"));
    std::string tag = item.get<std::string>();
    if (!tag.empty() && tag.front() == '#') tag.erase(0, 1);
    if (tag.empty()) return tl::unexpected(std::string("tags: a tag is empty"));
    const auto bad = std::find_if(tag.begin(), tag.end(), [](char c) {
      return !hashtag_byte(static_cast<unsigned char>(c));
    });
    if (bad != tag.end()) {
      return tl::unexpected("tags: '" + tag +
                            "' is not a TikTok hashtag: use letters, digits "
                            "and '_' only (no spaces or punctuation)");
    }
    const bool repeated = std::any_of(hashtags.begin(), hashtags.end(), [&](const std::string& h) {
      return ascii_lower(h) == "#" + ascii_lower(tag);
    });
    if (!repeated && !has_hashtag(text, tag)) hashtags.push_back("#" + tag);
  }
  for (const auto& hashtag : hashtags) {
    if (!text.empty()) text += ' ';
    text += hashtag;
  }
  if (const auto link = post.find("link");
      link != post.end() && link->is_string() && !link->get<std::string>().empty()) {
    if (!text.empty()) text += ' ';
    text += link->get<std::string>();
  }
  return text;
}

std::optional<std::string> video_content_type(std::string_view path) {
  const std::string extension = ascii_lower(std::filesystem::path(path).extension().string());
  if (extension == ".mp4" || extension == ".m4v") return "video/mp4";
  if (extension == ".mov") return "video/quicktime";
  if (extension == ".webm") return "video/webm";
  return std::nullopt;
}

tl::expected<ChunkPlan, std::string> plan_chunks(std::uint64_t video_size,
                                                 std::uint64_t preferred_chunk_bytes) {
  if (video_size == 0) return tl::unexpected(std::string("the video file is empty"));
  if (video_size > kMaxVideoBytes) {
    return tl::unexpected("the video is " + std::to_string(video_size) +
                          " bytes; TikTok takes at most 4 GB (" + std::to_string(kMaxVideoBytes) +
                          " bytes)");
  }
  const std::uint64_t chunk_size =
      std::clamp(preferred_chunk_bytes, kMinChunkBytes, kMaxChunkBytes);
  ChunkPlan plan;
  plan.video_size = video_size;
  if (video_size <= chunk_size) {
    // Smaller than one chunk (always so under 5 MB): sent whole, as one chunk of its own size.
    plan.chunk_size = video_size;
    plan.chunk_count = 1;
    return plan;
  }
  plan.chunk_size = chunk_size;
  plan.chunk_count = video_size / chunk_size;  // the trailing bytes ride with the last chunk
  if (plan.chunk_count > kMaxChunks) {
    return tl::unexpected("the video needs " + std::to_string(plan.chunk_count) + " chunks of " +
                          std::to_string(chunk_size) +
                          " bytes; TikTok takes at most 1000: raise chunk_mib");
  }
  if (plan.length(plan.chunk_count - 1) > kMaxLastChunkBytes) {  // cannot happen with these bounds
    return tl::unexpected(std::string("the last chunk would exceed TikTok's 128 MB"));
  }
  return plan;
}

}  // namespace reelflow::tiktok
