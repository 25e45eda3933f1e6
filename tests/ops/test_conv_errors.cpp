// Every argument error of conv3d, conv_transpose3d, conv3d_weight_grad and pad3d: each throws
// voxgrad::Error with PyTorch-like wording naming the op and the values (asserted here), before any
// allocation; none crashes or aborts, including sizes that overflow int64.

#include <cstdint>
#include <limits>
#include <string>

#include "test_util.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>

namespace {

using namespace voxgrad;

constexpr std::int64_t kHuge = std::int64_t{1} << 62;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

Tensor t(const Shape& s, DType dt = kFloat32) { return zeros(s, dt); }

// --- input and weight ranks -------------------------------------------------------------------

TEST(ConvErrors, InputRank) {
  EXPECT_ERROR_EQ(conv3d(t({3, 5, 5}), t({4, 3, 3, 3, 3})),
                  "Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: [3, 5, 5]");
  EXPECT_ERROR_EQ(conv3d(t({1, 1, 3, 5, 5, 5}), t({4, 3, 3, 3, 3})),
                  "Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: [1, 1, 3, 5, 5, 5]");
  EXPECT_ERROR_EQ(conv3d(scalar_tensor(1.0), t({4, 3, 3, 3, 3})),
                  "Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: []");
  EXPECT_ERROR_EQ(
      conv_transpose3d(t({3, 5, 5}), t({3, 4, 3, 3, 3})),
      "Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input of size: [3, 5, 5]");
  EXPECT_ERROR_EQ(conv_transpose3d(t({2, 1, 3, 5, 5, 5}), t({3, 4, 3, 3, 3})),
                  "Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input of size: [2, 1, 3, "
                  "5, 5, 5]");
  EXPECT_ERROR_CONTAINS(conv3d(Tensor(), t({4, 3, 3, 3, 3})), "conv3d");
  EXPECT_ERROR_CONTAINS(conv_transpose3d(Tensor(), t({3, 4, 3, 3, 3})), "conv_transpose3d");
}

TEST(ConvErrors, WeightRank) {
  EXPECT_ERROR_EQ(conv3d(t({1, 3, 5, 5, 5}), t({4, 3, 3, 3})),
                  "conv3d: expected a 5-D weight, but got weight of size [4, 3, 3, 3]");
  EXPECT_ERROR_EQ(conv3d(t({3, 5, 5, 5}), t({4, 3, 3, 3, 3, 1})),
                  "conv3d: expected a 5-D weight, but got weight of size [4, 3, 3, 3, 3, 1]");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 3, 5, 5, 5}), t({3, 4, 3})),
                  "conv_transpose3d: expected a 5-D weight, but got weight of size [3, 4, 3]");
  EXPECT_ERROR_CONTAINS(conv3d(t({1, 3, 5, 5, 5}), Tensor()), "conv3d");
  EXPECT_ERROR_CONTAINS(conv_transpose3d(t({1, 3, 5, 5, 5}), Tensor()), "conv_transpose3d");
  // A zero-size kernel is not a kernel (PyTorch: pytorch/pytorch#194017-style crashes avoided).
  EXPECT_ERROR_EQ(conv3d(t({1, 3, 5, 5, 5}), t({4, 3, 3, 0, 3})),
                  "conv3d: kernel size must be positive, but got weight of size [4, 3, 3, 0, 3]");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 3, 5, 5, 5}), t({3, 4, 0, 1, 1})),
                  "conv_transpose3d: kernel size must be positive, but got weight of size [3, 4, 0, 1, 1]");
}

// --- channels and groups -----------------------------------------------------------------------

