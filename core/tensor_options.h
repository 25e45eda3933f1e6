#pragma once

#include "voxgrad/core/dtype.h"

namespace voxgrad {

/// Options for factory functions, as in libtorch: `zeros({2, 3}, dtype(kFloat64).requires_grad(true))`.
class TensorOptions {
 public:
  /// float32, no gradient.
  TensorOptions() = default;
  /// Lets a bare DType stand for the options: `zeros({2}, kFloat64)`.
  TensorOptions(DType d) : dtype_(d) {}  // NOLINT

  /// Returns a copy with the dtype set.
  TensorOptions dtype(DType d) const {
    TensorOptions o = *this;
    o.dtype_ = d;
    return o;
  }
  /// Returns a copy with requires_grad set.
  TensorOptions requires_grad(bool r) const {
    TensorOptions o = *this;
    o.requires_grad_ = r;
    return o;
  }

  /// The element type.
  DType dtype() const { return dtype_; }
  /// Whether the created tensor is a leaf that requires grad.
  bool requires_grad() const { return requires_grad_; }

 private:
  DType dtype_ = DType::Float32;
  bool requires_grad_ = false;
};

/// TensorOptions with the dtype set.
inline TensorOptions dtype(DType d) { return TensorOptions(d); }
/// TensorOptions with requires_grad set.
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace voxgrad
