// conv3d / conv_transpose3d against the naive float64 reference (conv_reference.h) on randomized
// sweeps of small configurations: forward and the input, weight and bias gradients in float64 (1e-10
// absolute) and float32 (1e-4 relative to max(|expected|, 1), plus 4·√n·2⁻²⁴·Σ|term| for a sum of n
// terms: what float32 sums in any order may stray by), every tensor argument drawn as a
// contiguous tensor, a strided slice, a permute, an expanded (stride-0) tensor or a window at an offset
// into a larger storage (ViewArg), the gradients checked w.r.t. the views and w.r.t. the leaves that
// own their storage; and sweeps drawn for the float32 direct kernels (lane-wise, channel-vector and
// transposed-input weight maps, the pointwise tiles, the forward map's tap pairs), each checking that its path really
// served the configurations.

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "conv_reference.h"

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_weight_xt.h"
#include "voxgrad/ops/detail/pointwise_conv.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::testing;

// =================================================================================================
// The randomized sweep.
// =================================================================================================

/// Per-dim values in [lo, hi]: a third of the time the same in every dim, otherwise anisotropic.
Dims triple(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  if (pick(rng, 0, 2) == 0) {
    const std::int64_t v = pick(rng, lo, hi);
    return {v, v, v};
  }
  return {pick(rng, lo, hi), pick(rng, lo, hi), pick(rng, lo, hi)};
}

Cfg draw_config(std::mt19937_64& rng, bool transposed) {
  Cfg c;
  c.transposed = transposed;
  c.unbatched = pick(rng, 0, 7) == 0;
  c.N = c.unbatched ? 1 : (pick(rng, 0, 19) == 0 ? 0 : pick(rng, 1, 3));
  switch (pick(rng, 0, 3)) {
    case 3:  // depthwise: groups == Cin, channel multiplier 1..2
      c.groups = pick(rng, 2, 4);
      c.cin = c.groups;
      c.cout = c.groups * pick(rng, 1, 2);
      break;
    default: {
      c.groups = pick(rng, 1, 3);
      c.cin = c.groups * pick(rng, 1, 2);
      c.cout = c.groups * pick(rng, 1, 3);
    }
  }
  for (std::size_t i = 0; i < 3; ++i) c.in[i] = pick(rng, 1, 7);
  c.k = triple(rng, 1, 3);
  c.s = triple(rng, 1, 3);
  c.p = triple(rng, 0, 2);
  c.d = triple(rng, 1, 3);
  if (transposed && pick(rng, 0, 1) == 1) {
    for (std::size_t i = 0; i < 3; ++i) c.op[i] = pick(rng, 0, std::max(c.s[i], c.d[i]) - 1);
  }
  c.bias = pick(rng, 0, 1) == 1;
  return c;
}

struct SweepStats {
  int accepted = 0, rejected = 0, float32_checked = 0;
  int zero_batch = 0, unbatched = 0, depthwise = 0, grouped = 0, with_bias = 0, output_padding = 0;
  int strided = 0, dilated = 0, padded = 0, anisotropic = 0, pointwise = 0;
};

