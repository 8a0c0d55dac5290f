// A blocking HTTP/1.1 client for the daemon's control API, over the Unix socket or loopback TCP
// (with a bearer token). Each request opens a connection, sends, reads the whole reply and
// closes; a deadline bounds the whole exchange. Beast stays inside control_client.cpp.
// Thread-safety: one thread per client.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/url.hpp"
#include "server/endpoint.hpp"

namespace reelflow::cli {

struct ControlReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class ControlClient {
 public:
  ControlClient(server::ControlEndpoint endpoint, std::string token,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Any HTTP status is a reply; the error side is for transport problems only, with a message
  // that names the endpoint and, when the daemon is unreachable, what to do about it.
  Result<ControlReply> request(std::string_view method, const std::string& target,
                               const std::string& body = {});

  const server::ControlEndpoint& endpoint() const { return endpoint_; }

 private:
  server::ControlEndpoint endpoint_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};


}  // namespace reelflow::cli
