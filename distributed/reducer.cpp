// Gradient buckets: each parameter's gradient is copied into its bucket's flat buffer when its
// accumulation finishes (a post-accumulate-grad hook), multiplied on the way by 1/W (W the world size,
// rounded to the gradient's dtype, as PyTorch's Reducer does with mul_out); a bucket whose every
// gradient has arrived is all-reduced (sum) without blocking while backward goes on; the callback
// queued on the engine waits for every bucket and copies the averages back into the parameters'
// grad(). Multiplying before the sum is PyTorch's arithmetic to the last bit (sum(g)/W rounds
// differently when W is not a power of two).
#include "voxgrad/distributed/detail/reducer.h"

#include <unordered_set>

#include "voxgrad/autograd/engine.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor_impl.h"

namespace voxgrad::distributed {

namespace {

// Accumulator nodes reachable from `outputs` (the leaves whose gradient backward can produce).
std::unordered_set<const autograd::Node*> reachable_nodes(const std::vector<Tensor>& outputs) {
  std::unordered_set<const autograd::Node*> seen;
  std::vector<autograd::Node*> stack;
  for (const Tensor& t : outputs) {
    if (!t.defined()) continue;
    const autograd::Edge e = autograd::gradient_edge(t);
    if (e.valid() && seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  }
  while (!stack.empty()) {
    autograd::Node* n = stack.back();
    stack.pop_back();
    for (const autograd::Edge& e : n->next_edges()) {
      if (e.valid() && seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  return seen;
}

}  // namespace

Reducer::Reducer(std::vector<std::pair<std::string, Tensor>> params, std::shared_ptr<ProcessGroup> group,
                 std::int64_t bucket_bytes, bool find_unused)
    : params_(std::move(params)), group_(std::move(group)), find_unused_(find_unused) {
  where_.resize(params_.size());
  ready_.assign(params_.size(), 0);
  used_.assign(params_.size(), 0);
  // Reverse registration order approximates the order backward produces gradients; one open bucket
  // per dtype, closed when the next parameter would take it past the cap.
  std::vector<std::int64_t> open(3, -1);
  std::vector<std::int64_t> filled(3, 0);
  for (std::size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k].second;
    const auto d = static_cast<std::size_t>(p.dtype());
    const std::int64_t bytes = p.numel() * static_cast<std::int64_t>(element_size(p.dtype()));
    if (open[d] < 0 || (filled[d] > 0 && filled[d] + bytes > bucket_bytes)) {
      open[d] = static_cast<std::int64_t>(buckets_.size());
      filled[d] = 0;
      buckets_.emplace_back();
    }
    Bucket& b = buckets_[static_cast<std::size_t>(open[d])];
    where_[k] = {static_cast<std::size_t>(open[d]), b.params.size()};
    b.offsets.push_back(filled[d] / static_cast<std::int64_t>(element_size(p.dtype())));
    b.params.push_back(k);
    filled[d] += bytes;
  }
  for (Bucket& b : buckets_) {
    const Tensor& last = params_[b.params.back()].second;
    b.flat = zeros({b.offsets.back() + last.numel()}, last.dtype());
  }
  for (std::size_t k = 0; k < params_.size(); ++k) {
    hooks_.push_back(
        params_[k].second.register_post_accumulate_grad_hook([this, k](const Tensor&) { on_grad_ready(k); }));
  }
}

Reducer::~Reducer() {
  for (auto& h : hooks_) h.remove();
}

std::vector<std::vector<std::string>> Reducer::bucket_names() const {
  std::vector<std::vector<std::string>> out;
  for (const Bucket& b : buckets_) {
    out.emplace_back();
    for (std::size_t k : b.params) out.back().push_back(params_[k].first);
  }
  return out;
}

void Reducer::reset_pass() {
  std::fill(ready_.begin(), ready_.end(), 0);
  std::fill(used_.begin(), used_.end(), 0);
  ready_count_ = 0;
  next_bucket_ = 0;
  callback_queued_ = false;
  launches_.clear();
  for (Bucket& b : buckets_) {
    b.pending = b.params.size();
    b.work.reset();
  }
}

void Reducer::prepare(const std::vector<Tensor>& outputs) {
  if (armed_ && next_bucket_ > 0) {
    // A pass launched buckets and never finished (its backward threw, or a second forward came first):
    // complete the communication so every rank stays in step, then report it.
    wait_launched();
    armed_ = false;
    throw Error(
        "DistributedDataParallel: expected to have finished reduction in the prior iteration before starting a new "
        "one: the previous backward pass did not reach every parameter or was interrupted");
  }
  reset_pass();
  armed_ = true;
  if (!find_unused_) return;
  const auto reached = reachable_nodes(outputs);
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const autograd::Edge e = autograd::gradient_edge(params_[k].second);
    if (!reached.count(e.fn.get())) mark_ready(k, Tensor());
  }
  launch_ready_buckets();
}

void Reducer::on_grad_ready(std::size_t k) {
  if (!armed_) return;  // no_sync, or a backward that no synchronising forward prepared
  VOXGRAD_CHECK(!ready_[k],
                "DistributedDataParallel: parameter '{}' was marked ready twice in one backward pass (a second "
                "backward through the same forward, or a reentrant backward); call forward again before each "
                "backward, or use no_sync() for all but the last",
                params_[k].first);
  if (!callback_queued_) {
    autograd::queue_callback([this] { finalize(); });
    callback_queued_ = true;
  }
  used_[k] = 1;
  mark_ready(k, params_[k].second.grad());
  launch_ready_buckets();
  // MPI progresses non-blocking collectives only inside MPI calls: poke those in flight.
  for (std::size_t b = 0; b < next_bucket_; ++b) buckets_[b].work->is_completed();
}

void Reducer::mark_ready(std::size_t k, const Tensor& grad) {
  const auto [b, slot] = where_[k];
  Bucket& bucket = buckets_[b];
  const Tensor& p = params_[k].second;
  Tensor dst = bucket.flat.narrow(0, bucket.offsets[slot], p.numel());
  {
    NoGradGuard no_grad;
    if (grad.defined()) {
      dst.copy_(grad.reshape({p.numel()}));
      if (group_->size() > 1) dst.mul_(1.0 / group_->size());
    } else {
      dst.zero_();
    }
  }
  ready_[k] = 1;
  ++ready_count_;
  --bucket.pending;
}

void Reducer::launch_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& b = buckets_[next_bucket_];
    b.work = group_->all_reduce_async(b.flat, ReduceOp::Sum);
    launches_.push_back({static_cast<std::int64_t>(next_bucket_), static_cast<std::int64_t>(ready_count_),
                         static_cast<std::int64_t>(params_.size()),
                         b.flat.numel() * static_cast<std::int64_t>(element_size(b.flat.dtype()))});
    ++next_bucket_;
  }
}

void Reducer::wait_launched() {
  for (std::size_t b = 0; b < next_bucket_; ++b) buckets_[b].work->wait();
}

void Reducer::finalize() {
  armed_ = false;
  if (ready_count_ < params_.size()) {
    if (find_unused_) {
      // Reached by the graph but no gradient flowed (e.g. multiplied by a detached zero branch).
      for (std::size_t k = 0; k < params_.size(); ++k) {
        if (!ready_[k]) mark_ready(k, Tensor());
      }
      launch_ready_buckets();
    } else {
      std::vector<std::string> missing;
      for (std::size_t k = 0; k < params_.size(); ++k) {
        if (!ready_[k]) missing.push_back(params_[k].first);
      }
      wait_launched();  // keep the ranks' collectives in step before reporting
      next_bucket_ = 0;
      throw Error(fmt::format(
          "DistributedDataParallel: parameter '{}' received no gradient in this backward pass ({} parameter(s) "
          "in all: {}), so its bucket cannot be reduced. Make every parameter contribute to the loss, or "
          "construct with DistributedDataParallelOptions().find_unused_parameters(true)",
          missing.front(), missing.size(), fmt::join(missing, ", ")));
    }
  }
  wait_launched();
  // A parameter unused on every rank keeps its grad() as it was, as in PyTorch.
  Tensor used_anywhere;
  if (find_unused_) {
    used_anywhere = empty({static_cast<std::int64_t>(params_.size())}, kFloat64);
    double* u = used_anywhere.data_ptr<double>();
    for (std::size_t k = 0; k < params_.size(); ++k) u[k] = used_[k];
    group_->all_reduce(used_anywhere, ReduceOp::Sum);
  }
  NoGradGuard no_grad;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (used_anywhere.defined() && used_anywhere.data_ptr<double>()[k] == 0.0) continue;
    const auto [b, slot] = where_[k];
    const Tensor& p = params_[k].second;
    const Tensor avg = buckets_[b].flat.narrow(0, buckets_[b].offsets[slot], p.numel()).view(p.sizes());
    Tensor g = p.grad();
    if (g.defined()) {
      g.copy_(avg);
    } else {
      p.set_grad(avg.clone());
    }
  }
  next_bucket_ = 0;
}

}  // namespace voxgrad::distributed
