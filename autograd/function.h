#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <variant>
#include <vector>

#include "voxgrad/autograd/grad_mode.h"
#include "voxgrad/autograd/node.h"

namespace voxgrad::autograd {

/// A list of tensors (libtorch's torch::autograd::tensor_list / variable_list).
using tensor_list = std::vector<Tensor>;
/// Same as tensor_list (libtorch's older name).
using variable_list = std::vector<Tensor>;

/// A value kept in AutogradContext::saved_data, the subset of libtorch's IValue that custom functions
/// use. The accessors keep libtorch's names (toDouble(), toInt() ...) so ported code compiles
/// unchanged; asking for the wrong type throws voxgrad::Error naming both types.
class SavedValue {
 public:
  /// None.
  SavedValue() = default;
  SavedValue(bool v) : v_(v) {}  // NOLINT: implicit, as IValue
  template <std::integral I>
  requires(!std::same_as<I, bool>) SavedValue(I v) : v_(static_cast<std::int64_t>(v)) {}  // NOLINT
  SavedValue(double v) : v_(v) {}                                                         // NOLINT
  SavedValue(const char* v) : v_(std::string(v)) {}                                       // NOLINT
  SavedValue(std::string v) : v_(std::move(v)) {}                                         // NOLINT
  SavedValue(Tensor v) : v_(std::move(v)) {}                                              // NOLINT
  SavedValue(std::vector<std::int64_t> v) : v_(std::move(v)) {}                           // NOLINT
  SavedValue(std::vector<double> v) : v_(std::move(v)) {}                                 // NOLINT
  bool isNone() const { return std::holds_alternative<std::monostate>(v_); }  ///< True if nothing was stored.
  bool toBool() const;                                                        ///< The bool stored.
  std::int64_t toInt() const;                                                 ///< The integer stored.
  double toDouble() const;                                                    ///< The double (or integer) stored.
  const std::string& toStringRef() const;                                     ///< The string stored.
  Tensor toTensor() const;                                                    ///< The tensor stored.
  const std::vector<std::int64_t>& toIntVector() const;                       ///< The integer list stored.
  const std::vector<double>& toDoubleVector() const;                          ///< The double list stored.
  /// Name of the stored type ("double", "None" ...), for messages.
  const char* type_name() const;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Tensor, std::vector<std::int64_t>,
               std::vector<double>>
      v_;
};

namespace detail {
class FunctionNode;
}

/// What a custom Function's forward and backward share (libtorch's AutogradContext).
class AutogradContext {
 public:
  AutogradContext() = default;
  AutogradContext(const AutogradContext&) = delete;
  AutogradContext& operator=(const AutogradContext&) = delete;

  /// Saves tensors (inputs, outputs or intermediates) for backward; call once in forward. Each is
  /// checked against the version counter when unpacked: modifying it in place afterwards is an error.
  void save_for_backward(tensor_list to_save);
  /// The tensors saved in forward, in order (only in backward). Saved outputs come back with their
  /// grad_fn, so a differentiable backward supports double backward.
  tensor_list get_saved_variables() const;
  /// Declares inputs that forward modified in place; they must be returned as outputs. Their history
  /// is rewritten to this function (an error for a leaf that requires grad).
  void mark_dirty(const tensor_list& inputs);
  /// Declares outputs that have no gradient (indices, masks): they do not require grad, and backward
  /// receives a zero (or undefined, see set_materialize_grads) gradient for them.
  void mark_non_differentiable(const tensor_list& outputs);
  /// true (default): gradients of outputs nobody used arrive as zeros; false: as undefined tensors.
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  /// Whether tensor input `index` (counting Tensor arguments, and each element of tensor_list
  /// arguments, in order) needs a gradient: in forward, whether it requires grad; in backward,
  /// whether this backward pass wants it. Returning a gradient when false is allowed (it is dropped).
  bool needs_input_grad(std::size_t index) const;

  /// Non-tensor values for backward (libtorch's saved_data). Store tensors with save_for_backward:
  /// a tensor stored here is not version-checked, and an output stored here leaks the graph (cycle).
  std::unordered_map<std::string, SavedValue> saved_data;

