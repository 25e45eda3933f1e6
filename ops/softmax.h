#pragma once

#include <cstdint>

#include "voxgrad/core/tensor.h"

namespace voxgrad {

/// exp(x − max) / Σ exp(x − max) along `dim` (negative dims count from the end), as torch.softmax.
/// Numerically stable for any magnitude; sums accumulate in float64. Its backward,
/// y·(g − Σ g·y), is built from differentiable ops, so double backward works.
Tensor softmax(const Tensor& input, std::int64_t dim);

/// x − max − log Σ exp(x − max) along `dim`, as torch.log_softmax: finite wherever the input is.
/// Backward g − exp(y)·Σ g is differentiable again.
Tensor log_softmax(const Tensor& input, std::int64_t dim);

}  // namespace voxgrad
