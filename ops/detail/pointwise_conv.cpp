#include "voxgrad/ops/detail/pointwise_conv.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/threading.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/lane_sums.h"
#include "voxgrad/ops/detail/sample_rounds.h"

namespace voxgrad::detail {

using namespace direct;

namespace {

// The per-task buffer (64 KiB on the task's stack): one block of positions of every input channel of a
// group (forward), or one block of positions transposed (weight).
constexpr std::int64_t kBufferFloats = 16384;
constexpr std::int64_t kLineFloats = 16;  // a 64-byte cache line

// Positions per block: whole tiles (nv vectors), as many as keep the buffer within a quarter of L1d
// (C5, 64 channels: blocks of 48 to 192 positions ran within 2% of each other), at least one tile, at
// most the volume rounded up to a tile.
std::int64_t block_positions(const Kernels& k, std::int64_t cin_g, std::int64_t V) {
  const std::int64_t tile = std::int64_t{k.nv} * k.lanes;
  const std::int64_t budget = std::min(kBufferFloats, cache_sizes().l1d / 4 / std::int64_t{sizeof(float)});
  const std::int64_t tiles = std::max<std::int64_t>(1, budget / (cin_g * tile));
  return std::min(tiles, (V + tile - 1) / tile) * tile;
}

// The weight map's operands: `vec` is transposed into vectors over its channels (blocks of ob of
// them), `bcast` is broadcast value by value; their channels per group and floats per sample.
struct WeightRoles {
  const float* vec;
  const float* bcast;
  std::int64_t vec_c, bcast_c, vec_stride, bcast_stride;
};

// Vectors over the fewer channels when both sides fill a vector: fewer values to transpose, each
// feeding more FMAs (AVX-512, 32³: 16 → 64 0.76 ms against 1.07 over dY, 64 → 16 0.73 against 0.92
// over x); else over dY's output channels.
bool vectors_over_dy(const ConvGeometry& g, std::int64_t lanes) { return g.cin_g() < lanes || g.cout_g() <= g.cin_g(); }

// A block of positions [0, len) of `channels` rows (src + c·V) into buf, channel after channel (nb apart).
void copy_block(const float* src, std::int64_t V, float* buf, std::int64_t nb, std::int64_t channels,
                std::int64_t len) {
  for (std::int64_t c = 0; c < channels; ++c) {
    std::memcpy(buf + c * nb, src + c * V, static_cast<std::size_t>(len) * sizeof(float));
  }
}

// A pointwise forward map on the forward tiles, over blocks of positions copied into a buffer by
// copy_block: out (outputs × block) = w · in (inputs × block) per group, where output o and input i of
// group gi take w[gi·outputs·inputs + o·o_stride + i·i_stride]. The weights are packed once; each output
// sums bias, then its inputs in order, whatever the blocks.
class BlockForward {
 public:
  BlockForward(const Kernels& kern, const float* w, std::int64_t G, std::int64_t inputs, std::int64_t outputs,
               std::int64_t o_stride, std::int64_t i_stride, std::int64_t nb)
      : kern_(kern),
        inputs_(inputs),
        outputs_(outputs),
        wblocks_((outputs + kern.mr - 1) / kern.mr),
        most_(outputs <= 2 ? kern.nv_wide : kern.nv) {
    std::vector<std::int64_t> col(static_cast<std::size_t>(inputs));
    koff_.resize(col.size());
    for (std::int64_t i = 0; i < inputs; ++i) {
      col[static_cast<std::size_t>(i)] = i * i_stride;
      koff_[static_cast<std::size_t>(i)] = i * nb;
    }
    wpk_.resize(static_cast<std::size_t>(G * wblocks_ * inputs * kern.mr));
    pack_tile_weights(w, G, outputs * inputs, outputs, o_stride, col.data(), inputs, kern.mr, wpk_.data());
  }

  /// Group gi's outputs at positions [0, len) of out (rows V apart) from buf (its inputs' block).
  void block(const float* buf, float* out, std::int64_t V, std::int64_t len, std::int64_t gi,
             const float* bias_g) const {
    const RowVectors vec = row_vectors(kern_.lanes, 1, 1, len, 0, 0, 0, 0);
    const TileSplit split(vec.count, most_);
    for (std::int64_t t = 0; t < split.tiles; ++t) {
      kern_.forward_vectors(vec, split.begin(t), split.end(t) - split.begin(t), buf, out, V, outputs_,
                            wpk_.data() + gi * wblocks_ * inputs_ * kern_.mr, inputs_, koff_.data(), bias_g, nullptr,
                            false);
    }
  }

