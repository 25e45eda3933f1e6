// matmul / mm / bmm: values against a naive triple loop for every shape rule of torch.matmul,
// strided operands, zero-size dims, the parallel blocked GEMM (bit-identical for any thread
// count), error messages, and float64 gradcheck / gradgradcheck.

#include <vector>

#include <voxgrad/voxgrad.h>
#include "test_util.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::bit_identical;
using voxgrad::testing::expect_close;
using voxgrad::testing::expect_values;
using voxgrad::testing::values;

/// torch.matmul written out: 1-D operands gain a dim (removed again from the result), batch dims
/// broadcast, and each output element is a plain k-loop in double.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  Shape as = a.sizes(), bs = b.sizes();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const std::int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  EXPECT_EQ(bs[bs.size() - 2], k);
  const Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const std::size_t nd = std::max(ba.size(), bb.size());
  Shape pa(nd - ba.size(), 1), pb(nd - bb.size(), 1), batch(nd);
  pa.insert(pa.end(), ba.begin(), ba.end());
  pb.insert(pb.end(), bb.begin(), bb.end());
  std::int64_t nbatch = 1;
  for (std::size_t d = 0; d < nd; ++d) {
    batch[d] = std::max(pa[d], pb[d]);
    nbatch *= batch[d];
  }
  const std::vector<double> va = values(a), vb = values(b);
  std::vector<double> out(static_cast<std::size_t>(nbatch * m * n), 0.0);
  for (std::int64_t i = 0; i < nbatch; ++i) {
    // Batch index -> row-major offsets into each operand's (broadcast) batch.
    std::int64_t rest = i, ia = 0, ib = 0, sa = 1, sb = 1;
    for (std::size_t d = nd; d-- > 0;) {
      const std::int64_t idx = rest % batch[d];
      rest /= batch[d];
      ia += (pa[d] == 1 ? 0 : idx) * sa;
      ib += (pb[d] == 1 ? 0 : idx) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    const double* A = va.data() + ia * m * k;
    const double* B = vb.data() + ib * k * n;
    double* C = out.data() + i * m * n;
    for (std::int64_t r = 0; r < m; ++r)
      for (std::int64_t c = 0; c < n; ++c) {
        double s = 0;
        for (std::int64_t q = 0; q < k; ++q) s += A[r * k + q] * B[q * n + c];
        C[r * n + c] = s;
      }
  }
  Shape out_sizes = batch;
  if (!a_vec) out_sizes.push_back(m);
  if (!b_vec) out_sizes.push_back(n);
  return from_blob(out.data(), out_sizes, kFloat64);
}

/// Random operand: standard normal in float64; uniform [0, 1) in float32, so sums never cancel
/// and a relative tolerance is meaningful.
Tensor operand(const Shape& sizes, DType dt, std::uint64_t seed) {
  manual_seed(seed);
  return dt == kFloat64 ? randn(sizes, kFloat64) : rand(sizes, kFloat32);
}

/// Asserts matmul(a, b) equals the naive product: 1e-10 in float64, 1e-4 relative in float32.
void expect_matches_naive(const Tensor& got, const Tensor& a, const Tensor& b) {
  const Tensor want = naive_matmul(a, b);
  EXPECT_EQ(got.dtype(), a.dtype());
  if (a.dtype() == kFloat64)
    expect_close(got, want, 1e-10, 1e-12);
  else
    expect_close(got, want, 1e-6, 1e-4);
}

void check_matmul(const Shape& sa, const Shape& sb) {
  for (DType dt : {kFloat64, kFloat32}) {
    SCOPED_TRACE(::testing::Message() << shape_str(sa) << " . " << shape_str(sb) << " in " << dt);
    const Tensor a = operand(sa, dt, 1), b = operand(sb, dt, 2);
    expect_matches_naive(matmul(a, b), a, b);
  }
}

/// A float64 leaf that requires grad.
Tensor leaf(const Shape& sizes, std::uint64_t seed) {
  manual_seed(seed);
  return randn(sizes, dtype(kFloat64).requires_grad(true));
}

/// gradcheck of (a, b) -> pre_a(a) · pre_b(b), both inputs requiring grad.
void check_matmul_grad(const Shape& sa, const Shape& sb, bool transpose_a = false, bool transpose_b = false) {
  SCOPED_TRACE(::testing::Message() << shape_str(sa) << " . " << shape_str(sb));
  const Tensor a = leaf(sa, 1), b = leaf(sb, 2);
  EXPECT_TRUE(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        const Tensor x = transpose_a ? in[0].transpose(-1, -2) : in[0];
        const Tensor y = transpose_b ? in[1].transpose(-1, -2) : in[1];
        return matmul(x, y);
      },
      {a, b}));
}

