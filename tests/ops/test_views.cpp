// Every public op that takes tensors, run with each tensor argument passed as a view -- a strided
// slice, a permute of a tensor laid out accordingly, a window at an offset into a larger storage,
// and an expanded (stride-0) tensor whose values are equal along the expanded dim -- and compared
// with the same op on contiguous copies holding the same values: the output, and the gradients
// w.r.t. every differentiable argument (for the viewed one, w.r.t. the leaf that owns its storage,
// viewed back; for an expanded one, the contiguous run's gradient summed over the expanded dim).
// The storage around a view holds NaN (or an invalid class index), so a read outside the view shows.
//
// One table (kCases) covers elementwise ops with broadcasting, where/clamp/comparisons, reductions,
// shape ops, linalg, softmax, pooling, upsampling, pad3d, conv (ops and nn::functional 1-D/2-D/3-D,
// transposed, conv3d_weight_grad), activations, losses and normalization. Separate tests cover the
// in-place ops (a viewed destination is written through its strides and nothing else; an expanded
// destination raises voxgrad::Error), the *_like factories, optimizer steps and gradient clipping
// with viewed parameters and gradients, gradcheck, checkpoints and printing.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest-spi.h>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;
namespace F = voxgrad::nn::functional;
using voxgrad::indexing::Ellipsis;
using voxgrad::indexing::None;
using voxgrad::indexing::Slice;
using voxgrad::testing::values;

// =================================================================================================
// Arguments and views.
// =================================================================================================

/// How an argument's values are drawn.
enum class Kind {
  kUniform,   // [-1, 1]
  kPositive,  // [0.5, 2]
  kUnit,      // [0.05, 0.95] (probabilities)
  kDistinct,  // a shuffled ladder of distinct values (no ties for max/min/pooling)
  kClass,     // int64 class indices in [0, classes)
  kMask,      // 0 or 1 (float64), for where()
};

struct ArgSpec {
  Shape shape;
  Kind kind = Kind::kUniform;
  bool grad = true;  // differentiable argument (the gradient is checked)
  std::int64_t classes = 0;
  DType dtype() const { return kind == Kind::kClass ? kInt64 : kFloat64; }
};

ArgSpec arg(Shape s, Kind k = Kind::kUniform) { return {std::move(s), k, true, 0}; }
ArgSpec pos(Shape s) { return arg(std::move(s), Kind::kPositive); }
ArgSpec unit(Shape s) { return arg(std::move(s), Kind::kUnit); }
ArgSpec distinct(Shape s) { return arg(std::move(s), Kind::kDistinct); }
ArgSpec fixed(Shape s, Kind k = Kind::kUniform) { return {std::move(s), k, false, 0}; }  // not differentiated
ArgSpec classes(Shape s, std::int64_t c) { return {std::move(s), Kind::kClass, false, c}; }
ArgSpec mask(Shape s) { return fixed(std::move(s), Kind::kMask); }

std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t v : s) n *= v;
  return n;
}

/// A contiguous tensor of `spec.shape` (with `shape` overriding it) holding drawn values.
Tensor draw(const ArgSpec& spec, const Shape& shape, std::mt19937_64& rng) {
  const std::int64_t n = numel_of(shape);
  std::vector<double> v(static_cast<std::size_t>(n));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  switch (spec.kind) {
    case Kind::kUniform:
      for (double& e : v) e = 2.0 * u(rng) - 1.0;
      break;
    case Kind::kPositive:
      for (double& e : v) e = 0.5 + 1.5 * u(rng);
      break;
    case Kind::kUnit:
      for (double& e : v) e = 0.05 + 0.9 * u(rng);
      break;
    case Kind::kDistinct:
      for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = 0.37 * static_cast<double>(i) - 0.1 * n;
      std::shuffle(v.begin(), v.end(), rng);
      break;
    case Kind::kClass:
      for (double& e : v) e = std::floor(u(rng) * static_cast<double>(spec.classes));
      break;
    case Kind::kMask:
      for (double& e : v) e = u(rng) < 0.5 ? 0.0 : 1.0;
      break;
  }
  return tensor(v, spec.dtype()).reshape(shape);
}

enum class Layout { kStrided, kPermuted, kOffset, kExpanded };
const char* layout_name(Layout l) {
  switch (l) {
    case Layout::kStrided: return "strided";
    case Layout::kPermuted: return "permuted";
    case Layout::kOffset: return "offset";
    case Layout::kExpanded: return "expanded";
  }
  return "?";
}

/// One argument passed as a view: `dense` holds its values (contiguous), `view` shows the same
/// values from `base`'s storage, `of_base` maps a base-shaped tensor to the view's region (not for
/// kExpanded, whose base has size 1 along `dim`).
struct View {
  Layout layout = Layout::kStrided;
  std::int64_t dim = 0;
  Tensor dense, base, view;
  std::function<Tensor(const Tensor&)> of_base;
  std::string str() const {
    return fmt::format("{} (dim {}): sizes {} strides {} offset {}", layout_name(layout), dim, shape_str(view.sizes()),
                       shape_str(view.strides()), view.storage_offset());
  }
};

double filler(DType dt) { return dt == kInt64 ? -7.0 : std::nan(""); }

/// Builds `spec` as a view of kind `layout` along `dim` (strided, expanded: that dim; offset: that
/// dim; permuted: dims reversed, or for 1-D a column of an (n, 2) tensor). The base requires grad
/// when the argument is differentiable.
View make_view(const ArgSpec& spec, Layout layout, std::int64_t dim, std::mt19937_64& rng) {
  View v;
  v.layout = layout;
  v.dim = dim;
  const Shape& shape = spec.shape;
  const DType dt = spec.dtype();
  const std::int64_t rank = static_cast<std::int64_t>(shape.size());
  const std::size_t d = static_cast<std::size_t>(dim);
  switch (layout) {
    case Layout::kExpanded: {
      Shape small = shape;
      small[d] = 1;
      v.base = draw(spec, small, rng);
      v.dense = v.base.expand(shape).contiguous();
      break;
    }
    case Layout::kStrided: {
      v.dense = draw(spec, shape, rng);
      Shape bs = shape;
      bs[d] = 2 * shape[d] + 1;
      v.base = full(bs, filler(dt), dt);
      v.of_base = [=](const Tensor& t) { return t.slice(dim, 1, 1 + 2 * shape[d], 2); };
      v.of_base(v.base).copy_(v.dense);
      break;
    }
    case Layout::kOffset: {
      v.dense = draw(spec, shape, rng);
      Shape bs = shape;
      if (rank == 0) {
        v.base = full({4}, filler(dt), dt);
        v.of_base = [](const Tensor& t) { return t.select(0, 2); };
      } else {
        bs[d] += 3;
        v.base = full(bs, filler(dt), dt);
        v.of_base = [=](const Tensor& t) { return t.narrow(dim, 2, shape[d]); };
      }
      v.of_base(v.base).copy_(v.dense);
      break;
    }
    case Layout::kPermuted: {
      v.dense = draw(spec, shape, rng);
      if (rank == 1) {
        v.base = full({shape[0], 2}, filler(dt), dt);
        v.of_base = [](const Tensor& t) { return t.t().select(0, 1); };
        v.of_base(v.base).copy_(v.dense);
      } else {
        std::vector<std::int64_t> rev(static_cast<std::size_t>(rank));
        for (std::int64_t i = 0; i < rank; ++i) rev[static_cast<std::size_t>(i)] = rank - 1 - i;
        v.base = v.dense.permute(rev).contiguous();
        v.of_base = [rev](const Tensor& t) { return t.permute(rev); };
      }
      break;
    }
  }
  if (spec.grad) v.base.requires_grad_();
  v.view = layout == Layout::kExpanded ? v.base.expand(shape) : v.of_base(v.base);
  return v;
}

// =================================================================================================
// The table-driven comparison.
// =================================================================================================

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct OpCase {
  std::string name;
  std::vector<ArgSpec> args;
  Fn fn;
  double tol = 1e-12;  // |got − want| <= tol · max(|want|, 1)
};

std::string mismatch(const Tensor& got, const Tensor& want, double tol) {
  if (!got.defined() || !want.defined()) return got.defined() == want.defined() ? "" : "defined only in one run";
  if (got.sizes() != want.sizes()) return "shape " + shape_str(got.sizes()) + " vs " + shape_str(want.sizes());
  if (got.dtype() != want.dtype()) return "dtypes differ";
  const std::vector<double> g = values(got), w = values(want);
  for (std::size_t i = 0; i < g.size(); ++i) {
    const bool both_nan = std::isnan(g[i]) && std::isnan(w[i]);
    if (!both_nan && !(std::abs(g[i] - w[i]) <= tol * std::max(std::abs(w[i]), 1.0))) {
      return fmt::format("flat index {}: {:.17g} vs {:.17g} (of {} elements)", i, g[i], w[i], g.size());
    }
  }
  return "";
}

