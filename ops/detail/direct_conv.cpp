#include "voxgrad/ops/detail/direct_conv.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "voxgrad/core/allocator.h"
#include "voxgrad/core/detail/parallel.h"

#if defined(__AVX512F__)
// GCC 12 warns inside its own AVX-512 headers (intrinsics built on _mm512_undefined_ps) wherever
// they are inlined; the warning is a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace voxgrad::detail {

namespace {
std::atomic<bool> g_direct_enabled{true};
}  // namespace

bool set_direct_conv_enabled(bool enabled) { return g_direct_enabled.exchange(enabled); }

#if defined(__AVX512F__)

namespace {

constexpr int kLanes = 16;
constexpr int kMR = 8;       // forward: output channels per register tile
constexpr int kNV = 3;       // forward: 16-position vectors per register tile
constexpr int kMC = 8;       // weight gradient: output channels per register tile
constexpr int kNK = 3;       // weight gradient: (input channel, tap) pairs per register tile
constexpr int kBlock = 256;  // weight gradient: vectors per position block (its dY rows stay in L2;
                             // 64 and 128 measured 1-3% slower on C1-C4)

// One sample's padded input: per channel Dp × Hp rows of `row` floats; a row holds its padded
// columns phase by phase (columns r, r + sw, r + 2·sw, ... for r = 0 .. sw − 1, each phase Wq
// long), so output positions ow, ow + 1, ... read consecutive floats of one phase for every tap.
struct Layout {
  std::int64_t Dp = 0, Hp = 0, Wq = 0, sw = 1;
  std::int64_t row = 0, plane = 0, channel = 0;
};

// Padded extents cover exactly what the outputs read: (out − 1)·stride + (k − 1)·dilation + 1.
Layout layout_of(const DirectConv& c) {
  Layout L;
  auto extent = [&](std::size_t i) { return (c.out[i] - 1) * c.stride[i] + (c.kernel[i] - 1) * c.dilation[i] + 1; };
  L.Dp = extent(0);
  L.Hp = extent(1);
  L.sw = c.stride[2];
  L.Wq = (extent(2) + L.sw - 1) / L.sw;
  L.row = L.sw * L.Wq;
  L.plane = L.Hp * L.row;
  L.channel = L.Dp * L.plane;
  return L;
}

// Offset of tap (kd, kh, kw) from an output position's base, in the padded layout.
std::vector<std::int64_t> tap_offsets(const DirectConv& c, const Layout& L) {
  std::vector<std::int64_t> off;
  off.reserve(static_cast<std::size_t>(c.kernel[0] * c.kernel[1] * c.kernel[2]));
  for (std::int64_t kd = 0; kd < c.kernel[0]; ++kd) {
    for (std::int64_t kh = 0; kh < c.kernel[1]; ++kh) {
      for (std::int64_t kw = 0; kw < c.kernel[2]; ++kw) {
        const std::int64_t wd = kw * c.dilation[2];
        off.push_back(kd * c.dilation[0] * L.plane + kh * c.dilation[1] * L.row + (wd % L.sw) * L.Wq + wd / L.sw);
      }
    }
  }
  return off;
}

// Offsets of the (input channel, tap) pairs of one group, in weight order.
std::vector<std::int64_t> pair_offsets(const DirectConv& c, const Layout& L) {
  const std::vector<std::int64_t> taps = tap_offsets(c, L);
  const std::int64_t cin_g = c.Cin / c.groups, KT = static_cast<std::int64_t>(taps.size());
  std::vector<std::int64_t> off(static_cast<std::size_t>(cin_g * KT));
  for (std::int64_t ci = 0; ci < cin_g; ++ci) {
    for (std::int64_t t = 0; t < KT; ++t)
      off[static_cast<std::size_t>(ci * KT + t)] = ci * L.channel + taps[static_cast<std::size_t>(t)];
  }
  return off;
}

// A buffer from the caching allocator, given back on scope exit.
class Workspace {
 public:
  explicit Workspace(std::int64_t floats) {
    ptr_ = static_cast<float*>(allocate(static_cast<std::size_t>(floats) * sizeof(float), false, raw_, capacity_));
  }
  ~Workspace() { deallocate(raw_, capacity_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  float* get() const { return ptr_; }

 private:
  float* ptr_ = nullptr;
  void* raw_ = nullptr;
  std::size_t capacity_ = 0;
};

// The mask of lanes 0 .. n − 1 (none for n <= 0, all 16 for n >= 16).
__mmask16 first_lanes(std::int64_t n) {
  return static_cast<__mmask16>(n <= 0 ? 0u : n >= kLanes ? 0xFFFFu : (1u << n) - 1u);
}

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

// Writes padded plane ip of channel ch of one sample (each input channel vol[0]·vol[1]·vol[2]
// floats) to dst: L.Hp rows of L.row floats.
void pad_plane(const float* xs, float* dst_plane, const DirectConv& c, const Layout& L, std::int64_t ch,
               std::int64_t ip) {
  const std::int64_t D = c.vol[0], H = c.vol[1], W = c.vol[2], V = D * H * W;
  const std::int64_t ph = c.padding[1], pw = c.padding[2], sw = L.sw;
  const std::int64_t id = ip - c.padding[0];
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

// Copies planes [p0, p1) of one sample (plane ch·Dp + ip is padded plane ip of channel ch) into
// the padded layout.
void pad_planes(const float* xs, float* xp, const DirectConv& c, const Layout& L, std::int64_t p0, std::int64_t p1) {
  for (std::int64_t pl = p0; pl < p1; ++pl) pad_plane(xs, xp + pl * L.plane, c, L, pl / L.Dp, pl % L.Dp);
}

// Pads sample n (all channels) into xp, in tasks of whole planes.
void pad_sample(const float* x, float* xp, const DirectConv& c, const Layout& L, std::int64_t n) {
  const float* xs = x + n * c.Cin * c.vol[0] * c.vol[1] * c.vol[2];
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(L.plane, 1));
  parallel_for(0, c.Cin * L.Dp, grain, [&](std::int64_t a, std::int64_t b) { pad_planes(xs, xp, c, L, a, b); });
}

// True when the padded layout of `c` is the input's own (no padding, stride 1 along W, nothing
// cropped): the kernels then read the input in place.
bool reads_in_place(const DirectConv& c, const Layout& L) {
  return c.padding == std::array<std::int64_t, 3>{0, 0, 0} && L.sw == 1 && L.Dp == c.vol[0] && L.Hp == c.vol[1] &&
         L.Wq == c.vol[2];
}

// Sample n of x in the padded layout: x itself when it already is (see reads_in_place), else a
// copy in xp.
const float* padded_sample(const float* x, float* xp, const DirectConv& c, const Layout& L, std::int64_t n) {
  if (reads_in_place(c, L)) return x + n * c.Cin * L.channel;
  pad_sample(x, xp, c, L, n);
  return xp;
}

// Output positions as 16-lane vectors: rows (md, mh) of `width` positions, ceil(width / 16)
// vectors each. A row's first input and output sit at md·x_d + mh·x_h and md·y_d + mh·y_h.
struct RowVectors {
  std::int64_t per_row = 0, rows_h = 1, width = 0, count = 0;
  std::int64_t x_d = 0, x_h = 0, y_d = 0, y_h = 0;

  RowVectors(std::int64_t rows_d, std::int64_t rows_h_, std::int64_t width_, std::int64_t xd, std::int64_t xh,
             std::int64_t yd, std::int64_t yh)
      : per_row((width_ + kLanes - 1) / kLanes), rows_h(rows_h_), width(width_), x_d(xd), x_h(xh), y_d(yd), y_h(yh) {
    count = rows_d * rows_h * per_row;
  }
  /// The input and output offsets and the lanes of vectors v0 .. v0 + nv − 1 (one division each
  /// for the first, then stepping).
  void get(std::int64_t v0, std::int64_t nv, std::int64_t* xo, std::int64_t* yo, __mmask16* mk,
           std::int64_t* rd = nullptr, std::int64_t* rh = nullptr) const {
    const std::int64_t r = v0 / per_row;
    std::int64_t j = v0 % per_row, md = r / rows_h, mh = r % rows_h;
    for (std::int64_t i = 0; i < nv; ++i) {
      const std::int64_t w0 = j * kLanes;
      xo[i] = md * x_d + mh * x_h + w0;
      yo[i] = md * y_d + mh * y_h + w0;
      mk[i] = first_lanes(width - w0);
      if (rd != nullptr) {
        rd[i] = md;
        rh[i] = mh;
      }
      if (++j == per_row) {
        j = 0;
        if (++mh == rows_h) {
          mh = 0;
          ++md;
        }
      }
    }
  }
};

/// The output vectors of the conv3d form of `c` over the padded layout L.
RowVectors conv_vectors(const DirectConv& c, const Layout& L) {
  // A stride only matters with more than one output along its dim (and may be huge otherwise).
  return RowVectors(c.out[0], c.out[1], c.out[2], c.out[0] > 1 ? c.stride[0] * L.plane : 0,
                    c.out[1] > 1 ? c.stride[1] * L.row : 0, c.out[1] * c.out[2], c.out[2]);
}

// ---- forward --------------------------------------------------------------------------------------

// y[i] over NV vectors = bias[i] + Σ_k wpk[k][i] · x(vector, k), for MR output channels; the
// weights are packed [k][kMR], x is read at xb[j] + koff[k].
// A run [begin, end) of (channel, tap) pairs.
struct Span {
  std::int64_t begin = 0, end = 0;
};

template <int MR, int NV>
void forward_tile(const float* __restrict wpk, const Span* spans, int nspans, const std::int64_t* __restrict koff,
                  const float* const* xb, const __mmask16* mk, float* const* yb, std::int64_t ys, const float* bias) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const __m512 b0 = bias != nullptr ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = b0;
  }
  const float* xs[NV];
  __mmask16 ms[NV];
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) {
    xs[j] = xb[j];
    ms[j] = mk[j];
  }
  for (int s = 0; s < nspans; ++s) {
    for (std::int64_t k = spans[s].begin; k < spans[s].end; ++k) {
      const std::int64_t o = koff[k];
      __m512 b[NV];
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) b[j] = _mm512_maskz_loadu_ps(ms[j], xs[j] + o);
      const float* a = wpk + k * kMR;
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(ai, b[j], acc[i][j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) _mm512_mask_storeu_ps(yb[j] + i * ys, mk[j], acc[i][j]);
  }
}

using ForwardTile = void (*)(const float*, const Span*, int, const std::int64_t*, const float* const*, const __mmask16*,
                             float* const*, std::int64_t, const float*);

// Tiles of MR ≤ kMR channels × NV vectors: NV ≤ kNV, or up to kNVWide when MR ≤ 2 (few output
// channels: more positions per tile keep enough independent sums in flight).
constexpr int kNVWide = 8;

template <int MR, int NV>
constexpr ForwardTile forward_entry() {
  if constexpr (NV <= kNV || MR <= 2) {
    return &forward_tile<MR, NV>;
  } else {
    return nullptr;
  }
}

template <int MR, std::size_t... J>
constexpr std::array<ForwardTile, kNVWide> forward_row(std::index_sequence<J...>) {
  return {forward_entry<MR, static_cast<int>(J) + 1>()...};
}

template <std::size_t... I>
constexpr std::array<std::array<ForwardTile, kNVWide>, kMR> forward_table(std::index_sequence<I...>) {
  return {forward_row<static_cast<int>(I) + 1>(std::make_index_sequence<kNVWide>{})...};
}

constexpr std::array<std::array<ForwardTile, kNVWide>, kMR> forward_tiles =
    forward_table(std::make_index_sequence<kMR>{});

ForwardTile forward_tile_for(int mr, int nv) {
  return forward_tiles[static_cast<std::size_t>(mr - 1)][static_cast<std::size_t>(nv - 1)];
}

/// Vectors per forward tile for a group of `cout_g` output channels.
int tile_vectors(std::int64_t cout_g) { return cout_g <= 2 ? kNVWide : kNV; }

// The (kd, kh) rows of a conv3d's taps, for skipping those that read only padding: pairs are
// ordered [kd][kh][channel][kw], so tap row (kd, kh) is the run of `per` pairs from
// (kd·KH + kh)·per. Output row (od, oh) reads input row od·sd − pd + kd·dd, oh·sh − ph + kh·dh.
struct TapRows {
  std::int64_t KD = 1, KH = 1, per = 0;
  std::int64_t sd = 1, sh = 1, pd = 0, ph = 0, dd = 1, dh = 1, D = 1, H = 1;
};

constexpr int kMaxSpans = 64;

// The pair runs a tile of vectors (output rows rd[j], rh[j]) needs: every tap row that some vector
// reads inside the input (padding rows only multiply zeros), adjacent runs merged. The caller
// ensures KD·KH <= kMaxSpans.
int tile_spans(const TapRows& t, const std::int64_t* rd, const std::int64_t* rh, std::int64_t nv, Span* spans) {
  int n = 0;
  for (std::int64_t kd = 0; kd < t.KD; ++kd) {
    for (std::int64_t kh = 0; kh < t.KH; ++kh) {
      bool used = false;
      for (std::int64_t j = 0; j < nv && !used; ++j) {
        const std::int64_t id = rd[j] * t.sd - t.pd + kd * t.dd, ih = rh[j] * t.sh - t.ph + kh * t.dh;
        used = id >= 0 && id < t.D && ih >= 0 && ih < t.H;
      }
      if (!used) continue;
      const std::int64_t b = (kd * t.KH + kh) * t.per;
      if (n > 0 && spans[n - 1].end == b) {
        spans[n - 1].end = b + t.per;
      } else {
        spans[n++] = Span{b, b + t.per};
      }
    }
  }
  return n;
}

// Runs the forward tiles of one group over vectors [v0, v0 + nv): x offsets from xg, outputs from
// yg (channel stride Vo), every block of kMR output channels; with `rows`, only the tap rows the
// vectors read inside the input.
void forward_vectors(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg,
                     std::int64_t Vo, std::int64_t cout_g, const float* wpk_g, std::int64_t K, const std::int64_t* koff,
                     const float* bias_g, const TapRows* rows = nullptr) {
  std::int64_t xo[kNVWide], yo[kNVWide], rd[kNVWide], rh[kNVWide];
  __mmask16 mk[kNVWide];
  vec.get(v0, nv, xo, yo, mk, rd, rh);
  Span spans[kMaxSpans];
  int nspans = 1;
  spans[0] = Span{0, K};
  if (rows != nullptr) nspans = tile_spans(*rows, rd, rh, nv, spans);
  const float* xb[kNVWide];
  float* yb[kNVWide];
  for (std::int64_t j = 0; j < nv; ++j) xb[j] = xg + xo[j];
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const int mr = static_cast<int>(std::min<std::int64_t>(kMR, cout_g - blk * kMR));
    for (std::int64_t j = 0; j < nv; ++j) yb[j] = yg + blk * kMR * Vo + yo[j];
    forward_tile_for(mr, static_cast<int>(nv))(K == 0 ? nullptr : wpk_g + blk * K * kMR, spans, nspans, koff, xb, mk,
                                               yb, Vo, bias_g != nullptr ? bias_g + blk * kMR : nullptr);
  }
}