void sweep(bool transposed, std::uint64_t seed, int configs) {
  std::mt19937_64 rng(seed);
  SweepStats st;
  ViewStats views;
  while (st.accepted < configs) {
    const Cfg c = draw_config(rng, transposed);
    if (!c.valid()) {
      // A config PyTorch rejects: the library must reject it too, with its message, then re-draw.
      ++st.rejected;
      std::mt19937_64 vrng(seed + static_cast<std::uint64_t>(st.rejected));
      const std::vector<double> x = uniform_values(vrng, numel_of(c.x_shape()));
      const std::vector<double> w = uniform_values(vrng, numel_of(c.w_shape()));
      const char* expected =
          transposed ? "Output size is too small" : "Kernel size can't be greater than actual input size";
      SCOPED_TRACE("rejected config: " + c.str());
      EXPECT_ERROR_CONTAINS(run_op(c, make(x, c.x_shape(), kFloat64), make(w, c.w_shape(), kFloat64), {}), expected);
      continue;
    }
    ++st.accepted;
    st.zero_batch += !c.unbatched && c.N == 0;
    st.unbatched += c.unbatched;
    st.depthwise += c.groups > 1 && c.groups == c.cin;
    st.grouped += c.groups > 1;
    st.with_bias += c.bias;
    st.output_padding += c.op != Dims{0, 0, 0};
    st.strided += c.s != Dims{1, 1, 1};
    st.dilated += c.d != Dims{1, 1, 1};
    st.padded += c.p != Dims{0, 0, 0};
    st.anisotropic += c.k[0] != c.k[1] || c.k[1] != c.k[2] || c.s[0] != c.s[1] || c.d[1] != c.d[2];
    st.pointwise += c.k == Dims{1, 1, 1} && c.s == Dims{1, 1, 1} && c.p == Dims{0, 0, 0};
    std::mt19937_64 vrng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(st.accepted)));
    const std::string m64 = check_config(c, kFloat64, vrng, &views);
    EXPECT_TRUE(m64.empty()) << "float64, config #" << st.accepted << ": " << c.str() << "\n" << m64;
    if (st.accepted % 3 == 0) {
      ++st.float32_checked;
      const std::string m32 = check_config(c, kFloat32, vrng, &views);
      EXPECT_TRUE(m32.empty()) << "float32, config #" << st.accepted << ": " << c.str() << "\n" << m32;
    }
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d") << ": " << st.accepted
            << " configs checked (float64; " << st.float32_checked << " also in float32), " << st.rejected
            << " rejected by the op and re-drawn; N=0: " << st.zero_batch << ", unbatched: " << st.unbatched
            << ", grouped: " << st.grouped << " (depthwise " << st.depthwise << "), bias: " << st.with_bias
            << ", output_padding: " << st.output_padding << ", strided: " << st.strided << ", dilated: " << st.dilated
            << ", padded: " << st.padded << ", 1x1x1/s1/p0: " << st.pointwise
            << "\n             arguments as views:" << views.str() << "\n";
  // The sweep must really cover each feature, not just draw it in principle.
  EXPECT_GE(st.accepted, 200);
  EXPECT_GE(st.zero_batch, 5);
  EXPECT_GE(st.unbatched, 20);
  EXPECT_GE(st.depthwise, 40);
  EXPECT_GE(st.grouped, 100);
  EXPECT_GE(st.with_bias, 100);
  EXPECT_GE(st.strided, 150);
  EXPECT_GE(st.dilated, 150);
  EXPECT_GE(st.padded, 150);
  EXPECT_GE(st.anisotropic, 150);
  if (transposed) {
    EXPECT_GE(st.output_padding, 100);
  }
  EXPECT_LT(st.rejected, st.accepted);
  // Every argument came as every kind of view many times (bias: in about half the configs).
  views.expect_each_kind(25);
}

// Two seeds per op: the sweep totals 2 × 300 accepted configs per op.
TEST(ConvReferenceSweep, Conv3dSeedA) { sweep(false, 0xC0417A, 300); }
TEST(ConvReferenceSweep, Conv3dSeedB) { sweep(false, 0xC0417B, 300); }
TEST(ConvReferenceSweep, ConvTranspose3dSeedA) { sweep(true, 0x7C0417A, 300); }
TEST(ConvReferenceSweep, ConvTranspose3dSeedB) { sweep(true, 0x7C0417B, 300); }

// =================================================================================================
// The float32 direct kernels (ops/detail/direct_conv.h): configurations with output rows of 12 to
// 40 positions, which the direct path takes, and more than 8 output channels (register tiles of 8
// plus a remainder). Every float32 result must match the reference; the sweep also checks that the
// direct path really served most configs, and that the im2col path agrees with the same configs.
// =================================================================================================

Cfg draw_direct_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  if (c.groups == 1 || pick(rng, 0, 1) == 0) {
    c.groups = 1;
    c.cin = pick(rng, 1, 10);
    c.cout = pick(rng, 1, 19);
  }
  c.in[0] = pick(rng, 1, 4);
  c.in[1] = pick(rng, 1, 4);
  // conv3d: Wo = 12..40 for any stride; conv_transpose3d: its backward's conv3d form has Wo = in[2],
  // and its forward takes the direct path for strides 1 and 2 along W.
  c.in[2] = transposed ? pick(rng, 12, 40) : pick(rng, 12, 40) * c.s[2];
  if (transposed && c.s[2] == 3) {
    c.s[2] = pick(rng, 1, 2);
    c.op[2] = std::min(c.op[2], std::max(c.s[2], c.d[2]) - 1);
  }
  return c;
}

struct RestoreDirect {
  ~RestoreDirect() { detail::set_direct_conv_enabled(true); }
};

