#include "voxgrad/data/dataset.h"

#include "voxgrad/core/error.h"

namespace voxgrad::data {

namespace {

// SplitMix64's finaliser: a bijective mix of 64 bits.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

Generator sample_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t index) {
  std::uint64_t h = mix(seed + 0x9E3779B97F4A7C15ULL);
  h = mix(h ^ (static_cast<std::uint64_t>(epoch) + 0x632BE59BD9B4E019ULL));
  h = mix(h ^ (static_cast<std::uint64_t>(index) + 0x8CB92BA72F3D8DD7ULL));
  return Generator(h);
}

Example Dataset::get(std::int64_t index) const {
  Generator rng = sample_generator(0, 0, index);
  return get(index, rng);
}

void Dataset::check_index(std::int64_t index, const char* name) const {
  VOXGRAD_CHECK(index >= 0 && index < size(), "{}: index {} is out of range for a dataset of {} examples", name, index,
                size());
}

Example InMemoryDataset::get(std::int64_t index, Generator& /*rng*/) const {
  check_index(index, "InMemoryDataset::get");
  return examples_[static_cast<std::size_t>(index)];
}

Transform compose(std::vector<Transform> transforms) {
  for (std::size_t i = 0; i < transforms.size(); ++i) {
    VOXGRAD_CHECK(static_cast<bool>(transforms[i]), "compose: transform {} is empty", i);
  }
  return [transforms = std::move(transforms)](Example example, Generator& rng) {
    for (const Transform& t : transforms) example = t(std::move(example), rng);
    return example;
  };
}

TransformDataset::TransformDataset(std::shared_ptr<const Dataset> base, Transform transform,
                                   std::int64_t samples_per_item)
    : base_(std::move(base)), transform_(std::move(transform)), samples_per_item_(samples_per_item) {
  VOXGRAD_CHECK(base_ != nullptr, "TransformDataset: the base dataset is null");
  VOXGRAD_CHECK(static_cast<bool>(transform_), "TransformDataset: the transform is empty");
  VOXGRAD_CHECK(samples_per_item_ >= 1, "TransformDataset: samples_per_item must be at least 1, but got {}",
                samples_per_item_);
}

Example TransformDataset::get(std::int64_t index, Generator& rng) const {
  check_index(index, "TransformDataset::get");
  const std::int64_t item = index / samples_per_item_;
  try {
    // The base's own stream is derived from this sample's, so base randomness is reproducible too.
    Generator base_rng(rng.next_u64());
    return transform_(base_->get(item, base_rng), rng);
  } catch (const Error& e) {
    throw Error(fmt::format("sample {} (item {}): {}", index, item, e.what()));
  }
}

}  // namespace voxgrad::data
