#include "voxgrad/optim/detail/update_kernels.h"

#include <cmath>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/optim/detail/in_place.h"
#include "voxgrad/optim/detail/update_loop.h"

// This file is compiled with -ffp-contract=off (only the std::fma calls fuse, as ATen's ops do) and
// -fno-math-errno (std::sqrt vectorises; it is IEEE's correctly rounded square root either way). The
// element functions are always inlined into their loops (update_loop.h), one loop per combination of
// options.

namespace voxgrad::optim::detail {

void sgd_step_(Tensor& param, const Tensor& grad, Tensor* momentum_buffer, bool first, const SgdHyper& h) {
  check_like(param, grad, "SGD", "grad", "the parameter");
  if (momentum_buffer != nullptr) check_like(param, *momentum_buffer, "SGD", "momentum_buffer", "the parameter");
  const Tensor g = readable_grad(grad, param);
  InPlaceSet io({&param, momentum_buffer});
  voxgrad::detail::dispatch_floating(param.dtype(), "SGD", [&]<typename T>() {
    T* const p = io.data<T>(0);
    T* const buf = io.data<T>(1);
    const T* const gp = g.data_ptr<T>();
    const T wd = static_cast<T>(h.weight_decay), mom = static_cast<T>(h.momentum);
    const T one_minus_dampening = static_cast<T>(1.0 - h.dampening), neg_lr = static_cast<T>(-h.lr);
    with_flags(
        [&]<bool kMaximize, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>() {
          update_elements(
              param.numel(), [=](std::int64_t i) __attribute__((always_inline)) {
                T d = start_grad<kMaximize, kDecay>(gp[i], p[i], wd);
                if constexpr (kMomentum) {
                  const T b = kFirst ? d : std::fma(d, one_minus_dampening, buf[i] * mom);
                  buf[i] = b;
                  d = kNesterov ? std::fma(b, mom, d) : b;
                }
                p[i] = std::fma(d, neg_lr, p[i]);
              });
        },
        h.maximize, h.weight_decay != 0.0, buf != nullptr, first, h.nesterov);
  });
  io.finish();
}

void rmsprop_step_(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor* momentum_buffer, Tensor* grad_avg,
                   const RmspropHyper& h) {
  check_like(param, grad, "RMSprop", "grad", "the parameter");
  check_like(param, square_avg, "RMSprop", "square_avg", "the parameter");
  if (momentum_buffer != nullptr) check_like(param, *momentum_buffer, "RMSprop", "momentum_buffer", "the parameter");
  if (grad_avg != nullptr) check_like(param, *grad_avg, "RMSprop", "grad_avg", "the parameter");
  const Tensor g = readable_grad(grad, param);
  InPlaceSet io({&param, &square_avg, momentum_buffer, grad_avg});
  voxgrad::detail::dispatch_floating(param.dtype(), "RMSprop", [&]<typename T>() {
    T* const p = io.data<T>(0);
    T* const sq = io.data<T>(1);
    T* const buf = io.data<T>(2);
    T* const ga = io.data<T>(3);
    const T* const gp = g.data_ptr<T>();
    const T wd = static_cast<T>(h.weight_decay), alpha = static_cast<T>(h.alpha);
    const T one_minus_alpha = static_cast<T>(1.0 - h.alpha), eps = static_cast<T>(h.eps);
    const T mom = static_cast<T>(h.momentum), neg_lr = static_cast<T>(-h.lr);
    with_flags(
        [&]<bool kMaximize, bool kDecay, bool kCentered, bool kMomentum>() {
          update_elements(
              param.numel(), [=](std::int64_t i) __attribute__((always_inline)) {
                T d = start_grad<kMaximize, kDecay>(gp[i], p[i], wd);
                const T s = std::fma(one_minus_alpha * d, d, sq[i] * alpha);
                sq[i] = s;
                T avg;
                if constexpr (kCentered) {
                  const T a = std::fma(d, one_minus_alpha, ga[i] * alpha);
                  ga[i] = a;
                  avg = std::sqrt(std::fma(T(-1) * a, a, s)) + eps;  // addcmul_(square_avg, a, a, value = −1)
                } else {
                  avg = std::sqrt(s) + eps;
                }
                if constexpr (kMomentum) {
                  const T b = buf[i] * mom + T(1) * d / avg;  // addcdiv_(buf·mom, g, avg, value = 1)
                  buf[i] = b;
                  p[i] = std::fma(b, neg_lr, p[i]);
                } else {
                  p[i] = p[i] + neg_lr * d / avg;
                }
              });
        },
        h.maximize, h.weight_decay != 0.0, ga != nullptr, buf != nullptr);
  });
  io.finish();
}

void adagrad_step_(Tensor& param, const Tensor& grad, Tensor& sum, const AdagradHyper& h) {
  check_like(param, grad, "Adagrad", "grad", "the parameter");
  check_like(param, sum, "Adagrad", "sum", "the parameter");
  const Tensor g = readable_grad(grad, param);
  InPlaceSet io({&param, &sum});
  voxgrad::detail::dispatch_floating(param.dtype(), "Adagrad", [&]<typename T>() {
    T* const p = io.data<T>(0);
    T* const sm = io.data<T>(1);
    const T* const gp = g.data_ptr<T>();
    const T wd = static_cast<T>(h.weight_decay), eps = static_cast<T>(h.eps), neg_clr = static_cast<T>(-h.clr);
    with_flags(
        [&]<bool kMaximize, bool kDecay>() {
          update_elements(
              param.numel(), [=](std::int64_t i) __attribute__((always_inline)) {
                T d = start_grad<kMaximize, kDecay>(gp[i], p[i], wd);
                const T s = std::fma(T(1) * d, d, sm[i]);  // addcmul_(sum, g, g, value = 1)
                sm[i] = s;
                p[i] = p[i] + neg_clr * d / (std::sqrt(s) + eps);
              });
        },
        h.maximize, h.weight_decay != 0.0);
  });
  io.finish();
}

}  // namespace voxgrad::optim::detail