void direct_sweep(bool transposed, std::uint64_t seed, int configs) {
  RestoreDirect restore;
  std::mt19937_64 rng(seed);
  int accepted = 0, direct = 0, transposed_direct = 0, channel_vectors = 0;
  ViewStats views;  // the arguments of the configs the direct kernels served
  detail::set_direct_conv_enabled(true);
  const bool has_direct = detail::direct_conv_available();
  while (accepted < configs) {
    const Cfg c = draw_direct_config(rng, transposed);
    if (!c.valid()) continue;
    ++accepted;
    detail::set_direct_conv_enabled(true);
    const detail::ConvGeometry g = conv3d_form(c);
    const bool suits = g.direct_forward();
    direct += suits;
    if (transposed) transposed_direct += g.suits_direct_adjoint();
    channel_vectors +=
        g.direct_weight() && detail::direct_weight_channel_vectors(g) && !detail::direct_weight_transposed_input(g);
    const std::uint64_t values_seed = seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(accepted));
    for (bool on : {true, false}) {
      detail::set_direct_conv_enabled(on);
      std::mt19937_64 vrng(values_seed);
      const std::string m = check_config(c, kFloat32, vrng, on && suits ? &views : nullptr);
      EXPECT_TRUE(m.empty()) << (on ? "direct" : "im2col") << " path, float32, config #" << accepted << ": " << c.str()
                             << "\n"
                             << m;
    }
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d") << " direct-kernel shapes: " << accepted
            << " configs, " << direct << " in the direct path";
  if (transposed) std::cout << " (backward), " << transposed_direct << " (forward)";
  std::cout << ", " << channel_vectors << " with a channel-vector weight map";
  std::cout << "; arguments of the direct-path configs as views:" << views.str() << "\n";
  if (!has_direct) {
    // The baseline instruction set (VOXGRAD_MAX_ISA=baseline, or a CPU without AVX2) has no direct
    // kernels: every config above ran on the im2col path, twice.
    EXPECT_EQ(direct + transposed_direct, 0);
    return;
  }
  EXPECT_GE(direct, configs * 2 / 3);
  if (transposed) {
    EXPECT_GE(transposed_direct, configs / 3);
  }
  views.expect_each_kind(10);
}

/// A config whose weight map (conv3d form) runs on channel-vector tiles when the direct kernels serve:
/// 17-40 output channels per group (more than one vector on AVX-512 and AVX2) and at least 128
/// (input channel, tap) pairs per group, any row width, random kernels (1-3), strides, paddings
/// (0-4) and dilations, always with a bias (the tiles sum its gradient from the dY they read).
Cfg draw_channel_vector_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  c.groups = pick(rng, 1, 2);
  c.bias = true;  // its gradient is summed from the blocks of dY the tiles read
  c.k = triple(rng, 1, 3);
  c.p = triple(rng, 0, 4);  // up to wider than the kernel: taps with no output inside along a dim
  const std::int64_t taps = c.k[0] * c.k[1] * c.k[2];
  const std::int64_t in_g = (128 + taps - 1) / taps + pick(rng, 0, 3), out_g = pick(rng, 17, 40);
  // The conv3d form's Cin is conv_transpose3d's Cout.
  c.cin = c.groups * (transposed ? out_g : in_g);
  c.cout = c.groups * (transposed ? in_g : out_g);
  c.in = {pick(rng, 1, 4), pick(rng, 1, 5), pick(rng, 1, 20)};
  return c;
}

/// A config whose weight map (conv3d form) runs on the transposed-input tiles
/// (direct_weight_transposed_input): one group, 16, 32 or 64 input channels (whole vectors on AVX-512
/// and AVX2; one or two tiles of two vectors on AVX-512), 1-32 output channels on AVX-512 and 1-8 on AVX2 (more run on
/// channel-vector tiles), three taps along W at stride and dilation 1 with padding 0-3 and output rows of 16-40, random
/// kernels, strides, paddings and dilations along D and H (rows whose inputs lie in the padding).
Cfg draw_transposed_input_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  c.groups = 1;
  c.bias = true;  // its gradient is summed from the chunks of dY the tiles read
  const std::int64_t in_ch = 16 << pick(rng, 0, 2), out_ch = pick(rng, 1, detail::direct_lanes() >= 16 ? 32 : 8);
  // The conv3d form's Cin is conv_transpose3d's Cout.
  c.cin = transposed ? out_ch : in_ch;
  c.cout = transposed ? in_ch : out_ch;
  c.k = {pick(rng, 1, 3), pick(rng, 1, 3), 3};
  c.s = {pick(rng, 1, 2), pick(rng, 1, 2), 1};
  c.d = {pick(rng, 1, 2), pick(rng, 1, 2), 1};
  c.p = {pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 3)};
  c.op = {0, 0, 0};
  if (transposed) {
    for (std::size_t i = 0; i < 2; ++i) c.op[i] = pick(rng, 0, std::max(c.s[i], c.d[i]) - 1);
  }
  // conv3d: Wo = W + 2p − 2 in 16..40; conv_transpose3d: the conv3d form's Wo is in[2].
  const std::int64_t wo = pick(rng, 16, 40);
  c.in = {pick(rng, 1, 4), pick(rng, 1, 5), transposed ? wo : std::max<std::int64_t>(1, wo + 2 - 2 * c.p[2])};
  return c;
}

