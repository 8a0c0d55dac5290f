#include "server/endpoint.hpp"

#include <charconv>

namespace reelflow::server {

std::string ControlEndpoint::to_string() const {
  if (kind == Kind::unix_socket) return "unix:" + path;
  bool ipv6 = host.find(':') != std::string::npos;
  return "tcp:" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ControlEndpoint> parse_control_endpoint(std::string_view text) {
  auto problem = [&](std::string_view what) {
    return fail("control endpoint '" + std::string(text) + "': " + std::string(what) +
                " (expected unix:PATH or tcp:HOST:PORT)");
  };
  ControlEndpoint endpoint;
  if (text.starts_with("unix:")) {
    endpoint.path = std::string(text.substr(5));
    if (endpoint.path.empty()) return problem("empty socket path");
    // sockaddr_un holds 108 bytes including the terminating NUL.
    if (endpoint.path.size() > 107) return problem("socket path longer than 107 bytes");
    if (endpoint.path.find('\0') != std::string::npos) return problem("NUL in socket path");
    return endpoint;
  }
  if (!text.starts_with("tcp:")) return problem("unknown scheme");
  endpoint.kind = ControlEndpoint::Kind::tcp;
  std::string_view rest = text.substr(4);
  std::string_view port_text;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return problem("unclosed '[' in host");
    endpoint.host = std::string(rest.substr(1, close - 1));
    if (rest.size() <= close + 1 || rest[close + 1] != ':') return problem("missing port");
    port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return problem("missing port");
    endpoint.host = std::string(rest.substr(0, colon));
    if (endpoint.host.find(':') != std::string::npos) {
      return problem("put an IPv6 address in brackets");
    }
    port_text = rest.substr(colon + 1);
  }
  if (endpoint.host.empty()) return problem("empty host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return problem("port must be a number from 0 to 65535");
  }
  endpoint.port = static_cast<unsigned short>(port);
  return endpoint;
}

}  // namespace reelflow::server
