#pragma once
// Tensor memory: a caching allocator in front of malloc/calloc.
//
// Large buffers that a training step frees are kept and handed out again to the next request of
// (nearly) the same size, so repeated steps run on memory that is already mapped: no page faults
// and no kernel page clearing on every call (fresh mmaps cost as much as the arithmetic in small
// convolutions on this kind of VM). PyTorch's CPU allocator has no such cache.

#include <cstddef>
#include <cstdint>

namespace voxgrad {

/// Bytes held in the cache: freed by tensors, kept for reuse, not yet returned to the system.
std::size_t cached_bytes();

/// Returns every cached buffer and every kernel workspace (e.g. conv3d's per-thread column tiles)
/// to the system, as torch.cuda.empty_cache() does for CUDA. Call it while no op is running.
void empty_cache();

/// Turns caching on or off for this process (on by default; off in sanitizer builds, where reuse
/// would hide use-after-free from AddressSanitizer, and when the environment variable
/// VOXGRAD_NO_CACHING_ALLOCATOR is set). Turning it off empties the cache.
void set_caching_allocator_enabled(bool enabled);

/// Whether freed buffers are cached.
bool caching_allocator_enabled();

}  // namespace voxgrad

namespace voxgrad::detail {

/// A buffer of at least `nbytes` (zeroed if `zero`), 64-byte aligned; `raw` receives what must be
/// passed back to deallocate(). Throws voxgrad::Error beyond physical memory or on failure.
void* allocate(std::size_t nbytes, bool zero, void*& raw, std::size_t& capacity);

/// Gives back a buffer from allocate(): cached if it is large and the cache has room, else freed.
void deallocate(void* raw, std::size_t capacity) noexcept;

/// Throws voxgrad::Error naming `op` unless `count` elements of `element_size` bytes could fit in
/// this machine's memory (for sizes an op must check before building anything of that size).
void check_allocation(const char* op, std::int64_t count, std::size_t element_size);

/// Registers a function that empty_cache() calls to free a kernel's retained workspaces.
void register_workspace_release(void (*release)());

}  // namespace voxgrad::detail