/// Runs `c` on contiguous leaves holding `dense` values; the output and the gradients w.r.t. the
/// differentiable arguments (for the upstream gradient `gy`, drawn here if not given).
struct Run {
  Tensor y;
  std::vector<Tensor> grads;  // per argument (undefined if not differentiable or unused)
};

Run run_case(const OpCase& c, const std::vector<Tensor>& args, const std::vector<Tensor>& grad_wrt, Tensor& gy,
             std::mt19937_64& rng) {
  Run r;
  r.y = c.fn(args);
  if (!r.y.requires_grad()) return r;
  if (!gy.defined()) gy = draw(arg(r.y.sizes()), r.y.sizes(), rng).to(r.y.dtype());
  std::vector<Tensor> inputs;
  for (const Tensor& t : grad_wrt)
    if (t.defined()) inputs.push_back(t);
  if (inputs.empty()) return r;
  const std::vector<Tensor> g = autograd::grad({r.y}, inputs, {gy}, std::nullopt, false, /*allow_unused=*/true);
  std::size_t k = 0;
  for (const Tensor& t : grad_wrt) r.grads.push_back(t.defined() ? g[k++] : Tensor());
  return r;
}

/// Per case: how many runs passed each argument as each layout (checked to be real views).
struct Coverage {
  int strided = 0, expanded = 0, permuted = 0, offset = 0;
};

Coverage check_case(const OpCase& c, std::uint64_t seed) {
  Coverage cov;
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    const ArgSpec& spec = c.args[i];
    const std::int64_t rank = static_cast<std::int64_t>(spec.shape.size());
    std::vector<std::pair<Layout, std::int64_t>> layouts;
    for (std::int64_t d = 0; d < rank; ++d) {
      if (spec.shape[static_cast<std::size_t>(d)] > 1) {
        layouts.emplace_back(Layout::kStrided, d);
        layouts.emplace_back(Layout::kExpanded, d);
      }
    }
    if (rank >= 1) layouts.emplace_back(Layout::kPermuted, 0);
    layouts.emplace_back(Layout::kOffset, rank == 0 ? 0 : rank - 1);
    for (const auto& [layout, dim] : layouts) {
      SCOPED_TRACE(fmt::format("{}: argument {} ({})", c.name, i, shape_str(spec.shape)));
      // The other arguments: contiguous tensors; this one: a view and its dense copy.
      std::vector<Tensor> dense(c.args.size());
      View v;
      for (std::size_t j = 0; j < c.args.size(); ++j) {
        if (j == i) {
          v = make_view(spec, layout, dim, rng);
          dense[j] = v.dense;
        } else {
          dense[j] = draw(c.args[j], c.args[j].shape, rng);
        }
      }
      SCOPED_TRACE(v.str());
      const bool effective = !v.view.is_contiguous() || v.view.storage_offset() != 0;
      if (layout != Layout::kPermuted) {
        EXPECT_TRUE(effective) << "the view is laid out as a contiguous tensor";
      }
      cov.strided += layout == Layout::kStrided;
      cov.expanded += layout == Layout::kExpanded;
      cov.permuted += layout == Layout::kPermuted && effective;
      cov.offset += layout == Layout::kOffset;

      std::vector<Tensor> ref_args, ref_wrt, view_args, view_wrt;
      for (std::size_t j = 0; j < c.args.size(); ++j) {
        Tensor leaf = dense[j].clone();
        if (c.args[j].grad) leaf.requires_grad_();
        ref_args.push_back(leaf);
        ref_wrt.push_back(c.args[j].grad ? leaf : Tensor());
        if (j == i) {
          view_args.push_back(v.view);
          view_wrt.push_back(c.args[j].grad ? v.base : Tensor());
        } else {
          Tensor other = dense[j].clone();
          if (c.args[j].grad) other.requires_grad_();
          view_args.push_back(other);
          view_wrt.push_back(c.args[j].grad ? other : Tensor());
        }
      }
      Tensor gy;
      Run want, got;
      try {
        want = run_case(c, ref_args, ref_wrt, gy, rng);
      } catch (const Error& e) {
        ADD_FAILURE() << "contiguous run threw: " << e.what();
        continue;
      }
      try {
        got = run_case(c, view_args, view_wrt, gy, rng);
      } catch (const Error& e) {
        ADD_FAILURE() << "run with the view threw: " << e.what();
        continue;
      }
      EXPECT_EQ(mismatch(got.y, want.y, c.tol), "") << "output";
      if (got.grads.size() != want.grads.size()) {
        ADD_FAILURE() << "one run is differentiable, the other is not";
        continue;
      }
      for (std::size_t j = 0; j < want.grads.size(); ++j) {
        if (j != i || !want.grads[j].defined()) {
          EXPECT_EQ(mismatch(got.grads[j], want.grads[j], c.tol), "") << "gradient of argument " << j;
          continue;
        }
        const Tensor& gb = got.grads[j];
        if (!gb.defined() || gb.sizes() != v.base.sizes()) {
          ADD_FAILURE() << "no gradient of the base's shape " << shape_str(v.base.sizes());
          continue;
        }
        if (layout == Layout::kExpanded) {
          EXPECT_EQ(mismatch(gb, want.grads[j].sum({dim}, true), c.tol), "") << "gradient of the expanded base";
        } else {
          EXPECT_EQ(mismatch(v.of_base(gb), want.grads[j], c.tol), "") << "gradient w.r.t. the view's base";
          Tensor outside = gb.clone();
          v.of_base(outside).zero_();
          EXPECT_EQ(mismatch(outside, zeros_like(outside), 0.0), "") << "gradient outside the view";
        }
      }
    }
  }
  return cov;
}

