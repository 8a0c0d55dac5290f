// The SQLite schema as an ordered list of forward migrations. Migration N takes a database from
// schema version N-1 to N; the store applies the missing ones in order, each in one transaction
// together with `PRAGMA user_version = N`. Never edit a migration that has shipped: add a new one.
// Thread-safety: constant data.
#pragma once

#include <span>
#include <string_view>

namespace reelflow::store::sqlite {

struct Migration {
  int version;               // the schema version after this step
  std::string_view summary;  // for error messages
  std::string_view sql;      // one or more statements
};

// In version order, starting at 1; the last one's version is the current schema version.
std::span<const Migration> migrations();

// PRAGMA application_id of a reelflow database ("RFLW"), set by migration 1.
inline constexpr int kApplicationId = 0x52464C57;

}  // namespace reelflow::store::sqlite
