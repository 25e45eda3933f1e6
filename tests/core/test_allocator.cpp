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

namespace {

/// Bytes of n float32 (a buffer's capacity is that plus its alignment).
std::size_t bytes(std::int64_t n) { return static_cast<std::size_t>(n) * 4; }

/// EXPECTs the cache to hold the buffers of `n` float32 in all (they each carry at most 128 bytes of
/// alignment).
void expect_cached(std::int64_t n) {
  EXPECT_GE(vg::cached_bytes(), bytes(n));
  EXPECT_LT(vg::cached_bytes(), bytes(n) + 1024);
}

}  // namespace

TEST_F(Allocator, MuchSmallerRequestDoesNotTakeALargeBlock) {
  vg::set_caching_allocator_enabled(true);
  // In use at most: 12 kLarge, both blocks now cached.
  { Tensor a = vg::empty({8 * kLarge}), other = vg::empty({4 * kLarge}); }
  // With 2 kLarge more, 14 kLarge would be held: room has to be made, and the smallest cached block
  // (`other`, twice the request) serves rather than go back to the system. `a`'s is not touched.
  Tensor b = vg::empty({2 * kLarge});
  expect_cached(8 * kLarge);
}

TEST_F(Allocator, ABlockServesASmallerRequestRatherThanBeFreedToMakeRoom) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({8 * kLarge}), c = vg::empty({8 * kLarge}); }  // the peak in use: 16 kLarge
  // 12 kLarge: no cached block is large enough, so both go back to the system to make room.
  {
    Tensor e = vg::empty({12 * kLarge});
    EXPECT_EQ(vg::cached_bytes(), 0u);
  }
  expect_cached(12 * kLarge);
  // 3 kLarge fits under the peak beside the cached 12: a new buffer, and the cached block stays.
  {
    Tensor f = vg::empty({3 * kLarge});
    expect_cached(12 * kLarge);
  }
  expect_cached(15 * kLarge);
  // 2 kLarge is below the 10/8 fit of both blocks, and with a new buffer 17 kLarge would be held. So
  // the 3 kLarge block serves (and comes back whole) rather than the 12 kLarge one being freed.
  {
    Tensor g = vg::empty({2 * kLarge});
    expect_cached(12 * kLarge);
  }
  expect_cached(15 * kLarge);
}

TEST_F(Allocator, AMuchLargerBlockIsFreedRatherThanTakenByASmallRequest) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({16 * kLarge}); }  // the peak in use and the cache: 16 kLarge
  // kLarge / 8 is a 128th of the block (more than 64 times smaller): rather than tie it up, the block
  // goes back to the system, and kLarge / 8 is new.
  {
    Tensor b = vg::empty({kLarge / 8});
    EXPECT_EQ(vg::cached_bytes(), 0u);
  }
  expect_cached(kLarge / 8);  // b's own buffer, back in the cache
}

TEST_F(Allocator, ABlockUpTo64TimesTheRequestServesRatherThanBeFreed) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({16 * kLarge}); }  // the peak in use and the cache: 16 kLarge
  // kLarge / 4 is a 64th of the block: a new buffer would need the block freed to stay under the
  // peak, so the block serves it (no page to fault in) and comes back whole.
  {
    Tensor b = vg::empty({kLarge / 4});
    EXPECT_EQ(vg::cached_bytes(), 0u);
  }
  expect_cached(16 * kLarge);
}

TEST_F(Allocator, CacheNeverHoldsMoreThanThePeakInUse) {
  vg::set_caching_allocator_enabled(true);
  { Tensor a = vg::empty({8 * kLarge}); }  // the most ever in use: 8 kLarge, now cached
  expect_cached(8 * kLarge);
  // 12 kLarge: the cached block is too small, and with it 20 kLarge would be held: the cached block
  // goes back to the system first.
  Tensor b = vg::empty({12 * kLarge});
  EXPECT_EQ(vg::cached_bytes(), 0u);
  // Below the peak, freed buffers stay cached.
  { Tensor c = vg::empty({kLarge}); }
  expect_cached(kLarge);
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
