#include "store/click_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace reelflow::store {

namespace {

constexpr std::size_t kHeaderBytes = 12;
constexpr std::uint32_t kMaxPayload = 1 << 20;  // far above any click (eight strings of <= 64 KiB)
constexpr std::uint32_t kMinPayload = 9 + 16;   // time, flags, eight empty strings
constexpr std::size_t kScanChunk = 4 << 20;

// A checksum over 8-byte words (FNV-1a's structure with a 64-bit prime, one multiply per word):
// it only has to catch a torn or overwritten record, and it runs twice per click.
std::uint64_t mix(std::uint64_t hash, std::string_view bytes) {
  constexpr std::uint64_t kPrime = 1099511628211ull;
  std::size_t at = 0;
  for (; at + 8 <= bytes.size(); at += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + at, 8);
    hash = (hash ^ word) * kPrime;
  }
  for (; at < bytes.size(); ++at) hash = (hash ^ static_cast<unsigned char>(bytes[at])) * kPrime;
  return hash;
}

std::string le32(std::uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

std::uint32_t record_checksum(std::uint32_t lap, std::string_view payload) {
  const std::uint64_t hash = mix(14695981039346656037ull ^ lap, payload);
  return static_cast<std::uint32_t>(hash ^ (hash >> 32));
}

void put_string(std::string& out, std::string_view text) {
  const std::size_t length = std::min<std::size_t>(text.size(), 0xffff);
  out.push_back(static_cast<char>(length & 0xff));
  out.push_back(static_cast<char>(length >> 8));
  out.append(text.data(), length);
}

std::string errno_text() { return std::strerror(errno); }

Result<std::string> read_at(int fd, const std::filesystem::path& path, std::uint64_t offset,
                            std::size_t want) {
  std::string bytes(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, bytes.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n == 0) {
      break;
    } else {
      return fail(path.string() + ": cannot read the click log: " + errno_text());
    }
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace

void encode_click(const Click& click, std::uint32_t lap, std::string& out) {
  const std::size_t start = out.size();
  out.append(kHeaderBytes, '\0');
  const auto at = static_cast<std::uint64_t>(click.at);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((at >> (8 * i)) & 0xff));
  out.push_back(click.duplicate ? 1 : 0);
  for (const std::string* field : {&click.id, &click.code, &click.kind, &click.agent,
                                   &click.visitor, &click.ip, &click.user_agent, &click.referer}) {
    put_string(out, *field);
  }
  const std::string_view payload(out.data() + start + kHeaderBytes,
                                 out.size() - start - kHeaderBytes);
  const std::string header = le32(static_cast<std::uint32_t>(payload.size())) + le32(lap) +
                             le32(record_checksum(lap, payload));
  std::copy(header.begin(), header.end(), out.begin() + static_cast<std::ptrdiff_t>(start));
}

DecodedClicks decode_clicks(std::string_view bytes, std::uint32_t lap) {
  DecodedClicks decoded;
  std::size_t at = 0;
  while (bytes.size() - at >= kHeaderBytes) {
    const std::uint32_t length = get_u32(bytes.data() + at);
    const std::uint32_t record_lap = get_u32(bytes.data() + at + 4);
    const std::uint32_t checksum = get_u32(bytes.data() + at + 8);
    if (length == 0 || record_lap != lap) break;  // zeros, or an older lap: the end
    if (length < kMinPayload || length > kMaxPayload) {
      decoded.damaged = true;
      break;
    }
    if (bytes.size() - at - kHeaderBytes < length) break;  // its rest is beyond these bytes
    const std::string_view payload = bytes.substr(at + kHeaderBytes, length);
    if (record_checksum(lap, payload) != checksum) {
      decoded.damaged = true;
      break;
    }
    Click click;
    std::uint64_t time = 0;
    for (int i = 7; i >= 0; --i) time = (time << 8) | static_cast<unsigned char>(payload[static_cast<std::size_t>(i)]);
    click.at = static_cast<Millis>(time);
    click.duplicate = payload[8] != 0;
    std::size_t field_at = 9;
    bool complete = true;
    for (std::string* field : {&click.id, &click.code, &click.kind, &click.agent, &click.visitor,
                               &click.ip, &click.user_agent, &click.referer}) {
      if (payload.size() - field_at < 2) {
        complete = false;
        break;
      }
      const std::size_t size =
          static_cast<unsigned char>(payload[field_at]) |
          (static_cast<std::size_t>(static_cast<unsigned char>(payload[field_at + 1])) << 8);
      field_at += 2;
      if (payload.size() - field_at < size) {
        complete = false;
        break;
      }
      field->assign(payload.data() + field_at, size);
      field_at += size;
    }
    if (!complete || field_at != payload.size()) {
      decoded.damaged = true;
      break;
    }
    decoded.clicks.push_back(std::move(click));
    at += kHeaderBytes + length;
  }
  decoded.consumed = at;
  return decoded;
}

Result<std::unique_ptr<ClickLog>> ClickLog::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(path.string() + ": cannot open the click log: " + errno_text());
  std::unique_ptr<ClickLog> log(new ClickLog(path, fd));
  if (auto scanned = log->scan(); !scanned) return tl::unexpected(scanned.error());
  return log;
}

