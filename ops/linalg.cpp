#include "voxgrad/ops/linalg.h"

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

}  // namespace voxgrad
