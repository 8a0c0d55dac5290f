#include "audio/source_audio.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
}

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "media/libav.hpp"

namespace reelflow::video {

namespace {

// Consecutive packets the decoder may reject before the audio counts as corrupt (as decoder.cpp).
constexpr int kMaxConsecutiveErrors = 64;
// Packets read for the first video frame (the time line's origin) before giving up.
constexpr int kOriginPackets = 256;
// Seek this far before the cut: AAC and MP3 need a frame of pre-roll to decode cleanly.
constexpr double kPreRollSeconds = 0.5;
// A jump in the timestamps larger than this is a gap (filled with silence) or an overlap.
constexpr double kResyncSeconds = 0.02;
// A read without an end stops here (memory: 23 MB per minute of 48 kHz stereo float).
constexpr double kMaxUnboundedSeconds = 3600;
// Decoding stops this long after the end of the cut (the resampler holds a few samples back).
constexpr double kTailSeconds = 0.1;

double seconds(std::int64_t ts, AVRational time_base) {
  return static_cast<double>(ts) * av_q2d(time_base);
}

std::int64_t frame_pts(const AVFrame& frame) {
  return frame.best_effort_timestamp != AV_NOPTS_VALUE ? frame.best_effort_timestamp : frame.pts;
}

// The stream whose first frame is 0 s on the time line: the video stream, as in decode(); a
// cover picture (MP3, M4A artwork) is not a video.
const AVStream* video_stream(AVFormatContext& input) {
  const int index = av_find_best_stream(&input, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) return nullptr;
  const AVStream* stream = input.streams[index];
  if ((stream->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) return nullptr;
  return stream;
}

// Seconds of the time line's 0 on the container's clock, as decode() sets it: the timestamp of
// the first video frame the decoder outputs (0 when it has none). That can be later than the
// stream's start_time (frames before the first keyframe of an MPEG-TS are not output), so the
// first frame is decoded (a few packets). Without a video stream, or when no video frame decodes
// within kOriginPackets packets: the stream's start_time, as frames_at() does.
double origin_of(const std::string& path, AVFormatContext& input, const AVStream& audio) {
  const AVStream* video = video_stream(input);
  const AVStream& reference = video != nullptr ? *video : audio;
  const double start_time = reference.start_time != AV_NOPTS_VALUE
                                ? seconds(reference.start_time, reference.time_base)
                                : 0.0;
  if (video == nullptr) return start_time;
  auto decoder = av::open_decoder(path, *video, 1);
  av::Packet packet(av_packet_alloc());
  av::Frame frame(av_frame_alloc());
  if (!decoder || !packet || !frame) return start_time;
  for (unsigned i = 0; i < input.nb_streams; ++i) {
    input.streams[i]->discard =
        static_cast<int>(i) == video->index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  std::optional<double> origin;
  for (int read = 0; !origin && read <= kOriginPackets; ++read) {
    const bool ended = read == kOriginPackets || av_read_frame(&input, packet.get()) < 0;
    if (ended) {
      avcodec_send_packet(decoder->get(), nullptr);
    } else {
      if (packet->stream_index == video->index) avcodec_send_packet(decoder->get(), packet.get());
      av_packet_unref(packet.get());
    }
    if (avcodec_receive_frame(decoder->get(), frame.get()) == 0) {
      const std::int64_t pts = frame_pts(*frame);
      origin = pts != AV_NOPTS_VALUE ? seconds(pts, video->time_base) : 0.0;
    }
    if (ended) break;
  }
  return origin.value_or(start_time);
}

// Writes decoded samples into the cut at sample positions of the track's rate.
class CutWriter {
 public:
  CutWriter(std::vector<float>& out, int channels, std::int64_t limit)
      : out_(out), channels_(channels), limit_(limit) {}

  void write(std::int64_t position, const float* samples, std::int64_t frames) {
    std::int64_t first = std::max<std::int64_t>(0, -position);
    std::int64_t last = frames;
    last = std::min(last, limit_ - position);
    if (stream_end_ >= 0) last = std::min(last, stream_end_ - position);
    if (last <= first) return;
    const auto needed = static_cast<std::size_t>((position + last) * channels_);
    if (out_.size() < needed) out_.resize(needed, 0.0F);
    std::copy(samples + first * channels_, samples + last * channels_,
              out_.begin() + static_cast<std::ptrdiff_t>((position + first) * channels_));
    written_end_ = std::max(written_end_, position + last);
  }

  std::int64_t written_end() const { return written_end_; }
  // Nothing from this frame on: the stream's declared end (AAC in MP4 decodes its padding too).
  void set_stream_end(std::int64_t frame) { stream_end_ = frame; }

 private:
  std::vector<float>& out_;
  int channels_;
  std::int64_t limit_;  // frames
  std::int64_t written_end_ = 0;
  std::int64_t stream_end_ = -1;
};

class AudioReader {
 public:
  AudioReader(const std::string& path, AVFormatContext& input, const AVStream& stream,
              int sample_rate, int channels)
      : path_(path), input_(input), stream_(stream), rate_(sample_rate), channels_(channels) {
    av_channel_layout_default(&out_layout_, channels);
  }
  ~AudioReader() { av_channel_layout_uninit(&out_layout_); }
  AudioReader(const AudioReader&) = delete;
  AudioReader& operator=(const AudioReader&) = delete;

  Result<void> read(double start, double end, std::vector<float>& out, std::int64_t& written) {
    auto decoder = av::open_decoder(path_, stream_, 1);
    if (!decoder) return tl::unexpected(decoder.error());
    decoder_ = std::move(*decoder);
    frame_.reset(av_frame_alloc());
    av::Packet packet(av_packet_alloc());
    if (!frame_ || !packet) return error("'" + path_ + "': out of memory");
    origin_ = origin_of(path_, input_, stream_);
    for (unsigned i = 0; i < input_.nb_streams; ++i) {
      input_.streams[i]->discard =
          static_cast<int>(i) == stream_.index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    }
    start_ = start;
    const bool bounded = end > 0 && end > start;
    end_ = bounded ? end : 0;
    const std::int64_t limit = static_cast<std::int64_t>(
        std::llround((bounded ? end - start : kMaxUnboundedSeconds) * rate_));
    if (bounded) out.assign(static_cast<std::size_t>(limit * channels_), 0.0F);
    CutWriter writer(out, channels_, limit);
    writer_ = &writer;
    // Header durations (not ones guessed from the bitrate) say where the audio really ends.
    if (stream_.duration != AV_NOPTS_VALUE && stream_.duration > 0 &&
        input_.duration_estimation_method != AVFMT_DURATION_FROM_BITRATE) {
      const std::int64_t first = stream_.start_time != AV_NOPTS_VALUE ? stream_.start_time : 0;
      const double stream_end = seconds(first + stream_.duration, stream_.time_base) - origin_;
      writer.set_stream_end(static_cast<std::int64_t>(std::llround((stream_end - start) * rate_)));
    }

    // Back to the start (finding the origin read some packets), or to just before the cut.
    const double seek_to = start - kPreRollSeconds + origin_;
    bool sought = false;
    if (start - kPreRollSeconds > 0) {
      const auto target =
          static_cast<std::int64_t>(std::floor(seek_to / av_q2d(stream_.time_base)));
      sought = av_seek_frame(&input_, stream_.index, target, AVSEEK_FLAG_BACKWARD) >= 0;
    }
    if (!sought) {
      const std::int64_t beginning = input_.start_time != AV_NOPTS_VALUE ? input_.start_time : 0;
      if (const int code = avformat_seek_file(&input_, -1, INT64_MIN, beginning, beginning, 0);
          code < 0) {
        return error("'" + path_ + "': cannot go back to the start of the file (" +
                     av::describe(code) + ")");
      }
    }
    avcodec_flush_buffers(decoder_.get());

    int consecutive_errors = 0;
    std::string problem;
    while (!done_) {
      const int read = av_read_frame(&input_, packet.get());
      if (read == AVERROR_EOF) break;
      if (read < 0) {
        problem = "reading stopped: " + av::describe(read);
        break;
      }
      if (packet->stream_index == stream_.index) {
        const int sent = avcodec_send_packet(decoder_.get(), packet.get());
        if (sent < 0 && sent != AVERROR(EAGAIN)) {
          if (++consecutive_errors >= kMaxConsecutiveErrors) {
            av_packet_unref(packet.get());
            return error("'" + path_ + "': the audio data is corrupt from about " +
                         std::to_string(start_ + static_cast<double>(next_position_) / rate_) +
                         " s on (" + av::describe(sent) + ")");
          }
        } else {
          consecutive_errors = 0;
        }
        if (auto received = receive(); !received) {
          av_packet_unref(packet.get());
          return received;
        }
      }
      av_packet_unref(packet.get());
    }
    avcodec_send_packet(decoder_.get(), nullptr);
    if (auto received = receive(); !received) return received;
    flush_resampler();
    writer_ = nullptr;
    written = writer.written_end();
    if (decoded_frames_ == 0 && (packets_failed_ > 0 || !problem.empty() || errors_ > 0)) {
      return error("'" + path_ + "': no audio could be decoded" +
                   (problem.empty() ? std::string() : " (" + problem + ")"));
    }
    return {};
  }

 private:
  Result<void> receive() {
    while (!done_) {
      const int code = avcodec_receive_frame(decoder_.get(), frame_.get());
      if (code == AVERROR(EAGAIN) || code == AVERROR_EOF) return {};
      if (code < 0) {
        ++packets_failed_;
        return {};
      }
      auto delivered = deliver(*frame_);
      av_frame_unref(frame_.get());
      if (!delivered) return delivered;
    }
    return {};
  }

  Result<void> deliver(const AVFrame& frame) {
    if (frame.nb_samples <= 0 || frame.sample_rate <= 0 || frame.ch_layout.nb_channels <= 0) {
      return {};
    }
    if (auto opened = open_resampler(frame); !opened) return opened;
    const std::int64_t pts = frame_pts(frame);
    if (pts != AV_NOPTS_VALUE) {
      const double time = seconds(pts, stream_.time_base) - origin_;
      if (end_ > start_ && time > end_ + kTailSeconds) {
        done_ = true;
        return {};
      }
      const auto position = static_cast<std::int64_t>(std::llround((time - start_) * rate_));
      const auto pending = swr_get_delay(resampler_.get(), rate_);
      // The first frame, or a jump in the timestamps: place the samples where they belong.
      if (!placed_ || std::llabs(position - (next_position_ + pending)) >
                          static_cast<std::int64_t>(kResyncSeconds * rate_)) {
        next_position_ = position - pending;
        placed_ = true;
      }
    } else if (!placed_) {
      next_position_ = static_cast<std::int64_t>(std::llround(-start_ * rate_));
      placed_ = true;
    }
    const int capacity = swr_get_out_samples(resampler_.get(), frame.nb_samples);
    if (capacity <= 0) return {};
    buffer_.resize(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(channels_));
    auto* out = reinterpret_cast<std::uint8_t*>(buffer_.data());
    const int converted =
        swr_convert(resampler_.get(), &out, capacity,
                    const_cast<const std::uint8_t**>(frame.extended_data), frame.nb_samples);
    if (converted < 0) ++errors_;
    if (converted <= 0) return {};
    writer_->write(next_position_, buffer_.data(), converted);
    next_position_ += converted;
    ++decoded_frames_;
    return {};
  }

  void flush_resampler() {
    if (!resampler_) return;
    const int capacity = swr_get_out_samples(resampler_.get(), 0);
    if (capacity <= 0) return;
    buffer_.resize(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(channels_));
    auto* out = reinterpret_cast<std::uint8_t*>(buffer_.data());
    const int converted = swr_convert(resampler_.get(), &out, capacity, nullptr, 0);
    if (converted > 0 && writer_ != nullptr) {
      writer_->write(next_position_, buffer_.data(), converted);
      next_position_ += converted;
    }
  }

  Result<void> open_resampler(const AVFrame& frame) {
    if (resampler_ && frame.format == in_format_ && frame.sample_rate == in_rate_ &&
        av_channel_layout_compare(&frame.ch_layout, &in_layout_) == 0) {
      return {};
    }
    flush_resampler();  // a change of format mid-stream: keep what the old one holds
    av_channel_layout_uninit(&in_layout_);
    if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      av_channel_layout_default(&in_layout_, frame.ch_layout.nb_channels);
    } else if (av_channel_layout_copy(&in_layout_, &frame.ch_layout) < 0) {
      return error("'" + path_ + "': out of memory");
    }
    SwrContext* raw = nullptr;
    if (swr_alloc_set_opts2(&raw, &out_layout_, AV_SAMPLE_FMT_FLT, rate_, &in_layout_,
                            static_cast<AVSampleFormat>(frame.format), frame.sample_rate, 0,
                            nullptr) < 0 ||
        swr_init(raw) < 0) {
      swr_free(&raw);
      return error("'" + path_ + "': cannot convert its audio (" +
                   std::to_string(frame.ch_layout.nb_channels) + " channels, " +
                   std::to_string(frame.sample_rate) + " Hz) to " + std::to_string(channels_) +
                   " channels at " + std::to_string(rate_) + " Hz");
    }
    resampler_.reset(raw);
    in_format_ = frame.format;
    in_rate_ = frame.sample_rate;
    return {};
  }

  const std::string& path_;
  AVFormatContext& input_;
  const AVStream& stream_;
  int rate_;
  int channels_;
  AVChannelLayout out_layout_{};
  AVChannelLayout in_layout_{};
  int in_format_ = -1;
  int in_rate_ = 0;
  av::Codec decoder_;
  av::Frame frame_;
  av::Resampler resampler_;
  std::vector<float> buffer_;
  CutWriter* writer_ = nullptr;
  double origin_ = 0;
  double start_ = 0;
  double end_ = 0;
  bool placed_ = false;
  bool done_ = false;
  std::int64_t next_position_ = 0;  // track-rate frame where the resampler's next output goes
  std::int64_t decoded_frames_ = 0;
  int packets_failed_ = 0;
  int errors_ = 0;
};

}  // namespace

Result<SourceAudio> read_source_audio(const std::string& path, double start, double end,
                                      int sample_rate, int channels) {
  if (sample_rate <= 0 || channels <= 0 || channels > 8) {
    return error("'" + path + "': cannot make audio with " + std::to_string(channels) +
                 " channels at " + std::to_string(sample_rate) + " Hz");
  }
  auto input = av::open_input(path);
  if (!input) return tl::unexpected(input.error());
  AVFormatContext& context = **input;
  SourceAudio result;
  if (context.duration != AV_NOPTS_VALUE && context.duration > 0) {
    result.media_duration = static_cast<double>(context.duration) / AV_TIME_BASE;
  }
  const int index = av_find_best_stream(&context, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (index < 0) {
    if (end > 0 && end > start) {
      result.samples.assign(static_cast<std::size_t>(std::llround((end - start) * sample_rate)) *
                                static_cast<std::size_t>(channels),
                            0.0F);
    }
    return result;
  }
  result.has_audio = true;
  AudioReader reader(path, context, *context.streams[index], sample_rate, channels);
  if (auto read = reader.read(start, end, result.samples, result.audio_frames); !read) {
    return tl::unexpected(read.error());
  }
  return result;
}

}  // namespace reelflow::video
