#include "voxgrad/distributed/sampler.h"

#include <numeric>

#include "voxgrad/core/error.h"
#include "voxgrad/distributed/environment.h"

namespace voxgrad::distributed {

namespace {

// SplitMix64: a small, fully specified generator, so a permutation is the same on every platform and
// standard library (std::uniform_int_distribution is not).
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by rejection (no modulo bias).
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
    std::uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return x % bound;
  }
};

}  // namespace

DistributedSampler::DistributedSampler(std::int64_t dataset_size, DistributedSamplerOptions options)
    : dataset_size_(dataset_size),
      num_replicas_(options.num_replicas() < 0 ? world_size() : options.num_replicas()),
      rank_(options.rank() < 0 ? distributed::rank() : options.rank()),
      options_(options) {
  VOXGRAD_CHECK(dataset_size >= 0, "DistributedSampler: dataset_size must be non-negative, got {}", dataset_size);
  VOXGRAD_CHECK(num_replicas_ > 0, "DistributedSampler: num_replicas must be positive, got {}", num_replicas_);
  VOXGRAD_CHECK(rank_ >= 0 && rank_ < num_replicas_,
                "DistributedSampler: invalid rank {}, rank should be in the interval [0, {}]", rank_,
                num_replicas_ - 1);
  num_samples_ =
      options_.drop_last() ? dataset_size_ / num_replicas_ : (dataset_size_ + num_replicas_ - 1) / num_replicas_;
}

std::vector<std::int64_t> DistributedSampler::indices() const {
  std::vector<std::int64_t> all(static_cast<std::size_t>(dataset_size_));
  std::iota(all.begin(), all.end(), std::int64_t{0});
  if (options_.shuffle()) {
    // Fisher-Yates from seed + epoch, as PyTorch seeds its generator with seed + epoch.
    SplitMix64 rng{options_.seed() + static_cast<std::uint64_t>(epoch_)};
    for (std::size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng.below(i)]);
  }
  const std::int64_t total = num_samples_ * num_replicas_;
  // Pad by repeating the head (wrapping as often as needed), or cut the tail.
  for (std::size_t i = 0; static_cast<std::int64_t>(all.size()) < total; ++i) all.push_back(all[i]);
  all.resize(static_cast<std::size_t>(total));
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(num_samples_));
  for (std::int64_t i = rank_; i < total; i += num_replicas_) mine.push_back(all[static_cast<std::size_t>(i)]);
  return mine;
}

void DistributedSampler::check_items(std::int64_t n) const {
  VOXGRAD_CHECK(n == dataset_size_, "DistributedSampler::shard: got {} items for a sampler over {}", n, dataset_size_);
}

}  // namespace voxgrad::distributed
