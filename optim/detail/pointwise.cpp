#include "voxgrad/optim/detail/pointwise.h"

#include <cmath>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"

namespace voxgrad::optim::detail {

namespace {

// s[i] = f(s[i], a[i], b[i]) over contiguous copies of the operands, written back into self (which
// may be a view).
template <typename F>
void pointwise3(Tensor& self, const Tensor& t1, const Tensor& t2, const char* op, F&& f) {
  VOXGRAD_CHECK(t1.sizes() == self.sizes() && t2.sizes() == self.sizes() && t1.dtype() == self.dtype() &&
                    t2.dtype() == self.dtype(),
                "{}: expected operands of self's shape {} and dtype, but got {} and {}", op, shape_str(self.sizes()),
                shape_str(t1.sizes()), shape_str(t2.sizes()));
  const Tensor a = t1.contiguous(), b = t2.contiguous();
  Tensor s = self.is_contiguous() ? self : self.contiguous();
  voxgrad::detail::dispatch_floating(self.dtype(), op, [&]<typename T>() {
    T* sp = s.data_ptr<T>();
    const T* ap = a.data_ptr<T>();
    const T* bp = b.data_ptr<T>();
    const std::int64_t n = s.numel();
    for (std::int64_t i = 0; i < n; ++i) sp[i] = f(sp[i], ap[i], bp[i]);
  });
  if (!self.is_contiguous()) self.copy_(s);
}

}  // namespace

void addcmul_(Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  pointwise3(self, t1, t2, "addcmul_",
             [value]<typename T>(T s, T a, T b) { return std::fma(static_cast<T>(value) * a, b, s); });
}

void addcdiv_(Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  pointwise3(self, t1, t2, "addcdiv_",
             [value]<typename T>(T s, T a, T b) { return s + static_cast<T>(value) * a / b; });
}

}  // namespace voxgrad::optim::detail
