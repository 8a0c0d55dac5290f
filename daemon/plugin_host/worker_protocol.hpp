// The wire protocol between reelflowd (WorkerPool) and a reelflow-worker process.
//
// Transport: one end of a socketpair(AF_UNIX, SOCK_STREAM) each. Every message is a frame: a
// 4-byte big-endian payload length, then that many bytes of compact JSON holding one object with a
// string member "type". A frame longer than kMaxFrameBytes, a payload that is not a JSON object
// with a "type", or JSON nested deeper than kMaxNestingDepth is a protocol error: the reader gives
// up on that peer (the daemon kills and replaces the worker); nothing is ever parsed past it.
//
// The worker is untrusted (it runs plugin code), so the daemon side treats every field as
// optional and wrongly typed until checked; accessors below never throw.
//
// Messages, daemon -> worker:
//   {"type":"init", "plugin_config":{...}}
//       First frame after start. plugin_config maps plugin name -> object (the daemon-level
//       configuration of each plugin). Sent over the socket rather than argv because it may hold
//       credentials, and argv is readable by every user through /proc/PID/cmdline.
//   {"type":"run", "id":N, "step_type":"x.y", "options":{...}, "context":{...},
//    "artifact_dir":"/path", "intent":{...}?}
//       Run one step (reconcile it when "intent" is present). One at a time: the daemon sends the
//       next "run" only after the "result" for N. N grows per worker and tags everything below.
//   {"type":"cancel", "id":N}
//       Ask run N to stop (Executor::cancel: the plugin's cancel callback and rf_host.cancelled).
//       A cancel for a run that has finished is ignored.
//   {"type":"reply", "call":K, "ok":bool, "value":"text"|null}
//       The answer to host-service call K. secret/state_get: value null = no such entry.
//       state_set: ok false = the store refused. host_call: ok true with the answer (JSON object
//       text), or ok false with why in value (text a person reads; null when nothing is known).
//
// Messages, worker -> daemon:
//   {"type":"hello", "pid":P, "step_types":["x.y",...], "load_errors":["file: why",...]}
//       Sent once after "init", when the plugins are loaded. The worker is then idle.
//   {"type":"log", "id":N, "level":0..3, "message":"..."}              rf_host.log during run N
//   {"type":"progress", "id":N, "fraction":F, "message":"..."}          rf_host.progress (the
//       worker rate-limits these; F < 0 means unknown)
//   {"type":"call", "id":N, "call":K, "service":"secret"|"state_get"|"state_set"|
//    "checkpoint_set"|"checkpoint_get"|"account_get"|"account_set"|"host_call", "name":"...",
//    "value":"text"|null}
//       A host service only the daemon can answer; the plugin thread blocks until "reply" K.
//       "name" is the secret's name or the state key; "value" is used by state_set (null
//       deletes) and checkpoint_set (the checkpoint, JSON object text; the reply comes once it
//       is durable). checkpoint_get answers the execution's last checkpoint as JSON text, or
//       null. account_get/account_set read and replace a publishing account's record ("name"
//       is the account, "value" JSON object text; the set reply comes once it is durable).
//       host_call is rf_host.call (ABI 1.3): "name" is the daemon service ("links.create"),
//       "value" the request, JSON object text. K is unique per worker.
//   {"type":"result", "id":N, "status":0..3, "outputs":{...}, "error":"..."}
//       Run N finished: rf_status and what the plugin recorded (Executor's StepOutcome).
//   {"type":"result", "id":N, "host_error":"..."}
//       Run N could not be started in the worker (unknown step type, instance creation failed):
//       the worker is healthy and stays in service.
//   {"type":"result", "id":N, "exception":"what()", "out_of_memory":bool, "retire":true}
//       A C++ exception escaped the plugin's raw C callback (a plugin.hpp step catches its own).
//       The instance's state is unknown, so the worker asks to be retired.
//   {"type":"fatal", "id":N, "exception":"what()", "out_of_memory":bool}
//       Last words from the worker's std::terminate handler (an exception that escaped a noexcept
//       plugin function, or one thrown on a plugin's own thread) just before it aborts.
//
// Thread-safety: free functions are reentrant; a FrameDecoder is one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace reelflow::plugin_host::worker_protocol {

inline constexpr std::size_t kMaxFrameBytes = 64u * 1024u * 1024u;
inline constexpr std::size_t kMaxNestingDepth = 256;
inline constexpr std::size_t kHeaderBytes = 4;

// The frame for message: header and compact JSON. Strings that are not valid UTF-8 are repaired
// (U+FFFD) rather than refused: plugin log lines are arbitrary bytes. Fails if the payload would
// exceed kMaxFrameBytes.
Result<std::string> encode_frame(const nlohmann::json& message);

// Parses one payload (without header): a JSON object with a string "type", nested at most
// kMaxNestingDepth deep (checked before parsing: nlohmann's parser recurses).
Result<nlohmann::json> decode_payload(std::string_view payload);

// Writes all of bytes to a socket (send with MSG_NOSIGNAL: a closed peer is an Error, never
// SIGPIPE), retrying on EINTR and short writes. Blocking; a socket with SO_SNDTIMEO (the daemon's
// end) gives an Error when the peer stops reading for that long.
Result<void> write_all(int fd, std::string_view bytes);

// encode_frame + write_all.
Result<void> write_frame(int fd, const nlohmann::json& message);

// Reads one frame, blocking. nullopt: the peer closed the connection cleanly between frames.
// An Error: I/O error, a connection closed inside a frame, or a protocol error.
Result<std::optional<nlohmann::json>> read_frame(int fd);

// Splits a byte stream into messages, for readers that poll (the daemon side). Feed what read()
// returned, then call next() until it yields nullopt. After an Error the decoder stays failed.
class FrameDecoder {
 public:
  void feed(std::string_view bytes);
  // The next complete message, nullopt if more bytes are needed, or the protocol error.
  Result<std::optional<nlohmann::json>> next();
  // Bytes buffered that do not form a complete frame yet.
  std::size_t pending_bytes() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::optional<Error> failed_;
};

// Field access that never throws: nullopt when absent or of another type.
std::optional<std::string> get_string(const nlohmann::json& message, std::string_view key);
std::optional<std::uint64_t> get_uint(const nlohmann::json& message, std::string_view key);
std::optional<std::int64_t> get_int(const nlohmann::json& message, std::string_view key);
std::optional<double> get_number(const nlohmann::json& message, std::string_view key);
std::optional<bool> get_bool(const nlohmann::json& message, std::string_view key);
// The member if it is an object, else nullptr.
const nlohmann::json* get_object(const nlohmann::json& message, std::string_view key);

// "64 MiB", "1.5 GiB", "512 KiB", "100 bytes": sizes in messages.
std::string describe_bytes(std::uint64_t bytes);

}  // namespace reelflow::plugin_host::worker_protocol
