#pragma once
// A small 3-D U-Net for denoising: two resolution levels down (stride-2 convolutions), two up
// (3×3×3 stride-2 transposed convolutions whose output_size comes from the skip tensor, so any input size works,
// odd ones included), skip connections by channel concatenation, and a residual output (the
// network predicts the noise, which it subtracts from its input).
//
// Parameter names follow PyTorch's module attributes exactly (enc1.conv1.weight, up2.bias, ...), so
// tests/fixtures/unet/generate.py can build the same model in PyTorch and exchange state dicts.

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include <voxgrad/voxgrad.h>

namespace unet3d {

namespace nn = voxgrad::nn;
using voxgrad::Tensor;

/// conv 3×3×3 → GroupNorm → ReLU, twice; each GroupNorm and its ReLU run as one op
/// (nn::functional::group_norm_relu: the same bits as the two, fewer passes over memory).
class ConvBlock : public nn::Module {
 public:
  ConvBlock(std::int64_t in, std::int64_t out) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(in, out, 3).padding(1)));
    norm1 = register_module("norm1", std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(groups(out), out)));
    conv2 = register_module("conv2", std::make_shared<nn::Conv3dImpl>(nn::Conv3dOptions(out, out, 3).padding(1)));
    norm2 = register_module("norm2", std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(groups(out), out)));
  }

  Tensor forward(const Tensor& x) override { return after_conv1(conv1->forward(x)); }

  /// The rest of the block applied to conv1's output: norm1, ReLU, conv2, norm2, ReLU.
  Tensor after_conv1(Tensor c) const {
    Tensor h = norm_relu(*norm1, c);
    c = Tensor();  // norm1 saved it if a graph is recorded; otherwise it can go now
    Tensor c2 = conv2->forward(h);
    h = Tensor();  // conv2 saved it, or (by default) how to recompute it from c (autograd/recompute.h)
    return norm_relu(*norm2, c2);
  }

  std::shared_ptr<nn::Conv3dImpl> conv1, conv2;
  std::shared_ptr<nn::GroupNormImpl> norm1, norm2;

 private:
  static std::int64_t groups(std::int64_t channels) { return std::min<std::int64_t>(4, channels); }
  /// relu(norm->forward(x)) in one op, with the module's own groups, eps and parameters.
  static Tensor norm_relu(const nn::GroupNormImpl& norm, const Tensor& x) {
    const nn::GroupNormOptions& o = norm.options();
    return nn::functional::group_norm_relu(
        x, nn::functional::GroupNormFuncOptions(o.num_groups()).weight(norm.weight).bias(norm.bias).eps(o.eps()));
  }
};

/// Memory options of UNet3d; neither changes the result or the gradients.
struct UNetMemoryOptions {
  /// ReLU in place after the strided convolutions (inside the blocks GroupNorm and ReLU are one op).
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
    // Each skip tensor is handed over to its decoder level, which drops it once concatenated.
    Tensor e1 = block(enc1, x);
    Tensor e2 = down_stage(down1, enc2, e1);
    Tensor mid = down_stage(down2, bottleneck, e2);
    Tensor d2 = up_stage(up2, dec2, std::move(mid), std::move(e2));
    const Tensor d1 = up_stage(up1, dec1, std::move(d2), std::move(e1));
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

  // An encoder level below the first: stride-2 convolution, ReLU, block. Checkpointed as one segment
  // whose input is the level above's output, which is kept anyway (it is the skip tensor), so the
  // down-sampled activation is not stored between forward and backward.
  Tensor down_stage(const std::shared_ptr<nn::Conv3dImpl>& down, const std::shared_ptr<ConvBlock>& b,
                    const Tensor& above) const {
    const bool inplace = memory_.inplace_relu;
    auto run = [down, b, inplace](const Tensor& h) { return b->forward(relu(down->forward(h), inplace)); };
    return memory_.checkpoint_blocks ? nn::utils::checkpoint(run, above, parameters_of({down, b})) : run(above);
  }

  // A decoder level: transposed convolution to exactly the skip tensor's size, concatenation with
  // it, block. (A stride-2 encoder maps both 2n-1 and 2n to n; kernel 3 / stride 2 / padding 1 can
  // produce either, and output_size picks the one needed.)
  //
  // Checkpointed as one segment whose inputs, the level below's output and the skip tensor, are kept
  // anyway, so nothing of the level is stored between forward and backward. Inside it, the
  // upsampling, the concatenation and the block's first convolution form a nested segment with the
  // same inputs (as memory-efficient DenseNets checkpoint their concatenations): the
  // concatenation, the level's largest activation (twice the channels of the others), is then only
  // ever a transient, rebuilt when conv1's backward needs it, instead of being held while the
  // segment's backward runs through the rest of the block.
  Tensor up_stage(const std::shared_ptr<nn::ConvTranspose3dImpl>& up, const std::shared_ptr<ConvBlock>& b, Tensor below,
                  Tensor skip) const {
    auto first_conv = [up, b](const std::vector<Tensor>& in) {
      // A statement of its own, so that the upsampled tensor is freed once copied into the concatenation.
      const Tensor cat = voxgrad::cat({up->forward(in[0], in[1].sizes()), in[1]}, 1);
      return std::vector<Tensor>{b->conv1->forward(cat)};
    };
    if (!memory_.checkpoint_blocks) {
      // Every tensor is dropped as soon as it is consumed: what backward needs, the ops saved.
      Tensor cat = voxgrad::cat({up->forward(below, skip.sizes()), skip}, 1);
      below = skip = Tensor();
      Tensor c = b->conv1->forward(cat);
      cat = Tensor();
      return b->after_conv1(std::move(c));
    }
    // (after_conv1 takes conv1's output by value and drops it early; move it out of the vector.)
    auto run = [up, b, first_conv](const std::vector<Tensor>& in) {
      std::vector<Tensor> c = nn::utils::checkpoint(first_conv, in, parameters_of({up, b->conv1}));
      return std::vector<Tensor>{b->after_conv1(std::move(c[0]))};
    };
    return nn::utils::checkpoint(run, {std::move(below), std::move(skip)}, parameters_of({up, b}))[0];
  }

  static std::vector<Tensor> parameters_of(std::initializer_list<std::shared_ptr<nn::Module>> modules) {
    std::vector<Tensor> ps;
    for (const auto& m : modules) {
      for (const Tensor& p : m->parameters()) ps.push_back(p);
    }
    return ps;
  }
  static Tensor relu(Tensor t, bool inplace) { return inplace ? t.relu_() : t.relu(); }
  bool residual_;
  UNetMemoryOptions memory_;
};

}  // namespace unet3d