// --- values: every shape rule -------------------------------------------------------------------

TEST(Matmul, VectorDotVectorIsAZeroDimTensor) {
  const Tensor d = matmul(tensor({1, 2, 3}), tensor({4, 5, 6}));
  EXPECT_EQ(d.dim(), 0);
  EXPECT_EQ(d.item<double>(), 32.0);
  check_matmul({7}, {7});
  check_matmul({129}, {129});
  check_matmul({1}, {1});
}

TEST(Matmul, MatrixTimesVectorIsAVector) {
  expect_values(matmul(tensor({1, 2, 3, 4}).view({2, 2}), tensor({5, 6})), {2}, {17, 39});
  check_matmul({33, 7}, {7});
  check_matmul({1, 129}, {129});
}

TEST(Matmul, VectorTimesMatrixIsAVector) {
  expect_values(matmul(tensor({5, 6}), tensor({1, 2, 3, 4}).view({2, 2})), {2}, {23, 34});
  check_matmul({7}, {7, 33});
  check_matmul({129}, {129, 1});
}

TEST(Matmul, MatrixTimesMatrixForOddSizes) {
  expect_values(matmul(tensor({1, 2, 3, 4, 5, 6}).view({2, 3}), tensor({1, 0, 0, 1, 1, 1}).view({3, 2})), {2, 2},
                {4, 5, 10, 11});
  for (std::int64_t m : {1, 7, 33, 129})
    for (std::int64_t k : {1, 7, 33})
      for (std::int64_t n : {1, 7, 129}) check_matmul({m, k}, {k, n});
  check_matmul({129, 129}, {129, 129});
}

TEST(Matmul, BatchedThreeDTimesThreeD) {
  check_matmul({3, 7, 5}, {3, 5, 4});
  check_matmul({4, 33, 1}, {4, 1, 7});
  check_matmul({1, 7, 33}, {1, 33, 7});
  check_matmul({2, 3, 4, 5}, {2, 3, 5, 2});
}

TEST(Matmul, BatchDimsBroadcast) {
  const Tensor out = matmul(operand({2, 1, 3, 4}, kFloat64, 1), operand({5, 4, 2}, kFloat64, 2));
  EXPECT_EQ(out.sizes(), (Shape{2, 5, 3, 2}));
  check_matmul({2, 1, 3, 4}, {5, 4, 2});
  check_matmul({1, 3, 4}, {5, 4, 2});  // a batch of one against five
  check_matmul({5, 3, 4}, {1, 4, 2});
  check_matmul({3, 4}, {2, 4, 5});  // 2-D against a batch
  check_matmul({4}, {2, 4, 5});     // 1-D against a batch
  check_matmul({3, 1, 2, 4}, {2, 4, 3});
}

TEST(Matmul, ThreeDTimesTwoDFoldsTheBatchIntoRows) {
  const Tensor out = matmul(operand({4, 3, 5}, kFloat64, 1), operand({5, 6}, kFloat64, 2));
  EXPECT_EQ(out.sizes(), (Shape{4, 3, 6}));
  check_matmul({4, 3, 5}, {5, 6});
  check_matmul({2, 3, 4, 5}, {5, 2});
  check_matmul({4, 3, 5}, {5});  // 3-D · 1-D drops the last dim
  check_matmul({2, 1, 7}, {7, 33});
}

TEST(Matmul, TransposedOperandsAreReadInPlace) {
  for (DType dt : {kFloat64, kFloat32}) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor at = operand({7, 33}, dt, 1).t();  // [33, 7], column-major
    const Tensor bt = operand({5, 7}, dt, 2).t();   // [7, 5]
    const Tensor a = at.contiguous(), b = bt.contiguous();
    ASSERT_FALSE(at.is_contiguous());
    expect_matches_naive(matmul(at, b), a, b);
    expect_matches_naive(matmul(a, bt), a, b);
    expect_matches_naive(matmul(at, bt), a, b);
    expect_matches_naive(mm(at, bt), a, b);
    expect_matches_naive(matmul(operand({7}, dt, 3), at.t()), operand({7}, dt, 3), at.t().contiguous());
    expect_matches_naive(matmul(at, operand({7}, dt, 3)), a, operand({7}, dt, 3));
  }
}

