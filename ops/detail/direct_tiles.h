#pragma once
// Internal (AVX-512 builds only): the register tiles of the direct conv kernels, and the loop that
// runs the forward tiles over a range of output vectors.
//
// forward: MR output channels × NV 16-position vectors of sums kept in registers over all
//          (input channel, tap) pairs: y = bias + Σ_k w[k] · x(vector, k);
// weight:  MC output channels × NK (input channel, tap) pairs of dot products over the output
//          positions: dw[i][j] += Σ dy(channel i) · x(pair j);
// pair:    the two W stride classes of a stride-2 transposed convolution in one tile, interleaved
//          into 32 consecutive outputs on the way out.
// Every tile sums in an order fixed by the shapes alone.

#include "voxgrad/ops/detail/direct_layout.h"

#if defined(__AVX512F__)

namespace voxgrad::detail::direct {

constexpr int kMR = 8;      ///< forward: output channels per register tile
constexpr int kNV = 3;      ///< forward: vectors per register tile
constexpr int kNVWide = 8;  ///< forward: vectors per tile when a group has at most 2 output channels
constexpr int kMC = 8;      ///< weight gradient: output channels per register tile
constexpr int kNK = 3;      ///< weight gradient: (input channel, tap) pairs per register tile
constexpr int kMaxSpans = 64;

/// A run [begin, end) of (input channel, tap) pairs.
struct Span {
  std::int64_t begin = 0, end = 0;
};

/// Weight-gradient tile for mc ≤ kMC channels and nk ≤ kNK pairs over nv vectors (offsets xo/yo,
/// lanes mk): dwb[i·ldw + j] += Σ dyb[i·ys + yo[v] + lane] · xg[koff[j] + xo[v] + lane].
using WeightTile = void (*)(const float* dyb, std::int64_t ys, const float* xg, const std::int64_t* koff,
                            const std::int64_t* xo, const std::int64_t* yo, const __mmask16* mk, std::int64_t nv,
                            float* dwb, std::int64_t ldw);
WeightTile weight_tile_for(int mc, int nk);

/// Stride-2 pair tile for mr ≤ kMR channels: 16 positions m of the even-output class (weights we,
/// Ke pairs at offsets ke, lanes me) and of the odd one (wo, Ko, ko, mo) from xb, interleaved into
/// yb[i·ys + 0 … 31] under store masks st0/st1, plus bias (or none).
using PairTile = void (*)(const float* we, std::int64_t Ke, const std::int64_t* ke, const float* wo, std::int64_t Ko,
                          const std::int64_t* ko, const float* xb, __mmask16 me, __mmask16 mo, float* yb,
                          std::int64_t ys, __mmask16 st0, __mmask16 st1, const float* bias);
PairTile pair_tile_for(int mr);

/// Runs the forward tiles of one group over vectors [v0, v0 + nv) of vec: inputs from xg at koff,
/// outputs from yg (channel stride Vo), every block of kMR of the cout_g channels, with weights packed
/// per block as [pair][kMR] (K pairs). With `skip` set (the forward geometry, its pairs ordered
/// [kd][kh][channel][kw] so that tap row (kd, kh) is the run of `per` pairs from (kd·kernel[1] + kh)·per),
/// only the tap rows that the vectors read inside the input.
void forward_vectors(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg,
                     std::int64_t Vo, std::int64_t cout_g, const float* wpk_g, std::int64_t K, const std::int64_t* koff,
                     const float* bias_g, const ConvGeometry* skip = nullptr, std::int64_t per = 0);

/// Vectors per forward tile for a group of cout_g output channels.
inline int tile_vectors(std::int64_t cout_g) { return cout_g <= 2 ? kNVWide : kNV; }

}  // namespace voxgrad::detail::direct

#endif  // __AVX512F__
