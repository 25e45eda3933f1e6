// DistributedSampler (no MPI needed: rank and num_replicas are given), and the runtime without a
// launcher: world size 1, a local process group, DDP reducing to plain training.

#include <algorithm>
#include <set>

#include "test_util.h"

#include <voxgrad/voxgrad.h>

namespace voxgrad {
namespace {

namespace dist = distributed;

std::vector<std::vector<std::int64_t>> shards(std::int64_t n, std::int64_t replicas, std::int64_t epoch,
                                              dist::DistributedSamplerOptions base = {}) {
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t r = 0; r < replicas; ++r) {
    dist::DistributedSampler s(n, base.num_replicas(replicas).rank(r));
    s.set_epoch(epoch);
    out.push_back(s.indices());
  }
  return out;
}

TEST(DistributedSampler, ShardsAreDisjointCoverTheDataAndHaveEqualLength) {
  for (std::int64_t n : {0, 1, 7, 12, 100, 101}) {
    for (std::int64_t replicas : {1, 2, 3, 5}) {
      const auto all = shards(n, replicas, 0);
      const std::int64_t per = (n + replicas - 1) / replicas;
      std::vector<std::int64_t> seen;
      for (const auto& s : all) {
        EXPECT_EQ(static_cast<std::int64_t>(s.size()), per) << n << " items, " << replicas << " ranks";
        seen.insert(seen.end(), s.begin(), s.end());
      }
      // Every index appears; only the padding (total - n entries) repeats some.
      std::set<std::int64_t> distinct(seen.begin(), seen.end());
      EXPECT_EQ(static_cast<std::int64_t>(distinct.size()), n);
      EXPECT_EQ(static_cast<std::int64_t>(seen.size()) - n, per * replicas - n);
      if (n % replicas == 0) {
        EXPECT_EQ(static_cast<std::int64_t>(seen.size()), n);  // no padding: disjoint
      }
      for (std::int64_t i : seen) EXPECT_TRUE(i >= 0 && i < n);
    }
  }
}

TEST(DistributedSampler, WithoutShuffleRankRTakesEveryReplicasthIndexAndPadsFromTheHead) {
  // 7 items on 3 ranks: padded to 9 with indices 0, 1; rank r takes r, r + 3, r + 6.
  const auto all = shards(7, 3, 0, dist::DistributedSamplerOptions().shuffle(false));
  EXPECT_EQ(all[0], (std::vector<std::int64_t>{0, 3, 6}));
  EXPECT_EQ(all[1], (std::vector<std::int64_t>{1, 4, 0}));
  EXPECT_EQ(all[2], (std::vector<std::int64_t>{2, 5, 1}));
}

TEST(DistributedSampler, DropLastCutsTheTailInsteadOfPadding) {
  const auto all = shards(7, 3, 0, dist::DistributedSamplerOptions().shuffle(false).drop_last(true));
  EXPECT_EQ(all[0], (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(all[2], (std::vector<std::int64_t>{2, 5}));
  std::set<std::int64_t> distinct;
  for (const auto& s : all) distinct.insert(s.begin(), s.end());
  EXPECT_EQ(distinct.size(), 6u);
}

TEST(DistributedSampler, ShuffleIsReproduciblePerEpochAndDiffersBetweenEpochsAndSeeds) {
  const auto a = shards(50, 2, 3), b = shards(50, 2, 3), c = shards(50, 2, 4);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const auto d = shards(50, 2, 3, dist::DistributedSamplerOptions().seed(99));
  EXPECT_NE(a, d);
  // A shuffled epoch is a permutation: sorted, the union is 0..49.
  std::vector<std::int64_t> u = a[0];
  u.insert(u.end(), a[1].begin(), a[1].end());
  std::sort(u.begin(), u.end());
  for (std::int64_t i = 0; i < 50; ++i) EXPECT_EQ(u[static_cast<std::size_t>(i)], i);
  // The global generator is neither used nor disturbed.
  manual_seed(5);
  const double before = rand({1}).item<double>();
  manual_seed(5);
  shards(50, 2, 3);
  EXPECT_EQ(rand({1}).item<double>(), before);
}

TEST(DistributedSampler, ShardPicksThisRanksItemsOfAnySequence) {
  const std::vector<std::string> files = {"a", "b", "c", "d", "e"};
  dist::DistributedSampler s(5, dist::DistributedSamplerOptions().num_replicas(2).rank(1).shuffle(false));
  EXPECT_EQ(s.shard(files), (std::vector<std::string>{"b", "d", "a"}));
  EXPECT_EQ(s.size(), 3);
  EXPECT_ERROR_CONTAINS(s.shard(std::vector<int>{1, 2}), "DistributedSampler::shard: got 2 items for a sampler over 5");
}

TEST(DistributedSampler, Errors) {
  EXPECT_ERROR_CONTAINS(dist::DistributedSampler(4, dist::DistributedSamplerOptions().num_replicas(2).rank(2)),
                        "DistributedSampler: invalid rank 2, rank should be in the interval [0, 1]");
  EXPECT_ERROR_CONTAINS(dist::DistributedSampler(4, dist::DistributedSamplerOptions().num_replicas(0)),
                        "DistributedSampler: num_replicas must be positive, got 0");
  EXPECT_ERROR_CONTAINS(dist::DistributedSampler(-1), "DistributedSampler: dataset_size must be non-negative, got -1");
}

// --- without a launcher ----------------------------------------------------------------------------

TEST(DistributedRuntime, WithoutALauncherTheWorldIsOneLocalProcess) {
  ASSERT_FALSE(dist::launched_by_mpi()) << "this test runs without mpirun";
  dist::init();
  EXPECT_TRUE(dist::is_initialized());
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_EQ(dist::world_size(), 1);
  EXPECT_EQ(dist::local_rank(), 0);
  auto g = dist::default_group();
  EXPECT_EQ(g->backend(), "local");
  Tensor t = full({3}, 2.0);
  g->all_reduce(t, dist::ReduceOp::Average);
  testing::expect_values(t, {3}, {2, 2, 2});
  testing::expect_values(g->all_gather(t), {1, 3}, {2, 2, 2});
  g->barrier();
  dist::DistributedSampler s(5);
  EXPECT_EQ(s.size(), 5);
}

TEST(DistributedRuntime, DataParallelOnOneProcessIsPlainTraining) {
  // The same two SGD-free gradient computations with and without the wrapper agree bit for bit.
  auto make = [] {
    auto m = std::make_shared<nn::LinearImpl>(nn::LinearOptions(3, 2));
    m->to(kFloat64);
    return m;
  };
  manual_seed(1);
  auto plain = make();
  manual_seed(1);
  auto wrapped_model = make();
  dist::DistributedDataParallel ddp(wrapped_model);
  const Tensor x = testing::uniform_leaf({4, 3}, -1, 1, 9).detach();
  plain->forward(x).pow(2.0).sum().backward();
  ddp.forward(x).pow(2.0).sum().backward();
  for (std::size_t i = 0; i < plain->parameters().size(); ++i) {
    testing::expect_bitwise_equal(wrapped_model->parameters()[i].grad(), plain->parameters()[i].grad(), "grad");
  }
  EXPECT_EQ(ddp.state_dict().front().first, "module.weight");
}

}  // namespace
}  // namespace voxgrad
