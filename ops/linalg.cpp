#include "voxgrad/ops/linalg.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/gemm.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using autograd::save_for_backward;

namespace {

// How GEMM can read the last two dims of a tensor without copying: row-major (trans = false) or
// as the transpose of a row-major matrix (trans = true), with leading dimension ld.
struct MatrixLayout {
  Tensor t;
  bool trans = false;
  std::int64_t ld = 1;
  std::int64_t batch_stride = 0;
};

MatrixLayout layout_of(const Tensor& x) {
  const std::int64_t nd = x.dim();
  const std::int64_t rows = x.sizes()[nd - 2], cols = x.sizes()[nd - 1];
  const std::int64_t rs = x.strides()[nd - 2], cs = x.strides()[nd - 1];
  if ((cs == 1 || cols <= 1) && rs >= std::max<std::int64_t>(cols, 1)) {
    return {x, false, rs, nd == 3 ? x.strides()[0] : 0};
  }
  if ((rs == 1 || rows <= 1) && cs >= std::max<std::int64_t>(rows, 1)) {
    return {x, true, cs, nd == 3 ? x.strides()[0] : 0};
  }
  const Tensor c = x.detach().contiguous();
  return {c, false, std::max<std::int64_t>(cols, 1), nd == 3 ? rows * cols : 0};
}

// C[i] = A[i] · B[i] for each batch entry, into a new contiguous tensor.
Tensor batched_product(const Tensor& a, const Tensor& b, std::int64_t batch, std::int64_t m, std::int64_t k,
                       std::int64_t n, Shape out_sizes) {
  if (k == 0) {  // every entry is an empty sum; the operands may have no storage to offset into
    return zeros(out_sizes, a.dtype());
  }
  Tensor out = empty(out_sizes, a.dtype());
  // Nothing to compute, and an empty operand's (or the output's) null data must not be offset per batch entry.
  if (batch == 0 || m == 0 || n == 0) return out;
  const MatrixLayout la = layout_of(a), lb = layout_of(b);
  detail::dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    const T* pa = la.t.data_ptr<T>();
    const T* pb = lb.t.data_ptr<T>();
    T* pc = out.data_ptr<T>();
    auto one = [&](std::int64_t i, bool parallel_inside) {
      auto* f = parallel_inside ? &detail::gemm_parallel<T> : &detail::gemm<T>;
      f(la.trans, lb.trans, m, n, k, T(1), pa + i * la.batch_stride, la.ld, pb + i * lb.batch_stride, lb.ld, T(0),
        pc + i * m * n, std::max<std::int64_t>(n, 1));
    };
    if (batch == 1) {
      one(0, true);
    } else {
      detail::parallel_for(0, batch, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t i = b0; i < b1; ++i) one(i, false);
      });
    }
  });
  return out;
}