// ---- weight gradient ----------------------------------------------------------------------------

// Lanes summed in _mm512_reduce_add_ps's fixed tree.
float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

// dw[i][j] += Σ over the vectors of dy(channel i) · x(pair j), for MC output channels and NK
// (input channel, tap) pairs. Masked-off lanes load zeros from both operands, so values outside
// the output rows (even infinities) never enter a sum.
template <int MC, int NK>
void weight_tile(const float* __restrict dyb, std::int64_t ys, const float* __restrict xg, const std::int64_t* koff,
                 const std::int64_t* xo, const std::int64_t* yo, const __mmask16* mk, std::int64_t nv, float* dwb,
                 std::int64_t ldw) {
  __m512 acc[MC][NK];
#pragma GCC unroll 8
  for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NK; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  const float* xk[NK];
#pragma GCC unroll 8
  for (int j = 0; j < NK; ++j) xk[j] = xg + koff[j];
  for (std::int64_t v = 0; v < nv; ++v) {
    const __mmask16 m = mk[v];
    const std::int64_t xv = xo[v];
    __m512 b[NK];
#pragma GCC unroll 8
    for (int j = 0; j < NK; ++j) b[j] = _mm512_maskz_loadu_ps(m, xk[j] + xv);
    const float* d = dyb + yo[v];
#pragma GCC unroll 8
    for (int i = 0; i < MC; ++i) {
      const __m512 di = _mm512_maskz_loadu_ps(m, d + i * ys);
#pragma GCC unroll 8
      for (int j = 0; j < NK; ++j) acc[i][j] = _mm512_fmadd_ps(di, b[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NK; ++j) dwb[i * ldw + j] += hsum(acc[i][j]);
  }
}

using WeightTile = void (*)(const float*, std::int64_t, const float*, const std::int64_t*, const std::int64_t*,
                            const std::int64_t*, const __mmask16*, std::int64_t, float*, std::int64_t);

template <int NK, std::size_t... I>
constexpr std::array<WeightTile, kMC> weight_row(std::index_sequence<I...>) {
  return {&weight_tile<static_cast<int>(I) + 1, NK>...};
}

template <std::size_t... J>
constexpr std::array<std::array<WeightTile, kMC>, kNK> weight_table(std::index_sequence<J...>) {
  return {weight_row<static_cast<int>(J) + 1>(std::make_index_sequence<kMC>{})...};
}

// weight_tiles[nk − 1][mc − 1]
const std::array<std::array<WeightTile, kMC>, kNK> weight_tiles = weight_table(std::make_index_sequence<kNK>{});

// ---- transposed convolution by output phases -----------------------------------------------------
//
// Along one dim, output o of a transposed convolution sums x[i]·w[k] over o + p = i·s + k·d. The
// outputs of one class c = (o + p) mod s, o = first + s·m, take exactly the taps with k·d ≡ c
// (mod s), from input i = m + shift_k, shift_k = (first + p − k·d) / s: a stride-1 correlation over
// m. So each class is a forward tile with its own taps and packed weights, and nothing is scattered.

struct DimClass {
  std::int64_t first = 0, count = 0;  // outputs first, first + s, ... (count of them)
  std::vector<std::int64_t> taps, shifts;
};

std::vector<DimClass> dim_classes(std::int64_t out, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
  std::vector<DimClass> classes(static_cast<std::size_t>(s));
  for (std::int64_t c = 0; c < s; ++c) {
    DimClass& dc = classes[static_cast<std::size_t>(c)];
    dc.first = ((c - p) % s + s) % s;
    dc.count = dc.first < out ? (out - dc.first + s - 1) / s : 0;
    for (std::int64_t t = 0; t < k; ++t) {
      if ((t * d) % s != c) continue;
      dc.taps.push_back(t);
      dc.shifts.push_back((dc.first + p - t * d) / s);  // exact: first + p ≡ c ≡ t·d (mod s)
    }
  }
  return classes;
}

// The input range [lo, hi] that the classes of one dim read (lo > hi when none reads anything).
void read_range(const std::vector<DimClass>& classes, std::int64_t& lo, std::int64_t& hi) {
  lo = INT64_MAX;
  hi = INT64_MIN;
  for (const DimClass& dc : classes) {
    if (dc.count == 0) continue;
    for (std::int64_t sh : dc.shifts) {
      lo = std::min(lo, sh);
      hi = std::max(hi, sh + dc.count - 1);
    }
  }
}

// Two W classes of a stride-2 transposed convolution in one tile: 16 positions m of the class
// holding the even outputs (ow = 2m) and of the odd one (ow = 2m + 1), MR channels each, then
// interleaved into 32 consecutive outputs.
template <int MR>
void pair_tile(const float* __restrict we, std::int64_t Ke, const std::int64_t* __restrict ke,
               const float* __restrict wo, std::int64_t Ko, const std::int64_t* __restrict ko, const float* xb,
               __mmask16 me, __mmask16 mo, float* yb, std::int64_t ys, __mmask16 st0, __mmask16 st1,
               const float* bias) {
  __m512 ae[MR], ao[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) ae[i] = ao[i] = bias != nullptr ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
  for (std::int64_t k = 0; k < Ke; ++k) {
    const __m512 b = _mm512_maskz_loadu_ps(me, xb + ke[k]);
    const float* a = we + k * kMR;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ae[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b, ae[i]);
  }
  for (std::int64_t k = 0; k < Ko; ++k) {
    const __m512 b = _mm512_maskz_loadu_ps(mo, xb + ko[k]);
    const float* a = wo + k * kMR;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ao[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b, ao[i]);
  }
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    _mm512_mask_storeu_ps(yb + i * ys, st0, _mm512_permutex2var_ps(ae[i], lo, ao[i]));
    _mm512_mask_storeu_ps(yb + i * ys + kLanes, st1, _mm512_permutex2var_ps(ae[i], hi, ao[i]));
  }
}

using PairTile = void (*)(const float*, std::int64_t, const std::int64_t*, const float*, std::int64_t,
                          const std::int64_t*, const float*, __mmask16, __mmask16, float*, std::int64_t, __mmask16,
                          __mmask16, const float*);

template <std::size_t... I>
constexpr std::array<PairTile, kMR> pair_row(std::index_sequence<I...>) {
  return {&pair_tile<static_cast<int>(I) + 1>...};
}

const std::array<PairTile, kMR> pair_tiles = pair_row(std::make_index_sequence<kMR>{});

// One (D class, H class, W class) of a transposed convolution: its (input channel, tap) offsets in
// the padded input and its weights packed per group and block of kMR output channels.
struct ClassTaps {
  std::int64_t K = 0;  // pairs per group
  std::vector<std::int64_t> koff;
  std::vector<float> wpk;
};

}  // namespace

