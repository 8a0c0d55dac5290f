// The control API's HTTP/1.1 server: listens on a Unix socket and/or loopback TCP, parses
// requests with Boost.Beast, checks authorisation and calls a ControlBackend (routes and JSON
// shapes are listed in control.hpp). Everything runs on the daemon's io_context; nothing blocks.
//
// Contract:
// - Unix socket: a stale socket file is replaced, but start() refuses when a live server answers
//   on it. The socket gets mode 0660 and, when `socket_group` names an existing group, that group.
//   stop() removes the socket file.
// - TCP: every request needs `Authorization: Bearer <token>` (compared in constant time); start()
//   refuses a TCP endpoint without a token, and a non-loopback address unless allowed.
// - Limits: body size (413), header size (431), an idle/request timeout per connection (a slow
//   client is closed), a cap on concurrent connections (extra ones are closed at once).
// - Hostile or malformed input gets a 4xx answer or a closed connection, never a crash.
//
// Thread-safety: one thread. Construct, start() and stop() on the loop thread (or before the
// loop runs); the backend is called on the loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "server/control.hpp"
#include "server/endpoint.hpp"

namespace boost::asio {
class io_context;
}

namespace reelflow::server {

struct ControlServerConfig {
  std::vector<ControlEndpoint> endpoints;          // at least one
  std::string token;                               // required when an endpoint is TCP
  std::string socket_group;                        // e.g. "reelflow"; skipped when empty or unknown
  bool allow_non_loopback = false;                 // permit TCP on addresses other than loopback
  std::chrono::milliseconds idle_timeout{30'000};  // per request, and between keep-alive requests
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 64;
};

class ControlServer {
 public:
  // The backend and logger must outlive the server (or at least its stop()).
  ControlServer(boost::asio::io_context& io, ControlBackend& backend, ControlServerConfig config,
                const Logger& logger);
  ~ControlServer();  // calls stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Opens every listener and starts accepting. On error nothing is left listening and the
  // message names the endpoint and the cause.
  Result<void> start();
  // Closes the listeners and every open connection; in-flight requests are dropped. Idempotent.
  void stop();

  // The endpoints actually bound (a TCP port 0 resolved to the ephemeral port), after start().
  std::vector<ControlEndpoint> bound_endpoints() const;
  std::size_t open_connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Constant-time equality for secrets: the time taken depends on the lengths only.
bool secrets_equal(std::string_view given, std::string_view expected);

}  // namespace reelflow::server