// The inner dimensions of x and y do not match; `why` (may be empty) details it.
[[noreturn]] void throw_not_multipliable(const char* op, const Tensor& x, const Tensor& y, const std::string& why) {
  throw Error(
      fmt::format("{}: shapes {} and {} cannot be multiplied{}", op, shape_str(x.sizes()), shape_str(y.sizes()), why));
}
}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  auto [x, y] = detail::promote(a, b, "mm");
  VOXGRAD_CHECK(x.dim() == 2 && y.dim() == 2, "mm: expected 2-D matrices, but got shapes {} and {}",
                shape_str(x.sizes()), shape_str(y.sizes()));
  const std::int64_t m = x.sizes()[0], k = x.sizes()[1], n = y.sizes()[1];
  if (y.sizes()[0] != k) throw_not_multipliable("mm", x, y, fmt::format(" ({}x{} and {}x{})", m, k, y.sizes()[0], n));
  Tensor out = batched_product(x, y, 1, m, k, n, {m, n});
  const bool want_x = x.requires_grad(), want_y = y.requires_grad();
  record("MmBackward", x, y, out, {save_for_backward(want_y ? x : Tensor()), save_for_backward(want_x ? y : Tensor())},
         [](const BackwardCtx& c) {
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) g[0] = mm(c.grad(), c.saved[1].t());
           if (c.needs_input_grad(1)) g[1] = mm(c.saved[0].t(), c.grad());
           return g;
         });
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  auto [x, y] = detail::promote(a, b, "bmm");
  VOXGRAD_CHECK(x.dim() == 3 && y.dim() == 3, "bmm: expected 3-D tensors, but got shapes {} and {}",
                shape_str(x.sizes()), shape_str(y.sizes()));
  const std::int64_t batch = x.sizes()[0], m = x.sizes()[1], k = x.sizes()[2], n = y.sizes()[2];
  if (y.sizes()[0] != batch || y.sizes()[1] != k) throw_not_multipliable("bmm", x, y, "");
  Tensor out = batched_product(x, y, batch, m, k, n, {batch, m, n});
  const bool want_x = x.requires_grad(), want_y = y.requires_grad();
  record("BmmBackward", x, y, out, {save_for_backward(want_y ? x : Tensor()), save_for_backward(want_x ? y : Tensor())},
         [](const BackwardCtx& c) {
           std::vector<Tensor> g(2);
           if (c.needs_input_grad(0)) g[0] = bmm(c.grad(), c.saved[1].transpose(1, 2));
           if (c.needs_input_grad(1)) g[1] = bmm(c.saved[0].transpose(1, 2), c.grad());
           return g;
         });
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "matmul", "self");
  detail::check_defined(b, "matmul", "other");
  const std::int64_t da = a.dim(), db = b.dim();
  VOXGRAD_CHECK(da >= 1 && db >= 1, "matmul: both arguments need at least 1 dimension, but got shapes {} and {}",
                shape_str(a.sizes()), shape_str(b.sizes()));
  const std::int64_t ka = a.sizes()[da - 1];
  const std::int64_t kb = db == 1 ? b.sizes()[0] : b.sizes()[db - 2];
  if (ka != kb) throw_not_multipliable("matmul", a, b, fmt::format(" ({} != {})", ka, kb));
  if (da == 1 && db == 1) return mm(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  if (da == 2 && db == 1) return mm(a, b.unsqueeze(1)).squeeze(1);
  if (da == 1 && db == 2) return mm(a.unsqueeze(0), b).squeeze(0);
  if (da == 2 && db == 2) return mm(a, b);
  if (db <= 2) {
    // [..., m, k] · [k, n]: fold the batch into the rows of one GEMM, as PyTorch does.
    const Tensor b2 = db == 1 ? b.unsqueeze(1) : b;
    Shape out_sizes(a.sizes().begin(), a.sizes().end() - 1);
    const Tensor folded = mm(a.reshape({-1, ka}), b2);
    if (db == 2) out_sizes.push_back(b2.sizes()[1]);
    return folded.reshape(out_sizes);
  }
  // General case: broadcast the batch dims, then one batched product.
  const Tensor a2 = da == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b;
  const Shape batch_a(a2.sizes().begin(), a2.sizes().end() - 2);
  const Shape batch_b(b2.sizes().begin(), b2.sizes().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const std::int64_t m = a2.sizes()[a2.dim() - 2], n = b2.sizes()[b2.dim() - 1];
  std::int64_t nb = 1;
  for (std::int64_t s : batch) nb *= s;
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {m, ka});
  eb.insert(eb.end(), {ka, n});
  const Tensor out3 = bmm(a2.expand(ea).reshape({nb, m, ka}), b2.expand(eb).reshape({nb, ka, n}));
  Shape out_sizes = batch;
  if (da > 1) out_sizes.push_back(m);
  out_sizes.push_back(n);
  return out3.reshape(out_sizes);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "dot", "self");
  detail::check_defined(b, "dot", "other");
  VOXGRAD_CHECK(a.dim() == 1 && b.dim() == 1, "dot: expected 1-D tensors, but got shapes {} and {}",
                shape_str(a.sizes()), shape_str(b.sizes()));
  VOXGRAD_CHECK(a.numel() == b.numel(), "dot: expected tensors of one size, but got shapes {} and {}",
                shape_str(a.sizes()), shape_str(b.sizes()));
  return matmul(a, b);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "outer", "self");
  detail::check_defined(b, "outer", "vec2");
  VOXGRAD_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected 1-D tensors, but got shapes {} and {}",
                shape_str(a.sizes()), shape_str(b.sizes()));
  return mul(a.unsqueeze(1), b.unsqueeze(0));
}

