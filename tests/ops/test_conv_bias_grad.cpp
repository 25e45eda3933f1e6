// conv3d's bias gradient when the weight gradient is asked for too: the direct kernels then sum dY for
// db as they read it for dW (conv_weight with db), instead of in a pass of their own. Checked on each
// weight-map path (the lane-wise and the channel-vector direct tiles, with their parts and partial
// vectors, and im2col + GEMM) against a float64 sum of the output gradient; dW bitwise the same as
// without the bias, db within an ulp of the separate sum (bias only), the same bits on 1, 2 and 3
// threads, and the output gradient given as a strided view.

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "voxgrad/ops/detail/conv_geometry.h"
#include "voxgrad/ops/detail/direct_conv.h"

namespace {

using namespace voxgrad;
using Dims = std::array<std::int64_t, 3>;
using voxgrad::testing::bit_identical;
using voxgrad::testing::expect_bitwise_equal;

enum class Path { LaneWise, ChannelVectors, Gemm };

struct Layer {
  std::string what;
  Path path;
  std::int64_t N, cin, cout;
  Dims in;
  std::int64_t k, s, p;

  detail::ConvGeometry geometry() const {
    detail::ConvGeometry g;
    g.N = N;
    g.Cin = cin;
    g.Cout = cout;
    g.vol = in;
    g.kernel = {k, k, k};
    g.stride = {s, s, s};
    g.padding = {p, p, p};
    for (std::size_t i = 0; i < 3; ++i) g.out[i] = (in[i] + 2 * p - k) / s + 1;
    return g;
  }
};

// Rows of 24 and 20 end in partial vectors; 8 output channels are one block of the lane-wise tiles,
// so its position blocks are cut into parts; 32 output channels with 8 · 27 pairs run on the
// channel-vector tiles, its dY transposed (and summed) in chunks of 1 024 positions.
const std::vector<Layer>& layers() {
  static const std::vector<Layer> v = {
      {"8->8, 24-wide rows", Path::LaneWise, 2, 8, 8, {6, 10, 24}, 3, 1, 1},
      {"4->8, stride 2", Path::LaneWise, 3, 4, 8, {9, 12, 40}, 3, 2, 1},
      {"8->32, 20-wide rows", Path::ChannelVectors, 2, 8, 32, {6, 12, 20}, 3, 1, 1},
      {"8->40, stride 2", Path::ChannelVectors, 2, 8, 40, {8, 11, 33}, 3, 2, 1},
      {"5->6, im2col", Path::Gemm, 2, 5, 6, {6, 7, 9}, 3, 1, 1},
  };
  return v;
}

// Σ over samples and positions of gy, per channel, in float64.
std::vector<double> reference_sums(const Tensor& gy) {
  const Tensor g = gy.contiguous();
  const std::int64_t N = g.size(0), C = g.size(1), V = g.numel() / (N * C);
  const float* p = g.data_ptr<float>();
  std::vector<double> s(static_cast<std::size_t>(C), 0.0);
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t c = 0; c < C; ++c) {
      for (std::int64_t i = 0; i < V; ++i) s[static_cast<std::size_t>(c)] += p[(n * C + c) * V + i];
    }
  }
  return s;
}

// Within an ulp of the float64 sum: both sums are taken in double and rounded to float once.
void expect_sums(const Tensor& db, const std::vector<double>& ref, const std::string& what) {
  ASSERT_EQ(db.numel(), static_cast<std::int64_t>(ref.size())) << what;
  const Tensor d = db.contiguous();
  for (std::int64_t c = 0; c < d.numel(); ++c) {
    const auto r = static_cast<float>(ref[static_cast<std::size_t>(c)]);
    const float ulp = std::nextafter(std::abs(r), INFINITY) - std::abs(r);
    EXPECT_LE(std::abs(d.data_ptr<float>()[c] - r), ulp) << what << ", channel " << c;
  }
}

struct Grads {
  Tensor dw, db;
};

