#pragma once
// Datasets (torch::data::datasets / MONAI Dataset): a size and an example per index. Random
// transforms draw only from the Generator they are handed, which the DataLoader seeds from
// (seed, epoch, index): a sample is the same whichever worker thread builds it, and when.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "voxgrad/core/random.h"
#include "voxgrad/data/example.h"
#include "voxgrad/nn/arg.h"

namespace voxgrad::data {

/// Three spatial sizes, indices or offsets in (D, H, W) order.
using Size3 = std::array<std::int64_t, 3>;
/// Three spatial lengths (spacings) in (D, H, W) order.
using Spacing3 = std::array<double, 3>;
/// Two spatial axes (a plane).
using Axes2 = std::array<std::int64_t, 2>;

/// The random stream of sample `index` in epoch `epoch` of a run seeded with `seed` (a hash of the
/// three, so streams of neighbouring indices or epochs are unrelated).
Generator sample_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t index);

/// A map-style dataset. get() is const and may be called from several threads at once.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of examples.
  virtual std::int64_t size() const = 0;
  /// Example `index` (0 <= index < size()); random transforms draw from `rng` only.
  virtual Example get(std::int64_t index, Generator& rng) const = 0;
  /// Example `index` with the stream sample_generator(0, 0, index).
  Example get(std::int64_t index) const;

 protected:
  /// Throws "{name}: index {index} is out of range for a dataset of {size} examples" unless 0 <= index < size().
  void check_index(std::int64_t index, const char* name) const;
};

/// Examples held in memory (e.g. volumes made by a test or loaded by hand).
class InMemoryDataset : public Dataset {
 public:
  explicit InMemoryDataset(std::vector<Example> examples) : examples_(std::move(examples)) {}
  std::int64_t size() const override { return static_cast<std::int64_t>(examples_.size()); }
  /// A shallow copy of example `index` (transforms replace tensors, they never write into them).
  Example get(std::int64_t index, Generator& rng) const override;
  using Dataset::get;

 private:
  std::vector<Example> examples_;
};

/// A transform of one example; random ones draw from `rng` only. Transforms return new tensors and
/// never write into their input's (a cached volume is shared by every patch cut from it).
using Transform = std::function<Example(Example example, Generator& rng)>;

/// Applies `transforms` in order (MONAI Compose).
Transform compose(std::vector<Transform> transforms);

/// `base` with `transform` applied to each example; `samples_per_item` > 1 draws that many
/// independent samples from each base example (patch i of item j is index j * samples_per_item + i,
/// each with its own stream: MONAI's RandCropByPosNegLabel num_samples). Errors from the base or the
/// transform are rethrown naming the index.
class TransformDataset : public Dataset {
 public:
  TransformDataset(std::shared_ptr<const Dataset> base, Transform transform, std::int64_t samples_per_item = 1);
  std::int64_t size() const override { return base_->size() * samples_per_item_; }
  Example get(std::int64_t index, Generator& rng) const override;
  using Dataset::get;

 private:
  std::shared_ptr<const Dataset> base_;
  Transform transform_;
  std::int64_t samples_per_item_;
};

}  // namespace voxgrad::data
