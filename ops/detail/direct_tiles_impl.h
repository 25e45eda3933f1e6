// Internal: the direct conv tiles as one template over an instruction set's vector type: the forward
// tiles and the padded copy here, the weight-gradient tiles and the table of all of them in
// direct_tiles_weight_impl.h (included at the end). Included only by direct_tiles_<isa>.cpp, each compiled for its own
// instruction set after defining VOXGRAD_ISA (the namespace) and, in it, `Vec`:
//   kLanes, kRegs            float32 lanes per register, vector registers
//   Reg, Mask                a register, a lane mask
//   mask(bits)               the Mask of lanes whose bit is set
//   zero(), set1(a)          registers
//   set2(p)                  p[0], p[1] in every pair of lanes (one 64-bit broadcast)
//   add(a, b)                a + b
//   load(m, p), store(p, m, v)  masked: lanes outside m read as 0 and are not written
//   loadu(p), storeu(p, v)   all lanes
//   kMaskRegisters           masks live in registers of their own; then also
//   load_or(a, m, p)         the lanes of m from p, the others from a, in one instruction
//   fmadd(a, b, c)           a·b + c, one rounding
//   reduce_add(v)            the lanes' sum in a fixed order
//   interleave(a, b, lo, hi) lo = a0 b0 a1 b1 … of the lower halves, hi the same of the upper ones
//   deinterleave(a, b, even, odd)  even = a0 a2 … b0 b2 …, odd = a1 a3 … b1 b3 … (its inverse)
//   pin(v)                   v, held in a register (the load that made it is not folded into its uses)
// Everything here lives in that namespace (internal linkage or ISA-qualified names), so no function
// compiled with one instruction set can stand in for another's at link time; the test
// ops.isa_objects_share_no_symbols checks the object files for it.

#include <algorithm>
#include <cstdint>

#include "voxgrad/ops/detail/direct_kernels.h"

#ifndef VOXGRAD_ISA
#error "define VOXGRAD_ISA before including direct_tiles_impl.h"
#endif

