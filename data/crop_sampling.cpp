#include "voxgrad/data/crop_sampling.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/data/detail/affine.h"
#include "voxgrad/data/detail/volume.h"
#include "voxgrad/data/spatial.h"

namespace voxgrad::data {

namespace {

using detail::Index3;

// 1 where the image exceeds `threshold` in at least one channel (MONAI's any(image > threshold,
// axis=0)), compared in the image's dtype as torch does with a Python scalar.
std::vector<unsigned char> above_threshold(const Tensor& image, double threshold, const char* op) {
  const Tensor im = image.contiguous();
  const Index3 n = detail::spatial_sizes(im);
  const std::int64_t channels = im.size(0), voxels = n[0] * n[1] * n[2];  // all 0 without channels
  std::vector<unsigned char> valid(static_cast<std::size_t>(voxels), 0);
  voxgrad::detail::dispatch_floating(im.dtype(), op, [&]<typename T>() {
    const T* p = im.data_ptr<T>();
    const T t = static_cast<T>(threshold);
    for (std::int64_t c = 0; c < channels; ++c) {
      const T* pc = p + c * voxels;
      for (std::int64_t i = 0; i < voxels; ++i) valid[static_cast<std::size_t>(i)] |= pc[i] > t ? 1 : 0;
    }
  });
  return valid;
}

// The voxels (in (D, H, W) order) where the label is nonzero in its one channel or, with several, in
// any channel but the first (a one-hot label's background; MONAI's map_binary_to_indices drops it),
// and the background: the other voxels, only those marked in `valid` when there is one. count(kind)
// gives how many voxels are foreground (kind 1) or background (kind 0), find(kind, k) the k-th of
// them (from 0). Read in the label's own dtype; one channel is read in place, several are reduced to
// one byte per voxel.
template <typename T>
class Foreground {
 public:
  Foreground(const Tensor& label, const std::optional<std::vector<unsigned char>>& valid)
      : p_(label.data_ptr<T>()), valid_(valid) {
    const std::int64_t channels = label.size(0);
    voxels_ = label.numel() / std::max<std::int64_t>(1, channels);
    if (channels > 1) {
      any_.assign(static_cast<std::size_t>(voxels_), 0);
      for (std::int64_t c = 1; c < channels; ++c) {
        const T* pc = p_ + c * voxels_;
        for (std::int64_t i = 0; i < voxels_; ++i) any_[static_cast<std::size_t>(i)] |= pc[i] != T{0} ? 1 : 0;
      }
    }
  }
  std::int64_t count(bool kind) const { return count(kind, 0, voxels_); }
  std::int64_t find(bool kind, std::int64_t k) const {
    // Whole blocks are counted (a loop without branches) until the one that holds the k-th voxel.
    constexpr std::int64_t kBlock = 4096;
    std::int64_t i = 0;
    for (;; i += kBlock) {
      const std::int64_t n = count(kind, i, std::min(voxels_, i + kBlock));
      if (k < n) break;
      k -= n;
    }
    for (;; ++i) {
      if (is(kind, i) && k-- == 0) return i;
    }
  }

