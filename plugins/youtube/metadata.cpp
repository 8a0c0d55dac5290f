#include "metadata.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace reelflow::youtube {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::string_view kPrefix = "youtube.publish: ";

tl::unexpected<std::string> refuse(std::string message) {
  return tl::unexpected(std::string(kPrefix) + std::move(message));
}

std::string trim(std::string_view text) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool has_angle_bracket(std::string_view text) {
  return text.find_first_of("<>") != std::string_view::npos;
}

// True when text holds the hashtag `tag` (lower case, with '#') as a whole word.
bool has_hashtag(std::string_view text, std::string_view tag) {
  const std::string haystack = lower(text);
  for (std::size_t at = haystack.find(tag); at != std::string::npos;
       at = haystack.find(tag, at + 1)) {
    const std::size_t end = at + tag.size();
    const bool word_ends =
        end == haystack.size() ||
        !(std::isalnum(static_cast<unsigned char>(haystack[end])) || haystack[end] == '_' ||
          static_cast<unsigned char>(haystack[end]) >= 0x80);
    if (word_ends) return true;
  }
  return false;
}

// The MIME type YouTube gets for the video, from its extension.
std::string video_content_type(const fs::path& path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTypes = {{
      {".mp4", "video/mp4"},
      {".m4v", "video/x-m4v"},
      {".mov", "video/quicktime"},
      {".webm", "video/webm"},
      {".mkv", "video/x-matroska"},
      {".avi", "video/x-msvideo"},
      {".mpg", "video/mpeg"},
      {".mpeg", "video/mpeg"},
      {".3gp", "video/3gpp"},
  }};
  const std::string extension = lower(path.extension().string());
  for (const auto& [ext, type] : kTypes) {
    if (extension == ext) return std::string(type);
  }
  return "application/octet-stream";  // also accepted by videos.insert
}

// JPEG or PNG by their signatures; empty when it is neither.
std::string image_content_type(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 8> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return "image/jpeg";
  static constexpr std::array<unsigned char, 8> kPng = {0x89, 'P',  'N',  'G',
                                                        '\r', '\n', 0x1A, '\n'};
  if (got == 8 && std::equal(head.begin(), head.end(), kPng.begin())) return "image/png";
  return {};
}

std::string string_field(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

bool read_digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::size_t utf16_length(std::string_view text) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
    } else if (byte >= 0xE0) {
      length = 3;
    } else if (byte >= 0xC2) {
      length = 2;
    }
    if (length > 1 && i + length > text.size()) length = 1;  // truncated: count the byte
    units += length == 4 ? 2 : 1;                            // beyond the BMP: a surrogate pair
    i += length;
  }
  return units;
}

std::size_t tags_length(const std::vector<std::string>& tags) {
  std::size_t total = tags.empty() ? 0 : tags.size() - 1;  // the commas between them
  for (const auto& tag : tags) {
    total += utf16_length(tag) + (tag.find(' ') != std::string::npos ? 2 : 0);
  }
  return total;
}