std::vector<OpCase> cases() {
  using V = const std::vector<Tensor>&;
  std::vector<OpCase> t;
  auto op = [&](std::string name, std::vector<ArgSpec> args, Fn fn, double tol = 1e-12) {
    t.push_back({std::move(name), std::move(args), std::move(fn), tol});
  };
  const Shape s3{3, 4, 5};

  // --- elementwise, unary -------------------------------------------------------------------------
  op("neg", {arg(s3)}, [](V a) { return neg(a[0]); });
  op("operator- (unary)", {arg(s3)}, [](V a) { return -a[0]; });
  op("exp", {arg(s3)}, [](V a) { return exp(a[0]); });
  op("log", {pos(s3)}, [](V a) { return log(a[0]); });
  op("sqrt", {pos(s3)}, [](V a) { return sqrt(a[0]); });
  op("abs", {arg(s3)}, [](V a) { return abs(a[0]); });
  op("sign", {arg(s3)}, [](V a) { return sign(a[0]); });
  op("relu", {arg(s3)}, [](V a) { return relu(a[0]); });
  op("leaky_relu", {arg(s3)}, [](V a) { return leaky_relu(a[0], 0.2); });
  op("sigmoid", {arg(s3)}, [](V a) { return sigmoid(a[0]); });
  op("tanh", {arg(s3)}, [](V a) { return tanh(a[0]); });
  op("erf", {arg(s3)}, [](V a) { return erf(a[0]); });
  op("log1p", {pos(s3)}, [](V a) { return log1p(a[0]); });
  op("expm1", {arg(s3)}, [](V a) { return expm1(a[0]); });
  op("sin", {arg(s3)}, [](V a) { return sin(a[0]); });
  op("cos", {arg(s3)}, [](V a) { return cos(a[0]); });
  op("tan/atan/sinh/cosh/asinh", {arg(s3)},
     [](V a) { return tan(a[0]) + a[0].atan() * 2.0 + sinh(a[0]) * 4.0 + a[0].cosh() * 8.0 + asinh(a[0]) * 16.0; });
  op("asin/acos/atanh", {arg(s3)},
     [](V a) { return asin(a[0] * 0.9) + (a[0] * 0.9).acos() * 2.0 + atanh(a[0] * 0.9); });
  op("acosh", {pos(s3)}, [](V a) { return acosh(a[0] + 0.6); });
  op("reciprocal", {pos(s3)}, [](V a) { return reciprocal(a[0]); });
  op("rsqrt", {pos(s3)}, [](V a) { return rsqrt(a[0]); });
  op("floor/ceil/round/trunc", {arg(s3)}, [](V a) {
    return floor(a[0] * 3.0) + ceil(a[0] * 3.0) * 2.0 + round(a[0] * 3.0) * 4.0 + trunc(a[0] * 3.0) * 8.0 + a[0];
  });
  op("isnan/isinf/isfinite", {fixed(s3)}, [](V a) { return isnan(a[0]) + isinf(a[0]) * 2.0 + isfinite(a[0]) * 4.0; });
  op("log2/log10/exp2/square", {pos(s3)},
     [](V a) { return log2(a[0]) + a[0].log10() * 2.0 + exp2(a[0]) - square(a[0]); });
  op("round(decimals)", {arg(s3)}, [](V a) { return round(a[0], 1) + a[0].round(-1) * 2.0 + a[0]; });
  op("any/all", {fixed(s3, Kind::kMask)}, [](V a) {
    return cat({any(a[0], 1).flatten(), all(a[0], -1).flatten(), any(a[0]).reshape({1}), all(a[0]).reshape({1})});
  });
  op("diagonal", {arg({4, 3, 5})}, [](V a) { return diagonal(a[0], 1, 0, 2) * 1.0 + a[0].diagonal(-1, 2, 0) * 2.0; });
  op("einsum matmul", {arg({3, 4}), arg({4, 5})}, [](V a) { return einsum("ij,jk->ik", a); });
  op("einsum batched, ellipsis", {arg({2, 3, 4}), arg({4, 3})}, [](V a) { return einsum("...ij,jk->...ik", a); });
  op("einsum diagonal and trace", {arg({4, 4}), arg({4})},
     [](V a) { return einsum("ii->i", {a[0]}) * 1.0 + einsum("ii,j->j", a); });
  op("repeat/tile", {arg({2, 3})}, [](V a) { return repeat(a[0], {2, 1, 2}) + a[0].tile({2, 1, 2}) * 2.0; });
  op("tril/triu", {arg(s3)}, [](V a) { return tril(a[0], 1) + a[0].triu(-1) * 2.0; });
  op("dot/outer", {arg({4}), arg({4})}, [](V a) { return outer(a[0], a[1]) + dot(a[0], a[1]); });
  op("einsum three operands", {arg({2, 3}), arg({3, 4}), arg({2, 4})}, [](V a) { return einsum("ij,jk,ik->k", a); });
  op("gelu", {arg(s3)}, [](V a) { return gelu(a[0]); });
  op("softplus/log_sigmoid/mish", {arg(s3)},
     [](V a) { return softplus(a[0], 2.0, 1.0) + log_sigmoid(a[0]) * 2.0 + mish(a[0]) * 4.0; });
  op("hardtanh/relu6/hardswish/hardsigmoid", {arg(s3)}, [](V a) {
    return hardtanh(a[0], -0.5, 0.5) + relu6(a[0] * 8.0) * 2.0 + hardswish(a[0] * 4.0) * 4.0 + hardsigmoid(a[0] * 4.0);
  });
  op("gelu tanh", {arg(s3)}, [](V a) { return gelu(a[0], "tanh"); });
  op("silu", {arg(s3)}, [](V a) { return silu(a[0]); });
  op("clamp(min, max)", {arg(s3)}, [](V a) { return clamp(a[0], -0.3, 0.4); });
  op("clamp(min)", {arg(s3)}, [](V a) { return a[0].clamp(0.1); });
  op("clamp(max)", {arg(s3)}, [](V a) { return a[0].clamp(std::nullopt, -0.2); });
  op("clamp(tensor min, max)", {arg(s3), arg({4, 5}), arg({3, 1, 5})},
     [](V a) { return clamp(a[0], a[1] * 0.5 - 0.5, a[2] * 0.5 + 0.5); });
  op("clamp(tensor min)", {arg(s3), arg({5})}, [](V a) { return a[0].clamp(a[1]); });
  op("pow(tensor, double)", {pos(s3)}, [](V a) { return pow(a[0], 2.5); });
  op("pow(double, tensor)", {arg(s3)}, [](V a) { return pow(1.7, a[0]); });
  op("add(tensor, double)", {arg(s3)}, [](V a) { return add(a[0], 1.25); });
  op("sub(tensor, double)", {arg(s3)}, [](V a) { return sub(a[0], 1.25); });
  op("rsub", {arg(s3)}, [](V a) { return rsub(a[0], 1.25); });
  op("mul(tensor, double)", {arg(s3)}, [](V a) { return mul(a[0], -3.0); });
  op("div(tensor, double)", {arg(s3)}, [](V a) { return div(a[0], 4.0); });
  op("rdiv", {pos(s3)}, [](V a) { return rdiv(a[0], 2.0); });
  op("scalar operators", {pos(s3)}, [](V a) { return (2.0 - a[0]) * 3.0 + 1.0 / a[0] - a[0] / 2.0 + (a[0] + 1.0); });
  op("Tensor methods (unary)", {pos(s3)}, [](V a) {
    return a[0].exp() + a[0].log() + a[0].sqrt() + a[0].abs() + a[0].relu() + a[0].leaky_relu(0.1) + a[0].sigmoid() +
           a[0].tanh() + a[0].neg() + a[0].pow(1.5) + a[0].sign();
  });

  // --- elementwise, binary with broadcasting ------------------------------------------------------
  const Shape bl{3, 1, 5}, br{4, 5};
  op("add (broadcast)", {arg(bl), arg(br)}, [](V a) { return add(a[0], a[1]); });
  op("add alpha", {arg(s3), arg(br)}, [](V a) { return add(a[0], a[1], 0.5); });
  op("sub alpha", {arg(bl), arg(s3)}, [](V a) { return sub(a[0], a[1], -2.0); });
  op("mul (broadcast)", {arg(bl), arg(br)}, [](V a) { return mul(a[0], a[1]); });
  op("div (broadcast)", {arg(bl), pos(br)}, [](V a) { return div(a[0], a[1]); });
  op("pow(tensor, tensor)", {pos(bl), arg(br)}, [](V a) { return pow(a[0], a[1]); });
  op("Tensor::add/sub/mul/div", {arg(s3), pos(br)},
     [](V a) { return a[0].add(a[1], 2.0).mul(a[1]).sub(a[1], 0.5).div(a[1]); });
  op("binary operators", {arg(bl), pos(br)}, [](V a) { return (a[0] + a[1]) * (a[0] - a[1]) / a[1] + a[0] * a[1]; });
  op("where (broadcast)", {mask({3, 4, 1}), arg(s3), arg(br)}, [](V a) { return where(a[0], a[1], a[2]); });
  op("maximum (broadcast)", {arg(bl), arg(br)}, [](V a) { return maximum(a[0], a[1]); });
  op("minimum (broadcast)", {arg(s3), arg(br)}, [](V a) { return minimum(a[0], a[1]); });
  op("xlogy (broadcast)", {arg(bl), pos(br)}, [](V a) { return xlogy(a[0], a[1]); });
  op("atan2 (broadcast)", {arg(bl), arg(br)}, [](V a) { return atan2(a[0], a[1]) + a[1].atan2(a[0]) * 2.0; });
  op("fmod/remainder (broadcast)", {arg(bl), pos(br)},
     [](V a) { return fmod(a[0] * 3.0, a[1]) + (a[0] * 3.0).remainder(a[1]) * 2.0; });
  op("div rounding modes", {arg(bl), pos(br)}, [](V a) {
    return div(a[0] * 3.0, a[1], "floor") * a[1] + a[0].div(a[1], "trunc") * a[0] + floor_divide(a[0], a[1]);
  });
  op("fmod/remainder (number)", {arg(s3)}, [](V a) { return fmod(a[0], 0.3) + a[0].remainder(-0.3) * 2.0; });
  op("logical_not/and/or/xor", {fixed(bl, Kind::kMask), fixed(br, Kind::kMask)}, [](V a) {
    return logical_and(a[0], a[1]) + logical_or(a[0], a[1]) * 2.0 + logical_xor(a[0], a[1]) * 4.0 +
           logical_not(a[0]) * 8.0;
  });

  op("eq/ne/lt/le/gt/ge (tensor)", {arg(bl), arg(br)}, [](V a) {
    return eq(a[0], a[1]) + 2 * ne(a[0], a[1]) + 4 * lt(a[0], a[1]) + 8 * le(a[0], a[1]) + 16 * gt(a[0], a[1]) +
           32 * ge(a[0], a[1]);
  });
  op("eq/ne/lt/le/gt/ge (double)", {fixed(s3, Kind::kMask)}, [](V a) {
    return a[0].eq(1.0) + 2 * a[0].ne(0.0) + 4 * a[0].lt(0.5) + 8 * a[0].le(1.0) + 16 * a[0].gt(0.5) +
           32 * a[0].ge(0.0);
  });
  op("comparisons (Tensor methods)", {arg(s3), arg(br)}, [](V a) {
    return a[0].eq(a[1]) + a[0].ne(a[1]) * 2 + a[0].lt(a[1]) * 4 + a[0].le(a[1]) * 8 + a[0].gt(a[1]) * 16 +
           a[0].ge(a[1]) * 32;
  });

  // --- reductions ---------------------------------------------------------------------------------
  op("sum", {arg(s3)}, [](V a) { return sum(a[0]); });
  op("sum(dims)", {arg(s3)}, [](V a) { return sum(a[0], {1}); });
  op("sum(dims, keepdim)", {arg(s3)}, [](V a) { return a[0].sum({0, 2}, true); });
  op("mean", {arg(s3)}, [](V a) { return mean(a[0]); });
  op("mean(dims)", {arg(s3)}, [](V a) { return a[0].mean({2}); });
  op("nansum/nanmean", {arg(s3)}, [](V a) {
    return cat({nansum(a[0]).reshape({1}), a[0].nansum({1}).flatten(), nanmean(a[0], {0, 2}, true).flatten()});
  });
  op("max", {distinct(s3)}, [](V a) { return max(a[0]); });
  op("min", {distinct(s3)}, [](V a) { return a[0].min(); });
  op("max(dim) values", {distinct(s3)}, [](V a) { return std::get<0>(max(a[0], 1)); });
  op("max(dim) indices", {distinct(s3)}, [](V a) { return std::get<1>(a[0].max(2, true)).to(kFloat64); });
  op("min(dim, keepdim) values", {distinct(s3)}, [](V a) { return std::get<0>(min(a[0], 0, true)); });
  op("min(dim) indices", {distinct(s3)}, [](V a) { return std::get<1>(a[0].min(1)).to(kFloat64); });
  op("var", {arg(s3)}, [](V a) { return var(a[0]); });
  op("var(dims, correction, keepdim)", {arg(s3)}, [](V a) { return a[0].var({0, 2}, 0, true); });
  op("sum_to_size", {arg(s3)}, [](V a) { return sum_to_size(a[0], {1, 4, 1}); });

  // --- shape ops ----------------------------------------------------------------------------------
  op("view (split a dim)", {arg({3, 4, 6})}, [](V a) { return a[0].view({3, 4, 2, 3}) * 1.0; });
  op("reshape", {arg(s3)}, [](V a) { return a[0].reshape({5, -1}) * 1.0; });
  op("flatten", {arg(s3)}, [](V a) { return a[0].flatten() * 1.0; });
  op("flatten(1)", {arg({2, 3, 4, 5})}, [](V a) { return flatten(a[0], 1, 2) * 1.0; });
  op("permute", {arg(s3)}, [](V a) { return a[0].permute({2, 0, 1}) * 1.0; });
  op("transpose", {arg(s3)}, [](V a) { return a[0].transpose(0, 2) * 1.0; });
  op("movedim", {arg(s3)}, [](V a) { return movedim(a[0], {0, 2}, {2, 1}) * 1.0; });
  op("split/chunk/unbind", {arg(s3)}, [](V a) {
    const std::vector<Tensor> s = split(a[0], 2, 1), w = a[0].split({2, 3}, 2), c = chunk(a[0], 2, 0);
    const std::vector<Tensor> u = unbind(a[0], 1);
    return s[0].sum() * 2.0 + s[1].pow(2.0).sum() + w[1].exp().sum() + c[1].sum() * 3.0 + (u[3] * u[0]).sum();
  });
  op("meshgrid", {arg({3}), arg({4})}, [](V a) {
    const std::vector<Tensor> g = meshgrid({a[0], a[1]}, "xy");
    return g[0] * g[1] + g[1];
  });
  op("t", {arg({3, 4})}, [](V a) { return a[0].t() * 1.0; });
  op("squeeze", {arg({3, 1, 5})}, [](V a) { return a[0].squeeze() * 1.0; });
  op("squeeze(dim)", {arg({3, 1, 5})}, [](V a) { return squeeze(a[0], 1) * 1.0; });
  op("unsqueeze", {arg(s3)}, [](V a) { return a[0].unsqueeze(1) * 1.0; });
  op("narrow", {arg(s3)}, [](V a) { return a[0].narrow(2, 1, 3) * 1.0; });
  op("slice", {arg(s3)}, [](V a) { return a[0].slice(1, 1, std::nullopt, 2) * 1.0; });
  op("select", {arg(s3)}, [](V a) { return a[0].select(1, 2) * 1.0; });
  op("expand", {arg({3, 1, 5})}, [](V a) { return a[0].expand({2, 3, 4, 5}) * 1.0; });
  op("expand_as", {arg({3, 1, 5}), fixed(s3)}, [](V a) { return a[0].expand_as(a[1]) * 1.0; });
  op("cat", {arg(s3), arg({3, 2, 5})}, [](V a) { return cat({a[0], a[1]}, 1); });
  op("stack", {arg(s3), arg(s3)}, [](V a) { return stack({a[0], a[1]}, 2); });
  op("contiguous", {arg(s3)}, [](V a) { return a[0].contiguous(); });
  op("clone", {arg(s3)}, [](V a) { return a[0].clone(); });
  op("to(float32)", {arg(s3)}, [](V a) { return a[0].to(kFloat32); });
  op("detach", {arg(s3)}, [](V a) { return a[0].detach() * 1.0; });

  // --- indexing, gather/scatter, flip/roll (ops/indexing.h, ops/gather_scatter.h, ops/reorder.h) ---
  op("index (basic: a view)", {arg(s3)}, [](V a) {
    return a[0].index({Slice(1), -1, None, Slice(None, None, 2)}) * 1.0;
  });
  op("index (int64 tensor)", {arg(s3), classes({2, 3}, 4)}, [](V a) { return a[0].index({Slice(), a[1]}); });
  op("index (separated tensors)", {arg(s3), classes({2}, 3), classes({2}, 5)}, [](V a) {
    return a[0].index({a[1], Slice(), a[2]});
  });
  op("index (mask)", {arg(s3), mask({4, 5})}, [](V a) { return index(a[0], {Slice(), a[1]}); });
  op("index_put", {arg(s3), classes({2}, 4), arg({2, 5})}, [](V a) { return index_put(a[0], {Slice(), a[1]}, a[2]); });
  op("index_put accumulate", {arg(s3), classes({3}, 4), arg({3, 1})}, [](V a) {
    return a[0].index_put({Slice(), a[1]}, a[2], true);
  });
  op("index_put (slices)", {arg(s3), arg({4, 1})}, [](V a) { return index_put(a[0], {1}, a[1]); });
  op("masked_fill", {arg(s3), mask({4, 5})}, [](V a) { return a[0].masked_fill(a[1], -0.5); });
  op("masked_fill (tensor value)", {arg(s3), mask({4, 1}), arg({2})},
     [](V a) { return masked_fill(a[0], a[1], a[2].sum()); });
  op("index_select", {arg(s3), classes({6}, 4)}, [](V a) { return index_select(a[0], 1, a[1]); });
  op("gather", {arg(s3), classes({3, 2, 5}, 4)}, [](V a) { return a[0].gather(1, a[1]); });
  op("scatter_add", {arg(s3), classes({3, 6, 5}, 4), arg({3, 6, 5})},
     [](V a) { return scatter_add(a[0], 1, a[1], a[2]); });
  op("flip", {arg(s3)}, [](V a) { return a[0].flip({0, 2}); });
  op("roll", {arg(s3)}, [](V a) { return roll(a[0], {1, -2}, {1, 2}); });
  op("roll (flattened)", {arg(s3)}, [](V a) { return a[0].roll(-7); });
  op("argmax(dim)", {distinct(s3)}, [](V a) { return a[0].argmax(1).to(kFloat64); });
  op("argmin (flattened)", {distinct(s3)}, [](V a) { return argmin(a[0]).to(kFloat64); });
  op("norm", {arg(s3)}, [](V a) { return a[0].norm(); });
  op("norm(1, dims, keepdim)", {arg(s3)}, [](V a) { return a[0].norm(1, {0, 2}, true); });
  op("norm(inf, dim)", {distinct(s3)}, [](V a) { return norm(a[0], std::numeric_limits<double>::infinity(), 1); });
  op("norm(3, dims)", {arg(s3)}, [](V a) { return a[0].norm(3, {1, 2}); });
  op("where(cond, tensor, scalar)", {mask({4, 1}), arg(s3)}, [](V a) { return where(a[0], a[1], 0.5); });
  op("where(cond, scalar, tensor)", {mask({4, 5}), arg(bl)},
     [](V a) { return a[1].where(a[0], -1.0) + where(a[0], 2.0, a[1]); });

  // --- linalg, softmax ----------------------------------------------------------------------------
  op("matmul 1-D · 1-D", {arg({5}), arg({5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul 2-D · 1-D", {arg({3, 5}), arg({5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul 1-D · 2-D", {arg({3}), arg({3, 5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul 2-D · 2-D", {arg({3, 4}), arg({4, 5})}, [](V a) { return a[0].matmul(a[1]); });
  op("matmul batched, broadcast", {arg({2, 3, 4}), arg({4, 5})}, [](V a) { return matmul(a[0], a[1]); });
  op("matmul batched 4-D", {arg({2, 1, 3, 4}), arg({3, 4, 2})}, [](V a) { return matmul(a[0], a[1]); });
  op("mm", {arg({3, 4}), arg({4, 5})}, [](V a) { return mm(a[0], a[1]); });
  op("bmm", {arg({2, 3, 4}), arg({2, 4, 5})}, [](V a) { return bmm(a[0], a[1]); });
  op("softmax", {arg(s3)}, [](V a) { return softmax(a[0], 1); });
  op("log_softmax", {arg(s3)}, [](V a) { return log_softmax(a[0], -1); });

  // --- pooling, upsampling, padding ---------------------------------------------------------------
  const Shape v5{2, 2, 4, 5, 6};
  op("max_pool3d", {distinct(v5)}, [](V a) { return max_pool3d(a[0], 2); });
  op("max_pool3d stride/padding/dilation/ceil", {distinct(v5)}, [](V a) {
    return max_pool3d(a[0], {3, 2, 3}, ExpandingArray<3>({2, 1, 2}), {1, 1, 1}, {1, 2, 1}, true);
  });
  op("max_pool3d_with_indices indices", {distinct(v5)},
     [](V a) { return std::get<1>(max_pool3d_with_indices(a[0], 2)).to(kFloat64); });
  op("max_pool3d unbatched", {distinct({2, 4, 5, 6})}, [](V a) { return max_pool3d(a[0], {2, 3, 2}); });
  op("avg_pool3d", {arg(v5)}, [](V a) { return avg_pool3d(a[0], 2); });
  op("avg_pool3d padding, count_include_pad=false", {arg(v5)},
     [](V a) { return avg_pool3d(a[0], 3, ExpandingArray<3>(2), 1, true, false); });
  op("avg_pool3d divisor_override", {arg(v5)},
     [](V a) { return avg_pool3d(a[0], 2, std::nullopt, 0, false, true, 5); });
  op("F::max_pool3d", {distinct(v5)},
     [](V a) { return F::max_pool3d(a[0], F::MaxPool3dFuncOptions(2).stride(1).padding(1)); });
  op("F::avg_pool3d", {arg(v5)}, [](V a) { return F::avg_pool3d(a[0], F::AvgPool3dFuncOptions(3).stride(2)); });
  op("upsample_nearest3d", {arg(v5)}, [](V a) { return upsample_nearest3d(a[0], {7, 10, 9}); });
  op("upsample_trilinear3d", {arg(v5)}, [](V a) { return upsample_trilinear3d(a[0], {7, 10, 9}, false); });
  op("upsample_trilinear3d align_corners", {arg(v5)}, [](V a) { return upsample_trilinear3d(a[0], {6, 3, 11}, true); });
  op("F::interpolate nearest", {arg(v5)},
     [](V a) { return F::interpolate(a[0], F::InterpolateFuncOptions().scale_factor(2.0)); });
  op("F::interpolate trilinear", {arg(v5)}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size({5, 7, 3}).mode(kTrilinear).align_corners(false));
  });
  op("adaptive_avg_pool3d", {arg(v5)}, [](V a) { return adaptive_avg_pool3d(a[0], {2, 3, 4}); });
  op("adaptive_max_pool3d", {distinct(v5)}, [](V a) { return adaptive_max_pool3d(a[0], {3, 2, 5}); });
  op("F::interpolate linear align_corners", {arg({2, 3, 5})}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size(std::int64_t{9}).mode(kLinear).align_corners(true));
  });
  op("F::interpolate bilinear", {arg({2, 3, 4, 5})},
     [](V a) { return F::interpolate(a[0], F::InterpolateFuncOptions().scale_factor(1.5).mode(kBilinear)); });
  op("F::interpolate area", {arg(v5)}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size({2, 2, 3}).mode(kArea));
  });
  op("F::interpolate nearest 2-D", {arg({2, 3, 4, 5})}, [](V a) {
    return F::interpolate(a[0], F::InterpolateFuncOptions().size({7, 3}));
  });
  for (PaddingMode mode : {kZeros, kReflect, kReplicate, kCircular}) {
    op(std::string("pad3d ") + padding_mode_name(mode), {arg(v5)}, [mode](V a) {
      return pad3d(a[0], {1, 2, 0, 3, 2, 1}, mode);
    });
  }

  // --- convolutions -------------------------------------------------------------------------------
  op("conv3d", {arg({2, 4, 4, 5, 6}), arg({6, 2, 2, 3, 2}), arg({6})}, [](V a) {
    return conv3d(a[0], a[1], a[2], {1, 2, 1}, {1, 0, 1}, {2, 1, 1}, 2);
  });
  op("conv_transpose3d", {arg({2, 4, 3, 4, 5}), arg({4, 3, 2, 3, 2}), arg({6})}, [](V a) {
    return conv_transpose3d(a[0], a[1], a[2], {2, 1, 2}, {1, 0, 0}, {1, 0, 1}, 2, {1, 2, 1});
  });
  op("conv3d_weight_grad", {arg({2, 4, 4, 5, 6}), arg({2, 6, 3, 2, 5})}, [](V a) {
    return conv3d_weight_grad(a[0], a[1], {2, 3, 2}, {1, 2, 1}, {0, 0, 0}, {1, 1, 1}, 2);
  });
  op("F::conv1d", {arg({2, 4, 9}), arg({6, 2, 3}), arg({6})},
     [](V a) { return F::conv1d(a[0], a[1], F::Conv1dFuncOptions().bias(a[2]).stride(2).padding(1).groups(2)); });
  op("F::conv2d", {arg({2, 3, 6, 7}), arg({4, 3, 3, 2}), arg({4})}, [](V a) {
    return F::conv2d(a[0], a[1], F::Conv2dFuncOptions().bias(a[2]).dilation({2, 1}));
  });
  op("F::conv3d kSame", {arg({2, 3, 4, 5, 6}), arg({4, 3, 2, 3, 3}), arg({4})},
     [](V a) { return F::conv3d(a[0], a[1], F::Conv3dFuncOptions().bias(a[2]).padding(kSame)); });
  op("F::conv_transpose1d", {arg({2, 4, 6}), arg({4, 3, 3}), arg({3})}, [](V a) {
    return F::conv_transpose1d(a[0], a[1], F::ConvTranspose1dFuncOptions().bias(a[2]).stride(2).output_padding(1));
  });
  op("F::conv_transpose2d", {arg({2, 4, 5, 4}), arg({4, 2, 3, 2}), arg({4})}, [](V a) {
    return F::conv_transpose2d(a[0], a[1], F::ConvTranspose2dFuncOptions().bias(a[2]).groups(2).padding({1, 0}));
  });
  op("F::conv_transpose3d", {arg({1, 2, 3, 4, 5}), arg({2, 3, 2, 2, 2}), arg({3})},
     [](V a) { return F::conv_transpose3d(a[0], a[1], F::ConvTranspose3dFuncOptions().bias(a[2]).stride(2)); });
  op("F::linear", {arg({4, 3}), arg({5, 3}), arg({5})}, [](V a) { return F::linear(a[0], a[1], a[2]); });
  op("F::linear batched", {arg({2, 4, 3}), arg({5, 3})}, [](V a) { return F::linear(a[0], a[1]); });

  // --- nn::functional activations -----------------------------------------------------------------
  op("F::relu", {arg(s3)}, [](V a) { return F::relu(a[0]); });
  op("F::leaky_relu", {arg(s3)},
     [](V a) { return F::leaky_relu(a[0], F::LeakyReLUFuncOptions().negative_slope(0.3)); });
  op("F::gelu", {arg(s3)}, [](V a) { return F::gelu(a[0], F::GELUFuncOptions().approximate("tanh")); });
  op("F::silu", {arg(s3)}, [](V a) { return F::silu(a[0]); });
  op("elu", {arg(s3)}, [](V a) { return elu(a[0], 0.7); });
  op("F::elu", {arg(s3)}, [](V a) { return F::elu(a[0], F::ELUFuncOptions().alpha(1.3)); });
  op("F::prelu per channel", {arg({2, 4, 3}), pos({4})}, [](V a) { return F::prelu(a[0], a[1]); });
  op("F::prelu shared", {arg({2, 4, 3}), pos({1})}, [](V a) { return F::prelu(a[0], a[1]); });
  op("F::softmax", {arg(s3)}, [](V a) { return F::softmax(a[0], 1); });
  op("F::cosine_similarity", {arg(bl), arg(s3)}, [](V a) { return F::cosine_similarity(a[0], a[1]); });
  op("F::pairwise_distance", {arg(s3), arg({5})},
     [](V a) { return F::pairwise_distance(a[0], a[1], F::PairwiseDistanceFuncOptions().p(3.0)); });
  op("F::normalize", {arg(s3)}, [](V a) { return F::normalize(a[0], F::NormalizeFuncOptions().p(1.0).dim(2)); });
  op("F::log_softmax", {arg(s3)}, [](V a) { return F::log_softmax(a[0], -1); });
  op("F::dropout3d train (same seed)", {arg({2, 3, 2, 3, 2})}, [](V a) {
    manual_seed(78);
    return F::dropout3d(a[0], F::Dropout3dFuncOptions().p(0.4));
  });
  op("F::dropout3d unbatched (same seed)", {arg({3, 2, 3, 2})}, [](V a) {
    manual_seed(79);
    return F::dropout3d(a[0], F::Dropout3dFuncOptions().p(0.4));
  });
  op("F::flatten", {arg({2, 3, 4, 5})}, [](V a) { return F::flatten(a[0]) * 1.0; });
  op("F::dropout eval", {arg(s3)}, [](V a) { return F::dropout(a[0], F::DropoutFuncOptions().training(false)) * 1.0; });
  op("F::dropout train (same seed)", {arg(s3)}, [](V a) {
    manual_seed(77);
    return F::dropout(a[0], F::DropoutFuncOptions().p(0.3));
  });

  // --- losses -------------------------------------------------------------------------------------
  for (Reduction red : {kMean, kSum, kNone}) {
    const std::string r = reduction_name(red);
    op("mse_loss " + r, {arg(s3), arg(s3)},
       [red](V a) { return F::mse_loss(a[0], a[1], F::MSELossFuncOptions().reduction(red)); });
    op("l1_loss " + r, {arg(s3), arg(s3)},
       [red](V a) { return F::l1_loss(a[0], a[1], F::L1LossFuncOptions().reduction(red)); });
    op("smooth_l1_loss " + r, {arg(s3), arg(s3)},
       [red](V a) { return F::smooth_l1_loss(a[0], a[1], F::SmoothL1LossFuncOptions().reduction(red).beta(0.5)); });
    op("binary_cross_entropy " + r, {unit(s3), unit(s3), pos(s3)}, [red](V a) {
      return F::binary_cross_entropy(a[0], a[1], F::BinaryCrossEntropyFuncOptions().reduction(red).weight(a[2]));
    });
    op("binary_cross_entropy_with_logits " + r, {arg(s3), unit(s3), pos({4, 5}), pos({5})}, [red](V a) {
      return F::binary_cross_entropy_with_logits(
          a[0], a[1], F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(red).weight(a[2]).pos_weight(a[3]));
    });
    op("nll_loss " + r, {arg({6, 4}), classes({6}, 4), pos({4})},
       [red](V a) { return F::nll_loss(a[0], a[1], F::NLLLossFuncOptions().reduction(red).weight(a[2])); });
    op("nll_loss (N, C, d) " + r, {arg({2, 4, 5}), classes({2, 5}, 4)},
       [red](V a) { return F::nll_loss(a[0], a[1], F::NLLLossFuncOptions().reduction(red)); });
    op("cross_entropy " + r, {arg({6, 4}), classes({6}, 4), pos({4})}, [red](V a) {
      return F::cross_entropy(a[0], a[1],
                              F::CrossEntropyFuncOptions().reduction(red).weight(a[2]).label_smoothing(0.1));
    });
    op("cross_entropy probabilities " + r, {arg({2, 4, 3}), unit({2, 4, 3})},
       [red](V a) { return F::cross_entropy(a[0], a[1], F::CrossEntropyFuncOptions().reduction(red)); });
  }

  // --- normalization ------------------------------------------------------------------------------
  const Shape n5{3, 4, 2, 3, 2};
  op("batch_norm training", {arg(n5), arg({4}), arg({4})},
     [](V a) { return F::batch_norm(a[0], {}, {}, F::BatchNormFuncOptions().weight(a[1]).bias(a[2]).training(true)); });
  op("batch_norm eval", {arg(n5), fixed({4}), fixed({4}, Kind::kPositive), arg({4}), arg({4})},
     [](V a) { return F::batch_norm(a[0], a[1], a[2], F::BatchNormFuncOptions().weight(a[3]).bias(a[4])); });
  op("batch_norm (N, C)", {arg({5, 4}), arg({4})},
     [](V a) { return F::batch_norm(a[0], {}, {}, F::BatchNormFuncOptions().weight(a[1]).training(true)); });
  op("instance_norm", {arg(n5), arg({4}), arg({4})},
     [](V a) { return F::instance_norm(a[0], F::InstanceNormFuncOptions().weight(a[1]).bias(a[2])); });
  op("instance_norm running stats", {arg(n5), fixed({4}), fixed({4}, Kind::kPositive)}, [](V a) {
    return F::instance_norm(a[0],
                            F::InstanceNormFuncOptions().running_mean(a[1]).running_var(a[2]).use_input_stats(false));
  });
  op("layer_norm", {arg({3, 4, 5}), arg({4, 5}), arg({4, 5})}, [](V a) {
    return F::layer_norm(a[0], F::LayerNormFuncOptions({4, 5}).weight(a[1]).bias(a[2]));
  });
  op("layer_norm no affine", {arg({3, 4, 5})}, [](V a) { return F::layer_norm(a[0], F::LayerNormFuncOptions({5})); });
  op("group_norm", {arg(n5), arg({4}), arg({4})},
     [](V a) { return F::group_norm(a[0], F::GroupNormFuncOptions(2).weight(a[1]).bias(a[2])); });
  return t;
}

TEST(Views, EveryOpMatchesContiguousCopies) {
  const std::vector<OpCase> table = cases();
  std::uint64_t seed = 1000;
  int runs = 0;
  for (const OpCase& c : table) {
    const Coverage cov = check_case(c, ++seed);
    // Every case passed each argument (of a size that allows it) as a strided and an expanded view.
    EXPECT_GE(cov.strided, static_cast<int>(c.args.size())) << c.name;
    EXPECT_GE(cov.expanded, static_cast<int>(c.args.size())) << c.name;
    runs += cov.strided + cov.expanded + cov.permuted + cov.offset;
  }
  std::cout << "[ views    ] " << table.size() << " op cases, " << runs << " runs with a view argument\n";
  EXPECT_GE(table.size(), 150u);
}

// The harness itself: an op that reads its argument's storage as if it were contiguous (the class
// of bug fixed in 55cc1a1 for conv's bias) must be caught.
void run_storage_as_contiguous_case() {
  const OpCase bad{"reads storage as contiguous", {arg({3, 4})}, [](const std::vector<Tensor>& a) {
                     const Tensor& x = a[0];
                     // Ignores strides: element i is read at p[i], clamped to the last element the
                     // view can reach so that the read stays inside the storage.
                     const double* p = x.data_ptr<double>();
                     std::int64_t reach = 1;
                     for (std::int64_t d = 0; d < x.dim(); ++d) reach += (x.size(d) - 1) * x.stride(d);
                     std::vector<double> v(static_cast<std::size_t>(x.numel()));
                     for (std::size_t i = 0; i < v.size(); ++i) {
                       v[i] = p[std::min(static_cast<std::int64_t>(i), reach - 1)];
                     }
                     return from_blob(v.data(), x.sizes(), kFloat64) + x * 0.0;
                   }};
  check_case(bad, 7);
}

TEST(Views, HarnessCatchesAnOpThatIgnoresStrides) {
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    run_storage_as_contiguous_case();
  }
  // Every run gives a wrong output: strided and expanded along each of the two dims, permuted, and
  // the offset window (read contiguously from its first element).
  int wrong_output = 0;
  for (int i = 0; i < failures.size(); ++i) {
    wrong_output += std::string(failures.GetTestPartResult(i).message()).find("output") != std::string::npos;
  }
  EXPECT_EQ(wrong_output, 6) << "strided and expanded along both dims, permuted, offset";
}

