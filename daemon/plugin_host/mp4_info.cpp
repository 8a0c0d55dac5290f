#include "plugin_host/mp4_info.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace reelflow::plugin_host {

namespace {

constexpr std::uint64_t kMaxMoovBytes = 64u << 20;  // a moov this big is not a short video's

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
std::uint64_t be64(const unsigned char* p) {
  return (std::uint64_t{be32(p)} << 32) | be32(p + 4);
}

struct Box {
  std::string type;
  std::size_t body = 0;  // offset of the body in the buffer
  std::size_t end = 0;
};

// The boxes directly inside [begin, end) of buffer.
std::vector<Box> children(const std::vector<unsigned char>& buffer, std::size_t begin,
                          std::size_t end) {
  std::vector<Box> boxes;
  std::size_t at = begin;
  while (at + 8 <= end) {
    std::uint64_t size = be32(&buffer[at]);
    std::size_t header = 8;
    if (size == 1) {
      if (at + 16 > end) break;
      size = be64(&buffer[at + 8]);
      header = 16;
    } else if (size == 0) {
      size = end - at;
    }
    if (size < header || at + size > end) break;
    boxes.push_back({std::string(reinterpret_cast<const char*>(&buffer[at + 4]), 4),
                     at + header, static_cast<std::size_t>(at + size)});
    at += static_cast<std::size_t>(size);
  }
  return boxes;
}

const Box* find(const std::vector<Box>& boxes, const char* type) {
  for (const auto& box : boxes) {
    if (box.type == type) return &box;
  }
  return nullptr;
}

// Finds the top-level moov and reads it whole.
std::optional<std::vector<unsigned char>> read_moov(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  std::uint64_t at = 0;
  unsigned char header[16];
  while (at + 8 <= file_size) {
    in.seekg(static_cast<std::streamoff>(at));
    if (!in.read(reinterpret_cast<char*>(header), 8)) return std::nullopt;
    std::uint64_t size = be32(header);
    std::uint64_t header_size = 8;
    if (size == 1) {
      if (!in.read(reinterpret_cast<char*>(header + 8), 8)) return std::nullopt;
      size = be64(header + 8);
      header_size = 16;
    } else if (size == 0) {
      size = file_size - at;
    }
    if (size < header_size) return std::nullopt;
    if (std::string(reinterpret_cast<char*>(header + 4), 4) == "moov") {
      if (size > kMaxMoovBytes || at + size > file_size) return std::nullopt;
      std::vector<unsigned char> moov(static_cast<std::size_t>(size - header_size));
      in.seekg(static_cast<std::streamoff>(at + header_size));
      if (!in.read(reinterpret_cast<char*>(moov.data()), static_cast<std::streamsize>(moov.size()))) {
        return std::nullopt;
      }
      return moov;
    }
    at += size;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Mp4Info> read_mp4_info(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  auto moov = read_moov(in);
  if (!moov) return std::nullopt;
  const auto& buffer = *moov;
  const auto top = children(buffer, 0, buffer.size());
  const Box* mvhd = find(top, "mvhd");
  if (mvhd == nullptr || mvhd->end - mvhd->body < 32) return std::nullopt;
  Mp4Info info;
  const unsigned char* p = &buffer[mvhd->body];
  if (p[0] == 1) {  // version 1: 64-bit times
    if (mvhd->end - mvhd->body < 32) return std::nullopt;
    const std::uint32_t timescale = be32(p + 20);
    const std::uint64_t duration = be64(p + 24);
    if (timescale > 0) info.duration_seconds = static_cast<double>(duration) / timescale;
  } else {
    const std::uint32_t timescale = be32(p + 12);
    const std::uint32_t duration = be32(p + 16);
    if (timescale > 0) info.duration_seconds = static_cast<double>(duration) / timescale;
  }
  for (const auto& trak : top) {
    if (trak.type != "trak") continue;
    const auto inside = children(buffer, trak.body, trak.end);
    const Box* mdia = find(inside, "mdia");
    const Box* tkhd = find(inside, "tkhd");
    if (mdia == nullptr || tkhd == nullptr) continue;
    // Named: find() points into the vector, which must outlive hdlr.
    const auto in_mdia = children(buffer, mdia->body, mdia->end);
    const Box* hdlr = find(in_mdia, "hdlr");
    if (hdlr == nullptr || hdlr->end - hdlr->body < 12 ||
        std::string(reinterpret_cast<const char*>(&buffer[hdlr->body + 8]), 4) != "vide") {
      continue;
    }
    const unsigned char* t = &buffer[tkhd->body];
    const std::size_t length = tkhd->end - tkhd->body;
    // version 0: 84 bytes (matrix at 40, width at 76); version 1: 96 (matrix at 52, width 88).
    const std::size_t matrix = t[0] == 1 ? 52 : 40;
    const std::size_t size_at = t[0] == 1 ? 88 : 76;
    if (length < size_at + 8) continue;
    info.width = static_cast<int>(be32(t + size_at) >> 16);
    info.height = static_cast<int>(be32(t + size_at + 4) >> 16);
    const auto a = static_cast<std::int32_t>(be32(t + matrix));
    const auto b = static_cast<std::int32_t>(be32(t + matrix + 4));
    if (a == 0 && b != 0) std::swap(info.width, info.height);  // rotated by 90 or 270 degrees
    break;
  }
  return info;
}

}  // namespace reelflow::plugin_host
