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

// Element at a multi-index, as double (int64 values are exact for the magnitudes printed).
double element(const Tensor& t, const std::vector<std::int64_t>& idx) {
  std::int64_t off = 0;
  for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return detail::dispatch_all(t.dtype(), [&]<typename T>() {
    return static_cast<double>(static_cast<const T*>(t.raw_data_ptr())[off]);
  });
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

// Chooses one format for all shown values, as PyTorch's _Formatter does.
class Formatter {
 public:
  Formatter(const std::vector<double>& values, bool integer_dtype) : integer_dtype_(integer_dtype) {
    if (integer_dtype) {
      for (double v : values) width_ = std::max(width_, fmt::format("{}", static_cast<std::int64_t>(v)).size());
      return;
    }
    std::vector<double> finite;
    for (double v : values) {
      if (std::isfinite(v) && v != 0.0) finite.push_back(std::abs(v));
    }
    int_mode_ = std::all_of(values.begin(), values.end(),
                            [](double v) { return !std::isfinite(v) || std::ceil(v) == v; });
    if (!finite.empty()) {
      const double mx = *std::max_element(finite.begin(), finite.end());
      const double mn = *std::min_element(finite.begin(), finite.end());
      sci_mode_ = int_mode_ ? (mx / mn > 1000.0 || mx > 1.0e8)
                            : (mx / mn > 1000.0 || mx > 1.0e8 || mn < 1.0e-4);
    }
    for (double v : values) width_ = std::max(width_, raw(v).size());
  }

  std::string operator()(double v) const {
    const std::string s = raw(v);
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }
  std::size_t width() const { return width_; }

 private:
  std::string raw(double v) const {
    if (integer_dtype_) return fmt::format("{}", static_cast<std::int64_t>(v));
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (sci_mode_) return fmt::format("{:.4e}", v);
    if (int_mode_) return fmt::format("{:.0f}.", v);
    return fmt::format("{:.4f}", v);
  }

  bool integer_dtype_ = false;
  bool int_mode_ = false;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

void collect(const Tensor& t, std::vector<std::int64_t>& idx, bool summarize, std::vector<double>& out) {
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
        parts.push_back("...");
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
  const std::string sep = "," + std::string(static_cast<std::size_t>(nd - static_cast<std::int64_t>(d) - 1), '\n') +
                          std::string(indent + 1, ' ');
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
  if (!t.defined()) return "[ undefined Tensor ]";
  constexpr std::size_t kPrefix = 7;  // "tensor("
  std::string body;
  std::vector<std::string> suffix;
  const bool integer = t.dtype() == kInt64;
  if (t.numel() == 0) {
    body = "[]";
    if (t.dim() != 1) suffix.push_back(fmt::format("size=({})", fmt::join(t.sizes(), ", ")));
  } else {
    const bool summarize = t.numel() > kThreshold;
    std::vector<std::int64_t> idx;
    std::vector<double> values;
    collect(t, idx, summarize, values);
    const Formatter f(values, integer);
    body = t.dim() == 0 ? f(values[0]) : render(t, idx, summarize, f, kPrefix);
  }
  if (t.dtype() == kFloat64) suffix.emplace_back("dtype=float64");
  if (t.grad_fn()) suffix.push_back(fmt::format("grad_fn=<{}>", t.grad_fn()->name()));
  else if (t.requires_grad()) suffix.emplace_back("requires_grad=True");
  std::string s = "tensor(" + body;
  for (const auto& x : suffix) s += ", " + x;
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace voxgrad
