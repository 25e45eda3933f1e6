// conv3d / conv_transpose3d against the naive float64 reference (conv_reference.h) on hand-picked
// configurations (huge strides, the 1×1×1 no-im2col path, kernel 1 with stride 2 (pytorch#63314),
// zero batch, spread channels, streamed outputs), non-contiguous operands (pytorch#67829),
// bit-identical results for 1 and 2 threads, and the output-shape formulas.

#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "conv_reference.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>
#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/direct_weight_cv.h"
#include "voxgrad/ops/detail/direct_weight_xt.h"
#include "voxgrad/ops/detail/pointwise_conv.h"
#include "voxgrad/ops/detail/sample_rounds.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;

// =================================================================================================
// Hand-picked configurations.
// =================================================================================================

Cfg config(bool transposed, std::int64_t N, std::int64_t groups, std::int64_t cin, std::int64_t cout, Dims in, Dims k,
           Dims s = {1, 1, 1}, Dims p = {0, 0, 0}, Dims d = {1, 1, 1}, Dims op = {0, 0, 0}, bool bias = true,
           bool unbatched = false) {
  Cfg c;
  c.transposed = transposed;
  c.N = N;
  c.groups = groups;
  c.cin = cin;
  c.cout = cout;
  c.in = in;
  c.k = k;
  c.s = s;
  c.p = p;
  c.d = d;
  c.op = op;
  c.bias = bias;
  c.unbatched = unbatched;
  return c;
}

void expect_matches_reference(const Cfg& c, std::uint64_t seed) {
  ASSERT_TRUE(c.valid()) << c.str();
  std::mt19937_64 rng(seed);
  for (DType dt : {kFloat64, kFloat32}) {
    const std::string m = check_config(c, dt, rng);
    EXPECT_TRUE(m.empty()) << dt << ", config: " << c.str() << "\n" << m;
  }
}

// A stride of INT64_MAX along a dim with a single output is legal; the direct
// kernels must not multiply it into an offset (UBSan flagged the overflow in the asan preset).
TEST(ConvReference, HugeStrideAlongADimWithOneOutput) {
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  expect_matches_reference(config(false, 2, 1, 2, 3, {1, 2, 26}, {1, 1, 3}, {huge, 1, 1}), 31);
  expect_matches_reference(config(false, 1, 1, 2, 9, {2, 1, 40}, {2, 1, 3}, {1, huge, 1}, {0, 0, 1}), 32);
}

// The lane-wise weight map where a sample's dY outgrows the threads' L2 (one input channel, as the
// first layer of a volumetric U-Net): it asks for each next block of dY while a block's tiles run. On
// one thread, the smallest of these volumes that is large enough for this CPU's L2 (any L2 up to
// 42 MiB); the smallest one where there are no direct kernels. (Not in the ConvReference suite, which
// scripts/qemu_isa_check.sh runs under emulation: too large for that.)
TEST(ConvReferenceLarge, LaneWiseWeightMapAsksForTheNextBlockOfALargeDy) {
  const int threads = get_num_threads();
  set_num_threads(1);
  Cfg c;
  for (std::int64_t d : {40, 48, 64, 80, 96}) {
    c = config(false, 1, 1, 1, 24, {d, d, d}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
    if (!detail::direct_conv_available() || detail::direct_weight_prefetches_dy(conv3d_form(c))) break;
  }
  EXPECT_EQ(detail::direct_weight_prefetches_dy(conv3d_form(c)), detail::direct_conv_available()) << c.str();
  // float32 only: the direct kernels' type (float64 sums of this many terms part from the reference's
  // order by more than its absolute tolerance, on the im2col path, which other tests cover).
  std::mt19937_64 rng(61);
  const std::string m = check_config(c, kFloat32, rng);
  set_num_threads(threads);
  EXPECT_TRUE(m.empty()) << c.str() << "\n" << m;
}

// Transposed convolutions whose stride classes read exactly the input (kernel = stride, no
// padding: U-Net and autoencoder up-sampling) take the direct path reading the input in place.
TEST(ConvReference, TransposedKernelEqualToStrideReadsTheInputInPlace) {
  const Cfg a = config(true, 2, 1, 9, 10, {3, 2, 16}, {2, 2, 2}, {2, 2, 2});
  const Cfg b = config(true, 1, 2, 4, 6, {2, 3, 13}, {2, 1, 2}, {2, 1, 2});
  for (const Cfg& c : {a, b}) {  // when this instruction set has direct kernels
    EXPECT_EQ(conv3d_form(c).suits_direct_adjoint(), detail::direct_conv_available()) << c.str();
  }
  expect_matches_reference(a, 41);
  expect_matches_reference(b, 42);
}

// Rows longer than kMaxInterleavedRow floats, or at stride 2 along W (other than in tap pairs), are copied planar for
// the forward tiles, channels of a multiple of 4 KiB one cache line apart (PaddedLayout::finish): always where a copy
// is made anyway, and where the input could be read in place only for at least 16 output channels per group
// (finish_spread).
TEST(ConvReference, ChannelsOfAMultipleOf4KiBAreSpreadInTheCopy) {
  // (Pointwise convolutions run as GEMMs: k 3×1×1 with D padding reads 4 × 4 × 64 = 1024 floats a channel.)
  const Cfg deep = config(false, 2, 1, 5, 16, {2, 4, 64}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0});
  const Cfg few_outputs = config(false, 2, 1, 5, 6, {4, 4, 64}, {2, 1, 1});                   // read in place
  const Cfg padded = config(false, 2, 1, 3, 5, {6, 2, 62}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});  // 8 × 4 × 64
  const Cfg transposed = config(true, 2, 1, 6, 16, {4, 16, 16}, {2, 2, 2}, {2, 2, 2});        // reads 4 × 16 × 16
  for (const Cfg& c : {deep, few_outputs, padded}) {
    const detail::direct::PaddedLayout L = detail::direct::forward_layout(conv3d_form(c));
    EXPECT_FALSE(L.interleaved) << c.str();
    EXPECT_EQ(L.channel, L.Dp * L.plane + (c.cout == 6 ? 0 : 16)) << c.str();
    EXPECT_EQ(conv3d_form(c).suits_direct(), detail::direct_conv_available()) << c.str();
  }
  EXPECT_EQ(conv3d_form(transposed).suits_direct_adjoint(), detail::direct_conv_available());
  expect_matches_reference(deep, 51);
  expect_matches_reference(few_outputs, 54);
  expect_matches_reference(padded, 52);
  expect_matches_reference(transposed, 53);
}

