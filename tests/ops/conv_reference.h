#pragma once
// The reference for conv3d / conv_transpose3d: a naive float64 loop over every multiply-add term
// (independent of the library's im2col/col2im/GEMM and direct kernels), and the machinery that runs the
// library on a configuration with every tensor argument drawn as a view and compares. Shared by
// test_conv_reference.cpp (the randomized sweeps), test_conv_reference_cases.cpp (hand-picked
// configurations, non-contiguous operands, threads, output shapes) and test_vol2col.cpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>
#include "test_util.h"
#include "view_util.h"
#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::testing {

using Dims = std::array<std::int64_t, 3>;

inline std::string dims_str(const Dims& d) {
  std::ostringstream os;
  os << "(" << d[0] << "," << d[1] << "," << d[2] << ")";
  return os.str();
}

// =================================================================================================
// The reference: one configuration, its shapes, and every multiply-add term written out.
// =================================================================================================

struct Cfg {
  bool transposed = false;
  std::int64_t N = 1;
  bool unbatched = false;  // 4-D input (C, D, H, W); the reference then runs with N = 1
  std::int64_t groups = 1, cin = 1, cout = 1;
  Dims in{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, d{1, 1, 1}, op{0, 0, 0};
  bool bias = false;

  std::int64_t cin_g() const { return cin / groups; }
  std::int64_t cout_g() const { return cout / groups; }

  /// Output spatial size from PyTorch's formulas (may be <= 0 for a config the op must reject).
  Dims out() const {
    Dims o{};
    for (std::size_t i = 0; i < 3; ++i) {
      o[i] = transposed ? (in[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
                        : (in[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i] + 1;
    }
    return o;
  }
  /// False when PyTorch rejects the config: the dilated kernel exceeds the padded input (conv3d) or
  /// the output size is non-positive (transposed).
  bool valid() const {
    for (std::size_t i = 0; i < 3; ++i) {
      if (!transposed && in[i] + 2 * p[i] < d[i] * (k[i] - 1) + 1) return false;
      if (transposed && out()[i] <= 0) return false;
    }
    return true;
  }

  Shape batched(std::int64_t c, const Dims& sp) const {
    if (unbatched) return {c, sp[0], sp[1], sp[2]};
    return {N, c, sp[0], sp[1], sp[2]};
  }
  Shape x_shape() const { return batched(cin, in); }
  Shape y_shape() const { return batched(cout, out()); }
  Shape w_shape() const {
    if (transposed) return {cin, cout_g(), k[0], k[1], k[2]};
    return {cout, cin_g(), k[0], k[1], k[2]};
  }
  std::int64_t n_ref() const { return unbatched ? 1 : N; }

  std::string str() const {
    std::ostringstream os;
    os << (transposed ? "conv_transpose3d" : "conv3d") << " {N=" << N << (unbatched ? " (unbatched 4-D)" : "")
       << " groups=" << groups << " Cin=" << cin << " Cout=" << cout << " in=" << dims_str(in)
       << " kernel=" << dims_str(k) << " stride=" << dims_str(s) << " padding=" << dims_str(p)
       << " dilation=" << dims_str(d);
    if (transposed) os << " output_padding=" << dims_str(op);
    os << " bias=" << (bias ? "yes" : "no") << "} -> out=" << dims_str(out());
    return os.str();
  }
};

inline std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t v : s) n *= v;
  return n;
}

struct Reference {
  std::vector<double> y, dx, dw, db;
  /// Per element, what float32 sums of its terms in any order may stray by: 4·√n·2⁻²⁴·Σ|term| over its
  /// n terms (a float32 sum's usual error bound; long sums that cancel, such as a weight gradient over
  /// an expanded input, reach 1e-4 of their result on a plain GEMM).
  std::vector<double> y_f32, dx_f32, dw_f32, db_f32;
};

/// Forward and the three gradients (for upstream gradient gy) by direct loops in float64, with each
/// element's float32 allowance. Defined in conv_reference.cpp, which every preset compiles optimised:
/// these loops are most of the sweeps' time, under the sanitizers too.
Reference reference(const Cfg& c, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& gy);

// =================================================================================================
// Running the library and comparing.
// =================================================================================================

inline std::vector<double> uniform_values(std::mt19937_64& rng, std::int64_t n) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& e : v) e = u(rng);
  return v;
}

