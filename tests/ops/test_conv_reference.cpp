// conv3d / conv_transpose3d against a naive direct-loop reference written here in plain float64
// loops (independent of the library's im2col/col2im/GEMM kernels): forward and the input, weight and
// bias gradients on a randomized sweep of small configurations, in float64 (1e-10 absolute) and
// float32 (1e-4 relative to max(|expected|, 1)). Every tensor argument of a checked call (input,
// weight, bias, upstream gradient) is drawn as a contiguous tensor, a strided slice, a permute, an
// expanded (stride-0) tensor or a window at an offset into a larger storage (see ViewArg); the
// gradients are checked w.r.t. the views and w.r.t. the leaves that own their storage. Also:
// im2col3d/col2im3d adjointness, the 1×1×1 no-im2col path, kernel 1 with stride 2 (pytorch#63314),
// non-contiguous operands (pytorch#67829), bit-identical results for 1 and 2 threads, zero batch,
// and the output-shape formulas.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "view_util.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>
#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/direct_weight_xt.h"
#include "voxgrad/ops/detail/vol2col.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::values;
using Dims = std::array<std::int64_t, 3>;

std::string dims_str(const Dims& d) {
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

std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t v : s) n *= v;
  return n;
}

/// conv3d from the definition y[n,co,o] = b[co] + Σ w[co,ci,k]·x[n, g·cin_g+ci, o·s − p + k·d]:
/// calls f(x index, w index, y index) for every term whose input position lies inside the volume.
template <typename F>
void conv3d_terms(const Cfg& c, F&& f) {
  const Dims o = c.out();
  const std::int64_t cin_g = c.cin_g(), cout_g = c.cout_g();
  for (std::int64_t n = 0; n < c.n_ref(); ++n)
    for (std::int64_t co = 0; co < c.cout; ++co) {
      const std::int64_t g = co / cout_g;
      for (std::int64_t od = 0; od < o[0]; ++od)
        for (std::int64_t oh = 0; oh < o[1]; ++oh)
          for (std::int64_t ow = 0; ow < o[2]; ++ow) {
            const std::int64_t yi = (((n * c.cout + co) * o[0] + od) * o[1] + oh) * o[2] + ow;
            for (std::int64_t ci = 0; ci < cin_g; ++ci)
              for (std::int64_t kd = 0; kd < c.k[0]; ++kd)
                for (std::int64_t kh = 0; kh < c.k[1]; ++kh)
                  for (std::int64_t kw = 0; kw < c.k[2]; ++kw) {
                    const std::int64_t id = od * c.s[0] - c.p[0] + kd * c.d[0];
                    const std::int64_t ih = oh * c.s[1] - c.p[1] + kh * c.d[1];
                    const std::int64_t iw = ow * c.s[2] - c.p[2] + kw * c.d[2];
                    if (id < 0 || id >= c.in[0] || ih < 0 || ih >= c.in[1] || iw < 0 || iw >= c.in[2]) continue;
                    const std::int64_t xi =
                        (((n * c.cin + g * cin_g + ci) * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw;
                    const std::int64_t wi = (((co * cin_g + ci) * c.k[0] + kd) * c.k[1] + kh) * c.k[2] + kw;
                    f(xi, wi, yi);
                  }
          }
    }
}

/// conv_transpose3d by scattering each input element: x[n,ci,i] · w[ci,co,k] lands on
/// y[n, g·cout_g+co, i·s − p + k·d] when that lies inside the output. Calls f(x, w, y indices).
template <typename F>
void conv_transpose3d_terms(const Cfg& c, F&& f) {
  const Dims o = c.out();
  const std::int64_t cin_g = c.cin_g(), cout_g = c.cout_g();
  for (std::int64_t n = 0; n < c.n_ref(); ++n)
    for (std::int64_t ci = 0; ci < c.cin; ++ci) {
      const std::int64_t g = ci / cin_g;
      for (std::int64_t id = 0; id < c.in[0]; ++id)
        for (std::int64_t ih = 0; ih < c.in[1]; ++ih)
          for (std::int64_t iw = 0; iw < c.in[2]; ++iw) {
            const std::int64_t xi = (((n * c.cin + ci) * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw;
            for (std::int64_t co = 0; co < cout_g; ++co)
              for (std::int64_t kd = 0; kd < c.k[0]; ++kd)
                for (std::int64_t kh = 0; kh < c.k[1]; ++kh)
                  for (std::int64_t kw = 0; kw < c.k[2]; ++kw) {
                    const std::int64_t od = id * c.s[0] - c.p[0] + kd * c.d[0];
                    const std::int64_t oh = ih * c.s[1] - c.p[1] + kh * c.d[1];
                    const std::int64_t ow = iw * c.s[2] - c.p[2] + kw * c.d[2];
                    if (od < 0 || od >= o[0] || oh < 0 || oh >= o[1] || ow < 0 || ow >= o[2]) continue;
                    const std::int64_t wi = (((ci * cout_g + co) * c.k[0] + kd) * c.k[1] + kh) * c.k[2] + kw;
                    const std::int64_t yi = (((n * c.cout + g * cout_g + co) * o[0] + od) * o[1] + oh) * o[2] + ow;
                    f(xi, wi, yi);
                  }
          }
    }
}

struct Reference {
  std::vector<double> y, dx, dw, db;
};

/// Forward and the three gradients (for upstream gradient gy) by direct loops in float64.
Reference reference(const Cfg& c, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& b, const std::vector<double>& gy) {
  Reference r;
  const Dims o = c.out();
  const std::int64_t ovol = o[0] * o[1] * o[2];
  r.y.assign(static_cast<std::size_t>(c.n_ref() * c.cout * ovol), 0.0);
  r.dx.assign(x.size(), 0.0);
  r.dw.assign(w.size(), 0.0);
  r.db.assign(static_cast<std::size_t>(c.bias ? c.cout : 0), 0.0);
  if (c.bias) {
    for (std::int64_t n = 0; n < c.n_ref(); ++n)
      for (std::int64_t co = 0; co < c.cout; ++co)
        for (std::int64_t j = 0; j < ovol; ++j) {
          r.y[(n * c.cout + co) * ovol + j] = b[co];
          r.db[co] += gy[(n * c.cout + co) * ovol + j];
        }
  }
  auto term = [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
    r.y[yi] += x[xi] * w[wi];
    r.dx[xi] += gy[yi] * w[wi];
    r.dw[wi] += gy[yi] * x[xi];
  };
  if (c.transposed)
    conv_transpose3d_terms(c, term);
  else
    conv3d_terms(c, term);
  return r;
}

// =================================================================================================
// Running the library and comparing.
// =================================================================================================

std::vector<double> uniform_values(std::mt19937_64& rng, std::int64_t n) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& e : v) e = u(rng);
  return v;
}

/// The values rounded to float32 (kept in double), so the reference sees what a float32 run sees.
std::vector<double> rounded_to_float(std::vector<double> v) {
  for (double& e : v) e = static_cast<double>(static_cast<float>(e));
  return v;
}

Tensor make(const std::vector<double>& v, const Shape& shape, DType dtype) { return from_blob(v.data(), shape, dtype); }

Tensor run_op(const Cfg& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  if (c.transposed) return conv_transpose3d(x, w, b, c.s, c.p, c.op, c.groups, c.d);
  return conv3d(x, w, b, c.s, c.p, c.d, c.groups);
}

/// "" when `got` has shape `shape` and |got − want| <= atol + rtol·max(|want|, 1) everywhere,
/// otherwise a description of the first and worst mismatch.
std::string mismatch(const char* what, const Tensor& got, const Shape& shape, const std::vector<double>& want,
                     double atol, double rtol) {
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
    const double tol = atol + rtol * std::max(std::abs(want[i]), 1.0);
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

std::int64_t pick(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// =================================================================================================
// Arguments passed as views. Every tensor argument of a checked call (input, weight, bias and the
// upstream gradient) is drawn as one of these kinds; the reference sees the values the view shows.
// =================================================================================================

enum class ViewKind { kContiguous, kStrided, kPermuted, kExpanded, kOffset };
constexpr std::size_t kViewKinds = 5;
constexpr const char* kViewKindNames[kViewKinds] = {"contiguous", "strided", "permuted", "expanded", "offset"};
constexpr std::size_t kViewArgs = 4;
constexpr const char* kViewArgNames[kViewArgs] = {"input", "weight", "bias", "grad_output"};

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

ViewKind draw_view_kind(std::mt19937_64& rng) {
  return static_cast<ViewKind>(std::uniform_int_distribution<std::size_t>(0, kViewKinds - 1)(rng));
}

/// A dim of `shape` drawn uniformly among those of size > 1, else among all dims.
std::int64_t draw_dim(std::mt19937_64& rng, const Shape& shape) {
  std::vector<std::int64_t> big;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 1) big.push_back(static_cast<std::int64_t>(i));
  if (big.empty())
    return std::uniform_int_distribution<std::int64_t>(0, static_cast<std::int64_t>(shape.size()) - 1)(rng);
  return big[std::uniform_int_distribution<std::size_t>(0, big.size() - 1)(rng)];
}

using voxgrad::testing::split_at;
using voxgrad::testing::sum_over;

/// Draws values for an argument of `shape` (uniform in [-1, 1], rounded to float32 for a float32
/// run; for kExpanded equal along the expanded dim) into `values` and builds the argument as a view
/// of kind `kind`. The base requires grad when `requires_grad`.
ViewArg make_view_arg(std::mt19937_64& rng, ViewKind kind, const Shape& shape, DType dtype, bool requires_grad,
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
std::string check_config(const Cfg& c, DType dtype, std::mt19937_64& rng, ViewStats* stats = nullptr) {
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
  msg += mismatch("output", y, c.y_shape(), r.y, atol, rtol);
  if (y.dtype() != dtype) msg += "output dtype differs from the input's\n";
  if (!msg.empty()) return msg + views();

  const ViewArg* args[3] = {&ax, &aw, c.bias ? &ab : nullptr};
  const std::vector<double>* want[3] = {&r.dx, &r.dw, &r.db};
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
    msg += mismatch(names[i], g[i], shapes[i], *want[i], atol, rtol);
    if (a->kind == ViewKind::kContiguous) continue;
    const Tensor gb = g[next_base++];
    const std::string what =
        std::string(names[i]) + " w.r.t. the " + kViewKindNames[static_cast<std::size_t>(a->kind)] + " view's base";
    if (a->kind == ViewKind::kExpanded) {
      msg += mismatch(what.c_str(), gb, a->base.sizes(), sum_over(*want[i], shapes[i], a->expand_dim), atol, rtol);
      continue;
    }
    if (gb.sizes() != a->base.sizes()) {
      msg += what + ": shape " + shape_str(gb.sizes()) + ", expected " + shape_str(a->base.sizes()) + "\n";
      continue;
    }
    msg += mismatch(what.c_str(), a->of_base(gb), shapes[i], *want[i], atol, rtol);
    Tensor outside = gb.clone();
    a->of_base(outside).zero_();
    msg += mismatch((what + " outside the view").c_str(), outside, outside.sizes(),
                    std::vector<double>(static_cast<std::size_t>(outside.numel()), 0.0), 0.0, 0.0);
  }
  return msg.empty() ? msg : msg + views();
}

// =================================================================================================
// The randomized sweep.
// =================================================================================================

/// Per-dim values in [lo, hi]: a third of the time the same in every dim, otherwise anisotropic.
Dims triple(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  if (pick(rng, 0, 2) == 0) {
    const std::int64_t v = pick(rng, lo, hi);
    return {v, v, v};
  }
  return {pick(rng, lo, hi), pick(rng, lo, hi), pick(rng, lo, hi)};
}

Cfg draw_config(std::mt19937_64& rng, bool transposed) {
  Cfg c;
  c.transposed = transposed;
  c.unbatched = pick(rng, 0, 7) == 0;
  c.N = c.unbatched ? 1 : (pick(rng, 0, 19) == 0 ? 0 : pick(rng, 1, 3));
  switch (pick(rng, 0, 3)) {
    case 3:  // depthwise: groups == Cin, channel multiplier 1..2
      c.groups = pick(rng, 2, 4);
      c.cin = c.groups;
      c.cout = c.groups * pick(rng, 1, 2);
      break;
    default: {
      c.groups = pick(rng, 1, 3);
      c.cin = c.groups * pick(rng, 1, 2);
      c.cout = c.groups * pick(rng, 1, 3);
    }
  }
  for (std::size_t i = 0; i < 3; ++i) c.in[i] = pick(rng, 1, 7);
  c.k = triple(rng, 1, 3);
  c.s = triple(rng, 1, 3);
  c.p = triple(rng, 0, 2);
  c.d = triple(rng, 1, 3);
  if (transposed && pick(rng, 0, 1) == 1) {
    for (std::size_t i = 0; i < 3; ++i) c.op[i] = pick(rng, 0, std::max(c.s[i], c.d[i]) - 1);
  }
  c.bias = pick(rng, 0, 1) == 1;
  return c;
}

struct SweepStats {
  int accepted = 0, rejected = 0, float32_checked = 0;
  int zero_batch = 0, unbatched = 0, depthwise = 0, grouped = 0, with_bias = 0, output_padding = 0;
  int strided = 0, dilated = 0, padded = 0, anisotropic = 0, pointwise = 0;
};

void sweep(bool transposed, std::uint64_t seed, int configs) {
  std::mt19937_64 rng(seed);
  SweepStats st;
  ViewStats views;
  while (st.accepted < configs) {
    const Cfg c = draw_config(rng, transposed);
    if (!c.valid()) {
      // A config PyTorch rejects: the library must reject it too, with its message, then re-draw.
      ++st.rejected;
      std::mt19937_64 vrng(seed + static_cast<std::uint64_t>(st.rejected));
      const std::vector<double> x = uniform_values(vrng, numel_of(c.x_shape()));
      const std::vector<double> w = uniform_values(vrng, numel_of(c.w_shape()));
      const char* expected =
          transposed ? "Output size is too small" : "Kernel size can't be greater than actual input size";
      SCOPED_TRACE("rejected config: " + c.str());
      EXPECT_ERROR_CONTAINS(run_op(c, make(x, c.x_shape(), kFloat64), make(w, c.w_shape(), kFloat64), {}), expected);
      continue;
    }
    ++st.accepted;
    st.zero_batch += !c.unbatched && c.N == 0;
    st.unbatched += c.unbatched;
    st.depthwise += c.groups > 1 && c.groups == c.cin;
    st.grouped += c.groups > 1;
    st.with_bias += c.bias;
    st.output_padding += c.op != Dims{0, 0, 0};
    st.strided += c.s != Dims{1, 1, 1};
    st.dilated += c.d != Dims{1, 1, 1};
    st.padded += c.p != Dims{0, 0, 0};
    st.anisotropic += c.k[0] != c.k[1] || c.k[1] != c.k[2] || c.s[0] != c.s[1] || c.d[1] != c.d[2];
    st.pointwise += c.k == Dims{1, 1, 1} && c.s == Dims{1, 1, 1} && c.p == Dims{0, 0, 0};
    std::mt19937_64 vrng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(st.accepted)));
    const std::string m64 = check_config(c, kFloat64, vrng, &views);
    EXPECT_TRUE(m64.empty()) << "float64, config #" << st.accepted << ": " << c.str() << "\n" << m64;
    if (st.accepted % 3 == 0) {
      ++st.float32_checked;
      const std::string m32 = check_config(c, kFloat32, vrng, &views);
      EXPECT_TRUE(m32.empty()) << "float32, config #" << st.accepted << ": " << c.str() << "\n" << m32;
    }
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d") << ": " << st.accepted
            << " configs checked (float64; " << st.float32_checked << " also in float32), " << st.rejected
            << " rejected by the op and re-drawn; N=0: " << st.zero_batch << ", unbatched: " << st.unbatched
            << ", grouped: " << st.grouped << " (depthwise " << st.depthwise << "), bias: " << st.with_bias
            << ", output_padding: " << st.output_padding << ", strided: " << st.strided << ", dilated: " << st.dilated
            << ", padded: " << st.padded << ", 1x1x1/s1/p0: " << st.pointwise
            << "\n             arguments as views:" << views.str() << "\n";
  // The sweep must really cover each feature, not just draw it in principle.
  EXPECT_GE(st.accepted, 200);
  EXPECT_GE(st.zero_batch, 5);
  EXPECT_GE(st.unbatched, 20);
  EXPECT_GE(st.depthwise, 40);
  EXPECT_GE(st.grouped, 100);
  EXPECT_GE(st.with_bias, 100);
  EXPECT_GE(st.strided, 150);
  EXPECT_GE(st.dilated, 150);
  EXPECT_GE(st.padded, 150);
  EXPECT_GE(st.anisotropic, 150);
  if (transposed) {
    EXPECT_GE(st.output_padding, 100);
  }
  EXPECT_LT(st.rejected, st.accepted);
  // Every argument came as every kind of view many times (bias: in about half the configs).
  views.expect_each_kind(25);
}

// Two seeds per op: the sweep totals 2 × 300 accepted configs per op.
TEST(ConvReferenceSweep, Conv3dSeedA) { sweep(false, 0xC0417A, 300); }
TEST(ConvReferenceSweep, Conv3dSeedB) { sweep(false, 0xC0417B, 300); }
TEST(ConvReferenceSweep, ConvTranspose3dSeedA) { sweep(true, 0x7C0417A, 300); }
TEST(ConvReferenceSweep, ConvTranspose3dSeedB) { sweep(true, 0x7C0417B, 300); }

// =================================================================================================
// The float32 direct kernels (ops/detail/direct_conv.h): configurations with output rows of 12 to
// 40 positions, which the direct path takes, and more than 8 output channels (register tiles of 8
// plus a remainder). Every float32 result must match the reference; the sweep also checks that the
// direct path really served most configs, and that the im2col path agrees with the same configs.
// =================================================================================================

/// The geometry (conv3d form) of a config: conv3d runs its forward map, conv_transpose3d its adjoint.
detail::ConvGeometry conv3d_form(const Cfg& c) {
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

Cfg draw_direct_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  if (c.groups == 1 || pick(rng, 0, 1) == 0) {
    c.groups = 1;
    c.cin = pick(rng, 1, 10);
    c.cout = pick(rng, 1, 19);
  }
  c.in[0] = pick(rng, 1, 4);
  c.in[1] = pick(rng, 1, 4);
  // conv3d: Wo = 12..40 for any stride; conv_transpose3d: its backward's conv3d form has Wo = in[2],
  // and its forward takes the direct path for strides 1 and 2 along W.
  c.in[2] = transposed ? pick(rng, 12, 40) : pick(rng, 12, 40) * c.s[2];
  if (transposed && c.s[2] == 3) {
    c.s[2] = pick(rng, 1, 2);
    c.op[2] = std::min(c.op[2], std::max(c.s[2], c.d[2]) - 1);
  }
  return c;
}

struct RestoreDirect {
  ~RestoreDirect() { detail::set_direct_conv_enabled(true); }
};

void direct_sweep(bool transposed, std::uint64_t seed, int configs) {
  RestoreDirect restore;
  std::mt19937_64 rng(seed);
  int accepted = 0, direct = 0, transposed_direct = 0, channel_vectors = 0;
  ViewStats views;  // the arguments of the configs the direct kernels served
  detail::set_direct_conv_enabled(true);
  const bool has_direct = detail::direct_conv_available();
  while (accepted < configs) {
    const Cfg c = draw_direct_config(rng, transposed);
    if (!c.valid()) continue;
    ++accepted;
    detail::set_direct_conv_enabled(true);
    const bool suits = conv3d_form(c).direct_forward();
    direct += suits;
    if (transposed) transposed_direct += conv3d_form(c).suits_direct_adjoint();
    channel_vectors += conv3d_form(c).direct_weight() && detail::direct_weight_channel_vectors(conv3d_form(c)) &&
                       !detail::direct_weight_transposed_input(conv3d_form(c));
    const std::uint64_t values_seed = seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(accepted));
    for (bool on : {true, false}) {
      detail::set_direct_conv_enabled(on);
      std::mt19937_64 vrng(values_seed);
      const std::string m = check_config(c, kFloat32, vrng, on && suits ? &views : nullptr);
      EXPECT_TRUE(m.empty()) << (on ? "direct" : "im2col") << " path, float32, config #" << accepted << ": " << c.str()
                             << "\n"
                             << m;
    }
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d") << " direct-kernel shapes: " << accepted
            << " configs, " << direct << " in the direct path";
  if (transposed) std::cout << " (backward), " << transposed_direct << " (forward)";
  std::cout << ", " << channel_vectors << " with a channel-vector weight map";
  std::cout << "; arguments of the direct-path configs as views:" << views.str() << "\n";
  if (!has_direct) {
    // The baseline instruction set (VOXGRAD_MAX_ISA=baseline, or a CPU without AVX2) has no direct
    // kernels: every config above ran on the im2col path, twice.
    EXPECT_EQ(direct + transposed_direct, 0);
    return;
  }
  EXPECT_GE(direct, configs * 2 / 3);
  if (transposed) {
    EXPECT_GE(transposed_direct, configs / 3);
  }
  views.expect_each_kind(10);
}

/// A config whose weight map (conv3d form) runs on channel-vector tiles when the direct kernels serve:
/// 17-40 output channels per group (more than one vector on AVX-512 and AVX2) and at least 128
/// (input channel, tap) pairs per group, any row width, random kernels (1-3), strides, paddings
/// (0-4) and dilations.
Cfg draw_channel_vector_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  c.groups = pick(rng, 1, 2);
  c.k = triple(rng, 1, 3);
  c.p = triple(rng, 0, 4);  // up to wider than the kernel: taps with no output inside along a dim
  const std::int64_t taps = c.k[0] * c.k[1] * c.k[2];
  const std::int64_t in_g = (128 + taps - 1) / taps + pick(rng, 0, 3), out_g = pick(rng, 17, 40);
  // The conv3d form's Cin is conv_transpose3d's Cout.
  c.cin = c.groups * (transposed ? out_g : in_g);
  c.cout = c.groups * (transposed ? in_g : out_g);
  c.in = {pick(rng, 1, 4), pick(rng, 1, 5), pick(rng, 1, 20)};
  return c;
}

void channel_vector_sweep(bool transposed, std::uint64_t seed, int configs) {
  std::mt19937_64 rng(seed);
  int accepted = 0, channel_vectors = 0;
  while (accepted < configs) {
    const Cfg c = draw_channel_vector_config(rng, transposed);
    if (!c.valid()) continue;
    ++accepted;
    const detail::ConvGeometry g = conv3d_form(c);
    channel_vectors +=
        g.direct_weight() && detail::direct_weight_channel_vectors(g) && !detail::direct_weight_transposed_input(g);
    std::mt19937_64 vrng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(accepted)));
    const std::string m = check_config(c, kFloat32, vrng, nullptr);
    EXPECT_TRUE(m.empty()) << "float32, config #" << accepted << ": " << c.str() << "\n" << m;
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d")
            << " channel-vector weight shapes: " << accepted << " configs, " << channel_vectors
            << " on channel-vector tiles\n";
  // Every config suits them, unless the CPU (or VOXGRAD_MAX_ISA=baseline) has no direct kernels, or
  // the padded copy of a sample would not stay bounded (wide paddings or dilations on tiny volumes).
  if (detail::direct_conv_available()) {
    EXPECT_GE(channel_vectors, configs / 2);
  } else {
    EXPECT_EQ(channel_vectors, 0);
  }
}

