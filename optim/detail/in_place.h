#pragma once
// Internal: what the optimizers' in-place updates share: their operands' checks, whether a gradient
// aliases its parameter, and the tensor a loop over contiguous memory updates in place (a view's
// contiguous copy, written back).

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// Throws unless t has self's shape and dtype: "<op>: expected <name> of shape … and dtype … (as
/// <self_name>), but got shape … and dtype …".
void check_like(const Tensor& self, const Tensor& t, const char* op, const char* name, const char* self_name);

/// Whether a and b are views of one storage (a gradient that is, or overlaps, its parameter).
bool same_storage(const Tensor& a, const Tensor& b);

/// A tensor updated in place through contiguous memory: work() is the tensor itself when it is
/// contiguous, else a contiguous copy; finish() writes the copy back (or bumps the tensor's version, as
/// every in-place op does).
class InPlace {
 public:
  explicit InPlace(Tensor& target);
  Tensor& work() { return work_; }
  void finish();

 private:
  Tensor& target_;
  Tensor work_;
};

}  // namespace voxgrad::optim::detail