namespace voxgrad::detail::direct::VOXGRAD_ISA {

namespace {

constexpr int floor_pow2(int v) {
  int p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}
constexpr std::int64_t min64(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// Tile shapes from the register file. A forward tile holds MR × NV sums, NV input vectors and one
// broadcast weight; with NV = 3, MR is the largest power of two that fits (8 of 32 registers for
// AVX-512, 4 of 16 for AVX2). MR × NV ≥ 12 independent sums also cover two FMA ports × 4-5 cycles of
// latency, the most any x86 core has. With at most 2 output channels a tile takes more vectors
// instead. The weight tile has the same shape (MC channels × NK pairs, plus NK inputs and one dy).
constexpr int kNV = 3;
constexpr int kMR = floor_pow2((Vec::kRegs - kNV - 1) / kNV);
constexpr int kNVWide = (Vec::kRegs - 1) / 3 < kMaxNV ? (Vec::kRegs - 1) / 3 : kMaxNV;
constexpr int kNVMax = kNVWide > kNV ? kNVWide : kNV;
constexpr int kNK = 3;
constexpr int kMC = kMR;
static_assert(kMR <= kMaxTile && kNV <= kMaxNV && kNVWide <= kMaxNV && Vec::kLanes <= kMaxLanes);

// The forward tile asks for the inputs of the pair kPrefetchPairs ahead (the line of each vector's last
// lane): the pairs jump between channels and tap rows, which the hardware prefetchers do not follow.
// On AVX-512, with 24 FMAs per pair, that took C2's forward to 0.87× and the U-Net's stride-2 16→32
// layer to 0.83× of their time, no layer slower (Intel model 207, bench/README); the AVX2 tile, with 12
// FMAs and 7 loads per pair, ran 1.03–1.13× slower with it, so it has none.
constexpr int kPrefetchPairs = Vec::kRegs >= 32 ? 24 : 0;

struct Span {
  std::int64_t begin = 0, end = 0;  // a run [begin, end) of (input channel, tap) pairs
};

// ---- forward ----------------------------------------------------------------------------------------

// Vec, named through a template parameter where only some instantiations may use what only some
// instruction sets have (load_or).
template <bool>
struct VecOf {
  using type = Vec;
};

// y[i] over NV vectors = bias[i] + Σ_k wpk[k][i] · x(vector, k) for MR output channels and the pairs
// k of the given spans; the weights are packed [k][kMR], x is read at xb[j] + koff[k]. FULL: every
// vector has all its lanes, so plain loads and stores serve (masked ones cost more on some cores, and
// the masks would take registers the sums need). SPLIT: packed rows (RowVectors), vector j's lanes mk2[j]
// read at xb2[j] + koff[k] (the next row), merged into the lanes mk[j] read at xb[j]; loads always
// masked, FULL then says only that the stores are whole. PAIRS: tap pairs (ForwardTapPairs), the
// weights packed [k][kMR][2]; each vector's lanes hold lanes / 2 positions × 2 taps, mk[j] the first
// lanes (2 per position), and the bias is added after the two taps' sums.
template <int MR, int NV, bool FULL, bool SPLIT = false, bool PAIRS = false>
void forward_tile(const float* __restrict wpk, const Span* spans, int nspans, const std::int64_t* __restrict koff,
                  const float* const* xb, const std::uint32_t* mk, float* const* yb, std::int64_t ys, const float* bias,
                  const float* const* xb2, const std::uint32_t* mk2, bool prefetch) {
  typename Vec::Reg acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const auto b0 = bias != nullptr && !PAIRS ? Vec::set1(bias[i]) : Vec::zero();
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = b0;
  }
  constexpr bool kMasked = SPLIT || !FULL;
  const float* xs[NV];
  const float* xs2[NV];
  typename Vec::Mask ms[NV], ms2[NV];
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) {
    xs[j] = xb[j];
    if constexpr (kMasked) ms[j] = Vec::mask(mk[j]);
    if constexpr (SPLIT) {
      xs2[j] = xb2[j];
      ms2[j] = Vec::mask(mk2[j]);
    }
  }
  // One pair: NV input vectors, MR broadcast weights, MR × NV FMAs; PF: ask for the inputs of the
  // pair kPrefetchPairs ahead. The pairs of a span with none that far ahead run without the test.
  const auto pair = [&]<bool PF>(std::int64_t k) __attribute__((always_inline)) {
    const std::int64_t o = koff[k];
    if constexpr (PF) {
      const std::int64_t ahead = koff[k + kPrefetchPairs];
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) __builtin_prefetch(xs[j] + ahead + Vec::kLanes - 1);
    }
    typename Vec::Reg b[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      if constexpr (SPLIT) {
        b[j] = VecOf<SPLIT>::type::load_or(Vec::load(ms[j], xs[j] + o), ms2[j], xs2[j] + o);
      } else {
        b[j] = FULL ? Vec::loadu(xs[j] + o) : Vec::load(ms[j], xs[j] + o);
      }
    }
    const float* a = wpk + k * kMR * (PAIRS ? 2 : 1);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const auto ai = PAIRS ? Vec::set2(a + 2 * i) : Vec::set1(a[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = Vec::fmadd(ai, b[j], acc[i][j]);
    }
  };
  for (int s = 0; s < nspans; ++s) {
    std::int64_t k = spans[s].begin;
    if constexpr (kPrefetchPairs > 0) {
      if (prefetch) {
        for (; k + kPrefetchPairs < spans[s].end; ++k) pair.template operator()<true>(k);
      }
    }
    for (; k < spans[s].end; ++k) pair.template operator()<false>(k);
  }
  if constexpr (SPLIT && !FULL) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) ms[j] = Vec::mask(mk[j] | mk2[j]);
  }
  if constexpr (PAIRS) {
    // Lane p of e + o is the sum of lanes 2p and 2p + 1: position p's, stored to its first lanes (at
    // most lanes / 2 of them, so the shift stays inside 32 bits; no call here, which would spill the sums).
    typename Vec::Mask mp[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      mp[j] = Vec::mask((std::uint32_t{1} << (FULL ? Vec::kLanes / 2 : __builtin_popcount(mk[j]) / 2)) - 1u);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        typename Vec::Reg e, o;
        Vec::deinterleave(acc[i][j], acc[i][j], e, o);
        auto sum = Vec::add(e, o);
        if (bias != nullptr) sum = Vec::add(sum, Vec::set1(bias[i]));
        Vec::store(yb[j] + i * ys, mp[j], sum);
      }
    }
    return;
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      if constexpr (FULL) {
        Vec::storeu(yb[j] + i * ys, acc[i][j]);
      } else {
        Vec::store(yb[j] + i * ys, ms[j], acc[i][j]);
      }
    }
  }
}

using ForwardTile = void (*)(const float*, const Span*, int, const std::int64_t*, const float* const*,
                             const std::uint32_t*, float* const*, std::int64_t, const float*, const float* const*,
                             const std::uint32_t*, bool);

