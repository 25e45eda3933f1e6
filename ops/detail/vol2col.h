#pragma once
// Internal: the column matrix of a conv geometry (Caffe's im2col in 3-D) and its adjoint.
//
// One group's volume has cin_g() channels of vol[0] × vol[1] × vol[2] elements. Its column matrix has
// one row per (channel, kd, kh, kw) — rows() of them — and one column per output position (od, oh, ow)
// — out_size() of them. Entry (row, col) is the volume element at position o·stride − padding +
// k·dilation, or 0 where that lies in the padding. im2col3d gathers it; col2im3d scatters (adds) a
// column matrix back, the exact adjoint. Both run through one loop.

#include <cstdint>

#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// Writes columns [col_begin, col_end) of the column matrix of `vol` into `col`, a row-major
/// rows() × (col_end − col_begin) matrix.
template <typename T>
void im2col3d(const T* vol, const ConvGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* col);

/// The adjoint of im2col3d: adds columns [col_begin, col_end) of `col` (laid out as im2col3d writes
/// them) into the channels [c_begin, c_end) of `vol`. Calls for disjoint channel ranges never touch
/// the same element, so they may run in parallel.
template <typename T>
void col2im3d(const T* col, const ConvGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* vol,
              std::int64_t c_begin, std::int64_t c_end);

}  // namespace voxgrad::detail
