// FolderWatch: the watch.folder trigger's logic, a run for every complete file that lands in a
// folder, through inotify, driven by the host's loop through the rf_trigger_type contract (an fd
// and a timeout; no thread, no blocking call).
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
//  - The folder is created (with its parents) when missing at start; a path that exists but is not
//    a directory, or cannot be watched, fails the start naming the folder. Removed later, it is
//    logged and re-added every `retry_interval` until it is back (then scanned). No timer runs
//    while idle otherwise.
//  - Events: trigger = {"event": "file", "file": absolute normalised path, "name", "size",
//    "mtime": ISO 8601 UTC with milliseconds, "sha256"}, key =
//    "file:<path>:<size>:<mtime ns>:<sha256>" (the format the daemon stored before the watch
//    trigger became a plugin, so files already run are still recognised after an upgrade). A key
//    is emitted at most once per instance (the last `remembered_keys` are kept); the daemon's
//    store refuses a second run of a workflow with the same key, across restarts.
//
// Hashing runs in `hash_chunk`-byte slices, one per on_timer call (next_timeout answers 0 while a
// file is being hashed), so a large video never stalls the daemon's loop by more than one slice
// (~1 ms at 256 KiB); files are hashed one at a time (bounded open descriptors).
//
// Thread-safety: one thread at a time (the host's loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reelflow::watch {

struct FolderOptions {
  std::string path;  // absolute
  std::vector<std::string> patterns;
  bool recursive = false;
  double settle = 2.0;  // seconds
  // From the plugin's daemon-level config (`plugins: {watch: {...}}` in reelflowd.yaml).
  std::chrono::milliseconds retry_interval = std::chrono::seconds(5);
  std::size_t hash_chunk = 256 * 1024;
  std::size_t remembered_keys = 65536;
};

enum class Level { debug, info, warn, error };

struct FolderHost {
  std::function<void(Level, const std::string&)> log;
  // trigger_json, key; false when the host refused the event.
  std::function<bool(const std::string&, const std::string&)> emit;
};

// True for names the watch trigger never considers: temp/partial downloads and dotfiles.
bool is_ignored_file_name(std::string_view name);

class FolderWatch {
 public:
  // Opens inotify and watches the folder (and subfolders when recursive); the start-up scan runs
  // at the first on_timer. Throws std::runtime_error naming the folder when it cannot be watched.
  FolderWatch(FolderOptions options, FolderHost host);
  ~FolderWatch();  // closes inotify and any file being hashed
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;

  int fd() const;
  void on_readable();
  std::int64_t next_timeout() const;
  void on_timer();

  class State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace reelflow::watch
