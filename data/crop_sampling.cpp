#include "voxgrad/data/crop_sampling.h"

#include <algorithm>

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/data/detail/volume.h"
#include "voxgrad/data/spatial.h"

namespace voxgrad::data {

namespace {

using detail::Index3;

// 1 where any channel of the label is nonzero, as bytes in (D, H, W) order.
std::vector<unsigned char> foreground_of(const Tensor& label) {
  const Tensor l = label.to(kFloat64).contiguous();
  const double* p = l.data_ptr<double>();
  const std::int64_t channels = l.size(0), voxels = l.numel() / std::max<std::int64_t>(1, channels);
  std::vector<unsigned char> fg(static_cast<std::size_t>(voxels), 0);
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t i = 0; i < voxels; ++i) fg[static_cast<std::size_t>(i)] |= p[c * voxels + i] != 0 ? 1 : 0;
  }
  return fg;
}

}  // namespace

Size3 pos_neg_crop_start(const Tensor& label, const RandCropByPosNegLabelOptions& options, Generator& rng) {
  const char* op = "rand_crop_by_pos_neg_label";
  detail::check_volume(label, op, "the label");
  const Index3 n = detail::spatial_sizes(label), size = options.spatial_size();
  for (std::size_t j = 0; j < 3; ++j) {
    VOXGRAD_CHECK(size[j] >= 1 && size[j] <= n[j], "{}: the patch size {} is larger than the volume's spatial size {}",
                  op, size, n);
  }
  VOXGRAD_CHECK(options.pos() >= 0 && options.neg() >= 0 && options.pos() + options.neg() > 0,
                "{}: pos and neg must be non-negative with a positive sum, but got pos {} and neg {}", op,
                options.pos(), options.neg());
  const std::vector<unsigned char> fg = foreground_of(label);
  const auto n_fg = static_cast<std::int64_t>(std::count(fg.begin(), fg.end(), 1));
  const auto n_bg = static_cast<std::int64_t>(fg.size()) - n_fg;
  const bool want_fg = rng.next_double() * (options.pos() + options.neg()) < options.pos();
  const double u = rng.next_double();
  const bool use_fg = n_bg == 0 || (want_fg && n_fg > 0);
  const unsigned char kind = use_fg ? 1 : 0;
  const std::int64_t count = use_fg ? n_fg : n_bg;
  const auto k = std::min(count - 1, static_cast<std::int64_t>(u * static_cast<double>(count)));
  // The k-th voxel of the chosen kind, in memory order.
  std::int64_t flat = 0;
  for (std::int64_t seen = -1;; ++flat) {
    if (fg[static_cast<std::size_t>(flat)] == kind && ++seen == k) break;
  }
  const Index3 centre = {flat / (n[1] * n[2]), (flat / n[2]) % n[1], flat % n[2]};
  Index3 start{};
  for (std::size_t j = 0; j < 3; ++j) start[j] = std::clamp(centre[j] - size[j] / 2, std::int64_t{0}, n[j] - size[j]);
  return start;
}

Transform rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions options) {
  for (const std::int64_t s : options.spatial_size()) {
    VOXGRAD_CHECK(s >= 1, "rand_crop_by_pos_neg_label: spatial_size must be positive, but got {}",
                  options.spatial_size());
  }
  return [options](Example example, Generator& rng) {
    const Tensor& label = example.at(options.label_key());
    const Index3 start = pos_neg_crop_start(label, options, rng);
    for (const std::string& key : options.keys()) {
      const Tensor& t = example.at(key);
      detail::check_volume(t, "rand_crop_by_pos_neg_label", key.c_str());
      VOXGRAD_CHECK(detail::spatial_sizes(t) == detail::spatial_sizes(label),
                    "rand_crop_by_pos_neg_label: '{}' {} is not on the grid of '{}' {}", key, shape_str(t.sizes()),
                    options.label_key(), shape_str(label.sizes()));
      example.set(key, crop(t, start, options.spatial_size()));
    }
    return example;
  };
}

}  // namespace voxgrad::data