ClickLog::ClickLog(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

ClickLog::~ClickLog() { ::close(fd_); }

// The lap at the start of the file and how far its records go.
Result<void> ClickLog::scan() {
  auto first = read_at(fd_, path_, 0, kHeaderBytes);
  if (!first) return tl::unexpected(first.error());
  if (first->size() < kHeaderBytes || get_u32(first->data()) == 0) return {};  // empty
  lap_ = get_u32(first->data() + 4);
  std::uint64_t offset = 0;
  while (true) {
    auto chunk = read_at(fd_, path_, offset, kScanChunk);
    if (!chunk) return tl::unexpected(chunk.error());
    DecodedClicks decoded = decode_clicks(*chunk, lap_);
    offset += decoded.consumed;
    if (decoded.damaged || decoded.consumed == 0) {
      // Damage, or a record of this lap cut short by the end of the file (a torn last write).
      const std::string_view rest = std::string_view(*chunk).substr(decoded.consumed);
      if (decoded.damaged ||
          (rest.size() >= 8 && get_u32(rest.data()) != 0 && get_u32(rest.data() + 4) == lap_)) {
        damaged_at_open_ = std::min<std::uint64_t>(
            rest.size(), kHeaderBytes + std::min<std::uint64_t>(get_u32(rest.data()), kMaxPayload));
      }
      break;
    }
  }
  end_ = offset;
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  extent_ = size > 0 ? static_cast<std::uint64_t>(size) : 0;
  return {};
}

Result<std::uint64_t> ClickLog::append(std::span<const Click> clicks) {
  std::lock_guard lock(mutex_);
  encoded_.clear();
  for (const Click& click : clicks) encode_click(click, lap_, encoded_);
  const std::uint64_t offset = end_ - base_;
  std::size_t written = 0;
  while (written < encoded_.size()) {
    const ssize_t n = ::pwrite(fd_, encoded_.data() + written, encoded_.size() - written,
                               static_cast<off_t>(offset + written));
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // Whatever part was written lies beyond end_: the next append writes over it.
    return fail(path_.string() + ": cannot append clicks: " +
                (n == 0 ? std::string("no space written") : errno_text()));
  }
  end_ += encoded_.size();
  extent_ = std::max(extent_, offset + encoded_.size());
  return end_;
}

Result<std::uint64_t> ClickLog::sync() {
  const std::uint64_t covered = end();
  if (::fdatasync(fd_) != 0) {
    return fail(path_.string() + ": cannot sync the click log: " + errno_text());
  }
  return covered;
}

std::uint64_t ClickLog::end() const {
  std::lock_guard lock(mutex_);
  return end_;
}

Result<DecodedClicks> ClickLog::read(std::uint64_t from, std::size_t max_bytes) const {
  std::uint64_t offset = 0;
  std::size_t want = 0;
  std::uint32_t lap = 0;
  {
    std::lock_guard lock(mutex_);
    from = std::clamp(from, base_, end_);
    offset = from - base_;
    want = static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes, end_ - from));
    lap = lap_;
  }
  // Outside the lock (the appender goes on): only the reader's own thread starts a lap, so the
  // records up to the end seen above stay where they are.
  auto bytes = read_at(fd_, path_, offset, want);
  if (!bytes) return tl::unexpected(bytes.error());
  return decode_clicks(*bytes, lap);
}

Result<bool> ClickLog::start_lap_if_consumed(std::uint64_t consumed, std::uint64_t min_bytes) {
  std::lock_guard lock(mutex_);
  if (consumed != end_ || end_ - base_ < min_bytes) return false;
  if (extent_ > kShrinkAbove) {
    if (::ftruncate(fd_, 0) != 0) {
      return fail(path_.string() + ": cannot shrink the click log: " + errno_text());
    }
    extent_ = 0;
  }
  ++lap_;
  base_ = end_;
  return true;
}

}  // namespace reelflow::store
