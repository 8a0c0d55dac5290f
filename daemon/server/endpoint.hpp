// Control endpoints as written on command lines and in config: `unix:PATH` or `tcp:HOST:PORT`
// (HOST may be a name, an IPv4 address or a bracketed IPv6 address: `tcp:[::1]:7070`).
// Shared by the server (what to listen on) and the CLI (what to connect to).
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace reelflow::server {

inline constexpr std::string_view kDefaultControlEndpoint = "unix:/run/reelflow/control.sock";

struct ControlEndpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix_socket
  std::string host;  // tcp, without brackets
  unsigned short port = 0;

  bool is_tcp() const { return kind == Kind::tcp; }
  std::string to_string() const;
};

// Errors name the text and what is wrong with it.
Result<ControlEndpoint> parse_control_endpoint(std::string_view text);

}  // namespace reelflow::server