/// A config whose weight map (conv3d form) runs on the transposed-input tiles
/// (direct_weight_transposed_input): one group, 16, 32 or 64 input channels (whole vectors on AVX-512
/// and AVX2; one or two tiles of two vectors on AVX-512), 1-32 output channels on AVX-512 and 1-8 on AVX2 (more run on
/// channel-vector tiles), three taps along W at stride and dilation 1 with padding 0-3 and output rows of 16-40, random
/// kernels, strides, paddings and dilations along D and H (rows whose inputs lie in the padding).
Cfg draw_transposed_input_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  c.groups = 1;
  c.bias = true;  // its gradient is summed from the chunks of dY the tiles read
  const std::int64_t in_ch = 16 << pick(rng, 0, 2), out_ch = pick(rng, 1, detail::direct_lanes() >= 16 ? 32 : 8);
  // The conv3d form's Cin is conv_transpose3d's Cout.
  c.cin = transposed ? out_ch : in_ch;
  c.cout = transposed ? in_ch : out_ch;
  c.k = {pick(rng, 1, 3), pick(rng, 1, 3), 3};
  c.s = {pick(rng, 1, 2), pick(rng, 1, 2), 1};
  c.d = {pick(rng, 1, 2), pick(rng, 1, 2), 1};
  c.p = {pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 3)};
  c.op = {0, 0, 0};
  if (transposed) {
    for (std::size_t i = 0; i < 2; ++i) c.op[i] = pick(rng, 0, std::max(c.s[i], c.d[i]) - 1);
  }
  // conv3d: Wo = W + 2p − 2 in 16..40; conv_transpose3d: the conv3d form's Wo is in[2].
  const std::int64_t wo = pick(rng, 16, 40);
  c.in = {pick(rng, 1, 4), pick(rng, 1, 5), transposed ? wo : std::max<std::int64_t>(1, wo + 2 - 2 * c.p[2])};
  return c;
}

