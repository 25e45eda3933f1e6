#include "voxgrad/core/factory.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/random.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace {

Tensor allocate(IntArrayRef sizes, TensorOptions options, bool zero, const char* op) {
  const std::int64_t n = checked_numel(sizes, op);
  const std::size_t esize = element_size(options.dtype());
  VOXGRAD_CHECK(static_cast<std::uint64_t>(n) <= (std::uint64_t{1} << 62) / esize,
                "{}: size {} needs more memory than can be addressed", op, shape_str(sizes));
  auto storage = std::make_shared<Storage>(static_cast<std::size_t>(n) * esize, zero);
  Tensor t(
      std::make_shared<TensorImpl>(std::move(storage), sizes.vec(), contiguous_strides(sizes), 0, options.dtype()));
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

template <typename Fill>
Tensor generate(IntArrayRef sizes, TensorOptions options, const char* op, Fill fill) {
  TensorOptions plain = options.requires_grad(false);
  Tensor t = allocate(sizes, plain, false, op);
  detail::dispatch_all(t.dtype(), [&]<typename T>() {
    T* p = t.data_ptr<T>();
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i) p[i] = fill.template operator()<T>(i);
  });
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

}  // namespace

Tensor empty(IntArrayRef sizes, TensorOptions options) { return allocate(sizes, options, false, "empty"); }

Tensor zeros(IntArrayRef sizes, TensorOptions options) { return allocate(sizes, options, true, "zeros"); }

Tensor ones(IntArrayRef sizes, TensorOptions options) {
  return generate(sizes, options, "ones", []<typename T>(std::int64_t) { return T(1); });
}

Tensor full(IntArrayRef sizes, double value, TensorOptions options) {
  return generate(sizes, options, "full", [value]<typename T>(std::int64_t) { return static_cast<T>(value); });
}

Tensor arange(double start, double end, double step, TensorOptions options) {
  VOXGRAD_CHECK(step != 0, "arange: step must be nonzero");
  VOXGRAD_CHECK(std::isfinite(start) && std::isfinite(end), "arange: unsupported range: {} -> {}", start, end);
  VOXGRAD_CHECK((step > 0 && end >= start) || (step < 0 && end <= start),
                "arange: upper bound and larger bound inconsistent with step sign (start {}, end "
                "{}, step {})",
                start, end, step);
  const double count = std::ceil((end - start) / step);
  VOXGRAD_CHECK(count < 9.0e18, "arange: {} elements is too many", count);
  const auto n = static_cast<std::int64_t>(count);
  if (options.dtype() == kInt64) {
    // PyTorch steps integer ranges in integers: start and step are truncated, the count is not.
    const auto istart = static_cast<std::int64_t>(start), istep = static_cast<std::int64_t>(step);
    VOXGRAD_CHECK(istep != 0, "arange: step {} truncates to 0 for dtype int64", step);
    return generate({n}, options, "arange",
                    [istart, istep]<typename T>(std::int64_t i) { return static_cast<T>(istart + i * istep); });
  }
  return generate({n}, options, "arange", [start, step]<typename T>(std::int64_t i) {
    return static_cast<T>(start + static_cast<double>(i) * step);
  });
}

Tensor arange(double end, TensorOptions options) { return arange(0.0, end, 1.0, options); }

Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options) {
  VOXGRAD_CHECK(steps >= 0, "linspace: steps must be non-negative, but got {}", steps);
  VOXGRAD_CHECK(is_floating_point(options.dtype()), "linspace: expected a floating dtype, got {}", options.dtype());
  const std::int64_t halfway = steps / 2;
  return generate({steps}, options, "linspace", [start, end, steps, halfway]<typename T>(std::int64_t i) {
    const T a = static_cast<T>(start), b = static_cast<T>(end);
    if (steps == 1) return a;
    const T step = (b - a) / static_cast<T>(steps - 1);
    return i < halfway ? a + step * static_cast<T>(i) : b - step * static_cast<T>(steps - 1 - i);
  });
}

namespace {
void check_floating_options(const TensorOptions& options, const char* op) {
  VOXGRAD_CHECK(is_floating_point(options.dtype()), "{}: expected a floating dtype, got {}", op, options.dtype());
}
}  // namespace

Tensor rand(IntArrayRef sizes, TensorOptions options) {
  check_floating_options(options, "rand");
  Generator& gen = default_generator();
  return generate(sizes, options, "rand", [&gen]<typename T>(std::int64_t) -> T {
    if constexpr (std::is_same_v<T, float>)
      return gen.next_float();
    else
      return static_cast<T>(gen.next_double());
  });
}

Tensor randn(IntArrayRef sizes, TensorOptions options) {
  check_floating_options(options, "randn");
  Generator& gen = default_generator();
  return generate(sizes, options, "randn",
                  [&gen]<typename T>(std::int64_t) { return static_cast<T>(gen.next_normal()); });
}

