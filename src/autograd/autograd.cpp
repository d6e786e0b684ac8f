// Autograd state of tensors, grad modes, saved tensors, recording ops, and in-place ops on
// tensors and views (the engine is in engine.cpp).
#include <algorithm>
#include <atomic>
#include "autograd/function.h"
#include "autograd/nodes.h"
#include "ctorch/ops.h"

namespace ctorch {

namespace {
thread_local bool grad_enabled = true;
thread_local bool inference_mode = false;
thread_local uint64_t next_sequence_nr = 0;
std::atomic<bool> anomaly_enabled{false};
std::atomic<bool> anomaly_nan{true};
std::function<std::string()> anomaly_trace_source;
}  // namespace

Node::Node() : sequence_nr(next_sequence_nr++) {}
// Freeing a long chain (a 100k-step loop) recursively would overflow the C stack: the nodes this
// one alone keeps alive are unlinked and freed one at a time. (Derived members, such as saved
// tensors, are already gone here, so their references no longer count.)
Node::~Node() {
  std::vector<std::shared_ptr<Node>> orphans;
  auto unlink = [&](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.fn && e.fn.use_count() == 1) orphans.push_back(std::move(e.fn));
  };
  unlink(next_edges);
  while (!orphans.empty()) {
    std::shared_ptr<Node> n = std::move(orphans.back());
    orphans.pop_back();
    n->release_variables();  // saved inputs may hold the next node too
    unlink(n->next_edges);
  }
}

namespace autograd {

bool is_grad_enabled() { return grad_enabled; }
void set_grad_enabled(bool enabled) { grad_enabled = enabled; }
bool is_inference_mode_enabled() { return inference_mode; }
void set_inference_mode_enabled(bool enabled) { inference_mode = enabled; }

bool is_anomaly_enabled() { return anomaly_enabled.load(std::memory_order_relaxed); }
bool anomaly_checks_nan() { return anomaly_nan.load(std::memory_order_relaxed); }
void set_anomaly_enabled(bool enabled, bool check_nan) {
  anomaly_enabled = enabled;
  anomaly_nan = check_nan;
}
void set_anomaly_trace_source(std::function<std::string()> source) {
  anomaly_trace_source = std::move(source);
}

void set_history(const Tensor& t, std::shared_ptr<Node> fn, uint32_t output_nr) {
  AutogradMeta& m = meta(t);
  m.grad_fn = std::move(fn);
  m.output_nr = output_nr;
  m.requires_grad = true;
}

std::string forward_trace() {
  return is_anomaly_enabled() && anomaly_trace_source ? anomaly_trace_source() : std::string();
}

InputEdges input_edges(const std::vector<Tensor>& inputs) {
  InputEdges r;
  r.edges.reserve(inputs.size());
  r.meta.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    bool differentiable = in.defined() && requires_grad(in);
    r.edges.push_back(differentiable ? gradient_edge(in) : Edge());
    r.meta.push_back(differentiable ? tensor_meta(in) : Node::TensorMeta{});
  }
  return r;
}

Node::TensorMeta tensor_meta(const Tensor& t) {
  return {DimVector(t.sizes()), t.dtype(), t.device()};
}

AutogradMeta& meta(const Tensor& t) {
  auto& m = t.impl()->autograd;
  if (!m) m = std::make_unique<AutogradMeta>();
  return *m;
}

namespace {
AutogradMeta* base_meta(const TensorImpl& view) {
  return view.view_base ? view.view_base->autograd.get() : nullptr;
}
// A view's history is stale when an in-place op rewrote its base's history after the view's
// history was set.
bool view_is_stale(const TensorImpl& t) {
  const AutogradMeta* b = base_meta(t);
  bool stale = b && b->requires_grad && t.view_version != b->history_version;
  CTORCH_CHECK(!stale || !t.view_made_without_grad,
               "A view was created in no_grad mode and its base or another view of its base has been "
               "modified inplace with grad mode enabled. Given that this use case is ambiguous and "
               "error-prone, it is forbidden. You can clarify your code by moving both the view and "
               "the inplace either both inside the no_grad block (if you don't want the inplace to be "
               "tracked) or both outside (if you want the inplace to be tracked).");
  return stale;
}


// Gives a view whose base's history changed the history "as_strided view of the new base".
void refresh_view(const Tensor& view) {
  Tensor base(view.impl()->view_base);
  Edge base_edge = gradient_edge(base);
  auto node = std::make_shared<AsStridedNode>(base, view);
  node->next_edges.push_back(std::move(base_edge));
  node->input_meta.push_back(tensor_meta(base));
  node->output_meta.push_back(tensor_meta(view));
  set_history(view, std::move(node), 0);
  view.impl()->view_version = base.impl()->autograd->history_version;
}
}  // namespace

