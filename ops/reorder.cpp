#include "voxgrad/ops/reorder.h"

#include <algorithm>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/take.h"

namespace voxgrad {

namespace {

// self with element (i_0, ..., i_n) of the result taken from (source_d(i_d))_d, where source[d]
// lists source_d(i) for every i of dim d: each dim is reordered independently.
Tensor reorder(const Tensor& self, const std::vector<std::vector<std::int64_t>>& source) {
  const std::int64_t nd = self.dim();
  std::vector<Tensor> pos;
  for (std::int64_t d = 0; d < nd; ++d) {
    const std::vector<std::int64_t>& s = source[static_cast<std::size_t>(d)];
    Shape shape(static_cast<std::size_t>(nd), 1);
    shape[static_cast<std::size_t>(d)] = self.size(d);
    pos.push_back(from_blob(s.data(), {self.size(d)}).view(shape));
  }
  return detail::take(self, detail::linear_index(self.sizes(), pos, contiguous_strides(self.sizes())));
}

// The identity order of every dim, to be changed where the op acts.
std::vector<std::vector<std::int64_t>> identity_order(const Tensor& self) {
  std::vector<std::vector<std::int64_t>> source;
  for (std::int64_t d = 0; d < self.dim(); ++d) {
    std::vector<std::int64_t> s(static_cast<std::size_t>(self.size(d)));
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::int64_t>(i);
    source.push_back(std::move(s));
  }
  return source;
}

}  // namespace

Tensor flip(const Tensor& self, IntArrayRef dims) {
  detail::check_defined(self, "flip");
  std::vector<std::vector<std::int64_t>> source = identity_order(self);
  std::vector<bool> seen(static_cast<std::size_t>(std::max<std::int64_t>(self.dim(), 1)), false);
  for (std::int64_t d : dims) {
    const std::int64_t w = wrap_dim(d, self.dim(), "flip");
    VOXGRAD_CHECK(!seen[static_cast<std::size_t>(w)], "flip: dim {} appears multiple times in the list of dims {}", w,
                  shape_str(dims));
    seen[static_cast<std::size_t>(w)] = true;
    if (self.dim() > 0) {
      std::vector<std::int64_t>& s = source[static_cast<std::size_t>(w)];
      std::reverse(s.begin(), s.end());
    }
  }
  return reorder(self, source);
}

Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims) {
  detail::check_defined(self, "roll");
  VOXGRAD_CHECK(!shifts.empty(), "roll: shifts must not be empty");
  if (dims.empty()) {
    VOXGRAD_CHECK(shifts.size() == 1,
                  "roll: shifts and dimensions must align: without dims one shift is expected (the tensor is "
                  "rolled flattened), but got shifts {}",
                  shape_str(shifts));
    return roll(self.flatten(), shifts, {0}).view(self.sizes());
  }
  VOXGRAD_CHECK(shifts.size() == dims.size(), "roll: shifts and dimensions must align. shifts: {}, dims: {}",
                shifts.size(), dims.size());
  std::vector<std::int64_t> total(static_cast<std::size_t>(std::max<std::int64_t>(self.dim(), 1)), 0);
  for (std::size_t k = 0; k < dims.size(); ++k) {
    const std::int64_t w = wrap_dim(dims[k], self.dim(), "roll");
    const std::int64_t size = self.dim() == 0 ? 1 : self.size(w);
    // Sum the shifts modulo the size, so that no shift near INT64_MAX overflows.
    if (size > 0) total[static_cast<std::size_t>(w)] = ((total[w] + shifts[k] % size) % size + size) % size;
  }
  std::vector<std::vector<std::int64_t>> source = identity_order(self);
  for (std::int64_t d = 0; d < self.dim(); ++d) {
    std::vector<std::int64_t>& s = source[static_cast<std::size_t>(d)];
    // Element i of the result comes from (i - shift) mod size.
    std::rotate(s.begin(), s.end() - total[static_cast<std::size_t>(d)], s.end());
  }
  return reorder(self, source);
}

Tensor rot90(const Tensor& self, std::int64_t k, IntArrayRef dims) {
  const char* op = "rot90";
  detail::check_defined(self, op);
  VOXGRAD_CHECK(dims.size() == 2, "{}: expected 2 rotation dims, but got {}", op, shape_str(dims));
  VOXGRAD_CHECK(self.dim() >= 2, "{}: expected a tensor of at least 2 dims, but got shape {}", op,
                shape_str(self.sizes()));
  const std::int64_t d0 = wrap_dim(dims[0], self.dim(), op), d1 = wrap_dim(dims[1], self.dim(), op);
  VOXGRAD_CHECK(d0 != d1, "{}: expected two different rotation dims, but got {} and {} (both dim {})", op, dims[0],
                dims[1], d0);
  // A quarter turn from d0 towards d1: the order along d1 reversed, then the two dims swapped (copied, so
  // that the result is a tensor of its own, not a view of the flip's: PyTorch transposes that in place).
  switch (((k % 4) + 4) % 4) {
    case 1: return flip(self, {d1}).transpose(d0, d1).contiguous();
    case 2: return flip(self, {d0, d1});
    case 3: return flip(self, {d0}).transpose(d0, d1).contiguous();
    default: return self.clone();
  }
}

}  // namespace voxgrad
