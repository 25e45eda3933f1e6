// The conv pair on every instruction set this CPU runs (core/cpu.h): the kernels are picked at run
// time, the override reaches them, and each set's results match a float64 reference computed on the
// same inputs (forward, input and weight gradients, conv3d and conv_transpose3d, strides 1 and 2,
// groups, channel counts that leave remainder tiles). The other op tests run once more per narrower
// set with VOXGRAD_MAX_ISA (ctest prefixes avx2. and baseline.).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "isa_override.h"
#include "test_util.h"
#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"

namespace voxgrad {
namespace {

using testing::IsaOverride;
using testing::runnable_isas;
using testing::values;

TEST(CpuIsa, MaxIsaValuesAreParsedInAnyCase) {
  EXPECT_EQ(detail::parse_max_isa("baseline"), CpuIsa::baseline);
  EXPECT_EQ(detail::parse_max_isa("AVX2"), CpuIsa::avx2);
  EXPECT_EQ(detail::parse_max_isa("Avx512"), CpuIsa::avx512);
  EXPECT_EQ(detail::parse_max_isa(""), CpuIsa::avx512);
  EXPECT_STREQ(to_string(CpuIsa::baseline), "baseline");
  EXPECT_STREQ(to_string(CpuIsa::avx2), "avx2");
  EXPECT_STREQ(to_string(CpuIsa::avx512), "avx512");
}

TEST(CpuIsa, AnUnknownMaxIsaNamesTheVariableAndTheValue) {
  try {
    detail::parse_max_isa("sse9");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "VOXGRAD_MAX_ISA: 'sse9' names no instruction set; expected baseline, avx2 or avx512");
  }
}

// The flags the kernel reports in /proc/cpuinfo (empty where it cannot be read).
std::string cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return line + " ";
  }
  return {};
}

// scripts/qemu_isa_check.sh sets VOXGRAD_EXPECT_ISA to what the emulated CPU has (qemu-user shows
// the host's /proc/cpuinfo); natively the kernel's flag list says it.
TEST(CpuIsa, TheSupportedSetIsWhatTheCpuReports) {
  if (const char* expect = std::getenv("VOXGRAD_EXPECT_ISA")) {
    EXPECT_STREQ(to_string(cpu_isa_supported()), expect);
    return;
  }
  const std::string flags = cpuinfo_flags();
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  auto has = [&](const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos; };
  const bool v3 = has("avx2") && has("fma") && has("bmi1") && has("bmi2");
  const bool v4 = v3 && has("avx512f") && has("avx512bw") && has("avx512cd") && has("avx512dq") && has("avx512vl");
  EXPECT_EQ(cpu_isa_supported(), v4 ? CpuIsa::avx512 : v3 ? CpuIsa::avx2 : CpuIsa::baseline) << flags;
}

TEST(CpuIsa, TheOverrideIsCappedByTheCpuAndPicksThatSetsKernels) {
  EXPECT_LE(cpu_isa(), cpu_isa_supported());
  EXPECT_GT(detail::cache_sizes().l1d, 0);
  EXPECT_GE(detail::cache_sizes().l2, detail::cache_sizes().l1d);
  for (CpuIsa isa : runnable_isas()) {
    IsaOverride o(isa);
    EXPECT_EQ(cpu_isa(), isa);
    // x86-64 builds have direct kernels for AVX2 and AVX-512: 8 and 16 float32 lanes.
    const bool direct = isa != CpuIsa::baseline;
    EXPECT_EQ(detail::direct_conv_available(), direct) << to_string(isa);
    if (direct) {
      EXPECT_EQ(detail::direct_lanes(), isa == CpuIsa::avx512 ? 16 : 8);
    }
  }
  IsaOverride o(CpuIsa::avx512);
  EXPECT_EQ(cpu_isa(), cpu_isa_supported());
}

