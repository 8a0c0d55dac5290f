// The control server through real sockets: a Unix socket in a temp directory and 127.0.0.1 on an
// ephemeral port, a fake ControlBackend recording calls, a Beast client for the routes, raw
// sockets for hostile input, and the `reelflow` CLI as a subprocess for the daemon verbs.
#include "server/control_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 with GCC 12 in C++20 mode needs it

#include "server/metrics.hpp"

namespace reelflow::server {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "s3cret-token-for-tests";

// ---------------------------------------------------------------------------------------------
// The fake backend: canned answers, and a record of every call.

class FakeBackend : public ControlBackend {
 public:
  FakeBackend() : daemon_metrics_(DaemonMetrics::register_in(registry_)) {
    daemon_metrics_.runs.set({"succeeded"}, 3);
    daemon_metrics_.step_duration.observe({"hello.stamp"}, 0.3);
    daemon_metrics_.worker_crashes.inc({"video \"render\""});
  }

  std::vector<std::string> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  json last_body() {
    std::lock_guard lock(mutex_);
    return last_body_;
  }
  std::atomic<bool> throw_on_workflows{false};

  json status() override {
    record("status");
    return {{"version", "9.9.9"},
            {"pid", 4242},
            {"uptime_seconds", 3725},
            {"state", "running"},
            {"runs", {{"succeeded", 3}, {"failed", 1}}},
            {"queued", 2},
            {"active", 1},
            {"workers", {{"busy", 1}, {"idle", 3}, {"restarts", 5}}},
            {"workflows", 2}};
  }
  json workflows() override {
    record("workflows");
    if (throw_on_workflows) throw std::runtime_error("database is locked");
    return {{"workflows",
             {{{"name", "promo"},
               {"file", "/etc/reelflow/workflows/promo.yaml"},
               {"content_hash", "abc"},
               {"paused", false},
               {"triggers", {{{"type", "watch"}}}}},
              {{"name", "weekly"},
               {"file", "/etc/reelflow/workflows/weekly.yaml"},
               {"content_hash", "def"},
               {"paused", true},
               {"triggers", {{{"type", "schedule"}}}}}}}};
  }
  ControlResult<json> runs(const RunFilter& filter) override {
    record("runs workflow=" + filter.workflow.value_or("*") +
           " state=" + filter.state.value_or("*") + " limit=" + std::to_string(filter.limit));
    return json{{"runs",
                 {{{"id", "r-2"},
                   {"workflow", "promo"},
                   {"state", "failed"},
                   {"created_at", "2024-05-01T10:00:00Z"},
                   {"started_at", "2024-05-01T10:00:01Z"},
                   {"finished_at", "2024-05-01T10:00:09Z"},
                   {"trigger", {{"event", "file"}, {"file", "/srv/in/b.mp4"}}},
                   {"error", "plugin video.render crashed with SIGSEGV"}},
                  {{"id", "r-1"},
                   {"workflow", "promo"},
                   {"state", "succeeded"},
                   {"created_at", "2024-05-01T09:00:00Z"},
                   {"started_at", "2024-05-01T09:00:01Z"},
                   {"finished_at", "2024-05-01T09:00:05Z"},
                   {"trigger", {{"event", "file"}, {"file", "/srv/in/a.mp4"}}},
                   {"error", nullptr}}}}};
  }
  ControlResult<json> run(const std::string& id) override {
    record("run " + id);
    if (id != "r-1") return tl::unexpected(ControlError{404, "no run '" + id + "'"});
    return json{{"id", "r-1"},
                {"workflow", "promo"},
                {"state", "failed"},
                {"created_at", "2024-05-01T09:00:00Z"},
                {"started_at", "2024-05-01T09:00:01Z"},
                {"finished_at", "2024-05-01T09:00:05Z"},
                {"trigger", {{"event", "file"}, {"file", "/srv/in/a.mp4"}}},
                {"error", "step render failed"},
                {"steps",
                 {{{"id", "score"},
                   {"item", nullptr},
                   {"attempt", 1},
                   {"state", "succeeded"},
                   {"started_at", "2024-05-01T09:00:01Z"},
                   {"finished_at", "2024-05-01T09:00:02Z"},
                   {"seconds", 1.25},
                   {"outputs", {{"score", 0.87}, {"best_frame", "/var/lib/x/f.png"}}},
                   {"error", nullptr}},
                  {{"id", "render"},
                   {"item", nullptr},
                   {"attempt", 3},
                   {"state", "failed"},
                   {"started_at", "2024-05-01T09:00:02Z"},
                   {"finished_at", "2024-05-01T09:00:05Z"},
                   {"seconds", 3.5},
                   {"outputs", json::object()},
                   {"error", "plugin video.render crashed with SIGSEGV"}}}}};
  }
  ControlResult<json> trigger(const std::string& workflow, const json& body) override {
    record("trigger " + workflow);
    {
      std::lock_guard lock(mutex_);
      last_body_ = body;
    }
    if (workflow == "weekly") {
      return tl::unexpected(ControlError{409, "workflow weekly is paused"});
    }
    if (workflow != "promo" && workflow != "promo summer") {
      return tl::unexpected(ControlError{404, "no workflow '" + workflow + "'"});
    }
    return json{{"run_id", "r-9"}, {"created", true}};
  }
  ControlResult<json> retry(const std::string& id) override {
    record("retry " + id);
    if (id == "r-1") return tl::unexpected(ControlError{409, "run r-1 has not failed"});
    return json{{"run_id", id}, {"state", "pending"}};
  }
  ControlResult<json> cancel(const std::string& id) override {
    record("cancel " + id);
    return json{{"run_id", id}, {"state", "cancelled"}};
  }
  ControlResult<json> pause(const std::string& workflow) override {
    record("pause " + workflow);
    return json{{"workflow", workflow}, {"paused", true}};
  }
  ControlResult<json> resume(const std::string& workflow) override {
    record("resume " + workflow);
    return json{{"workflow", workflow}, {"paused", false}};
  }
  std::string metrics() override {
    record("metrics");
    return registry_.render();
  }
  ControlResult<json> schedule(double days) override {
    record("schedule " + std::to_string(static_cast<int>(days)));
    return json{{"posts", json::array({{{"id", 4}, {"platform", "youtube"}}})}};
  }
  ControlResult<json> posts(const std::string& account, int limit) override {
    record("posts " + account + " " + std::to_string(limit));
    return json{{"posts", json::array()}};
  }
  ControlResult<json> accounts() override {
    record("accounts");
    return json{{"accounts", json::array({{{"name", "brand"}, {"status", "ok"}}})}};
  }
  ControlResult<json> schedule_cancel(const std::string& id) override {
    record("schedule cancel " + id);
    if (id != "4") return tl::unexpected(ControlError{404, "no scheduled post " + id});
    return json{{"id", 4}, {"state", "cancelled"}};
  }
  ControlResult<json> schedule_move(const std::string& id, const json& body) override {
    record("schedule move " + id + " " + body.value("at", ""));
    return json{{"id", 5}, {"due_at", body.value("at", "")}};
  }
  ControlResult<json> links(const std::string& campaign, int limit) override {
    record("links " + campaign + " " + std::to_string(limit));
    return json{{"links", json::array()}};
  }
  ControlResult<json> link(const std::string& code) override {
    record("link " + code);
    if (code != "Ab3") return tl::unexpected(ControlError{404, "no link " + code});
    return json{{"code", code}};
  }
  ControlResult<json> link_create(const json& body) override {
    record("link create " + body.value("url", ""));
    return json{{"code", "Ab3"}};
  }
  ControlResult<json> link_enable(const std::string& code, bool enabled) override {
    record("link " + std::string(enabled ? "enable " : "disable ") + code);
    return json{{"code", code}, {"enabled", enabled}};
  }
  ControlResult<json> report(const std::string& campaign, const std::string& since,
                             const std::string& by) override {
    record("report " + campaign + " " + since + " " + by);
    return json{{"rows", json::array()}};
  }

