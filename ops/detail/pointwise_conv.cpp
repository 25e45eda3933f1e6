#include "voxgrad/ops/detail/pointwise_conv.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"

namespace voxgrad::detail {

using namespace direct;

namespace {

// The per-task buffer (64 KiB on the task's stack): one block of positions of every input channel of a
// group.
constexpr std::int64_t kBufferFloats = 16384;

// Positions per block: whole tiles (nv vectors), as many as keep the buffer within a quarter of L1d
// (C5, 64 channels: blocks of 48 to 192 positions ran within 2% of each other), at least one tile, at
// most the volume rounded up to a tile.
std::int64_t block_positions(const Kernels& k, std::int64_t cin_g, std::int64_t V) {
  const std::int64_t tile = std::int64_t{k.nv} * k.lanes;
  const std::int64_t budget = std::min(kBufferFloats, cache_sizes().l1d / 4 / std::int64_t{sizeof(float)});
  const std::int64_t tiles = std::max<std::int64_t>(1, budget / (cin_g * tile));
  return std::min(tiles, (V + tile - 1) / tile) * tile;
}

}  // namespace

bool suits_pointwise_tiles(const ConvGeometry& g) {
  if (!g.is_pointwise() || !direct_conv_available() || !g.within_direct_range()) return false;
  // Against the GEMM, forward maps of N = 2 (bench/README): on AVX-512 the tiles won at every shape
  // with at least 2 output channels per group (1.1–2.1× at 2→2 … 256→256, 16³–64³) but the tiniest
  // (3→3 at 16³: 11 µs against 9); with one, each input is read once, memory bound, and the copy only
  // adds to it (16→1 at 64³: 0.79 ms against 0.66).
  // The AVX2 tiles (4 × 3, 7 loads per 12 FMAs) wait on their loads in narrow layers: 2→2 2.0–2.7×,
  // 8→8 1.16× and 16→4 1.22× slower than the GEMM, but 12→12 and wider 1.0–1.3× faster.
  const Kernels& k = *active_kernels();
  const std::int64_t cin_g = g.cin_g(), cout_g = g.cout_g();
  const bool wide_enough = k.lanes >= 16 ? cout_g >= 2 : cout_g >= k.lanes && cin_g * cout_g >= 128;
  return wide_enough && cin_g * k.nv * k.lanes <= kBufferFloats;
}

void pointwise_conv3d(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g) {
  const Kernels& kern = *active_kernels();
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), V = g.vol_size(), mr = kern.mr;
  const std::int64_t nb = block_positions(kern, cin_g, V), blocks = (V + nb - 1) / nb;
  // Weights per group and block of mr output channels as [input channel][mr].
  const std::int64_t wblocks = (cout_g + mr - 1) / mr;
  std::vector<std::int64_t> order(static_cast<std::size_t>(cin_g)), koff(static_cast<std::size_t>(cin_g));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  for (std::int64_t ci = 0; ci < cin_g; ++ci) koff[static_cast<std::size_t>(ci)] = ci * nb;
  std::vector<float> wpk(static_cast<std::size_t>(G * wblocks * cin_g * mr));
  pack_tile_weights(w, G, cout_g * cin_g, cout_g, cin_g, order.data(), cin_g, mr, wpk.data());
  const std::int64_t most = cout_g <= 2 ? kern.nv_wide : kern.nv;
  parallel_for(0, g.N * G * blocks, 1, [&](std::int64_t t0, std::int64_t t1) {
    alignas(64) float buf[kBufferFloats];
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t n = task / (G * blocks), gi = task / blocks % G, b = task % blocks;
      const std::int64_t p0 = b * nb, len = std::min(nb, V - p0);
      const float* xg = x + (n * g.Cin + gi * cin_g) * V + p0;
      for (std::int64_t ci = 0; ci < cin_g; ++ci) {
        std::memcpy(buf + ci * nb, xg + ci * V, static_cast<std::size_t>(len) * sizeof(float));
      }
      const RowVectors vec = row_vectors(kern.lanes, 1, 1, len, 0, 0, 0, 0);
      float* yg = y + (n * g.Cout + gi * cout_g) * V + p0;
      const float* bias_g = bias != nullptr ? bias + gi * cout_g : nullptr;
      const TileSplit split(vec.count, most);
      for (std::int64_t t = 0; t < split.tiles; ++t) {
        kern.forward_vectors(vec, split.begin(t), split.end(t) - split.begin(t), buf, yg, V, cout_g,
                             wpk.data() + gi * wblocks * cin_g * mr, cin_g, koff.data(), bias_g, nullptr, false);
      }
    }
  });
}

}  // namespace voxgrad::detail
