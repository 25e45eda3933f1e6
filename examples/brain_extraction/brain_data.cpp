#include "brain_data.h"

#include <cmath>

namespace brain {

using voxgrad::Error;
using voxgrad::Tensor;
namespace data = voxgrad::data;

Split make_split(std::int64_t native_x, double native_spacing, double spacing, std::int64_t patch, double slab_mm) {
  Split s;
  // Voxel 0 is shared by both grids (data/spacing.h): training column c sits at c * spacing mm.
  s.native_slab_start = static_cast<std::int64_t>(std::ceil(slab_mm / native_spacing));
  s.slab_start = static_cast<std::int64_t>(std::ceil(slab_mm / spacing));
  s.train_end = s.slab_start - (patch + 1) / 2;
  s.margin_mm =
      static_cast<double>(s.native_slab_start) * native_spacing - static_cast<double>(s.train_end - 1) * spacing;
  VOXGRAD_CHECK(s.native_slab_start < native_x && s.train_end >= patch,
                "brain extraction: a held-out slab from {} mm leaves training columns [0, {}) at {} mm, fewer than a "
                "patch of {} (or no slab in {} columns); move --slab-mm or shrink --patch",
                slab_mm, s.train_end, spacing, patch, native_x);
  return s;
}

std::shared_ptr<const data::Dataset> preprocessed_pair(const std::string& image, const std::string& mask,
                                                       double spacing, std::size_t cache_bytes) {
  auto pairs = std::make_shared<data::NiftiPairDataset>(std::vector<data::NiftiPair>{{image, mask}});
  const data::Transform preprocess = [spacing](data::Example e, voxgrad::Generator& rng) {
    // Intensities: the 0.5th and 99.5th percentiles to [0, 1]; the mask: brain where nonzero.
    e.set("image_native", data::scale_intensity_range_percentiles(
                              e.at("image"), data::ScaleIntensityRangePercentilesOptions(0.5, 99.5, 0, 1).clip(true)));
    e.set("label_native", e.at("label").ne(0.0));
    e.set("affine_native", e.at("affine"));
    e.set("image", e.at("image_native"));
    e.set("label", e.at("label_native"));
    return data::spacing(data::SpacingOptions({spacing, spacing, spacing}))(std::move(e), rng);
  };
  // Decoded and preprocessed once per run: every patch of every epoch is cut from the cached volume.
  return std::make_shared<data::CacheDataset>(std::make_shared<data::TransformDataset>(pairs, preprocess), cache_bytes);
}

std::shared_ptr<const data::Dataset> training_patches(std::shared_ptr<const data::Dataset> volume, const Split& split,
                                                      std::int64_t patch, std::int64_t patches) {
  const data::Transform training_region = [split](data::Example e, voxgrad::Generator&) {
    data::Example out;
    for (const char* key : {"image", "label"}) out.set(key, e.at(key).narrow(3, 0, split.train_end));
    return out;
  };
  const data::Transform t = data::compose({
      training_region,
      data::rand_crop_by_pos_neg_label(data::RandCropByPosNegLabelOptions({patch, patch, patch}).pos(1).neg(1)),
      // Left-right flips: the training region is the left side and the held-out slab the right, and a
      // convolution is not mirror-invariant (without them the right side's skull-brain borders, which
      // face the other way, are missed).
      data::rand_flip(data::RandFlipOptions().axes({2}).prob(0.5)),
      data::rand_scale_intensity(0.1, 0.5),
      data::rand_shift_intensity(0.1, 0.5),
  });
  return std::make_shared<data::TransformDataset>(std::move(volume), t, patches);
}

}  // namespace brain
