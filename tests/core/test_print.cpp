// Printing follows PyTorch 1.13's repr (torch/_tensor_str.py) character for character, except that
// dtypes are named as voxgrad names them ("float64") and backward nodes without PyTorch's "0" suffix.

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include <voxgrad/voxgrad.h>
#include "test_util.h"

namespace vg = voxgrad;
using vg::Tensor;

namespace {

std::string str(const Tensor& t) { return vg::to_string(t); }

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// --- value formats ---------------------------------------------------------------------------------

TEST(Print, ZeroDimTensorPrintsTheBareValue) {
  EXPECT_EQ(str(vg::scalar_tensor(3.5)), "tensor(3.5000)");
  EXPECT_EQ(str(vg::scalar_tensor(-2.0)), "tensor(-2.)");
  EXPECT_EQ(str(vg::scalar_tensor(0.0)), "tensor(0.)");
  EXPECT_EQ(str(vg::scalar_tensor(7.0, vg::kInt64)), "tensor(7)");
}

TEST(Print, FractionalValuesUseFourDecimals) {
  EXPECT_EQ(str(vg::tensor({1.5, 2.25})), "tensor([1.5000, 2.2500])");
  EXPECT_EQ(str(vg::tensor({0.5, 123.456})), "tensor([  0.5000, 123.4560])");
}

TEST(Print, IntegerValuedFloatsPrintWithATrailingDot) {
  EXPECT_EQ(str(vg::tensor({1, 2, 3})), "tensor([1., 2., 3.])");
  EXPECT_EQ(str(vg::tensor({0, 10, -100})), "tensor([   0.,   10., -100.])");
  EXPECT_EQ(str(vg::zeros({3})), "tensor([0., 0., 0.])");
}

TEST(Print, NegativeValuesAlignOnTheRight) {
  EXPECT_EQ(str(vg::tensor({-1.5, 2.0})), "tensor([-1.5000,  2.0000])");
  EXPECT_EQ(str(vg::tensor({-1.0, 2.0})), "tensor([-1.,  2.])");
}

TEST(Print, WideRangesSwitchToScientificNotation) {
  EXPECT_EQ(str(vg::tensor({1e-5, 1.0})), "tensor([1.0000e-05, 1.0000e+00])");
  EXPECT_EQ(str(vg::tensor({1.0, 2000.0})), "tensor([1.0000e+00, 2.0000e+03])");
  EXPECT_EQ(str(vg::tensor({1e9, 2e9}, vg::kFloat64)), "tensor([1.0000e+09, 2.0000e+09], dtype=float64)");
  EXPECT_EQ(str(vg::tensor({-1e-5, 0.0}, vg::kFloat64)), "tensor([-1.0000e-05,  0.0000e+00], dtype=float64)");
  // A ratio of exactly 1000 stays fixed-point, as in PyTorch.
  EXPECT_EQ(str(vg::tensor({1.0, 1000.0})), "tensor([   1., 1000.])");
}

TEST(Print, NanAndInfArePaddedToTheColumnWidth) {
  EXPECT_EQ(str(vg::tensor({1.5, kNan, kInf, -kInf})), "tensor([1.5000,    nan,    inf,   -inf])");
  EXPECT_EQ(str(vg::tensor({1.0, kNan, kInf})), "tensor([1., nan, inf])");
  EXPECT_EQ(str(vg::tensor({-kInf, 1.0})), "tensor([-inf, 1.])");
  EXPECT_EQ(str(vg::tensor({kNan, kNan})), "tensor([nan, nan])");
  EXPECT_EQ(str(vg::tensor({0.0, kNan})), "tensor([0., nan])");
  EXPECT_EQ(str(vg::scalar_tensor(kInf)), "tensor(inf)");
  EXPECT_EQ(str(vg::tensor({1e-5, kNan})), "tensor([1.0000e-05,        nan])");
}

TEST(Print, Int64ValuesPrintAsIntegers) {
  EXPECT_EQ(str(vg::tensor({1, 2, 3}, vg::kInt64)), "tensor([1, 2, 3])");
  EXPECT_EQ(str(vg::tensor({5, -100}, vg::kInt64)), "tensor([   5, -100])");
  EXPECT_EQ(str(vg::tensor({0, 1000000}, vg::kInt64)), "tensor([      0, 1000000])");
}

TEST(Print, Int64ValuesBeyondDoublePrecisionAreExact) {
  const std::int64_t big[] = {std::numeric_limits<std::int64_t>::max(), -(std::int64_t{1} << 53) - 1};
  EXPECT_EQ(str(vg::from_blob(big, {2})), "tensor([9223372036854775807,   -9007199254740993])");
}

TEST(Print, Float64AddsADtypeSuffix) {
  EXPECT_EQ(str(vg::tensor({1, 2}, vg::kFloat64)), "tensor([1., 2.], dtype=float64)");
  EXPECT_EQ(str(vg::scalar_tensor(0.5, vg::kFloat64)), "tensor(0.5000, dtype=float64)");
}

TEST(Print, Float32AndInt64HaveNoDtypeSuffix) {
  EXPECT_EQ(str(vg::tensor({0.5})), "tensor([0.5000])");
  EXPECT_EQ(str(vg::tensor({4}, vg::kInt64)), "tensor([4])");
}

// --- layout ----------------------------------------------------------------------------------------

TEST(Print, MatrixRowsContinueWithAnEightSpaceIndent) {
  EXPECT_EQ(str(vg::tensor({1, 2, 3, 4}).view({2, 2})), "tensor([[1., 2.],\n        [3., 4.]])");
  EXPECT_EQ(str(vg::tensor({1.5, -2, 3, 4}).view({2, 2})), "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])");
}

TEST(Print, ThreeDimensionalBlocksAreSeparatedByABlankLine) {
  EXPECT_EQ(str(vg::arange(8.0).view({2, 2, 2})),
            "tensor([[[0., 1.],\n"
            "         [2., 3.]],\n"
            "\n"
            "        [[4., 5.],\n"
            "         [6., 7.]]])");
}

TEST(Print, FourDimensionalBlocksAreSeparatedByTwoBlankLines) {
  EXPECT_EQ(str(vg::arange(4.0, vg::kInt64).view({2, 1, 2, 1})),
            "tensor([[[[0],\n"
            "          [1]]],\n"
            "\n"
            "\n"
            "        [[[2],\n"
            "          [3]]]])");
}

TEST(Print, NonContiguousViewsPrintInLogicalOrder) {
  EXPECT_EQ(str(vg::arange(6.0).view({2, 3}).t()), "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])");
  EXPECT_EQ(str(vg::arange(6.0, vg::kInt64).slice(0, 1, 6, 2)), "tensor([1, 3, 5])");
}

TEST(Print, LongRowsWrapAtEightyColumns) {
  EXPECT_EQ(str(vg::arange(30.0)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
            "        28., 29.])");
}

TEST(Print, SuffixThatWouldOverflowTheLineStartsANewLine) {
  EXPECT_EQ(str(vg::arange(14.0, vg::kFloat64)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],\n"
            "       dtype=float64)");
  EXPECT_EQ(str(vg::arange(14.0, vg::kFloat64).requires_grad_()),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],\n"
            "       dtype=float64, requires_grad=True)");
  // Short last lines keep the suffix on them.
  const std::string s = str(vg::arange(30.0, vg::kFloat64));
  EXPECT_EQ(s.substr(s.rfind('\n') + 1), "        28., 29.], dtype=float64)");
}

// --- empty and summarised --------------------------------------------------------------------------

TEST(Print, EmptyTensors) {
  EXPECT_EQ(str(vg::zeros({0})), "tensor([])");
  EXPECT_EQ(str(vg::zeros({2, 0})), "tensor([], size=(2, 0))");
  EXPECT_EQ(str(vg::zeros({0, 3, 1})), "tensor([], size=(0, 3, 1))");
}

TEST(Print, EmptyTensorsNameANonDefaultDtype) {
  EXPECT_EQ(str(vg::zeros({0}, vg::kInt64)), "tensor([], dtype=int64)");
  EXPECT_EQ(str(vg::zeros({2, 0}, vg::kFloat64)), "tensor([], size=(2, 0), dtype=float64)");
}

TEST(Print, LargeVectorsAreSummarisedWithThreeEdgeItems) {
  const std::string s = str(vg::arange(1000.0, 3000.0));
  EXPECT_EQ(s, "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])");
  EXPECT_LT(s.size(), 80u);
  EXPECT_EQ(str(vg::arange(1001.0, vg::kInt64)), "tensor([   0,    1,    2,  ...,  998,  999, 1000])");
}

TEST(Print, SummarisedScientificVectorWrapsLikeAnyOther) {
  // 1999 / 1 > 1000 puts arange(2000.) in scientific mode; the "..." counts as one item per line.
  EXPECT_EQ(str(vg::arange(2000.0)),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
            "        1.9990e+03])");
}

TEST(Print, AtTheThresholdNothingIsSummarised) {
  const std::string s = str(vg::zeros({1000}));
  EXPECT_EQ(s.find("..."), std::string::npos);
  EXPECT_EQ(s.substr(0, 20), "tensor([0., 0., 0., ");
}

TEST(Print, LargeMatricesAreSummarisedInBothDims) {
  EXPECT_EQ(str(vg::arange(1000.0, 3000.0).view({20, 100})),
            "tensor([[1000., 1001., 1002.,  ..., 1097., 1098., 1099.],\n"
            "        [1100., 1101., 1102.,  ..., 1197., 1198., 1199.],\n"
            "        [1200., 1201., 1202.,  ..., 1297., 1298., 1299.],\n"
            "        ...,\n"
            "        [2700., 2701., 2702.,  ..., 2797., 2798., 2799.],\n"
            "        [2800., 2801., 2802.,  ..., 2897., 2898., 2899.],\n"
            "        [2900., 2901., 2902.,  ..., 2997., 2998., 2999.]])");
}

TEST(Print, SummaryFormatIsChosenFromTheShownValuesOnly) {
  // The hidden middle value 0.5 would force four decimals; only the shown edges count.
  Tensor t = vg::arange(1000.0, 3000.0);
  t.select(0, 1000).fill_(0.5);
  EXPECT_EQ(str(t), "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])");
}

TEST(Print, HugeTensorsPrintQuickly) {
  const std::string s = str(vg::zeros({1000, 1000}));
  EXPECT_LT(s.size(), 400u);
  EXPECT_NE(s.find("...,\n"), std::string::npos);
}

// --- autograd suffixes -----------------------------------------------------------------------------

TEST(Print, LeafRequiringGradSaysSo) {
  EXPECT_EQ(str(vg::tensor({1, 2}).requires_grad_()), "tensor([1., 2.], requires_grad=True)");
  EXPECT_EQ(str(vg::tensor({1, 2}, vg::dtype(vg::kFloat64).requires_grad(true))),
            "tensor([1., 2.], dtype=float64, requires_grad=True)");
}

TEST(Print, ResultOfAnOpNamesItsGradFn) {
  const Tensor x = vg::tensor({1, 2}).requires_grad_();
  EXPECT_EQ(str(x * 2.0), "tensor([2., 4.], grad_fn=<MulBackward>)");
  EXPECT_EQ(str(x.sum()), "tensor(3., grad_fn=<SumBackward>)");
  EXPECT_EQ(str((x * 2.0).detach()), "tensor([2., 4.])");
  {
    vg::NoGradGuard guard;
    EXPECT_EQ(str(x * 2.0), "tensor([2., 4.])");
  }
}

// --- entry points ----------------------------------------------------------------------------------

TEST(Print, UndefinedTensorUsesLibtorchsText) {
  EXPECT_EQ(str(Tensor()), "[ Tensor (undefined) ]");
  std::ostringstream os;
  os << Tensor();
  EXPECT_EQ(os.str(), "[ Tensor (undefined) ]");
}

TEST(Print, StreamAndFmtGiveTheSameText) {
  const Tensor t = vg::tensor({1.5, 2.25});
  std::ostringstream os;
  os << t;
  EXPECT_EQ(os.str(), "tensor([1.5000, 2.2500])");
  EXPECT_EQ(fmt::format("{}", t), "tensor([1.5000, 2.2500])");
  EXPECT_EQ(fmt::format("x = {}!", vg::scalar_tensor(1.0)), "x = tensor(1.)!");
}
