// DataLoader: order, shuffling, drop_last, bitwise reproducibility across worker counts, errors from
// workers naming the sample, bounded prefetching and clean shutdown mid-epoch.
#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "test_util.h"

namespace {

using namespace voxgrad;
using namespace voxgrad::data;
using voxgrad::testing::expect_bitwise_equal;

// Example i: "x" = [i] and "r" = one draw from the sample's stream; optionally throws at one index,
// sleeps per sample, and counts calls.
class ProbeDataset : public Dataset {
 public:
  explicit ProbeDataset(std::int64_t n, std::int64_t throw_at = -1, int sleep_ms = 0)
      : n_(n), throw_at_(throw_at), sleep_ms_(sleep_ms) {}
  std::int64_t size() const override { return n_; }
  Example get(std::int64_t index, Generator& rng) const override {
    ++calls;
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (index == throw_at_) throw Error("probe: cannot read this one");
    return {{"x", full({1}, static_cast<double>(index), kFloat64)}, {"r", full({1}, rng.next_double(), kFloat64)}};
  }
  using Dataset::get;
  mutable std::atomic<int> calls{0};

 private:
  std::int64_t n_, throw_at_;
  int sleep_ms_;
};

std::vector<std::int64_t> indices_of(DataLoader& loader, std::int64_t epoch) {
  std::vector<std::int64_t> out;
  Epoch e = loader.epoch(epoch);
  while (auto b = e.next()) {
    const std::vector<double> x = voxgrad::testing::values(b->data.at("x"));
    EXPECT_EQ(x.size(), b->indices.size());
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i], static_cast<double>(b->indices[i]));
    out.insert(out.end(), b->indices.begin(), b->indices.end());
  }
  return out;
}

TEST(DataLoader, BatchesInOrderWithAndWithoutDropLast) {
  auto ds = std::make_shared<ProbeDataset>(10);
  for (const std::int64_t workers : {0, 2}) {
    DataLoader keep(ds, DataLoaderOptions(4).workers(workers));
    EXPECT_EQ(keep.num_batches(), 3);
    Epoch e = keep.epoch(0);
    std::vector<std::int64_t> sizes;
    while (auto b = e.next()) sizes.push_back(b->data.at("x").size(0));
    EXPECT_EQ(sizes, (std::vector<std::int64_t>{4, 4, 2}));
    EXPECT_FALSE(e.next().has_value());  // stays exhausted
    DataLoader drop(ds, DataLoaderOptions(4).drop_last(true).workers(workers));
    EXPECT_EQ(drop.num_batches(), 2);
    EXPECT_EQ(indices_of(drop, 0), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  }
}

TEST(DataLoader, HugeBatchSizesAndPrefetchFactorsDoNotOverflow) {
  // One batch of everything for a batch size near INT64_MAX (n + b − 1 would overflow to no batch), and
  // a prefetch bound of workers · prefetch_factor that would overflow saturates (no hang).
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  auto ds = std::make_shared<ProbeDataset>(10);
  for (const std::int64_t workers : {0, 2}) {
    DataLoader loader(ds, DataLoaderOptions(kMax).workers(workers).prefetch_factor(kMax / 2 + 1));
    EXPECT_EQ(loader.num_batches(), 1);
    EXPECT_EQ(indices_of(loader, 0), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(DataLoader(ds, DataLoaderOptions(kMax).drop_last(true)).num_batches(), 0);
  }
}

TEST(DataLoader, ShuffleIsAPermutationPerEpochFromSeedAndEpoch) {
  auto ds = std::make_shared<ProbeDataset>(50);
  DataLoader a(ds, DataLoaderOptions(7).shuffle(true).seed(3));
  DataLoader b(ds, DataLoaderOptions(7).shuffle(true).seed(3).workers(2));
  DataLoader c(ds, DataLoaderOptions(7).shuffle(true).seed(4));
  const std::vector<std::int64_t> e0 = indices_of(a, 0), e1 = indices_of(a, 1);
  EXPECT_EQ(std::set<std::int64_t>(e0.begin(), e0.end()).size(), 50u);
  EXPECT_EQ(e0, a.order(0));
  EXPECT_NE(e0, e1);
  EXPECT_EQ(e0, indices_of(b, 0));
  EXPECT_NE(e0, indices_of(c, 0));
  std::vector<std::int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, DataLoader(ds, DataLoaderOptions(7)).order(0));
}

// A random pipeline on volumes: flips, a 90° rotation, noise and a pos/neg crop, 3 patches per volume.
std::shared_ptr<const Dataset> random_volume_pipeline() {
  std::vector<Example> volumes;
  for (int v = 0; v < 4; ++v) {
    manual_seed(100 + static_cast<std::uint64_t>(v));
    const Tensor image = randn({1, 9, 8, 7});
    const Tensor label = image.gt(0.8);
    volumes.push_back({{"image", image}, {"label", label}});
  }
  auto base = std::make_shared<InMemoryDataset>(std::move(volumes));
  const Transform t =
      compose({rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({5, 4, 4}).pos(2).neg(1)),
               rand_flip(RandFlipOptions().prob(0.5)), rand_rotate90(RandRotate90Options().prob(0.5).axes({1, 2})),
               rand_gaussian_noise(0.1, 0.0, 0.5), rand_scale_intensity(0.2, 0.5)});
  return std::make_shared<TransformDataset>(base, t, 3);
}

