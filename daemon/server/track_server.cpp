#include "server/track_server.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 mode needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/sha256.hpp"
#include "track/conversion.hpp"
#include "track/user_agent.hpp"

namespace reelflow::server {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using nlohmann::json;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::chrono::seconds kLinkCacheTtl{30};
// A 1x1 transparent GIF.
constexpr unsigned char kPixel[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00,
                                    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21,
                                    0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
                                    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44,
                                    0x01, 0x00, 0x3b};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Response make_response(const Request& request, http::status status, std::string body,
                       const char* content_type) {
  Response response{status, request.version()};
  response.set(http::field::server, "reelflowd");
  response.set(http::field::cache_control, "no-store");
  if (content_type != nullptr) response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

Response json_response(const Request& request, http::status status, const json& body) {
  return make_response(request, status,
                       body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                       "application/json");
}

Response error_response(const Request& request, http::status status, std::string_view message) {
  return json_response(request, status, json{{"error", message}});
}

// A target with rf_click=<id> added to its query, before any fragment.
std::string with_click(const std::string& target, const std::string& click_id) {
  const auto hash = target.find('#');
  std::string base = target.substr(0, hash);
  const std::string fragment = hash == std::string::npos ? "" : target.substr(hash);
  base += base.find('?') == std::string::npos ? '?' : '&';
  base += "rf_click=" + click_id;
  return base + fragment;
}

bool valid_code(std::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string to_text(beast::string_view view) { return std::string(view.data(), view.size()); }

// host:port -> endpoint (IPv4, IPv6 in brackets, or "localhost").
Result<tcp::endpoint> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return fail("listen '" + text + "' must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(port_text, &used);
    if (used != port_text.size()) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) return fail("listen '" + text + "': bad port '" + port_text + "'");
  error_code error;
  auto address = net::ip::make_address(host, error);
  if (error) return fail("listen '" + text + "': '" + host + "' is not an IP address");
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

}  // namespace

struct TrackServer::Impl : std::enable_shared_from_this<TrackServer::Impl> {
  Impl(net::io_context& io_context, store::TrackStore& track_store, TrackServerConfig configured,
       SourceSecret source_secrets, const Logger& log)
      : io(io_context),
        store(track_store),
        config(std::move(configured)),
        secrets(std::move(source_secrets)),
        logger(log),
        acceptor(io_context) {}

  struct CachedLink {
    bool found = false;
    bool enabled = false;
    std::string target;
    std::chrono::steady_clock::time_point loaded;
  };

  class Session;

  net::io_context& io;
  store::TrackStore& store;
  TrackServerConfig config;
  SourceSecret secrets;
  const Logger& logger;
  tcp::acceptor acceptor;
  std::string bound_text;
  std::string public_base;
  std::unordered_map<std::string, CachedLink> links;
  std::unordered_set<Session*> sessions;
  TrackCounters counts;
  bool stopped = false;
  std::unique_ptr<net::thread_pool> conversion_pool;
  std::chrono::steady_clock::time_point last_store_error{};

  const CachedLink& link(const std::string& code) {
    auto now = std::chrono::steady_clock::now();
    auto found = links.find(code);
    if (found != links.end() && now - found->second.loaded < kLinkCacheTtl) return found->second;
    CachedLink entry;
    entry.loaded = now;
    if (auto loaded = store.find_link(code); loaded && *loaded) {
      entry.found = true;
      entry.enabled = (*loaded)->enabled;
      entry.target = (*loaded)->target;
    } else if (!loaded) {
      logger.error("tracking: cannot read link " + code + ": " + loaded.error().message);
      entry.loaded = now - kLinkCacheTtl;  // not cached
    }
    if (links.size() > 100'000) links.clear();
    return links[code] = std::move(entry);
  }

  void accept();

  // Redirects of one round of the loop: their clicks go to the click log with one write (at the
  // end of the round, posted behind the other handlers ready in it), then each gets its answer.
  struct PendingRedirect {
    std::shared_ptr<Session> session;
    std::string location;
  };
  std::vector<store::Click> round_clicks;
  std::vector<PendingRedirect> round;
  void queue_redirect(store::Click click, PendingRedirect redirect);
  void log_round();
};

class TrackServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Impl> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {
    server_->sessions.insert(this);
  }
  ~Session() { server_->sessions.erase(this); }

  void start() { read(server_->config.read_timeout); }
  void close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  // timeout: for the whole request (the first one), or for the next one on a kept-alive
  // connection (the idle timeout).
  void read(std::chrono::milliseconds timeout) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->config.max_header_bytes));
    parser_->body_limit(server_->config.max_body_bytes);
    // The whole request must arrive within the timeout: a client that trickles bytes (slow
    // loris) is closed when it runs out.
    stream_.expires_after(timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code error, std::size_t) {
                       self->on_read(error);
                     });
  }

  void on_read(error_code error) {
    if (error == http::error::end_of_stream || error == beast::error::timeout ||
        error == net::error::operation_aborted || error == net::error::connection_reset ||
        error == net::error::eof) {
      return close();
    }
    if (error) {
      // Malformed request or over a limit: answer once and close.
      Request bare;
      bare.version(11);
      bare.keep_alive(false);
      http::status status = http::status::bad_request;
      std::string message = "malformed request: " + error.message();
      if (error == http::error::header_limit) {
        status = http::status::request_header_fields_too_large;
        message = "request headers over " + std::to_string(server_->config.max_header_bytes) +
                  " bytes";
      } else if (error == http::error::body_limit) {
        status = http::status::payload_too_large;
        message = "request body over " + std::to_string(server_->config.max_body_bytes) +
                  " bytes";
      }
      return send(error_response(bare, status, message));
    }
    request_ = parser_->release();
    handle();
  }

  void handle() {
    const Request& request = request_;
    const std::string target = to_text(request.target());
    const std::string path = target.substr(0, target.find('?'));
    const std::string query =
        target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    const auto method = request.method();
    if (path.starts_with("/l/")) {
      if (method != http::verb::get && method != http::verb::head) {
        return send(error_response(request, http::status::method_not_allowed, "use GET"));
      }
      return redirect(path.substr(3), method == http::verb::head);
    }
    if (path == "/c") {
      if (method != http::verb::post) {
        return send(error_response(request, http::status::method_not_allowed, "use POST"));
      }
      return conversion(false, query);
    }
    if (path == "/p.gif") {
      if (method != http::verb::get) {
        return send(error_response(request, http::status::method_not_allowed, "use GET"));
      }
      return conversion(true, query);
    }
    ++server_->counts.not_found;
    send(error_response(request, http::status::not_found, "not found"));
  }

  std::string client_address() {
    std::string address;
    if (server_->config.trust_forwarded_for) {
      const auto forwarded = request_.find("X-Forwarded-For");
      if (forwarded != request_.end()) {
        std::string list = to_text(forwarded->value());
        const auto comma = list.rfind(',');
        address = list.substr(comma == std::string::npos ? 0 : comma + 1);
        address.erase(0, address.find_first_not_of(' '));
        while (!address.empty() && address.back() == ' ') address.pop_back();
      }
    }
    if (address.empty()) {
      if (peer_.empty()) {  // once per connection
        error_code error;
        auto remote = stream_.socket().remote_endpoint(error);
        if (!error) peer_ = remote.address().to_string();
      }
      address = peer_;
    }
    return address;
  }

  // The visitor hash and stored address of (address, user agent), kept for the connection's next
  // request, which almost always comes from the same client.
  struct Visitor {
    std::string address, user_agent, hash, ip;
    track::Classification who;
  };
  const Visitor& visitor(const std::string& address, const std::string& user_agent) {
    if (visitor_.hash.empty() || visitor_.address != address || visitor_.user_agent != user_agent) {
      visitor_.address = address;
      visitor_.user_agent = user_agent;
      visitor_.hash =
          sha256_hex(server_->config.visitor_salt + "\n" + address + "\n" + user_agent).substr(0, 32);
      visitor_.ip = server_->config.raw_ip ? address : track::anonymize_ip(address);
      visitor_.who = track::classify_user_agent(user_agent);
    }
    return visitor_;
  }

  void redirect(const std::string& code, bool head) {
    const Request& request = request_;
    if (!valid_code(code)) {
      ++server_->counts.not_found;
      return send(error_response(request, http::status::not_found, "no such link"));
    }
    const auto& link = server_->link(code);
    if (!link.found) {
      ++server_->counts.not_found;
      return send(error_response(request, http::status::not_found, "no such link"));
    }
    if (!link.enabled) {
      return send(error_response(request, http::status::gone, "this link was disabled"));
    }
    store::Click click;
    click.at = now_ms();
    click.id = store::new_click_id(click.at);
    click.code = code;
    const auto agent_header = request.find(http::field::user_agent);
    click.user_agent =
        agent_header == request.end() ? "" : to_text(agent_header->value()).substr(0, 512);
    const auto referer = request.find(http::field::referer);
    click.referer = referer == request.end() ? "" : to_text(referer->value()).substr(0, 512);
    const Visitor& visiting = visitor(client_address(), click.user_agent);
    const auto& who = visiting.who;
    click.kind = head ? "head" : std::string(track::visitor_name(who.kind));
    click.agent = head ? (who.agent.empty() ? "HEAD request" : who.agent) : who.agent;
    click.visitor = visiting.hash;
    click.ip = visiting.ip;
    std::string location = with_click(link.target, click.id);
    server_->queue_redirect(std::move(click), {shared_from_this(), std::move(location)});
  }

 public:
  void clicked(const Result<void>& written, const std::string& location) {
    const Request& request = request_;
    if (!written) {
      ++server_->counts.unavailable;
      auto now = std::chrono::steady_clock::now();
      if (now - server_->last_store_error > std::chrono::seconds(10)) {
        server_->last_store_error = now;
        server_->logger.error("tracking: answering 503, a click could not be stored: " +
                              written.error().message);
      }
      Response response = error_response(request, http::status::service_unavailable,
                                         "the click could not be recorded; try again");
      response.set(http::field::retry_after, "5");
      return send(std::move(response));
    }
    ++server_->counts.redirects;
    // The hot path: the 302 written as text, not through Beast's serializer (a third of the
    // loop's CPU per redirect). Targets are checked for control characters when links are made.
    // A HEAD request gets the same answer: it has no body either.
    const bool keep = request.keep_alive() && !server_->stopped;
    raw_response_.clear();
    raw_response_ += request.version() == 10 ? "HTTP/1.0 302 Found\r\n" : "HTTP/1.1 302 Found\r\n";
    raw_response_ += "Server: reelflowd\r\nCache-Control: no-store\r\nLocation: ";
    raw_response_ += location;
    raw_response_ += "\r\nContent-Length: 0\r\n";
    if (!keep) {
      raw_response_ += "Connection: close\r\n";
    } else if (request.version() == 10) {
      raw_response_ += "Connection: keep-alive\r\n";
    }
    raw_response_ += "\r\n";
    net::async_write(stream_, net::buffer(raw_response_),
                     [self = shared_from_this(), keep](error_code error, std::size_t) {
                       if (error || !keep) return self->close();
                       self->read(self->server_->config.idle_timeout);
                     });
  }

 private:
  // A postback gets JSON; a pixel always gets its GIF (the status still tells what happened).
  void conversion_reply(bool pixel, http::status status, const json& body) {
    if (!pixel) return send(json_response(request_, status, body));
    send(make_response(request_, status,
                       std::string(reinterpret_cast<const char*>(kPixel), sizeof kPixel),
                       "image/gif"));
  }

  void conversion(bool pixel, const std::string& query) {
    const Request& request = request_;
    std::string source;
    if (pixel) {
      source = track::pixel_source(query);
    } else {
      const auto header = request.find("X-Reelflow-Source");
      source = header == request.end() ? "default" : to_text(header->value());
    }
    auto secret = server_->secrets(source);
    if (!secret) {
      ++server_->counts.rejected;
      return conversion_reply(pixel, http::status::unauthorized,
                   json{{"error", "unknown source '" + source.substr(0, 64) +
                                      "': no secret conversion." + source.substr(0, 64)}});
    }
    const std::int64_t now_s = now_ms() / 1000;
    Result<track::Conversion> parsed = fail("");
    if (pixel) {
      parsed = track::parse_pixel(query, *secret, now_s, server_->config.replay_window_s);
    } else {
      const auto signature = request.find("X-Reelflow-Signature");
      if (signature == request.end()) {
        ++server_->counts.rejected;
        return conversion_reply(pixel, http::status::unauthorized,
                     json{{"error", "no X-Reelflow-Signature header"}});
      }
      if (auto verified = track::verify_signature(to_text(signature->value()), request.body(),
                                                  *secret, now_s, server_->config.replay_window_s);
          !verified) {
        ++server_->counts.rejected;
        return conversion_reply(pixel, http::status::unauthorized, json{{"error", verified.error().message}});
      }
      const auto type = request.find(http::field::content_type);
      parsed = track::parse_conversion(type == request.end() ? "" : to_text(type->value()),
                                       request.body());
    }
    if (!parsed) {
      ++server_->counts.rejected;
      const bool signature_problem = pixel && parsed.error().message.find("sig") != std::string::npos;
      return conversion_reply(pixel, signature_problem ? http::status::unauthorized : http::status::bad_request,
                   json{{"error", parsed.error().message}});
    }
    store::NewConversion conversion;
    conversion.source = source;
    conversion.click_id = parsed->click_id;
    conversion.code = parsed->code;
    conversion.event = parsed->event;
    conversion.value = parsed->value;
    conversion.currency = parsed->currency;
    conversion.order_id = parsed->order_id;
    conversion.at = parsed->at_ms.value_or(now_ms());
    // The store's write waits for the disk: off the loop thread.
    auto self = shared_from_this();
    net::post(*server_->conversion_pool, [self, conversion, pixel] {
      auto outcome = self->server_->store.record_conversion(
          conversion, self->server_->config.attribution_window_ms, now_ms());
      net::post(self->stream_.get_executor(), [self, outcome, pixel] {
        self->converted(outcome, pixel);
      });
    });
  }

  void converted(const Result<store::ConversionOutcome>& outcome, bool pixel) {
    if (!outcome) {
      const std::string& message = outcome.error().message;
      if (message.starts_with("no click ") || message.starts_with("no link ")) {
        ++server_->counts.rejected;
        return conversion_reply(pixel, http::status::not_found, json{{"error", message}});
      }
      server_->logger.error("tracking: a conversion could not be stored: " + message);
      return conversion_reply(pixel, http::status::service_unavailable,
                   json{{"error", "the conversion could not be recorded; send it again"}});
    }
    ++server_->counts.conversions;
    const auto& record = outcome->conversion;
    json body = {{"ok", true},
                 {"id", record.id},
                 {"duplicate", outcome->duplicate},
                 {"attributed", record.attributed},
                 {"link", record.code.empty() ? json(nullptr) : json(record.code)},
                 {"click", record.click_id.empty() ? json(nullptr) : json(record.click_id)}};
    if (!record.attributed) body["why_unattributed"] = outcome->why_unattributed;
    conversion_reply(pixel, http::status::ok, body);
  }

  void send(Response response) {
    response_ = std::make_shared<Response>(std::move(response));
    const bool keep = response_->keep_alive() && !server_->stopped;
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), keep](error_code error, std::size_t) {
                        if (error || !keep) return self->close();
                        self->read(self->server_->config.idle_timeout);
                      });
  }

  std::shared_ptr<Impl> server_;
  std::string peer_;    // the client's address, read once
  Visitor visitor_;     // the last request's visitor
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  std::shared_ptr<Response> response_;
  std::string raw_response_;  // a redirect's answer, kept until written
};

