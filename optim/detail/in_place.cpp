#include "voxgrad/optim/detail/in_place.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/storage.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::optim::detail {

void check_like(const Tensor& self, const Tensor& t, const char* op, const char* name, const char* self_name) {
  VOXGRAD_CHECK(t.sizes() == self.sizes() && t.dtype() == self.dtype(),
                "{}: expected {} of shape {} and dtype {} (as {}), but got shape {} and dtype {}", op, name,
                shape_str(self.sizes()), self.dtype(), self_name, shape_str(t.sizes()), t.dtype());
}

bool same_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

Tensor readable_grad(const Tensor& grad, const Tensor& param) {
  return same_storage(grad, param) ? grad.clone() : grad.contiguous();
}

InPlace::InPlace(Tensor& target) : target_(target), work_(target.is_contiguous() ? target : target.contiguous()) {}

void InPlace::finish() {
  if (target_.is_contiguous()) {
    target_.impl()->storage->bump_version();
  } else {
    target_.copy_(work_);
  }
}

}  // namespace voxgrad::optim::detail