// Where a copy is made anyway, shorter rows at stride 1 along W are copied interleaved: for each
// padded (d, h) the rows of all channels (of every group) one after another, rows h and h + 1 a cache
// line further apart when that is a multiple of 4 KiB. The lane-wise weight map shares the forward
// map's copy planar.
TEST(ConvReference, ShortRowsAreInterleavedAcrossChannels) {
  const Cfg deep = config(false, 2, 1, 64, 8, {3, 3, 14}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});    // rows of 16 × 64
  const Cfg grouped = config(false, 2, 2, 6, 4, {5, 3, 30}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});  // rows of 32 × 6
  const Cfg dilated = config(false, 1, 1, 3, 16, {4, 5, 20}, {3, 2, 3}, {1, 2, 1}, {2, 0, 1}, {2, 1, 2});
  const Cfg strided = config(false, 2, 1, 4, 16, {6, 6, 32}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1});  // planar
  const Cfg in_place = config(false, 2, 1, 4, 8, {5, 5, 18}, {3, 3, 3});                        // no copy: planar
  // The adjoint map of a stride-2 convolution copies dY interleaved (rows of 9 + 1).
  const Cfg transposed = config(true, 2, 1, 32, 8, {4, 5, 9}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1});
  struct Want {
    const Cfg& c;
    bool interleaved;
    std::int64_t row;
  };
  for (const Want& want : {Want{deep, true, 64 * 16 + 16}, Want{grouped, true, 6 * 32}, Want{dilated, true, 3 * 22},
                           Want{strided, false, 34}, Want{in_place, false, 18}}) {
    const detail::direct::PaddedLayout L = detail::direct::forward_layout(conv3d_form(want.c));
    EXPECT_EQ(L.interleaved, want.interleaved) << want.c.str();
    EXPECT_EQ(L.row, want.row) << want.c.str();
    if (L.interleaved) {
      EXPECT_EQ(L.channel, L.row_length()) << want.c.str();
    }
    EXPECT_EQ(conv3d_form(want.c).suits_direct(), detail::direct_conv_available()) << want.c.str();
    EXPECT_FALSE(detail::direct::forward_layout(conv3d_form(want.c), /*spread=*/false).interleaved) << want.c.str();
  }
  expect_matches_reference(deep, 55);
  expect_matches_reference(grouped, 56);
  expect_matches_reference(dilated, 57);
  expect_matches_reference(strided, 58);
  expect_matches_reference(in_place, 59);
  EXPECT_EQ(conv3d_form(transposed).suits_direct_adjoint(), detail::direct_conv_available());
  expect_matches_reference(transposed, 60);
}