TEST(ConvErrors, ChannelMismatch) {
  // PyTorch's wording, word for word.
  EXPECT_ERROR_EQ(conv3d(t({1, 3, 5, 5, 5}), t({4, 1, 3, 3, 3}), {}, 1, 0, 1, 2),
                  "Given groups=2, weight of size [4, 1, 3, 3, 3], expected input[1, 3, 5, 5, 5] to have 2 channels, "
                  "but got 3 channels instead");
  EXPECT_ERROR_EQ(conv3d(t({2, 4, 5, 5, 5}), t({4, 3, 3, 3, 3})),
                  "Given groups=1, weight of size [4, 3, 3, 3, 3], expected input[2, 4, 5, 5, 5] to have 3 channels, "
                  "but got 4 channels instead");
  // Unbatched input is reported with its batch dim, as PyTorch does.
  EXPECT_ERROR_EQ(conv3d(t({4, 5, 5, 5}), t({4, 3, 3, 3, 3})),
                  "Given groups=1, weight of size [4, 3, 3, 3, 3], expected input[1, 4, 5, 5, 5] to have 3 channels, "
                  "but got 4 channels instead");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 3, 5, 5, 5}), t({4, 2, 3, 3, 3})),
                  "Given transposed=1, weight of size [4, 2, 3, 3, 3], expected input[1, 3, 5, 5, 5] to have 4 "
                  "channels, but got 3 channels instead");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 3, 5, 5, 5}), t({4, 1, 3, 3, 3}), {}, 1, 0, 0, 2),
                  "Given transposed=1, weight of size [4, 1, 3, 3, 3], expected input[1, 3, 5, 5, 5] to have 4 "
                  "channels, but got 3 channels instead");
}

TEST(ConvErrors, WeightNotDivisibleByGroups) {
  EXPECT_ERROR_EQ(conv3d(t({1, 2, 5, 5, 5}), t({3, 1, 3, 3, 3}), {}, 1, 0, 1, 2),
                  "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [3, 1, "
                  "3, 3, 3] instead");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 3, 5, 5, 5}), t({3, 2, 3, 3, 3}), {}, 1, 0, 0, 2),
                  "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [3, 2, "
                  "3, 3, 3] instead");
}

TEST(ConvErrors, GroupsLargerThanWeightDim0) {
  // 0 % 2 == 0, so only this check stops groups beyond the channel count.
  EXPECT_ERROR_EQ(conv3d(t({1, 0, 3, 3, 3}), t({0, 0, 1, 1, 1}), {}, 1, 0, 1, 2),
                  "Given groups=2, expected weight to be at least 2 at dimension 0, but got weight of size "
                  "[0, 0, 1, 1, 1] instead");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 0, 3, 3, 3}), t({0, 0, 1, 1, 1}), {}, 1, 0, 0, kHuge),
                  "Given groups=4611686018427387904, expected weight to be at least 4611686018427387904 at "
                  "dimension 0, but got weight of size [0, 0, 1, 1, 1] instead");
}

// Empty operands never reach the kernels: nothing to sum gives the bias.
TEST(ConvErrors, EmptyOperandsGiveBiasOrEmptyResults) {
  const Tensor b = tensor({1.5, -2.0});
  const Tensor y = conv3d(t({2, 0, 3, 3, 3}), t({2, 0, 3, 3, 3}), b, 1, 1);
  ASSERT_EQ(y.sizes(), Shape({2, 2, 3, 3, 3}));
  EXPECT_EQ(y.select(1, 0).min().item<double>(), 1.5);
  EXPECT_EQ(y.select(1, 1).max().item<double>(), -2.0);
  EXPECT_EQ(conv3d(t({0, 3, 4, 4, 4}), t({2, 3, 3, 3, 3})).sizes(), Shape({0, 2, 2, 2, 2}));
  EXPECT_EQ(conv_transpose3d(t({0, 2, 2, 2, 2}), t({2, 3, 2, 2, 2}), {}, 2).sizes(), Shape({0, 3, 4, 4, 4}));
  // As in PyTorch, a weight with no channels at dim 0 is refused even for groups=1.
  EXPECT_ERROR_CONTAINS(conv_transpose3d(t({1, 0, 2, 2, 2}), t({0, 2, 2, 2, 2}), b, 2),
                        "expected weight to be at least 1 at dimension 0");
  // Gradients of empty operands are empty or zero.
  const Tensor x = zeros({2, 0, 3, 3, 3}).requires_grad_(), w = zeros({2, 0, 3, 3, 3}).requires_grad_();
  const Tensor bb = zeros({2}).requires_grad_();
  conv3d(x, w, bb, 1, 1).sum().backward();
  EXPECT_EQ(x.grad().sizes(), x.sizes());
  EXPECT_EQ(bb.grad().sum().item<double>(), 2.0 * 2 * 27);  // 2 channels × 2 samples × 27 positions
  const Tensor x0 = zeros({0, 3, 4, 4, 4}).requires_grad_(), w0 = ones({2, 3, 3, 3, 3}).requires_grad_();
  conv3d(x0, w0).sum().backward();
  EXPECT_EQ(w0.grad().abs().sum().item<double>(), 0.0);
}

