#include "audio/tempo.hpp"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "media/libav.hpp"

namespace reelflow::video {

namespace {

constexpr int kChunkFrames = 4096;
constexpr double kMinSpeed = 0.5;
constexpr double kMaxSpeed = 2.0;

struct GraphFreer {
  void operator()(AVFilterGraph* graph) const { avfilter_graph_free(&graph); }
};
using Graph = std::unique_ptr<AVFilterGraph, GraphFreer>;

class TempoGraph {
 public:
  Result<void> open(int sample_rate, int channels, double speed) {
    graph_.reset(avfilter_graph_alloc());
    if (!graph_) return error("atempo: out of memory");
    graph_->nb_threads = 1;
    AVChannelLayout layout{};
    av_channel_layout_default(&layout, channels);
    char layout_name[64] = {};
    av_channel_layout_describe(&layout, layout_name, sizeof layout_name);
    av_channel_layout_uninit(&layout);
    char source_args[256];
    std::snprintf(source_args, sizeof source_args,
                  "time_base=1/%d:sample_rate=%d:sample_fmt=flt:channel_layout=%s", sample_rate,
                  sample_rate, layout_name);
    char tempo_args[64];
    std::snprintf(tempo_args, sizeof tempo_args, "tempo=%.6f", speed);
    AVFilterContext* tempo = nullptr;
    if (const int code = avfilter_graph_create_filter(&source_, avfilter_get_by_name("abuffer"),
                                                      "in", source_args, nullptr, graph_.get());
        code < 0) {
      return error("atempo: cannot create the source: " + av::describe(code));
    }
    if (const int code = avfilter_graph_create_filter(&tempo, avfilter_get_by_name("atempo"),
                                                      "tempo", tempo_args, nullptr, graph_.get());
        code < 0) {
      return error("atempo: cannot create the filter: " + av::describe(code));
    }
    if (const int code = avfilter_graph_create_filter(&sink_, avfilter_get_by_name("abuffersink"),
                                                      "out", nullptr, nullptr, graph_.get());
        code < 0) {
      return error("atempo: cannot create the sink: " + av::describe(code));
    }
    const AVSampleFormat formats[] = {AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_NONE};
    if (av_opt_set_int_list(sink_, "sample_fmts", formats, AV_SAMPLE_FMT_NONE,
                            AV_OPT_SEARCH_CHILDREN) < 0 ||
        avfilter_link(source_, 0, tempo, 0) < 0 || avfilter_link(tempo, 0, sink_, 0) < 0) {
      return error("atempo: cannot link the filter graph");
    }
    if (const int code = avfilter_graph_config(graph_.get(), nullptr); code < 0) {
      return error("atempo: cannot configure the filter graph: " + av::describe(code));
    }
    frame_.reset(av_frame_alloc());
    if (!frame_) return error("atempo: out of memory");
    rate_ = sample_rate;
    channels_ = channels;
    return {};
  }

  Result<void> push(const float* samples, int frames, std::int64_t pts, std::vector<float>& out) {
    av::Frame frame(av_frame_alloc());
    if (!frame) return error("atempo: out of memory");
    frame->format = AV_SAMPLE_FMT_FLT;
    frame->sample_rate = rate_;
    frame->nb_samples = frames;
    frame->pts = pts;
    av_channel_layout_default(&frame->ch_layout, channels_);
    if (av_frame_get_buffer(frame.get(), 0) < 0) return error("atempo: out of memory");
    std::memcpy(
        frame->data[0], samples,
        static_cast<std::size_t>(frames) * static_cast<std::size_t>(channels_) * sizeof(float));
    if (const int code = av_buffersrc_add_frame(source_, frame.get()); code < 0) {
      return error("atempo: cannot feed the filter: " + av::describe(code));
    }
    return drain(out);
  }

  Result<void> finish(std::vector<float>& out) {
    if (const int code = av_buffersrc_add_frame(source_, nullptr); code < 0) {
      return error("atempo: cannot flush the filter: " + av::describe(code));
    }
    return drain(out);
  }

 private:
  Result<void> drain(std::vector<float>& out) {
    while (true) {
      const int code = av_buffersink_get_frame(sink_, frame_.get());
      if (code == AVERROR(EAGAIN) || code == AVERROR_EOF) return {};
      if (code < 0) return error("atempo: " + av::describe(code));
      const auto* data = reinterpret_cast<const float*>(frame_->data[0]);
      out.insert(out.end(), data,
                 data + static_cast<std::ptrdiff_t>(frame_->nb_samples) * channels_);
      av_frame_unref(frame_.get());
    }
  }

  Graph graph_;
  AVFilterContext* source_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  av::Frame frame_;
  int rate_ = 0;
  int channels_ = 0;
};

}  // namespace

Result<std::vector<float>> change_tempo(const std::vector<float>& samples, int sample_rate,
                                        int channels, double speed, std::int64_t lead_in,
                                        std::int64_t out_frames) {
  if (!(speed >= kMinSpeed && speed <= kMaxSpeed)) {
    return error("speed " + std::to_string(speed) + " is outside 0.5 .. 2.0");
  }
  const auto frames = static_cast<std::int64_t>(samples.size()) / channels;
  const auto wanted = std::max<std::int64_t>(0, out_frames);
  std::vector<float> retimed;
  std::int64_t skip = lead_in;  // output frames before the one that matches input `lead_in`
  if (speed == 1.0) {
    retimed = samples;
  } else if (frames > 0) {
    retimed.reserve(static_cast<std::size_t>(static_cast<double>(frames) / speed + kChunkFrames) *
                    static_cast<std::size_t>(channels));
    TempoGraph graph;
    if (auto opened = graph.open(sample_rate, channels, speed); !opened) {
      return tl::unexpected(opened.error());
    }
    for (std::int64_t at = 0; at < frames; at += kChunkFrames) {
      const int count = static_cast<int>(std::min<std::int64_t>(kChunkFrames, frames - at));
      if (auto pushed = graph.push(samples.data() + at * channels, count, at, retimed); !pushed) {
        return tl::unexpected(pushed.error());
      }
    }
    if (auto finished = graph.finish(retimed); !finished) return tl::unexpected(finished.error());
    skip = std::llround((static_cast<double>(lead_in) - kTempoLagSeconds * sample_rate) / speed);
  }
  std::vector<float> out(static_cast<std::size_t>(wanted) * static_cast<std::size_t>(channels),
                         0.0F);
  const auto available = static_cast<std::int64_t>(retimed.size()) / channels;
  // Output frame n is retimed frame skip + n (skip < 0: silence first).
  const std::int64_t first = std::max<std::int64_t>(0, -skip);
  const std::int64_t last = std::min(wanted, available - skip);
  if (last > first) {
    std::copy(retimed.begin() + static_cast<std::ptrdiff_t>((skip + first) * channels),
              retimed.begin() + static_cast<std::ptrdiff_t>((skip + last) * channels),
              out.begin() + static_cast<std::ptrdiff_t>(first * channels));
  }
  return out;
}

}  // namespace reelflow::video
