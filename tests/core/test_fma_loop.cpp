// FmaLoop (core/detail/fma_loop.h): where the build has no FMA (VOXGRAD_NATIVE=OFF) it runs a loop in
// a copy compiled for AVX2 + FMA when the CPU has them, else as plain code calling libm's fma. Both
// must give the bits of std::fma itself (any NaN for a NaN), for lerp and for the optimizers' updates.
// In a native build both runs are the same code; scripts/qemu_isa_check.sh runs this program on the
// portable build under an emulated Haswell (the copy) and Westmere (libm).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include <voxgrad/voxgrad.h>
#include "isa_override.h"
#include "test_util.h"
#include "voxgrad/core/detail/cpu.h"
#include "voxgrad/core/detail/fma_loop.h"
#include "voxgrad/optim/detail/pointwise.h"

namespace vg = voxgrad;
using vg::CpuIsa;
using vg::Tensor;
using vg::testing::bit_identical;
using vg::testing::IsaOverride;
using vg::testing::same_bits_any_nan;

namespace {

// Values whose fused and unfused results differ, and the edges: ±0, subnormals, ±inf, NaNs of both
// signs, huge. The edges sit at every 17th index, shifted by the seed, so that arrays of different
// seeds meet edge against edge (inf·0 + NaN, −NaN against NaN) and edge against ordinary value.
template <typename T>
std::vector<T> awkward_values(std::int64_t n, std::uint32_t seed) {
  using L = std::numeric_limits<T>;
  const std::vector<T> edges = {
      T(0),           -T(0),           L::denorm_min(), -L::denorm_min(), L::min(), L::infinity(), -L::infinity(),
      L::quiet_NaN(), -L::quiet_NaN(), L::max(),        -L::max(),        T(1),     T(-1)};
  std::vector<T> v(static_cast<std::size_t>(n));
  std::uint32_t s = seed;
  for (std::int64_t i = 0; i < n; ++i) {
    s = s * 1664525U + 1013904223U;
    const T u = static_cast<T>(s >> 8) / static_cast<T>(1U << 24);  // [0, 1)
    v[static_cast<std::size_t>(i)] = i % 17 == 0 ? edges[(static_cast<std::size_t>(i / 17) + seed) % edges.size()]
                                                 : (u - T(0.5)) * T(3) + T(1) / T(3);
  }
  return v;
}

template <typename T>
Tensor tensor_of(const std::vector<T>& v) {
  return vg::from_blob(v.data(), {static_cast<std::int64_t>(v.size())});
}

const CpuIsa kIsas[] = {CpuIsa::baseline, CpuIsa::avx2, CpuIsa::avx512};

// 100 003 elements: lerp's and the updates' loops run in several parallel tasks, with a partial last
// vector.
constexpr std::int64_t kN = 100003;

// What fma_loop.h decides: the copy runs where this build lacks FMA (this file is compiled with the
// library's flags) and the ISA in force is not the baseline.
bool expects_clone(CpuIsa isa) {
#if defined(__x86_64__) && !defined(__FMA__)
  return std::min(isa, vg::cpu_isa_supported()) != CpuIsa::baseline;
#else
  (void)isa;
  return false;
#endif
}

template <typename T>
void check_loop_matches_std_fma() {
  const std::vector<T> a = awkward_values<T>(kN, 1), b = awkward_values<T>(kN, 2), c = awkward_values<T>(kN, 3);
  std::vector<T> expected(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) expected[i] = std::fma(a[i], b[i], c[i]);
  for (const CpuIsa isa : kIsas) {
    IsaOverride guard(isa);
    const vg::detail::FmaLoop loop;
    EXPECT_EQ(loop.uses_clone(), expects_clone(isa)) << vg::to_string(isa);
    std::vector<T> got(a.size(), T(-12345.678));  // an index not run keeps this
    loop(0, kN, [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      got[k] = std::fma(a[k], b[k], c[k]);
    });
    EXPECT_TRUE(same_bits_any_nan(tensor_of(got), tensor_of(expected))) << vg::to_string(isa);
  }
}

template <typename T>
void check_updates() {
  const vg::DType dt = sizeof(T) == 4 ? vg::kFloat32 : vg::kFloat64;
  std::optional<Tensor> ref_add, ref_mul, ref_div, ref_adam;
  std::vector<Tensor> ref_steps;
  for (const CpuIsa isa : kIsas) {
    IsaOverride guard(isa);
    const auto values = [](std::uint32_t seed) { return tensor_of(awkward_values<T>(kN, seed)); };
    Tensor add = values(8), mul = values(9), div = values(10);
    vg::optim::detail::add_scaled_(add, values(11), 0.1);
    vg::optim::detail::addcmul_(mul, values(12), values(13), 0.999);
    vg::optim::detail::addcdiv_(div, values(14), values(15), -0.01);
    // Three Adam steps with weight decay.
    vg::manual_seed(3);
    Tensor p = vg::rand({kN}, vg::dtype(dt).requires_grad(true));
    vg::optim::Adam adam({p}, vg::optim::AdamOptions(0.01).weight_decay(0.1));
    for (int step = 0; step < 3; ++step) {
      p.set_grad(vg::rand({kN}, vg::dtype(dt)) - 0.5);
      adam.step();
    }
    // And three steps of each other optimizer, its options touching every statement.
    std::vector<Tensor> steps;
    const auto run = [&](auto make_optimizer) {
      vg::manual_seed(4);
      Tensor q = vg::rand({kN}, vg::dtype(dt).requires_grad(true));
      auto opt = make_optimizer(q);
      for (int step = 0; step < 3; ++step) {
        q.set_grad(vg::rand({kN}, vg::dtype(dt)) - 0.5);
        opt.step();
      }
      steps.push_back(q.detach().clone());
    };
    run([](const Tensor& q) {
      return vg::optim::SGD({q}, vg::optim::SGDOptions(0.01).momentum(0.9).nesterov(true).weight_decay(0.1));
    });
    run([](const Tensor& q) {
      return vg::optim::RMSprop({q}, vg::optim::RMSpropOptions(0.01).momentum(0.8).centered(true).weight_decay(0.1));
    });
    run([](const Tensor& q) { return vg::optim::Adagrad({q}, vg::optim::AdagradOptions(0.01).weight_decay(0.1)); });
    if (!ref_add) {
      ref_add = add;
      ref_mul = mul;
      ref_div = div;
      ref_adam = p.detach().clone();
      ref_steps = steps;
      continue;
    }
    for (std::size_t k = 0; k < steps.size(); ++k) {
      EXPECT_TRUE(bit_identical(steps[k], ref_steps[k])) << "optimizer " << k << ", " << vg::to_string(isa);
    }
    EXPECT_TRUE(same_bits_any_nan(add, *ref_add)) << vg::to_string(isa);
    EXPECT_TRUE(same_bits_any_nan(mul, *ref_mul)) << vg::to_string(isa);
    EXPECT_TRUE(same_bits_any_nan(div, *ref_div)) << vg::to_string(isa);
    EXPECT_TRUE(bit_identical(p.detach(), *ref_adam)) << vg::to_string(isa);
  }
}

}  // namespace

