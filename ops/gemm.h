#pragma once
// Transitional, not installed (see the install rule in CMakeLists.txt): the GEMM moved to
// ops/detail/gemm.h, namespace voxgrad::detail. ops/conv.cpp still includes this path and calls
// gemm<T>/gemm_parallel<T> unqualified; delete this file once it includes ops/detail/gemm.h and
// calls detail::gemm<T>/detail::gemm_parallel<T>.

#include "voxgrad/ops/detail/gemm.h"

namespace voxgrad {

using detail::gemm;
using detail::gemm_parallel;

}  // namespace voxgrad