 private:
  bool at(std::int64_t i) const { return any_.empty() ? p_[i] != T{0} : any_[static_cast<std::size_t>(i)] != 0; }
  bool is(bool kind, std::int64_t i) const {
    return kind ? at(i) : !at(i) && (!valid_ || (*valid_)[static_cast<std::size_t>(i)] != 0);
  }
  std::int64_t count_foreground(std::int64_t begin, std::int64_t end) const {
    std::int64_t n = 0;
    if (any_.empty()) {
      for (std::int64_t i = begin; i < end; ++i) n += p_[i] != T{0} ? 1 : 0;
    } else {
      for (std::int64_t i = begin; i < end; ++i) n += any_[static_cast<std::size_t>(i)];
    }
    return n;
  }
  std::int64_t count(bool kind, std::int64_t begin, std::int64_t end) const {
    if (kind) return count_foreground(begin, end);
    if (!valid_) return end - begin - count_foreground(begin, end);
    std::int64_t n = 0;
    for (std::int64_t i = begin; i < end; ++i) n += is(false, i) ? 1 : 0;
    return n;
  }
  const T* p_;
  const std::optional<std::vector<unsigned char>>& valid_;
  std::int64_t voxels_ = 0;
  std::vector<unsigned char> any_;
};

}  // namespace

Size3 pos_neg_crop_size(const Size3& n, const RandCropByPosNegLabelOptions& options) {
  Size3 size = options.spatial_size();
  for (std::size_t j = 0; j < 3; ++j) size[j] = size[j] <= 0 ? n[j] : size[j];
  for (std::size_t j = 0; j < 3; ++j) {
    VOXGRAD_CHECK(size[j] <= n[j] || options.allow_smaller(),
                  "rand_crop_by_pos_neg_label: the patch size {} is larger than the volume's spatial size {} "
                  "(allow_smaller(true) takes the whole extent there)",
                  size, n);
    size[j] = std::min(size[j], n[j]);
  }
  return size;
}

Size3 pos_neg_crop_start(const Tensor& label, const RandCropByPosNegLabelOptions& options, Generator& rng,
                         const Tensor& image) {
  const char* op = "rand_crop_by_pos_neg_label";
  detail::check_volume(label, op, "the label");
  const Index3 n = detail::spatial_sizes(label), size = pos_neg_crop_size(n, options);
  VOXGRAD_CHECK(options.pos() >= 0 && options.neg() >= 0 && options.pos() + options.neg() > 0,
                "{}: pos and neg must be non-negative with a positive sum, but got pos {} and neg {}", op,
                options.pos(), options.neg());
  std::optional<std::vector<unsigned char>> valid;  // none: no image limits the background
  if (image.defined()) {
    detail::check_volume(image, op, "the image");
    detail::check_same_grid(image, label, op);
    valid = above_threshold(image, options.image_threshold(), op);
  }
  const Tensor l = label.contiguous();
  VOXGRAD_CHECK(l.numel() > 0, "{}: no voxel to centre a patch on: the label {} has none", op, shape_str(l.sizes()));
  const std::int64_t flat = voxgrad::detail::dispatch_floating(l.dtype(), op, [&]<typename T>() {
    const Foreground<T> fg(l, valid);
    const std::int64_t n_fg = fg.count(true), n_bg = fg.count(false);
    VOXGRAD_CHECK(n_fg + n_bg > 0,
                  "{}: no voxel to centre a patch on: the label has no foreground and the image exceeds "
                  "image_threshold {} nowhere",
                  op, options.image_threshold());
    const bool want_fg = rng.next_double() * (options.pos() + options.neg()) < options.pos();
    const double u = rng.next_double();
    const bool use_fg = n_bg == 0 || (want_fg && n_fg > 0);
    const std::int64_t count = use_fg ? n_fg : n_bg;
    return fg.find(use_fg, std::min(count - 1, static_cast<std::int64_t>(u * static_cast<double>(count))));
  });
  const Index3 centre = {flat / (n[1] * n[2]), (flat / n[2]) % n[1], flat % n[2]};
  Index3 start{};
  for (std::size_t j = 0; j < 3; ++j) start[j] = std::clamp(centre[j] - size[j] / 2, std::int64_t{0}, n[j] - size[j]);
  return start;
}

Transform rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions options) {
  detail::check_unique_keys(options.keys(), "rand_crop_by_pos_neg_label");
  return [options](Example example, Generator& rng) {
    const Tensor affine = detail::find_affine(example, options.affine_key(), "rand_crop_by_pos_neg_label");
    const Tensor& label = example.at(options.label_key());
    VOXGRAD_CHECK(!options.image_key() || example.contains(*options.image_key()),
                  "rand_crop_by_pos_neg_label: image_key '{}' is not in the example (it holds {})",
                  *options.image_key(), example.keys());
    const Tensor image = options.image_key() ? example.at(*options.image_key()) : Tensor();
    const Index3 start = pos_neg_crop_start(label, options, rng, image);
    const Index3 size = pos_neg_crop_size(detail::spatial_sizes(label), options);
    for (const std::string& key : options.keys()) {
      const Tensor& t = example.at(key);
      detail::check_volume(t, "rand_crop_by_pos_neg_label", key.c_str());
      VOXGRAD_CHECK(detail::spatial_sizes(t) == detail::spatial_sizes(label),
                    "rand_crop_by_pos_neg_label: '{}' {} is not on the grid of '{}' {}", key, shape_str(t.sizes()),
                    options.label_key(), shape_str(label.sizes()));
    }
    if (affine.defined()) {
      // Output voxel o of the patch is input voxel o + start (MONAI's crop: a translation by the start).
      detail::SpatialMap map = detail::identity_map();
      for (std::size_t j = 0; j < 3; ++j) map[j].offset = static_cast<double>(start[j]);
      example.set(options.affine_key(), detail::moved_affine(affine, map));
    }
    for (const std::string& key : options.keys()) example.set(key, crop(example.at(key), start, size));
    return example;
  };
}

}  // namespace voxgrad::data
