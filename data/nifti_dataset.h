#pragma once
// A dataset of NIfTI image/label file pairs (MONAI's LoadImaged on {"image", "label"} dictionaries),
// read with io/nifti.h.

#include <string>
#include <vector>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// One sample's files.
struct NiftiPair {
  std::string image;
  std::string label;
};

/// Options of NiftiPairDataset.
struct NiftiPairDatasetOptions {
  /// Largest difference allowed between the image's and the label's affine entries (and spacings).
  VOXGRAD_ARG(double, affine_tolerance) = 1e-4;
};

/// Example i: "image" and "label" as float32 (C, D, H, W) tensors (io/nifti.h's axes: D, H, W = the
/// file's k, j, i), "affine" (float64 (4, 4), the image's, NIfTI convention: world = affine · (i, j, k, 1))
/// and "spacing" (float64 (3,), D, H, W order). Deterministic: put it under a CacheDataset so each pair
/// is decoded once. Errors name the sample and the file: a missing or unreadable file, image and label
/// of different spatial shapes, or affines that differ by more than the tolerance.
class NiftiPairDataset : public Dataset {
 public:
  explicit NiftiPairDataset(std::vector<NiftiPair> pairs, NiftiPairDatasetOptions options = {});
  std::int64_t size() const override { return static_cast<std::int64_t>(pairs_.size()); }
  Example get(std::int64_t index, Generator& rng) const override;
  using Dataset::get;

 private:
  std::vector<NiftiPair> pairs_;
  NiftiPairDatasetOptions options_;
};

}  // namespace voxgrad::data
