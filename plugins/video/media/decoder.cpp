#include "media/decoder.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <vector>

#include "media/convert.hpp"
#include "media/libav.hpp"

namespace reelflow::video {

namespace {

// Packets read while measuring frame durations for the vfr flag.
constexpr int kVfrSamplePackets = 600;
// Consecutive packets the decoder may reject before the input counts as corrupt.
constexpr int kMaxConsecutiveErrors = 64;
// Pixel count above which a stream's size counts as corrupt, not as a large video (16K × 16K).
constexpr std::int64_t kMaxPixels = 16384LL * 16384LL;

std::string or_empty(const char* text) { return text != nullptr ? text : ""; }

double seconds(std::int64_t ts, AVRational time_base) {
  return static_cast<double>(ts) * av_q2d(time_base);
}

bool is_hdr(AVColorTransferCharacteristic transfer) {
  return transfer == AVCOL_TRC_SMPTE2084 || transfer == AVCOL_TRC_ARIB_STD_B67;
}

// Whether the first packets' durations vary: presentation timestamps sorted, their gaps compared
// with the median gap. A 1-tick jitter (rounding in a 1/90000 time base) is not variable.
bool measure_vfr(AVFormatContext& input, int stream_index) {
  std::vector<std::int64_t> pts;
  av::Packet packet(av_packet_alloc());
  if (!packet) return false;
  for (int read = 0;
       read < kVfrSamplePackets * 4 && static_cast<int>(pts.size()) < kVfrSamplePackets; ++read) {
    if (av_read_frame(&input, packet.get()) < 0) break;
    if (packet->stream_index == stream_index && packet->pts != AV_NOPTS_VALUE) {
      pts.push_back(packet->pts);
    }
    av_packet_unref(packet.get());
  }
  if (pts.size() < 3) return false;
  std::sort(pts.begin(), pts.end());
  std::vector<std::int64_t> gaps;
  for (std::size_t i = 1; i < pts.size(); ++i) {
    if (pts[i] > pts[i - 1]) gaps.push_back(pts[i] - pts[i - 1]);
  }
  if (gaps.size() < 2) return false;
  std::vector<std::int64_t> sorted = gaps;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2),
                   sorted.end());
  const double median = static_cast<double>(sorted[sorted.size() / 2]);
  int off = 0;
  for (const std::int64_t gap : gaps) {
    if (std::abs(static_cast<double>(gap) - median) > std::max(1.5, 0.05 * median)) ++off;
  }
  return off * 20 > static_cast<int>(gaps.size());  // more than 5% of frames off the median
}

std::string reduced_aspect(int width, int height) {
  if (width <= 0 || height <= 0) return "";
  const int divisor = std::gcd(width, height);
  return std::to_string(width / divisor) + ":" + std::to_string(height / divisor);
}

const AVStream* best_stream(AVFormatContext& input, AVMediaType type) {
  const int index = av_find_best_stream(&input, type, -1, -1, nullptr, 0);
  return index >= 0 ? input.streams[index] : nullptr;
}

// Presentation time of a decoded frame in its stream's ticks, or AV_NOPTS_VALUE.
std::int64_t frame_pts(const AVFrame& frame) {
  return frame.best_effort_timestamp != AV_NOPTS_VALUE ? frame.best_effort_timestamp : frame.pts;
}

}  // namespace

