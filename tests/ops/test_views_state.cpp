// Views beyond the op table of test_views.cpp (views_harness.h): in-place ops (a viewed destination
// is written through its strides and nothing else; an expanded destination raises voxgrad::Error),
// running statistics updated through views, the *_like factories, printing and checkpoints of views,
// gradcheck on viewed leaves, optimizer steps and gradient clipping with viewed parameters and
// gradients.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "views_harness.h"

namespace {

using namespace voxgrad::testing::views;

// =================================================================================================
// In-place ops: a viewed destination is written through its strides (and nothing around it); an
// expanded destination raises voxgrad::Error; a viewed or expanded source is read through its
// strides; a source overlapping the destination in the same storage is read as before the write.
// =================================================================================================

struct InplaceCase {
  std::string name;
  bool has_source;
  std::function<void(Tensor&, const Tensor&)> fn;
};

std::vector<InplaceCase> inplace_cases() {
  return {
      {"add_", true, [](Tensor& d, const Tensor& s) { d.add_(s); }},
      {"add_ alpha", true, [](Tensor& d, const Tensor& s) { d.add_(s, -0.5); }},
      {"sub_", true, [](Tensor& d, const Tensor& s) { d.sub_(s, 2.0); }},
      {"mul_", true, [](Tensor& d, const Tensor& s) { d.mul_(s); }},
      {"div_", true, [](Tensor& d, const Tensor& s) { d.div_(s); }},
      {"copy_", true, [](Tensor& d, const Tensor& s) { d.copy_(s); }},
      {"operator+=", true, [](Tensor& d, const Tensor& s) { d += s; }},
      {"operator-=", true, [](Tensor& d, const Tensor& s) { d -= s; }},
      {"operator*=", true, [](Tensor& d, const Tensor& s) { d *= s; }},
      {"operator/=", true, [](Tensor& d, const Tensor& s) { d /= s; }},
      {"add_(double)", false, [](Tensor& d, const Tensor&) { d.add_(1.5); }},
      {"sub_(double)", false, [](Tensor& d, const Tensor&) { d.sub_(1.5); }},
      {"mul_(double)", false, [](Tensor& d, const Tensor&) { d.mul_(-2.0); }},
      {"div_(double)", false, [](Tensor& d, const Tensor&) { d.div_(4.0); }},
      {"zero_", false, [](Tensor& d, const Tensor&) { d.zero_(); }},
      {"fill_", false, [](Tensor& d, const Tensor&) { d.fill_(3.25); }},
      // Indexing writes (ops/indexing.h, ops/gather_scatter.h), with parts of the source (broadcast to the
      // destination's shape first) as values.
      {"index_put_ (slices)", true,
       [](Tensor& d, const Tensor& s) {
         d.index_put_({Slice(), Slice(1, 3)}, s.expand(d.sizes()).index({Slice(), Slice(2)}));
       }},
      {"index_put_ (int64 tensor)", true,
       [](Tensor& d, const Tensor& s) {
         d.index_put_({tensor({2, 0}, kInt64)}, s.expand(d.sizes()).index({Slice(None, 2)}));
       }},
      {"index_put_ (accumulate)", true,
       [](Tensor& d, const Tensor& s) {
         d.index_put_({Ellipsis, tensor({3, 3, 1}, kInt64)}, s.expand(d.sizes()).index({Ellipsis, Slice(1, 4)}), true);
       }},
      {"index_put_ (mask, scalar)", true,
       [](Tensor& d, const Tensor& s) { d.index_put_({s.expand(d.sizes()).gt(1.2)}, -4.0); }},
      {"masked_fill_", true, [](Tensor& d, const Tensor& s) { d.masked_fill_(s.lt(1.0), 0.25); }},
      {"scatter_add_", true,
       [](Tensor& d, const Tensor& s) {
         Shape shape = d.sizes(), one(d.sizes().size(), 1);
         shape[0] = one[0] = std::min<std::int64_t>(3, d.size(0));
         const Tensor index = tensor({2, 0, 2}, kInt64).narrow(0, 0, shape[0]).view(one).expand(shape);
         d.scatter_add_(0, index, s.expand(d.sizes()));
       }},
  };
}

TEST(Views, InplaceOpsWriteThroughViewsAndRefuseExpandedDestinations) {
  std::mt19937_64 rng(99);
  const ArgSpec dst_spec = arg({3, 4, 5}), src_spec = pos({3, 4, 5});
  int checked = 0;
  for (const InplaceCase& c : inplace_cases()) {
    SCOPED_TRACE(c.name);
    // Destination as a view: the base must change exactly where the view is.
    for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset}) {
      for (std::int64_t dim : {0, 1, 2}) {
        SCOPED_TRACE(fmt::format("destination {} along {}", layout_name(layout), dim));
        ArgSpec plain = dst_spec;
        plain.grad = false;
        View v = make_view(plain, layout, dim, rng);
        const Tensor src = draw(src_spec, src_spec.shape, rng);
        Tensor want = v.dense.clone();
        c.fn(want, src);
        Tensor expected_base = v.base.clone();
        v.of_base(expected_base).copy_(want);
        c.fn(v.view, src);
        EXPECT_EQ(mismatch(v.base, expected_base, 0.0), "");
        ++checked;
      }
    }
    // Expanded destination: refused.
    {
      Tensor d = zeros({3, 1, 5}, kFloat64).expand({3, 4, 5});
      const Tensor src = draw(src_spec, src_spec.shape, rng);
      EXPECT_ERROR_CONTAINS(c.fn(d, src), "refers to a single memory location");
      Tensor d0 = zeros({1}, kFloat64).expand({6});
      EXPECT_THROW(c.fn(d0, zeros({6}, kFloat64) + 1.0), Error);
    }
    if (!c.has_source) continue;
    // Source as a view (including expanded and broadcast): read through its strides.
    for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset, Layout::kExpanded}) {
      for (std::int64_t dim : {0, 1, 2}) {
        SCOPED_TRACE(fmt::format("source {} along {}", layout_name(layout), dim));
        ArgSpec plain = src_spec;
        plain.grad = false;
        const View v = make_view(plain, layout, dim, rng);
        const Tensor d0 = draw(dst_spec, dst_spec.shape, rng);
        Tensor want = d0.clone(), got = d0.clone();
        c.fn(want, v.dense);
        c.fn(got, v.view);
        EXPECT_EQ(mismatch(got, want, 0.0), "");
        ++checked;
      }
    }
    {  // A broadcast source of lower rank, strided.
      const Tensor sb = draw(src_spec, {4, 10}, rng);
      const Tensor s = sb.slice(1, 0, std::nullopt, 2);
      const Tensor d0 = draw(dst_spec, dst_spec.shape, rng);
      Tensor want = d0.clone(), got = d0.clone();
      c.fn(want, s.contiguous());
      c.fn(got, s);
      EXPECT_EQ(mismatch(got, want, 0.0), "") << "broadcast strided source";
    }
    {  // Source and destination overlap in one storage, shifted by one element: as if copied first.
      const Tensor base = draw(src_spec, {3, 4, 6}, rng);
      Tensor want_base = base.clone();
      Tensor want_dst = want_base.narrow(2, 1, 5);
      c.fn(want_dst, base.narrow(2, 0, 5).clone());
      Tensor got_base = base.clone();
      Tensor got_dst = got_base.narrow(2, 1, 5);
      c.fn(got_dst, got_base.narrow(2, 0, 5));
      EXPECT_EQ(mismatch(got_base, want_base, 0.0), "") << "overlapping source and destination";
      // The same storage in another layout (a transpose of a square block).
      const Tensor sq = draw(src_spec, {4, 4}, rng);
      Tensor want_sq = sq.clone();
      Tensor wd = want_sq;
      c.fn(wd, sq.t().contiguous());
      Tensor got_sq = sq.clone();
      c.fn(got_sq, got_sq.t());
      EXPECT_EQ(mismatch(got_sq, want_sq, 0.0), "") << "source is the destination transposed";
    }
  }
  EXPECT_GE(checked, 16 * 9);
}

