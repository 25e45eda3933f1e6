#include "voxgrad/core/print.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad {

namespace {

constexpr std::int64_t kThreshold = 1000;  // summarise above this many elements
constexpr std::int64_t kEdgeItems = 3;
constexpr std::size_t kLineWidth = 80;

// One element: `f` for floating dtypes, `i` (exact) for int64.
struct Value {
  double f = 0.0;
  std::int64_t i = 0;
};

// Element at a multi-index.
Value element(const Tensor& t, const std::vector<std::int64_t>& idx) {
  std::int64_t off = 0;
  for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  if (t.dtype() == kInt64) {
    const std::int64_t v = static_cast<const std::int64_t*>(t.raw_data_ptr())[off];
    return {static_cast<double>(v), v};
  }
  return {detail::dispatch_floating(
              t.dtype(), "print",
              [&]<typename T>() { return static_cast<double>(static_cast<const T*>(t.raw_data_ptr())[off]); }),
          0};
}

// Indices shown along a dim of `size` (all, or the edges when summarising).
std::vector<std::int64_t> shown(std::int64_t size, bool summarize) {
  std::vector<std::int64_t> r;
  if (summarize && size > 2 * kEdgeItems) {
    for (std::int64_t i = 0; i < kEdgeItems; ++i) r.push_back(i);
    r.push_back(-1);  // the "..." marker
    for (std::int64_t i = size - kEdgeItems; i < size; ++i) r.push_back(i);
  } else {
    for (std::int64_t i = 0; i < size; ++i) r.push_back(i);
  }
  return r;
}

// Chooses one format for all shown values, as PyTorch's _Formatter does: the mode and the column
// width come from the nonzero finite values only (nan, inf and 0 are padded to that width).
class Formatter {
 public:
  Formatter(const std::vector<Value>& values, bool integer_dtype) : integer_dtype_(integer_dtype) {
    if (integer_dtype) {
      for (const Value& v : values) width_ = std::max(width_, fmt::format("{}", v.i).size());
      return;
    }
    std::vector<double> finite;
    for (const Value& v : values) {
      if (std::isfinite(v.f) && v.f != 0.0) finite.push_back(v.f);
    }
    if (finite.empty()) return;
    int_mode_ = std::all_of(finite.begin(), finite.end(), [](double v) { return std::ceil(v) == v; });
    double mx = 0.0, mn = std::abs(finite[0]);
    for (double v : finite) {
      mx = std::max(mx, std::abs(v));
      mn = std::min(mn, std::abs(v));
    }
    sci_mode_ = int_mode_ ? (mx / mn > 1000.0 || mx > 1.0e8) : (mx / mn > 1000.0 || mx > 1.0e8 || mn < 1.0e-4);
    for (double v : finite) width_ = std::max(width_, raw(v).size());
  }

  std::string operator()(const Value& v) const {
    const std::string s = integer_dtype_ ? fmt::format("{}", v.i) : raw(v.f);
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }
  std::size_t width() const { return width_; }

 private:
  std::string raw(double v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (sci_mode_) return fmt::format("{:.4e}", v);
    if (int_mode_) return fmt::format("{:.0f}.", v);
    return fmt::format("{:.4f}", v);
  }

  bool integer_dtype_ = false;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

void collect(const Tensor& t, std::vector<std::int64_t>& idx, bool summarize, std::vector<Value>& out) {
  const std::size_t d = idx.size();
  if (static_cast<std::int64_t>(d) == t.dim()) {
    out.push_back(element(t, idx));
    return;
  }
  for (std::int64_t i : shown(t.sizes()[d], summarize)) {
    if (i < 0) continue;
    idx.push_back(i);
    collect(t, idx, summarize, out);
    idx.pop_back();
  }
}

std::string render(const Tensor& t, std::vector<std::int64_t>& idx, bool summarize, const Formatter& f,
                   std::size_t indent) {
  const std::size_t d = idx.size();
  const std::int64_t nd = t.dim();
  std::vector<std::string> parts;
  if (static_cast<std::int64_t>(d) == nd - 1) {
    // Innermost dim: values, wrapped at the line width.
    for (std::int64_t i : shown(t.sizes()[d], summarize)) {
      if (i < 0) {
        parts.push_back(" ...");  // PyTorch's _vector_str pads the marker: "2.,  ..., 7."
        continue;
      }
      idx.push_back(i);
      parts.push_back(f(element(t, idx)));
      idx.pop_back();
    }
    const std::size_t per_line =
        std::max<std::size_t>(1, (kLineWidth - std::min(kLineWidth - 1, indent)) / (f.width() + 2));
    std::string s = "[";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) s += (i % per_line == 0) ? ",\n" + std::string(indent + 1, ' ') : ", ";
      s += parts[i];
    }
    return s + "]";
  }
  std::string sep = ",";  // built by append: "," + std::string(...) trips GCC 12's -Wrestrict
  sep.append(static_cast<std::size_t>(nd - static_cast<std::int64_t>(d) - 1), '\n');
  sep.append(indent + 1, ' ');
  std::string s = "[";
  bool first = true;
  for (std::int64_t i : shown(t.sizes()[d], summarize)) {
    if (!first) s += sep;
    first = false;
    if (i < 0) {
      s += "...";
      continue;
    }
    idx.push_back(i);
    s += render(t, idx, summarize, f, indent + 1);
    idx.pop_back();
  }
  return s + "]";
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "[ Tensor (undefined) ]";  // libtorch's text for an undefined tensor
  const std::string prefix = "tensor(";
  std::string body;
  std::vector<std::string> suffix;
  const bool integer = t.dtype() == kInt64;
  if (t.numel() == 0) {
    body = "[]";
    if (t.dim() != 1) suffix.push_back(fmt::format("size=({})", fmt::join(t.sizes(), ", ")));
    // Without elements nothing shows the dtype, so anything but the default is named.
    if (t.dtype() != kFloat32) suffix.push_back(fmt::format("dtype={}", t.dtype()));
  } else {
    const bool summarize = t.numel() > kThreshold;
    std::vector<std::int64_t> idx;
    std::vector<Value> values;
    collect(t, idx, summarize, values);
    const Formatter f(values, integer);
    body = t.dim() == 0 ? f(values[0]) : render(t, idx, summarize, f, prefix.size());
    if (t.dtype() == kFloat64) suffix.emplace_back("dtype=float64");
  }
  if (t.grad_fn())
    suffix.push_back(fmt::format("grad_fn=<{}>", t.grad_fn()->name()));
  else if (t.requires_grad())
    suffix.emplace_back("requires_grad=True");
  // PyTorch's _add_suffixes: a suffix that would run past the line width starts a new line.
  std::string s = prefix + body;
  const std::size_t newline = s.rfind('\n');
  std::size_t last_line = newline == std::string::npos ? s.size() + 2 : s.size() - newline + 1;
  for (const auto& x : suffix) {
    if (last_line + x.size() + 2 > kLineWidth) {
      s += ",\n";
      s.append(prefix.size(), ' ');
      s += x;
      last_line = prefix.size() + x.size();
    } else {
      s += ", " + x;
      last_line += x.size() + 2;
    }
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace voxgrad
