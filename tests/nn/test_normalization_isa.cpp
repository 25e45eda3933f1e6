// BatchNorm3d, InstanceNorm3d, GroupNorm, GroupNorm+ReLU and LayerNorm on every instruction set: their
// loops are compiled once per set and picked at run time (ops/detail/norm_loops.h), and every copy
// rounds alike, so forcing a narrower set changes no bit of the outputs, gradients or running
// statistics.

#include <voxgrad/voxgrad.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "isa_override.h"
#include "test_util.h"

namespace {

using namespace voxgrad;
namespace vt = voxgrad::testing;
namespace F = voxgrad::nn::functional;

// Every result of one training step and one eval forward of the norms on x0 with upstream gradient go.
std::vector<Tensor> norms_step(const Tensor& x0, const Tensor& go) {
  const DType dt = x0.dtype();
  const std::int64_t C = x0.size(1);
  manual_seed(62);
  auto bn = std::make_shared<nn::BatchNorm3dImpl>(C);
  auto gn = std::make_shared<nn::GroupNormImpl>(2, C);
  auto gn_plain = std::make_shared<nn::GroupNormImpl>(nn::GroupNormOptions(4, C).affine(false));
  auto in =
      std::make_shared<nn::InstanceNorm3dImpl>(nn::InstanceNorm3dOptions(C).affine(true).track_running_stats(true));
  for (nn::Module* m : {static_cast<nn::Module*>(bn.get()), static_cast<nn::Module*>(gn.get()),
                        static_cast<nn::Module*>(gn_plain.get()), static_cast<nn::Module*>(in.get())}) {
    m->to(dt);
    for (Tensor& p : m->parameters()) {
      NoGradGuard no_grad;
      p.copy_(rand(p.sizes(), dt) + 0.5);
    }
  }
  // The weight-only gradients: a GroupNorm+ReLU whose input needs no gradient (no dx computed).
  const Tensor w = (rand({C}, dt) + 0.5).requires_grad_(), b = randn({C}, dt).requires_grad_();
  const Tensor x = x0.clone().requires_grad_();
  const Tensor y = bn->forward(x) + gn->forward(x) + gn_plain->forward(x) + in->forward(x) +
                   F::group_norm_relu(x, F::GroupNormFuncOptions(4).weight(gn->weight).bias(gn->bias)) +
                   F::group_norm_relu(x, F::GroupNormFuncOptions(2)) +
                   F::group_norm_relu(x0, F::GroupNormFuncOptions(4).weight(w).bias(b)) +
                   F::layer_norm(x, F::LayerNormFuncOptions({x0.size(2), x0.size(3), x0.size(4)}));
  y.backward(go);
  bn->eval();
  return {y,        x.grad(),        bn->weight.grad(), bn->bias.grad(), gn->weight.grad(), w.grad(),
          b.grad(), in->bias.grad(), bn->running_mean,  bn->running_var, in->running_var,   bn->forward(x0)};
}

// The kernels run stat group by stat group when a group's tensors fit in half of L2 and there are at
// least 4 groups per thread, else in passes over all planes. At 1 thread BatchNorm (8 groups),
// InstanceNorm and LayerNorm (a group per (n, c): 8 or 24) and the 4-group GroupNorms take the first
// way, the 2-group ones on the long rows (N = 1) the second; at 8 threads all take the second. The
// long rows (20 000 elements) run over several chunks of the statistics and the ReLU.
TEST(NormalizationIsa, EveryInstructionSetGivesBitIdenticalOutputsGradientsAndRunningStats) {
  vt::RestoreTwoThreads restore;
  const std::vector<CpuIsa> isas = vt::runnable_isas();
  const Shape shapes[2] = {{3, 8, 9, 10, 11}, {1, 8, 20, 25, 40}};
  for (int threads : {1, 8}) {
    set_num_threads(threads);
    for (DType dt : {kFloat32, kFloat64}) {
      for (const Shape& shape : shapes) {
        manual_seed(61);
        const Tensor x0 = randn(shape, dt), go = randn(shape, dt);
        std::vector<Tensor> first;
        for (CpuIsa isa : isas) {
          const vt::IsaOverride use(isa);
          const std::vector<Tensor> results = norms_step(x0, go);
          if (first.empty()) {
            first = results;
            continue;
          }
          ASSERT_EQ(results.size(), first.size());
          for (std::size_t i = 0; i < results.size(); ++i) {
            vt::expect_bitwise_equal(results[i], first[i],
                                     "result " + std::to_string(i) + " on " + to_string(isa) + ", " +
                                         std::to_string(threads) + " thread(s), " + std::string(dtype_name(dt)) + ", " +
                                         (shape[0] == 3 ? "short rows" : "long rows"));
          }
        }
      }
    }
  }
}

}  // namespace