// Sizes and hyper-parameters in the range the direct kernels' int64 offset arithmetic is written
// for (far beyond any real convolution; the im2col path takes the rest).
bool within_direct_range(const DirectConv& c) {
  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  if (!g_direct_enabled.load(std::memory_order_relaxed)) return false;
  if (c.N < 1 || c.Cin < 1 || c.Cout < 1 || c.groups < 1 || c.N > kMax || c.Cin > kMax || c.Cout > kMax) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    if (c.padding[i] < 0 || c.stride[i] < 1 || c.dilation[i] < 1 || c.kernel[i] < 1 || c.out[i] < 1 || c.vol[i] < 1) {
      return false;
    }
    if (c.padding[i] > kMax || c.stride[i] > kMax || c.dilation[i] > kMax || c.kernel[i] > kMax || c.out[i] > kMax ||
        c.vol[i] > kMax || c.kernel[i] - 1 > kMax / c.dilation[i]) {
      return false;
    }
  }
  return true;
}

bool direct_conv_suits(const DirectConv& c) {
  if (!within_direct_range(c)) return false;
  // At least 70% of the vector lanes along each output row do useful work.
  const std::int64_t Wo = c.out[2];
  if (Wo * 10 < (Wo + kLanes - 1) / kLanes * kLanes * 7) return false;
  // The padded copy of a sample stays comparable to its input and output (not so with huge
  // dilations or paddings): sizes in double, so nothing here can overflow.
  auto extent = [&](std::size_t i) {
    return double(c.out[i] - 1) * double(c.stride[i]) + double(c.kernel[i] - 1) * double(c.dilation[i]) + 1.0;
  };
  const double padded = double(c.Cin) * extent(0) * extent(1) * (extent(2) + double(c.stride[2]));
  const double in = double(c.Cin) * double(c.vol[0]) * double(c.vol[1]) * double(c.vol[2]);
  const double out = double(c.Cout) * double(c.out[0]) * double(c.out[1]) * double(c.out[2]);
  return padded <= 2.0 * (in + out) + 65536.0;
}

