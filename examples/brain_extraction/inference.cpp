#include "inference.h"

#include <cmath>

namespace brain {

using voxgrad::Tensor;
namespace data = voxgrad::data;

Tensor segmentation_loss(const Tensor& logits, const Tensor& target) {
  // MONAI's DiceCELoss(sigmoid=True, batch=True): soft Dice over the whole batch plus mean BCE.
  namespace nn = voxgrad::nn;
  return nn::functional::dice_ce_loss(logits, target,
                                      nn::DiceCELossOptions(nn::DiceLossOptions().sigmoid(true).batch(true)));
}

double dice(const Tensor& a, const Tensor& b) {
  // compute_dice wants [B, C, spatial...]; an empty ground truth gives NaN (ignore_empty).
  return voxgrad::metrics::compute_dice(a.unsqueeze(0), b.unsqueeze(0)).item<double>();
}

Tensor Inference::probabilities(unet3d::UNet3d& model, const Tensor& image) const {
  namespace inf = voxgrad::inference;
  voxgrad::NoGradGuard no_grad;
  model.eval();
  const Tensor logits = inf::sliding_window_inference(
      image.unsqueeze(0), [&](const Tensor& windows) { return model.forward(windows); },
      inf::SlidingWindowOptions({window, window, window}).mode(inf::BlendMode::Gaussian).sw_batch_size(2));
  model.train();
  return logits.squeeze(0).sigmoid();
}

Tensor Inference::native_mask(unet3d::UNet3d& model, const data::Example& volume) const {
  const Tensor p = probabilities(model, volume.at("image"));
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
  // The whole volume is predicted, as for the final mask: windows tiled over the slab alone (with a
  // strip of context) sit elsewhere and scored up to 0.05 lower on the same model.
  const Tensor mask = native_mask(model, volume);
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
