// The bias gradients of conv3d and conv_transpose3d, summed where a map already reads the gradient:
// conv3d's by the weight map from the blocks of dY it packs (conv_weight with db), conv_transpose3d's
// by its input gradient's map as it copies each sample of the output gradient (conv_forward with
// x_sums). Checked on each path (the lane-wise and channel-vector weight tiles, with their parts and
// partial vectors; the pointwise weight map's chunks; copies that pad, crop or read in place; im2col +
// GEMM) against a float64 sum of the output gradient: within an ulp of it and of the separate sum
// (bias only), exact on integer gradients, the other gradients bitwise as without the bias, the same
// bits on 1, 2 and 3 threads, and the output gradient given as a strided view.

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

#include "voxgrad/ops/detail/conv_geometry.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_weight_xt.h"
#include "voxgrad/ops/detail/pointwise_conv.h"

namespace {

using namespace voxgrad;
using Dims = std::array<std::int64_t, 3>;
using voxgrad::testing::bit_identical;
using voxgrad::testing::expect_bitwise_equal;

enum class Path { LaneWise, ChannelVectors, TransposedInput, Pointwise, Gemm };

struct Layer {
  std::string what;
  Path path;
  std::int64_t N, cin, cout;
  Dims in;
  std::int64_t k, s, p;
  bool transposed = false;
  std::int64_t op = 0;  // output_padding

