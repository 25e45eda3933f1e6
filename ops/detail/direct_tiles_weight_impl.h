// Internal: the direct conv tiles' second half, the weight-gradient tiles (lane-wise, over
// channel vectors of dY, over the transposed input) and the table of every tile (make_kernels).
// Included only at the end of direct_tiles_impl.h, whose namespaces (the unnamed one in
// VOXGRAD_ISA's) it reopens, so that the two halves share their constants and helpers.

#include <cstdint>

#include "voxgrad/ops/detail/direct_kernels.h"

#ifndef VOXGRAD_ISA
#error "include direct_tiles_impl.h, not direct_tiles_weight_impl.h"
#endif

namespace voxgrad::detail::direct::VOXGRAD_ISA {

namespace {

// ---- weight gradient ----------------------------------------------------------------------------------

// The weight gradient for MC output channels and ng groups of NK pairs, group q reading pairs
// koff[q·NK …]: lane by lane, acc[(i·NK + j)·lanes + l] += Σ over the vectors v of
// dy(channel i, v, lane l) · x(pair j, v, lane l), in acc + q·MC·NK·lanes. dY comes packed, vector v
// of channel i at dyb + i·ys + v·lanes; x at xg + koff[pair] + xo[v]. The sums stay vectors
// between calls (a tile over a short, L1-resident block of positions then costs 2·MC·NK vector loads
// and stores around its MC·NK·nv FMAs); `zero` starts them from zero instead of acc, and with dwb
// the call ends them: dwb[i·ldw + q·NK + j] += the lanes' sum (in Vec::reduce_add's fixed order), acc
// left as it was. Masked-off lanes load zeros from both operands, so values outside the output rows
// (even infinities) never enter a sum. FULL: every vector has all its lanes and plain loads serve.
// On AVX2 that matters beyond the loads: the 12 sums, 3 inputs and one dy fill all 16 registers, and a
// mask register on top spills a sum, whose store and reload then sit on its chain of additions every
// iteration.
// The weight tile asks for its inputs kPrefetchVectors vectors ahead, on AVX-512 only (as the forward
// tile): the U-Net's 16-channel 64³ layer took 0.92× and the 8-channel 32³ layers 0.96× of their time
// (Intel model 207), and the AVX2 tile ran up to 1.13× slower with it.
constexpr int kPrefetchVectors = Vec::kRegs >= 32 ? 8 : 0;

template <int MC, int NK, bool FULL>
void weight_tile(const float* __restrict dyb, std::int64_t ys, const float* __restrict xg, const std::int64_t* koff,
                 std::int64_t ng, const std::int64_t* xo, const std::uint32_t* mk, std::int64_t nv,
                 float* __restrict acc_out, bool zero, float* dwb, std::int64_t ldw) {
  for (std::int64_t q = 0; q < ng; ++q) {
    float* out = acc_out + q * (MC * NK * Vec::kLanes);
    typename Vec::Reg acc[MC][NK];
#pragma GCC unroll 8
    for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 8
      for (int j = 0; j < NK; ++j) acc[i][j] = zero ? Vec::zero() : Vec::loadu(out + (i * NK + j) * Vec::kLanes);
    }
    const float* xk[NK];
#pragma GCC unroll 8
    for (int j = 0; j < NK; ++j) xk[j] = xg + koff[q * NK + j];
    for (std::int64_t v = 0; v < nv; ++v) {
      const std::int64_t xv = xo[v];
      if (kPrefetchVectors > 0 && v + kPrefetchVectors < nv) {
#pragma GCC unroll 8
        for (int j = 0; j < NK; ++j) __builtin_prefetch(xk[j] + xo[v + kPrefetchVectors] + Vec::kLanes - 1);
      }
      const float* d = dyb + v * Vec::kLanes;
      typename Vec::Mask m{};
      if constexpr (!FULL) m = Vec::mask(mk[v]);
      typename Vec::Reg b[NK];
#pragma GCC unroll 8
      for (int j = 0; j < NK; ++j) b[j] = FULL ? Vec::loadu(xk[j] + xv) : Vec::load(m, xk[j] + xv);
#pragma GCC unroll 8
      for (int i = 0; i < MC; ++i) {
        // Pinned: left to itself GCC folds this load into each of the NK FMAs that use it, and NK
        // loads per FMA row saturate the load ports of cores with two 512-bit FMA units.
        const auto di = Vec::pin(FULL ? Vec::loadu(d + i * ys) : Vec::load(m, d + i * ys));
#pragma GCC unroll 8
        for (int j = 0; j < NK; ++j) acc[i][j] = Vec::fmadd(di, b[j], acc[i][j]);
      }
    }
    if (dwb != nullptr) {
#pragma GCC unroll 8
      for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < NK; ++j) dwb[i * ldw + q * NK + j] += Vec::reduce_add(acc[i][j]);
      }
    } else {
#pragma GCC unroll 8
      for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < NK; ++j) Vec::storeu(out + (i * NK + j) * Vec::kLanes, acc[i][j]);
      }
    }
  }
}