// =================================================================================================
// In-place ops: a viewed destination is written through its strides (and nothing around it); an
// expanded destination raises voxgrad::Error; a viewed or expanded source is read through its
// strides; a source overlapping the destination in the same storage is read as before the write.
// =================================================================================================

struct InplaceCase {
  std::string name;
  bool has_source;
  std::function<void(Tensor&, const Tensor&)> fn;
};

std::vector<InplaceCase> inplace_cases() {
  return {
      {"add_", true, [](Tensor& d, const Tensor& s) { d.add_(s); }},
      {"add_ alpha", true, [](Tensor& d, const Tensor& s) { d.add_(s, -0.5); }},
      {"sub_", true, [](Tensor& d, const Tensor& s) { d.sub_(s, 2.0); }},
      {"mul_", true, [](Tensor& d, const Tensor& s) { d.mul_(s); }},
      {"div_", true, [](Tensor& d, const Tensor& s) { d.div_(s); }},
      {"copy_", true, [](Tensor& d, const Tensor& s) { d.copy_(s); }},
      {"operator+=", true, [](Tensor& d, const Tensor& s) { d += s; }},
      {"operator-=", true, [](Tensor& d, const Tensor& s) { d -= s; }},
      {"operator*=", true, [](Tensor& d, const Tensor& s) { d *= s; }},
      {"operator/=", true, [](Tensor& d, const Tensor& s) { d /= s; }},
      {"add_(double)", false, [](Tensor& d, const Tensor&) { d.add_(1.5); }},
      {"sub_(double)", false, [](Tensor& d, const Tensor&) { d.sub_(1.5); }},
      {"mul_(double)", false, [](Tensor& d, const Tensor&) { d.mul_(-2.0); }},
      {"div_(double)", false, [](Tensor& d, const Tensor&) { d.div_(4.0); }},
      {"zero_", false, [](Tensor& d, const Tensor&) { d.zero_(); }},
      {"fill_", false, [](Tensor& d, const Tensor&) { d.fill_(3.25); }},
      // Indexing writes (ops/indexing.h, ops/gather_scatter.h), with parts of the source (broadcast to the
      // destination's shape first) as values.
      {"index_put_ (slices)", true,
       [](Tensor& d, const Tensor& s) {
         d.index_put_({Slice(), Slice(1, 3)}, s.expand(d.sizes()).index({Slice(), Slice(2)}));
       }},
      {"index_put_ (int64 tensor)", true,
       [](Tensor& d, const Tensor& s) {
         d.index_put_({tensor({2, 0}, kInt64)}, s.expand(d.sizes()).index({Slice(None, 2)}));
       }},
      {"index_put_ (accumulate)", true,
       [](Tensor& d, const Tensor& s) {
         d.index_put_({Ellipsis, tensor({3, 3, 1}, kInt64)}, s.expand(d.sizes()).index({Ellipsis, Slice(1, 4)}), true);
       }},
      {"index_put_ (mask, scalar)", true,
       [](Tensor& d, const Tensor& s) { d.index_put_({s.expand(d.sizes()).gt(1.2)}, -4.0); }},
      {"masked_fill_", true, [](Tensor& d, const Tensor& s) { d.masked_fill_(s.lt(1.0), 0.25); }},
      {"scatter_add_", true,
       [](Tensor& d, const Tensor& s) {
         Shape shape = d.sizes(), one(d.sizes().size(), 1);
         shape[0] = one[0] = std::min<std::int64_t>(3, d.size(0));
         const Tensor index = tensor({2, 0, 2}, kInt64).narrow(0, 0, shape[0]).view(one).expand(shape);
         d.scatter_add_(0, index, s.expand(d.sizes()));
       }},
  };
}