// A k3 p1 conv3d whose output (and input) rows are `width` long, with stride `sw` along W.
detail::ConvGeometry rows_of(std::int64_t width, std::int64_t sw = 1) {
  detail::ConvGeometry g;
  g.N = 1;
  g.Cin = g.Cout = 4;
  g.kernel = {3, 3, 3};
  g.padding = {1, 1, 1};
  g.stride = {1, 1, sw};
  g.out = {4, 4, width};
  g.vol = {4, 4, (width - 1) * sw + 1};
  return g;
}

TEST(CpuIsa, RowsRunOnTheWidestTilesTheyFill) {
  for (CpuIsa isa : runnable_isas()) {
    IsaOverride o(isa);
    SCOPED_TRACE(to_string(isa));
    const bool v4 = isa == CpuIsa::avx512, v3 = isa != CpuIsa::baseline;
    // Forward rows: at least 70% of the lanes used. Rows of 8 take AVX2's 8 lanes on an AVX-512 CPU.
    EXPECT_EQ(detail::direct_forward_lanes(rows_of(32)), v4 ? 16 : v3 ? 8 : 0);
    EXPECT_EQ(detail::direct_forward_lanes(rows_of(12)), v4 ? 16 : v3 ? 8 : 0);  // 12 of 16 lanes
    EXPECT_EQ(detail::direct_forward_lanes(rows_of(8)), v3 ? 8 : 0);
    EXPECT_EQ(detail::direct_forward_lanes(rows_of(8, 2)), v3 ? 8 : 0);
    EXPECT_EQ(detail::direct_forward_lanes(rows_of(5)), 0);  // 5 of 8 lanes
    EXPECT_EQ(rows_of(8).suits_direct(), v3);
    // The adjoint's rows are vol's; at stride 2 its two W classes of about width / 2 run in pairs of
    // vectors, at least 50% used: 17 of 32 positions on AVX-512, 15 or 9 of 16 on AVX2.
    EXPECT_EQ(detail::direct_adjoint_lanes(rows_of(9, 2)), v4 ? 16 : v3 ? 8 : 0);  // vol rows of 17
    EXPECT_EQ(detail::direct_adjoint_lanes(rows_of(8, 2)), v3 ? 8 : 0);            // vol rows of 15
    EXPECT_EQ(detail::direct_adjoint_lanes(rows_of(5, 2)), v3 ? 8 : 0);            // vol rows of 9
    EXPECT_EQ(detail::direct_adjoint_lanes(rows_of(4, 2)), 0);                     // vol rows of 7
    EXPECT_EQ(rows_of(5, 2).suits_direct_adjoint(), v3);
  }
}

