#include "voxgrad/data/spacing.h"

#include <cmath>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/data/detail/affine.h"
#include "voxgrad/data/detail/volume.h"

namespace voxgrad::data {

namespace {

// Per output index along one axis: the two input indices and the weight of the second.
struct AxisTaps {
  std::vector<std::int64_t> i0, i1;
  std::vector<double> w;
};

AxisTaps taps(std::int64_t n, std::int64_t m, double ratio, Interpolation mode) {
  AxisTaps t;
  for (std::int64_t j = 0; j < m; ++j) {
    const double x = std::min(static_cast<double>(j) * ratio, static_cast<double>(n - 1));
    if (mode == Interpolation::Nearest) {
      const auto i = std::min(n - 1, static_cast<std::int64_t>(std::floor(x + 0.5)));
      t.i0.push_back(i);
      t.i1.push_back(i);
      t.w.push_back(0.0);
    } else {
      const auto i = static_cast<std::int64_t>(std::floor(x));
      t.i0.push_back(i);
      t.i1.push_back(std::min(i + 1, n - 1));
      t.w.push_back(x - static_cast<double>(i));
    }
  }
  return t;
}

void check_spacings(Spacing3 spacing, Spacing3 target, const char* op) {
  for (std::size_t j = 0; j < 3; ++j) {
    VOXGRAD_CHECK(spacing[j] > 0 && target[j] > 0 && std::isfinite(spacing[j]) && std::isfinite(target[j]),
                  "{}: spacings must be positive and finite, but got spacing {} and target {}", op, spacing, target);
  }
}

}  // namespace

Size3 resampled_size(Size3 size, Spacing3 spacing, Spacing3 target) {
  const char* op = "resampled_size";
  check_spacings(spacing, target, op);
  Size3 m{};
  for (std::size_t j = 0; j < 3; ++j) {
    VOXGRAD_CHECK(size[j] >= 1, "{}: sizes must be positive, but got {}", op, size);
    // MONAI's compute_shape_offset (scale_extent=False): np.round, half to even (the default rounding mode).
    const double extent = static_cast<double>(size[j] - 1) * spacing[j] * (1.0 / target[j]) + 1;
    VOXGRAD_CHECK(extent < 0x1p31, "{}: {} voxels of spacing {} resampled to {} would give {} voxels along axis {}", op,
                  size[j], spacing[j], target[j], extent, j);
    m[j] = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::nearbyint(extent)));
  }
  return m;
}

Tensor resample_to_spacing(const Tensor& volume, Spacing3 spacing, Spacing3 target, Interpolation mode) {
  detail::check_volume(volume, "resample_to_spacing", "the volume");
  return resample_to_grid(volume, spacing, target, resampled_size(detail::spatial_sizes(volume), spacing, target),
                          mode);
}

Tensor resample_to_grid(const Tensor& volume, Spacing3 spacing, Spacing3 target, Size3 m, Interpolation mode) {
  const char* op = "resample_to_grid";
  detail::check_volume(volume, op, "the volume");
  check_spacings(spacing, target, op);
  VOXGRAD_CHECK(m[0] >= 1 && m[1] >= 1 && m[2] >= 1, "{}: the output size must be positive, but got {}", op, m);
  const detail::Index3 n = detail::spatial_sizes(volume);
  VOXGRAD_CHECK(n[0] >= 1 && n[1] >= 1 && n[2] >= 1, "{}: the volume has no voxels (shape {})", op,
                shape_str(volume.sizes()));
  const AxisTaps a = taps(n[0], m[0], target[0] / spacing[0], mode);
  const AxisTaps b = taps(n[1], m[1], target[1] / spacing[1], mode);
  const AxisTaps c = taps(n[2], m[2], target[2] / spacing[2], mode);
  const Tensor in = volume.contiguous();
  const std::int64_t channels = in.size(0);
  Tensor out = empty({channels, m[0], m[1], m[2]}, in.dtype());
  voxgrad::detail::dispatch_floating(in.dtype(), op, [&]<typename T>() {
    const T* x = in.data_ptr<T>();
    T* y = out.data_ptr<T>();
    for (std::int64_t ch = 0; ch < channels; ++ch) {
      const T* v = x + ch * n[0] * n[1] * n[2];
      auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
        return static_cast<double>(v[(i * n[1] + j) * n[2] + k]);
      };
      for (std::int64_t p = 0; p < m[0]; ++p) {
        for (std::int64_t q = 0; q < m[1]; ++q) {
          for (std::int64_t r = 0; r < m[2]; ++r) {
            const std::int64_t i0 = a.i0[p], i1 = a.i1[p], j0 = b.i0[q], j1 = b.i1[q], k0 = c.i0[r], k1 = c.i1[r];
            const double wa = a.w[p], wb = b.w[q], wc = c.w[r];
            const double lo = (1 - wb) * ((1 - wc) * at(i0, j0, k0) + wc * at(i0, j0, k1)) +
                              wb * ((1 - wc) * at(i0, j1, k0) + wc * at(i0, j1, k1));
            const double hi = (1 - wb) * ((1 - wc) * at(i1, j0, k0) + wc * at(i1, j0, k1)) +
                              wb * ((1 - wc) * at(i1, j1, k0) + wc * at(i1, j1, k1));
            *y++ = static_cast<T>((1 - wa) * lo + wa * hi);
          }
        }
      }
    }
  });
  return out;
}

Transform spacing(SpacingOptions options) {
  check_spacings({1, 1, 1}, options.target(), "spacing");
  return [options](Example example, Generator&) {
    const Tensor s = example.at(options.spacing_key()).to(kFloat64).contiguous();
    VOXGRAD_CHECK(s.numel() == 3, "spacing: '{}' must hold 3 values (D, H, W), but has shape {}", options.spacing_key(),
                  shape_str(s.sizes()));
    const Spacing3 from = {s.data_ptr<double>()[0], s.data_ptr<double>()[1], s.data_ptr<double>()[2]};
    const Tensor affine = detail::find_affine(example, options.affine_key(), "spacing");
    // Every key is checked against the first before anything is resampled.
    std::vector<std::pair<std::string, Interpolation>> keys;
    for (const std::string& key : options.linear_keys()) keys.emplace_back(key, Interpolation::Linear);
    for (const std::string& key : options.nearest_keys()) keys.emplace_back(key, Interpolation::Nearest);
    for (const auto& [key, mode] : keys) {
      detail::check_volume(example.at(key), "spacing", key.c_str());
      detail::check_same_grid(example.at(keys[0].first), example.at(key), "spacing");
    }
    for (const auto& [key, mode] : keys) {
      example.set(key, resample_to_spacing(example.at(key), from, options.target(), mode));
    }
    example.set(options.spacing_key(),
                tensor({options.target()[0], options.target()[1], options.target()[2]}, kFloat64));
    if (affine.defined()) {
      // Output voxel o sits at input position x = o · target / spacing per axis (voxel 0 stays).
      detail::SpatialMap map = detail::identity_map();
      for (std::size_t j = 0; j < 3; ++j) map[j].scale = options.target()[j] / from[j];
      example.set(options.affine_key(), detail::moved_affine(affine, map));
    }
    return example;
  };
}

}  // namespace voxgrad::data