// Fills k.weight_tiles[J − 1][I − 1] for every weight tile size from (I, J) on.
template <int I, int J>
constexpr void fill_weight(Kernels& k) {
  if constexpr (J <= kNK) {
    if constexpr (I <= kMC) {
      k.weight_tiles[J - 1][I - 1] = &weight_tile<I, J, false>;
      k.weight_tiles_full[J - 1][I - 1] = &weight_tile<I, J, true>;
      fill_weight<I + 1, J>(k);
    } else {
      fill_weight<1, J + 1>(k);
    }
  }
}

// ---- channel-vector weight tiles --------------------------------------------------------------------

// Vectors run over output channels and each input is broadcast, position by position, so the sums
// stay whole vectors over every position (no lanes to add up at the end), the stride between positions
// costs nothing, and the input is read as it lies: the J channels of a tile share one tap, so the rows
// and positions whose inputs lie in the padding are simply left out. I ≤ 4 with 32 registers, 2 with
// 16; J as many channels as the sums, the I dY vectors and one broadcast leave registers for, at most
// kMaxCvJ (each channel keeps a pointer too).
constexpr int kCvIMax = Vec::kRegs >= 32 ? 4 : 2;
constexpr int cv_jmax(int i) { return (Vec::kRegs - i - 1) / i < kMaxCvJ ? (Vec::kRegs - i - 1) / i : kMaxCvJ; }
static_assert(kCvIMax <= kMaxCvI);

template <int I, int J>
void cv_weight_tile(const float* __restrict dyt, std::int64_t dys, const float* __restrict xb, std::int64_t xcs,
                    const std::int64_t* rx, const std::int64_t* ry, std::int64_t nrows, std::int64_t w0,
                    std::int64_t w1, std::int64_t sw, float* __restrict acc_io, bool zero) {
  constexpr int L = Vec::kLanes;
  typename Vec::Reg acc[J][I];
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j) {
#pragma GCC unroll 4
    for (int i = 0; i < I; ++i) acc[j][i] = Vec::zero();
  }
  const float* xk[J];
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j) xk[j] = xb + j * xcs;
  for (std::int64_t r = 0; r < nrows; ++r) {
    const float* d = dyt + ry[r] * dys + w0 * (I * L);
    for (std::int64_t w = w0, at = rx[r] + w0 * sw; w < w1; ++w, at += sw, d += I * L) {
      typename Vec::Reg dv[I];
#pragma GCC unroll 4
      for (int i = 0; i < I; ++i) dv[i] = Vec::pin(Vec::loadu(d + i * L));
#pragma GCC unroll 16
      for (int j = 0; j < J; ++j) {
        const auto a = Vec::set1(xk[j][at]);
#pragma GCC unroll 4
        for (int i = 0; i < I; ++i) acc[j][i] = Vec::fmadd(a, dv[i], acc[j][i]);
      }
    }
  }
  // The block's sums are added to the running ones (1·a + b rounds once, as a + b): two levels of
  // summation, so that rounding errors grow with the blocks' and the block count's lengths, not with
  // the whole volume's.
  const auto one = Vec::set1(1.0f);
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j) {
#pragma GCC unroll 4
    for (int i = 0; i < I; ++i) {
      float* p = acc_io + (j * I + i) * L;
      Vec::storeu(p, zero ? acc[j][i] : Vec::fmadd(one, acc[j][i], Vec::loadu(p)));
    }
  }
}

// ---- weight tiles over transposed inputs ------------------------------------------------------------

// The xt tile asks for the input vectors kXtPrefetch positions ahead (the rows run on into the next
// output row's, one after another), one L1 miss per position otherwise waited on: the weight maps of
// the U-Net's 64³ and 32³ layers ran 2.5-4% faster with it on AVX-512, no different on AVX2 (Intel
// model 167, bench/README).
constexpr std::int64_t kXtPrefetch = 32;

// XtWeightTile: MC output channels × the three taps along W × NV vectors of input channels. Each dy
// value is broadcast once for the three taps and NV vectors, and the input vectors of positions w,
// w + 1 and w + 2 rotate along the row: per position NV input loads and MC broadcasts feed 3·MC·NV
// FMAs (24 of them with 32 registers, 12 with 16). Two vectors (MC = 4) take 6 loads per 24 FMAs
// instead of 9.
template <int MC, int NV>
void xt_weight_tile(const float* __restrict dy, std::int64_t dys, const float* __restrict xt, std::int64_t ps,
                    const std::int64_t* rx, const std::int64_t* ry, std::int64_t nrows, std::int64_t width,
                    float* __restrict acc_out) {
  constexpr int L = Vec::kLanes;
  typename Vec::Reg acc[MC][3][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 3
    for (int k = 0; k < 3; ++k) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][k][v] = Vec::zero();
    }
  }
  for (std::int64_t r = 0; r < nrows; ++r) {
    const float* xr = xt + rx[r];
    const float* d = dy + ry[r];
    typename Vec::Reg a[NV], b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      a[v] = Vec::loadu(xr + v * L);
      b[v] = Vec::loadu(xr + ps + v * L);
    }
    for (std::int64_t w = 0; w < width; ++w) {
      typename Vec::Reg c[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) c[v] = Vec::loadu(xr + (w + 2) * ps + v * L);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) __builtin_prefetch(xr + (w + 2 + kXtPrefetch) * ps + v * L);
