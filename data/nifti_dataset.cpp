#include "voxgrad/data/nifti_dataset.h"

#include <cmath>
#include <filesystem>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/io/nifti.h"

namespace voxgrad::data {

namespace {

io::Volume read_named(const std::string& path, std::int64_t index, const char* what) {
  VOXGRAD_CHECK(std::filesystem::exists(path), "NiftiPairDataset: sample {}: the {} file '{}' does not exist", index,
                what, path);
  try {
    return io::read_nifti(path);
  } catch (const Error& e) {
    throw Error(fmt::format("NiftiPairDataset: sample {}: {}", index, e.what()));
  }
}

Tensor affine_tensor(const io::Affine& a) {
  Tensor t = empty({4, 4}, kFloat64);
  double* p = t.data_ptr<double>();
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) p[r * 4 + c] = a[r][c];
  }
  return t;
}

}  // namespace

NiftiPairDataset::NiftiPairDataset(std::vector<NiftiPair> pairs, NiftiPairDatasetOptions options)
    : pairs_(std::move(pairs)), options_(options) {
  VOXGRAD_CHECK(options_.affine_tolerance() >= 0, "NiftiPairDataset: affine_tolerance must be non-negative, but got {}",
                options_.affine_tolerance());
}

Example NiftiPairDataset::get(std::int64_t index, Generator& /*rng*/) const {
  check_index(index, "NiftiPairDataset::get");
  const NiftiPair& pair = pairs_[static_cast<std::size_t>(index)];
  const io::Volume image = read_named(pair.image, index, "image");
  const io::Volume label = read_named(pair.label, index, "label");
  const Shape is = image.data.sizes(), ls = label.data.sizes();
  VOXGRAD_CHECK(Shape(is.begin() + 1, is.end()) == Shape(ls.begin() + 1, ls.end()),
                "NiftiPairDataset: sample {}: image '{}' {} and label '{}' {} have different spatial shapes", index,
                pair.image, shape_str(is), pair.label, shape_str(ls));
  double worst = 0;
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) worst = std::max(worst, std::abs(image.affine[r][c] - label.affine[r][c]));
  }
  VOXGRAD_CHECK(worst <= options_.affine_tolerance(),
                "NiftiPairDataset: sample {}: the affines of image '{}' and label '{}' differ by up to {} (tolerance "
                "{}): image {}, label {}",
                index, pair.image, pair.label, worst, options_.affine_tolerance(), image.affine, label.affine);
  return {{"image", image.data},
          {"label", label.data},
          {"affine", affine_tensor(image.affine)},
          {"spacing", tensor({image.spacing[0], image.spacing[1], image.spacing[2]}, kFloat64)}};
}

}  // namespace voxgrad::data
