// A pointwise convolution's input and weight gradients in one pass over dY (pointwise_conv3d_backward,
// taken by conv3d's backward where conv_fuses_adjoint_and_weight says so). It must give the bits of
// the two maps apart (conv_transpose3d's adjoint and conv3d_weight_grad, each tested against naive
// references elsewhere) on every instruction set with direct kernels, at 1, 2 and 3 threads, with
// groups, partial vectors of channels and chunks that cross samples; and stay within float32's
// rounding of a float64 reference.

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "isa_override.h"
#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "voxgrad/ops/detail/conv_geometry.h"
#include "voxgrad/ops/detail/conv_kernels.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/pointwise_conv.h"

namespace {

using namespace voxgrad;
using voxgrad::testing::expect_bitwise_equal;

struct Shape {
  std::int64_t N, cin, cout, groups;
  std::array<std::int64_t, 3> vol;

  std::string name() const {
    return std::to_string(N) + " x " + std::to_string(cin) + " -> " + std::to_string(cout) + ", groups " +
           std::to_string(groups) + ", " + std::to_string(vol[0]) + "x" + std::to_string(vol[1]) + "x" +
           std::to_string(vol[2]);
  }
  detail::ConvGeometry geometry() const {
    detail::ConvGeometry g;
    g.N = N;
    g.Cin = cin;
    g.Cout = cout;
    g.groups = groups;
    g.vol = vol;
    g.out = vol;
    g.kernel = {1, 1, 1};
    g.stride = {1, 1, 1};
    g.padding = {0, 0, 0};
    g.dilation = {1, 1, 1};
    return g;
  }
  std::int64_t V() const { return vol[0] * vol[1] * vol[2]; }
};

template <typename T>
std::vector<T> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

using Threads = voxgrad::testing::ScopedThreads;

// dx and dw (Cout, Cin/groups) of one pointwise geometry in float64, straight from the sums, with the
// sums of their terms' magnitudes.
struct Reference {
  std::vector<double> dx, dw, dx_abs, dw_abs;
};
Reference naive(const Shape& s, const std::vector<float>& x, const std::vector<float>& w,
                const std::vector<float>& dy) {
  const std::int64_t V = s.V(), cin_g = s.cin / s.groups, cout_g = s.cout / s.groups;
  Reference r{std::vector<double>(x.size(), 0.0), std::vector<double>(w.size(), 0.0),
              std::vector<double>(x.size(), 0.0), std::vector<double>(w.size(), 0.0)};
  for (std::int64_t n = 0; n < s.N; ++n) {
    for (std::int64_t co = 0; co < s.cout; ++co) {
      const std::int64_t gi = co / cout_g;
      for (std::int64_t p = 0; p < V; ++p) {
        const double d = dy[static_cast<std::size_t>((n * s.cout + co) * V + p)];
        for (std::int64_t ci = 0; ci < cin_g; ++ci) {
          const std::size_t xi = static_cast<std::size_t>((n * s.cin + gi * cin_g + ci) * V + p);
          const std::size_t wi = static_cast<std::size_t>(co * cin_g + ci);
          r.dx[xi] += static_cast<double>(w[wi]) * d;
          r.dx_abs[xi] += std::abs(static_cast<double>(w[wi]) * d);
          r.dw[wi] += static_cast<double>(x[xi]) * d;
          r.dw_abs[wi] += std::abs(static_cast<double>(x[xi]) * d);
        }
      }
    }
  }
  return r;
}

// Each |got − want| within 4·sqrt(terms)·2⁻²⁴ of the sum of its terms' magnitudes, as the conv reference
// allows float32 sums.
void expect_close(const float* got, const std::vector<double>& want, const std::vector<double>& magnitude,
                  std::int64_t terms, const std::string& what) {
  const double scale = 4.0 * std::sqrt(static_cast<double>(terms)) * std::ldexp(1.0, -24);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!(std::abs(static_cast<double>(got[i]) - want[i]) <= scale * magnitude[i])) ++bad;
  }
  EXPECT_EQ(bad, 0U) << what << ": " << bad << " of " << want.size() << " entries off";
}

