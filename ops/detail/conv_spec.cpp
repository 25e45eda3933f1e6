#include "voxgrad/ops/detail/conv_spec.h"

#include <algorithm>
#include <vector>

#include "voxgrad/core/error.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::detail {

namespace {

constexpr std::array<const char*, 3> kDimNames = {"depth", "height", "width"};

// The first lifted dim the caller has.
std::size_t first_dim(int rank) { return 3 - static_cast<std::size_t>(rank); }

// "(5 x 5)": per-channel sizes of the caller's dims, as PyTorch prints them.
std::string sizes_str(const Dims& d, int rank) {
  std::vector<std::int64_t> v(d.begin() + static_cast<std::ptrdiff_t>(first_dim(rank)), d.end());
  return fmt::format("({})", fmt::join(v, " x "));
}

// "output_padding_height: 1 output_padding_width: 1" for a rank-2 call.
std::string named_str(const char* what, const Dims& d, int rank) {
  std::string s;
  for (std::size_t i = first_dim(rank); i < 3; ++i) {
    s += fmt::format("{}{}_{}: {}", s.empty() ? "" : " ", what, kDimNames[i], d[i]);
  }
  return s;
}

// The spatial sizes of a (rank + 1)- or (rank + 2)-dim shape, lifted.
Dims spatial_of(IntArrayRef sizes, int rank) {
  Dims d{1, 1, 1};
  const std::size_t lead = sizes.size() - static_cast<std::size_t>(rank);
  for (std::size_t i = 0; i < static_cast<std::size_t>(rank); ++i) d[first_dim(rank) + i] = sizes[lead + i];
  return d;
}

void check_kernel_fits(const ConvSpec& s, const Dims& padded, const Dims& dilated) {
  bool fits = true;
  for (std::size_t i = 0; i < 3; ++i) fits = fits && dilated[i] <= padded[i];
  VOXGRAD_CHECK(fits,
                "{}: Calculated padded input size per channel: {}. Kernel size: {}. Kernel size can't be greater "
                "than actual input size",
                s.op, sizes_str(padded, s.rank), sizes_str(dilated, s.rank));
}

// Dims from d(k − 1) + 1 per dim: the extent a dilated kernel covers.
Dims dilated_extent(const ConvSpec& s, const Dims& kernel) {
  Dims e{};
  for (std::size_t i = 0; i < 3; ++i) e[i] = checked_add(checked_mul(s.dilation[i], kernel[i] - 1, s.op), 1, s.op);
  return e;
}

}  // namespace

std::string tuple_str(const Dims& d, int rank) {
  if (rank == 1) return fmt::format("({},)", d[2]);
  std::vector<std::int64_t> v(d.begin() + static_cast<std::ptrdiff_t>(first_dim(rank)), d.end());
  return fmt::format("({})", fmt::join(v, ", "));
}

void throw_negative_padding(const char* op, const std::string& shown) {
  throw Error(fmt::format("{}: negative padding is not supported (got {})", op, shown));
}

void check_conv_hyper_parameters(const ConvSpec& s) {
  VOXGRAD_CHECK(s.groups > 0, "{}: non-positive groups is not supported (got groups={})", s.op, s.groups);
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(s.stride[i] > 0, "{}: non-positive stride is not supported (got stride={})", s.op,
                  tuple_str(s.stride, s.rank));
    if (s.padding[i] < 0) throw_negative_padding(s.op, "padding=" + tuple_str(s.padding, s.rank));
    VOXGRAD_CHECK(s.dilation[i] > 0, "{}: dilation should be greater than zero (got dilation={})", s.op,
                  tuple_str(s.dilation, s.rank));
  }
  bool output_padding_fits = true;
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(s.output_padding[i] >= 0, "{}: negative output_padding is not supported (got output_padding={})",
                  s.op, tuple_str(s.output_padding, s.rank));
    output_padding_fits =
        output_padding_fits && (s.output_padding[i] < s.stride[i] || s.output_padding[i] < s.dilation[i]);
  }
  VOXGRAD_CHECK(output_padding_fits,
                "{}: output padding must be smaller than either stride or dilation, but got {} {} {}", s.op,
                named_str("output_padding", s.output_padding, s.rank), named_str("stride", s.stride, s.rank),
                named_str("dilation", s.dilation, s.rank));
  if (s.same) {
    VOXGRAD_CHECK(s.stride == (Dims{1, 1, 1}),
                  "{}: padding='same' is not supported for strided convolutions (got stride={})", s.op,
                  tuple_str(s.stride, s.rank));
  }
}

