#include "voxgrad/data/cache_dataset.h"

#include <future>
#include <list>
#include <mutex>
#include <unordered_map>

#include "voxgrad/core/error.h"

namespace voxgrad::data {

// `lru` holds the indices of finished entries, most recently used first; an entry in flight (being
// decoded) is in `entries` but not in `lru`, so it cannot be evicted before it is charged.
struct CacheDataset::State {
  struct Entry {
    std::shared_future<Example> value;
    std::list<std::int64_t>::iterator position;
    std::size_t bytes = 0;
    bool done = false;
  };
  std::mutex mutex;
  std::unordered_map<std::int64_t, Entry> entries;
  std::list<std::int64_t> lru;
  CacheStats stats;
};

CacheDataset::CacheDataset(std::shared_ptr<const Dataset> base, std::size_t max_bytes)
    : base_(std::move(base)), max_bytes_(max_bytes), state_(std::make_unique<State>()) {
  VOXGRAD_CHECK(base_ != nullptr, "CacheDataset: the base dataset is null");
}

CacheDataset::~CacheDataset() = default;

std::int64_t CacheDataset::size() const { return base_->size(); }

Example CacheDataset::get(std::int64_t index, Generator& /*rng*/) const {
  check_index(index, "CacheDataset::get");
  State& s = *state_;
  std::promise<Example> promise;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    const auto it = s.entries.find(index);
    if (it != s.entries.end()) {
      ++s.stats.hits;
      if (it->second.done) s.lru.splice(s.lru.begin(), s.lru, it->second.position);
      const std::shared_future<Example> value = it->second.value;
      lock.unlock();  // waiting for a decode in flight happens outside the lock
      return value.get();
    }
    ++s.stats.decodes;
    s.entries[index].value = promise.get_future().share();
  }
  Example decoded;
  try {
    Generator base_rng = sample_generator(0, 0, index);
    decoded = base_->get(index, base_rng);
  } catch (...) {
    promise.set_exception(std::current_exception());
    std::lock_guard<std::mutex> lock(s.mutex);
    s.entries.erase(index);  // a later get tries again
    throw;
  }
  promise.set_value(decoded);
  std::lock_guard<std::mutex> lock(s.mutex);
  const std::size_t bytes = decoded.nbytes();
  if (bytes > max_bytes_) {
    s.entries.erase(index);
    return decoded;
  }
  while (s.stats.bytes + bytes > max_bytes_) {
    const std::int64_t victim = s.lru.back();
    s.lru.pop_back();
    s.stats.bytes -= s.entries.at(victim).bytes;
    s.entries.erase(victim);
    ++s.stats.evictions;
  }
  State::Entry& entry = s.entries.at(index);
  s.lru.push_front(index);
  entry.position = s.lru.begin();
  entry.bytes = bytes;
  entry.done = true;
  s.stats.bytes += bytes;
  return decoded;
}

CacheStats CacheDataset::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  CacheStats out = state_->stats;
  out.entries = static_cast<std::int64_t>(state_->lru.size());
  return out;
}

}  // namespace voxgrad::data