// Packed rows (direct_kernels.h): the forward map's rows that end in a partial vector run one after
// another where no vector spans more than two rows; a vector crossing a row end reads its other lanes
// from the next row's start (x offset of lane 0, shifted back by the lanes already used).
TEST(CpuIsa, RowsEndingInAPartialVectorArePackedTwoRowsAtMost) {
  using detail::direct::RowVectors;
  // 2 planes of 3 rows of `width`; padded rows of width + 2, planes of 5 such rows.
  auto rows = [](std::int64_t lanes, std::int64_t width) {
    return detail::direct::row_vectors(lanes, 2, 3, width, 5 * (width + 2), width + 2, 3 * width, width);
  };
  detail::direct::Kernels packing{};  // tiles that take packed rows, for a map of 3 output channels
  packing.packs_rows = true;
  for (auto [lanes, width, packs] : {std::tuple{16, 24, true},
                                     {16, 12, true},
                                     {16, 20, true},
                                     {16, 37, true},
                                     {16, 32, false},
                                     {16, 10, false},
                                     {16, 13, false},
                                     {8, 6, true},
                                     {8, 5, false}}) {
    RowVectors v = rows(lanes, width);
    EXPECT_EQ(detail::direct::pack_rows(v, packing, 3), packs) << lanes << " lanes, rows of " << width;
    EXPECT_EQ(v.count, packs ? (6 * width + lanes - 1) / lanes : 6 * ((width + lanes - 1) / lanes));
  }
  RowVectors v = rows(16, 24);
  ASSERT_TRUE(detail::direct::pack_rows(v, packing, 3));
  detail::direct::PackedVectors p;
  detail::direct::packed_vectors_get(v, 0, 3, p);  // row 0's 16 + 8, row 1's 8 + 16
  EXPECT_EQ(std::vector<std::int64_t>(p.xo, p.xo + 3), (std::vector<std::int64_t>{0, 16, 26 + 8}));
  EXPECT_EQ(std::vector<std::int64_t>(p.yo, p.yo + 3), (std::vector<std::int64_t>{0, 16, 32}));
  EXPECT_EQ(std::vector<std::uint32_t>(p.mk, p.mk + 3), (std::vector<std::uint32_t>{0xFFFF, 0xFF, 0xFFFF}));
  EXPECT_EQ(std::vector<std::uint32_t>(p.mk2, p.mk2 + 3), (std::vector<std::uint32_t>{0, 0xFF00, 0}));
  EXPECT_EQ(p.xo2[1], 26 - 8);
  EXPECT_EQ(p.rows, 4);                            // rows 0, 0, 1 (the second one's second row), 1
  detail::direct::packed_vectors_get(v, 7, 2, p);  // row 4 (plane 1, row 1) from 16: 8 + 8, then the last 16
  EXPECT_EQ(p.xo[0], 5 * 26 + 26 + 16);
  EXPECT_EQ(p.xo2[0], 5 * 26 + 2 * 26 - 8);
  EXPECT_EQ(p.mk2[0], 0xFF00u);
  EXPECT_EQ(p.yo[1], 8 * 16);
  EXPECT_EQ(p.mk[1], 0xFFFFu);
  EXPECT_EQ(p.mk2[1], 0u);
  // The last vector of rows of 12 ends with the positions: 6 · 12 = 72 = 4 · 16 + 8.
  RowVectors s = rows(16, 12);
  ASSERT_TRUE(detail::direct::pack_rows(s, packing, 3));
  detail::direct::packed_vectors_get(s, 4, 1, p);
  EXPECT_EQ(p.mk[0], 0xFFu);  // row 5 from column 4: 8 positions, nothing after
  EXPECT_EQ(p.mk2[0], 0u);
}

// Tiles over rows grouped by the tap rows along H they read inside the volume (TileList): every vector exactly once,
// each with its own row's offsets, and no tile over rows of two groups.
TEST(CpuIsa, GroupedTilesCoverEveryVectorOnceWithinOneGroup) {
  using detail::direct::RowVectors;
  // A forward map of 5 × 6 output rows of 20 positions (2 vectors of 16), k3 p2 dilation 1 on a 5 × 6 input:
  // rows 0, 1, 4, 5 along H read some taps in the padding (and 0, 1, 3, 4 along D, which the groups keep together).
  const detail::direct::SkipRows skip{{3, 3}, {1, 1}, {2, 2}, {1, 1}, {3, 4}, 8};
  for (std::int64_t most : {1, 2, 3}) {
    RowVectors v = detail::direct::row_vectors(16, 5, 6, 20, 1000, 100, 6 * 20, 20);
    detail::direct::TileList tiles;
    tiles.make(v, most, &skip);
    ASSERT_NE(v.order, nullptr);
    ASSERT_EQ(tiles.begin.back(), v.count);
    const auto group = [&](std::int64_t /*d*/, std::int64_t h) {
      std::uint32_t bits = 0;
      for (std::int64_t t = 0; t < 3; ++t) bits |= (h - 2 + t >= 0 && h - 2 + t < 4 ? 1u : 0u) << t;
      return bits;
    };
    std::vector<int> seen(static_cast<std::size_t>(v.count), 0);
    for (std::int64_t t = 0; t < tiles.tiles(); ++t) {
      const std::int64_t v0 = tiles.begin[static_cast<std::size_t>(t)],
                         nv = tiles.begin[static_cast<std::size_t>(t + 1)] - v0;
      ASSERT_GE(nv, 1);
      ASSERT_LE(nv, most);
      std::int64_t xo[8], yo[8], rd[8], rh[8];
      std::uint32_t mk[8];
      detail::direct::row_vectors_get(v, v0, nv, xo, yo, mk, rd, rh);
      for (std::int64_t j = 0; j < nv; ++j) {
        EXPECT_EQ(group(rd[j], rh[j]), group(rd[0], rh[0])) << "tile " << t;
        const std::int64_t w0 = yo[j] - rd[j] * 120 - rh[j] * 20;
        EXPECT_TRUE(w0 == 0 || w0 == 16);
        EXPECT_EQ(xo[j], rd[j] * 1000 + rh[j] * 100 + w0);
        EXPECT_EQ(mk[j], w0 == 0 ? 0xFFFFu : 0xFu);
        ++seen[static_cast<std::size_t>((rd[j] * 6 + rh[j]) * 2 + w0 / 16)];
      }
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), v.count) << "tiles of at most " << most;
  }
}

