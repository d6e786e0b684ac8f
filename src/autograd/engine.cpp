// The backward engine: counts each node's dependencies, then runs nodes in reverse creation
// order as their gradients complete, summing gradients that meet at a node input.
#include <cmath>
#include <mutex>
#include <queue>
#include <unordered_map>
#include "autograd/nodes.h"
#include "ctorch/ops.h"

namespace ctorch::autograd {

namespace {

struct ByLatest {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

class GraphTask {
 public:
  GraphTask(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), create_graph_(create_graph) {}

  // `targets`: the edges whose gradients are wanted (grad(), backward(inputs=)); empty means
  // every leaf. `accumulate`: write into .grad (backward) or capture (grad).
  std::vector<Tensor> run(const std::vector<Edge>& roots, std::vector<Tensor> root_grads,
                          const std::vector<Edge>& targets, bool accumulate) {
    count_dependencies(roots);
    targets_ = targets;
    accumulate_ = accumulate;
    if (!targets.empty()) mark_needed(roots);
    captured_.resize(targets.size());
    for (size_t i = 0; i < roots.size(); ++i) add_grad(roots[i], std::move(root_grads[i]));
    for (const Edge& r : roots) {
      State& st = state(r.fn.get());
      // A node can be the root of several outputs: queue it once.
      if (st.dependencies == 0 && is_needed(st) && !st.queued) push_ready(r.fn.get(), st);
    }
    GradModeGuard mode(create_graph_);
    while (!ready_.empty()) {
      Node* node = ready_.top();
      ready_.pop();
      evaluate(node);
    }
    return std::move(captured_);
  }

 private:
  // Per node of this graph: one hash entry holds everything (few allocations per node).
  struct State {
    int dependencies = 0;   // edges from nodes that have not run yet
    bool queued = false;
    bool visited = false;   // mark_needed's walk
    bool needed = false;    // a target lies at or below it (only used with targets)
    bool runs = false;      // a target lies below it
    bool is_target = false;
    std::vector<Tensor> buffer;  // gradients summed per output
  };
  State& state(Node* n) { return nodes_[n]; }

  void count_dependencies(const std::vector<Edge>& roots) {
    std::vector<Node*> stack;
    for (const Edge& r : roots)
      if (nodes_.try_emplace(r.fn.get()).second) stack.push_back(r.fn.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.valid()) continue;
        auto [it, inserted] = nodes_.try_emplace(e.fn.get());
        ++it->second.dependencies;
        if (inserted) stack.push_back(e.fn.get());
      }
    }
  }

  // A node is needed when a target lies at or below it; it runs when one lies below it.
  // Iterative post-order walk: graphs can be far deeper than the C stack.
  void mark_needed(const std::vector<Edge>& roots) {
    for (const Edge& t : targets_) {
      auto it = nodes_.find(t.fn.get());
      if (it != nodes_.end()) it->second.is_target = true;
    }
    std::vector<std::pair<Node*, size_t>> stack;
    for (const Edge& r : roots) {
      State& rs = state(r.fn.get());
      if (rs.visited) continue;
      rs.visited = true;
      stack.emplace_back(r.fn.get(), 0);
      while (!stack.empty()) {
        auto& [n, next] = stack.back();
        if (next < n->next_edges.size()) {
          Node* child = n->next_edges[next++].fn.get();
          if (!child) continue;
          State& cs = state(child);
          if (!cs.visited) {
            cs.visited = true;
            stack.emplace_back(child, 0);
          }
          continue;
        }
        bool below = false;
        for (const Edge& e : n->next_edges) below = below || (e.valid() && state(e.fn.get()).needed);
        State& ns = state(n);
        ns.runs = below;
        ns.needed = below || ns.is_target;
        stack.pop_back();
      }
    }
  }
  bool is_needed(const State& st) const { return targets_.empty() || st.needed; }
  bool should_run(const State& st, bool is_accumulator) const {
    if (targets_.empty() || st.runs) return true;
    // A target leaf's accumulator runs only when backward() accumulates.
    return accumulate_ && is_accumulator;
  }