// The channel-vector weight map makes each block's list of rows inside the volume once per tap and
// shares it among the channel groups at that tap, unless all taps' lists would be too many (here 125
// taps × at least 128 rows of 2 outputs a block): then it makes them per group. Both against the
// reference.
TEST(ConvReference, ChannelVectorWeightMapRowListsSharedOrPerGroup) {
  const Cfg few_taps = config(false, 2, 1, 10, 32, {9, 10, 4}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  const Cfg many_taps = config(false, 2, 1, 2, 16, {6, 6, 4}, {5, 5, 5}, {1, 1, 1}, {1, 1, 1});
  for (const Cfg& c : {few_taps, many_taps}) {
    const detail::ConvGeometry g = conv3d_form(c);
    EXPECT_EQ(g.direct_weight() && detail::direct_weight_channel_vectors(g), detail::direct_conv_available())
        << c.str();
  }
  expect_matches_reference(few_taps, 61);
  expect_matches_reference(many_taps, 62);
}

// A transposed convolution's input and weight gradients are computed together when both are asked
// for (one padded copy of dY): the same bits as computing either alone.
TEST(ConvReference, TransposedGradientsTogetherEqualEachAlone) {
  manual_seed(5);
  const Tensor x = rand({2, 6, 4, 5, 16}) - 0.5, w = rand({6, 4, 3, 3, 3}) - 0.5, gy = rand({2, 4, 8, 10, 32}) - 0.5;
  auto grads = [&](bool want_x, bool want_w) {
    const Tensor xl = x.clone().requires_grad_(want_x), wl = w.clone().requires_grad_(want_w);
    conv_transpose3d(xl, wl, Tensor(), 2, 1, 1).backward(gy);
    return std::make_pair(xl.grad(), wl.grad());
  };
  const auto both = grads(true, true);
  voxgrad::testing::expect_bitwise_equal(both.first, grads(true, false).first, "input gradient");
  voxgrad::testing::expect_bitwise_equal(both.second, grads(false, true).second, "weight gradient");
  // Kernel 2, stride 2: the input gradient's forward map runs in tap pairs, and the weight map on the
  // lane-wise tiles (4 outputs: 32 pairs, reading two-phase rows), or on channel-vector tiles (16 outputs:
  // 128 pairs), the two maps then sharing nothing.
  for (const auto& [cin, cout] : {std::pair<std::int64_t, std::int64_t>{6, 4}, {40, 16}}) {
    SCOPED_TRACE(cout);
    const Tensor x2 = rand({2, cin, 3, 4, 16}) - 0.5, w2 = rand({cin, cout, 2, 2, 2}) - 0.5;
    const Tensor gy2 = rand({2, cout, 6, 8, 32}) - 0.5;
    const detail::ConvGeometry g = conv3d_form(config(true, 2, 1, cin, cout, {3, 4, 16}, {2, 2, 2}, {2, 2, 2}));
    EXPECT_EQ(detail::direct_forward_tap_pairs(g), detail::direct_conv_available());
    EXPECT_EQ(g.direct_weight() && detail::direct_weight_channel_vectors(g),
              detail::direct_conv_available() && cout == 16);
    auto grads2 = [&](bool want_x, bool want_w) {
      const Tensor xl = x2.clone().requires_grad_(want_x), wl = w2.clone().requires_grad_(want_w);
      conv_transpose3d(xl, wl, Tensor(), 2).backward(gy2);
      return std::make_pair(xl.grad(), wl.grad());
    };
    const auto both2 = grads2(true, true);
    voxgrad::testing::expect_bitwise_equal(both2.first, grads2(true, false).first, "input gradient, k2 s2");
    voxgrad::testing::expect_bitwise_equal(both2.second, grads2(false, true).second, "weight gradient, k2 s2");
  }
}

// A transposed convolution with stride 2 along W whose output outgrows twice the threads' L2 writes
// whole aligned vectors past the caches (non-temporal stores): the same values as the im2col path,
// with rows of a multiple of 32 (every vector whole and aligned) and one less (whole and partial
// vectors, aligned and not, in turn).
TEST(ConvReference, LargeStrideTwoTransposedOutputsAreStreamed) {
  const voxgrad::testing::RestoreTwoThreads restore_threads;
  set_num_threads(2);
  const double floats = 2.0 * 2.0 * static_cast<double>(detail::cache_sizes().l2) / sizeof(float);
  std::int64_t D = 16;  // output rows of 2·D: 32, 64, … (16 output channels)
  while (static_cast<double>(16 * 8 * D * D * D) < floats) D += 16;
  manual_seed(9);
  for (std::int64_t op : {1, 0}) {
    const std::int64_t out = 2 * D - 1 + op;
    const Tensor x = rand({1, 8, D, D, D}) - 0.5, w = rand({8, 16, 3, 3, 3}) - 0.5, b = rand({16}) - 0.5;
    ASSERT_GE(static_cast<double>(16 * out * out * out), floats);
    const Tensor direct = conv_transpose3d(x, w, b, 2, 1, op);
    detail::set_direct_conv_enabled(false);
    const Tensor im2col = conv_transpose3d(x, w, b, 2, 1, op);
    detail::set_direct_conv_enabled(true);
    ASSERT_EQ(direct.sizes(), im2col.sizes());
    const double diff = (direct - im2col).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "output_padding " << op << ", output " << out << "^3";
  }
}

// A 1×1×1 kernel with stride 1 and no padding skips im2col (the input is the column matrix).
TEST(ConvReference, PointwiseKernelSkipsIm2col) {
  std::uint64_t seed = 11;
  for (bool t : {false, true}) {
    for (std::int64_t dil : {1, 3}) {
      expect_matches_reference(config(t, 2, 1, 3, 5, {4, 3, 5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {dil, dil, dil}),
                               ++seed);
      expect_matches_reference(
          config(t, 3, 2, 4, 6, {2, 5, 3}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {dil, 1, dil}, {0, 0, 0}, false), ++seed);
      expect_matches_reference(config(t, 1, 3, 3, 3, {3, 1, 4}, {1, 1, 1}), ++seed);  // depthwise
      expect_matches_reference(config(t, 1, 1, 4, 2, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0},
                                      true, /*unbatched=*/true),
                               ++seed);
      expect_matches_reference(config(t, 0, 1, 2, 3, {3, 3, 3}, {1, 1, 1}), ++seed);
    }
  }
  // Large enough that the pointwise path spans several column tiles (the GEMM) or blocks of positions
  // (the pointwise tiles).
  expect_matches_reference(config(false, 2, 1, 4, 3, {16, 20, 24}, {1, 1, 1}), ++seed);
  expect_matches_reference(config(true, 1, 1, 4, 3, {16, 20, 24}, {1, 1, 1}), ++seed);
  // The pointwise tiles copy each block of positions of every input channel to a buffer first: C5's
  // shape with a volume that ends in a partial block and vector, and 9 output channels (a last tile
  // block of 1 on AVX-512 and AVX2); one output channel per group, and on AVX-512 400 input channels
  // per group, go to the GEMM.
  const Cfg c5 = config(false, 2, 1, 64, 64, {5, 6, 7}, {1, 1, 1});
  const Cfg nine = config(false, 2, 1, 20, 9, {7, 6, 13}, {1, 1, 1});
  const Cfg one_out = config(false, 2, 1, 16, 1, {6, 6, 6}, {1, 1, 1});
  const Cfg deep = config(false, 1, 1, 400, 8, {2, 3, 17}, {1, 1, 1});
  EXPECT_EQ(detail::suits_pointwise_tiles(conv3d_form(c5)), detail::direct_conv_available());
  EXPECT_EQ(detail::suits_pointwise_tiles(conv3d_form(nine)), detail::direct_conv_available());
  EXPECT_FALSE(detail::suits_pointwise_tiles(conv3d_form(one_out)));
  if (detail::direct_lanes() == 16 && detail::direct_conv_available()) {
    EXPECT_FALSE(detail::suits_pointwise_tiles(conv3d_form(deep)));
    EXPECT_TRUE(detail::suits_pointwise_tiles(conv3d_form(deep).adjoint_as_forward()));
  }
  for (const Cfg& c : {c5, nine, one_out, deep}) expect_matches_reference(c, ++seed);
  // The pointwise weight tiles (at least a vector of output channels per group) cut the batch's
  // positions into chunks: C5's channels over 3 samples of 1 085 positions (4 chunks of 814, the second
  // across a sample's end, blocks and vectors ending partial); vectors over the 20 input channels of
  // 20 → 40 in 2 groups (dY's sums then taken by the tasks of block 0); 100 → 80, vectors over dY in
  // 2 blocks of channels on AVX-512 (the second of 16); 16 → 8, too few outputs for AVX-512.
  const Cfg c5_chunks = config(false, 3, 1, 64, 64, {5, 7, 31}, {1, 1, 1});
  const Cfg over_x = config(false, 2, 2, 40, 80, {3, 5, 19}, {1, 1, 1});
  const Cfg two_blocks = config(false, 2, 1, 100, 80, {2, 3, 29}, {1, 1, 1});
  const Cfg few_out = config(false, 2, 1, 16, 8, {3, 4, 21}, {1, 1, 1});
  for (const Cfg& c : {c5_chunks, over_x, two_blocks, few_out}) {
    const detail::ConvGeometry g = conv3d_form(c);
    EXPECT_EQ(detail::suits_pointwise_weight_tiles(g),
              detail::direct_conv_available() && g.cout_g() >= detail::direct_lanes())
        << c.str();
    expect_matches_reference(c, ++seed);
  }
  // Transposed, k = 1, stride 1 with output_padding (allowed by dilation 2): not pointwise.
  expect_matches_reference(config(true, 2, 1, 3, 2, {3, 4, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {2, 2, 2}, {1, 0, 1}),
                           ++seed);

  // And it is the per-position channel product, written out: y[n,:,v] = W · x[n,:,v] + b.
  manual_seed(5);
  const Tensor x = randn({2, 3, 2, 3, 4}, kFloat64), w = randn({4, 3, 1, 1, 1}, kFloat64), b = randn({4}, kFloat64);
  const std::vector<double> xv = values(x), wv = values(w), bv = values(b), yv = values(conv3d(x, w, b));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t co = 0; co < 4; ++co)
      for (std::int64_t v = 0; v < 24; ++v) {
        double want = bv[co];
        for (std::int64_t ci = 0; ci < 3; ++ci) want += wv[co * 3 + ci] * xv[(n * 3 + ci) * 24 + v];
        EXPECT_NEAR(yv[(n * 4 + co) * 24 + v], want, 1e-12);
      }
}

// pytorch#63314: wrong input gradient with kernel 1 and stride 2 (on CPU only).
TEST(ConvReference, KernelOneStrideTwoGradient) {
  expect_matches_reference(config(false, 2, 1, 3, 4, {5, 6, 7}, {1, 1, 1}, {2, 2, 2}), 21);
  expect_matches_reference(
      config(false, 1, 1, 2, 3, {6, 5, 4}, {1, 1, 1}, {2, 1, 2}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}, false), 22);
  expect_matches_reference(config(false, 2, 2, 4, 2, {5, 5, 5}, {1, 1, 1}, {2, 2, 2}, {1, 1, 1}), 23);
  expect_matches_reference(config(true, 2, 1, 3, 4, {3, 4, 2}, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, {1, 0, 1}),
                           24);

  // Spelled out: with k = 1, s = 2 the input gradient is dY·W at even positions and 0 elsewhere.
  manual_seed(63314);
  const Tensor x = randn({2, 3, 5, 6, 7}, kFloat64).requires_grad_();
  const Tensor w = randn({4, 3, 1, 1, 1}, kFloat64).requires_grad_();
  const Tensor y = conv3d(x, w, {}, 2);
  ASSERT_EQ(y.sizes(), (Shape{2, 4, 3, 3, 4}));
  const Tensor gy = randn(y.sizes(), kFloat64);
  const Tensor dx = autograd::grad({y}, {x}, {gy})[0];
  const std::vector<double> dxv = values(dx), gyv = values(gy), wv = values(w);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t ci = 0; ci < 3; ++ci)
      for (std::int64_t i = 0; i < 5; ++i)
        for (std::int64_t j = 0; j < 6; ++j)
          for (std::int64_t l = 0; l < 7; ++l) {
            double want = 0.0;
            if (i % 2 == 0 && j % 2 == 0 && l % 2 == 0) {
              for (std::int64_t co = 0; co < 4; ++co)
                want += gyv[(((n * 4 + co) * 3 + i / 2) * 3 + j / 2) * 4 + l / 2] * wv[co * 3 + ci];
            }
            EXPECT_NEAR(dxv[(((n * 3 + ci) * 5 + i) * 6 + j) * 7 + l], want, 1e-12)
                << "at n=" << n << " c=" << ci << " (" << i << "," << j << "," << l << ")";
          }
}

