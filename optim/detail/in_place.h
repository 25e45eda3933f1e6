#pragma once
// Internal: what the optimizers' in-place updates share: their operands' checks, whether a gradient
// aliases its parameter, and the tensor a loop over contiguous memory updates in place (a view's
// contiguous copy, written back).

#include <initializer_list>
#include <optional>

#include "voxgrad/core/tensor.h"

namespace voxgrad::optim::detail {

/// Throws unless t has self's shape and dtype: "<op>: expected <name> of shape … and dtype … (as
/// <self_name>), but got shape … and dtype …".
void check_like(const Tensor& self, const Tensor& t, const char* op, const char* name, const char* self_name);

/// Whether a and b are views of one storage (a gradient that is, or overlaps, its parameter).
bool same_storage(const Tensor& a, const Tensor& b);

/// The gradient as a one-pass update reads it: a copy where it shares the parameter's storage (the
/// loop writes the parameter while later elements still read the gradient; PyTorch's statements read
/// all of it first), else contiguous.
Tensor readable_grad(const Tensor& grad, const Tensor& param);

/// A tensor updated in place through contiguous memory: work() is the tensor itself when it is
/// contiguous, else a contiguous copy; finish() writes the copy back (or bumps the tensor's version, as
/// every in-place op does).
class InPlace {
 public:
  explicit InPlace(Tensor& target);
  Tensor& work() { return work_; }
  void finish();

 private:
  Tensor& target_;
  Tensor work_;
};

/// The tensors one update writes, each an InPlace; null entries (state an option does without) stay
/// null. data<T>(k) is the k-th tensor's contiguous memory.
class InPlaceSet {
 public:
  explicit InPlaceSet(std::initializer_list<Tensor*> tensors) {
    std::size_t i = 0;
    for (Tensor* t : tensors) {
      if (t != nullptr) slots_[i].emplace(*t);
      ++i;
    }
  }
  template <typename T>
  T* data(std::size_t k) {
    return slots_[k] ? slots_[k]->work().data_ptr<T>() : nullptr;
  }
  /// Writes back every copy (or bumps the versions).
  void finish() {
    for (auto& s : slots_) {
      if (s) s->finish();
    }
  }

 private:
  std::optional<InPlace> slots_[4];
};

}  // namespace voxgrad::optim::detail