// The running statistics of batch_norm / instance_norm are updated in place: through a strided
// view they change exactly the view's elements; an expanded one is refused.
TEST(Views, RunningStatisticsUpdateThroughViews) {
  std::mt19937_64 rng(5);
  const Tensor x = draw(arg({3, 4, 2, 3, 2}), {3, 4, 2, 3, 2}, rng);
  for (bool instance : {false, true}) {
    SCOPED_TRACE(instance ? "instance_norm" : "batch_norm");
    auto run = [&](const Tensor& mean, const Tensor& var) {
      if (instance) {
        return F::instance_norm(x, F::InstanceNormFuncOptions().running_mean(mean).running_var(var));
      }
      return F::batch_norm(x, mean, var, F::BatchNormFuncOptions().training(true));
    };
    for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset}) {
      SCOPED_TRACE(layout_name(layout));
      ArgSpec m = fixed({4}), s = fixed({4}, Kind::kPositive);
      View vm = make_view(m, layout, 0, rng), vv = make_view(s, layout, 0, rng);
      Tensor want_m = vm.dense.clone(), want_v = vv.dense.clone();
      const Tensor want_y = run(want_m, want_v);
      const Tensor got_y = run(vm.view, vv.view);
      EXPECT_EQ(mismatch(got_y, want_y, 1e-12), "") << "output";
      Tensor em = vm.base.clone(), ev = vv.base.clone();
      vm.of_base(em).copy_(want_m);
      vv.of_base(ev).copy_(want_v);
      EXPECT_EQ(mismatch(vm.base, em, 1e-15), "") << "running_mean storage";
      EXPECT_EQ(mismatch(vv.base, ev, 1e-15), "") << "running_var storage";
    }
    const Tensor em = zeros({1}, kFloat64).expand({4}), ev = ones({1}, kFloat64).expand({4});
    EXPECT_THROW(run(em, ones({4}, kFloat64)), Error);
    EXPECT_THROW(run(zeros({4}, kFloat64), ev), Error);
  }
}

