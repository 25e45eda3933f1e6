#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace voxgrad {

/// A 64-byte aligned byte buffer (zeroed on request) shared by a tensor and its views, from the
/// caching allocator (core/allocator.h).
///
/// The version counter lives here so that every view of the same memory sees the same count: in-place
/// ops bump it and autograd compares it with the value recorded when a tensor was saved.
class Storage {
 public:
  /// Allocates `nbytes` (zeroed if `zero`); throws voxgrad::Error beyond physical memory or on failure.
  explicit Storage(std::size_t nbytes, bool zero = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// Start of the buffer (64-byte aligned).
  void* data() const { return data_; }
  /// Size of the buffer in bytes.
  std::size_t nbytes() const { return nbytes_; }
  /// Current version (number of in-place writes through any view).
  std::uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  /// Records an in-place write.
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* raw_ = nullptr;   // what the allocator returned (core/detail/allocator.h)
  void* data_ = nullptr;  // raw_ rounded up to 64 bytes
  std::size_t nbytes_ = 0;
  std::size_t capacity_ = 0;  // size of the block at raw_
  std::atomic<std::uint32_t> version_{0};
};

}  // namespace voxgrad