void check_conv_kernel_size(const char* op, int rank, const Dims& kernel_size) {
  for (std::int64_t k : kernel_size) {
    VOXGRAD_CHECK(k > 0, "{}: kernel_size must be positive (got kernel_size={})", op, tuple_str(kernel_size, rank));
  }
}

void check_conv_input_rank(const char* op, int rank, IntArrayRef input_sizes) {
  const auto dims = static_cast<std::int64_t>(input_sizes.size());
  VOXGRAD_CHECK(dims == rank + 1 || dims == rank + 2,
                "Expected {}D (unbatched) or {}D (batched) input to {}, but got input of size: {}", rank + 1, rank + 2,
                op, shape_str(input_sizes));
}

ConvPlan check_conv(const ConvSpec& s, const Tensor& input, const Tensor& weight, const Tensor& bias) {
  const char* op = s.op;
  check_conv_hyper_parameters(s);
  check_defined(input, op, "input");
  check_defined(weight, op, "weight");
  check_conv_input_rank(op, s.rank, input.sizes());
  VOXGRAD_CHECK(weight.dim() == s.rank + 2, "{}: expected a {}-D weight, but got weight of size {}", op, s.rank + 2,
                shape_str(weight.sizes()));
  for (std::int64_t d = 2; d < weight.dim(); ++d) {
    VOXGRAD_CHECK(weight.size(d) > 0, "{}: kernel size must be positive, but got weight of size {}", op,
                  shape_str(weight.sizes()));
  }
  check_floating(input, op);
  VOXGRAD_CHECK(input.dtype() == weight.dtype(), "{}: input ({}) and weight ({}) must have the same dtype", op,
                input.dtype(), weight.dtype());
  if (bias.defined()) {
    VOXGRAD_CHECK(bias.dtype() == input.dtype(), "{}: bias ({}) and input ({}) must have the same dtype", op,
                  bias.dtype(), input.dtype());
  }

  // Channels and groups, on the caller's shapes.
  ConvPlan plan;
  plan.batched = input.dim() == s.rank + 2;
  const std::int64_t N = plan.batched ? input.size(0) : 1, cin = input.size(plan.batched ? 1 : 0);
  const std::int64_t groups = s.groups, w0 = weight.size(0);
  VOXGRAD_CHECK(w0 >= groups,
                "Given groups={}, expected weight to be at least {} at dimension 0, but got weight of size {} instead",
                groups, groups, shape_str(weight.sizes()));
  VOXGRAD_CHECK(w0 % groups == 0,
                "Given groups={}, expected weight to be divisible by {} at dimension 0, but got weight of size {} "
                "instead",
                groups, groups, shape_str(weight.sizes()));
  // The input's channels: weight.size(1)·groups for a convolution, weight.size(0) transposed.
  // Messages show the input as batched, as PyTorch does (it adds the batch dim before checking).
  const auto batched_str = [&] {
    Shape sizes(input.sizes().begin(), input.sizes().end());
    if (!plan.batched) sizes.insert(sizes.begin(), 1);
    return shape_str(sizes);
  };
  const std::int64_t expected = s.transposed ? w0 : checked_mul(weight.size(1), groups, op);
  if (s.transposed) {
    VOXGRAD_CHECK(expected == cin,
                  "Given transposed=1, weight of size {}, expected input{} to have {} channels, but got {} channels "
                  "instead",
                  shape_str(weight.sizes()), batched_str(), expected, cin);
  } else {
    VOXGRAD_CHECK(expected == cin,
                  "Given groups={}, weight of size {}, expected input{} to have {} channels, but got {} channels "
                  "instead",
                  groups, shape_str(weight.sizes()), batched_str(), expected, cin);
  }
  const std::int64_t cout = s.transposed ? checked_mul(weight.size(1), groups, op) : w0;
  if (bias.defined()) {
    VOXGRAD_CHECK(bias.dim() == 1 && bias.size(0) == cout,
                  "{}: expected bias of shape [{}] (one value per output channel), but got bias of size {}", op, cout,
                  shape_str(bias.sizes()));
  }

  // Sizes, per lifted dim (the leading ones are 1 with kernel 1 and pass through).
  const Dims in = spatial_of(input.sizes(), s.rank), kernel = spatial_of(weight.sizes(), s.rank);
  Dims padding = s.padding, out{};
  if (!s.transposed) {
    const Dims dilated = dilated_extent(s, kernel);
    Dims padded{};
    for (std::size_t i = 0; i < 3; ++i) {
      if (s.same) {
        // 'same' pads d·(k − 1) in total, half on each side and the odd zero at the end. An odd
        // total is padded (total + 1) / 2 on both sides instead and the first output plane dropped:
        // the same taps, without a padded copy of the input.
        const std::int64_t total = dilated[i] - 1;
        plan.trim[i] = total % 2;
        padding[i] = total / 2 + plan.trim[i];
        padded[i] = checked_add(in[i], total, op);
      } else {
        padded[i] = checked_add(in[i], checked_mul(2, padding[i], op), op);
      }
    }
    check_kernel_fits(s, padded, dilated);
    for (std::size_t i = 0; i < 3; ++i) {
      const std::int64_t full = s.same ? checked_add(in[i], checked_mul(2, padding[i], op), op) : padded[i];
      out[i] = (full - dilated[i]) / s.stride[i] + 1;
      plan.result[i] = out[i] - plan.trim[i];
    }
  } else {
    for (std::size_t i = 0; i < 3; ++i) {
      // (in − 1)·s − 2p + d·(k − 1) + output_padding + 1
      std::int64_t o = checked_mul(std::max<std::int64_t>(in[i] - 1, 0), s.stride[i], op);
      o = checked_add(o, checked_mul(s.dilation[i], kernel[i] - 1, op), op);
      // output_padding + 1 cannot overflow (output_padding < stride or dilation); 2·padding can.
      o = checked_add(o, s.output_padding[i] + 1, op);
      o = checked_add(o, -checked_mul(2, padding[i], op), op);
      out[i] = in[i] == 0 ? 0 : o;
    }
    VOXGRAD_CHECK(
        out[0] > 0 && out[1] > 0 && out[2] > 0,
        "{}: Given input size per channel: {}. Calculated output size per channel: {}. Output size is too small", op,
        sizes_str(in, s.rank), sizes_str(out, s.rank));
    plan.result = out;
  }
  checked_numel({N, cout, out[0], out[1], out[2]}, op);

  ConvGeometry& g = plan.geometry;
  g.N = N;
  g.groups = groups;
  g.kernel = kernel;
  g.stride = s.stride;
  g.padding = padding;
  g.dilation = s.dilation;
  if (s.transposed) {  // the transposed convolution is the adjoint map: its output is the volume
    g.Cin = cout;
    g.Cout = cin;
    g.vol = out;
    g.out = in;
  } else {
    g.Cin = cin;
    g.Cout = cout;
    g.vol = in;
    g.out = out;
  }
  return plan;
}