TEST(ConvErrors, NonPositiveGroups) {
  for (std::int64_t g : std::initializer_list<std::int64_t>{0, -1, -kHuge}) {
    const std::string n = std::to_string(g);
    EXPECT_ERROR_EQ(conv3d(t({1, 2, 5, 5, 5}), t({2, 2, 3, 3, 3}), {}, 1, 0, 1, g),
                    "conv3d: non-positive groups is not supported (got groups=" + n + ")");
    EXPECT_ERROR_EQ(conv_transpose3d(t({1, 2, 5, 5, 5}), t({2, 2, 3, 3, 3}), {}, 1, 0, 0, g),
                    "conv_transpose3d: non-positive groups is not supported (got groups=" + n + ")");
  }
}

// --- stride, dilation, padding, output_padding -------------------------------------------------

TEST(ConvErrors, NonPositiveStride) {
  const Tensor x = t({1, 2, 5, 5, 5}), w = t({2, 2, 3, 3, 3});
  EXPECT_ERROR_EQ(conv3d(x, w, {}, {1, 0, 1}), "conv3d: non-positive stride is not supported (got stride=(1, 0, 1))");
  EXPECT_ERROR_EQ(conv3d(x, w, {}, -2), "conv3d: non-positive stride is not supported (got stride=(-2, -2, -2))");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, {2, 2, 0}),
                  "conv_transpose3d: non-positive stride is not supported (got stride=(2, 2, 0))");
}

TEST(ConvErrors, NonPositiveDilation) {
  const Tensor x = t({1, 2, 5, 5, 5}), w = t({2, 2, 3, 3, 3});
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, 0, {0, 1, 1}),
                  "conv3d: dilation should be greater than zero (got dilation=(0, 1, 1))");
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, 0, -1),
                  "conv3d: dilation should be greater than zero (got dilation=(-1, -1, -1))");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, 0, 0, 1, {1, 1, 0}),
                  "conv_transpose3d: dilation should be greater than zero (got dilation=(1, 1, 0))");
}

TEST(ConvErrors, NegativePadding) {
  const Tensor x = t({1, 2, 5, 5, 5}), w = t({2, 2, 3, 3, 3});
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, {0, -1, 0}),
                  "conv3d: negative padding is not supported (got padding=(0, -1, 0))");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, -1),
                  "conv_transpose3d: negative padding is not supported (got padding=(-1, -1, -1))");
}

TEST(ConvErrors, NegativeOutputPadding) {
  const Tensor x = t({1, 2, 5, 5, 5}), w = t({2, 2, 3, 3, 3});
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 2, 0, {0, 0, -1}),
                  "conv_transpose3d: negative output_padding is not supported (got output_padding=(0, 0, -1))");
}

TEST(ConvErrors, OutputPaddingNotBelowStrideOrDilation) {
  const Tensor x = t({1, 2, 3, 3, 3}), w = t({2, 2, 3, 3, 3});
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, {1, 2, 2}, 0, {0, 2, 1}, 1, {1, 1, 3}),
                  "conv_transpose3d: output padding must be smaller than either stride or dilation, but got "
                  "output_padding_depth: 0 output_padding_height: 2 output_padding_width: 1 stride_depth: 1 "
                  "stride_height: 2 stride_width: 2 dilation_depth: 1 dilation_height: 1 dilation_width: 3");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, 0, 1),
                  "conv_transpose3d: output padding must be smaller than either stride or dilation, but got "
                  "output_padding_depth: 1 output_padding_height: 1 output_padding_width: 1 stride_depth: 1 "
                  "stride_height: 1 stride_width: 1 dilation_depth: 1 dilation_height: 1 dilation_width: 1");
  // Below either one is enough (pytorch/pytorch#8826): stride 1 with dilation 2, and stride 2.
  EXPECT_EQ(conv_transpose3d(x, w, {}, 1, 0, 1, 1, 2).sizes(), (Shape{1, 2, 8, 8, 8}));
  EXPECT_EQ(conv_transpose3d(x, w, {}, 2, 0, 1).sizes(), (Shape{1, 2, 8, 8, 8}));
}

