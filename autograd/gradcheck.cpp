#include "voxgrad/autograd/gradcheck.h"

#include <cmath>

#include "voxgrad/autograd/engine.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/random.h"

namespace voxgrad::autograd {

namespace {

// Storage offset (in elements) of flat row-major index `flat` of `t`.
std::int64_t offset_of(const Tensor& t, std::int64_t flat) {
  std::int64_t off = t.storage_offset();
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (flat % t.sizes()[d]) * t.strides()[d];
    flat /= t.sizes()[d];
  }
  return off;
}

std::string index_str(const Tensor& t, std::int64_t flat) {
  Shape idx(static_cast<std::size_t>(t.dim()));
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
    idx[d] = flat % t.sizes()[d];
    flat /= t.sizes()[d];
  }
  return shape_str(idx);
}

double value_at(const Tensor& t, std::int64_t flat) {
  return static_cast<const double*>(t.raw_data_ptr())[offset_of(t, flat) - t.storage_offset()];
}

void check_output(const Tensor& out, std::size_t j) {
  VOXGRAD_CHECK(out.defined(), "gradcheck: output {} is undefined", j);
  VOXGRAD_CHECK(out.dtype() == kFloat64, "gradcheck: output {} has dtype {}; gradcheck needs float64 outputs", j,
                out.dtype());
}

bool fail(const GradcheckOptions& o, const std::string& message) {
  if (o.raise_exception) throw Error(message);
  return false;
}

}  // namespace

bool gradcheck(const MultiOutputFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  std::vector<std::size_t> diff;  // indices of inputs that require grad
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) continue;
    VOXGRAD_CHECK(x.dtype() != kFloat32,
                  "gradcheck: input {} has dtype float32; gradcheck needs float64 inputs (finite "
                  "differences in float32 are too imprecise to judge a gradient)",
                  i);
    if (!x.requires_grad()) continue;
    VOXGRAD_CHECK(x.dtype() == kFloat64, "gradcheck: input {} requires grad but has dtype {}", i, x.dtype());
    for (std::int64_t d = 0; d < x.dim(); ++d) {
      VOXGRAD_CHECK(x.strides()[d] != 0 || x.sizes()[d] <= 1,
                    "gradcheck: input {} has a dimension with stride 0 (an expanded tensor); "
                    "pass a contiguous copy instead",
                    i);
    }
    diff.push_back(i);
  }
  VOXGRAD_CHECK(!diff.empty(), "gradcheck: no input requires grad; nothing to check");

  const std::vector<Tensor> outputs = fn(inputs);
  VOXGRAD_CHECK(!outputs.empty(), "gradcheck: the function returned no outputs");
  for (std::size_t j = 0; j < outputs.size(); ++j) check_output(outputs[j], j);

  // Numerical Jacobians by central differences: numeric[j][k] has rows = output j's elements and
  // columns = elements of input diff[k], stored column by column.
  std::vector<std::vector<std::vector<double>>> numeric(outputs.size(), std::vector<std::vector<double>>(diff.size()));
  for (std::size_t k = 0; k < diff.size(); ++k) {
    const Tensor& x = inputs[diff[k]];
    double* base = static_cast<double*>(x.raw_data_ptr()) - x.storage_offset();
    for (std::int64_t e = 0; e < x.numel(); ++e) {
      double& slot = base[offset_of(x, e)];
      const double orig = slot;
      // Raw writes (no version bump): the value is restored exactly, even if fn throws.
      struct Restore {
        double& slot;
        double value;
        ~Restore() { slot = value; }
      } restore{slot, orig};
      // Outputs are copied right away: a view of the input (fn = x.t()) would otherwise change
      // with the next perturbation, as PyTorch's gradcheck also guards against by cloning.
      auto snapshot = [](std::vector<Tensor> outs) {
        NoGradGuard no_grad;
        for (Tensor& t : outs) {
          if (t.defined()) t = t.clone();
        }
        return outs;
      };
      slot = orig + options.eps;
      const std::vector<Tensor> plus = snapshot(fn(inputs));
      slot = orig - options.eps;
      const std::vector<Tensor> minus = snapshot(fn(inputs));
      slot = orig;
      for (std::size_t j = 0; j < outputs.size(); ++j) {
        VOXGRAD_CHECK(plus.size() == outputs.size() && minus.size() == outputs.size() &&
                          plus[j].sizes() == outputs[j].sizes() && minus[j].sizes() == outputs[j].sizes(),
                      "gradcheck: the function's outputs changed number or shape between calls");
      }
      for (std::size_t j = 0; j < outputs.size(); ++j) {
        auto& col = numeric[j][k];
        for (std::int64_t r = 0; r < outputs[j].numel(); ++r) {
          col.push_back((value_at(plus[j], r) - value_at(minus[j], r)) / (2.0 * options.eps));
        }
      }
    }
  }

  // Analytical Jacobians, one backward pass per output element.
  std::vector<Tensor> diff_inputs;
  for (std::size_t i : diff) diff_inputs.push_back(inputs[i]);
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    const Tensor& out = outputs[j];
    const std::int64_t rows = out.numel();
    for (std::size_t k = 0; k < diff.size(); ++k) {
      const Tensor& x = inputs[diff[k]];
      std::vector<double> analytic(static_cast<std::size_t>(rows * x.numel()), 0.0);  // column-major
      if (out.requires_grad()) {
        for (std::int64_t r = 0; r < rows; ++r) {
          Tensor seed = zeros(out.sizes(), kFloat64);
          seed.data_ptr<double>()[r] = 1.0;
          const std::vector<Tensor> g = grad({out}, {x}, {seed}, true, false, true);
          if (!g[0].defined()) continue;
          for (std::int64_t e = 0; e < x.numel(); ++e) analytic[e * rows + r] = value_at(g[0], e);
        }
      }
      const auto& num = numeric[j][k];
      for (std::int64_t e = 0; e < x.numel(); ++e) {
        for (std::int64_t r = 0; r < rows; ++r) {
          const double n = num[e * rows + r], a = analytic[e * rows + r];
          if (std::abs(a - n) <= options.atol + options.rtol * std::abs(n)) continue;
          return fail(options, fmt::format("gradcheck: Jacobian mismatch for output {} with respect to input "
                                           "{}: d out{} / d in{}: numerical {:.12g}, analytical {:.12g} "
                                           "(|difference| {:.3g} > atol {:.3g} + rtol {:.3g} * |numerical|)",
                                           j, diff[k], index_str(out, r), index_str(x, e), n, a, std::abs(a - n),
                                           options.atol, options.rtol));
        }
      }
    }
  }
  return true;
}

