#pragma once
// Procedural training data for the denoiser: volumes of random spheres, boxes and ellipsoids with
// random intensities, plus Gaussian noise. Volume i of a given seed is always the same, so no data
// set needs downloading and a run can be reproduced exactly.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

#include <voxgrad/voxgrad.h>

namespace unet3d {

/// A clean volume and its noisy copy, each (1, S, S, S) float32.
struct Sample {
  voxgrad::Tensor clean;
  voxgrad::Tensor noisy;
};

/// Draws volume `index` of the stream `seed`: 3–7 shapes on a dark background, noise of standard
/// deviation `noise_std`.
inline Sample make_sample(std::uint64_t seed, std::uint64_t index, std::int64_t size, double noise_std) {
  voxgrad::Generator gen(seed * 0x9E3779B97F4A7C15ULL + index);
  const auto n = static_cast<std::size_t>(size * size * size);
  std::vector<float> clean(n, 0.0f), noisy(n);
  const int shapes = 3 + static_cast<int>(gen.next_u64() % 5);
  for (int s = 0; s < shapes; ++s) {
    const int kind = static_cast<int>(gen.next_u64() % 3);  // 0 sphere, 1 box, 2 ellipsoid
    const double intensity = 0.25 + 0.75 * gen.next_double();
    double c[3], r[3];
    for (int a = 0; a < 3; ++a) {
      c[a] = (0.15 + 0.7 * gen.next_double()) * static_cast<double>(size);
      r[a] = (0.08 + 0.17 * gen.next_double()) * static_cast<double>(size);
    }
    if (kind == 0) r[1] = r[2] = r[0];
    // Only voxels with |d[a]| <= 1 along every axis can be inside (d[a]² > 1 otherwise, and so is the
    // sum), so the loops walk the shape's bounding box, widened by a voxel against rounding; the test
    // itself is unchanged, and so is every voxel it sets.
    std::int64_t lo[3], hi[3];
    for (int a = 0; a < 3; ++a) {
      lo[a] = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(c[a] - r[a] - 0.5)) - 1);
      hi[a] = std::min<std::int64_t>(size, static_cast<std::int64_t>(std::ceil(c[a] + r[a] - 0.5)) + 2);
    }
    for (std::int64_t z = lo[0]; z < hi[0]; ++z) {
      for (std::int64_t y = lo[1]; y < hi[1]; ++y) {
        for (std::int64_t x = lo[2]; x < hi[2]; ++x) {
          const double d[3] = {(z + 0.5 - c[0]) / r[0], (y + 0.5 - c[1]) / r[1], (x + 0.5 - c[2]) / r[2]};
          const bool inside = kind == 1 ? std::max({std::abs(d[0]), std::abs(d[1]), std::abs(d[2])}) <= 1.0
                                        : d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= 1.0;
          if (inside) clean[static_cast<std::size_t>((z * size + y) * size + x)] = static_cast<float>(intensity);
        }
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) noisy[i] = clean[i] + static_cast<float>(noise_std * gen.next_normal());
  return {voxgrad::from_blob(clean.data(), {1, size, size, size}),
          voxgrad::from_blob(noisy.data(), {1, size, size, size})};
}

/// Volumes [first, first + count) of the stream stacked into (count, 1, S, S, S) batches. The volumes
/// are drawn on up to voxgrad::get_num_threads() threads at once, each from its own stream, so the
/// batch is the same however many: drawing runs between training steps, while the kernels' threads
/// are idle (a batch of four 32³ volumes took 5–6 ms on one thread).
inline Sample make_batch(std::uint64_t seed, std::uint64_t first, std::int64_t count, std::int64_t size,
                         double noise_std) {
  std::vector<Sample> samples(static_cast<std::size_t>(count));
  const std::int64_t threads =
      std::clamp<std::int64_t>(voxgrad::get_num_threads(), 1, std::max<std::int64_t>(count, 1));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
  auto draw = [&](std::int64_t t) {
    try {
      for (std::int64_t i = t; i < count; i += threads) {
        samples[static_cast<std::size_t>(i)] =
            make_sample(seed, first + static_cast<std::uint64_t>(i), size, noise_std);
      }
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (std::int64_t t = 1; t < threads; ++t) pool.emplace_back(draw, t);
  draw(0);
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  std::vector<voxgrad::Tensor> clean, noisy;
  for (const Sample& s : samples) {
    clean.push_back(s.clean);
    noisy.push_back(s.noisy);
  }
  return {voxgrad::stack(clean), voxgrad::stack(noisy)};
}

/// Peak signal-to-noise ratio in dB for signals in [0, 1]: 10·log10(1 / MSE).
inline double psnr(const voxgrad::Tensor& estimate, const voxgrad::Tensor& clean) {
  const double mse = (estimate - clean).pow(2.0).mean().item<double>();
  return 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
}

}  // namespace unet3d