Result<MediaInfo> probe(const std::string& path) {
  auto input = av::open_input(path);
  if (!input) return tl::unexpected(input.error());
  AVFormatContext& context = **input;
  MediaInfo info;
  info.path = path;
  info.container = or_empty(context.iformat->name);
  if (context.duration != AV_NOPTS_VALUE && context.duration > 0) {
    info.duration = static_cast<double>(context.duration) / AV_TIME_BASE;
  }
  info.bitrate = context.bit_rate;

  if (const AVStream* video = best_stream(context, AVMEDIA_TYPE_VIDEO)) {
    const AVCodecParameters& p = *video->codecpar;
    info.has_video = true;
    info.video_codec = avcodec_get_name(p.codec_id);
    info.profile = or_empty(avcodec_profile_name(p.codec_id, p.profile));
    const auto format = static_cast<AVPixelFormat>(p.format);
    info.pixel_format = or_empty(av_get_pix_fmt_name(format));
    if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format)) {
      info.bit_depth = desc->comp[0].depth;
    } else if (p.bits_per_raw_sample > 0) {
      info.bit_depth = p.bits_per_raw_sample;
    }
    info.width = p.width;
    info.height = p.height;
    info.rotation = av::rotation_of(*video);
    double display_width = p.width;
    if (p.sample_aspect_ratio.num > 0 && p.sample_aspect_ratio.den > 0) {
      display_width *= av_q2d(p.sample_aspect_ratio);
    }
    info.display_width = static_cast<int>(std::lround(display_width));
    info.display_height = p.height;
    if (info.rotation == 90 || info.rotation == 270) {
      std::swap(info.display_width, info.display_height);
    }
    info.display_aspect = reduced_aspect(info.display_width, info.display_height);
    info.real_frame_rate = video->r_frame_rate.den > 0 ? av_q2d(video->r_frame_rate) : 0;
    info.avg_frame_rate = video->avg_frame_rate.den > 0 ? av_q2d(video->avg_frame_rate) : 0;
    info.color_transfer = or_empty(av_color_transfer_name(p.color_trc));
    info.color_primaries = or_empty(av_color_primaries_name(p.color_primaries));
    info.hdr = is_hdr(p.color_trc);
    info.frame_count = video->nb_frames;
    if (info.duration == 0 && video->duration != AV_NOPTS_VALUE) {
      info.duration = seconds(video->duration, video->time_base);
    }
    info.vfr = measure_vfr(context, video->index);
  }
  if (const AVStream* audio = best_stream(context, AVMEDIA_TYPE_AUDIO)) {
    const AVCodecParameters& p = *audio->codecpar;
    info.has_audio = true;
    info.audio_codec = avcodec_get_name(p.codec_id);
    info.sample_rate = p.sample_rate;
    info.channels = p.ch_layout.nb_channels;
  }
  if (!info.has_video && !info.has_audio) {
    return error("'" + path + "' has neither a video nor an audio stream");
  }
  return info;
}

namespace {

// Audio decoding for analysis: any input format to interleaved float at the native rate.
class AudioPath {
 public:
  AudioPath(const std::string& path, const AVStream& stream) : path_(path), stream_(stream) {}

  Result<void> open() {
    auto decoder = av::open_decoder(path_, stream_, 1);
    if (!decoder) return tl::unexpected(decoder.error());
    decoder_ = std::move(*decoder);
    frame_.reset(av_frame_alloc());
    if (!frame_) return error("'" + path_ + "': out of memory");
    return {};
  }

  // Decodes `packet` (nullptr: flush) and hands the samples to `sink`. Decoding errors in the
  // audio are counted, not fatal: the video is what the analysis needs.
  void feed(const AVPacket* packet, double origin, const AudioSink& sink, std::int64_t& delivered) {
    if (avcodec_send_packet(decoder_.get(), packet) < 0) {
      ++errors_;
      return;
    }
    while (avcodec_receive_frame(decoder_.get(), frame_.get()) == 0) {
      deliver(origin, sink, delivered);
      av_frame_unref(frame_.get());
    }
  }

  int errors() const { return errors_; }