TEST(FmaLoop, EveryIsaGivesStdFmaBits) {
  check_loop_matches_std_fma<float>();
  check_loop_matches_std_fma<double>();
}

TEST(FmaLoop, RunsEveryIndexOnceInOrder) {
  for (const CpuIsa isa : kIsas) {
    IsaOverride guard(isa);
    const vg::detail::FmaLoop loop;
    std::vector<std::int64_t> seen;
    loop(5, 12, [&](std::int64_t i) { seen.push_back(i); });
    EXPECT_EQ(seen, (std::vector<std::int64_t>{5, 6, 7, 8, 9, 10, 11})) << vg::to_string(isa);
    loop(3, 3, [&](std::int64_t) { ADD_FAILURE() << "an empty range ran"; });
  }
}

TEST(FmaLoop, LerpIsTheSameOnEveryIsa) {
  const Tensor start = tensor_of(awkward_values<float>(kN, 4)), end = tensor_of(awkward_values<float>(kN, 5));
  const Tensor weight = tensor_of(awkward_values<float>(kN, 6));
  // A strided view of each operand as well (the op's strided loop).
  const Tensor wide = tensor_of(awkward_values<float>(2 * kN, 7));
  const Tensor strided = wide.slice(0, 1, 2 * kN, 2);  // offset 1, stride 2
  std::optional<Tensor> ref_scalar, ref_tensor, ref_view;
  for (const CpuIsa isa : kIsas) {
    IsaOverride guard(isa);
    const Tensor s = vg::lerp(start, end, 0.3), t = vg::lerp(start, end, weight), v = vg::lerp(strided, end, weight);
    if (!ref_scalar) {
      ref_scalar = s;
      ref_tensor = t;
      ref_view = v;
      continue;
    }
    EXPECT_TRUE(same_bits_any_nan(s, *ref_scalar)) << vg::to_string(isa);
    EXPECT_TRUE(same_bits_any_nan(t, *ref_tensor)) << vg::to_string(isa);
    EXPECT_TRUE(same_bits_any_nan(v, *ref_view)) << vg::to_string(isa);
  }
}

TEST(FmaLoop, OptimizerUpdatesAreTheSameOnEveryIsa) {
  check_updates<float>();
  check_updates<double>();
}
