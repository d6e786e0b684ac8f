// What an op needs to be differentiable: record() attaches a node with a backward formula
// (written with ctorch ops, so higher-order gradients work) to the op's outputs, and
// inplace() gives in-place ops their history. Usage, in an op's primitive:
//
//   if (autograd::recording({&x})) {
//     Tensor r = autograd::untracked([&] { return exp(x); });
//     autograd::record("ExpBackward0", {x}, {r}, {r},
//                      [](const autograd::Context& c) { return grads(c.grad() * c.saved(0)); });
//     return r;
//   }
#pragma once
#include <functional>
#include <vector>
#include "ctorch/autograd.h"

namespace ctorch::autograd {

// A tensor kept for backward. Its storage version is checked when the backward reads it; an
// output of the recording node is kept without its history (no reference cycle) and gets it
// back when a higher-order backward needs it.
class CTORCH_API SavedTensor {
 public:
  SavedTensor(const Tensor& t, int output_nr);  // output_nr < 0: an input
  Tensor unpack(Node& owner) const;
  void release() { data_ = Tensor(); released_ = true; }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  int output_nr_;
  bool released_ = false;
  bool defined_;
  bool requires_grad_ = false;  // an output's, restored on unpack
};

// What a backward formula sees: the gradients of the forward outputs (missing ones are zeros;
// at least one is a real gradient), the saved tensors, and which forward inputs need gradients.
class Context {
 public:
  Context(const std::vector<Tensor>& grads, const std::vector<SavedTensor>& saved, Node& node)
      : grads_(grads), saved_(saved), node_(node) {}
  const Tensor& grad(size_t output = 0) const { return grads_[output]; }
  Tensor saved(size_t i) const { return saved_[i].unpack(node_); }
  bool needs_grad(size_t input) const { return node_.next_edges[input].valid(); }

 private:
  const std::vector<Tensor>& grads_;
  const std::vector<SavedTensor>& saved_;
  Node& node_;
};
// Returns one gradient per forward input; undefined where an input gets none. Gradients may
// have the broadcast shape and the computation dtype: the engine sums and casts them.
using BackwardFn = std::function<std::vector<Tensor>(const Context&)>;

// Attaches a node named `name` to `outputs` (computed with recording off). `saved` may hold
// inputs, outputs and other tensors the formula needs. Outputs that cannot carry gradients
// (integer dtypes) are left without history.
CTORCH_API void record(const char* name, const std::vector<Tensor>& inputs,
                       const std::vector<Tensor>& outputs, const std::vector<Tensor>& saved,
                       BackwardFn backward);

// Runs f() with recording off (the op's own implementation, already covered by the node).
template <class F>
auto untracked(F&& f) {
  NoGradGuard guard;
  return f();
}

// An in-place op with history: self = op(self), where `op` is the out-of-place twin applied
// with recording on. Checks leaves, writes the result into self and gives self (and the base
// of a view) the new history. Returns self.
CTORCH_API Tensor& inplace(Tensor& self, const std::function<Tensor(const Tensor&)>& op,
                           const char* name);
// Raises PyTorch's error for out= arguments when recording (they are not differentiable).
CTORCH_API void check_out_arg(const char* name, const Tensor* out,
                              std::initializer_list<const Tensor*> inputs);

// For node kinds outside ops (custom Python Functions): the edges and metadata of a node's
// inputs (computed before the node is created, so it runs before them), a tensor's new history,
// and the forward's stack trace when anomaly mode is on.
struct InputEdges {
  std::vector<Edge> edges;
  std::vector<Node::TensorMeta> meta;
};
CTORCH_API InputEdges input_edges(const std::vector<Tensor>& inputs);
CTORCH_API void set_history(const Tensor& t, std::shared_ptr<Node> fn, uint32_t output_nr);
CTORCH_API std::string forward_trace();

// Convenience for formulas.
inline std::vector<Tensor> grads(Tensor g) { return {std::move(g)}; }
// Sums a broadcast gradient back to `shape` (the reverse of broadcasting).
CTORCH_API Tensor sum_to(const Tensor& g, IntArrayRef shape);

}  // namespace ctorch::autograd