TEST(DataLoader, BatchesAreBitwiseIdenticalForZeroToThreeWorkers) {
  const auto ds = random_volume_pipeline();
  std::vector<std::vector<Batch>> runs;
  for (const std::int64_t workers : {0, 1, 2, 3}) {
    DataLoader loader(ds, DataLoaderOptions(5).shuffle(true).seed(11).workers(workers).prefetch_factor(1));
    std::vector<Batch> batches;
    for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
      Epoch e = loader.epoch(epoch);
      while (auto b = e.next()) batches.push_back(std::move(*b));
    }
    runs.push_back(std::move(batches));
  }
  ASSERT_EQ(runs[0].size(), 6u);  // 12 patches in batches of 5, two epochs
  for (std::size_t w = 1; w < runs.size(); ++w) {
    ASSERT_EQ(runs[w].size(), runs[0].size());
    for (std::size_t b = 0; b < runs[0].size(); ++b) {
      EXPECT_EQ(runs[w][b].indices, runs[0][b].indices);
      for (const char* key : {"image", "label"}) {
        expect_bitwise_equal(runs[w][b].data.at(key), runs[0][b].data.at(key),
                             fmt::format("{} workers, batch {}, {}", w, b, key));
      }
    }
  }
  // The epochs differ (new order and new draws), and so do patches of one volume.
  EXPECT_FALSE(voxgrad::testing::bit_identical(runs[0][0].data.at("image"), runs[0][3].data.at("image")));
}

TEST(DataLoader, AWorkerErrorSurfacesAtItsBatchNamingTheSample) {
  auto ds = std::make_shared<ProbeDataset>(20, /*throw_at=*/9);
  for (const std::int64_t workers : {0, 1, 2, 3}) {
    DataLoader loader(ds, DataLoaderOptions(4).workers(workers));
    Epoch e = loader.epoch(0);
    EXPECT_TRUE(e.next().has_value());
    EXPECT_TRUE(e.next().has_value());
    EXPECT_ERROR_EQ(e.next(), "DataLoader: sample 9 (batch 2 of epoch 0): probe: cannot read this one");
  }  // and destroying the epoch with workers still running does not hang
}

TEST(DataLoader, TransformErrorsNameTheSampleAndItem) {
  std::vector<Example> volumes = {{{"image", zeros({1, 4, 4, 4})}, {"label", zeros({1, 4, 4, 4})}}};
  auto base = std::make_shared<InMemoryDataset>(volumes);
  auto ds =
      std::make_shared<TransformDataset>(base, rand_crop_by_pos_neg_label(RandCropByPosNegLabelOptions({5, 2, 2})), 2);
  DataLoader loader(ds, DataLoaderOptions(1).workers(2));
  Epoch e = loader.epoch(0);
  EXPECT_ERROR_CONTAINS(e.next(),
                        "DataLoader: sample 0 (batch 0 of epoch 0): sample 0 (item 0): "
                        "rand_crop_by_pos_neg_label: the patch size [5, 2, 2] is larger than the volume's "
                        "spatial size [4, 4, 4]");
}

