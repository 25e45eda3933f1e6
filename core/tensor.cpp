#include "voxgrad/core/tensor.h"

#include "voxgrad/autograd/engine.h"
#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/inplace.h"
#include "voxgrad/autograd/node.h"
#include "voxgrad/core/detail/checks.h"
#include "voxgrad/core/detail/dispatch.h"
#include "voxgrad/core/error.h"
#include "voxgrad/core/factory.h"
#include "voxgrad/core/tensor_impl.h"
#include "voxgrad/ops/detail/kernels.h"
#include "voxgrad/ops/elementwise.h"
#include "voxgrad/ops/gather_scatter.h"
#include "voxgrad/ops/indexing.h"
#include "voxgrad/ops/join_split.h"
#include "voxgrad/ops/linalg.h"
#include "voxgrad/ops/reorder.h"
#include "voxgrad/ops/repeat.h"
#include "voxgrad/ops/shape_ops.h"

namespace voxgrad {

namespace detail {
void throw_undefined(const char* op) { throw Error(fmt::format("{}: the tensor is undefined", op)); }

void check_tensor_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw_undefined(op);
}

void throw_not_floating(DType dtype, const char* op, const char* what) {
  throw Error(fmt::format("{}: expected a float32 or float64 {}, but got {}", op, what, dtype));
}

void check_floating_dtype(DType dtype, const char* op) {
  if (!is_floating_point(dtype)) throw_not_floating(dtype, op);
}
}  // namespace detail

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  if (impl == nullptr) [[unlikely]]
    detail::throw_undefined(what);
  return *impl;
}
}  // namespace

const Shape& Tensor::sizes() const { return checked(impl_, "sizes").sizes; }
const Shape& Tensor::strides() const { return checked(impl_, "strides").strides; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(checked(impl_, "dim").sizes.size()); }
DType Tensor::dtype() const { return checked(impl_, "dtype").dtype; }
std::int64_t Tensor::storage_offset() const { return checked(impl_, "storage_offset").offset; }
std::uint32_t Tensor::version() const { return checked(impl_, "version").storage->version(); }

namespace {
void check_has_dims(const Tensor& t, std::int64_t d, const char* op) {
  VOXGRAD_CHECK(t.dim() > 0, "{}: dimension specified as {} but tensor has no dimensions", op, d);
}
}  // namespace

std::int64_t Tensor::size(std::int64_t d) const {
  check_has_dims(*this, d, "size");
  return sizes()[wrap_dim(d, dim(), "size")];
}

std::int64_t Tensor::stride(std::int64_t d) const {
  check_has_dims(*this, d, "stride");
  return strides()[wrap_dim(d, dim(), "stride")];
}

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t s : sizes()) n *= s;
  return n;
}

bool Tensor::is_contiguous() const {
  const auto& impl = checked(impl_, "is_contiguous");
  // As in PyTorch, a tensor without elements is contiguous whatever its strides.
  for (std::int64_t s : impl.sizes) {
    if (s == 0) return true;
  }
  std::int64_t expected = 1;
  for (std::size_t d = impl.sizes.size(); d-- > 0;) {
    if (impl.sizes[d] == 1) continue;
    if (impl.strides[d] != expected) return false;
    expected *= impl.sizes[d];
  }
  return true;
}

void* Tensor::raw_data_ptr() const {
  const auto& impl = checked(impl_, "data_ptr");
  // An empty storage has no data; a view of it may still carry an offset (e.g. after narrow), and
  // nullptr + offset is undefined behaviour, so return nullptr.
  if (impl.storage->data() == nullptr) return nullptr;
  return static_cast<char*>(impl.storage->data()) + impl.offset * static_cast<std::int64_t>(element_size(impl.dtype));
}

template <typename T>
T* Tensor::data_ptr() const {
  VOXGRAD_CHECK(dtype() == dtype_of<T>::value, "data_ptr: expected a tensor of dtype {}, but it has dtype {}",
                dtype_of<T>::value, dtype());
  return static_cast<T*>(raw_data_ptr());
}

template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template std::int64_t* Tensor::data_ptr<std::int64_t>() const;

template <typename T>
T Tensor::item() const {
  VOXGRAD_CHECK(numel() == 1, "item: a Tensor with {} elements cannot be converted to a scalar (shape {})", numel(),
                shape_str(sizes()));
  return detail::dispatch_all(dtype(), [&]<typename U>() { return static_cast<T>(*static_cast<U*>(raw_data_ptr())); });
}

