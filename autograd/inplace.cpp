#include "voxgrad/autograd/inplace.h"

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/ops/detail/as_strided.h"
#include "voxgrad/ops/detail/kernels.h"

namespace voxgrad::autograd {

namespace {

using voxgrad::detail::ViewGeometry;

bool same_owner(const std::weak_ptr<Node>& a, const std::shared_ptr<Node>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

// The view's window in its base, valid when the base is contiguous.
ViewGeometry geometry_in_base(const TensorImpl& view, const TensorImpl& base) {
  return {view.sizes, view.strides, view.offset - base.offset};
}

// True if `impl` is a view that still aliases its base's memory (set_data may have moved either).
bool is_live_view(const TensorImpl& impl) { return impl.view != nullptr && impl.view->base->storage == impl.storage; }

}  // namespace

std::shared_ptr<ViewMeta> make_view_meta(const Tensor& source) {
  auto meta = std::make_shared<ViewMeta>();
  const std::shared_ptr<TensorImpl>& src = source.impl();
  const bool grad_mode = GradMode::is_enabled();
  if (src->view != nullptr) {
    meta->base = src->view->base;
    meta->created_in_grad_mode = src->view->created_in_grad_mode && grad_mode;
  } else {
    meta->base = src;
    meta->created_in_grad_mode = grad_mode;
  }
  meta->base_grad_fn = meta->base->grad_fn;
  return meta;
}

void regenerate_view_history(TensorImpl& view) {
  ViewMeta& meta = *view.view;
  const TensorImpl& base = *meta.base;
  if (!meta.created_in_grad_mode || same_owner(meta.base_grad_fn, base.grad_fn) || !is_live_view(view)) return;
  meta.base_grad_fn = base.grad_fn;
  if (base.grad_fn == nullptr) return;
  auto node = make_node<Node>("AsStridedBackward");
  node->next_edges_.push_back({base.grad_fn, base.output_nr});
  node->input_meta_.push_back({base.sizes, base.dtype});
  node->output_meta_.push_back({view.sizes, view.dtype});
  if (Tensor(meta.base).is_contiguous()) {
    node->fn_ = [geom = geometry_in_base(view, base), sizes = base.sizes](const BackwardCtx& c) {
      return std::vector<Tensor>{voxgrad::detail::as_strided_backward(c.grad(), sizes, geom)};
    };
  } else {
    node->fn_ = [](const BackwardCtx&) -> std::vector<Tensor> {
      throw Error(
          "backward through a view whose base (a non-contiguous tensor) was modified in place is not "
          "supported; clone() the base before taking views of it");
    };
  }
  view.grad_fn = std::move(node);
  view.output_nr = 0;
  view.requires_grad = false;
}

bool inplace_needs_record(const Tensor& self, std::initializer_list<const Tensor*> others, const char* op) {
  voxgrad::detail::check_defined(self, op);
  if (!GradMode::is_enabled()) return false;
  const TensorImpl& impl = *self.impl();
  const bool view = is_live_view(impl);
  // A view made in no-grad mode does not require grad even when its base does; writing it must
  // still be checked, or the base's history would silently miss the write.
  bool any = self.requires_grad() || (view && Tensor(impl.view->base).requires_grad());
  for (const Tensor* t : others) any = any || (t->defined() && t->requires_grad());
  if (!any) return false;
  if (view) {
    const ViewMeta& meta = *impl.view;
    VOXGRAD_CHECK(meta.created_in_grad_mode,
                  "{}: a view made in no-grad mode (or from such a view) is being modified in place with grad "
                  "mode enabled, which autograd cannot track; make the view with grad mode on, or clone() it",
                  op);
    VOXGRAD_CHECK(!(meta.base->grad_fn == nullptr && meta.base->requires_grad),
                  "{}: a view of a leaf Variable that requires grad is being used in an in-place operation.", op);
    VOXGRAD_CHECK(Tensor(meta.base).is_contiguous(),
                  "{}: an in-place operation on a view of a non-contiguous tensor of shape {} cannot be recorded "
                  "by autograd; clone() that tensor first",
                  op, shape_str(meta.base->sizes));
  } else {
    VOXGRAD_CHECK(!(self.is_leaf() && self.requires_grad()),
                  "{}: a leaf Variable that requires grad is being used in an in-place operation.", op);
  }
  return true;
}

void record_inplace(const char* name, Tensor& self, std::vector<Tensor> others, std::vector<Tensor> saved,
                    bool save_result, InplaceBackwardFn backward) {
  TensorImpl& impl = *self.impl();
  const bool on_view = is_live_view(impl);
  // The node rewrites the history of the tensor that owns the memory: self, or the view's base.
  Tensor target = on_view ? Tensor(impl.view->base) : self;
  std::vector<Tensor> inputs{target};
  inputs.insert(inputs.end(), others.begin(), others.end());
  std::vector<ToSave> to_save;
  if (save_result) to_save.push_back(save_output_for_backward(target));
  for (const Tensor& t : saved) to_save.push_back(save_for_backward(t));
  const std::size_t first_saved = save_result ? 1 : 0;

  BackwardFn fn;
  if (!on_view) {
    fn = [backward = std::move(backward), save_result, first_saved](const BackwardCtx& c) {
      const Tensor result = save_result ? c.saved[0] : Tensor();
      return backward(c.grad(), result, c.saved.subspan(first_saved), c.needs);
    };
  } else {
    // CopySlices: the op's backward runs on the view's window of the base's gradient; the
    // gradient of the base's old value is the incoming one with that window replaced.
    fn = [backward = std::move(backward), save_result, first_saved,
          geom = geometry_in_base(impl, *target.impl())](const BackwardCtx& c) {
      const Tensor& g = c.grad();
      const Tensor result = save_result ? voxgrad::detail::as_strided(c.saved[0], geom) : Tensor();
      std::vector<Tensor> grads =
          backward(voxgrad::detail::as_strided(g, geom), result, c.saved.subspan(first_saved), c.needs);
      if (c.needs_input_grad(0)) {
        const Tensor window = grads[0].defined() ? grads[0] : zeros(geom.sizes, g.dtype());
        grads[0] = voxgrad::detail::as_strided_scatter(g, window, geom);
      } else {
        grads[0] = Tensor();
      }
      return grads;
    };
  }
  // retain_grad() follows the tensor to its new history.
  const std::shared_ptr<Node> old_fn = target.impl()->grad_fn;
  const bool retains = target.impl()->retains_grad && old_fn != nullptr;
  if (retains) {
    std::erase_if(old_fn->retained_, [&](const auto& r) { return r.second.lock() == target.impl(); });
  }
  std::shared_ptr<Node> node =
      record(on_view ? "CopySlices" : name, inputs, std::span<Tensor>(&target, 1), std::move(to_save), std::move(fn));
  if (node != nullptr && retains) node->retained_.emplace_back(0, target.impl());
  if (on_view) regenerate_view_history(impl);
}

}  // namespace voxgrad::autograd
