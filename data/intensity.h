#pragma once
// Intensity transforms of (C, D, H, W) volumes (MONAI NormalizeIntensity,
// ScaleIntensityRangePercentiles, RandScaleIntensity, RandShiftIntensity, RandGaussianNoise), as
// tensor functions and as dictionary transforms of one key (the image; labels are left alone).

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// The q-th percentile (0 <= q <= 100) of the elements of `t`, interpolating linearly between the two
/// nearest ranks as numpy.percentile's default: position q / 100 * (n - 1) in the sorted values; NaN
/// when any element is NaN, as numpy.
double percentile(const Tensor& t, double q);

/// A subtrahend or divisor of normalize_intensity: none (taken from the data), one value for every
/// statistics group, or one value per channel (with channel_wise only).
using IntensityValues = std::variant<std::monostate, double, std::vector<double>>;

/// Options of normalize_intensity (MONAI NormalizeIntensity). A statistics group is the whole volume,
/// or each channel when `channel_wise`; in each group the selected voxels (all of them, or the nonzero
/// ones when `nonzero`) become (x - subtrahend) / divisor, with subtrahend the group's mean and divisor
/// its population standard deviation (numpy's, about the group's own mean) unless given. A divisor of
/// 0, computed or given, is taken as 1 (MONAI's rule: a constant group is only shifted, and a given 0
/// does not give inf). A group with no selected voxel (all zero with `nonzero`) is left as it is, as
/// are the voxels that `nonzero` leaves out (zeros, -0 included).
struct NormalizeIntensityOptions {
  /// Subtracted instead of the mean: one value, or (channel_wise only) one per channel. A
  /// one-element per-channel vector must be spelt std::vector<double>{x}; `{x}` picks the scalar.
  NormalizeIntensityOptions& subtrahend(double value) { return set(subtrahend_, value); }
  NormalizeIntensityOptions& subtrahend(std::vector<double> per_channel) {
    return set(subtrahend_, std::move(per_channel));
  }
  const IntensityValues& subtrahend() const noexcept { return subtrahend_; }
  /// Divided by instead of the standard deviation: one value, or (channel_wise only) one per channel.
  NormalizeIntensityOptions& divisor(double value) { return set(divisor_, value); }
  NormalizeIntensityOptions& divisor(std::vector<double> per_channel) { return set(divisor_, std::move(per_channel)); }
  const IntensityValues& divisor() const noexcept { return divisor_; }
  /// Only the nonzero voxels are counted in the statistics and changed; the zeros stay as they are.
  VOXGRAD_ARG(bool, nonzero) = false;
  /// The statistics of each channel on its own; off by default, as MONAI: one mean and one standard
  /// deviation over all channels together.
  VOXGRAD_ARG(bool, channel_wise) = false;
  /// The output dtype (float32 or float64); by default the volume's own. MONAI's default is float32:
  /// voxgrad keeps the input's so that a float64 pipeline is not rounded to float32 unasked (a float32
  /// volume, the usual case, gives float32 either way); `.dtype(kFloat32)` is MONAI's default.
  VOXGRAD_ARG(std::optional<DType>, dtype);

 private:
  template <typename V>
  NormalizeIntensityOptions& set(IntensityValues& slot, V value) {
    slot = std::move(value);
    return *this;
  }
  IntensityValues subtrahend_;
  IntensityValues divisor_;
};

/// Z-score normalisation (MONAI NormalizeIntensity; see NormalizeIntensityOptions). The statistics and
/// (x - subtrahend) * (1 / divisor) are computed in double and rounded once to the output dtype (MONAI
/// computes in float32 whatever the input). Throws when a per-channel subtrahend or divisor has not
/// one value per channel or is given without channel_wise, or when dtype is not float32 or float64.
/// Unlike MONAI, a subtrahend or divisor is never a whole array (MONAI's voxelwise form), and a scalar
/// with channel_wise is used for every channel (MONAI needs a sequence then).
Tensor normalize_intensity(const Tensor& volume, const NormalizeIntensityOptions& options = {});
/// normalize_intensity(volume, NormalizeIntensityOptions().nonzero(nonzero)): statistics over the
/// whole volume (all channels together).
Tensor normalize_intensity(const Tensor& volume, bool nonzero);

/// Options of scale_intensity_range_percentiles: maps the [lower, upper] percentiles of the whole
/// volume linearly onto [b_min, b_max], then clamps to it when `clip` (off by default, as MONAI).
struct ScaleIntensityRangePercentilesOptions {
  ScaleIntensityRangePercentilesOptions(double lower, double upper, double b_min, double b_max)
      : lower_(lower), upper_(upper), b_min_(b_min), b_max_(b_max) {}
  VOXGRAD_ARG(double, lower);
  VOXGRAD_ARG(double, upper);
  VOXGRAD_ARG(double, b_min);
  VOXGRAD_ARG(double, b_max);
  VOXGRAD_ARG(bool, clip) = false;
};

/// Percentile clipping and rescaling (MONAI ScaleIntensityRangePercentiles, relative=False). When both
/// percentiles coincide the volume is shifted by -lower + b_min instead of divided by zero (MONAI's
/// warning case), and still clamped when `clip` (MONAI returns it unclamped); the clamp is to
/// [min(b_min, b_max), max(b_min, b_max)] (MONAI's torch.clamp gives b_max everywhere when b_min >
/// b_max). Throws when the volume holds NaN.
Tensor scale_intensity_range_percentiles(const Tensor& volume, const ScaleIntensityRangePercentilesOptions& options);

/// x * (1 + factor) (MONAI ScaleIntensity with a factor).
Tensor scale_intensity(const Tensor& volume, double factor);
/// x + offset.
Tensor shift_intensity(const Tensor& volume, double offset);

/// Dictionary version of normalize_intensity on `key`.
Transform normalize_intensity_transform(NormalizeIntensityOptions options, std::string key = "image");
/// normalize_intensity_transform(NormalizeIntensityOptions().nonzero(nonzero), key).
Transform normalize_intensity_transform(std::string key = "image", bool nonzero = false);
/// Dictionary version of scale_intensity_range_percentiles on `key`.
Transform scale_intensity_range_percentiles_transform(ScaleIntensityRangePercentilesOptions options,
                                                      std::string key = "image");

/// With probability `prob`, scales `key` by 1 + f, f uniform in [-factor, factor] (MONAI RandScaleIntensityd).
Transform rand_scale_intensity(double factor, double prob = 0.1, std::string key = "image");
/// With probability `prob`, adds o uniform in [-offset, offset] to `key` (MONAI RandShiftIntensityd).
Transform rand_shift_intensity(double offset, double prob = 0.1, std::string key = "image");
/// With probability `prob`, adds Gaussian noise N(mean, s²) to every voxel of `key`, s drawn uniform in
/// [0, std) per call when `sample_std`, else std (MONAI RandGaussianNoised, sample_std=True by default).
Transform rand_gaussian_noise(double std = 0.1, double mean = 0.0, double prob = 0.1, std::string key = "image",
                              bool sample_std = true);

}  // namespace voxgrad::data
