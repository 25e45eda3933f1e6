#include "voxgrad/core/allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "voxgrad/core/detail/allocator.h"
#include "voxgrad/core/error.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VOXGRAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define VOXGRAD_SANITIZED 1
#endif
#endif

namespace voxgrad {

namespace {

constexpr std::size_t kAlignment = 64;
// Smaller buffers come from malloc's heap anyway (already mapped); only large ones fault.
constexpr std::size_t kMinCached = std::size_t{256} << 10;

// A cached buffer serves a request at most this much smaller (in 1/8ths), so a big block is not
// tied up by a small tensor.
constexpr std::size_t kFitEighths = 10;
// ... unless cached buffers would have to be freed to make room for a new one: then one up to this
// many times the request serves.
constexpr std::size_t kReuseTimes = 64;

// Buffers the cache may hold (kMinCached bytes or more) are mappings of their own (mmap), handed
// back with munmap. glibc's malloc maps requests above a threshold that it raises (up to 32 MiB)
// each time a mapped block is freed, and serves smaller ones from its heap, where the holes freed
// tensors leave stay resident; with it, what a training step holds would depend on what the process
// freed before (bench/README: the U-Net step's peak moved by 20%). The cache reuses the steady
// loop's buffers, so mapping costs page faults only where it evicts, and every large buffer when it
// is off. Sanitized builds keep malloc, whose blocks the sanitizers watch. A failed munmap (only past
// vm.max_map_count) leaves the mapping in place.
#ifdef VOXGRAD_SANITIZED
constexpr bool kMapsLargeBuffers = false;
#else
constexpr bool kMapsLargeBuffers = true;
#endif

bool is_mapped(std::size_t capacity) { return kMapsLargeBuffers && capacity >= kMinCached; }

// A new buffer of `total` bytes, zeroed when asked (a fresh mapping is), or nullptr.
void* new_buffer(std::size_t total, bool zero) {
  if (is_mapped(total)) {
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  return zero ? std::calloc(1, total) : std::malloc(total);
}

void free_buffer(void* raw, std::size_t capacity) noexcept {
  if (is_mapped(capacity)) {
    munmap(raw, capacity);
  } else {
    std::free(raw);
  }
}

std::uint64_t physical_memory_bytes() {
  static const std::uint64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) : UINT64_MAX;
  }();
  return bytes;
}

// Refuses what could never fit instead of letting overcommit hand out memory that a later write
// turns into an out-of-memory kill.
void check_bytes(const char* op, double bytes) {
  VOXGRAD_CHECK(bytes <= static_cast<double>(physical_memory_bytes()),
                "{}: cannot allocate {:.1f} GiB: this machine has {:.1f} GiB of memory", op, bytes / (1 << 30),
                static_cast<double>(physical_memory_bytes()) / (1 << 30));
}

class Cache {
 public:
  Cache() {
#ifdef VOXGRAD_SANITIZED
    enabled_ = false;
#else
    enabled_ = std::getenv("VOXGRAD_NO_CACHING_ALLOCATOR") == nullptr;
#endif
    // At most an eighth of the machine's memory sits idle in the cache.
    limit_ = static_cast<std::size_t>(std::min<std::uint64_t>(physical_memory_bytes() / 8, std::uint64_t{4} << 30));
  }

  // A cached raw buffer of capacity in [nbytes, nbytes·10/8] (or more, see below), or nullptr. On a miss the caller
  // allocates `nbytes` anew; cached buffers are first handed back to the system, oldest first, until
  // that allocation, the buffers in use and the cache together need no more than the most the
  // buffers in use ever needed. So the cache never makes a steady loop (a training step) hold more
  // memory than its own peak, while a loop that repeats its sizes still finds them all cached.
  void* take(std::size_t nbytes, std::size_t& capacity) {
    if (nbytes < kMinCached) return nullptr;
    std::vector<std::pair<void*, std::size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::size_t bound = std::max(high_, live_ + nbytes);
      const bool must_evict = live_ + nbytes + bytes_ > bound;
      // The smallest cached buffer that is large enough serves if it is at most 10/8 of the request;
      // or, when cached buffers would otherwise have to go to make room for a new one, at most
      // kReuseTimes the request. The memory in use plus cached then stays the same, where a new
      // buffer would first have every page faulted in and cleared by the kernel. In the U-Net
      // training step of bench/ (sizes that do not come back in the same order) 8× left 58 000 page
      // faults a step (4% of its time), 16× 40 000, 32× about 1 000, and 64× none, at a peak 0.7%
      // higher than 8×'s (374 against 371 MiB). The bound keeps a small request from tying up a
      // block of any size.
      const auto it = enabled_ ? free_.lower_bound(nbytes) : free_.end();
      if (it != free_.end() &&
          (it->first <= nbytes / 8 * kFitEighths + kAlignment || (must_evict && it->first / kReuseTimes <= nbytes))) {
        capacity = it->first;
        void* raw = it->second.raw;
        by_age_.erase(it->second.seq);
        free_.erase(it);
        bytes_ -= capacity;
        live_ += capacity;
        return raw;
      }
      while (!by_age_.empty() && live_ + nbytes + bytes_ > bound) {
        const auto oldest = by_age_.begin()->second;
        evicted.emplace_back(oldest->second.raw, oldest->first);
        bytes_ -= oldest->first;
        by_age_.erase(by_age_.begin());
        free_.erase(oldest);
      }
    }
    for (const auto& [raw, size] : evicted) free_buffer(raw, size);
    return nullptr;
  }