// =================================================================================================
// Factories that take a tensor, printing, checkpoints, gradcheck.
// =================================================================================================

std::vector<View> all_views(const Shape& shape, std::mt19937_64& rng) {
  std::vector<View> out;
  for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset, Layout::kExpanded}) {
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
      if (shape[static_cast<std::size_t>(d)] > 1 || layout == Layout::kPermuted)
        out.push_back(make_view(fixed(shape), layout, d, rng));
    }
  }
  return out;
}

TEST(Views, LikeFactoriesPrintingAndCheckpoints) {
  std::mt19937_64 rng(17);
  for (const View& v : all_views({3, 4, 2}, rng)) {
    SCOPED_TRACE(v.str());
    const Tensor c = v.dense;
    for (const Tensor& t : {zeros_like(v.view), ones_like(v.view), full_like(v.view, 2.5), empty_like(v.view)}) {
      EXPECT_EQ(t.sizes(), c.sizes());
      EXPECT_EQ(t.dtype(), c.dtype());
    }
    EXPECT_EQ(mismatch(zeros_like(v.view), zeros_like(c), 0.0), "");
    EXPECT_EQ(mismatch(ones_like(v.view), ones_like(c), 0.0), "");
    EXPECT_EQ(mismatch(full_like(v.view, 2.5), full_like(c, 2.5), 0.0), "");
    manual_seed(3);
    const Tensor r1 = rand_like(v.view), n1 = randn_like(v.view);
    manual_seed(3);
    const Tensor r2 = rand_like(c), n2 = randn_like(c);
    EXPECT_EQ(mismatch(r1, r2, 0.0), "");
    EXPECT_EQ(mismatch(n1, n2, 0.0), "");
    // Printing shows the view's elements.
    EXPECT_EQ(to_string(v.view), to_string(c));
    // A checkpoint stores the view's elements (written contiguous).
    const std::vector<std::uint8_t> bytes = save_to_bytes({{"t", v.view}, {"i", v.view.to(kInt64)}});
    const Checkpoint back = load_from_bytes(bytes.data(), bytes.size());
    ASSERT_EQ(back.state.size(), 2u);
    EXPECT_EQ(mismatch(back.state[0].second, c, 0.0), "");
    EXPECT_EQ(mismatch(back.state[1].second, c.to(kInt64), 0.0), "");
    // load_state_dict copies a viewed source into a parameter.
    nn::LinearImpl lin(nn::LinearOptions(2, 12));
    lin.to(kFloat64);
    EXPECT_TRUE(lin.load_state_dict({{"weight", v.view.reshape({12, 2})}, {"bias", v.view.flatten().narrow(0, 0, 12)}})
                    .missing_keys.empty());
    EXPECT_EQ(mismatch(lin.weight, c.reshape({12, 2}), 0.0), "");
  }
}