/// A sweep of `configs` valid configs from draw(rng), each checked in float32 against the reference
/// with its arguments drawn as views; serves(g) says which of them (conv3d form g) ran on the path the
/// sweep is for, named `path`. Unless the CPU (or VOXGRAD_MAX_ISA=baseline) has no direct kernels, at
/// least two thirds must (not all: a padded copy too large for its volume, as with wide paddings or
/// dilations on tiny volumes, turns the direct map away), each view kind at least 5 times among them;
/// else none.
template <typename Draw, typename Serves>
void path_sweep(const char* shapes, const char* path, bool transposed, std::uint64_t seed, int configs, Draw&& draw,
                Serves&& serves) {
  std::mt19937_64 rng(seed);
  int accepted = 0, served = 0;
  ViewStats views;
  while (accepted < configs) {
    const Cfg c = draw(rng);
    if (!c.valid()) continue;
    ++accepted;
    const bool on_path = serves(conv3d_form(c));
    served += on_path;
    std::mt19937_64 vrng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(accepted)));
    const std::string m = check_config(c, kFloat32, vrng, on_path ? &views : nullptr);
    EXPECT_TRUE(m.empty()) << "float32, config #" << accepted << ": " << c.str() << "\n" << m;
  }
  std::cout << "[ sweep    ] " << (transposed ? "conv_transpose3d" : "conv3d") << " " << shapes << ": " << accepted
            << " configs, " << served << " on " << path << "; arguments of those as views:" << views.str() << "\n";
  if (detail::direct_conv_available()) {
    EXPECT_GE(served, configs * 2 / 3);
    views.expect_each_kind(5);
  } else {
    EXPECT_EQ(served, 0);
  }
}

// The channel-vector tiles run the weight maps that neither the pointwise weight tiles (for which
// direct_weight_channel_vectors is false) nor the transposed-input tiles (tried before them) take.
void channel_vector_sweep(bool transposed, std::uint64_t seed, int configs) {
  path_sweep(
      "channel-vector weight shapes", "channel-vector tiles", transposed, seed, configs,
      [&](std::mt19937_64& rng) { return draw_channel_vector_config(rng, transposed); },
      [](const detail::ConvGeometry& g) {
        return g.direct_weight() && detail::direct_weight_channel_vectors(g) &&
               !detail::direct_weight_transposed_input(g);
      });
}

void transposed_input_sweep(bool transposed, std::uint64_t seed, int configs) {
  path_sweep(
      "transposed-input weight shapes", "transposed-input tiles", transposed, seed, configs,
      [&](std::mt19937_64& rng) { return draw_transposed_input_config(rng, transposed); },
      [](const detail::ConvGeometry& g) { return detail::direct_weight_transposed_input(g); });
}

