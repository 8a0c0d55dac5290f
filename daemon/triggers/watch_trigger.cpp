#include "triggers/watch_trigger.hpp"

// Boost 1.74 Asio under GCC 12 in C++20 mode needs <utility> first.
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/sha256.hpp"
#include "triggers/time_zone.hpp"

namespace reelflow::triggers {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kDirectoryMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                         IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                         IN_EXCL_UNLINK;
constexpr int kMaxDepth = 64;

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), text.end() - static_cast<long>(suffix.size()),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b));
                    });
}

std::string errno_text(int error) { return std::strerror(error); }

// Whether `path` is `root` or lies beneath it (both canonical).
bool is_inside(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

std::optional<std::string> real_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return std::nullopt;
  return std::string(resolved);
}

}  // namespace

bool is_ignored_file_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '~') return true;
  for (std::string_view suffix : {".part", ".tmp", ".crdownload", ".download"}) {
    if (ends_with_ignoring_case(name, suffix)) return true;
  }
  return false;
}

class WatchTrigger::State : public std::enable_shared_from_this<State> {
 public:
  State(boost::asio::io_context& io, const Logger& log, std::string workflow,
        const workflow::WatchTrigger& config, TriggerSink sink, WatchOptions options, fs::path root,
        int inotify_fd)
      : io_(io),
        log_(log),
        workflow_(std::move(workflow)),
        root_(std::move(root)),
        patterns_(config.patterns),
        recursive_(config.recursive),
        settle_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(std::max(0.0, config.settle)))),
        sink_(std::move(sink)),
        options_(options),
        inotify_fd_(inotify_fd),
        stream_(io, inotify_fd),
        retry_timer_(io) {}

  // Watches the root (an error names it), then schedules the start-up scan and starts reading.
  Result<void> begin() {
    if (auto attached = attach_root(); !attached) return attached;
    boost::asio::post(io_, [self = shared_from_this()] {
      if (!self->stopped_) self->rescan();
    });
    read();
    return {};
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    stream_.close(ignored);  // also closes the inotify descriptor, dropping every watch
    retry_timer_.cancel();
    candidates_.clear();
    hash_queue_.clear();
    abort_hash();
  }

 private:
  struct FileState {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileState&) const = default;
  };

  struct Candidate {
    explicit Candidate(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    FileState state;
    std::uint64_t generation = 0;
    bool hashing = false;  // queued for or under hashing
    bool dirty = false;    // an event arrived while hashing
  };

  struct HashJob {
    std::string path;
    FileState state;
    int fd = -1;
    Sha256 digest;
  };

  LogFields fields() const {
    LogFields fields;
    fields.workflow = workflow_;
    return fields;
  }

  // ---- the watched tree ----

  Result<void> attach_root() {
    struct stat info {};
    if (::stat(root_.c_str(), &info) != 0) {
      return fail("watch folder " + root_.string() + ": " + errno_text(errno));
    }
    if (!S_ISDIR(info.st_mode)) return fail("watch folder " + root_.string() + ": not a directory");
    const int wd = ::inotify_add_watch(inotify_fd_, root_.c_str(), kDirectoryMask);
    if (wd < 0)
      return fail("watch folder " + root_.string() + ": cannot watch: " + errno_text(errno));
    auto canonical = real_path(root_.string());
    if (!canonical) {
      ::inotify_rm_watch(inotify_fd_, wd);
      return fail("watch folder " + root_.string() + ": " + errno_text(errno));
    }
    canonical_root_ = *canonical;
    root_wd_ = wd;
    directories_[wd] = root_;
    root_present_ = true;
    return {};
  }

  void rescan() { watch_tree(root_, 0); }

  // Watches `directory` (the root is already watched) and considers every file in it; recurses
  // into subdirectories in recursive mode.
  void watch_tree(const fs::path& directory, int depth) {
    if (directory != root_) {
      const int wd =
          ::inotify_add_watch(inotify_fd_, directory.c_str(), kDirectoryMask | IN_DONT_FOLLOW);
      if (wd < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
          log_.error("cannot watch subfolder " + directory.string() + ": " + errno_text(errno),
                     fields());
        }
        return;
      }
      directories_[wd] = directory;
    }
    std::error_code error;
    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(directory, error), end; !error && it != end;
         it.increment(error)) {
      entries.push_back(*it);
    }
    if (error && error != std::errc::no_such_file_or_directory) {
      log_.warn("cannot list " + directory.string() + ": " + error.message(), fields());
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& entry : entries) {
      const std::string name = entry.path().filename().string();
      std::error_code status_error;
      const auto status = entry.symlink_status(status_error);
      if (status_error) continue;
      if (fs::is_directory(status)) {
        if (recursive_ && name.front() != '.' && depth < kMaxDepth) {
          watch_tree(entry.path(), depth + 1);
        }
      } else if (wanted_name(name)) {
        consider(entry.path().string());
      }
    }
  }

  // Drops the watches, candidates and caches for `directory` and everything below it.
  void forget_tree(const fs::path& directory) {
    const std::string prefix = directory.string();
    for (auto it = directories_.begin(); it != directories_.end();) {
      if (it->first != root_wd_ && is_inside(it->second.string(), prefix)) {
        ::inotify_rm_watch(inotify_fd_, it->first);
        it = directories_.erase(it);
      } else {
        ++it;
      }
    }
    std::erase_if(candidates_, [&](const auto& entry) { return is_inside(entry.first, prefix); });
    std::erase_if(hash_cache_, [&](const auto& entry) { return is_inside(entry.first, prefix); });
    std::erase_if(refused_, [&](const auto& entry) { return is_inside(entry.first, prefix); });
  }

  void forget_file(const std::string& path) {
    candidates_.erase(path);
    hash_cache_.erase(path);
    refused_.erase(path);
  }

  void root_lost() {
    if (!root_present_) return;
    root_present_ = false;
    log_.error("watch folder " + root_.string() + " disappeared; retrying every " +
                   std::to_string(options_.retry_interval.count()) + " ms",
               fields());
    for (const auto& [wd, path] : directories_) ::inotify_rm_watch(inotify_fd_, wd);
    directories_.clear();
    root_wd_ = -1;
    candidates_.clear();
    hash_queue_.clear();
    hash_cache_.clear();
    refused_.clear();
    abort_hash();
    retry_root();
  }

  void retry_root() {
    retry_timer_.expires_after(options_.retry_interval);
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error || self->stopped_) return;
      if (auto attached = self->attach_root(); !attached) {
        self->retry_root();
        return;
      }
      self->log_.info("watch folder " + self->root_.string() + " is back; scanning it",
                      self->fields());
      self->rescan();
    });
  }

  // ---- inotify events ----

  void read() {
    stream_.async_read_some(
        boost::asio::buffer(buffer_),
        [self = shared_from_this()](const boost::system::error_code& error, std::size_t size) {
          if (self->stopped_ || error == boost::asio::error::operation_aborted) return;
          if (error) {
            self->log_.error("inotify read failed: " + error.message() + "; watch stopped",
                             self->fields());
            return;
          }
          self->dispatch(size);
          if (!self->stopped_) self->read();
        });
  }

  void dispatch(std::size_t size) {
    std::size_t offset = 0;
    while (offset + sizeof(inotify_event) <= size) {
      inotify_event event{};
      std::memcpy(&event, buffer_.data() + offset, sizeof event);
      const char* name_start = buffer_.data() + offset + sizeof event;
      offset += sizeof event + event.len;
      if (offset > size) break;
      std::string_view name(name_start, ::strnlen(name_start, event.len));
      handle(event.wd, event.mask, name);
      if (stopped_) return;
    }
  }

  void handle(int wd, std::uint32_t mask, std::string_view name) {
    if (mask & IN_Q_OVERFLOW) {
      log_.warn("inotify queue overflowed; rescanning " + root_.string(), fields());
      if (root_present_) rescan();
      return;
    }
    auto directory = directories_.find(wd);
    if (directory == directories_.end()) return;
    if (mask & IN_IGNORED) {
      directories_.erase(directory);
      if (wd == root_wd_) root_lost();
      return;
    }
    if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
      if (wd == root_wd_) root_lost();
      return;  // a subfolder's removal or move is handled through its parent's event
    }
    if (name.empty()) return;
    const fs::path path = directory->second / std::string(name);
    if (mask & IN_ISDIR) {
      if (mask & (IN_CREATE | IN_MOVED_TO)) {
        if (recursive_ && name.front() != '.') watch_tree(path, 1);
      } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
        forget_tree(path);
      }
      return;
    }
    if (mask & (IN_DELETE | IN_MOVED_FROM)) {
      forget_file(path.string());
      return;
    }
    if (!wanted_name(name)) return;
    if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
      consider(path.string());
    } else if (mask & IN_CREATE) {
      // A new empty file is still being written: wait for its IN_CLOSE_WRITE. Symlinks and hard
      // links are complete when they appear and send nothing else.
      struct stat info {};
      if (::lstat(path.c_str(), &info) == 0 &&
          (S_ISLNK(info.st_mode) || (S_ISREG(info.st_mode) && info.st_nlink > 1))) {
        consider(path.string());
      }
    }
  }

  bool wanted_name(std::string_view name) const {
    if (is_ignored_file_name(name)) return false;
    if (patterns_.empty()) return true;
    const std::string name_text(name);
    return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::string& pattern) {
      return ::fnmatch(pattern.c_str(), name_text.c_str(), 0) == 0;
    });
  }

  // ---- settling ----

  // The file's identity and state, or nothing when it is gone, not a regular file, or a symlink
  // leading outside the folder (refused with a log line).
  std::optional<FileState> inspect(const std::string& path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) return std::nullopt;
    if (S_ISLNK(info.st_mode)) {
      if (::stat(path.c_str(), &info) != 0) return std::nullopt;  // dangling
      if (!S_ISREG(info.st_mode)) return std::nullopt;
      auto target = real_path(path);
      if (!target) return std::nullopt;
      if (!is_inside(*target, canonical_root_)) {
        auto [known, inserted] = refused_.try_emplace(path, *target);
        if (inserted || known->second != *target) {
          known->second = *target;
          log_.warn("refusing symlink " + path + " -> " + *target +
                        ": the target is outside the watched folder " + canonical_root_,
                    fields());
        }
        return std::nullopt;
      }
    }
    if (!S_ISREG(info.st_mode)) return std::nullopt;
    return FileState{
        info.st_dev, info.st_ino, info.st_size,
        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
  }

  void consider(const std::string& path) {
    if (auto known = candidates_.find(path); known != candidates_.end()) {
      known->second->dirty = true;  // the settle check or the hash verification re-reads it
      return;
    }
    auto state = inspect(path);
    if (!state) return;
    auto candidate = std::make_unique<Candidate>(io_);
    candidate->state = *state;
    candidate->generation = ++generation_;
    Candidate& ref = *candidate;
    candidates_.emplace(path, std::move(candidate));
    arm_settle(path, ref);
  }

  void arm_settle(const std::string& path, Candidate& candidate) {
    candidate.hashing = false;
    candidate.dirty = false;
    candidate.timer.expires_after(settle_);
    candidate.timer.async_wait([self = shared_from_this(), path, generation = candidate.generation](
                                   const boost::system::error_code& error) {
      if (!error && !self->stopped_) self->on_settled(path, generation);
    });
  }

  Candidate* find_candidate(const std::string& path, std::uint64_t generation) {
    auto it = candidates_.find(path);
    if (it == candidates_.end() || it->second->generation != generation) return nullptr;
    return it->second.get();
  }

  void on_settled(const std::string& path, std::uint64_t generation) {
    Candidate* candidate = find_candidate(path, generation);
    if (candidate == nullptr) return;
    auto state = inspect(path);
    if (!state) {  // deleted (or turned into something else) before settling
      candidates_.erase(path);
      return;
    }
    if (*state != candidate->state) {
      candidate->state = *state;
      arm_settle(path, *candidate);
      return;
    }
    if (state->size == 0) {
      log_.debug("waiting for content: " + path + " is empty", fields());
      candidates_.erase(path);
      return;
    }
    candidate->hashing = true;
    candidate->dirty = false;
    hash_queue_.push_back({path, generation});
    pump_hash();
  }

  // ---- hashing, one file at a time, one chunk per handler ----

  void pump_hash() {
    while (!job_ && !hash_queue_.empty() && !stopped_) {
      auto [path, generation] = hash_queue_.front();
      hash_queue_.pop_front();
      Candidate* candidate = find_candidate(path, generation);
      if (candidate == nullptr) continue;
      if (auto cached = hash_cache_.find(path);
          cached != hash_cache_.end() && cached->second.first == candidate->state) {
        finish(path, candidate->state, cached->second.second);
        continue;
      }
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) {
        if (errno != ENOENT) log_.warn("cannot open " + path + ": " + errno_text(errno), fields());
        candidates_.erase(path);
        continue;
      }
      job_.emplace();
      job_->path = path;
      job_->state = candidate->state;
      job_->fd = fd;
      job_generation_ = generation;
      post_hash_step();
    }
  }

  void post_hash_step() {
    boost::asio::post(io_, [self = shared_from_this(), job = job_serial_] {
      if (!self->stopped_ && self->job_ && self->job_serial_ == job) self->hash_step();
    });
  }

  void hash_step() {
    if (find_candidate(job_->path, job_generation_) == nullptr) {  // deleted meanwhile
      abort_hash();
      pump_hash();
      return;
    }
    if (chunk_.size() != options_.hash_chunk)
      chunk_.resize(std::max<std::size_t>(options_.hash_chunk, 4096));
    const ssize_t got = ::read(job_->fd, chunk_.data(), chunk_.size());
    if (got < 0 && errno == EINTR) {
      post_hash_step();
      return;
    }
    if (got > 0) {
      job_->digest.update(chunk_.data(), static_cast<std::size_t>(got));
      post_hash_step();
      return;
    }
    const std::string path = job_->path;
    if (got < 0) {
      log_.warn("cannot read " + path + ": " + errno_text(errno), fields());
      abort_hash();
      candidates_.erase(path);
      pump_hash();
      return;
    }
    const auto digest = job_->digest.finish();
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (std::uint8_t byte : digest) {
      hex += kHex[byte >> 4];
      hex += kHex[byte & 15];
    }
    const FileState hashed = job_->state;
    abort_hash();
    Candidate* candidate = find_candidate(path, job_generation_);
    auto now = inspect(path);
    if (!now) {
      candidates_.erase(path);
    } else if (candidate == nullptr) {
      // cannot happen: the candidate was checked at the top and nothing erased it since
    } else if (*now != hashed || candidate->dirty) {  // changed while hashing: settle again
      candidate->state = *now;
      arm_settle(path, *candidate);
    } else {
      hash_cache_[path] = {hashed, hex};
      finish(path, hashed, hex);
    }
    pump_hash();
  }

  void abort_hash() {
    if (!job_) return;
    ::close(job_->fd);
    job_.reset();
    ++job_serial_;
  }

  // ---- events ----

  void finish(const std::string& path, const FileState& settled, const std::string& sha256) {
    // `settled` may belong to the candidate erased here: copy it first.
    const FileState state = settled;
    candidates_.erase(path);
    std::string key = "file:" + path + ":" + std::to_string(state.size) + ":" +
                      std::to_string(state.mtime_ns) + ":" + sha256;
    if (emitted_.count(key) != 0) {
      log_.debug("already triggered for " + path + " with this content", fields());
      return;
    }
    emitted_.insert(key);
    emitted_order_.push_back(key);
    while (emitted_order_.size() > std::max<std::size_t>(options_.remembered_keys, 1)) {
      emitted_.erase(emitted_order_.front());
      emitted_order_.pop_front();
    }
    const auto mtime = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(state.mtime_ns)));
    TriggerEvent event;
    event.workflow = workflow_;
    event.trigger = {{"event", "file"},
                     {"file", path},
                     {"name", fs::path(path).filename().string()},
                     {"size", static_cast<std::int64_t>(state.size)},
                     {"mtime", format_utc_iso(mtime, /*with_millis=*/true)},
                     {"sha256", sha256}};
    event.key = std::move(key);
    log_.info("file ready: " + path, fields());
    sink_(std::move(event));
  }

  boost::asio::io_context& io_;
  const Logger& log_;
  std::string workflow_;
  fs::path root_;               // absolute, lexically normal: the prefix of reported paths
  std::string canonical_root_;  // symlinks resolved: what symlink targets must stay inside
  std::vector<std::string> patterns_;
  bool recursive_;
  std::chrono::steady_clock::duration settle_;
  TriggerSink sink_;
  WatchOptions options_;

  int inotify_fd_;
  boost::asio::posix::stream_descriptor stream_;
  alignas(inotify_event) std::array<char, 64 * 1024> buffer_{};
  std::unordered_map<int, fs::path> directories_;  // watch descriptor -> folder
  int root_wd_ = -1;
  bool root_present_ = false;
  boost::asio::steady_timer retry_timer_;

  std::unordered_map<std::string, std::unique_ptr<Candidate>> candidates_;
  std::uint64_t generation_ = 0;
  std::deque<std::pair<std::string, std::uint64_t>> hash_queue_;
  std::optional<HashJob> job_;
  std::uint64_t job_generation_ = 0;
  std::uint64_t job_serial_ = 0;
  std::vector<char> chunk_;
  // path -> (state, sha256) of files hashed and still present: rescans do not hash them again.
  std::unordered_map<std::string, std::pair<FileState, std::string>> hash_cache_;
  std::unordered_map<std::string, std::string> refused_;  // symlink -> target already logged
  std::unordered_set<std::string> emitted_;
  std::deque<std::string> emitted_order_;
  bool stopped_ = false;
};