TEST(Views, GradcheckOnViewedLeaves) {
  std::mt19937_64 rng(23);
  const autograd::SingleOutputFn fn = [](const std::vector<Tensor>& in) {
    return (in[0].exp() * in[1]).sum({1}) + matmul(in[0], in[1].t()).sum();
  };
  for (Layout layout : {Layout::kStrided, Layout::kPermuted, Layout::kOffset}) {
    SCOPED_TRACE(layout_name(layout));
    // Leaves that are themselves non-contiguous (a detached view shares its storage).
    View a = make_view(fixed({3, 4}), layout, 1, rng), b = make_view(fixed({3, 4}), layout, 0, rng);
    Tensor la = a.view.detach().requires_grad_(), lb = b.view.detach().requires_grad_();
    ASSERT_TRUE(la.is_leaf());
    const Tensor before_a = la.clone(), before_b = lb.clone();
    EXPECT_TRUE(autograd::gradcheck(fn, {la, lb}));
    EXPECT_TRUE(autograd::gradgradcheck(fn, {la, lb}));
    // gradcheck restores every perturbed element, and touches nothing around the view.
    EXPECT_EQ(mismatch(la, before_a, 0.0), "");
    EXPECT_EQ(mismatch(lb, before_b, 0.0), "");
    std::int64_t nans = 0;
    for (double e : values(a.base)) nans += std::isnan(e);
    EXPECT_EQ(nans, a.base.numel() - 12);
  }
  // An expanded leaf (many elements in one memory location) cannot be perturbed element by element.
  const Tensor e = full({1}, 0.5, kFloat64).expand({4}).detach().requires_grad_();
  EXPECT_ERROR_CONTAINS(autograd::gradcheck([](const std::vector<Tensor>& in) { return in[0].exp(); }, {e}),
                        "contiguous copy");
}

// =================================================================================================
// Optimizers and gradient clipping with viewed parameters and gradients.
// =================================================================================================

/// A parameter holding `dense`'s values as a strided leaf of a larger storage, or contiguous.
struct Param {
  Tensor storage, p;
};

Param strided_param(const Tensor& dense) {
  Param r;
  r.storage = full({dense.size(0), 2 * dense.size(1)}, 9.0, kFloat64);
  r.p = r.storage.slice(1, 0, std::nullopt, 2).detach();
  r.p.copy_(dense);
  r.p.requires_grad_();
  return r;
}