  Dims out() const {
    Dims o{};
    for (std::size_t i = 0; i < 3; ++i) {
      o[i] = transposed ? (in[i] - 1) * s - 2 * p + k + op : (in[i] + 2 * p - k) / s + 1;
    }
    return o;
  }
  /// The geometry in conv3d form (a transposed convolution's input is its y).
  detail::ConvGeometry geometry() const {
    detail::ConvGeometry g;
    g.N = N;
    g.Cin = transposed ? cout : cin;
    g.Cout = transposed ? cin : cout;
    g.vol = transposed ? out() : in;
    g.out = transposed ? in : out();
    g.kernel = {k, k, k};
    g.stride = {s, s, s};
    g.padding = {p, p, p};
    return g;
  }
  Shape weight_shape() const { return transposed ? Shape{cin, cout, k, k, k} : Shape{cout, cin, k, k, k}; }
  Tensor run(const Tensor& x, const Tensor& w, const Tensor& b) const {
    return transposed ? conv_transpose3d(x, w, b, s, p, op) : conv3d(x, w, b, s, p);
  }
};

// Rows of 24 and 20 end in partial vectors; 8 output channels are one block of the lane-wise tiles,
// so its position blocks are cut into parts; 32 output channels with 8 · 27 pairs run on the
// channel-vector tiles, its dY transposed (and summed) in chunks of 1 024 positions; 16 input channels
// run on the transposed-input tiles, dY summed in chunks of output rows. Pointwise layers with a vector
// of output channels sum dY per chunk of the batch's positions (chunks across a sample's end): with
// vectors over dY's channels, over x's in one block (AVX-512) or two (AVX2), and over x's in two
// blocks on AVX-512 (80 -> 96).
const std::vector<Layer>& layers() {
  static const std::vector<Layer> v = {
      {"6->8, 24-wide rows", Path::LaneWise, 2, 6, 8, {6, 10, 24}, 3, 1, 1},
      {"16->8, 32-wide rows", Path::TransposedInput, 2, 16, 8, {6, 10, 32}, 3, 1, 1},
      {"4->8, stride 2", Path::LaneWise, 3, 4, 8, {9, 12, 40}, 3, 2, 1},
      {"8->32, 20-wide rows", Path::ChannelVectors, 2, 8, 32, {6, 12, 20}, 3, 1, 1},
      {"8->40, stride 2", Path::ChannelVectors, 2, 8, 40, {8, 11, 33}, 3, 2, 1},
      {"5->6, im2col", Path::Gemm, 2, 5, 6, {6, 7, 9}, 3, 1, 1},
      {"64->64 pointwise", Path::Pointwise, 3, 64, 64, {5, 7, 31}, 1, 1, 0},
      {"20->40 pointwise", Path::Pointwise, 2, 20, 40, {6, 9, 23}, 1, 1, 0},
      {"80->96 pointwise", Path::Pointwise, 2, 80, 96, {4, 5, 27}, 1, 1, 0},
      // Transposed: the forward map of the output gradient copies it (kernel 2 with output_padding 1 leaves
      // its last plane, row and column unread, so the copy crops them; kernel 3 stride 2 splits its rows into
      // phases), or reads it in place (stride 1, no padding; kernel 2 stride 2 in tap pairs), the sums then
      // taken in a pass of their own.
      {"transposed 8->6, k2 s2, output_padding 1", Path::LaneWise, 2, 8, 6, {5, 6, 12}, 2, 2, 0, true, 1},
      {"transposed 16->8, k2 s2 (read in place)", Path::LaneWise, 2, 16, 8, {4, 5, 12}, 2, 2, 0, true},
      {"transposed 16->12, k3 s2 p1", Path::LaneWise, 2, 16, 12, {4, 5, 12}, 3, 2, 1, true, 1},
      {"transposed 4->5, k3 s1 p0 (read in place)", Path::LaneWise, 3, 4, 5, {5, 6, 22}, 3, 1, 0, true},
      {"transposed 8->16, k3 s1 p1 (transposed input)", Path::TransposedInput, 2, 8, 16, {5, 6, 20}, 3, 1, 1, true},
      {"transposed 5->6, im2col", Path::Gemm, 2, 5, 6, {4, 5, 6}, 3, 2, 1, true, 1},
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
  Tensor dx, dw, db;
};

Grads gradients(const Layer& l, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy, bool input,
                bool weight, bool bias) {
  Tensor xl = x.detach(), wl = w.detach(), bl = b.detach();
  xl.requires_grad_(input);
  wl.requires_grad_(weight);
  bl.requires_grad_(bias);
  const Tensor y = l.run(xl, wl, bl);
  autograd::backward({y}, {gy});
  return {input ? xl.grad() : Tensor(), weight ? wl.grad() : Tensor(), bias ? bl.grad() : Tensor()};
}

// Which of (x, w, b) ask for gradients: the bias with the weight (conv3d's fused sums), with the input
// and the weight, and with the input alone (conv_transpose3d's); the bias alone sums separately.
struct Wants {
  bool x, w;
};
constexpr Wants kWithBias[] = {{false, true}, {true, true}, {true, false}};

struct RestoreDirect {
  ~RestoreDirect() { detail::set_direct_conv_enabled(true); }
};

TEST(ConvBiasGrad, SummedWithTheOtherMapsOnEveryPath) {
  const voxgrad::testing::RestoreTwoThreads restore_threads;
  const RestoreDirect restore_direct;
  for (const Layer& l : layers()) {
    SCOPED_TRACE(l.what);
    manual_seed(7);
    const Tensor x = randn({l.N, l.cin, l.in[0], l.in[1], l.in[2]});
    const Tensor w = randn(l.weight_shape());
    const Tensor b = randn({l.cout});
    const Dims o = l.out();
    // gy as a strided view: every other column of a tensor twice as wide.
    const Tensor wide = randn({l.N, l.cout, o[0], o[1], 2 * o[2]});
    const Tensor gy = wide.slice(4, 0, std::nullopt, 2);
    ASSERT_FALSE(gy.is_contiguous());
    const std::vector<double> ref = reference_sums(gy);

    detail::set_direct_conv_enabled(l.path != Path::Gemm);
    const detail::ConvGeometry g = l.geometry();
    if (detail::direct_conv_available()) {  // the layer runs on the path it is meant for
      if (l.transposed) {
        ASSERT_EQ(g.direct_forward(), l.path != Path::Gemm);
        // Kernel 2 stride 2: the output gradient's forward map in tap pairs.
        if (l.k == 2 && l.s == 2) {
          ASSERT_TRUE(detail::direct_forward_tap_pairs(g));
        }
      } else {
        ASSERT_EQ(g.direct_weight(), l.path != Path::Gemm);
        const bool xt = detail::direct_weight_transposed_input(g);
        ASSERT_EQ(xt, l.path == Path::TransposedInput);
        ASSERT_EQ(g.direct_weight() && !xt && detail::direct_weight_channel_vectors(g), l.path == Path::ChannelVectors);
        ASSERT_EQ(detail::suits_pointwise_weight_tiles(g), l.path == Path::Pointwise);
      }
    }
    set_num_threads(2);
    // The bias alone is summed in a pass of its own.
    expect_sums(gradients(l, x, w, b, gy, false, false, true).db, ref, "db alone");
    for (const Wants& want : kWithBias) {
      const std::string what = std::string("db with") + (want.x ? " dx" : "") + (want.w ? " dw" : "");
      const Grads with = gradients(l, x, w, b, gy, want.x, want.w, true);
      expect_sums(with.db, ref, what);
      // The other maps' own sums are untouched: the same with and without the bias.
      const Grads without = gradients(l, x, w, b, gy, want.x, want.w, false);
      if (want.x) expect_bitwise_equal(with.dx, without.dx, what + ": dx");
      if (want.w) expect_bitwise_equal(with.dw, without.dw, what + ": dw");
      for (int threads : {1, 3}) {
        set_num_threads(threads);
        const Grads other = gradients(l, x, w, b, gy, want.x, want.w, true);
        EXPECT_TRUE(bit_identical(other.db, with.db)) << what << ", " << threads << " threads";
        set_num_threads(2);
      }
    }
  }
}

// A bias of exact sums: with gy of small integers every partial sum is exact, so db equals the
// float64 sum exactly on every path, and a sum that skipped or repeated any block or plane of dY
// would show.
TEST(ConvBiasGrad, ExactOnIntegerGradients) {
  const RestoreDirect restore_direct;
  for (const Layer& l : layers()) {
    SCOPED_TRACE(l.what);
    manual_seed(11);
    const Dims o = l.out();
    const Tensor x = randn({l.N, l.cin, l.in[0], l.in[1], l.in[2]});
    const Tensor w = randn(l.weight_shape());
    const Tensor b = randn({l.cout});
    std::vector<float> ints(static_cast<std::size_t>(l.N * l.cout * o[0] * o[1] * o[2]));
    for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<float>(static_cast<int>((i * 7919) % 17) - 8);
    const Tensor gy = from_blob(ints.data(), {l.N, l.cout, o[0], o[1], o[2]}).clone();
    detail::set_direct_conv_enabled(l.path != Path::Gemm);
    const std::vector<double> ref = reference_sums(gy);
    for (const Wants& want : kWithBias) {
      const Tensor db = gradients(l, x, w, b, gy, want.x, want.w, true).db;
      for (std::int64_t c = 0; c < l.cout; ++c) {
        EXPECT_EQ(db.data_ptr<float>()[c], static_cast<float>(ref[static_cast<std::size_t>(c)]))
            << "channel " << c << (want.x ? ", with dx" : "") << (want.w ? ", with dw" : "");
      }
    }
  }
}

}  // namespace
