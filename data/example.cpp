#include "voxgrad/data/example.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/shape.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad::data {

namespace {

[[noreturn]] void throw_missing(const std::string& key, const std::vector<std::string>& keys) {
  throw Error(fmt::format("Example: no tensor named '{}' (it holds {})", key, keys));
}

}  // namespace

const Tensor& Example::at(const std::string& key) const {
  const auto it = tensors_.find(key);
  if (it == tensors_.end()) throw_missing(key, keys());
  return it->second;
}

Tensor& Example::at(const std::string& key) {
  const auto it = tensors_.find(key);
  if (it == tensors_.end()) throw_missing(key, keys());
  return it->second;
}

std::vector<std::string> Example::keys() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [key, value] : tensors_) out.push_back(key);
  return out;
}

std::size_t Example::nbytes() const {
  std::size_t total = 0;
  for (const auto& [key, t] : tensors_) total += static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
  return total;
}

Example collate(const std::vector<Example>& examples) {
  VOXGRAD_CHECK(!examples.empty(), "collate: no examples to stack");
  const std::vector<std::string> keys = examples[0].keys();
  Example out;
  for (const std::string& key : keys) {
    std::vector<Tensor> parts;
    parts.reserve(examples.size());
    const Tensor& first = examples[0].at(key);
    for (std::size_t i = 0; i < examples.size(); ++i) {
      VOXGRAD_CHECK(examples[i].keys() == keys, "collate: example {} holds keys {}, but example 0 holds {}", i,
                    examples[i].keys(), keys);
      const Tensor& t = examples[i].at(key);
      VOXGRAD_CHECK(t.sizes() == first.sizes() && t.dtype() == first.dtype(),
                    "collate: '{}' of example {} is {} {}, but that of example 0 is {} {}", key, i,
                    dtype_name(t.dtype()), shape_str(t.sizes()), dtype_name(first.dtype()), shape_str(first.sizes()));
      parts.push_back(t);
    }
    out.set(key, stack(parts, 0));
  }
  return out;
}

}  // namespace voxgrad::data
