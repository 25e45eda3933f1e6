#include "voxgrad/data/spatial.h"

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/data/detail/volume.h"

namespace voxgrad::data {

namespace {

using detail::Index3;

// out[c, o0, o1, o2] = in[c, i] with i[src[j]] = rev[j] ? n[src[j]] - 1 - o_j : o_j: every flip,
// transpose and 90° rotation of the spatial axes is one such gather. Reads any strides.
Tensor remap(const Tensor& volume, Index3 src, std::array<bool, 3> rev, const char* op) {
  const Index3 n = detail::spatial_sizes(volume);
  const std::int64_t channels = volume.size(0);
  const Index3 m = {n[src[0]], n[src[1]], n[src[2]]};
  Tensor out = empty({channels, m[0], m[1], m[2]}, volume.dtype());
  voxgrad::detail::dispatch_floating(volume.dtype(), op, [&]<typename T>() {
    const T* in = volume.data_ptr<T>();
    T* o = out.data_ptr<T>();
    Index3 step{}, first{};
    for (int j = 0; j < 3; ++j) {
      const std::int64_t s = volume.stride(src[j] + 1);
      step[j] = rev[j] ? -s : s;
      first[j] = rev[j] ? (n[src[j]] - 1) * s : 0;
    }
    for (std::int64_t c = 0; c < channels; ++c) {
      const T* base = in + c * volume.stride(0) + first[0] + first[1] + first[2];
      for (std::int64_t a = 0; a < m[0]; ++a) {
        for (std::int64_t b = 0; b < m[1]; ++b) {
          const T* row = base + a * step[0] + b * step[1];
          for (std::int64_t d = 0; d < m[2]; ++d) *o++ = row[d * step[2]];
        }
      }
    }
  });
  return out;
}

}  // namespace

Tensor flip(const Tensor& volume, const std::vector<std::int64_t>& axes) {
  detail::check_volume(volume, "flip", "the volume");
  return remap(volume, {0, 1, 2}, detail::flip_axes(axes, "flip"), "flip");
}

Tensor rot90(const Tensor& volume, std::int64_t k, Axes2 axes) {
  detail::check_volume(volume, "rot90", "the volume");
  detail::check_spatial_axis(axes[0], "rot90", "axes[0]");
  detail::check_spatial_axis(axes[1], "rot90", "axes[1]");
  VOXGRAD_CHECK(axes[0] != axes[1], "rot90: the two axes must differ, but both are {}", axes[0]);
  const auto a = static_cast<std::size_t>(axes[0]), b = static_cast<std::size_t>(axes[1]);
  Index3 src = {0, 1, 2};
  std::array<bool, 3> rev{};
  switch (((k % 4) + 4) % 4) {
    case 0: break;
    case 1:  // out[i, j] = in[j, n_b - 1 - i]
      src[a] = axes[1];
      src[b] = axes[0];
      rev[a] = true;
      break;
    case 2:  // out[i, j] = in[n_a - 1 - i, n_b - 1 - j]
      rev[a] = rev[b] = true;
      break;
    case 3:  // out[i, j] = in[n_a - 1 - j, i]
      src[a] = axes[1];
      src[b] = axes[0];
      rev[b] = true;
      break;
  }
  return remap(volume, src, rev, "rot90");
}

Tensor crop(const Tensor& volume, Size3 start, Size3 size) {
  detail::check_volume(volume, "crop", "the volume");
  const Index3 n = detail::spatial_sizes(volume);
  for (std::size_t j = 0; j < 3; ++j) {
    VOXGRAD_CHECK(size[j] >= 1 && start[j] >= 0 && start[j] + size[j] <= n[j],
                  "crop: the box of size {} at {} does not fit in the volume's spatial size {}", size, start, n);
  }
  Tensor view = volume;
  for (std::size_t j = 0; j < 3; ++j) view = view.narrow(static_cast<std::int64_t>(j) + 1, start[j], size[j]);
  return view.contiguous();  // shares the volume's storage when the box is all of it (transforms never write)
}

Transform rand_flip(RandFlipOptions options) {
  VOXGRAD_CHECK(options.prob() >= 0 && options.prob() <= 1, "rand_flip: prob must be in [0, 1], but got {}",
                options.prob());
  detail::flip_axes(options.axes(), "rand_flip");
  return [options](Example example, Generator& rng) {
    std::vector<std::int64_t> axes;
    for (const std::int64_t axis : options.axes()) {
      if (rng.next_double() < options.prob()) axes.push_back(axis);
    }
    if (axes.empty()) return example;
    for (const std::string& key : options.keys()) example.set(key, flip(example.at(key), axes));
    return example;
  };
}

Transform rand_rotate90(RandRotate90Options options) {
  VOXGRAD_CHECK(options.prob() >= 0 && options.prob() <= 1, "rand_rotate90: prob must be in [0, 1], but got {}",
                options.prob());
  VOXGRAD_CHECK(options.max_k() >= 1, "rand_rotate90: max_k must be at least 1, but got {}", options.max_k());
  return [options](Example example, Generator& rng) {
    // Both draws are made whatever the outcome, so later transforms see the same stream either way.
    const bool apply = rng.next_double() < options.prob();
    const auto k = 1 + static_cast<std::int64_t>(rng.next_double() * static_cast<double>(options.max_k()));
    if (!apply) return example;
    for (const std::string& key : options.keys()) example.set(key, rot90(example.at(key), k, options.axes()));
    return example;
  };
}

}  // namespace voxgrad::data
