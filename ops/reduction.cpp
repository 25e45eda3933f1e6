#include "voxgrad/ops/reduction.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/cumulative.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/loops.h"
#include "voxgrad/ops/detail/reduce_loops.h"
#include "voxgrad/ops/detail/select_backward.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/reorder.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;
using autograd::save_output_for_backward;

namespace {

// Which dims a reduction removes. An empty list means all of them, as in PyTorch.
std::vector<bool> reduce_mask(const Tensor& a, IntArrayRef dims, const char* op) {
  const std::int64_t nd = a.dim();
  std::vector<bool> mask(static_cast<std::size_t>(nd), dims.empty());
  for (std::int64_t d : dims) {
    const std::int64_t w = wrap_dim(d, nd, op);
    if (nd == 0) continue;
    VOXGRAD_CHECK(!mask[w], "{}: dim {} appears multiple times in the list of dims", op, w);
    mask[w] = true;
  }
  return mask;
}

// The number of elements each output of a reduction over the dims in `mask` takes.
std::int64_t reduced_count(const Tensor& a, const std::vector<bool>& mask) {
  std::int64_t count = 1;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) count *= a.sizes()[d];
  }
  return count;
}

Shape dropdim_shape(const Tensor& a, const std::vector<bool>& mask) {
  Shape s;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (!mask[d]) s.push_back(a.sizes()[d]);
  }
  return s;
}

// Sum over the masked dims, in keepdim shape, without autograd.
Tensor sum_kernel(const Tensor& a, const std::vector<bool>& mask) {
  return detail::dispatch_floating(a.dtype(), "sum", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      return detail::reduce<T>(
          a, mask, 0.0, [](double& acc, T v) { acc += v; }, [](double& acc, double p) { acc += p; },
          [](double acc) { return static_cast<T>(acc); });
    } else {
      return detail::reduce<T>(
          a, mask, detail::CompensatedSum{}, [](detail::CompensatedSum& acc, T v) { acc.add(v); },
          [](detail::CompensatedSum& acc, const detail::CompensatedSum& p) {
            acc.add(p.sum);
            if (std::isfinite(p.sum)) acc.add(p.comp);
          },
          [](const detail::CompensatedSum& acc) { return static_cast<T>(acc.value()); });
    }
  });
}

// Largest (is_max) or smallest element over the masked dims; NaN wins, as in PyTorch. The rule picks
// with `|` and `&` rather than branches, so that a block of outputs runs as vectors (reduce_block).
Tensor extreme_kernel(const Tensor& a, const std::vector<bool>& mask, bool is_max, const char* op) {
  return detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
    const auto run = [&]<bool kMax>() {
      const auto pick = [](T& acc, T v) {
        const bool better = (v != v) | ((acc == acc) & (kMax ? v > acc : v < acc));
        acc = better ? v : acc;
      };
      const T init = kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
      return detail::reduce<T>(a, mask, init, pick, pick, [](T acc) { return acc; });
    };
    return is_max ? run.template operator()<true>() : run.template operator()<false>();
  });
}

Tensor extreme_all(const Tensor& a, bool is_max) {
  const char* op = is_max ? "max" : "min";
  detail::check_defined(a, op);
  VOXGRAD_CHECK(a.numel() > 0,
                "{}: expected a reduction dim to be specified for an input with no elements (shape "
                "{}); use {}(dim) instead",
                op, shape_str(a.sizes()), op);
  Tensor out = extreme_kernel(a, std::vector<bool>(a.dim(), true), is_max, op).reshape({});
  record(is_max ? "MaxBackward" : "MinBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [](const BackwardCtx& c) {
           // The gradient is split evenly among all elements equal to the result; a NaN result
           // matches the NaN elements (PyTorch's evenly_distribute_backward).
           return std::vector<Tensor>{detail::evenly_distribute_backward(c.grad(), c.saved[0], c.saved[1])};
         });
  return out;
}

