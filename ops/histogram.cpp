#include "voxgrad/ops/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <tuple>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/total_order.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/indexing.h"
#include "voxgrad/ops/reduction.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace {

// The elements of t in row-major order, as T (t of that dtype).
template <typename T>
std::vector<T> elements(const Tensor& t) {
  const Tensor c = t.detach().contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

}  // namespace

Tensor bincount(const Tensor& input, const Tensor& weights, std::int64_t minlength) {
  const char* op = "bincount";
  detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(input.dtype() == kInt64 && input.dim() == 1,
                "{}: expected a 1-D int64 input of non-negative values, but got a {}-d {} tensor", op, input.dim(),
                input.dtype());
  VOXGRAD_CHECK(minlength >= 0, "{}: minlength should be >= 0, but got {}", op, minlength);
  // As PyTorch 1.13: an empty input gives int64 zeros whatever the weights.
  if (input.numel() == 0) return zeros({minlength}, kInt64);
  if (weights.defined()) {
    VOXGRAD_CHECK(weights.dim() == 1 && weights.size(0) == input.size(0),
                  "{}: weights should be 1-d and have the same length as input ({}), but have shape {}", op,
                  input.size(0), shape_str(weights.sizes()));
  }
  const std::vector<std::int64_t> v = elements<std::int64_t>(input);
  std::int64_t bins = minlength;
  for (std::size_t i = 0; i < v.size(); ++i) {
    VOXGRAD_CHECK(v[i] >= 0, "{}: input values must be non-negative, but element {} is {}", op, i, v[i]);
    VOXGRAD_CHECK(v[i] < std::numeric_limits<std::int64_t>::max(), "{}: element {} ({}) leaves no room for a bin", op,
                  i, v[i]);
    bins = std::max(bins, v[i] + 1);
  }
  if (!weights.defined()) {
    Tensor out = zeros({bins}, kInt64);
    std::int64_t* o = out.data_ptr<std::int64_t>();
    for (const std::int64_t x : v) ++o[x];
    return out;
  }
  // Integer weights count in float64, as PyTorch's.
  const Tensor w = weights.dtype() == kInt64 ? weights.to(kFloat64) : weights;
  Tensor out = zeros({bins}, w.dtype());
  detail::dispatch_floating(w.dtype(), op, [&]<typename T>() {
    const std::vector<T> wv = elements<T>(w);
    T* o = out.data_ptr<T>();
    for (std::size_t i = 0; i < v.size(); ++i) o[v[i]] += wv[i];  // in input order, in T (PyTorch's loop)
  });
  return out;
}

Tensor histc(const Tensor& input, std::int64_t bins, double min, double max) {
  const char* op = "histc";
  detail::check_defined(input, op, "input");
  detail::check_floating(input, op);
  VOXGRAD_CHECK(bins > 0, "{}: bins must be > 0, but got {}", op, bins);
  // PyTorch's histc_select_outer_bin_edges: the data's range where min = max, widened by 1 each way if empty.
  double lo = min, hi = max;
  if (lo == hi && input.numel() > 0) {
    NoGradGuard guard;
    lo = amin(input.detach()).item<double>();
    hi = amax(input.detach()).item<double>();
  }
  if (lo == hi) {
    lo -= 1;
    hi += 1;
  }
  VOXGRAD_CHECK(std::isfinite(lo) && std::isfinite(hi), "{}: range of [{}, {}] is not finite", op, lo, hi);
  VOXGRAD_CHECK(lo < hi, "{}: max must be larger than min (min = {}, max = {})", op, lo, hi);
  Tensor out = zeros({bins}, input.dtype());
  detail::dispatch_floating(input.dtype(), op, [&]<typename T>() {
    const std::vector<T> x = elements<T>(input);
    const auto left = static_cast<T>(lo), right = static_cast<T>(hi);  // the bin edges' ends, in T
    T* o = out.data_ptr<T>();
    for (const T e : x) {
      if (!(e >= left && e <= right)) continue;  // outside, or NaN
      // PyTorch's division first, in T. A range too wide for T (right − left = inf) gives 0, or NaN where e − left
      // overflows too: bin 0 for both, as PyTorch's index arithmetic ends up.
      const T q = (e - left) / (right - left) * static_cast<T>(bins);
      const std::int64_t pos = !(q >= T(0)) ? 0 : q >= static_cast<T>(bins) ? bins - 1 : static_cast<std::int64_t>(q);
      o[pos] += T(1);  // the last edge belongs to the last bin
    }
  });
  return out;
}