  // Counts a buffer of `capacity` bytes allocated after take() missed.
  void note_allocated(std::size_t capacity) {
    if (capacity < kMinCached) return;
    std::lock_guard<std::mutex> lock(mutex_);
    live_ += capacity;
    high_ = std::max(high_, live_);
  }

  // True if the cache kept the buffer.
  bool put(void* raw, std::size_t capacity) {
    if (capacity < kMinCached) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    live_ -= capacity;
    if (!enabled_ || bytes_ + capacity > limit_) return false;
    const auto it = free_.emplace(capacity, Entry{raw, ++seq_});
    by_age_.emplace(seq_, it);
    bytes_ += capacity;
    return true;
  }

  void clear() {
    std::multimap<std::size_t, Entry> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      drop.swap(free_);
      by_age_.clear();
      bytes_ = 0;
      high_ = live_;  // the bound starts over from what is in use now
    }
    for (auto& [size, entry] : drop) free_buffer(entry.raw, size);
  }

  void add_release(void (*release)()) {
    std::lock_guard<std::mutex> lock(mutex_);
    releases_.push_back(release);
  }

  void release_workspaces() {
    std::vector<void (*)()> fns;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fns = releases_;
    }
    for (auto fn : fns) fn();
  }

  std::size_t bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bytes_;
  }

  void set_enabled(bool on) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      enabled_ = on;
    }
    if (!on) clear();
  }

  bool enabled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return enabled_;
  }

 private:
  struct Entry {
    void* raw;
    std::uint64_t seq;  // order in which buffers were cached
  };
  std::mutex mutex_;
  std::multimap<std::size_t, Entry> free_;                                       // capacity -> raw buffer
  std::map<std::uint64_t, std::multimap<std::size_t, Entry>::iterator> by_age_;  // seq -> entry of free_
  std::size_t bytes_ = 0, limit_ = 0;
  std::size_t live_ = 0, high_ = 0;  // bytes of cacheable buffers in use, now and at most
  std::uint64_t seq_ = 0;
  bool enabled_ = true;
  std::vector<void (*)()> releases_;
};

// Never destroyed: tensors in other static objects may be freed after main() returns.
// Live storage bytes (as requested, whatever block served them) and their high-water mark.
std::atomic<std::size_t> live_bytes{0}, peak_bytes{0};

Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

std::size_t cached_bytes() { return cache().bytes(); }
std::size_t allocated_bytes() { return live_bytes.load(std::memory_order_relaxed); }
std::size_t max_allocated_bytes() { return peak_bytes.load(std::memory_order_relaxed); }
void reset_peak_allocated_bytes() {
  peak_bytes.store(live_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
}
void empty_cache() {
  cache().release_workspaces();
  cache().clear();
}
void set_caching_allocator_enabled(bool enabled) { cache().set_enabled(enabled); }
bool caching_allocator_enabled() { return cache().enabled(); }

namespace detail {

void* allocate(std::size_t nbytes, bool zero, void*& raw, std::size_t& capacity) {
  check_bytes("Storage", static_cast<double>(nbytes));
  const std::size_t total = nbytes + kAlignment;
  raw = cache().take(total, capacity);
  const bool reused = raw != nullptr;
  if (!reused) {
    // Zeroed pages come lazily (no writes for a fresh mapping).
    raw = new_buffer(total, zero);
    if (raw == nullptr) {
      cache().clear();  // the cache may be what is in the way
      raw = new_buffer(total, zero);
    }
    VOXGRAD_CHECK(raw != nullptr, "Storage: cannot allocate {} bytes", nbytes);
    capacity = total;
    cache().note_allocated(capacity);
  }
  const auto addr = reinterpret_cast<std::uintptr_t>(raw);
  void* data = reinterpret_cast<void*>((addr + kAlignment - 1) / kAlignment * kAlignment);
  if (zero && reused) std::memset(data, 0, nbytes);
  return data;
}

void check_allocation(const char* op, std::int64_t count, std::size_t element_size) {
  VOXGRAD_CHECK(count >= 0, "{}: cannot allocate a negative number of elements ({})", op, count);
  check_bytes(op, static_cast<double>(count) * static_cast<double>(element_size));
}

void track_storage_bytes(std::size_t bytes, bool allocated) noexcept {
  if (!allocated) {
    live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    return;
  }
  const std::size_t now = live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::size_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void register_workspace_release(void (*release)()) { cache().add_release(release); }

void deallocate(void* raw, std::size_t capacity) noexcept {
  if (raw == nullptr) return;
  if (!cache().put(raw, capacity)) free_buffer(raw, capacity);
}

}  // namespace detail

}  // namespace voxgrad
