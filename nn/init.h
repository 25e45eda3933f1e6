#pragma once

#include <optional>
#include <utility>

#include "voxgrad/core/tensor.h"

/// In-place parameter initialisers, as torch::nn::init. Each runs under NoGradGuard, draws from the
/// global generator (see manual_seed) and returns the tensor it filled.
namespace voxgrad::nn::init {

/// Which fan kaiming_* scales by.
enum class FanMode { FanIn, FanOut };
/// libtorch-style name for FanMode::FanIn.
inline constexpr FanMode kFanIn = FanMode::FanIn;
/// libtorch-style name for FanMode::FanOut.
inline constexpr FanMode kFanOut = FanMode::FanOut;

/// The non-linearities calculate_gain knows, as PyTorch's strings.
enum class Nonlinearity {
  Linear,
  Conv1D,
  Conv2D,
  Conv3D,
  ConvTranspose1D,
  ConvTranspose2D,
  ConvTranspose3D,
  Sigmoid,
  Tanh,
  ReLU,
  LeakyReLU,
  SELU
};

/// The recommended gain for `nonlinearity`, as torch.nn.init.calculate_gain: 1 for linear, conv
/// and sigmoid; 5/3 for tanh; √2 for relu; √(2 / (1 + slope²)) for leaky_relu (`param` is the
/// slope, default 0.01); 3/4 for selu.
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);

/// (fan_in, fan_out) of a weight with at least 2 dims: size(1)·receptive and size(0)·receptive,
/// where receptive is the product of the sizes after the first two.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

/// Fills `tensor` with samples from U(low, high).
Tensor uniform_(Tensor tensor, double low = 0.0, double high = 1.0);

/// Fills `tensor` with samples from N(mean, std²); throws for std < 0 or an int64 tensor.
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0);

/// Fills `tensor` with `value` (any dtype; int64 tensors get the value truncated).
Tensor constant_(Tensor tensor, double value);

/// Fills `tensor` with zeros.
Tensor zeros_(Tensor tensor);

/// Fills `tensor` with ones.
Tensor ones_(Tensor tensor);

/// Samples of N(mean, std²) truncated to [a, b], as torch.nn.init.trunc_normal_ (inverse-CDF sampling:
/// u ~ U(2Φ(α) − 1, 2Φ(β) − 1) in float64, then mean + std·√2·erfinv(u), clamped to [a, b]; a = b fills a;
/// α, β the bounds in standard deviations from the mean). Where [α, β] lies 4 or more standard deviations
/// to one side of the mean, or is too narrow for Φ to tell its ends apart, by rejection sampling from an
/// exponential or uniform proposal (Robert 1995), from the global generator: PyTorch's inversion there
/// returns values in coarse steps, then a bound everywhere (with a warning; from about 5.5 standard
/// deviations in float32). A finite bound further from the mean than a double can count in standard
/// deviations gets every value (the law's limit); a = b = ±∞ fills ±∞. Throws unless std > 0, mean and std
/// are finite and a ≤ b.
Tensor trunc_normal_(Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0);

/// The identity matrix (ones on the diagonal of a rectangular 2-D tensor), as torch.nn.init.eye_.
Tensor eye_(Tensor tensor);

/// A convolution weight (3-, 4- or 5-D: out, in, spatial…) that passes its input channels through: in each of
/// `groups` groups, output channel d of the group takes input channel d at the kernel's centre (size // 2), for
/// d < min(out / groups, in); zeros elsewhere. As torch.nn.init.dirac_.
Tensor dirac_(Tensor tensor, std::int64_t groups = 1);

/// A (semi-)orthogonal matrix, as torch.nn.init.orthogonal_: the tensor flattened to (size(0), rest) gets Q of
/// the QR decomposition of a N(0, 1) matrix (of its transpose when it has more columns than rows), each
/// column's sign made that of R's diagonal, times gain. At least 2 dims; an empty tensor is left alone.
Tensor orthogonal_(Tensor tensor, double gain = 1.0);

/// A 2-D tensor of N(0, std²) samples with ceil(sparsity · rows) zeros in every column, at rows drawn by
/// randperm, as torch.nn.init.sparse_.
Tensor sparse_(Tensor tensor, double sparsity, double std = 0.01);

/// Glorot initialisation, as torch.nn.init.xavier_uniform_: U(−a, a) with
/// a = gain·√(6 / (fan_in + fan_out)). Needs at least 2 dims; a tensor with no elements is left as it is.
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0);

/// Glorot initialisation, as torch.nn.init.xavier_normal_: N(0, std²) with
/// std = gain·√(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor tensor, double gain = 1.0);

/// He initialisation, as torch.nn.init.kaiming_uniform_: U(−b, b) with b = gain·√(3 / fan), where
/// gain = calculate_gain(nonlinearity, a) and fan is fan_in or fan_out per `mode`. A tensor with no
/// elements is left as it is.
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);

/// He initialisation, as torch.nn.init.kaiming_normal_: N(0, std²) with std = gain / √fan, gain and
/// fan as for kaiming_uniform_. A tensor with no elements is left as it is.
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);

}  // namespace voxgrad::nn::init
