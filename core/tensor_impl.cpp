#include "voxgrad/core/tensor_impl.h"

#include "voxgrad/autograd/node.h"

namespace voxgrad {

namespace {
std::atomic<std::int64_t> live_impls{0};
}

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, Shape sizes_, Shape strides_, std::int64_t offset_,
                       DType dtype_)
    : storage(std::move(storage_)),
      sizes(std::move(sizes_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_) {
  live_impls.fetch_add(1, std::memory_order_relaxed);
}

TensorImpl::~TensorImpl() { live_impls.fetch_sub(1, std::memory_order_relaxed); }

std::int64_t TensorImpl::live_count() { return live_impls.load(std::memory_order_relaxed); }

}  // namespace voxgrad
