// The watch trigger: starts a run for every complete file that lands in a folder
// (`on.watch: {path, patterns, recursive, settle}`), through inotify on the daemon's io_context.
//
// Contract:
//  - A file is a candidate after IN_CLOSE_WRITE or IN_MOVED_TO (and IN_CREATE only for what is
//    complete on creation: symlinks and hard links), and at start-up for every file already
//    there (files that arrived while the daemon was down). It fires once its size and mtime
//    stayed the same for `settle` seconds (re-checked after each period, so a writer that keeps
//    appending is not picked up until it stops), it has content (0-byte files wait, logged at
//    debug, until written), and its hash was computed without the file changing meanwhile.
//  - Never candidates: names ending .part .tmp .crdownload .download or ~ (any case), dotfiles,
//    directories, anything but regular files, and names no `patterns` glob matches
//    (fnmatch(3) against the file name; no patterns = every file). In recursive mode hidden
//    directories are skipped too and symlinked directories are not followed.
//  - A symlink whose target resolves outside the watched folder is refused with a warning naming
//    both paths (once per link and target); inside is fine: the event names the link, size, mtime
//    and hash are the target's.
//  - Recursive: subdirectories are watched, including ones created or moved in later, which are
//    scanned on arrival. IN_Q_OVERFLOW triggers a full rescan.
//  - The folder missing at start is an error; removed later, it is logged and re-added every
//    `retry_interval` until it is back (then scanned). No timers run while idle otherwise.
//  - Events: trigger = {"event": "file", "file": absolute normalised path, "name", "size",
//    "mtime": ISO 8601 UTC with milliseconds, "sha256"}, key =
//    "file:<path>:<size>:<mtime ns>:<sha256>". A key is emitted at most once per process (the
//    last `remembered_keys` are kept; the store's per-workflow key uniqueness covers the rest and
//    restarts).
//
// Hashing runs on the loop in `hash_chunk`-byte slices, each slice a separate posted handler, so
// a large video never stalls other work by more than one slice (~1 ms at 256 KiB) and no thread
// or cross-thread hand-off is needed; files are hashed one at a time (bounded open descriptors).
//
// Thread-safety: one thread, the io_context's.
#pragma once

// Boost 1.74 Asio under GCC 12 in C++20 mode needs <utility> first.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "common/log.hpp"
#include "common/result.hpp"
#include "triggers/trigger.hpp"
#include "workflow/workflow.hpp"

namespace reelflow::triggers {

struct WatchOptions {
  std::chrono::milliseconds retry_interval = std::chrono::seconds(5);
  std::size_t hash_chunk = 256 * 1024;
  std::size_t remembered_keys = 65536;
};

// True for names the watch trigger never considers: temp/partial downloads and dotfiles.
bool is_ignored_file_name(std::string_view name);

class WatchTrigger {
 public:
  // Opens inotify, watches the folder (and subfolders when recursive) and schedules the start-up
  // scan. Fails, naming the folder, when it is missing, not a directory or cannot be watched.
  // `log` must outlive the trigger.
  static Result<WatchTrigger> start(boost::asio::io_context& io, const Logger& log,
                                    std::string workflow, const workflow::WatchTrigger& config,
                                    TriggerSink sink, WatchOptions options = {});

  WatchTrigger(WatchTrigger&&) noexcept;
  WatchTrigger& operator=(WatchTrigger&&) noexcept;
  ~WatchTrigger();  // stops

  // Closes inotify and cancels timers and hashing; no event is emitted afterwards. Idempotent.
  void stop();

  class State;

 private:
  explicit WatchTrigger(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace reelflow::triggers