 private:
  void record(std::string call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
  }
  std::mutex mutex_;
  std::vector<std::string> calls_;
  json last_body_;
  MetricsRegistry registry_;
  DaemonMetrics daemon_metrics_;
};

// ---------------------------------------------------------------------------------------------
// A server on its own loop thread.

class RunningServer {
 public:
  RunningServer(FakeBackend& backend, ControlServerConfig config)
      : logger_(LogLevel::error), server_(io_, backend, std::move(config), logger_) {}
  ~RunningServer() { shutdown(); }

  Result<void> start() {
    auto started = server_.start();  // before the loop runs: allowed by the contract
    if (started) thread_ = std::thread([this] { io_.run(); });
    return started;
  }
  void stop_server() {
    std::promise<void> done;
    net::post(io_, [&] {
      server_.stop();
      done.set_value();
    });
    done.get_future().wait_for(5s);
  }
  std::size_t open_connections() {
    std::promise<std::size_t> count;
    net::post(io_, [&] { count.set_value(server_.open_connections()); });
    auto future = count.get_future();
    future.wait_for(5s);
    return future.get();
  }
  void shutdown() {
    if (!thread_.joinable()) return;
    net::post(io_, [this] {
      server_.stop();
      io_.stop();
    });
    thread_.join();
  }
  std::vector<ControlEndpoint> endpoints() const { return server_.bound_endpoints(); }

