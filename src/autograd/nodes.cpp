// Built-in op nodes, leaf accumulators and the view nodes.
#include "autograd/nodes.h"
#include <algorithm>
#include "ctorch/ops.h"

namespace ctorch::autograd {

std::vector<Tensor> OpNode::apply(std::vector<Tensor>&& grads) {
  bool any = false;
  for (const Tensor& g : grads) any = any || g.defined();
  if (!any) return std::vector<Tensor>(next_edges.size());
  for (size_t i = 0; i < grads.size(); ++i)
    if (!grads[i].defined())
      grads[i] = zeros(output_meta[i].shape, output_meta[i].dtype, output_meta[i].device);
  std::vector<Tensor> out = backward_(Context(grads, saved_, *this));
  CTORCH_CHECK(out.size() == next_edges.size(), "[", name_, "] backward returned ", out.size(),
               " gradients for ", next_edges.size(), " inputs");
  return out;
}

void OpNode::release_variables() {
  for (SavedTensor& s : saved_) s.release();
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  // The leaf's hooks already ran (run_hooks): the engine runs them before it captures a
  // gradient for autograd.grad too.
  Tensor g = std::move(grads[0]);
  if (!g.defined()) return {};
  AutogradMeta& m = meta(leaf_);
  if (!m.grad.defined()) {
    // Take the gradient as is when nothing else holds it; else copy (it may alias a user's
    // grad_output or be an expanded view). Under create_graph the clone is recorded, so .grad
    // keeps its history (a gradient penalty differentiates through it).
    bool owned = g.impl_ptr().use_count() == 1 && g.is_contiguous() && !g.impl()->view_base;
    m.grad = owned ? g : clone(g);
  } else if (is_grad_enabled() || requires_grad(m.grad)) {
    m.grad = add(m.grad, g);
  } else {
    add_(m.grad, g);
  }
  for (const auto& hook : m.post_accumulate_hooks) hook(leaf_);
  return {};
}

void AccumulateGrad::run_hooks(Tensor& g) {
  const auto& m = leaf_.impl()->autograd;
  if (!m || !g.defined()) return;
  for (const TensorHook& hook : m->hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = std::move(r);
  }
}

ViewGeometry::ViewGeometry(const Tensor& base, const Tensor& view)
    : base_sizes(base.sizes()), base_strides(base.strides()), sizes(view.sizes()),
      strides(view.strides()), offset(view.storage_offset() - base.storage_offset()),
      base_contiguous(base.is_contiguous()) {}

Tensor storage_positions(int64_t extent, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  Tensor all = arange(Scalar(int64_t(0)), Scalar(std::max<int64_t>(extent, 1)), Scalar(int64_t(1)));
  return reshape(as_strided(all, sizes, strides, offset), {-1});
}

Tensor add_into_storage(const Tensor& g, const Tensor& positions, int64_t extent) {
  Tensor zero = zeros({extent}, g.dtype(), g.device());
  return index_add(zero, 0, positions, reshape(g, {-1}));
}

Tensor ViewGeometry::base_positions() const {
  return storage_positions(shape_numel(base_sizes), base_sizes, base_strides, 0);
}

Tensor ViewGeometry::view_positions() const {
  return storage_positions(shape_numel(base_sizes), sizes, strides, offset);
}

Tensor ViewGeometry::to_storage_order(const Tensor& g) const {
  if (base_contiguous) return reshape(g, {-1});
  return add_into_storage(g, base_positions(), g.numel());
}

Tensor ViewGeometry::from_storage_order(const Tensor& s) const {
  if (base_contiguous) return reshape(s, base_sizes);
  return reshape(index_select(s, 0, base_positions()), base_sizes);
}

std::vector<Tensor> AsStridedNode::apply(std::vector<Tensor>&& grads) {
  const Tensor& g = grads[0];
  if (!g.defined()) return {Tensor()};
  return {geo_.from_storage_order(add_into_storage(g, geo_.view_positions(), shape_numel(geo_.base_sizes)))};
}

std::vector<Tensor> CopySlices::apply(std::vector<Tensor>&& grads) {
  const Tensor& g = grads[0];
  if (!g.defined()) return {Tensor(), Tensor()};
  Tensor s = geo_.to_storage_order(g), pos = geo_.view_positions();
  Tensor grad_result = reshape(index_select(s, 0, pos), geo_.sizes);
  Tensor grad_base = geo_.from_storage_order(index_fill(s, 0, pos, Scalar(0)));
  return {grad_base, grad_result};
}

}  // namespace ctorch::autograd