 private:
  friend class detail::FunctionNode;
  tensor_list to_save_;
  std::vector<const TensorImpl*> dirty_;
  std::vector<const TensorImpl*> non_differentiable_;
  std::vector<bool> needs_;             // set in forward; replaced by the backward pass's needs
  const tensor_list* saved_ = nullptr;  // the unpacked saved tensors while backward runs
  bool materialize_grads_ = true;
  std::string name_;
};

namespace detail {

/// The node of one custom Function call; the non-template half of Function<T>::apply.
class FunctionNode final : public Node {
 public:
  using BackwardImpl = tensor_list (*)(AutogradContext*, tensor_list);
  FunctionNode(std::string name, BackwardImpl backward);
  /// The context passed to forward and backward.
  AutogradContext* ctx() { return &ctx_; }
  /// Prepares ctx for forward on `inputs`.
  void begin_forward(const tensor_list& inputs);
  /// Checks what forward declared, and when grad mode is on and an input requires grad wires the
  /// node into the graph (outputs get it as grad_fn, dirty inputs have their history rewritten).
  tensor_list finish_forward(const tensor_list& inputs, tensor_list outputs);

 private:
  // Runs the user's backward and checks how many gradients it returned.
  std::vector<Tensor> run_backward(const BackwardCtx& c);

  AutogradContext ctx_;
  BackwardImpl backward_;
};

/// Readable name of a type ("MyOp") for the node name "MyOpBackward".
std::string demangle(const std::type_info& type);

inline void collect_tensors(tensor_list& out, const Tensor& t) { out.push_back(t); }
inline void collect_tensors(tensor_list& out, const tensor_list& ts) { out.insert(out.end(), ts.begin(), ts.end()); }
template <typename A>
void collect_tensors(tensor_list&, const A&) {}

}  // namespace detail

/// Base of a user-defined differentiable op, as in libtorch:
///
///     struct Cube : autograd::Function<Cube> {
///       static Tensor forward(AutogradContext* ctx, Tensor x) {
///         ctx->save_for_backward({x});
///         return x * x * x;
///       }
///       static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
///         Tensor x = ctx->get_saved_variables()[0];
///         return {grads[0] * 3.0 * x * x};
///       }
///     };
///     Tensor y = Cube::apply(x);
///
/// forward runs with grad mode off and may take any arguments; Tensor and tensor_list arguments are
/// the inputs that get gradients, in order. It returns a Tensor or a tensor_list. backward gets one
/// gradient per output and returns one per tensor input (undefined where none; extra trailing
/// undefined entries are allowed, as for the gradients of non-tensor arguments). Backward runs with
/// grad mode on under create_graph, so a backward written with differentiable ops gives double
/// backward.
template <typename T>
struct Function {
  /// Runs T::forward and records T::backward.
  template <typename... Args>
  static auto apply(Args&&... args) {
    tensor_list inputs;
    (detail::collect_tensors(inputs, args), ...);
    auto node = make_node<detail::FunctionNode>(detail::demangle(typeid(T)) + "Backward", &call_backward);
    node->begin_forward(inputs);
    using Out = decltype(T::forward(node->ctx(), std::forward<Args>(args)...));
    static_assert(std::is_same_v<Out, Tensor> || std::is_same_v<Out, tensor_list>,
                  "Function<T>: T::forward must return Tensor or tensor_list");
    tensor_list outputs;
    {
      AutoGradMode off(false);
      if constexpr (std::is_same_v<Out, Tensor>) {
        outputs.push_back(T::forward(node->ctx(), std::forward<Args>(args)...));
      } else {
        outputs = T::forward(node->ctx(), std::forward<Args>(args)...);
      }
    }
    outputs = node->finish_forward(inputs, std::move(outputs));
    if constexpr (std::is_same_v<Out, Tensor>) {
      return outputs[0];
    } else {
      return outputs;
    }
  }

 private:
  static tensor_list call_backward(AutogradContext* ctx, tensor_list grads) {
    return T::backward(ctx, std::move(grads));
  }
};

}  // namespace voxgrad::autograd