void direct_conv3d(const float* x, const float* w, const float* bias, float* y, const DirectConv& c) {
  const Layout L = layout_of(c);
  const std::int64_t G = c.groups, cin_g = c.Cin / G, cout_g = c.Cout / G;
  const std::int64_t KD = c.kernel[0], KH = c.kernel[1], KW = c.kernel[2], KT = KD * KH * KW, K = cin_g * KT;
  const std::int64_t Vo = c.out[0] * c.out[1] * c.out[2];
  // Pairs ordered [kd][kh][channel][kw] (pair p), so that tap rows reading only padding can be
  // skipped as whole runs; w's own order is [channel][kd][kh][kw] (index q).
  const std::vector<std::int64_t> taps = tap_offsets(c, L);
  std::vector<std::int64_t> koff(static_cast<std::size_t>(K)), order(static_cast<std::size_t>(K));
  for (std::int64_t kd = 0, p = 0; kd < KD; ++kd) {
    for (std::int64_t kh = 0; kh < KH; ++kh) {
      for (std::int64_t ci = 0; ci < cin_g; ++ci) {
        for (std::int64_t kw = 0; kw < KW; ++kw, ++p) {
          const std::int64_t t = (kd * KH + kh) * KW + kw;
          koff[static_cast<std::size_t>(p)] = ci * L.channel + taps[static_cast<std::size_t>(t)];
          order[static_cast<std::size_t>(p)] = ci * KT + t;
        }
      }
    }
  }
  // Weights packed per group and block of kMR output channels as [p][kMR] (zeros past cout_g).
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  std::vector<float> wpk(static_cast<std::size_t>(G * blocks * K * kMR), 0.0f);
  for (std::int64_t g = 0; g < G; ++g) {
    for (std::int64_t co = 0; co < cout_g; ++co) {
      const float* src = w + (g * cout_g + co) * K;
      float* dst = wpk.data() + ((g * blocks + co / kMR) * K) * kMR + co % kMR;
      for (std::int64_t p = 0; p < K; ++p) dst[p * kMR] = src[order[static_cast<std::size_t>(p)]];
    }
  }
  TapRows rows;
  rows.KD = KD;
  rows.KH = KH;
  rows.per = cin_g * KW;
  rows.sd = c.stride[0];
  rows.sh = c.stride[1];
  rows.pd = c.padding[0];
  rows.ph = c.padding[1];
  rows.dd = c.dilation[0];
  rows.dh = c.dilation[1];
  rows.D = c.vol[0];
  rows.H = c.vol[1];
  // Skipping padding rows pays when they are a fair share of the work (small volumes, wide
  // kernels): the fraction of (output row, tap row) pairs that read padding, along D and H.
  auto padding_share = [](std::int64_t out, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d,
                          std::int64_t in) {
    std::int64_t outside = 0;
    for (std::int64_t o = 0; o < out; ++o) {
      for (std::int64_t t = 0; t < k; ++t) {
        const std::int64_t i = o * s - p + t * d;
        outside += i < 0 || i >= in;
      }
    }
    return static_cast<double>(outside) / static_cast<double>(out * k);
  };
  // (Runs shorter than 8 pairs cost more in loop overhead than the padding they skip.)
  const bool skip_padding = rows.per >= 8 && c.out[0] <= 4096 && c.out[1] <= 4096 && KD * KH <= kMaxSpans &&
                            padding_share(c.out[0], KD, c.stride[0], c.padding[0], c.dilation[0], c.vol[0]) +
                                    padding_share(c.out[1], KH, c.stride[1], c.padding[1], c.dilation[1], c.vol[1]) >=
                                0.05;
  const RowVectors vec = conv_vectors(c, L);
  const std::int64_t tv = tile_vectors(cout_g), tiles = (vec.count + tv - 1) / tv;
  Workspace xp(reads_in_place(c, L) ? 1 : c.Cin * L.channel);
  for (std::int64_t n = 0; n < c.N; ++n) {
    const float* xs = padded_sample(x, xp.get(), c, L, n);
    parallel_for(0, G * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
      for (std::int64_t task = t0; task < t1; ++task) {
        const std::int64_t g = task / tiles, v0 = (task % tiles) * tv;
        forward_vectors(vec, v0, std::min(tv, vec.count - v0), xs + g * cin_g * L.channel,
                        y + (n * c.Cout + g * cout_g) * Vo, Vo, cout_g, wpk.data() + g * blocks * K * kMR, K,
                        koff.data(), bias != nullptr ? bias + g * cout_g : nullptr, skip_padding ? &rows : nullptr);
      }
    });
  }
}

