// What youtube.publish sends to YouTube, derived from a post (plugin.h, post_json), and the
// documented rules it is checked against before anything leaves the machine:
//
//   - snippet.title: required, at most 100 characters, no '<' or '>';
//   - snippet.description (the caption, the tracked link on its own line, "#Shorts" when the
//     caption has no such hashtag): at most 5000 bytes, no '<' or '>';
//   - snippet.tags: at most 500 characters in all, commas between tags counted, a tag holding a
//     space counted with the two quotation marks YouTube adds around it;
//   - snippet.categoryId: a numeric category id;
//   - status.privacyStatus, status.selfDeclaredMadeForKids, and status.publishAt when the post is
//     due later than now (YouTube schedules it natively: private until then, public after);
//   - the video: not empty, at most 256 GB, sent as video/* or application/octet-stream;
//   - the cover (thumbnails.set): JPEG or PNG, at most 2 MB.
//
// "Characters" are counted in UTF-16 code units (an emoji counts 2), the stricter of the two
// readings of YouTube's limits. README.md lists the documentation pages these rules come from.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace reelflow::youtube {

inline constexpr std::size_t kTitleMaxChars = 100;
inline constexpr std::size_t kDescriptionMaxBytes = 5000;
inline constexpr std::size_t kTagsMaxChars = 500;
inline constexpr std::uint64_t kVideoMaxBytes = 256'000'000'000ull;  // "256GB"
inline constexpr std::uint64_t kThumbnailMaxBytes = 2'000'000;       // "2MB"
inline constexpr double kShortsMaxSeconds = 180;  // square or vertical, up to 3 minutes
// A publish_at less than this far ahead is "now": the upload is not scheduled.
inline constexpr std::int64_t kScheduleMarginMillis = 60'000;

// The cover sent to thumbnails.set.
struct Cover {
  std::string path;
  std::string content_type;  // image/jpeg or image/png
  std::uint64_t size = 0;
};

// Everything start and finalize need, checked.
struct UploadPlan {
  nlohmann::json metadata;  // the video resource of videos.insert (snippet, status)
  std::string video_path;
  std::uint64_t video_size = 0;
  std::string content_type;               // X-Upload-Content-Type
  std::string privacy;                    // the privacyStatus asked for (private when scheduled)
  std::optional<std::string> publish_at;  // status.publishAt when YouTube schedules the post
  std::optional<Cover> cover;
  std::vector<std::string> warnings;  // not errors: log them (e.g. "not a Short: 16:9")
};

// The post checked against the rules above, or a message naming the field and the limit.
// now_millis: the current time (publish_at is compared with it).
tl::expected<UploadPlan, std::string> plan_upload(const nlohmann::json& post,
                                                  std::int64_t now_millis);

// The post's cover (null or "" for none), checked; the error names the file and the limit.
tl::expected<std::optional<Cover>, std::string> read_cover(const nlohmann::json& post);

// The description YouTube gets: caption, then the link and "#Shorts" on lines of their own.
std::string build_description(std::string_view caption, std::string_view link);

// The tags YouTube gets: trimmed, a leading '#' dropped, empty ones skipped.
std::vector<std::string> normalize_tags(const std::vector<std::string>& tags);

// Length in UTF-16 code units of UTF-8 text (invalid bytes count 1 each).
std::size_t utf16_length(std::string_view text);

// How YouTube counts the tags against kTagsMaxChars.
std::size_t tags_length(const std::vector<std::string>& tags);

// ISO 8601 with an offset ("2026-12-01T09:00:00+08:00", "...Z", fractions allowed) to
// milliseconds since the epoch; nullopt when it is not such a time.
std::optional<std::int64_t> parse_iso_time(std::string_view text);

// "2026-12-01T01:00:00.000Z", the form status.publishAt is documented with.
std::string format_iso_time(std::int64_t millis);

}  // namespace reelflow::youtube