/// A pointwise config (kernel 1, stride 1, no padding; a dilation, which a kernel of 1 ignores) for the
/// pointwise tiles (pointwise_conv.h), which run its forward map and its input gradient: groups 1-3,
/// 8-40 input and 8-20 output channels per group, or 1-7 each way (a quarter of the configs), or
/// 300-400 input channels per group (one config in eight, more than the AVX-512 buffer holds: the GEMM
/// then, but the tiles for the input gradient), volumes of up to 10 × 10 × 40 (several blocks of
/// positions, the last one partial).
Cfg draw_pointwise_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  c.groups = pick(rng, 1, 3);
  c.k = {1, 1, 1};
  c.s = {1, 1, 1};
  c.p = {0, 0, 0};
  c.d = triple(rng, 1, 2);
  c.op = {0, 0, 0};
  c.bias = pick(rng, 0, 3) != 0;  // the tiles start their sums from it, or from zero without
  // A quarter of the configs narrow (1-7 channels each way: the GEMM takes many of them on AVX2).
  const bool wide = pick(rng, 0, 7) == 0, narrow = !wide && pick(rng, 0, 3) == 0;
  const std::int64_t in_g = wide ? pick(rng, 300, 400) : narrow ? pick(rng, 1, 7) : pick(rng, 8, 40);
  const std::int64_t out_g = narrow ? pick(rng, 1, 7) : pick(rng, 8, 20);
  // The conv3d form's Cin is conv_transpose3d's Cout.
  c.cin = c.groups * (transposed ? out_g : in_g);
  c.cout = c.groups * (transposed ? in_g : out_g);
  c.in = wide ? Dims{pick(rng, 1, 3), pick(rng, 1, 4), pick(rng, 1, 20)}
              : Dims{pick(rng, 1, 10), pick(rng, 1, 10), pick(rng, 1, 40)};
  return c;
}

// The forward map runs a conv3d's forward and conv_transpose3d's input gradient; the adjoint as a
// forward the other two.
void pointwise_sweep(bool transposed, std::uint64_t seed, int configs) {
  path_sweep(
      "pointwise shapes", "the pointwise tiles", transposed, seed, configs,
      [&](std::mt19937_64& rng) { return draw_pointwise_config(rng, transposed); },
      [](const detail::ConvGeometry& g) {
        return detail::suits_pointwise_tiles(g) || detail::suits_pointwise_tiles(g.adjoint_as_forward());
      });
}

/// A pointwise config for the pointwise weight tiles (pointwise_conv.h): as draw_pointwise_config, but
/// with 16-48 output channels per group in the conv3d form (a vector on every instruction set) and
/// 1-48 input channels, so that vectors run over either side; 1-3 samples of up to 6 × 8 × 30
/// positions, so that chunks of the batch's positions end inside a sample.
Cfg draw_pointwise_weight_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_pointwise_config(rng, transposed);
  c.N = pick(rng, 1, 3);
  c.groups = pick(rng, 1, 2);
  const std::int64_t in_g = pick(rng, 1, 48), out_g = pick(rng, 16, 48);
  c.cin = c.groups * (transposed ? out_g : in_g);
  c.cout = c.groups * (transposed ? in_g : out_g);
  c.in = Dims{pick(rng, 1, 6), pick(rng, 1, 8), pick(rng, 1, 30)};
  return c;
}

void pointwise_weight_sweep(bool transposed, std::uint64_t seed, int configs) {
  path_sweep(
      "pointwise weight shapes", "the pointwise weight tiles", transposed, seed, configs,
      [&](std::mt19937_64& rng) { return draw_pointwise_weight_config(rng, transposed); },
      [](const detail::ConvGeometry& g) { return detail::suits_pointwise_weight_tiles(g); });
}

