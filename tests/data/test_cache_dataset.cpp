// CacheDataset: decodes once, evicts least recently used within its byte budget (checked against a
// simulation), waits for one decode when threads race, and neither keeps oversized examples nor errors.
#include <atomic>
#include <list>
#include <thread>

#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;

// Example i holds `elems(i)` float32 values equal to i; counts decodes per index.
class Volumes : public Dataset {
 public:
  explicit Volumes(std::int64_t n, std::int64_t elems = 100)
      : decodes(static_cast<std::size_t>(n)), n_(n), elems_(elems) {}
  std::int64_t size() const override { return n_; }
  Example get(std::int64_t index, Generator&) const override {
    ++decodes[static_cast<std::size_t>(index)];
    if (index == fail_at) throw Error("Volumes: corrupt");
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    const std::int64_t elems = index == big_at ? 10 * elems_ : elems_;
    return {{"image", full({elems}, static_cast<double>(index))}};
  }
  using Dataset::get;
  std::int64_t fail_at = -1, big_at = -1;
  int sleep_ms = 0;
  mutable std::vector<std::atomic<int>> decodes;

 private:
  std::int64_t n_, elems_;
};

TEST(CacheDataset, DecodesOnceAndEvictsLeastRecentlyUsedWithinTheBudget) {
  auto base = std::make_shared<Volumes>(6);
  const std::size_t per_example = 400;  // 100 float32
  CacheDataset cache(base, 3 * per_example + 10);
  // A simulation of an LRU of capacity 3 gives the decodes to expect.
  std::list<std::int64_t> lru;
  std::int64_t expected_decodes = 0, expected_evictions = 0;
  const std::vector<std::int64_t> accesses = {0, 1, 2, 0, 3, 1, 4, 0, 0, 2, 5, 3, 3, 1, 0};
  for (const std::int64_t i : accesses) {
    const Example e = cache.get(i);
    EXPECT_EQ(voxgrad::testing::values(e.at("image"))[0], static_cast<double>(i));
    const auto it = std::find(lru.begin(), lru.end(), i);
    if (it != lru.end()) {
      lru.erase(it);
    } else {
      ++expected_decodes;
      if (lru.size() == 3) {
        lru.pop_back();
        ++expected_evictions;
      }
    }
    lru.push_front(i);
    const CacheStats s = cache.stats();
    EXPECT_LE(s.bytes, cache.max_bytes());
    EXPECT_EQ(s.bytes, lru.size() * per_example);
    EXPECT_EQ(s.entries, static_cast<std::int64_t>(lru.size()));
  }
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.decodes, expected_decodes);
  EXPECT_EQ(s.evictions, expected_evictions);
  EXPECT_EQ(s.hits, static_cast<std::int64_t>(accesses.size()) - expected_decodes);
}

TEST(CacheDataset, ConcurrentRequestsForOneExampleDecodeItOnce) {
  auto base = std::make_shared<Volumes>(2);
  base->sleep_ms = 50;
  CacheDataset cache(base, 1 << 20);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { ok += voxgrad::testing::values(cache.get(1).at("image"))[0] == 1.0 ? 1 : 0; });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(base->decodes[1].load(), 1);
}

TEST(CacheDataset, OversizedExamplesAndErrorsAreNotKept) {
  auto base = std::make_shared<Volumes>(3);
  base->big_at = 2;
  base->fail_at = 1;
  CacheDataset cache(base, 1000);
  cache.get(0);
  EXPECT_EQ(cache.get(2).at("image").numel(), 1000);  // 4000 bytes > 1000: returned, not cached
  cache.get(2);
  EXPECT_EQ(base->decodes[2].load(), 2);
  EXPECT_EQ(cache.stats().bytes, 400u);  // example 0 survived: nothing was evicted for the big one
  EXPECT_ERROR_EQ(cache.get(1), "Volumes: corrupt");
  EXPECT_ERROR_EQ(cache.get(1), "Volumes: corrupt");  // tried again, not a cached failure
  EXPECT_EQ(base->decodes[1].load(), 2);
  EXPECT_ERROR_EQ(cache.get(3), "CacheDataset::get: index 3 is out of range for a dataset of 3 examples");
}

TEST(CacheDataset, FeedsPatchesWithoutRedecodingThroughALoader) {
  // Two volumes, 8 patches each, 3 workers: each volume is decoded once.
  auto base = std::make_shared<Volumes>(2, 4 * 8 * 8 * 8);
  auto cache = std::make_shared<CacheDataset>(base, 1 << 20);
  auto as_volume = [](Example e, Generator&) {
    e.set("image", e.at("image").reshape({4, 8, 8, 8}));
    e.set("label", e.at("image").select(0, 0).unsqueeze(0).ge(1.0));
    return e;
  };
  auto patches = std::make_shared<TransformDataset>(
      cache, compose({as_volume, rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({4, 4, 4}))}), 8);
  DataLoader loader(patches, DataLoaderOptions(4).shuffle(true).workers(3));
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    Epoch e = loader.epoch(epoch);
    std::int64_t batches = 0;
    while (auto b = e.next()) {
      EXPECT_EQ(b->data.at("image").sizes(), (Shape{4, 4, 4, 4, 4}));
      ++batches;
    }
    EXPECT_EQ(batches, 4);
  }
  EXPECT_EQ(base->decodes[0].load(), 1);
  EXPECT_EQ(base->decodes[1].load(), 1);
}

}  // namespace
