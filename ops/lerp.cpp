#include "voxgrad/ops/lerp.h"

#include <cmath>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/fma_loop.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;

namespace {

// ATen's lerp (Lerp.h): the branch on |weight| keeps the result exact at both ends. Each branch is one
// fused multiply-add, as in ATen's vectorised CPU kernel (fmadd(coeff, end − start, base), coeff = weight
// or weight − 1): explicit, so that no build flag changes the bits.
template <typename T>
T lerp_value(T start, T end, T weight) {
  return std::abs(weight) < T(0.5) ? std::fma(weight, end - start, start) : std::fma(weight - T(1), end - start, end);
}

void check_same_dtype(const Tensor& start, const Tensor& other, const char* arg) {
  VOXGRAD_CHECK(other.dtype() == start.dtype(), "lerp: expected dtype {} for `{}` but got dtype {} (start is {})",
                dtype_name(start.dtype()), arg, dtype_name(other.dtype()), dtype_name(start.dtype()));
}

// The forward, without autograd: weight is the tensor `w` when defined, else `scalar`.
Tensor lerp_kernel(const Tensor& start, const Tensor& end, const Tensor& w, double scalar) {
  Shape shape = broadcast_shapes(start.sizes(), end.sizes(), "lerp");
  if (w.defined()) shape = broadcast_shapes(shape, w.sizes(), "lerp");
  Tensor out = empty(shape, start.dtype());
  detail::dispatch_floating(start.dtype(), "lerp", [&]<typename T>() {
    const T weight_value = static_cast<T>(scalar);
    const detail::StridedShape<4> it(
        shape, {out.strides(), detail::broadcast_strides(start.sizes(), start.strides(), shape),
                detail::broadcast_strides(end.sizes(), end.strides(), shape),
                w.defined() ? detail::broadcast_strides(w.sizes(), w.strides(), shape) : Shape(shape.size(), 0)});
    T* po = out.data_ptr<T>();
    const T* ps = start.data_ptr<T>();
    const T* pe = end.data_ptr<T>();
    const T* pw = w.defined() ? w.data_ptr<T>() : &weight_value;
    const detail::FmaLoop loop;
    it.parallel([&](const auto& off, std::int64_t n, const auto& st) {
      T* o = po + off[0];
      const T* s = ps + off[1];
      const T* e = pe + off[2];
      const T* wt = pw + off[3];
      // Contiguous rows with a scalar or contiguous weight (the usual case) as plain arrays, a loop the
      // compiler vectorises; any other strides element by element.
      const bool rows = st[0] == 1 && st[1] == 1 && st[2] == 1;
      if (rows && st[3] == 0) {
        const T wv = *wt;
        return loop(0, n, [=](std::int64_t i) { o[i] = lerp_value(s[i], e[i], wv); });
      }
      if (rows && st[3] == 1) {
        return loop(0, n, [=](std::int64_t i) { o[i] = lerp_value(s[i], e[i], wt[i]); });
      }
      loop(0, n, [&](std::int64_t i) { o[i * st[0]] = lerp_value(s[i * st[1]], e[i * st[2]], wt[i * st[3]]); });
    });
  });
  return out;
}

void check_operands(const Tensor& start, const Tensor& end) {
  detail::check_defined(start, "lerp", "start");
  detail::check_defined(end, "lerp", "end");
  detail::check_floating(start, "lerp");
  check_same_dtype(start, end, "end");
}

}  // namespace

Tensor lerp(const Tensor& start, const Tensor& end, double weight) {
  check_operands(start, end);
  Tensor out = lerp_kernel(start, end, Tensor(), weight);
  record("LerpBackward", start, end, out, {}, [weight, ss = start.sizes(), es = end.sizes()](const BackwardCtx& c) {
    std::vector<Tensor> grads(2);
    if (c.needs_input_grad(0)) grads[0] = (c.grad() * (1.0 - weight)).sum_to_size(ss);
    if (c.needs_input_grad(1)) grads[1] = (c.grad() * weight).sum_to_size(es);
    return grads;
  });
  return out;
}

Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  check_operands(start, end);
  detail::check_defined(weight, "lerp", "weight");
  check_same_dtype(start, weight, "weight");
  Tensor out = lerp_kernel(start, end, weight, 0.0);
  const Tensor inputs[3] = {start, end, weight};
  Tensor outputs[1] = {out};
  const bool need_w = weight.requires_grad();
  record("LerpBackward", inputs, outputs,
         {save_for_backward(start.requires_grad() || end.requires_grad() ? weight : Tensor()),
          save_for_backward(need_w ? start : Tensor()), save_for_backward(need_w ? end : Tensor())},
         [ss = start.sizes(), es = end.sizes(), ws = weight.sizes()](const BackwardCtx& c) {
           std::vector<Tensor> grads(3);
           const Tensor& g = c.grad();
           if (c.needs_input_grad(0)) grads[0] = (g * rsub(c.saved[0], 1.0)).sum_to_size(ss);
           if (c.needs_input_grad(1)) grads[1] = (g * c.saved[0]).sum_to_size(es);
           if (c.needs_input_grad(2)) grads[2] = (g * (c.saved[2] - c.saved[1])).sum_to_size(ws);
           return grads;
         });
  return out;
}

}  // namespace voxgrad
