#include "plugin_host/worker_protocol.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

namespace reelflow::plugin_host::worker_protocol {

namespace {

using nlohmann::json;

std::uint32_t read_length(const char* header) {
  const auto byte = [&](int i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(header[i]));
  };
  return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}

Error oversized(std::uint64_t length) {
  return Error{"frame of " + std::to_string(length) + " bytes exceeds the limit of " +
               describe_bytes(kMaxFrameBytes)};
}

// The deepest nesting of arrays and objects in text, outside strings; stops counting once past
// the limit. The text need not be valid JSON: the parser checks that afterwards.
bool nesting_within_limit(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNestingDepth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::string preview(std::string_view payload) {
  constexpr std::size_t kPreview = 60;
  std::string shown;
  for (char c : payload.substr(0, kPreview)) {
    shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (payload.size() > kPreview) shown += "...";
  return shown;
}

}  // namespace

Result<std::string> encode_frame(const json& message) {
  std::string payload;
  try {
    payload = message.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return fail(std::string("cannot encode a message: ") + e.what());
  }
  if (payload.size() > kMaxFrameBytes) return tl::unexpected(oversized(payload.size()));
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::string frame;
  frame.reserve(kHeaderBytes + payload.size());
  frame += static_cast<char>((length >> 24) & 0xff);
  frame += static_cast<char>((length >> 16) & 0xff);
  frame += static_cast<char>((length >> 8) & 0xff);
  frame += static_cast<char>(length & 0xff);
  frame += payload;
  return frame;
}

Result<json> decode_payload(std::string_view payload) {
  if (!nesting_within_limit(payload)) {
    return fail("message nested deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  json message = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return fail("message is not valid JSON: " + preview(payload));
  if (!message.is_object()) return fail("message is not a JSON object: " + preview(payload));
  auto type = message.find("type");
  if (type == message.end() || !type->is_string()) {
    return fail("message has no \"type\": " + preview(payload));
  }
  return message;
}

Result<void> write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t written = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // SO_SNDTIMEO: the peer stopped reading
        return fail("timed out writing to the worker socket: the other side stopped reading");
      }
      return fail(std::string("cannot write to the worker socket: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

Result<void> write_frame(int fd, const json& message) {
  auto frame = encode_frame(message);
  if (!frame) return tl::unexpected(frame.error());
  return write_all(fd, *frame);
}

namespace {

// Reads exactly size bytes. Returns the number read before a clean end of stream (< size), or an
// Error.
Result<std::size_t> read_exactly(int fd, char* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t got = ::read(fd, out + done, size - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return fail(std::string("cannot read from the worker socket: ") + std::strerror(errno));
    }
    if (got == 0) return done;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

}  // namespace

Result<std::optional<json>> read_frame(int fd) {
  char header[kHeaderBytes];
  auto got = read_exactly(fd, header, kHeaderBytes);
  if (!got) return tl::unexpected(got.error());
  if (*got == 0) return std::optional<json>();
  if (*got < kHeaderBytes) return fail("connection closed inside a frame header");
  std::uint32_t length = read_length(header);
  if (length > kMaxFrameBytes) return tl::unexpected(oversized(length));
  std::string payload(length, '\0');
  got = read_exactly(fd, payload.data(), length);
  if (!got) return tl::unexpected(got.error());
  if (*got < length) return fail("connection closed inside a frame");
  auto message = decode_payload(payload);
  if (!message) return tl::unexpected(message.error());
  return std::optional<json>(std::move(*message));
}

void FrameDecoder::feed(std::string_view bytes) {
  if (failed_) return;
  // Drop what was consumed before growing, so the buffer holds at most one frame plus one read.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<json>> FrameDecoder::next() {
  if (failed_) return tl::unexpected(*failed_);
  std::string_view rest(buffer_);
  rest.remove_prefix(consumed_);
  if (rest.size() < kHeaderBytes) return std::optional<json>();
  std::uint32_t length = read_length(rest.data());
  if (length > kMaxFrameBytes) {
    failed_ = oversized(length);
    buffer_.clear();
    consumed_ = 0;
    return tl::unexpected(*failed_);
  }
  if (rest.size() < kHeaderBytes + length) return std::optional<json>();
  auto message = decode_payload(rest.substr(kHeaderBytes, length));
  consumed_ += kHeaderBytes + length;
  if (!message) {
    failed_ = message.error();
    return tl::unexpected(*failed_);
  }
  return std::optional<json>(std::move(*message));
}

std::optional<std::string> get_string(const json& message, std::string_view key) {
  if (!message.is_object()) return std::nullopt;
  auto found = message.find(key);
  if (found == message.end() || !found->is_string()) return std::nullopt;
  return found->get<std::string>();
}

std::optional<std::uint64_t> get_uint(const json& message, std::string_view key) {
  if (!message.is_object()) return std::nullopt;
  auto found = message.find(key);
  if (found == message.end() || !found->is_number_unsigned()) return std::nullopt;
  return found->get<std::uint64_t>();
}

std::optional<std::int64_t> get_int(const json& message, std::string_view key) {
  if (!message.is_object()) return std::nullopt;
  auto found = message.find(key);
  if (found == message.end() || !found->is_number_integer()) return std::nullopt;
  if (found->is_number_unsigned()) {
    auto value = found->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(value);
  }
  return found->get<std::int64_t>();
}

std::optional<double> get_number(const json& message, std::string_view key) {
  if (!message.is_object()) return std::nullopt;
  auto found = message.find(key);
  if (found == message.end() || !found->is_number()) return std::nullopt;
  return found->get<double>();
}

std::optional<bool> get_bool(const json& message, std::string_view key) {
  if (!message.is_object()) return std::nullopt;
  auto found = message.find(key);
  if (found == message.end() || !found->is_boolean()) return std::nullopt;
  return found->get<bool>();
}

const json* get_object(const json& message, std::string_view key) {
  if (!message.is_object()) return nullptr;
  auto found = message.find(key);
  if (found == message.end() || !found->is_object()) return nullptr;
  return &*found;
}

std::string describe_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char text[48];
  std::snprintf(text, sizeof text, "%.4g %s", value, kUnits[unit]);
  return text;
}

}  // namespace reelflow::plugin_host::worker_protocol
