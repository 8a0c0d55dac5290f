// The public tracking server: short-link redirects, conversion postbacks and the conversion pixel,
// HTTP/1.1 with Boost.Beast on the daemon's io_context (config `listen`).
//
//   GET|HEAD /l/<code>  302 to the link's target with rf_click=<click id> appended,
//                       Cache-Control: no-store, sent only once the click is committed (group
//                       commit, store/track_store.hpp); 404 unknown code, 410 disabled link,
//                       503 when the click cannot be stored (the reason is logged).
//                       HEAD requests, bots, crawlers and link previewers are recorded, flagged.
//   POST /c             a signed conversion postback (track/conversion.hpp): 200 with the
//                       attribution, 400 bad body, 401 bad signature or unknown source, 404
//                       unknown click or link, 413 body too large, 503 store error.
//   GET /p.gif          the same as a pixel with a signed query string; always a 1x1 GIF.
//
// Limits: request header size (431), body size (413), a read timeout for each request (a slow
// client is closed; others are not affected), an idle timeout between keep-alive requests, and a
// cap on open connections. The server is never an open redirect: only registered, enabled codes
// redirect, to the target stored with them.
//
// Thread-safety: one thread (the io_context's). The store's writer thread and a conversion
// thread hand their results back to it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/log.hpp"
#include "common/result.hpp"
#include "store/track_store.hpp"

namespace boost::asio {
class io_context;
}

namespace reelflow::server {

struct TrackServerConfig {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string public_url;                 // short links start with this; empty: http://<bound>
  bool raw_ip = false;                    // keep client addresses whole (default: /24, /48)
  bool trust_forwarded_for = false;       // behind a proxy: the client is X-Forwarded-For's last
  std::int64_t duplicate_window_ms = 3600 * 1000;
  std::int64_t attribution_window_ms = 7 * 86400 * 1000LL;
  std::int64_t replay_window_s = 300;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // to receive one whole request
  std::chrono::milliseconds idle_timeout{30'000};  // between keep-alive requests
  std::size_t max_connections = 10'000;
  std::string visitor_salt;  // mixed into the visitor hash (per installation)
};

// The secret of a conversion source ("shop" -> secret conversion.shop), or nullopt.
using SourceSecret = std::function<std::optional<std::string>(const std::string& source)>;

struct TrackCounters {
  std::uint64_t redirects = 0;
  std::uint64_t not_found = 0;
  std::uint64_t unavailable = 0;  // 503: a click could not be stored
  std::uint64_t conversions = 0;
  std::uint64_t rejected = 0;     // postbacks refused (signature, body)
};

class TrackServer {
 public:
  TrackServer(boost::asio::io_context& io, store::TrackStore& store, TrackServerConfig config,
              SourceSecret secrets, const Logger& logger);
  ~TrackServer();
  TrackServer(const TrackServer&) = delete;
  TrackServer& operator=(const TrackServer&) = delete;

  Result<void> start();  // the error names the address and the cause
  void stop();

  std::string bound() const;                       // "127.0.0.1:8080" after start()
  std::string short_url(const std::string& code) const;  // public_url + "/l/" + code
  void forget(const std::string& code);            // a link changed: drop its cached target
  TrackCounters counters() const;
  std::size_t open_connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace reelflow::server