TEST(DataLoader, PrefetchIsBoundedByWorkersTimesPrefetchFactor) {
  auto ds = std::make_shared<ProbeDataset>(100);
  DataLoader loader(ds, DataLoaderOptions(2).workers(2).prefetch_factor(2));
  Epoch e = loader.epoch(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(ds->calls.load(), 8);  // 4 batches of 2, and no more while none is taken
  ASSERT_TRUE(e.next().has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(ds->calls.load(), 10);  // one batch taken, one more built
}

TEST(DataLoader, DestroyingAnEpochMidwayStopsItsWorkersPromptly) {
  auto ds = std::make_shared<ProbeDataset>(1000, -1, /*sleep_ms=*/20);
  DataLoader loader(ds, DataLoaderOptions(4).workers(3).prefetch_factor(4));
  const auto start = std::chrono::steady_clock::now();
  {
    Epoch e = loader.epoch(0);
    ASSERT_TRUE(e.next().has_value());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 2.0);             // each worker finishes at most its current sample
  EXPECT_LT(ds->calls.load(), 40);  // far from the 1000 of a whole epoch
  { Epoch never_read = loader.epoch(1); }
  Epoch moved = loader.epoch(2);
  Epoch target = std::move(moved);
  EXPECT_ERROR_EQ(moved.next(), "Epoch::next: the epoch was moved from");  // NOLINT: use after move on purpose
  EXPECT_TRUE(target.next().has_value());
}

// The way each rank of a data-parallel run takes its share of an epoch (DistributedSampler::indices()).
TEST(DataLoader, AnEpochOverGivenIndicesBuildsThoseSamplesAsTheWholeEpochDoes) {
  auto ds = std::make_shared<ProbeDataset>(10);
  const auto draws = [](Epoch e) {
    std::map<std::int64_t, double> out;  // index -> its sample's draw
    std::vector<std::int64_t> sizes;
    while (auto b = e.next()) {
      const std::vector<double> r = voxgrad::testing::values(b->data.at("r"));
      for (std::size_t i = 0; i < r.size(); ++i) out.emplace(b->indices[i], r[i]);
      sizes.push_back(b->data.at("r").size(0));
    }
    return std::make_pair(out, sizes);
  };
  for (const std::int64_t workers : {0, 2}) {
    DataLoader loader(ds, DataLoaderOptions(2).workers(workers).seed(7));
    const auto whole = draws(loader.epoch(3)).first;
    const auto [even, even_sizes] = draws(loader.epoch(3, {0, 2, 4, 6, 8}));
    const auto [odd, odd_sizes] = draws(loader.epoch(3, {9, 7, 5, 3, 1}));
    EXPECT_EQ(even_sizes, (std::vector<std::int64_t>{2, 2, 1}));
    EXPECT_EQ(odd_sizes, (std::vector<std::int64_t>{2, 2, 1}));
    std::map<std::int64_t, double> both = even;
    both.insert(odd.begin(), odd.end());
    EXPECT_EQ(both, whole);
    EXPECT_NE(draws(loader.epoch(4, {0, 2, 4, 6, 8})).first, even);  // still a function of the epoch
  }
  DataLoader drop(ds, DataLoaderOptions(2).drop_last(true));
  EXPECT_EQ(draws(drop.epoch(0, {5, 6, 7})).second, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(draws(drop.epoch(0, {})).second, (std::vector<std::int64_t>{}));
  EXPECT_ERROR_EQ(drop.epoch(0, {1, 10}),
                  "DataLoader::epoch: index 10 (entry 1 of the given indices) is out of range for a dataset of 10 "
                  "examples");
}

TEST(DataLoader, BadOptionsAreErrors) {
  auto ds = std::make_shared<ProbeDataset>(3);
  EXPECT_ERROR_EQ(DataLoader(ds, DataLoaderOptions(0)), "DataLoader: batch_size must be at least 1, but got 0");
  EXPECT_ERROR_EQ(DataLoader(ds, DataLoaderOptions(1).workers(-1)),
                  "DataLoader: workers must be non-negative, but got -1");
  EXPECT_ERROR_EQ(DataLoader(ds, DataLoaderOptions(1).prefetch_factor(0)),
                  "DataLoader: prefetch_factor must be at least 1, but got 0");
  EXPECT_ERROR_EQ(DataLoader(nullptr, DataLoaderOptions(1)), "DataLoader: the dataset is null");
}

TEST(Example, CollateStacksKeysAndNamesMismatches) {
  const Example a = {{"image", zeros({1, 2, 2, 2})}, {"label", ones({1, 2, 2, 2})}};
  const Example b = {{"image", ones({1, 2, 2, 2})}, {"label", zeros({1, 2, 2, 2})}};
  const Example batch = collate({a, b});
  EXPECT_EQ(batch.at("image").sizes(), (Shape{2, 1, 2, 2, 2}));
  EXPECT_EQ(voxgrad::testing::values(batch.at("label"))[0], 1.0);
  const Example c = {{"image", ones({1, 2, 2, 3})}, {"label", zeros({1, 2, 2, 2})}};
  EXPECT_ERROR_EQ(collate({a, c}),
                  "collate: 'image' of example 1 is float32 [1, 2, 2, 3], but that of example 0 is "
                  "float32 [1, 2, 2, 2]");
  const Example d = {{"image", ones({1, 2, 2, 2})}};
  EXPECT_ERROR_CONTAINS(collate({a, d}), "collate: example 1 holds keys [\"image\"], but example 0 holds");
  EXPECT_ERROR_EQ(a.at("mask"), "Example: no tensor named 'mask' (it holds [\"image\", \"label\"])");
  EXPECT_ERROR_EQ(collate({}), "collate: no examples to stack");
}

TEST(Dataset, IndexOutOfRangeIsAnError) {
  InMemoryDataset ds({{{"x", zeros({1})}}});
  EXPECT_ERROR_EQ(ds.get(1), "InMemoryDataset::get: index 1 is out of range for a dataset of 1 examples");
  EXPECT_ERROR_EQ(TransformDataset(nullptr, compose({})), "TransformDataset: the base dataset is null");
}

}  // namespace
