// ctorch.Tensor: geometry, conversions, views and every elementwise op as method/operator/function.
#include "autograd/function.h"
#include "bind.h"

namespace ctorch::python {

namespace {
TensorClass* g_tensor_class = nullptr;

std::optional<Tensor> opt_tensor(const py::object& o, const char* op, Device dev) {
  if (o.is_none()) return std::nullopt;
  return operand(o, op, dev);
}

// Module-level binary functions accept a number on either side (torch.pow(2, t)).
Tensor binary_any(BinaryOp op, py::handle a, py::handle b, const py::object& out) {
  py::detail::type_caster<Tensor> ta;
  bool a_is_tensor = ta.load(a, false);
  Device dev = a_is_tensor ? static_cast<Tensor&>(ta).device() : Device();
  Tensor bt = operand(b, op_name(op), dev);
  Tensor at = a_is_tensor ? static_cast<Tensor&>(ta) : operand(a, op_name(op), bt.device());
  CTORCH_CHECK_TYPE(!(at.impl()->is_wrapped_number && bt.impl()->is_wrapped_number), op_name(op),
                    "(): expected at least one Tensor argument");
  if (out.is_none()) return nogil_if_large(std::max(at.numel(), bt.numel()), [&] { return binary(op, at, bt); });
  Tensor o = out.cast<Tensor>();
  return nogil_if_large(std::max(at.numel(), bt.numel()), [&] { return binary(op, at, bt, &o); });
}

py::object size_object(IntArrayRef s) {
  static py::object size_class = py::module_::import("ctorch").attr("Size");
  return size_class(py::cast(s));
}

std::vector<int64_t> ints(const py::args& args) { return shape_args(args); }

// Writes a composite's result into `dst` (in-place forms and out=) under the same rules as the
// elementwise ops: same shape, and a result dtype that casts safely.
void check_result(const Tensor& dst, const Tensor& r, const char* op) {
  CTORCH_CHECK(r.sizes() == dst.sizes(), "[", op, "] output with shape ", dst.sizes(),
               " doesn't match the broadcast shape ", r.sizes());
  CTORCH_CHECK(can_cast(r.dtype(), dst.dtype()), "[", op, "] result type ", dtype_name(r.dtype()),
               " can't be cast to the desired output type ", dtype_name(dst.dtype()));
}
Tensor store_result(Tensor dst, const Tensor& r, const char* op) {
  check_result(dst, r, op);
  return copy_(dst, r);
}

// The in-place form of a composite: self = compute(self). When that records a graph, compute
// runs again on a copy of self's old value (autograd::inplace): its nodes may have saved self,
// which the write would otherwise invalidate.
template <class F>
Tensor update_in_place(Tensor& self, const F& compute, const char* op) {
  Tensor r = compute(self);
  if (!autograd::requires_grad(r)) return store_result(self, r, op);
  return autograd::inplace(self, [&](const Tensor& old) {
    Tensor v = compute(old);
    check_result(self, v, op);
    return v;
  }, op);
}
}  // namespace

TensorClass& tensor_class() { return *g_tensor_class; }

void bind_tensor(py::module_& m) {
  static TensorClass cls(m, "Tensor", py::dynamic_attr());
  g_tensor_class = &cls;
  auto& c = cls;

  // ---- geometry
  c.def_property_readonly("shape", [](const Tensor& t) { return size_object(t.sizes()); })
      .def("size", [](const Tensor& t, py::object dim) -> py::object {
        if (dim.is_none()) return size_object(t.sizes());
        return py::int_(t.size(dim.cast<int64_t>()));
      }, py::arg("dim") = py::none())
      .def("stride", [](const Tensor& t, py::object dim) -> py::object {
        if (dim.is_none()) return py::cast(t.strides());
        return py::int_(t.stride(dim.cast<int64_t>()));
      }, py::arg("dim") = py::none())
      .def_property_readonly("dtype", [](const Tensor& t) { return t.dtype(); })
      .def_property_readonly("device", [](const Tensor& t) { return t.device(); })
      .def_property_readonly("is_cuda", [](const Tensor& t) { return t.device().is_cuda(); })
      .def_property_readonly("is_cpu", [](const Tensor& t) { return t.device().is_cpu(); })
      .def_property_readonly("ndim", [](const Tensor& t) { return t.dim(); })
      .def_property_readonly("itemsize", [](const Tensor& t) { return t.element_size(); })
      .def_property_readonly("nbytes", [](const Tensor& t) { return t.numel() * t.element_size(); })
      .def_property_readonly("_version", [](const Tensor& t) { return t.storage()->version.load(); })
      .def("dim", [](const Tensor& t) { return t.dim(); })
      .def("ndimension", [](const Tensor& t) { return t.dim(); })
      .def("numel", [](const Tensor& t) { return t.numel(); })
      .def("nelement", [](const Tensor& t) { return t.numel(); })
      .def("element_size", [](const Tensor& t) { return t.element_size(); })
      .def("storage_offset", [](const Tensor& t) { return t.storage_offset(); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); })
      .def("is_contiguous", [](const Tensor& t) { return t.is_contiguous(); })
      .def("is_floating_point", [](const Tensor& t) { return t.is_floating_point(); })
      .def("is_complex", [](const Tensor&) { return false; })
      .def("_storage_id", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage().get()); })
      .def("_storage_nbytes", [](const Tensor& t) { return t.storage()->nbytes; })
      .def("__len__", [](const Tensor& t) {
        CTORCH_CHECK_TYPE(t.dim() > 0, "len() of a 0-d tensor");
        return t.size(0);
      })
      .def("__hash__", [](py::handle self) { return reinterpret_cast<intptr_t>(self.ptr()); });

  // ---- conversions and copies
  c.def("contiguous", [](const Tensor& t) { return nogil_if_large(t.numel(), [&] { return contiguous(t); }); })
      .def("clone", [](const Tensor& t) { return nogil_if_large(t.numel(), [&] { return clone(t); }); })
      .def("copy_", [](Tensor& t, const Tensor& src, bool non_blocking) {
             return nogil_if_large(t.numel(), [&]() -> Tensor { return copy_(t, src, non_blocking); });
           }, py::arg("src"), py::arg("non_blocking") = false)
      .def("item", [](const Tensor& t) { return item(t); })
      .def("_to", [](const Tensor& t, DType dtype, Device device, bool copy, bool non_blocking) {
        return nogil_if_large(t.numel(), [&] { return to(t, dtype, device, copy, non_blocking); });
      }, py::arg("dtype"), py::arg("device"), py::arg("copy") = false, py::arg("non_blocking") = false)
      .def("fill_", [](Tensor& t, const Scalar& v) { return fill_(t, v); })
      .def("zero_", [](Tensor& t) { return zero_(t); })
      .def("__bool__", [](const Tensor& t) {
        CTORCH_CHECK(t.numel() == 1, "Boolean value of Tensor with ", t.numel() == 0 ? "no values" : "more than one value", " is ambiguous");
        return item(t).to_bool();
      })
      .def("__float__", [](const Tensor& t) { return item(t).to_double(); })
      .def("__int__", [](const Tensor& t) { return item(t).to_int(); })
      .def("__index__", [](const Tensor& t) {
        CTORCH_CHECK_TYPE(t.numel() == 1 && is_integral(t.dtype(), true),
                          "only integer tensors of a single element can be converted to an index");
        return item(t).to_int();
      });

  // ---- views
  c.def("view", [](const Tensor& t, py::args a) {
        if (a.size() == 1 && is_dtype_object(a[0])) {
          DType d = a[0].cast<DType>();
          CTORCH_CHECK(element_size(d) == t.element_size(), "[view] dtype views of a different "
                       "element size are not supported");
          return Tensor(std::make_shared<TensorImpl>(t.storage(), DimVector(t.sizes()),
                                                     DimVector(t.strides()), t.storage_offset(), d));
        }
        return view(t, ints(a));
      })
      .def("reshape", [](const Tensor& t, py::args a) { return reshape(t, ints(a)); })
      .def("flatten", &flatten, py::arg("start_dim") = 0, py::arg("end_dim") = -1)
      .def("unflatten", [](const Tensor& t, int64_t dim, std::vector<int64_t> s) { return unflatten(t, dim, s); })
      .def("transpose", &transpose)
      .def("swapaxes", &transpose)
      .def("t", [](const Tensor& x) { return ctorch::t(x); })
      .def_property_readonly("T", [](const Tensor& x) {
        std::vector<int64_t> d;
        for (int64_t i = x.dim() - 1; i >= 0; --i) d.push_back(i);
        return permute(x, d);
      })
      .def_property_readonly("mT", [](const Tensor& x) {
        CTORCH_CHECK(x.dim() >= 2, "tensor.mT is only supported on matrices or batches of matrices. Got ", x.dim(), "-D tensor.");
        return transpose(x, -2, -1);
      })
      .def("permute", [](const Tensor& t, py::args a) { return permute(t, ints(a)); })
      .def("movedim", [](const Tensor& t, py::object s, py::object d) { return movedim(t, dims_arg(s), dims_arg(d)); })
      .def("expand", [](const Tensor& t, py::args a) { return expand(t, ints(a)); })
      .def("broadcast_to", [](const Tensor& t, std::vector<int64_t> s) { return broadcast_to(t, s); })
      .def("squeeze", [](const Tensor& t, py::object dim) {
        return dim.is_none() ? squeeze(t) : squeeze(t, dims_arg(dim));
      }, py::arg("dim") = py::none())
      .def("unsqueeze", &unsqueeze)
      .def("narrow", &narrow)
      .def("select", &select)
      .def("unbind", &unbind, py::arg("dim") = 0)
      .def("split", [](const Tensor& t, py::object s, int64_t dim) {
        if (PyLong_Check(s.ptr())) return split(t, s.cast<int64_t>(), dim);
        return split_with_sizes(t, s.cast<std::vector<int64_t>>(), dim);
      }, py::arg("split_size"), py::arg("dim") = 0)
      .def("chunk", &chunk, py::arg("chunks"), py::arg("dim") = 0)
      .def("as_strided", [](const Tensor& t, std::vector<int64_t> size, std::vector<int64_t> stride,
                            std::optional<int64_t> off) { return as_strided(t, size, stride, off); },
           py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none())
      .def("diagonal", &diagonal, py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1);

  m.def("reshape", [](const Tensor& t, std::vector<int64_t> s) { return reshape(t, s); });
  m.def("flatten", &flatten, py::arg("input"), py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  m.def("unflatten", [](const Tensor& t, int64_t dim, std::vector<int64_t> s) { return unflatten(t, dim, s); });
  m.def("transpose", &transpose);
  m.def("swapaxes", &transpose);
  m.def("t", [](const Tensor& x) { return ctorch::t(x); });
  m.def("permute", [](const Tensor& t, std::vector<int64_t> d) { return permute(t, d); });
  m.def("movedim", [](const Tensor& t, py::object s, py::object d) { return movedim(t, dims_arg(s), dims_arg(d)); });
  m.def("squeeze", [](const Tensor& t, py::object dim) {
    return dim.is_none() ? squeeze(t) : squeeze(t, dims_arg(dim));
  }, py::arg("input"), py::arg("dim") = py::none());
  m.def("unsqueeze", &unsqueeze);
  m.def("narrow", &narrow);
  m.def("select", &select);
  m.def("unbind", &unbind, py::arg("input"), py::arg("dim") = 0);
  m.def("split", [](const Tensor& t, py::object s, int64_t dim) {
    if (PyLong_Check(s.ptr())) return split(t, s.cast<int64_t>(), dim);
    return split_with_sizes(t, s.cast<std::vector<int64_t>>(), dim);
  }, py::arg("tensor"), py::arg("split_size_or_sections"), py::arg("dim") = 0);
  m.def("chunk", &chunk, py::arg("input"), py::arg("chunks"), py::arg("dim") = 0);
  m.def("as_strided", [](const Tensor& t, std::vector<int64_t> size, std::vector<int64_t> stride,
                         std::optional<int64_t> off) { return as_strided(t, size, stride, off); },
        py::arg("input"), py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none());
  m.def("diagonal", &diagonal, py::arg("input"), py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1);
  m.def("broadcast_to", [](const Tensor& t, std::vector<int64_t> s) { return broadcast_to(t, s); });
  m.def("broadcast_tensors", [](py::args ts) {
    std::vector<Tensor> v;
    for (auto h : ts) v.push_back(h.cast<Tensor>());
    return broadcast_tensors(v);
  });
  m.def("broadcast_shapes", [](py::args shapes) {
    DimVector s;
    for (auto h : shapes) {
      std::vector<int64_t> v = PyLong_Check(h.ptr()) ? std::vector<int64_t>{h.cast<int64_t>()} : h.cast<std::vector<int64_t>>();
      s = broadcast_shapes(s, v, "broadcast_shapes");
    }
    return size_object(s);
  });

  // ---- elementwise: every ops.def entry as ctorch.f(x), x.f(), x.f_()
#define UNARY(name)                                                                          \
  m.def(#name, [](const Tensor& x, py::object out) {                                          \
    if (out.is_none()) return nogil_if_large(x.numel(), [&] { return unary(UnaryOp::name, x); });                 \
    Tensor o = out.cast<Tensor>();                                                            \
    return nogil_if_large(x.numel(), [&] { return unary(UnaryOp::name, x, &o); });                                \
  }, py::arg("input"), py::kw_only(), py::arg("out") = py::none());                           \
  c.def(#name, [](const Tensor& x) { return nogil_if_large(x.numel(), [&] { return unary(UnaryOp::name, x); }); }); \
  c.def(#name "_", [](const Tensor& x) { return nogil_if_large(x.numel(), [&] { return unary(UnaryOp::name, x, &x); }); });
#define UNARY_FLOAT(name, expr) UNARY(name)
#define UNARY_SAME(name, expr) UNARY(name)
#define UNARY_PRED(name, expr) UNARY(name)
#include "ctorch/ops/ops.def"
#undef UNARY

#define BINARY(name)                                                                         \
  m.def(#name, [](py::handle a, py::handle b, py::object out) {                               \
    return binary_any(BinaryOp::name, a, b, out);                                             \
  }, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("out") = py::none());        \
  c.def(#name, [](const Tensor& a, py::handle b) {                                            \
    Tensor bt = operand(b, #name, a.device());                                                \
    return nogil_if_large(std::max(a.numel(), bt.numel()), [&] { return binary(BinaryOp::name, a, bt); });                              \
  });                                                                                         \
  c.def(#name "_", [](const Tensor& a, py::handle b) {                                        \
    Tensor bt = operand(b, #name, a.device());                                                \
    return nogil_if_large(std::max(a.numel(), bt.numel()), [&] { return binary(BinaryOp::name, a, bt, &a); });                          \
  });
#define BINARY_ARITH(name, expr) BINARY(name)
#define BINARY_FLOAT(name, expr) BINARY(name)
#define BINARY_BITS(name, expr) BINARY(name)
#define BINARY_PRED(name, expr) BINARY(name)
#include "ctorch/ops/ops.def"
#undef BINARY

  // add/sub take alpha; div takes rounding_mode (these replace the generated forms).
  for (const char* name : {"add", "sub"}) {
    bool is_add = name[0] == 'a';
    auto fn = [is_add](py::handle a, py::handle b, const Scalar& alpha, py::object out) {
      BinaryOp op = is_add ? BinaryOp::add : BinaryOp::sub;
      if (alpha.is_floating() || alpha.to_int() != 1) {
        Tensor bt = operand(b, op_name(op));
        return binary_any(op, a, py::cast(mul(bt, alpha)), out);
      }
      return binary_any(op, a, b, out);
    };
    m.def(name, fn, py::arg("input"), py::arg("other"), py::kw_only(), py::arg("alpha") = 1,
          py::arg("out") = py::none());
    c.def(name, [fn](py::handle a, py::handle b, const Scalar& alpha) { return fn(a, b, alpha, py::none()); },
          py::arg("other"), py::kw_only(), py::arg("alpha") = 1);
    c.def((std::string(name) + "_").c_str(), [fn](py::handle a, py::handle b, const Scalar& alpha) {
          return fn(a, b, alpha, py::reinterpret_borrow<py::object>(a)); },
          py::arg("other"), py::kw_only(), py::arg("alpha") = 1);
  }
  auto div_fn = [](py::handle a, py::handle b, std::optional<std::string> mode, py::object out) {
    if (!mode) return binary_any(BinaryOp::div, a, b, out);
    Tensor at = operand(a, "div"), bt = operand(b, "div", at.device());
    Tensor r = div(at, bt, *mode);
    if (out.is_none()) return r;
    Tensor o = out.cast<Tensor>();
    return store_result(o, r, "div");
  };
  m.def("div", div_fn, py::arg("input"), py::arg("other"), py::kw_only(),
        py::arg("rounding_mode") = py::none(), py::arg("out") = py::none());
  m.attr("divide") = m.attr("div");
  m.attr("true_divide") = m.attr("div");
  c.def("div", [div_fn](py::handle a, py::handle b, std::optional<std::string> mode) {
    return div_fn(a, b, mode, py::none()); }, py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
  c.def("div_", [div_fn](py::handle a, py::handle b, std::optional<std::string> mode) {
    return div_fn(a, b, mode, py::reinterpret_borrow<py::object>(a)); },
    py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());

  // ---- operators
#define OP(py_name, op)                                                                      \
  c.def(py_name, [](const Tensor& a, py::handle b) -> py::object {                            \
    if (!py::isinstance<TensorImpl>(b) && !is_number(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented); \
    Tensor bt = operand(b, py_name, a.device());                                              \
    return py::cast(nogil_if_large(std::max(a.numel(), bt.numel()), [&] { return binary(BinaryOp::op, a, bt); }));                     \
  });
#define ROP(py_name, op)                                                                     \
  c.def(py_name, [](const Tensor& a, py::handle b) -> py::object {                            \
    if (!is_number(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);          \
    Tensor bt = operand(b, py_name, a.device());                                              \
    return py::cast(nogil_if_large(std::max(a.numel(), bt.numel()), [&] { return binary(BinaryOp::op, bt, a); }));                     \
  });
#define IOP(py_name, op)                                                                     \
  c.def(py_name, [](const Tensor& a, py::handle b) {                                          \
    Tensor bt = operand(b, py_name, a.device());                                              \
    return nogil_if_large(std::max(a.numel(), bt.numel()), [&] { return binary(BinaryOp::op, a, bt, &a); });                           \
  });
  OP("__add__", add) ROP("__radd__", add) IOP("__iadd__", add)
  OP("__sub__", sub) ROP("__rsub__", sub) IOP("__isub__", sub)
  OP("__mul__", mul) ROP("__rmul__", mul) IOP("__imul__", mul)
  OP("__truediv__", div) ROP("__rtruediv__", div) IOP("__itruediv__", div)
  OP("__floordiv__", floor_divide) ROP("__rfloordiv__", floor_divide) IOP("__ifloordiv__", floor_divide)
  OP("__mod__", remainder) ROP("__rmod__", remainder) IOP("__imod__", remainder)
  OP("__pow__", pow) ROP("__rpow__", pow) IOP("__ipow__", pow)
  OP("__and__", bitwise_and) ROP("__rand__", bitwise_and) IOP("__iand__", bitwise_and)
  OP("__or__", bitwise_or) ROP("__ror__", bitwise_or) IOP("__ior__", bitwise_or)
  OP("__xor__", bitwise_xor) ROP("__rxor__", bitwise_xor) IOP("__ixor__", bitwise_xor)
  OP("__lshift__", bitwise_left_shift) ROP("__rlshift__", bitwise_left_shift) IOP("__ilshift__", bitwise_left_shift)
  OP("__rshift__", bitwise_right_shift) ROP("__rrshift__", bitwise_right_shift) IOP("__irshift__", bitwise_right_shift)
  OP("__eq__", eq) OP("__ne__", ne) OP("__lt__", lt) OP("__le__", le) OP("__gt__", gt) OP("__ge__", ge)
#undef OP
#undef ROP
#undef IOP
  c.def("__neg__", [](const Tensor& x) { return neg(x); });
  c.def("__pos__", [](const Tensor& x) { return x; });
  c.def("__abs__", [](const Tensor& x) { return abs(x); });
  c.def("__invert__", [](const Tensor& x) { return bitwise_not(x); });

  // ---- composites with extra arguments
  auto clamp_fn = [](const Tensor& x, py::object min, py::object max) {
    return clamp(x, opt_tensor(min, "clamp", x.device()), opt_tensor(max, "clamp", x.device()));
  };
  for (const char* name : {"clamp", "clip"}) {
    m.def(name, clamp_fn, py::arg("input"), py::arg("min") = py::none(), py::arg("max") = py::none());
    c.def(name, clamp_fn, py::arg("min") = py::none(), py::arg("max") = py::none());
    c.def((std::string(name) + "_").c_str(), [clamp_fn](Tensor& x, py::object min, py::object max) {
      return update_in_place(x, [&](const Tensor& s) { return clamp_fn(s, min, max); }, "clamp_"); }, py::arg("min") = py::none(), py::arg("max") = py::none());
  }
  m.def("clamp_min", [](const Tensor& x, py::handle v) { return clamp(x, operand(v, "clamp_min", x.device()), std::nullopt); });
  m.def("clamp_max", [](const Tensor& x, py::handle v) { return clamp(x, std::nullopt, operand(v, "clamp_max", x.device())); });
  c.def("clamp_min", [](const Tensor& x, py::handle v) { return clamp(x, operand(v, "clamp_min", x.device()), std::nullopt); });
  c.def("clamp_max", [](const Tensor& x, py::handle v) { return clamp(x, std::nullopt, operand(v, "clamp_max", x.device())); });

  auto where_fn = [](const Tensor& cond, py::handle a, py::handle b) {
    return where(cond, operand(a, "where", cond.device()), operand(b, "where", cond.device()));
  };
  m.def("_where3", where_fn);
  c.def("where", [where_fn](const Tensor& self, const Tensor& cond, py::handle other) {
    return where_fn(cond, py::cast(self), other); });
  auto lerp_fn = [](const Tensor& a, const Tensor& b, py::handle w) { return lerp(a, b, operand(w, "lerp", a.device())); };
  m.def("lerp", lerp_fn);
  c.def("lerp", lerp_fn);
  c.def("lerp_", [lerp_fn](Tensor& a, const Tensor& b, py::handle w) {
    return update_in_place(a, [&](const Tensor& s) { return lerp_fn(s, b, w); }, "lerp_"); });
  m.def("addcmul", &addcmul, py::arg("input"), py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1);
  m.def("addcdiv", &addcdiv, py::arg("input"), py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1);
  c.def("addcmul", &addcmul, py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1);
  c.def("addcdiv", &addcdiv, py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1);
  c.def("addcmul_", [](Tensor& s, const Tensor& a, const Tensor& b, const Scalar& v) {
    return update_in_place(s, [&](const Tensor& x) { return addcmul(x, a, b, v); }, "addcmul_"); },
        py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1);
  c.def("addcdiv_", [](Tensor& s, const Tensor& a, const Tensor& b, const Scalar& v) {
    return update_in_place(s, [&](const Tensor& x) { return addcdiv(x, a, b, v); }, "addcdiv_"); },
        py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1);
  m.def("nan_to_num", &nan_to_num, py::arg("input"), py::arg("nan") = 0.0, py::arg("posinf") = py::none(), py::arg("neginf") = py::none());
  c.def("nan_to_num", &nan_to_num, py::arg("nan") = 0.0, py::arg("posinf") = py::none(), py::arg("neginf") = py::none());
  auto round_fn = [](const Tensor& x, int64_t decimals) { return round(x, decimals); };
  m.def("round", round_fn, py::arg("input"), py::kw_only(), py::arg("decimals") = 0);
  c.def("round", round_fn, py::kw_only(), py::arg("decimals") = 0);
  auto gelu_fn = [](const Tensor& x, const std::string& approximate) { return gelu(x, approximate); };
  m.def("_gelu", gelu_fn, py::arg("input"), py::arg("approximate") = "none");
  m.def("result_type", [](py::handle a, py::handle b) {
    return result_type({operand(a, "result_type"), operand(b, "result_type")});
  });
}

}  // namespace ctorch::python
