#include "voxgrad/ops/detail/direct_tiles.h"

#if defined(__AVX512F__)

#include <algorithm>
#include <array>
#include <utility>

namespace voxgrad::detail::direct {

namespace {

// table[r][c] = Entry<r + 1, c + 1>::get(): one function pointer per tile size, built at compile
// time (an Entry may give nullptr for sizes that are never asked for).
template <typename Fn, int Rows, int Cols, template <int, int> class Entry>
constexpr std::array<std::array<Fn, Cols>, Rows> tile_table() {
  return []<std::size_t... R>(std::index_sequence<R...>) {
    auto row = []<std::size_t... C>(auto r, std::index_sequence<C...>) {
      return std::array<Fn, Cols>{Entry<static_cast<int>(decltype(r)::value) + 1, static_cast<int>(C) + 1>::get()...};
    };
    return std::array<std::array<Fn, Cols>, Rows>{
        row(std::integral_constant<std::size_t, R>{}, std::make_index_sequence<Cols>{})...};
  }
  (std::make_index_sequence<Rows>{});
}

// ---- forward ----------------------------------------------------------------------------------------

// y[i] over NV vectors = bias[i] + Σ_k wpk[k][i] · x(vector, k) for MR output channels and the pairs
// k of the given spans; the weights are packed [k][kMR], x is read at xb[j] + koff[k].
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
template <int MR, int NV>
struct ForwardEntry {
  static constexpr ForwardTile get() {
    if constexpr (NV <= kNV || MR <= 2) {
      return &forward_tile<MR, NV>;
    } else {
      return nullptr;
    }
  }
};

constexpr auto forward_tiles = tile_table<ForwardTile, kMR, kNVWide, ForwardEntry>();

// The pair runs a tile of vectors (output rows rd[j], rh[j]) needs: every tap row that some vector
// reads inside the input (padding rows only multiply zeros), adjacent runs merged. Output row
// (od, oh) reads input row od·stride − padding + k·dilation along D and H. The caller ensures
// kernel[0]·kernel[1] ≤ kMaxSpans.
int tile_spans(const ConvGeometry& g, std::int64_t per, const std::int64_t* rd, const std::int64_t* rh, std::int64_t nv,
               Span* spans) {
  int n = 0;
  for (std::int64_t kd = 0; kd < g.kernel[0]; ++kd) {
    for (std::int64_t kh = 0; kh < g.kernel[1]; ++kh) {
      bool used = false;
      for (std::int64_t j = 0; j < nv && !used; ++j) {
        const std::int64_t id = rd[j] * g.stride[0] - g.padding[0] + kd * g.dilation[0];
        const std::int64_t ih = rh[j] * g.stride[1] - g.padding[1] + kh * g.dilation[1];
        used = id >= 0 && id < g.vol[0] && ih >= 0 && ih < g.vol[1];
      }
      if (!used) continue;
      const std::int64_t b = (kd * g.kernel[1] + kh) * per;
      if (n > 0 && spans[n - 1].end == b) {
        spans[n - 1].end = b + per;
      } else {
        spans[n++] = Span{b, b + per};
      }
    }
  }
  return n;
}

// ---- weight gradient ----------------------------------------------------------------------------------

// dw[i][j] += Σ over the vectors of dy(channel i) · x(pair j), for MC output channels and NK pairs.
// Masked-off lanes load zeros from both operands, so values outside the output rows (even
// infinities) never enter a sum; lanes are added in _mm512_reduce_add_ps's fixed tree.
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
    for (int j = 0; j < NK; ++j) dwb[i * ldw + j] += _mm512_reduce_add_ps(acc[i][j]);
  }
}

template <int NK, int MC>
struct WeightEntry {
  static constexpr WeightTile get() { return &weight_tile<MC, NK>; }
};

constexpr auto weight_tiles = tile_table<WeightTile, kNK, kMC, WeightEntry>();

// ---- stride-2 pairs of a transposed convolution ----------------------------------------------------

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

template <int MR, int>
struct PairEntry {
  static constexpr PairTile get() { return &pair_tile<MR>; }
};

constexpr auto pair_tiles = tile_table<PairTile, kMR, 1, PairEntry>();

}  // namespace

WeightTile weight_tile_for(int mc, int nk) {
  return weight_tiles[static_cast<std::size_t>(nk - 1)][static_cast<std::size_t>(mc - 1)];
}

PairTile pair_tile_for(int mr) { return pair_tiles[static_cast<std::size_t>(mr - 1)][0]; }

void forward_vectors(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg,
                     std::int64_t Vo, std::int64_t cout_g, const float* wpk_g, std::int64_t K, const std::int64_t* koff,
                     const float* bias_g, const ConvGeometry* skip, std::int64_t per) {
  std::int64_t xo[kNVWide], yo[kNVWide], rd[kNVWide], rh[kNVWide];
  __mmask16 mk[kNVWide];
  vec.get(v0, nv, xo, yo, mk, rd, rh);
  Span spans[kMaxSpans];
  int nspans = 1;
  spans[0] = Span{0, K};
  if (skip != nullptr) nspans = tile_spans(*skip, per, rd, rh, nv, spans);
  const float* xb[kNVWide];
  float* yb[kNVWide];
  for (std::int64_t j = 0; j < nv; ++j) xb[j] = xg + xo[j];
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const int mr = static_cast<int>(std::min<std::int64_t>(kMR, cout_g - blk * kMR));
    for (std::int64_t j = 0; j < nv; ++j) yb[j] = yg + blk * kMR * Vo + yo[j];
    forward_tiles[static_cast<std::size_t>(mr - 1)][static_cast<std::size_t>(nv - 1)](
        K == 0 ? nullptr : wpk_g + blk * K * kMR, spans, nspans, koff, xb, mk, yb, Vo,
        bias_g != nullptr ? bias_g + blk * kMR : nullptr);
  }
}

}  // namespace voxgrad::detail::direct

#endif  // __AVX512F__