void transposed_input_sweep(bool transposed, std::uint64_t seed, int configs) {
  std::mt19937_64 rng(seed);
  int accepted = 0, served = 0;
  ViewStats views;
  while (accepted < configs) {
    const Cfg c = draw_transposed_input_config(rng, transposed);
    if (!c.valid()) continue;
    ++accepted;
    const detail::ConvGeometry g = conv3d_form(c);
    const bool xt = detail::direct_weight_transposed_input(g);
    served += xt;
    std::mt19937_64 vrng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(accepted)));
    const std::string m = check_config(c, kFloat32, vrng, xt ? &views : nullptr);
    EXPECT_TRUE(m.empty()) << "float32, config #" << accepted << ": " << c.str() << "\n" << m;
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d")
            << " transposed-input weight shapes: " << accepted << " configs, " << served
            << " on transposed-input tiles; arguments of those as views:" << views.str() << "\n";
  // Most configs suit them (not all: a padded copy too large for its volume turns the direct weight map
  // away), unless the CPU (or VOXGRAD_MAX_ISA=baseline) has no direct kernels.
  if (detail::direct_conv_available()) {
    EXPECT_GE(served, configs * 2 / 3);
    views.expect_each_kind(5);
  } else {
    EXPECT_EQ(served, 0);
  }
}

