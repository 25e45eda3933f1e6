#pragma once
// Internal: the loops behind every elementwise op. `op` is a generic lambda on scalars of type T.

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/ops/detail/loops.h"

namespace voxgrad::detail {

/// PyTorch's clamp of one value: min(max(p, lo), hi), so hi wherever lo > hi; NaN stays NaN.
template <typename T>
T clamp_value(T p, T lo, T hi) {
  if (p != p) return p;
  const T raised = p < lo ? lo : p;  // std::max(p, lo)
  return hi < raised ? hi : raised;  // std::min(raised, hi)
}

/// out[i] = op(x[i]) into a new contiguous tensor of x's dtype (float32/float64 only).
template <typename Op>
Tensor unary_kernel(const Tensor& x, const char* name, Op op) {
  Tensor out = empty(x.sizes(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    const StridedShape<2> it(x.sizes(), {out.strides(), x.strides()});
    T* po = out.data_ptr<T>();
    const T* px = x.data_ptr<T>();
    it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
      T* o = po + off[0];
      const T* a = px + off[1];
      if (st[1] == 1) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(a[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(a[i * st[1]]);
      }
    });
  });
  return out;
}

/// out = op(a, b) broadcast, into `out` (contiguous, of the broadcast shape and a's dtype; it may be
/// a or b itself when that has this shape and is contiguous); a and b must share a floating dtype.
template <typename Op>
void binary_kernel_into(Tensor& out, const Tensor& a, const Tensor& b, const char* name, Op op) {
  const Shape& shape = out.sizes();
  dispatch_floating(a.dtype(), name, [&]<typename T>() {
    const StridedShape<3> it(shape, {out.strides(), broadcast_strides(a.sizes(), a.strides(), shape),
                                     broadcast_strides(b.sizes(), b.strides(), shape)});
    T* po = out.data_ptr<T>();
    const T* pa = a.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
      T* o = po + off[0];
      const T* x = pa + off[1];
      const T* y = pb + off[2];
      // The common layouts get their own loops so the compiler can vectorise them.
      if (st[1] == 1 && st[2] == 1) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i]);
      } else if (st[1] == 1 && st[2] == 0) {
        const T yv = *y;
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(x[i], yv);
      } else if (st[1] == 0 && st[2] == 1) {
        const T xv = *x;
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(xv, y[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(x[i * st[1]], y[i * st[2]]);
      }
    });
  });
}

/// out = op(a, b) broadcast, into a new contiguous tensor; a and b must share a floating dtype.
template <typename Op>
Tensor binary_kernel(const Tensor& a, const Tensor& b, const char* name, Op op) {
  Tensor out = empty(broadcast_shapes(a.sizes(), b.sizes(), name), a.dtype());
  binary_kernel_into(out, a, b, name, op);
  return out;
}

}  // namespace voxgrad::detail
