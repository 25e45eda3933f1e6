#pragma once
// One sample of a dataset: named tensors ("image", "label", "affine", ...), as MONAI's dictionary
// samples; libtorch's Example<Data, Target> generalised to any number of keys.

#include <map>
#include <string>
#include <vector>

#include "voxgrad/core/tensor.h"

namespace voxgrad::data {

/// Named tensors of one sample (or of a batch, after collation). Keys are ordered.
class Example {
 public:
  Example() = default;
  /// An example holding `tensors`.
  Example(std::initializer_list<std::pair<const std::string, Tensor>> tensors) : tensors_(tensors) {}

  /// The tensor under `key`; an Error listing the keys present if there is none.
  const Tensor& at(const std::string& key) const;
  /// The tensor under `key`, writable; an Error listing the keys present if there is none.
  Tensor& at(const std::string& key);
  /// Stores (or replaces) `key`.
  void set(const std::string& key, Tensor value) { tensors_[key] = std::move(value); }
  bool contains(const std::string& key) const { return tensors_.count(key) != 0; }
  std::vector<std::string> keys() const;
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  /// Bytes held by the tensors' elements (what a cache charges for this example).
  std::size_t nbytes() const;

 private:
  std::map<std::string, Tensor> tensors_;
};

/// Stacks the examples key by key along a new dim 0 (torch.utils.data.default_collate); every example
/// must hold the same keys with equal shapes and dtypes, else an Error naming the key and example.
Example collate(const std::vector<Example>& examples);

}  // namespace voxgrad::data