bool view_requires_grad(const TensorImpl& t) { return view_is_stale(t); }

void set_requires_grad(const Tensor& t, bool value) {
  CTORCH_CHECK(value || is_leaf(t),
               "you can only change requires_grad flags of leaf variables. If you want to use a "
               "computed variable in a subgraph that doesn't require differentiation use "
               "var_no_grad = var.detach().");
  CTORCH_CHECK(!value || is_floating(t.dtype()),
               "only Tensors of floating point and complex dtype can require gradients");
  if (!value && !t.impl()->autograd) return;
  meta(t).requires_grad = value;
}

bool is_leaf(const Tensor& t) { return grad_fn(t) == nullptr; }

std::shared_ptr<Node> grad_fn(const Tensor& t) {
  if (t.impl()->view_base && view_is_stale(*t.impl())) refresh_view(t);
  const auto& m = t.impl()->autograd;
  return m ? m->grad_fn : nullptr;
}

uint32_t output_nr(const Tensor& t) { return t.impl()->autograd ? t.impl()->autograd->output_nr : 0; }

Tensor grad(const Tensor& t) { return t.impl()->autograd ? t.impl()->autograd->grad : Tensor(); }

void set_grad(const Tensor& t, const Tensor& g) {
  if (g.defined()) {
    CTORCH_CHECK(g.device() == t.device(), "assigned grad has data of a different type or device");
    CTORCH_CHECK(g.dtype() == t.dtype(), "assigned grad has data of a different type");
    CTORCH_CHECK(g.sizes() == t.sizes(), "assigned grad has data of a different size");
  } else if (!t.impl()->autograd) {
    return;
  }
  meta(t).grad = g;
}

bool retains_grad(const Tensor& t) { return t.impl()->autograd && t.impl()->autograd->retains_grad; }

void retain_grad(const Tensor& t) {
  CTORCH_CHECK(requires_grad(t), "can't retain_grad on Tensor that has requires_grad=False");
  auto fn = grad_fn(t);
  if (!fn || retains_grad(t)) return;  // leaves keep their grad anyway
  meta(t).retains_grad = true;
  fn->retained.emplace_back(output_nr(t), t.impl_ptr());
}

void register_hook(const Tensor& t, TensorHook hook) {
  CTORCH_CHECK(requires_grad(t), "cannot register a hook on a tensor that doesn't require gradient");
  if (auto fn = grad_fn(t)) {
    fn->pre_hooks.emplace_back(output_nr(t), std::move(hook));
  } else {
    meta(t).hooks.push_back(std::move(hook));
  }
}

void register_post_accumulate_grad_hook(const Tensor& t, std::function<void(const Tensor&)> hook) {
  CTORCH_CHECK(requires_grad(t), "cannot register a hook on a tensor that doesn't require gradient");
  CTORCH_CHECK(is_leaf(t), "post accumulate grad hooks cannot be registered on non-leaf tensors");
  meta(t).post_accumulate_hooks.push_back(std::move(hook));
}

Tensor detach(const Tensor& t) {
  // Not make_view: a detached tensor is no autograd view of t (in-place ops on it leave t's
  // history alone), but it shares the storage and so the version counter.
  return Tensor(std::make_shared<TensorImpl>(t.storage(), DimVector(t.sizes()),
                                             DimVector(t.strides()), t.storage_offset(), t.dtype()));
}