TEST(PointwiseBackward, OnePassGivesTheSeparateMapsBitsOnEveryIsaAndThreadCount) {
  // Each fits on AVX-512 (at most 64 output channels a group, its weight map's vectors over dY); the
  // first two on AVX2 too (at most 16). Volumes that are not whole blocks of positions; 11³ with N = 2
  // and 2 662 positions makes 3 chunks, the second crossing from sample 0 into sample 1.
  const std::vector<Shape> shapes = {
      {2, 16, 16, 1, {9, 10, 11}},  {3, 64, 32, 2, {7, 8, 9}},   {2, 64, 64, 1, {11, 11, 11}},
      {1, 24, 24, 1, {16, 16, 16}}, {4, 8, 16, 1, {10, 10, 10}}, {2, 48, 40, 1, {13, 7, 5}},
  };
  int fitted = 0;
  for (CpuIsa isa : voxgrad::testing::runnable_isas()) {
    const voxgrad::testing::IsaOverride use(isa);
    if (!detail::direct_conv_available()) continue;  // the portable build's baseline set: no tiles to fuse
    int fitted_here = 0;
    for (const Shape& s : shapes) {
      const detail::ConvGeometry g = s.geometry();
      if (!detail::pointwise_backward_fits(g)) continue;
      ++fitted_here;
      const std::string what = s.name() + " on " + std::string(to_string(isa));
      manual_seed(static_cast<std::uint64_t>(s.N * 1000 + s.cin * 10 + s.cout));
      const std::int64_t cin_g = s.cin / s.groups;
      const Tensor x = randn({s.N, s.cin, s.vol[0], s.vol[1], s.vol[2]});
      const Tensor w = randn({s.cout, cin_g, 1, 1, 1});
      const Tensor dy = randn({s.N, s.cout, s.vol[0], s.vol[1], s.vol[2]});
      // The maps apart: conv_adjoint's (pointwise_conv3d with wᵀ) and the pointwise weight map.
      Tensor dx_apart, dw_apart;
      {
        NoGradGuard no_grad;
        dx_apart = conv_transpose3d(dy, w, {}, 1, 0, 0, s.groups);
        dw_apart = conv3d_weight_grad(x, dy, 1, 1, 0, 1, s.groups);
      }
      std::vector<double> db_apart(static_cast<std::size_t>(s.cout), 0.0);
      {
        std::vector<float> dw_again(static_cast<std::size_t>(w.numel()), 0.0f);
        detail::pointwise_conv3d_weight_grad(x.data_ptr<float>(), dy.data_ptr<float>(), dw_again.data(), g,
                                             db_apart.data());
      }
      const Reference ref = naive(s, values<float>(x), values<float>(w), values<float>(dy));
      for (int threads : {1, 2, 3}) {
        const Threads use_threads(threads);
        Tensor dx = voxgrad::empty(x.sizes()), dw = voxgrad::zeros(w.sizes());
        std::vector<double> db(static_cast<std::size_t>(s.cout), 0.0);
        detail::pointwise_conv3d_backward(x.data_ptr<float>(), w.data_ptr<float>(), dy.data_ptr<float>(),
                                          dx.data_ptr<float>(), dw.data_ptr<float>(), g, db.data());
        const std::string at = what + ", " + std::to_string(threads) + " threads";
        expect_bitwise_equal(dx, dx_apart, "dx, " + at);
        expect_bitwise_equal(dw, dw_apart, "dw, " + at);
        EXPECT_EQ(db, db_apart) << "db, " << at;
        if (threads == 2) {
          expect_close(dx.data_ptr<float>(), ref.dx, ref.dx_abs, s.cout / s.groups, "dx against float64, " + at);
          expect_close(dw.data_ptr<float>(), ref.dw, ref.dw_abs, s.N * s.V(), "dw against float64, " + at);
        }
      }
    }
    // Not vacuous: the first two shapes fit every set with direct kernels.
    EXPECT_GE(fitted_here, 2) << to_string(isa);
    fitted += fitted_here;
  }
  if (detail::direct_conv_available()) {
    EXPECT_GE(fitted, 2);
  }
}