// N = 0: an empty output of the right shape, an empty input gradient and zero weight/bias gradients.
TEST(ConvReference, ZeroBatch) {
  for (bool t : {false, true}) {
    for (DType dt : {kFloat64, kFloat32}) {
      const Cfg c = config(t, 0, 2, 4, 6, {5, 4, 3}, {3, 2, 1}, {2, 1, 1}, {1, 0, 1}, {1, 2, 1}, {t ? 1 : 0, 0, 0});
      SCOPED_TRACE(c.str());
      const Tensor x = zeros(c.x_shape(), dt).requires_grad_();
      const Tensor w = ones(c.w_shape(), dt).requires_grad_();
      const Tensor b = ones({c.cout}, dt).requires_grad_();
      const Tensor y = run_op(c, x, w, b);
      ASSERT_EQ(y.sizes(), c.y_shape());
      EXPECT_EQ(y.numel(), 0);
      EXPECT_EQ(y.dtype(), dt);
      const std::vector<Tensor> g = autograd::grad({y}, {x, w, b}, {zeros(y.sizes(), dt)});
      ASSERT_EQ(g[0].sizes(), c.x_shape());
      EXPECT_EQ(g[0].numel(), 0);
      ASSERT_EQ(g[1].sizes(), c.w_shape());
      ASSERT_EQ(g[2].sizes(), (Shape{c.cout}));
      for (double v : values(g[1])) EXPECT_EQ(v, 0.0);
      for (double v : values(g[2])) EXPECT_EQ(v, 0.0);
      // sum() of an empty output backpropagates too.
      const std::vector<Tensor> g2 = autograd::grad({run_op(c, x, w, b).sum()}, {x, w, b});
      EXPECT_EQ(g2[0].numel(), 0);
      for (double v : values(g2[1])) EXPECT_EQ(v, 0.0);
      for (double v : values(g2[2])) EXPECT_EQ(v, 0.0);
    }
  }
}