void detach_(const Tensor& t) {
  CTORCH_CHECK(!t.impl()->view_base || !requires_grad(t),
               "Can't detach views in-place. Use detach() instead.");
  auto& m = t.impl()->autograd;
  if (!m) return;
  m->grad_fn = nullptr;
  m->output_nr = 0;
  m->requires_grad = false;
}

Edge gradient_edge(const Tensor& t) {
  if (auto fn = grad_fn(t)) return {std::move(fn), output_nr(t)};
  const auto& m = t.impl()->autograd;
  if (!m || !m->requires_grad) return {};
  auto acc = m->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    acc->output_meta.push_back(tensor_meta(t));
    m->grad_accumulator = acc;
  }
  return {std::move(acc), 0};
}

// ---- saved tensors

SavedTensor::SavedTensor(const Tensor& t, int output_nr)
    : output_nr_(output_nr), defined_(t.defined()) {
  if (!defined_) return;
  version_ = t.version();
  // An output refers to its node: keep only its data, or the two would keep each other alive.
  data_ = output_nr >= 0 ? detach(t) : t;
  requires_grad_ = output_nr >= 0 && requires_grad(t);
}

Tensor SavedTensor::unpack(Node& owner) const {
  if (!defined_) return Tensor();
  CTORCH_CHECK(!released_,
               "Trying to backward through the graph a second time (or directly access saved "
               "tensors after they have already been freed). Saved intermediate values of the "
               "graph are freed when you call .backward() or autograd.grad(). Specify "
               "retain_graph=True if you need to backward through the graph a second time or if "
               "you need to access saved tensors after calling backward.");
  uint32_t now = data_.version();
  if (now != version_) {
    // Name the saved tensor by the node that produced it, as PyTorch does.
    std::string producer;
    if (output_nr_ >= 0) {
      producer = str_cat(", which is output ", output_nr_, " of ", owner.name(), ",");
    } else if (auto fn = grad_fn(data_)) {
      producer = str_cat(", which is output ", autograd::output_nr(data_), " of ", fn->name(), ",");
    }
    CTORCH_FAIL("one of the variables needed for gradient computation has been modified by an "
                "inplace operation: [", dtype_name(data_.dtype()), " ", data_.sizes(), "]", producer,
                " is at version ", now, "; expected version ", version_,
                " instead. Hint: enable anomaly detection to find the operation that failed to "
                "compute its gradient, with torch.autograd.set_detect_anomaly(True).");
  }
  if (output_nr_ < 0 || !requires_grad_ || !is_grad_enabled()) return data_;
  // A higher-order backward differentiates through the output: give it its history back.
  Tensor out = detach(data_);
  set_history(out, owner.shared_from_this(), static_cast<uint32_t>(output_nr_));
  return out;
}

// ---- recording

namespace {
bool views_an_input(const Tensor& out, const std::vector<Tensor>& inputs) {
  for (const Tensor& in : inputs) {
    if (!in.defined()) continue;
    const auto& root = in.impl()->view_base ? in.impl()->view_base : in.impl_ptr();
    if (out.impl()->view_base == root) return true;
  }
  return false;
}
}  // namespace

void record(const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            const std::vector<Tensor>& saved, BackwardFn backward) {
  // Edges first: they may create nodes (leaf accumulators, refreshed views) that must come
  // before this one in creation order.
  InputEdges in = input_edges(inputs);
  auto node = std::make_shared<OpNode>(name, std::move(backward));
  node->next_edges = std::move(in.edges);
  node->input_meta = std::move(in.meta);
  node->output_meta.reserve(outputs.size());
  for (const Tensor& out : outputs) node->output_meta.push_back(tensor_meta(out));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    // A view of a temporary of the op's own is no view for autograd: only view ops make views.
    if (out.impl()->view_base && !views_an_input(out, inputs)) out.impl()->view_base = nullptr;
    out.impl()->view_made_without_grad = false;  // its forward ran untracked, yet it is recorded
    if (!is_floating(out.dtype())) continue;  // indices, masks: never differentiable
    bool is_input = false;  // an op that returned its input (contiguous() of a contiguous tensor)
    for (const Tensor& in : inputs) is_input = is_input || out.is_same(in);
    if (!is_input) set_history(out, node, static_cast<uint32_t>(i));
  }
  node->saved_.reserve(saved.size());
  for (const Tensor& s : saved) {
    int output_nr = -1;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (s.defined() && s.is_same(outputs[i])) output_nr = static_cast<int>(i);
    node->saved_.emplace_back(s, output_nr);
  }
  node->anomaly_trace = forward_trace();
}