TEST(Matmul, BatchedTransposedPermutedAndExpandedOperands) {
  for (DType dt : {kFloat64, kFloat32}) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor a = operand({3, 4, 7}, dt, 1), b = operand({3, 5, 4}, dt, 2);
    // Transposed last two dims.
    expect_matches_naive(matmul(a.transpose(1, 2), b.transpose(1, 2)), a.transpose(1, 2).contiguous(),
                         b.transpose(1, 2).contiguous());
    expect_matches_naive(bmm(a.transpose(1, 2), b.transpose(1, 2)), a.transpose(1, 2).contiguous(),
                         b.transpose(1, 2).contiguous());
    // Batch dim not outermost in memory: strides [7, 21, 1] for shape [3, 4, 7].
    const Tensor p = operand({4, 3, 7}, dt, 3).permute({1, 0, 2});
    const Tensor q = operand({7, 2}, dt, 4);
    expect_matches_naive(bmm(p, q.unsqueeze(0).expand({3, 7, 2})), p.contiguous(),
                         q.unsqueeze(0).expand({3, 7, 2}).contiguous());
    expect_matches_naive(matmul(p, q), p.contiguous(), q);
    // Stepped slices (neither row- nor column-major) and rows broadcast with stride 0.
    const Tensor s = operand({6, 9}, dt, 5).slice(0, 0, std::nullopt, 2).slice(1, 1, std::nullopt, 2);
    const Tensor e = operand({1, 3}, dt, 6).expand({4, 3});
    expect_matches_naive(matmul(s, operand({4, 5}, dt, 7)), s.contiguous(), operand({4, 5}, dt, 7));
    expect_matches_naive(matmul(e, operand({3, 2}, dt, 8)), e.contiguous(), operand({3, 2}, dt, 8));
    expect_matches_naive(matmul(operand({2, 4}, dt, 9), e), operand({2, 4}, dt, 9), e.contiguous());
  }
}

TEST(Matmul, LargeProductsUseTheParallelBlockedGemm) {
  check_matmul({300, 257}, {257, 513});  // column blocks
  check_matmul({513, 257}, {257, 300});  // row blocks
  for (DType dt : {kFloat64, kFloat32}) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor at = operand({257, 513}, dt, 1).t(), bt = operand({300, 257}, dt, 2).t();
    expect_matches_naive(matmul(at, bt), at.contiguous(), bt.contiguous());
    const Tensor a1 = operand({1, 300, 257}, dt, 3), b1 = operand({1, 257, 300}, dt, 4);
    expect_matches_naive(bmm(a1, b1), a1, b1);
  }
}

TEST(Matmul, AnEmptyInnerDimGivesZeros) {
  for (DType dt : {kFloat64, kFloat32}) {
    expect_values(matmul(ones({3, 0}, dt), ones({0, 4}, dt)), {3, 4}, std::vector<double>(12, 0.0));
    expect_values(matmul(ones({2, 3, 0}, dt), ones({2, 0, 4}, dt)), {2, 3, 4}, std::vector<double>(24, 0.0));
    expect_values(matmul(ones({0}, dt), ones({0}, dt)), {}, {0.0});
    expect_values(matmul(ones({0}, dt), ones({0, 5}, dt)), {5}, std::vector<double>(5, 0.0));
    expect_values(matmul(ones({600, 0}, dt), ones({0, 600}, dt)).sum(), {}, {0.0});
  }
}

TEST(Matmul, AnEmptyOuterDimGivesAnEmptyResult) {
  EXPECT_EQ(matmul(ones({0, 5}), ones({5, 4})).sizes(), (Shape{0, 4}));
  EXPECT_EQ(matmul(ones({3, 5}), ones({5, 0})).sizes(), (Shape{3, 0}));
  EXPECT_EQ(matmul(ones({0, 3, 4}), ones({0, 4, 2})).sizes(), (Shape{0, 3, 2}));
  EXPECT_EQ(matmul(ones({2, 0, 4}), ones({4, 3})).sizes(), (Shape{2, 0, 3}));
  EXPECT_EQ(matmul(ones({0, 5}), ones({5})).sizes(), (Shape{0}));
  EXPECT_EQ(mm(ones({0, 5}), ones({5, 0})).sizes(), (Shape{0, 0}));
  // Batched with an empty row or column dim: no batch entry is offset from an empty operand's null data (UBSan).
  EXPECT_EQ(bmm(ones({4, 0, 2}), ones({4, 2, 3})).sizes(), (Shape{4, 0, 3}));
  EXPECT_EQ(bmm(ones({4, 3, 2}), ones({4, 2, 0})).sizes(), (Shape{4, 3, 0}));
  EXPECT_EQ(matmul(ones({3, 0, 2}), ones({2, 5})).sizes(), (Shape{3, 0, 5}));
}

