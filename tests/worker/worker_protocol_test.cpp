// The worker protocol's framing: round trips, and every malformed input a worker could send is an
// Error, never a crash.
#include "plugin_host/worker_protocol.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace reelflow::plugin_host::worker_protocol {
namespace {

using nlohmann::json;

std::string header(std::uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length)};
}

TEST(WorkerProtocol, FrameIsBigEndianLengthThenCompactJson) {
  auto frame = encode_frame({{"type", "cancel"}, {"id", 7}});
  ASSERT_TRUE(frame.has_value());
  std::string payload = R"({"id":7,"type":"cancel"})";
  EXPECT_EQ(*frame, header(static_cast<std::uint32_t>(payload.size())) + payload);
}

TEST(WorkerProtocol, DecoderReassemblesFramesFedByteByByte) {
  std::string stream = *encode_frame({{"type", "log"}, {"message", "héllo"}}) +
                       *encode_frame({{"type", "result"}, {"id", 1}});
  FrameDecoder decoder;
  std::vector<json> messages;
  for (char byte : stream) {
    decoder.feed(std::string_view(&byte, 1));
    while (true) {
      auto message = decoder.next();
      ASSERT_TRUE(message.has_value()) << message.error().message;
      if (!*message) break;
      messages.push_back(**message);
    }
  }
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["message"], "héllo");
  EXPECT_EQ(messages[1]["type"], "result");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST(WorkerProtocol, InvalidUtf8IsRepairedNotRefused) {
  auto frame = encode_frame({{"type", "log"}, {"message", std::string("bad \xff byte")}});
  ASSERT_TRUE(frame.has_value());
  auto message = decode_payload(std::string_view(*frame).substr(kHeaderBytes));
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ((*message)["message"], "bad \xEF\xBF\xBD byte");
}

TEST(WorkerProtocol, OversizedFrameIsAnErrorBeforeAnyBuffering) {
  FrameDecoder decoder;
  decoder.feed(header(static_cast<std::uint32_t>(kMaxFrameBytes + 1)));
  auto message = decoder.next();
  ASSERT_FALSE(message.has_value());
  EXPECT_EQ(message.error().message, "frame of 67108865 bytes exceeds the limit of 64 MiB");
  decoder.feed("more");
  EXPECT_FALSE(decoder.next().has_value());  // stays failed
}

TEST(WorkerProtocol, MalformedPayloadsAreErrors) {
  EXPECT_EQ(decode_payload("{not json").error().message, "message is not valid JSON: {not json");
  EXPECT_EQ(decode_payload("[1,2]").error().message, "message is not a JSON object: [1,2]");
  EXPECT_EQ(decode_payload(R"({"id":1})").error().message, R"(message has no "type": {"id":1})");
  EXPECT_EQ(decode_payload(R"({"type":3})").error().message,
            R"(message has no "type": {"type":3})");
  EXPECT_FALSE(decode_payload("").has_value());
}

TEST(WorkerProtocol, DeepNestingIsRefusedBeforeParsing) {
  std::string deep =
      R"({"type":"x","v":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto message = decode_payload(deep);
  ASSERT_FALSE(message.has_value());
  EXPECT_EQ(message.error().message, "message nested deeper than 256 levels");
  // Brackets inside strings do not count.
  std::string quoted = R"({"type":"x","v":")" + std::string(1000, '[') + R"("})";
  EXPECT_TRUE(decode_payload(quoted).has_value());
}

TEST(WorkerProtocol, ReadFrameOverASocket) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ASSERT_TRUE(write_frame(fds[0], {{"type", "hello"}, {"pid", 1}}).has_value());
  auto first = read_frame(fds[1]);
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ((**first)["type"], "hello");
  // Closed inside a frame: an Error; closed between frames: nullopt.
  std::string partial = header(10) + "{";
  ASSERT_TRUE(write_all(fds[0], partial).has_value());
  ::close(fds[0]);
  auto truncated = read_frame(fds[1]);
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.error().message, "connection closed inside a frame");
  auto end = read_frame(fds[1]);
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->has_value());
  ::close(fds[1]);
}

TEST(WorkerProtocol, WritingToAClosedPeerIsAnErrorNotSigpipe) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  auto written = write_frame(fds[0], {{"type", "cancel"}});
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().message, "cannot write to the worker socket: Broken pipe");
  ::close(fds[0]);
}

TEST(WorkerProtocol, AccessorsNeverThrow) {
  json message = {{"type", "x"}, {"id", -1}, {"n", 2.5}, {"s", 3}, {"o", {{"a", 1}}}};
  EXPECT_EQ(get_uint(message, "id"), std::nullopt);
  EXPECT_EQ(get_int(message, "id"), -1);
  EXPECT_EQ(get_string(message, "s"), std::nullopt);
  EXPECT_EQ(get_number(message, "n"), 2.5);
  EXPECT_EQ(get_bool(message, "n"), std::nullopt);
  EXPECT_NE(get_object(message, "o"), nullptr);
  EXPECT_EQ(get_object(message, "missing"), nullptr);
  EXPECT_EQ(get_string(json::array(), "type"), std::nullopt);
}

TEST(WorkerProtocol, DescribeBytes) {
  EXPECT_EQ(describe_bytes(100), "100 bytes");
  EXPECT_EQ(describe_bytes(512ull << 20), "512 MiB");
  EXPECT_EQ(describe_bytes(3ull << 29), "1.5 GiB");
}

}  // namespace
}  // namespace reelflow::plugin_host::worker_protocol
