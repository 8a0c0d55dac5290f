#include "media/decoder.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string_view>
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
  // Pictures pushed with push_picture go to `recycle` once analysed (from the analysis thread),
  // so that their buffers can be reused. Set before the first push.
  void set_recycler(std::function<void(cv::Mat)> recycle) { recycle_ = std::move(recycle); }
  // A frame the caller converted already (the chunked path converts in its workers).
  bool push_picture(cv::Mat bgr, const AnalysisFrame& meta) {
    Item item;
    item.picture = std::move(bgr);
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
    av::Frame frame;  // set: a video frame to convert
    cv::Mat picture;  // set: a converted video frame; neither set: audio
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
        } else if (!item.picture.empty()) {
          analysis.bgr = item.picture;
          analysis.index = item.meta.index;
          analysis.time = item.meta.time;
          analysis.duration = item.meta.duration;
          analysis.keyframe = item.meta.keyframe;
          if (on_frame_) on_frame_(analysis);
          analysis.bgr.release();
          if (recycle_) recycle_(std::move(item.picture));
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
  std::function<void(cv::Mat)> recycle_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool closed_ = false;
  bool failed_ = false;  // written under the mutex; read by the loop's own thread
  std::string error_;
  std::thread thread_;  // last: starts once everything above is constructed
};

}  // namespace

