// Percent-encoding (RFC 3986): everything but the unreserved characters A-Z a-z 0-9 - _ . ~
// becomes %XX. For query values and path segments. Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace reelflow {

std::string url_encode(std::string_view text);

}  // namespace reelflow