// --- sizes ------------------------------------------------------------------------------------

TEST(ConvErrors, KernelLargerThanPaddedInput) {
  EXPECT_ERROR_EQ(conv3d(t({1, 1, 5, 5, 5}), t({1, 1, 3, 7, 3})),
                  "conv3d: Calculated padded input size per channel: (5 x 5 x 5). Kernel size: (3 x 7 x 3). Kernel "
                  "size can't be greater than actual input size");
  // The dilated kernel counts: 3 taps at dilation 3 span 7.
  EXPECT_ERROR_EQ(conv3d(t({1, 1, 5, 5, 5}), t({1, 1, 3, 3, 3}), {}, 1, 0, {1, 3, 1}),
                  "conv3d: Calculated padded input size per channel: (5 x 5 x 5). Kernel size: (3 x 7 x 3). Kernel "
                  "size can't be greater than actual input size");
  // Padding counts on both sides: 3 + 2·1 = 5 < 7 still fails, and 3 + 2·2 = 7 fits.
  EXPECT_ERROR_EQ(conv3d(t({3, 3, 3, 3}), t({1, 3, 1, 1, 4}), {}, 1, {1, 1, 1}, {1, 1, 2}),
                  "conv3d: Calculated padded input size per channel: (5 x 5 x 5). Kernel size: (1 x 1 x 7). Kernel "
                  "size can't be greater than actual input size");
  EXPECT_EQ(conv3d(t({3, 3, 3, 3}), t({1, 3, 1, 1, 4}), {}, 1, {1, 1, 2}, {1, 1, 2}).sizes(), (Shape{1, 5, 5, 1}));
  // An empty spatial dim without padding.
  EXPECT_ERROR_EQ(conv3d(t({1, 1, 0, 5, 5}), t({1, 1, 1, 1, 1})),
                  "conv3d: Calculated padded input size per channel: (0 x 5 x 5). Kernel size: (1 x 1 x 1). Kernel "
                  "size can't be greater than actual input size");
}

TEST(ConvErrors, TransposedOutputSizeNotPositive) {
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 1, 1, 1, 1}), t({1, 1, 1, 1, 1}), {}, 1, 1),
                  "conv_transpose3d: Given input size per channel: (1 x 1 x 1). Calculated output size per channel: "
                  "(-1 x -1 x -1). Output size is too small");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 1, 2, 2, 2}), t({1, 1, 2, 2, 2}), {}, 1, {0, 2, 0}),
                  "conv_transpose3d: Given input size per channel: (2 x 2 x 2). Calculated output size per channel: "
                  "(3 x -1 x 3). Output size is too small");
  // Zero output in one dim: (2 − 1)·1 − 2·1 + 0 + 0 + 1 = 0.
  EXPECT_ERROR_CONTAINS(conv_transpose3d(t({1, 1, 2, 2, 2}), t({1, 1, 1, 1, 1}), {}, 1, {0, 0, 1}),
                        "Calculated output size per channel: (2 x 2 x 0). Output size is too small");
}

TEST(ConvErrors, BiasShape) {
  const Tensor x = t({1, 2, 5, 5, 5});
  EXPECT_ERROR_EQ(conv3d(x, t({4, 2, 3, 3, 3}), t({3})),
                  "conv3d: expected bias of shape [4] (one value per output channel), but got bias of size [3]");
  EXPECT_ERROR_EQ(conv3d(x, t({4, 2, 3, 3, 3}), t({4, 1})),
                  "conv3d: expected bias of shape [4] (one value per output channel), but got bias of size [4, 1]");
  EXPECT_ERROR_EQ(conv3d(x, t({4, 2, 3, 3, 3}), scalar_tensor(1.0)),
                  "conv3d: expected bias of shape [4] (one value per output channel), but got bias of size []");
  // Transposed: Cout = weight.size(1) · groups = 2 · 2.
  EXPECT_ERROR_EQ(conv_transpose3d(x, t({2, 2, 3, 3, 3}), t({2}), 1, 0, 0, 2),
                  "conv_transpose3d: expected bias of shape [4] (one value per output channel), but got bias of size "
                  "[2]");
}

