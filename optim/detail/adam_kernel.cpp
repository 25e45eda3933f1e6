#include "voxgrad/optim/detail/adam_kernel.h"

#include <cmath>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/optim/detail/in_place.h"
#include "voxgrad/optim/detail/update_loop.h"

namespace voxgrad::optim::detail {

namespace {

template <typename T>
struct Operands {
  T *p, *m, *v, *mx;
  const T* g;
};

// AdamW's factor on the parameter, 1 − lr·wd, in double as Python computes it (this file is compiled
// with -ffp-contract=off).
double decoupled_decay(const AdamHyper& h) { return 1.0 - h.lr * h.weight_decay; }

// The scalars as ATen's ops take them: computed in double as Python computes them, then cast to the
// tensors' dtype.
template <typename T>
struct Constants {
  T param_scale, wd, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step;
  Constants(const AdamHyper& h, double step)
      : param_scale(static_cast<T>(decoupled_decay(h))),
        wd(static_cast<T>(h.weight_decay)),
        beta1(static_cast<T>(h.beta1)),
        one_minus_beta1(static_cast<T>(1.0 - h.beta1)),
        beta2(static_cast<T>(h.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - h.beta2)),
        bc2_sqrt(static_cast<T>(std::sqrt(1.0 - std::pow(h.beta2, step)))),
        eps(static_cast<T>(h.eps)),
        neg_step(static_cast<T>(-(h.lr / (1.0 - std::pow(h.beta1, step))))) {}
};

enum class Decay { none, coupled, decoupled };

// Element i of the update (adam_kernel.h's statements in order). The options are template arguments
// and the function is always inlined, so that the loop over elements has no branch and no call and
// vectorises (std::sqrt included: this file is compiled with -fno-math-errno).
template <typename T, bool kMaximize, Decay kDecay, bool kAmsgrad>
[[gnu::always_inline]] inline void update_element(const Operands<T>& o, const Constants<T>& c, std::int64_t i) {
  T p = o.p[i];
  const T g = start_grad<kMaximize, kDecay == Decay::coupled>(o.g[i], p, c.wd);
  if constexpr (kDecay == Decay::decoupled) p = p * c.param_scale;
  const T m = std::fma(g, c.one_minus_beta1, o.m[i] * c.beta1);
  T v = std::fma(c.one_minus_beta2 * g, g, o.v[i] * c.beta2);
  o.m[i] = m;
  o.v[i] = v;
  if constexpr (kAmsgrad) {
    // torch.maximum(mx, v): NaN where either is NaN.
    v = o.mx[i] >= v || o.mx[i] != o.mx[i] ? o.mx[i] : v;
    o.mx[i] = v;
  }
  const T denom = std::sqrt(v) / c.bc2_sqrt + c.eps;
  o.p[i] = p + c.neg_step * m / denom;
}

}  // namespace

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor* max_exp_avg_sq,
                const AdamHyper& h, double step) {
  const char* op = h.decoupled ? "AdamW" : "Adam";
  check_like(param, grad, op, "grad", "the parameter");
  check_like(param, exp_avg, op, "exp_avg", "the parameter");
  check_like(param, exp_avg_sq, op, "exp_avg_sq", "the parameter");
  if (max_exp_avg_sq != nullptr) check_like(param, *max_exp_avg_sq, op, "max_exp_avg_sq", "the parameter");
  Decay decay = h.decoupled ? Decay::decoupled : h.weight_decay != 0.0 ? Decay::coupled : Decay::none;
  // A gradient that is (a view of) the parameter: PyTorch's statements read it after AdamW's
  // param *= 1 − lr·wd (unless maximize negated it into a new tensor before), and the loop below must
  // not read what it writes, so it reads a copy.
  const bool aliased = same_storage(grad, param);
  if (aliased && decay == Decay::decoupled && !h.maximize) {
    param.mul_(decoupled_decay(h));
    decay = Decay::none;
  }
  const Tensor g = readable_grad(grad, param);
  InPlaceSet io({&param, &exp_avg, &exp_avg_sq, max_exp_avg_sq});
  voxgrad::detail::dispatch_floating(param.dtype(), op, [&]<typename T>() {
    const Operands<T> o{io.data<T>(0), io.data<T>(1), io.data<T>(2), io.data<T>(3), g.data_ptr<T>()};
    const Constants<T> c(h, step);
    with_flags(
        [&]<bool kMaximize, bool kDecoupled, bool kCoupled, bool kAmsgrad>() {
          constexpr Decay kDecay = kDecoupled ? Decay::decoupled : kCoupled ? Decay::coupled : Decay::none;
          update_elements(param.numel(),
                          [=](std::int64_t i) { update_element<T, kMaximize, kDecay, kAmsgrad>(o, c, i); });
        },
        h.maximize, decay == Decay::decoupled, decay == Decay::coupled, max_exp_avg_sq != nullptr);
  });
  io.finish();
}

}  // namespace voxgrad::optim::detail