 private:
  net::io_context io_;
  Logger logger_;
  ControlServer server_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// A Beast client with a deadline: async operations on a private io_context, run_for(timeout).

struct Reply {
  bool ok = false;  // an HTTP reply arrived
  std::string error;
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  json json_body() const { return json::parse(body, nullptr, false); }
};

class BeastClient {
 public:
  explicit BeastClient(ControlEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

  Reply request(http::verb method, const std::string& target, const std::string& body = {},
                std::optional<std::string> token = std::nullopt, bool keep_alive = false) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "localhost");
    if (token) request.set(http::field::authorization, "Bearer " + *token);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.keep_alive(keep_alive);
    request.prepare_payload();
    Reply reply;
    if (!connected_ && !connect(reply)) return reply;
    std::optional<error_code> written, read;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto on_write = [&](error_code ec, std::size_t) {
      written = ec;
      if (ec) return;
      auto on_read = [&](error_code read_ec, std::size_t) { read = read_ec; };
      if (endpoint_.is_tcp()) {
        http::async_read(*tcp_, buffer_, parser, on_read);
      } else {
        http::async_read(*unix_, buffer_, parser, on_read);
      }
    };
    if (endpoint_.is_tcp()) {
      http::async_write(*tcp_, request, on_write);
    } else {
      http::async_write(*unix_, request, on_write);
    }
    io_.restart();
    io_.run_for(5s);
    if (!written || *written) {
      reply.error = written ? written->message() : "write timed out";
      return reply;
    }
    if (!read || *read) {
      reply.error = read ? read->message() : "read timed out";
      return reply;
    }
    auto response = parser.release();
    reply.ok = true;
    reply.status = response.result_int();
    reply.body = response.body();
    for (const auto& field : response) {
      reply.headers[std::string(field.name_string())] = std::string(field.value());
    }
    return reply;
  }

 private:
  bool connect(Reply& reply) {
    error_code ec;
    if (endpoint_.is_tcp()) {
      tcp_.emplace(io_);
      tcp_->connect({net::ip::make_address(endpoint_.host), endpoint_.port}, ec);
    } else {
      unix_.emplace(io_);
      unix_->connect(net::local::stream_protocol::endpoint(endpoint_.path), ec);
    }
    if (ec) reply.error = "connect: " + ec.message();
    connected_ = !ec;
    return connected_;
  }

  ControlEndpoint endpoint_;
  net::io_context io_;
  std::optional<net::ip::tcp::socket> tcp_;
  std::optional<net::local::stream_protocol::socket> unix_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

Reply get(const ControlEndpoint& endpoint, const std::string& target,
          std::optional<std::string> token = std::nullopt) {
  return BeastClient(endpoint).request(http::verb::get, target, {}, std::move(token));
}

Reply post(const ControlEndpoint& endpoint, const std::string& target, const std::string& body = {},
           std::optional<std::string> token = std::nullopt) {
  return BeastClient(endpoint).request(http::verb::post, target, body, std::move(token));
}

// ---------------------------------------------------------------------------------------------
// A raw socket for hostile clients: plain POSIX calls with receive timeouts.

class RawConnection {
 public:
  explicit RawConnection(const ControlEndpoint& endpoint) {
    if (endpoint.is_tcp()) {
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(endpoint.port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, endpoint.path.c_str(), sizeof address.sun_path - 1);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // False once the peer has closed or reset.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Reads until the peer closes, `enough` bytes arrived, or a receive times out (5 s each).
  std::string receive(std::size_t enough = 1 << 20) {
    std::string data;
    char buffer[4096];
    while (data.size() < enough) {
      ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) {
        peer_closed_ = got == 0 || errno == ECONNRESET;
        break;
      }
      data.append(buffer, static_cast<std::size_t>(got));
    }
    return data;
  }
  bool peer_closed() const { return peer_closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool peer_closed_ = false;
};

int status_of(const std::string& raw_reply) {
  // "HTTP/1.1 413 Payload Too Large"
  if (raw_reply.size() < 12 || !raw_reply.starts_with("HTTP/1.")) return 0;
  return std::atoi(raw_reply.substr(9, 3).c_str());
}

// ---------------------------------------------------------------------------------------------

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: sockaddr_un paths are limited to 107 bytes.
    dir_ = fs::path("/tmp") /
           ("rf-srv-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    socket_path_ = (dir_ / "control.sock").string();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  ControlServerConfig config(bool with_tcp = true) {
    ControlServerConfig config;
    config.endpoints.push_back(*parse_control_endpoint("unix:" + socket_path_));
    if (with_tcp) config.endpoints.push_back(*parse_control_endpoint("tcp:127.0.0.1:0"));
    config.token = kToken;
    config.idle_timeout = 1500ms;
    return config;
  }

  void start(ControlServerConfig server_config) {
    server_ = std::make_unique<RunningServer>(backend_, std::move(server_config));
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }
  void start() { start(config()); }

  ControlEndpoint unix_endpoint() const { return server_->endpoints().at(0); }
  ControlEndpoint tcp_endpoint() const { return server_->endpoints().at(1); }

  static inline int counter_ = 0;
  fs::path dir_;
  std::string socket_path_;
  FakeBackend backend_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(ControlServerTest, EveryRouteOverTheUnixSocket) {
  start();
  auto endpoint = unix_endpoint();

  auto status = get(endpoint, "/v1/status");
  ASSERT_TRUE(status.ok) << status.error;
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.headers["Content-Type"], "application/json");
  EXPECT_EQ(status.json_body()["version"], "9.9.9");

  auto workflows = get(endpoint, "/v1/workflows");
  EXPECT_EQ(workflows.status, 200);
  EXPECT_EQ(workflows.json_body()["workflows"].size(), 2u);

  auto runs = get(endpoint, "/v1/runs?workflow=promo%20summer&state=failed&limit=7");
  EXPECT_EQ(runs.status, 200);
  EXPECT_EQ(runs.json_body()["runs"][0]["id"], "r-2");
  EXPECT_EQ(get(endpoint, "/v1/runs").status, 200);
  EXPECT_EQ(get(endpoint, "/v1/runs?limit=0").status, 400);
  EXPECT_EQ(get(endpoint, "/v1/runs?limit=ten").status, 400);

  auto run = get(endpoint, "/v1/runs/r-1");
  EXPECT_EQ(run.status, 200);
  EXPECT_EQ(run.json_body()["steps"].size(), 2u);
  auto missing = get(endpoint, "/v1/runs/r-404");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json_body()["error"], "no run 'r-404'");