TEST(Views, InplaceOpsWriteThroughViewsAndRefuseExpandedDestinations) {
  std::mt19937_64 rng(99);
  const ArgSpec dst_spec = arg({3, 4, 5}), src_spec = pos({3, 4, 5});
  int checked = 0;
  for (const InplaceCase& c : inplace_cases()) {
    SCOPED_TRACE(c.name);
    // Destination as a view: the base must change exactly where the view is.
    for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset}) {
      for (std::int64_t dim : {0, 1, 2}) {
        SCOPED_TRACE(fmt::format("destination {} along {}", layout_name(layout), dim));
        ArgSpec plain = dst_spec;
        plain.grad = false;
        View v = make_view(plain, layout, dim, rng);
        const Tensor src = draw(src_spec, src_spec.shape, rng);
        Tensor want = v.dense.clone();
        c.fn(want, src);
        Tensor expected_base = v.base.clone();
        v.of_base(expected_base).copy_(want);
        c.fn(v.view, src);
        EXPECT_EQ(mismatch(v.base, expected_base, 0.0), "");
        ++checked;
      }
    }
    // Expanded destination: refused.
    {
      Tensor d = zeros({3, 1, 5}, kFloat64).expand({3, 4, 5});
      const Tensor src = draw(src_spec, src_spec.shape, rng);
      EXPECT_ERROR_CONTAINS(c.fn(d, src), "refers to a single memory location");
      Tensor d0 = zeros({1}, kFloat64).expand({6});
      EXPECT_THROW(c.fn(d0, zeros({6}, kFloat64) + 1.0), Error);
    }
    if (!c.has_source) continue;
    // Source as a view (including expanded and broadcast): read through its strides.
    for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset, Layout::kExpanded}) {
      for (std::int64_t dim : {0, 1, 2}) {
        SCOPED_TRACE(fmt::format("source {} along {}", layout_name(layout), dim));
        ArgSpec plain = src_spec;
        plain.grad = false;
        const View v = make_view(plain, layout, dim, rng);
        const Tensor d0 = draw(dst_spec, dst_spec.shape, rng);
        Tensor want = d0.clone(), got = d0.clone();
        c.fn(want, v.dense);
        c.fn(got, v.view);
        EXPECT_EQ(mismatch(got, want, 0.0), "");
        ++checked;
      }
    }
    {  // A broadcast source of lower rank, strided.
      const Tensor sb = draw(src_spec, {4, 10}, rng);
      const Tensor s = sb.slice(1, 0, std::nullopt, 2);
      const Tensor d0 = draw(dst_spec, dst_spec.shape, rng);
      Tensor want = d0.clone(), got = d0.clone();
      c.fn(want, s.contiguous());
      c.fn(got, s);
      EXPECT_EQ(mismatch(got, want, 0.0), "") << "broadcast strided source";
    }
    {  // Source and destination overlap in one storage, shifted by one element: as if copied first.
      const Tensor base = draw(src_spec, {3, 4, 6}, rng);
      Tensor want_base = base.clone();
      Tensor want_dst = want_base.narrow(2, 1, 5);
      c.fn(want_dst, base.narrow(2, 0, 5).clone());
      Tensor got_base = base.clone();
      Tensor got_dst = got_base.narrow(2, 1, 5);
      c.fn(got_dst, got_base.narrow(2, 0, 5));
      EXPECT_EQ(mismatch(got_base, want_base, 0.0), "") << "overlapping source and destination";
      // The same storage in another layout (a transpose of a square block).
      const Tensor sq = draw(src_spec, {4, 4}, rng);
      Tensor want_sq = sq.clone();
      Tensor wd = want_sq;
      c.fn(wd, sq.t().contiguous());
      Tensor got_sq = sq.clone();
      c.fn(got_sq, got_sq.t());
      EXPECT_EQ(mismatch(got_sq, want_sq, 0.0), "") << "source is the destination transposed";
    }
  }
  EXPECT_GE(checked, 16 * 9);
}

