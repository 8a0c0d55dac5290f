#include "render/pipeline/mp4_writer.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
}

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include "media/libav.hpp"

namespace reelflow::video {

namespace {

constexpr AVRational kVideoTimeBase{1, 90000};

struct OutputCloser {
  void operator()(AVFormatContext* context) const {
    if (context->pb != nullptr) avio_closep(&context->pb);
    avformat_free_context(context);
  }
};
using Output = std::unique_ptr<AVFormatContext, OutputCloser>;

struct DictionaryFreer {
  void operator()(AVDictionary* dictionary) const { av_dict_free(&dictionary); }
};

}  // namespace

struct Mp4Writer::Impl {
  std::string path;
  std::string part_path;
  EncoderSettings settings;
  Output output;
  av::Codec video;
  av::Codec audio;
  AVStream* video_stream = nullptr;
  AVStream* audio_stream = nullptr;
  av::Frame picture{av_frame_alloc()};
  av::Frame samples{av_frame_alloc()};
  av::Packet packet{av_packet_alloc()};
  std::int64_t last_pts = -1;
  double next_keyframe = 0;
  std::map<std::int64_t, std::int64_t> durations;  // video pts -> duration, 1/90000
  std::vector<float> pending;                      // interleaved audio not yet encoded
  std::int64_t audio_pts = 0;
  std::int64_t audio_written = 0;
  std::int64_t frames = 0;
  bool finished = false;

  std::string where() const { return "'" + path + "'"; }
  Result<void> drain(AVCodecContext& encoder, AVStream& stream, bool is_video);
  Result<void> encode_audio(int count);
};

Result<void> Mp4Writer::Impl::drain(AVCodecContext& encoder, AVStream& stream, bool is_video) {
  while (true) {
    const int code = avcodec_receive_packet(&encoder, packet.get());
    if (code == AVERROR(EAGAIN) || code == AVERROR_EOF) return {};
    if (code < 0) return error(where() + ": encoding failed: " + av::describe(code));
    if (is_video && packet->duration <= 0) {
      if (auto found = durations.find(packet->pts); found != durations.end()) {
        packet->duration = found->second;
      }
    }
    if (is_video) durations.erase(durations.begin(), durations.upper_bound(packet->pts));
    packet->stream_index = stream.index;
    av_packet_rescale_ts(packet.get(), encoder.time_base, stream.time_base);
    if (const int wrote = av_interleaved_write_frame(output.get(), packet.get()); wrote < 0) {
      return error(where() + ": cannot write: " + av::describe(wrote));
    }
  }
}

Result<void> Mp4Writer::Impl::encode_audio(int count) {
  AVFrame& frame = *samples;
  av_frame_unref(&frame);
  frame.format = AV_SAMPLE_FMT_FLTP;
  frame.nb_samples = count;
  frame.sample_rate = settings.sample_rate;
  if (const int code = av_channel_layout_copy(&frame.ch_layout, &audio->ch_layout); code < 0) {
    return error(where() + ": audio layout: " + av::describe(code));
  }
  if (const int code = av_frame_get_buffer(&frame, 0); code < 0) {
    return error(where() + ": out of memory for audio: " + av::describe(code));
  }
  const int channels = settings.channels;
  for (int c = 0; c < channels; ++c) {
    auto* plane = reinterpret_cast<float*>(frame.data[c]);
    for (int i = 0; i < count; ++i) plane[i] = pending[static_cast<std::size_t>(i * channels + c)];
  }
  pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(count) * channels);
  frame.pts = audio_pts;
  audio_pts += count;
  if (const int code = avcodec_send_frame(audio.get(), &frame); code < 0) {
    return error(where() + ": AAC encoding failed: " + av::describe(code));
  }
  return drain(*audio, *audio_stream, false);
}

Mp4Writer::Mp4Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Mp4Writer::~Mp4Writer() {
  if (impl_ && !impl_->finished) {
    impl_->output.reset();
    std::error_code ignored;
    std::filesystem::remove(impl_->part_path, ignored);
  }
}