template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template int Tensor::item<int>() const;

// --- conversions and views: thin forwards to ops/ ---------------------------------------------

Tensor Tensor::to(DType d) const { return voxgrad::to(*this, d); }
Tensor Tensor::contiguous() const { return voxgrad::contiguous(*this); }
Tensor Tensor::clone() const { return voxgrad::clone(*this); }
Tensor Tensor::detach() const {
  detail::check_defined(*this, "detach");
  return detail::alias(*this, impl_->sizes, impl_->strides, impl_->offset);
}
Tensor Tensor::view(IntArrayRef s) const { return voxgrad::view(*this, s); }
Tensor Tensor::reshape(IntArrayRef s) const { return voxgrad::reshape(*this, s); }
Tensor Tensor::flatten(std::int64_t a, std::int64_t b) const { return voxgrad::flatten(*this, a, b); }
Tensor Tensor::permute(IntArrayRef dims) const { return voxgrad::permute(*this, dims); }
Tensor Tensor::diagonal(std::int64_t offset, std::int64_t dim1, std::int64_t dim2) const {
  return voxgrad::diagonal(*this, offset, dim1, dim2);
}
Tensor Tensor::repeat(IntArrayRef repeats) const { return voxgrad::repeat(*this, repeats); }
Tensor Tensor::tile(IntArrayRef reps) const { return voxgrad::tile(*this, reps); }
Tensor Tensor::tril(std::int64_t diagonal) const { return voxgrad::tril(*this, diagonal); }
Tensor Tensor::triu(std::int64_t diagonal) const { return voxgrad::triu(*this, diagonal); }
Tensor Tensor::movedim(IntArrayRef source, IntArrayRef destination) const {
  return voxgrad::movedim(*this, source, destination);
}
std::vector<Tensor> Tensor::split(std::int64_t split_size, std::int64_t dim) const {
  return voxgrad::split(*this, split_size, dim);
}
std::vector<Tensor> Tensor::split(IntArrayRef split_sizes, std::int64_t dim) const {
  return voxgrad::split(*this, split_sizes, dim);
}
std::vector<Tensor> Tensor::chunk(std::int64_t chunks, std::int64_t dim) const {
  return voxgrad::chunk(*this, chunks, dim);
}
std::vector<Tensor> Tensor::unbind(std::int64_t dim) const { return voxgrad::unbind(*this, dim); }
Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const { return voxgrad::transpose(*this, a, b); }
Tensor Tensor::t() const { return voxgrad::t(*this); }
Tensor Tensor::squeeze() const { return voxgrad::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return voxgrad::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return voxgrad::unsqueeze(*this, d); }
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  return voxgrad::narrow(*this, d, start, length);
}
Tensor Tensor::slice(std::int64_t d, std::optional<std::int64_t> start, std::optional<std::int64_t> end,
                     std::int64_t step) const {
  return voxgrad::slice(*this, d, start, end, step);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const { return voxgrad::select(*this, d, index); }
Tensor Tensor::expand(IntArrayRef s) const { return voxgrad::expand(*this, s); }
Tensor Tensor::expand_as(const Tensor& other) const { return voxgrad::expand(*this, other.sizes()); }

// --- in-place -------------------------------------------------------------------------------
// Each op validates (autograd's checks first, before anything is written), runs its kernel, then
// records its backward when autograd must (autograd/inplace.h): on a view, that rewrites the base.

namespace {

using autograd::inplace_needs_record;
using autograd::record_inplace;
using Grads = std::vector<Tensor>;

// `t`, or a copy of it made now (with its history) if it shares memory with `self`, which is about
// to be overwritten: what a backward must see is the value before the write.
Tensor value_before_write(const Tensor& t, const Tensor& self) {
  return t.impl()->storage == self.impl()->storage ? t.clone() : t;
}

// Records an op whose gradient w.r.t. self's old value is grad * scale (scale 0: none flows).
void record_scaled(const char* name, Tensor& self, double scale) {
  record_inplace(name, self, {}, {}, false, [scale](const Tensor& g, const Tensor&, auto, auto) {
    return Grads{scale == 1.0 ? g : scale == 0.0 ? zeros_like(g) : g * scale};
  });
}

// self += alpha * o, named `name` in errors (add_ and sub_).
void add_scaled(Tensor& self, const Tensor& o, double alpha, const char* name) {
  const bool rec = inplace_needs_record(self, {&o}, name);
  detail::inplace_binary(self, o, detail::InplaceOp::Add, alpha, name);
  if (!rec) return;
  record_inplace(alpha < 0 ? "SubBackward" : "AddBackward", self, {o}, {}, false,
                 [alpha, os = o.sizes()](const Tensor& g, const Tensor&, auto, auto needs) {
                   return Grads{g, needs[1] ? (alpha == 1.0 ? g : g * alpha).sum_to_size(os) : Tensor()};
                 });
}

// self += v (add_ and sub_).
void add_scalar(Tensor& self, double v, const char* name) {
  const bool rec = inplace_needs_record(self, {}, name);
  detail::inplace_scalar(self, detail::InplaceOp::Add, v, name);
  if (rec) record_scaled(v < 0 ? "SubBackward" : "AddBackward", self, 1.0);
}

}  // namespace

Tensor& Tensor::add_(const Tensor& o, double alpha) {
  add_scaled(*this, o, alpha, "add_");
  return *this;
}
Tensor& Tensor::add_(double v) {
  add_scalar(*this, v, "add_");
  return *this;
}
Tensor& Tensor::sub_(const Tensor& o, double alpha) {
  add_scaled(*this, o, -alpha, "sub_");
  return *this;
}
Tensor& Tensor::sub_(double v) {
  add_scalar(*this, -v, "sub_");
  return *this;
}
Tensor& Tensor::mul_(const Tensor& o) {
  const bool rec = inplace_needs_record(*this, {&o}, "mul_");
  // d(self * o): grad * o for self, grad * (self before the write) for o.
  Tensor other, self_before;
  if (rec && requires_grad()) other = value_before_write(o, *this);
  if (rec && o.requires_grad()) self_before = clone();
  detail::inplace_binary(*this, o, detail::InplaceOp::Mul, 1.0, "mul_");
  if (rec) {
    record_inplace(
        "MulBackward", *this, {o}, {other, self_before}, false,
        [os = o.sizes()](const Tensor& g, const Tensor&, std::span<const Tensor> saved, auto needs) {
          return Grads{needs[0] ? g * saved[0] : Tensor(), needs[1] ? (g * saved[1]).sum_to_size(os) : Tensor()};
        });
  }
  return *this;
}
Tensor& Tensor::mul_(double v) {
  const bool rec = inplace_needs_record(*this, {}, "mul_");
  detail::inplace_scalar(*this, detail::InplaceOp::Mul, v, "mul_");
  if (rec) record_scaled("MulBackward", *this, v);
  return *this;
}
Tensor& Tensor::div_(const Tensor& o) {
  const bool rec = inplace_needs_record(*this, {&o}, "div_");
  // d(self / o): grad / o for self, -grad * result / o for o (result = self / o, saved after the write).
  const Tensor other = rec ? value_before_write(o, *this) : Tensor();
  detail::inplace_binary(*this, o, detail::InplaceOp::Div, 1.0, "div_");
  if (rec) {
    record_inplace("DivBackward", *this, {o}, {other}, o.requires_grad(),
                   [os = o.sizes()](const Tensor& g, const Tensor& result, std::span<const Tensor> saved, auto needs) {
                     return Grads{needs[0] ? g / saved[0] : Tensor(),
                                  needs[1] ? (-g * result / saved[0]).sum_to_size(os) : Tensor()};
                   });
  }
  return *this;
}
Tensor& Tensor::div_(double v) {
  const bool rec = inplace_needs_record(*this, {}, "div_");
  detail::inplace_scalar(*this, detail::InplaceOp::Div, v, "div_");
  if (rec) {
    record_inplace("DivBackward", *this, {}, {}, false,
                   [v](const Tensor& g, const Tensor&, auto, auto) { return Grads{g / v}; });
  }
  return *this;
}
Tensor& Tensor::zero_() {
  const bool rec = inplace_needs_record(*this, {}, "zero_");
  detail::inplace_scalar(*this, detail::InplaceOp::Fill, 0.0, "zero_");
  if (rec) record_scaled("ZeroBackward", *this, 0.0);
  return *this;
}
Tensor& Tensor::fill_(double v) {
  const bool rec = inplace_needs_record(*this, {}, "fill_");
  detail::inplace_scalar(*this, detail::InplaceOp::Fill, v, "fill_");
  if (rec) record_scaled("FillBackward", *this, 0.0);
  return *this;
}
Tensor& Tensor::copy_(const Tensor& src) { return detail::recorded_copy(*this, src, "copy_"); }
Tensor& Tensor::relu_() { return voxgrad::relu_(*this); }
Tensor& Tensor::leaky_relu_(double s) { return voxgrad::leaky_relu_(*this, s); }

namespace detail {
Tensor& recorded_copy(Tensor& self, const Tensor& src, const char* name) {
  const bool rec = inplace_needs_record(self, {&src}, name);
  inplace_binary(self, src, InplaceOp::Copy, 1.0, name);
  if (rec) {
    record_inplace("CopyBackward", self, {src}, {}, false,
                   [ss = src.sizes()](const Tensor& g, const Tensor&, auto, auto needs) {
                     return Grads{needs[0] ? zeros_like(g) : Tensor(), needs[1] ? g.sum_to_size(ss) : Tensor()};
                   });
  }
  return self;
}
}  // namespace detail

// --- indexing -------------------------------------------------------------------------------

Tensor Tensor::index(std::initializer_list<indexing::TensorIndex> i) const {
  return voxgrad::index(*this, std::vector<indexing::TensorIndex>(i));
}
Tensor Tensor::index(const std::vector<indexing::TensorIndex>& i) const { return voxgrad::index(*this, i); }
Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& i, const Tensor& v, bool acc) {
  return voxgrad::index_put_(*this, i, v, acc);
}
Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& i, double v, bool acc) {
  return voxgrad::index_put_(*this, i, v, acc);
}
Tensor Tensor::index_put(const std::vector<indexing::TensorIndex>& i, const Tensor& v, bool acc) const {
  return voxgrad::index_put(*this, i, v, acc);
}
Tensor Tensor::index_select(std::int64_t d, const Tensor& i) const { return voxgrad::index_select(*this, d, i); }
Tensor Tensor::masked_fill(const Tensor& m, double v) const { return voxgrad::masked_fill(*this, m, v); }
Tensor Tensor::masked_fill(const Tensor& m, const Tensor& v) const { return voxgrad::masked_fill(*this, m, v); }
Tensor& Tensor::masked_fill_(const Tensor& m, double v) { return voxgrad::masked_fill_(*this, m, v); }
Tensor& Tensor::masked_fill_(const Tensor& m, const Tensor& v) { return voxgrad::masked_fill_(*this, m, v); }
Tensor Tensor::gather(std::int64_t d, const Tensor& i) const { return voxgrad::gather(*this, d, i); }
Tensor Tensor::scatter_add(std::int64_t d, const Tensor& i, const Tensor& s) const {
  return voxgrad::scatter_add(*this, d, i, s);
}
Tensor& Tensor::scatter_add_(std::int64_t d, const Tensor& i, const Tensor& s) {
  return voxgrad::scatter_add_(*this, d, i, s);
}
Tensor Tensor::flip(IntArrayRef d) const { return voxgrad::flip(*this, d); }
Tensor Tensor::roll(IntArrayRef s, IntArrayRef d) const { return voxgrad::roll(*this, s, d); }
Tensor Tensor::where(const Tensor& c, const Tensor& o) const { return voxgrad::where(c, *this, o); }
Tensor Tensor::where(const Tensor& c, double o) const { return voxgrad::where(c, *this, o); }

