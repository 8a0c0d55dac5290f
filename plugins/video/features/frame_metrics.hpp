// Per-frame image measurements on the small analysis frames (about 256 px wide, 8-bit BGR).
//
// Two tiers, by cost (CPU time on a 256×144 frame, one core of the development machine; see
// frame_metrics_test.cpp, test Cost.PerFrame):
//   - FrameMeter::measure, run on every frame (about 0.06 ms): motion, sharpness, brightness,
//     contrast, colourfulness;
//   - detect_text, luma_entropy, run on sampled frames only (about 0.2 ms).
// Values depend on the frame size: compare numbers measured at the same analysis width (the
// default 256 px) only.
//
// Thread-safety: the free functions are pure. A FrameMeter keeps the previous frame; use one per
// video, from one thread at a time.
#ifndef REELFLOW_VIDEO_FEATURES_FRAME_METRICS_HPP
#define REELFLOW_VIDEO_FEATURES_FRAME_METRICS_HPP

#include <opencv2/core.hpp>

namespace reelflow::video {

struct FrameMetrics {
  // Mean absolute luma difference to the previous measured frame, in grey levels (0..255),
  // scaled to a 1/30 s frame interval so that 24, 30 and 60 fps sources compare. 0 for the
  // first frame. A hard cut shows as a spike (typically > 30).
  float motion = 0;
  // Variance of the 4-neighbour Laplacian of luma (grey levels²): 0 for a flat frame, tens for
  // a soft or blurred frame, hundreds to thousands for a sharp, detailed one.
  float sharpness = 0;
  float brightness = 0;     // mean luma, 0..255 (BT.601 weights on the BGR frame)
  float contrast = 0;       // standard deviation of luma, 0..~128
  float colourfulness = 0;  // Hasler–Süsstrunk M, 0 for grey; ~15 dull, ~45 average, > 80 vivid
};

// Keeps the previous frame's luma for motion. measure() also leaves the current frame's luma
// in grey() for the caller's other measurements.
class FrameMeter {
 public:
  // `bgr`: CV_8UC3. `interval`: seconds since the previous measured frame (for motion scaling;
  // <= 0 means 1/30).
  FrameMetrics measure(const cv::Mat& bgr, double interval);
  const cv::Mat& grey() const { return grey_; }

 private:
  cv::Mat grey_;
  cv::Mat previous_grey_;
  cv::Mat scratch_;
};

// Hasler & Süsstrunk (2003), "Measuring colourfulness in natural images": with rg = R − G and
// yb = (R + G)/2 − B, M = sqrt(σrg² + σyb²) + 0.3·sqrt(μrg² + μyb²). Every second pixel of every
// second row (the statistic is insensitive to that subsampling).
double colourfulness(const cv::Mat& bgr);

// Variance of the Laplacian of an 8-bit single-channel image.
double laplacian_variance(const cv::Mat& grey);

// Shannon entropy of the 256-bin luma histogram, in bits: 0 for a single grey level, up to 8.
// Low (< 3) for uniform frames: black, a solid colour, a fade-out.
double luma_entropy(const cv::Mat& grey);

// On-screen text: a cheap heuristic, not OCR. Morphological gradient → Otsu threshold (at
// least a minimum edge strength) → horizontal closing that merges glyphs of a line → connected
// components kept when they look like a line of text (wider than tall, height 2.5–40 % of the
// frame, well filled, not touching the left and right edges at once, and crossed by many
// vertical strokes: a solid shape such as a mouth or a button has only its two sides).
// Finds: captions, subtitles, titles and price tags of ordinary size with clear contrast.
// Misses: text smaller than ~6 px high at 256 px width, very large words (> 40 % of the
// height), single characters, vertical text, low-contrast or heavily stylised text.
// False positives: regular horizontal textures (blinds, shelves of products, brickwork, striped
// clothing, dense foliage) can pass as text lines.
struct TextEstimate {
  double area = 0;       // fraction of the frame covered by text-line boxes, 0..1
  int lines = 0;         // text-like boxes found
  bool present = false;  // area >= 0.4 % and at least one line
};
TextEstimate detect_text(const cv::Mat& grey);

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_FEATURES_FRAME_METRICS_HPP
