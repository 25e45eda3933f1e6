#include "voxgrad/ops/detail/direct_layout.h"

#if defined(__AVX512F__)

#include <algorithm>

#include "voxgrad/core/detail/allocator.h"
#include "voxgrad/core/detail/parallel.h"

namespace voxgrad::detail::direct {

namespace {

// One padded row of phase-split stride 1: d[q] = src[q − a] for q in [lo, hi), 0 elsewhere in
// [0, Wq). Masked loads never touch src outside [lo − a, hi − a).
void pad_row_unit_stride(const float* src, float* d, std::int64_t a, std::int64_t lo, std::int64_t hi,
                         std::int64_t Wq) {
  for (std::int64_t q = 0; q < Wq; q += kLanes) {
    const __mmask16 row = first_lanes(Wq - q);
    const auto valid = static_cast<__mmask16>(row & first_lanes(hi - q) & ~first_lanes(lo - q));
    _mm512_mask_storeu_ps(d + q, row, _mm512_maskz_loadu_ps(valid, src + (q - a)));
  }
}

// One padded row of phase-split stride 2: phase 0 holds columns w = 2q − pw, phase 1 columns
// 2q + 1 − pw, for q in [0, Wq); zero where w lies outside [0, W). Each 32-column window of the
// source is loaded once (masked to the row) and split into both phases by two permutes.
void pad_row_stride_two(const float* src, float* d, std::int64_t W, std::int64_t pw, std::int64_t Wq) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (std::int64_t q = 0; q < Wq; q += kLanes) {
    const __mmask16 row = first_lanes(Wq - q);
    const std::int64_t s0 = 2 * q - pw, s1 = s0 + kLanes;  // source columns of the two halves
    const auto m0 = static_cast<__mmask16>(first_lanes(W - s0) & ~first_lanes(-s0));
    const auto m1 = static_cast<__mmask16>(first_lanes(W - s1) & ~first_lanes(-s1));
    const __m512 v0 = _mm512_maskz_loadu_ps(m0, src + s0), v1 = _mm512_maskz_loadu_ps(m1, src + s1);
    _mm512_mask_storeu_ps(d + q, row, _mm512_permutex2var_ps(v0, even, v1));
    _mm512_mask_storeu_ps(d + Wq + q, row, _mm512_permutex2var_ps(v0, odd, v1));
  }
}

// Writes padded plane ip of channel ch of one sample (xs: channels × vol) to dst: L.Hp rows of
// L.row floats.
void pad_plane(const float* xs, float* dst_plane, const Dims& vol, const PaddedLayout& L, std::int64_t ch,
               std::int64_t ip) {
  const std::int64_t D = vol[0], H = vol[1], W = vol[2], V = D * H * W;
  const std::int64_t ph = L.origin[1], pw = L.origin[2], sw = L.sw;
  const std::int64_t id = ip - L.origin[0];
  for (std::int64_t jp = 0; jp < L.Hp; ++jp) {
    const std::int64_t ih = jp - ph;
    float* dst = dst_plane + jp * L.row;
    if (id < 0 || id >= D || ih < 0 || ih >= H) {
      std::fill(dst, dst + L.row, 0.0f);
      continue;
    }
    const float* src = xs + ch * V + (id * H + ih) * W;
    if (sw == 2) {
      pad_row_stride_two(src, dst, W, pw, L.Wq);
      continue;
    }
    for (std::int64_t r = 0; r < sw; ++r) {
      // Phase r, slot q holds input column w = q·sw − a; it lies inside for q in [lo, hi).
      float* d = dst + r * L.Wq;
      const std::int64_t a = pw - r;
      std::int64_t lo = a <= 0 ? 0 : (a + sw - 1) / sw;
      std::int64_t hi = W - 1 + a < 0 ? 0 : (W - 1 + a) / sw + 1;
      lo = std::min(lo, L.Wq);
      hi = std::clamp(hi, lo, L.Wq);
      if (sw == 1) {
        pad_row_unit_stride(src, d, a, lo, hi, L.Wq);
        continue;
      }
      std::fill(d, d + lo, 0.0f);
      for (std::int64_t q = lo; q < hi; ++q) d[q] = src[q * sw - a];
      std::fill(d + hi, d + L.Wq, 0.0f);
    }
  }
}

}  // namespace

PaddedLayout forward_layout(const ConvGeometry& g) {
  auto extent = [&](std::size_t i) { return (g.out[i] - 1) * g.stride[i] + (g.kernel[i] - 1) * g.dilation[i] + 1; };
  PaddedLayout L;
  L.Dp = extent(0);
  L.Hp = extent(1);
  L.sw = g.stride[2];
  L.Wq = (extent(2) + L.sw - 1) / L.sw;
  L.origin = g.padding;
  L.finish();
  return L;
}

std::vector<std::int64_t> tap_offsets(const ConvGeometry& g, const PaddedLayout& L) {
  std::vector<std::int64_t> off;
  off.reserve(static_cast<std::size_t>(g.kernel_volume()));
  for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
    for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        const std::int64_t wd = kw * g.dilation[2];
        off.push_back(kd * g.dilation[0] * L.plane + kh * g.dilation[1] * L.row + (wd % L.sw) * L.Wq + wd / L.sw);
      }
    }
  }
  return off;
}

bool reads_in_place(const Dims& vol, const PaddedLayout& L) {
  return L.origin == Dims{0, 0, 0} && L.sw == 1 && L.Dp == vol[0] && L.Hp == vol[1] && L.Wq == vol[2];
}

const float* padded_sample(const float* x, float* xp, std::int64_t channels, const Dims& vol, const PaddedLayout& L,
                           std::int64_t n) {
  if (reads_in_place(vol, L)) return x + n * channels * L.channel;
  const float* xs = x + n * channels * volume(vol);
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(L.plane, 1));
  // Plane pl of the copy is padded plane pl % Dp of channel pl / Dp.
  parallel_for(0, channels * L.Dp, grain, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t pl = p0; pl < p1; ++pl) pad_plane(xs, xp + pl * L.plane, vol, L, pl / L.Dp, pl % L.Dp);
  });
  return xp;
}

Workspace::Workspace(std::int64_t floats) {
  ptr_ = static_cast<float*>(allocate(static_cast<std::size_t>(floats) * sizeof(float), false, raw_, capacity_));
}

Workspace::~Workspace() { deallocate(raw_, capacity_); }

RowVectors forward_vectors_of(const ConvGeometry& g, const PaddedLayout& L) {
  // A stride only matters with more than one output along its dim (and may be huge otherwise).
  return RowVectors(g.out[0], g.out[1], g.out[2], g.out[0] > 1 ? g.stride[0] * L.plane : 0,
                    g.out[1] > 1 ? g.stride[1] * L.row : 0, g.out[1] * g.out[2], g.out[2]);
}

}  // namespace voxgrad::detail::direct

#endif  // __AVX512F__
