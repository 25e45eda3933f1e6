#pragma once

namespace voxgrad {

/// Limits the worker threads voxgrad's kernels use (oneTBB global_control); n >= 1.
void set_num_threads(int n);
/// The number of threads kernels may use.
int get_num_threads();

}  // namespace voxgrad