// --- autograd -------------------------------------------------------------------------------

Tensor& Tensor::requires_grad_(bool r) {
  const auto& impl = checked(impl_, "requires_grad_");
  VOXGRAD_CHECK(impl.grad_fn == nullptr || r,
                "requires_grad_: you can only change requires_grad flags of leaf tensors; use "
                "detach() to get a tensor outside the graph");
  VOXGRAD_CHECK(!r || is_floating_point(impl.dtype),
                "requires_grad_: only floating point tensors can require gradients, but this one "
                "has dtype {}",
                impl.dtype);
  if (impl.grad_fn == nullptr) impl_->requires_grad = r;
  return *this;
}

bool Tensor::requires_grad() const {
  checked(impl_, "requires_grad");
  autograd::refresh_view_history(*impl_);
  const auto& impl = *impl_;
  return impl.requires_grad || impl.grad_fn != nullptr;
}

bool Tensor::is_leaf() const {
  checked(impl_, "is_leaf");
  autograd::refresh_view_history(*impl_);
  return impl_->grad_fn == nullptr;
}

Tensor Tensor::grad() const { return Tensor(checked(impl_, "grad").grad); }

void Tensor::set_grad(const Tensor& g) const {
  checked(impl_, "set_grad");
  if (g.defined()) {
    VOXGRAD_CHECK(g.sizes() == sizes(), "set_grad: gradient of shape {} for a tensor of shape {}", shape_str(g.sizes()),
                  shape_str(sizes()));
    VOXGRAD_CHECK(g.dtype() == dtype(), "set_grad: gradient of dtype {} for a tensor of dtype {}", g.dtype(), dtype());
  }
  impl_->grad = g.impl();
}