TEST(Views, OptimizerStepsOnViewedParametersAndGradients) {
  std::mt19937_64 rng(31);
  const Tensor p0 = draw(arg({3, 4}), {3, 4}, rng);
  std::vector<Tensor> grads;
  for (int i = 0; i < 3; ++i) grads.push_back(draw(arg({3, 4}), {3, 4}, rng));
  using Make = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<std::string, Make>> optimizers = {
      {"SGD momentum nesterov weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::SGD>(ps,
                                             optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
       }},
      {"SGD dampening maximize",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::SGD>(ps, optim::SGDOptions(0.1).momentum(0.5).dampening(0.2).maximize(true));
       }},
      {"Adam amsgrad weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::Adam>(ps, optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
       }},
      {"AdamW", [](std::vector<Tensor> ps) { return std::make_unique<optim::AdamW>(ps, optim::AdamWOptions(0.01)); }},
      {"RMSprop centered momentum weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::RMSprop>(
             ps, optim::RMSpropOptions(0.01).centered(true).momentum(0.9).weight_decay(0.1));
       }},
      {"Adagrad lr_decay weight_decay",
       [](std::vector<Tensor> ps) {
         return std::make_unique<optim::Adagrad>(
             ps, optim::AdagradOptions(0.1).lr_decay(0.1).weight_decay(0.1).initial_accumulator_value(0.5));
       }},
  };
  // Gradients as: contiguous, strided, expanded (values equal along dim 0), permuted.
  auto grad_view = [](const Tensor& g, int kind) -> Tensor {
    switch (kind) {
      case 1: {
        Tensor b = full({3, 8}, std::nan(""), kFloat64);
        b.slice(1, 1, std::nullopt, 2).copy_(g);
        return b.slice(1, 1, std::nullopt, 2);
      }
      case 2: return g.narrow(0, 0, 1).clone().expand({3, 4});
      case 3: return g.t().contiguous().t();
      default: return g.clone();
    }
  };
  auto grad_value = [](const Tensor& g, int kind) { return kind == 2 ? g.narrow(0, 0, 1).expand({3, 4}).clone() : g; };
  for (const auto& [name, make] : optimizers) {
    for (int kind = 0; kind < 4; ++kind) {
      for (bool strided : {false, true}) {
        SCOPED_TRACE(fmt::format("{}, grad kind {}, strided parameter {}", name, kind, strided));
        Tensor want = p0.clone().requires_grad_();
        Param got = strided ? strided_param(p0) : Param{Tensor(), p0.clone().requires_grad_()};
        auto o1 = make({want});
        auto o2 = make({got.p});
        for (const Tensor& g : grads) {
          want.set_grad(grad_value(g, kind).clone());
          got.p.set_grad(grad_view(g, kind));
          o1->step();
          o2->step();
        }
        EXPECT_EQ(mismatch(got.p, want, 1e-14), "");
        if (strided) {  // the storage between the parameter's elements is untouched
          EXPECT_EQ(mismatch(got.storage.slice(1, 1, std::nullopt, 2), full({3, 4}, 9.0, kFloat64), 0.0), "");
        }
      }
    }
  }
}

TEST(Views, GradientClippingOnViewedGradients) {
  std::mt19937_64 rng(37);
  const Tensor g = draw(arg({3, 4}), {3, 4}, rng) * 4.0;
  for (int kind = 0; kind < 3; ++kind) {
    SCOPED_TRACE(fmt::format("grad kind {}", kind));
    Tensor base = full({3, 8}, 9.0, kFloat64);
    Tensor gv;
    if (kind == 0) {
      base.slice(1, 1, std::nullopt, 2).copy_(g);
      gv = base.slice(1, 1, std::nullopt, 2);
    } else if (kind == 1) {
      gv = g.t().contiguous().t();
    } else {
      base.narrow(1, 2, 4).copy_(g);
      gv = base.narrow(1, 2, 4);
    }
    Tensor p = zeros({3, 4}, kFloat64).requires_grad_(), q = zeros({3, 4}, kFloat64).requires_grad_();
    p.set_grad(gv);
    q.set_grad(g.clone());
    EXPECT_NEAR(nn::utils::clip_grad_norm_(p, 1.0), nn::utils::clip_grad_norm_(q, 1.0), 1e-12);
    EXPECT_EQ(mismatch(p.grad(), q.grad(), 1e-15), "");
    nn::utils::clip_grad_value_(p, 0.05);
    nn::utils::clip_grad_value_(q, 0.05);
    EXPECT_EQ(mismatch(p.grad(), q.grad(), 0.0), "");
    if (kind == 0) {
      EXPECT_EQ(mismatch(base.slice(1, 0, std::nullopt, 2), full({3, 4}, 9.0, kFloat64), 0.0), "");
    }
  }
  // An expanded gradient cannot be scaled in place.
  Tensor p = zeros({3, 4}, kFloat64).requires_grad_();
  p.set_grad(full({1, 4}, 5.0, kFloat64).expand({3, 4}));
  EXPECT_THROW(nn::utils::clip_grad_norm_(p, 1.0), Error);
  EXPECT_THROW(nn::utils::clip_grad_value_(p, 1.0), Error);
}

}  // namespace
