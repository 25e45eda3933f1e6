#include "voxgrad/ops/detail/direct_weight_cv.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/threading.h"
#include "voxgrad/ops/detail/direct_conv.h"
#include "voxgrad/ops/detail/direct_layout.h"
#include "voxgrad/ops/detail/lane_sums.h"
#include "voxgrad/ops/detail/pointwise_conv.h"

namespace voxgrad::detail {

using namespace direct;

bool direct_weight_channel_vectors(const ConvGeometry& c) {
  // Measured on C1-C5 and the U-Net's layers (bench/README): with strided inputs the lane-wise tiles
  // read each input row for few taps and sit on their loads (1.3-1.5× slower), with stride 1 they are
  // as fast or up to 1.2× slower. With few pairs (a pointwise conv) dY's transposition costs as much
  // as the sums (C5: 1.7× slower).
  const Kernels* k = active_kernels();
  if (k == nullptr || suits_pointwise_weight_tiles(c)) return false;
  if (c.cout_g() < k->lanes || c.cin_g() * c.kernel_volume() < 128) return false;
  if (c.cout_g() > k->lanes) return true;
  // A single vector of channels: its broadcasts outnumber the FMAs' other operand, and the lane-wise
  // tiles win by 1.1-1.3× over rows of whole vectors at stride 1 (W = 32, 64 on AVX-512). Over rows
  // that end in a partial vector they waste lanes and lose (1.2-1.6× at W = 12-40), and at stride 2
  // they sit on their loads (1.3-1.8×, W = 12-32).
  return c.stride != Dims{1, 1, 1} || c.out[2] % k->lanes != 0;
}

CvWeightRun::CvWeightRun(const Kernels& kern, const ConvGeometry& c) : kern_(kern), c_(c) {
  const std::int64_t cin_g = c.cin_g(), cout_g = c.cout_g(), KT = c.kernel_volume();
  K_ = cin_g * KT;
  const ChannelBlocks cb(kern, cout_g);
  I_ = cb.I;
  ob_ = cb.ob;
  // As few groups of input channels as the tile allows, their sizes differing by at most one (16
  // channels as 8 + 8, 32 as 6 + 6 + 5 + 5 + 5 + 5), so that parts of equal work are easy to cut.
  const std::int64_t jmax = kern.cv_j[I_ - 1];
  const std::int64_t jgroups = (cin_g + jmax - 1) / jmax;
  J_ = static_cast<int>((cin_g + jgroups - 1) / jgroups);
  blocks_ = cb.blocks;
  groups_ = KT * jgroups;  // channel groups at each tap
  group_list_.reserve(static_cast<std::size_t>(groups_));
  const std::int64_t base = cin_g / jgroups, extra = cin_g % jgroups;  // the first `extra` take one more
  for (std::int64_t cg = 0; cg < jgroups; ++cg) {
    for (std::int64_t t = 0; t < KT; ++t) {
      group_list_.push_back(Group{t, cg * base + std::min(cg, extra), base + (cg < extra ? 1 : 0)});
    }
  }
  // Along each dim, the outputs o whose input o·s − p + k·d lies inside the volume.
  auto inside = [&](std::size_t i, std::int64_t kd, std::int64_t* range) {
    const InsideRange q = inside_range(c.padding[i] - kd, c.stride[i], c.vol[i], c.out[i]);
    range[0] = q.lo;
    range[1] = q.hi;
  };
  const std::int64_t H = c.vol[1], W = c.vol[2];
  taps_.resize(static_cast<std::size_t>(KT));
  for (std::int64_t kd = 0, t = 0; kd < c.kernel[0]; ++kd) {
    for (std::int64_t kh = 0; kh < c.kernel[1]; ++kh) {
      for (std::int64_t kw = 0; kw < c.kernel[2]; ++kw, ++t) {
        Tap& tp = taps_[static_cast<std::size_t>(t)];
        const std::int64_t od = kd * c.dilation[0], oh = kh * c.dilation[1], ow = kw * c.dilation[2];
        inside(0, od, tp.d);
        inside(1, oh, tp.h);
        inside(2, ow, tp.w);
        tp.offset = (od - c.padding[0]) * H * W + (oh - c.padding[1]) * W + (ow - c.padding[2]);
      }
    }
  }
  rows_ = c.out[0] * c.out[1];
  const std::int64_t row_bytes = c.out[2] * ob_ * std::int64_t{sizeof(float)};
  rows_per_block_ = std::max<std::int64_t>(1, cache_sizes().l1d / 2 / row_bytes);
  // As few parts of the groups as keep every thread busy (each part streams all of the sample's dY),
  // cut where the channels summed so far reach part / parts of them.
  const std::int64_t T = get_num_threads();
  parts_ = std::clamp<std::int64_t>(T / std::gcd(c.groups * blocks_, T), 1, groups_);
  part_begin_.assign(static_cast<std::size_t>(parts_ + 1), groups_);
  part_begin_[0] = 0;
  for (std::int64_t q = 0, done = 0, part = 1; q < groups_ && part < parts_; ++q) {
    done += group(q).count;
    while (part < parts_ && done * parts_ >= part * cin_g * KT) part_begin_[static_cast<std::size_t>(part++)] = q + 1;
  }
}

void CvWeightRun::sample(const float* x, const float* dy, float* dw, std::int64_t n, double* db) const {
  const std::int64_t cin_g = c_.cin_g(), cout_g = c_.cout_g(), Vo = c_.out_size(), Wo = c_.out[2], Ho = c_.out[1];
  const std::int64_t V = c_.vol_size(), KT = c_.kernel_volume(), GB = c_.groups * blocks_;
  const Workspace dyt(GB * Vo * ob_);
  constexpr std::int64_t kChunk = 1024;
  const std::int64_t pchunks = (Vo + kChunk - 1) / kChunk;
  std::vector<double> chunk_db(db != nullptr ? static_cast<std::size_t>(GB * pchunks * ob_) : 0);
  parallel_for(0, GB * pchunks, 1, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t gb = task / pchunks, g = gb / blocks_, blk = gb % blocks_;
      const std::int64_t oc = std::min(ob_, cout_g - blk * ob_);
      const std::int64_t p0 = task % pchunks * kChunk, p1 = std::min(Vo, p0 + kChunk);
      const float* src = dy + (n * c_.Cout + g * cout_g + blk * ob_) * Vo;
      float* dst = dyt.get() + gb * Vo * ob_;
      kern_.transpose_dy(src, Vo, dst, ob_, oc, p0, p1);
      for (std::int64_t o = 0; db != nullptr && o < oc; ++o) {
        Sum32 s;
        add_values(s, src + o * Vo + p0, p1 - p0);
        chunk_db[static_cast<std::size_t>(task * ob_ + o)] = s.total();
      }
    }
  });
  if (db != nullptr) {
    for (std::int64_t gb = 0; gb < GB; ++gb) {
      const std::int64_t g = gb / blocks_, blk = gb % blocks_, oc = std::min(ob_, cout_g - blk * ob_);
      for (std::int64_t o = 0; o < oc; ++o) {
        for (std::int64_t k = 0; k < pchunks; ++k) {
          db[g * cout_g + blk * ob_ + o] += chunk_db[static_cast<std::size_t>((gb * pchunks + k) * ob_ + o)];
        }
      }
    }
  }
  const Workspace sums(GB * groups_ * J_ * ob_);
  const std::int64_t sd = c_.stride[0] * c_.vol[1] * c_.vol[2], sh = c_.stride[1] * c_.vol[2];
  // The rows of a block whose inputs at a tap lie inside the volume depend on the tap alone: made
  // once per block and tap, then read by every group of channels at that tap (when all taps' lists
  // fit kMaxRowLists entries, 128 KiB a task; else made per group).
  constexpr std::int64_t kMaxRowLists = std::int64_t{1} << 13;
  const bool share_rows = KT * rows_per_block_ <= kMaxRowLists;
  parallel_for(0, GB * parts_, 1, [&](std::int64_t t0, std::int64_t t1) {
    const std::int64_t lists = share_rows ? KT : 1;
    std::vector<std::int64_t> rx(static_cast<std::size_t>(lists * rows_per_block_)), ry(rx.size());
    std::vector<std::int64_t> count(static_cast<std::size_t>(lists)), made_at(count.size());
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t gb = task / parts_, part = task % parts_, g = gb / blocks_, blk = gb % blocks_;
      const std::int64_t q0 = part_begin_[static_cast<std::size_t>(part)];
      const std::int64_t q1 = part_begin_[static_cast<std::size_t>(part + 1)];
      const float* xg = x + (n * c_.Cin + g * cin_g) * V;
      const float* dyb = dyt.get() + gb * Vo * ob_;  // the block's dY, transposed
      float* acc = sums.get() + gb * groups_ * J_ * ob_;
      std::fill(made_at.begin(), made_at.end(), -1);
      for (std::int64_t r0 = 0; r0 < rows_; r0 += rows_per_block_) {
        const std::int64_t r1 = std::min(rows_, r0 + rows_per_block_), od0 = r0 / Ho, oh0 = r0 % Ho;
        for (std::int64_t q = q0; q < q1; ++q) {
          const Group& gr = group(q);
          const Tap& tp = taps_[static_cast<std::size_t>(gr.tap)];
          const auto list = static_cast<std::size_t>(share_rows ? gr.tap : 0);
          std::int64_t* lx = rx.data() + list * static_cast<std::size_t>(rows_per_block_);
          std::int64_t* ly = ry.data() + list * static_cast<std::size_t>(rows_per_block_);
          if (made_at[list] != r0 || !share_rows) {  // the block's rows whose inputs at this tap lie inside
            std::int64_t nr = 0;
            for (std::int64_t r = r0, od = od0, oh = oh0; r < r1; ++r) {  // row r = (od, oh)
              if (od >= tp.d[0] && od < tp.d[1] && oh >= tp.h[0] && oh < tp.h[1]) {
                lx[nr] = od * sd + oh * sh + tp.offset;
                ly[nr++] = r - r0;
              }
              if (++oh == Ho) {
                oh = 0;
                ++od;
              }
            }
            count[list] = nr;
            made_at[list] = r0;
          }
          kern_.cv_weight[I_ - 1][gr.count - 1](dyb + r0 * Wo * ob_, Wo * ob_, xg + gr.first * V, V, lx, ly,
                                                count[list], tp.w[0], tp.w[1], c_.stride[2], acc + q * J_ * ob_,
                                                r0 == 0);
        }
      }
      const std::int64_t oc = std::min(ob_, cout_g - blk * ob_);
      float* dwb = dw + (g * cout_g + blk * ob_) * K_;
      for (std::int64_t q = q0; q < q1; ++q) {
        const Group& gr = group(q);
        for (std::int64_t j = 0; j < gr.count; ++j) {
          const float* a = acc + (q * J_ + j) * ob_;
          for (std::int64_t o = 0; o < oc; ++o) dwb[o * K_ + (gr.first + j) * KT + gr.tap] += a[o];
        }
      }
    }
  });
}

}  // namespace voxgrad::detail
