#include "inference.h"

#include <cmath>

namespace brain {

using voxgrad::Tensor;
namespace data = voxgrad::data;

Tensor segmentation_loss(const Tensor& logits, const Tensor& target) {
  // Soft Dice over the whole batch (smooth 1e-5 as MONAI's DiceLoss) plus mean BCE.
  const Tensor p = logits.sigmoid();
  const Tensor dice_loss = 1.0 - (2.0 * (p * target).sum() + 1e-5) / (p.sum() + target.sum() + 1e-5);
  return dice_loss + voxgrad::nn::functional::binary_cross_entropy_with_logits(logits, target);
}

double dice(const Tensor& a, const Tensor& b) {
  const double inter = (a * b).sum().item<double>();
  const double total = a.sum().item<double>() + b.sum().item<double>();
  return total == 0 ? 1.0 : 2 * inter / total;
}

namespace {

// Window starts covering [0, n) with step window * (1 - overlap); the last window ends at n.
std::vector<std::int64_t> starts(std::int64_t n, std::int64_t window, double overlap) {
  const std::int64_t w = std::min(window, n);
  const auto step =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(static_cast<double>(w) * (1 - overlap))));
  std::vector<std::int64_t> out;
  for (std::int64_t s = 0;; s += step) {
    if (s + w >= n) {
      out.push_back(n - w);
      break;
    }
    out.push_back(s);
  }
  return out;
}

// MONAI's Gaussian importance map: exp(-d² / (2 σ²)) per axis, σ = 0.125 window, centred.
Tensor gaussian_weights(std::int64_t w) {
  std::vector<double> g(static_cast<std::size_t>(w));
  const double sigma = 0.125 * static_cast<double>(w), centre = (static_cast<double>(w) - 1) / 2;
  for (std::int64_t i = 0; i < w; ++i) {
    const double d = static_cast<double>(i) - centre;
    g[static_cast<std::size_t>(i)] = std::exp(-d * d / (2 * sigma * sigma));
  }
  const Tensor line = voxgrad::tensor(g, voxgrad::kFloat32);
  return line.reshape({1, w, 1, 1}) * line.reshape({1, 1, w, 1}) * line.reshape({1, 1, 1, w});
}

}  // namespace

Tensor Inference::probabilities(unet3d::UNet3d& model, const Tensor& image, std::int64_t from) const {
  voxgrad::NoGradGuard no_grad;
  model.eval();
  const Tensor region = image.narrow(3, from, image.size(3) - from);
  const data::Size3 n = {region.size(1), region.size(2), region.size(3)};
  const data::Size3 w = {std::min(window, n[0]), std::min(window, n[1]), std::min(window, n[2])};
  VOXGRAD_CHECK(w[0] == w[1] && w[1] == w[2], "brain extraction: the region {} is smaller than a window of {}", n,
                window);
  const Tensor weight = gaussian_weights(w[0]);
  Tensor sum = voxgrad::zeros({1, n[0], n[1], n[2]}), norm = voxgrad::zeros({1, n[0], n[1], n[2]});
  for (const std::int64_t z : starts(n[0], w[0], 0.25)) {
    for (const std::int64_t y : starts(n[1], w[1], 0.25)) {
      for (const std::int64_t x : starts(n[2], w[2], 0.25)) {
        const Tensor out = model.forward(data::crop(region, {z, y, x}, w).unsqueeze(0)).squeeze(0).sigmoid();
        sum.narrow(1, z, w[0]).narrow(2, y, w[1]).narrow(3, x, w[2]).add_(out * weight);
        norm.narrow(1, z, w[0]).narrow(2, y, w[1]).narrow(3, x, w[2]).add_(weight);
      }
    }
  }
  model.train();
  Tensor full = voxgrad::zeros(image.sizes());
  full.narrow(3, from, n[2]).copy_(sum / norm);
  return full;
}

Tensor Inference::native_mask(unet3d::UNet3d& model, const data::Example& volume, std::int64_t from) const {
  const Tensor p = probabilities(model, volume.at("image"), from);
  const Tensor& native = volume.at("label_native");
  const Tensor s = volume.at("spacing").to(voxgrad::kFloat64).contiguous();
  const double* sp = s.data_ptr<double>();
  // Back onto the file's grid (1 mm here; data/spacing.h's convention, voxel 0 shared).
  const Tensor up =
      data::resample_to_grid(p, {sp[0], sp[1], sp[2]}, {1, 1, 1}, {native.size(1), native.size(2), native.size(3)},
                             data::Interpolation::Linear);
  return up.gt(0.5);
}

double Inference::heldout_dice(unet3d::UNet3d& model, const data::Example& volume, const Split& split) const {
  const std::int64_t from = std::max<std::int64_t>(0, split.slab_start - window / 2);
  const Tensor mask = native_mask(model, volume, from);
  const Tensor& truth = volume.at("label_native");
  const std::int64_t n = truth.size(3) - split.native_slab_start;
  return dice(mask.narrow(3, split.native_slab_start, n), truth.narrow(3, split.native_slab_start, n));
}

void write_mask(const std::string& path, const Tensor& mask, const std::string& reference) {
  voxgrad::Volume out = voxgrad::read_nifti(reference);
  out.data = mask.to(voxgrad::kInt64);
  out.datatype = voxgrad::NiftiDatatype::UInt8;
  voxgrad::write_nifti(path, out);
}

}  // namespace brain
