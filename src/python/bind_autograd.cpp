// Autograd for Python: tensor attributes (requires_grad, grad, grad_fn, hooks), graph nodes,
// the engine entry points, grad modes and custom Python Functions.
#include <pybind11/functional.h>
#include "autograd/nodes.h"
#include "bind.h"

namespace ctorch::python {

namespace {

// A custom autograd.Function: backward calls the Python class's backward with the GIL held.
class PyNode final : public Node {
 public:
  PyNode(std::string name, py::object ctx) : name_(std::move(name)), ctx_(std::move(ctx)) {}
  ~PyNode() override {
    py::gil_scoped_acquire gil;
    ctx_ = py::object();
  }
  std::string name() const override { return name_; }
  void release_variables() override {
    for (auto& s : saved) s.release();
  }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    py::gil_scoped_acquire gil;
    bool materialize = py::cast<bool>(ctx_.attr("_materialize_grads"));
    py::tuple args(grads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor g = grads[i];
      if (!g.defined() && materialize)
        g = zeros(output_meta[i].shape, output_meta[i].dtype, output_meta[i].device);
      args[i] = g.defined() ? py::cast(g) : py::none();
    }
    py::list unpacked;
    for (auto& s : saved) {
      Tensor t = s.unpack(*this);
      unpacked.append(t.defined() ? py::cast(t) : py::none());
    }
    py::object result = ctx_.attr("_run_backward")(py::tuple(unpacked), *args);
    std::vector<Tensor> out;
    for (py::handle h : result) out.push_back(h.is_none() ? Tensor() : h.cast<Tensor>());
    return out;
  }
  std::vector<autograd::SavedTensor> saved;