std::tuple<Tensor, Tensor> extreme_dim(const Tensor& a, std::int64_t dim, bool keepdim, bool is_max, const char* op) {
  detail::check_defined(a, op);
  const std::int64_t nd = a.dim();
  const std::int64_t d = wrap_dim(dim, nd, op);
  const std::int64_t len = nd == 0 ? 1 : a.size(d);
  VOXGRAD_CHECK(len > 0, "{}: expected reduction dim {} to have non-zero size (input shape {})", op, d,
                shape_str(a.sizes()));
  std::vector<bool> mask(static_cast<std::size_t>(nd), false);
  if (nd > 0) mask[d] = true;
  const Shape keep = detail::keepdim_shape(a, mask);
  Tensor values = empty(keep, a.dtype());
  Tensor indices = empty(keep, kInt64);
  detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
    const std::int64_t step = nd == 0 ? 0 : a.strides()[d];
    const auto outer = detail::slice_starts<1>(a.sizes(), d, {a.strides()});
    const T* pa = a.data_ptr<T>();
    T* pv = values.data_ptr<T>();
    std::int64_t* pi = indices.data_ptr<std::int64_t>();
    // Each output walks its slice from the first element and takes a later one only when it is NaN
    // or strictly better, and never once it holds a NaN: the first maximum (or NaN) and its index.
    // Outputs run in blocks (for_output_blocks, as reduce's); the rule picks with | and & so that a
    // block's loop has no branch.
    const auto run = [&]<bool kMax>() {
      detail::parallel_for(0, outer.numel, detail::slice_grain(len), [&](std::int64_t mb, std::int64_t me) {
        T best[detail::kBlockOutputs];
        std::int64_t at[detail::kBlockOutputs];
        std::int64_t m = mb;
        outer.for_range(mb, me, [&](const auto& off, std::int64_t n, const auto& st) {
          detail::for_output_blocks(n, st[0], [&](std::int64_t j0, std::int64_t count) {
            // Locals: the stores to `at` (int64) could otherwise change them, as far as the compiler
            // knows, and the loops would reload them and not vectorise.
            const std::int64_t os = st[0], slice_step = step, slice_len = len, m0 = m;
            const T* p = pa + off[0] + j0 * os;
            for (std::int64_t e = 0; e < count; ++e) {
              best[e] = p[e * os];
              at[e] = 0;
            }
            for (std::int64_t k = 1; k < slice_len; ++k) {
              const T* row = p + k * slice_step;
              for (std::int64_t e = 0; e < count; ++e) {
                const T v = row[e * os], b = best[e];
                const bool take = (b == b) & ((v != v) | (kMax ? v > b : v < b));
                best[e] = take ? v : b;
                at[e] = take ? k : at[e];
              }
            }
            for (std::int64_t e = 0; e < count; ++e) {
              pv[m0 + e] = best[e];
              pi[m0 + e] = at[e];
            }
            m = m0 + count;
          });
        });
      });
    };
    if (is_max) {
      run.template operator()<true>();
    } else {
      run.template operator()<false>();
    }
  });
  if (!keepdim && nd > 0) {
    values = values.squeeze(d).detach();
    indices = indices.squeeze(d).detach();
  }
  // The gradient goes to the selected element: a one-hot mask built from the indices.
  const Tensor onehot = [&] {
    if (!autograd::any_requires_grad({&a})) return Tensor();
    Tensor m = zeros(a.sizes(), a.dtype());
    const Tensor idx = keepdim || nd == 0 ? indices : indices.unsqueeze(d);
    detail::dispatch_floating(a.dtype(), op, [&]<typename T>() {
      T* pm = m.data_ptr<T>();
      const std::int64_t* pi = idx.data_ptr<std::int64_t>();
      const std::int64_t dstride = nd == 0 ? 0 : m.strides()[d];
      // Walk the index tensor and the matching (dim d = 0) positions of the mask together.
      const detail::StridedShape<2> it(idx.sizes(), {idx.strides(), m.strides()});
      it.for_range(0, it.numel, [&](const auto& off, std::int64_t n, const auto& st) {
        for (std::int64_t j = 0; j < n; ++j) {
          pm[off[1] + j * st[1] + pi[off[0] + j * st[0]] * dstride] = T(1);
        }
      });
    });
    return m;
  }();
  record(is_max ? "MaxBackward" : "MinBackward", a, values, {save_for_backward(onehot)},
         [d, keepdim, nd](const BackwardCtx& c) {
           const Tensor g = keepdim || nd == 0 ? c.grad() : c.grad().unsqueeze(d);
           return std::vector<Tensor>{g * c.saved[0]};
         });
  return {values, indices};
}

Shape reduced_dims(const std::vector<bool>& mask) {
  Shape dims;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) dims.push_back(static_cast<std::int64_t>(d));
  }
  return dims;
}

