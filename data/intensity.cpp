#include "voxgrad/data/intensity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <variant>
#include <vector>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/data/detail/volume.h"

namespace voxgrad::data {

namespace {

// out = f(channel, x) elementwise over a contiguous copy of the volume, in double, rounded to `out_dtype`.
template <typename F>
Tensor map_voxels(const Tensor& volume, const char* op, F f, DType out_dtype) {
  const Tensor in = volume.contiguous();
  Tensor out = empty(in.sizes(), out_dtype);
  const std::int64_t channels = in.size(0), per_channel = in.numel() / std::max<std::int64_t>(1, channels);
  voxgrad::detail::dispatch_floating(in.dtype(), op, [&]<typename T>() {
    voxgrad::detail::dispatch_floating(out_dtype, op, [&]<typename U>() {
      const T* x = in.data_ptr<T>();
      U* y = out.data_ptr<U>();
      for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t i = c * per_channel; i < (c + 1) * per_channel; ++i) {
          y[i] = static_cast<U>(f(c, static_cast<double>(x[i])));
        }
      }
    });
  });
  return out;
}

template <typename F>
Tensor map_voxels(const Tensor& volume, const char* op, F f) {
  return map_voxels(volume, op, f, volume.dtype());
}

// The values of a tensor as doubles.
std::vector<double> values_of(const Tensor& t) {
  const Tensor c = t.to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

void check_prob(double prob, const char* op) {
  VOXGRAD_CHECK(prob >= 0 && prob <= 1, "{}: prob must be in [0, 1], but got {}", op, prob);
}

// A transform that, with probability `prob`, replaces `key` by f(volume, draw), draw uniform in [-1, 1).
// Both draws happen whatever the outcome, so the stream after it does not depend on the coin.
template <typename F>
Transform random_on_key(std::string key, double prob, F f) {
  return [key = std::move(key), prob, f](Example example, Generator& rng) {
    const bool apply = rng.next_double() < prob;
    const double u = 2 * rng.next_double() - 1;
    if (apply) example.set(key, f(example.at(key), u, rng));
    return example;
  };
}

}  // namespace

double percentile(const Tensor& t, double q) {
  VOXGRAD_CHECK(t.defined() && t.numel() > 0, "percentile: the tensor is undefined or empty");
  VOXGRAD_CHECK(q >= 0 && q <= 100, "percentile: q must be in [0, 100], but got {}", q);
  std::vector<double> v = values_of(t);
  // NaN has no rank (and would break the ordering nth_element needs): numpy's percentile gives NaN.
  if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); }))
    return std::numeric_limits<double>::quiet_NaN();
  const double pos = q / 100 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

namespace {

// A subtrahend or divisor as one value per statistics group (empty: from the data), checked against
// the volume's channels.
std::vector<double> group_values(const IntensityValues& given, const char* what, bool channel_wise,
                                 std::int64_t channels, std::size_t groups) {
  if (const double* scalar = std::get_if<double>(&given)) return std::vector<double>(groups, *scalar);
  const auto* per_channel = std::get_if<std::vector<double>>(&given);
  if (per_channel == nullptr) return {};
  VOXGRAD_CHECK(channel_wise, "normalize_intensity: {} {} has one value per channel, which needs channel_wise(true)",
                what, *per_channel);
  VOXGRAD_CHECK(static_cast<std::int64_t>(per_channel->size()) == channels,
                "normalize_intensity: {} {} must have one value per channel, but the volume has {} channels", what,
                *per_channel, channels);
  return *per_channel;
}

}  // namespace

Tensor normalize_intensity(const Tensor& volume, const NormalizeIntensityOptions& options) {
  const char* op = "normalize_intensity";
  detail::check_volume(volume, op, "the volume");
  const DType out_dtype = options.dtype().value_or(volume.dtype());
  VOXGRAD_CHECK(out_dtype == kFloat32 || out_dtype == kFloat64, "{}: dtype must be float32 or float64, but got {}", op,
                dtype_name(out_dtype));
  const bool nonzero = options.nonzero(), channel_wise = options.channel_wise();
  const std::int64_t channels = volume.size(0);
  const std::size_t groups = channel_wise ? static_cast<std::size_t>(channels) : 1;
  const std::vector<double> subtrahend =
      group_values(options.subtrahend(), "subtrahend", channel_wise, channels, groups);
  const std::vector<double> divisor = group_values(options.divisor(), "divisor", channel_wise, channels, groups);
  const std::vector<double> v = values_of(volume);
  const std::size_t per_group = v.size() / std::max<std::size_t>(1, groups);
  // Per group: x -> (x - shift) * scale on the selected voxels; an unselected group keeps shift 0, scale 1.
  // A divisor below about 5.6e-309 has no finite reciprocal: such a group is divided by it instead
  // (x = shift then gives 0, not 0 * inf, as a float64 division would).
  std::vector<double> shift(groups, 0.0), scale(groups, 1.0), tiny_divisor(groups, 0.0);
  for (std::size_t g = 0; g < groups; ++g) {
    double sum = 0, count = 0;
    for (std::size_t i = g * per_group; i < (g + 1) * per_group; ++i) {
      if (nonzero && v[i] == 0) continue;
      sum += v[i];
      count += 1;
    }
    if (count == 0) continue;  // nothing selected: the group stays as it is
    const double mean = sum / count;
    shift[g] = subtrahend.empty() ? mean : subtrahend[g];
    double sd = 0;
    if (divisor.empty()) {
      double ss = 0;  // about the group's own mean, whatever the subtrahend (numpy's std)
      for (std::size_t i = g * per_group; i < (g + 1) * per_group; ++i) {
        if (nonzero && v[i] == 0) continue;
        ss += (v[i] - mean) * (v[i] - mean);
      }
      sd = std::sqrt(ss / count);
    } else {
      sd = divisor[g];
    }
    scale[g] = sd != 0 ? 1 / sd : 1.0;
    if (!std::isfinite(scale[g])) tiny_divisor[g] = sd;
  }
  return map_voxels(
      volume, op,
      [&](std::int64_t c, double x) {
        if (nonzero && x == 0) return x;
        const std::size_t g = channel_wise ? static_cast<std::size_t>(c) : 0;
        return tiny_divisor[g] != 0 ? (x - shift[g]) / tiny_divisor[g] : (x - shift[g]) * scale[g];
      },
      out_dtype);
}

