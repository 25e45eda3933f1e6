#pragma once
// Test helpers for (C, D, H, W) volumes: naive element access and a strided, offset view.

#include "test_util.h"

namespace voxgrad::testing {

/// `v` (C, D, H, W) at (c, d, h, w), read through its strides.
inline double at4(const Tensor& v, std::int64_t c, std::int64_t d, std::int64_t h, std::int64_t w) {
  return v.select(0, c).select(0, d).select(0, h).select(0, w).item<double>();
}

/// A volume with the values of `v` whose memory is permuted and offset: a (D+1, C, W, H) buffer
/// permuted to (C, D+1, H, W) and narrowed to drop the first depth slice.
inline Tensor strided_copy(const Tensor& v) {
  const Tensor base = zeros({v.size(1) + 1, v.size(0), v.size(3), v.size(2)}, v.dtype());
  Tensor view = base.permute({1, 0, 3, 2}).narrow(1, 1, v.size(1));
  view.copy_(v);
  EXPECT_FALSE(view.is_contiguous());
  return view;
}

}  // namespace voxgrad::testing