void direct_conv3d_weight_grad(const float* x, const float* dy, float* dw, const DirectConv& c) {
  const Layout L = layout_of(c);
  const std::int64_t G = c.groups, cin_g = c.Cin / G, cout_g = c.Cout / G;
  const std::int64_t KT = c.kernel[0] * c.kernel[1] * c.kernel[2], K = cin_g * KT;
  const std::int64_t Vo = c.out[0] * c.out[1] * c.out[2];
  const std::vector<std::int64_t> koff = pair_offsets(c, L);
  const std::int64_t co_blocks = (cout_g + kMC - 1) / kMC;
  const RowVectors vec = conv_vectors(c, L);
  const std::int64_t pos_blocks = (vec.count + kBlock - 1) / kBlock;
  std::fill(dw, dw + c.Cout * K, 0.0f);
  Workspace xp(reads_in_place(c, L) ? 1 : c.Cin * L.channel);
  // Each task owns the dW rows of one (group, block of output channels) and adds the samples'
  // position blocks in order: the sums do not depend on how tasks are spread over threads.
  for (std::int64_t n = 0; n < c.N; ++n) {
    const float* xs = padded_sample(x, xp.get(), c, L, n);
    parallel_for(0, G * co_blocks, 1, [&](std::int64_t t0, std::int64_t t1) {
      std::int64_t xo[kBlock], yo[kBlock];
      __mmask16 mk[kBlock];
      for (std::int64_t task = t0; task < t1; ++task) {
        const std::int64_t g = task / co_blocks, blk = task % co_blocks;
        const int mc = static_cast<int>(std::min<std::int64_t>(kMC, cout_g - blk * kMC));
        const float* dyb = dy + (n * c.Cout + g * cout_g + blk * kMC) * Vo;
        const float* xg = xs + g * cin_g * L.channel;
        float* dwb = dw + (g * cout_g + blk * kMC) * K;
        for (std::int64_t pb = 0; pb < pos_blocks; ++pb) {
          const std::int64_t v0 = pb * kBlock, nv = std::min<std::int64_t>(kBlock, vec.count - v0);
          vec.get(v0, nv, xo, yo, mk);
          for (std::int64_t k0 = 0; k0 < K; k0 += kNK) {
            const int nk = static_cast<int>(std::min<std::int64_t>(kNK, K - k0));
            weight_tiles[static_cast<std::size_t>(nk - 1)][static_cast<std::size_t>(mc - 1)](
                dyb, Vo, xg, koff.data() + k0, xo, yo, mk, nv, dwb + k0, K);
          }
        }
      }
    });
  }
}

