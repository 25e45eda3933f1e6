// Overflow-safe sizes: adversarial shapes and arguments (products that overflow int64, sizes that fit
// int64 but no machine's memory) give a voxgrad::Error naming the op before anything is allocated,
// never a wrap-around, a std::bad_alloc, an out-of-memory kill or a crash. Expanded views (which
// allocate nothing) stand in for huge inputs. The conv pair's own cases live in
// tests/ops/test_conv_errors.cpp (ConvErrors.Int64Overflow), the checkpoint reader's in
// tests/io/test_checkpoint.cpp (CheckpointCorrupt.ShapeWhoseSizeOverflowsIsRefused).
#include <cstdint>
#include <limits>

#include "test_util.h"

namespace {

using namespace voxgrad;
namespace F = voxgrad::nn::functional;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k31 = std::int64_t{1} << 31;
constexpr std::int64_t k32 = std::int64_t{1} << 32;
constexpr std::int64_t k40 = std::int64_t{1} << 40;
constexpr std::int64_t k62 = std::int64_t{1} << 62;

// A tensor of `sizes` that allocates one element: a scalar expanded (every stride 0).
Tensor huge_view(const Shape& sizes, DType dtype = kFloat32) { return zeros({}, dtype).expand(sizes); }

// Expects `stmt` to throw a voxgrad::Error (not std::bad_alloc, not std::length_error) whose message
// contains `substr`; the message is printed so that the log shows what a user would read.
#define EXPECT_SIZE_ERROR(stmt, substr)                                                                           \
  do {                                                                                                            \
    try {                                                                                                         \
      (void)(stmt);                                                                                               \
      ADD_FAILURE() << #stmt << ": expected voxgrad::Error containing \"" << (substr) << "\"";                    \
    } catch (const ::voxgrad::Error& e) {                                                                         \
      EXPECT_NE(std::string(e.what()).find(substr), std::string::npos) << #stmt << ": message was: " << e.what(); \
    } catch (const std::exception& e) {                                                                           \
      ADD_FAILURE() << #stmt << ": threw " << typeid(e).name() << " (" << e.what() << "), not voxgrad::Error";    \
    }                                                                                                             \
  } while (false)

// --- factories ----------------------------------------------------------------------------------

TEST(Overflow, FactoriesRefuseElementCountsThatOverflowInt64) {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    EXPECT_SIZE_ERROR(empty({k32, k32}, dtype), "empty: size [4294967296, 4294967296] has more elements than int64");
    EXPECT_SIZE_ERROR(zeros({kMax, 2}, dtype), "zeros: size [9223372036854775807, 2] has more elements");
    EXPECT_SIZE_ERROR(ones({2, 2, k62}, dtype), "ones: size");
    EXPECT_SIZE_ERROR(full({k40, k40}, 1.0, dtype), "full: size");
  }
  EXPECT_SIZE_ERROR(rand({k40, k40}), "more elements than int64");
  EXPECT_SIZE_ERROR(randn({k40, k40}, kFloat64), "more elements than int64");
  EXPECT_SIZE_ERROR(randint(0, 5, {k40, k40}), "more elements than int64");
  // A product that wraps to a small positive number (2^32 · 2^32 · 2 wraps to 0, 3 · 2^62 to 2^62).
  EXPECT_SIZE_ERROR(empty({k32, k32, 2}), "more elements than int64");
  EXPECT_SIZE_ERROR(empty({3, k62}), "more elements than int64");
  // A product that wraps to a negative number.
  EXPECT_SIZE_ERROR(empty({k31, k31, 3}), "more elements than int64");
}

TEST(Overflow, FactoriesRefuseByteSizesBeyondMemoryBeforeAllocating) {
  // Countable elements whose bytes overflow the address space (2^61 · 8 = 2^64).
  EXPECT_SIZE_ERROR(empty({std::int64_t{1} << 61}, kFloat64), "needs more memory than can be addressed");
  EXPECT_SIZE_ERROR(empty({std::int64_t{1} << 62}), "needs more memory than can be addressed");
  // Addressable, but more than this machine's memory (2^40 float32 = 4 TiB): refused up front, not
  // left to overcommit and a later out-of-memory kill.
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    EXPECT_SIZE_ERROR(zeros({k40}, dtype), "GiB of memory");
    EXPECT_SIZE_ERROR(empty({1024, 1024, 1024, 1024}, dtype), "GiB of memory");
  }
  EXPECT_SIZE_ERROR(randn({k40}), "GiB of memory");
  EXPECT_SIZE_ERROR(randint(0, 2, {k40}), "GiB of memory");
  // A zero-sized dim makes any other sizes valid (no elements, no memory), as in PyTorch.
  EXPECT_EQ(empty({0, k62, k62}).numel(), 0);
  EXPECT_EQ(zeros({k40, 0}).sizes(), (Shape{k40, 0}));
}