// forward_tiles[mr − 1][nv − 1]: NV ≤ kNV, or up to kNVWide when MR ≤ 2 (few output channels: more
// positions per tile keep enough independent sums in flight); null for sizes never asked for. The
// split tiles (packed rows) only for NV ≤ kNV (rows are packed only for more than 2 output channels) and
// with mask registers (Kernels::packs_rows).
struct ForwardTable {
  ForwardTile at[kMR][kNVMax] = {};
  ForwardTile full[kMR][kNVMax] = {};        ///< the same with every lane present
  ForwardTile split[kMR][kNVMax] = {};       ///< SPLIT, some lanes absent
  ForwardTile split_full[kMR][kNVMax] = {};  ///< SPLIT, every lane present
  ForwardTile pairs[kMR][kNVMax] = {};       ///< PAIRS, some lanes absent
  ForwardTile pairs_full[kMR][kNVMax] = {};  ///< PAIRS, every lane present
};

// Fills t.at[R − 1][C − 1] for every tile size from (R, C) on, row by row.
template <int R, int C>
constexpr void fill_forward(ForwardTable& t) {
  if constexpr (R <= kMR) {
    if constexpr (C <= kNVMax) {
      if constexpr (C <= kNV || R <= 2) {
        t.at[R - 1][C - 1] = &forward_tile<R, C, false>;
        t.full[R - 1][C - 1] = &forward_tile<R, C, true>;
        t.pairs[R - 1][C - 1] = &forward_tile<R, C, false, false, true>;
        t.pairs_full[R - 1][C - 1] = &forward_tile<R, C, true, false, true>;
      }
      if constexpr (C <= kNV && Vec::kMaskRegisters) {
        t.split[R - 1][C - 1] = &forward_tile<R, C, false, true>;
        t.split_full[R - 1][C - 1] = &forward_tile<R, C, true, true>;
      }
      fill_forward<R, C + 1>(t);
    } else {
      fill_forward<R + 1, 1>(t);
    }
  }
}

constexpr ForwardTable forward_table() {
  ForwardTable t;
  fill_forward<1, 1>(t);
  return t;
}

constexpr ForwardTable forward_tiles = forward_table();

// The pair runs a tile of vectors (output rows rd[j], rh[j]) needs: every tap row that some vector
// reads inside the input (padding rows only multiply zeros), adjacent runs merged. Output row
// (od, oh) reads input row od·stride − padding + k·dilation along D and H. The caller ensures
// kernel[0]·kernel[1] ≤ kMaxSpans.
int tile_spans(const SkipRows& g, const std::int64_t* rd, const std::int64_t* rh, std::int64_t nv, Span* spans) {
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
      const std::int64_t b = (kd * g.kernel[1] + kh) * g.per;
      if (n > 0 && spans[n - 1].end == b) {
        spans[n - 1].end = b + g.per;
      } else {
        spans[n++] = Span{b, b + g.per};
      }
    }
  }
  return n;
}

// The forward tiles over vectors [v0, v0 + nv) of vec (ForwardVectors), or with PAIRS in tap pairs
// (ForwardTapPairs: vec's vectors of lanes / 2 positions, each loaded as `lanes` columns, never packed).
template <bool PAIRS>
void run_forward_vectors(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg,
                         std::int64_t Vo, std::int64_t cout_g, const float* wpk_g, std::int64_t K,
                         const std::int64_t* koff, const float* bias_g, const SkipRows* skip, bool prefetch) {
  PackedVectors pv;
  std::int64_t* const xo = pv.xo;
  std::int64_t* const yo = pv.yo;
  std::uint32_t* const mk = pv.mk;
  std::int64_t rows = nv;
  if (vec.packed) {
    packed_vectors_get(vec, v0, nv, pv);
    rows = pv.rows;
  } else {
    row_vectors_get(vec, v0, nv, xo, yo, mk, pv.rd, pv.rh);
  }
  Span spans[kMaxSpans];
  int nspans = 1;
  spans[0] = Span{0, K};
  if (skip != nullptr) nspans = tile_spans(*skip, pv.rd, pv.rh, rows, spans);
  const float* xb[kMaxNV];
  const float* xb2[kMaxNV];
  float* yb[kMaxNV];
  const std::uint32_t all = first_lanes(Vec::kLanes, Vec::kLanes);
  bool full = true, split = false;
  for (std::int64_t j = 0; j < nv; ++j) {
    // Tap pairs: a position's two lanes (the positions are a prefix of the vector).
    if constexpr (PAIRS) mk[j] = first_lanes(2 * __builtin_popcount(mk[j]), Vec::kLanes);
    xb[j] = K == 0 ? nullptr : xg + xo[j];  // K = 0: xg may be null
    xb2[j] = K == 0 || !vec.packed ? nullptr : xg + pv.xo2[j];
    const std::uint32_t m2 = vec.packed ? pv.mk2[j] : 0u;
    full = full && (mk[j] | m2) == all;
    split = split || m2 != 0;
  }
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  const auto& tiles = PAIRS   ? (full ? forward_tiles.pairs_full : forward_tiles.pairs)
                      : split ? (full ? forward_tiles.split_full : forward_tiles.split)
                              : (full ? forward_tiles.full : forward_tiles.at);
  constexpr std::int64_t kWeightsPerPair = PAIRS ? 2 : 1;
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const auto mr = static_cast<int>(min64(kMR, cout_g - blk * kMR));
    for (std::int64_t j = 0; j < nv; ++j) yb[j] = yg + blk * kMR * Vo + yo[j];
    tiles[mr - 1][nv - 1](K == 0 ? nullptr : wpk_g + blk * K * kMR * kWeightsPerPair, spans, nspans, koff, xb, mk, yb,
                          Vo, bias_g != nullptr ? bias_g + blk * kMR : nullptr, xb2, pv.mk2, prefetch);
  }
}