// The padded copy the direct kernels read (direct_layout.h), on each instruction set's vectors (plain
// loops on the baseline), planar and interleaved, against its definition: slot q of phase r of padded
// row (pd, ph) holds input (pd − origin_D, ph − origin_H, q·sw + r − origin_W), zero outside the input,
// and nothing between the slots (the spread's cache lines) is written. Rows of 1 to 300 (partial
// vectors on both sides of the masks, more vectors than one set of masks), strides 1 to 3, origins
// that pad or crop.
TEST(CpuIsa, ThePaddedCopyHoldsEveryInputOnceAndZerosElsewhere) {
  struct Layout {
    detail::Dims vol;
    std::int64_t Dp, Hp, Wq, sw;
    detail::Dims origin;
  };
  std::vector<Layout> layouts;
  for (std::int64_t W : {1, 5, 8, 15, 16, 17, 31, 33, 40, 130, 300}) {
    for (std::int64_t sw : {1, 2, 3}) {
      layouts.push_back({{3, 4, W}, 5, 6, (W + 2 + sw - 1) / sw, sw, {1, 1, 1}});                      // padded by 1
      layouts.push_back({{2, 3, W}, 2, 3, std::max<std::int64_t>(1, (W - 1) / sw), sw, {0, -1, -2}});  // cropped
      layouts.push_back({{2, 2, W}, 4, 5, (W + 7) / sw + 1, sw, {2, 2, 5}});                           // wide padding
    }
  }
  std::uint64_t seed = 3;
  for (CpuIsa isa : runnable_isas()) {
    IsaOverride o(isa);
    for (const Layout& l : layouts) {
      for (bool interleaved : {false, true}) {
        const std::int64_t C = 3, N = 2, V = l.vol[0] * l.vol[1] * l.vol[2];
        detail::direct::PaddedLayout L;
        L.Dp = l.Dp;
        L.Hp = l.Hp;
        L.Wq = l.Wq;
        L.sw = l.sw;
        L.origin = l.origin;
        if (interleaved) {
          L.finish_interleaved(C);
        } else {
          L.finish(true);
        }
        std::vector<float> x(static_cast<std::size_t>(N * C * V));
        for (float& v : x) {  // in [1, 2): never 0
          seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
          v = 1.0f + static_cast<float>(seed >> 40) / 16777216.0f;
        }
        std::vector<float> xp(static_cast<std::size_t>(L.sample_floats(C)), -7.0f);
        const float* got = detail::direct::padded_sample(x.data(), xp.data(), C, l.vol, L, 1);
        SCOPED_TRACE(fmt::format("{} vol={} Dp={} Hp={} Wq={} sw={} origin={} interleaved={}", to_string(isa), l.vol,
                                 l.Dp, l.Hp, l.Wq, l.sw, l.origin, interleaved));
        if (got == xp.data()) {  // every slot written (inputs are never -7), nothing else
          EXPECT_EQ(std::count_if(xp.begin(), xp.end(), [](float v) { return v != -7.0f; }),
                    C * L.Dp * L.Hp * L.sw * L.Wq);
        }
        std::int64_t wrong = 0;
        for (std::int64_t ch = 0; ch < C; ++ch) {
          for (std::int64_t pd = 0; pd < L.Dp; ++pd) {
            for (std::int64_t ph = 0; ph < L.Hp; ++ph) {
              for (std::int64_t r = 0; r < L.sw; ++r) {
                for (std::int64_t q = 0; q < L.Wq; ++q) {
                  const std::int64_t d = pd - l.origin[0], h = ph - l.origin[1], w = q * l.sw + r - l.origin[2];
                  const bool inside = d >= 0 && d < l.vol[0] && h >= 0 && h < l.vol[1] && w >= 0 && w < l.vol[2];
                  const float want = inside ? x[static_cast<std::size_t>(
                                                  ((C + ch) * l.vol[0] + d) * l.vol[1] * l.vol[2] + h * l.vol[2] + w)]
                                            : 0.0f;
                  const float have = got[ch * L.channel + pd * L.plane + ph * L.row + r * L.Wq + q];
                  wrong += have != want;
                  if (have != want && wrong <= 3) {
                    ADD_FAILURE() << fmt::format("channel {} slot ({}, {}, {}, {}): {} != {}", ch, pd, ph, r, q, have,
                                                 want);
                  }
                }
              }
            }
          }
        }
        EXPECT_EQ(wrong, 0);
      }
    }
  }
}