TEST(Overflow, ArangeRefusesCountsThatDoNotFit) {
  EXPECT_SIZE_ERROR(arange(0.0, 1e30), "arange");
  EXPECT_SIZE_ERROR(arange(0.0, 1e19, 1.0, kInt64), "arange");
  EXPECT_SIZE_ERROR(arange(-1e300, 1e300, 1e-300), "arange");
  EXPECT_SIZE_ERROR(arange(0.0, 1.0, 1e-18), "GiB of memory");  // 1e18 float32: fits int64, not memory
}

TEST(Overflow, LikeFactoriesOfHugeViewsAreRefused) {
  const Tensor big = huge_view({k40, 4});  // 2^42 elements, 4 bytes of storage
  EXPECT_SIZE_ERROR(zeros_like(big), "GiB of memory");
  EXPECT_SIZE_ERROR(empty_like(big), "GiB of memory");
  EXPECT_SIZE_ERROR(randn_like(big), "GiB of memory");
  EXPECT_SIZE_ERROR(full_like(big, 2.0), "GiB of memory");
}

// --- views: reshape, view, expand, narrow, slice ------------------------------------------------

TEST(Overflow, ReshapeAndViewRefuseShapesThatOverflow) {
  const Tensor x = zeros({4, 6});
  EXPECT_SIZE_ERROR(x.reshape({k32, k32}), "reshape");
  EXPECT_SIZE_ERROR(x.view({k32, k32, 2}), "view");  // wraps to 0
  EXPECT_SIZE_ERROR(x.reshape({kMax, 2}), "reshape");
  EXPECT_SIZE_ERROR(x.reshape({-1, k62, 4}), "reshape");
  EXPECT_SIZE_ERROR(x.view({k62, -1}), "view");
  EXPECT_SIZE_ERROR(x.reshape({-1, 0}), "reshape");  // -1 with a zero dim: any size would do
  EXPECT_SIZE_ERROR(x.view({-1, -1}), "view");
  EXPECT_SIZE_ERROR(x.reshape({-2, -12}), "reshape");
  // A zero-element tensor cannot infer -1 next to a zero dim either (no division by zero).
  const Tensor e = zeros({0, 3});
  EXPECT_SIZE_ERROR(e.reshape({0, -1}), "reshape");
  EXPECT_SIZE_ERROR(e.reshape({3, 0, -1}), "reshape");
  // Views of a huge expanded tensor keep working without memory, and flattening it needs a copy
  // that is refused.
  const Tensor big = huge_view({k31, k31});   // 2^62 elements
  EXPECT_EQ(big.reshape({-1}).numel(), k62);  // still a stride-0 view
  // [2, 2^40] with strides [1, 0] cannot be flattened as a view: the copy (8 TiB) is refused.
  EXPECT_SIZE_ERROR(zeros({1, 2}).expand({k40, 2}).t().reshape({-1}), "GiB of memory");
  EXPECT_SIZE_ERROR(big.contiguous(), "memory");
  EXPECT_SIZE_ERROR(big.clone(), "memory");
}

TEST(Overflow, ExpandRefusesElementCountsThatOverflowInt64) {
  const Tensor s = zeros({});
  // 2^80 elements: no int64 can count them, so no op could index the view.
  EXPECT_SIZE_ERROR(s.expand({k40, k40}), "expand");
  EXPECT_SIZE_ERROR(s.expand({k32, k32, 2}), "expand");  // wraps to 0
  EXPECT_SIZE_ERROR(zeros({1, 3}).expand({k62, 3}), "expand");
  EXPECT_SIZE_ERROR(zeros({1, 3}).expand({kMax, -1}), "expand");
  // Counting fits int64: a valid (allocation-free) view.
  EXPECT_EQ(s.expand({k31, k31}).numel(), k62);
}

