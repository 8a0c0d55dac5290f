#include "http/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>

namespace reelflow::http {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Query parameters whose values are credentials wherever they appear.
bool credential_name(std::string_view name) {
  const std::string n = lower(name);
  return n == "access_token" || n == "refresh_token" || n == "token" || n == "key" ||
         n == "api_key" || n == "signature" || n == "sign" || n == "client_secret" ||
         n == "code" || n == "upload_id" || n == "upload_token" || n == "fb_exchange_token" ||
         n == "client_key_secret" || n == "app_secret";
}

std::string mask_query_credentials(std::string text) {
  // name=value pairs after '?' or '&': mask the value of credential names.
  std::size_t pos = 0;
  while ((pos = text.find_first_of("?&", pos)) != std::string::npos) {
    const std::size_t name_start = pos + 1;
    const std::size_t eq = text.find('=', name_start);
    if (eq == std::string::npos) break;
    const std::string_view name(text.data() + name_start, eq - name_start);
    if (name.find_first_of(" ?&/") != std::string_view::npos) {
      pos = name_start;
      continue;
    }
    std::size_t end = text.find_first_of("&# \"'\n", eq + 1);
    if (end == std::string::npos) end = text.size();
    if (credential_name(name) && end > eq + 1) {
      text.replace(eq + 1, end - eq - 1, "[redacted]");
      end = eq + 1 + 10;
    }
    pos = end;
  }
  return text;
}

struct Transfer {
  const Request* request = nullptr;
  Response response;
  std::ifstream file;
  std::uint64_t file_left = 0;
  std::string file_error;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->response.body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    transfer->response.headers.clear();  // a new response (after 100 Continue or a redirect)
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  transfer->response.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
  return size * count;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::uint64_t want = std::min<std::uint64_t>(size * count, transfer->file_left);
  if (want == 0) return 0;
  transfer->file.read(buffer, static_cast<std::streamsize>(want));
  const auto got = static_cast<std::uint64_t>(transfer->file.gcount());
  if (got == 0) {
    transfer->file_error = "the file ended early";
    return CURL_READFUNC_ABORT;
  }
  transfer->file_left -= got;
  return static_cast<size_t>(got);
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  return transfer->request->cancelled && transfer->request->cancelled() ? 1 : 0;
}

bool retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct MimeDeleter {
  void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};

// A file range as a part's data, read through callbacks.
struct PartSource {
  std::ifstream file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t position = 0;
};

size_t part_read(char* buffer, size_t size, size_t count, void* user) {
  auto* source = static_cast<PartSource*>(user);
  const std::uint64_t want = std::min<std::uint64_t>(size * count, source->length - source->position);
  if (want == 0) return 0;
  source->file.read(buffer, static_cast<std::streamsize>(want));
  const auto got = static_cast<std::uint64_t>(source->file.gcount());
  if (got == 0) return CURL_READFUNC_ABORT;
  source->position += got;
  return static_cast<size_t>(got);
}

int part_seek(void* user, curl_off_t offset, int origin) {
  auto* source = static_cast<PartSource*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > source->length) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  source->file.clear();
  source->file.seekg(static_cast<std::streamoff>(source->offset + static_cast<std::uint64_t>(offset)));
  source->position = static_cast<std::uint64_t>(offset);
  return source->file ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

}  // namespace

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  return mask_query_credentials(std::move(text));
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> Response::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return std::nullopt;
}

std::optional<double> Response::retry_after() const {
  const auto value = header("retry-after");
  if (!value || value->empty()) return std::nullopt;
  if (std::all_of(value->begin(), value->end(), [](unsigned char c) { return std::isdigit(c); })) {
    const double seconds = std::stod(*value);
    return seconds <= 86400.0 * 7 ? std::optional(seconds) : std::nullopt;
  }
  const time_t when = curl_getdate(value->c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const double seconds = std::difftime(when, std::time(nullptr));
  return std::clamp(seconds, 0.0, 86400.0 * 7);
}

StatusClass classify(long status) {
  if (status >= 200 && status < 300) return StatusClass::ok;
  if (status >= 300 && status < 400) return StatusClass::redirect;
  if (status == 401) return StatusClass::unauthorized;
  if (status == 429) return StatusClass::rate_limited;
  if (status >= 500) return StatusClass::server_error;
  return StatusClass::bad_request;
}

tl::expected<Response, HttpError> send(const Request& request) {
  global_init();
  const std::string where = request.method + " " + redact(request.url, request.redact);
  auto failure = [&](bool retry, std::string why) {
    return tl::unexpected(HttpError{retry, false, redact(where + ": " + why, request.redact)});
  };

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return failure(false, "cannot create a libcurl handle");
  CURL* h = curl.get();
  Transfer transfer;
  transfer.request = &request;

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.proxy.empty()) curl_easy_setopt(h, CURLOPT_PROXY, request.proxy.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max(0.001, request.connect_timeout_seconds) * 1000));
  if (request.stall_seconds > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(request.stall_seconds)));
  }
  if (request.total_timeout_seconds > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_seconds * 1000));
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "reelflow/1");
  if (request.cancelled) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  }

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    add_header(name + ": " + value);
    if (lower(name) == "content-type") has_content_type = true;
  }
  add_header("Expect:");  // no 100-continue round trip before bodies
  // libcurl labels a memory body as a form (application/x-www-form-urlencoded); without a type
  // of the caller's, send none.
  if (!has_content_type && request.form.empty() && !request.file) add_header("Content-Type:");

  std::unique_ptr<curl_mime, MimeDeleter> mime;
  std::vector<std::unique_ptr<PartSource>> part_sources;
  const std::string method = request.method;
  if (!request.form.empty()) {
    mime.reset(curl_mime_init(h));
    for (const auto& part : request.form) {
      curl_mimepart* field = curl_mime_addpart(mime.get());
      curl_mime_name(field, part.name.c_str());
      if (part.file) {
        auto source = std::make_unique<PartSource>();
        source->file.open(part.file->path, std::ios::binary);
        if (!source->file) return failure(false, "cannot read " + part.file->path.string());
        source->file.seekg(static_cast<std::streamoff>(part.file->offset));
        source->offset = part.file->offset;
        source->length = part.file->length;
        curl_mime_data_cb(field, static_cast<curl_off_t>(part.file->length), part_read, part_seek,
                          nullptr, source.get());
        part_sources.push_back(std::move(source));
        curl_mime_filename(field, part.filename.empty()
                                      ? part.file->path.filename().string().c_str()
                                      : part.filename.c_str());
      } else {
        curl_mime_data(field, part.value.data(), part.value.size());
        if (!part.filename.empty()) curl_mime_filename(field, part.filename.c_str());
      }
      if (!part.content_type.empty()) curl_mime_type(field, part.content_type.c_str());
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime.get());
    if (method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (request.file) {
    transfer.file.open(request.file->path, std::ios::binary);
    if (!transfer.file) return failure(false, "cannot read " + request.file->path.string());
    transfer.file.seekg(static_cast<std::streamoff>(request.file->offset));
    if (!transfer.file) {
      return failure(false, "cannot seek to byte " + std::to_string(request.file->offset) +
                                " of " + request.file->path.string());
    }
    transfer.file_left = request.file->length;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.file->length));
    if (method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  const CURLcode code = curl_easy_perform(h);
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    return tl::unexpected(HttpError{false, true, where + ": cancelled"});
  }
  if (code != CURLE_OK) {
    if (!transfer.file_error.empty()) return failure(false, transfer.file_error);
    std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    return failure(retryable(code), why);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return std::move(transfer.response);
}

}  // namespace reelflow::http
