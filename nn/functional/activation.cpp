#include "voxgrad/nn/functional/activation.h"

#include <algorithm>
#include <functional>

#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/nn/detail/checks.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/elementwise_math.h"
#include "voxgrad/ops/linalg.h"
#include "voxgrad/ops/softmax.h"

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

Tensor elu(const Tensor& input, const ELUFuncOptions& options) {
  if (!options.inplace()) return voxgrad::elu(input, options.alpha());
  Tensor self = input;
  return voxgrad::elu_(self, options.alpha());
}

Tensor softplus(const Tensor& input, const SoftplusFuncOptions& options) {
  return voxgrad::softplus(input, options.beta(), options.threshold());
}

Tensor hardtanh(const Tensor& input, const HardtanhFuncOptions& options) {
  return voxgrad::hardtanh(input, options.min_val(), options.max_val());
}

Tensor relu6(const Tensor& input) { return voxgrad::relu6(input); }
Tensor logsigmoid(const Tensor& input) { return voxgrad::log_sigmoid(input); }
Tensor mish(const Tensor& input) { return voxgrad::mish(input); }
Tensor hardswish(const Tensor& input) { return voxgrad::hardswish(input); }
Tensor hardsigmoid(const Tensor& input) { return voxgrad::hardsigmoid(input); }

Tensor prelu(const Tensor& input, const Tensor& weight) {
  voxgrad::detail::check_defined(input, "prelu", "input");
  voxgrad::detail::check_defined(weight, "prelu", "weight");
  VOXGRAD_CHECK(weight.dim() <= 1, "prelu: Expected `weight` to be a scalar or 1D tensor, but got ndim = {}",
                weight.dim());
  const std::int64_t channels = input.dim() >= 2 ? input.size(1) : 1;
  VOXGRAD_CHECK(weight.numel() == 1 || weight.numel() == channels,
                "prelu: Mismatch of parameter numbers and input channel size. Found parameter numbers = {} and "
                "channel size = {}.",
                weight.numel(), channels);
  // max(0, x) + w·min(0, x), with w broadcast per channel as (1, C, 1, ...): the relu's zero
  // gradient at 0 gives PyTorch's w there.
  Shape ws(static_cast<std::size_t>(std::max<std::int64_t>(input.dim(), 1)), 1);
  if (weight.numel() > 1) ws[1] = channels;
  const Tensor pos = voxgrad::relu(input);
  return pos + weight.reshape(input.dim() == 0 ? Shape{} : ws) * (input - pos);
}

Tensor softmax(const Tensor& input, const SoftmaxFuncOptions& options) {
  return voxgrad::softmax(input, options.dim());
}

Tensor log_softmax(const Tensor& input, const LogSoftmaxFuncOptions& options) {
  return voxgrad::log_softmax(input, options.dim());
}

namespace {

// Dropout with one draw per element of a mask of `mask_shape` (which broadcasts against the input):
// the input's shape for dropout, (N, C, 1, 1, 1) for dropout3d.
Tensor masked_dropout(const char* op, const Tensor& input, const DropoutFuncOptions& options,
                      const std::function<Shape(const Tensor&)>& mask_shape) {
  const double p = options.p();
  nn::detail::check_dropout_probability(p, op);
  voxgrad::detail::check_defined(input, op, "input");
  const Shape shape = mask_shape(input);
  if (!options.training() || p == 0.0 || input.numel() == 0) return input;
  voxgrad::detail::check_floating(input, op);
  Tensor self = input;
  if (p == 1.0) return options.inplace() ? self.mul_(zeros({}, input.dtype())) : input * zeros({}, input.dtype());
  // Keep where u < 1 − p (u ~ U[0, 1) in the input's dtype), scaled by 1/(1 − p); the product with
  // the mask routes the gradient through the kept elements only.
  const Tensor mask = rand(shape, input.dtype()).lt(1.0 - p) * (1.0 / (1.0 - p));
  return options.inplace() ? self.mul_(mask) : input * mask;
}

}  // namespace

Tensor dropout(const Tensor& input, const DropoutFuncOptions& options) {
  return masked_dropout("dropout", input, options, [](const Tensor& x) { return x.sizes(); });
}

Tensor dropout3d(const Tensor& input, const Dropout3dFuncOptions& options) {
  return masked_dropout("dropout3d", input, options, [](const Tensor& x) {
    // PyTorch 1.13 only warns for other ranks (and says it will become an error); voxgrad refuses them.
    VOXGRAD_CHECK(x.dim() == 4 || x.dim() == 5,
                  "dropout3d: expected a 5-D (N, C, D, H, W) or unbatched 4-D (C, D, H, W) input, but got a {}-D "
                  "input of size {}",
                  x.dim(), shape_str(x.sizes()));
    // One draw per (sample, channel); an unbatched input is one sample, its dim 0 the channels.
    const std::int64_t batch = x.dim() == 5 ? x.size(0) : 1;
    const std::int64_t channels = x.size(x.dim() - 4);
    return x.dim() == 5 ? Shape{batch, channels, 1, 1, 1} : Shape{channels, 1, 1, 1};
  });
}

Tensor flatten(const Tensor& input, const FlattenFuncOptions& options) {
  voxgrad::detail::check_defined(input, "flatten", "input");
  return input.flatten(options.start_dim(), options.end_dim());
}

}  // namespace voxgrad::nn::functional
