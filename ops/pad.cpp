// pad3d: a gather along each spatial dim by a per-mode index map; its adjoint scatters (adds)
// through the same loop.

#include "voxgrad/ops/pad.h"

#include <algorithm>
#include <vector>

#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/allocator.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/detail/parallel.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/conv_spec.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/detail/spatial.h"

namespace voxgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::Dims;
using detail::volume;

const char* padding_mode_name(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::Zeros: return "zeros";
    case PaddingMode::Reflect: return "reflect";
    case PaddingMode::Replicate: return "replicate";
    case PaddingMode::Circular: return "circular";
  }
  return "unknown";
}

namespace {

// For each padded position along a dim of `size`, the source index (or -1 for a zero).
std::vector<std::int64_t> pad_index_map(std::int64_t size, std::int64_t before, std::int64_t after, PaddingMode mode) {
  std::vector<std::int64_t> map(static_cast<std::size_t>(size + before + after));
  for (std::int64_t o = 0; o < static_cast<std::int64_t>(map.size()); ++o) {
    std::int64_t i = o - before;
    if (i < 0 || i >= size) {
      switch (mode) {
        case PaddingMode::Zeros: i = -1; break;
        case PaddingMode::Replicate: i = std::clamp<std::int64_t>(i, 0, size - 1); break;
        case PaddingMode::Circular: i = ((i % size) + size) % size; break;
        case PaddingMode::Reflect: {
          const std::int64_t period = 2 * (size - 1);
          i = ((i % period) + period) % period;
          if (i >= size) i = period - i;
          break;
        }
      }
    }
    map[static_cast<std::size_t>(o)] = i;
  }
  return map;
}

struct PadMaps {
  Dims out{};                                    // padded spatial size
  std::array<std::vector<std::int64_t>, 3> map;  // empty when the padded tensor has no elements
};

// Visits every padded position (c, i, j, k) with its flat offset in the padded tensor and the flat
// offset of its source element (or -1 for a zero), channels split across tasks.
template <typename Fn>
void for_each_padded(std::int64_t channels, const Dims& in_sz, const PadMaps& m, Fn&& fn) {
  const auto& md = m.map[0];
  const auto& mh = m.map[1];
  const auto& mw = m.map[2];
  if (md.empty() || mh.empty() || mw.empty()) return;
  const auto od = static_cast<std::int64_t>(md.size()), oh = static_cast<std::int64_t>(mh.size()),
             ow = static_cast<std::int64_t>(mw.size());
  const std::int64_t in_vol = volume(in_sz), out_vol = od * oh * ow;
  // Channels are independent, so the scatter stays race-free when split across them.
  detail::parallel_for(0, channels, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      for (std::int64_t i = 0; i < od; ++i) {
        for (std::int64_t j = 0; j < oh; ++j) {
          const bool inside = md[i] >= 0 && mh[j] >= 0;
          const std::int64_t src_row = c * in_vol + (md[i] * in_sz[1] + mh[j]) * in_sz[2];
          const std::int64_t dst_row = c * out_vol + (i * oh + j) * ow;
          for (std::int64_t k = 0; k < ow; ++k) {
            fn(dst_row + k, inside && mw[k] >= 0 ? src_row + mw[k] : -1);
          }
        }
      }
    }
  });
}

Tensor pad_scatter(const Tensor& grad, const Dims& in_sz, const PadMaps& maps);

Tensor pad_apply(const Tensor& x5, const Dims& in_sz, const PadMaps& maps) {
  const Tensor x = x5.contiguous();
  const std::int64_t N = x.sizes()[0], C = x.sizes()[1];
  Tensor y = empty({N, C, maps.out[0], maps.out[1], maps.out[2]}, x.dtype());
  detail::dispatch_floating(x.dtype(), "pad3d", [&]<typename T>() {
    const T* src = x.data_ptr<T>();
    T* dst = y.data_ptr<T>();
    for_each_padded(N * C, in_sz, maps, [&](std::int64_t o, std::int64_t i) { dst[o] = i >= 0 ? src[i] : T(0); });
  });
  record("Pad3dBackward", x, y, {},
         [maps, in_sz](const BackwardCtx& c) { return std::vector<Tensor>{pad_scatter(c.grad(), in_sz, maps)}; });
  return y;
}