 private:
  void deliver(double origin, const AudioSink& sink, std::int64_t& delivered) {
    const AVFrame& frame = *frame_;
    const int channels = frame.ch_layout.nb_channels;
    if (channels <= 0 || frame.sample_rate <= 0 || frame.nb_samples <= 0) return;
    if (!resampler_ || frame.format != format_ || channels != channels_ ||
        frame.sample_rate != rate_) {
      SwrContext* raw = nullptr;
      // FFmpeg 5.1 takes non-const layouts it does not modify.
      auto* layout = const_cast<AVChannelLayout*>(&frame.ch_layout);
      if (swr_alloc_set_opts2(&raw, layout, AV_SAMPLE_FMT_FLT, frame.sample_rate, layout,
                              static_cast<AVSampleFormat>(frame.format), frame.sample_rate, 0,
                              nullptr) < 0 ||
          swr_init(raw) < 0) {
        swr_free(&raw);
        ++errors_;
        return;
      }
      resampler_.reset(raw);
      format_ = frame.format;
      channels_ = channels;
      rate_ = frame.sample_rate;
    }
    buffer_.resize(static_cast<std::size_t>(frame.nb_samples) * static_cast<std::size_t>(channels));
    auto* out = reinterpret_cast<uint8_t*>(buffer_.data());
    const int converted =
        swr_convert(resampler_.get(), &out, frame.nb_samples,
                    const_cast<const uint8_t**>(frame.extended_data), frame.nb_samples);
    if (converted <= 0) return;
    const std::int64_t pts = frame_pts(frame);
    double time = pts != AV_NOPTS_VALUE ? seconds(pts, stream_.time_base) - origin
                                        : static_cast<double>(delivered) / rate_;
    if (sink) {
      AudioChunk chunk;
      chunk.time = time;
      chunk.samples = buffer_.data();
      chunk.frames = converted;
      chunk.channels = channels;
      chunk.sample_rate = frame.sample_rate;
      sink(chunk);
    }
    delivered += converted;
  }

  const std::string& path_;
  const AVStream& stream_;
  av::Codec decoder_;
  av::Frame frame_;
  av::Resampler resampler_;
  int format_ = -1;
  int channels_ = 0;
  int rate_ = 0;
  int errors_ = 0;
  std::vector<float> buffer_;
};

}  // namespace

namespace {

// Conversion and the callbacks run on one analysis thread, in order, so that they overlap with
// decoding: the thread that feeds the decoder never waits for the analysis of a frame. The queue
// holds at most kCapacity decoded frames (references to the decoder's buffers), so memory stays
// bounded; a full queue makes the feeding thread wait.
class AnalysisThread {
 public:
  AnalysisThread(const std::string& path, FrameConverter& converter, const FrameSink& on_frame,
                 const AudioSink& on_audio)
      : path_(path),
        converter_(converter),
        on_frame_(on_frame),
        on_audio_(on_audio),
        thread_([this] { loop(); }) {}
  ~AnalysisThread() { static_cast<void>(finish()); }
  AnalysisThread(const AnalysisThread&) = delete;
  AnalysisThread& operator=(const AnalysisThread&) = delete;

  // Takes the frame's reference. False once the analysis has failed (see finish()).
  bool push_video(AVFrame& frame, const AnalysisFrame& meta) {
    Item item;
    item.frame.reset(av_frame_alloc());
    if (!item.frame) return false;
    av_frame_move_ref(item.frame.get(), &frame);
    item.meta = meta;
    return push(std::move(item));
  }
  // Copies the samples.
  bool push_audio(const AudioChunk& chunk) {
    Item item;
    item.chunk = chunk;
    item.samples.assign(chunk.samples,
                        chunk.samples + static_cast<std::ptrdiff_t>(chunk.frames) * chunk.channels);
    return push(std::move(item));
  }
  // Waits until everything pushed is analysed; the first error, if any.
  Result<void> finish() {
    {
      const std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (!error_.empty()) return error(error_);
    return {};
  }

 private:
  static constexpr std::size_t kCapacity = 8;
  struct Item {
    av::Frame frame;  // set: a video frame; empty: audio
    AnalysisFrame meta;
    AudioChunk chunk;
    std::vector<float> samples;
  };

  bool push(Item item) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < kCapacity || failed_; });
    if (failed_) return false;
    queue_.push_back(std::move(item));
    lock.unlock();
    changed_.notify_all();
    return true;
  }

  void loop() {
    AnalysisFrame analysis;
    while (true) {
      Item item;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      changed_.notify_all();
      if (failed_) continue;  // drain without work
      std::string problem;
      try {
        if (item.frame) {
          if (auto converted = converter_.convert(*item.frame, analysis.bgr); !converted) {
            problem = "'" + path_ + "': " + converted.error();
          } else {
            item.frame.reset();  // give the decoder its buffer back before the analysis
            analysis.index = item.meta.index;
            analysis.time = item.meta.time;
            analysis.duration = item.meta.duration;
            analysis.keyframe = item.meta.keyframe;
            if (on_frame_) on_frame_(analysis);
          }
        } else if (on_audio_) {
          item.chunk.samples = item.samples.data();
          on_audio_(item.chunk);
        }
      } catch (const std::exception& thrown) {
        problem = "'" + path_ + "': the analysis failed: " + thrown.what();
      }
      if (!problem.empty()) {
        const std::lock_guard lock(mutex_);
        error_ = problem;
        failed_ = true;
      }
    }
  }

  const std::string& path_;
  FrameConverter& converter_;
  const FrameSink& on_frame_;
  const AudioSink& on_audio_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool closed_ = false;
  bool failed_ = false;  // written under the mutex; read by the loop's own thread
  std::string error_;
  std::thread thread_;  // last: starts once everything above is constructed
};

}  // namespace

