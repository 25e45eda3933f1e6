#pragma once
// Internal: the column layout shared by conv3d and conv_transpose3d (Caffe's im2col in 3-D).
//
// A volume has `channels` × vol[0] × vol[1] × vol[2] elements. Its column matrix has one row per
// (channel, kd, kh, kw) — rows() = channels · kD·kH·kW — and one column per output position
// (od, oh, ow) — cols() = out[0]·out[1]·out[2]. Entry (row, col) is the volume element at
// position o·stride − padding + k·dilation, or 0 where that lies in the padding.

#include <array>
#include <cstdint>

namespace voxgrad::detail {

/// Sizes and hyper-parameters of one (sample, group) volume and its column matrix.
struct VolGeometry {
  std::int64_t channels = 0;
  std::array<std::int64_t, 3> vol{}, out{}, kernel{}, stride{}, padding{}, dilation{};

  std::int64_t kernel_volume() const { return kernel[0] * kernel[1] * kernel[2]; }
  std::int64_t rows() const { return channels * kernel_volume(); }
  std::int64_t cols() const { return out[0] * out[1] * out[2]; }
  std::int64_t vol_size() const { return vol[0] * vol[1] * vol[2]; }
};

/// Writes columns [col_begin, col_end) of the column matrix of `vol` into `col`, a row-major
/// rows() × (col_end − col_begin) matrix.
template <typename T>
void im2col3d(const T* vol, const VolGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* col);

/// The adjoint of im2col3d: adds columns [col_begin, col_end) of `col` (laid out as im2col3d
/// writes them) into the channels [c_begin, c_end) of `vol`. Calls for disjoint channel ranges
/// never touch the same element, so they may run in parallel.
template <typename T>
void col2im3d(const T* col, const VolGeometry& g, std::int64_t col_begin, std::int64_t col_end, T* vol,
              std::int64_t c_begin, std::int64_t c_end);

}  // namespace voxgrad::detail