TEST(Matmul, GradientsOfAnEmptyInnerDimAreEmptyAndOfTheOperandsShape) {
  const Tensor a = zeros({3, 0}, dtype(kFloat64).requires_grad(true));
  const Tensor b = zeros({0, 4}, dtype(kFloat64).requires_grad(true));
  matmul(a, b).sum().backward();
  EXPECT_EQ(a.grad().sizes(), (Shape{3, 0}));
  EXPECT_EQ(b.grad().sizes(), (Shape{0, 4}));
}

TEST(Mm, MultipliesTwoMatrices) {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, kFloat64).view({2, 3});
  const Tensor b = tensor({7, 8, 9, 10, 11, 12}, kFloat64).view({3, 2});
  expect_values(mm(a, b), {2, 2}, {58, 64, 139, 154});
  expect_values(mm(b, a), {3, 3}, {39, 54, 69, 49, 68, 87, 59, 82, 105});
  const Tensor x = operand({33, 7}, kFloat32, 1), y = operand({7, 129}, kFloat32, 2);
  expect_matches_naive(mm(x, y), x, y);
  EXPECT_TRUE(mm(x, y).is_contiguous());
}

TEST(Bmm, MultipliesMatchingBatches) {
  const Tensor a = tensor({1, 2, 3, 4, 1, 0, 0, 1}, kFloat64).view({2, 2, 2});
  const Tensor b = tensor({5, 6, 7, 8, 5, 6, 7, 8}, kFloat64).view({2, 2, 2});
  expect_values(bmm(a, b), {2, 2, 2}, {19, 22, 43, 50, 5, 6, 7, 8});
  const Tensor x = operand({5, 7, 33}, kFloat64, 1), y = operand({5, 33, 1}, kFloat64, 2);
  expect_matches_naive(bmm(x, y), x, y);
}

// --- errors -------------------------------------------------------------------------------------

TEST(Matmul, MismatchedInnerDimsNameBothShapes) {
  EXPECT_ERROR_CONTAINS(matmul(ones({2, 3}), ones({4, 5})), "shapes [2, 3] and [4, 5] cannot be multiplied");
  EXPECT_ERROR_CONTAINS(matmul(ones({3}), ones({4})), "cannot be multiplied");
  EXPECT_ERROR_CONTAINS(matmul(ones({2, 3}), ones({2})), "cannot be multiplied");
  EXPECT_ERROR_CONTAINS(matmul(ones({2, 2, 3}), ones({2, 4, 5})), "cannot be multiplied");
  EXPECT_ERROR_CONTAINS(mm(ones({2, 3}), ones({4, 5})), "cannot be multiplied (2x3 and 4x5)");
  EXPECT_ERROR_CONTAINS(bmm(ones({2, 2, 3}), ones({2, 4, 5})), "shapes [2, 2, 3] and [2, 4, 5] cannot be multiplied");
  EXPECT_ERROR_CONTAINS(bmm(ones({2, 2, 3}), ones({3, 3, 5})), "cannot be multiplied");
}

TEST(Matmul, BatchDimsThatCannotBroadcastAreRejected) {
  EXPECT_ERROR_CONTAINS(matmul(ones({2, 3, 4}), ones({3, 4, 5})), "[2]");
  EXPECT_ERROR_CONTAINS(matmul(ones({2, 3, 4}), ones({3, 4, 5})), "[3]");
}

TEST(Matmul, ZeroDimOperandsAreRejected) {
  EXPECT_ERROR_CONTAINS(matmul(scalar_tensor(2.0), ones({3})), "both arguments need at least 1 dimension");
  EXPECT_ERROR_CONTAINS(matmul(ones({3}), scalar_tensor(2.0)), "both arguments need at least 1 dimension");
}

TEST(Matmul, MmAndBmmCheckTheirRank) {
  EXPECT_ERROR_CONTAINS(mm(ones({3}), ones({3, 2})), "mm: expected 2-D matrices, but got shapes [3] and [3, 2]");
  EXPECT_ERROR_CONTAINS(mm(ones({1, 2, 3}), ones({3, 2})), "expected 2-D matrices");
  EXPECT_ERROR_CONTAINS(bmm(ones({2, 3}), ones({3, 2})), "bmm: expected 3-D tensors, but got shapes [2, 3] and [3, 2]");
}

TEST(Matmul, IntegerOperandsAreRejected) {
  EXPECT_ERROR_CONTAINS(matmul(ones({2, 2}, kInt64), ones({2, 2}, kInt64)), "expected float32 or float64 operands");
}

