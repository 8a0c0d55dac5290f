#include "folder_watch.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <reelflow/plugin.hpp>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/iso_time.hpp"
#include "common/sha256.hpp"

namespace reelflow::watch {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

std::string hex(const std::array<std::uint8_t, 32>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
  return out;
}

}  // namespace

bool is_ignored_file_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '~') return true;
  for (std::string_view suffix : {".part", ".tmp", ".crdownload", ".download"}) {
    if (ends_with_ignoring_case(name, suffix)) return true;
  }
  return false;
}

class FolderWatch::State {
 public:
  State(FolderOptions options, FolderHost host)
      : options_(std::move(options)),
        host_(std::move(host)),
        root_(options_.path),
        settle_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(std::max(0.0, options_.settle)))) {}

  ~State() {
    abort_hash();
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  void begin() {
    if (root_.empty() || root_.is_relative()) {
      throw std::runtime_error("watch folder '" + root_.string() + "' is not an absolute path");
    }
    for (const auto& pattern : options_.patterns) {
      if (pattern.empty())
        throw std::runtime_error("an empty pattern in 'patterns' matches no file");
    }
    std::error_code error;
    if (!fs::exists(root_, error)) {
      fs::create_directories(root_, error);
      if (error) {
        throw std::runtime_error("watch folder " + root_.string() +
                                 " does not exist and cannot be created: " + error.message());
      }
      log(Level::info, "created the watch folder " + root_.string());
    }
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) {
      throw std::runtime_error("watch folder " + root_.string() +
                               ": inotify: " + errno_text(errno));
    }
    if (auto problem = attach_root()) throw std::runtime_error(*problem);
    scan_pending_ = true;  // files that arrived while the daemon was down
  }

  int fd() const { return inotify_fd_; }

  void on_readable() {
    const ssize_t got = ::read(inotify_fd_, buffer_.data(), buffer_.size());
    if (got > 0) {
      dispatch(static_cast<std::size_t>(got));
      return;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (!read_failed_) {
      read_failed_ = true;
      log(Level::error,
          "inotify read failed: " + (got < 0 ? errno_text(errno) : std::string("end of file")));
    }
  }

  std::int64_t next_timeout() const {
    if (scan_pending_ || job_) return 0;
    std::optional<Clock::time_point> earliest;
    if (!settle_queue_.empty()) earliest = settle_queue_.begin()->first;
    if (retry_due_ && (!earliest || *retry_due_ < *earliest)) earliest = retry_due_;
    if (!earliest) return -1;
    const auto left = *earliest - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    // Rounded up: woken a little late rather than early and asked again.
    return std::chrono::ceil<std::chrono::milliseconds>(left).count();
  }

  void on_timer() {
    if (scan_pending_) {
      scan_pending_ = false;
      if (root_present_) rescan();
    }
    const auto now = Clock::now();
    if (retry_due_ && *retry_due_ <= now) {
      retry_due_.reset();
      retry_root();
    }
    while (!settle_queue_.empty() && settle_queue_.begin()->first <= now) {
      auto [path, armed] = settle_queue_.begin()->second;
      settle_queue_.erase(settle_queue_.begin());
      on_settled(path, armed);
    }
    if (job_) hash_step();
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
    FileState state;
    std::uint64_t generation = 0;  // which candidate this is (a path may come back later)
    std::uint64_t armed = 0;       // which settle timer is the live one
    bool hashing = false;          // queued for or under hashing
    bool dirty = false;            // an event arrived while hashing
  };

  struct HashJob {
    std::string path;
    FileState state;
    int fd = -1;
    Sha256 digest;
  };

  void log(Level level, const std::string& message) const {
    if (host_.log) host_.log(level, message);
  }

  // ---- the watched tree ----

  // nullopt when the root is watched; otherwise what is wrong.
  std::optional<std::string> attach_root() {
    struct stat info {};
    if (::stat(root_.c_str(), &info) != 0) {
      return "watch folder " + root_.string() + ": " + errno_text(errno);
    }
    if (!S_ISDIR(info.st_mode)) return "watch folder " + root_.string() + ": not a directory";
    const int wd = ::inotify_add_watch(inotify_fd_, root_.c_str(), kDirectoryMask);
    if (wd < 0) return "watch folder " + root_.string() + ": cannot watch: " + errno_text(errno);
    auto canonical = real_path(root_.string());
    if (!canonical) {
      const int error = errno;
      ::inotify_rm_watch(inotify_fd_, wd);
      return "watch folder " + root_.string() + ": " + errno_text(error);
    }
    canonical_root_ = *canonical;
    root_wd_ = wd;
    directories_[wd] = root_;
    root_present_ = true;
    return std::nullopt;
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
          log(Level::error,
              "cannot watch subfolder " + directory.string() + ": " + errno_text(errno));
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
      log(Level::warn, "cannot list " + directory.string() + ": " + error.message());
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& entry : entries) {
      const std::string name = entry.path().filename().string();
      std::error_code status_error;
      const auto status = entry.symlink_status(status_error);
      if (status_error) continue;
      if (fs::is_directory(status)) {
        if (options_.recursive && name.front() != '.' && depth < kMaxDepth) {
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
    log(Level::error, "watch folder " + root_.string() + " disappeared; retrying every " +
                          std::to_string(options_.retry_interval.count()) + " ms");
    for (const auto& [wd, path] : directories_) ::inotify_rm_watch(inotify_fd_, wd);
    directories_.clear();
    root_wd_ = -1;
    candidates_.clear();
    settle_queue_.clear();
    hash_queue_.clear();
    hash_cache_.clear();
    refused_.clear();
    abort_hash();
    retry_due_ = Clock::now() + options_.retry_interval;
  }

  void retry_root() {
    if (attach_root()) {
      retry_due_ = Clock::now() + options_.retry_interval;
      return;
    }
    log(Level::info, "watch folder " + root_.string() + " is back; scanning it");
    rescan();
  }

  // ---- inotify events ----

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
    }
  }

  void handle(int wd, std::uint32_t mask, std::string_view name) {
    if (mask & IN_Q_OVERFLOW) {
      log(Level::warn, "inotify queue overflowed; rescanning " + root_.string());
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
        if (options_.recursive && name.front() != '.') watch_tree(path, 1);
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
    if (options_.patterns.empty()) return true;
    const std::string name_text(name);
    return std::any_of(options_.patterns.begin(), options_.patterns.end(),
                       [&](const std::string& pattern) {
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
          log(Level::warn, "refusing symlink " + path + " -> " + *target +
                               ": the target is outside the watched folder " + canonical_root_);
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
      known->second.dirty = true;  // the settle check or the hash verification re-reads it
      return;
    }
    auto state = inspect(path);
    if (!state) return;
    Candidate candidate;
    candidate.state = *state;
    candidate.generation = ++generation_;
    auto [entry, inserted] = candidates_.emplace(path, candidate);
    arm_settle(path, entry->second);
  }

  void arm_settle(const std::string& path, Candidate& candidate) {
    candidate.hashing = false;
    candidate.dirty = false;
    candidate.armed = ++timer_serial_;
    settle_queue_.emplace(Clock::now() + settle_, std::make_pair(path, candidate.armed));
  }

  Candidate* find_candidate(const std::string& path, std::uint64_t generation) {
    auto it = candidates_.find(path);
    if (it == candidates_.end() || it->second.generation != generation) return nullptr;
    return &it->second;
  }

  void on_settled(const std::string& path, std::uint64_t armed) {
    auto it = candidates_.find(path);
    if (it == candidates_.end() || it->second.armed != armed || it->second.hashing) return;
    Candidate& candidate = it->second;
    auto state = inspect(path);
    if (!state) {  // deleted (or turned into something else) before settling
      candidates_.erase(it);
      return;
    }
    if (*state != candidate.state) {
      candidate.state = *state;
      arm_settle(path, candidate);
      return;
    }
    if (state->size == 0) {
      log(Level::debug, "waiting for content: " + path + " is empty");
      candidates_.erase(it);
      return;
    }
    candidate.hashing = true;
    candidate.dirty = false;
    hash_queue_.emplace_back(path, candidate.generation);
    pump_hash();
  }

  // ---- hashing, one file at a time, one chunk per on_timer ----

  void pump_hash() {
    while (!job_ && !hash_queue_.empty()) {
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
        if (errno != ENOENT) log(Level::warn, "cannot open " + path + ": " + errno_text(errno));
        candidates_.erase(path);
        continue;
      }
      job_.emplace();
      job_->path = path;
      job_->state = candidate->state;
      job_->fd = fd;
      job_generation_ = generation;
    }
  }

  void hash_step() {
    if (find_candidate(job_->path, job_generation_) == nullptr) {  // deleted meanwhile
      abort_hash();
      pump_hash();
      return;
    }
    const std::size_t chunk_size = std::max<std::size_t>(options_.hash_chunk, 4096);
    if (chunk_.size() != chunk_size) chunk_.resize(chunk_size);
    const ssize_t got = ::read(job_->fd, chunk_.data(), chunk_.size());
    if (got < 0 && errno == EINTR) return;  // the next on_timer tries again
    if (got > 0) {
      job_->digest.update(chunk_.data(), static_cast<std::size_t>(got));
      return;
    }
    const std::string path = job_->path;
    if (got < 0) {
      log(Level::warn, "cannot read " + path + ": " + errno_text(errno));
      abort_hash();
      candidates_.erase(path);
      pump_hash();
      return;
    }
    const std::string sha256 = hex(job_->digest.finish());
    const FileState hashed = job_->state;
    const std::uint64_t generation = job_generation_;
    abort_hash();
    Candidate* candidate = find_candidate(path, generation);
    auto now = inspect(path);
    if (!now) {
      candidates_.erase(path);
    } else if (candidate == nullptr) {
      // cannot happen: the candidate was checked at the top and nothing erased it since
    } else if (*now != hashed || candidate->dirty) {  // changed while hashing: settle again
      candidate->state = *now;
      arm_settle(path, *candidate);
    } else {
      hash_cache_[path] = {hashed, sha256};
      finish(path, hashed, sha256);
    }
    pump_hash();
  }

  void abort_hash() {
    if (!job_) return;
    ::close(job_->fd);
    job_.reset();
  }

  // ---- events ----

  void finish(const std::string& path, const FileState& settled, const std::string& sha256) {
    // `settled` may belong to the candidate erased here: copy it first.
    const FileState state = settled;
    candidates_.erase(path);
    std::string key = "file:" + path + ":" + std::to_string(state.size) + ":" +
                      std::to_string(state.mtime_ns) + ":" + sha256;
    if (emitted_.count(key) != 0) {
      log(Level::debug, "already triggered for " + path + " with this content");
      return;
    }
    emitted_.insert(key);
    emitted_order_.push_back(key);
    while (emitted_order_.size() > std::max<std::size_t>(options_.remembered_keys, 1)) {
      emitted_.erase(emitted_order_.front());
      emitted_order_.pop_front();
    }
    // Milliseconds, rounded down also before 1970.
    std::int64_t mtime_ms = state.mtime_ns / 1'000'000;
    if (state.mtime_ns % 1'000'000 < 0) --mtime_ms;
    const std::string trigger = json::ObjectBuilder()
                                    .add("event", "file")
                                    .add("file", path)
                                    .add("name", fs::path(path).filename().string())
                                    .add("size", static_cast<std::int64_t>(state.size))
                                    .add("mtime", format_iso_time(mtime_ms))
                                    .add("sha256", sha256)
                                    .str();
    log(Level::info, "file ready: " + path);
    if (!host_.emit(trigger, key)) log(Level::error, "the daemon refused the event for " + path);
  }

  FolderOptions options_;
  FolderHost host_;
  fs::path root_;               // absolute, lexically normal: the prefix of reported paths
  std::string canonical_root_;  // symlinks resolved: what symlink targets must stay inside
  Clock::duration settle_;

  int inotify_fd_ = -1;
  alignas(inotify_event) std::array<char, 64 * 1024> buffer_{};
  bool read_failed_ = false;
  std::unordered_map<int, fs::path> directories_;  // watch descriptor -> folder
  int root_wd_ = -1;
  bool root_present_ = false;
  bool scan_pending_ = false;
  std::optional<Clock::time_point> retry_due_;

  std::unordered_map<std::string, Candidate> candidates_;
  std::uint64_t generation_ = 0;
  // When each candidate's settle period ends: (path, Candidate::armed). Entries of candidates
  // gone or re-armed since are skipped when they come up.
  std::multimap<Clock::time_point, std::pair<std::string, std::uint64_t>> settle_queue_;
  std::uint64_t timer_serial_ = 0;
  std::deque<std::pair<std::string, std::uint64_t>> hash_queue_;
  std::optional<HashJob> job_;
  std::uint64_t job_generation_ = 0;
  std::vector<char> chunk_;
  // path -> (state, sha256) of files hashed and still present: rescans do not hash them again.
  std::unordered_map<std::string, std::pair<FileState, std::string>> hash_cache_;
  std::unordered_map<std::string, std::string> refused_;  // symlink -> target already logged
  std::unordered_set<std::string> emitted_;
  std::deque<std::string> emitted_order_;
};

FolderWatch::FolderWatch(FolderOptions options, FolderHost host)
    : state_(std::make_unique<State>(std::move(options), std::move(host))) {
  state_->begin();
}

FolderWatch::~FolderWatch() = default;

int FolderWatch::fd() const { return state_->fd(); }
void FolderWatch::on_readable() { state_->on_readable(); }
std::int64_t FolderWatch::next_timeout() const { return state_->next_timeout(); }
void FolderWatch::on_timer() { state_->on_timer(); }

}  // namespace reelflow::watch