Grads gradients(const Layer& l, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy, bool weight,
                bool bias) {
  Tensor wl = w.detach(), bl = b.detach();
  wl.requires_grad_(weight);
  bl.requires_grad_(bias);
  const Tensor y = conv3d(x, wl, bl, l.s, l.p);
  autograd::backward({y}, {gy});
  return {weight ? wl.grad() : Tensor(), bias ? bl.grad() : Tensor()};
}

struct RestoreDirect {
  ~RestoreDirect() { detail::set_direct_conv_enabled(true); }
};

TEST(ConvBiasGrad, SummedWithTheWeightMapOnEveryPath) {
  const voxgrad::testing::RestoreTwoThreads restore_threads;
  const RestoreDirect restore_direct;
  for (const Layer& l : layers()) {
    SCOPED_TRACE(l.what);
    manual_seed(7);
    const Tensor x = randn({l.N, l.cin, l.in[0], l.in[1], l.in[2]});
    const Tensor w = randn({l.cout, l.cin, l.k, l.k, l.k});
    const Tensor b = randn({l.cout});
    const detail::ConvGeometry g = l.geometry();
    // gy as a strided view: every other column of a tensor twice as wide.
    const Tensor wide = randn({l.N, l.cout, g.out[0], g.out[1], 2 * g.out[2]});
    const Tensor gy = wide.slice(4, 0, std::nullopt, 2);
    ASSERT_FALSE(gy.is_contiguous());
    const std::vector<double> ref = reference_sums(gy);

    detail::set_direct_conv_enabled(l.path != Path::Gemm);
    if (detail::direct_conv_available()) {  // the layer runs on the path it is meant for
      ASSERT_EQ(g.direct_weight(), l.path != Path::Gemm);
      ASSERT_EQ(g.direct_weight() && detail::direct_weight_channel_vectors(g), l.path == Path::ChannelVectors);
    }
    set_num_threads(2);
    const Grads both = gradients(l, x, w, b, gy, true, true);
    expect_sums(both.db, ref, "db with dw");
    // The weight map's own sums are untouched: dW is the same with and without the bias.
    expect_bitwise_equal(both.dw, gradients(l, x, w, b, gy, true, false).dw, "dw without the bias");
    // The bias alone is summed in a pass of its own.
    expect_sums(gradients(l, x, w, b, gy, false, true).db, ref, "db alone");
    for (int threads : {1, 3}) {
      set_num_threads(threads);
      const Grads other = gradients(l, x, w, b, gy, true, true);
      EXPECT_TRUE(bit_identical(other.db, both.db)) << threads << " threads: db";
      EXPECT_TRUE(bit_identical(other.dw, both.dw)) << threads << " threads: dw";
    }
  }
}

// A bias of exact sums: with gy of small integers every partial sum is exact, so db equals the
// float64 sum exactly on every path, and a sum that skipped or repeated any block of dY would show.
TEST(ConvBiasGrad, ExactOnIntegerGradients) {
  const RestoreDirect restore_direct;
  for (const Layer& l : layers()) {
    SCOPED_TRACE(l.what);
    manual_seed(11);
    const detail::ConvGeometry g = l.geometry();
    const Tensor x = randn({l.N, l.cin, l.in[0], l.in[1], l.in[2]});
    const Tensor w = randn({l.cout, l.cin, l.k, l.k, l.k});
    const Tensor b = randn({l.cout});
    std::vector<float> ints(static_cast<std::size_t>(l.N * l.cout * g.out_size()));
    for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<float>(static_cast<int>((i * 7919) % 17) - 8);
    const Tensor gy = from_blob(ints.data(), {l.N, l.cout, g.out[0], g.out[1], g.out[2]}).clone();
    detail::set_direct_conv_enabled(l.path != Path::Gemm);
    const Tensor db = gradients(l, x, w, b, gy, true, true).db;
    const std::vector<double> ref = reference_sums(gy);
    for (std::int64_t c = 0; c < l.cout; ++c) {
      EXPECT_EQ(db.data_ptr<float>()[c], static_cast<float>(ref[static_cast<std::size_t>(c)])) << "channel " << c;
    }
  }
}

}  // namespace