Result<DecodeSummary> decode(const std::string& path, const DecodeOptions& options,
                             const FrameSink& on_frame, const AudioSink& on_audio) {
  auto input = av::open_input(path);
  if (!input) return tl::unexpected(input.error());
  AVFormatContext& context = **input;
  const AVStream* video = best_stream(context, AVMEDIA_TYPE_VIDEO);
  if (video == nullptr) return error("'" + path + "' has no video stream");
  const AVCodecParameters& parameters = *video->codecpar;
  if (parameters.width <= 0 || parameters.height <= 0 ||
      static_cast<std::int64_t>(parameters.width) * parameters.height > kMaxPixels) {
    return error("'" + path + "': the video stream has an impossible size " +
                 std::to_string(parameters.width) + "x" + std::to_string(parameters.height));
  }
  auto decoder = av::open_decoder(path, *video, options.threads);
  if (!decoder) return tl::unexpected(decoder.error());
  if (!options.deblock) (*decoder)->skip_loop_filter = AVDISCARD_ALL;

  std::optional<AudioPath> audio;
  if (options.decode_audio) {
    if (const AVStream* audio_stream = best_stream(context, AVMEDIA_TYPE_AUDIO)) {
      audio.emplace(path, *audio_stream);
      if (!audio->open()) audio.reset();  // unreadable audio: analyse the pictures anyway
    }
  }
  for (unsigned i = 0; i < context.nb_streams; ++i) {
    const bool wanted = static_cast<int>(i) == video->index ||
                        (audio && context.streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO &&
                         static_cast<int>(i) ==
                             av_find_best_stream(&context, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0));
    context.streams[i]->discard = wanted ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  const int audio_index =
      audio ? av_find_best_stream(&context, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) : -1;

  FrameConverter converter(options.analysis_width, av::rotation_of(*video));
  av::Packet packet(av_packet_alloc());
  av::Frame frame(av_frame_alloc());
  if (!packet || !frame) return error("'" + path + "': out of memory");

  DecodeSummary summary;
  AnalysisThread analysis_thread(path, converter, on_frame, on_audio);
  bool audio_failed = false;
  const AudioSink to_analysis = [&](const AudioChunk& chunk) {
    if (!audio_failed && !analysis_thread.push_audio(chunk)) audio_failed = true;
  };
  const double fallback_duration =
      video->avg_frame_rate.num > 0 ? 1.0 / av_q2d(video->avg_frame_rate) : 1.0 / 25.0;
  std::int64_t first_pts = AV_NOPTS_VALUE;
  double origin = 0;  // seconds of the first video frame on the stream's time line
  double last_time = -1;
  std::string problem;
  int consecutive_errors = 0;
  int total_errors = 0;

  const auto receive = [&]() -> Result<void> {
    while (true) {
      const int code = avcodec_receive_frame(decoder->get(), frame.get());
      if (code == AVERROR(EAGAIN) || code == AVERROR_EOF) return {};
      if (code < 0) {
        ++total_errors;
        return {};
      }
      std::int64_t pts = frame_pts(*frame);
      if (first_pts == AV_NOPTS_VALUE) {
        first_pts = pts != AV_NOPTS_VALUE ? pts : 0;
        origin = seconds(first_pts, video->time_base);
      }
      double time = pts != AV_NOPTS_VALUE ? seconds(pts - first_pts, video->time_base)
                                          : last_time + fallback_duration;
      if (time <= last_time) time = last_time + 1e-6;  // keep time strictly increasing
      const double duration = frame->pkt_duration > 0
                                  ? seconds(frame->pkt_duration, video->time_base)
                                  : fallback_duration;
      AnalysisFrame meta;
      meta.index = summary.frames;
      meta.time = time;
      meta.duration = duration;
      meta.keyframe = frame->key_frame != 0;
      if (!analysis_thread.push_video(*frame, meta)) {
        av_frame_unref(frame.get());
        return analysis_thread.finish();
      }
      ++summary.frames;
      last_time = time;
      summary.duration = time + duration;
    }
  };

  bool ended = false;
  while (!ended) {
    if (options.cancelled && options.cancelled()) {
      summary.cancelled = true;
      return summary;
    }
    const int read = av_read_frame(&context, packet.get());
    if (read == AVERROR_EOF) break;
    if (read < 0) {
      problem =
          "reading stopped at " + std::to_string(summary.duration) + " s: " + av::describe(read);
      break;
    }
    if (packet->stream_index == video->index) {
      const int sent = avcodec_send_packet(decoder->get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) {
        ++total_errors;
        if (++consecutive_errors >= kMaxConsecutiveErrors) {
          problem = "the video data is corrupt from " + std::to_string(summary.duration) +
                    " s on (" + av::describe(sent) + ")";
          ended = true;
        }
      } else {
        consecutive_errors = 0;
      }
      if (auto received = receive(); !received) return tl::unexpected(received.error());
    } else if (audio && packet->stream_index == audio_index) {
      audio->feed(packet.get(), origin, to_analysis, summary.audio_frames);
      if (audio_failed) {
        auto analysed = analysis_thread.finish();
        return error(analysed ? "'" + path + "': the analysis stopped" : analysed.error());
      }
    }
    av_packet_unref(packet.get());
  }
  // Drain the decoders.
  avcodec_send_packet(decoder->get(), nullptr);
  if (auto received = receive(); !received) return tl::unexpected(received.error());
  if (audio) audio->feed(nullptr, origin, to_analysis, summary.audio_frames);
  if (auto analysed = analysis_thread.finish(); !analysed) return tl::unexpected(analysed.error());
  summary.tonemap = converter.tonemap();

  if (summary.frames == 0) {
    return error("'" + path + "': no video frame could be decoded" +
                 (problem.empty() ? std::string() : " (" + problem + ")"));
  }
  // A file cut short: the container promised more than was there.
  double promised = 0;
  if (video->duration != AV_NOPTS_VALUE && video->duration > 0) {
    promised = seconds(video->duration, video->time_base);
  } else if (context.duration != AV_NOPTS_VALUE && context.duration > 0) {
    promised = static_cast<double>(context.duration) / AV_TIME_BASE;
  }
  if (problem.empty() && promised > 0 &&
      summary.duration < promised - std::max(1.0, 0.02 * promised)) {
    problem = "the file ends at " + std::to_string(summary.duration) + " s but its header says " +
              std::to_string(promised) + " s (truncated?)";
  }
  if (problem.empty() && total_errors > 0 && total_errors * 10 > summary.frames) {
    problem = std::to_string(total_errors) + " packets could not be decoded";
  }
  if (!problem.empty()) {
    if (!options.keep_partial) {
      return error("'" + path + "' is corrupt or truncated: " + problem +
                   "; set keep_partial to use the " + std::to_string(summary.frames) +
                   " frames that decoded");
    }
    summary.truncated = true;
    summary.problem = problem;
  }
  return summary;
}

Result<std::vector<cv::Mat>> frames_at(const std::string& path, const std::vector<double>& times) {
  std::vector<cv::Mat> pictures;
  if (times.empty()) return pictures;
  auto input = av::open_input(path);
  if (!input) return tl::unexpected(input.error());
  AVFormatContext& context = **input;
  const AVStream* video = best_stream(context, AVMEDIA_TYPE_VIDEO);
  if (video == nullptr) return error("'" + path + "' has no video stream");
  auto decoder = av::open_decoder(path, *video, 2);
  if (!decoder) return tl::unexpected(decoder.error());
  for (unsigned i = 0; i < context.nb_streams; ++i) {
    context.streams[i]->discard =
        static_cast<int>(i) == video->index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  FrameConverter converter(0, av::rotation_of(*video));
  av::Packet packet(av_packet_alloc());
  av::Frame frame(av_frame_alloc());
  av::Frame last(av_frame_alloc());  // the latest frame, in case a time lies past the end
  const double half_frame =
      video->avg_frame_rate.num > 0 ? 0.5 / av_q2d(video->avg_frame_rate) : 0.02;
  const std::int64_t tolerance =
      static_cast<std::int64_t>(std::llround(half_frame / av_q2d(video->time_base)));
  // The first frame's timestamp is the origin of the times (as in decode()).
  const std::int64_t start = video->start_time != AV_NOPTS_VALUE ? video->start_time : 0;
  // Only the frame shown at each time is converted (at full size that is the costly part).
  const auto convert = [&](const AVFrame& chosen) -> Result<cv::Mat> {
    cv::Mat picture;
    if (auto converted = converter.convert(chosen, picture); !converted) {
      return error("'" + path + "': " + converted.error());
    }
    return picture;
  };
  for (const double time : times) {
    const std::int64_t target =
        start + static_cast<std::int64_t>(std::llround(time / av_q2d(video->time_base)));
    av_seek_frame(&context, video->index, std::max(start, target), AVSEEK_FLAG_BACKWARD);
    avcodec_flush_buffers(decoder->get());
    av_frame_unref(last.get());
    // Frames before the target that nothing refers to (most B-frames) need not be decoded.
    (*decoder)->skip_frame = AVDISCARD_NONREF;
    std::optional<cv::Mat> found;
    bool draining = false;
    for (int packets = 0; !found && packets < 100000; ++packets) {
      if (!draining) {
        const int read = av_read_frame(&context, packet.get());
        if (read < 0) {
          draining = true;
          avcodec_send_packet(decoder->get(), nullptr);
        } else {
          if (packet->stream_index == video->index) {
            if (packet->pts == AV_NOPTS_VALUE || packet->pts + tolerance >= target) {
              (*decoder)->skip_frame = AVDISCARD_DEFAULT;
            }
            avcodec_send_packet(decoder->get(), packet.get());
          }
          av_packet_unref(packet.get());
        }
      }
      while (!found && avcodec_receive_frame(decoder->get(), frame.get()) == 0) {
        const std::int64_t pts = frame_pts(*frame);
        if (pts == AV_NOPTS_VALUE || pts + tolerance >= target) {
          auto picture = convert(*frame);
          if (!picture) return tl::unexpected(picture.error());
          found = std::move(*picture);
        } else {
          av_frame_unref(last.get());
          av_frame_move_ref(last.get(), frame.get());
        }
        av_frame_unref(frame.get());
      }
      if (draining && !found) break;
    }
    if (!found && last->data[0] != nullptr) {
      auto picture = convert(*last);
      if (!picture) return tl::unexpected(picture.error());
      found = std::move(*picture);
    }
    if (!found) {
      return error("'" + path + "': no frame could be decoded at " + std::to_string(time) + " s");
    }
    pictures.push_back(std::move(*found));
  }
  return pictures;
}

Result<cv::Mat> frame_at(const std::string& path, double time) {
  auto pictures = frames_at(path, {time});
  if (!pictures) return tl::unexpected(pictures.error());
  return std::move(pictures->front());
}

}  // namespace reelflow::video
