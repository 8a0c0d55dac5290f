// The credentials of publishing accounts as the daemon keeps them once it has refreshed them:
// one file per account, <dir>/<name>.json, mode 0600 in a 0700 directory, replaced atomically
// (written to a temporary file, fsynced, renamed over the old one, directory fsynced), so a
// rotating refresh token (TikTok) is never lost to a crash between receiving and storing it.
//
// A record: {"credentials": {...}, "seed": hash of the secret's credentials it grew from,
// "status": "ok" | "reconnect_needed", "message": why, "refreshed_at": ISO, "refresh_count": N,
// "updated_at": ISO}. The account's secret (account.<name>) seeds it; when the secret's
// credentials change (the operator reconnected the account), the secret wins again.
//
// Thread-safety: calls may come from several threads; each put is atomic on disk, and a mutex
// keeps two puts of one process from interleaving.
#pragma once

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace reelflow::store {

class AccountFiles {
 public:
  explicit AccountFiles(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  // nullopt when the account has no record yet.
  Result<std::optional<nlohmann::json>> get(std::string_view name) const;
  Result<void> put(std::string_view name, const nlohmann::json& record);
  // Every record, by account name.
  Result<std::vector<std::pair<std::string, nlohmann::json>>> list() const;

  // [A-Za-z0-9_.-]{1,64}, not starting with '.': a name that is safe as a file name.
  static bool valid_name(std::string_view name);

 private:
  std::filesystem::path dir_;
  std::mutex mutex_;
};

}  // namespace reelflow::store