Tensor normalize_intensity(const Tensor& volume, bool nonzero) {
  return normalize_intensity(volume, NormalizeIntensityOptions().nonzero(nonzero));
}

Tensor scale_intensity_range_percentiles(const Tensor& volume, const ScaleIntensityRangePercentilesOptions& o) {
  const char* op = "scale_intensity_range_percentiles";
  detail::check_volume(volume, op, "the volume");
  VOXGRAD_CHECK(o.lower() >= 0 && o.lower() <= o.upper() && o.upper() <= 100,
                "{}: expected 0 <= lower <= upper <= 100, but got lower {} and upper {}", op, o.lower(), o.upper());
  const double a_min = percentile(volume, o.lower()), a_max = percentile(volume, o.upper());
  VOXGRAD_CHECK(!std::isnan(a_min) && !std::isnan(a_max), "{}: the volume holds NaN (shape {})", op,
                shape_str(volume.sizes()));
  const double lo = std::min(o.b_min(), o.b_max()), hi = std::max(o.b_min(), o.b_max());
  return map_voxels(volume, op, [&](std::int64_t, double x) {
    const double y =
        a_max > a_min ? (x - a_min) / (a_max - a_min) * (o.b_max() - o.b_min()) + o.b_min() : x - a_min + o.b_min();
    return o.clip() ? std::clamp(y, lo, hi) : y;
  });
}

Tensor scale_intensity(const Tensor& volume, double factor) {
  detail::check_volume(volume, "scale_intensity", "the volume");
  return map_voxels(volume, "scale_intensity", [&](std::int64_t, double x) { return x * (1 + factor); });
}

Tensor shift_intensity(const Tensor& volume, double offset) {
  detail::check_volume(volume, "shift_intensity", "the volume");
  return map_voxels(volume, "shift_intensity", [&](std::int64_t, double x) { return x + offset; });
}

Transform normalize_intensity_transform(NormalizeIntensityOptions options, std::string key) {
  return [key = std::move(key), options = std::move(options)](Example example, Generator&) {
    example.set(key, normalize_intensity(example.at(key), options));
    return example;
  };
}

Transform normalize_intensity_transform(std::string key, bool nonzero) {
  return normalize_intensity_transform(NormalizeIntensityOptions().nonzero(nonzero), std::move(key));
}

Transform scale_intensity_range_percentiles_transform(ScaleIntensityRangePercentilesOptions options, std::string key) {
  return [key = std::move(key), options](Example example, Generator&) {
    example.set(key, scale_intensity_range_percentiles(example.at(key), options));
    return example;
  };
}

Transform rand_scale_intensity(double factor, double prob, std::string key) {
  check_prob(prob, "rand_scale_intensity");
  VOXGRAD_CHECK(factor >= 0, "rand_scale_intensity: factor must be non-negative, but got {}", factor);
  return random_on_key(std::move(key), prob,
                       [factor](const Tensor& v, double u, Generator&) { return scale_intensity(v, u * factor); });
}

Transform rand_shift_intensity(double offset, double prob, std::string key) {
  check_prob(prob, "rand_shift_intensity");
  VOXGRAD_CHECK(offset >= 0, "rand_shift_intensity: offset must be non-negative, but got {}", offset);
  return random_on_key(std::move(key), prob,
                       [offset](const Tensor& v, double u, Generator&) { return shift_intensity(v, u * offset); });
}

Transform rand_gaussian_noise(double std, double mean, double prob, std::string key, bool sample_std) {
  check_prob(prob, "rand_gaussian_noise");
  VOXGRAD_CHECK(std >= 0, "rand_gaussian_noise: std must be non-negative, but got {}", std);
  return random_on_key(std::move(key), prob, [std, mean, sample_std](const Tensor& v, double u, Generator& rng) {
    detail::check_volume(v, "rand_gaussian_noise", "the volume");
    // MONAI's R.uniform(0, std): the call's u in [-1, 1) taken to [0, std).
    const double s = sample_std ? std * (u + 1) / 2 : std;
    // Voxels draw in memory order of the contiguous volume: the noise is a function of the stream only.
    return map_voxels(v, "rand_gaussian_noise",
                      [&](std::int64_t, double x) { return x + mean + s * rng.next_normal(); });
  });
}

}  // namespace voxgrad::data
