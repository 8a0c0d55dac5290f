// Counting text the way the platforms' limits count it. Header-only; pure functions.
#ifndef REELFLOW_PLUGINS_SUPPORT_TEXT_UTF8_HPP
#define REELFLOW_PLUGINS_SUPPORT_TEXT_UTF8_HPP

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace reelflow::text {

// Characters (code points) of UTF-8 text: the bytes that do not continue a sequence.
inline std::size_t characters(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace reelflow::text

#endif  // REELFLOW_PLUGINS_SUPPORT_TEXT_UTF8_HPP
