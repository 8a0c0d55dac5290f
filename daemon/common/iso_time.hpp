// Instants as workflows and the control API write them: ISO 8601 with an explicit offset,
// "2026-12-01T09:00:00+08:00", "2026-12-01T01:00Z", "2026-12-01 09:00:00.250-05:00". A time
// without an offset is refused: it would mean different instants on different servers.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace reelflow {

// Milliseconds since the Unix epoch. The error says what is wrong with the text.
Result<std::int64_t> parse_iso_time(std::string_view text);

// "2026-12-01T01:00:00.000Z".
std::string format_iso_time(std::int64_t millis);

}  // namespace reelflow
