// SHA-256 (FIPS 180-4), small and dependency-free: used for workflow content hashes and other
// fingerprints where a stable, collision-resistant digest of some bytes is wanted. Not for
// passwords or keys. Thread-safety: a Sha256 object is used by one thread at a time; the free
// function is pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace reelflow {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  void update(const void* data, std::size_t size);
  // The 32-byte digest. The object must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

// Lower-case hex SHA-256 of bytes, 64 characters.
std::string sha256_hex(std::string_view bytes);

}  // namespace reelflow
