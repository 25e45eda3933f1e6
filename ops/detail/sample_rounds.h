#pragma once
// Internal: a conv map's samples, one per thread where a sample is small.
//
// The direct maps run a batch sample by sample, each sample's loops split between the threads. Where a
// sample's operands stay within a few L2s that split costs more than it gains: every thread writes part
// of the padded copy that all of them then read (lines crossing between cores), and every sample ends
// in joins that the threads wait at. There the samples run in rounds of one per thread instead, each
// sample's loops serial on its thread (SerialLoops). What a sample adds to a total (dW, dB, channel
// sums) goes to a slot of its own (one per place in a round), and the slots are added to the totals in
// sample order after each round, whichever way the samples ran: the bits do not depend on the thread
// count.

#include <cstdint>
#include <vector>

#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/ops/detail/conv_geometry.h"

namespace voxgrad::detail {

/// Whether g's samples are small enough to run one per thread: one sample's input, output and weight
/// gradient together within kSmallSampleL2s L2s. The direct weight maps of such a geometry sum each
/// sample's part in a slot and add it to dW afterwards, at any thread count (the pointwise weight map
/// sums chunks of the whole batch instead, and takes no rounds).
bool small_samples(const ConvGeometry& g);

/// Samples of g's maps that run at once: get_num_threads() where small_samples(g) and the batch has at
/// least that many samples, else 1.
std::int64_t sample_slots(const ConvGeometry& g);

/// Runs body(n, slot) for every sample n in [0, N), each followed by finish(n, slot) in sample order.
/// With slots > 1 the samples run in rounds of `slots`, sample r + s in slot s, each on a thread of its
/// own with its loops serial; the last N % slots samples run one at a time in slot 0, their loops
/// parallel. finish runs on the calling thread after the round.
template <typename Body, typename Finish>
void for_each_sample(std::int64_t N, std::int64_t slots, Body&& body, Finish&& finish) {
  const std::int64_t whole = slots > 1 ? N / slots * slots : 0;
  for (std::int64_t r = 0; r < whole; r += slots) {
    parallel_for(0, slots, 1, [&](std::int64_t s0, std::int64_t s1) {
      const SerialLoops serial;
      for (std::int64_t s = s0; s < s1; ++s) body(r + s, s);
    });
    for (std::int64_t s = 0; s < slots; ++s) finish(r + s, s);
  }
  for (std::int64_t n = whole; n < N; ++n) {
    body(n, std::int64_t{0});
    finish(n, std::int64_t{0});
  }
}

/// Per-slot sums of one sample: `count` doubles a slot (channel sums of x or dY), zeroed before each
/// sample and added to `out` (as floats, by store()) in sample order. A null `out` asks for none.
class SlotSums {
 public:
  SlotSums(float* out, std::int64_t count, std::int64_t slots);
  /// Slot s, zeroed; null when no sums are asked for.
  double* start(std::int64_t s);
  /// Adds slot s to the running totals.
  void finish(std::int64_t s);
  /// Stores the totals in `out`.
  void store() const;

 private:
  float* out_;
  std::int64_t count_;
  std::vector<double> slots_, total_;
};

/// Per-slot weight gradients for a small_samples geometry: `floats` entries a slot, zeroed before
/// each sample and added to dW in sample order.
class WeightSlots {
 public:
  WeightSlots(std::int64_t floats, std::int64_t slots);
  /// Slot s, zeroed.
  float* start(std::int64_t s);
  /// dw += slot s.
  void finish(std::int64_t s, float* dw) const;

 private:
  std::int64_t floats_;
  std::vector<float> slots_;
};

}  // namespace voxgrad::detail
