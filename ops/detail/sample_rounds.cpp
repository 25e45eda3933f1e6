#include "voxgrad/ops/detail/sample_rounds.h"

#include <algorithm>

#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/threading.h"

namespace voxgrad::detail {

namespace {

// A sample's operands within this many L2s of one core. Measured on the maps of the example U-Net's
// layers (batch 4, 8-32 channels, 8³-32³; AMD Zen 4, 1 MiB L2, bench/README): one sample per thread ran
// 0.74-0.83× the time of the stride-2 layers' forward maps and 0.91-0.97× of the others', and at 3 MiB
// (16 → 8 channels at 32³) and 4 MiB (16 → 16 at 32³, C5) even; at 16 MiB and more (the bench's U-Net
// step at 64³) it gained less than 5% and would hold a padded copy per thread.
constexpr std::int64_t kSmallSampleL2s = 4;

}  // namespace

bool small_samples(const ConvGeometry& g) {
  const std::int64_t floats = g.Cin * g.vol_size() + g.Cout * g.out_size() + g.Cout * g.rows();
  return floats * std::int64_t{sizeof(float)} <= kSmallSampleL2s * cache_sizes().l2;
}

std::int64_t sample_slots(const ConvGeometry& g) {
  const std::int64_t T = get_num_threads();
  return T > 1 && g.N >= T && small_samples(g) ? T : 1;
}

SlotSums::SlotSums(float* out, std::int64_t count, std::int64_t slots)
    : out_(out),
      count_(out != nullptr ? count : 0),
      slots_(static_cast<std::size_t>(count_ * slots)),
      total_(static_cast<std::size_t>(count_)) {}

double* SlotSums::start(std::int64_t s) {
  if (out_ == nullptr) return nullptr;
  double* p = slots_.data() + s * count_;
  std::fill(p, p + count_, 0.0);
  return p;
}

void SlotSums::finish(std::int64_t s) {
  const double* p = slots_.data() + s * count_;
  for (std::int64_t c = 0; c < count_; ++c) total_[static_cast<std::size_t>(c)] += p[c];
}

void SlotSums::store() const {
  for (std::int64_t c = 0; c < count_; ++c) out_[c] = static_cast<float>(total_[static_cast<std::size_t>(c)]);
}

WeightSlots::WeightSlots(std::int64_t floats, std::int64_t slots)
    : floats_(floats), slots_(static_cast<std::size_t>(floats * slots)) {}

float* WeightSlots::start(std::int64_t s) {
  float* p = slots_.data() + s * floats_;
  std::fill(p, p + floats_, 0.0f);
  return p;
}

void WeightSlots::finish(std::int64_t s, float* dw) const {
  const float* p = slots_.data() + s * floats_;
  for (std::int64_t e = 0; e < floats_; ++e) dw[e] += p[e];
}

}  // namespace voxgrad::detail