// PyTorch's norm_backward (in terms of differentiable ops, so that it has a gradient itself): g and
// n are the output gradient and the norm in keepdim shape. Where the formula divides by a zero norm
// the gradient is 0 (the subgradient PyTorch picks); for p = ±inf it is shared evenly among the
// elements whose |x| is the norm (or NaN).
Tensor norm_backward(const Tensor& g, const Tensor& x, const Tensor& n, double p, const Shape& dims) {
  const Tensor zero = zeros({}, x.dtype());
  const auto zero_where = [&](const Tensor& mask, const Tensor& t) { return where(mask, zero, t); };
  if (p == 0.0) return zeros_like(x);
  if (p == 1.0) return x.sign() * g;
  if (p == 2.0) return g * zero_where(n.eq(0.0), x / n);
  const Tensor ax = x.abs();
  if (std::isinf(p)) {
    const Tensor hit = ax.eq(n) + ax.ne(ax);
    return x.sign() * (g / hit.sum(dims, true)) * hit;
  }
  if (p < 1.0) return x.sign() * zero_where(x.eq(0.0), ax.pow(p - 1.0)) * g * n.pow(1.0 - p);
  const Tensor scale = zero_where(n.eq(0.0), g / n.pow(p - 1.0));
  return (p < 2.0 ? x.sign() * ax.pow(p - 1.0) : x * ax.pow(p - 2.0)) * scale;
}

}  // namespace

Tensor sum(const Tensor& a, IntArrayRef dims, bool keepdim) {
  detail::check_defined(a, "sum");
  const std::vector<bool> mask = reduce_mask(a, dims, "sum");
  Tensor out = sum_kernel(a, mask);
  if (!keepdim) out = out.reshape(dropdim_shape(a, mask)).detach();
  record("SumBackward", a, out, {}, [keep = detail::keepdim_shape(a, mask), sizes = a.sizes()](const BackwardCtx& c) {
    return std::vector<Tensor>{c.grad().reshape(keep).expand(sizes)};
  });
  return out;
}

Tensor sum(const Tensor& a) { return sum(a, {}, false); }

Tensor mean(const Tensor& a, IntArrayRef dims, bool keepdim) {
  detail::check_defined(a, "mean");
  const std::vector<bool> mask = reduce_mask(a, dims, "mean");
  const std::int64_t count = reduced_count(a, mask);
  return sum(a, dims, keepdim) / static_cast<double>(count);
}

Tensor mean(const Tensor& a) { return mean(a, {}, false); }

Tensor nansum(const Tensor& a, IntArrayRef dims, bool keepdim) {
  detail::check_defined(a, "nansum");
  detail::check_floating(a, "nansum");
  const std::vector<bool> mask = reduce_mask(a, dims, "nansum");
  const Tensor v = a.detach();
  Tensor out = sum_kernel(where(isnan(v), zeros({}, v.dtype()), v), mask);
  if (!keepdim) out = out.reshape(dropdim_shape(a, mask)).detach();
  // PyTorch's nansum_backward: the expanded gradient times the mask of non-NaN elements (so −grad · 0 = −0 at
  // a NaN, as there).
  record("NansumBackward", a, out, {save_for_backward(a)},
         [keep = detail::keepdim_shape(a, mask), sizes = a.sizes()](const BackwardCtx& c) {
           return std::vector<Tensor>{c.grad().reshape(keep).expand(sizes) * logical_not(isnan(c.saved[0]))};
         });
  return out;
}

Tensor nansum(const Tensor& a) { return nansum(a, {}, false); }

Tensor nanmean(const Tensor& a, IntArrayRef dims, bool keepdim) {
  detail::check_defined(a, "nanmean");
  detail::check_floating(a, "nanmean");
  reduce_mask(a, dims, "nanmean");  // the dims checked under this op's name
  // As torch: nansum over the count of non-NaN elements (0 / 0 = NaN for a slice of NaNs only).
  return nansum(a, dims, keepdim) / sum(logical_not(isnan(a.detach())), dims, keepdim);
}

Tensor nanmean(const Tensor& a) { return nanmean(a, {}, false); }

Tensor max(const Tensor& a) { return extreme_all(a, true); }
Tensor min(const Tensor& a) { return extreme_all(a, false); }
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, true, "max");
}
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim) {
  return extreme_dim(a, dim, keepdim, false, "min");
}