TEST(ConvErrors, DtypeMismatch) {
  const Tensor x32 = t({1, 2, 5, 5, 5}), x64 = t({1, 2, 5, 5, 5}, kFloat64);
  const Tensor w32 = t({2, 2, 3, 3, 3}), w64 = t({2, 2, 3, 3, 3}, kFloat64);
  EXPECT_ERROR_EQ(conv3d(x32, w64), "conv3d: input (float32) and weight (float64) must have the same dtype");
  EXPECT_ERROR_EQ(conv3d(x64, w32), "conv3d: input (float64) and weight (float32) must have the same dtype");
  EXPECT_ERROR_EQ(conv3d(x32, w32, t({2}, kFloat64)),
                  "conv3d: bias (float64) and input (float32) must have the same dtype");
  EXPECT_ERROR_EQ(conv_transpose3d(x64, w32),
                  "conv_transpose3d: input (float64) and weight (float32) must have the same dtype");
  EXPECT_ERROR_EQ(conv_transpose3d(x64, w64, t({2})),
                  "conv_transpose3d: bias (float32) and input (float64) must have the same dtype");
  EXPECT_ERROR_EQ(conv3d(t({1, 2, 5, 5, 5}, kInt64), t({2, 2, 3, 3, 3}, kInt64)),
                  "conv3d: expected a float32 or float64 input, but got int64");
  EXPECT_ERROR_EQ(conv_transpose3d(t({1, 2, 5, 5, 5}, kInt64), t({2, 2, 3, 3, 3}, kInt64)),
                  "conv_transpose3d: expected a float32 or float64 input, but got int64");
}

// Sizes whose products overflow int64: a voxgrad::Error, never a crash, a wrap-around or an
// allocation (pytorch/pytorch#142457: a huge dilation crashed).
TEST(ConvErrors, Int64Overflow) {
  const Tensor x = t({1, 1, 5, 5, 5}), w = t({1, 1, 3, 3, 3});
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, 0, {1, kHuge, 1}), "conv3d: sizes overflow int64 (4611686018427387904 * 2)");
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, 0, kMax), "conv3d: sizes overflow int64 (9223372036854775807 * 2)");
  // A dilation that does not overflow but spans far more than the input.
  EXPECT_ERROR_CONTAINS(conv3d(x, t({1, 1, 2, 2, 2}), {}, 1, 0, kHuge),
                        "Kernel size: (4611686018427387905 x 4611686018427387905 x 4611686018427387905). Kernel size "
                        "can't be greater than actual input size");
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, {0, 0, kHuge}), "conv3d: sizes overflow int64 (2 * 4611686018427387904)");
  EXPECT_ERROR_EQ(conv3d(x, w, {}, 1, kMax), "conv3d: sizes overflow int64 (2 * 9223372036854775807)");
  // Padded sizes that fit but whose output has more elements than int64 can count.
  EXPECT_ERROR_CONTAINS(conv3d(x, w, {}, 1, kHuge / 2), "has more elements than int64 can count");
  // Transposed: huge stride, dilation or padding.
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, {1, kHuge, 1}),
                  "conv_transpose3d: sizes overflow int64 (4 * 4611686018427387904)");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, 0, 0, 1, kMax),
                  "conv_transpose3d: sizes overflow int64 (9223372036854775807 * 2)");
  // 2·padding overflows: it once wrapped, so padding = INT64_MAX gave a 9×9×9 output.
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, kHuge),
                  "conv_transpose3d: sizes overflow int64 (2 * 4611686018427387904)");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, kMax),
                  "conv_transpose3d: sizes overflow int64 (2 * 9223372036854775807)");
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, {0, kHuge + 1, 0}),
                  "conv_transpose3d: sizes overflow int64 (2 * 4611686018427387905)");
  // A large padding that does not overflow: the output size is negative.
  EXPECT_ERROR_EQ(conv_transpose3d(x, w, {}, 1, {kHuge / 2, 0, 0}),
                  "conv_transpose3d: Given input size per channel: (5 x 5 x 5). Calculated output size per channel: "
                  "(-4611686018427387897 x 7 x 7). Output size is too small");
  // Huge stride and output_padding give sizes that fit int64 but not memory: still an Error.
  EXPECT_ERROR_CONTAINS(conv_transpose3d(t({1, 1, 1, 1, 1}), t({1, 1, 1, 1, 1}), {}, kMax, 0, kMax - 1),
                        "conv_transpose3d: size [1, 1, 9223372036854775807, 9223372036854775807, "
                        "9223372036854775807] has more elements than int64 can count");
  EXPECT_ERROR_CONTAINS(conv_transpose3d(t({1, 1, 2, 2, 2}), w, {}, {kHuge / 4, 1, 1}),
                        "has more elements than int64 can count");
  // Sizes that fit int64 but not memory (1.4e13 float32 elements): an Error from the allocator.
  EXPECT_ERROR_CONTAINS(conv_transpose3d(t({1, 1, 2, 2, 2}), w, {}, {std::int64_t{1} << 40, 1, 1}), "cannot allocate");
  // The weight gradient validates the same way.
  EXPECT_ERROR_EQ(conv3d_weight_grad(t({1, 1, 5, 5, 5}), t({1, 1, 3, 3, 3}), 3, 1, 0, kHuge, 1),
                  "conv3d_weight_grad: sizes overflow int64 (4611686018427387904 * 2)");
  EXPECT_ERROR_EQ(conv3d_weight_grad(t({1, 1, 5, 5, 5}), t({1, 1, 3, 3, 3}), 3, 1, kHuge, 1, 1),
                  "conv3d_weight_grad: sizes overflow int64 (2 * 4611686018427387904)");
  EXPECT_ERROR_EQ(conv3d_weight_grad(t({1, 1, 5, 5, 5}), t({1, 1, 3, 3, 3}), kMax, 1, 0, 1, 1),
                  "conv3d_weight_grad: grad_output of size [1, 1, 3, 3, 3] is larger than the convolution of input "
                  "[1, 1, 5, 5, 5] gives");
}

