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
  /// inplace_relu: apply ReLU in place on GroupNorm's output (valid: GroupNorm's backward reads its
  /// input, not its output), which keeps one activation fewer per ReLU.
  ConvBlock(std::int64_t in, std::int64_t out, bool inplace_relu = false) : inplace_relu_(inplace_relu) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(in, out, 3).padding(1)));
    norm1 = register_module("norm1", std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(groups(out), out)));
    conv2 = register_module("conv2", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(out, out, 3).padding(1)));
    norm2 = register_module("norm2", std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(groups(out), out)));
  }

  Tensor forward(const Tensor& x) override {
    const Tensor h = relu(norm1->forward(conv1->forward(x)));
    return relu(norm2->forward(conv2->forward(h)));
  }

  std::shared_ptr<nn::Conv3dImpl> conv1, conv2;
  std::shared_ptr<nn::GroupNormImpl> norm1, norm2;

 private:
  static std::int64_t groups(std::int64_t channels) { return std::min<std::int64_t>(4, channels); }
  Tensor relu(Tensor t) const { return inplace_relu_ ? t.relu_() : t.relu(); }
  bool inplace_relu_;
};

/// Memory options of UNet3d; neither changes the result or the gradients.
struct UNetMemoryOptions {
  /// ReLU in place where valid (inside the blocks and after the strided convolutions).
  bool inplace_relu = false;
  /// Checkpoint every encoder/decoder block (nn::utils::checkpoint): keep only its input and
  /// recompute it during backward.
  bool checkpoint_blocks = false;
};

/// The denoiser: (N, 1, D, H, W) noisy volumes in, denoised volumes of the same shape out. With
/// `residual` false it is a plain segmentation U-Net: the head's output (one logit per voxel) is returned
/// as it is (examples/brain_extraction).
class UNet3d : public nn::Module {
 public:
  explicit UNet3d(std::int64_t base = 8, bool residual = true, UNetMemoryOptions memory = {})
      : residual_(residual), memory_(memory) {
    const std::int64_t b = base;
    const bool ip = memory.inplace_relu;
    enc1 = register_module("enc1", std::make_shared<ConvBlock>(1, b, ip));
    down1 =
        register_module("down1", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(b, 2 * b, 3).stride(2).padding(1)));
    enc2 = register_module("enc2", std::make_shared<ConvBlock>(2 * b, 2 * b, ip));
    down2 = register_module("down2",
                            std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(2 * b, 4 * b, 3).stride(2).padding(1)));
    bottleneck = register_module("bottleneck", std::make_shared<ConvBlock>(4 * b, 4 * b, ip));
    up2 = register_module("up2", std::make_shared<nn::ConvTranspose3dImpl>(
                                     nn::ConvTranspose3dOptions(4 * b, 2 * b, 3).stride(2).padding(1)));
    dec2 = register_module("dec2", std::make_shared<ConvBlock>(4 * b, 2 * b, ip));
    up1 = register_module(
        "up1", std::make_shared<nn::ConvTranspose3dImpl>(nn::ConvTranspose3dOptions(2 * b, b, 3).stride(2).padding(1)));
    dec1 = register_module("dec1", std::make_shared<ConvBlock>(2 * b, b, ip));
    head = register_module("head", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(b, 1, 1)));
  }

  Tensor forward(const Tensor& x) override {
    const Tensor e1 = block(enc1, x);
    const Tensor e2 = block(enc2, relu(down1->forward(e1)));
    const Tensor mid = block(bottleneck, relu(down2->forward(e2)));
    // Upsample to exactly the skip tensor's size. A stride-2 encoder maps both 2n-1 and 2n to n;
    // kernel 3 / stride 2 / padding 1 can produce either, and output_size picks the one needed.
    const Tensor d2 = block(dec2, voxgrad::cat({up2->forward(mid, e2.sizes()), e2}, 1));
    const Tensor d1 = block(dec1, voxgrad::cat({up1->forward(d2, e1.sizes()), e1}, 1));
    const Tensor out = head->forward(d1);
    return residual_ ? x - out : out;
  }

  std::shared_ptr<ConvBlock> enc1, enc2, bottleneck, dec2, dec1;
  std::shared_ptr<nn::Conv3dImpl> down1, down2, head;
  std::shared_ptr<nn::ConvTranspose3dImpl> up2, up1;

 private:
  Tensor block(const std::shared_ptr<ConvBlock>& b, const Tensor& x) const {
    return memory_.checkpoint_blocks ? nn::utils::checkpoint(b, x) : b->forward(x);
  }
  Tensor relu(Tensor t) const { return memory_.inplace_relu ? t.relu_() : t.relu(); }
  bool residual_;
  UNetMemoryOptions memory_;
};

}  // namespace unet3d