  auto triggered = post(endpoint, "/v1/workflows/promo/trigger", R"({"input": "/srv/in/c.mp4"})");
  EXPECT_EQ(triggered.status, 200);
  EXPECT_EQ(triggered.json_body()["run_id"], "r-9");
  EXPECT_EQ(backend_.last_body(), json({{"input", "/srv/in/c.mp4"}}));
  EXPECT_EQ(post(endpoint, "/v1/workflows/weekly/trigger", "{}").status, 409);
  EXPECT_EQ(post(endpoint, "/v1/workflows/nope/trigger", "{}").status, 404);
  EXPECT_EQ(post(endpoint, "/v1/workflows/promo/trigger", "{not json").status, 400);
  EXPECT_EQ(post(endpoint, "/v1/workflows/promo/trigger", "[1, 2]").status, 400);

  EXPECT_EQ(post(endpoint, "/v1/runs/r-2/retry").status, 200);
  EXPECT_EQ(post(endpoint, "/v1/runs/r-1/retry").status, 409);
  EXPECT_EQ(post(endpoint, "/v1/runs/r-2/cancel").json_body()["state"], "cancelled");
  EXPECT_EQ(post(endpoint, "/v1/workflows/promo%20summer/pause").json_body()["paused"], true);
  EXPECT_EQ(post(endpoint, "/v1/workflows/promo/resume").json_body()["paused"], false);