Result<std::unique_ptr<Mp4Writer>> Mp4Writer::open(const std::string& path,
                                                   const EncoderSettings& settings) {
  auto impl = std::make_unique<Impl>();
  Impl& w = *impl;
  w.path = path;
  w.part_path = path + ".part";
  w.settings = settings;
  if (!w.picture || !w.samples || !w.packet) return error(w.where() + ": out of memory");
  if (settings.width < 2 || settings.height < 2 || settings.width % 2 != 0 ||
      settings.height % 2 != 0) {
    return error(w.where() + ": the output size must be even and positive, not " +
                 std::to_string(settings.width) + "x" + std::to_string(settings.height));
  }
  AVFormatContext* raw = nullptr;
  if (const int code = avformat_alloc_output_context2(&raw, nullptr, "mp4", w.part_path.c_str());
      code < 0 || raw == nullptr) {
    return error(w.where() + ": cannot create an MP4 muxer: " + av::describe(code));
  }
  w.output.reset(raw);

  // Video: libx264, H.264 High, yuv420p BT.709 limited range.
  const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
  if (x264 == nullptr) return error("libx264 is not available in this FFmpeg build");
  w.video.reset(avcodec_alloc_context3(x264));
  if (!w.video) return error(w.where() + ": out of memory");
  AVCodecContext& v = *w.video;
  v.width = settings.width;
  v.height = settings.height;
  v.pix_fmt = AV_PIX_FMT_YUV420P;
  v.time_base = kVideoTimeBase;
  v.framerate = av_d2q(settings.frame_rate > 0 ? settings.frame_rate : 30, 1001000);
  v.sample_aspect_ratio = {1, 1};
  v.color_range = AVCOL_RANGE_MPEG;
  v.color_primaries = AVCOL_PRI_BT709;
  v.color_trc = AVCOL_TRC_BT709;
  v.colorspace = AVCOL_SPC_BT709;
  v.thread_count = settings.threads;
  // Keyframes are forced every keyframe_interval seconds of output time (write_video); the GOP
  // length only backs that up for the densest frame rate allowed.
  v.gop_size = static_cast<int>(
                   std::ceil(settings.keyframe_interval * std::max(settings.max_frame_rate, 1.0))) +
               2;
  if (w.output->oformat->flags & AVFMT_GLOBALHEADER) v.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* video_options = nullptr;
  av_dict_set(&video_options, "preset", settings.x264_preset.c_str(), 0);
  av_dict_set(&video_options, "crf", std::to_string(settings.crf).c_str(), 0);
  av_dict_set(&video_options, "profile", "high", 0);
  av_dict_set(&video_options, "forced-idr", "1", 0);
  // Closed GOPs, no scene-cut keyframes (the 2 s grid is what platforms ask for), and 8x8
  // transforms so that even ultrafast makes a High-profile stream.
  av_dict_set(&video_options, "x264-params", "scenecut=0:open-gop=0:8x8dct=1", 0);
  const int video_opened = avcodec_open2(&v, x264, &video_options);
  std::unique_ptr<AVDictionary, DictionaryFreer> video_left(video_options);
  if (video_opened < 0) {
    return error(w.where() + ": cannot open libx264 (preset '" + settings.x264_preset + "', crf " +
                 std::to_string(settings.crf) + "): " + av::describe(video_opened));
  }
  w.video_stream = avformat_new_stream(w.output.get(), nullptr);
  if (w.video_stream == nullptr) return error(w.where() + ": out of memory");
  avcodec_parameters_from_context(w.video_stream->codecpar, &v);
  w.video_stream->time_base = v.time_base;
  w.video_stream->avg_frame_rate = v.framerate;

  w.picture->format = AV_PIX_FMT_YUV420P;
  w.picture->width = settings.width;
  w.picture->height = settings.height;
  if (const int code = av_frame_get_buffer(w.picture.get(), 0); code < 0) {
    return error(w.where() + ": out of memory for a frame: " + av::describe(code));
  }

  // Audio: AAC-LC through libavcodec's native encoder.
  if (settings.audio) {
    const AVCodec* aac = avcodec_find_encoder_by_name("aac");
    if (aac == nullptr) return error("the AAC encoder is not available in this FFmpeg build");
    w.audio.reset(avcodec_alloc_context3(aac));
    if (!w.audio) return error(w.where() + ": out of memory");
    AVCodecContext& a = *w.audio;
    a.sample_fmt = AV_SAMPLE_FMT_FLTP;
    a.sample_rate = settings.sample_rate;
    av_channel_layout_default(&a.ch_layout, settings.channels);
    a.bit_rate = settings.audio_bitrate;
    a.profile = FF_PROFILE_AAC_LOW;
    a.time_base = {1, settings.sample_rate};
    if (w.output->oformat->flags & AVFMT_GLOBALHEADER) a.flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (const int code = avcodec_open2(&a, aac, nullptr); code < 0) {
      return error(w.where() + ": cannot open the AAC encoder: " + av::describe(code));
    }
    w.audio_stream = avformat_new_stream(w.output.get(), nullptr);
    if (w.audio_stream == nullptr) return error(w.where() + ": out of memory");
    avcodec_parameters_from_context(w.audio_stream->codecpar, &a);
    w.audio_stream->time_base = a.time_base;
  }

  if (const int code = avio_open(&w.output->pb, w.part_path.c_str(), AVIO_FLAG_WRITE); code < 0) {
    return error(w.where() + ": cannot create the file: " + av::describe(code));
  }
  AVDictionary* mux_options = nullptr;
  av_dict_set(&mux_options, "movflags", "+faststart", 0);
  const int header = avformat_write_header(w.output.get(), &mux_options);
  std::unique_ptr<AVDictionary, DictionaryFreer> mux_left(mux_options);
  if (header < 0)
    return error(w.where() + ": cannot write the MP4 header: " + av::describe(header));
  return std::unique_ptr<Mp4Writer>(new Mp4Writer(std::move(impl)));
}