std::vector<std::string> normalize_tags(const std::vector<std::string>& tags) {
  std::vector<std::string> out;
  for (const auto& raw : tags) {
    std::string tag = trim(raw);
    while (!tag.empty() && tag.front() == '#') tag.erase(0, 1);
    tag = trim(tag);
    if (!tag.empty() && std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(tag);
  }
  return out;
}

std::string build_description(std::string_view caption, std::string_view link) {
  std::string description = trim(caption);
  const auto add_line = [&](std::string_view line) {
    if (!description.empty()) description += '\n';
    description += line;
  };
  const std::string clean_link = trim(link);
  if (!clean_link.empty()) add_line(clean_link);
  if (!has_hashtag(description, "#shorts")) add_line("#Shorts");
  return description;
}

std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 16 || text[4] != '-' ||
      !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_digits(text, 11, 2, hour) ||
      text[13] != ':' || !read_digits(text, 14, 2, minute)) {
    return std::nullopt;
  }
  std::size_t at = 16;
  std::int64_t millis = 0;
  if (at < text.size() && text[at] == ':') {
    if (!read_digits(text, at + 1, 2, second)) return std::nullopt;
    at += 3;
    if (at < text.size() && text[at] == '.') {
      const std::size_t start = ++at;
      std::int64_t scale = 100;
      while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
        millis += (text[at] - '0') * scale;
        scale /= 10;
        ++at;
      }
      if (at == start) return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      at >= text.size()) {
    return std::nullopt;
  }
  std::int64_t offset_minutes = 0;
  if (text[at] == 'Z' || text[at] == 'z') {
    ++at;
  } else if (text[at] == '+' || text[at] == '-') {
    const int sign = text[at] == '-' ? -1 : 1;
    int offset_hours = 0, offset_mins = 0;
    if (!read_digits(text, at + 1, 2, offset_hours)) return std::nullopt;
    at += 3;
    if (at < text.size() && text[at] == ':') ++at;
    if (!read_digits(text, at, 2, offset_mins)) return std::nullopt;
    at += 2;
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string format_iso_time(std::int64_t millis) {
  std::int64_t seconds = millis / 1000;
  std::int64_t fraction = millis % 1000;
  if (fraction < 0) {
    fraction += 1000;
    --seconds;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  // civil_from_days, after H. Hinnant.
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(year), month, day, static_cast<long long>(rest / 3600),
                static_cast<long long>(rest / 60 % 60), static_cast<long long>(rest % 60),
                static_cast<long long>(fraction));
  return buffer;
}

tl::expected<std::optional<Cover>, std::string> read_cover(const json& post) {
  auto cover = post.find("cover");
  if (cover == post.end() || !cover->is_string() || cover->get<std::string>().empty()) {
    return std::optional<Cover>();
  }
  Cover thumbnail;
  thumbnail.path = cover->get<std::string>();
  std::error_code ec;
  thumbnail.size = fs::file_size(thumbnail.path, ec);
  if (ec) return refuse("cover " + thumbnail.path + ": " + ec.message());
  if (thumbnail.size == 0) return refuse("cover " + thumbnail.path + " is empty");
  if (thumbnail.size > kThumbnailMaxBytes) {
    return refuse("cover " + thumbnail.path + " is " + std::to_string(thumbnail.size) +
                  " bytes; YouTube's thumbnails.set accepts images up to 2 MB");
  }
  thumbnail.content_type = image_content_type(thumbnail.path);
  if (thumbnail.content_type.empty()) {
    return refuse("cover " + thumbnail.path +
                  " is neither a JPEG nor a PNG image (what thumbnails.set accepts)");
  }
  return std::optional<Cover>(std::move(thumbnail));
}

tl::expected<UploadPlan, std::string> plan_upload(const json& post, std::int64_t now_millis) {
  UploadPlan plan;
  const json options = post.value("options", json::object());

  // Title.
  const std::string title = trim(string_field(post, "title"));
  if (title.empty()) {
    return refuse("title is empty: YouTube requires a title (snippet.title), up to " +
                  std::to_string(kTitleMaxChars) + " characters");
  }
  if (const std::size_t length = utf16_length(title); length > kTitleMaxChars) {
    return refuse("title is " + std::to_string(length) +
                  " characters long; YouTube allows at most " + std::to_string(kTitleMaxChars) +
                  " (snippet.title)");
  }
  if (has_angle_bracket(title)) {
    return refuse("title contains '<' or '>', which YouTube does not allow in snippet.title");
  }

  // Description: caption + link + #Shorts.
  const std::string caption = string_field(post, "caption");
  const std::string link = string_field(post, "link");
  if (has_angle_bracket(caption)) {
    return refuse(
        "caption contains '<' or '>', which YouTube does not allow in a description "
        "(snippet.description)");
  }
  if (has_angle_bracket(link)) {
    return refuse("link contains '<' or '>', which YouTube does not allow in a description");
  }
  const std::string description = build_description(caption, link);
  if (description.size() > kDescriptionMaxBytes) {
    return refuse("caption is too long: the description YouTube would get (the caption" +
                  std::string(link.empty() ? "" : ", the link") + " and #Shorts) is " +
                  std::to_string(description.size()) + " bytes of UTF-8; YouTube allows at most " +
                  std::to_string(kDescriptionMaxBytes) + " (snippet.description)");
  }

  // Tags.
  std::vector<std::string> raw_tags;
  if (auto tags = post.find("tags"); tags != post.end() && tags->is_array()) {
    for (const auto& tag : *tags) {
      if (!tag.is_string()) return refuse("tags must be strings");
      raw_tags.push_back(tag.get<std::string>());
    }
  }
  const std::vector<std::string> tags = normalize_tags(raw_tags);
  for (const auto& tag : tags) {
    if (has_angle_bracket(tag)) return refuse("tag '" + tag + "' contains '<' or '>'");
  }
  if (const std::size_t length = tags_length(tags); length > kTagsMaxChars) {
    return refuse("tags add up to " + std::to_string(length) +
                  " characters as YouTube counts them (commas between tags, quotes around a tag "
                  "with a space); YouTube allows at most " +
                  std::to_string(kTagsMaxChars) + " (snippet.tags)");
  }

  // Category, privacy, audience.
  const std::string category = options.value("category_id", std::string("22"));
  if (category.empty() || !std::all_of(category.begin(), category.end(),
                                       [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return refuse("category_id '" + category +
                  "' is not a YouTube video category id (a number, e.g. \"22\" for People & "
                  "Blogs; videoCategories.list gives the ones of a region)");
  }
  const std::string privacy = options.value("privacy", std::string("public"));
  if (privacy != "public" && privacy != "unlisted" && privacy != "private") {
    return refuse("privacy '" + privacy + "' is not one of public, unlisted, private");
  }
  const bool made_for_kids = options.value("made_for_kids", false);

  // When: a publish_at in the future is scheduled by YouTube itself.
  plan.privacy = privacy;
  const std::string publish_at_text = string_field(post, "publish_at");
  if (!publish_at_text.empty()) {
    const auto publish_at = parse_iso_time(publish_at_text);
    if (!publish_at) {
      return refuse("publish_at '" + publish_at_text +
                    "' is not an ISO 8601 time with an offset (e.g. 2026-12-01T18:00:00Z)");
    }
    if (*publish_at > now_millis + kScheduleMarginMillis) {
      if (privacy != "public") {
        return refuse("publish_at " + publish_at_text + " is in the future and privacy is '" +
                      privacy +
                      "': YouTube schedules a video by keeping it private until status.publishAt "
                      "and making it public then, so only a public post can be scheduled; set "
                      "privacy: public or publish it now");
      }
      plan.privacy = "private";
      plan.publish_at = format_iso_time(*publish_at);
    }
  }

  // The video.
  const json video = post.value("video", json::object());
  plan.video_path = string_field(video, "path");
  std::error_code ec;
  plan.video_size = fs::file_size(plan.video_path, ec);
  if (ec) return refuse("video " + plan.video_path + ": " + ec.message());
  if (plan.video_size == 0) return refuse("video " + plan.video_path + " is empty");
  if (plan.video_size > kVideoMaxBytes) {
    return refuse("video " + plan.video_path + " is " + std::to_string(plan.video_size) +
                  " bytes; YouTube accepts files up to 256 GB");
  }
  plan.content_type = video_content_type(plan.video_path);
  if (auto duration = video.find("duration_seconds"); duration != video.end() &&
                                                      duration->is_number() &&
                                                      duration->get<double>() > kShortsMaxSeconds) {
    plan.warnings.push_back("the video is " + std::to_string(duration->get<double>()) +
                            " s long: YouTube makes Shorts only of videos up to 3 minutes, so it "
                            "will be a regular video");
  }
  if (auto width = video.find("width"), height = video.find("height");
      width != video.end() && height != video.end() && width->is_number() && height->is_number() &&
      width->get<double>() > height->get<double>()) {
    plan.warnings.push_back(
        "the video is wider than tall: YouTube makes Shorts only of square or "
        "vertical videos, so it will be a regular video");
  }

  // The cover.
  auto cover = read_cover(post);
  if (!cover) return tl::unexpected(cover.error());
  plan.cover = std::move(*cover);

  json snippet = {{"title", title}, {"description", description}, {"categoryId", category}};
  if (!tags.empty()) snippet["tags"] = tags;
  json status = {{"privacyStatus", plan.privacy}, {"selfDeclaredMadeForKids", made_for_kids}};
  if (plan.publish_at) status["publishAt"] = *plan.publish_at;
  plan.metadata = {{"snippet", std::move(snippet)}, {"status", std::move(status)}};
  return plan;
}

}  // namespace reelflow::youtube