ConvGeometry check_conv_weight_grad(const ConvSpec& s, const Tensor& input, const Tensor& grad_output,
                                    const Dims& kernel_size) {
  const char* op = s.op;
  check_conv_hyper_parameters(s);
  check_defined(input, op, "input");
  check_defined(grad_output, op, "grad_output");
  VOXGRAD_CHECK(input.dim() == 5 && grad_output.dim() == 5 && input.size(0) == grad_output.size(0),
                "{}: expected 5-D input and grad_output with the same batch size, but got {} and {}", op,
                shape_str(input.sizes()), shape_str(grad_output.sizes()));
  VOXGRAD_CHECK(input.dtype() == grad_output.dtype() && is_floating_point(input.dtype()),
                "{}: input ({}) and grad_output ({}) must share a floating dtype", op, input.dtype(),
                grad_output.dtype());
  VOXGRAD_CHECK(input.size(1) % s.groups == 0 && grad_output.size(1) % s.groups == 0,
                "{}: channels {} and {} must be divisible by groups={}", op, input.size(1), grad_output.size(1),
                s.groups);
  ConvGeometry g;
  g.N = input.size(0);
  g.Cin = input.size(1);
  g.Cout = grad_output.size(1);
  g.groups = s.groups;
  g.kernel = kernel_size;
  g.stride = s.stride;
  g.padding = s.padding;
  g.dilation = s.dilation;
  for (std::size_t i = 0; i < 3; ++i) {
    VOXGRAD_CHECK(kernel_size[i] > 0, "{}: kernel size must be positive, got {}", op, tuple_str(kernel_size, 3));
    // A kernel wider than the padded input allows no output at all (plain division would truncate
    // a negative numerator towards zero and allow one).
    const auto d = static_cast<std::int64_t>(i);
    const std::int64_t padded = checked_add(input.size(2 + d), checked_mul(2, s.padding[i], op), op);
    const std::int64_t span = checked_add(checked_mul(s.dilation[i], kernel_size[i] - 1, op), 1, op);
    const std::int64_t natural = padded < span ? 0 : (padded - span) / s.stride[i] + 1;
    VOXGRAD_CHECK(grad_output.size(2 + d) <= natural,
                  "{}: grad_output of size {} is larger than the convolution of input {} gives", op,
                  shape_str(grad_output.sizes()), shape_str(input.sizes()));
    g.vol[i] = input.size(2 + d);
    g.out[i] = grad_output.size(2 + d);
  }
  return g;
}