TEST(ConvReferenceSweep, Conv3dTransposedInputWeightShapes) { transposed_input_sweep(false, 0x7A3D1, 80); }
TEST(ConvReferenceSweep, ConvTranspose3dTransposedInputWeightShapes) { transposed_input_sweep(true, 0x7A7D1, 60); }

TEST(ConvReferenceSweep, Conv3dChannelVectorWeightShapes) { channel_vector_sweep(false, 0xC7A3D, 60); }
TEST(ConvReferenceSweep, ConvTranspose3dChannelVectorWeightShapes) { channel_vector_sweep(true, 0xC7A7D, 60); }

TEST(ConvReferenceSweep, Conv3dDirectKernelShapes) { direct_sweep(false, 0xD1C3D, 200); }
TEST(ConvReferenceSweep, ConvTranspose3dDirectKernelShapes) { direct_sweep(true, 0xD1C7D, 200); }

// =================================================================================================
// Hand-picked configurations.
// =================================================================================================

Cfg config(bool transposed, std::int64_t N, std::int64_t groups, std::int64_t cin, std::int64_t cout, Dims in, Dims k,
           Dims s = {1, 1, 1}, Dims p = {0, 0, 0}, Dims d = {1, 1, 1}, Dims op = {0, 0, 0}, bool bias = true,
           bool unbatched = false) {
  Cfg c;
  c.transposed = transposed;
  c.N = N;
  c.groups = groups;
  c.cin = cin;
  c.cout = cout;
  c.in = in;
  c.k = k;
  c.s = s;
  c.p = p;
  c.d = d;
  c.op = op;
  c.bias = bias;
  c.unbatched = unbatched;
  return c;
}

void expect_matches_reference(const Cfg& c, std::uint64_t seed) {
  ASSERT_TRUE(c.valid()) << c.str();
  std::mt19937_64 rng(seed);
  for (DType dt : {kFloat64, kFloat32}) {
    const std::string m = check_config(c, dt, rng);
    EXPECT_TRUE(m.empty()) << dt << ", config: " << c.str() << "\n" << m;
  }
}

// A stride of INT64_MAX along a dim with a single output is legal; the direct
// kernels must not multiply it into an offset (UBSan flagged the overflow in the asan preset).
TEST(ConvReference, HugeStrideAlongADimWithOneOutput) {
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  expect_matches_reference(config(false, 2, 1, 2, 3, {1, 2, 26}, {1, 1, 3}, {huge, 1, 1}), 31);
  expect_matches_reference(config(false, 1, 1, 2, 9, {2, 1, 40}, {2, 1, 3}, {1, huge, 1}, {0, 0, 1}), 32);
}

// Transposed convolutions whose stride classes read exactly the input (kernel = stride, no
// padding: U-Net and autoencoder up-sampling) take the direct path reading the input in place.
TEST(ConvReference, TransposedKernelEqualToStrideReadsTheInputInPlace) {
  const Cfg a = config(true, 2, 1, 9, 10, {3, 2, 16}, {2, 2, 2}, {2, 2, 2});
  const Cfg b = config(true, 1, 2, 4, 6, {2, 3, 13}, {2, 1, 2}, {2, 1, 2});
  for (const Cfg& c : {a, b}) {  // when this instruction set has direct kernels
    EXPECT_EQ(conv3d_form(c).suits_direct_adjoint(), detail::direct_conv_available()) << c.str();
  }
  expect_matches_reference(a, 41);
  expect_matches_reference(b, 42);
}

// Channels of a multiple of 4 KiB are copied one cache line apart for the forward tiles (PaddedLayout::
// finish): always where a copy is made anyway, and where the input could be read in place only for
// at least 16 output channels per group (finish_spread).
TEST(ConvReference, ChannelsOfAMultipleOf4KiBAreSpreadInTheCopy) {
  // (Pointwise convolutions run as GEMMs: k 3×1×1 with D padding reads 4 × 16 × 16 = 1024 floats a channel.)
  const Cfg deep = config(false, 2, 1, 5, 16, {2, 16, 16}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0});
  const Cfg few_outputs = config(false, 2, 1, 5, 6, {4, 16, 16}, {2, 1, 1});                   // read in place
  const Cfg padded = config(false, 2, 1, 3, 5, {6, 14, 14}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});  // 8 × 16 × 16
  const Cfg transposed = config(true, 2, 1, 6, 16, {4, 16, 16}, {2, 2, 2}, {2, 2, 2});         // reads 4 × 16 × 16
  for (const Cfg& c : {deep, few_outputs, padded}) {
    const detail::direct::PaddedLayout L = detail::direct::forward_layout(conv3d_form(c));
    EXPECT_EQ(L.channel, L.Dp * L.plane + (c.cout == 6 ? 0 : 16)) << c.str();
    EXPECT_EQ(conv3d_form(c).suits_direct(), detail::direct_conv_available()) << c.str();
  }
  EXPECT_EQ(conv3d_form(transposed).suits_direct_adjoint(), detail::direct_conv_available());
  expect_matches_reference(deep, 51);
  expect_matches_reference(few_outputs, 54);
  expect_matches_reference(padded, 52);
  expect_matches_reference(transposed, 53);
}

// A transposed convolution's input and weight gradients are computed together when both are asked
// for (one padded copy of dY): the same bits as computing either alone.
TEST(ConvReference, TransposedGradientsTogetherEqualEachAlone) {
  manual_seed(5);
  const Tensor x = rand({2, 6, 4, 5, 16}) - 0.5, w = rand({6, 4, 3, 3, 3}) - 0.5, gy = rand({2, 4, 8, 10, 32}) - 0.5;
  auto grads = [&](bool want_x, bool want_w) {
    const Tensor xl = x.clone().requires_grad_(want_x), wl = w.clone().requires_grad_(want_w);
    conv_transpose3d(xl, wl, Tensor(), 2, 1, 1).backward(gy);
    return std::make_pair(xl.grad(), wl.grad());
  };
  const auto both = grads(true, true);
  voxgrad::testing::expect_bitwise_equal(both.first, grads(true, false).first, "input gradient");
  voxgrad::testing::expect_bitwise_equal(both.second, grads(false, true).second, "weight gradient");
}