// ---- paired forward tiles (stride 2 along W) ---------------------------------------------------------

// A transposed convolution with stride 2 along W has two W classes, outputs 2m and 2m + 1, each a
// forward tile with its own taps over the same input vectors (positions m). Both classes' tiles write
// to a scratch of one tile that stays in L1, and are interleaved from there into 2·lanes consecutive
// outputs per vector: no scratch rows, and no separate pass over y. (Summing both classes in one
// tile, in registers, needs half the output channels per tile: 1–9% faster on AVX-512, 9–18% slower on
// AVX2, where two channels per input vector leave it waiting on its loads.)
void pair_vectors(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg, std::int64_t Vo,
                  std::int64_t cout_g, const ClassPairs& even, const ClassPairs& odd, std::int64_t width_odd,
                  std::int64_t wout, const float* bias_g, bool stream, bool prefetch) {
  constexpr std::int64_t L = Vec::kLanes;
  std::int64_t xo[kMaxNV], yo[kMaxNV], rd[kMaxNV], rh[kMaxNV];
  std::uint32_t me[kMaxNV], mo[kMaxNV], lo[kMaxNV], hi[kMaxNV];
  row_vectors_get(vec, v0, nv, xo, yo, me, rd, rh);
  const float* xb[kMaxNV];
  float* yb[kMaxNV];
  const std::uint32_t all = first_lanes(L, L);
  bool full_e = true, full_o = true, full_y = true;
  for (std::int64_t j = 0; j < nv; ++j) {
    const std::int64_t w0 = yo[j] - rd[j] * vec.y_d - rh[j] * vec.y_h;  // the vector's first m
    mo[j] = first_lanes(width_odd - w0, L);
    lo[j] = first_lanes(wout - 2 * w0, L);
    hi[j] = first_lanes(wout - 2 * w0 - L, L);
    full_e = full_e && me[j] == all;
    full_o = full_o && mo[j] == all;
    full_y = full_y && lo[j] == all && hi[j] == all;
    xb[j] = even.K == 0 && odd.K == 0 ? nullptr : xg + xo[j];  // no pairs: xg may be null
    yb[j] = yg + yo[j] + w0;
  }
  // The scratch, [channel][vector][lane] per class. Lanes a partial tile leaves unwritten are
  // zeroed: they are interleaved too (into outputs the masked stores leave out).
  alignas(64) float se[kMR * kNV * L], so[kMR * kNV * L];
  if (!full_e || !full_o) {
    std::fill(se, se + kMR * kNV * L, 0.0f);
    std::fill(so, so + kMR * kNV * L, 0.0f);
  }
  float* ve[kNV];
  float* vo[kNV];
  for (std::int64_t j = 0; j < nv; ++j) {
    ve[j] = se + j * L;
    vo[j] = so + j * L;
  }
  const Span span_e{0, even.K}, span_o{0, odd.K};
  const auto& tiles_e = full_e ? forward_tiles.full : forward_tiles.at;
  const auto& tiles_o = full_o ? forward_tiles.full : forward_tiles.at;
  const std::int64_t blocks = (cout_g + kMR - 1) / kMR;
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const auto mr = static_cast<int>(min64(kMR, cout_g - blk * kMR));
    const float* bias = bias_g != nullptr ? bias_g + blk * kMR : nullptr;
    tiles_e[mr - 1][nv - 1](even.K == 0 ? nullptr : even.wpk + blk * even.K * kMR, &span_e, 1, even.koff, xb, me, ve,
                            kNV * L, bias, nullptr, nullptr, prefetch);
    tiles_o[mr - 1][nv - 1](odd.K == 0 ? nullptr : odd.wpk + blk * odd.K * kMR, &span_o, 1, odd.koff, xb, mo, vo,
                            kNV * L, bias, nullptr, nullptr, prefetch);
    for (int i = 0; i < mr; ++i) {
      for (std::int64_t j = 0; j < nv; ++j) {
        typename Vec::Reg l, h;
        Vec::interleave(Vec::loadu(se + (i * kNV + j) * L), Vec::loadu(so + (i * kNV + j) * L), l, h);
        float* p = yb[j] + (blk * kMR + i) * Vo;
        if (stream && lo[j] == all && hi[j] == all &&
            reinterpret_cast<std::uintptr_t>(p) % sizeof(typename Vec::Reg) == 0) {
          Vec::stream(p, l);
          Vec::stream(p + L, h);
        } else if (full_y) {
          Vec::storeu(p, l);
          Vec::storeu(p + L, h);
        } else {
          Vec::store(p, Vec::mask(lo[j]), l);
          Vec::store(p + L, Vec::mask(hi[j]), h);
        }
      }
    }
  }
  if (stream) _mm_sfence();  // the streamed stores are weakly ordered: done before the task ends
}

