#pragma once
// CacheDataset: keeps decoded examples of a deterministic base dataset (e.g. NIfTI files) in memory,
// least recently used out first, within a byte budget, so a volume is decoded once per run and not
// once per patch (MONAI's CacheDataset caches everything up front; this one fills on demand and is
// bounded, like its SmartCacheDataset without the replacement thread).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "voxgrad/data/dataset.h"

namespace voxgrad::data {

/// Counters of a CacheDataset.
struct CacheStats {
  std::int64_t hits = 0;       ///< gets served from memory (including waits on a decode in flight)
  std::int64_t decodes = 0;    ///< calls of the base dataset's get
  std::int64_t evictions = 0;  ///< examples dropped to stay within the budget
  std::size_t bytes = 0;       ///< bytes held now (<= max_bytes)
  std::int64_t entries = 0;    ///< examples held now
};

/// `base` with its examples cached. The base must be deterministic: it is always called with the
/// stream sample_generator(0, 0, index), whatever the loader's seed and epoch (put random transforms
/// after the cache, in a TransformDataset). Thread-safe; two threads asking for the same missing
/// example wait for one decode. An example larger than the budget is returned but not kept.
class CacheDataset : public Dataset {
 public:
  CacheDataset(std::shared_ptr<const Dataset> base, std::size_t max_bytes);
  ~CacheDataset() override;
  std::int64_t size() const override;
  Example get(std::int64_t index, Generator& rng) const override;
  using Dataset::get;
  CacheStats stats() const;
  std::size_t max_bytes() const { return max_bytes_; }

 private:
  struct State;
  std::shared_ptr<const Dataset> base_;
  std::size_t max_bytes_;
  std::unique_ptr<State> state_;
};

}  // namespace voxgrad::data