// A transposed convolution with stride 2 along W whose output outgrows twice the threads' L2 writes
// whole aligned vectors past the caches (non-temporal stores): the same values as the im2col path,
// with rows of a multiple of 32 (every vector whole and aligned) and one less (whole and partial
// vectors, aligned and not, in turn).
TEST(ConvReference, LargeStrideTwoTransposedOutputsAreStreamed) {
  const voxgrad::testing::RestoreTwoThreads restore_threads;
  set_num_threads(2);
  const double floats = 2.0 * 2.0 * static_cast<double>(detail::cache_sizes().l2) / sizeof(float);
  std::int64_t D = 16;  // output rows of 2·D: 32, 64, … (16 output channels)
  while (static_cast<double>(16 * 8 * D * D * D) < floats) D += 16;
  manual_seed(9);
  for (std::int64_t op : {1, 0}) {
    const std::int64_t out = 2 * D - 1 + op;
    const Tensor x = rand({1, 8, D, D, D}) - 0.5, w = rand({8, 16, 3, 3, 3}) - 0.5, b = rand({16}) - 0.5;
    ASSERT_GE(static_cast<double>(16 * out * out * out), floats);
    const Tensor direct = conv_transpose3d(x, w, b, 2, 1, op);
    detail::set_direct_conv_enabled(false);
    const Tensor im2col = conv_transpose3d(x, w, b, 2, 1, op);
    detail::set_direct_conv_enabled(true);
    ASSERT_EQ(direct.sizes(), im2col.sizes());
    const double diff = (direct - im2col).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "output_padding " << op << ", output " << out << "^3";
  }
}

// A 1×1×1 kernel with stride 1 and no padding skips im2col (the input is the column matrix).
TEST(ConvReference, PointwiseKernelSkipsIm2col) {
  std::uint64_t seed = 11;
  for (bool t : {false, true}) {
    for (std::int64_t dil : {1, 3}) {
      expect_matches_reference(config(t, 2, 1, 3, 5, {4, 3, 5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {dil, dil, dil}),
                               ++seed);
      expect_matches_reference(
          config(t, 3, 2, 4, 6, {2, 5, 3}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {dil, 1, dil}, {0, 0, 0}, false), ++seed);
      expect_matches_reference(config(t, 1, 3, 3, 3, {3, 1, 4}, {1, 1, 1}), ++seed);  // depthwise
      expect_matches_reference(config(t, 1, 1, 4, 2, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0},
                                      true, /*unbatched=*/true),
                               ++seed);
      expect_matches_reference(config(t, 0, 1, 2, 3, {3, 3, 3}, {1, 1, 1}), ++seed);
    }
  }
  // Large enough that the pointwise path spans several column tiles.
  expect_matches_reference(config(false, 2, 1, 4, 3, {16, 20, 24}, {1, 1, 1}), ++seed);
  expect_matches_reference(config(true, 1, 1, 4, 3, {16, 20, 24}, {1, 1, 1}), ++seed);
  // Transposed, k = 1, stride 1 with output_padding (allowed by dilation 2): not pointwise.
  expect_matches_reference(config(true, 2, 1, 3, 2, {3, 4, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {2, 2, 2}, {1, 0, 1}),
                           ++seed);

  // And it is the per-position channel product, written out: y[n,:,v] = W · x[n,:,v] + b.
  manual_seed(5);
  const Tensor x = randn({2, 3, 2, 3, 4}, kFloat64), w = randn({4, 3, 1, 1, 1}, kFloat64), b = randn({4}, kFloat64);
  const std::vector<double> xv = values(x), wv = values(w), bv = values(b), yv = values(conv3d(x, w, b));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t co = 0; co < 4; ++co)
      for (std::int64_t v = 0; v < 24; ++v) {
        double want = bv[co];
        for (std::int64_t ci = 0; ci < 3; ++ci) want += wv[co * 3 + ci] * xv[(n * 3 + ci) * 24 + v];
        EXPECT_NEAR(yv[(n * 4 + co) * 24 + v], want, 1e-12);
      }
}

// pytorch#63314: wrong input gradient with kernel 1 and stride 2 (on CPU only).
TEST(ConvReference, KernelOneStrideTwoGradient) {
  expect_matches_reference(config(false, 2, 1, 3, 4, {5, 6, 7}, {1, 1, 1}, {2, 2, 2}), 21);
  expect_matches_reference(
      config(false, 1, 1, 2, 3, {6, 5, 4}, {1, 1, 1}, {2, 1, 2}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}, false), 22);
  expect_matches_reference(config(false, 2, 2, 4, 2, {5, 5, 5}, {1, 1, 1}, {2, 2, 2}, {1, 1, 1}), 23);
  expect_matches_reference(config(true, 2, 1, 3, 4, {3, 4, 2}, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, {1, 0, 1}),
                           24);

  // Spelled out: with k = 1, s = 2 the input gradient is dY·W at even positions and 0 elsewhere.
  manual_seed(63314);
  const Tensor x = randn({2, 3, 5, 6, 7}, kFloat64).requires_grad_();
  const Tensor w = randn({4, 3, 1, 1, 1}, kFloat64).requires_grad_();
  const Tensor y = conv3d(x, w, {}, 2);
  ASSERT_EQ(y.sizes(), (Shape{2, 4, 3, 3, 4}));
  const Tensor gy = randn(y.sizes(), kFloat64);
  const Tensor dx = autograd::grad({y}, {x}, {gy})[0];
  const std::vector<double> dxv = values(dx), gyv = values(gy), wv = values(w);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t ci = 0; ci < 3; ++ci)
      for (std::int64_t i = 0; i < 5; ++i)
        for (std::int64_t j = 0; j < 6; ++j)
          for (std::int64_t l = 0; l < 7; ++l) {
            double want = 0.0;
            if (i % 2 == 0 && j % 2 == 0 && l % 2 == 0) {
              for (std::int64_t co = 0; co < 4; ++co)
                want += gyv[(((n * 4 + co) * 3 + i / 2) * 3 + j / 2) * 4 + l / 2] * wv[co * 3 + ci];
            }
            EXPECT_NEAR(dxv[(((n * 3 + ci) * 5 + i) * 6 + j) * 7 + l], want, 1e-12)
                << "at n=" << n << " c=" << ci << " (" << i << "," << j << "," << l << ")";
          }
}

// N = 0: an empty output of the right shape, an empty input gradient and zero weight/bias gradients.
TEST(ConvReference, ZeroBatch) {
  for (bool t : {false, true}) {
    for (DType dt : {kFloat64, kFloat32}) {
      const Cfg c = config(t, 0, 2, 4, 6, {5, 4, 3}, {3, 2, 1}, {2, 1, 1}, {1, 0, 1}, {1, 2, 1}, {t ? 1 : 0, 0, 0});
      SCOPED_TRACE(c.str());
      const Tensor x = zeros(c.x_shape(), dt).requires_grad_();
      const Tensor w = ones(c.w_shape(), dt).requires_grad_();
      const Tensor b = ones({c.cout}, dt).requires_grad_();
      const Tensor y = run_op(c, x, w, b);
      ASSERT_EQ(y.sizes(), c.y_shape());
      EXPECT_EQ(y.numel(), 0);
      EXPECT_EQ(y.dtype(), dt);
      const std::vector<Tensor> g = autograd::grad({y}, {x, w, b}, {zeros(y.sizes(), dt)});
      ASSERT_EQ(g[0].sizes(), c.x_shape());
      EXPECT_EQ(g[0].numel(), 0);
      ASSERT_EQ(g[1].sizes(), c.w_shape());
      ASSERT_EQ(g[2].sizes(), (Shape{c.cout}));
      for (double v : values(g[1])) EXPECT_EQ(v, 0.0);
      for (double v : values(g[2])) EXPECT_EQ(v, 0.0);
      // sum() of an empty output backpropagates too.
      const std::vector<Tensor> g2 = autograd::grad({run_op(c, x, w, b).sum()}, {x, w, b});
      EXPECT_EQ(g2[0].numel(), 0);
      for (double v : values(g2[1])) EXPECT_EQ(v, 0.0);
      for (double v : values(g2[2])) EXPECT_EQ(v, 0.0);
    }
  }
}

// =================================================================================================
// Non-contiguous operands (pytorch#67829, huggingface/candle#3735).
// =================================================================================================

