#pragma once
// Tensor memory: a caching allocator over mappings of its own for large buffers (256 KiB or more),
// malloc/calloc for smaller ones.
//
// Large buffers that a training step frees are kept and handed out again to the next request of
// (nearly) the same size, so repeated steps run on memory that is already mapped: no page faults
// and no kernel page clearing on every call (fresh mmaps cost as much as the arithmetic in small
// convolutions on this kind of VM). PyTorch's CPU allocator has no such cache.
//
// This header is the user's control over the cache; the allocation calls that storage and kernels
// make are internal (core/detail/allocator.h, not installed).

#include <cstddef>

namespace voxgrad {

/// Bytes of tensor storage alive now (not counting the cache or kernel workspaces), as
/// torch.cuda.memory_allocated.
std::size_t allocated_bytes();
/// The largest allocated_bytes() since the start or the last reset_peak_allocated_bytes(), as
/// torch.cuda.max_memory_allocated: what a training step needs at its peak.
std::size_t max_allocated_bytes();
/// Restarts max_allocated_bytes() from the current allocated_bytes().
void reset_peak_allocated_bytes();

/// Bytes held in the cache: freed by tensors, kept for reuse, not yet returned to the system. The
/// cache never makes the process hold more than the most its tensors and workspaces ever used at
/// once. A request gets a cached buffer of at most 10/8 its size; when none fits and a new buffer
/// would not fit within that mark beside the cache, the smallest cached buffer of up to 64 times its
/// size serves it instead (the memory held stays the same, and no new pages are faulted in), and
/// failing that, cached buffers go back to the system, oldest first, until the buffers in use, the
/// cache and the new buffer fit within the mark.
std::size_t cached_bytes();

/// Returns every cached buffer and every kernel workspace (e.g. conv3d's per-thread column tiles)
/// to the system, as torch.cuda.empty_cache() does for CUDA, and restarts the mark above from what
/// is in use now. Call it while no op is running.
void empty_cache();

/// Turns caching on or off for this process (on by default; off in sanitizer builds, where reuse
/// would hide use-after-free from AddressSanitizer, and when the environment variable
/// VOXGRAD_NO_CACHING_ALLOCATOR is set). Turning it off empties the cache.
void set_caching_allocator_enabled(bool enabled);

/// Whether freed buffers are cached.
bool caching_allocator_enabled();

}  // namespace voxgrad
