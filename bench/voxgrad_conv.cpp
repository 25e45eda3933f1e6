// voxgrad::conv3d / voxgrad::conv_transpose3d on the benchmark cases. Public headers only.

#include <memory>

#include <voxgrad/ops/conv.h>
#include <voxgrad/voxgrad.h>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

using voxgrad::Tensor;

Tensor forward(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  if (c.transposed) {
    return voxgrad::conv_transpose3d(x, w, b, c.stride, c.padding, c.output_padding, c.groups, c.dilation);
  }
  return voxgrad::conv3d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
}

void bench(benchmark::State& state, const ConvCase& c, bool backward, BenchState& bs) {
  voxgrad::manual_seed(0);
  const auto opts = voxgrad::dtype(voxgrad::kFloat32).requires_grad(backward);
  Tensor x = voxgrad::rand(c.input_shape(), opts);
  Tensor w = voxgrad::rand(c.weight_shape(), opts);
  Tensor b = voxgrad::rand({c.cout}, opts);
  Tensor gy = voxgrad::rand(c.output_shape(), voxgrad::kFloat32);  // the fixed output gradient

  if (!backward) {
    voxgrad::NoGradGuard no_grad;
    run(
        state, c, false, bs, [&] { benchmark::DoNotOptimize(forward(c, x, w, b).raw_data_ptr()); }, [] {});
    return;
  }
  auto step = [&] {
    Tensor y = forward(c, x, w, b);
    voxgrad::autograd::backward({y}, {gy});
  };
  auto reset = [&] {  // set_to_none: the next backward stores fresh gradients
    x.set_grad({});
    w.set_grad({});
    b.set_grad({});
  };
  run(state, c, true, bs, step, reset);
}

std::vector<float> to_vector(const Tensor& t) {
  const Tensor c = t.contiguous();
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

}  // namespace

ConvOutputs voxgrad_compute(const ConvCase& c, const ConvData& d) {
  Tensor x = voxgrad::from_blob(d.x.data(), c.input_shape());
  Tensor w = voxgrad::from_blob(d.w.data(), c.weight_shape());
  Tensor b = voxgrad::from_blob(d.b.data(), {c.cout});
  for (Tensor* t : {&x, &w, &b}) t->requires_grad_(true);
  const Tensor y = forward(c, x, w, b);
  voxgrad::autograd::backward({y}, {voxgrad::from_blob(d.gy.data(), c.output_shape())});
  return {to_vector(y), to_vector(x.grad()), to_vector(w.grad()), to_vector(b.grad())};
}

void voxgrad_set_threads(int n) { voxgrad::set_num_threads(n); }

void register_voxgrad_maps(const ConvCase& c) {
  // The three maps of a conv3d, each alone: forward (conv3d without bias), adjoint (the input
  // gradient, as conv_transpose3d of dY) and weight (conv3d_weight_grad). Each has the forward's FLOPs.
  // For a transposed case the roles swap: forward is conv_transpose3d, its adjoint the conv3d of dY
  // with the same weight, and its weight gradient conv3d_weight_grad with dY as the input.
  const char* maps[] = {"forward", "adjoint", "weight"};
  for (int m = 0; m < 3; ++m) {
    auto* bs = new BenchState();
    bs->before_memory_probe = [] { voxgrad::empty_cache(); };
    const std::string name = "MAP/" + c.name + "/" + maps[m] + "/voxgrad";
    configure(
        benchmark::RegisterBenchmark(
            name.c_str(),
            [c, m, bs](benchmark::State& state) {
              voxgrad::manual_seed(0);
              voxgrad::NoGradGuard no_grad;
              const Tensor x = voxgrad::rand(c.input_shape());
              const Tensor w = voxgrad::rand(c.weight_shape());
              const Tensor gy = voxgrad::rand(c.output_shape());
              const Dims out = c.out();
              Dims out_pad{};
              for (int i = 0; i < 3; ++i) {
                out_pad[i] =
                    c.in[i] - ((out[i] - 1) * c.stride[i] - 2 * c.padding[i] + c.dilation[i] * (c.kernel[i] - 1) + 1);
              }
              auto step_transposed = [&] {
                const Tensor r =
                    m == 0   ? voxgrad::conv_transpose3d(x, w, {}, c.stride, c.padding, c.output_padding, c.groups,
                                                         c.dilation)
                    : m == 1 ? voxgrad::conv3d(gy, w, {}, c.stride, c.padding, c.dilation, c.groups)
                             : voxgrad::conv3d_weight_grad(gy, x, c.kernel, c.stride, c.padding, c.dilation, c.groups);
                benchmark::DoNotOptimize(r.raw_data_ptr());
              };
              if (c.transposed) {
                run(state, c, false, *bs, step_transposed, [] {});
                return;
              }
              auto step = [&] {
                const Tensor r =
                    m == 0   ? voxgrad::conv3d(x, w, {}, c.stride, c.padding, c.dilation, c.groups)
                    : m == 1 ? voxgrad::conv_transpose3d(gy, w, {}, c.stride, c.padding, out_pad, c.groups, c.dilation)
                             : voxgrad::conv3d_weight_grad(x, gy, c.kernel, c.stride, c.padding, c.dilation, c.groups);
                benchmark::DoNotOptimize(r.raw_data_ptr());
              };
              run(state, c, false, *bs, step, [] {});
            }),
        c);
  }
}

void register_voxgrad(const ConvCase& c, bool backward) {
  auto* bs = new BenchState();
  bs->before_memory_probe = [] { voxgrad::empty_cache(); };
  configure(benchmark::RegisterBenchmark(bench_name(c, backward, "voxgrad").c_str(),
                                         [c, backward, bs](benchmark::State& s) { bench(s, c, backward, *bs); }),
            c);
}

}  // namespace voxgrad_bench
