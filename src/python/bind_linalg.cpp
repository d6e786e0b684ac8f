// Bindings for the linalg ops: ctorch.matmul/mm/bmm/mv/dot/outer/add*/einsum and Tensor methods.
#include "autograd/function.h"
#include "bind.h"

namespace ctorch::python {

namespace {

// `out=`: the result is copied into a tensor of the same shape (no resizing yet).
py::object linalg_result(const Tensor& r, const py::object& out, const char* op) {
  if (out.is_none()) return py::cast(r);
  Tensor o = out.cast<Tensor>();
  autograd::check_out_arg(op, &o, {&r});  // a result with history can't go through out=
  CTORCH_CHECK(o.sizes() == r.sizes(), "[", op, "] out has shape ", o.sizes(),
               " but the result has shape ", r.sizes());
  {
    py::gil_scoped_release nogil;
    copy_(o, r);
  }
  return out;
}

template <class F>
Tensor linalg_nogil(const F& f) {
  py::gil_scoped_release nogil;
  return f();
}

bool linalg_is_tensor(py::handle h) { return py::isinstance<TensorImpl>(h); }

}  // namespace

void bind_linalg(py::module_& m) {
  auto& c = tensor_class();
  using Fn2 = Tensor (*)(const Tensor&, const Tensor&);
  struct Two { const char* name; Fn2 fn; const char* a; const char* b; };
  const Two twos[] = {
      {"matmul", &matmul, "input", "other"}, {"mm", &mm, "input", "mat2"},
      {"bmm", &bmm, "input", "mat2"},        {"mv", &mv, "input", "vec"},
      {"dot", &dot, "input", "tensor"},     {"outer", &outer, "input", "vec2"},
      {"ger", &outer, "input", "vec2"},
  };
  for (const Two& t : twos) {
    Fn2 fn = t.fn;
    const char* name = t.name;
    m.def(name, [fn, name](const Tensor& a, const Tensor& b, py::object out) {
      return linalg_result(linalg_nogil([&] { return fn(a, b); }), out, name);
    }, py::arg(t.a), py::arg(t.b), py::kw_only(), py::arg("out") = py::none());
    c.def(name, [fn](const Tensor& a, const Tensor& b) {
      return linalg_nogil([&] { return fn(a, b); });
    }, py::arg(t.b));
  }
  c.def("__matmul__", [](const Tensor& a, py::handle b) -> py::object {
    if (!linalg_is_tensor(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    Tensor bt = b.cast<Tensor>();
    return py::cast(linalg_nogil([&] { return matmul(a, bt); }));
  });
  c.def("__rmatmul__", [](const Tensor& a, py::handle b) -> py::object {
    if (!linalg_is_tensor(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    Tensor bt = b.cast<Tensor>();
    return py::cast(linalg_nogil([&] { return matmul(bt, a); }));
  });

  using Fn3 = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Scalar&, const Scalar&);
  struct Three { const char* name; Fn3 fn; const char* a; const char* b; };
  const Three threes[] = {
      {"addmm", &addmm, "mat1", "mat2"},
      {"addmv", &addmv, "mat", "vec"},
      {"baddbmm", &baddbmm, "batch1", "batch2"},
      {"addbmm", &addbmm, "batch1", "batch2"},
  };
  for (const Three& t : threes) {
    Fn3 fn = t.fn;
    const char* name = t.name;
    m.def(name, [fn, name](const Tensor& in, const Tensor& a, const Tensor& b, const Scalar& beta,
                           const Scalar& alpha, py::object out) {
      return linalg_result(linalg_nogil([&] { return fn(in, a, b, beta, alpha); }), out, name);
    }, py::arg("input"), py::arg(t.a), py::arg(t.b), py::kw_only(), py::arg("beta") = 1,
       py::arg("alpha") = 1, py::arg("out") = py::none());
    c.def(name, [fn](const Tensor& in, const Tensor& a, const Tensor& b, const Scalar& beta,
                     const Scalar& alpha) {
      return linalg_nogil([&] { return fn(in, a, b, beta, alpha); });
    }, py::arg(t.a), py::arg(t.b), py::kw_only(), py::arg("beta") = 1, py::arg("alpha") = 1);
    c.def((std::string(name) + "_").c_str(), [fn, name](Tensor& in, const Tensor& a, const Tensor& b,
                                                        const Scalar& beta, const Scalar& alpha) {
      py::gil_scoped_release nogil;
      Tensor r = fn(in, a, b, beta, alpha);
      CTORCH_CHECK(r.sizes() == in.sizes(), "[", name, "_] the result of shape ", r.sizes(),
                   " doesn't match the in-place tensor's shape ", in.sizes());
      return copy_(in, r);
    }, py::arg(t.a), py::arg(t.b), py::kw_only(), py::arg("beta") = 1, py::arg("alpha") = 1);
  }

  m.def("einsum", [](const std::string& eq, py::args args) {
    std::vector<Tensor> ops;
    if (args.size() == 1 && !linalg_is_tensor(args[0])) {
      for (auto h : args[0]) ops.push_back(h.cast<Tensor>());
    } else {
      for (auto h : args) ops.push_back(h.cast<Tensor>());
    }
    py::gil_scoped_release nogil;
    return einsum(eq, ops);
  }, py::arg("equation"));
}

}  // namespace ctorch::python