/// The values rounded to float32 (kept in double), so the reference sees what a float32 run sees.
inline std::vector<double> rounded_to_float(std::vector<double> v) {
  for (double& e : v) e = static_cast<double>(static_cast<float>(e));
  return v;
}

inline Tensor make(const std::vector<double>& v, const Shape& shape, DType dtype) {
  return from_blob(v.data(), shape, dtype);
}

inline Tensor run_op(const Cfg& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  if (c.transposed) return conv_transpose3d(x, w, b, c.s, c.p, c.op, c.groups, c.d);
  return conv3d(x, w, b, c.s, c.p, c.d, c.groups);
}

/// "" when `got` has shape `shape` and |got − want| <= atol + rtol·max(|want|, 1) (+ allow[i] when
/// given) everywhere, otherwise a description of the first and worst mismatch.
inline std::string mismatch(const char* what, const Tensor& got, const Shape& shape, const std::vector<double>& want,
                            double atol, double rtol, const std::vector<double>* allow = nullptr) {
  std::ostringstream os;
  if (!got.defined()) {
    os << what << ": undefined tensor\n";
    return os.str();
  }
  if (got.sizes() != shape) {
    os << what << ": shape " << shape_str(got.sizes()) << ", expected " << shape_str(shape) << "\n";
    return os.str();
  }
  const std::vector<double> v = values(got);
  if (v.size() != want.size()) {
    os << what << ": " << v.size() << " values, expected " << want.size() << "\n";
    return os.str();
  }
  std::int64_t bad = 0, worst = -1;
  double worst_err = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double err = std::abs(v[i] - want[i]);
    const double tol = atol + rtol * std::max(std::abs(want[i]), 1.0) + (allow != nullptr ? (*allow)[i] : 0.0);
    if (!(err <= tol)) {
      ++bad;
      if (worst < 0 || !(err <= worst_err)) {
        worst = static_cast<std::int64_t>(i);
        worst_err = err;
      }
    }
  }
  if (bad == 0) return "";
  os.precision(17);
  os << what << ": " << bad << " of " << v.size() << " elements differ; worst at flat index " << worst << ": got "
     << v[worst] << ", expected " << want[worst] << " (|diff| " << worst_err << ")\n";
  return os.str();
}

inline std::int64_t pick(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// =================================================================================================
// Arguments passed as views. Every tensor argument of a checked call (input, weight, bias and the
// upstream gradient) is drawn as one of these kinds; the reference sees the values the view shows.
// =================================================================================================

enum class ViewKind { kContiguous, kStrided, kPermuted, kExpanded, kOffset };
inline constexpr std::size_t kViewKinds = 5;
inline constexpr const char* kViewKindNames[kViewKinds] = {"contiguous", "strided", "permuted", "expanded", "offset"};
inline constexpr std::size_t kViewArgs = 4;
inline constexpr const char* kViewArgNames[kViewArgs] = {"input", "weight", "bias", "grad_output"};

/// One argument as the op sees it (`view`) and the leaf that owns its storage (`base`, the same tensor
/// for kContiguous). Each element of the base outside the view holds NaN, so a read outside the
/// view shows in the results.
struct ViewArg {
  ViewKind kind = ViewKind::kContiguous;
  Tensor base, view;
  std::int64_t expand_dim = -1;           // kExpanded: the dim of size 1 in `base`
  std::function<Tensor(Tensor)> of_base;  // the view's region of a base-shaped tensor (not kExpanded)
  /// True when the view is laid out differently from a fresh contiguous tensor of its shape.
  bool effective() const { return !view.is_contiguous() || view.storage_offset() != 0; }
  std::string str() const {
    std::ostringstream os;
    os << kViewKindNames[static_cast<std::size_t>(kind)] << " sizes " << shape_str(view.sizes()) << " strides "
       << shape_str(view.strides()) << " offset " << view.storage_offset() << " of base " << shape_str(base.sizes());
    return os.str();
  }
};

inline ViewKind draw_view_kind(std::mt19937_64& rng) {
  return static_cast<ViewKind>(std::uniform_int_distribution<std::size_t>(0, kViewKinds - 1)(rng));
}

/// A dim of `shape` drawn uniformly among those of size > 1, else among all dims.
inline std::int64_t draw_dim(std::mt19937_64& rng, const Shape& shape) {
  std::vector<std::int64_t> big;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 1) big.push_back(static_cast<std::int64_t>(i));
  if (big.empty())
    return std::uniform_int_distribution<std::int64_t>(0, static_cast<std::int64_t>(shape.size()) - 1)(rng);
  return big[std::uniform_int_distribution<std::size_t>(0, big.size() - 1)(rng)];
}

