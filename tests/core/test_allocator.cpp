// The caching allocator behind tensor storage (core/allocator.h).

#include <cstdint>

#include <voxgrad/core/allocator.h>
#include <voxgrad/voxgrad.h>
#include "test_util.h"

namespace vg = voxgrad;
using vg::Tensor;

namespace {

constexpr std::int64_t kLarge = 1 << 20;  // 4 MiB of float32: above the caching threshold

/// Starts every test from an empty cache and restores the default state afterwards.
class Allocator : public ::testing::Test {
 protected:
  void SetUp() override {
    was_enabled_ = vg::caching_allocator_enabled();
    vg::empty_cache();
  }
  void TearDown() override {
    vg::set_caching_allocator_enabled(was_enabled_);
    vg::empty_cache();
  }
  bool was_enabled_ = true;
};

}  // namespace

TEST_F(Allocator, FreedLargeBufferIsReusedWhenCaching) {
  vg::set_caching_allocator_enabled(true);
  const void* first = nullptr;
  {
    Tensor a = vg::empty({kLarge});
    first = a.raw_data_ptr();
  }
  EXPECT_GE(vg::cached_bytes(), static_cast<std::size_t>(kLarge) * 4);
  Tensor b = vg::empty({kLarge});
  EXPECT_EQ(b.raw_data_ptr(), first);
  EXPECT_EQ(vg::cached_bytes(), 0u);
}

TEST_F(Allocator, ReusedBufferIsZeroedForZeros) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::full({kLarge}, 7.0); }
  ASSERT_GT(vg::cached_bytes(), 0u);
  const Tensor z = vg::zeros({kLarge});
  EXPECT_EQ(vg::cached_bytes(), 0u);  // it did come from the cache
  EXPECT_EQ(z.abs().sum().item<double>(), 0.0);
}

TEST_F(Allocator, MuchSmallerRequestDoesNotTakeALargeBlock) {
  vg::set_caching_allocator_enabled(true);
  // In use at most: 12 kLarge. `other` is freed first, so it is the older cached block.
  { Tensor a = vg::empty({8 * kLarge}), other = vg::empty({4 * kLarge}); }
  // Half of `other`, a quarter of `a`: neither is taken, it is allocated afresh, and `other` goes back
  // to the system so that no more than 12 kLarge are held.
  Tensor b = vg::empty({2 * kLarge});
  const auto bytes = [](std::int64_t n) { return static_cast<std::size_t>(n) * 4; };
  EXPECT_GE(vg::cached_bytes(), bytes(8 * kLarge));  // `a`'s block, untouched
  EXPECT_LT(vg::cached_bytes(), bytes(9 * kLarge));
}

TEST_F(Allocator, CacheNeverHoldsMoreThanThePeakInUse) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({8 * kLarge}); }  // the most ever in use: 8 kLarge, now cached
  ASSERT_GE(vg::cached_bytes(), static_cast<std::size_t>(8 * kLarge) * 4);
  // 6 kLarge does not fit the cached block tightly enough, and with it 14 kLarge would be held:
  // the cached block goes back to the system first.
  Tensor b = vg::empty({6 * kLarge});
  EXPECT_EQ(vg::cached_bytes(), 0u);
  // Below the peak, freed buffers stay cached.
  { Tensor c = vg::empty({kLarge}); }
  EXPECT_GE(vg::cached_bytes(), static_cast<std::size_t>(kLarge) * 4);
}

TEST_F(Allocator, SmallBuffersAreNotCached) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({1024}); }
  EXPECT_EQ(vg::cached_bytes(), 0u);
}

TEST_F(Allocator, EmptyCacheReturnsEverything) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({kLarge}), b = vg::empty({2 * kLarge}); }
  EXPECT_GT(vg::cached_bytes(), 0u);
  vg::empty_cache();
  EXPECT_EQ(vg::cached_bytes(), 0u);
}

TEST_F(Allocator, DisabledCachingFreesImmediately) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({kLarge}); }
  vg::set_caching_allocator_enabled(false);  // also empties the cache
  EXPECT_FALSE(vg::caching_allocator_enabled());
  EXPECT_EQ(vg::cached_bytes(), 0u);
  { Tensor a = vg::empty({kLarge}); }
  EXPECT_EQ(vg::cached_bytes(), 0u);
}

TEST_F(Allocator, ConvResultsDoNotDependOnCaching) {
  vg::manual_seed(3);
  const Tensor x = vg::randn({2, 8, 20, 20, 20}), w = vg::randn({16, 8, 3, 3, 3});
  vg::set_caching_allocator_enabled(false);
  const Tensor fresh = vg::conv3d(x, w, {}, 1, 1);
  vg::set_caching_allocator_enabled(true);
  for (int i = 0; i < 3; ++i) {  // later calls run on reused (dirty) buffers
    const Tensor again = vg::conv3d(x, w, {}, 1, 1);
    vg::testing::expect_bitwise_equal(again, fresh, "conv3d on reused buffers");
  }
}
