#pragma once
// The views harness of the ops tests (test_views.cpp, test_views_state.cpp): arguments drawn by kind,
// passed as views of four layouts -- a strided slice, a permute of a tensor laid out accordingly, a
// window at an offset into a larger storage, and an expanded (stride-0) tensor whose values are equal
// along the expanded dim -- and an op run on them compared with the same op on contiguous copies
// holding the same values: the output, and the gradients w.r.t. every differentiable argument (for the
// viewed one, w.r.t. the leaf that owns its storage, viewed back; for an expanded one, the contiguous
// run's gradient summed over the expanded dim). The storage around a view holds NaN (or an invalid
// class index), so a read outside the view shows.

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

#include <gtest/gtest.h>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad::testing::views {

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

inline ArgSpec arg(Shape s, Kind k = Kind::kUniform) { return {std::move(s), k, true, 0}; }
inline ArgSpec pos(Shape s) { return arg(std::move(s), Kind::kPositive); }
inline ArgSpec unit(Shape s) { return arg(std::move(s), Kind::kUnit); }
inline ArgSpec distinct(Shape s) { return arg(std::move(s), Kind::kDistinct); }
inline ArgSpec fixed(Shape s, Kind k = Kind::kUniform) { return {std::move(s), k, false, 0}; }  // not differentiated
inline ArgSpec classes(Shape s, std::int64_t c) { return {std::move(s), Kind::kClass, false, c}; }
inline ArgSpec mask(Shape s) { return fixed(std::move(s), Kind::kMask); }

inline std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t v : s) n *= v;
  return n;
}

/// A contiguous tensor of `spec.shape` (with `shape` overriding it) holding drawn values.
inline Tensor draw(const ArgSpec& spec, const Shape& shape, std::mt19937_64& rng) {
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
inline const char* layout_name(Layout l) {
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

inline double filler(DType dt) { return dt == kInt64 ? -7.0 : std::nan(""); }

/// Builds `spec` as a view of kind `layout` along `dim` (strided, expanded: that dim; offset: that
/// dim; permuted: dims reversed, or for 1-D a column of an (n, 2) tensor). The base requires grad
/// when the argument is differentiable.
inline View make_view(const ArgSpec& spec, Layout layout, std::int64_t dim, std::mt19937_64& rng) {
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

inline std::string mismatch(const Tensor& got, const Tensor& want, double tol) {
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

inline Run run_case(const OpCase& c, const std::vector<Tensor>& args, const std::vector<Tensor>& grad_wrt, Tensor& gy,
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

inline Coverage check_case(const OpCase& c, std::uint64_t seed) {
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
}  // namespace voxgrad::testing::views