  EXPECT_EQ(get(endpoint, "/v1/posts?account=brand&limit=5").status, 200);
  EXPECT_EQ(get(endpoint, "/v1/posts?limit=none").status, 400);
  EXPECT_EQ(get(endpoint, "/v1/accounts").json_body()["accounts"][0]["name"], "brand");
  EXPECT_EQ(post(endpoint, "/v1/accounts").status, 405);
  auto schedule = get(endpoint, "/v1/schedule?days=3");
  EXPECT_EQ(schedule.status, 200);
  EXPECT_EQ(schedule.json_body()["posts"][0]["platform"], "youtube");
  EXPECT_EQ(get(endpoint, "/v1/schedule").status, 200);
  EXPECT_EQ(get(endpoint, "/v1/schedule?days=0").status, 400);
  EXPECT_EQ(get(endpoint, "/v1/schedule?days=soon").status, 400);
  EXPECT_EQ(post(endpoint, "/v1/schedule/4/cancel").json_body()["state"], "cancelled");
  EXPECT_EQ(post(endpoint, "/v1/schedule/9/cancel").status, 404);
  EXPECT_EQ(post(endpoint, "/v1/schedule/4/move", R"({"at": "2026-12-01T10:00:00Z"})")
                .json_body()["due_at"],
            "2026-12-01T10:00:00Z");
  EXPECT_EQ(post(endpoint, "/v1/schedule/4/move", "tomorrow").status, 400);
  EXPECT_EQ(get(endpoint, "/v1/schedule/4/move").status, 405);
  EXPECT_EQ(get(endpoint, "/v1/links?campaign=launch&limit=3").status, 200);
  EXPECT_EQ(get(endpoint, "/v1/links?limit=0").status, 400);
  EXPECT_EQ(post(endpoint, "/v1/links", R"({"url": "https://shop.example/p"})")
                .json_body()["code"], "Ab3");
  EXPECT_EQ(post(endpoint, "/v1/links", "[1]").status, 400);
  EXPECT_EQ(get(endpoint, "/v1/links/Ab3").status, 200);
  EXPECT_EQ(get(endpoint, "/v1/links/Zz9").status, 404);
  EXPECT_EQ(post(endpoint, "/v1/links/Ab3/disable").json_body()["enabled"], false);
  EXPECT_EQ(get(endpoint, "/v1/links/Ab3/disable").status, 405);
  EXPECT_EQ(get(endpoint, "/v1/report?campaign=launch&since=2026-11-01&by=video").status, 200);

  auto metrics = get(endpoint, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("reelflow_runs{state=\"succeeded\"} 3\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("reelflow_worker_crashes_total{plugin=\"video \\\"render\\\"\"} 1"),
            std::string::npos)
      << metrics.body;

  EXPECT_EQ(backend_.calls(),
            (std::vector<std::string>{
                "status", "workflows", "runs workflow=promo summer state=failed limit=7",
                "runs workflow=* state=* limit=50", "run r-1", "run r-404", "trigger promo",
                "trigger weekly", "trigger nope", "retry r-2", "retry r-1", "cancel r-2",
                "pause promo summer", "resume promo", "posts brand 5", "accounts", "schedule 3",
                "schedule 7",
                "schedule cancel 4", "schedule cancel 9",
                "schedule move 4 2026-12-01T10:00:00Z", "links launch 3",
                "link create https://shop.example/p", "link Ab3", "link Zz9", "link disable Ab3",
                "report launch 2026-11-01 video", "metrics"}));
}

TEST_F(ControlServerTest, UnknownRoutesAre404AndWrongMethods405) {
  start();
  auto endpoint = unix_endpoint();
  for (const char* target : {"/", "/v2/status", "/v1/status/", "/v1/runs/r-1/explode",
                             "/v1/workflows/promo/delete", "/v1", "/metrics/x"}) {
    auto reply = get(endpoint, target);
    EXPECT_EQ(reply.status, 404) << target;
    EXPECT_TRUE(reply.json_body().contains("error")) << target;
  }
  auto wrong = post(endpoint, "/v1/status");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["Allow"], "GET");
  EXPECT_EQ(get(endpoint, "/v1/runs/r-1/retry").status, 405);
  EXPECT_EQ(get(endpoint, "/v1/workflows/promo/trigger").status, 405);
  EXPECT_EQ(BeastClient(endpoint).request(http::verb::delete_, "/v1/runs/r-1").status, 405);
  EXPECT_EQ(post(endpoint, "/metrics").status, 405);
  EXPECT_EQ(get(endpoint, "/v1/runs/bad%zzescape").status, 400);
  EXPECT_TRUE(backend_.calls().empty());
}

TEST_F(ControlServerTest, BackendExceptionsBecome500) {
  start();
  backend_.throw_on_workflows = true;
  auto reply = get(unix_endpoint(), "/v1/workflows");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.json_body()["error"], "internal error in workflows");
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
}

TEST_F(ControlServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  BeastClient client(unix_endpoint());
  for (int i = 0; i < 3; ++i) {
    auto reply = client.request(http::verb::get, "/v1/status", {}, std::nullopt, true);
    ASSERT_TRUE(reply.ok) << reply.error;
    EXPECT_EQ(reply.status, 200);
  }
  auto last = client.request(http::verb::get, "/v1/workflows", {}, std::nullopt, false);
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.headers["Connection"], "close");
}

TEST_F(ControlServerTest, TcpNeedsTheBearerToken) {
  start();
  auto endpoint = tcp_endpoint();
  EXPECT_NE(endpoint.port, 0);
  auto without = get(endpoint, "/v1/status");
  EXPECT_EQ(without.status, 401);
  EXPECT_EQ(without.headers["WWW-Authenticate"], "Bearer");
  EXPECT_EQ(get(endpoint, "/v1/status", std::string("wrong")).status, 401);
  EXPECT_EQ(get(endpoint, "/v1/status", std::string(kToken) + "x").status, 401);
  EXPECT_EQ(get(endpoint, "/v1/status", std::string(kToken).substr(1)).status, 401);
  EXPECT_EQ(get(endpoint, "/metrics").status, 401);
  EXPECT_EQ(get(endpoint, "/no/such/route").status, 401);  // no probing without the token
  EXPECT_EQ(backend_.calls().size(), 0u);
  EXPECT_EQ(get(endpoint, "/v1/status", std::string(kToken)).status, 200);
  EXPECT_EQ(post(endpoint, "/v1/runs/r-2/cancel", {}, std::string(kToken)).status, 200);
  // The Unix socket relies on file permissions instead.
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
}

TEST_F(ControlServerTest, SecretsCompareExactly) {
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abd", "abc"));
  EXPECT_FALSE(secrets_equal("ab", "abc"));
  EXPECT_FALSE(secrets_equal("abcd", "abc"));
  EXPECT_FALSE(secrets_equal("", "abc"));
}

TEST_F(ControlServerTest, TcpIsRefusedWithoutTokenOrOffLoopback) {
  auto no_token = config();
  no_token.token.clear();
  RunningServer first(backend_, no_token);
  auto started = first.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("token"), std::string::npos) << started.error().message;
  EXPECT_FALSE(fs::exists(socket_path_));  // nothing left listening

  ControlServerConfig public_address;
  public_address.endpoints.push_back(*parse_control_endpoint("tcp:0.0.0.0:0"));
  public_address.token = kToken;
  RunningServer second(backend_, public_address);
  started = second.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("non-loopback"), std::string::npos);

  EXPECT_FALSE(parse_control_endpoint("tcp:127.0.0.1"));
  EXPECT_FALSE(parse_control_endpoint("http://x"));
  EXPECT_FALSE(parse_control_endpoint("tcp:127.0.0.1:99999"));
  EXPECT_EQ(parse_control_endpoint("tcp:[::1]:80")->host, "::1");
}

TEST_F(ControlServerTest, UnixSocketHasMode0660) {
  auto with_group = config(false);
  with_group.socket_group = "no-such-group-reelflow-test";  // unknown: skipped, not an error
  start(with_group);
  struct stat info {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0660u);
  server_->shutdown();
  EXPECT_FALSE(fs::exists(socket_path_)) << "stop() removes the socket file";
}

