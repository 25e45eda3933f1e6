#pragma once
// The caching allocator's internal interface, for tensor storage and kernel workspaces (not installed;
// users see core/allocator.h).

#include <cstddef>
#include <cstdint>

#include "voxgrad/core/allocator.h"

namespace voxgrad::detail {

/// A buffer of at least `nbytes` (zeroed if `zero`), 64-byte aligned; `raw` receives what must be
/// passed back to deallocate(). Throws voxgrad::Error beyond physical memory or on failure.
void* allocate(std::size_t nbytes, bool zero, void*& raw, std::size_t& capacity);

/// Gives back a buffer from allocate(): cached if it is large and the cache has room, else freed.
void deallocate(void* raw, std::size_t capacity) noexcept;

// Counts `bytes` of tensor storage as allocated or freed (allocated_bytes, max_allocated_bytes).
void track_storage_bytes(std::size_t bytes, bool allocated) noexcept;

/// Throws voxgrad::Error naming `op` unless `count` elements of `element_size` bytes could fit in
/// this machine's memory (for sizes an op must check before building anything of that size).
void check_allocation(const char* op, std::int64_t count, std::size_t element_size);

/// Registers a function that empty_cache() calls to free a kernel's retained workspaces.
void register_workspace_release(void (*release)());

}  // namespace voxgrad::detail
