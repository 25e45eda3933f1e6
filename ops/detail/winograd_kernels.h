#pragma once
// Internal: the transforms of Winograd's F(2×2×2, 3×3×3) convolution (winograd.h), compiled once per
// instruction set (winograd_avx512.cpp, winograd_avx2.cpp from the one template in winograd_impl.h, on
// 8-lane vectors of tiles) and picked at run time from cpu_isa().
//
// Along one dim, F(2, 3) computes two outputs of a 3-tap correlation from four inputs d with four
// products: y = Aᵀ [(G g) ⊙ (Bᵀ d)], where
//   Bᵀ = | 1  0 −1  0 |     G = | 1    0    0  |     Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |         | ½    ½    ½  |          | 0  1 −1 −1 |
//        | 0 −1  1  0 |         | ½   −½    ½  |
//        | 0  1  0 −1 |         | 0    0    1  |
// and in 3-D the same matrices along each dim: a tile of 2³ outputs reads 4³ inputs and takes 4³
// products per (input channel, output channel) instead of 27 · 8, their sums over input channels being
// 64 independent matrix products. Tiles start every 2 outputs, so neighbouring tiles' inputs overlap
// by 2. Transformed values are indexed ξ = (a·4 + b)·4 + c for the transformed positions a, b, c
// along D, H, W.
//
// Like direct_kernels.h, this header holds only plain data and declarations.

#include <cstdint>

namespace voxgrad::detail::winograd {

/// One tile row: tiles tw in [tw0, tw1) at tile (td, th) of a volume.
struct TileRow {
  std::int64_t td, th, tw0, tw1;
};

/// input_row reads a padded copy (winograd.cpp) whose rows are split by column parity: a channel's
/// `plane` in rows of `rs` floats and planes of `ps` floats, a row holding its even columns from its
/// start and its odd ones from `half` on, with every value a tile reads (zeros outside the data). Tile
/// (td, th, tw) reads the 4³ inputs of columns 2·tw … from rows (2·td + i, 2·th + j):
/// plane + (2·td + i)·ps + (2·th + j)·rs + tw (+ half for the odd columns).
///
/// input_row writes the 64 transformed inputs Bᵀ d B of each tile of row r: dst[ξ·xs + tw − tw0].
using InputRow = void (*)(const float* plane, std::int64_t ps, std::int64_t rs, std::int64_t half, const TileRow& r,
                          float* dst, std::int64_t xs);

/// For one output channel: y = Aᵀ m A + bias for each tile of row r, m[ξ·ms + tw − tw0] its 64 sums
/// (each of the 64 rows readable for 7 values past the row's last tile), stored into `plane` (an
/// out[0] × out[1] × out[2] volume) at (2·td, 2·th, 2·tw) where inside it.
using OutputRow = void (*)(const float* m, std::int64_t ms, float bias, float* plane, const std::int64_t* out,
                           const TileRow& r);

struct Transforms {
  const char* isa;
  InputRow input_row;
  OutputRow output_row;
};

namespace avx512 {
/// The AVX-512 build of the transforms (null where this build or architecture has none).
const Transforms* transforms();
}  // namespace avx512
namespace avx2 {
/// The AVX2 + FMA build of the transforms (null where none).
const Transforms* transforms();
}  // namespace avx2

}  // namespace voxgrad::detail::winograd
