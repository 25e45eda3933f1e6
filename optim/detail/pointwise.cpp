#include "voxgrad/optim/detail/pointwise.h"

#include <cmath>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/fma_loop.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/optim/detail/in_place.h"

namespace voxgrad::optim::detail {

namespace {

// self[i] = f(self[i], a[i], b[i]) for every element (b may be undefined: f then gets 0), over
// contiguous copies of the operands, written back into self (which may be a view); self's version is
// bumped, as every in-place op's.
// The operands are named as ATen's (other; tensor1 and tensor2) in the messages.
template <typename F>
void update(Tensor& self, const Tensor& a, const Tensor& b, const char* op, F&& f) {
  check_like(self, a, op, b.defined() ? "tensor1" : "other", "self");
  if (b.defined()) check_like(self, b, op, "tensor2", "self");
  const Tensor ac = a.contiguous(), bc = b.defined() ? b.contiguous() : Tensor();
  InPlace s(self);
  voxgrad::detail::dispatch_floating(self.dtype(), op, [&]<typename T>() {
    T* sp = s.work().data_ptr<T>();
    const T* ap = ac.data_ptr<T>();
    const T* bp = bc.defined() ? bc.data_ptr<T>() : nullptr;
    const voxgrad::detail::FmaLoop loop;
    voxgrad::detail::parallel_for(
        0, self.numel(), voxgrad::detail::kElementwiseGrain, [&](std::int64_t i0, std::int64_t i1) {
          loop(i0, i1, [&](std::int64_t i) { sp[i] = f(sp[i], ap[i], bp != nullptr ? bp[i] : T(0)); });
        });
  });
  s.finish();
}

}  // namespace

void add_scaled_(Tensor& self, const Tensor& other, double alpha) {
  update(self, other, Tensor(), "add_",
         [alpha]<typename T>(T s, T o, T) { return std::fma(o, static_cast<T>(alpha), s); });
}

Tensor add_scaled(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = a.clone();  // contiguous, one copy
  add_scaled_(out, b, alpha);
  return out;
}

void addcmul_(Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  update(self, t1, t2, "addcmul_",
         [value]<typename T>(T s, T a, T b) { return std::fma(static_cast<T>(value) * a, b, s); });
}

void addcdiv_(Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  update(self, t1, t2, "addcdiv_", [value]<typename T>(T s, T a, T b) { return s + static_cast<T>(value) * a / b; });
}

}  // namespace voxgrad::optim::detail