Tensor pad_scatter(const Tensor& grad, const Dims& in_sz, const PadMaps& maps) {
  const Tensor g = grad.contiguous();
  const std::int64_t N = g.sizes()[0], C = g.sizes()[1];
  Tensor x = zeros({N, C, in_sz[0], in_sz[1], in_sz[2]}, g.dtype());
  detail::dispatch_floating(g.dtype(), "pad3d", [&]<typename T>() {
    const T* src = g.data_ptr<T>();
    T* dst = x.data_ptr<T>();
    for_each_padded(N * C, in_sz, maps, [&](std::int64_t o, std::int64_t i) {
      if (i >= 0) dst[i] += src[o];
    });
  });
  record("Pad3dBackwardBackward", g, x, {},
         [maps, in_sz](const BackwardCtx& c) { return std::vector<Tensor>{pad_apply(c.grad(), in_sz, maps)}; });
  return x;
}

}  // namespace

Tensor pad3d(const Tensor& input, const std::array<std::int64_t, 6>& pads, PaddingMode mode) {
  const char* op = "pad3d";
  detail::check_defined(input, op, "input");
  VOXGRAD_CHECK(input.dim() == 4 || input.dim() == 5,
                "{}: expected a 4-D (unbatched) or 5-D (batched) input, but got input of size {}", op,
                shape_str(input.sizes()));
  const Tensor x = detail::as_batched(input, 5);
  const Dims in_sz = detail::spatial(x);
  PadMaps maps;
  for (std::size_t d = 0; d < 3; ++d) {
    const std::int64_t before = pads[2 * d], after = pads[2 * d + 1];
    if (before < 0 || after < 0) detail::throw_negative_padding(op, fmt::format("{}", fmt::join(pads, ", ")));
    if (mode == PaddingMode::Reflect) {
      VOXGRAD_CHECK(before < in_sz[d] && after < in_sz[d],
                    "{}: padding size should be less than the corresponding input dimension for reflect "
                    "padding, but got padding ({}, {}) at dimension {} of input {}",
                    op, before, after, d + 2, shape_str(x.sizes()));
    }
    if (mode == PaddingMode::Circular || mode == PaddingMode::Replicate) {
      VOXGRAD_CHECK(in_sz[d] > 0 || (before == 0 && after == 0), "{}: {} padding of an empty dimension is not possible",
                    op, padding_mode_name(mode));
    }
    if (mode == PaddingMode::Circular) {
      VOXGRAD_CHECK(before <= in_sz[d] && after <= in_sz[d],
                    "{}: padding value causes wrapping around more than once (padding ({}, {}) for size {})", op,
                    before, after, in_sz[d]);
    }
    maps.out[d] = checked_add(checked_add(in_sz[d], before, op), after, op);
  }
  // The index maps are as long as the padded dims: build them only after the padded tensor's size
  // has been counted and its memory found to exist (and not at all when it has no elements).
  const std::int64_t numel = checked_numel({x.sizes()[0], x.sizes()[1], maps.out[0], maps.out[1], maps.out[2]}, op);
  if (numel > 0) {
    detail::check_allocation(op, numel, element_size(x.dtype()));
    for (std::size_t d = 0; d < 3; ++d) maps.map[d] = pad_index_map(in_sz[d], pads[2 * d], pads[2 * d + 1], mode);
  }
  const Tensor y = pad_apply(x, in_sz, maps);
  return input.dim() == 5 ? y : y.squeeze(0);
}

}  // namespace voxgrad
