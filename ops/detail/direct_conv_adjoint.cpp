// The adjoint map of a conv geometry (a transposed convolution) on the direct kernels.
//
// In the transposed convolution's own terms (input t of Ci channels and size `in`, output u of Co
// channels and size `on`; t is the geometry's y, u its x): along one dim, output o sums t[i]·w[k]
// over o + p = i·s + k·d. The outputs of one class c = (o + p) mod s, o = first + s·m, take exactly
// the taps with k·d ≡ c (mod s), from input i = m + shift_k, shift_k = (first + p − k·d) / s: a
// stride-1 correlation over m. So each class is a forward tile with its own taps and packed
// weights, and nothing is scattered.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/threading.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/sample_rounds.h"

namespace voxgrad::detail {

using namespace direct;

namespace {

struct DimClass {
  std::int64_t first = 0, count = 0;  // outputs first, first + s, ... (count of them)
  std::vector<std::int64_t> taps, shifts;
};

std::vector<DimClass> dim_classes(std::int64_t out, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
  std::vector<DimClass> classes(static_cast<std::size_t>(s));
  for (std::int64_t c = 0; c < s; ++c) {
    DimClass& dc = classes[static_cast<std::size_t>(c)];
    dc.first = ((c - p) % s + s) % s;
    dc.count = dc.first < out ? (out - dc.first + s - 1) / s : 0;
    for (std::int64_t t = 0; t < k; ++t) {
      if ((t * d) % s != c) continue;
      dc.taps.push_back(t);
      dc.shifts.push_back((dc.first + p - t * d) / s);  // exact: first + p ≡ c ≡ t·d (mod s)
    }
  }
  return classes;
}

// The stride classes of every dim and the input range [lo, hi] they read.
struct Plan {
  std::vector<DimClass> cls[3];
  Dims lo{}, hi{};
  bool reads = true;  // false when no output reads any input (every output is the bias)
};

Plan plan(const ConvGeometry& g) {
  Plan pl;
  for (std::size_t i = 0; i < 3; ++i) {
    pl.cls[i] = dim_classes(g.vol[i], g.kernel[i], g.stride[i], g.padding[i], g.dilation[i]);
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const DimClass& dc : pl.cls[i]) {
      if (dc.count == 0) continue;
      for (std::int64_t sh : dc.shifts) {
        lo = std::min(lo, sh);
        hi = std::max(hi, sh + dc.count - 1);
      }
    }
    pl.lo[i] = lo;
    pl.hi[i] = hi;
    if (lo > hi) pl.reads = false;
  }
  return pl;
}

// One (D class, H class, W class): its (input channel, tap) offsets in the padded input and its
// weights packed per group and block of tile_mr output channels.
struct ClassTaps {
  std::int64_t K = 0;  // pairs per group
  std::vector<std::int64_t> koff;
  std::vector<float> wpk;
};

// Taps and packed weights of every (D, H, W) class, index (cd·sh + ch)·sw + cw. w is
// (Ci, Co/groups, kernel); the padded input L starts at pl.lo.
std::vector<ClassTaps> class_taps(const ConvGeometry& g, const Plan& pl, const PaddedLayout& L, const float* w,
                                  std::int64_t tile_mr) {
  const std::int64_t G = g.groups, cin_g = g.cout_g(), cout_g = g.cin_g(), KT = g.kernel_volume();
  const std::int64_t blocks = (cout_g + tile_mr - 1) / tile_mr;
  const std::int64_t sd = g.stride[0], sh = g.stride[1], sw = g.stride[2];
  std::vector<ClassTaps> ct(static_cast<std::size_t>(sd * sh * sw));
  for (std::int64_t cd = 0; cd < sd; ++cd) {
    for (std::int64_t ch = 0; ch < sh; ++ch) {
      for (std::int64_t cw = 0; cw < sw; ++cw) {
        const DimClass &A = pl.cls[0][static_cast<std::size_t>(cd)], &B = pl.cls[1][static_cast<std::size_t>(ch)],
                       &C = pl.cls[2][static_cast<std::size_t>(cw)];
        ClassTaps& t = ct[static_cast<std::size_t>((cd * sh + ch) * sw + cw)];
        const auto taps = static_cast<std::int64_t>(A.taps.size() * B.taps.size() * C.taps.size());
        if (taps == 0 || A.count == 0 || B.count == 0 || C.count == 0) continue;
        t.K = cin_g * taps;
        t.koff.reserve(static_cast<std::size_t>(t.K));
        t.wpk.resize(static_cast<std::size_t>(G * blocks * t.K * tile_mr));
        std::vector<std::int64_t> kidx;  // flat kernel index of each tap
        for (std::size_t a = 0; a < A.taps.size(); ++a) {
          for (std::size_t b = 0; b < B.taps.size(); ++b) {
            for (std::size_t e = 0; e < C.taps.size(); ++e) {
              kidx.push_back((A.taps[a] * g.kernel[1] + B.taps[b]) * g.kernel[2] + C.taps[e]);
            }
          }
        }
        for (std::int64_t ci = 0; ci < cin_g; ++ci) {
          for (std::size_t a = 0; a < A.taps.size(); ++a) {
            for (std::size_t b = 0; b < B.taps.size(); ++b) {
              for (std::size_t e = 0; e < C.taps.size(); ++e) {
                t.koff.push_back(ci * L.channel + (A.shifts[a] - pl.lo[0]) * L.plane +
                                 (B.shifts[b] - pl.lo[1]) * L.row + (C.shifts[e] - pl.lo[2]));
              }
            }
          }
        }
        // wpk[g][blk][ci·taps + tap][i] = w[g·cin_g + ci][blk·tile_mr + i][tap]
        std::vector<std::int64_t> col(static_cast<std::size_t>(t.K));
        for (std::int64_t ci = 0; ci < cin_g; ++ci) {
          for (std::int64_t j = 0; j < taps; ++j) {
            col[static_cast<std::size_t>(ci * taps + j)] = ci * cout_g * KT + kidx[static_cast<std::size_t>(j)];
          }
        }
        pack_tile_weights(w, G, cin_g * cout_g * KT, cout_g, KT, col.data(), t.K, tile_mr, t.wpk.data());
      }
    }
  }
  return ct;
}

}  // namespace