namespace {

Tensor arg_extreme(const Tensor& a, std::optional<std::int64_t> dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  detail::check_defined(a, op);
  NoGradGuard guard;  // only the indices are returned
  if (dim) return std::get<1>(extreme_dim(a, *dim, keepdim, is_max, op));
  VOXGRAD_CHECK(a.numel() > 0, "{}: expected a reduction dim to be specified for an input with no elements (shape {})",
                op, shape_str(a.sizes()));
  const Tensor index = std::get<1>(extreme_dim(a.reshape({-1}), 0, false, is_max, op));
  return keepdim ? index.reshape(Shape(static_cast<std::size_t>(a.dim()), 1)) : index;
}

}  // namespace

Tensor argmax(const Tensor& a, std::optional<std::int64_t> dim, bool keepdim) {
  return arg_extreme(a, dim, keepdim, true);
}
Tensor argmin(const Tensor& a, std::optional<std::int64_t> dim, bool keepdim) {
  return arg_extreme(a, dim, keepdim, false);
}

Tensor norm(const Tensor& a, double p, IntArrayRef dims, bool keepdim) {
  detail::check_defined(a, "norm");
  detail::check_floating(a, "norm");
  VOXGRAD_CHECK(!std::isnan(p), "norm: the order p must not be NaN");
  const std::vector<bool> mask = reduce_mask(a, dims, "norm");
  const std::int64_t count = reduced_count(a, mask);
  VOXGRAD_CHECK(count > 0 || !std::isinf(p),
                "norm: the {} norm of no elements is undefined (input shape {}, reducing {}); reduce over "
                "non-empty dims",
                p, shape_str(a.sizes()), dims.empty() ? "all dims" : shape_str(dims));
  Tensor out;
  {
    NoGradGuard guard;
    const Tensor x = abs(a);
    if (std::isinf(p)) {
      out = extreme_kernel(x, mask, p > 0, "norm");
    } else if (p == 0.0) {
      out = sum_kernel(x.ne(0.0), mask);
    } else if (p == 1.0) {
      out = sum_kernel(x, mask);
    } else if (p == 2.0) {
      out = sqrt(sum_kernel(x * x, mask));
    } else {
      out = pow(sum_kernel(pow(x, p), mask), 1.0 / p);
    }
  }
  const Shape keep = out.sizes();
  if (!keepdim) out = out.reshape(dropdim_shape(a, mask));
  out = out.detach();
  record("NormBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [p, keep, rdims = reduced_dims(mask)](const BackwardCtx& c) {
           return std::vector<Tensor>{
               norm_backward(c.grad().reshape(keep), c.saved[0], c.saved[1].reshape(keep), p, rdims)};
         });
  return out;
}

Tensor norm(const Tensor& a, double p) { return norm(a, p, {}, false); }

Tensor var(const Tensor& a, IntArrayRef dims, std::int64_t correction, bool keepdim) {
  detail::check_defined(a, "var");
  detail::check_non_negative_arg(correction, "var", "correction");
  const std::vector<bool> mask = reduce_mask(a, dims, "var");
  const std::int64_t count = reduced_count(a, mask);
  const Tensor centered = a - mean(a, dims, true);
  return sum(centered * centered, dims, keepdim) / static_cast<double>(std::max<std::int64_t>(0, count - correction));
}

Tensor var(const Tensor& a) { return var(a, {}, 1, false); }

Tensor std(const Tensor& a, IntArrayRef dims, std::int64_t correction, bool keepdim) {
  detail::check_defined(a, "std");
  detail::check_non_negative_arg(correction, "std", "correction");
  const std::vector<bool> mask = reduce_mask(a, dims, "std");
  const std::int64_t count = reduced_count(a, mask);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = sqrt(var(a, dims, correction, keepdim));
  }
  // PyTorch's std_backward: var's gradient (2 / (N − correction))·g'·(a − mean) for
  // g' = g / (2·std), with g' = 0 where std = 0 (a constant slice: 0 rather than NaN).
  record("StdBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [dims = Shape(dims.begin(), dims.end()), mask, keepdim, dof = count - correction](const BackwardCtx& c) {
           const Tensor &x = c.saved[0], &y = c.saved[1];
           Tensor g = where(y.eq(0.0), 0.0, c.grad() / (y * 2.0));
           if (!keepdim) {
             for (std::size_t d = 0; d < mask.size(); ++d) {
               if (mask[d]) g = g.unsqueeze(static_cast<std::int64_t>(d));
             }
           }
           return std::vector<Tensor>{g * (2.0 / static_cast<double>(std::max<std::int64_t>(0, dof))) *
                                      (x - mean(x, dims, true))};
         });
  return out;
}

