#include "signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace reelflow::webhook {
namespace {

std::string hex(const unsigned char* bytes, std::size_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (std::size_t i = 0; i < length; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xF]);
  }
  return out;
}

struct DigestDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // A zero-length key still needs a valid pointer for HMAC(); "" provides one.
  const void* key_bytes = key.empty() ? static_cast<const void*>("") : key.data();
  if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr) {
    return {};  // cannot happen with a built-in digest; an empty signature fails verification
  }
  return hex(digest, length);
}

std::string signature_header(std::string_view secret, std::int64_t unix_seconds,
                             std::string_view payload) {
  const std::string timestamp = std::to_string(unix_seconds);
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + payload.size());
  signed_text.append(timestamp).append(".").append(payload);
  return "t=" + timestamp + ",v1=" + hmac_sha256_hex(secret, signed_text);
}

tl::expected<std::string, std::string> sha256_file_hex(const std::filesystem::path& path,
                                                       const std::function<bool()>& cancelled) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected("cannot open " + path.string() + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, DigestDeleter> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    return tl::unexpected(std::string("cannot start a SHA-256 digest (libcrypto)"));
  }
  std::vector<char> block(1 << 20);
  while (in) {
    if (cancelled && cancelled()) return tl::unexpected(std::string("cancelled"));
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto got = in.gcount();
    if (got > 0 &&
        EVP_DigestUpdate(context.get(), block.data(), static_cast<std::size_t>(got)) != 1) {
      return tl::unexpected(std::string("SHA-256 digest failed (libcrypto)"));
    }
  }
  if (in.bad()) return tl::unexpected("cannot read " + path.string());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1) {
    return tl::unexpected(std::string("SHA-256 digest failed (libcrypto)"));
  }
  return hex(digest, length);
}

}  // namespace reelflow::webhook