 private:
  const Kernels& kern_;
  std::int64_t inputs_, outputs_, wblocks_, most_;
  std::vector<std::int64_t> koff_;
  std::vector<float> wpk_;
};

// The weight map's chunks of the batch's positions (see weight_maps).
std::int64_t weight_chunks(const ConvGeometry& g) {
  const std::int64_t total = g.N * g.vol_size();  // ≥ 1: within_direct_range() holds
  const std::int64_t most = std::clamp<std::int64_t>(total / std::min(g.cin_g(), g.cout_g()), 1, 32);
  return std::min((total + 1023) / 1024, most);
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
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), V = g.vol_size();
  const std::int64_t nb = block_positions(kern, cin_g, V), blocks = (V + nb - 1) / nb;
  const BlockForward forward(kern, w, G, cin_g, cout_g, cin_g, 1, nb);
  parallel_for(0, g.N * G * blocks, 1, [&](std::int64_t t0, std::int64_t t1) {
    alignas(64) float buf[kBufferFloats];
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t n = task / (G * blocks), gi = task / blocks % G, b = task % blocks;
      const std::int64_t p0 = b * nb, len = std::min(nb, V - p0);
      copy_block(x + (n * g.Cin + gi * cin_g) * V + p0, V, buf, nb, cin_g, len);
      forward.block(buf, y + (n * g.Cout + gi * cout_g) * V + p0, V, len, gi,
                    bias != nullptr ? bias + gi * cout_g : nullptr);
    }
  });
}

bool suits_pointwise_weight_tiles(const ConvGeometry& g) {
  if (!g.is_pointwise() || !direct_conv_available() || !g.within_direct_range()) return false;
  // Against the lane-wise weight tiles (N = 2, bench/README): 1.1-1.6× faster on AVX-512 from 8 → 16
  // to 256 → 256 (C5 0.27 ms against 0.35), 1.2-2.1× on AVX2; with fewer output channels than lanes
  // (64 → 8, 32 → 4 at 32³) 1.1-2× slower: their dY rows feed too few FMAs.
  return g.cout_g() >= active_kernels()->lanes;
}

