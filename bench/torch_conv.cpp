// torch::conv3d / torch::conv_transpose3d on the same cases, same thread count. Compiled only
// when CMake found libtorch; libtorch is linked into the benchmark binary and nothing else.

#include <torch/torch.h>

#include <sstream>

#include "bench_common.h"

namespace voxgrad_bench {

namespace {

torch::IntArrayRef ref(const Dims& d) { return torch::IntArrayRef(d.data(), d.size()); }

torch::Tensor forward(const ConvCase& c, const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (c.transposed) {
    return torch::conv_transpose3d(x, w, b, ref(c.stride), ref(c.padding), ref(c.output_padding), c.groups,
                                   ref(c.dilation));
  }
  return torch::conv3d(x, w, b, ref(c.stride), ref(c.padding), ref(c.dilation), c.groups);
}

void bench(benchmark::State& state, const ConvCase& c, bool backward, BenchState& bs) {
  torch::manual_seed(0);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).requires_grad(backward);
  torch::Tensor x = torch::rand(c.input_shape(), opts);
  torch::Tensor w = torch::rand(c.weight_shape(), opts);
  torch::Tensor b = torch::rand({c.cout}, opts);
  torch::Tensor gy = torch::rand(c.output_shape(), torch::kFloat32);  // the fixed output gradient

  if (!backward) {
    torch::NoGradGuard no_grad;
    run(
        state, c, false, bs, [&] { benchmark::DoNotOptimize(forward(c, x, w, b).data_ptr()); }, [] {});
    return;
  }
  auto step = [&] {
    torch::Tensor y = forward(c, x, w, b);
    y.backward(gy);
  };
  auto reset = [&] {  // set_to_none, as optimizer.zero_grad(set_to_none=true)
    x.mutable_grad().reset();
    w.mutable_grad().reset();
    b.mutable_grad().reset();
  };
  run(state, c, true, bs, step, reset);
}

}  // namespace

void torch_set_threads(int n) { torch::set_num_threads(n); }

std::string torch_info() {
  std::ostringstream s;
  s << "libtorch " << TORCH_VERSION << ", " << torch::get_num_threads() << " threads, oneDNN "
    << (torch::globalContext().userEnabledMkldnn() ? "on" : "off");
  return s.str();
}

void register_torch(const ConvCase& c, bool backward) {
  auto* bs = new BenchState();
  configure(benchmark::RegisterBenchmark(bench_name(c, backward, "libtorch").c_str(),
                                         [c, backward, bs](benchmark::State& s) { bench(s, c, backward, *bs); }),
            c);
}

}  // namespace voxgrad_bench