TEST(PointwiseBackward, Conv3dBackwardTakesItWhereItPaysWithTheSameBits) {
  // 16 → 16 at 48³: a 7 MiB dY a sample, larger than any L2 here, in 32 chunks (enough for up to 16
  // threads); the output gradient as a strided view (every other channel of a wider tensor). dB apart
  // is the weight map's (conv3d's backward without dX); dX and dW apart the two maps on their own.
  const Shape s{2, 16, 16, 1, {48, 48, 48}};
  const detail::ConvGeometry g = s.geometry();
  manual_seed(7);
  const Tensor x0 = randn({s.N, s.cin, 48, 48, 48}), w0 = randn({s.cout, s.cin, 1, 1, 1}), b0 = randn({s.cout});
  const Tensor wide = randn({s.N, 2 * s.cout, 48, 48, 48});
  const Tensor gy = wide.slice(1, 0, 2 * s.cout, 2);
  ASSERT_FALSE(gy.is_contiguous());
  for (CpuIsa isa : voxgrad::testing::runnable_isas()) {
    const voxgrad::testing::IsaOverride use(isa);
    const std::string on = std::string(" on ") + to_string(isa);
    {
      const Threads two(2);
      if (detail::direct_conv_available()) {
        EXPECT_TRUE(detail::conv_fuses_adjoint_and_weight(g)) << on;
      }
    }
    Tensor dx_apart, dw_apart, db_apart;
    {
      NoGradGuard no_grad;
      dx_apart = conv_transpose3d(gy, w0);
      dw_apart = conv3d_weight_grad(x0, gy, 1, 1, 0, 1, 1);
    }
    {
      const Tensor w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
      conv3d(x0, w, b).backward(gy);
      expect_bitwise_equal(w.grad(), dw_apart, "dw without dx" + on);
      db_apart = b.grad();
    }
    for (int threads : {1, 2, 3}) {
      const Threads use_threads(threads);
      const Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
      conv3d(x, w, b).backward(gy);
      const std::string at = std::to_string(threads) + " threads" + on;
      expect_bitwise_equal(x.grad(), dx_apart, "dx, " + at);
      expect_bitwise_equal(w.grad(), dw_apart, "dw, " + at);
      expect_bitwise_equal(b.grad(), db_apart, "db, " + at);
    }
  }
  // The bias gradient: within an ulp of a float64 sum of the gradient per channel.
  const Tensor b = b0.clone().requires_grad_();
  conv3d(x0.clone().requires_grad_(), w0.clone().requires_grad_(), b).backward(gy);
  const std::vector<float> gv = values<float>(gy), db = values<float>(b.grad());
  std::vector<double> sums(static_cast<std::size_t>(s.cout), 0.0);
  for (std::size_t i = 0; i < gv.size(); ++i) sums[i / static_cast<std::size_t>(s.V()) % sums.size()] += gv[i];
  for (std::size_t c = 0; c < sums.size(); ++c) {
    EXPECT_LE(std::abs(static_cast<double>(db[c]) - sums[c]), std::ldexp(std::abs(sums[c]), -23) + 1e-30);
  }
}

TEST(PointwiseBackward, SecondDerivativesThroughItMatchFloat64) {
  // create_graph through the fused float32 backward records the maps apart (record_linear,
  // record_weight): d/d(x, w, gy) of Σ dx² + Σ dw² against the same in float64 (which never fuses).
  const Shape s{2, 16, 16, 1, {48, 48, 48}};
  const Threads two(2);
  if (detail::direct_conv_available()) {
    EXPECT_TRUE(detail::conv_fuses_adjoint_and_weight(s.geometry()));
  }
  manual_seed(11);
  const Tensor x0 = randn({s.N, s.cin, 48, 48, 48}), w0 = randn({s.cout, s.cin, 1, 1, 1}) * 0.25;
  const Tensor gy0 = randn({s.N, s.cout, 48, 48, 48});
  std::vector<Tensor> second[2];
  for (int k = 0; k < 2; ++k) {
    const DType dt = k == 0 ? kFloat32 : kFloat64;
    const Tensor x = x0.to(dt).requires_grad_(), w = w0.to(dt).requires_grad_(), gy = gy0.to(dt).requires_grad_();
    const std::vector<Tensor> first = autograd::grad({conv3d(x, w)}, {x, w}, {gy}, std::nullopt, true);
    const Tensor loss = (first[0] * first[0]).sum() + (first[1] * first[1]).sum();
    second[k] = autograd::grad({loss}, {x, w, gy});
  }
  const char* names[] = {"d/dx", "d/dw", "d/dgy"};
  for (std::size_t i = 0; i < 3; ++i) {
    const Tensor want = second[1][i], got = second[0][i].to(kFloat64);
    const double scale = want.abs().max().item<double>();
    EXPECT_LE((got - want).abs().max().item<double>(), 1e-5 * scale) << names[i];
  }
}

}  // namespace
