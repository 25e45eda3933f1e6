#pragma once
// Internal: the register tiles of the direct conv kernels, compiled once per instruction set
// (direct_tiles_avx512.cpp, direct_tiles_avx2.cpp from the one template in direct_tiles_impl.h) and
// reached through a table of function pointers picked at run time from cpu_isa().
//
// forward: MR output channels × NV vectors of `lanes` positions, sums kept in registers over all
//          (input channel, tap) pairs: y = bias + Σ_k w[k] · x(vector, k);
// weight:  MC output channels × NK (input channel, tap) pairs of dot products over the output
//          positions, kept lane by lane: acc[i][j] += dy(channel i) · x(pair j) per vector.
// Every tile sums in an order fixed by the shapes alone.
//
// This header is shared by the per-ISA translation units and the rest of the library, so it holds only
// plain data and declarations: an inline function defined here would be compiled once with AVX-512
// enabled and once without, and the linker would keep one copy for all callers.

#include <cstdint>

namespace voxgrad::detail::direct {

constexpr int kMaxLanes = 16;    ///< the widest vector (AVX-512, float32)
constexpr int kMaxNV = 8;        ///< the most vectors of a forward tile
constexpr int kMaxSpans = 64;    ///< tap rows a forward tile may skip through
constexpr int kMaxBlock = 1024;  ///< the most vectors of a weight-gradient position block
constexpr int kMaxTile = 8;      ///< the most channels or pairs along one side of a tile
constexpr int kMaxCvI = 4;       ///< the most output-channel vectors of a channel-vector tile
constexpr int kMaxCvJ = 12;      ///< the most pairs of a channel-vector weight tile

/// Output positions as vectors of `lanes`: rows (md, mh) of `width` positions, ceil(width / lanes)
/// vectors each. A row's first input and output sit at md·x_d + mh·x_h and md·y_d + mh·y_h.
/// Packed (pack_rows): all rows' positions one after another, cut into vectors of `lanes` (y's rows
/// must follow each other: y_h = width, y_d = rows_h·width); a vector that runs past the end of its
/// row takes its other lanes from the start of the next. Only forward_vectors reads packed vectors,
/// in tiles of at most 3 (pack_rows packs only for more than 2 output channels).
/// A row's position w reads x at x_w·w from its first input (x_w = 2 for tap pairs, below; else 1).
struct RowVectors {
  std::int64_t lanes = 16, per_row = 0, rows_h = 1, width = 0, count = 0;
  std::int64_t x_d = 0, x_h = 0, y_d = 0, y_h = 0, x_w = 1;
  bool packed = false;
  std::int64_t positions = 0;  ///< packed: rows · width
  /// Unpacked: the rows (md·rows_h + mh) in the order the vectors take them; null: in that order.
  const std::int64_t* order = nullptr;
};

struct Kernels;

/// Packs vec's rows (see RowVectors) for a map with `outputs` output channels per group on `kern`'s
/// tiles, where that fills more lanes and they take it: width not a multiple of the lanes, no vector
/// spanning more than two rows (gcd(width, lanes) + width ≥ lanes), y's rows one after another, more
/// than 2 outputs (fewer keep rows apart on wide tiles) and kern.packs_rows. Returns whether it did.
bool pack_rows(RowVectors& vec, const Kernels& kern, std::int64_t outputs);

/// Packed vectors v0 … v0 + nv − 1 (nv ≤ kMaxNV): x offsets xo (lanes mk, from the vector's first row)
/// and xo2 (lanes mk2, from the next row; mk2 = 0 when the vector stays in one row), each the offset
/// of lane 0; y offsets yo (lanes mk | mk2); and the rows (rd, rh) the vectors touch, `rows` of them.
struct PackedVectors {
  std::int64_t xo[kMaxNV], xo2[kMaxNV], yo[kMaxNV], rd[2 * kMaxNV], rh[2 * kMaxNV];
  std::uint32_t mk[kMaxNV], mk2[kMaxNV];
  std::int64_t rows = 0;
};
void packed_vectors_get(const RowVectors& vec, std::int64_t v0, std::int64_t nv, PackedVectors& out);

/// Makes the vectors of rows_d × rows_h rows of `width` positions (see RowVectors).
RowVectors row_vectors(std::int64_t lanes, std::int64_t rows_d, std::int64_t rows_h, std::int64_t width,
                       std::int64_t x_d, std::int64_t x_h, std::int64_t y_d, std::int64_t y_h);

/// The input and output offsets and the lane masks (bit l: lane l holds a position) of vectors
/// v0 … v0 + nv − 1, and optionally their output rows (md, mh).
void row_vectors_get(const RowVectors& vec, std::int64_t v0, std::int64_t nv, std::int64_t* xo, std::int64_t* yo,
                     std::uint32_t* mk, std::int64_t* rd = nullptr, std::int64_t* rh = nullptr);

/// The mask of lanes 0 … n − 1 of `lanes` (none for n ≤ 0, all for n ≥ lanes).
std::uint32_t first_lanes(std::int64_t n, std::int64_t lanes);

/// What a forward tile needs to skip tap rows that read only padding: the forward geometry along D
/// and H, with the pairs ordered [kd][kh][channel][kw] so that tap row (kd, kh) is the run of `per`
/// pairs from (kd·kernel[1] + kh)·per.
struct SkipRows {
  std::int64_t kernel[2], stride[2], padding[2], dilation[2], vol[2];
  std::int64_t per;
};

/// Runs the forward tiles of one group over vectors [v0, v0 + nv) of vec: inputs from xg at koff,
/// outputs from yg (channel stride Vo), every block of mr of the cout_g channels, with weights packed
/// per block as [pair][mr] (K pairs); with `skip`, only the tap rows that the vectors read inside the
/// input. With `prefetch`, the tiles ask for the inputs of pairs ahead (a planar copy, whose channels
/// the hardware prefetchers do not follow; an interleaved one runs faster without).
using ForwardVectors = void (*)(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg,
                                std::int64_t Vo, std::int64_t cout_g, const float* wpk_g, std::int64_t K,
                                const std::int64_t* koff, const float* bias_g, const SkipRows* skip, bool prefetch);

/// Tap pairs: the forward map of a convolution with stride 2 and dilation 1 along W and an even kernel
/// width, read from a layout in one phase (the input's own columns, padded). Taps 2t and 2t + 1 of
/// output position w read columns 2w + 2t and 2w + 2t + 1, so one plain load of `lanes` columns holds
/// both taps of lanes / 2 positions, and one 64-bit broadcast of the two taps' weights multiplies it:
/// lane 2p sums tap 2t's products of position p, lane 2p + 1 tap 2t + 1's, and the two lanes are
/// added when the tile ends (no de-interleaving copy of the input, no shuffle per load). The same
/// signature as ForwardVectors, with vec in vectors of lanes / 2 positions (x_w = 2), K the couples of
/// taps (pairs [kd][kh][channel][t]), koff the offsets of their even taps, and the weights packed per
/// block as [couple][mr][2]. y = bias + ((Σ even taps) + (Σ odd taps)).
using ForwardTapPairs = ForwardVectors;

/// One W class's pairs for a paired forward tile: weights packed per block of mr output channels as
/// [pair][mr] (K pairs, the block's at wpk + block·K·mr), input offsets koff.
struct ClassPairs {
  const float* wpk;
  std::int64_t K;
  const std::int64_t* koff;
};

/// Runs the forward tiles of one group of a map with stride 2 along W (a transposed convolution's two
/// W classes) in pairs: for vectors [v0, v0 + nv) of vec (positions m of the even class, whose outputs
/// are 2m; the odd class's are 2m + 1, width_odd of them per row), y(2m) and y(2m + 1) from the same
/// input vectors at xg + the classes' koff, stored interleaved: vector j's 2·lanes outputs from
/// yg + (its row's offset) + 2·w0, in rows of wout outputs. Every block of mr of the cout_g channels
/// (channel stride Vo), plus bias_g when given. With `stream`, whole aligned vectors of y are written
/// past the caches (non-temporal stores, fenced before the call returns); `prefetch` as for
/// ForwardVectors.
using PairVectors = void (*)(const RowVectors& vec, std::int64_t v0, std::int64_t nv, const float* xg, float* yg,
                             std::int64_t Vo, std::int64_t cout_g, const ClassPairs& even, const ClassPairs& odd,
                             std::int64_t width_odd, std::int64_t wout, const float* bias_g, bool stream,
                             bool prefetch);

/// Weight-gradient tiles for mc channels and ng groups of nk pairs over nv vectors (x offsets xo, lane
/// masks mk; dY packed, vector v of channel i at dyb + i·ys + v·lanes), summing lane by lane: for
/// group q, channel i, pair j = q·nk + j' and lane l,
/// acc[((q·mc + i)·nk + j')·lanes + l] += Σ_v dyb[i·ys + v·lanes + l] · xg[koff[j] + xo[v] + l], the
/// sums starting from zero instead of acc when `zero`. With dwb, the call ends the sums instead of
/// storing them: dwb[i·ldw + j] += the lanes' sum.
using WeightTile = void (*)(const float* dyb, std::int64_t ys, const float* xg, const std::int64_t* koff,
                            std::int64_t ng, const std::int64_t* xo, const std::uint32_t* mk, std::int64_t nv,
                            float* acc, bool zero, float* dwb, std::int64_t ldw);

/// Channel-vector weight tile: J input channels (xb + j·xcs, one tap) × I vectors of output channels,
/// summed over positions [w0, w1) of nrows output rows: row r's inputs at xb + rx[r] + w·sw, its dY
/// transposed at dyt + ry[r]·dys + w·I·lanes (I·lanes channels per position). acc[j][i] (at
/// acc + (j·I + i)·lanes) = Σ x · dy over those positions, plus its old value unless `zero`.
using CvWeightTile = void (*)(const float* dyt, std::int64_t dys, const float* xb, std::int64_t xcs,
                              const std::int64_t* rx, const std::int64_t* ry, std::int64_t nrows, std::int64_t w0,
                              std::int64_t w1, std::int64_t sw, float* acc, bool zero);

/// Weight-gradient sums over NV vectors of input channels for MC output channels and a kernel's three
/// taps along W (stride and dilation 1 along W), from xt, the input transposed to [row][slot][channel]
/// (ps floats per slot): for the rows r < nrows and the positions w < width,
/// acc[((i·3 + kw)·NV + v)·lanes + l] gets Σ dy[i·dys + ry[r] + w] · xt[rx[r] + (w + kw)·ps + v·lanes + l].
/// The sums run over the rows and positions in order, from zero, and are stored to acc. Along a row
/// the three taps' input vectors rotate: NV loads per position.
using XtWeightTile = void (*)(const float* dy, std::int64_t dys, const float* xt, std::int64_t ps,
                              const std::int64_t* rx, const std::int64_t* ry, std::int64_t nrows, std::int64_t width,
                              float* acc);

/// dY of one block of ob output channels, transposed for the channel-vector weight tiles:
/// dst[p·ob + o] = src[o·vo + p] for positions p in [p0, p1) and channels o < ob, zero from channel oc
/// on (ob a multiple of the lanes).
using TransposeDy = void (*)(const float* src, std::int64_t vo, float* dst, std::int64_t ob, std::int64_t oc,
                             std::int64_t p0, std::int64_t p1);

/// Rows of a sample's padded copy (direct_layout.h, sw = 1 or 2): for rows i < rows of W inputs at
/// src + i·W, dst + i·row gets each phase r < sw of Wq slots, slot q of phase r holding input column
/// q·sw + r − origin, or zero where that lies outside [0, W).
using PadRows = void (*)(const float* src, std::int64_t W, float* dst, std::int64_t row, std::int64_t rows,
                         std::int64_t Wq, std::int64_t sw, std::int64_t origin);

/// One instruction set's tiles and their shapes. The shapes follow from the register file: a forward
/// tile keeps mr × nv sums, nv input vectors and one broadcast weight in registers (mr the largest
/// power of two that fits with nv = 3), and the weight tile likewise mc × nk sums.
struct Kernels {
  const char* isa;
  int lanes;    ///< float32 lanes per vector
  int mr, nv;   ///< forward tile: output channels × vectors
  int nv_wide;  ///< forward tile vectors when a group has at most 2 output channels
  int mc, nk;   ///< weight tile: output channels × (input channel, tap) pairs
  ForwardVectors forward_vectors;
  ForwardTapPairs forward_tap_pairs;
  PairVectors pair_vectors;
  WeightTile weight_tiles[kMaxTile][kMaxTile];       ///< [nk − 1][mc − 1]
  WeightTile weight_tiles_full[kMaxTile][kMaxTile];  ///< the same for vectors with every lane (mk unread)
  int cv_imax;                                       ///< channel-vector tiles: the most vectors I
  int cv_j[kMaxCvI];                                 ///< the most pairs J for I = 1 … cv_imax
  CvWeightTile cv_weight[kMaxCvI][kMaxCvJ];          ///< [I − 1][J − 1]
  XtWeightTile xt_weight[2][kMaxTile];               ///< [NV − 1][MC − 1], MC ≤ xt_mc[NV − 1]
  int xt_mc[2];                                      ///< the most output channels per tile, per NV (0: none)
  TransposeDy transpose_dy;
  PadRows pad_rows;
  /// The forward map packs rows (pack_rows): with mask registers a vector's second row merges into its
  /// first in one masked load. AVX2 merges with a second register and an OR, short of registers there:
  /// rows of 6 ran 1.16× slower packed (bench/README).
  bool packs_rows;
};

/// The tiles of each instruction set (null where this build or architecture has none).
const Kernels* avx512_kernels();
const Kernels* avx2_kernels();

/// The tiles for cpu_isa(), or null when it has none (baseline: the im2col path serves every shape).
const Kernels* active_kernels();

}  // namespace voxgrad::detail::direct