namespace {

// The weight map (see pointwise_conv3d_weight_grad). With dx (and w), also the input gradient dx = wᵀ·dy
// of the same blocks (pointwise_backward_fits): each block of dY is copied into L1 for the adjoint's
// tiles and transposed from there, instead of from memory.
void weight_maps(const float* x, const float* dy, float* dw, const ConvGeometry& g, double* db, const float* w,
                 float* dx) {
  const Kernels& kern = *active_kernels();
  const std::int64_t G = g.groups, cin_g = g.cin_g(), cout_g = g.cout_g(), V = g.vol_size(), lanes = kern.lanes;
  const bool over_dy = vectors_over_dy(g, lanes);
  const WeightRoles r = over_dy ? WeightRoles{dy, x, cout_g, cin_g, g.Cout * V, g.Cin * V}
                                : WeightRoles{x, dy, cin_g, cout_g, g.Cin * V, g.Cout * V};
  const ChannelBlocks cb(kern, r.vec_c);
  const int I = cb.I;
  const std::int64_t ob = cb.ob, blocks = cb.blocks;
  // The broadcast channels in groups of at most cv_j, sizes differing by at most one.
  const TileSplit jgroups(r.bcast_c, kern.cv_j[I - 1]);
  // Positions per block: the transposed block fills half of L1d (and the task's buffer at most).
  const std::int64_t nb =
      std::clamp<std::int64_t>(cache_sizes().l1d / 2 / (ob * std::int64_t{sizeof(float)}), lanes, kBufferFloats / ob) /
      lanes * lanes;
  // The fused input gradient (over_dy and one block of dY's channels: pointwise_backward_fits).
  std::optional<BlockForward> adjoint;
  if (dx != nullptr) adjoint.emplace(kern, w, G, cout_g, cin_g, 1, cin_g, nb);
  // The batch's positions (sample after sample) in chunks of at most 1024 where that makes no more
  // than 32 chunks, nor chunk sums (chunks · cin_g · cout_g per group, the vectors' side rounded up to
  // whole vectors) much larger than x or dY.
  const std::int64_t total = g.N * V, chunks = weight_chunks(g);
  const std::int64_t chunk = (total + chunks - 1) / chunks, tasks = G * blocks * chunks;
  const Workspace partial(tasks * r.bcast_c * ob);  // per task [broadcast channel][ob]
  // dY's sums per group, chunk and output channel, each taken by one task (over_dy: the block's own
  // channels; else the tasks of block 0).
  std::vector<double> chunk_db(db != nullptr ? static_cast<std::size_t>(G * chunks * cout_g) : 0);
  parallel_for(0, tasks, 1, [&](std::int64_t t0, std::int64_t t1) {
    alignas(64) float buf[kBufferFloats];
    std::optional<Workspace> dy_block;
    if (adjoint) dy_block.emplace(cout_g * nb);
    std::vector<Sum32> dy_sums;
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t k = task % chunks, blk = task / chunks % blocks, gi = task / (chunks * blocks);
      const std::int64_t oc = std::min(ob, r.vec_c - blk * ob);
      float* acc = partial.get() + task * r.bcast_c * ob;
      // dY channels [d0, d0 + dn) of the group, summed here.
      const std::int64_t d0 = over_dy ? blk * ob : 0, dn = db == nullptr ? 0 : over_dy ? oc : blk == 0 ? cout_g : 0;
      dy_sums.assign(static_cast<std::size_t>(dn), Sum32{});
      bool first = true;
      // The chunk [c0, c1) of the batch's positions, a segment of one sample at a time.
      for (std::int64_t c0 = k * chunk, c1 = std::min(total, c0 + chunk); c0 < c1;) {
        const std::int64_t n = c0 / V, s0 = c0 % V, s1 = std::min(V, s0 + (c1 - c0));
        const float* vs = r.vec + n * r.vec_stride + (gi * r.vec_c + blk * ob) * V;
        const float* bs = r.bcast + n * r.bcast_stride + gi * r.bcast_c * V;
        for (std::int64_t b0 = s0; b0 < s1; b0 += nb) {
          const std::int64_t b1 = std::min(s1, b0 + nb), rx = b0, ry = 0;
          if (adjoint) {  // dY's block (all of the group's channels: one block of them) into L1, then dX's
            copy_block(vs + b0, V, dy_block->get(), nb, oc, b1 - b0);
            adjoint->block(dy_block->get(), dx + (n * g.Cin + gi * cin_g) * V + b0, V, b1 - b0, gi, nullptr);
            kern.transpose_dy(dy_block->get(), nb, buf, ob, oc, 0, b1 - b0);
          } else {
            kern.transpose_dy(vs + b0, V, buf, ob, oc, 0, b1 - b0);
          }
          // The next block's rows into L2: the hardware prefetchers do not follow this many streams
          // (16 → 32 channels at 64³: 1.1-1.3× faster; no change where the operands sit in L2).
          for (std::int64_t o = 0, e1 = std::min(s1, b1 + nb); o < oc; ++o) {
            for (std::int64_t p = b1; p < e1; p += kLineFloats) __builtin_prefetch(vs + o * V + p, 0, 2);
          }
          for (std::int64_t q = 0; q < jgroups.tiles; ++q) {
            const std::int64_t j0 = jgroups.begin(q), count = jgroups.end(q) - j0;
            kern.cv_weight[I - 1][count - 1](buf, 0, bs + j0 * V, V, &rx, &ry, 1, 0, b1 - b0, 1, acc + j0 * ob, first);
          }
          first = false;
        }
        const float* dys = dy + (n * g.Cout + gi * cout_g + d0) * V + s0;
        for (std::int64_t o = 0; o < dn; ++o) add_values(dy_sums[static_cast<std::size_t>(o)], dys + o * V, s1 - s0);
        c0 += s1 - s0;
      }
      for (std::int64_t o = 0; o < dn; ++o) {
        chunk_db[static_cast<std::size_t>((gi * chunks + k) * cout_g + d0 + o)] =
            dy_sums[static_cast<std::size_t>(o)].total();
      }
    }
  });
  // Each weight adds up its chunks' sums in order, a vector of ob at a time.
  parallel_for(0, G * blocks * r.bcast_c, 16, [&](std::int64_t e0, std::int64_t e1) {
    std::vector<float> sum(static_cast<std::size_t>(ob));
    for (std::int64_t e = e0; e < e1; ++e) {
      const std::int64_t gb = e / r.bcast_c, j = e % r.bcast_c, gi = gb / blocks, blk = gb % blocks;
      add_parts_in_order(partial.get() + (gb * chunks * r.bcast_c + j) * ob, chunks, r.bcast_c * ob, ob, sum.data(),
                         false);
      // dw[gi·cout_g + co][ci]: vector channel blk·ob + o and broadcast channel j are (co, ci) or (ci, co).
      float* dwg = dw + gi * cout_g * cin_g;
      for (std::int64_t o = 0, v = blk * ob; o < std::min(ob, r.vec_c - blk * ob); ++o, ++v) {
        dwg[over_dy ? v * cin_g + j : j * cin_g + v] += sum[static_cast<std::size_t>(o)];
      }
    }
  });
  for (std::int64_t c = 0; db != nullptr && c < G * cout_g; ++c) {
    const std::int64_t gi = c / cout_g, co = c % cout_g;
    for (std::int64_t k = 0; k < chunks; ++k) {
      db[c] += chunk_db[static_cast<std::size_t>((gi * chunks + k) * cout_g + co)];
    }
  }
}

}  // namespace

