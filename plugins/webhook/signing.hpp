// The webhook publisher's cryptography, on OpenSSL's libcrypto (Debian's libssl-dev): the
// Stripe-style request signature a receiver verifies, and the SHA-256 of the media files it can
// check the bytes against. See README.md, "Signature", for what is signed and how to verify it.
//
// Thread-safety: plain functions without shared state; safe to call from several threads.
#ifndef REELFLOW_PLUGINS_WEBHOOK_SIGNING_HPP
#define REELFLOW_PLUGINS_WEBHOOK_SIGNING_HPP

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace reelflow::webhook {

// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The X-Reelflow-Signature header's value: "t=<unix_seconds>,v1=<hex HMAC-SHA256(secret,
// "<unix_seconds>." + payload)>", payload being the exact bytes of the signed JSON.
std::string signature_header(std::string_view secret, std::int64_t unix_seconds,
                             std::string_view payload);

// Lower-case hex SHA-256 of the file's bytes, or why it could not be read. `cancelled` is polled
// between blocks (may be empty); a cancelled hash answers "cancelled".
tl::expected<std::string, std::string> sha256_file_hex(const std::filesystem::path& path,
                                                       const std::function<bool()>& cancelled);

}  // namespace reelflow::webhook

#endif  // REELFLOW_PLUGINS_WEBHOOK_SIGNING_HPP