// The running statistics of batch_norm / instance_norm are updated in place: through a strided
// view they change exactly the view's elements; an expanded one is refused.
TEST(Views, RunningStatisticsUpdateThroughViews) {
  std::mt19937_64 rng(5);
  const Tensor x = draw(arg({3, 4, 2, 3, 2}), {3, 4, 2, 3, 2}, rng);
  for (bool instance : {false, true}) {
    SCOPED_TRACE(instance ? "instance_norm" : "batch_norm");
    auto run = [&](const Tensor& mean, const Tensor& var) {
      if (instance) {
        return F::instance_norm(x, F::InstanceNormFuncOptions().running_mean(mean).running_var(var));
      }
      return F::batch_norm(x, mean, var, F::BatchNormFuncOptions().training(true));
    };
    for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset}) {
      SCOPED_TRACE(layout_name(layout));
      ArgSpec m = fixed({4}), s = fixed({4}, Kind::kPositive);
      View vm = make_view(m, layout, 0, rng), vv = make_view(s, layout, 0, rng);
      Tensor want_m = vm.dense.clone(), want_v = vv.dense.clone();
      const Tensor want_y = run(want_m, want_v);
      const Tensor got_y = run(vm.view, vv.view);
      EXPECT_EQ(mismatch(got_y, want_y, 1e-12), "") << "output";
      Tensor em = vm.base.clone(), ev = vv.base.clone();
      vm.of_base(em).copy_(want_m);
      vv.of_base(ev).copy_(want_v);
      EXPECT_EQ(mismatch(vm.base, em, 1e-15), "") << "running_mean storage";
      EXPECT_EQ(mismatch(vv.base, ev, 1e-15), "") << "running_var storage";
    }
    const Tensor em = zeros({1}, kFloat64).expand({4}), ev = ones({1}, kFloat64).expand({4});
    EXPECT_THROW(run(em, ones({4}, kFloat64)), Error);
    EXPECT_THROW(run(zeros({4}, kFloat64), ev), Error);
  }
}

