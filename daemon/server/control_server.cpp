// The control server: Beast HTTP sessions over Unix-socket and TCP acceptors, routing to a
// ControlBackend. Sessions and listeners are templates over the Asio protocol; everything runs on
// the caller's io_context and is owned through shared_ptr by the pending operations.
#include "server/control_server.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <optional>
#include <unordered_set>
#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 mode needs it

namespace reelflow::server {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using unix_protocol = net::local::stream_protocol;
using boost::system::error_code;
using nlohmann::json;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::chrono::milliseconds kMaxLinger{2'000};
constexpr std::size_t kMaxDrainBytes = 8 * 1024 * 1024;
constexpr int kListenBacklog = 64;
constexpr int kMaxRunLimit = 10'000;

std::string dump_json(const json& value) {
  // Replace invalid UTF-8 instead of throwing: backend data may hold arbitrary file names.
  return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Response make_response(unsigned version, http::status status, std::string body,
                       std::string_view content_type) {
  Response response{status, version};
  response.set(http::field::server, "reelflowd");
  response.set(http::field::content_type,
               beast::string_view(content_type.data(), content_type.size()));
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response json_response(unsigned version, int status, const json& body) {
  return make_response(version, static_cast<http::status>(status), dump_json(body),
                       "application/json");
}

Response error_response(unsigned version, int status, std::string_view message) {
  return json_response(version, status, json{{"error", message}});
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; nullopt on a malformed escape or an encoded NUL. `plus_is_space` for query
// strings (application/x-www-form-urlencoded).
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return std::nullopt;
      out += decoded;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

std::optional<Target> parse_target(std::string_view target) {
  if (!target.starts_with("/")) return std::nullopt;
  Target parsed;
  std::string_view path = target;
  std::string_view query;
  if (auto mark = target.find('?'); mark != std::string_view::npos) {
    path = target.substr(0, mark);
    query = target.substr(mark + 1);
  }
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    auto segment = percent_decode(path.substr(0, slash), false);
    if (!segment) return std::nullopt;
    parsed.segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto equals = pair.find('=');
    auto name = percent_decode(pair.substr(0, equals), true);
    auto value = percent_decode(
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
    if (!name || !value) return std::nullopt;
    if (!name->empty()) parsed.query.emplace_back(std::move(*name), std::move(*value));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return parsed;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool secrets_equal(std::string_view given, std::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char other = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    difference |= static_cast<unsigned char>(static_cast<unsigned char>(expected[i]) ^ other);
  }
  return difference == 0;
}

namespace {

class Closable {
 public:
  virtual ~Closable() = default;
  virtual void close() = 0;
};

}  // namespace

struct ControlServer::Impl {
  Impl(net::io_context& io_context, ControlBackend& control_backend, ControlServerConfig cfg,
       const Logger& log)
      : io(io_context), backend(control_backend), config(std::move(cfg)), logger(log) {}

  net::io_context& io;
  ControlBackend& backend;
  ControlServerConfig config;
  const Logger& logger;
  bool started = false;
  bool stopped = false;
  std::vector<std::shared_ptr<Closable>> listeners;
  std::unordered_set<Closable*> sessions;
  std::vector<ControlEndpoint> bound;
  // Socket files this server created, with their identity, removed on stop() if still ours.
  std::vector<std::pair<std::string, std::pair<dev_t, ino_t>>> socket_files;
  // Answers that read a lot (reports, experiments) are built here, off the event loop, which
  // also serves the tracking server's redirects.
  std::unique_ptr<net::thread_pool> slow_pool;

  Response handle(const Request& request, bool over_tcp);
  Response route(const Request& request, const Target& target);
  Response call(unsigned version, std::string_view what,
                const std::function<ControlResult<json>()>& function);
};

namespace {

using ImplPtr = std::shared_ptr<ControlServer::Impl>;

template <typename Protocol>
class Session : public Closable, public std::enable_shared_from_this<Session<Protocol>> {
 public:
  Session(ImplPtr impl, typename Protocol::socket socket, bool over_tcp)
      : impl_(std::move(impl)),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        over_tcp_(over_tcp) {}

  ~Session() override { impl_->sessions.erase(this); }

  void start() {
    impl_->sessions.insert(this);
    read_request();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    timer_.cancel();
    socket_.shutdown(net::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
    impl_->sessions.erase(this);
  }

 private:
  // The deadline covers a whole request (so a client trickling bytes is still cut off) or a
  // whole response write, and the wait for the next keep-alive request.
  void arm_timer(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || self->closed_) return;
      // A re-armed timer whose old expiry was already queued: not yet due.
      if (self->timer_.expiry() > std::chrono::steady_clock::now()) return;
      self->close();
    });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(impl_->config.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(impl_->config.max_body_bytes);
    arm_timer(impl_->config.idle_timeout);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (closed_) return;
    if (impl_->stopped) return close();
    if (ec == http::error::header_limit) {
      return respond(error_response(11, 431, "request header fields too large"), true);
    }
    if (ec == http::error::body_limit) {
      return respond(error_response(11, 413,
                                    "request body larger than " +
                                        std::to_string(impl_->config.max_body_bytes) + " bytes"),
                     true);
    }
    if (ec == http::error::buffer_overflow) {
      return respond(error_response(11, 431, "request header fields too large"), true);
    }
    if (ec && ec.category() == error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return respond(error_response(11, 400, "malformed HTTP request"), true);
    }
    if (ec) return close();  // end of stream, reset, timeout: nothing to answer

    auto request = std::make_shared<Request>(parser_->release());
    if (impl_->slow_pool && builds_a_long_answer(*request)) {
      // The backend's report and experiment views are safe on any thread (their stores are).
      net::post(*impl_->slow_pool, [self = this->shared_from_this(), request] {
        auto response = std::make_shared<Response>(self->impl_->handle(*request, self->over_tcp_));
        net::post(self->socket_.get_executor(), [self, request, response] {
          if (self->closed_) return;
          self->answer(*request, std::move(*response));
        });
      });
      return;
    }
    answer(*request, impl_->handle(*request, over_tcp_));
  }

  static bool builds_a_long_answer(const Request& request) {
    const std::string_view target(request.target().data(), request.target().size());
    return request.method() == http::verb::get &&
           (target.starts_with("/v1/report") || target.starts_with("/v1/experiments"));
  }

  void answer(const Request& request, Response response) {
    bool keep_alive = request.keep_alive() && !impl_->stopped;
    response.keep_alive(keep_alive);
    respond(std::move(response), !keep_alive);
  }

  void respond(Response response, bool close_after) {
    if (close_after) response.keep_alive(false);
    bool failed_request = response.result_int() == 400 || response.result_int() == 413 ||
                          response.result_int() == 431;
    response_.emplace(std::move(response));
    arm_timer(impl_->config.idle_timeout);
    http::async_write(
        socket_, *response_,
        [self = this->shared_from_this(), close_after, failed_request](error_code ec, std::size_t) {
          self->on_write(ec, close_after, failed_request);
        });
  }

  void on_write(error_code ec, bool close_after, bool failed_request) {
    response_.reset();
    if (closed_) return;
    if (ec || impl_->stopped) return close();
    if (!close_after) return read_request();
    error_code ignored;
    socket_.shutdown(net::socket_base::shutdown_send, ignored);
    if (!failed_request) return close();
    // The client may still be sending what we refused (a huge body or header flood): read and
    // discard it for a while so closing does not reset the connection before our answer arrives.
    arm_timer(std::min(impl_->config.idle_timeout, kMaxLinger));
    drain();
  }

  void drain() {
    socket_.async_read_some(net::buffer(drain_buffer_),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (self->closed_) return;
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->close();
                              self->drain();
                            });
  }

  ImplPtr impl_;
  typename Protocol::socket socket_;
  net::steady_timer timer_;
  bool over_tcp_;
  bool closed_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Response> response_;
  std::array<char, 16 * 1024> drain_buffer_{};
  std::size_t drained_ = 0;
};

template <typename Protocol>
class Listener : public Closable, public std::enable_shared_from_this<Listener<Protocol>> {
 public:
  Listener(ImplPtr impl, typename Protocol::acceptor acceptor, bool over_tcp, std::string name)
      : impl_(std::move(impl)),
        acceptor_(std::move(acceptor)),
        retry_timer_(acceptor_.get_executor()),
        over_tcp_(over_tcp),
        name_(std::move(name)) {}

  void accept() {
    acceptor_.async_accept(
        [self = this->shared_from_this()](error_code ec, typename Protocol::socket socket) {
          self->on_accept(ec, std::move(socket));
        });
  }

  void close() override {
    error_code ignored;
    retry_timer_.cancel();
    acceptor_.close(ignored);
  }

 private:
  void on_accept(error_code ec, typename Protocol::socket socket) {
    if (impl_->stopped || ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning on the error.
      impl_->logger.warn("control server: accept on " + name_ + " failed: " + ec.message());
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = this->shared_from_this()](error_code wait_ec) {
        if (!wait_ec && !self->impl_->stopped) self->accept();
      });
      return;
    }
    if (impl_->sessions.size() >= impl_->config.max_connections) {
      impl_->logger.warn("control server: " + std::to_string(impl_->sessions.size()) +
                         " connections open on the control API; refusing one more on " + name_);
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session<Protocol>>(impl_, std::move(socket), over_tcp_)->start();
    }
    accept();
  }

  ImplPtr impl_;
  typename Protocol::acceptor acceptor_;
  net::steady_timer retry_timer_;
  bool over_tcp_;
  std::string name_;
};

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

Response ControlServer::Impl::call(unsigned version, std::string_view what,
                                   const std::function<ControlResult<json>()>& function) {
  try {
    auto result = function();
    if (!result) {
      int status = result.error().http_status;
      if (status < 400 || status > 599) status = 500;
      return error_response(version, status, result.error().message);
    }
    return json_response(version, 200, *result);
  } catch (const std::exception& error) {
    logger.error("control server: " + std::string(what) + " failed: " + error.what());
    return error_response(version, 500, "internal error in " + std::string(what));
  }
}

Response ControlServer::Impl::handle(const Request& request, bool over_tcp) {
  unsigned version = request.version();
  if (over_tcp) {
    auto header = request[http::field::authorization];
    std::string_view value(header.data(), header.size());
    bool authorised = iequals_prefix(value, "Bearer ") &&
                      secrets_equal(value.substr(7), config.token) && !config.token.empty();
    if (!authorised) {
      auto response = error_response(version, 401, "missing or wrong bearer token");
      response.set(http::field::www_authenticate, "Bearer");
      return response;
    }
  }
  auto target_view = request.target();
  auto target = parse_target(std::string_view(target_view.data(), target_view.size()));
  if (!target) return error_response(version, 400, "malformed request target");
  auto response = route(request, *target);
  if (logger.enabled(LogLevel::debug)) {
    logger.debug("control request " + std::string(request.method_string()) + " " +
                 std::string(target_view) + " -> " + std::to_string(response.result_int()));
  }
  return response;
}

Response ControlServer::Impl::route(const Request& request, const Target& target) {
  unsigned version = request.version();
  const auto& path = target.segments;
  bool is_get = request.method() == http::verb::get;
  bool is_post = request.method() == http::verb::post;
  auto wrong_method = [&](const char* allowed) {
    auto response = error_response(
        version, 405,
        "method " + std::string(request.method_string()) + " not allowed here; use " + allowed);
    response.set(http::field::allow, allowed);
    return response;
  };
  auto wrap = [](json value) -> ControlResult<json> { return value; };

  if (path.size() == 1 && path[0] == "metrics") {
    if (!is_get) return wrong_method("GET");
    try {
      return make_response(version, http::status::ok, backend.metrics(),
                           "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& error) {
      logger.error(std::string("control server: metrics failed: ") + error.what());
      return error_response(version, 500, "internal error in metrics");
    }
  }
  if (path.size() < 2 || path[0] != "v1") {
    return error_response(version, 404, "no such route: " + std::string(request.target()));
  }
  const std::string& collection = path[1];
  if (path.size() == 2 && collection == "status") {
    if (!is_get) return wrong_method("GET");
    return call(version, "status", [&] { return wrap(backend.status()); });
  }
  if (path.size() == 2 && collection == "workflows") {
    if (!is_get) return wrong_method("GET");
    return call(version, "workflows", [&] { return wrap(backend.workflows()); });
  }
  if (path.size() == 2 && collection == "runs") {
    if (!is_get) return wrong_method("GET");
    RunFilter filter;
    for (const auto& [name, value] : target.query) {
      if (name == "workflow" && !value.empty()) filter.workflow = value;
      if (name == "state" && !value.empty()) filter.state = value;
      if (name == "limit") {
        int limit = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
        if (ec != std::errc{} || end != value.data() + value.size() || limit < 1 ||
            limit > kMaxRunLimit) {
          return error_response(version, 400,
                                "limit must be a number from 1 to " + std::to_string(kMaxRunLimit));
        }
        filter.limit = limit;
      }
    }
    return call(version, "runs", [&] { return backend.runs(filter); });
  }
  if (collection == "runs" && path.size() >= 3 && path.size() <= 4 && !path[2].empty()) {
    const std::string& id = path[2];
    if (path.size() == 3) {
      if (!is_get) return wrong_method("GET");
      return call(version, "run", [&] { return backend.run(id); });
    }
    if (path[3] == "retry" || path[3] == "cancel") {
      if (!is_post) return wrong_method("POST");
      if (path[3] == "retry") return call(version, "retry", [&] { return backend.retry(id); });
      return call(version, "cancel", [&] { return backend.cancel(id); });
    }
  }
  if (path.size() == 2 && collection == "posts") {
    if (!is_get) return wrong_method("GET");
    std::string account;
    int limit = 50;
    for (const auto& [name, value] : target.query) {
      if (name == "account") account = value;
      if (name == "limit") {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
        if (ec != std::errc{} || end != value.data() + value.size() || limit < 1 ||
            limit > kMaxRunLimit) {
          return error_response(version, 400,
                                "limit must be a number from 1 to " + std::to_string(kMaxRunLimit));
        }
      }
    }
    return call(version, "posts", [&] { return backend.posts(account, limit); });
  }
  if (collection == "links") {
    if (path.size() == 2 && is_get) {
      std::string campaign;
      int limit = 100;
      for (const auto& [name, value] : target.query) {
        if (name == "campaign") campaign = value;
        if (name == "limit") {
          auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
          if (ec != std::errc{} || end != value.data() + value.size() || limit < 1 ||
              limit > kMaxRunLimit) {
            return error_response(version, 400, "limit must be a number from 1 to " +
                                                    std::to_string(kMaxRunLimit));
          }
        }
      }
      return call(version, "links", [&] { return backend.links(campaign, limit); });
    }
    if (path.size() == 2 && is_post) {
      json body = json::parse(request.body(), nullptr, false);
      if (!body.is_object()) {
        return error_response(version, 400, "request body must be a JSON object with \"url\"");
      }
      return call(version, "link create", [&] { return backend.link_create(body); });
    }
    if (path.size() == 2) return wrong_method("GET or POST");
    if (path.size() == 3 && !path[2].empty()) {
      if (!is_get) return wrong_method("GET");
      return call(version, "link", [&] { return backend.link(path[2]); });
    }
    if (path.size() == 4 && !path[2].empty() && (path[3] == "disable" || path[3] == "enable")) {
      if (!is_post) return wrong_method("POST");
      return call(version, "link " + path[3],
                  [&] { return backend.link_enable(path[2], path[3] == "enable"); });
    }
  }
  if (path.size() == 2 && collection == "report") {
    if (!is_get) return wrong_method("GET");
    std::string campaign, since, by = "platform";
    for (const auto& [name, value] : target.query) {
      if (name == "campaign") campaign = value;
      if (name == "since") since = value;
      if (name == "by") by = value;
    }
    return call(version, "report", [&] { return backend.report(campaign, since, by); });
  }
  if (collection == "models" && (path.size() == 2 || (path.size() == 4 && !path[2].empty()))) {
    std::string name;
    for (const auto& [key, value] : target.query) {
      if (key == "name") name = value;
    }
    if (path.size() == 2) {
      if (!is_get) return wrong_method("GET");
      return call(version, "models", [&] { return backend.models(name); });
    }
    if (path[3] == "rollback") {
      if (!is_post) return wrong_method("POST");
      return call(version, "model rollback", [&] {
        return backend.model_rollback(path[2], name.empty() ? "engagement" : name);
      });
    }
  }
  if (collection == "experiments" && (path.size() == 2 || (path.size() == 3 && !path[2].empty()))) {
    if (!is_get) return wrong_method("GET");
    if (path.size() == 2) return call(version, "experiments", [&] { return backend.experiments(); });
    return call(version, "experiment", [&] { return backend.experiment(path[2]); });
  }
  if (path.size() == 2 && collection == "accounts") {
    if (!is_get) return wrong_method("GET");
    return call(version, "accounts", [&] { return backend.accounts(); });
  }
  if (path.size() == 2 && collection == "best-times") {
    if (!is_get) return wrong_method("GET");
    std::string account, time_zone;
    for (const auto& [name, value] : target.query) {
      if (name == "account") account = value;
      if (name == "time_zone") time_zone = value;
    }
    if (account.empty()) {
      return error_response(version, 400, "say which account: /v1/best-times?account=NAME");
    }
    return call(version, "best times", [&] { return backend.best_times(account, time_zone); });
  }
  if (path.size() == 2 && collection == "schedule") {
    if (!is_get) return wrong_method("GET");
    double days = 7;
    for (const auto& [name, value] : target.query) {
      if (name != "days") continue;
      int parsed = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc{} || end != value.data() + value.size() || parsed < 1 ||
          parsed > 366) {
        return error_response(version, 400, "days must be a number from 1 to 366");
      }
      days = parsed;
    }
    return call(version, "schedule", [&] { return backend.schedule(days); });
  }
  if (collection == "schedule" && path.size() == 4 && !path[2].empty()) {
    const std::string& id = path[2];
    if (path[3] == "cancel") {
      if (!is_post) return wrong_method("POST");
      return call(version, "schedule cancel", [&] { return backend.schedule_cancel(id); });
    }
    if (path[3] == "move") {
      if (!is_post) return wrong_method("POST");
      json body = json::parse(request.body(), nullptr, false);
      if (!body.is_object()) {
        return error_response(version, 400, "request body must be a JSON object with \"at\"");
      }
      return call(version, "schedule move", [&] { return backend.schedule_move(id, body); });
    }
  }
  if (collection == "workflows" && path.size() == 4 && !path[2].empty()) {
    const std::string& name = path[2];
    const std::string& action = path[3];
    if (action == "trigger" || action == "pause" || action == "resume") {
      if (!is_post) return wrong_method("POST");
      if (action == "pause") return call(version, "pause", [&] { return backend.pause(name); });
      if (action == "resume") return call(version, "resume", [&] { return backend.resume(name); });
      json body = json::object();
      if (!request.body().empty()) {
        body = json::parse(request.body(), nullptr, false);
        if (body.is_discarded()) return error_response(version, 400, "request body is not JSON");
        if (!body.is_object()) {
          return error_response(version, 400, "request body must be a JSON object");
        }
      }
      return call(version, "trigger", [&] { return backend.trigger(name, body); });
    }
  }
  return error_response(version, 404, "no such route: " + std::string(request.target()));
}

ControlServer::ControlServer(net::io_context& io, ControlBackend& backend,
                             ControlServerConfig config, const Logger& logger)
    : impl_(std::make_shared<Impl>(io, backend, std::move(config), logger)) {}

ControlServer::~ControlServer() { stop(); }

namespace {

// Whether a server answers on the socket file at `path`. A non-blocking connect never waits: a
// live server with a full backlog answers EAGAIN, which counts as alive.
bool socket_is_live(net::io_context& io, const std::string& path) {
  unix_protocol::socket probe(io);
  error_code ec;
  probe.open(unix_protocol(), ec);
  if (ec) return false;
  probe.non_blocking(true, ec);
  probe.connect(unix_protocol::endpoint(path), ec);
  return !ec || ec == net::error::would_block || ec == net::error::try_again ||
         ec == net::error::in_progress;
}

Result<void> open_unix(ControlServer::Impl& impl, const ImplPtr& shared,
                       const ControlEndpoint& endpoint) {
  const std::string& path = endpoint.path;
  std::string name = endpoint.to_string();
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return fail("control socket " + path + " exists and is not a socket; not replacing it");
    }
    if (socket_is_live(impl.io, path)) {
      return fail("another server is already listening on " + name +
                  "; stop that daemon first or choose another socket with --control");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return fail("cannot remove stale control socket " + path + ": " + errno_text(errno));
    }
    impl.logger.info("control server: removed stale socket " + path);
  } else if (errno != ENOENT) {
    return fail("cannot inspect control socket " + path + ": " + errno_text(errno));
  }

  unix_protocol::acceptor acceptor(impl.io);
  error_code ec;
  acceptor.open(unix_protocol(), ec);
  if (!ec) acceptor.bind(unix_protocol::endpoint(path), ec);
  if (ec) {
    return fail("cannot bind control socket " + path + ": " + ec.message() +
                (ec == boost::system::errc::no_such_file_or_directory
                     ? " (does its directory exist?)"
                     : ""));
  }
  // Permissions before listen(): nobody can connect while the mode is still the umask's.
  if (::chmod(path.c_str(), 0660) != 0) {
    int error = errno;
    ::unlink(path.c_str());
    return fail("cannot chmod 0660 control socket " + path + ": " + errno_text(error));
  }
  if (!impl.config.socket_group.empty()) {
    std::vector<char> buffer(16 * 1024);
    struct group entry {};
    struct group* found = nullptr;
    int lookup = ::getgrnam_r(impl.config.socket_group.c_str(), &entry, buffer.data(),
                              buffer.size(), &found);
    if (lookup == 0 && found != nullptr) {
      if (::chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) {
        impl.logger.warn("control server: cannot give " + path + " to group " +
                         impl.config.socket_group + ": " + errno_text(errno));
      }
    } else {
      impl.logger.info("control server: group " + impl.config.socket_group + " does not exist; " +
                       path + " keeps its default group");
    }
  }
  acceptor.listen(kListenBacklog, ec);
  if (ec) {
    ::unlink(path.c_str());
    return fail("cannot listen on control socket " + path + ": " + ec.message());
  }
  if (::lstat(path.c_str(), &info) == 0) {
    impl.socket_files.push_back({path, {info.st_dev, info.st_ino}});
  }
  auto listener =
      std::make_shared<Listener<unix_protocol>>(shared, std::move(acceptor), false, name);
  impl.listeners.push_back(listener);
  impl.bound.push_back(endpoint);
  listener->accept();
  return {};
}

Result<void> open_tcp(ControlServer::Impl& impl, const ImplPtr& shared,
                      const ControlEndpoint& endpoint) {
  std::string name = endpoint.to_string();
  if (impl.config.token.empty()) {
    return fail("control endpoint " + name + " is TCP and needs a bearer token; configure one");
  }
  error_code ec;
  net::ip::address address;
  if (endpoint.host == "localhost") {
    address = net::ip::address_v4::loopback();
  } else {
    address = net::ip::make_address(endpoint.host, ec);
    if (ec) return fail("control endpoint " + name + ": host must be an IP address or localhost");
  }
  if (!address.is_loopback() && !impl.config.allow_non_loopback) {
    return fail("refusing to serve the control API on non-loopback address " + name +
                "; it would expose the daemon to the network");
  }
  tcp::endpoint bind_to(address, endpoint.port);
  tcp::acceptor acceptor(impl.io);
  acceptor.open(bind_to.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(bind_to, ec);
  if (!ec) acceptor.listen(kListenBacklog, ec);
  if (ec) return fail("cannot listen on control endpoint " + name + ": " + ec.message());
  ControlEndpoint bound = endpoint;
  bound.port = acceptor.local_endpoint(ec).port();
  auto listener = std::make_shared<Listener<tcp>>(shared, std::move(acceptor), true, name);
  impl.listeners.push_back(listener);
  impl.bound.push_back(bound);
  listener->accept();
  return {};
}

}  // namespace

Result<void> ControlServer::start() {
  if (impl_->started) return fail("control server already started");
  if (impl_->config.endpoints.empty()) return fail("control server: no endpoint configured");
  impl_->started = true;
  impl_->slow_pool = std::make_unique<net::thread_pool>(1);
  for (const auto& endpoint : impl_->config.endpoints) {
    auto opened =
        endpoint.is_tcp() ? open_tcp(*impl_, impl_, endpoint) : open_unix(*impl_, impl_, endpoint);
    if (!opened) {
      stop();
      return opened;
    }
    impl_->logger.info("control API listening on " + impl_->bound.back().to_string());
  }
  return {};
}

void ControlServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  for (auto& listener : impl_->listeners) listener->close();
  impl_->listeners.clear();
  std::vector<Closable*> sessions(impl_->sessions.begin(), impl_->sessions.end());
  for (auto* session : sessions) session->close();
  if (impl_->slow_pool) impl_->slow_pool->join();  // no answer is built after the backend goes
  for (const auto& [path, identity] : impl_->socket_files) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && info.st_dev == identity.first &&
        info.st_ino == identity.second) {
      ::unlink(path.c_str());
    }
  }
  impl_->socket_files.clear();
}

std::vector<ControlEndpoint> ControlServer::bound_endpoints() const { return impl_->bound; }

std::size_t ControlServer::open_connections() const { return impl_->sessions.size(); }

}  // namespace reelflow::server