Result<Yuv420> Mp4Writer::canvas() {
  Impl& w = *impl_;
  AVFrame& frame = *w.picture;
  if (const int code = av_frame_make_writable(&frame); code < 0) {
    return error(w.where() + ": out of memory for a frame: " + av::describe(code));
  }
  Yuv420 view;
  for (int p = 0; p < 3; ++p) {
    view.plane[p] = frame.data[p];
    view.stride[p] = frame.linesize[p];
  }
  view.width = frame.width;
  view.height = frame.height;
  return view;
}

Result<void> Mp4Writer::write_video(const Yuv420& source, double time, double duration) {
  Impl& w = *impl_;
  const std::int64_t pts = std::llround(time * kVideoTimeBase.den);
  if (pts <= w.last_pts) return {};
  AVFrame& frame = *w.picture;
  if (source.plane[0] != frame.data[0]) {
    if (const int code = av_frame_make_writable(&frame); code < 0) {
      return error(w.where() + ": out of memory for a frame: " + av::describe(code));
    }
    const int width = std::min(source.width, frame.width);
    const int height = std::min(source.height, frame.height);
    for (int p = 0; p < 3; ++p) {
      const int shift = p == 0 ? 0 : 1;
      av_image_copy_plane(frame.data[p], frame.linesize[p], source.plane[p], source.stride[p],
                          width >> shift, height >> shift);
    }
  }
  frame.pts = pts;
  frame.pict_type = AV_PICTURE_TYPE_NONE;
  if (time + 1e-6 >= w.next_keyframe) {
    frame.pict_type = AV_PICTURE_TYPE_I;
    while (w.next_keyframe <= time + 1e-6) w.next_keyframe += w.settings.keyframe_interval;
  }
  w.durations[pts] = std::max<std::int64_t>(1, std::llround(duration * kVideoTimeBase.den));
  w.last_pts = pts;
  if (const int code = avcodec_send_frame(w.video.get(), &frame); code < 0) {
    return error(w.where() + ": H.264 encoding failed: " + av::describe(code));
  }
  ++w.frames;
  return w.drain(*w.video, *w.video_stream, true);
}

Result<void> Mp4Writer::write_audio(const float* samples, std::int64_t frames) {
  Impl& w = *impl_;
  if (!w.audio || frames <= 0) return {};
  w.pending.insert(w.pending.end(), samples, samples + frames * w.settings.channels);
  w.audio_written += frames;
  const int frame_size = w.audio->frame_size > 0 ? w.audio->frame_size : 1024;
  while (static_cast<std::int64_t>(w.pending.size()) >=
         static_cast<std::int64_t>(frame_size) * w.settings.channels) {
    if (auto encoded = w.encode_audio(frame_size); !encoded) return encoded;
  }
  return {};
}

std::int64_t Mp4Writer::audio_frames_written() const { return impl_->audio_written; }
std::int64_t Mp4Writer::video_frames() const { return impl_->frames; }

Result<void> Mp4Writer::finish() {
  Impl& w = *impl_;
  avcodec_send_frame(w.video.get(), nullptr);
  if (auto drained = w.drain(*w.video, *w.video_stream, true); !drained) return drained;
  if (w.audio) {
    if (!w.pending.empty()) {
      const int rest =
          static_cast<int>(w.pending.size() / static_cast<std::size_t>(w.settings.channels));
      if (auto encoded = w.encode_audio(rest); !encoded) return encoded;
    }
    avcodec_send_frame(w.audio.get(), nullptr);
    if (auto drained = w.drain(*w.audio, *w.audio_stream, false); !drained) return drained;
  }
  if (const int code = av_write_trailer(w.output.get()); code < 0) {
    return error(w.where() + ": cannot finish the MP4 file: " + av::describe(code));
  }
  avio_closep(&w.output->pb);
  std::error_code ec;
  std::filesystem::rename(w.part_path, w.path, ec);
  if (ec) return error(w.where() + ": cannot rename the finished file: " + ec.message());
  w.finished = true;
  return {};
}

}  // namespace reelflow::video