// =================================================================================================
// Factories that take a tensor, printing, checkpoints, gradcheck.
// =================================================================================================

std::vector<View> all_views(const Shape& shape, std::mt19937_64& rng) {
  std::vector<View> out;
  for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset, Layout::kExpanded}) {
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
      if (shape[static_cast<std::size_t>(d)] > 1 || layout == Layout::kPermuted)
        out.push_back(make_view(fixed(shape), layout, d, rng));
    }
  }
  return out;
}

TEST(Views, LikeFactoriesPrintingAndCheckpoints) {
  std::mt19937_64 rng(17);
  for (const View& v : all_views({3, 4, 2}, rng)) {
    SCOPED_TRACE(v.str());
    const Tensor c = v.dense;
    for (const Tensor& t : {zeros_like(v.view), ones_like(v.view), full_like(v.view, 2.5), empty_like(v.view)}) {
      EXPECT_EQ(t.sizes(), c.sizes());
      EXPECT_EQ(t.dtype(), c.dtype());
    }
    EXPECT_EQ(mismatch(zeros_like(v.view), zeros_like(c), 0.0), "");
    EXPECT_EQ(mismatch(ones_like(v.view), ones_like(c), 0.0), "");
    EXPECT_EQ(mismatch(full_like(v.view, 2.5), full_like(c, 2.5), 0.0), "");
    manual_seed(3);
    const Tensor r1 = rand_like(v.view), n1 = randn_like(v.view);
    manual_seed(3);
    const Tensor r2 = rand_like(c), n2 = randn_like(c);
    EXPECT_EQ(mismatch(r1, r2, 0.0), "");
    EXPECT_EQ(mismatch(n1, n2, 0.0), "");
    // Printing shows the view's elements.
    EXPECT_EQ(to_string(v.view), to_string(c));
    // A checkpoint stores the view's elements (written contiguous).
    const std::vector<std::uint8_t> bytes = save_to_bytes({{"t", v.view}, {"i", v.view.to(kInt64)}});
    const Checkpoint back = load_from_bytes(bytes.data(), bytes.size());
    ASSERT_EQ(back.state.size(), 2u);
    EXPECT_EQ(mismatch(back.state[0].second, c, 0.0), "");
    EXPECT_EQ(mismatch(back.state[1].second, c.to(kInt64), 0.0), "");
    // load_state_dict copies a viewed source into a parameter.
    nn::LinearImpl lin(nn::LinearOptions(2, 12));
    lin.to(kFloat64);
    EXPECT_TRUE(lin.load_state_dict({{"weight", v.view.reshape({12, 2})}, {"bias", v.view.flatten().narrow(0, 0, 12)}})
                    .missing_keys.empty());
    EXPECT_EQ(mismatch(lin.weight, c.reshape({12, 2}), 0.0), "");
  }
}

