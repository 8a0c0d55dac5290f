// The click log: the tracking server's write-ahead log of clicks, a file next to the database
// ("reelflow.db-clicks").
//
// The redirect server appends each round of clicks with one write on its own thread and sends
// the 302s right after; a click in the file survives kill -9 and crashes of the daemon (it is in
// the kernel's page cache), and after sync() also power loss. TrackStore's importer thread copies
// the log into the clicks table in large transactions and, once everything in it is there,
// starts the next lap of the log at the beginning of the file. The file is reused rather than
// truncated, so that a sync (fdatasync) writes the records and no file-size change: the file
// settles at the size of one import's worth of clicks. At open, whatever a crash left in the
// file is imported first.
//
// A record is [u32 payload length][u32 lap][u32 checksum of the lap and payload][payload],
// little-endian; the payload is the click's time (i64), flags (u8, bit 0: duplicate) and eight
// strings, each a u16 length and its bytes (id, code, kind, agent, visitor, ip, user_agent,
// referer). Each lap numbers its records with a lap number one above the previous lap's, so the
// reader stops quietly where the current lap ends and an older lap's bytes begin (or zeros). A
// record of the current lap with a wrong checksum, or cut short, is damage (a power loss in the
// middle of a write): reading stops there and says so.
//
// Positions are logical: bytes ever appended, never reset when a lap starts, so that "everything
// up to position P is imported" stays meaningful across laps.
//
// Thread-safety: one appender thread (append) and one reader thread (read, start_lap_if_consumed)
// may run at the same time; sync() and end() from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/track_store.hpp"

namespace reelflow::store {

// One record's bytes, appended to `out`.
void encode_click(const Click& click, std::uint32_t lap, std::string& out);

struct DecodedClicks {
  std::vector<Click> clicks;
  std::size_t consumed = 0;  // bytes of whole, valid records
  bool damaged = false;      // a record of the lap with a wrong checksum or impossible fields
};
// The whole records of lap `lap` at the start of `bytes`. The decoding ends at a record of
// another lap, at zeros, or at a record cut short at the end of `bytes` (left unconsumed).
DecodedClicks decode_clicks(std::string_view bytes, std::uint32_t lap);

class ClickLog {
 public:
  // Opens (creating) the file and finds what a previous run left in it: the records of the lap
  // at its start. `damaged` tells that reading stopped at a damaged record of that lap.
  static Result<std::unique_ptr<ClickLog>> open(const std::filesystem::path& path);
  ~ClickLog();
  ClickLog(const ClickLog&) = delete;
  ClickLog& operator=(const ClickLog&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Bytes of damaged records found at open after the last readable one (0: none).
  std::uint64_t damaged_at_open() const { return damaged_at_open_; }

  // Appends the clicks with one write. On failure (disk full, file size limit) nothing of them
  // counts: the next append writes over them. Returns the position after them.
  Result<std::uint64_t> append(std::span<const Click> clicks);
  // Flushes the file to the disk (fdatasync); the position it covers.
  Result<std::uint64_t> sync();

  // Position after the last appended record.
  std::uint64_t end() const;
  // The whole records from logical position `from` (the start of a record of the current lap)
  // up to about `max_bytes` bytes.
  Result<DecodedClicks> read(std::uint64_t from, std::size_t max_bytes) const;
  // Starts the next lap at the beginning of the file when everything is consumed
  // (consumed == end()) and the lap holds at least `min_bytes`; true when it did. A file grown
  // beyond kShrinkAbove (a long backlog) is cut back to nothing.
  Result<bool> start_lap_if_consumed(std::uint64_t consumed, std::uint64_t min_bytes);

  static constexpr std::uint64_t kShrinkAbove = 64ull << 20;

 private:
  ClickLog(std::filesystem::path path, int fd);
  Result<void> scan();

  std::filesystem::path path_;
  int fd_;
  std::string encoded_;           // the appender's buffer
  mutable std::mutex mutex_;      // guards the fields below
  std::uint32_t lap_ = 1;
  std::uint64_t base_ = 0;        // logical position of the file's first byte in this lap
  std::uint64_t end_ = 0;         // logical position after the last record
  std::uint64_t extent_ = 0;       // the file's size (the furthest byte written)
  std::uint64_t damaged_at_open_ = 0;
};

}  // namespace reelflow::store