void Tensor::set_data(const Tensor& new_data) const {
  const TensorImpl& self = checked(impl_, "set_data");
  VOXGRAD_CHECK(new_data.defined(), "set_data: new_data is an undefined tensor");
  const TensorImpl& src = *new_data.impl_;
  VOXGRAD_CHECK(!requires_grad() || is_floating_point(src.dtype),
                "set_data: the tensor requires grad, so new_data must be float32 or float64, not {}", src.dtype);
  if (&self == &src) return;
  impl_->storage = src.storage;
  impl_->sizes = src.sizes;
  impl_->strides = src.strides;
  impl_->offset = src.offset;
  impl_->dtype = src.dtype;
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  checked(impl_, "grad_fn");
  autograd::refresh_view_history(*impl_);
  return impl_->grad_fn;
}

Tensor& Tensor::retain_grad() {
  const auto& impl = checked(impl_, "retain_grad");
  VOXGRAD_CHECK(requires_grad(), "retain_grad: can't retain_grad on a tensor that has requires_grad=false");
  if (impl.grad_fn == nullptr || impl.retains_grad) return *this;  // leaves keep grad anyway
  impl_->retains_grad = true;
  impl.grad_fn->retained_.emplace_back(impl.output_nr, impl_);
  return *this;
}

bool Tensor::retains_grad() const { return checked(impl_, "retains_grad").retains_grad; }