namespace {

// The end of a decode, shared by both paths: no frame at all fails; a file that ended before its
// header's duration, or many undecodable packets, is a problem that fails the decode unless
// keep_partial is set.
Result<DecodeSummary> conclude(const std::string& path, const DecodeOptions& options,
                               const AVFormatContext& context, const AVStream* video,
                               DecodeSummary summary, std::string problem, int total_errors) {
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

// The original path: one decoder with frame threads, fed by the calling thread.
Result<DecodeSummary> decode_sequential(const std::string& path, const DecodeOptions& options,
                                        AVFormatContext& context, const AVStream* video,
                                        const FrameSink& on_frame, const AudioSink& on_audio) {
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

  return conclude(path, options, context, video, summary, problem, total_errors);
}

// ---- Chunked parallel decoding ----
//
// The video is cut at keyframes of the container's index into chunks of at least a second;
// `threads` workers decode chunks independently (one single-threaded decoder each, so no thread
// waits for another's frames) and convert their frames to analysis size. The calling thread
// assembles the chunks in order, assigns indices and times exactly as the sequential path does,
// reads the audio from the main input in step with the pictures, and feeds the AnalysisThread.

// Buffered analysis frames of all chunks together stay under this many bytes (workers wait).
constexpr std::size_t kChunkBufferBytes = std::size_t{32} << 20;
// A chunk covers at least this many seconds and frames (shorter GOPs are joined).
constexpr double kMinChunkSeconds = 1.0;
constexpr double kMinChunkFrames = 30;

// A chunk starts at a keyframe of the index.
struct ChunkStart {
  std::int64_t pos = -1;   // byte position (of the packet in MP4, of the cluster in Matroska)
  std::int64_t timestamp;  // decode time in MP4, presentation time in Matroska
};

// Chunk starts from the video stream's index; empty when the index is missing or odd (not strictly
// increasing, no timestamps, discarded samples, not starting at a keyframe), or when GOPs are so
// long that `threads` chunks of analysis frames would not fit the buffer (the workers would wait
// for each other: one decoder with frame threads is faster then).
std::vector<ChunkStart> plan_chunks(AVStream& video, int threads, int analysis_width) {
  const int count = avformat_index_get_entries_count(&video);
  if (count < 2 || video.time_base.num <= 0 || video.time_base.den <= 0) return {};
  const double rate = video.avg_frame_rate.num > 0 && video.avg_frame_rate.den > 0
                          ? av_q2d(video.avg_frame_rate)
                          : 0;
  const double min_seconds =
      rate > 0 ? std::max(kMinChunkSeconds, kMinChunkFrames / rate) : kMinChunkSeconds;
  const auto min_ticks =
      static_cast<std::int64_t>(std::ceil(min_seconds / av_q2d(video.time_base)));
  std::vector<ChunkStart> starts;
  std::int64_t previous = std::numeric_limits<std::int64_t>::min();
  for (int i = 0; i < count; ++i) {
    const AVIndexEntry* entry = avformat_index_get_entry(&video, i);
    if (entry == nullptr || entry->timestamp == AV_NOPTS_VALUE || entry->timestamp <= previous ||
        (entry->flags & AVINDEX_DISCARD_FRAME) != 0) {
      return {};
    }
    previous = entry->timestamp;
    const bool key = (entry->flags & AVINDEX_KEYFRAME) != 0;
    if (i == 0 && !key) return {};
    if (key && (starts.empty() || entry->timestamp - starts.back().timestamp >= min_ticks)) {
      starts.push_back({entry->pos, entry->timestamp});
    }
  }
  const AVCodecParameters& parameters = *video.codecpar;
  if (starts.size() >= 2 && rate > 0 && parameters.width > 0) {
    const double chunk_frames = seconds(previous - starts.front().timestamp, video.time_base) *
                                rate / static_cast<double>(starts.size() - 1);
    const double width =
        std::min(analysis_width > 0 ? analysis_width : parameters.width, parameters.width);
    const double frame_bytes = 3.0 * width * width * parameters.height / parameters.width;
    if (chunk_frames * frame_bytes * threads > static_cast<double>(kChunkBufferBytes)) return {};
  }
  return starts;
}

// Whether `packet` is the keyframe the index entry describes. MP4 index entries carry the
// packet's position and decode time; Matroska cues the presentation time.
bool is_start(const AVPacket& packet, const ChunkStart& start) {
  if ((packet.flags & AV_PKT_FLAG_KEY) == 0) return false;
  return (start.pos >= 0 && packet.pos == start.pos) || packet.dts == start.timestamp ||
         packet.pts == start.timestamp;
}

// Whether `packet` lies after the index entry in decode order (its keyframe was missed).
bool is_past(const AVPacket& packet, const ChunkStart& start) {
  const std::int64_t order = packet.dts != AV_NOPTS_VALUE ? packet.dts : packet.pts;
  return order != AV_NOPTS_VALUE && order > start.timestamp &&
         (packet.pts == AV_NOPTS_VALUE || packet.pts > start.timestamp);
}

// Buffers of analysed pictures, for the workers to convert the next frames into: reusing them
// keeps the allocator from spreading frames over every thread's arena (RSS that grows with the
// length of the video). Safe for concurrent access.
class PicturePool {
 public:
  // Keeps `picture` if nothing else refers to its pixels.
  void give(cv::Mat picture) {
    if (picture.u == nullptr || picture.u->refcount != 1) return;
    const std::lock_guard lock(mutex_);
    if (spare_.size() < kMaxSpare) spare_.push_back(std::move(picture));
  }
  // A buffer to convert into (empty when none is spare).
  cv::Mat take() {
    const std::lock_guard lock(mutex_);
    if (spare_.empty()) return {};
    cv::Mat picture = std::move(spare_.back());
    spare_.pop_back();
    return picture;
  }

 private:
  static constexpr std::size_t kMaxSpare = 64;
  std::mutex mutex_;
  std::vector<cv::Mat> spare_;
};

// A converted frame waiting for its turn.
struct Picture {
  std::int64_t pts = AV_NOPTS_VALUE;
  std::int64_t duration = 0;  // the packet's, in stream ticks
  bool keyframe = false;
  cv::Mat bgr;
};

// How a chunk's decode ended.
struct ChunkOutcome {
  bool complete = false;  // reached the next chunk's keyframe (the end of the file for the last)
  int read_error = 0;     // reading failed with this code
  int corrupt_error = 0;  // too many consecutive undecodable packets; the last code
  bool mismatch = false;  // the stream did not match the index where this chunk starts or ends
  std::string failure;    // the decode fails with this message
  int errors = 0;         // undecodable packets and frames
  std::string tonemap;
};

class ChunkPipeline {
 public:
  ChunkPipeline(const std::string& path, const DecodeOptions& options, int video_index,
                int rotation, std::vector<ChunkStart> starts, PicturePool& pool)
      : path_(path),
        options_(options),
        pool_(pool),
        video_index_(video_index),
        rotation_(rotation),
        starts_(std::move(starts)),
        threads_(static_cast<std::size_t>(std::max(1, options.threads))),
        chunks_(starts_.size()) {
    workers_.reserve(threads_);
    for (std::size_t i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ChunkPipeline() { stop(); }
  ChunkPipeline(const ChunkPipeline&) = delete;
  ChunkPipeline& operator=(const ChunkPipeline&) = delete;

  std::size_t size() const { return starts_.size(); }

  enum class Next { kPicture, kEnd, kWaiting };
  // The next picture of `chunk` (the chunk being assembled); kWaiting after a short wait so that
  // the caller can poll cancellation; kEnd once the chunk is finished and drained.
  Next next(std::size_t chunk, Picture& picture) {
    std::unique_lock lock(mutex_);
    Chunk& state = chunks_[chunk];
    if (!changed_.wait_for(lock, std::chrono::milliseconds(50),
                           [&] { return !state.pictures.empty() || state.done; })) {
      return Next::kWaiting;
    }
    if (state.pictures.empty()) return Next::kEnd;
    picture = std::move(state.pictures.front());
    state.pictures.pop_front();
    buffered_ -= bytes_of(picture);
    lock.unlock();
    changed_.notify_all();
    return Next::kPicture;
  }

  // After kEnd: how the chunk ended.
  ChunkOutcome outcome(std::size_t chunk) {
    const std::lock_guard lock(mutex_);
    return chunks_[chunk].outcome;
  }

  // The chunk after `chunk` is next to assemble: later chunks may start.
  void advance(std::size_t chunk) {
    {
      const std::lock_guard lock(mutex_);
      front_ = chunk + 1;
    }
    changed_.notify_all();
  }

  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

 private:
  struct Chunk {
    std::deque<Picture> pictures;
    bool done = false;
    ChunkOutcome outcome;
  };
  // One worker's input, decoder and converter, reused from chunk to chunk.
  struct Reader {
    av::Input input;
    av::Codec decoder;
    av::Packet packet;
    av::Frame frame;
    std::unique_ptr<FrameConverter> converter;
  };

  static std::size_t bytes_of(const Picture& picture) {
    return picture.bgr.total() * picture.bgr.elemSize();
  }

  bool stopping() {
    const std::lock_guard lock(mutex_);
    return stopping_;
  }

  void work() {
    std::optional<Reader> reader;
    while (true) {
      std::size_t chunk = 0;
      {
        std::unique_lock lock(mutex_);
        // At most threads + 1 chunks are in flight: the one being assembled and those after it.
        changed_.wait(lock, [&] {
          return stopping_ || next_chunk_ >= chunks_.size() || next_chunk_ <= front_ + threads_;
        });
        if (stopping_ || next_chunk_ >= chunks_.size()) return;
        chunk = next_chunk_++;
      }
      ChunkOutcome outcome;
      if (!reader) {
        auto opened = open_reader();
        if (opened) {
          reader.emplace(std::move(*opened));
        } else {
          outcome.failure = opened.error();
        }
      }
      if (reader) outcome = decode_chunk(*reader, chunk);
      {
        const std::lock_guard lock(mutex_);
        chunks_[chunk].done = true;
        chunks_[chunk].outcome = std::move(outcome);
      }
      changed_.notify_all();
    }
  }

  Result<Reader> open_reader() {
    Reader reader;
    auto input = av::open_input(path_);
    if (!input) return tl::unexpected(input.error());
    reader.input = std::move(*input);
    AVFormatContext& context = *reader.input;
    if (video_index_ >= static_cast<int>(context.nb_streams)) {
      return error("'" + path_ + "': the video stream vanished on reopening");
    }
    for (unsigned i = 0; i < context.nb_streams; ++i) {
      context.streams[i]->discard =
          static_cast<int>(i) == video_index_ ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    }
    auto decoder = av::open_decoder(path_, *context.streams[video_index_], 1);
    if (!decoder) return tl::unexpected(decoder.error());
    reader.decoder = std::move(*decoder);
    if (!options_.deblock) reader.decoder->skip_loop_filter = AVDISCARD_ALL;
    reader.packet.reset(av_packet_alloc());
    reader.frame.reset(av_frame_alloc());
    if (!reader.packet || !reader.frame) return error("'" + path_ + "': out of memory");
    reader.converter = std::make_unique<FrameConverter>(options_.analysis_width, rotation_);
    return reader;
  }

  // Waits while the buffered pictures are over budget, unless this chunk is being assembled and
  // has nothing buffered (so the assembler always gets something to take). False when stopping.
  bool deliver(std::size_t chunk, Picture picture) {
    const std::size_t bytes = bytes_of(picture);
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return stopping_ || buffered_ + bytes <= kChunkBufferBytes ||
             (chunk == front_ && chunks_[chunk].pictures.empty());
    });
    if (stopping_) return false;
    buffered_ += bytes;
    chunks_[chunk].pictures.push_back(std::move(picture));
    lock.unlock();
    changed_.notify_all();
    return true;
  }

  // Decodes the frames whose presentation time lies in [this chunk's keyframe, the next chunk's
  // keyframe). Open GOP: the frames after the next keyframe in decode order that are shown before
  // it belong here, so packets are fed past that keyframe while their time is below it; the next
  // chunk drops them (decoding only those other frames refer to).
  ChunkOutcome decode_chunk(Reader& reader, std::size_t chunk) {
    ChunkOutcome outcome;
    AVFormatContext& context = *reader.input;
    AVCodecContext& decoder = *reader.decoder;
    AVPacket& packet = *reader.packet;
    AVFrame& frame = *reader.frame;
    const ChunkStart& start = starts_[chunk];
    const ChunkStart* next = chunk + 1 < starts_.size() ? &starts_[chunk + 1] : nullptr;
    constexpr std::int64_t kUnbounded = std::numeric_limits<std::int64_t>::max();
    // The first chunk is read by a fresh input from the top (a worker's first chunk).
    bool found_start = chunk == 0;
    std::int64_t start_pts = std::numeric_limits<std::int64_t>::min();
    std::int64_t boundary = kUnbounded;
    bool past_next = false;
    av::Packet held;  // the next chunk's keyframe, sent only if leading frames follow it
    int consecutive_errors = 0;
    bool failed = false;

    if (chunk > 0) {
      if (av_seek_frame(&context, video_index_, start.timestamp, AVSEEK_FLAG_BACKWARD) < 0) {
        outcome.mismatch = true;
        return outcome;
      }
      avcodec_flush_buffers(&decoder);
    }
    const auto receive = [&] {
      while (!failed) {
        const int code = avcodec_receive_frame(&decoder, &frame);
        if (code == AVERROR(EAGAIN) || code == AVERROR_EOF) return;
        if (code < 0) {
          ++outcome.errors;
          return;
        }
        const std::int64_t pts = frame_pts(frame);
        if (pts != AV_NOPTS_VALUE && (pts < start_pts || pts >= boundary)) {
          av_frame_unref(&frame);
          continue;
        }
        Picture picture;
        picture.pts = pts;
        picture.duration = frame.pkt_duration;
        picture.keyframe = frame.key_frame != 0;
        picture.bgr = pool_.take();
        auto converted = reader.converter->convert(frame, picture.bgr);
        av_frame_unref(&frame);
        if (!converted) {
          outcome.failure = "'" + path_ + "': " + converted.error();
          failed = true;
        } else if (!deliver(chunk, std::move(picture))) {
          failed = true;
        }
      }
    };
    const auto send = [&](const AVPacket& to_send) {
      // Frames shown before this chunk's keyframe (open GOP) belong to the previous chunk: only
      // those that others refer to are decoded, and their errors count there.
      const bool leading = to_send.pts != AV_NOPTS_VALUE && to_send.pts < start_pts;
      decoder.skip_frame = leading ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
      const int sent = avcodec_send_packet(&decoder, &to_send);
      if (sent < 0 && sent != AVERROR(EAGAIN)) {
        if (!leading) {
          ++outcome.errors;
          if (++consecutive_errors >= kMaxConsecutiveErrors) outcome.corrupt_error = sent;
        }
      } else {
        consecutive_errors = 0;
      }
      receive();
    };

    // Bounded: every packet read moves through the file.
    while (!failed && outcome.corrupt_error == 0) {
      if (stopping()) return outcome;
      const int read = av_read_frame(&context, &packet);
      if (read == AVERROR_EOF) {
        outcome.complete = next == nullptr || past_next;
        break;
      }
      if (read < 0) {
        outcome.read_error = read;
        break;
      }
      if (packet.stream_index != video_index_) {
        av_packet_unref(&packet);
        continue;
      }
      if (!found_start) {
        if (is_start(packet, start) && packet.pts != AV_NOPTS_VALUE) {
          found_start = true;
          start_pts = packet.pts;
        } else {
          const bool missed = is_past(packet, start);
          av_packet_unref(&packet);
          if (missed) {
            outcome.mismatch = true;
            return outcome;
          }
          continue;  // the seek landed on an earlier keyframe
        }
      }
      if (next != nullptr && !past_next) {
        if (is_start(packet, *next) && packet.pts != AV_NOPTS_VALUE) {
          past_next = true;
          boundary = packet.pts;
          held.reset(av_packet_clone(&packet));
          av_packet_unref(&packet);
          if (!held) {
            outcome.failure = "'" + path_ + "': out of memory";
            return outcome;
          }
          continue;
        }
        if (is_past(packet, *next)) {
          av_packet_unref(&packet);
          outcome.mismatch = true;
          return outcome;
        }
      }
      if (past_next) {
        if (packet.pts == AV_NOPTS_VALUE || packet.pts >= boundary) {
          av_packet_unref(&packet);
          outcome.complete = true;
          break;
        }
        if (held) {
          send(*held);
          held.reset();
        }
      }
      send(packet);
      av_packet_unref(&packet);
    }
    if (!failed) {
      avcodec_send_packet(&decoder, nullptr);
      receive();
    }
    outcome.tonemap = reader.converter->tonemap();
    return outcome;
  }

  const std::string& path_;
  const DecodeOptions& options_;
  PicturePool& pool_;
  const int video_index_;
  const int rotation_;
  const std::vector<ChunkStart> starts_;
  const std::size_t threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Chunk> chunks_;
  std::size_t next_chunk_ = 0;  // the next chunk a worker takes
  std::size_t front_ = 0;       // the chunk being assembled
  std::size_t buffered_ = 0;    // bytes of pictures in all chunks
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: start once everything above is constructed
};

// The audio of the main input, read in step with the assembled pictures.
class AudioReader {
 public:
  AudioReader(AVFormatContext& input, int stream_index, AudioPath& audio)
      : input_(input), stream_index_(stream_index), audio_(audio), packet_(av_packet_alloc()) {}

  // Decodes the audio up to `until` seconds on the video's time line (infinity: to the end).
  void pump(double until, double origin, const AudioSink& sink, std::int64_t& delivered) {
    if (!packet_) return;
    const AVRational time_base = input_.streams[stream_index_]->time_base;
    while (!ended_ && reached_ < until) {
      if (av_read_frame(&input_, packet_.get()) < 0) {
        end(origin, sink, delivered);
        return;
      }
      if (packet_->stream_index == stream_index_) {
        audio_.feed(packet_.get(), origin, sink, delivered);
        if (packet_->pts != AV_NOPTS_VALUE) {
          reached_ =
              seconds(packet_->pts + std::max<std::int64_t>(packet_->duration, 0), time_base) -
              origin;
        }
      }
      av_packet_unref(packet_.get());
    }
  }
  // Flushes the decoder.
  void end(double origin, const AudioSink& sink, std::int64_t& delivered) {
    if (ended_) return;
    ended_ = true;
    audio_.feed(nullptr, origin, sink, delivered);
  }

 private:
  AVFormatContext& input_;
  const int stream_index_;
  AudioPath& audio_;
  av::Packet packet_;
  bool ended_ = false;
  double reached_ = -std::numeric_limits<double>::infinity();
};

// The chunked decode. Sets `mismatch` (and delivers nothing) when the stream does not match its
// index at the first chunk boundaries: the caller then decodes sequentially.
Result<DecodeSummary> decode_chunks(const std::string& path, const DecodeOptions& options,
                                    AVFormatContext& context, const AVStream* video,
                                    std::vector<ChunkStart> starts, const FrameSink& on_frame,
                                    const AudioSink& on_audio, bool& mismatch) {
  mismatch = false;
  std::optional<AudioPath> audio;
  int audio_index = -1;
  if (options.decode_audio) {
    audio_index = av_find_best_stream(&context, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (audio_index >= 0) {
      audio.emplace(path, *context.streams[audio_index]);
      if (!audio->open()) audio.reset();  // unreadable audio: analyse the pictures anyway
    }
  }
  for (unsigned i = 0; i < context.nb_streams; ++i) {
    const bool wanted = audio && static_cast<int>(i) == audio_index;
    context.streams[i]->discard = wanted ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  std::optional<AudioReader> audio_reader;
  if (audio) audio_reader.emplace(context, audio_index, *audio);

  DecodeSummary summary;
  FrameConverter unused_converter(options.analysis_width, 0);  // pictures arrive converted
  PicturePool pool;  // outlives the analysis thread, which gives it the analysed pictures
  AnalysisThread analysis_thread(path, unused_converter, on_frame, on_audio);
  analysis_thread.set_recycler([&pool](cv::Mat picture) { pool.give(std::move(picture)); });
  bool audio_failed = false;
  const AudioSink to_analysis = [&](const AudioChunk& chunk) {
    if (!audio_failed && !analysis_thread.push_audio(chunk)) audio_failed = true;
  };
  const auto analysis_stopped = [&]() -> Result<DecodeSummary> {
    auto analysed = analysis_thread.finish();
    return error(analysed ? "'" + path + "': the analysis stopped" : analysed.error());
  };
  const double fallback_duration =
      video->avg_frame_rate.num > 0 ? 1.0 / av_q2d(video->avg_frame_rate) : 1.0 / 25.0;
  std::int64_t first_pts = AV_NOPTS_VALUE;
  double origin = 0;
  double last_time = -1;
  std::string problem;
  int total_errors = 0;
  bool stopped_early = false;

  ChunkPipeline pipeline(path, options, video->index, av::rotation_of(*video), std::move(starts),
                         pool);
  for (std::size_t chunk = 0; chunk < pipeline.size() && !stopped_early; ++chunk) {
    while (true) {
      if (options.cancelled && options.cancelled()) {
        summary.cancelled = true;
        return summary;
      }
      Picture picture;
      const ChunkPipeline::Next got = pipeline.next(chunk, picture);
      if (got == ChunkPipeline::Next::kWaiting) continue;
      if (got == ChunkPipeline::Next::kEnd) break;
      // Index, time and duration exactly as decode_sequential assigns them.
      const std::int64_t pts = picture.pts;
      if (first_pts == AV_NOPTS_VALUE) {
        first_pts = pts != AV_NOPTS_VALUE ? pts : 0;
        origin = seconds(first_pts, video->time_base);
      }
      double time = pts != AV_NOPTS_VALUE ? seconds(pts - first_pts, video->time_base)
                                          : last_time + fallback_duration;
      if (time <= last_time) time = last_time + 1e-6;
      const double duration =
          picture.duration > 0 ? seconds(picture.duration, video->time_base) : fallback_duration;
      if (audio_reader) {
        audio_reader->pump(time, origin, to_analysis, summary.audio_frames);
        if (audio_failed) return analysis_stopped();
      }
      AnalysisFrame meta;
      meta.index = summary.frames;
      meta.time = time;
      meta.duration = duration;
      meta.keyframe = picture.keyframe;
      if (!analysis_thread.push_picture(std::move(picture.bgr), meta)) return analysis_stopped();
      ++summary.frames;
      last_time = time;
      summary.duration = time + duration;
    }
    const ChunkOutcome outcome = pipeline.outcome(chunk);
    total_errors += outcome.errors;
    if (summary.tonemap.empty()) summary.tonemap = outcome.tonemap;
    if (!outcome.failure.empty()) return error(outcome.failure);
    if (outcome.mismatch) {
      if (summary.frames == 0 && summary.audio_frames == 0) {
        mismatch = true;
        return summary;
      }
      return error("'" + path + "': the stream does not match its keyframe index near " +
                   std::to_string(summary.duration) + " s");
    }
    if (outcome.read_error != 0) {
      problem = "reading stopped at " + std::to_string(summary.duration) +
                " s: " + av::describe(outcome.read_error);
    } else if (outcome.corrupt_error != 0) {
      problem = "the video data is corrupt from " + std::to_string(summary.duration) + " s on (" +
                av::describe(outcome.corrupt_error) + ")";
    }
    // Damage, or the file ends before the next chunk: nothing after it is delivered.
    stopped_early = !problem.empty() || !outcome.complete;
    pipeline.advance(chunk);
  }
  pipeline.stop();
  if (audio_reader) {
    // As the sequential path reads: to the end of the file, or only to the damage.
    const double until =
        problem.empty() ? std::numeric_limits<double>::infinity() : summary.duration;
    audio_reader->pump(until, origin, to_analysis, summary.audio_frames);
    audio_reader->end(origin, to_analysis, summary.audio_frames);
    if (audio_failed) return analysis_stopped();
  }
  if (auto analysed = analysis_thread.finish(); !analysed) return tl::unexpected(analysed.error());
  summary.chunks = static_cast<std::int64_t>(pipeline.size());
  return conclude(path, options, context, video, summary, problem, total_errors);
}

}  // namespace

Result<DecodeSummary> decode(const std::string& path, const DecodeOptions& options,
                             const FrameSink& on_frame, const AudioSink& on_audio) {
  auto input = av::open_input(path);
  if (!input) return tl::unexpected(input.error());
  AVFormatContext* context = input->get();
  const AVStream* video = best_stream(*context, AVMEDIA_TYPE_VIDEO);
  if (video == nullptr) return error("'" + path + "' has no video stream");
  const AVCodecParameters& parameters = *video->codecpar;
  if (parameters.width <= 0 || parameters.height <= 0 ||
      static_cast<std::int64_t>(parameters.width) * parameters.height > kMaxPixels) {
    return error("'" + path + "': the video stream has an impossible size " +
                 std::to_string(parameters.width) + "x" + std::to_string(parameters.height));
  }
  const bool seekable =
      context->pb != nullptr && (context->pb->seekable & AVIO_SEEKABLE_NORMAL) != 0;
  if (options.parallel && options.threads > 1 && seekable) {
    AVStream& stream = *context->streams[video->index];
    // Matroska reads its cues on the first seek: seek once, then start over on a fresh input (a
    // Matroska seek also drops the other streams' packets before the keyframe).
    const bool deferred_index =
        std::string_view(context->iformat->name).find("matroska") != std::string_view::npos &&
        avformat_index_get_entries_count(&stream) < 2;
    if (deferred_index) {
      av_seek_frame(context, video->index,
                    video->start_time != AV_NOPTS_VALUE ? video->start_time : 0,
                    AVSEEK_FLAG_BACKWARD);
    }
    std::vector<ChunkStart> starts = plan_chunks(stream, options.threads, options.analysis_width);
    if (deferred_index) {
      input = av::open_input(path);
      if (!input) return tl::unexpected(input.error());
      context = input->get();
      video = best_stream(*context, AVMEDIA_TYPE_VIDEO);
      if (video == nullptr) return error("'" + path + "' has no video stream");
    }
    if (starts.size() >= 2) {
      bool mismatch = false;
      auto decoded = decode_chunks(path, options, *context, video, std::move(starts), on_frame,
                                   on_audio, mismatch);
      if (!mismatch) return decoded;
      // The index misled the first chunks: start over, sequentially.
      input = av::open_input(path);
      if (!input) return tl::unexpected(input.error());
      context = input->get();
      video = best_stream(*context, AVMEDIA_TYPE_VIDEO);
      if (video == nullptr) return error("'" + path + "' has no video stream");
    }
  }
  return decode_sequential(path, options, *context, video, on_frame, on_audio);
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