 private:
  std::string name_;
  py::object ctx_;
};

// Only constructed to read the creation counter: every node made after it has a larger
// sequence_nr (checkpoint uses this to tell the nodes it recorded from older ones).
class SequenceProbe final : public Node {
 public:
  std::string name() const override { return "SequenceProbe"; }
  std::vector<Tensor> apply(std::vector<Tensor>&&) override { return {}; }
};

std::vector<Tensor> tensors_arg(py::handle h) {
  std::vector<Tensor> out;
  if (h.is_none()) return out;
  for (py::handle x : h) out.push_back(x.is_none() ? Tensor() : x.cast<Tensor>());
  return out;
}

py::object tensor_or_none(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

constexpr const char* kNonLeafGradWarning =
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
    "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf "
    "Tensor by mistake, make sure you access the leaf Tensor instead.";

// Records a custom Function's outputs. Returns the outputs, where an input returned unchanged
// (and not marked dirty) is replaced by an alias carrying the new history.
py::list record_function(const std::string& name, py::object ctx, const std::vector<Tensor>& inputs,
                         std::vector<Tensor> outputs, const py::object& to_save_arg,
                         const std::vector<Tensor>& dirty, const std::vector<Tensor>& non_diff) {
  auto contains = [](const std::vector<Tensor>& v, const Tensor& t) {
    for (const Tensor& x : v) if (x.is_same(t)) return true;
    return false;
  };
  for (const Tensor& d : dirty) {
    CTORCH_CHECK(!(autograd::requires_grad(d) && autograd::is_leaf(d)),
                 "a leaf Variable that requires grad has been used in an in-place operation.");
    // The base of a dirty view would keep its old history: refuse rather than lose gradients.
    const auto& base = d.impl()->view_base;
    CTORCH_CHECK_KIND(ErrorKind::NotImplemented, !base || !autograd::requires_grad(Tensor(base)),
                      "mark_dirty on a view of a tensor that requires grad is not supported");
  }
  autograd::InputEdges in = autograd::input_edges(inputs);
  auto node = std::make_shared<PyNode>(name, std::move(ctx));
  node->next_edges = std::move(in.edges);
  node->input_meta = std::move(in.meta);
  for (size_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = outputs[i];
    node->output_meta.push_back(autograd::tensor_meta(out));
    if (contains(non_diff, out) || !is_floating(out.dtype())) continue;
    if (contains(inputs, out) && !contains(dirty, out)) out = autograd::detach(out);
    autograd::set_history(out, node, static_cast<uint32_t>(i));
    if (contains(dirty, out)) ++autograd::meta(out).history_version;
  }
  for (const Tensor& s : tensors_arg(to_save_arg)) {
    int nr = -1;
    for (size_t i = 0; i < outputs.size(); ++i) if (s.defined() && s.is_same(outputs[i])) nr = int(i);
    node->saved.emplace_back(s, nr);
  }
  node->anomaly_trace = autograd::forward_trace();
  py::list result;
  for (const Tensor& t : outputs) result.append(py::cast(t));
  return result;
}

}  // namespace

void bind_autograd(py::module_& m) {
  py::class_<Node, std::shared_ptr<Node>>(m, "_Node")
      .def("name", &Node::name)
      .def_property_readonly("next_functions", [](const Node& n) {
        py::tuple out(n.next_edges.size());
        for (size_t i = 0; i < n.next_edges.size(); ++i) {
          const Edge& e = n.next_edges[i];
          out[i] = py::make_tuple(e.fn ? py::cast(e.fn) : py::none(), e.input_nr);
        }
        return out;
      })
      .def_property_readonly("variable", [](const Node& n) -> py::object {
        auto* acc = dynamic_cast<const autograd::AccumulateGrad*>(&n);
        if (!acc) throw py::attribute_error("'" + n.name() + "' object has no attribute 'variable'");
        return py::cast(acc->variable());
      })
      .def_property_readonly("_sequence_nr", [](const Node& n) { return n.sequence_nr; })
      .def("__repr__", [](const Node& n) {
        return str_cat("<", n.name(), " object at ", static_cast<const void*>(&n), ">");
      });

  auto& c = tensor_class();
  c.def_property("requires_grad", [](const Tensor& t) { return autograd::requires_grad(t); },
                 [](const Tensor& t, bool v) { autograd::set_requires_grad(t, v); })
      .def("requires_grad_", [](const Tensor& t, bool v) {
        autograd::set_requires_grad(t, v);
        return t;
      }, py::arg("requires_grad") = true)
      .def_property("grad", [](const Tensor& t) {
                      Tensor g = autograd::grad(t);
                      if (!g.defined() && autograd::requires_grad(t) && !autograd::is_leaf(t) &&
                          !autograd::retains_grad(t) &&
                          PyErr_WarnEx(PyExc_UserWarning, kNonLeafGradWarning, 1) != 0)
                        throw py::error_already_set();
                      return tensor_or_none(g);
                    },
                    [](const Tensor& t, py::object obj) {
                      if (obj.is_none()) return autograd::set_grad(t, Tensor());
                      if (!py::isinstance(obj, tensor_class()))
                        throw py::type_error(str_cat("assigned grad expected to be a Tensor or None but got grad of type ",
                                                     py::str(obj.get_type().attr("__name__")).cast<std::string>()));
                      Tensor g = obj.cast<Tensor>();
                      CTORCH_CHECK(g.sizes() == t.sizes(), "attempting to assign a gradient of size '", g.sizes(),
                                   "' to a tensor of size '", t.sizes(), "'. Please ensure that the gradient and "
                                   "the tensor are the same size");
                      CTORCH_CHECK(g.dtype() == t.dtype(), "attempting to assign a gradient with dtype '",
                                   dtype_name(g.dtype()), "' to a tensor with dtype '", dtype_name(t.dtype()),
                                   "'. The gradient must match the tensor's dtype");
                      CTORCH_CHECK(g.device() == t.device(), "attempting to assign a gradient on device '",
                                   g.device().str(), "' to a tensor on device '", t.device().str(), "'");
                      autograd::set_grad(t, g);
                    })
      .def_property_readonly("grad_fn", [](const Tensor& t) -> py::object {
        auto fn = autograd::grad_fn(t);
        return fn ? py::cast(fn) : py::none();
      })
      .def_property_readonly("is_leaf", [](const Tensor& t) { return autograd::is_leaf(t); })
      .def_property_readonly("retains_grad", [](const Tensor& t) { return autograd::retains_grad(t); })
      .def_property_readonly("output_nr", [](const Tensor& t) { return autograd::output_nr(t); })
      .def("retain_grad", [](const Tensor& t) { autograd::retain_grad(t); })
      .def("detach", [](const Tensor& t) { return autograd::detach(t); })
      .def("detach_", [](const Tensor& t) {
        autograd::detach_(t);
        return t;
      })
      .def("_register_hook", [](const Tensor& t, std::function<py::object(const Tensor&)> fn) {
        autograd::register_hook(t, [fn](const Tensor& g) {
          py::gil_scoped_acquire gil;
          py::object r = fn(g);
          return r.is_none() ? Tensor() : r.cast<Tensor>();
        });
      })
      .def("_register_post_accumulate_grad_hook", [](const Tensor& t, std::function<void(const Tensor&)> fn) {
        autograd::register_post_accumulate_grad_hook(t, std::move(fn));
      })
      .def_property("data", [](const Tensor& t) { return autograd::detach(t); },
                    [](const Tensor& t, const Tensor& src) { t.impl()->set_data(*src.impl()); });

  m.def("is_grad_enabled", &autograd::is_grad_enabled);
  m.def("_set_grad_enabled", &autograd::set_grad_enabled);
  m.def("is_inference_mode_enabled", &autograd::is_inference_mode_enabled);
  m.def("_set_inference_mode", &autograd::set_inference_mode_enabled);
  m.def("is_anomaly_enabled", &autograd::is_anomaly_enabled);
  m.def("is_anomaly_check_nan_enabled", &autograd::anomaly_checks_nan);
  m.def("_set_anomaly_enabled", &autograd::set_anomaly_enabled, py::arg("enabled"),
        py::arg("check_nan") = true);
  autograd::set_anomaly_trace_source([] {
    py::gil_scoped_acquire gil;
    py::object tb = py::module_::import("traceback");
    return py::str("").attr("join")(tb.attr("format_stack")()).cast<std::string>();
  });

  m.def("_run_backward", [](py::object outputs, py::object grads, bool retain_graph,
                            bool create_graph, py::object inputs) {
    std::vector<Tensor> outs = tensors_arg(outputs), gs = tensors_arg(grads), ins = tensors_arg(inputs);
    py::gil_scoped_release release;
    autograd::backward(outs, gs, retain_graph, create_graph, ins);
  });
  m.def("_run_grad", [](py::object outputs, py::object inputs, py::object grads, bool retain_graph,
                        bool create_graph, bool allow_unused, bool materialize) {
    std::vector<Tensor> outs = tensors_arg(outputs), gs = tensors_arg(grads), ins = tensors_arg(inputs);
    std::vector<Tensor> r;
    {
      py::gil_scoped_release release;
      r = autograd::grad(outs, ins, gs, retain_graph, create_graph, allow_unused, materialize);
    }
    py::tuple out(r.size());
    for (size_t i = 0; i < r.size(); ++i) out[i] = tensor_or_none(r[i]);
    return out;
  });
  m.def("_record_function", &record_function);
  m.def("_next_sequence_nr", [] { return SequenceProbe().sequence_nr; });
}

}  // namespace ctorch::python
