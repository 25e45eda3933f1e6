#include "voxgrad/ops/detail/direct_weight_xt.h"

#include <algorithm>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_kernels.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/lane_sums.h"
#include "voxgrad/ops/detail/sample_rounds.h"

namespace voxgrad::detail {

using direct::Kernels;
using direct::Workspace;

bool direct_weight_transposed_input(const ConvGeometry& g) {
  const Kernels* k = direct::active_kernels();
  if (k == nullptr || !g.direct_weight()) return false;
  if (g.groups != 1 || g.Cin % k->lanes != 0 || g.kernel[2] != 3 || g.stride[2] != 1 || g.dilation[2] != 1 ||
      g.out[2] < k->lanes) {
    return false;
  }
  // One vector of output channels at most; with 32 registers (8 channels a tile) two, over one or two
  // vectors of input channels, where the channel-vector tiles over dY ran 1.13–1.27× slower (16 and
  // 32 → 32 at 32³ and 64³, Intel model 167); at 64 → 32 both ran even, at 64 → 64 those ran 1.2× faster.
  // On AVX2 16 output channels ran even (bench/README).
  if (g.Cout <= k->lanes) return true;
  return k->mc >= 8 && g.Cout <= 2 * k->lanes && g.Cin <= 2 * k->lanes;
}

void direct_weight_transposed_input_grad(const float* x, const float* dy, float* dw, const ConvGeometry& g, float* db) {
  const Kernels& k = *direct::active_kernels();
  const std::int64_t lanes = k.lanes, Cin = g.Cin, Cout = g.Cout;
  const std::int64_t D = g.vol[0], H = g.vol[1], W = g.vol[2], V = g.vol_size();
  const std::int64_t Ho = g.out[1], Wo = g.out[2], Vo = g.out_size(), rows = g.out[0] * Ho;
  const std::int64_t KD = g.kernel[0], KH = g.kernel[1], KT = g.kernel_volume(), K = Cin * KT;
  // The transposed input: D·H rows of Wp = W + 2·padding slots (kernel 3, stride 1: Wo + 2), slot s
  // holding column s − padding as Cin floats, zero outside [0, W).
  const std::int64_t pw = g.padding[2], Wp = Wo + 2, ps = Cin, row_floats = Wp * ps;
  const std::int64_t lead = std::min(pw, Wp), cols = std::clamp<std::int64_t>(Wp - pw, 0, W);  // columns read
  // Two vectors of input channels a tile where the registers hold 24 sums that way (fewer loads per FMA).
  // (32 → 16 at 64³ 0.92 of one vector's time, 32 → 8 at 32³ 0.91, 64 → 16 at 16³ 0.96, Intel model 167.)
  const std::int64_t nv = Cin / lanes % 2 == 0 && k.xt_mc[1] > 0 ? 2 : 1;
  const std::int64_t mc = k.xt_mc[nv - 1], vecs = Cin / lanes / nv, blocks = (Cout + mc - 1) / mc, taps = KD * KH;
  // Chunks of output rows whose dY and input rows stay in half of L2 while a task runs every tile
  // over them, and at least 16 of them where there are rows enough for two threads or more to share.
  // Their size follows from g and the CPU alone, so do the sums.
  const std::int64_t row_bytes = (Cout * Wo + 3 * row_floats) * std::int64_t{sizeof(float)};
  const std::int64_t chunk =
      std::clamp<std::int64_t>(cache_sizes().l2 / 2 / row_bytes, 1, std::max<std::int64_t>(1, rows / 16));
  const std::int64_t chunks = (rows + chunk - 1) / chunk;
  // Per chunk, the sums of every (tap row, block, vector): mc × 3 vectors each.
  const std::int64_t entry = mc * 3 * nv * lanes, per_chunk = taps * blocks * vecs * entry;
  // Per slot (sample_rounds.h): the transposed input, the chunks' sums and their total, dY's chunk sums
  // and the sample's dB, and for small samples its dW.
  const std::int64_t slots = sample_slots(g), xt_floats = D * H * row_floats;
  const bool small = small_samples(g);
  const Workspace xts(slots * xt_floats);
  const Workspace parts(slots * chunks * per_chunk);
  std::vector<double> chunk_dbs(db != nullptr ? static_cast<std::size_t>(slots * chunks * Cout) : 0);
  std::vector<float> totals(static_cast<std::size_t>(slots * per_chunk));
  SlotSums dbs(db, Cout, slots);
  WeightSlots dws(small ? Cout * K : 0, slots);
  const std::int64_t sd = g.stride[0], sh = g.stride[1];
  const auto sample = [&](std::int64_t n, std::int64_t slot) {
    float* xt_s = xts.get() + slot * xt_floats;
    float* part_s = parts.get() + slot * chunks * per_chunk;
    double* chunk_db = chunk_dbs.data() + (db != nullptr ? slot * chunks * Cout : 0);
    float* total = totals.data() + slot * per_chunk;
    float* dw_s = small ? dws.start(slot) : dw;
    double* db_s = dbs.start(slot);
    const float* xs = x + n * Cin * V;
    const float* dys = dy + n * Cout * Vo;
    parallel_for(0, D * H, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(row_floats, 1)),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     float* dst = xt_s + r * row_floats;
                     std::fill(dst, dst + lead * ps, 0.0f);
                     std::fill(dst + (lead + cols) * ps, dst + row_floats, 0.0f);
                     if (cols > 0) k.transpose_dy(xs + r * W, V, dst + pw * ps, ps, Cin, 0, cols);
                   }
                 });
    parallel_for(0, chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
      std::vector<std::int64_t> rx(static_cast<std::size_t>(chunk)), ry(rx.size());
      for (std::int64_t c = c0; c < c1; ++c) {
        const std::int64_t r0 = c * chunk, r1 = std::min(rows, r0 + chunk);
        for (std::int64_t kd = 0; kd < KD; ++kd) {
          for (std::int64_t kh = 0; kh < KH; ++kh) {
            // The chunk's output rows whose input row at this tap lies inside the volume.
            std::int64_t nr = 0;
            for (std::int64_t r = r0; r < r1; ++r) {
              const std::int64_t id = r / Ho * sd - g.padding[0] + kd * g.dilation[0];
              const std::int64_t ih = r % Ho * sh - g.padding[1] + kh * g.dilation[1];
              if (id < 0 || id >= D || ih < 0 || ih >= H) continue;
              rx[static_cast<std::size_t>(nr)] = (id * H + ih) * row_floats;
              ry[static_cast<std::size_t>(nr++)] = r * Wo;
            }
            for (std::int64_t b = 0; b < blocks; ++b) {
              const std::int64_t oc = std::min(mc, Cout - b * mc);
              for (std::int64_t v = 0; v < vecs; ++v) {
                float* acc = part_s + c * per_chunk + (((kd * KH + kh) * blocks + b) * vecs + v) * entry;
                k.xt_weight[nv - 1][oc - 1](dys + b * mc * Vo, Vo, xt_s + v * nv * lanes, ps, rx.data(), ry.data(), nr,
                                            Wo, acc);
              }
            }
          }
        }
        for (std::int64_t o = 0; db != nullptr && o < Cout; ++o) {
          Sum32 s;
          add_values(s, dys + o * Vo + r0 * Wo, (r1 - r0) * Wo);
          chunk_db[c * Cout + o] = s.total();
        }
      }
    });
    // The chunks' sums, added in order; then into dw[co][ci][kd][kh][kw].
    parallel_for(0, per_chunk, 1024, [&](std::int64_t e0, std::int64_t e1) {
      add_parts_in_order(part_s + e0, chunks, per_chunk, e1 - e0, total + e0, false);
    });
    for (std::int64_t tr = 0; tr < taps; ++tr) {
      for (std::int64_t b = 0; b < blocks; ++b) {
        const std::int64_t oc = std::min(mc, Cout - b * mc);
        for (std::int64_t v = 0; v < vecs; ++v) {
          const float* e = total + ((tr * blocks + b) * vecs + v) * entry;
          for (std::int64_t i = 0; i < oc; ++i) {
            float* dwo = dw_s + (b * mc + i) * K + tr * 3;
            for (std::int64_t kw = 0; kw < 3; ++kw) {
              for (std::int64_t l = 0; l < nv * lanes; ++l) {
                dwo[(v * nv * lanes + l) * KT + kw] += e[(i * 3 + kw) * nv * lanes + l];
              }
            }
          }
        }
      }
    }
    for (std::int64_t c = 0; db_s != nullptr && c < chunks; ++c) {
      for (std::int64_t o = 0; o < Cout; ++o) db_s[o] += chunk_db[c * Cout + o];
    }
  };
  for_each_sample(g.N, slots, sample, [&](std::int64_t, std::int64_t slot) {
    if (small) dws.finish(slot, dw);
    dbs.finish(slot);
  });
  dbs.store();
}

}  // namespace voxgrad::detail