/// Results of one op call and its three gradients (w.r.t. the given leaves, then viewed by `views`).
struct Outcome {
  Tensor y, dx, dw, db;
};

Outcome run_with_grads(const Cfg& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                       const std::vector<Tensor>& leaves) {
  Outcome o;
  o.y = run_op(c, x, w, b);
  const std::vector<Tensor> g = autograd::grad({o.y}, leaves, {gy});
  o.dx = g[0];
  o.dw = g[1];
  o.db = g[2];
  return o;
}

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const std::vector<double> va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    ASSERT_NEAR(va[i], vb[i], 1e-12) << what << " at flat index " << i;
  }
}

TEST(ConvReference, NonContiguousOperandsMatchContiguousCopies) {
  const std::vector<Cfg> cases = {
      config(false, 2, 1, 3, 4, {5, 6, 4}, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}),
      config(false, 2, 2, 4, 6, {4, 5, 6}, {2, 3, 1}, {1, 2, 1}, {0, 1, 0}, {2, 1, 1}),
      config(true, 2, 1, 3, 4, {3, 4, 5}, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}, {1, 1, 0}),
      config(true, 2, 2, 4, 6, {4, 3, 5}, {2, 3, 1}, {1, 2, 2}, {0, 1, 0}, {2, 1, 1}, {1, 0, 1}),
      config(false, 2, 1, 3, 5, {4, 4, 4}, {1, 1, 1}),  // the no-im2col path reads the input directly
      config(true, 2, 1, 3, 5, {4, 4, 4}, {1, 1, 1}),
  };
  std::uint64_t seed = 67829;
  for (const Cfg& c : cases) {
    SCOPED_TRACE(c.str());
    manual_seed(++seed);
    const Shape xs = c.x_shape(), ws = c.w_shape(), ys = c.y_shape();
    // Contiguous operands.
    const Tensor x = randn(xs, kFloat64).requires_grad_(), w = randn(ws, kFloat64).requires_grad_();
    const Tensor b = randn({c.cout}, kFloat64).requires_grad_(), gy = randn(ys, kFloat64);
    const Outcome want = run_with_grads(c, x, w, b, gy, {x, w, b});
    {
      // And those agree with the naive reference.
      const Reference r = reference(c, values(x), values(w), values(b), values(gy));
      EXPECT_EQ(mismatch("output", want.y, ys, r.y, 1e-10, 0) + mismatch("grad input", want.dx, xs, r.dx, 1e-10, 0) +
                    mismatch("grad weight", want.dw, ws, r.dw, 1e-10, 0) +
                    mismatch("grad bias", want.db, {c.cout}, r.db, 1e-10, 0),
                "");
    }

    // Permuted: channels-last input, weight stored with dims 0/1 swapped and its kernel dims
    // reversed, upstream gradient
    // stored with D and W swapped. Gradients are taken w.r.t. the storage leaves and viewed back.
    {
      const Tensor xb = x.detach().permute({0, 2, 3, 4, 1}).contiguous().requires_grad_();  // N D H W C
      const Tensor xp = xb.permute({0, 4, 1, 2, 3});
      const Tensor wb = w.detach().permute({1, 0, 4, 3, 2}).contiguous().requires_grad_();
      const Tensor wp = wb.permute({1, 0, 4, 3, 2});
      const Tensor gyp = gy.transpose(2, 4).contiguous().transpose(2, 4);
      ASSERT_FALSE(xp.is_contiguous());
      ASSERT_FALSE(wp.is_contiguous());
      ASSERT_FALSE(gyp.is_contiguous());
      const Outcome got = run_with_grads(c, xp, wp, b, gyp, {xb, wb, b});
      expect_same(got.y, want.y, "permuted: output");
      expect_same(got.dx.permute({0, 4, 1, 2, 3}), want.dx, "permuted: grad input");
      expect_same(got.dw.permute({1, 0, 4, 3, 2}), want.dw, "permuted: grad weight");
      expect_same(got.db, want.db, "permuted: grad bias");
    }
    // Sliced: every other element along W of a wider input, a channel window of a larger weight,
    // and a strided slice of a larger upstream gradient.
    {
      Shape xbs = xs;
      xbs[4] = 2 * xs[4];
      Tensor xb = zeros(xbs, kFloat64);
      xb.slice(4, 0, std::nullopt, 2).copy_(x.detach());
      xb.requires_grad_();
      const Tensor xv = xb.slice(4, 0, std::nullopt, 2);
      Shape wbs = ws;
      wbs[0] += 3;
      Tensor wb = zeros(wbs, kFloat64);
      wb.narrow(0, 2, ws[0]).copy_(w.detach());
      wb.requires_grad_();
      const Tensor wv = wb.narrow(0, 2, ws[0]);
      Shape gbs = ys;
      gbs[3] = 3 * ys[3];
      const Tensor gb = zeros(gbs, kFloat64);
      gb.slice(3, 1, std::nullopt, 3).copy_(gy);
      const Tensor gyv = gb.slice(3, 1, std::nullopt, 3);
      ASSERT_FALSE(xv.is_contiguous());
      ASSERT_FALSE(gyv.is_contiguous());
      const Outcome got = run_with_grads(c, xv, wv, b, gyv, {xb, wb, b});
      expect_same(got.y, want.y, "sliced: output");
      expect_same(got.dx.slice(4, 0, std::nullopt, 2), want.dx, "sliced: grad input");
      expect_same(got.dw.narrow(0, 2, ws[0]), want.dw, "sliced: grad weight");
      expect_same(got.db, want.db, "sliced: grad bias");
      // Nothing leaks into the storage around the views.
      EXPECT_EQ(values(got.dx.slice(4, 1, std::nullopt, 2).abs().sum())[0], 0.0);
      EXPECT_EQ(values(got.dw.narrow(0, 0, 2).abs().sum())[0], 0.0);
    }
    // An expanded (stride-0) upstream gradient, as sum()/mean() produce.
    {
      const Tensor g1 = randn({ys[0], ys[1], 1, ys[3], 1}, kFloat64);
      const Tensor ge = g1.expand(ys);
      const Outcome got = run_with_grads(c, x, w, b, ge, {x, w, b});
      const Outcome ref = run_with_grads(c, x, w, b, ge.contiguous(), {x, w, b});
      expect_same(got.dx, ref.dx, "expanded grad: grad input");
      expect_same(got.dw, ref.dw, "expanded grad: grad weight");
      expect_same(got.db, ref.db, "expanded grad: grad bias");
    }
  }
}

// A bias passed as a view (a strided slice, or a one-element tensor expanded) is read through its
// strides on every path: im2col and direct kernels, float32 and float64, both ops, the functional
// forms with FuncOptions().bias(...).
TEST(ConvReference, BiasViewsAreReadThroughTheirStrides) {
  namespace F = voxgrad::nn::functional;
  for (DType dt : {kFloat64, kFloat32}) {
    // W = 1 takes the im2col path; W = 16 (float32) the direct kernels.
    for (std::int64_t width : {1, 16}) {
      SCOPED_TRACE(fmt::format("{} W={}", dt, width));
      const Tensor strided = tensor({10, 11, 12, 13, 14, 15, 16, 17}, dt).slice(0, std::nullopt, std::nullopt, 2);
      const Tensor expanded = full({1}, 5.0, dt).expand({4});
      ASSERT_FALSE(strided.is_contiguous());
      const Tensor x = zeros({1, 1, 2, 2, width}, dt);
      const Tensor w = zeros({4, 1, 1, 1, 1}, dt), wt = zeros({1, 4, 1, 1, 1}, dt);
      const std::vector<double> want_strided = {10, 12, 14, 16}, want_expanded = {5, 5, 5, 5};
      auto per_channel = [](const Tensor& y) { return values(mean(y, {0, 2, 3, 4})); };
      EXPECT_EQ(per_channel(conv3d(x, w, strided)), want_strided);
      EXPECT_EQ(per_channel(conv3d(x, w, expanded)), want_expanded);
      EXPECT_EQ(per_channel(conv_transpose3d(x, wt, strided)), want_strided);
      EXPECT_EQ(per_channel(conv_transpose3d(x, wt, expanded)), want_expanded);
      EXPECT_EQ(per_channel(F::conv3d(x, w, F::Conv3dFuncOptions().bias(strided))), want_strided);
      EXPECT_EQ(per_channel(F::conv_transpose3d(x, wt, F::ConvTranspose3dFuncOptions().bias(expanded))), want_expanded);
      // An empty input (nothing to sum) fills the output with the bias alone.
      EXPECT_EQ(per_channel(conv3d(zeros({1, 0, 2, 2, width}, dt), zeros({4, 0, 1, 1, 1}, dt), strided)), want_strided);
    }
  }
}