TEST_F(ControlServerTest, StaleSocketFileIsReplaced) {
  // A socket file left by a daemon that died: bound, never unlinked, nobody listening.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path_.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
  ASSERT_TRUE(fs::is_socket(socket_path_));
  start(config(false));
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
}

TEST_F(ControlServerTest, ARegularFileIsNotReplaced) {
  std::ofstream(socket_path_) << "precious";
  RunningServer server(backend_, config(false));
  auto started = server.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("not a socket"), std::string::npos);
  std::ifstream in(socket_path_);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
}

TEST_F(ControlServerTest, SecondServerOnALiveSocketIsRefused) {
  start(config(false));
  FakeBackend other_backend;
  RunningServer second(other_backend, config(false));
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("already listening"), std::string::npos)
      << started.error().message;
  // The first one is untouched and keeps its socket.
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
  EXPECT_TRUE(other_backend.calls().empty());
}

TEST_F(ControlServerTest, GarbageGets400OrCloseAndTheServerCarriesOn) {
  start();
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        std::string("HELLO THERE\r\n\r\n"), std::string("GET /v1/status HTTP/9.9\r\n\r\n"),
        std::string("GET /v1/status HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
        std::string("POST /v1/runs/x/retry HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"),
        std::string("GET nothing-like-a-path HTTP/1.1\r\n\r\n"), std::string(4096, '\0')}) {
    RawConnection connection(unix_endpoint());
    ASSERT_TRUE(connection.connected());
    connection.send(garbage);
    std::string reply = connection.receive();
    int status = status_of(reply);
    EXPECT_TRUE(reply.empty() || (status >= 400 && status < 500)) << reply;
  }
  // Half-closed: a complete request, then the client shuts its sending side. It still gets an
  // answer.
  RawConnection half(unix_endpoint());
  half.send("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
  half.shutdown_write();
  EXPECT_EQ(status_of(half.receive()), 200);
  // A client that connects and hangs up at once.
  { RawConnection gone(unix_endpoint()); }
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
  EXPECT_EQ(get(tcp_endpoint(), "/v1/status", std::string(kToken)).status, 200);
}

TEST_F(ControlServerTest, TwoMebibyteBodyIs413) {
  start();
  std::string body(2 * 1024 * 1024, 'x');
  RawConnection connection(unix_endpoint());
  ASSERT_TRUE(connection.connected());
  connection.send("POST /v1/workflows/promo/trigger HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n");
  connection.send(body);  // may fail part-way once the server closes; the answer is already there
  std::string reply = connection.receive();
  EXPECT_EQ(status_of(reply), 413) << reply.substr(0, 200);
  // Chunked, with no length announced up front.
  RawConnection chunked(unix_endpoint());
  chunked.send(
      "POST /v1/workflows/promo/trigger HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    if (!chunked.send("100000\r\n" + std::string(0x100000, 'y') + "\r\n")) break;
  }
  EXPECT_EQ(status_of(chunked.receive()), 413);
  EXPECT_TRUE(backend_.calls().empty());
  // Just under the limit is fine (and reaches the backend, which rejects the content).
  std::string fits = R"({"input": ")" + std::string(1024 * 1024 - 20, 'a') + R"("})";
  EXPECT_EQ(post(unix_endpoint(), "/v1/workflows/nope/trigger", fits).status, 404);
}