#pragma GCC unroll 8
      for (int i = 0; i < MC; ++i) {
        const auto dv = Vec::set1(d[i * dys + w]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
          acc[i][0][v] = Vec::fmadd(dv, a[v], acc[i][0][v]);
          acc[i][1][v] = Vec::fmadd(dv, b[v], acc[i][1][v]);
          acc[i][2][v] = Vec::fmadd(dv, c[v], acc[i][2][v]);
        }
      }
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        a[v] = b[v];
        b[v] = c[v];
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MC; ++i) {
#pragma GCC unroll 3
    for (int k = 0; k < 3; ++k) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) Vec::storeu(acc_out + ((i * 3 + k) * NV + v) * L, acc[i][k][v]);
    }
  }
}

// The most output channels of a tile over NV vectors that the registers hold (the sums, 3·NV input
// vectors and one broadcast): kMC for one vector, kMC / 2 for two where that still leaves 24 sums
// (32 registers), else none.
constexpr int xt_most(int nv) { return nv == 1 ? kMC : (Vec::kRegs >= 32 ? kMC / 2 : 0); }

// Fills k.xt_weight[NV − 1][MC − 1] for MC from MC up to xt_most(NV).
template <int MC, int NV>
constexpr void fill_xt(Kernels& k) {
  if constexpr (MC <= xt_most(NV)) {
    k.xt_weight[NV - 1][MC - 1] = &xt_weight_tile<MC, NV>;
    fill_xt<MC + 1, NV>(k);
  }
}

constexpr int log2_of(int v) { return v <= 1 ? 0 : 1 + log2_of(v / 2); }

// Blocks of lanes × lanes go through registers: log2(lanes) rounds of interleaving rows i and
// i + lanes/2 (into rows 2i and 2i + 1) transpose a block.
void transpose_dy(const float* src, std::int64_t vo, float* dst, std::int64_t ob, std::int64_t oc, std::int64_t p0,
                  std::int64_t p1) {
  constexpr int L = Vec::kLanes;
  for (std::int64_t p = p0; p < p1; p += L) {
    const std::int64_t np = min64(L, p1 - p);
    const typename Vec::Mask m = Vec::mask(first_lanes(np, L));
    for (std::int64_t o = 0; o < ob; o += L) {
      typename Vec::Reg r[L], t[L];
#pragma GCC unroll 16
      for (int i = 0; i < L; ++i) r[i] = o + i < oc ? Vec::load(m, src + (o + i) * vo + p) : Vec::zero();
#pragma GCC unroll 4
      for (int round = 0; round < log2_of(L); ++round) {
#pragma GCC unroll 16
        for (int i = 0; i < L / 2; ++i) Vec::interleave(r[i], r[i + L / 2], t[2 * i], t[2 * i + 1]);
#pragma GCC unroll 16
        for (int i = 0; i < L; ++i) r[i] = t[i];
      }
      for (std::int64_t k = 0; k < np; ++k) Vec::storeu(dst + (p + k) * ob + o, r[k]);
    }
  }
}

template <int I, int J>
constexpr void fill_cv(Kernels& k) {
  if constexpr (I <= kCvIMax) {
    if constexpr (J <= cv_jmax(I)) {
      k.cv_weight[I - 1][J - 1] = &cv_weight_tile<I, J>;
      fill_cv<I, J + 1>(k);
    } else {
      k.cv_j[I - 1] = cv_jmax(I);
      fill_cv<I + 1, 1>(k);
    }
  }
}

constexpr Kernels make_kernels(const char* name) {
  Kernels k{};
  k.isa = name;
  k.lanes = Vec::kLanes;
  k.mr = kMR;
  k.nv = kNV;
  k.nv_wide = kNVWide;
  k.mc = kMC;
  k.nk = kNK;
  k.forward_vectors = &run_forward_vectors<false>;
  k.forward_tap_pairs = &run_forward_vectors<true>;
  k.pair_vectors = &pair_vectors;
  fill_weight<1, 1>(k);
  k.cv_imax = kCvIMax;
  fill_cv<1, 1>(k);
  fill_xt<1, 1>(k);
  fill_xt<1, 2>(k);
  k.xt_mc[0] = xt_most(1);
  k.xt_mc[1] = xt_most(2);
  k.transpose_dy = &transpose_dy;
  k.pad_rows = &pad_rows;
  k.packs_rows = Vec::kMaskRegisters;
  return k;
}

}  // namespace

}  // namespace voxgrad::detail::direct::VOXGRAD_ISA