Tensor searchsorted(const Tensor& sorted_sequence, const Tensor& values, bool out_int32, bool right) {
  const char* op = "searchsorted";
  detail::check_defined(sorted_sequence, op, "sorted_sequence");
  detail::check_defined(values, op, "values");
  VOXGRAD_CHECK(!out_int32, "{}: out_int32 = true is not supported (this library has no int32 dtype)", op);
  VOXGRAD_CHECK(sorted_sequence.dim() >= 1, "{}: the sorted sequence must have at least one dim, but is 0-d", op);
  const bool shared = sorted_sequence.dim() == 1;
  if (!shared) {
    const Shape lead(sorted_sequence.sizes().begin(), sorted_sequence.sizes().end() - 1);
    VOXGRAD_CHECK(
        values.dim() == sorted_sequence.dim() && Shape(values.sizes().begin(), values.sizes().end() - 1) == lead,
        "{}: the sorted sequence should be 1-D or share all but the last dim with the values, but got "
        "sequence shape {} and values shape {}",
        op, shape_str(sorted_sequence.sizes()), shape_str(values.sizes()));
  }
  const DType dt = result_type(sorted_sequence, values);  // a 0-d values tensor does not promote the sequence
  const std::int64_t n = sorted_sequence.size(-1);
  const std::int64_t per_row = shared || values.dim() == 0 ? values.numel() : values.size(-1);
  Tensor out = empty(values.sizes(), kInt64);
  std::int64_t* o = out.data_ptr<std::int64_t>();
  detail::dispatch_all(dt, [&]<typename T>() {
    const std::vector<T> seq = elements<T>(sorted_sequence.detach().to(dt));
    const std::vector<T> val = elements<T>(values.detach().to(dt));
    for (std::size_t i = 0; i < val.size(); ++i) {
      const T* s = seq.data() + (shared ? 0 : static_cast<std::int64_t>(i) / per_row * n);
      const T v = val[i];
      // PyTorch's binary searches, comparisons included (so a NaN value goes last): the first element >= v (> v
      // with `right`).
      std::int64_t lo = 0, hi = n;
      while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (right ? !(s[mid] > v) : !(s[mid] >= v)) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      o[i] = lo;
    }
  });
  return out;
}

Tensor bucketize(const Tensor& input, const Tensor& boundaries, bool out_int32, bool right) {
  detail::check_defined(input, "bucketize", "input");
  detail::check_defined(boundaries, "bucketize", "boundaries");
  VOXGRAD_CHECK(!out_int32, "bucketize: out_int32 = true is not supported (this library has no int32 dtype)");
  VOXGRAD_CHECK(boundaries.dim() == 1, "bucketize: boundaries must be 1-D, but have shape {}",
                shape_str(boundaries.sizes()));
  return searchsorted(boundaries, input, out_int32, right);
}