/// A config whose forward map (conv3d form) runs on the tap-pair tiles (direct_forward_tap_pairs):
/// stride 2, dilation 1 and a kernel of 2 or 4 along W with padding 0-2, output rows of 5-40 (vectors
/// of 8 positions on AVX-512, 4 on AVX2, the last one often partial; rows the 70% rule turns away, as
/// 9-11, run on the im2col path), random kernels, strides, paddings and dilations along D and H (tap
/// rows in the padding, skipped), groups, 1-10 input and 1-19 output channels per group (tiles of 8 and
/// a remainder). A third of the configs have no padding and an input of exactly the extent the outputs
/// read, which the tiles read in place. conv_transpose3d (whose backward runs the conv3d form's forward
/// map with its weight map): half the configs with 17-40 of the form's output channels per group and at
/// least 128 (channel, tap) pairs (a channel-vector weight map, sharing no copy), half with few (the
/// lane-wise weight map on its own two-phase copy).
Cfg draw_tap_pair_config(std::mt19937_64& rng, bool transposed) {
  Cfg c = draw_config(rng, transposed);
  c.unbatched = false;
  c.N = pick(rng, 1, 2);
  c.groups = pick(rng, 0, 2) == 0 ? pick(rng, 2, 3) : 1;
  c.bias = true;  // the tiles add it after the two taps' sums
  c.k = {pick(rng, 1, 3), pick(rng, 1, 3), 2 * pick(rng, 1, 2)};
  c.s = {pick(rng, 1, 2), pick(rng, 1, 2), 2};
  c.d = {pick(rng, 1, 2), pick(rng, 1, 2), 1};
  c.p = {pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2)};
  const bool in_place = pick(rng, 0, 2) == 0;
  if (in_place) c.p = {0, 0, 0};
  const std::int64_t taps = c.k[0] * c.k[1] * c.k[2];
  const bool channel_vectors = transposed && pick(rng, 0, 1) == 0;
  const std::int64_t in_g = channel_vectors ? (128 + taps - 1) / taps + pick(rng, 0, 3) : pick(rng, 1, 10);
  const std::int64_t out_g = channel_vectors ? pick(rng, 17, 40) : pick(rng, 1, 19);
  // The conv3d form's Cin is conv_transpose3d's Cout.
  c.cin = c.groups * (transposed ? out_g : in_g);
  c.cout = c.groups * (transposed ? in_g : out_g);
  const std::int64_t wo = pick(rng, 5, 40);
  c.op = {0, 0, 0};
  if (transposed) {
    // The form's output rows are the transposed input's; its input rows (this op's output) take the
    // form's last column or not (output_padding along W: 0 or 1).
    if (!in_place) {
      for (std::size_t i = 0; i < 3; ++i) c.op[i] = pick(rng, 0, std::max(c.s[i], c.d[i]) - 1);
    }
    c.in = {pick(rng, 1, 4), pick(rng, 1, 4), wo};
  } else if (in_place) {
    // Exactly the extent (out − 1)·s + (k − 1)·d + 1 along every dim.
    c.in = {(pick(rng, 1, 4) - 1) * c.s[0] + (c.k[0] - 1) * c.d[0] + 1,
            (pick(rng, 1, 4) - 1) * c.s[1] + (c.k[1] - 1) * c.d[1] + 1, (wo - 1) * 2 + c.k[2]};
  } else {
    c.in = {pick(rng, 1, 5), pick(rng, 1, 5),
            std::max<std::int64_t>(1, (wo - 1) * 2 + c.k[2] - 2 * c.p[2] + pick(rng, 0, 1))};
  }
  return c;
}

void tap_pair_sweep(bool transposed, std::uint64_t seed, int configs) {
  path_sweep(
      "tap-pair forward shapes", "the tap-pair tiles", transposed, seed, configs,
      [&](std::mt19937_64& rng) { return draw_tap_pair_config(rng, transposed); },
      [](const detail::ConvGeometry& g) { return detail::direct_forward_tap_pairs(g); });
}

TEST(ConvReferenceSweep, Conv3dTapPairShapes) { tap_pair_sweep(false, 0x7A9A1, 80); }
TEST(ConvReferenceSweep, ConvTranspose3dTapPairShapes) { tap_pair_sweep(true, 0x7A9A2, 70); }

TEST(ConvReferenceSweep, Conv3dTransposedInputWeightShapes) { transposed_input_sweep(false, 0x7A3D1, 80); }
TEST(ConvReferenceSweep, ConvTranspose3dTransposedInputWeightShapes) { transposed_input_sweep(true, 0x7A7D1, 60); }

TEST(ConvReferenceSweep, Conv3dChannelVectorWeightShapes) { channel_vector_sweep(false, 0xC7A3D, 60); }
TEST(ConvReferenceSweep, ConvTranspose3dChannelVectorWeightShapes) { channel_vector_sweep(true, 0xC7A7D, 60); }

TEST(ConvReferenceSweep, Conv3dPointwiseShapes) { pointwise_sweep(false, 0x9017A, 140); }
TEST(ConvReferenceSweep, ConvTranspose3dPointwiseShapes) { pointwise_sweep(true, 0x9017B, 140); }
TEST(ConvReferenceSweep, Conv3dPointwiseWeightShapes) { pointwise_weight_sweep(false, 0x9017C, 60); }
TEST(ConvReferenceSweep, ConvTranspose3dPointwiseWeightShapes) { pointwise_weight_sweep(true, 0x9017D, 60); }

TEST(ConvReferenceSweep, Conv3dDirectKernelShapes) { direct_sweep(false, 0xD1C3D, 200); }
TEST(ConvReferenceSweep, ConvTranspose3dDirectKernelShapes) { direct_sweep(true, 0xD1C7D, 200); }

}  // namespace