void TrackServer::Impl::queue_redirect(store::Click click, PendingRedirect redirect) {
  if (round.empty()) {
    net::post(io, [self = shared_from_this()] { self->log_round(); });
  }
  round_clicks.push_back(std::move(click));
  round.push_back(std::move(redirect));
}

void TrackServer::Impl::log_round() {
  std::vector<PendingRedirect> answering;
  answering.swap(round);
  auto logged = store.log_clicks(round_clicks, config.duplicate_window_ms);
  round_clicks.clear();
  if (!logged || !store.full_sync()) {
    Result<void> written;
    if (!logged) written = tl::unexpected(logged.error());
    for (auto& redirect : answering) {
      redirect.session->clicked(written, redirect.location);
    }
    return;
  }
  // Full sync: the answers wait for the sync thread's fdatasync, then come back to the loop.
  store.when_synced(*logged, [self = shared_from_this(), answering = std::move(answering)](
                                 const Result<void>& synced) mutable {
    net::post(self->io, [self, answering = std::move(answering), synced]() mutable {
      for (auto& redirect : answering) {
        redirect.session->clicked(synced, redirect.location);
      }
    });
  });
}

void TrackServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code error, tcp::socket socket) {
    if (self->stopped) return;
    if (!error) {
      if (self->sessions.size() >= self->config.max_connections) {
        error_code ignored;
        socket.close(ignored);
      } else {
        socket.set_option(tcp::no_delay(true), error);
        std::make_shared<Session>(self, std::move(socket))->start();
      }
    }
    self->accept();
  });
}

