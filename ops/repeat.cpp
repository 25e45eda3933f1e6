#include "voxgrad/ops/repeat.h"

#include <algorithm>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

Tensor repeat(const Tensor& a, IntArrayRef repeats) {
  detail::check_defined(a, "repeat");
  const auto n = static_cast<std::int64_t>(repeats.size());
  VOXGRAD_CHECK(n >= a.dim(), "repeat: repeats {} name fewer dims than the tensor of shape {} has", shape_str(repeats),
                shape_str(a.sizes()));
  VOXGRAD_CHECK(std::all_of(repeats.begin(), repeats.end(), [](std::int64_t r) { return r >= 0; }),
                "repeat: repeats must be non-negative, but got {}", shape_str(repeats));
  // a as n dims (leading 1s), then every dim i as a pair [repeats[i], size]: the first expanded (stride 0), the
  // pair merged into one dim of repeats[i] · size, which copies.
  Shape sizes(static_cast<std::size_t>(n - a.dim()), 1);
  sizes.insert(sizes.end(), a.sizes().begin(), a.sizes().end());
  Shape paired, expanded, out;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t r = repeats[static_cast<std::size_t>(i)], s = sizes[static_cast<std::size_t>(i)];
    std::int64_t total = 0;
    VOXGRAD_CHECK(!__builtin_mul_overflow(r, s, &total), "repeat: repeats {} of shape {} overflow a dim's size",
                  shape_str(repeats), shape_str(a.sizes()));
    paired.insert(paired.end(), {1, s});
    expanded.insert(expanded.end(), {r, s});
    out.push_back(total);
  }
  Tensor result = a.reshape(paired).expand(expanded).reshape(out);
  // With every repeat 1, the merge needed no copy; torch's repeat returns one all the same.
  const bool copied = std::any_of(repeats.begin(), repeats.end(), [](std::int64_t r) { return r != 1; });
  return copied ? result : clone(result);
}

Tensor tile(const Tensor& a, IntArrayRef reps) {
  detail::check_defined(a, "tile");
  const auto n = static_cast<std::int64_t>(reps.size());
  Shape padded(static_cast<std::size_t>(std::max<std::int64_t>(a.dim() - n, 0)), 1);
  padded.insert(padded.end(), reps.begin(), reps.end());
  return repeat(a, padded);
}

}  // namespace voxgrad
