// The kernel thread count, and results that do not depend on it.

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <voxgrad/voxgrad.h>
#include "test_util.h"
#include "voxgrad/core/detail/parallel.h"

namespace vg = voxgrad;
using vg::Tensor;
using vg::testing::bit_identical;

namespace {

/// Restores two worker threads when a test ends, whatever it set.
class Threading : public ::testing::Test {
 protected:
  void TearDown() override { vg::set_num_threads(2); }
};

}  // namespace

TEST_F(Threading, SetNumThreadsIsReportedByGetNumThreads) {
  vg::set_num_threads(1);
  EXPECT_EQ(vg::get_num_threads(), 1);
  vg::set_num_threads(2);
  EXPECT_EQ(vg::get_num_threads(), 2);
  vg::set_num_threads(1);
  vg::set_num_threads(1);  // setting the same value twice is fine
  EXPECT_EQ(vg::get_num_threads(), 1);
}

TEST_F(Threading, NonPositiveThreadCountsAreAnError) {
  vg::set_num_threads(2);
  EXPECT_ERROR_CONTAINS(vg::set_num_threads(0), "set_num_threads: expected a positive number of threads, but got 0");
  EXPECT_ERROR_CONTAINS(vg::set_num_threads(-3), "but got -3");
  // A rejected value leaves the setting alone.
  EXPECT_EQ(vg::get_num_threads(), 2);
}

TEST_F(Threading, LoopsUnderSerialLoopsRunWholeOnTheCallingThread) {
  namespace d = vg::detail;
  vg::set_num_threads(2);
  const std::thread::id me = std::this_thread::get_id();
  std::vector<std::pair<std::int64_t, std::int64_t>> pieces;
  std::vector<std::int64_t> chunks;
  bool elsewhere = false;
  {
    const d::SerialLoops serial;
    const d::SerialLoops nested;  // they nest
    d::parallel_for(0, 1000000, 1, [&](std::int64_t b, std::int64_t e) {
      elsewhere = elsewhere || std::this_thread::get_id() != me;
      pieces.emplace_back(b, e);
    });
    d::parallel_chunks(10, 3, [&](std::int64_t c, std::int64_t b, std::int64_t e) {
      elsewhere = elsewhere || std::this_thread::get_id() != me;
      chunks.push_back(c);
      EXPECT_EQ(b, 3 * c);
      EXPECT_EQ(e, std::min<std::int64_t>(10, 3 * c + 3));
    });
  }
  EXPECT_FALSE(elsewhere);
  EXPECT_EQ(pieces, (std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 1000000}}));
  EXPECT_EQ(chunks, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(d::serial_loops_depth, 0);
  // An exception leaves the thread's loops parallel again.
  EXPECT_THROW(
      {
        const d::SerialLoops serial;
        throw std::runtime_error("inside");
      },
      std::runtime_error);
  EXPECT_EQ(d::serial_loops_depth, 0);
}

TEST_F(Threading, ElementwiseResultsAreIdenticalForOneAndTwoThreads) {
  const std::int64_t n = 1500000;  // well above the parallel grain
  vg::manual_seed(11);
  const Tensor a = vg::randn({n});
  const Tensor b = vg::rand({n});

  vg::set_num_threads(1);
  const Tensor one = (a * b + a.exp()).tanh() - b.sqrt();
  Tensor inplace_one = a.clone();
  inplace_one.add_(b, 0.5);
  inplace_one.t().mul_(3.0);

  vg::set_num_threads(2);
  const Tensor two = (a * b + a.exp()).tanh() - b.sqrt();
  Tensor inplace_two = a.clone();
  inplace_two.add_(b, 0.5);
  inplace_two.t().mul_(3.0);

  EXPECT_TRUE(bit_identical(one, two));
  EXPECT_TRUE(bit_identical(inplace_one, inplace_two));
  // And the values are what a plain loop gives.
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  const float* p2 = inplace_two.data_ptr<float>();
  for (std::int64_t i = 0; i < n; i += 4099) {
    EXPECT_EQ(p2[i], (pa[i] + 0.5f * pb[i]) * 3.0f) << i;
  }
}

TEST_F(Threading, StridedCopyIsIdenticalForOneAndTwoThreads) {
  const Tensor m = vg::arange(1200.0 * 1000.0).view({1200, 1000});
  vg::set_num_threads(1);
  const Tensor one = m.t().contiguous();
  vg::set_num_threads(2);
  const Tensor two = m.t().contiguous();
  EXPECT_TRUE(bit_identical(one, two));
  EXPECT_EQ(two.data_ptr<float>()[1200 * 7 + 5], 5.0f * 1000.0f + 7.0f);
}

TEST_F(Threading, ReductionsAreBitIdenticalForOneAndTwoThreads) {
  vg::manual_seed(12);
  const Tensor a = vg::randn({2000, 1000});
  vg::set_num_threads(1);
  const Tensor sum1 = a.sum(), rows1 = a.sum({1}), mean1 = a.mean({0});
  vg::set_num_threads(2);
  const Tensor sum2 = a.sum(), rows2 = a.sum({1}), mean2 = a.mean({0});
  EXPECT_TRUE(bit_identical(sum1, sum2));
  EXPECT_TRUE(bit_identical(rows1, rows2));
  EXPECT_TRUE(bit_identical(mean1, mean2));
  EXPECT_NEAR(sum2.item<double>(), 0.0, 5.0 * std::sqrt(2.0e6));
}