bool direct_adjoint_reads(const ConvGeometry& g, Dims& lo, Dims& hi) {
  const Plan pl = plan(g);
  lo = pl.lo;
  hi = pl.hi;
  return pl.reads;
}

void direct_conv3d_adjoint(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g) {
  const Kernels& kern = fitting_or_widest(adjoint_kernels(g));
  const std::int64_t tile_mr = kern.mr, lanes = kern.lanes;
  // Named as the transposed convolution sees itself: input x (N, Ci, in), output y (N, Co, on).
  const std::int64_t G = g.groups, Ci = g.Cout, Co = g.Cin, cin_g = Ci / G, cout_g = Co / G;
  const Dims &in = g.out, &on = g.vol;
  const std::int64_t Vo = volume(on);
  const Plan pl = plan(g);
  // The padded input covers [lo, hi] in each dim (an origin of −lo, negative when it crops).
  PaddedLayout L;
  if (pl.reads) {
    L.Dp = pl.hi[0] - pl.lo[0] + 1;
    L.Hp = pl.hi[1] - pl.lo[1] + 1;
    L.Wq = pl.hi[2] - pl.lo[2] + 1;
    for (std::size_t i = 0; i < 3; ++i) L.origin[i] = -pl.lo[i];
  }
  finish_spread(L, in, cout_g, pl.reads ? Ci : 0);
  const std::int64_t blocks = (cout_g + tile_mr - 1) / tile_mr;
  const std::int64_t sd = g.stride[0], sh = g.stride[1], sw = g.stride[2];
  const std::vector<ClassTaps> ct = class_taps(g, pl, L, w, tile_mr);
  // At stride 2 along W the output is up to 8 times the input and each output sums few pairs: writing
  // it costs as much as the sums. An output that outgrows twice the threads' L2 goes to memory anyway,
  // and non-temporal stores save the read of each line that a plain store makes first (T1's forward
  // 0.86×, and 0.90–0.96× with a pass reading the output right after; an output that stays in cache
  // is read back faster when written plainly).
  const bool stream =
      sw == 2 && static_cast<std::int64_t>(sizeof(float)) * g.N * Co * Vo >= 2 * get_num_threads() * cache_sizes().l2;
  // Reading exactly the input's own extent (e.g. kernel = stride, no padding) and channels not
  // spread: read it in place.
  const std::int64_t slots = sample_slots(g), per = pl.reads && !reads_in_place(in, L) ? L.sample_floats(Ci) : 1;
  const Workspace xp(slots * per);
  const std::int64_t Ho = on[1], Wo = on[2];
  const auto sample = [&](std::int64_t n, std::int64_t slot) {
    // No output reads any input (every tap set is empty, K = 0): the tiles only write the bias, and
    // get no input pointer at all.
    const float* xs = pl.reads ? padded_sample(x, xp.get() + slot * per, Ci, in, L, n) : nullptr;
    const auto group_input = [&](std::int64_t gi, std::int64_t at) {
      return xs == nullptr ? nullptr : xs + gi * cin_g * L.channel + at;
    };
    for (std::int64_t cd = 0; cd < sd; ++cd) {
      for (std::int64_t ch = 0; ch < sh; ++ch) {
        const DimClass &A = pl.cls[0][static_cast<std::size_t>(cd)], &B = pl.cls[1][static_cast<std::size_t>(ch)];
        if (A.count == 0 || B.count == 0) continue;
        const ClassTaps* tw = &ct[static_cast<std::size_t>((cd * sh + ch) * sw)];
        float* ys = y + n * Co * Vo + (A.first * Ho + B.first) * Wo;  // the class's first row
        // The vectors run over the positions m of the W class whose first output is 0 (the only one at
        // stride 1). With stride 2 along W, the other class (outputs 1, 3, …) runs over the same vectors
        // in pairs of tiles, interleaved into y's rows.
        const std::size_t e = pl.cls[2][0].first == 0 ? 0 : 1;
        RowVectors rv = row_vectors(lanes, A.count, B.count, pl.cls[2][e].count, L.plane, L.row, sd * Ho * Wo, sh * Wo);
        // At stride 1 the one class's rows are y's, one after another: packed as the forward map's
        // (pack_rows turns away rows that y does not hold one after another, as at stride 2 along D or
        // H; the paired tiles of stride 2 along W take no packed vectors).
        if (sw == 1) pack_rows(rv, kern, cout_g);
        const TileSplit split(rv.count, sw == 1 && cout_g <= 2 ? kern.nv_wide : kern.nv);
        parallel_for(0, G * split.tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
          for (std::int64_t task = t0; task < t1; ++task) {
            const std::int64_t gi = task / split.tiles, v0 = split.begin(task % split.tiles);
            const std::int64_t nv = split.end(task % split.tiles) - v0;
            const auto pairs = [&](const ClassTaps& t) {
              return ClassPairs{t.K == 0 ? nullptr : t.wpk.data() + gi * blocks * t.K * tile_mr, t.K, t.koff.data()};
            };
            const float* bg = bias != nullptr ? bias + gi * cout_g : nullptr;
            float* yg = ys + gi * cout_g * Vo;
            if (sw == 1) {
              const ClassPairs c = pairs(tw[0]);
              kern.forward_vectors(rv, v0, nv, group_input(gi, 0), yg, Vo, cout_g, c.wpk, c.K, c.koff, bg, nullptr,
                                   !L.interleaved);
            } else {
              kern.pair_vectors(rv, v0, nv, group_input(gi, 0), yg, Vo, cout_g, pairs(tw[e]), pairs(tw[1 - e]),
                                pl.cls[2][1 - e].count, Wo, bg, stream, !L.interleaved);
            }
          }
        });
      }
    }
  };
  for_each_sample(g.N, slots, sample, [](std::int64_t, std::int64_t) {});
}

}  // namespace voxgrad::detail
