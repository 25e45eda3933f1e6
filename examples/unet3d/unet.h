#pragma once
// A small 3-D U-Net for denoising: two resolution levels down (stride-2 convolutions), two up
// (3×3×3 stride-2 transposed convolutions whose output_size comes from the skip tensor, so any input size works,
// odd ones included), skip connections by channel concatenation, and a residual output (the
// network predicts the noise, which it subtracts from its input).
//
// Parameter names follow PyTorch's module attributes exactly (enc1.conv1.weight, up2.bias, ...), so
// tests/fixtures/unet/generate.py can build the same model in PyTorch and exchange state dicts.

#include <algorithm>
#include <memory>

#include <voxgrad/voxgrad.h>

namespace unet3d {

namespace nn = voxgrad::nn;
using voxgrad::Tensor;

/// conv 3×3×3 → GroupNorm → ReLU, twice.
class ConvBlock : public nn::Module {
 public:
  ConvBlock(std::int64_t in, std::int64_t out) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(in, out, 3).padding(1)));
    norm1 = register_module("norm1", std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(groups(out), out)));
    conv2 = register_module("conv2", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(out, out, 3).padding(1)));
    norm2 = register_module("norm2", std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(groups(out), out)));
  }

  Tensor forward(const Tensor& x) override {
    const Tensor h = norm1->forward(conv1->forward(x)).relu();
    return norm2->forward(conv2->forward(h)).relu();
  }

  std::shared_ptr<nn::Conv3dImpl> conv1, conv2;
  std::shared_ptr<nn::GroupNormImpl> norm1, norm2;

 private:
  static std::int64_t groups(std::int64_t channels) { return std::min<std::int64_t>(4, channels); }
};

/// The denoiser: (N, 1, D, H, W) noisy volumes in, denoised volumes of the same shape out.
class UNet3d : public nn::Module {
 public:
  explicit UNet3d(std::int64_t base = 8) {
    const std::int64_t b = base;
    enc1 = register_module("enc1", std::make_shared<ConvBlock>(1, b));
    down1 =
        register_module("down1", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(b, 2 * b, 3).stride(2).padding(1)));
    enc2 = register_module("enc2", std::make_shared<ConvBlock>(2 * b, 2 * b));
    down2 = register_module("down2",
                            std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2 * b, 4 * b, 3).stride(2).padding(1)));
    bottleneck = register_module("bottleneck", std::make_shared<ConvBlock>(4 * b, 4 * b));
    up2 = register_module("up2", std::make_shared<nn::ConvTranspose3dImpl>(
                                     nn::ConvTranspose3dOptions(4 * b, 2 * b, 3).stride(2).padding(1)));
    dec2 = register_module("dec2", std::make_shared<ConvBlock>(4 * b, 2 * b));
    up1 = register_module(
        "up1", std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2 * b, b, 3).stride(2).padding(1)));
    dec1 = register_module("dec1", std::make_shared<ConvBlock>(2 * b, b));
    head = register_module("head", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(b, 1, 1)));
  }

  Tensor forward(const Tensor& x) override {
    const Tensor e1 = enc1->forward(x);
    const Tensor e2 = enc2->forward(down1->forward(e1).relu());
    const Tensor mid = bottleneck->forward(down2->forward(e2).relu());
    // Upsample to exactly the skip tensor's size. A stride-2 encoder maps both 2n-1 and 2n to n;
    // kernel 3 / stride 2 / padding 1 can produce either, and output_size picks the one needed.
    const Tensor d2 = dec2->forward(voxgrad::cat({up2->forward(mid, e2.sizes()), e2}, 1));
    const Tensor d1 = dec1->forward(voxgrad::cat({up1->forward(d2, e1.sizes()), e1}, 1));
    return x - head->forward(d1);
  }

  std::shared_ptr<ConvBlock> enc1, enc2, bottleneck, dec2, dec1;
  std::shared_ptr<nn::Conv3dImpl> down1, down2, head;
  std::shared_ptr<nn::ConvTranspose3dImpl> up2, up1;
};

}  // namespace unet3d