TEST_F(ControlServerTest, HeaderFloodIs431OrClose) {
  start();
  RawConnection connection(unix_endpoint());
  std::string request = "GET /v1/status HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) request += "X-Flood-" + std::to_string(i) + ": yes\r\n";
  request += "\r\n";
  connection.send(request);
  std::string reply = connection.receive();
  EXPECT_EQ(status_of(reply), 431) << reply.substr(0, 200);
  // One enormous header line.
  RawConnection long_line(unix_endpoint());
  long_line.send("GET /v1/status HTTP/1.1\r\nX-Long: " + std::string(100'000, 'z') + "\r\n\r\n");
  reply = long_line.receive();
  EXPECT_EQ(status_of(reply), 431) << reply.substr(0, 200);
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
}

TEST_F(ControlServerTest, SlowLorisIsTimedOutWhileOthersAreServed) {
  start();  // idle timeout 1.5 s
  RawConnection loris(unix_endpoint());
  ASSERT_TRUE(loris.connected());
  std::string request = "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n\r\n";
  auto began = std::chrono::steady_clock::now();
  std::atomic<bool> cut_off{false};
  std::thread trickle([&] {
    for (std::size_t i = 0; i < request.size() && i < 10; ++i) {
      if (!loris.send(std::string_view(&request[i], 1))) {
        cut_off = true;
        return;
      }
      std::this_thread::sleep_for(1s);
    }
  });
  // Meanwhile, another client is served at once.
  std::this_thread::sleep_for(300ms);
  auto served_at = std::chrono::steady_clock::now();
  EXPECT_EQ(get(unix_endpoint(), "/v1/status").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - served_at, 1s);
  std::string reply = loris.receive();  // returns when the server closes
  auto closed_after = std::chrono::steady_clock::now() - began;
  trickle.join();
  EXPECT_TRUE(reply.empty()) << reply;
  EXPECT_TRUE(loris.peer_closed());
  EXPECT_GE(closed_after, 1400ms);
  EXPECT_LT(closed_after, 4s);
}

TEST_F(ControlServerTest, IdleKeepAliveConnectionsAreClosed) {
  start();
  RawConnection idle(unix_endpoint());
  ASSERT_TRUE(idle.connected());
  idle.send("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
  auto began = std::chrono::steady_clock::now();
  std::string reply = idle.receive();  // the answer, then EOF when the idle timeout strikes
  EXPECT_EQ(status_of(reply), 200);
  EXPECT_TRUE(idle.peer_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - began, 4s);
}

TEST_F(ControlServerTest, ConnectionsBeyondTheLimitAreClosed) {
  auto limited = config(false);
  limited.max_connections = 2;
  start(limited);
  RawConnection first(unix_endpoint());
  RawConnection second(unix_endpoint());
  for (int i = 0; i < 50 && server_->open_connections() < 2; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(server_->open_connections(), 2u);
  RawConnection third(unix_endpoint());
  third.send("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(third.receive(), "");
  EXPECT_TRUE(third.peer_closed());
  // The first two still work.
  first.send("GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(first.receive()), 200);
}

TEST_F(ControlServerTest, StopClosesListenersAndConnections) {
  start();
  RawConnection open(unix_endpoint());
  ASSERT_TRUE(open.connected());
  auto tcp = tcp_endpoint();
  for (int i = 0; i < 50 && server_->open_connections() < 1; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  auto began = std::chrono::steady_clock::now();
  server_->stop_server();
  EXPECT_EQ(open.receive(), "");
  EXPECT_TRUE(open.peer_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1s);
  EXPECT_FALSE(fs::exists(socket_path_));
  RawConnection refused(tcp);
  EXPECT_FALSE(refused.connected());
}

// ---------------------------------------------------------------------------------------------
// The `reelflow` CLI against the server.

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliTest : public ControlServerTest {
 protected:
  // Runs `reelflow ARGS` with a clean environment plus `env` (NAME=VALUE words).
  CliResult reelflow(const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {}) {
    std::string command = "env -u REELFLOW_CONTROL -u REELFLOW_TOKEN";
    for (const auto& assignment : env) command += " " + quote(assignment);
    command += " timeout 20 " + quote(REELFLOW_BIN);
    for (const auto& arg : args) command += " " + quote(arg);
    command += " >" + quote((dir_ / "out").string()) + " 2>" + quote((dir_ / "err").string()) +
               " </dev/null";
    CliResult result;
    int raw = std::system(command.c_str());
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    result.out = slurp(dir_ / "out");
    result.err = slurp(dir_ / "err");
    return result;
  }
  std::string control() const { return "unix:" + socket_path_; }
};

TEST_F(CliTest, StatusWorkflowsAndRunsAsTextAndJson) {
  start();
  auto status = reelflow({"--control", control(), "status"});
  ASSERT_EQ(status.status, 0) << status.err;
  EXPECT_NE(status.out.find("reelflowd 9.9.9, pid 4242, running, up 1h 2m"), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("2 queued, 1 active"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("1 busy, 3 idle, 5 restarts"), std::string::npos) << status.out;

  auto status_json = reelflow({"status", "--json"}, {"REELFLOW_CONTROL=" + control()});
  ASSERT_EQ(status_json.status, 0) << status_json.err;
  EXPECT_EQ(json::parse(status_json.out)["pid"], 4242);

  auto workflows = reelflow({"workflows", "--control=" + control()});
  ASSERT_EQ(workflows.status, 0) << workflows.err;
  EXPECT_NE(workflows.out.find("NAME"), std::string::npos);
  EXPECT_NE(workflows.out.find("weekly"), std::string::npos);
  EXPECT_NE(workflows.out.find("paused"), std::string::npos);
  EXPECT_NE(workflows.out.find("schedule"), std::string::npos);

  auto runs = reelflow(
      {"--control", control(), "runs", "--workflow", "promo", "--state", "failed", "--limit", "5"});
  ASSERT_EQ(runs.status, 0) << runs.err;
  EXPECT_NE(runs.out.find("r-2"), std::string::npos);
  EXPECT_NE(runs.out.find("/srv/in/b.mp4"), std::string::npos);
  EXPECT_NE(runs.out.find("crashed with SIGSEGV"), std::string::npos);
  auto runs_json = reelflow({"--control", control(), "runs", "--json"});
  ASSERT_EQ(runs_json.status, 0);
  EXPECT_EQ(json::parse(runs_json.out)["runs"].size(), 2u);

  auto calls = backend_.calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "runs workflow=promo state=failed limit=5"),
            calls.end());
}

TEST_F(CliTest, RunShowListsStepsWithTimingsAttemptsErrorsAndOutputs) {
  start();
  auto shown = reelflow({"--control", control(), "run", "show", "r-1"});
  ASSERT_EQ(shown.status, 0) << shown.err;
  for (const char* text : {"run r-1", "workflow promo", "STEP", "ATTEMPT", "SECONDS", "score",
                           "1.25", "render", "3.50", "error: plugin video.render crashed",
                           "best_frame = /var/lib/x/f.png", "score = 0.87"}) {
    EXPECT_NE(shown.out.find(text), std::string::npos) << text << "\n" << shown.out;
  }
  auto as_json = reelflow({"run", "show", "r-1", "--json", "--control", control()});
  ASSERT_EQ(as_json.status, 0);
  EXPECT_EQ(json::parse(as_json.out)["steps"][1]["attempt"], 3);

  auto missing = reelflow({"--control", control(), "run", "show", "r-404"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no run 'r-404' (HTTP 404)"), std::string::npos) << missing.err;
  // `run show` needs an id; the offline `run` is still the offline run.
  EXPECT_EQ(reelflow({"--control", control(), "run", "show"}).status, 2);
  auto offline = reelflow({"run", (dir_ / "missing.yaml").string()});
  EXPECT_NE(offline.status, 0);
  EXPECT_EQ(offline.err.find("reelflow run show"), std::string::npos);
}

TEST_F(CliTest, TriggerRetryCancelPauseResume) {
  start();
  fs::path input = dir_ / "clip.mp4";
  std::ofstream(input) << "video";
  auto triggered = reelflow({"--control", control(), "trigger", "promo", "--input", input});
  ASSERT_EQ(triggered.status, 0) << triggered.err;
  EXPECT_NE(triggered.out.find("started run r-9 of promo"), std::string::npos) << triggered.out;
  EXPECT_EQ(backend_.last_body(), json({{"input", input.string()}}));

  auto paused_workflow = reelflow({"--control", control(), "trigger", "weekly", "--json"});
  EXPECT_EQ(paused_workflow.status, 1);
  EXPECT_NE(paused_workflow.err.find("workflow weekly is paused (HTTP 409)"), std::string::npos);
  EXPECT_EQ(reelflow({"--control", control(), "trigger", "promo", "--input",
                      (dir_ / "absent.mp4").string()})
                .status,
            2);

  auto retried = reelflow({"--control", control(), "retry", "r-2"});
  EXPECT_EQ(retried.status, 0) << retried.err;
  EXPECT_NE(retried.out.find("retrying run r-2"), std::string::npos);
  auto refused = reelflow({"--control", control(), "retry", "r-1"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("run r-1 has not failed"), std::string::npos);

  auto cancelled = reelflow({"--control", control(), "cancel", "r-2", "--json"});
  EXPECT_EQ(cancelled.status, 0);
  EXPECT_EQ(json::parse(cancelled.out)["state"], "cancelled");
  auto paused = reelflow({"--control", control(), "pause", "promo"});
  EXPECT_EQ(paused.status, 0);
  EXPECT_NE(paused.out.find("workflow promo paused"), std::string::npos);
  auto resumed = reelflow({"--control", control(), "resume", "promo", "--json"});
  EXPECT_EQ(json::parse(resumed.out)["paused"], false);

  auto calls = backend_.calls();
  for (const char* call : {"trigger promo", "trigger weekly", "retry r-2", "retry r-1",
                           "cancel r-2", "pause promo", "resume promo"}) {
    EXPECT_NE(std::find(calls.begin(), calls.end(), call), calls.end()) << call;
  }
}

TEST_F(CliTest, TcpWithTokenFromEnvironmentOrFile) {
  start();
  std::string tcp = tcp_endpoint().to_string();
  auto without = reelflow({"--control", tcp, "status"});
  EXPECT_EQ(without.status, 2);
  EXPECT_NE(without.err.find("REELFLOW_TOKEN"), std::string::npos);
  auto wrong = reelflow({"--control", tcp, "status"}, {"REELFLOW_TOKEN=nope"});
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.err.find("HTTP 401"), std::string::npos) << wrong.err;
  auto with_env =
      reelflow({"--control", tcp, "status", "--json"}, {std::string("REELFLOW_TOKEN=") + kToken});
  EXPECT_EQ(with_env.status, 0) << with_env.err;
  fs::path token_file = dir_ / "token";
  std::ofstream(token_file) << kToken << "\n";
  auto with_file = reelflow({"--control", tcp, "--token-file", token_file, "workflows"});
  EXPECT_EQ(with_file.status, 0) << with_file.err;
  EXPECT_NE(with_file.out.find("promo"), std::string::npos);
}

TEST_F(CliTest, UnreachableDaemonIsExplained) {
  std::string absent = "unix:" + (dir_ / "absent.sock").string();
  auto result = reelflow({"--control", absent, "status"});
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.err.find("cannot reach reelflowd at " + absent), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("Is the daemon running?"), std::string::npos);
  EXPECT_EQ(reelflow({"status", "--control", "ftp:x"}).status, 2);
  auto help = reelflow({"help", "run", "show"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("Usage: reelflow run show ID"), std::string::npos);
  auto main_help = reelflow({"--help"});
  for (const char* verb : {"status", "workflows", "runs", "run show ID", "trigger WORKFLOW",
                           "retry ID", "cancel ID", "pause WORKFLOW", "resume WORKFLOW"}) {
    EXPECT_NE(main_help.out.find(verb), std::string::npos) << verb;
  }
}

}  // namespace
}  // namespace reelflow::server
