// How apply() stays cheap: in 4:2:0 the four luma pixels of a 2×2 block share one (Cb, Cr), so the
// grade is precomputed at create() as a table indexed by (Cb node, Cr node, Y) — every one of the
// 256 luma codes, and Cb/Cr every 8 codes (33 × 33 × 256 entries of 8 bytes, 2.2 MB) — holding
// the graded (Y', Cb', Cr') sampled from ExactGrade::extended_transform (RGB conversion, LUT,
// back, adjustments). Per block: one set of bilinear weights for its chroma, then per pixel four
// table reads and two 16-bit multiply-adds (SSE2, which every x86-64 has; plain C++ elsewhere,
// same integers); no RGB, no floats. The error against ExactGrade comes only from the bilinear
// step in Cb/Cr (the Y axis is exact); README.md has the figures. A 4-code chroma step (8.6 MB)
// measured no more accurate and slower.
#include "render/colour/grade.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "render/colour/exact_grade.hpp"

namespace reelflow::video {

namespace {

constexpr int kChromaShift = 3;  // chroma nodes every 8 codes: 0, 8, ..., 256
constexpr int kChromaStep = 1 << kChromaShift;
constexpr int kChromaNodes = 256 / kChromaStep + 1;
constexpr int kWeightBits = 2 * kChromaShift;  // the four bilinear weights sum to 1 << this
constexpr int kValueBits = 6;                  // table values are code × 64
constexpr int kOutShift = kWeightBits + kValueBits;
constexpr int kMaxValue = (256 << kValueBits) - 1;  // just under 256: outputs round to ≤ 255

struct Entry {
  std::uint16_t y, u, v, unused;
};

}  // namespace

struct ColourGrade::Impl {
  bool identity = true;
  // kChromaNodes² rows (Cb node major) of 256 entries, one per luma code.
  std::vector<Entry> table;

  const Entry* row(int u_node, int v_node) const {
    return table.data() + (static_cast<std::size_t>(u_node) * kChromaNodes + v_node) * 256;
  }
  void build(const ExactGrade& exact);
  void apply_rows(std::uint8_t* luma0, std::uint8_t* luma1, std::uint8_t* u_row,
                  std::uint8_t* v_row, int chroma_width) const;
};

void ColourGrade::Impl::build(const ExactGrade& exact) {
  table.resize(static_cast<std::size_t>(kChromaNodes) * kChromaNodes * 256);
  const auto fixed = [](double code) {
    return static_cast<std::uint16_t>(
        std::clamp(std::lround(code * (1 << kValueBits)), 0L, static_cast<long>(kMaxValue)));
  };
  for (int u_node = 0; u_node < kChromaNodes; ++u_node) {
    for (int v_node = 0; v_node < kChromaNodes; ++v_node) {
      Entry* entries =
          table.data() + (static_cast<std::size_t>(u_node) * kChromaNodes + v_node) * 256;
      for (int y = 0; y < 256; ++y) {
        const auto out = exact.extended_transform(y, u_node * kChromaStep, v_node * kChromaStep);
        entries[y] = {fixed(out[0]), fixed(out[1]), fixed(out[2]), 0};
      }
    }
  }
}

void ColourGrade::Impl::apply_rows(std::uint8_t* luma0, std::uint8_t* luma1, std::uint8_t* u_row,
                                   std::uint8_t* v_row, int chroma_width) const {
  constexpr int kRound = 1 << (kOutShift - 1);
  constexpr int kChromaRound = 1 << (kOutShift + 1);  // also divides the four pixels' sum by 4
  for (int bx = 0; bx < chroma_width; ++bx) {
    const int u = u_row[bx], v = v_row[bx];
    const int fu = u & (kChromaStep - 1), fv = v & (kChromaStep - 1);
    const int w00 = (kChromaStep - fu) * (kChromaStep - fv);
    const int w10 = fu * (kChromaStep - fv);
    const int w01 = (kChromaStep - fu) * fv;
    const int w11 = fu * fv;
    const Entry* r00 = row(u >> kChromaShift, v >> kChromaShift);
    const Entry* r01 = r00 + 256;
    const Entry* r10 = r00 + kChromaNodes * 256;
    const Entry* r11 = r10 + 256;
    const int x = 2 * bx;
    std::uint8_t* const pixels[4] = {luma0 + x, luma0 + x + 1, luma1 + x, luma1 + x + 1};
#if defined(__SSE2__)
    // Per pixel, with 16-bit lanes: interleave corners (00, 10) and (01, 11) lane by lane, so
    // that one pmaddwd each gives w00·e00 + w10·e10 and w01·e01 + w11·e11 for Y, U and V in
    // 32-bit lanes. Values ≤ 16383 and weights ≤ 64 are exact in signed 16-bit lanes.
    const __m128i weights_0 = _mm_set1_epi32(w00 | (w10 << 16));
    const __m128i weights_1 = _mm_set1_epi32(w01 | (w11 << 16));
    __m128i sum = _mm_setzero_si128();
    for (std::uint8_t* pixel : pixels) {
      const int luma = *pixel;
      const __m128i e00 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r00 + luma));
      const __m128i e10 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r10 + luma));
      const __m128i e01 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r01 + luma));
      const __m128i e11 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r11 + luma));
      const __m128i graded = _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(e00, e10), weights_0),
                                           _mm_madd_epi16(_mm_unpacklo_epi16(e01, e11), weights_1));
      *pixel = static_cast<std::uint8_t>((_mm_cvtsi128_si32(graded) + kRound) >> kOutShift);
      sum = _mm_add_epi32(sum, graded);
    }
    const int u_sum = _mm_cvtsi128_si32(_mm_srli_si128(sum, 4));
    const int v_sum = _mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