TEST(Views, GradcheckOnViewedLeaves) {
  std::mt19937_64 rng(23);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return (in[0].exp() * in[1]).sum({1}) + matmul(in[0], in[1].t()).sum();
  };
  for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset}) {
    SCOPED_TRACE(layout_name(layout));
    // Leaves that are themselves non-contiguous (a detached view shares its storage).
    View a = make_view(fixed({3, 4}), layout, 1, rng), b = make_view(fixed({3, 4}), layout, 0, rng);
    Tensor la = a.view.detach().requires_grad_(), lb = b.view.detach().requires_grad_();
    ASSERT_TRUE(la.is_leaf());
    const Tensor before_a = la.clone(), before_b = lb.clone();
    EXPECT_TRUE(autograd::gradcheck(fn, {la, lb}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {la, lb}));
    // gradcheck restores every perturbed element, and touches nothing around the view.
    EXPECT_EQ(mismatch(la, before_a, 0.0), "");
    EXPECT_EQ(mismatch(lb, before_b, 0.0), "");
    std::int64_t nans = 0;
    for (double e : values(a.base)) nans += std::isnan(e);
    EXPECT_EQ(nans, a.base.numel() - 12);
  }
  // An expanded leaf (many elements in one memory location) cannot be perturbed element by element.
  const Tensor e = full({1}, 0.5, kFloat64).expand({4}).detach().requires_grad_();
  EXPECT_ERROR_CONTAINS(autograd::gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {e}),
                        "contiguous copy");
}

// =================================================================================================
// Optimizers and gradient clipping with viewed parameters and gradients.
// =================================================================================================

/// A parameter holding `dense`'s values as a strided leaf of a larger storage, or contiguous.
struct Param {
  Tensor storage, p;
};

Param strided_param(const Tensor& dense) {
  Param r;
  r.storage = full({dense.size(0), 2 * dense.size(1)}, 9.0, kFloat64);
  r.p = r.storage.slice(1, 0, std::nullopt, 2).detach();
  r.p.copy_(dense);
  r.p.requires_grad_();
  return r;
}

TEST(Views, OptimizerStepsOnViewedParametersAndGradients) {
  std::mt19937_64 rng(31);
  const Tensor p0 = draw(arg({3, 4}), {3, 4}, rng);
  std::vector<Tensor> grads;
  for (int i = 0; i < 3; ++i) grads.push_back(draw(arg({3, 4}), {3, 4}, rng));
  using Make = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<std::string, Make>> optimizers = {
      {"SGD momentum nesterov weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::SGD>(ps,
                                             optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
       }},
      {"SGD dampening maximize",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::SGD>(ps, optim::SGDOptions(0.1).momentum(0.5).dampening(0.2).maximize(true));
       }},
      {"Adam amsgrad weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::Adam>(ps, optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
       }},
      {"AdamW", [](std::vector<Tensor> ps) { return std::make_unique<optim::AdamW>(ps, optim::AdamWOptions(0.01)); }},
      {"RMSprop centered momentum weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::RMSprop>(
             ps, optim::RMSpropOptions(0.01).centered(true).momentum(0.9).weight_decay(0.1));
       }},
      {"Adagrad lr_decay weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::Adagrad>(
             ps, optim::AdagradOptions(0.1).lr_decay(0.1).weight_decay(0.1).initial_accumulator_value(0.5));
       }},
  };
  // Gradients as: contiguous, strided, expanded (values equal along dim 0), permuted.
  auto grad_view = [](const Tensor& g, int kind) -> Tensor {
    switch (kind) {
      case 1: {
        Tensor b = full({3, 8}, std::nan(""), kFloat64);
        b.slice(1, 1, std::nullopt, 2).copy_(g);
        return b.slice(1, 1, std::nullopt, 2);
      }
      case 2: return g.narrow(0, 0, 1).clone().expand({3, 4});
      case 3: return g.t().contiguous().t();
      default: return g.clone();
    }
  };
  auto grad_value = [](const Tensor& g, int kind) { return kind == 2 ? g.narrow(0, 0, 1).expand({3, 4}).clone() : g; };
  for (const auto& [name, make] : optimizers) {
    for (int kind = 0; kind < 4; ++kind) {
      for (bool strided : {false, true}) {
        SCOPED_TRACE(fmt::format("{}, grad kind {}, strided parameter {}", name, kind, strided));
        Tensor want = p0.clone().requires_grad_();
        Param got = strided ? strided_param(p0) : Param{Tensor(), p0.clone().requires_grad_()};
        auto o1 = make({want});
        auto o2 = make({got.p});
        for (const Tensor& g : grads) {
          want.set_grad(grad_value(g, kind).clone());
          got.p.set_grad(grad_view(g, kind));
          o1->step();
          o2->step();
        }
        EXPECT_EQ(mismatch(got.p, want, 1e-14), "");
        if (strided) {  // the storage between the parameter's elements is untouched
          EXPECT_EQ(mismatch(got.storage.slice(1, 1, std::nullopt, 2), full({3, 4}, 9.0, kFloat64), 0.0), "");
        }
      }
    }
  }
}

TEST(Views, GradientClippingOnViewedGradients) {
  std::mt19937_64 rng(37);
  const Tensor g = draw(arg({3, 4}), {3, 4}, rng) * 4.0;
  for (int kind = 0; kind < 3; ++kind) {
    SCOPED_TRACE(fmt::format("grad kind {}", kind));
    Tensor base = full({3, 8}, 9.0, kFloat64);
    Tensor gv;
    if (kind == 0) {
      base.slice(1, 1, std::nullopt, 2).copy_(g);
      gv = base.slice(1, 1, std::nullopt, 2);
    } else if (kind == 1) {
      gv = g.t().contiguous().t();
    } else {
      base.narrow(1, 2, 4).copy_(g);
      gv = base.narrow(1, 2, 4);
    }
    Tensor p = zeros({3, 4}, kFloat64).requires_grad_(), q = zeros({3, 4}, kFloat64).requires_grad_();
    p.set_grad(gv);
    q.set_grad(g.clone());
    EXPECT_NEAR(nn::utils::clip_grad_norm_(p, 1.0), nn::utils::clip_grad_norm_(q, 1.0), 1e-12);
    EXPECT_EQ(mismatch(p.grad(), q.grad(), 1e-15), "");
    nn::utils::clip_grad_value_(p, 0.05);
    nn::utils::clip_grad_value_(q, 0.05);
    EXPECT_EQ(mismatch(p.grad(), q.grad(), 0.0), "");
    if (kind == 0) {
      EXPECT_EQ(mismatch(base.slice(1, 0, std::nullopt, 2), full({3, 4}, 9.0, kFloat64), 0.0), "");
    }
  }
  // An expanded gradient cannot be scaled in place.
  Tensor p = zeros({3, 4}, kFloat64).requires_grad_();
  p.set_grad(full({1, 4}, 5.0, kFloat64).expand({3, 4}));
  EXPECT_THROW(nn::utils::clip_grad_norm_(p, 1.0), Error);
  EXPECT_THROW(nn::utils::clip_grad_value_(p, 1.0), Error);
}

// With nothing to sum (an empty input or weight and a non-empty output) the output is the bias
// alone, read through its strides.
TEST(Views, Conv3dWithNothingToSumReadsANonContiguousBias) {
  const Tensor expanded = full({1}, 5.0, kFloat64).expand({4});
  const Tensor strided = tensor({10, 11, 12, 13, 14, 15, 16, 17}, kFloat64).slice(0, std::nullopt, std::nullopt, 2);
  const Tensor x = zeros({1, 0, 2, 2, 2}, kFloat64), w = zeros({4, 0, 1, 1, 1}, kFloat64);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(values(conv3d(x, w, expanded).mean({0, 2, 3, 4})), (std::vector<double>{5, 5, 5, 5}));
    EXPECT_EQ(values(conv3d(x, w, strided).mean({0, 2, 3, 4})), (std::vector<double>{10, 12, 14, 16}));
  }
}

}  // namespace
