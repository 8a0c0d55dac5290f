#include "media/clip_writer.hpp"

extern "C" {
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <optional>
#include <vector>

#include "media/libav.hpp"

namespace reelflow::video {

namespace {

namespace fs = std::filesystem;

struct OutputCloser {
  void operator()(AVFormatContext* context) const {
    if (context->pb != nullptr) avio_closep(&context->pb);
    avformat_free_context(context);
  }
};
using Output = std::unique_ptr<AVFormatContext, OutputCloser>;

// ---- H.264 parameter sets ------------------------------------------------------------------

struct BitReader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t bit = 0;
  int read_bit() {
    if (bit >= size * 8) return 0;
    const int value = (data[bit / 8] >> (7 - bit % 8)) & 1;
    ++bit;
    return value;
  }
  unsigned read_ue() {
    int zeros = 0;
    while (read_bit() == 0 && zeros < 32) ++zeros;
    unsigned value = 1;
    for (int i = 0; i < zeros; ++i) value = (value << 1) | static_cast<unsigned>(read_bit());
    return value - 1;
  }
};

// The parameter-set id of an SPS (after profile, constraints, level) or a PPS NAL unit.
unsigned parameter_set_id(const std::vector<std::uint8_t>& nal) {
  const std::size_t skip = (nal[0] & 0x1F) == 7 ? 4 : 1;
  if (nal.size() <= skip) return 0;
  BitReader reader{nal.data() + skip, nal.size() - skip};
  return reader.read_ue();
}

struct ParameterSets {
  std::vector<std::vector<std::uint8_t>> sps, pps;
  int length_size = 4;
};

// avcC extradata (ISO 14496-15) to its parameter sets.
std::optional<ParameterSets> parse_avcc(const std::uint8_t* data, int size) {
  if (data == nullptr || size < 7 || data[0] != 1) return std::nullopt;
  ParameterSets sets;
  sets.length_size = (data[4] & 3) + 1;
  std::size_t at = 5;
  const auto read_list = [&](int count, std::vector<std::vector<std::uint8_t>>& out) {
    for (int i = 0; i < count; ++i) {
      if (at + 2 > static_cast<std::size_t>(size)) return false;
      const std::size_t length = (static_cast<std::size_t>(data[at]) << 8) | data[at + 1];
      at += 2;
      if (at + length > static_cast<std::size_t>(size)) return false;
      out.emplace_back(data + at, data + at + length);
      at += length;
    }
    return true;
  };
  if (!read_list(data[at++] & 0x1F, sets.sps)) return std::nullopt;
  if (at >= static_cast<std::size_t>(size) || !read_list(data[at++], sets.pps)) {
    return std::nullopt;
  }
  return sets;
}

// Annex B byte stream (00 00 01 / 00 00 00 01 start codes) to NAL units.
std::vector<std::vector<std::uint8_t>> split_annexb(const std::uint8_t* data, std::size_t size) {
  std::vector<std::vector<std::uint8_t>> units;
  std::size_t i = 0, begin = std::string::npos;
  while (i + 3 <= size) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      if (begin != std::string::npos) {
        std::size_t end = i;
        while (end > begin && data[end - 1] == 0) --end;
        units.emplace_back(data + begin, data + end);
      }
      i += 3;
      begin = i;
    } else {
      ++i;
    }
  }
  if (begin != std::string::npos && begin < size) units.emplace_back(data + begin, data + size);
  return units;
}