void check_out_arg(const char* name, const Tensor* out, std::initializer_list<const Tensor*> inputs) {
  CTORCH_CHECK(!out || !recording(inputs), name, "(): functions with out=... arguments don't "
               "support automatic differentiation, but one of the arguments requires grad.");
}

Tensor sum_to(const Tensor& g, IntArrayRef shape) {
  if (g.sizes() == shape) return g;
  int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.size(d) != 1)) dims.push_back(d);
  Tensor r = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
  return r.sizes() == shape ? r : reshape(r, shape);
}

// ---- in-place ops

namespace {
// Whether `t` covers its memory densely without overlap (strides are a permutation of a
// contiguous tensor's), so a gradient can be laid out like it.
bool is_dense(const Tensor& t) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.size(d) != 1) dims.emplace_back(t.stride(d), t.size(d));
  std::sort(dims.begin(), dims.end());
  int64_t expected = 1;
  for (auto [stride, size] : dims) {
    if (stride != expected) return false;
    expected *= size;
  }
  return true;
}
}  // namespace

Tensor& inplace(Tensor& self, const std::function<Tensor(const Tensor&)>& op, const char* name) {
  const TensorImpl& impl = *self.impl();
  Tensor base = impl.view_base ? Tensor(impl.view_base) : Tensor();
  bool self_leaf = impl.autograd && impl.autograd->requires_grad && !grad_fn(self);
  CTORCH_CHECK(!self_leaf,
               "a leaf Variable that requires grad is being used in an in-place operation.");
  CTORCH_CHECK(!base.defined() || !(requires_grad(base) && is_leaf(base)),
               "a view of a leaf Variable that requires grad is being used in an in-place operation.");
  CTORCH_CHECK(!base.defined() || !impl.view_made_without_grad || !requires_grad(base),
               "A view was created in no_grad mode and is being modified inplace with grad mode "
               "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You "
               "can clarify your code by moving both the view and the inplace either both inside the "
               "no_grad block (if you don't want the inplace to be tracked) or both outside (if you "
               "want the inplace to be tracked).");
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, !base.defined() || is_dense(base), "[", name,
                    "] in-place ops on views of tensors with overlapping or gapped memory are not "
                    "supported by autograd");
  // The op reads a copy of self: its formula may need self's old value, which the write
  // below overwrites.
  Tensor old = clone(self);
  Tensor r = op(old);
  // A constant result (fill_, random) still depends on the graph, with a zero gradient, as in
  // PyTorch: `y.fill_(1)` keeps y requiring grad.
  if (!requires_grad(r) && requires_grad(old))
    r = where(ones({}, DType::Bool, r.device()), r, old);
  {
    NoGradGuard guard;
    copy_(self, r);
  }
  if (!requires_grad(r)) return self;
  Edge result{grad_fn(r), output_nr(r)};
  if (!base.defined()) {
    if (retains_grad(self)) {  // .grad follows the new value, as in PyTorch
      auto& old = grad_fn(self)->retained;
      old.erase(std::remove_if(old.begin(), old.end(), [&](const auto& r) {
        return r.second.lock() == self.impl_ptr(); }), old.end());
      result.fn->retained.emplace_back(result.input_nr, self.impl_ptr());
    }
    set_history(self, result.fn, result.input_nr);
    ++meta(self).history_version;
    return self;
  }
  Edge base_edge = gradient_edge(base);
  auto node = std::make_shared<CopySlices>(base, self);
  node->next_edges = {std::move(base_edge), result};
  node->input_meta = {tensor_meta(base), tensor_meta(self)};
  node->output_meta = {tensor_meta(base)};
  node->anomaly_trace = forward_trace();
  set_history(base, std::move(node), 0);
  ++meta(base).history_version;
  refresh_view(self);
  return self;
}

}  // namespace autograd
}  // namespace ctorch
