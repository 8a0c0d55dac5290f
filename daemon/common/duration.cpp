#include "common/duration.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace reelflow {

std::optional<double> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double bare = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bare);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (bare < 0 || !std::isfinite(bare)) return std::nullopt;
    return bare;
  }
  double total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    double amount = 0;
    auto [num_end, num_ec] = std::from_chars(text.data() + pos, text.data() + text.size(), amount);
    if (num_ec != std::errc() || amount < 0 || !std::isfinite(amount)) return std::nullopt;
    pos = static_cast<std::size_t>(num_end - text.data());
    std::size_t unit_start = pos;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit == "ms") {
      total += amount / 1000.0;
    } else if (unit == "s") {
      total += amount;
    } else if (unit == "m") {
      total += amount * 60;
    } else if (unit == "h") {
      total += amount * 3600;
    } else if (unit == "d") {
      total += amount * 86400;
    } else {
      return std::nullopt;
    }
  }
  return total;
}

}  // namespace reelflow