TEST(Overflow, NarrowAndSliceWithHugeBoundsAreRefusedOrClamped) {
  const Tensor x = arange(10.0);
  // start + length overflows int64.
  EXPECT_SIZE_ERROR(x.narrow(0, 5, kMax), "narrow");
  EXPECT_SIZE_ERROR(x.narrow(0, kMax, 1), "narrow");
  EXPECT_SIZE_ERROR(x.narrow(0, 0, -1), "narrow");
  // Slicing clamps as Python does, even for the extreme int64 values.
  EXPECT_EQ(x.slice(0, std::numeric_limits<std::int64_t>::min(), kMax).numel(), 10);
  EXPECT_EQ(x.slice(0, kMax, kMax).numel(), 0);
  EXPECT_EQ(x.slice(0, 0, kMax, kMax).numel(), 1);
  EXPECT_EQ(x.slice(0, -kMax, -kMax).numel(), 0);
  EXPECT_SIZE_ERROR(x.select(0, kMax), "select");
  EXPECT_SIZE_ERROR(x.select(0, std::numeric_limits<std::int64_t>::min()), "select");
}

// An empty tensor's strides saturate at INT64_MAX (they are never used); narrowing, slicing or
// selecting it must not multiply them into its storage offset (found by fuzz_conv: F::conv3d with
// padding kSame narrows an empty output twice; UBSan flagged the signed overflow in slice()).
TEST(Overflow, ViewsOfEmptyTensorsWithSaturatedStridesKeepAValidOffset) {
  const Tensor e = zeros({3, 0, k62, 4}, kFloat64);
  ASSERT_EQ(e.strides()[0], kMax);
  const Tensor n1 = e.narrow(0, 1, 2), n2 = n1.narrow(0, 1, 1), s = e.slice(0, 2), sel = e.select(0, 2);
  for (const Tensor& v : {n1, n2, s, sel}) {
    EXPECT_EQ(v.numel(), 0);
    EXPECT_GE(v.storage_offset(), 0);
    EXPECT_EQ(v.contiguous().numel(), 0);
  }
  EXPECT_EQ(n2.sizes(), (Shape{1, 0, k62, 4}));
  EXPECT_EQ(sel.sizes(), (Shape{0, k62, 4}));
  EXPECT_EQ(n2.select(0, 0).sum().item<double>(), 0.0);
}

// --- element-wise, reductions, linear algebra on huge views ------------------------------------

TEST(Overflow, BroadcastingToAShapeThatOverflowsIsRefused) {
  const Tensor a = huge_view({k40, 1}), b = huge_view({1, k40});
  EXPECT_SIZE_ERROR(a + b, "add: size [1099511627776, 1099511627776] has more elements than int64 can count");
  EXPECT_SIZE_ERROR(a * b, "mul: size");
  EXPECT_SIZE_ERROR(where(a, a, b), "where: size");
  // Fits int64, not memory.
  const Tensor c = huge_view({k31, 1}), d = huge_view({1, k31});
  EXPECT_SIZE_ERROR(c + d, "memory");
  EXPECT_SIZE_ERROR(where(c, c, d), "memory");
}

TEST(Overflow, OpsOnHugeViewsFailBeforeAllocating) {
  const Tensor big = huge_view({k40, 16});
  EXPECT_SIZE_ERROR(big.exp(), "memory");
  EXPECT_SIZE_ERROR(big.relu(), "memory");
  EXPECT_SIZE_ERROR(big.to(kFloat64), "memory");
  EXPECT_SIZE_ERROR(big.sum(1), "memory");  // the result alone is 4 TiB
  EXPECT_SIZE_ERROR(matmul(huge_view({k31, 1}), huge_view({1, k31})), "memory");
  EXPECT_SIZE_ERROR(mm(huge_view({k40, 2}), huge_view({2, k40})), "more elements than int64");  // 2^80 outputs
  EXPECT_SIZE_ERROR(matmul(huge_view({k31, 1, 1, 1}), huge_view({k40, 1, 1})),
                    "matmul: size [2147483648, 1099511627776]");
}

// --- cat, stack --------------------------------------------------------------------------------

