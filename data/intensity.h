#pragma once
// Intensity transforms of (C, D, H, W) volumes (MONAI NormalizeIntensity,
// ScaleIntensityRangePercentiles, RandScaleIntensity, RandShiftIntensity, RandGaussianNoise), as
// tensor functions and as dictionary transforms of one key (the image; labels are left alone).

#include <string>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// The q-th percentile (0 <= q <= 100) of the elements of `t`, interpolating linearly between the two
/// nearest ranks as numpy.percentile's default: position q / 100 * (n - 1) in the sorted values; NaN
/// when any element is NaN, as numpy.
double percentile(const Tensor& t, double q);

/// Z-score normalisation per channel: (x - mean) / std over the channel's voxels, or over its nonzero
/// voxels only when `nonzero` (the others stay 0: MONAI NormalizeIntensity(nonzero=True,
/// channel_wise=True)). std is the population one (numpy's, as MONAI); a constant channel (std 0) is
/// only shifted, as MONAI does. Always per channel (MONAI's default, channel_wise=False, takes the
/// statistics over all channels together: the same for one channel), and in the volume's dtype
/// (MONAI's default gives float32).
Tensor normalize_intensity(const Tensor& volume, bool nonzero = false);

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
