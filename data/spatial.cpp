#include "voxgrad/data/spatial.h"

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/data/detail/affine.h"
#include "voxgrad/data/detail/volume.h"

namespace voxgrad::data {

namespace {

using detail::Index3;

// A move of the spatial axes: out[c, o0, o1, o2] = in[c, i] with i[src[j]] = rev[j] ? n[src[j]] - 1 - o_j
// : o_j. Every flip, transpose and 90° rotation of the spatial axes is one such gather.
struct Move {
  Index3 src = {0, 1, 2};
  std::array<bool, 3> rev{};
};

// The move of flip(volume, axes).
Move flip_move(const std::vector<std::int64_t>& axes, const char* op) {
  return {{0, 1, 2}, detail::flip_axes(axes, op)};
}

// The move of rot90(volume, k, axes) (see the header for the index maps).
Move rot90_move(std::int64_t k, Axes2 axes, const char* op) {
  detail::check_spatial_axis(axes[0], op, "axes[0]");
  detail::check_spatial_axis(axes[1], op, "axes[1]");
  VOXGRAD_CHECK(axes[0] != axes[1], "{}: the two axes must differ, but both are {}", op, axes[0]);
  const auto a = static_cast<std::size_t>(axes[0]), b = static_cast<std::size_t>(axes[1]);
  Move m;
  switch (((k % 4) + 4) % 4) {
    case 0: break;
    case 1:  // out[i, j] = in[j, n_b - 1 - i]
      m.src[a] = axes[1];
      m.src[b] = axes[0];
      m.rev[a] = true;
      break;
    case 2:  // out[i, j] = in[n_a - 1 - i, n_b - 1 - j]
      m.rev[a] = m.rev[b] = true;
      break;
    case 3:  // out[i, j] = in[n_a - 1 - j, i]
      m.src[a] = axes[1];
      m.src[b] = axes[0];
      m.rev[b] = true;
      break;
  }
  return m;
}

// The index map of `move` on an input of spatial size n: output axis j reads input axis src[j] at
// x = n[src[j]] - 1 - o (reversed) or x = o.
detail::SpatialMap index_map(const Move& move, Index3 n) {
  detail::SpatialMap map{};
  for (std::size_t j = 0; j < 3; ++j) {
    const std::int64_t from = move.src[j];
    map[j] = move.rev[j] ? detail::AxisMap{from, -1.0, static_cast<double>(n[static_cast<std::size_t>(from)] - 1)}
                         : detail::AxisMap{from, 1.0, 0.0};
  }
  return map;
}

// Applies `move`; reads any strides.
Tensor remap(const Tensor& volume, const Move& move, const char* op) {
  const Index3& src = move.src;
  const std::array<bool, 3>& rev = move.rev;
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
  return remap(volume, flip_move(axes, "flip"), "flip");
}

Tensor rot90(const Tensor& volume, std::int64_t k, Axes2 axes) {
  detail::check_volume(volume, "rot90", "the volume");
  return remap(volume, rot90_move(k, axes, "rot90"), "rot90");
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

namespace {

// The example's affine under `affine_key` (detail::find_affine: float64, or undefined without one) and
// the checks of a random move's keys, made before its draws so that they do not depend on them: each
// key a volume and, with an affine (the keys' one grid), all of one spatial size. The affine is stored
// back as float64, moved or not, so that its dtype does not depend on the draws either.
Tensor checked_keys(Example& example, const std::vector<std::string>& keys, const std::string& affine_key,
                    const char* op) {
  const Tensor affine = detail::find_affine(example, affine_key, op);
  for (const std::string& key : keys) {
    detail::check_volume(example.at(key), op, key.c_str());
    const Tensor &t = example.at(key), &first = example.at(keys[0]);
    VOXGRAD_CHECK(!affine.defined() || detail::spatial_sizes(t) == detail::spatial_sizes(first),
                  "{}: '{}' {} is not on the grid of '{}' {}, which the affine '{}' describes", op, key,
                  shape_str(t.sizes()), keys[0], shape_str(first.sizes()), affine_key);
  }
  if (affine.defined()) example.set(affine_key, affine);
  return affine;
}

// Applies `move` to every key of an example checked by checked_keys and, with its `affine` (defined
// when the example holds one), moves the affine with the voxels (affine · M, detail/affine.h).
Example apply_move(Example example, const Move& move, const std::vector<std::string>& keys,
                   const std::string& affine_key, const Tensor& affine, const char* op) {
  if (affine.defined() && !keys.empty()) {
    example.set(affine_key, detail::moved_affine(affine, index_map(move, detail::spatial_sizes(example.at(keys[0])))));
  }
  for (const std::string& key : keys) example.set(key, remap(example.at(key), move, op));
  return example;
}

}  // namespace

Transform rand_flip(RandFlipOptions options) {
  VOXGRAD_CHECK(options.prob() >= 0 && options.prob() <= 1, "rand_flip: prob must be in [0, 1], but got {}",
                options.prob());
  detail::flip_axes(options.axes(), "rand_flip");
  detail::check_unique_keys(options.keys(), "rand_flip");
  return [options](Example example, Generator& rng) {
    const Tensor affine = checked_keys(example, options.keys(), options.affine_key(), "rand_flip");
    std::vector<std::int64_t> axes;
    for (const std::int64_t axis : options.axes()) {
      if (rng.next_double() < options.prob()) axes.push_back(axis);
    }
    if (axes.empty()) return example;
    return apply_move(std::move(example), flip_move(axes, "rand_flip"), options.keys(), options.affine_key(), affine,
                      "rand_flip");
  };
}

Transform rand_rotate90(RandRotate90Options options) {
  VOXGRAD_CHECK(options.prob() >= 0 && options.prob() <= 1, "rand_rotate90: prob must be in [0, 1], but got {}",
                options.prob());
  VOXGRAD_CHECK(options.max_k() >= 1, "rand_rotate90: max_k must be at least 1, but got {}", options.max_k());
  rot90_move(1, options.axes(), "rand_rotate90");  // checks the axes once, up front
  detail::check_unique_keys(options.keys(), "rand_rotate90");
  return [options](Example example, Generator& rng) {
    const Tensor affine = checked_keys(example, options.keys(), options.affine_key(), "rand_rotate90");
    // Both draws are made whatever the outcome, so later transforms see the same stream either way.
    const bool apply = rng.next_double() < options.prob();
    const auto k = 1 + static_cast<std::int64_t>(rng.next_double() * static_cast<double>(options.max_k()));
    if (!apply) return example;
    return apply_move(std::move(example), rot90_move(k, options.axes(), "rand_rotate90"), options.keys(),
                      options.affine_key(), affine, "rand_rotate90");
  };
}

}  // namespace voxgrad::data