TEST(Overflow, CatAndStackRefuseResultSizesThatOverflow) {
  const Tensor a = huge_view({k62});
  // 3 · 2^62 along the cat dim: the sum overflows int64.
  EXPECT_SIZE_ERROR(cat({a, a, a}), "cat");
  EXPECT_SIZE_ERROR(cat({huge_view({kMax}), huge_view({1})}), "cat");
  // The sum fits, but the result has more elements than int64 can count.
  const Tensor b = huge_view({k32, k32 / 4});
  EXPECT_SIZE_ERROR(cat({b, b, b, b, b}), "cat: size [21474836480, 1073741824] has more elements than int64");
  // Fits int64, not memory.
  const Tensor c = huge_view({k40});
  EXPECT_SIZE_ERROR(cat({c, c}), "memory");
  EXPECT_SIZE_ERROR(stack({b, b, b, b, b}), "has more elements than int64");
  EXPECT_SIZE_ERROR(stack({c, c}), "memory");
}

// --- pooling and upsampling --------------------------------------------------------------------

TEST(Overflow, PoolingWithHugeKernelStrideDilationOrPaddingIsRefused) {
  const Tensor x = zeros({1, 1, 5, 5, 5});
  for (std::int64_t k : {k62, kMax}) {
    EXPECT_SIZE_ERROR(max_pool3d(x, k), "max_pool3d");
    EXPECT_SIZE_ERROR(avg_pool3d(x, k), "avg_pool3d");
    EXPECT_SIZE_ERROR(max_pool3d(x, 2, 1, k), "max_pool3d");                      // padding > kernel / 2
    EXPECT_SIZE_ERROR(max_pool3d(x, 3, 1, 0, k), "max_pool3d");                   // dilation · (kernel − 1)
    EXPECT_SIZE_ERROR(max_pool3d(x, {3, 3, k}, 1, {1, 1, k / 2}), "max_pool3d");  // in + 2·padding
    EXPECT_SIZE_ERROR(avg_pool3d(x, {3, 3, k}, 1, {1, 1, k / 2}), "avg_pool3d");
  }
  // A huge stride is valid: one window per dim.
  EXPECT_EQ(max_pool3d(x, 2, kMax).sizes(), (Shape{1, 1, 1, 1, 1}));
  EXPECT_EQ(avg_pool3d(x, 2, 1, 0, false, true, kMax).sizes(), (Shape{1, 1, 4, 4, 4}));  // a huge divisor
  // Ceil mode with a huge stride and padding near the limit.
  EXPECT_SIZE_ERROR(max_pool3d(x, kMax, kMax, kMax / 2, 1, true), "max_pool3d");
  // A huge (expanded) input: the output alone needs more memory than the machine has.
  const Tensor big = huge_view({1, 1, k31, std::int64_t{1} << 30, 2});  // 2^62 elements
  EXPECT_SIZE_ERROR(max_pool3d(big, {1, 1, 2}), "memory");
  EXPECT_SIZE_ERROR(avg_pool3d(big, {1, 1, 2}), "memory");
}

TEST(Overflow, UpsampleWithHugeSizesOrScaleFactorsIsRefused) {
  const Tensor x = zeros({1, 1, 2, 2, 2});
  EXPECT_SIZE_ERROR(upsample_nearest3d(x, {k40, k40, k40}), "upsample_nearest3d");
  EXPECT_SIZE_ERROR(upsample_trilinear3d(x, {k40, k40, k40}, false), "upsample_trilinear3d");
  EXPECT_SIZE_ERROR(upsample_nearest3d(x, {kMax, kMax, kMax}), "upsample_nearest3d");
  EXPECT_SIZE_ERROR(upsample_nearest3d(x, {k40, 1, 1}), "memory");  // fits int64, not memory
  // Factors whose floor(2 · f) is no int64 (4.7e18 · 2 > INT64_MAX), or not a number.
  for (double f :
       {1e30, 1e300, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), 4.7e18}) {
    const auto opts = F::InterpolateFuncOptions().scale_factor(std::vector<double>{f, 1.0, 1.0});
    EXPECT_SIZE_ERROR(F::interpolate(x, opts), "gives no valid output size");
    EXPECT_SIZE_ERROR(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(f).mode(kTrilinear)),
                      "gives no valid output size");
  }
  EXPECT_SIZE_ERROR(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(-2.0)),
                    "output sizes should be greater than 0");
  // Finite int64 sizes whose product is not: 2^61 per dim.
  EXPECT_SIZE_ERROR(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(double(std::int64_t{1} << 60))),
                    "has more elements than int64");
  // 2^21 per dim: 2^66 elements.
  EXPECT_SIZE_ERROR(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(double(1 << 20))), "int64");
  nn::UpsampleImpl up(nn::UpsampleOptions().scale_factor(1e12));
  EXPECT_SIZE_ERROR(up.forward(x), "int64");
}

