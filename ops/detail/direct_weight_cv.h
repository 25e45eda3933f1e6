#pragma once
// Internal: the direct weight map on channel-vector tiles (vectors of output channels, each input
// broadcast), for direct_conv3d_weight_grad and direct_conv3d_and_weight_grad (direct_conv.h). Whether
// it serves a geometry: direct_weight_channel_vectors (direct_conv.h).

#include <cstdint>
#include <vector>

#include "voxgrad/ops/detail/conv_geometry.h"
#include "voxgrad/ops/detail/direct_kernels.h"

namespace voxgrad::detail {

/// The weight map on channel-vector tiles, reading x as it lies (no padded copy). dY is transposed per
/// sample to [position][channel] (blocks of I·lanes channels, zeros past the group's last). A group is
/// J input channels at one tap; its inputs lie inside the volume for a box of output rows and a range
/// of positions along W, and only those enter its sums. Groups run channel-major (the taps of J
/// channels in turn, which read the same few input rows). Each task owns some groups of one channel
/// block and sums them over the output rows a block at a time (dY of a block fills half of L1d), the
/// sums kept in a per-sample buffer between blocks. Every sum runs over the positions in order and is
/// added to dW once per sample, whichever task owns it: the same at any thread count.
class CvWeightRun {
 public:
  CvWeightRun(const direct::Kernels& kern, const ConvGeometry& c);

  /// Adds sample n's part to dw, from x (the whole batch, as it lies) and dy. With db, each transposed
  /// chunk of dY is summed per channel (Sum32, from the rows just read), and the chunks' sums are added
  /// to db in order.
  void sample(const float* x, const float* dy, float* dw, std::int64_t n, double* db) const;

 private:
  // One tap: the output rows (od in [d0, d1), oh in [h0, h1)) and positions along W ([w0, w1)) whose
  // input lies inside the volume, and the input's offset from od·sd·H·W + oh·sh·W + ow·sw.
  struct Tap {
    std::int64_t d[2], h[2], w[2], offset;
  };
  // Group q (channel-major): input channels [first, first + count) at tap `tap`.
  struct Group {
    std::int64_t tap, first, count;
  };
  const Group& group(std::int64_t q) const { return group_list_[static_cast<std::size_t>(q)]; }
  const direct::Kernels& kern_;
  const ConvGeometry& c_;
  int I_ = 1, J_ = 1;
  std::int64_t K_ = 0, ob_ = 0, blocks_ = 0, groups_ = 0, rows_ = 0, rows_per_block_ = 1, parts_ = 1;
  std::vector<Group> group_list_;         // group q (channel-major)
  std::vector<std::int64_t> part_begin_;  // parts_ + 1 group indices
  std::vector<Tap> taps_;
};

}  // namespace voxgrad::detail
