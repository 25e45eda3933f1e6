#pragma once
// DataLoader (torch::data::make_data_loader / torch.utils.data.DataLoader): batches of a Dataset,
// optionally shuffled, built by background worker threads that prefetch a bounded number of batches.
//
// Reproducibility: the order of epoch e is a permutation drawn from (seed, e), and sample i of epoch e
// is built with sample_generator(seed, e, i); batches are delivered in order. So the batches of an
// epoch are bitwise identical for 0, 1, 2, ... workers.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "voxgrad/data/dataset.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::data {

/// Options of a DataLoader: `DataLoaderOptions(4).shuffle(true).workers(2)`.
struct DataLoaderOptions {
  /// Examples per batch (default 1).
  DataLoaderOptions(std::int64_t batch_size = 1) : batch_size_(batch_size) {}  // NOLINT: implicit, as libtorch's
  /// Examples per batch, >= 1.
  VOXGRAD_ARG(std::int64_t, batch_size);
  /// Draws a new order each epoch from (seed, epoch) when true.
  VOXGRAD_ARG(bool, shuffle) = false;
  /// Drops the last batch when it has fewer than batch_size examples.
  VOXGRAD_ARG(bool, drop_last) = false;
  /// Background threads building batches; 0 builds each batch in next() on the caller's thread.
  VOXGRAD_ARG(std::int64_t, workers) = 0;
  /// Batches each worker may build ahead (PyTorch's prefetch_factor): at most workers * prefetch_factor
  /// batches are built but not yet taken, which bounds the memory in flight.
  VOXGRAD_ARG(std::int64_t, prefetch_factor) = 2;
  /// Seed of the shuffling and of every sample's random stream.
  VOXGRAD_ARG(std::uint64_t, seed) = 0;
};

/// A collated batch and the dataset indices of its examples.
struct Batch {
  Example data;
  std::vector<std::int64_t> indices;
};

class EpochState;

/// One pass over the dataset. Destroying it mid-epoch stops and joins its workers (a worker finishes
/// the sample it is building, nothing more); it never blocks on a full queue.
class Epoch {
 public:
  Epoch(Epoch&&) noexcept;
  Epoch& operator=(Epoch&&) noexcept;
  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;
  ~Epoch();

  /// The next batch in order, or nothing after the last. An exception thrown while building a sample
  /// surfaces here, at that sample's batch, as an Error naming the sample's index.
  std::optional<Batch> next();

 private:
  friend class DataLoader;
  explicit Epoch(std::unique_ptr<EpochState> state);
  std::unique_ptr<EpochState> state_;
};

/// Batches of a dataset, epoch by epoch.
class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options);

  /// Batches per epoch.
  std::int64_t num_batches() const;
  /// The dataset indices epoch `epoch` visits, in order (a permutation when shuffling).
  std::vector<std::int64_t> order(std::int64_t epoch) const;
  /// Starts epoch `epoch` (workers begin building its first batches now).
  Epoch epoch(std::int64_t epoch) const;
  /// Starts epoch `epoch` over the dataset indices `indices`, in that order, instead of order(epoch)
  /// (PyTorch's `sampler`): e.g. this rank's share of the epoch, DistributedSampler::indices(). Sample
  /// i is still built with sample_generator(seed, epoch, i), so it is the same whichever process or
  /// position takes it, and the shards of an epoch together hold exactly the samples of the whole one.
  Epoch epoch(std::int64_t epoch, std::vector<std::int64_t> indices) const;
  const DataLoaderOptions& options() const { return options_; }

 private:
  // Batches of an epoch over n indices (the last one short, or dropped with drop_last).
  std::int64_t num_batches(std::int64_t n) const;

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
};

}  // namespace voxgrad::data
