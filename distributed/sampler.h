#pragma once

#include <cstdint>
#include <vector>

#include "voxgrad/nn/arg.h"

namespace voxgrad::distributed {

/// Options of DistributedSampler (PyTorch's arguments of the same names); -1 means "from the runtime".
struct DistributedSamplerOptions {
  /// Number of ranks sharing the data (-1: world_size()).
  VOXGRAD_ARG(std::int64_t, num_replicas) = -1;
  /// This rank (-1: rank()).
  VOXGRAD_ARG(std::int64_t, rank) = -1;
  /// Shuffle the indices each epoch (the same permutation on every rank, from seed and epoch).
  VOXGRAD_ARG(bool, shuffle) = true;
  /// Seed of the shuffle; must be the same on every rank.
  VOXGRAD_ARG(std::uint64_t, seed) = 0;
  /// Drop the tail that does not divide evenly instead of padding it with repeated indices.
  VOXGRAD_ARG(bool, drop_last) = false;
};

/// Splits the indices 0..dataset_size-1 among ranks, as PyTorch's DistributedSampler: every epoch, all
/// ranks draw the same permutation (seeded by seed + epoch, independent of the global generator), pad
/// it by repeating its head (or cut it, with drop_last) to a multiple of num_replicas, and rank r takes
/// the entries r, r + num_replicas, ... So the shards are disjoint, of equal length, and together cover
/// the data. It works on any index sequence: shard() picks this rank's items of a vector, and a data
/// loader can take indices() as its sampling order.
class DistributedSampler {
 public:
  /// A sampler over `dataset_size` items.
  explicit DistributedSampler(std::int64_t dataset_size,
                              DistributedSamplerOptions options = DistributedSamplerOptions());
  /// Selects the epoch's shuffle; call at the start of every epoch (PyTorch's set_epoch).
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  /// The current epoch.
  std::int64_t epoch() const { return epoch_; }
  /// This rank's indices for the current epoch, in order.
  std::vector<std::int64_t> indices() const;
  /// Number of indices per rank per epoch.
  std::int64_t size() const { return num_samples_; }
  /// Number of ranks.
  std::int64_t num_replicas() const { return num_replicas_; }
  /// This rank.
  std::int64_t rank() const { return rank_; }
  /// This rank's items of `items` (which must have dataset_size entries) for the current epoch.
  template <typename T>
  std::vector<T> shard(const std::vector<T>& items) const {
    check_items(static_cast<std::int64_t>(items.size()));
    std::vector<T> out;
    out.reserve(static_cast<std::size_t>(num_samples_));
    for (std::int64_t i : indices()) out.push_back(items[static_cast<std::size_t>(i)]);
    return out;
  }

 private:
  void check_items(std::int64_t n) const;

  std::int64_t dataset_size_;
  std::int64_t num_replicas_;
  std::int64_t rank_;
  DistributedSamplerOptions options_;
  std::int64_t num_samples_;
  std::int64_t epoch_ = 0;
};

}  // namespace voxgrad::distributed