/// Which tiles a case's weight map runs on.
enum WeightTiles { kLaneWise, kChannelVectors, kChannelVectorsOnAvx2 };

struct Case {
  bool transposed;
  std::int64_t N, cin, cout, groups;
  Shape in;
  std::array<std::int64_t, 3> k, s, p;
  WeightTiles weight_tiles = kLaneWise;  ///< kChannelVectors: on AVX2 and AVX-512
  std::string str() const {
    return fmt::format("{} N={} Cin={} Cout={} groups={} in={} k={} s={} p={}",
                       transposed ? "conv_transpose3d" : "conv3d", N, cin, cout, groups, in, k, s, p);
  }
};

// Forward output and the input, weight and bias gradients for an upstream gradient of ones·g.
std::vector<Tensor> run(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& g) {
  const Tensor xl = x.detach().requires_grad_(true), wl = w.detach().requires_grad_(true);
  const Tensor bl = b.detach().requires_grad_(true);
  const Tensor y =
      c.transposed ? conv_transpose3d(xl, wl, bl, c.s, c.p, 0, c.groups) : conv3d(xl, wl, bl, c.s, c.p, 1, c.groups);
  (y * g).sum().backward();
  return {y.detach(), xl.grad(), wl.grad(), bl.grad()};
}

TEST(ConvIsa, EveryInstructionSetMatchesAFloat64Reference) {
  const std::vector<Case> cases = {
      {false, 2, 3, 19, 1, {3, 4, 37}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},  // remainder tiles of 8 and 4 channels
      {false, 1, 4, 2, 2, {2, 3, 33}, {1, 3, 3}, {1, 1, 2}, {0, 1, 1}},   // 1 channel per group: wide tiles
      {false, 1, 4, 9, 1, {4, 4, 40}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},   // stride-2 phases
      {true, 2, 6, 5, 1, {2, 3, 17}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},    // stride-2 W classes, input read in place
      {true, 1, 4, 6, 2, {3, 2, 21}, {3, 3, 3}, {2, 1, 2}, {1, 1, 1}},    // stride-2 W classes with padding
      {true, 1, 3, 11, 1, {2, 2, 30}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},   // the adjoint as a forward
      // The W classes of stride 2 in pairs of tiles: 37 output channels (a last block of 5 on AVX-512,
      // of 1 on AVX2), an odd output width (the even class one position longer), partial vectors;
      // then groups, and a W kernel of 1 (the odd class has no taps: its outputs are the bias).
      {true, 1, 40, 37, 1, {3, 3, 20}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, kChannelVectors},
      {true, 2, 30, 10, 2, {2, 3, 17}, {1, 3, 1}, {2, 2, 2}, {0, 1, 0}},
      // The lane-wise weight map (at most 8 output channels: one vector of them or less on both
      // instruction sets) over several position blocks (48 vectors each on AVX-512, 192 on AVX2 with
      // 48 KiB of L1d, fewer with less): rows ending in a partial vector in every block; pairs not a
      // multiple of the tile's 3 (K = 8); rows of one partial vector only (W = 13 on AVX-512, 7 on
      // AVX2: the direct path takes rows whose vectors are at least 70% used).
      {false, 1, 2, 8, 1, {8, 12, 27}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      {false, 2, 1, 5, 1, {9, 12, 28}, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}},
      {false, 1, 2, 3, 1, {10, 10, 13}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      {false, 1, 2, 3, 1, {14, 15, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      // ... rows of full vectors only (the last block's full tiles end the sums); a pointwise conv
      // with K = 2 < 3 pairs (only the shorter group; its forward and input gradient run on the
      // pointwise tiles).
      {false, 1, 2, 8, 1, {8, 12, 32}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      {false, 2, 2, 5, 1, {9, 12, 27}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}},
      // The pointwise tiles: remainder blocks of output channels, a volume ending in a partial vector,
      // several blocks of positions; groups, and a transposed conv (its forward is the adjoint).
      {false, 2, 37, 19, 1, {3, 5, 27}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}},
      {true, 1, 12, 6, 3, {4, 4, 13}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}},
      // Rows of 8 (then 9) on an AVX-512 CPU run on the AVX2 tiles (CpuIsa.RowsRunOnTheWidestTilesThey
      // Fill): the forward and lane-wise weight maps at strides 1 and 2, the adjoint of stride 2 in
      // pairs of W classes, and the adjoint of stride 1 (its padding exceeds the kernel's reach, so it
      // is no forward map).
      {false, 2, 3, 8, 1, {5, 6, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
      {false, 1, 4, 12, 1, {9, 10, 16}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
      {true, 1, 6, 5, 1, {3, 4, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
      {true, 1, 4, 6, 1, {4, 5, 12}, {3, 3, 3}, {1, 1, 1}, {0, 0, 3}},
      // ... the same with rows of 24 (packed on AVX-512: 16 + 8 positions).
      {true, 1, 4, 6, 1, {3, 3, 28}, {3, 3, 3}, {1, 1, 1}, {0, 0, 3}},
      // The channel-vector weight map (more than one vector of output channels, at least 128 pairs;
      // output rows of 14, 12, 32, 15 and 20, at least 70% of their vectors used, so that the direct
      // forward serves too): a last channel block partly filled and pair groups ending short;
      // groups; several blocks of rows and two channel blocks; a transposed conv's weight gradient;
      // stride 1. Then rows of 8 and 3 (the rows of 3 no direct forward takes: 3 of 8 lanes).
      // Marked `true`; the test checks on each ISA that exactly these take that path.
      {false, 2, 5, 37, 1, {5, 6, 27}, {3, 3, 3}, {1, 2, 2}, {1, 1, 1}, kChannelVectors},
      {false, 1, 16, 40, 2, {4, 4, 24}, {2, 3, 3}, {2, 2, 2}, {0, 1, 1}, kChannelVectors},
      {false, 1, 5, 70, 1, {8, 8, 64}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, kChannelVectors},
      {true, 2, 24, 5, 1, {4, 8, 15}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, kChannelVectors},
      {false, 2, 6, 33, 1, {6, 9, 20}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, kChannelVectors},
      {false, 2, 8, 40, 1, {6, 6, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, kChannelVectors},
      {false, 1, 6, 24, 1, {5, 7, 6}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, kChannelVectors},
      // Exactly one vector of output channels (16 on AVX-512, 8 on AVX2) takes the channel-vector
      // tiles when strided or when its rows end in a partial vector: rows of 12 at stride 1 and rows
      // of 16 at stride 2 on both sets; rows of 32 (whole vectors on both) only where there are two
      // vectors of channels; 8 channels over rows of 12 only on AVX2, over rows of 16 on neither.
      {false, 2, 5, 16, 1, {5, 6, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, kChannelVectors},
      {false, 1, 6, 16, 1, {6, 8, 32}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, kChannelVectors},
      {false, 2, 5, 16, 1, {4, 5, 32}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, kChannelVectorsOnAvx2},
      {false, 2, 5, 8, 1, {4, 5, 12}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, kChannelVectorsOnAvx2},
      {false, 1, 5, 8, 1, {4, 4, 16}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
  };
  manual_seed(7);
  for (const Case& c : cases) {
    const Shape wshape = c.transposed ? Shape{c.cin, c.cout / c.groups, c.k[0], c.k[1], c.k[2]}
                                      : Shape{c.cout, c.cin / c.groups, c.k[0], c.k[1], c.k[2]};
    const Tensor x = rand({c.N, c.cin, c.in[0], c.in[1], c.in[2]}) - 0.5;
    const Tensor w = rand(wshape) - 0.5, b = rand({c.cout}) - 0.5;
    const Tensor y0 = run(c, x, w, b, zeros({1}))[0];
    const Tensor g = rand(y0.sizes()) - 0.5;
    const std::vector<Tensor> want = run(c, x.to(kFloat64), w.to(kFloat64), b.to(kFloat64), g.to(kFloat64));
    // The weight map's geometry (conv3d form: a transposed conv's input is its output gradient).
    detail::ConvGeometry geo;
    geo.N = c.N;
    geo.groups = c.groups;
    geo.Cin = c.transposed ? c.cout : c.cin;
    geo.Cout = c.transposed ? c.cin : c.cout;
    for (std::size_t i = 0; i < 3; ++i) {
      geo.vol[i] = c.transposed ? y0.size(static_cast<std::int64_t>(i) + 2) : c.in[i];
      geo.out[i] = c.transposed ? c.in[i] : y0.size(static_cast<std::int64_t>(i) + 2);
    }
    geo.kernel = c.k;
    geo.stride = c.s;
    geo.padding = c.p;
    for (CpuIsa isa : runnable_isas()) {
      IsaOverride o(isa);
      SCOPED_TRACE(fmt::format("{} on {}", c.str(), to_string(isa)));
      if (isa != CpuIsa::baseline) {
        const bool cv =
            c.weight_tiles == kChannelVectors || (c.weight_tiles == kChannelVectorsOnAvx2 && isa == CpuIsa::avx2);
        EXPECT_EQ(geo.direct_weight() && detail::direct_weight_channel_vectors(geo), cv);
      }
      // Twice: the second run gets the first one's workspaces back from the caching allocator, stale
      // values and all, so a kernel that reads a workspace before writing it shows.
      for (int rep = 0; rep < 2; ++rep) {
        const std::vector<Tensor> got = run(c, x, w, b, g);
        const char* names[] = {"output", "input grad", "weight grad", "bias grad"};
        for (std::size_t i = 0; i < got.size(); ++i) {
          const std::vector<double> a = values(got[i]), e = values(want[i]);
          ASSERT_EQ(a.size(), e.size()) << names[i];
          double worst = 0;
          for (std::size_t j = 0; j < a.size(); ++j)
            worst = std::max(worst, std::abs(a[j] - e[j]) / (1.0 + std::abs(e[j])));
          EXPECT_LT(worst, 2e-5) << names[i] << ", run " << rep + 1;
        }
      }
    }
  }
}

}  // namespace
}  // namespace voxgrad