Result<WatchTrigger> WatchTrigger::start(boost::asio::io_context& io, const Logger& log,
                                         std::string workflow, const workflow::WatchTrigger& config,
                                         TriggerSink sink, WatchOptions options) {
  if (config.path.empty()) return fail("workflow " + workflow + ": watch path is empty");
  std::error_code error;
  fs::path root = fs::absolute(config.path, error).lexically_normal();
  if (error) return fail("watch folder " + config.path + ": " + error.message());
  if (!root.has_filename() && root != root.root_path()) root = root.parent_path();
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return fail("watch folder " + root.string() + ": inotify: " + errno_text(errno));
  auto state = std::make_shared<State>(io, log, std::move(workflow), config, std::move(sink),
                                       options, std::move(root), fd);
  if (auto begun = state->begin(); !begun) {
    state->stop();
    return tl::unexpected(begun.error());
  }
  return WatchTrigger(std::move(state));
}

WatchTrigger::WatchTrigger(std::shared_ptr<State> state) : state_(std::move(state)) {}
WatchTrigger::WatchTrigger(WatchTrigger&&) noexcept = default;
WatchTrigger& WatchTrigger::operator=(WatchTrigger&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}
WatchTrigger::~WatchTrigger() { stop(); }

void WatchTrigger::stop() {
  if (state_) state_->stop();
}

}  // namespace reelflow::triggers
