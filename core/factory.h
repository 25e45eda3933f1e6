#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "voxgrad/core/shape.h"
#include "voxgrad/core/tensor.h"
#include "voxgrad/core/tensor_options.h"

namespace voxgrad {

/// Uninitialised tensor of the given shape.
Tensor empty(IntArrayRef sizes, TensorOptions options = {});
/// Tensor filled with zeros.
Tensor zeros(IntArrayRef sizes, TensorOptions options = {});
/// Tensor filled with ones.
Tensor ones(IntArrayRef sizes, TensorOptions options = {});
/// Tensor filled with `value`.
Tensor full(IntArrayRef sizes, double value, TensorOptions options = {});
/// 1-D tensor [start, start + step, ...) up to but excluding `end`.
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
/// arange(0, end).
Tensor arange(double end, TensorOptions options = {});
/// `steps` evenly spaced values from start to end inclusive (float32 unless options say float64), as
/// torch.linspace: with step = (end − start) / (steps − 1) in the dtype, value i is start + step·i in
/// the first half and end − step·(steps − 1 − i) in the second, so both ends are exact. That is ATen's
/// scalar loop; its vector loop adds lane·step to each vector's first value instead, so PyTorch's last
/// bits depend on its vector width (AVX2 or AVX-512) where a range spans whole vectors.
Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options = {});
/// Uniform samples in [0, 1) from the global generator (see manual_seed).
Tensor rand(IntArrayRef sizes, TensorOptions options = {});
/// Standard normal samples from the global generator.
Tensor randn(IntArrayRef sizes, TensorOptions options = {});
/// Uniform integers in [low, high) as int64 (or the dtype in `options`).
Tensor randint(std::int64_t low, std::int64_t high, IntArrayRef sizes, TensorOptions options = kInt64);
/// The n × m (m = n by default) identity: ones on the diagonal, as torch.eye.
Tensor eye(std::int64_t n, TensorOptions options = {});
/// The n × m matrix with ones on its diagonal.
Tensor eye(std::int64_t n, std::int64_t m, TensorOptions options = {});
/// A uniformly random permutation of 0, …, n − 1 (Fisher–Yates on the global generator), as torch.randperm;
/// int64 unless `options` says float32 or float64.
Tensor randperm(std::int64_t n, TensorOptions options = kInt64);

/// Copies `sizes`-many elements from `data` into a new tensor of T's dtype.
template <typename T>
Tensor from_blob(const T* data, IntArrayRef sizes, TensorOptions options = dtype_of<T>::value);

/// A 1-D float32 tensor from values: `tensor({1.0, 2.0})`; pass options for float64 or int64.
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {});
/// A 2-D tensor from nested lists: `tensor({{1, 2}, {3, 4}})`; rows must have equal length.
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options = {});
/// A 3-D tensor from nested lists.
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> planes,
              TensorOptions options = {});
/// A 1-D tensor from a vector of doubles.
Tensor tensor(const std::vector<double>& values, TensorOptions options = {});
/// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, TensorOptions options = {});

/// empty() with the shape and dtype of `t`.
Tensor empty_like(const Tensor& t);
/// zeros() with the shape and dtype of `t`.
Tensor zeros_like(const Tensor& t);
/// ones() with the shape and dtype of `t`.
Tensor ones_like(const Tensor& t);
/// full() with the shape and dtype of `t`.
Tensor full_like(const Tensor& t, double value);
/// rand() with the shape and dtype of `t`.
Tensor rand_like(const Tensor& t);
/// randn() with the shape and dtype of `t`.
Tensor randn_like(const Tensor& t);

}  // namespace voxgrad