/// Draws values for an argument of `shape` (uniform in [-1, 1], rounded to float32 for a float32
/// run; for kExpanded equal along the expanded dim) into `values` and builds the argument as a view
/// of kind `kind`. The base requires grad when `requires_grad`.
inline ViewArg make_view_arg(std::mt19937_64& rng, ViewKind kind, const Shape& shape, DType dtype, bool requires_grad,
                             std::vector<double>& values) {
  auto draw = [&](std::int64_t n) {
    std::vector<double> v = uniform_values(rng, n);
    return dtype == kFloat32 ? rounded_to_float(v) : v;
  };
  const std::int64_t rank = static_cast<std::int64_t>(shape.size());
  ViewArg a;
  a.kind = kind;
  switch (kind) {
    case ViewKind::kContiguous:
      values = draw(numel_of(shape));
      a.base = make(values, shape, dtype);
      a.view = a.base;
      a.of_base = [](Tensor t) { return t; };
      break;
    case ViewKind::kStrided: {  // every step-th element along one dim, from an offset below step
      values = draw(numel_of(shape));
      const std::int64_t dim = draw_dim(rng, shape), step = pick(rng, 2, 3), start = pick(rng, 0, step - 1);
      Shape bs = shape;
      bs[static_cast<std::size_t>(dim)] *= step;
      a.base = full(bs, std::nan(""), dtype);
      a.of_base = [=](Tensor t) { return t.slice(dim, start, std::nullopt, step); };
      a.of_base(a.base).copy_(make(values, shape, dtype));
      break;
    }
    case ViewKind::kPermuted: {
      values = draw(numel_of(shape));
      if (rank == 1) {
        // A 1-D view through a permute: column j of an (n, 2) tensor, transposed and selected.
        const std::int64_t j = pick(rng, 0, 1);
        a.base = full({shape[0], 2}, std::nan(""), dtype);
        a.of_base = [=](Tensor t) { return t.t().select(0, j); };
      } else {
        // The base holds the values in the order of a random (non-identity) permutation of the dims.
        std::vector<std::int64_t> perm(static_cast<std::size_t>(rank)), inv(perm.size());
        for (std::int64_t i = 0; i < rank; ++i) perm[static_cast<std::size_t>(i)] = i;
        while (true) {
          std::shuffle(perm.begin(), perm.end(), rng);
          bool identity = true;
          for (std::int64_t i = 0; i < rank; ++i) identity = identity && perm[static_cast<std::size_t>(i)] == i;
          if (!identity) break;
        }
        for (std::int64_t i = 0; i < rank; ++i) inv[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] = i;
        a.base = make(values, shape, dtype).permute(perm).contiguous();
        a.of_base = [=](Tensor t) { return t.permute(inv); };
      }
      if (rank == 1) a.of_base(a.base).copy_(make(values, shape, dtype));
      break;
    }
    case ViewKind::kExpanded: {  // a tensor with size 1 along one dim, broadcast with stride 0
      a.expand_dim = draw_dim(rng, shape);
      Shape bs = shape;
      bs[static_cast<std::size_t>(a.expand_dim)] = 1;
      const std::vector<double> small = draw(numel_of(bs));
      const auto [outer, n, inner] = split_at(shape, a.expand_dim);
      values.assign(static_cast<std::size_t>(numel_of(shape)), 0.0);
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t s = 0; s < n; ++s)
          for (std::int64_t j = 0; j < inner; ++j) values[(o * n + s) * inner + j] = small[o * inner + j];
      a.base = make(small, bs, dtype);
      break;
    }
    case ViewKind::kOffset: {  // a window of a larger tensor along one dim
      values = draw(numel_of(shape));
      const std::int64_t dim = pick(rng, 0, rank - 1), before = pick(rng, 1, 3), after = pick(rng, 0, 2);
      const std::int64_t len = shape[static_cast<std::size_t>(dim)];
      Shape bs = shape;
      bs[static_cast<std::size_t>(dim)] += before + after;
      a.base = full(bs, std::nan(""), dtype);
      a.of_base = [=](Tensor t) { return t.narrow(dim, before, len); };
      a.of_base(a.base).copy_(make(values, shape, dtype));
      break;
    }
  }
  if (requires_grad) a.base.requires_grad_();
  a.view = kind == ViewKind::kExpanded ? a.base.expand(shape) : a.of_base(a.base);
  return a;
}

