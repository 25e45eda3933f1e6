#include "voxgrad/autograd/clear_grad.h"

#include "voxgrad/core/factory.h"

namespace voxgrad {

void clear_grad(const Tensor& param, bool set_to_none) {
  Tensor g = param.grad();
  if (!g.defined()) return;
  if (set_to_none) {
    param.set_grad(Tensor());
  } else if (g.grad_fn() != nullptr || g.requires_grad()) {
    // A gradient built with create_graph: replace it by detached zeros, as PyTorch's detach_().
    param.set_grad(zeros_like(g));
  } else {
    g.zero_();
  }
}

}  // namespace voxgrad