Tensor std(const Tensor& a) { return std(a, {}, 1, false); }

Tensor sum_to_size(const Tensor& a, IntArrayRef sizes) {
  detail::check_defined(a, "sum_to_size");
  const Shape& s = a.sizes();
  const auto check_expandable = [&](bool ok) {
    VOXGRAD_CHECK(ok, "sum_to_size: size {} is not expandable to size {}", shape_str(sizes), shape_str(s));
  };
  check_expandable(sizes.size() <= s.size());
  const std::size_t lead = s.size() - sizes.size();
  Shape dims;
  for (std::size_t d = 0; d < s.size(); ++d) {
    if (d < lead) {
      dims.push_back(static_cast<std::int64_t>(d));
      continue;
    }
    const std::int64_t want = sizes[d - lead];
    check_expandable(want == s[d] || want == 1);
    if (want == 1 && s[d] != 1) dims.push_back(static_cast<std::int64_t>(d));
  }
  if (dims.empty()) return a;
  return sum(a, dims, true).reshape(sizes);
}

namespace {

// The product of every element but the one at each position along d, without dividing: the
// exclusive cumulative products from the front and from the back (PyTorch's
// prod_safe_zeros_backward), times g.
Tensor prod_safe_zeros_backward(const Tensor& g, const Tensor& x, std::int64_t d) {
  if (x.numel() == 0) return g.expand(x.sizes());
  Shape one_sizes = x.sizes();
  one_sizes[d] = 1;
  const Tensor one = ones(one_sizes, x.dtype());
  const std::int64_t n = x.size(d);
  const Tensor front = cumprod(cat({one, x.narrow(d, 0, n - 1)}, d), d);
  const Tensor back = flip(cumprod(cat({one, flip(x.narrow(d, 1, n - 1), {d})}, d), d), {d});
  return g * (front * back);
}

// amax (is_max) or amin over dims.
Tensor extreme_dims(const Tensor& a, IntArrayRef dims, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  const std::vector<bool> mask = reduce_mask(a, dims, op);
  for (std::size_t d = 0; d < mask.size(); ++d) {
    VOXGRAD_CHECK(!mask[d] || a.sizes()[d] > 0, "{}: expected reduction dim {} to have non-zero size (input shape {})",
                  op, d, shape_str(a.sizes()));
  }
  Tensor out = extreme_kernel(a, mask, is_max, op);
  const Shape keep = out.sizes();
  if (!keepdim) out = out.reshape(dropdim_shape(a, mask)).detach();
  record(is_max ? "AmaxBackward" : "AminBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [keep, rdims = reduced_dims(mask)](const BackwardCtx& c) {
           // PyTorch's scale_grad_by_count: the gradient divided by the number of elements equal to
           // the result, on each of them.
           const Tensor hit = c.saved[0].eq(c.saved[1].reshape(keep));
           return std::vector<Tensor>{(c.grad().reshape(keep) / hit.sum(rdims, true)) * hit};
         });
  return out;
}

}  // namespace

namespace {
// any: some element of the slice is nonzero (NaN is); all: none is zero. Both count the nonzero (or the zero)
// elements over the slice, or everything without a dim, 1 each: a sum of ones is positive whatever its
// rounding, so no count is lost, even past 2^24 elements in float32.
Tensor any_or_all(const Tensor& a, std::optional<std::int64_t> dim, bool keepdim, bool all) {
  const char* op = all ? "all" : "any";
  detail::check_defined(a, op);
  detail::check_floating(a, op);
  if (dim) wrap_dim(*dim, a.dim(), op);
  const Tensor hits = all ? a.detach().eq(0.0) : a.detach().ne(0.0);
  const Tensor count = dim ? sum(hits, {*dim}, keepdim) : sum(hits);
  return all ? count.eq(0.0) : count.gt(0.0);
}
}  // namespace

Tensor any(const Tensor& a) { return any_or_all(a, std::nullopt, false, false); }
Tensor any(const Tensor& a, std::int64_t dim, bool keepdim) { return any_or_all(a, dim, keepdim, false); }
Tensor all(const Tensor& a) { return any_or_all(a, std::nullopt, false, true); }
Tensor all(const Tensor& a, std::int64_t dim, bool keepdim) { return any_or_all(a, dim, keepdim, true); }

