#include "media/libav.hpp"

extern "C" {
#include <libavutil/display.h>
}

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace reelflow::video::av {

namespace fs = std::filesystem;

namespace {

// FFmpeg explains failures in its log ("moov atom not found") rather than in return codes.
// The last error-level line of this thread is kept for messages; nothing goes to stderr, which
// in a worker belongs to the host's log.
thread_local std::string last_log_error;

void capture_log(void* /*object*/, int level, const char* format, va_list args) {
  if (level > AV_LOG_ERROR) return;
  char line[512];
  std::vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!text.empty()) last_log_error = text;
}

void install_log_capture() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(&capture_log); });
}

std::string with_log(std::string message) {
  if (!last_log_error.empty()) message += " (" + last_log_error + ")";
  return message;
}

}  // namespace

std::string describe(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(code, text, sizeof text) < 0) return "error " + std::to_string(code);
  return text;
}

Result<Input> open_input(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return error("'" + path + "' does not exist");
  if (ec) return error("cannot access '" + path + "': " + ec.message());
  if (!fs::is_regular_file(status)) return error("'" + path + "' is not a regular file");
  if (fs::file_size(path, ec) == 0 && !ec) return error("'" + path + "' is empty (0 bytes)");

  install_log_capture();
  last_log_error.clear();
  AVFormatContext* raw = nullptr;
  if (const int code = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); code < 0) {
    return error(with_log("'" + path + "' is not a video FFmpeg can read: " + describe(code)));
  }
  Input input(raw);
  if (const int code = avformat_find_stream_info(input.get(), nullptr); code < 0) {
    return error(with_log("'" + path + "': cannot read stream information: " + describe(code)));
  }
  return input;
}

Result<Codec> open_decoder(const std::string& path, const AVStream& stream, int threads) {
  const AVCodecParameters& parameters = *stream.codecpar;
  const AVCodec* codec = avcodec_find_decoder(parameters.codec_id);
  if (codec == nullptr) {
    return error("'" + path + "': no decoder for codec '" + avcodec_get_name(parameters.codec_id) +
                 "'");
  }
  Codec context(avcodec_alloc_context3(codec));
  if (!context) return error("'" + path + "': out of memory allocating a decoder");
  if (const int code = avcodec_parameters_to_context(context.get(), &parameters); code < 0) {
    return error("'" + path + "': bad codec parameters: " + describe(code));
  }
  context->pkt_timebase = stream.time_base;
  if (parameters.codec_type == AVMEDIA_TYPE_VIDEO) {
    context->thread_count = threads > 0 ? threads : 0;
    context->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  }
  if (const int code = avcodec_open2(context.get(), codec, nullptr); code < 0) {
    return error("'" + path + "': cannot open the " + avcodec_get_name(parameters.codec_id) +
                 " decoder: " + describe(code));
  }
  return context;
}

int rotation_of(const AVStream& stream) {
  const auto* matrix = reinterpret_cast<const int32_t*>(
      av_stream_get_side_data(&stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr));
  if (matrix == nullptr) return 0;
  // av_display_rotation_get gives the counter-clockwise angle the frame was rotated by;
  // turning it back for display is the same angle clockwise... with FFmpeg's sign convention,
  // a phone's portrait video (rotate=90) reports -90, and displays after 90° clockwise.
  const double counter_clockwise = av_display_rotation_get(matrix);
  if (std::isnan(counter_clockwise)) return 0;
  int clockwise = static_cast<int>(std::lround(-counter_clockwise)) % 360;
  if (clockwise < 0) clockwise += 360;
  return ((clockwise + 45) / 90 % 4) * 90;
}

}  // namespace reelflow::video::av