namespace {

// Registers `hook` in the list `list_of(*owner)` and returns a handle that removes it while `owner` lives.
template <typename Owner, typename ListOf, typename Hook>
autograd::RemovableHandle add_removable(const std::shared_ptr<Owner>& owner, ListOf list_of, Hook hook,
                                        std::uint32_t slot = 0) {
  const std::uint64_t id = list_of(*owner).add(std::move(hook), slot);
  return autograd::RemovableHandle([weak = std::weak_ptr<Owner>(owner), list_of, id] {
    if (auto o = weak.lock()) list_of(*o).remove(id);
  });
}

}  // namespace

autograd::RemovableHandle Tensor::register_hook(autograd::GradHook hook) const {
  const auto& impl = checked(impl_, "register_hook");
  VOXGRAD_CHECK(hook != nullptr, "register_hook: the hook is an empty function");
  VOXGRAD_CHECK(requires_grad(),
                "register_hook: cannot register a hook on a tensor that doesn't require gradient (shape {})",
                shape_str(impl.sizes));
  if (impl.grad_fn == nullptr) {
    return add_removable(
        autograd::leaf_hooks(impl_), [](autograd::LeafHooks & h) -> auto& { return h.grad; }, std::move(hook));
  }
  return add_removable(
      impl.grad_fn, [](autograd::Node & n) -> auto& { return n.grad_hooks(); }, std::move(hook), impl.output_nr);
}

autograd::RemovableHandle Tensor::register_post_accumulate_grad_hook(autograd::PostAccumulateGradHook hook) const {
  const auto& impl = checked(impl_, "register_post_accumulate_grad_hook");
  VOXGRAD_CHECK(hook != nullptr, "register_post_accumulate_grad_hook: the hook is an empty function");
  VOXGRAD_CHECK(impl.grad_fn == nullptr,
                "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on non-leaf "
                "tensors (this one, of shape {}, was produced by {})",
                shape_str(impl.sizes), impl.grad_fn->name());
  VOXGRAD_CHECK(impl.requires_grad,
                "register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require "
                "gradient (shape {})",
                shape_str(impl.sizes));
  return add_removable(
      autograd::leaf_hooks(impl_), [](autograd::LeafHooks & h) -> auto& { return h.post_accumulate; }, std::move(hook));
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  autograd::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{}, retain_graph,
                     create_graph);
}

// --- operators ------------------------------------------------------------------------------

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator-(double a, const Tensor& b) { return rsub(b, a); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator/(double a, const Tensor& b) { return rdiv(b, a); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
Tensor& operator+=(Tensor& a, double b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
Tensor& operator-=(Tensor& a, double b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
Tensor& operator*=(Tensor& a, double b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }
Tensor& operator/=(Tensor& a, double b) { return a.div_(b); }

}  // namespace voxgrad
