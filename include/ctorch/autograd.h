// Autograd: tensors record the ops applied to them as a graph of Nodes; the engine walks it
// backwards. Grad modes are thread-local.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "ctorch/core/tensor.h"

namespace ctorch {

class Node;

// The gradient of a forward input flows to input slot `input_nr` of `fn`: the node that produced
// the input, or the AccumulateGrad node of a leaf.
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

// A gradient hook: returns a replacement gradient, or an undefined tensor to keep it.
using TensorHook = std::function<Tensor(const Tensor&)>;

struct CTORCH_API AutogradMeta {
  bool requires_grad = false;  // leaves that require grad, and every tensor with a grad_fn
  bool retains_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  uint32_t output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;  // leaves: shared by every graph that uses them
  std::vector<TensorHook> hooks;         // leaves (a non-leaf's hooks live on its grad_fn)
  std::vector<std::function<void(const Tensor&)>> post_accumulate_hooks;
  // Bumped when an in-place op rewrites this tensor's history; views compare it with their
  // TensorImpl::view_version to know their own history is stale.
  uint32_t history_version = 0;
};

class CTORCH_API Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  virtual std::string name() const = 0;
  // Gradients of the forward inputs (one per next edge) from those of the forward outputs (one
  // per output; undefined where no gradient arrived).
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grads) = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_variables() {}

  struct TensorMeta {
    DimVector shape;
    DType dtype;
    Device device;
  };
  std::vector<Edge> next_edges;         // one per forward input
  std::vector<TensorMeta> input_meta;   // gradients are summed and cast to these
  std::vector<TensorMeta> output_meta;  // missing output gradients are zeros of these
  uint64_t sequence_nr;                 // creation order: later nodes run first
  // Hooks and retain_grad() of the non-leaf tensors this node produced, by output index.
  std::vector<std::pair<uint32_t, TensorHook>> pre_hooks;
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained;
  std::string anomaly_trace;  // where the forward ran, when anomaly mode recorded it
};

namespace autograd {

// ---- grad modes (thread-local)
CTORCH_API bool is_grad_enabled();
CTORCH_API void set_grad_enabled(bool enabled);
CTORCH_API bool is_inference_mode_enabled();
CTORCH_API void set_inference_mode_enabled(bool enabled);
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : prev_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};
struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

CTORCH_API bool is_anomaly_enabled();
CTORCH_API bool anomaly_checks_nan();
CTORCH_API void set_anomaly_enabled(bool enabled, bool check_nan = true);
// Supplies the forward's stack trace for anomaly mode (the Python bindings install one).
CTORCH_API void set_anomaly_trace_source(std::function<std::string()> source);

// ---- tensor state
CTORCH_API bool view_requires_grad(const TensorImpl& t);
inline bool requires_grad(const Tensor& t) {
  const TensorImpl* i = t.impl();
  if (i->autograd) return i->autograd->requires_grad;
  return i->view_base && view_requires_grad(*i);
}
// Whether an op over these operands must record a node: grad mode on and one requires grad.
inline bool recording(std::initializer_list<const Tensor*> operands) {
  if (!is_grad_enabled()) return false;
  for (const Tensor* t : operands)
    if (t->defined() && requires_grad(*t)) return true;
  return false;
}
inline bool recording(const std::vector<Tensor>& operands) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : operands)
    if (t.defined() && requires_grad(t)) return true;
  return false;
}
CTORCH_API void set_requires_grad(const Tensor& t, bool requires_grad);
CTORCH_API bool is_leaf(const Tensor& t);
CTORCH_API std::shared_ptr<Node> grad_fn(const Tensor& t);  // refreshes a stale view's history
CTORCH_API uint32_t output_nr(const Tensor& t);
CTORCH_API Tensor grad(const Tensor& t);
CTORCH_API void set_grad(const Tensor& t, const Tensor& grad);
CTORCH_API bool retains_grad(const Tensor& t);
CTORCH_API void retain_grad(const Tensor& t);
CTORCH_API void register_hook(const Tensor& t, TensorHook hook);
CTORCH_API void register_post_accumulate_grad_hook(const Tensor& t,
                                                    std::function<void(const Tensor&)> hook);
CTORCH_API Tensor detach(const Tensor& t);  // shares storage and version counter, no history
CTORCH_API void detach_(const Tensor& t);
// Where the gradient of `t` goes: its grad_fn, or its leaf's AccumulateGrad (created on demand).
CTORCH_API Edge gradient_edge(const Tensor& t);
CTORCH_API AutogradMeta& meta(const Tensor& t);  // created on first use

// ---- the engine
// Accumulates d(outputs)/d(leaves) into the leaves' .grad (only into `inputs` when given).
// grad_outputs[i] may be undefined for a one-element output (a gradient of 1).
CTORCH_API void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                         bool retain_graph, bool create_graph, const std::vector<Tensor>& inputs = {});
// Returns d(outputs)/d(inputs) without touching .grad; an input the outputs do not depend on
// gets an undefined tensor when allow_unused (zeros when materialize_grads), else an error.
CTORCH_API std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                                    const std::vector<Tensor>& grad_outputs, bool retain_graph,
                                    bool create_graph, bool allow_unused, bool materialize_grads = false);

}  // namespace autograd
}  // namespace ctorch
