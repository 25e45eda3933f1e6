#include "voxgrad/core/storage.h"

#include "voxgrad/core/detail/allocator.h"

namespace voxgrad {

Storage::Storage(std::size_t nbytes, bool zero) : nbytes_(nbytes) {
  if (nbytes == 0) return;
  data_ = detail::allocate(nbytes, zero, raw_, capacity_);
  detail::track_storage_bytes(nbytes_, true);
}

Storage::~Storage() {
  if (raw_ != nullptr) detail::track_storage_bytes(nbytes_, false);
  detail::deallocate(raw_, capacity_);
}

}  // namespace voxgrad