  void push_ready(Node* n, State& st) {
    st.queued = true;
    ready_.push(n);
  }

  void add_grad(const Edge& e, Tensor g) {
    auto& buf = state(e.fn.get()).buffer;
    if (buf.empty()) buf.resize(std::max<size_t>(e.fn->output_meta.size(), e.input_nr + 1));
    Tensor& slot = buf[e.input_nr];
    if (!g.defined()) return;
    slot = slot.defined() ? add(slot, g) : std::move(g);
  }

  void evaluate(Node* node) {
    State& st = state(node);
    std::vector<Tensor> grads = std::move(st.buffer);
    st.buffer = {};
    if (grads.empty()) grads.resize(node->output_meta.size());
    auto* acc = dynamic_cast<AccumulateGrad*>(node);
    if (acc) acc->run_hooks(grads[0]);
    for (auto& [index, hook] : node->pre_hooks) {
      if (!grads[index].defined()) continue;
      Tensor r = hook(grads[index]);
      if (r.defined()) grads[index] = std::move(r);
    }
    for (auto& [index, weak] : node->retained) {
      auto impl = weak.lock();
      if (!impl || !grads[index].defined()) continue;
      AutogradMeta& m = *impl->autograd;
      m.grad = m.grad.defined() ? add(m.grad, grads[index]) : (create_graph_ ? grads[index] : clone(grads[index]));
    }
    if (st.is_target) {
      for (size_t i = 0; i < targets_.size(); ++i) {
        if (targets_[i].fn.get() != node) continue;
        const Tensor& g = grads[targets_[i].input_nr];
        if (g.defined()) captured_[i] = captured_[i].defined() ? add(captured_[i], g) : g;
      }
    }
    if (!should_run(st, acc != nullptr)) return;
    std::vector<Tensor> out = node->apply(std::move(grads));
    if (!keep_graph_) node->release_variables();
    validate(*node, out);
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      add_grad(e, i < out.size() ? std::move(out[i]) : Tensor());
      State& next = state(e.fn.get());
      if (--next.dependencies == 0 && is_needed(next)) push_ready(e.fn.get(), next);
    }
  }

  // Gradients come back in the inputs' shapes and dtypes (a broadcast gradient is summed).
  void validate(Node& node, std::vector<Tensor>& out) {
    if (out.size() > node.next_edges.size()) out.resize(node.next_edges.size());
    for (size_t i = 0; i < out.size(); ++i) {
      Tensor& g = out[i];
      if (!g.defined() || !node.next_edges[i].valid()) continue;
      const Node::TensorMeta& m = node.input_meta[i];
      if (g.sizes() != IntArrayRef(m.shape)) {
        CTORCH_CHECK(broadcast_ok(m.shape, g.sizes()), "Function ", node.name(),
                     " returned an invalid gradient at index ", i, " - got ", g.sizes(),
                     " but expected shape compatible with ", IntArrayRef(m.shape));
        g = sum_to(g, m.shape);
      }
      if (g.dtype() != m.dtype || g.device() != m.device) g = to(g, m.dtype, m.device);
      if (is_anomaly_enabled() && anomaly_checks_nan() && is_floating(g.dtype())) {
        bool nan = item(any(isnan(g))).to_bool();
        CTORCH_CHECK(!nan, "Function '", node.name(), "' returned nan values in its ", i,
                     "th output.", node.anomaly_trace.empty() ? "" : "\nThe forward call that "
                     "created it:\n" + node.anomaly_trace);
      }
    }
  }
  // Whether `from` broadcasts to `to` (so a gradient of shape `to` sums back to `from`).
  static bool broadcast_ok(IntArrayRef from, IntArrayRef to) {
    if (from.size() > to.size()) return false;
    size_t lead = to.size() - from.size();
    for (size_t d = 0; d < from.size(); ++d)
      if (from[d] != 1 && from[d] != to[lead + d]) return false;
    return true;
  }