TrackServer::TrackServer(net::io_context& io, store::TrackStore& store, TrackServerConfig config,
                         SourceSecret secrets, const Logger& logger)
    : impl_(std::make_shared<Impl>(io, store, std::move(config), std::move(secrets), logger)) {}

TrackServer::~TrackServer() { stop(); }

Result<void> TrackServer::start() {
  auto endpoint = parse_listen(impl_->config.listen);
  if (!endpoint) return tl::unexpected(endpoint.error());
  error_code error;
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint->protocol(), error);
  if (!error) acceptor.set_option(net::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(*endpoint, error);
  if (!error) acceptor.listen(1024, error);
  if (error) {
    error_code ignored;
    acceptor.close(ignored);
    return fail("tracking listener " + impl_->config.listen + ": " + error.message() +
                (error == net::error::address_in_use
                     ? " (another program uses the port: change `listen` in reelflowd.yaml)"
                     : ""));
  }
  const auto local = acceptor.local_endpoint();
  impl_->bound_text = (local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                               : local.address().to_string()) +
                      ":" + std::to_string(local.port());
  impl_->public_base = impl_->config.public_url.empty() ? "http://" + impl_->bound_text
                                                        : impl_->config.public_url;
  while (!impl_->public_base.empty() && impl_->public_base.back() == '/') {
    impl_->public_base.pop_back();
  }
  impl_->conversion_pool = std::make_unique<net::thread_pool>(1);
  impl_->accept();
  return {};
}

void TrackServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  error_code ignored;
  impl_->acceptor.close(ignored);
  std::vector<Impl::Session*> open(impl_->sessions.begin(), impl_->sessions.end());
  for (auto* session : open) session->close();
  if (impl_->conversion_pool) impl_->conversion_pool->join();
}

std::string TrackServer::bound() const { return impl_->bound_text; }

std::string TrackServer::short_url(const std::string& code) const {
  return impl_->public_base + "/l/" + code;
}

void TrackServer::forget(const std::string& code) { impl_->links.erase(code); }

TrackCounters TrackServer::counters() const { return impl_->counts; }

std::size_t TrackServer::open_connections() const { return impl_->sessions.size(); }

}  // namespace reelflow::server
