// The HTTP client of the platform plugins: libcurl (Debian's libcurl4-openssl-dev) behind one
// blocking call, with what every publisher needs and none may forget:
// - certificate verification on (the system CA store; `ca_file` overrides it), never off;
// - HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured (libcurl reads them; `proxy` overrides);
// - a connect timeout and a stall timeout (no bytes for `stall_seconds`), plus an overall cap;
// - a body from memory or from a byte range of a file (chunked uploads read straight from disk);
// - errors that never contain a secret: every string in `redact` (tokens, signatures) is replaced
//   by "[redacted]" in error messages and in the URL reported with them, and query parameters
//   named like credentials (access_token, token, key, signature, sign, upload_id, ...) are
//   masked too.
//
// Failures are values: an HttpError says whether the request may be retried (connection refused,
// reset, timeout, DNS failure, a connection dropped mid-transfer) or not (a malformed URL, a file
// that cannot be read). HTTP status codes are not errors: a 4xx/5xx comes back as a Response, and
// classify() gives the usual reading of it.
//
// Thread-safety: send() may be called from several threads at once (each call has its own curl
// handle); curl_global_init runs once, on first use.
#ifndef REELFLOW_PLUGINS_SUPPORT_HTTP_CLIENT_HPP
#define REELFLOW_PLUGINS_SUPPORT_HTTP_CLIENT_HPP

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace reelflow::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A byte range of a file sent as the request body (PUT/POST of one upload chunk).
struct FileRange {
  std::filesystem::path path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// One part of a multipart/form-data body.
struct FormPart {
  std::string name;
  std::string value;                         // the part's bytes, when file is unset
  std::optional<FileRange> file;             // or a byte range of a file
  std::string filename;                      // sent as the part's filename (file parts)
  std::string content_type;                  // empty: libcurl's default
};

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;                          // used when neither file nor form is set
  std::optional<FileRange> file;             // the body is this byte range of a file
  std::vector<FormPart> form;                // non-empty: a multipart/form-data body
  double connect_timeout_seconds = 15;
  double stall_seconds = 60;                 // abort when fewer than 1 byte/s for this long
  double total_timeout_seconds = 0;          // 0: no overall cap (uploads can take long)
  std::vector<std::string> redact;           // secrets to keep out of any message
  std::string proxy;                         // empty: the environment's (HTTPS_PROXY, NO_PROXY)
  std::string ca_file;                       // empty: the system's CA store
  std::function<bool()> cancelled;           // polled during the transfer; true aborts it
};

struct Response {
  long status = 0;
  Headers headers;                           // names lower-cased, in the order received
  std::string body;

  // The first header of that (case-insensitive) name.
  std::optional<std::string> header(std::string_view name) const;
  // Retry-After in seconds (delta-seconds or an HTTP date), if present and sensible.
  std::optional<double> retry_after() const;
};

struct HttpError {
  bool retryable = false;  // a network failure worth retrying
  bool cancelled = false;  // Request::cancelled said stop
  std::string message;     // what failed, on which URL (credentials masked)
};

// Sends the request and waits for the whole response.
tl::expected<Response, HttpError> send(const Request& request);

// How a status reads for a client that follows the usual rules.
enum class StatusClass {
  ok,            // 2xx
  redirect,      // 3xx (including YouTube's 308 Resume Incomplete: callers check first)
  unauthorized,  // 401: refresh the token, or reconnect
  rate_limited,  // 429: retry after Retry-After
  bad_request,   // other 4xx: do not retry
  server_error   // 5xx: retry with backoff
};
StatusClass classify(long status);

// "…": text with every non-empty string of `secrets` replaced by "[redacted]" and credential
// query parameters of URLs masked.
std::string redact(std::string text, const std::vector<std::string>& secrets);

// Percent-encodes for a query string or form value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

}  // namespace reelflow::http

#endif  // REELFLOW_PLUGINS_SUPPORT_HTTP_CLIENT_HPP