// --- modules whose parameters would not fit ---------------------------------------------------

TEST(Overflow, ModulesWithHugeSizesAreRefusedAtConstruction) {
  EXPECT_SIZE_ERROR(nn::LinearImpl(nn::LinearOptions(k40, k40)), "int64");
  EXPECT_SIZE_ERROR(nn::LinearImpl(nn::LinearOptions(k31, k31)), "memory");
  EXPECT_SIZE_ERROR(nn::Conv3dImpl(nn::Conv3dOptions(k32, k32, 3)), "int64");
  EXPECT_SIZE_ERROR(nn::Conv3dImpl(nn::Conv3dOptions(1, 1, k32)), "int64");
  EXPECT_SIZE_ERROR(nn::Conv3dImpl(nn::Conv3dOptions(1, 1, 1 << 15)), "memory");  // 2^45 weights
  EXPECT_SIZE_ERROR(nn::ConvTranspose3dImpl(nn::ConvTranspose3dOptions(k32, k32, 3)), "int64");
}

// --- padding and convolution on huge views ------------------------------------------------------

// DISABLED: pad3d (ops/conv.cpp, under concurrent optimisation) builds its per-dim index maps,
// std::vector<int64_t> of size + before + after, before it validates the padded size: a padding
// near INT64_MAX overflows that sum (undefined behaviour, then std::length_error or a crash), and a
// padding of 2^31 value-initialises a 16 GiB vector before the output's memory check could refuse
// it. Zeros and replicate modes are affected (reflect and circular bound the padding by the input
// size). Enable once pad3d checks checked_add(size, before + after) and the output's byte size
// before building the maps.
TEST(Overflow, PaddingWithHugeAmountsIsRefused) {
  const Tensor x = zeros({1, 1, 3, 3, 3});
  EXPECT_SIZE_ERROR(pad3d(x, {kMax, kMax, 0, 0, 0, 0}), "pad3d");
  EXPECT_SIZE_ERROR(pad3d(x, {k62, k62, 0, 0, 0, 0}), "pad3d");
  EXPECT_SIZE_ERROR(pad3d(x, {kMax, 0, 0, 0, 0, 0}, kReplicate), "pad3d");
  EXPECT_SIZE_ERROR(pad3d(x, {k31, 0, 0, 0, 0, 0}), "memory");
  EXPECT_SIZE_ERROR(pad3d(x, {k31, 0, 0, 0, 0, 0}, kReplicate), "memory");
}

TEST(Overflow, PaddingThatIsBoundedByTheInputIsRefused) {
  const Tensor x = zeros({1, 1, 3, 3, 3});
  EXPECT_SIZE_ERROR(pad3d(x, {-kMax, 0, 0, 0, 0, 0}), "pad3d: negative padding");
  EXPECT_SIZE_ERROR(pad3d(x, {std::numeric_limits<std::int64_t>::min(), 0, 0, 0, 0, 0}), "pad3d: negative padding");
  EXPECT_SIZE_ERROR(pad3d(x, {kMax, 0, 0, 0, 0, 0}, kReflect), "pad3d: padding size should be less");
  EXPECT_SIZE_ERROR(pad3d(x, {0, kMax, 0, 0, 0, 0}, kCircular), "pad3d: padding value causes wrapping");
}

TEST(Overflow, ConvolutionOfHugeViewsFailsBeforeAllocating) {
  // The column buffer of a 2^40-tap kernel is refused before any GEMM or vol2col.
  const Tensor x = huge_view({1, 1, k31, k31, 1}), w = huge_view({1, 1, k31, k31, 1});
  EXPECT_SIZE_ERROR(conv3d(x, w), "memory");
  EXPECT_SIZE_ERROR(conv_transpose3d(huge_view({1, 1, 2, 2, 2}), huge_view({1, 1, k31, k31, 1})),
                    "conv_transpose3d: size [1, 1, 2147483649, 2147483649, 2] has more elements than int64");
  EXPECT_SIZE_ERROR(conv_transpose3d(huge_view({1, 1, 2, 2, 1}), huge_view({1, 1, k31, 1 << 20, 1})), "memory");
  // Channel counts whose product overflows int64.
  EXPECT_SIZE_ERROR(conv3d(huge_view({1, k40, 1, 1, 1}), huge_view({k40, k40, 1, 1, 1})), "");
}

}  // namespace