// --- determinism --------------------------------------------------------------------------------

TEST(Matmul, ResultsAreBitwiseIdenticalForOneAndTwoThreads) {
  const Tensor a = operand({300, 257}, kFloat32, 1), b = operand({257, 513}, kFloat32, 2);
  const Tensor c = operand({513, 257}, kFloat64, 3), d = operand({257, 300}, kFloat64, 4);
  const Tensor p = operand({6, 65, 129}, kFloat32, 5), q = operand({6, 129, 67}, kFloat32, 6);
  set_num_threads(1);
  const Tensor ab1 = matmul(a, b), cd1 = matmul(c, d), td1 = matmul(d.t(), c.t()), pq1 = matmul(p, q);
  set_num_threads(2);
  const Tensor ab2 = matmul(a, b), cd2 = matmul(c, d), td2 = matmul(d.t(), c.t()), pq2 = matmul(p, q);
  EXPECT_TRUE(bit_identical(ab1, ab2));
  EXPECT_TRUE(bit_identical(cd1, cd2));
  EXPECT_TRUE(bit_identical(td1, td2));
  EXPECT_TRUE(bit_identical(pq1, pq2));
  EXPECT_EQ(get_num_threads(), 2);
}

// --- gradients ----------------------------------------------------------------------------------

TEST(MatmulGrad, EveryShapeRule) {
  check_matmul_grad({4}, {4});                 // dot
  check_matmul_grad({3, 4}, {4});              // matrix · vector
  check_matmul_grad({4}, {4, 3});              // vector · matrix
  check_matmul_grad({3, 4}, {4, 2});           // matrix · matrix
  check_matmul_grad({2, 3, 4}, {2, 4, 2});     // batched
  check_matmul_grad({2, 1, 3, 4}, {3, 4, 2});  // broadcast batch: gradient summed over it
  check_matmul_grad({2, 3, 4}, {4, 2});        // folded 3-D · 2-D
  check_matmul_grad({2, 3, 4}, {4});           // 3-D · 1-D
  check_matmul_grad({4}, {2, 4, 3});           // 1-D · 3-D
  check_matmul_grad({3, 4}, {2, 4, 2});        // 2-D · 3-D
  check_matmul_grad({1, 1}, {1, 1});
}

TEST(MatmulGrad, TransposedOperands) {
  check_matmul_grad({4, 3}, {2, 4}, true, true);
  check_matmul_grad({4, 3}, {4, 2}, true, false);
  check_matmul_grad({2, 4, 3}, {2, 2, 4}, true, true);
  check_matmul_grad({2, 4, 3}, {2, 4}, true, true);
}

TEST(MatmulGrad, OnlyTheOperandThatRequiresGradGetsOne) {
  const Tensor a = leaf({3, 4}, 1);
  manual_seed(2);
  const Tensor b = randn({4, 2}, kFloat64);
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return matmul(in[0], b); }, {a}));
  EXPECT_TRUE(autograd::gradcheck([&](const std::vector<Tensor>& in) { return matmul(b.t(), in[0].t()); }, {a}));
  matmul(a, b).sum().backward();
  EXPECT_FALSE(b.grad().defined());
  // d sum(A B) / dA = 1 Bᵀ: every row of the gradient is the row sums of B.
  const Tensor row = b.sum({1});
  for (std::int64_t r = 0; r < 3; ++r) expect_close(a.grad().select(0, r), row);
}

TEST(MatmulGrad, MmAndBmmDirectly) {
  const Tensor a = leaf({3, 4}, 1), b = leaf({4, 2}, 2);
  EXPECT_TRUE(autograd::gradcheck([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); }, {a, b}));
  const Tensor x = leaf({2, 3, 4}, 3), y = leaf({2, 4, 2}, 4);
  EXPECT_TRUE(autograd::gradcheck([](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); }, {x, y}));
}

TEST(MatmulGrad, SecondDerivativesOfMmAndBatchedMatmul) {
  const Tensor a = leaf({3, 4}, 1), b = leaf({4, 2}, 2);
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return mm(in[0].t(), in[0]) * in[1].sum(); },
                                      {a, b}));
  const Tensor x = leaf({2, 3, 4}, 3), y = leaf({2, 4, 2}, 4);
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {x, y}));
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); }, {x, y}));
  const Tensor u = leaf({2, 1, 2, 3}, 5), v = leaf({3, 3, 2}, 6);
  EXPECT_TRUE(autograd::gradgradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {u, v}));
}

}  // namespace
