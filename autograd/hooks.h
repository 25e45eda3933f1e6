#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace voxgrad {

class Tensor;

namespace autograd {

/// A gradient hook (Tensor::register_hook): receives the gradient w.r.t. the tensor and returns either
/// an undefined tensor (keep the gradient) or a replacement of the same shape and dtype.
using GradHook = std::function<Tensor(const Tensor&)>;
/// A post-accumulate-grad hook (Tensor::register_post_accumulate_grad_hook): receives the leaf after
/// its grad() has been updated, as PyTorch 2.1's hooks of the same name.
using PostAccumulateGradHook = std::function<void(const Tensor&)>;

/// An ordered, thread-safe list of hooks of one kind, each with an id for removal. Hooks are copied
/// out under the lock and run outside it, so a hook may register or remove hooks.
template <typename Fn>
class HookList {
 public:
  /// Appends `fn` (run after the hooks already there); returns its id.
  std::uint64_t add(Fn fn, std::uint32_t slot = 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back({next_id_, slot, std::move(fn)});
    size_.store(entries_.size(), std::memory_order_release);
    return next_id_++;
  }
  /// Removes the hook with id `id`; false if it is not (or no longer) there.
  bool remove(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->id == id) {
        entries_.erase(it);
        size_.store(entries_.size(), std::memory_order_release);
        return true;
      }
    }
    return false;
  }
  /// A copy of the hooks registered for `slot`, in registration order.
  std::vector<Fn> snapshot(std::uint32_t slot = 0) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Fn> out;
    for (const Entry& e : entries_) {
      if (e.slot == slot) out.push_back(e.fn);
    }
    return out;
  }
  /// True if no hook is registered (lock-free: the engine asks this for every node).
  bool empty() const { return size_.load(std::memory_order_acquire) == 0; }

 private:
  struct Entry {
    std::uint64_t id;
    std::uint32_t slot;  // which output of a node the hook watches
    Fn fn;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  std::uint64_t next_id_ = 0;
  std::atomic<std::size_t> size_{0};
};

/// Gradient hooks of a node's outputs (slot = output number) or of a leaf (slot 0).
using GradHookList = HookList<GradHook>;
/// Post-accumulate-grad hooks of a leaf.
using PostAccumulateGradHookList = HookList<PostAccumulateGradHook>;

/// Hooks that belong to a leaf tensor (its accumulator, which may be recreated, reads them from here).
struct LeafHooks {
  GradHookList grad;                           ///< Run on the incoming gradient, before accumulation.
  PostAccumulateGradHookList post_accumulate;  ///< Run after grad() has been updated.
};

/// What Tensor::register_hook and register_post_accumulate_grad_hook return, as PyTorch's
/// RemovableHandle: remove() unregisters the hook (idempotent; harmless once the tensor is gone).
/// Dropping the handle keeps the hook; use HookGuard to remove it at the end of a scope.
class RemovableHandle {
 public:
  RemovableHandle() = default;
  /// A handle that runs `remover` once on remove().
  explicit RemovableHandle(std::function<void()> remover) : remover_(std::move(remover)) {}
  /// Unregisters the hook; later calls do nothing.
  void remove() {
    if (remover_) std::exchange(remover_, nullptr)();
  }
  /// True until remove() has been called (or for a default-constructed handle, never).
  bool active() const { return static_cast<bool>(remover_); }

 private:
  std::function<void()> remover_;
};

/// Removes a hook when it goes out of scope (PyTorch's `with handle:`).
class HookGuard {
 public:
  /// Takes ownership of `handle`.
  explicit HookGuard(RemovableHandle handle) : handle_(std::move(handle)) {}
  ~HookGuard() { handle_.remove(); }
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;

 private:
  RemovableHandle handle_;
};

}  // namespace autograd
}  // namespace voxgrad