// --- conv3d_weight_grad ------------------------------------------------------------------------

TEST(ConvErrors, WeightGradArguments) {
  const Tensor x = t({2, 4, 5, 5, 5});
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({1, 2, 3, 3, 3}), 3, 1, 0, 1, 1),
                  "conv3d_weight_grad: expected 5-D input and grad_output with the same batch size, but got [2, 4, 5, "
                  "5, 5] and [1, 2, 3, 3, 3]");
  EXPECT_ERROR_EQ(conv3d_weight_grad(t({4, 5, 5, 5}), t({2, 3, 3, 3}), 3, 1, 0, 1, 1),
                  "conv3d_weight_grad: expected 5-D input and grad_output with the same batch size, but got [4, 5, 5, "
                  "5] and [2, 3, 3, 3]");
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({2, 2, 3, 3, 3}, kFloat64), 3, 1, 0, 1, 1),
                  "conv3d_weight_grad: input (float32) and grad_output (float64) must share a floating dtype");
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({2, 3, 3, 3, 3}), 3, 1, 0, 1, 2),
                  "conv3d_weight_grad: channels 4 and 3 must be divisible by groups=2");
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({2, 2, 3, 3, 3}), {3, 0, 3}, 1, 0, 1, 1),
                  "conv3d_weight_grad: kernel size must be positive, got (3, 0, 3)");
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({2, 2, 4, 3, 3}), 3, 1, 0, 1, 1),
                  "conv3d_weight_grad: grad_output of size [2, 2, 4, 3, 3] is larger than the convolution of input "
                  "[2, 4, 5, 5, 5] gives");
  // A kernel wider than the padded input allows no output, whatever the stride (the natural size
  // must not come from truncating (2 − 3)/2 towards zero).
  EXPECT_ERROR_EQ(conv3d_weight_grad(t({1, 1, 2, 2, 2}), t({1, 1, 1, 1, 1}), 3, 2, 0, 1, 1),
                  "conv3d_weight_grad: grad_output of size [1, 1, 1, 1, 1] is larger than the convolution of input "
                  "[1, 1, 2, 2, 2] gives");
  EXPECT_EQ(conv3d_weight_grad(t({1, 1, 3, 2, 2}), t({1, 1, 1, 1, 1}), {3, 2, 2}, 2, 0, 1, 1).sizes(),
            (Shape{1, 1, 3, 2, 2}));
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({2, 2, 3, 3, 3}), 3, 1, 0, 1, 0),
                  "conv3d_weight_grad: non-positive groups is not supported (got groups=0)");
  EXPECT_ERROR_EQ(conv3d_weight_grad(x, t({2, 2, 3, 3, 3}), 3, 0, 0, 1, 1),
                  "conv3d_weight_grad: non-positive stride is not supported (got stride=(0, 0, 0))");
}

