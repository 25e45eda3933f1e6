#include "voxgrad/ops/repeat.h"

#include <algorithm>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace {

// a repeated (see repeat()), errors named after `op` (repeat or tile).
Tensor repeated(const Tensor& a, IntArrayRef repeats, const char* op) {
  const auto n = static_cast<std::int64_t>(repeats.size());
  VOXGRAD_CHECK(n >= a.dim(), "{}: repeats {} name fewer dims than the tensor of shape {} has", op, shape_str(repeats),
                shape_str(a.sizes()));
  VOXGRAD_CHECK(std::all_of(repeats.begin(), repeats.end(), [](std::int64_t r) { return r >= 0; }),
                "{}: repeats must be non-negative, but got {}", op, shape_str(repeats));
  // a as n dims (leading 1s), then every dim i as a pair [repeats[i], size], the first expanded (stride 0);
  // one copy of that, whose pairs then merge into dims of repeats[i] · size.
  Shape sizes(static_cast<std::size_t>(n - a.dim()), 1);
  sizes.insert(sizes.end(), a.sizes().begin(), a.sizes().end());
  Shape paired, expanded, out;
  std::int64_t numel = 1;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t r = repeats[static_cast<std::size_t>(i)], s = sizes[static_cast<std::size_t>(i)];
    std::int64_t total = 0;
    VOXGRAD_CHECK(!__builtin_mul_overflow(r, s, &total) && !__builtin_mul_overflow(numel, total, &numel),
                  "{}: repeats {} of shape {} give more elements than an int64 counts", op, shape_str(repeats),
                  shape_str(a.sizes()));
    paired.insert(paired.end(), {1, s});
    expanded.insert(expanded.end(), {r, s});
    out.push_back(total);
  }
  return clone(a.reshape(paired).expand(expanded)).view(out);
}

}  // namespace

Tensor repeat(const Tensor& a, IntArrayRef repeats) {
  detail::check_defined(a, "repeat");
  return repeated(a, repeats, "repeat");
}

Tensor tile(const Tensor& a, IntArrayRef reps) {
  detail::check_defined(a, "tile");
  const auto n = static_cast<std::int64_t>(reps.size());
  Shape padded(static_cast<std::size_t>(std::max<std::int64_t>(a.dim() - n, 0)), 1);
  padded.insert(padded.end(), reps.begin(), reps.end());
  return repeated(a, padded, "tile");
}

}  // namespace voxgrad
