#include "voxgrad/optim/detail/adam_kernel.h"

#include <cmath>
#include <optional>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/fma_loop.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/core/storage.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::optim::detail {

namespace {

void check_operand(const Tensor& param, const Tensor& t, const char* name, const char* op) {
  VOXGRAD_CHECK(t.sizes() == param.sizes() && t.dtype() == param.dtype(),
                "{}: expected {} of the parameter's shape {} and dtype {}, but got shape {} and dtype {}", op, name,
                shape_str(param.sizes()), param.dtype(), shape_str(t.sizes()), t.dtype());
}

// A tensor updated in place: its contiguous self, or a contiguous copy written back by finish().
struct InPlace {
  Tensor& target;
  Tensor work;
  explicit InPlace(Tensor& t) : target(t), work(t.is_contiguous() ? t : t.contiguous()) {}
  void finish() {
    if (target.is_contiguous()) {
      target.impl()->storage->bump_version();
    } else {
      target.copy_(work);
    }
  }
};

template <typename T>
struct Operands {
  T *p, *m, *v, *mx;
  const T* g;
};

// The scalars as ATen's ops take them: cast to the tensors' dtype.
template <typename T>
struct Constants {
  T param_scale, wd, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step;
  explicit Constants(const AdamStepScalars& k)
      : param_scale(static_cast<T>(k.param_scale)),
        wd(static_cast<T>(k.weight_decay)),
        beta1(static_cast<T>(k.beta1)),
        one_minus_beta1(static_cast<T>(1.0 - k.beta1)),
        beta2(static_cast<T>(k.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - k.beta2)),
        bc2_sqrt(static_cast<T>(k.bias_correction2_sqrt)),
        eps(static_cast<T>(k.eps)),
        neg_step(static_cast<T>(-k.step_size)) {}
};

enum class Decay { none, coupled, decoupled };

// Element i of the update (adam_kernel.h's statements in order). The options are template arguments
// and the function is always inlined, so that the loop over elements has no branch and no call and
// vectorises (std::sqrt included: this file is compiled with -fno-math-errno).
template <typename T, bool kMaximize, Decay kDecay, bool kAmsgrad>
[[gnu::always_inline]] inline void update_element(const Operands<T>& o, const Constants<T>& c, std::int64_t i) {
  T g = kMaximize ? -o.g[i] : o.g[i];
  T p = o.p[i];
  if constexpr (kDecay == Decay::decoupled) p = p * c.param_scale;
  if constexpr (kDecay == Decay::coupled) g = std::fma(p, c.wd, g);
  const T m = std::fma(g, c.one_minus_beta1, o.m[i] * c.beta1);
  T v = std::fma(c.one_minus_beta2 * g, g, o.v[i] * c.beta2);
  o.m[i] = m;
  o.v[i] = v;
  if constexpr (kAmsgrad) {
    // torch.maximum as the statement-by-statement update takes it: where(max >= v, max, v).
    v = o.mx[i] >= v ? o.mx[i] : v;
    o.mx[i] = v;
  }
  const T denom = std::sqrt(v) / c.bc2_sqrt + c.eps;
  o.p[i] = p + c.neg_step * m / denom;
}

template <typename T, bool kMaximize, Decay kDecay, bool kAmsgrad>
void update_all(const Operands<T>& o, const Constants<T>& c, std::int64_t n) {
  const voxgrad::detail::FmaLoop loop;
  voxgrad::detail::parallel_for(0, n, voxgrad::detail::kElementwiseGrain, [&](std::int64_t i0, std::int64_t i1) {
    loop(i0, i1, [&](std::int64_t i) { update_element<T, kMaximize, kDecay, kAmsgrad>(o, c, i); });
  });
}

template <typename T, bool kMaximize, Decay kDecay>
void update_all(const Operands<T>& o, const Constants<T>& c, std::int64_t n, bool amsgrad) {
  if (amsgrad) return update_all<T, kMaximize, kDecay, true>(o, c, n);
  update_all<T, kMaximize, kDecay, false>(o, c, n);
}

template <typename T, bool kMaximize>
void update_all(const Operands<T>& o, const Constants<T>& c, std::int64_t n, const AdamStepScalars& k) {
  const bool amsgrad = o.mx != nullptr;
  if (k.decoupled) return update_all<T, kMaximize, Decay::decoupled>(o, c, n, amsgrad);
  if (k.weight_decay != 0.0) return update_all<T, kMaximize, Decay::coupled>(o, c, n, amsgrad);
  update_all<T, kMaximize, Decay::none>(o, c, n, amsgrad);
}

}  // namespace

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor* max_exp_avg_sq,
                const AdamStepScalars& k) {
  const char* op = k.decoupled ? "AdamW" : "Adam";
  check_operand(param, grad, "grad", op);
  check_operand(param, exp_avg, "exp_avg", op);
  check_operand(param, exp_avg_sq, "exp_avg_sq", op);
  if (max_exp_avg_sq != nullptr) check_operand(param, *max_exp_avg_sq, "max_exp_avg_sq", op);
  const Tensor g = grad.contiguous();
  InPlace p(param), m(exp_avg), v(exp_avg_sq);
  std::optional<InPlace> mx;
  if (max_exp_avg_sq != nullptr) mx.emplace(*max_exp_avg_sq);
  voxgrad::detail::dispatch_floating(param.dtype(), op, [&]<typename T>() {
    const Operands<T> o{p.work.data_ptr<T>(), m.work.data_ptr<T>(), v.work.data_ptr<T>(),
                        mx ? mx->work.data_ptr<T>() : nullptr, g.data_ptr<T>()};
    const Constants<T> c(k);
    if (k.maximize) return update_all<T, true>(o, c, param.numel(), k);
    update_all<T, false>(o, c, param.numel(), k);
  });
  p.finish();
  m.finish();
  v.finish();
  if (mx) mx->finish();
}

}  // namespace voxgrad::optim::detail
