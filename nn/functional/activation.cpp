#include "voxgrad/nn/functional/activation.h"

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/checks.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/linalg.h"

namespace voxgrad::nn {

void detail::check_dropout_probability(double p, const char* op) {
  VOXGRAD_CHECK(p >= 0.0 && p <= 1.0, "{}: dropout probability has to be between 0 and 1, but got {}", op, p);
}

}  // namespace voxgrad::nn

namespace voxgrad::nn::functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  voxgrad::detail::check_defined(input, "linear", "input");
  voxgrad::detail::check_defined(weight, "linear", "weight");
  VOXGRAD_CHECK(weight.dim() == 2, "linear: weight must be 2-D (out_features, in_features), but got shape {}",
                shape_str(weight.sizes()));
  VOXGRAD_CHECK(input.dim() >= 1, "linear: input must have at least 1 dim, but got a 0-d tensor");
  const std::int64_t in = weight.size(1), out = weight.size(0);
  VOXGRAD_CHECK(input.size(-1) == in,
                "linear: input's last dim is {} but the weight expects in_features={} (input {}, weight {})",
                input.size(-1), in, shape_str(input.sizes()), shape_str(weight.sizes()));
  if (bias.defined()) {
    VOXGRAD_CHECK(bias.dim() == 1 && bias.size(0) == out,
                  "linear: bias must have shape [{}] (out_features), but got {}", out, shape_str(bias.sizes()));
  }
  // (*, in) -> (rows, in) · (in, out) -> (*, out): one GEMM whatever the leading dims.
  Shape out_shape = input.sizes();
  out_shape.back() = out;
  std::int64_t rows = 1;
  for (std::int64_t d = 0; d + 1 < input.dim(); ++d) rows *= input.size(d);
  Tensor y = mm(input.reshape({rows, in}), weight.t());
  if (bias.defined()) y = y + bias;
  return y.reshape(out_shape);
}

Tensor relu(const Tensor& input, const ReLUFuncOptions& options) {
  if (!options.inplace()) return voxgrad::relu(input);
  Tensor self = input;
  return self.relu_();
}

Tensor leaky_relu(const Tensor& input, const LeakyReLUFuncOptions& options) {
  if (!options.inplace()) return voxgrad::leaky_relu(input, options.negative_slope());
  Tensor self = input;
  return self.leaky_relu_(options.negative_slope());
}

Tensor gelu(const Tensor& input, const GELUFuncOptions& options) { return voxgrad::gelu(input, options.approximate()); }

Tensor silu(const Tensor& input) { return voxgrad::silu(input); }

Tensor dropout(const Tensor& input, const DropoutFuncOptions& options) {
  const double p = options.p();
  nn::detail::check_dropout_probability(p, "dropout");
  voxgrad::detail::check_defined(input, "dropout", "input");
  if (!options.training() || p == 0.0 || input.numel() == 0) return input;
  voxgrad::detail::check_floating(input, "dropout");
  Tensor self = input;
  if (p == 1.0) return options.inplace() ? self.mul_(zeros({}, input.dtype())) : input * zeros({}, input.dtype());
  // Keep an element where u < 1 − p (u ~ U[0, 1) in the input's dtype), scaled by 1/(1 − p); the
  // product with the mask routes the gradient through the kept elements only.
  const Tensor mask = rand(input.sizes(), input.dtype()).lt(1.0 - p) * (1.0 / (1.0 - p));
  return options.inplace() ? self.mul_(mask) : input * mask;
}

Tensor flatten(const Tensor& input, const FlattenFuncOptions& options) {
  voxgrad::detail::check_defined(input, "flatten", "input");
  return input.flatten(options.start_dim(), options.end_dim());
}

}  // namespace voxgrad::nn::functional