// --- pad3d ------------------------------------------------------------------------------------

TEST(ConvErrors, Pad3d) {
  const Tensor x = t({1, 1, 3, 4, 5});
  EXPECT_ERROR_EQ(pad3d(x, {3, 0, 0, 0, 0, 0}, kReflect),
                  "pad3d: padding size should be less than the corresponding input dimension for reflect padding, but "
                  "got padding (3, 0) at dimension 2 of input [1, 1, 3, 4, 5]");
  EXPECT_ERROR_EQ(pad3d(x, {0, 0, 0, 0, 1, 5}, kReflect),
                  "pad3d: padding size should be less than the corresponding input dimension for reflect padding, but "
                  "got padding (1, 5) at dimension 4 of input [1, 1, 3, 4, 5]");
  EXPECT_ERROR_EQ(pad3d(t({2, 3, 4, 1}), {0, 0, 0, 0, 1, 0}, kReflect),
                  "pad3d: padding size should be less than the corresponding input dimension for reflect padding, but "
                  "got padding (1, 0) at dimension 4 of input [1, 2, 3, 4, 1]");
  // The largest reflect padding allowed is size − 1.
  EXPECT_EQ(pad3d(x, {2, 2, 3, 3, 4, 4}, kReflect).sizes(), (Shape{1, 1, 7, 10, 13}));
  EXPECT_ERROR_EQ(pad3d(t({3, 4, 5}), {1, 1, 1, 1, 1, 1}),
                  "pad3d: expected a 4-D (unbatched) or 5-D (batched) input, but got input of size [3, 4, 5]");
  EXPECT_ERROR_EQ(pad3d(t({1, 1, 1, 3, 4, 5}), {1, 1, 1, 1, 1, 1}, kReplicate),
                  "pad3d: expected a 4-D (unbatched) or 5-D (batched) input, but got input of size [1, 1, 1, 3, 4, 5]");
  EXPECT_ERROR_EQ(pad3d(x, {0, 0, -1, 0, 0, 0}), "pad3d: negative padding is not supported (got 0, 0, -1, 0, 0, 0)");
  EXPECT_ERROR_EQ(pad3d(x, {0, 0, 0, 5, 0, 0}, kCircular),
                  "pad3d: padding value causes wrapping around more than once (padding (0, 5) for size 4)");
  EXPECT_ERROR_EQ(pad3d(t({1, 1, 0, 4, 5}), {1, 0, 0, 0, 0, 0}, kReplicate),
                  "pad3d: replicate padding of an empty dimension is not possible");
  EXPECT_ERROR_CONTAINS(pad3d(Tensor(), {0, 0, 0, 0, 0, 0}), "pad3d");
}

// The error paths leave nothing behind: a valid call right after works.
TEST(ConvErrors, ValidCallAfterErrors) {
  EXPECT_THROW(conv3d(t({1, 2, 5, 5, 5}), t({2, 2, 3, 3, 3}), {}, 1, 0, kHuge), Error);
  EXPECT_THROW(conv_transpose3d(t({1, 2, 5, 5, 5}), t({2, 2, 3, 3, 3}), {}, 0), Error);
  const Tensor y = conv3d(ones({1, 2, 5, 5, 5}), ones({2, 2, 3, 3, 3}), ones({2}), 1, 1);
  EXPECT_EQ(y.sizes(), (Shape{1, 2, 5, 5, 5}));
  EXPECT_EQ(voxgrad::testing::values(y)[(0 * 5 + 2) * 5 * 5 + 2 * 5 + 2], 2.0 * 27 + 1.0);
}

}  // namespace
