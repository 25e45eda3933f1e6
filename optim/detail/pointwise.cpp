#include "voxgrad/optim/detail/pointwise.h"

#include <cmath>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/fma_loop.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/storage.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::optim::detail {

namespace {

// self[i] = f(self[i], a[i], b[i]) for every element (b may be undefined: f then gets 0), over
// contiguous copies of the operands, written back into self (which may be a view); self's version is
// bumped, as every in-place op's.
template <typename F>
void update(Tensor& self, const Tensor& a, const Tensor& b, const char* op, F&& f) {
  for (const Tensor* t : {&a, &b}) {
    if (!t->defined()) continue;
    VOXGRAD_CHECK(t->sizes() == self.sizes() && t->dtype() == self.dtype(),
                  "{}: expected operands of self's shape {} and dtype {}, but got shape {} and dtype {}", op,
                  shape_str(self.sizes()), self.dtype(), shape_str(t->sizes()), t->dtype());
  }
  const Tensor ac = a.contiguous(), bc = b.defined() ? b.contiguous() : Tensor();
  Tensor s = self.is_contiguous() ? self : self.contiguous();
  voxgrad::detail::dispatch_floating(self.dtype(), op, [&]<typename T>() {
    T* sp = s.data_ptr<T>();
    const T* ap = ac.data_ptr<T>();
    const T* bp = bc.defined() ? bc.data_ptr<T>() : nullptr;
    const voxgrad::detail::FmaLoop loop;
    voxgrad::detail::parallel_for(
        0, s.numel(), voxgrad::detail::kElementwiseGrain, [&](std::int64_t i0, std::int64_t i1) {
          loop(i0, i1, [&](std::int64_t i) { sp[i] = f(sp[i], ap[i], bp != nullptr ? bp[i] : T(0)); });
        });
  });
  if (!self.is_contiguous()) {
    self.copy_(s);
  } else {
    self.impl()->storage->bump_version();
  }
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