// =================================================================================================
// Non-contiguous operands (pytorch#67829, huggingface/candle#3735).
// =================================================================================================

/// Results of one op call and its three gradients (w.r.t. the given leaves, then viewed by `views`).
struct Outcome {
  Tensor y, dx, dw, db;
};

Outcome run_with_grads(const Cfg& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                       const std::vector<Tensor>& leaves) {
  Outcome o;
  o.y = run_op(c, x, w, b);
  const std::vector<Tensor> g = autograd::grad({o.y}, leaves, {gy});
  o.dx = g[0];
  o.dw = g[1];
  o.db = g[2];
  return o;
}

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const std::vector<double> va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    ASSERT_NEAR(va[i], vb[i], 1e-12) << what << " at flat index " << i;
  }
}

TEST(ConvReference, NonContiguousOperandsMatchContiguousCopies) {
  const std::vector<Cfg> cases = {
      config(false, 2, 1, 3, 4, {5, 6, 4}, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}),
      config(false, 2, 2, 4, 6, {4, 5, 6}, {2, 3, 1}, {1, 2, 1}, {0, 1, 0}, {2, 1, 1}),
      config(true, 2, 1, 3, 4, {3, 4, 5}, {3, 2, 3}, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}, {1, 1, 0}),
      config(true, 2, 2, 4, 6, {4, 3, 5}, {2, 3, 1}, {1, 2, 2}, {0, 1, 0}, {2, 1, 1}, {1, 0, 1}),
      config(false, 2, 1, 3, 5, {4, 4, 4}, {1, 1, 1}),  // the no-im2col path reads the input directly
      config(true, 2, 1, 3, 5, {4, 4, 4}, {1, 1, 1}),
  };
  std::uint64_t seed = 67829;
  for (const Cfg& c : cases) {
    SCOPED_TRACE(c.str());
    manual_seed(++seed);
    const Shape xs = c.x_shape(), ws = c.w_shape(), ys = c.y_shape();
    // Contiguous operands.
    const Tensor x = randn(xs, kFloat64).requires_grad_(), w = randn(ws, kFloat64).requires_grad_();
    const Tensor b = randn({c.cout}, kFloat64).requires_grad_(), gy = randn(ys, kFloat64);
    const Outcome want = run_with_grads(c, x, w, b, gy, {x, w, b});
    {
      // And those agree with the naive reference.
      const Reference r = reference(c, values(x), values(w), values(b), values(gy));
      EXPECT_EQ(mismatch("output", want.y, ys, r.y, 1e-10, 0) + mismatch("grad input", want.dx, xs, r.dx, 1e-10, 0) +
                    mismatch("grad weight", want.dw, ws, r.dw, 1e-10, 0) +
                    mismatch("grad bias", want.db, {c.cout}, r.db, 1e-10, 0),
                "");
    }

    // Permuted: channels-last input, weight stored with dims 0/1 swapped and its kernel dims
    // reversed, upstream gradient
    // stored with D and W swapped. Gradients are taken w.r.t. the storage leaves and viewed back.
    {
      const Tensor xb = x.detach().permute({0, 2, 3, 4, 1}).contiguous().requires_grad_();  // N D H W C
      const Tensor xp = xb.permute({0, 4, 1, 2, 3});
      const Tensor wb = w.detach().permute({1, 0, 4, 3, 2}).contiguous().requires_grad_();
      const Tensor wp = wb.permute({1, 0, 4, 3, 2});
      const Tensor gyp = gy.transpose(2, 4).contiguous().transpose(2, 4);
      ASSERT_FALSE(xp.is_contiguous());
      ASSERT_FALSE(wp.is_contiguous());
      ASSERT_FALSE(gyp.is_contiguous());
      const Outcome got = run_with_grads(c, xp, wp, b, gyp, {xb, wb, b});
      expect_same(got.y, want.y, "permuted: output");
      expect_same(got.dx.permute({0, 4, 1, 2, 3}), want.dx, "permuted: grad input");
      expect_same(got.dw.permute({1, 0, 4, 3, 2}), want.dw, "permuted: grad weight");
      expect_same(got.db, want.db, "permuted: grad bias");
    }
    // Sliced: every other element along W of a wider input, a channel window of a larger weight,
    // and a strided slice of a larger upstream gradient.
    {
      Shape xbs = xs;
      xbs[4] = 2 * xs[4];
      Tensor xb = zeros(xbs, kFloat64);
      xb.slice(4, 0, std::nullopt, 2).copy_(x.detach());
      xb.requires_grad_();
      const Tensor xv = xb.slice(4, 0, std::nullopt, 2);
      Shape wbs = ws;
      wbs[0] += 3;
      Tensor wb = zeros(wbs, kFloat64);
      wb.narrow(0, 2, ws[0]).copy_(w.detach());
      wb.requires_grad_();
      const Tensor wv = wb.narrow(0, 2, ws[0]);
      Shape gbs = ys;
      gbs[3] = 3 * ys[3];
      const Tensor gb = zeros(gbs, kFloat64);
      gb.slice(3, 1, std::nullopt, 3).copy_(gy);
      const Tensor gyv = gb.slice(3, 1, std::nullopt, 3);
      ASSERT_FALSE(xv.is_contiguous());
      ASSERT_FALSE(gyv.is_contiguous());
      const Outcome got = run_with_grads(c, xv, wv, b, gyv, {xb, wb, b});
      expect_same(got.y, want.y, "sliced: output");
      expect_same(got.dx.slice(4, 0, std::nullopt, 2), want.dx, "sliced: grad input");
      expect_same(got.dw.narrow(0, 2, ws[0]), want.dw, "sliced: grad weight");
      expect_same(got.db, want.db, "sliced: grad bias");
      // Nothing leaks into the storage around the views.
      EXPECT_EQ(values(got.dx.slice(4, 1, std::nullopt, 2).abs().sum())[0], 0.0);
      EXPECT_EQ(values(got.dw.narrow(0, 0, 2).abs().sum())[0], 0.0);
    }
    // An expanded (stride-0) upstream gradient, as sum()/mean() produce.
    {
      const Tensor g1 = randn({ys[0], ys[1], 1, ys[3], 1}, kFloat64);
      const Tensor ge = g1.expand(ys);
      const Outcome got = run_with_grads(c, x, w, b, ge, {x, w, b});
      const Outcome ref = run_with_grads(c, x, w, b, ge.contiguous(), {x, w, b});
      expect_same(got.dx, ref.dx, "expanded grad: grad input");
      expect_same(got.dw, ref.dw, "expanded grad: grad weight");
      expect_same(got.db, ref.db, "expanded grad: grad bias");
    }
  }
}