namespace {

// Phase decomposition of a transposed convolution, shared by suits and the kernel.
struct TransposedPlan {
  std::vector<DimClass> cls[3];
  std::int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  bool reads = true;  // false when no output reads any input (every output is the bias)
};

TransposedPlan plan_transposed(const DirectConv& c) {
  TransposedPlan pl;
  for (std::size_t i = 0; i < 3; ++i) {
    pl.cls[i] = dim_classes(c.out[i], c.kernel[i], c.stride[i], c.padding[i], c.dilation[i]);
    read_range(pl.cls[i], pl.lo[i], pl.hi[i]);
    if (pl.lo[i] > pl.hi[i]) pl.reads = false;
  }
  return pl;
}

}  // namespace

bool direct_conv_transpose3d_suits(const DirectConv& c) {
  if (!within_direct_range(c)) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    // Strides and kernels beyond these are not worth a class each (and keep the plan small).
    if (c.stride[i] > 4 || c.kernel[i] > 16) return false;
  }
  if (c.stride[2] > 2) return false;
  // Lanes along W: 16 positions of one class (stride 1) or 32 outputs of two (stride 2), ≥ 50% used.
  const std::int64_t Wo = c.out[2], span = c.stride[2] == 1 ? kLanes : 2 * kLanes;
  if (Wo * 10 < (Wo + span - 1) / span * span * (c.stride[2] == 1 ? 7 : 5)) return false;
  const TransposedPlan pl = plan_transposed(c);
  if (!pl.reads) return true;
  double padded = double(c.Cin);
  for (std::size_t i = 0; i < 3; ++i) padded *= double(pl.hi[i] - pl.lo[i] + 1) + (i == 2 ? double(kLanes) : 0.0);
  const double in = double(c.Cin) * double(c.vol[0]) * double(c.vol[1]) * double(c.vol[2]);
  const double out = double(c.Cout) * double(c.out[0]) * double(c.out[1]) * double(c.out[2]);
  return padded <= 2.0 * (in + out) + 65536.0;
}

