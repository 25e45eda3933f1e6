#pragma once
// Internal: oneTBB loops. Kept out of public headers so users never need TBB's headers.

#include <algorithm>
#include <cstdint>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

// ThreadSanitizer builds (the `tsan` preset) run these loops on plain std::threads, see below.
#if defined(__SANITIZE_THREAD__)
#define VOXGRAD_TSAN_LOOPS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VOXGRAD_TSAN_LOOPS 1
#endif
#endif

#ifdef VOXGRAD_TSAN_LOOPS
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "voxgrad/core/threading.h"
#endif

namespace voxgrad::detail {

/// Elements per task for cheap elementwise work.
inline constexpr std::int64_t kElementwiseGrain = 32768;

/// Above zero while this thread runs a piece of work that is itself one of several run in parallel
/// (SerialLoops): the loops below then run on this thread alone, in order.
inline thread_local int serial_loops_depth = 0;

/// While alive, parallel_for and parallel_chunks called on this thread run serially on it: for a task
/// that is one of several independent ones already sharing the threads (e.g. a conv map's samples, one
/// per thread), so that its own loops neither split its data between cores nor wait on joins. Each
/// element's result is the same either way (parallel_for's contract; parallel_chunks' fixed chunks).
class SerialLoops {
 public:
  SerialLoops() { ++serial_loops_depth; }
  ~SerialLoops() { --serial_loops_depth; }
  SerialLoops(const SerialLoops&) = delete;
  SerialLoops& operator=(const SerialLoops&) = delete;
};

#ifdef VOXGRAD_TSAN_LOOPS
/// ThreadSanitizer only sees synchronisation done in instrumented code. Debian's libtbb is not
/// instrumented, so TSan misses the happens-before edges of oneTBB's task spawning and joining and
/// reports races between a loop's caller and its workers (on the caller's data and inside oneTBB's
/// own headers) that cannot happen; suppressions cannot remove those without also hiding real
/// races between two pieces of one loop, since every piece's stack runs through oneTBB. So under
/// TSan the two loops below run on this small pool of persistent std::threads (a mutex and
/// condition variables, which TSan models exactly), as oneTBB would: the caller and up to
/// get_num_threads() - 1 workers, shared by all user threads (so per-thread buffers, e.g. conv's
/// column tiles, are reused across calls as with oneTBB's workers). A loop of P pieces on T threads
/// gives "slot" s the pieces s, s + T, s + 2T, ...: neighbouring pieces run on different threads,
/// with no synchronisation between slots for TSan to mistake for ordering. Slots no idle worker
/// takes are run by the caller; a nested loop is run by the thread that meets it plus any idle
/// worker. The pieces' bodies and parallel_chunks' chunks are those of the oneTBB build; only the
/// scheduler differs. Exceptions reach the caller.
class TsanPool {
 public:
  static TsanPool& get() {
    static TsanPool* pool = new TsanPool();  // never destroyed: its workers wait until exit
    return *pool;
  }

  /// Runs piece(p) for p in [0, pieces) on up to get_num_threads() threads, all done on return.
  void run(std::int64_t pieces, const std::function<void(std::int64_t)>& piece) {
    Job job;
    job.slots = std::min<std::int64_t>(pieces, std::max(1, get_num_threads()));
    job.run_slot = [&](std::int64_t s) {
      for (std::int64_t p = s; p < pieces; p += job.slots) piece(p);
    };
    if (job.slots > 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      while (static_cast<std::int64_t>(workers_) < job.slots - 1) {
        std::thread([this] { work(); }).detach();
        ++workers_;
      }
      jobs_.push_back(&job);
      work_.notify_all();
    }
    execute(job, 0);
    for (;;) {  // slots no worker has taken
      std::int64_t s = 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (job.next_slot >= job.slots) break;
        s = claim(job);
      }
      execute(job, s);
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return job.running == 0; });
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  struct Job {
    std::int64_t slots = 1;
    std::function<void(std::int64_t)> run_slot;
    std::int64_t next_slot = 1;  // slot 0 is the caller's; the rest guarded by mutex_
    std::int64_t running = 0;    // slots taken by workers and not finished
    std::exception_ptr error;
  };

  // With mutex_ held: takes the next slot of `job`, and drops the job from the queue once all are.
  std::int64_t claim(Job& job) {
    const std::int64_t s = job.next_slot++;
    if (job.next_slot == job.slots) jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    return s;
  }

  void execute(Job& job, std::int64_t s) {
    try {
      job.run_slot(s);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!job.error) job.error = std::current_exception();
    }
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return !jobs_.empty(); });
      Job& job = *jobs_.front();
      const std::int64_t s = claim(job);
      ++job.running;
      lock.unlock();
      execute(job, s);
      lock.lock();
      if (--job.running == 0) done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::vector<Job*> jobs_;  // jobs with slots not yet taken, oldest first
  std::size_t workers_ = 0;
};
#endif

/// Runs f(chunk_begin, chunk_end) over [begin, end) in chunks of at least `grain`, in parallel.
/// Chunk boundaries may differ between runs: use only where each element's result is independent.
template <typename F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, F&& f) {
  if (end <= begin) return;
  if (end - begin <= grain || serial_loops_depth > 0) {
    f(begin, end);
    return;
  }
#ifdef VOXGRAD_TSAN_LOOPS
  // As oneTBB's auto partitioner: pieces of about `grain` or more, a few per thread.
  const std::int64_t n = end - begin, g = std::max<std::int64_t>(grain, 1);
  const std::int64_t pieces = std::min<std::int64_t>((n + g - 1) / g, 8 * std::int64_t{std::max(1, get_num_threads())});
  TsanPool::get().run(pieces, [&](std::int64_t p) { f(begin + n * p / pieces, begin + n * (p + 1) / pieces); });
#else
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(begin, end, std::max<std::int64_t>(grain, 1)),
                    [&](const tbb::blocked_range<std::int64_t>& r) { f(r.begin(), r.end()); });
#endif
}

/// Runs f(chunk_index, chunk_begin, chunk_end) on fixed chunks of `chunk` elements, in parallel.
/// The chunking does not depend on the thread count, so per-chunk partial results combined in chunk
/// order give bit-identical results for any number of threads.
template <typename F>
void parallel_chunks(std::int64_t n, std::int64_t chunk, F&& f) {
  const std::int64_t chunks = n <= 0 ? 0 : (n + chunk - 1) / chunk;
  auto body = [&](std::int64_t c) { f(c, c * chunk, std::min(n, (c + 1) * chunk)); };
  if (chunks <= 1 || serial_loops_depth > 0) {
    for (std::int64_t c = 0; c < chunks; ++c) body(c);
    return;
  }
#ifdef VOXGRAD_TSAN_LOOPS
  TsanPool::get().run(chunks, body);
#else
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, chunks, 1), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t c = r.begin(); c < r.end(); ++c) body(c);
  });
#endif
}

}  // namespace voxgrad::detail