// ---- padded copy --------------------------------------------------------------------------------------

// The mask bits of lanes [lo, hi) (none when hi ≤ lo), lo and hi clamped to the lanes.
std::uint32_t lanes_between(std::int64_t lo, std::int64_t hi) {
  return first_lanes(hi, Vec::kLanes) & ~first_lanes(lo, Vec::kLanes);
}

// Padded rows (see PadRows), row by row, along each row in vectors of slots. A load at column b reads
// its lanes inside [0, W) and zeros elsewhere (masked lanes never touch memory), so padding and
// cropped columns cost nothing extra; at stride 2 two loads cover both phases' vectors, split by one
// deinterleave. The masks are made once for up to kPadVectors vectors of a row, then serve every row.
constexpr int kPadVectors = 16;

void pad_rows(const float* src, std::int64_t W, float* dst, std::int64_t row, std::int64_t rows, std::int64_t Wq,
              std::int64_t sw, std::int64_t origin) {
  constexpr std::int64_t L = Vec::kLanes;
  for (std::int64_t c0 = 0; c0 < Wq; c0 += kPadVectors * L) {
    const std::int64_t nv = std::min<std::int64_t>(kPadVectors, (Wq - c0 + L - 1) / L);
    typename Vec::Mask m0[kPadVectors], m1[kPadVectors];
    for (std::int64_t v = 0; v < nv; ++v) {
      const std::int64_t b = sw * (c0 + v * L) - origin;  // the column of the vector's first slot in phase 0
      m0[v] = Vec::mask(lanes_between(-b, W - b));
      m1[v] = Vec::mask(lanes_between(-b - L, W - b - L));
    }
    const std::int64_t whole = std::min(nv, (Wq - c0) / L);  // vectors with every slot in the phase
    const auto tail = Vec::mask(lanes_between(0, Wq - c0 - whole * L));
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* s = src + i * W + sw * c0 - origin;
      float* d = dst + i * row + c0;
      if (sw == 1) {
        for (std::int64_t v = 0; v < whole; ++v) Vec::storeu(d + v * L, Vec::load(m0[v], s + v * L));
        if (whole < nv) Vec::store(d + whole * L, tail, Vec::load(m0[whole], s + whole * L));
      } else {
        typename Vec::Reg even, odd;
        for (std::int64_t v = 0; v < whole; ++v) {
          Vec::deinterleave(Vec::load(m0[v], s + 2 * v * L), Vec::load(m1[v], s + 2 * v * L + L), even, odd);
          Vec::storeu(d + v * L, even);
          Vec::storeu(d + Wq + v * L, odd);
        }
        if (whole < nv) {
          Vec::deinterleave(Vec::load(m0[whole], s + 2 * whole * L), Vec::load(m1[whole], s + 2 * whole * L + L), even,
                            odd);
          Vec::store(d + whole * L, tail, even);
          Vec::store(d + Wq + whole * L, tail, odd);
        }
      }
    }
  }
}

}  // namespace

}  // namespace voxgrad::detail::direct::VOXGRAD_ISA

// The weight-gradient tiles and the table of every tile, in the same namespaces.
#include "voxgrad/ops/detail/direct_tiles_weight_impl.h"