bool gradcheck(const SingleOutputFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  return gradcheck(MultiOutputFn([&fn](const std::vector<Tensor>& x) { return std::vector<Tensor>{fn(x)}; }), inputs,
                   options);
}

bool gradgradcheck(const MultiOutputFn& fn, const std::vector<Tensor>& inputs, const std::vector<Tensor>& grad_outputs,
                   const GradcheckOptions& options) {
  std::vector<Tensor> seeds = grad_outputs;
  if (seeds.empty()) {
    Generator gen(0x9a9a);
    const std::vector<Tensor> outputs = fn(inputs);
    for (const Tensor& out : outputs) {
      std::vector<double> v(static_cast<std::size_t>(out.numel()));
      for (double& x : v) x = gen.next_normal();
      seeds.push_back(from_blob(v.data(), out.sizes(), kFloat64).requires_grad_(true));
    }
  }
  const std::size_t n_in = inputs.size();
  std::vector<Tensor> all = inputs;
  all.insert(all.end(), seeds.begin(), seeds.end());
  const MultiOutputFn first_derivative = [&fn, n_in](const std::vector<Tensor>& args) {
    const std::vector<Tensor> x(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n_in));
    const std::vector<Tensor> g(args.begin() + static_cast<std::ptrdiff_t>(n_in), args.end());
    std::vector<Tensor> outs = fn(x), used_outs, used_seeds, diff_x;
    for (std::size_t j = 0; j < outs.size(); ++j) {
      if (!outs[j].requires_grad()) continue;
      used_outs.push_back(outs[j]);
      used_seeds.push_back(g[j]);
    }
    for (const Tensor& t : x) {
      if (t.defined() && t.requires_grad()) diff_x.push_back(t);
    }
    std::vector<Tensor> result;
    if (used_outs.empty()) return result;
    for (Tensor& r : grad(used_outs, diff_x, used_seeds, true, true, true)) {
      if (r.defined()) result.push_back(r);
    }
    return result;
  };
  return gradcheck(first_derivative, all, options);
}

bool gradgradcheck(const SingleOutputFn& fn, const std::vector<Tensor>& inputs, const std::vector<Tensor>& grad_outputs,
                   const GradcheckOptions& options) {
  return gradgradcheck(MultiOutputFn([&fn](const std::vector<Tensor>& x) { return std::vector<Tensor>{fn(x)}; }),
                       inputs, grad_outputs, options);
}

}  // namespace voxgrad::autograd
