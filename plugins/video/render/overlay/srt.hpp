// SubRip (.srt) parsing for captions, forgiving about what real files get wrong: a UTF-8 BOM,
// CRLF or CR line ends, missing blank lines between cues, missing cue numbers, "." instead of ","
// before the milliseconds, fewer millisecond digits, positions after the end time. Text keeps its
// line breaks ("\n") and its markup (<i>, <b>, <u>, <font ...>) for to_ass_text().
//
// Pure functions; thread-safe.
#ifndef REELFLOW_VIDEO_RENDER_OVERLAY_SRT_HPP
#define REELFLOW_VIDEO_RENDER_OVERLAY_SRT_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "overlay.hpp"

namespace reelflow::video::overlay {

// name is what errors call the text ("'talk.srt'"). Errors: a timing line that does not parse or
// ends before it starts ("bad timestamp at line N: ..."), no cue at all.
Result<std::vector<CaptionCue>> parse_srt(std::string_view text, const std::string& name);

// "HH:MM:SS,mmm" (also ".", 1..3 millisecond digits, any number of hour digits) in seconds.
std::optional<double> parse_srt_time(std::string_view text);

// Caption text (UTF-8, "\n" line breaks, SRT markup) as ASS dialogue text: line breaks become
// \N, <i>/<b>/<u>/<s> become override tags, other markup and {\...} blocks are dropped, and
// braces and backslash sequences that libass would read as commands are escaped. Between
// Chinese/Japanese characters (no spaces between words) it adds zero-width break opportunities,
// kinsoku rules kept, because libass without libunibreak wraps only at spaces.
std::string to_ass_text(std::string_view text);

}  // namespace reelflow::video::overlay

#endif  // REELFLOW_VIDEO_RENDER_OVERLAY_SRT_HPP