namespace {

// a where the column index minus the row index (of the last two dims) passes `keep`, else 0: selected, so
// that the gradient is the same selection of the incoming one.
template <typename Keep>
Tensor triangle(const Tensor& a, const char* op, Keep keep) {
  detail::check_defined(a, op);
  VOXGRAD_CHECK(a.dim() >= 2, "{}: the input needs at least 2 dims, but has shape {}", op, shape_str(a.sizes()));
  detail::check_floating(a, op);
  const std::int64_t rows = a.sizes()[a.dim() - 2], cols = a.sizes()[a.dim() - 1];
  const Tensor offset = arange(0, static_cast<double>(cols), 1.0, kFloat64).unsqueeze(0) -
                        arange(0, static_cast<double>(rows), 1.0, kFloat64).unsqueeze(1);
  return where(keep(offset), a, zeros({}, a.dtype()));
}

}  // namespace

Tensor tril(const Tensor& a, std::int64_t diagonal) {
  return triangle(a, "tril", [diagonal](const Tensor& d) { return d.le(static_cast<double>(diagonal)); });
}

Tensor triu(const Tensor& a, std::int64_t diagonal) {
  return triangle(a, "triu", [diagonal](const Tensor& d) { return d.ge(static_cast<double>(diagonal)); });
}

namespace {

// The cross products of the length-3 rows of a and b (contiguous, one dtype, one shape [..., 3]), each
// component as ATen's CPU kernel computes it (compiled with FMA contraction): fma(a_p, b_q, −(a_r · b_s)).
Tensor cross_rows(const Tensor& a, const Tensor& b) {
  Tensor out = empty(a.sizes(), a.dtype());
  const std::int64_t rows = a.numel() / 3;
  detail::dispatch_all(a.dtype(), [&]<typename T>() {
    const T* pa = a.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    T* po = out.data_ptr<T>();
    detail::parallel_for(0, rows, 4096, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const T* x = pa + 3 * r;
        const T* y = pb + 3 * r;
        for (int k = 0; k < 3; ++k) {
          const int p = (k + 1) % 3, q = (k + 2) % 3;
          if constexpr (std::is_floating_point_v<T>) {
            po[3 * r + k] = std::fma(x[p], y[q], -(x[q] * y[p]));
          } else {
            // int64 wraps around, as ATen's does (signed overflow would be undefined).
            using U = std::uint64_t;
            po[3 * r + k] = static_cast<T>(static_cast<U>(x[p]) * static_cast<U>(y[q]) -
                                           static_cast<U>(x[q]) * static_cast<U>(y[p]));
          }
        }
      }
    });
  });
  return out;
}

}  // namespace

Tensor linalg_cross(const Tensor& a, const Tensor& b, std::int64_t dim) {
  const char* op = "linalg.cross";
  detail::check_defined(a, op, "input");
  detail::check_defined(b, op, "other");
  VOXGRAD_CHECK(a.dim() == b.dim(), "{}: inputs must have the same number of dimensions, but got shapes {} and {}", op,
                shape_str(a.sizes()), shape_str(b.sizes()));
  VOXGRAD_CHECK(a.dtype() == b.dtype(), "{}: expected input and other of one dtype, but got {} and {}", op, a.dtype(),
                b.dtype());
  VOXGRAD_CHECK(a.dim() > 0, "{}: expected inputs with a dim of size 3, but got 0-d tensors", op);
  const std::int64_t d = wrap_dim(dim, a.dim(), op);
  VOXGRAD_CHECK(a.size(d) == 3 && b.size(d) == 3, "{}: inputs dimension {} must have length 3, but got {} and {}", op,
                d, a.size(d), b.size(d));
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  const auto rows = [&](const Tensor& t) { return movedim(t.detach().expand(shape), {d}, {-1}).contiguous(); };
  // A new tensor, never a view of the rows' buffer (an identity movedim would be one): the result is
  // recorded, and an in-place op on a view would rewrite its base's history instead.
  const Tensor r = cross_rows(rows(a), rows(b));
  Tensor out = d == a.dim() - 1 ? r : movedim(r, {-1}, {d}).contiguous();
  // d(a × b) = da × b + a × db: the gradients are b × g and g × a (PyTorch's), summed over broadcast dims.
  record("LinalgCrossBackward0", a, b, out, {save_for_backward(a), save_for_backward(b)}, [d](const BackwardCtx& c) {
    const Tensor &x = c.saved[0], &y = c.saved[1], &g = c.grad();
    return std::vector<Tensor>{c.needs_input_grad(0) ? linalg_cross(y, g, d).sum_to_size(x.sizes()) : Tensor(),
                               c.needs_input_grad(1) ? linalg_cross(g, x, d).sum_to_size(y.sizes()) : Tensor()};
  });
  return out;
}