// =================================================================================================
// Threads: results are bit-identical for 1 and 2 threads.
// =================================================================================================

std::vector<std::vector<double>> all_results(const Cfg& c, DType dt) {
  manual_seed(4242);
  const Tensor x = randn(c.x_shape(), dt).requires_grad_(), w = randn(c.w_shape(), dt).requires_grad_();
  const Tensor b = randn({c.cout}, dt).requires_grad_(), gy = randn(c.y_shape(), dt);
  const Tensor y = run_op(c, x, w, b);
  const std::vector<Tensor> g = autograd::grad({y}, {x, w, b}, {gy});
  return {values(y), values(g[0]), values(g[1]), values(g[2])};
}

TEST(ConvReference, ThreadCountDoesNotChangeResults) {
  voxgrad::testing::RestoreTwoThreads restore;
  const std::vector<Cfg> cases = {
      config(false, 2, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(false, 2, 2, 8, 6, {12, 12, 12}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 2, 1}),
      config(false, 1, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(false, 2, 1, 8, 8, {12, 12, 12}, {1, 1, 1}),
      config(true, 2, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(true, 2, 2, 8, 6, {12, 12, 12}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      // N·groups == 1: the transposed forward parallelises inside one sample.
      config(true, 1, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      config(true, 2, 1, 8, 8, {12, 12, 12}, {1, 1, 1}),
      // Weight maps on the transposed-input tiles (16 input channels, 8 output channels, rows of 24):
      // chunks of output rows fixed by the shape, whichever thread sums them.
      config(false, 2, 1, 16, 8, {6, 20, 24}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(true, 2, 1, 8, 16, {6, 20, 24}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
  };
  for (const Cfg& c : cases) {
    if (c.cin == 16 || c.cout == 16) {
      EXPECT_EQ(detail::direct_weight_transposed_input(conv3d_form(c)), detail::direct_conv_available()) << c.str();
    }
    for (DType dt : {kFloat64, kFloat32}) {
      SCOPED_TRACE(c.str() + " " + std::string(dtype_name(dt)));
      set_num_threads(1);
      ASSERT_EQ(get_num_threads(), 1);
      const auto one = all_results(c, dt);
      set_num_threads(2);
      ASSERT_EQ(get_num_threads(), 2);
      const auto two = all_results(c, dt);
      const char* names[] = {"output", "grad input", "grad weight", "grad bias"};
      for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_EQ(one[i].size(), two[i].size()) << names[i];
        EXPECT_EQ(std::memcmp(one[i].data(), two[i].data(), one[i].size() * sizeof(double)), 0)
            << names[i] << " differs between 1 and 2 threads";
      }
    }
  }
}

// =================================================================================================
// Output shapes.
// =================================================================================================

TEST(ConvReference, OutputShapeFormulas) {
  // PyTorch's documentation examples, with fewer channels and a batch of 1.
  {
    const Tensor x = zeros({1, 2, 10, 50, 100});
    EXPECT_EQ(conv3d(x, zeros({3, 2, 3, 5, 2}), {}, {2, 1, 1}, {4, 2, 0}).sizes(), (Shape{1, 3, 8, 50, 99}));
    EXPECT_EQ(conv_transpose3d(x, zeros({2, 3, 3, 5, 2}), {}, {2, 1, 1}, {0, 4, 2}).sizes(), (Shape{1, 3, 21, 46, 97}));
  }
  // (in, k, s, p, d, output_padding) → conv out, transposed out; worked by hand from the formulas
  // floor((in + 2p − d(k−1) − 1)/s) + 1 and (in − 1)s − 2p + d(k−1) + op + 1.
  struct Row {
    std::int64_t in, k, s, p, d, op, conv, tconv;
  };
  const Row rows[] = {
      {7, 3, 1, 0, 1, 0, 5, 9},  {7, 3, 2, 1, 1, 1, 4, 14}, {8, 3, 2, 1, 1, 0, 4, 15}, {5, 1, 2, 0, 1, 1, 3, 10},
      {7, 3, 2, 1, 3, 2, 2, 19}, {6, 2, 3, 2, 2, 0, 3, 14}, {1, 1, 1, 0, 1, 0, 1, 1},  {1, 3, 1, 1, 1, 0, 1, 1},
      {4, 3, 3, 0, 1, 2, 1, 14}, {5, 2, 1, 2, 3, 2, 6, 6},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(::testing::Message() << "in=" << r.in << " k=" << r.k << " s=" << r.s << " p=" << r.p << " d=" << r.d
                                      << " op=" << r.op);
    EXPECT_EQ((r.in + 2 * r.p - r.d * (r.k - 1) - 1) / r.s + 1, r.conv);
    EXPECT_EQ((r.in - 1) * r.s - 2 * r.p + r.d * (r.k - 1) + r.op + 1, r.tconv);
    // Anisotropic: the row's values in one dim at a time, neutral values in the others.
    for (std::size_t dim = 0; dim < 3; ++dim) {
      Dims in{3, 3, 3}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, d{1, 1, 1}, op{0, 0, 0};
      in[dim] = r.in;
      k[dim] = r.k;
      s[dim] = r.s;
      p[dim] = r.p;
      d[dim] = r.d;
      op[dim] = r.op;
      Shape want_c{2, 4, 3, 3, 3}, want_t{2, 4, 3, 3, 3};
      want_c[2 + dim] = r.conv;
      want_t[2 + dim] = r.tconv;
      const Tensor x = zeros({2, 2, in[0], in[1], in[2]}, kFloat64);
      EXPECT_EQ(conv3d(x, zeros({4, 2, k[0], k[1], k[2]}, kFloat64), {}, s, p, d).sizes(), want_c);
      EXPECT_EQ(conv_transpose3d(x, zeros({2, 4, k[0], k[1], k[2]}, kFloat64), {}, s, p, op, 1, d).sizes(), want_t);
      // Unbatched input gives unbatched output.
      const Tensor xu = zeros({2, in[0], in[1], in[2]}, kFloat64);
      EXPECT_EQ(conv3d(xu, zeros({4, 2, k[0], k[1], k[2]}, kFloat64), {}, s, p, d).sizes(),
                Shape(want_c.begin() + 1, want_c.end()));
      EXPECT_EQ(conv_transpose3d(xu, zeros({2, 4, k[0], k[1], k[2]}, kFloat64), {}, s, p, op, 1, d).sizes(),
                Shape(want_t.begin() + 1, want_t.end()));
    }
  }
  // Channels: conv3d gives weight.size(0); transposed gives weight.size(1) · groups.
  EXPECT_EQ(conv3d(zeros({1, 6, 3, 3, 3}), zeros({9, 2, 1, 1, 1}), {}, 1, 0, 1, 3).sizes(), (Shape{1, 9, 3, 3, 3}));
  EXPECT_EQ(conv_transpose3d(zeros({1, 6, 3, 3, 3}), zeros({6, 2, 1, 1, 1}), {}, 1, 0, 0, 3).sizes(),
            (Shape{1, 6, 3, 3, 3}));
  // Conv3d with stride s maps [L, L + s − 1] to one size; output_padding recovers each of them.
  // (k 3, s 3, p 1: sizes 10, 11 and 12 all give 4; from 4 the transposed op gives 10 + op.)
  for (std::int64_t L = 10; L <= 12; ++L) {
    const Tensor x = zeros({1, 1, L, L, L}, kFloat64);
    const Tensor y = conv3d(x, zeros({1, 1, 3, 3, 3}, kFloat64), {}, 3, 1);
    EXPECT_EQ(y.sizes(), (Shape{1, 1, 4, 4, 4}));
    const Tensor z = conv_transpose3d(y, zeros({1, 1, 3, 3, 3}, kFloat64), {}, 3, 1, L - 10);
    EXPECT_EQ(z.sizes(), (Shape{1, 1, L, L, L}));
  }
}

// =================================================================================================
// im2col3d / col2im3d: the definition, adjointness, partial column ranges, channel splits.
// =================================================================================================

/// The column matrix entry (row, col) from its definition, or 0 in the padding.
double col_entry(const std::vector<double>& vol, const detail::ConvGeometry& g, std::int64_t row, std::int64_t col) {
  const std::int64_t kv = g.kernel_volume();
  const std::int64_t c = row / kv, kd = row % kv / (g.kernel[1] * g.kernel[2]),
                     kh = row % (g.kernel[1] * g.kernel[2]) / g.kernel[2], kw = row % g.kernel[2];
  const std::int64_t od = col / (g.out[1] * g.out[2]), oh = col / g.out[2] % g.out[1], ow = col % g.out[2];
  const std::int64_t pos[3] = {od * g.stride[0] - g.padding[0] + kd * g.dilation[0],
                               oh * g.stride[1] - g.padding[1] + kh * g.dilation[1],
                               ow * g.stride[2] - g.padding[2] + kw * g.dilation[2]};
  for (std::size_t i = 0; i < 3; ++i) {
    if (pos[i] < 0 || pos[i] >= g.vol[i]) return 0.0;
  }
  return vol[static_cast<std::size_t>(((c * g.vol[0] + pos[0]) * g.vol[1] + pos[1]) * g.vol[2] + pos[2])];
}

std::string geo_str(const detail::ConvGeometry& g, std::int64_t c0, std::int64_t c1) {
  std::ostringstream os;
  os << "channels=" << g.Cin << " vol=" << dims_str(g.vol) << " out=" << dims_str(g.out)
     << " kernel=" << dims_str(g.kernel) << " stride=" << dims_str(g.stride) << " padding=" << dims_str(g.padding)
     << " dilation=" << dims_str(g.dilation) << " columns [" << c0 << ", " << c1 << ")";
  return os.str();
}

TEST(Vol2Col, AdjointAndDefinitionOnRandomGeometries) {
  std::mt19937_64 rng(0x2C01);
  int checked = 0, partial = 0, short_out = 0;
  while (checked < 300) {
    detail::ConvGeometry g;
    g.Cin = pick(rng, 1, 3);
    for (std::size_t i = 0; i < 3; ++i) {
      g.vol[i] = pick(rng, 1, 7);
      g.kernel[i] = pick(rng, 1, 3);
      g.stride[i] = pick(rng, 1, 3);
      g.padding[i] = pick(rng, 0, 2);
      g.dilation[i] = pick(rng, 1, 3);
    }
    bool ok = true;
    bool beyond = false;
    for (std::size_t i = 0; i < 3; ++i) {
      const std::int64_t natural =
          g.vol[i] + 2 * g.padding[i] >= g.dilation[i] * (g.kernel[i] - 1) + 1
              ? (g.vol[i] + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i] + 1
              : 0;
      if (natural == 0) ok = false;
      // Mostly the natural size; sometimes fewer columns, as when the geometry serves a
      // transposed convolution whose output_padding exceeds its stride.
      g.out[i] = pick(rng, 0, 3) == 0 ? pick(rng, 1, std::max<std::int64_t>(natural, 1)) : natural;
      beyond = beyond || g.out[i] < natural;
    }
    if (!ok) continue;
    ++checked;
    short_out += beyond;
    const std::int64_t rows = g.rows(), cols = g.out_size();
    // Full range half the time; otherwise a random sub-range (possibly empty).
    std::int64_t c0 = 0, c1 = cols;
    if (pick(rng, 0, 1) == 1) {
      c0 = pick(rng, 0, cols);
      c1 = pick(rng, c0, cols);
      ++partial;
    }
    const std::int64_t width = c1 - c0;
    const std::string where = geo_str(g, c0, c1);
    const std::vector<double> x = uniform_values(rng, g.Cin * g.vol_size());
    const std::vector<double> y = uniform_values(rng, rows * width);

    std::vector<double> col(static_cast<std::size_t>(rows * width), std::nan(""));
    detail::im2col3d(x.data(), g, c0, c1, col.data());
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < width; ++j) {
        ASSERT_EQ(col[r * width + j], col_entry(x, g, r, c0 + j)) << where << " row " << r << " col " << c0 + j;
      }

    // col2im adds into what is there; here it starts from a random base.
    const std::vector<double> base = uniform_values(rng, g.Cin * g.vol_size());
    std::vector<double> back = base;
    detail::col2im3d(y.data(), g, c0, c1, back.data(), 0, g.Cin);
    double lhs = 0.0, rhs = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < col.size(); ++i) {
      lhs += col[i] * y[i];
      scale += std::abs(col[i] * y[i]);
    }
    for (std::size_t i = 0; i < x.size(); ++i) rhs += x[i] * (back[i] - base[i]);
    EXPECT_NEAR(lhs, rhs, 1e-12 * std::max(1.0, scale)) << "<im2col(x), y> != <x, col2im(y)> for " << where;

    // The definition of col2im, element by element (exact adjoint of col_entry), into zeros.
    std::vector<double> from_zero(x.size(), 0.0), want(x.size(), 0.0);
    detail::col2im3d(y.data(), g, c0, c1, from_zero.data(), 0, g.Cin);
    for (std::size_t i = 0; i < x.size(); ++i) {
      std::vector<double> e(x.size(), 0.0);
      e[i] = 1.0;
      double s = 0.0;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < width; ++j) s += col_entry(e, g, r, c0 + j) * y[r * width + j];
      want[i] = s;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_NEAR(from_zero[i], want[i], 1e-12) << where << " element " << i;
      ASSERT_NEAR(back[i], base[i] + from_zero[i], 1e-12) << "col2im must add, not assign: " << where;
    }

    // Channel ranges split anywhere give the same volume (each call writes only its channels).
    if (g.Cin > 1) {
      const std::int64_t mid = pick(rng, 1, g.Cin - 1);
      std::vector<double> split(x.size(), 0.0);
      detail::col2im3d(y.data(), g, c0, c1, split.data(), mid, g.Cin);
      for (std::int64_t i = 0; i < mid * g.vol_size(); ++i) ASSERT_EQ(split[i], 0.0) << where;
      detail::col2im3d(y.data(), g, c0, c1, split.data(), 0, mid);
      for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(split[i], from_zero[i]) << where;
    }
    // Columns split anywhere: the two im2col parts are the full matrix's column blocks.
    if (width > 1) {
      const std::int64_t cm = pick(rng, c0 + 1, c1 - 1);
      std::vector<double> left(static_cast<std::size_t>(rows * (cm - c0))),
          right(static_cast<std::size_t>(rows * (c1 - cm)));
      detail::im2col3d(x.data(), g, c0, cm, left.data());
      detail::im2col3d(x.data(), g, cm, c1, right.data());
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = c0; j < cm; ++j)
          ASSERT_EQ(left[r * (cm - c0) + (j - c0)], col[r * width + (j - c0)]) << where;
        for (std::int64_t j = cm; j < c1; ++j)
          ASSERT_EQ(right[r * (c1 - cm) + (j - cm)], col[r * width + (j - c0)]) << where;
      }
    }
  }
  EXPECT_GE(partial, 100);
  EXPECT_GE(short_out, 30);

  // float32 instantiation: same definition.
  detail::ConvGeometry g;
  g.Cin = 2;
  g.vol = {4, 5, 6};
  g.kernel = {2, 3, 2};
  g.stride = {1, 2, 3};
  g.padding = {1, 1, 0};
  g.dilation = {2, 1, 1};
  for (std::size_t i = 0; i < 3; ++i) {
    g.out[i] = (g.vol[i] + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i] + 1;
  }
  const std::vector<double> xd = uniform_values(rng, g.Cin * g.vol_size());
  const std::vector<float> xf(xd.begin(), xd.end());
  std::vector<float> colf(static_cast<std::size_t>(g.rows() * g.out_size()));
  detail::im2col3d(xf.data(), g, 0, g.out_size(), colf.data());
  const std::vector<double> xr(xf.begin(), xf.end());
  for (std::int64_t r = 0; r < g.rows(); ++r)
    for (std::int64_t j = 0; j < g.out_size(); ++j)
      ASSERT_EQ(double(colf[r * g.out_size() + j]), col_entry(xr, g, r, j));
}

}  // namespace