/// How often each kind was drawn for each argument, and how often it really was a view.
struct ViewStats {
  std::array<std::array<int, kViewKinds>, kViewArgs> drawn{}, effective{};
  void add(std::size_t arg, const ViewArg& a) {
    ++drawn[arg][static_cast<std::size_t>(a.kind)];
    effective[arg][static_cast<std::size_t>(a.kind)] += a.kind != ViewKind::kContiguous && a.effective();
  }
  std::string str() const {
    std::ostringstream os;
    for (std::size_t i = 0; i < kViewArgs; ++i) {
      os << "\n             " << kViewArgNames[i] << ":";
      for (std::size_t k = 0; k < kViewKinds; ++k) {
        os << " " << kViewKindNames[k] << " " << drawn[i][k];
        if (k != 0) os << " (" << effective[i][k] << " non-contiguous or offset)";
      }
    }
    return os.str();
  }
  /// Each kind hit each argument (as a real view, for the non-contiguous kinds) at least `min` times.
  void expect_each_kind(int min) const {
    for (std::size_t i = 0; i < kViewArgs; ++i)
      for (std::size_t k = 0; k < kViewKinds; ++k) {
        EXPECT_GE(k == 0 ? drawn[i][k] : effective[i][k], min) << kViewArgNames[i] << " as " << kViewKindNames[k];
      }
  }
};