Dims conv_transpose_output_padding(const ConvSpec& s, IntArrayRef input_sizes, IntArrayRef output_size,
                                   const Dims& kernel_size) {
  const char* op = s.op;
  check_conv_input_rank(op, s.rank, input_sizes);
  // A full shape carries batch and channel entries first; only the spatial sizes matter (the
  // channel entry is often the encoder input's, not this layer's output channels).
  const auto in_dim = static_cast<std::int64_t>(input_sizes.size());
  const auto out_len = static_cast<std::int64_t>(output_size.size());
  VOXGRAD_CHECK(out_len == s.rank || out_len == in_dim,
                "{}: for {}D input, output_size must have {} or {} elements (got {}: {})", op, in_dim, s.rank, in_dim,
                out_len, shape_str(output_size));
  check_conv_hyper_parameters(s);
  check_conv_kernel_size(op, s.rank, kernel_size);
  const Dims in = spatial_of(input_sizes, s.rank), requested = spatial_of(output_size, s.rank);
  Dims lo{}, hi{}, result{};
  bool fits = true;
  for (std::size_t i = 0; i < 3; ++i) {
    // min = (in − 1)·s − 2p + d·(k − 1) + 1; output_padding adds 0 … s − 1 to it.
    std::int64_t m = checked_mul(in[i] - 1, s.stride[i], op);
    m = checked_add(m, -checked_mul(2, s.padding[i], op), op);
    m = checked_add(m, checked_mul(s.dilation[i], kernel_size[i] - 1, op), op);
    lo[i] = checked_add(m, 1, op);
    hi[i] = checked_add(lo[i], s.stride[i] - 1, op);
    fits = fits && requested[i] >= lo[i] && requested[i] <= hi[i];
    result[i] = requested[i] - lo[i];
  }
  auto list = [&](const Dims& d) {
    std::vector<std::int64_t> v(d.begin() + static_cast<std::ptrdiff_t>(first_dim(s.rank)), d.end());
    return shape_str(v);
  };
  VOXGRAD_CHECK(fits, "{}: requested an output size of {}, but valid sizes range from {} to {} (for an input of {})",
                op, list(requested), list(lo), list(hi), list(in));
  return result;
}

Tensor lift_spatial(const Tensor& t, int rank, std::int64_t spatial_start) {
  Tensor r = t;
  for (int k = rank; k < 3; ++k) r = r.unsqueeze(spatial_start);
  return r;
}

Tensor drop_spatial(const Tensor& t, int rank, std::int64_t spatial_start) {
  Tensor r = t;
  for (int k = rank; k < 3; ++k) r = r.squeeze(spatial_start);
  return r;
}

}  // namespace voxgrad::detail