Tensor cross(const Tensor& a, const Tensor& b, std::optional<std::int64_t> dim) {
  detail::check_defined(a, "cross", "input");
  if (!dim) {  // torch.cross's default: the first dim of size 3 in the input
    for (std::int64_t k = 0; k < a.dim() && !dim; ++k) {
      if (a.size(k) == 3) dim = k;
    }
    VOXGRAD_CHECK(dim.has_value(), "cross: no dimension of size 3 in input (shape {})", shape_str(a.sizes()));
  }
  return linalg_cross(a, b, *dim);
}

Tensor trace(const Tensor& a) {
  detail::check_defined(a, "trace");
  VOXGRAD_CHECK(a.dim() == 2, "trace: expected a matrix, but got a tensor of shape {}", shape_str(a.sizes()));
  Tensor out = empty({}, a.dtype());
  const std::int64_t n = std::min(a.size(0), a.size(1));
  detail::dispatch_all(a.dtype(), [&]<typename T>() {
    // In order, in double for float32 too (ATen's trace_cpu, the same bits); int64 in uint64, so that
    // it wraps around as ATen's does.
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::uint64_t>;
    const T* p = a.data_ptr<T>();
    const std::int64_t step = n > 0 ? a.strides()[0] + a.strides()[1] : 0;  // along the diagonal
    Acc sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += static_cast<Acc>(p[i * step]);
    *out.data_ptr<T>() = static_cast<T>(sum);
  });
  record("TraceBackward0", a, out, {}, [sizes = a.sizes()](const BackwardCtx& c) {
    const std::int64_t n = std::min(sizes[0], sizes[1]);
    return std::vector<Tensor>{diagonal_backward(c.grad().expand({n}), sizes, 0, 0, 1)};
  });
  return out;
}

Tensor diag_embed(const Tensor& a, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  const char* op = "diag_embed";
  detail::check_defined(a, op);
  const std::int64_t nd = a.dim() + 1;
  const std::int64_t d1 = wrap_dim(dim1, nd, op), d2 = wrap_dim(dim2, nd, op);
  VOXGRAD_CHECK(d1 != d2, "{}: diagonal dimensions cannot be identical, but dim1 = {} and dim2 = {} are both {}", op,
                dim1, dim2, d1);
  // The input's last dim is the diagonal, its other dims fill the output's dims but d1 and d2 in order.
  const std::int64_t len = a.size(-1), limit = std::numeric_limits<std::int64_t>::max() - len;
  VOXGRAD_CHECK(offset >= -limit && offset <= limit, "{}: offset {} is too large for a diagonal of {} elements", op,
                offset, len);
  const std::int64_t n = len + (offset < 0 ? -offset : offset);
  Shape sizes;
  for (std::int64_t k = 0, j = 0; k < nd; ++k) sizes.push_back(k == d1 || k == d2 ? n : a.size(j++));
  return diagonal_backward(a, sizes, offset, d1, d2);
}

Tensor diag(const Tensor& a, std::int64_t diagonal) {
  detail::check_defined(a, "diag");
  VOXGRAD_CHECK(a.dim() == 1 || a.dim() == 2,
                "diag: expected a 1-D or 2-D tensor (a vector or a matrix), but got shape {}", shape_str(a.sizes()));
  // PyTorch 1.13 raises "numel: integer multiplication overflow" for a matrix and an offset past its
  // corner; the diagonal there is empty.
  return a.dim() == 1 ? diag_embed(a, diagonal, 0, 1) : voxgrad::diagonal(a, diagonal, 0, 1).clone();
}

}  // namespace voxgrad
