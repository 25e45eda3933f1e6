#include "voxgrad/core/storage.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "voxgrad/core/error.h"

namespace voxgrad {

namespace {

constexpr std::size_t kAlignment = 64;

std::uint64_t physical_memory_bytes() {
  static const std::uint64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                 : UINT64_MAX;
  }();
  return bytes;
}

}  // namespace

Storage::Storage(std::size_t nbytes, bool zero) : nbytes_(nbytes) {
  if (nbytes == 0) return;
  // Refuse what could never fit instead of letting overcommit hand out memory that a later write
  // turns into an out-of-memory kill.
  VOXGRAD_CHECK(nbytes <= physical_memory_bytes(),
                "Storage: cannot allocate {:.1f} GiB: this machine has {:.1f} GiB of memory",
                static_cast<double>(nbytes) / (1 << 30),
                static_cast<double>(physical_memory_bytes()) / (1 << 30));
  // calloc gives zeroed pages lazily (no writes for a fresh mapping); either way we align by hand
  // so both paths free the same way.
  const std::size_t total = nbytes + kAlignment;
  raw_ = zero ? std::calloc(1, total) : std::malloc(total);
  VOXGRAD_CHECK(raw_ != nullptr, "Storage: cannot allocate {} bytes", nbytes);
  const auto addr = reinterpret_cast<std::uintptr_t>(raw_);
  data_ = reinterpret_cast<void*>((addr + kAlignment - 1) / kAlignment * kAlignment);
}

Storage::~Storage() { std::free(raw_); }

}  // namespace voxgrad
