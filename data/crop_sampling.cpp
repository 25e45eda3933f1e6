#include "voxgrad/data/crop_sampling.h"

#include <algorithm>
#include <vector>

#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/data/detail/volume.h"
#include "voxgrad/data/spatial.h"

namespace voxgrad::data {

namespace {

using detail::Index3;

// The voxels (in (D, H, W) order) where the label is nonzero in its one channel or, with several, in
// any channel but the first (a one-hot label's background; MONAI's map_binary_to_indices drops it):
// count() of them, and find(kind, k) gives the k-th voxel (from 0) that is (kind 1) or is not (kind 0)
// one. Read in the label's own dtype; one channel is read in place, several are reduced to one byte
// per voxel.
template <typename T>
class Foreground {
 public:
  explicit Foreground(const Tensor& label) : p_(label.data_ptr<T>()) {
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
  std::int64_t voxels() const { return voxels_; }
  std::int64_t count() const { return count(0, voxels_); }
  std::int64_t find(bool kind, std::int64_t k) const {
    // Whole blocks are counted (a loop without branches) until the one that holds the k-th voxel.
    constexpr std::int64_t kBlock = 4096;
    std::int64_t i = 0;
    for (;; i += kBlock) {
      const std::int64_t end = std::min(voxels_, i + kBlock), fg = count(i, end);
      const std::int64_t n = kind ? fg : end - i - fg;
      if (k < n) break;
      k -= n;
    }
    for (;; ++i) {
      if (at(i) == kind && k-- == 0) return i;
    }
  }

 private:
  bool at(std::int64_t i) const { return any_.empty() ? p_[i] != T{0} : any_[static_cast<std::size_t>(i)] != 0; }
  std::int64_t count(std::int64_t begin, std::int64_t end) const {
    std::int64_t n = 0;
    if (any_.empty()) {
      for (std::int64_t i = begin; i < end; ++i) n += p_[i] != T{0} ? 1 : 0;
    } else {
      for (std::int64_t i = begin; i < end; ++i) n += any_[static_cast<std::size_t>(i)];
    }
    return n;
  }
  const T* p_;
  std::int64_t voxels_ = 0;
  std::vector<unsigned char> any_;
};

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
  const Tensor l = label.contiguous();
  const std::int64_t flat = voxgrad::detail::dispatch_floating(l.dtype(), op, [&]<typename T>() {
    const Foreground<T> fg(l);
    const std::int64_t n_fg = fg.count(), n_bg = fg.voxels() - n_fg;
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