Tensor amax(const Tensor& a, IntArrayRef dims, bool keepdim) { return extreme_dims(a, dims, keepdim, true); }
Tensor amin(const Tensor& a, IntArrayRef dims, bool keepdim) { return extreme_dims(a, dims, keepdim, false); }

Tensor logsumexp(const Tensor& a, IntArrayRef dims, bool keepdim) {
  detail::check_defined(a, "logsumexp");
  detail::check_floating(a, "logsumexp");
  const std::vector<bool> mask = reduce_mask(a, dims, "logsumexp");
  Tensor out;
  {
    NoGradGuard guard;
    if (a.numel() == 0) {
      out = log(sum_kernel(exp(a), mask));
    } else {
      // ATen's logsumexp: shift by the maximum, except where it is infinite (then exp(a - 0) gives
      // the right inf or 0 and the sum its log).
      Tensor m = extreme_kernel(a, mask, true, "logsumexp");
      m = where(m.abs().eq(std::numeric_limits<double>::infinity()), 0.0, m);
      out = log(sum_kernel(exp(a - m), mask)) + m;
    }
  }
  const Shape keep = out.sizes();
  if (!keepdim) out = out.reshape(dropdim_shape(a, mask));
  out = out.detach();
  record("LogsumexpBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [keep](const BackwardCtx& c) {
           return std::vector<Tensor>{c.grad().reshape(keep) * exp(c.saved[0] - c.saved[1].reshape(keep))};
         });
  return out;
}

namespace {

// Product over the masked dims in keepdim shape, in double, without autograd.
Tensor prod_kernel(const Tensor& a, const std::vector<bool>& mask) {
  return detail::dispatch_floating(a.dtype(), "prod", [&]<typename T>() {
    return detail::reduce<T>(
        a, mask, 1.0, [](double& acc, T v) { acc *= static_cast<double>(v); }, [](double& acc, double p) { acc *= p; },
        [](double acc) { return static_cast<T>(acc); });
  });
}

}  // namespace

Tensor prod(const Tensor& a) {
  detail::check_defined(a, "prod");
  detail::check_floating(a, "prod");
  Tensor out = prod_kernel(a, std::vector<bool>(static_cast<std::size_t>(a.dim()), true)).reshape({}).detach();
  record("ProdBackward", a, out, {save_for_backward(a), save_output_for_backward(out)}, [](const BackwardCtx& c) {
    const Tensor &g = c.grad(), &x = c.saved[0], &r = c.saved[1];
    if (x.dim() == 0) return std::vector<Tensor>{g};
    const double zeros_in_x = x.eq(0.0).sum().item<double>();
    if (zeros_in_x == 0.0) return std::vector<Tensor>{g * (r / x)};
    // Two zeros or more: every partial product is 0, but only a first derivative may say so by a
    // constant (PyTorch's shortcut outside grad mode); under create_graph the product-of-the-others
    // form keeps the second derivative (the product of the elements but a pair of zeros).
    if (zeros_in_x > 1.0 && !GradMode::is_enabled()) return std::vector<Tensor>{zeros_like(x)};
    return std::vector<Tensor>{prod_safe_zeros_backward(g, x.reshape({-1}), 0).reshape(x.sizes())};
  });
  return out;
}

Tensor prod(const Tensor& a, std::int64_t dim, bool keepdim) {
  detail::check_defined(a, "prod");
  detail::check_floating(a, "prod");
  const std::int64_t nd = a.dim();
  const std::int64_t d = wrap_dim(dim, nd, "prod");
  std::vector<bool> mask(static_cast<std::size_t>(nd), false);
  if (nd > 0) mask[d] = true;
  Tensor out = prod_kernel(a, mask);
  const Shape keep = out.sizes();
  if (!keepdim) out = out.reshape(dropdim_shape(a, mask));
  out = out.detach();
  record("ProdBackward", a, out, {save_for_backward(a), save_output_for_backward(out)},
         [d, keep](const BackwardCtx& c) {
           const Tensor& x = c.saved[0];
           if (x.dim() == 0) return std::vector<Tensor>{c.grad()};
           const Tensor g = c.grad().reshape(keep), r = c.saved[1].reshape(keep);
           if (x.eq(0.0).sum().item<double>() == 0.0) return std::vector<Tensor>{g * (r / x)};
           return std::vector<Tensor>{prod_safe_zeros_backward(g, x, d)};
         });
  return out;
}

}  // namespace voxgrad