/// Runs one config in `dtype` and compares forward and all gradients with the reference. Every
/// tensor argument is a view of a kind drawn from `rng` (see ViewArg); the gradients are checked
/// twice: w.r.t. the views the op sees (non-leaves, against the reference directly) and w.r.t. the
/// leaves that own their storage (viewed back; for an expanded view the reference summed over the
/// expanded dim), which must stay zero outside the view. Returns the mismatches ("" when all agree)
/// and counts the kinds drawn in `stats` (if given).
inline std::string check_config(const Cfg& c, DType dtype, std::mt19937_64& rng, ViewStats* stats = nullptr) {
  const bool f32 = dtype == kFloat32;
  ViewKind kinds[kViewArgs];
  for (ViewKind& k : kinds) k = draw_view_kind(rng);
  std::vector<double> x, w, b, gy;
  const ViewArg ax = make_view_arg(rng, kinds[0], c.x_shape(), dtype, true, x);
  const ViewArg aw = make_view_arg(rng, kinds[1], c.w_shape(), dtype, true, w);
  ViewArg ab;
  if (c.bias) ab = make_view_arg(rng, kinds[2], {c.cout}, dtype, true, b);
  const ViewArg agy = make_view_arg(rng, kinds[3], c.y_shape(), dtype, false, gy);
  if (stats != nullptr) {
    stats->add(0, ax);
    stats->add(1, aw);
    if (c.bias) stats->add(2, ab);
    stats->add(3, agy);
  }
  const Reference r = reference(c, x, w, b, gy);

  const double atol = f32 ? 0.0 : 1e-10, rtol = f32 ? 1e-4 : 0.0;
  std::string msg;
  auto views = [&] {
    std::string s = "input " + ax.str() + "\nweight " + aw.str() + "\n";
    if (c.bias) s += "bias " + ab.str() + "\n";
    return s + "grad_output " + agy.str() + "\n";
  };
  Tensor y;
  try {
    y = run_op(c, ax.view, aw.view, c.bias ? ab.view : Tensor());
  } catch (const Error& e) {
    return std::string("forward threw: ") + e.what() + "\n" + views();
  }
  msg += mismatch("output", y, c.y_shape(), r.y, atol, rtol, f32 ? &r.y_f32 : nullptr);
  if (y.dtype() != dtype) msg += "output dtype differs from the input's\n";
  if (!msg.empty()) return msg + views();

  const ViewArg* args[3] = {&ax, &aw, c.bias ? &ab : nullptr};
  const std::vector<double>* want[3] = {&r.dx, &r.dw, &r.db};
  const std::vector<double>* allow[3] = {f32 ? &r.dx_f32 : nullptr, f32 ? &r.dw_f32 : nullptr,
                                         f32 ? &r.db_f32 : nullptr};
  const Shape shapes[3] = {c.x_shape(), c.w_shape(), {c.cout}};
  const char* names[3] = {"grad input", "grad weight", "grad bias"};
  std::vector<Tensor> inputs;
  for (const ViewArg* a : args)
    if (a != nullptr) inputs.push_back(a->view);
  for (const ViewArg* a : args)
    if (a != nullptr && a->kind != ViewKind::kContiguous) inputs.push_back(a->base);
  std::vector<Tensor> g;
  try {
    g = autograd::grad({y}, inputs, {agy.view});
  } catch (const Error& e) {
    return std::string("backward threw: ") + e.what() + "\n" + views();
  }
  std::size_t next_base = c.bias ? 3 : 2;
  for (std::size_t i = 0; i < 3; ++i) {
    const ViewArg* a = args[i];
    if (a == nullptr) continue;
    msg += mismatch(names[i], g[i], shapes[i], *want[i], atol, rtol, allow[i]);
    if (a->kind == ViewKind::kContiguous) continue;
    const Tensor gb = g[next_base++];
    const std::string what =
        std::string(names[i]) + " w.r.t. the " + kViewKindNames[static_cast<std::size_t>(a->kind)] + " view's base";
    if (a->kind == ViewKind::kExpanded) {
      const std::vector<double> summed_allow =
          allow[i] != nullptr ? sum_over(*allow[i], shapes[i], a->expand_dim) : std::vector<double>();
      msg += mismatch(what.c_str(), gb, a->base.sizes(), sum_over(*want[i], shapes[i], a->expand_dim), atol, rtol,
                      allow[i] != nullptr ? &summed_allow : nullptr);
      continue;
    }
    if (gb.sizes() != a->base.sizes()) {
      msg += what + ": shape " + shape_str(gb.sizes()) + ", expected " + shape_str(a->base.sizes()) + "\n";
      continue;
    }
    msg += mismatch(what.c_str(), a->of_base(gb), shapes[i], *want[i], atol, rtol, allow[i]);
    Tensor outside = gb.clone();
    a->of_base(outside).zero_();
    msg += mismatch((what + " outside the view").c_str(), outside, outside.sizes(),
                    std::vector<double>(static_cast<std::size_t>(outside.numel()), 0.0), 0.0, 0.0);
  }
  return msg.empty() ? msg : msg + views();
}

/// The geometry (conv3d form) of a config: conv3d runs its forward map, conv_transpose3d its adjoint.
inline detail::ConvGeometry conv3d_form(const Cfg& c) {
  detail::ConvGeometry d;
  d.N = c.n_ref();
  d.groups = c.groups;
  d.Cin = c.transposed ? c.cout : c.cin;
  d.Cout = c.transposed ? c.cin : c.cout;
  d.vol = c.transposed ? c.out() : c.in;
  d.out = c.transposed ? c.in : c.out();
  d.kernel = c.k;
  d.stride = c.s;
  d.padding = c.p;
  d.dilation = c.d;
  return d;
}

}  // namespace voxgrad::testing