Tensor randint(std::int64_t low, std::int64_t high, IntArrayRef sizes, TensorOptions options) {
  VOXGRAD_CHECK(low < high, "randint: expected low < high, but got low={} and high={}", low, high);
  const auto range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  Generator& gen = default_generator();
  return generate(sizes, options, "randint", [&]<typename T>(std::int64_t) {
    // Rejection sampling removes the modulo bias.
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    std::uint64_t r = gen.next_u64();
    while (r >= limit) r = gen.next_u64();
    return static_cast<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + r % range));
  });
}

Tensor eye(std::int64_t n, TensorOptions options) { return eye(n, n, options); }

Tensor eye(std::int64_t n, std::int64_t m, TensorOptions options) {
  VOXGRAD_CHECK(n >= 0 && m >= 0, "eye: n and m must be non-negative, but got n={} and m={}", n, m);
  Tensor out = zeros({n, m}, options);
  detail::dispatch_all(out.dtype(), [&]<typename T>() {
    T* p = out.data_ptr<T>();
    for (std::int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  return out;
}

Tensor randperm(std::int64_t n, TensorOptions options) {
  VOXGRAD_CHECK(n >= 0, "randperm: n must be non-negative, but got {}", n);
  VOXGRAD_CHECK(options.dtype() != kFloat32 || n <= (std::int64_t{1} << 24) + 1,
                "randperm: n must be at most 16777217 for float32 (larger values are not exact), but got {}", n);
  Tensor out = empty({n}, kInt64);
  std::int64_t* perm = out.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) perm[i] = i;
  Generator& gen = default_generator();
  // Fisher–Yates: position i swaps with a uniform j in [0, i] (rejection sampling, no modulo bias).
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto range = static_cast<std::uint64_t>(i) + 1;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    std::uint64_t r = gen.next_u64();
    while (r >= limit) r = gen.next_u64();
    std::swap(perm[i], perm[static_cast<std::int64_t>(r % range)]);
  }
  return options.dtype() == kInt64 ? out : out.to(options.dtype());
}

template <typename T>
Tensor from_blob(const T* data, IntArrayRef sizes, TensorOptions options) {
  VOXGRAD_CHECK(data != nullptr || checked_numel(sizes, "from_blob") == 0, "from_blob: data is null for size {}",
                shape_str(sizes));
  Tensor t = allocate(sizes, options.requires_grad(false), false, "from_blob");
  const std::int64_t n = t.numel();
  detail::dispatch_all(t.dtype(), [&]<typename U>() {
    U* dst = t.data_ptr<U>();
    for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<U>(data[i]);
  });
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

template Tensor from_blob<float>(const float*, IntArrayRef, TensorOptions);
template Tensor from_blob<double>(const double*, IntArrayRef, TensorOptions);
template Tensor from_blob<std::int64_t>(const std::int64_t*, IntArrayRef, TensorOptions);

Tensor tensor(std::initializer_list<double> values, TensorOptions options) {
  return from_blob<double>(values.begin(), {static_cast<std::int64_t>(values.size())}, options);
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options) {
  std::vector<double> flat;
  const std::size_t cols = rows.size() == 0 ? 0 : rows.begin()->size();
  for (const auto& row : rows) {
    VOXGRAD_CHECK(row.size() == cols, "tensor: expected rows of length {}, but got one of length {}", cols, row.size());
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return from_blob<double>(flat.data(), {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(cols)},
                           options);
}

Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> planes,
              TensorOptions options) {
  std::vector<Tensor> slices;
  for (const auto& plane : planes) slices.push_back(tensor(plane, kFloat64));
  VOXGRAD_CHECK(!slices.empty(), "tensor: expected at least one plane");
  for (const Tensor& s : slices) {
    VOXGRAD_CHECK(s.sizes() == slices[0].sizes(), "tensor: expected planes of shape {}, but got one of shape {}",
                  shape_str(slices[0].sizes()), shape_str(s.sizes()));
  }
  const Tensor stacked = stack(slices, 0);
  Tensor out = stacked.to(options.dtype()).contiguous();
  if (out.is_same(stacked)) out = stacked.clone();
  if (options.requires_grad()) out.requires_grad_(true);
  return out;
}

Tensor tensor(const std::vector<double>& values, TensorOptions options) {
  return from_blob<double>(values.data(), {static_cast<std::int64_t>(values.size())}, options);
}

Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }

Tensor empty_like(const Tensor& t) { return empty(t.sizes(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.sizes(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.sizes(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.sizes(), value, t.dtype()); }
Tensor rand_like(const Tensor& t) { return rand(t.sizes(), t.dtype()); }
Tensor randn_like(const Tensor& t) { return randn(t.sizes(), t.dtype()); }

}  // namespace voxgrad
