#include "cli/control_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 mode needs it

namespace reelflow::cli {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr std::size_t kMaxReplyBytes = 256 * 1024 * 1024;

std::string unreachable_message(const server::ControlEndpoint& endpoint, const error_code& ec) {
  std::string text = "cannot reach reelflowd at " + endpoint.to_string() + ": " + ec.message();
  if (ec == boost::system::errc::permission_denied) {
    return text + ".\nYour user may not use the control socket; add it to the 'reelflow' group " +
           "(then log in again) or run as root.";
  }
  return text +
         ".\nIs the daemon running? Check with 'systemctl status reelflowd'; start it with "
         "'systemctl start reelflowd'.\nFor another socket, pass --control unix:PATH|tcp:HOST:PORT "
         "or set REELFLOW_CONTROL.";
}

// Runs connect, write and read as one chain on a private io_context, bounded by `timeout`.
template <typename Socket, typename Connect>
Result<ControlReply> exchange(net::io_context& io, Socket& socket, Connect connect,
                              http::request<http::string_body>& request,
                              const server::ControlEndpoint& endpoint,
                              std::chrono::milliseconds timeout) {
  std::optional<error_code> connected, written, read;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  connect([&](error_code ec) {
    connected = ec;
    if (ec) return;
    http::async_write(socket, request, [&](error_code write_ec, std::size_t) {
      written = write_ec;
      if (write_ec) return;
      http::async_read(socket, buffer, parser,
                       [&](error_code read_ec, std::size_t) { read = read_ec; });
    });
  });
  io.run_for(timeout);
  std::string name = endpoint.to_string();
  std::string seconds = std::to_string(timeout.count() / 1000);
  if (!connected) return fail("timed out after " + seconds + " s connecting to " + name);
  if (*connected) return fail(unreachable_message(endpoint, *connected));
  if (!written) return fail("timed out after " + seconds + " s sending to " + name);
  if (*written) return fail("cannot send the request to " + name + ": " + written->message());
  if (!read) return fail("timed out after " + seconds + " s waiting for " + name + " to answer");
  if (*read) return fail("bad answer from " + name + ": " + read->message());
  auto response = parser.release();
  ControlReply reply;
  reply.status = response.result_int();
  reply.content_type = std::string(response[http::field::content_type]);
  reply.body = std::move(response.body());
  return reply;
}

}  // namespace


ControlClient::ControlClient(server::ControlEndpoint endpoint, std::string token,
                             std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), token_(std::move(token)), timeout_(timeout) {}

Result<ControlReply> ControlClient::request(std::string_view method, const std::string& target,
                                            const std::string& body) {
  http::request<http::string_body> request;
  request.method_string(beast::string_view(method.data(), method.size()));
  request.target(target);
  request.version(11);
  request.set(http::field::host, endpoint_.is_tcp() ? endpoint_.host : "localhost");
  request.set(http::field::user_agent, "reelflow-cli");
  request.set(http::field::accept, "application/json");
  request.keep_alive(false);
  if (endpoint_.is_tcp() && !token_.empty()) {
    request.set(http::field::authorization, "Bearer " + token_);
  }
  if (!body.empty() || method == "POST") {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();

  net::io_context io;
  if (!endpoint_.is_tcp()) {
    net::local::stream_protocol::socket socket(io);
    net::local::stream_protocol::endpoint where(endpoint_.path);
    return exchange(
        io, socket, [&](auto handler) { socket.async_connect(where, handler); }, request, endpoint_,
        timeout_);
  }
  net::ip::tcp::resolver resolver(io);
  error_code ec;
  auto addresses = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
  if (ec) return fail("cannot resolve " + endpoint_.to_string() + ": " + ec.message());
  net::ip::tcp::socket socket(io);
  return exchange(
      io, socket,
      [&](auto handler) {
        net::async_connect(socket, addresses,
                           [handler](error_code connect_ec, const auto&) { handler(connect_ec); });
      },
      request, endpoint_, timeout_);
}

}  // namespace reelflow::cli