  bool keep_graph_, create_graph_, accumulate_ = true;
  std::vector<Edge> targets_;
  std::vector<Tensor> captured_;
  std::unordered_map<Node*, State> nodes_;
  std::priority_queue<Node*, std::vector<Node*>, ByLatest> ready_;
};

// The roots' edges and their starting gradients (ones for one-element outputs when omitted).
void prepare_roots(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                   std::vector<Edge>& edges, std::vector<Tensor>& grads) {
  CTORCH_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
               "grad requires one gradient per output: got ", grad_outputs.size(), " gradients for ",
               outputs.size(), " outputs");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    CTORCH_CHECK_TYPE(out.defined(), "element ", i, " of tensors is None, expected a Tensor");
    Edge e = gradient_edge(out);
    CTORCH_CHECK(e.valid(), "element ", i, " of tensors does not require grad and does not have a grad_fn");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      CTORCH_CHECK(out.numel() == 1, "grad can be implicitly created only for scalar outputs");
      g = ones(out.sizes(), out.dtype(), out.device());
    } else {
      CTORCH_CHECK(g.sizes() == out.sizes(), "Mismatch in shape: grad_output[", i, "] has a shape of ",
                   g.sizes(), " and output[", i, "] has a shape of ", out.sizes(), ".");
      CTORCH_CHECK(g.device() == out.device(), "Mismatch in device: grad_output[", i, "] is on ",
                   g.device().str(), " and output[", i, "] is on ", out.device().str(), ".");
    }
    edges.push_back(std::move(e));
    grads.push_back(std::move(g));
  }
}

// One backward at a time: graphs (gradient buffers, .grad, saved tensors) may be shared between
// threads. Recursive: a hook or custom Function may run a backward of its own (checkpoint).
std::recursive_mutex engine_mutex;

// Where the gradients of `inputs` arrive.
std::vector<Edge> target_edges(const std::vector<Tensor>& inputs) {
  std::vector<Edge> targets;
  for (const Tensor& in : inputs) {
    CTORCH_CHECK_TYPE(in.defined(), "the inputs to differentiate with respect to must be Tensors, not None");
    Edge e = gradient_edge(in);
    CTORCH_CHECK(e.valid(), "One of the differentiated Tensors does not require grad");
    targets.push_back(std::move(e));
  }
  return targets;
}

// Runs the graph from `outputs`; returns the gradients that reached `inputs` (if any).
std::vector<Tensor> run_graph(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                              const std::vector<Tensor>& inputs, bool retain_graph, bool create_graph,
                              bool accumulate) {
  std::vector<Edge> roots, targets = target_edges(inputs);
  std::vector<Tensor> grads;
  prepare_roots(outputs, grad_outputs, roots, grads);
  return GraphTask(retain_graph, create_graph).run(roots, std::move(grads), targets, accumulate);
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph, bool create_graph, const std::vector<Tensor>& inputs) {
  std::lock_guard<std::recursive_mutex> lock(engine_mutex);
  std::vector<Tensor> captured =
      run_graph(outputs, grad_outputs, inputs, retain_graph, create_graph, /*accumulate=*/true);
  // Non-leaf inputs get their .grad too, as in PyTorch.
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (is_leaf(inputs[i]) || !captured[i].defined()) continue;
    AutogradMeta& m = meta(inputs[i]);
    m.grad = m.grad.defined() ? add(m.grad, captured[i]) : captured[i];
  }
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool create_graph, bool allow_unused, bool materialize_grads) {
  std::lock_guard<std::recursive_mutex> lock(engine_mutex);
  std::vector<Tensor> result =
      run_graph(outputs, grad_outputs, inputs, retain_graph, create_graph, /*accumulate=*/false);
  for (size_t i = 0; i < result.size(); ++i) {
    if (result[i].defined()) continue;
    CTORCH_CHECK(allow_unused || materialize_grads, "The differentiated Tensor at index ", i, " appears "
                 "to not have been used in the graph. Set allow_unused=True if this is the desired behavior.");
    if (materialize_grads) result[i] = zeros(inputs[i].sizes(), inputs[i].dtype(), inputs[i].device());
  }
  return result;
}

}  // namespace ctorch::autograd
