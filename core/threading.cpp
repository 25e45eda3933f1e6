#include "voxgrad/core/threading.h"

#include <memory>
#include <mutex>
#include <thread>

#include <tbb/global_control.h>

#include "voxgrad/core/error.h"

namespace voxgrad {

namespace {
std::mutex control_mutex;
std::unique_ptr<tbb::global_control> control;
}  // namespace

void set_num_threads(int n) {
  VOXGRAD_CHECK(n >= 1, "set_num_threads: expected a positive number of threads, but got {}", n);
  std::lock_guard<std::mutex> lock(control_mutex);
  control.reset();  // only one control of a kind may be set at a time
  control =
      std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(n));
}

int get_num_threads() {
  return static_cast<int>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

}  // namespace voxgrad