// A bias passed as a view (a strided slice, or a one-element tensor expanded) is read through its
// strides on every path: im2col and direct kernels, float32 and float64, both ops, the functional
// forms with FuncOptions().bias(...).
TEST(ConvReference, BiasViewsAreReadThroughTheirStrides) {
  namespace F = voxgrad::nn::functional;
  for (DType dt : {kFloat64, kFloat32}) {
    // W = 1 takes the im2col path; W = 16 (float32) the direct kernels.
    for (std::int64_t width : {1, 16}) {
      SCOPED_TRACE(fmt::format("{} W={}", dt, width));
      const Tensor strided = tensor({10, 11, 12, 13, 14, 15, 16, 17}, dt).slice(0, std::nullopt, std::nullopt, 2);
      const Tensor expanded = full({1}, 5.0, dt).expand({4});
      ASSERT_FALSE(strided.is_contiguous());
      const Tensor x = zeros({1, 1, 2, 2, width}, dt);
      const Tensor w = zeros({4, 1, 1, 1, 1}, dt), wt = zeros({1, 4, 1, 1, 1}, dt);
      const std::vector<double> want_strided = {10, 12, 14, 16}, want_expanded = {5, 5, 5, 5};
      auto per_channel = [](const Tensor& y) { return values(mean(y, {0, 2, 3, 4})); };
      EXPECT_EQ(per_channel(conv3d(x, w, strided)), want_strided);
      EXPECT_EQ(per_channel(conv3d(x, w, expanded)), want_expanded);
      EXPECT_EQ(per_channel(conv_transpose3d(x, wt, strided)), want_strided);
      EXPECT_EQ(per_channel(conv_transpose3d(x, wt, expanded)), want_expanded);
      EXPECT_EQ(per_channel(F::conv3d(x, w, F::Conv3dFuncOptions().bias(strided))), want_strided);
      EXPECT_EQ(per_channel(F::conv_transpose3d(x, wt, F::ConvTranspose3dFuncOptions().bias(expanded))), want_expanded);
      // An empty input (nothing to sum) fills the output with the bias alone.
      EXPECT_EQ(per_channel(conv3d(zeros({1, 0, 2, 2, width}, dt), zeros({4, 0, 1, 1, 1}, dt), strided)), want_strided);
    }
  }
}

// =================================================================================================
// Threads: results are bit-identical for 1 and 2 threads.
// =================================================================================================

std::vector<std::vector<double>> all_results(const Cfg& c, DType dt) {
  manual_seed(4242);
  const Tensor x = randn(c.x_shape(), dt).requires_grad_(), w = randn(c.w_shape(), dt).requires_grad_();
  const Tensor b = randn({c.cout}, dt).requires_grad_(), gy = randn(c.y_shape(), dt);
  const Tensor y = run_op(c, x, w, b);
  const std::vector<Tensor> g = autograd::grad({y}, {x, w, b}, {gy});
  return {values(y), values(g[0]), values(g[1]), values(g[2])};
}