void pointwise_conv3d_weight_grad(const float* x, const float* dy, float* dw, const ConvGeometry& g, double* db) {
  weight_maps(x, dy, dw, g, db, nullptr, nullptr);
}

bool pointwise_backward_fits(const ConvGeometry& g) {
  if (!suits_pointwise_weight_tiles(g) || !suits_pointwise_tiles(g.adjoint_as_forward())) return false;
  const Kernels& k = *active_kernels();
  const ChannelBlocks cb(k, g.cout_g());
  return vectors_over_dy(g, k.lanes) && cb.blocks == 1;
}

bool suits_pointwise_backward(const ConvGeometry& g) {
  // It pays where the maps apart would read a sample's dY from beyond L2 twice (forward+backward on
  // AVX-512, bench/README: 2 × 16 → 16 at 32³ 0.92×, 2 × 32 → 32 at 32³ 0.96×, 1 × 64 → 64 at 32³ 0.92×,
  // 2 × 64 → 64 at 64³ 0.94×; AVX2 16 → 16 0.91×); where dY stays in L2 the fused block's operands (dY's
  // copy and transpose, both maps' weights and sums) crowd L1 instead (C5, 1 MiB of dY a sample:
  // 0.99–1.04×). Its tasks are the weight map's (groups × chunks): with fewer than two a thread the
  // adjoint's own tasks keep the threads busier apart (256 → 64 at 8³, one chunk: 1.17×).
  return pointwise_backward_fits(g) && g.Cout * g.vol_size() * std::int64_t{sizeof(float)} > cache_sizes().l2 &&
         g.groups * weight_chunks(g) >= 2 * get_num_threads();
}

void pointwise_conv3d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                               const ConvGeometry& g, double* db) {
  // Its tasks own whole chunks of dX only with one block of dY's channels, and it reads dY's copy as the
  // adjoint's input only with the weight map's vectors over dY.
  VOXGRAD_CHECK(pointwise_backward_fits(g),
                "pointwise_conv3d_backward: the geometry ({} -> {} channels, {} groups) "
                "does not fit it (pointwise_backward_fits)",
                g.Cin, g.Cout, g.groups);
  weight_maps(x, dy, dw, g, db, w, dx);
}

void pointwise_gradients(const float* x, const float* dy, float* dw, const ConvGeometry& g, float* db, const float* w,
                         float* dx) {
  std::fill(dw, dw + g.Cout * g.rows(), 0.0f);
  SlotSums sums(db, g.Cout, 1);
  if (dx != nullptr) {
    pointwise_conv3d_backward(x, w, dy, dx, dw, g, sums.start(0));
  } else {
    pointwise_conv3d_weight_grad(x, dy, dw, g, sums.start(0));
  }
  sums.finish(0);
  sums.store();
}

}  // namespace voxgrad::detail