void direct_conv_transpose3d(const float* x, const float* w, const float* bias, float* y, const DirectConv& c) {
  const std::int64_t G = c.groups, cin_g = c.Cin / G, cout_g = c.Cout / G;
  const std::int64_t Vo = c.out[0] * c.out[1] * c.out[2];
  const std::int64_t KT = c.kernel[0] * c.kernel[1] * c.kernel[2];
  const TransposedPlan pl = plan_transposed(c);
  // The padded input covers [lo, hi] in each dim (a "padding" of −lo, negative when it crops).
  DirectConv pc = c;
  Layout L;
  if (pl.reads) {
    for (std::size_t i = 0; i < 3; ++i) pc.padding[i] = -pl.lo[i];
    L.Dp = pl.hi[0] - pl.lo[0] + 1;
    L.Hp = pl.hi[1] - pl.lo[1] + 1;
    L.Wq = pl.hi[2] - pl.lo[2] + 1;
  } else {
    L.Dp = L.Hp = L.Wq = 1;
  }
  L.sw = 1;
  L.row = L.Wq;
  L.plane = L.Hp * L.row;
  L.channel = L.Dp * L.plane;
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  const std::int64_t sd = c.stride[0], sh = c.stride[1], sw = c.stride[2];
  // Taps and packed weights of every (D, H, W) class, index (cd·sh + ch)·sw + cw.
  std::vector<ClassTaps> ct(static_cast<std::size_t>(sd * sh * sw));
  for (std::int64_t cd = 0; cd < sd; ++cd) {
    for (std::int64_t ch = 0; ch < sh; ++ch) {
      for (std::int64_t cw = 0; cw < sw; ++cw) {
        const DimClass &A = pl.cls[0][static_cast<std::size_t>(cd)], &B = pl.cls[1][static_cast<std::size_t>(ch)],
                       &C = pl.cls[2][static_cast<std::size_t>(cw)];
        ClassTaps& t = ct[static_cast<std::size_t>((cd * sh + ch) * sw + cw)];
        const std::int64_t taps = static_cast<std::int64_t>(A.taps.size() * B.taps.size() * C.taps.size());
        if (taps == 0 || A.count == 0 || B.count == 0 || C.count == 0) continue;
        t.K = cin_g * taps;
        t.koff.reserve(static_cast<std::size_t>(t.K));
        t.wpk.assign(static_cast<std::size_t>(G * blocks * t.K * kMR), 0.0f);
        std::vector<std::int64_t> kidx;  // flat kernel index of each tap
        for (std::size_t a = 0; a < A.taps.size(); ++a) {
          for (std::size_t b = 0; b < B.taps.size(); ++b) {
            for (std::size_t e = 0; e < C.taps.size(); ++e) {
              kidx.push_back((A.taps[a] * c.kernel[1] + B.taps[b]) * c.kernel[2] + C.taps[e]);
            }
          }
        }
        for (std::int64_t ci = 0; ci < cin_g; ++ci) {
          for (std::size_t a = 0; a < A.taps.size(); ++a) {
            for (std::size_t b = 0; b < B.taps.size(); ++b) {
              for (std::size_t e = 0; e < C.taps.size(); ++e) {
                t.koff.push_back(ci * L.channel + (A.shifts[a] - pl.lo[0]) * L.plane +
                                 (B.shifts[b] - pl.lo[1]) * L.row + (C.shifts[e] - pl.lo[2]));
              }
            }
          }
        }
        // wpk[g][blk][ci·taps + tap][i] = w[g·cin_g + ci][blk·kMR + i][tap]   (w is (Cin, Cout/g, k))
        for (std::int64_t g = 0; g < G; ++g) {
          for (std::int64_t ci = 0; ci < cin_g; ++ci) {
            for (std::int64_t co = 0; co < cout_g; ++co) {
              const float* src = w + ((g * cin_g + ci) * cout_g + co) * KT;
              float* dst = t.wpk.data() + ((g * blocks + co / kMR) * t.K + ci * taps) * kMR + co % kMR;
              for (std::int64_t j = 0; j < taps; ++j) dst[j * kMR] = src[kidx[static_cast<std::size_t>(j)]];
            }
          }
        }
      }
    }
  }
  // Reading exactly the input's own extent (e.g. kernel = stride, no padding): read it in place.
  bool in_place = pl.reads;
  for (std::size_t i = 0; i < 3; ++i) in_place = in_place && pl.lo[i] == 0 && pl.hi[i] == c.vol[i] - 1;
  Workspace xp(pl.reads && !in_place ? c.Cin * L.channel : 1);
  const std::int64_t Ho = c.out[1], Wo = c.out[2];
  for (std::int64_t n = 0; n < c.N; ++n) {
    const float* xs = in_place ? x + n * c.Cin * L.channel : xp.get();
    if (pl.reads && !in_place) pad_sample(x, xp.get(), pc, L, n);
    for (std::int64_t cd = 0; cd < sd; ++cd) {
      for (std::int64_t ch = 0; ch < sh; ++ch) {
        const DimClass &A = pl.cls[0][static_cast<std::size_t>(cd)], &B = pl.cls[1][static_cast<std::size_t>(ch)];
        if (A.count == 0 || B.count == 0) continue;
        const ClassTaps* tw = &ct[static_cast<std::size_t>((cd * sh + ch) * sw)];
        float* ys = y + n * c.Cout * Vo + (A.first * Ho + B.first) * Wo;  // the class's first row
        if (sw == 1) {
          const ClassTaps& t = tw[0];
          const RowVectors rv(A.count, B.count, pl.cls[2][0].count, L.plane, L.row, sd * Ho * Wo, sh * Wo);
          const std::int64_t tv = tile_vectors(cout_g), tiles = (rv.count + tv - 1) / tv;
          parallel_for(0, G * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
            for (std::int64_t task = t0; task < t1; ++task) {
              const std::int64_t g = task / tiles, v0 = (task % tiles) * tv;
              forward_vectors(rv, v0, std::min(tv, rv.count - v0), xs + g * cin_g * L.channel, ys + g * cout_g * Vo, Vo,
                              cout_g, t.K == 0 ? nullptr : t.wpk.data() + g * blocks * t.K * kMR, t.K, t.koff.data(),
                              bias != nullptr ? bias + g * cout_g : nullptr);
            }
          });
          continue;
        }
        // Stride 2 along W: per row (md, mh), 16 positions m of both W classes per tile.
        std::int64_t Mw = 0;  // positions m per row: the larger W class
        for (const DimClass& dc : pl.cls[2]) Mw = std::max(Mw, dc.count);
        const std::int64_t per_row = (Mw + kLanes - 1) / kLanes;
        const std::int64_t vectors = A.count * B.count * per_row;
        // Class e holds the even outputs (first 0), class o the odd ones (first 1).
        const std::size_t e = pl.cls[2][0].first == 0 ? 0 : 1, o = 1 - e;
        const ClassTaps &te = tw[e], &to = tw[o];
        const std::int64_t Me = pl.cls[2][e].count, Mo = pl.cls[2][o].count;
        parallel_for(0, G * vectors, 1, [&](std::int64_t t0, std::int64_t t1) {
          for (std::int64_t task = t0; task < t1; ++task) {
            const std::int64_t g = task / vectors, v = task % vectors;
            const std::int64_t r = v / per_row, m0 = (v % per_row) * kLanes;
            const std::int64_t md = r / B.count, mh = r % B.count;
            const float* xb = xs + g * cin_g * L.channel + md * L.plane + mh * L.row + m0;
            float* yr = ys + g * cout_g * Vo + (sd * md * Ho + sh * mh) * Wo + 2 * m0;
            const std::int64_t left = Wo - 2 * m0;  // outputs of this row from 2·m0 on
            for (std::int64_t blk = 0; blk < blocks; ++blk) {
              const int mr = static_cast<int>(std::min<std::int64_t>(kMR, cout_g - blk * kMR));
              pair_tiles[static_cast<std::size_t>(mr - 1)](
                  te.K == 0 ? nullptr : te.wpk.data() + (g * blocks + blk) * te.K * kMR, te.K, te.koff.data(),
                  to.K == 0 ? nullptr : to.wpk.data() + (g * blocks + blk) * to.K * kMR, to.K, to.koff.data(), xb,
                  first_lanes(Me - m0), first_lanes(Mo - m0), yr + blk * kMR * Vo, Vo, first_lanes(left),
                  first_lanes(left - kLanes), bias != nullptr ? bias + g * cout_g + blk * kMR : nullptr);
            }
          }
        });
      }
    }
  }
}

#else  // no AVX-512: direct_conv_suits is always false and the im2col path serves every shape

bool direct_conv_suits(const DirectConv&) { return false; }
void direct_conv3d(const float*, const float*, const float*, float*, const DirectConv&) {}
void direct_conv3d_weight_grad(const float*, const float*, float*, const DirectConv&) {}
bool direct_conv_transpose3d_suits(const DirectConv&) { return false; }
void direct_conv_transpose3d(const float*, const float*, const float*, float*, const DirectConv&) {}

#endif

}  // namespace voxgrad::detail
