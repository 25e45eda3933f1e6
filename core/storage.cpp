#include "voxgrad/core/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "voxgrad/core/error.h"

namespace voxgrad {

namespace {
constexpr std::size_t kAlignment = 64;
}

Storage::Storage(std::size_t nbytes, bool zero) : nbytes_(nbytes) {
  const std::size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) return;
  data_ = std::aligned_alloc(kAlignment, rounded);
  VOXGRAD_CHECK(data_ != nullptr, "Storage: cannot allocate {} bytes", nbytes);
  if (zero) std::memset(data_, 0, nbytes);
}

Storage::~Storage() { std::free(data_); }

}  // namespace voxgrad