std::vector<std::uint8_t> build_avcc(const ParameterSets& sets) {
  std::vector<std::uint8_t> out;
  const auto& first = sets.sps.front();
  out.push_back(1);
  out.push_back(first.size() > 1 ? first[1] : 100);  // profile
  out.push_back(first.size() > 2 ? first[2] : 0);    // compatibility
  std::uint8_t level = 0;
  for (const auto& sps : sets.sps)
    level = std::max<std::uint8_t>(level, sps.size() > 3 ? sps[3] : 0);
  out.push_back(level);
  out.push_back(static_cast<std::uint8_t>(0xFC | (sets.length_size - 1)));
  out.push_back(static_cast<std::uint8_t>(0xE0 | sets.sps.size()));
  for (const auto& sps : sets.sps) {
    out.push_back(static_cast<std::uint8_t>(sps.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(sps.size()));
    out.insert(out.end(), sps.begin(), sps.end());
  }
  out.push_back(static_cast<std::uint8_t>(sets.pps.size()));
  for (const auto& pps : sets.pps) {
    out.push_back(static_cast<std::uint8_t>(pps.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(pps.size()));
    out.insert(out.end(), pps.begin(), pps.end());
  }
  // High profiles carry chroma format and bit depths (ISO 14496-15 5.3.3.1.2); copying them
  // from the source's trailing bytes is not possible in general, so they are omitted: readers
  // take them from the SPS.
  return out;
}

// An encoder packet (Annex B) as length-prefixed NAL units without parameter sets.
std::vector<std::uint8_t> to_length_prefixed(const AVPacket& packet, int length_size) {
  std::vector<std::uint8_t> out;
  for (const auto& nal : split_annexb(packet.data, static_cast<std::size_t>(packet.size))) {
    if (nal.empty()) continue;
    const int type = nal[0] & 0x1F;
    if (type == 7 || type == 8 || type == 9) continue;  // SPS, PPS, access unit delimiter
    for (int i = length_size - 1; i >= 0; --i) {
      out.push_back(static_cast<std::uint8_t>(nal.size() >> (8 * i)));
    }
    out.insert(out.end(), nal.begin(), nal.end());
  }
  return out;
}

// ---- the cut -------------------------------------------------------------------------------

class ClipCut {
 public:
  ClipCut(const std::string& input, const std::string& output) : input_(input), output_(output) {}

  Result<ClipResult> run(double start, double end);

 private:
  Result<void> open_output(bool smart, const AVCodecContext* encoder);
  Result<void> write(AVPacket& packet, int out_stream);
  Result<void> open_encoder(const AVCodecContext& decoder, unsigned parameter_id);
  Result<void> encode(AVFrame* frame);

  std::string input_, output_;
  av::Input in_;
  AVStream* video_ = nullptr;
  AVStream* audio_ = nullptr;
  Output out_;
  av::Codec encoder_;
  std::int64_t start_pts_ = 0;  // in video time base
  std::int64_t dts_shift_ = 0;  // re-encoded packets' dts = pts - dts_shift_
  int length_size_ = 4;
  ClipResult result_;
  std::int64_t last_video_dts_ = INT64_MIN;
};

Result<void> ClipCut::write(AVPacket& packet, int out_stream) {
  const AVStream* source = out_stream == 0 ? video_ : audio_;
  packet.stream_index = out_stream;
  av_packet_rescale_ts(&packet, source->time_base, out_->streams[out_stream]->time_base);
  packet.pos = -1;
  if (const int code = av_interleaved_write_frame(out_.get(), &packet); code < 0) {
    return error("cannot write clip '" + output_ + "': " + av::describe(code));
  }
  return {};
}

Result<void> ClipCut::open_encoder(const AVCodecContext& decoder, unsigned parameter_id) {
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (codec == nullptr) return error("libx264 is not available in this FFmpeg build");
  encoder_.reset(avcodec_alloc_context3(codec));
  AVCodecContext& e = *encoder_;
  e.width = decoder.width;
  e.height = decoder.height;
  e.pix_fmt = decoder.pix_fmt;
  e.sample_aspect_ratio = decoder.sample_aspect_ratio;
  e.time_base = video_->time_base;
  e.framerate = video_->avg_frame_rate;
  e.color_range = decoder.color_range;
  e.color_primaries = decoder.color_primaries;
  e.color_trc = decoder.color_trc;
  e.colorspace = decoder.colorspace;
  e.max_b_frames = 0;  // the re-encoded frames' decode order is their presentation order
  e.gop_size = 100000;
  e.thread_count = 2;
  e.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* settings = nullptr;
  av_dict_set(&settings, "preset", "superfast", 0);
  av_dict_set(&settings, "crf", "16", 0);  // a few frames: spend bits, stay indistinguishable
  const std::string params = "sps-id=" + std::to_string(parameter_id);
  av_dict_set(&settings, "x264-params", params.c_str(), 0);
  const int code = avcodec_open2(&e, codec, &settings);
  av_dict_free(&settings);
  if (code < 0) {
    return error("cannot open the H.264 encoder for '" + input_ + "': " + av::describe(code));
  }
  return {};
}

Result<void> ClipCut::open_output(bool smart, const AVCodecContext* encoder) {
  AVFormatContext* raw = nullptr;
  if (const int code = avformat_alloc_output_context2(&raw, nullptr, "mp4", output_.c_str());
      code < 0) {
    return error("cannot create '" + output_ + "': " + av::describe(code));
  }
  out_.reset(raw);
  AVStream* video = avformat_new_stream(out_.get(), nullptr);
  avcodec_parameters_copy(video->codecpar, video_->codecpar);
  video->codecpar->codec_tag = 0;
  video->time_base = video_->time_base;
  if (const auto* side = av_stream_get_side_data(video_, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
    auto* copy = av_stream_new_side_data(video, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    if (copy != nullptr) std::copy_n(side, 9 * sizeof(int32_t), copy);
  }
  if (encoder != nullptr) {
    std::vector<std::uint8_t> extradata;
    auto encoded_sets =
        split_annexb(encoder->extradata, static_cast<std::size_t>(encoder->extradata_size));
    if (smart) {
      auto sets = parse_avcc(video_->codecpar->extradata, video_->codecpar->extradata_size);
      if (!sets || sets->sps.empty()) return error("'" + input_ + "': unreadable avcC");
      for (auto& nal : encoded_sets) {
        if (!nal.empty() && (nal[0] & 0x1F) == 7) sets->sps.push_back(nal);
        if (!nal.empty() && (nal[0] & 0x1F) == 8) sets->pps.push_back(nal);
      }
      extradata = build_avcc(*sets);
    } else {
      ParameterSets sets;
      sets.length_size = 4;
      for (auto& nal : encoded_sets) {
        if (!nal.empty() && (nal[0] & 0x1F) == 7) sets.sps.push_back(nal);
        if (!nal.empty() && (nal[0] & 0x1F) == 8) sets.pps.push_back(nal);
      }
      if (sets.sps.empty()) return error("the H.264 encoder gave no parameter sets");
      extradata = build_avcc(sets);
      avcodec_parameters_from_context(video->codecpar, encoder);
      video->codecpar->codec_tag = 0;
    }
    av_freep(&video->codecpar->extradata);
    video->codecpar->extradata =
        static_cast<std::uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    std::copy(extradata.begin(), extradata.end(), video->codecpar->extradata);
    video->codecpar->extradata_size = static_cast<int>(extradata.size());
  }
  if (audio_ != nullptr) {
    AVStream* audio = avformat_new_stream(out_.get(), nullptr);
    avcodec_parameters_copy(audio->codecpar, audio_->codecpar);
    audio->codecpar->codec_tag = 0;
    audio->time_base = audio_->time_base;
  }
  if (const int code = avio_open(&out_->pb, output_.c_str(), AVIO_FLAG_WRITE); code < 0) {
    return error("cannot create '" + output_ + "': " + av::describe(code));
  }
  AVDictionary* flags = nullptr;
  av_dict_set(&flags, "movflags", "+faststart", 0);
  const int code = avformat_write_header(out_.get(), &flags);
  av_dict_free(&flags);
  if (code < 0) return error("cannot write the header of '" + output_ + "': " + av::describe(code));
  return {};
}

Result<void> ClipCut::encode(AVFrame* frame) {
  if (const int code = avcodec_send_frame(encoder_.get(), frame); code < 0) {
    return error("encoding '" + input_ + "' failed: " + av::describe(code));
  }
  av::Packet packet(av_packet_alloc());
  while (avcodec_receive_packet(encoder_.get(), packet.get()) == 0) {
    std::vector<std::uint8_t> body = to_length_prefixed(*packet, length_size_);
    av::Packet out(av_packet_alloc());
    av_new_packet(out.get(), static_cast<int>(body.size()));
    std::copy(body.begin(), body.end(), out->data);
    out->pts = packet->pts - start_pts_;
    out->dts = packet->pts - start_pts_ - dts_shift_;
    out->duration = packet->duration;
    out->flags = packet->flags;
    last_video_dts_ = out->dts;
    if (auto written = write(*out, 0); !written) return written;
    av_packet_unref(packet.get());
  }
  return {};
}

Result<ClipResult> ClipCut::run(double start, double end) {
  auto input = av::open_input(input_);
  if (!input) return tl::unexpected(input.error());
  in_ = std::move(*input);
  const int video_index = av_find_best_stream(in_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (video_index < 0) return error("'" + input_ + "' has no video stream");
  video_ = in_->streams[video_index];
  const int audio_index = av_find_best_stream(in_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (audio_index >= 0) {
    audio_ = in_->streams[audio_index];
    const AVOutputFormat* mp4 = av_guess_format("mp4", nullptr, nullptr);
    if (avformat_query_codec(mp4, audio_->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      return error("'" + input_ + "': its " + avcodec_get_name(audio_->codecpar->codec_id) +
                   " audio cannot be copied into MP4 (AAC transcoding of clips is not built)");
    }
  }
  for (unsigned i = 0; i < in_->nb_streams; ++i) {
    in_->streams[i]->discard =
        (static_cast<int>(i) == video_index || static_cast<int>(i) == audio_index)
            ? AVDISCARD_DEFAULT
            : AVDISCARD_ALL;
  }
  const AVRational tb = video_->time_base;
  const std::int64_t origin = video_->start_time != AV_NOPTS_VALUE ? video_->start_time : 0;
  const double frame_seconds =
      video_->avg_frame_rate.num > 0 ? 1.0 / av_q2d(video_->avg_frame_rate) : 1.0 / 30;
  const auto to_ticks = [&](double seconds) {
    return origin + static_cast<std::int64_t>(std::llround(seconds / av_q2d(tb)));
  };
  const std::int64_t half_frame = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(frame_seconds / 2 / av_q2d(tb))));
  std::int64_t start_ticks = to_ticks(start);
  const std::int64_t end_ticks = to_ticks(end);
  if (av_seek_frame(in_.get(), video_index, start_ticks, AVSEEK_FLAG_BACKWARD) < 0) {
    av_seek_frame(in_.get(), video_index, origin, AVSEEK_FLAG_BACKWARD);
  }

  // Read ahead to the first keyframe at or after the start: it decides the method.
  std::deque<av::Packet> pending;
  std::optional<std::int64_t> copy_from;  // pts of the keyframe from which packets are copied
  bool start_is_keyframe = false;
  for (int guard = 0; guard < 100000; ++guard) {
    av::Packet packet(av_packet_alloc());
    if (av_read_frame(in_.get(), packet.get()) < 0) break;
    const bool is_video = packet->stream_index == video_index;
    if (is_video && (packet->flags & AV_PKT_FLAG_KEY) != 0 && packet->pts != AV_NOPTS_VALUE &&
        packet->pts >= start_ticks - half_frame) {
      start_is_keyframe = packet->pts <= start_ticks + half_frame && pending.empty();
      if (!start_is_keyframe || true) copy_from = packet->pts;
      pending.push_back(std::move(packet));
      break;
    }
    pending.push_back(std::move(packet));
  }
  if (copy_from && std::llabs(*copy_from - start_ticks) <= half_frame) {
    start_is_keyframe = true;
    start_ticks = *copy_from;
  }
  // Audio packets read before the keyframe still count (they belong to the clip if in range).
  const bool h264 = video_->codecpar->codec_id == AV_CODEC_ID_H264 &&
                    video_->codecpar->extradata_size > 0 && video_->codecpar->extradata[0] == 1;
  std::string method = start_is_keyframe                               ? "copy"
                       : (h264 && copy_from && *copy_from < end_ticks) ? "smart"
                                                                       : "reencode";
  if (method == "copy") {
    // Drop video packets before the keyframe (they were only read to find it).
    std::deque<av::Packet> kept;
    for (auto& packet : pending) {
      if (packet->stream_index != video_index || packet->pts >= start_ticks) {
        kept.push_back(std::move(packet));
      }
    }
    pending.swap(kept);
  }
  start_pts_ = start_ticks;
  result_.method = method;
  result_.path = output_;
  result_.start = av_q2d(tb) * static_cast<double>(start_ticks - origin);
  result_.end = end;
  result_.audio = audio_ != nullptr;

  // Decoder for the re-encoded part.
  av::Codec decoder;
  if (method != "copy") {
    auto opened = av::open_decoder(input_, *video_, 2);
    if (!opened) return tl::unexpected(opened.error());
    decoder = std::move(*opened);
    unsigned parameter_id = 1;
    if (method == "smart") {
      auto sets = parse_avcc(video_->codecpar->extradata, video_->codecpar->extradata_size);
      if (!sets) return error("'" + input_ + "': unreadable H.264 configuration (avcC)");
      length_size_ = sets->length_size;
      unsigned highest = 0;
      for (const auto& nal : sets->sps) highest = std::max(highest, parameter_set_id(nal));
      for (const auto& nal : sets->pps) highest = std::max(highest, parameter_set_id(nal));
      parameter_id = (highest + 1) % 32;
    }
    // The decoder's size and format are known once it has opened; use the stream's.
    decoder->pix_fmt = static_cast<AVPixelFormat>(video_->codecpar->format);
    if (auto encoder = open_encoder(*decoder, parameter_id); !encoder) {
      return tl::unexpected(encoder.error());
    }
  }
  if (auto opened = open_output(method == "smart", method == "copy" ? nullptr : encoder_.get());
      !opened) {
    return tl::unexpected(opened.error());
  }

  av::Frame frame(av_frame_alloc());
  bool copying = method == "copy";
  bool decoder_flushed = false;
  std::int64_t first_copied_dts = AV_NOPTS_VALUE;
  const auto receive_frames = [&]() -> Result<void> {
    while (avcodec_receive_frame(decoder.get(), frame.get()) == 0) {
      const std::int64_t pts = frame->best_effort_timestamp;
      const bool in_range = pts != AV_NOPTS_VALUE && pts >= start_ticks - half_frame &&
                            pts < end_ticks - half_frame && (method != "smart" || pts < *copy_from);
      if (in_range) {
        frame->pts = pts;
        frame->pict_type = AV_PICTURE_TYPE_NONE;
        if (result_.encoded_frames == 0) {
          frame->pict_type = AV_PICTURE_TYPE_I;
          start_pts_ = pts;
          start_ticks = pts;
          result_.start = av_q2d(tb) * static_cast<double>(pts - origin);
        }
        if (auto encoded = encode(frame.get()); !encoded) return encoded;
        ++result_.encoded_frames;
      }
      av_frame_unref(frame.get());
    }
    return {};
  };
  const auto finish_encoder = [&]() -> Result<void> {
    if (decoder_flushed) return {};
    decoder_flushed = true;
    avcodec_send_packet(decoder.get(), nullptr);
    if (auto received = receive_frames(); !received) return received;
    return encode(nullptr);
  };

  bool done = false;  // no more video packets wanted
  bool audio_done = audio_ == nullptr;
  for (int guard = 0; !(done && audio_done) && guard < 50'000'000; ++guard) {
    av::Packet packet;
    if (!pending.empty()) {
      packet = std::move(pending.front());
      pending.pop_front();
    } else {
      packet.reset(av_packet_alloc());
      if (av_read_frame(in_.get(), packet.get()) < 0) break;
    }
    if (packet->stream_index == audio_index) {
      // Audio on the video's time line: its timestamps minus the video's origin. A packet
      // belongs to the clip if most of it lies inside.
      const AVRational atb = audio_->time_base;
      const double at =
          av_q2d(atb) * static_cast<double>(packet->pts) - av_q2d(tb) * static_cast<double>(origin);
      const double half = av_q2d(atb) * static_cast<double>(packet->duration) / 2;
      const double clip_start = av_q2d(tb) * static_cast<double>(start_ticks - origin);
      const double clip_end = av_q2d(tb) * static_cast<double>(end_ticks - origin);
      if (packet->pts != AV_NOPTS_VALUE && at + half >= clip_end) audio_done = true;
      if (packet->pts != AV_NOPTS_VALUE && at + half >= clip_start && at + half < clip_end) {
        const std::int64_t shift = av_rescale_q(start_ticks, tb, atb);
        packet->pts -= shift;
        packet->dts -= shift;
        if (auto written = write(*packet, 1); !written) return tl::unexpected(written.error());
      }
      continue;
    }
    if (packet->stream_index != video_index || done) continue;
    if (!copying && method == "smart" && (packet->flags & AV_PKT_FLAG_KEY) != 0 &&
        packet->pts == *copy_from) {
      if (auto finished = finish_encoder(); !finished) return tl::unexpected(finished.error());
      copying = true;
    }
    if (copying) {
      if (packet->pts != AV_NOPTS_VALUE && packet->pts >= end_ticks - half_frame &&
          (packet->flags & AV_PKT_FLAG_KEY) != 0) {
        done = true;  // the next GOP starts past the end
        continue;
      }
      if (packet->pts != AV_NOPTS_VALUE && packet->pts >= end_ticks - half_frame) continue;
      if (first_copied_dts == AV_NOPTS_VALUE) {
        first_copied_dts = packet->dts;
        if (method == "smart") {
          // Re-encoded packets were written with dts = pts - shift; continue below them.
          dts_shift_ = packet->pts - packet->dts;
        }
      }
      packet->pts -= start_pts_;
      packet->dts -= start_pts_;
      if (method == "smart" && packet->dts <= last_video_dts_) packet->dts = last_video_dts_ + 1;
      last_video_dts_ = packet->dts;
      ++result_.copied_packets;
      if (auto written = write(*packet, 0); !written) return tl::unexpected(written.error());
      continue;
    }
    // Re-encoding: decode everything from the keyframe before the start.
    if (packet->dts != AV_NOPTS_VALUE && packet->pts != AV_NOPTS_VALUE &&
        packet->pts >= end_ticks + 16 * half_frame && method == "reencode") {
      done = true;
      continue;
    }
    // Frames before the start that nothing refers to (most B-frames) need not be decoded.
    const bool before_start =
        packet->pts != AV_NOPTS_VALUE && packet->pts < start_ticks - half_frame;
    decoder->skip_frame = before_start ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
    avcodec_send_packet(decoder.get(), packet.get());
    if (auto received = receive_frames(); !received) return tl::unexpected(received.error());
  }
  if (!copying) {
    if (auto finished = finish_encoder(); !finished) return tl::unexpected(finished.error());
  }
  if (const int code = av_write_trailer(out_.get()); code < 0) {
    return error("cannot finish '" + output_ + "': " + av::describe(code));
  }
  if (result_.encoded_frames == 0 && result_.copied_packets == 0) {
    return error("'" + input_ + "': no frame between " + std::to_string(start) + " s and " +
                 std::to_string(end) + " s");
  }
  return result_;
}

}  // namespace

Result<ClipResult> write_clip(const std::string& input, double start, double end,
                              const std::string& output) {
  if (!(end > start)) {
    return error("clip of '" + input + "': the end (" + std::to_string(end) +
                 " s) is not after the start (" + std::to_string(start) + " s)");
  }
  const std::string partial = output + ".partial";
  ClipCut cut(input, partial);
  auto result = cut.run(start, end);
  std::error_code ec;
  if (!result) {
    fs::remove(partial, ec);
    return result;
  }
  fs::rename(partial, output, ec);
  if (ec) return error("cannot rename '" + partial + "' to '" + output + "': " + ec.message());
  result->path = output;
  return result;
}

}  // namespace reelflow::video
