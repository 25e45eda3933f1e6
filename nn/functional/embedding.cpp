#include "voxgrad/nn/functional/embedding.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/take.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/histogram.h"
#include "voxgrad/ops/reduction.h"

namespace voxgrad::nn::functional {

namespace {

// The linear indices of the elements of the rows `idx` (any shape ending in 1) of a rows × dim table:
// idx·dim + j along the last dim.
Tensor row_elements(const Tensor& idx, std::int64_t dim) {
  Shape shape = idx.sizes();
  shape.back() = dim;
  const std::int64_t rank = static_cast<std::int64_t>(shape.size());
  return voxgrad::detail::linear_index(shape, {idx, voxgrad::detail::arange_at(dim, rank - 1, rank)}, {dim, 1});
}

// PyTorch's F.embedding: a padding_idx in [−rows, rows), negatives counted from the end; −1 means none
// inside the kernels (a wrapped index is never negative).
std::int64_t wrapped_padding_idx(const std::optional<std::int64_t>& padding_idx, std::int64_t rows) {
  if (!padding_idx) return -1;
  const std::int64_t p = *padding_idx;
  VOXGRAD_CHECK(p >= -rows && p < rows,
                "embedding: padding_idx must be within num_embeddings, i.e. in [{}, {}), but got {} (weight has {} "
                "rows)",
                -rows, rows, p, rows);
  return p < 0 ? p + rows : p;
}

// torch.embedding_renorm_: each distinct row the indices read (in increasing order) whose norm exceeds
// max_norm is scaled by max_norm / (norm + 1e-7), in place and outside autograd.
void renorm_rows(Tensor weight, const std::int64_t* idx, std::int64_t n, double max_norm, double norm_type) {
  std::vector<std::int64_t> rows(idx, idx + n);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  NoGradGuard no_grad;
  for (const std::int64_t r : rows) {
    Tensor row = weight.select(0, r);
    const double norm = voxgrad::norm(row, norm_type).item<double>();
    if (norm > max_norm) row.mul_(max_norm / (norm + 1e-7));
  }
}

// The weight's gradient as PyTorch's embedding_dense_backward_cpu computes it: rows of `grad` added, in
// index order, into zeros; the padding row skipped; with scale_grad_by_freq each row multiplied by
// 1 / count and added in one rounding (ATen's add with alpha is a fused multiply-add).
Tensor dense_backward(const Tensor& grad, const Tensor& idx, std::int64_t rows, std::int64_t padding_idx,
                      bool scale_grad_by_freq) {
  const std::int64_t n = idx.numel();
  const std::int64_t dim = grad.size(-1);
  Tensor gw = zeros({rows, dim}, grad.dtype());
  const Tensor g = grad.contiguous();
  const std::int64_t* pi = idx.data_ptr<std::int64_t>();
  const Tensor counts = scale_grad_by_freq ? voxgrad::bincount(idx, {}, rows) : Tensor();
  voxgrad::detail::dispatch_floating(grad.dtype(), "embedding_backward", [&]<typename T>() {
    T* pw = gw.data_ptr<T>();
    const T* pg = g.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t k = pi[i];
      if (k == padding_idx) continue;
      T* dst = pw + k * dim;
      const T* src = pg + i * dim;
      if (scale_grad_by_freq) {
        const T s = static_cast<T>(1.0 / static_cast<double>(counts.data_ptr<std::int64_t>()[k]));
        for (std::int64_t j = 0; j < dim; ++j) dst[j] = std::fma(src[j], s, dst[j]);
      } else {
        for (std::int64_t j = 0; j < dim; ++j) dst[j] += src[j];
      }
    }
  });
  return gw;
}

// The same gradient from differentiable ops (for create_graph): each row times its coefficient (0 for
// the padding row, 1 / count or 1), added by take_add in index order. With scale_grad_by_freq the product
// and the sum are rounded apart, so a term can differ from the fused kernel's by an ulp.
Tensor differentiable_backward(const Tensor& grad, const Tensor& idx, std::int64_t rows, std::int64_t padding_idx,
                               bool scale_grad_by_freq) {
  const std::int64_t n = idx.numel();
  const std::int64_t dim = grad.size(-1);
  Tensor g = grad.reshape({n, dim});
  if (padding_idx >= 0 || scale_grad_by_freq) {
    const Tensor counts = voxgrad::bincount(idx, {}, rows);
    const std::int64_t* pn = counts.data_ptr<std::int64_t>();
    const std::int64_t* pi = idx.data_ptr<std::int64_t>();
    Tensor coef = empty({n, 1}, kFloat64);
    double* pc = coef.data_ptr<double>();
    for (std::int64_t i = 0; i < n; ++i) {
      pc[i] = pi[i] == padding_idx ? 0.0 : scale_grad_by_freq ? 1.0 / static_cast<double>(pn[pi[i]]) : 1.0;
    }
    g = g * coef.to(grad.dtype());
  }
  return voxgrad::detail::take_add(g, row_elements(idx.reshape({n, 1}), dim), {rows, dim});
}

}  // namespace

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options) {
  voxgrad::detail::check_defined(input, "embedding", "input");
  voxgrad::detail::check_defined(weight, "embedding", "weight");
  VOXGRAD_CHECK(weight.dim() == 2, "embedding: weight must be 2-D (num_embeddings × embedding_dim), but got shape {}",
                shape_str(weight.sizes()));
  if (!is_floating_point(weight.dtype())) voxgrad::detail::throw_not_floating(weight.dtype(), "embedding", "weight");
  VOXGRAD_CHECK(input.dtype() == kInt64, "embedding: expected int64 indices as input, but got {}", input.dtype());
  VOXGRAD_CHECK(!options.sparse(),
                "embedding: sparse gradients are not supported (voxgrad has no sparse tensors); "
                "use sparse(false)");
  if (options.max_norm()) {
    VOXGRAD_CHECK(*options.max_norm() >= 0.0 && !std::isnan(*options.max_norm()),
                  "embedding: max_norm must be non-negative, but got {}", *options.max_norm());
  }
  const std::int64_t rows = weight.size(0);
  const std::int64_t dim = weight.size(1);
  const std::int64_t padding_idx = wrapped_padding_idx(options.padding_idx(), rows);
  const Tensor idx = voxgrad::detail::check_index_values(input.reshape({-1}), rows, 0, false, "embedding");
  if (options.max_norm()) {
    renorm_rows(weight, idx.data_ptr<std::int64_t>(), idx.numel(), *options.max_norm(), options.norm_type());
  }
  // A tensor of its own (not a view), so that in-place ops on it are recorded as on any op's result.
  Shape shape = input.sizes();
  shape.push_back(1);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = voxgrad::detail::take(weight, row_elements(idx.reshape(shape), dim));
  }
  autograd::record("EmbeddingBackward", weight, out, {},
                   [idx, rows, padding_idx, scale = options.scale_grad_by_freq()](const autograd::BackwardCtx& c) {
                     std::vector<Tensor> grads(1);
                     if (!c.needs_input_grad(0)) return grads;
                     grads[0] = GradMode::is_enabled()
                                    ? differentiable_backward(c.grad(), idx, rows, padding_idx, scale)
                                    : dense_backward(c.grad(), idx, rows, padding_idx, scale);
                     return grads;
                   });
  return out;
}

}  // namespace voxgrad::nn::functional