TEST(ConvReference, ThreadCountDoesNotChangeResults) {
  voxgrad::testing::RestoreTwoThreads restore;
  const std::vector<Cfg> cases = {
      config(false, 2, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(false, 2, 2, 8, 6, {12, 12, 12}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 2, 1}),
      config(false, 1, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(false, 2, 1, 8, 8, {12, 12, 12}, {1, 1, 1}),
      config(false, 2, 1, 40, 20, {6, 12, 40}, {1, 1, 1}),  // pointwise tiles, several blocks of positions
      config(true, 2, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(true, 2, 2, 8, 6, {12, 12, 12}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      // N·groups == 1: the transposed forward parallelises inside one sample.
      config(true, 1, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      config(true, 2, 1, 8, 8, {12, 12, 12}, {1, 1, 1}),
      // Weight maps on the transposed-input tiles (16 input channels, 8 output channels, rows of 24):
      // chunks of output rows fixed by the shape, whichever thread sums them.
      config(false, 2, 1, 16, 8, {6, 20, 24}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(true, 2, 1, 8, 16, {6, 20, 24}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      // Forward maps in tap pairs (stride 2, kernel 2 along W): conv3d's input read in place, conv3d's with
      // padding from its copy, and a kernel-2 stride-2 transposed convolution's input gradient (as T1's).
      config(false, 2, 1, 8, 16, {8, 10, 48}, {2, 2, 2}, {2, 2, 2}),
      config(false, 1, 1, 8, 16, {9, 10, 46}, {2, 3, 4}, {2, 1, 2}, {1, 1, 1}),
      config(true, 2, 1, 16, 8, {5, 6, 24}, {2, 2, 2}, {2, 2, 2}),
      // Three samples: at two threads a round of two (one per thread, loops serial) and one more alone
      // (sample_rounds.h); at three one round. Lane-wise, transposed-input and channel-vector weight tiles
      // (which of them depends on the lanes). Each sample's operands take at most 256 KiB, so they are small
      // samples with any L2 that cache_sizes() accepts (64 KiB or more).
      config(false, 3, 1, 8, 8, {12, 12, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(true, 3, 1, 8, 8, {8, 8, 8}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
      config(false, 3, 1, 16, 8, {4, 12, 24}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(false, 3, 1, 8, 40, {6, 8, 20}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      // Four samples (two rounds at two threads; a round and one alone at three): lane-wise weight tiles on
      // every instruction set (3 input channels fill no vector, 4 outputs no tile of channel vectors), and
      // groups.
      config(false, 4, 1, 3, 4, {6, 10, 20}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
      config(false, 4, 2, 8, 8, {6, 8, 20}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
  };
  for (const Cfg& c : cases) {
    const bool tap_pairs = c.s[2] == 2 && c.k[2] % 2 == 0;
    if (tap_pairs) {
      EXPECT_EQ(detail::direct_forward_tap_pairs(conv3d_form(c)), detail::direct_conv_available()) << c.str();
    } else if (c.cin == 16 || c.cout == 16) {
      EXPECT_EQ(detail::direct_weight_transposed_input(conv3d_form(c)), detail::direct_conv_available()) << c.str();
    } else if (c.cout == 40) {
      EXPECT_EQ(detail::direct_weight_channel_vectors(conv3d_form(c)), detail::direct_conv_available()) << c.str();
    } else if (c.cin == 3) {
      EXPECT_FALSE(detail::direct_weight_transposed_input(conv3d_form(c))) << c.str();
      EXPECT_FALSE(detail::direct_weight_channel_vectors(conv3d_form(c))) << c.str();
    }
    if (c.N >= 3) {
      EXPECT_TRUE(detail::small_samples(conv3d_form(c))) << c.str();
    }
    for (DType dt : {kFloat64, kFloat32}) {
      SCOPED_TRACE(c.str() + " " + std::string(dtype_name(dt)));
      set_num_threads(1);
      ASSERT_EQ(get_num_threads(), 1);
      const auto one = all_results(c, dt);
      const char* names[] = {"output", "grad input", "grad weight", "grad bias"};
      for (int threads : {2, 3}) {
        if (threads == 3 && c.N < 3) continue;
        set_num_threads(threads);
        ASSERT_EQ(get_num_threads(), threads);
        const auto other = all_results(c, dt);
        for (std::size_t i = 0; i < 4; ++i) {
          ASSERT_EQ(one[i].size(), other[i].size()) << names[i];
          EXPECT_EQ(std::memcmp(one[i].data(), other[i].data(), one[i].size() * sizeof(double)), 0)
              << names[i] << " differs between 1 and " << threads << " threads";
        }
      }
    }
  }
}

TEST(SampleRounds, EverySampleRunsOnceInItsSlotAndFinishesInOrder) {
  voxgrad::testing::RestoreTwoThreads restore;
  set_num_threads(2);
  for (std::int64_t slots : {1, 2, 3}) {
    for (std::int64_t N : {0, 1, 2, 3, 5, 7}) {
      SCOPED_TRACE(::testing::Message() << "slots " << slots << ", N " << N);
      const std::int64_t whole = slots > 1 ? N / slots * slots : 0;
      std::vector<int> ran(static_cast<std::size_t>(N), 0), serial(ran.size(), 0);
      std::vector<std::int64_t> finished, slot_of(ran.size(), -1);
      detail::for_each_sample(
          N, slots,
          [&](std::int64_t n, std::int64_t s) {
            ++ran[static_cast<std::size_t>(n)];
            slot_of[static_cast<std::size_t>(n)] = s;
            serial[static_cast<std::size_t>(n)] = detail::serial_loops_depth;
          },
          [&](std::int64_t n, std::int64_t s) {
            EXPECT_EQ(ran[static_cast<std::size_t>(n)], 1) << "sample " << n << " finished before it ran";
            EXPECT_EQ(s, slot_of[static_cast<std::size_t>(n)]);
            finished.push_back(n);
          });
      std::vector<std::int64_t> order(static_cast<std::size_t>(N));
      std::iota(order.begin(), order.end(), std::int64_t{0});
      EXPECT_EQ(finished, order);
      for (std::int64_t n = 0; n < N; ++n) {
        const auto i = static_cast<std::size_t>(n);
        EXPECT_EQ(ran[i], 1);
        // Rounds: sample r + s in slot s with its loops serial; the rest in slot 0, loops parallel.
        EXPECT_EQ(slot_of[i], n < whole ? n % slots : 0) << "sample " << n;
        EXPECT_EQ(serial[i] > 0, n < whole) << "sample " << n;
      }
      EXPECT_EQ(detail::serial_loops_depth, 0);
    }
  }
}

TEST(SampleRounds, SmallSamplesRunOnePerThreadWhenThereAreEnough) {
  voxgrad::testing::RestoreTwoThreads restore;
  detail::ConvGeometry g;
  g.N = 4;
  g.Cin = g.Cout = 8;
  g.vol = g.out = {12, 12, 12};  // 54 KiB in, 54 KiB out, 7 KiB of dW: within 4 L2s of 64 KiB or more
  g.kernel = {3, 3, 3};
  g.padding = {1, 1, 1};
  ASSERT_TRUE(detail::small_samples(g));
  set_num_threads(2);
  EXPECT_EQ(detail::sample_slots(g), 2);
  g.N = 1;
  EXPECT_EQ(detail::sample_slots(g), 1) << "fewer samples than threads: each sample's loops parallel";
  g.N = 4;
  set_num_threads(1);
  EXPECT_EQ(detail::sample_slots(g), 1);
  set_num_threads(2);
  g.Cin = g.Cout = 64;
  g.vol = g.out = {64, 64, 64};  // 64 MiB in and out: no cache holds a sample
  EXPECT_FALSE(detail::small_samples(g));
  EXPECT_EQ(detail::sample_slots(g), 1);
}

// =================================================================================================
// Output shapes.
// =================================================================================================

TEST(ConvReference, OutputShapeFormulas) {
  // PyTorch's documentation examples, with fewer channels and a batch of 1.
  {
    const Tensor x = zeros({1, 2, 10, 50, 100});
    EXPECT_EQ(conv3d(x, zeros({3, 2, 3, 5, 2}), {}, {2, 1, 1}, {4, 2, 0}).sizes(), (Shape{1, 3, 8, 50, 99}));
    EXPECT_EQ(conv_transpose3d(x, zeros({2, 3, 3, 5, 2}), {}, {2, 1, 1}, {0, 4, 2}).sizes(), (Shape{1, 3, 21, 46, 97}));
  }
  // (in, k, s, p, d, output_padding) → conv out, transposed out; worked by hand from the formulas
  // floor((in + 2p − d(k−1) − 1)/s) + 1 and (in − 1)s − 2p + d(k−1) + op + 1.
  struct Row {
    std::int64_t in, k, s, p, d, op, conv, tconv;
  };
  const Row rows[] = {
      {7, 3, 1, 0, 1, 0, 5, 9},  {7, 3, 2, 1, 1, 1, 4, 14}, {8, 3, 2, 1, 1, 0, 4, 15}, {5, 1, 2, 0, 1, 1, 3, 10},
      {7, 3, 2, 1, 3, 2, 2, 19}, {6, 2, 3, 2, 2, 0, 3, 14}, {1, 1, 1, 0, 1, 0, 1, 1},  {1, 3, 1, 1, 1, 0, 1, 1},
      {4, 3, 3, 0, 1, 2, 1, 14}, {5, 2, 1, 2, 3, 2, 6, 6},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(::testing::Message() << "in=" << r.in << " k=" << r.k << " s=" << r.s << " p=" << r.p << " d=" << r.d
                                      << " op=" << r.op);
    EXPECT_EQ((r.in + 2 * r.p - r.d * (r.k - 1) - 1) / r.s + 1, r.conv);
    EXPECT_EQ((r.in - 1) * r.s - 2 * r.p + r.d * (r.k - 1) + r.op + 1, r.tconv);
    // Anisotropic: the row's values in one dim at a time, neutral values in the others.
    for (std::size_t dim = 0; dim < 3; ++dim) {
      Dims in{3, 3, 3}, k{1, 1, 1}, s{1, 1, 1}, p{0, 0, 0}, d{1, 1, 1}, op{0, 0, 0};
      in[dim] = r.in;
      k[dim] = r.k;
      s[dim] = r.s;
      p[dim] = r.p;
      d[dim] = r.d;
      op[dim] = r.op;
      Shape want_c{2, 4, 3, 3, 3}, want_t{2, 4, 3, 3, 3};
      want_c[2 + dim] = r.conv;
      want_t[2 + dim] = r.tconv;
      const Tensor x = zeros({2, 2, in[0], in[1], in[2]}, kFloat64);
      EXPECT_EQ(conv3d(x, zeros({4, 2, k[0], k[1], k[2]}, kFloat64), {}, s, p, d).sizes(), want_c);
      EXPECT_EQ(conv_transpose3d(x, zeros({2, 4, k[0], k[1], k[2]}, kFloat64), {}, s, p, op, 1, d).sizes(), want_t);
      // Unbatched input gives unbatched output.
      const Tensor xu = zeros({2, in[0], in[1], in[2]}, kFloat64);
      EXPECT_EQ(conv3d(xu, zeros({4, 2, k[0], k[1], k[2]}, kFloat64), {}, s, p, d).sizes(),
                Shape(want_c.begin() + 1, want_c.end()));
      EXPECT_EQ(conv_transpose3d(xu, zeros({2, 4, k[0], k[1], k[2]}, kFloat64), {}, s, p, op, 1, d).sizes(),
                Shape(want_t.begin() + 1, want_t.end()));
    }
  }
  // Channels: conv3d gives weight.size(0); transposed gives weight.size(1) · groups.
  EXPECT_EQ(conv3d(zeros({1, 6, 3, 3, 3}), zeros({9, 2, 1, 1, 1}), {}, 1, 0, 1, 3).sizes(), (Shape{1, 9, 3, 3, 3}));
  EXPECT_EQ(conv_transpose3d(zeros({1, 6, 3, 3, 3}), zeros({6, 2, 1, 1, 1}), {}, 1, 0, 0, 3).sizes(),
            (Shape{1, 6, 3, 3, 3}));
  // Conv3d with stride s maps [L, L + s − 1] to one size; output_padding recovers each of them.
  // (k 3, s 3, p 1: sizes 10, 11 and 12 all give 4; from 4 the transposed op gives 10 + op.)
  for (std::int64_t L = 10; L <= 12; ++L) {
    const Tensor x = zeros({1, 1, L, L, L}, kFloat64);
    const Tensor y = conv3d(x, zeros({1, 1, 3, 3, 3}, kFloat64), {}, 3, 1);
    EXPECT_EQ(y.sizes(), (Shape{1, 1, 4, 4, 4}));
    const Tensor z = conv_transpose3d(y, zeros({1, 1, 3, 3, 3}, kFloat64), {}, 3, 1, L - 10);
    EXPECT_EQ(z.sizes(), (Shape{1, 1, L, L, L}));
  }
}

}  // namespace
