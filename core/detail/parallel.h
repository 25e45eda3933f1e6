#pragma once
// Internal: oneTBB loops. Kept out of public headers so users never need TBB's headers.

#include <algorithm>
#include <cstdint>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace voxgrad::detail {

/// Elements per task for cheap elementwise work.
inline constexpr std::int64_t kElementwiseGrain = 32768;

/// Runs f(chunk_begin, chunk_end) over [begin, end) in chunks of at least `grain`, in parallel.
/// Chunk boundaries may differ between runs: use only where each element's result is independent.
template <typename F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, F&& f) {
  if (end <= begin) return;
  if (end - begin <= grain) {
    f(begin, end);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(begin, end, std::max<std::int64_t>(grain, 1)),
                    [&](const tbb::blocked_range<std::int64_t>& r) { f(r.begin(), r.end()); });
}

/// Runs f(chunk_index, chunk_begin, chunk_end) on fixed chunks of `chunk` elements, in parallel.
/// The chunking does not depend on the thread count, so per-chunk partial results combined in chunk
/// order give bit-identical results for any number of threads.
template <typename F>
void parallel_chunks(std::int64_t n, std::int64_t chunk, F&& f) {
  const std::int64_t chunks = n <= 0 ? 0 : (n + chunk - 1) / chunk;
  auto body = [&](std::int64_t c) { f(c, c * chunk, std::min(n, (c + 1) * chunk)); };
  if (chunks <= 1) {
    for (std::int64_t c = 0; c < chunks; ++c) body(c);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, chunks, 1),
                    [&](const tbb::blocked_range<std::int64_t>& r) {
                      for (std::int64_t c = r.begin(); c < r.end(); ++c) body(c);
                    });
}

}  // namespace voxgrad::detail
