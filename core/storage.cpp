#include "voxgrad/core/storage.h"

#include "voxgrad/core/detail/allocator.h"

namespace voxgrad {

Storage::Storage(std::size_t nbytes, bool zero) : nbytes_(nbytes) {
  if (nbytes == 0) return;
  data_ = detail::allocate(nbytes, zero, raw_, capacity_);
}

Storage::~Storage() { detail::deallocate(raw_, capacity_); }

}  // namespace voxgrad