namespace {

// What unique and unique_consecutive compare whole, as the rows of a [rows, cols] tensor: the elements
// of input (without dim; rows of one element), or its slices along d, flattened (every other dim must be
// nonzero, as PyTorch requires).
Tensor compared_rows(const Tensor& input, std::optional<std::int64_t> dim, std::int64_t d, const char* op) {
  std::int64_t rows = input.numel(), cols = 1;
  if (dim) {
    VOXGRAD_CHECK(input.dim() > 0, "{}: dim {} given for a 0-d input", op, *dim);
    rows = input.size(d);
    for (std::int64_t k = 0; k < input.dim(); ++k) {
      VOXGRAD_CHECK(k == d || input.size(k) > 0,
                    "{}: dim {} of the input (shape {}) has size 0 and is not the selected dim {}, so slices along "
                    "dim {} cannot be compared (PyTorch raises too)",
                    op, k, shape_str(input.sizes()), d, d);
      cols *= k == d ? 1 : input.size(k);
    }
  }
  return (dim ? movedim(input.detach(), {d}, {0}) : input.detach()).reshape({rows, cols});
}

// The runs of equal rows of x (NaN equals nothing, as ==), the rows taken in index order or, when
// `sorted`, in ascending lexicographic order (NaN last; equal rows in index order): unique's and
// unique_consecutive's results. The values are each run's first row (an element of input, or its slice
// along d), the inverse each element's (or slice's) run, the counts each run's length.
std::tuple<Tensor, Tensor, Tensor> runs_of_rows(const Tensor& input, const Tensor& x, std::optional<std::int64_t> dim,
                                                std::int64_t d, bool sorted, bool return_inverse, bool return_counts) {
  const std::int64_t rows = x.size(0), cols = x.size(1);
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows)), first, run_counts;
  std::vector<std::int64_t> group(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  detail::dispatch_all(input.dtype(), [&]<typename T>() {
    const std::vector<T> v = elements<T>(x);
    const auto at = [&](std::int64_t r, std::int64_t j) { return v[static_cast<std::size_t>(r * cols + j)]; };
    if (sorted) {
      std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        for (std::int64_t j = 0; j < cols; ++j) {
          if (detail::comes_before(at(a, j), at(b, j), false)) return true;
          if (detail::comes_before(at(b, j), at(a, j), false)) return false;
        }
        return false;
      });
    }
    const auto same = [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t j = 0; j < cols; ++j) {
        if (!(at(a, j) == at(b, j))) return false;
      }
      return true;
    };
    for (const std::int64_t r : order) {
      if (first.empty() || !same(first.back(), r)) {
        first.push_back(r);
        run_counts.push_back(0);
      }
      ++run_counts.back();
      group[static_cast<std::size_t>(r)] = static_cast<std::int64_t>(first.size()) - 1;
    }
  });
  const auto as_tensor = [](const std::vector<std::int64_t>& v) {
    return from_blob(v.data(), {static_cast<std::int64_t>(v.size())});
  };
  const Tensor starts = as_tensor(first);
  Tensor values = !dim ? x.reshape({-1}).index_select(0, starts) : input.detach().index_select(d, starts);
  Tensor inverse = empty({0}, kInt64), counts = empty({0}, kInt64);
  if (return_inverse) inverse = as_tensor(group).reshape(!dim ? input.sizes() : Shape{rows});
  if (return_counts) counts = as_tensor(run_counts);
  return {values, inverse, counts};
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& input, bool /*sorted*/, bool return_inverse, bool return_counts,
                                          std::optional<std::int64_t> dim) {
  const char* op = "unique";
  detail::check_defined(input, op, "input");
  const std::int64_t d = dim ? wrap_dim(*dim, input.dim(), op) : 0;
  return runs_of_rows(input, compared_rows(input, dim, d, op), dim, d, true, return_inverse, return_counts);
}

std::tuple<Tensor, Tensor, Tensor> unique_consecutive(const Tensor& input, bool return_inverse, bool return_counts,
                                                      std::optional<std::int64_t> dim) {
  const char* op = "unique_consecutive";
  detail::check_defined(input, op, "input");
  const std::int64_t d = dim ? wrap_dim(*dim, input.dim(), op) : 0;
  return runs_of_rows(input, compared_rows(input, dim, d, op), dim, d, false, return_inverse, return_counts);
}

Tensor count_nonzero(const Tensor& input, IntArrayRef dims) {
  const char* op = "count_nonzero";
  detail::check_defined(input, op, "input");
  std::vector<bool> seen(static_cast<std::size_t>(std::max<std::int64_t>(input.dim(), 1)), false);
  for (const std::int64_t d : dims) {
    const std::int64_t w = wrap_dim(d, input.dim(), op);
    VOXGRAD_CHECK(!seen[static_cast<std::size_t>(w)], "{}: dim {} appears multiple times in the list of dims", op, w);
    seen[static_cast<std::size_t>(w)] = true;
  }
  NoGradGuard guard;
  // A 0/1 mask in float64 (every nonzero int64 stays nonzero there), summed exactly, as int64.
  const Tensor x = input.detach();
  const Tensor nonzero = (x.dtype() == kInt64 ? x.to(kFloat64) : x).ne(0.0).to(kFloat64);
  return (dims.empty() ? sum(nonzero) : sum(nonzero, dims)).to(kInt64);
}

}  // namespace voxgrad