#else
    int u_sum = 0, v_sum = 0;
    for (std::uint8_t* pixel : pixels) {
      const int luma = *pixel;
      const Entry& e00 = r00[luma];
      const Entry& e01 = r01[luma];
      const Entry& e10 = r10[luma];
      const Entry& e11 = r11[luma];
      u_sum += w00 * e00.u + w10 * e10.u + w01 * e01.u + w11 * e11.u;
      v_sum += w00 * e00.v + w10 * e10.v + w01 * e01.v + w11 * e11.v;
      *pixel = static_cast<std::uint8_t>(
          (w00 * e00.y + w10 * e10.y + w01 * e01.y + w11 * e11.y + kRound) >> kOutShift);
    }
#endif
    u_row[bx] = static_cast<std::uint8_t>((u_sum + kChromaRound) >> (kOutShift + 2));
    v_row[bx] = static_cast<std::uint8_t>((v_sum + kChromaRound) >> (kOutShift + 2));
  }
}

Result<ColourGrade> ColourGrade::create(const ColourOptions& options) {
  auto exact = ExactGrade::create(options);
  if (!exact) return error(exact.error());
  auto impl = std::make_unique<Impl>();
  impl->identity = exact->neutral();
  if (!impl->identity) impl->build(*exact);
  return ColourGrade(std::move(impl));
}

ColourGrade::ColourGrade(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ColourGrade::~ColourGrade() = default;
ColourGrade::ColourGrade(ColourGrade&&) noexcept = default;
ColourGrade& ColourGrade::operator=(ColourGrade&&) noexcept = default;

bool ColourGrade::identity() const { return impl_->identity; }

void ColourGrade::apply(Yuv420& frame) const {
  assert(frame.width % 2 == 0 && frame.height % 2 == 0);
  if (impl_->identity) return;
  for (int by = 0; by < frame.height / 2; ++by) {
    impl_->apply_rows(frame.row(0, 2 * by), frame.row(0, 2 * by + 1), frame.row(1, by),
                      frame.row(2, by), frame.width / 2);
  }
}

}  // namespace reelflow::video
