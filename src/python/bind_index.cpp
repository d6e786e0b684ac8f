// Bindings for the index ops: Python subscripts (converted to TensorIndex), gather/scatter family,
// masks, joining and rearranging. The indexing logic itself lives in ctorch::index/index_put_.
#include "bind.h"
#include "ctorch/autograd.h"

namespace ctorch::python {

namespace {

Tensor ix_tensor_from(py::handle h, std::optional<DType> dtype = std::nullopt) {
  static py::object make = py::module_::import("ctorch").attr("tensor");
  if (dtype) return make(h, py::arg("dtype") = *dtype).cast<Tensor>();
  return make(h).cast<Tensor>();
}

[[noreturn]] void ix_bad_key(py::handle h) {
  throw Error(ErrorKind::Index, str_cat("only integers, slices (`:`), ellipsis (`...`), None and long "
                                        "or byte Variables are valid indices (got ",
                                        Py_TYPE(h.ptr())->tp_name, ")"));
}

int64_t ix_int(PyObject* o) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  CTORCH_CHECK_INDEX(!overflow, "index is too large for int64");
  return static_cast<int64_t>(v);
}

TensorIndex ix_convert(py::handle h) {
  PyObject* o = h.ptr();
  if (o == Py_None) return NoneIndex{};
  if (o == Py_Ellipsis) return EllipsisIndex{};
  if (PyBool_Check(o)) return TensorIndex(o == Py_True);
  if (PyLong_Check(o)) return TensorIndex(ix_int(o));
  if (PySlice_Check(o)) {
    auto* s = reinterpret_cast<PySliceObject*>(o);
    Slice sl;
    auto bound = [](PyObject* b) -> std::optional<int64_t> {
      if (b == Py_None) return std::nullopt;
      PyObject* i = PyNumber_Index(b);
      if (!i) throw py::error_already_set();
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
      int sign = overflow ? (PyObject_RichCompareBool(i, py::int_(0).ptr(), Py_GT) ? 1 : -1) : 0;
      Py_DECREF(i);
      // Out-of-int64 bounds (and steps) clamp like Python's own slicing.
      if (overflow) return sign > 0 ? INT64_MAX : INT64_MIN / 2;
      return static_cast<int64_t>(v);
    };
    sl.start = bound(s->start);
    sl.stop = bound(s->stop);
    if (auto st = bound(s->step)) {
      CTORCH_CHECK_VALUE(*st != 0, "slice step cannot be zero");
      sl.step = *st;
    }
    return TensorIndex(sl);
  }
  py::detail::type_caster<Tensor> tc;
  if (tc.load(h, false)) return TensorIndex(static_cast<Tensor&>(tc));
  // Lists of ints or bools become an index tensor or mask; so do NumPy arrays.
  if (PyList_Check(o) && PyList_GET_SIZE(o) == 0) return TensorIndex(ix_tensor_from(h, DType::Int64));
  if (PyList_Check(o) || PyTuple_Check(o)) return TensorIndex(ix_tensor_from(h));
  bool array_like = py::hasattr(h, "__array__") && py::hasattr(h, "ndim");
  if (array_like && (h.attr("ndim").cast<int64_t>() > 0 ||
                     py::str(h.attr("dtype").attr("kind")).cast<std::string>() == "b"))
    return TensorIndex(ix_tensor_from(h));
  if (PyIndex_Check(o)) {  // NumPy integers and other __index__ objects
    py::int_ i = py::reinterpret_steal<py::int_>(PyNumber_Index(o));
    if (!i) throw py::error_already_set();
    return TensorIndex(ix_int(i.ptr()));
  }
  if (PySequence_Check(o) && !PyUnicode_Check(o) && !PyBytes_Check(o))  // range(...) and the like
    return TensorIndex(ix_tensor_from(py::list(py::reinterpret_borrow<py::object>(h))));
  ix_bad_key(h);
}

std::vector<TensorIndex> ix_key(py::handle key) {
  std::vector<TensorIndex> v;
  if (PyTuple_Check(key.ptr())) {
    Py_ssize_t n = PyTuple_GET_SIZE(key.ptr());
    v.reserve(n);
    for (Py_ssize_t i = 0; i < n; ++i) v.push_back(ix_convert(PyTuple_GET_ITEM(key.ptr(), i)));
  } else {
    v.push_back(ix_convert(key));
  }
  return v;
}

Tensor ix_getitem(const Tensor& self, py::handle key) {
  PyObject* k = key.ptr();
  if (PyLong_CheckExact(k) && !autograd::recording({&self})) {  // x[i]: the hot path, a view
    CTORCH_CHECK_INDEX(self.dim() > 0, "invalid index of a 0-dim tensor. Use `tensor.item()` in "
                       "Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number");
    return select(self, 0, ix_int(k));
  }
  return index(self, ix_key(key));
}

void ix_setitem(Tensor& self, py::handle key, py::handle value) {
  std::vector<TensorIndex> idx = ix_key(key);
  py::detail::type_caster<Tensor> tc;
  if (tc.load(value, false)) {
    index_put_(self, idx, static_cast<Tensor&>(tc));
    return;
  }
  py::detail::type_caster<Scalar> sc;
  if (!PyList_Check(value.ptr()) && !PyTuple_Check(value.ptr()) && sc.load(value, false)) {
    index_put_(self, idx, static_cast<Scalar&>(sc));
    return;
  }
  index_put_(self, idx, ix_tensor_from(value, self.dtype()));
}

std::vector<std::optional<Tensor>> ix_tensor_list(py::handle seq) {
  std::vector<std::optional<Tensor>> v;
  for (py::handle h : py::reinterpret_borrow<py::sequence>(seq)) {
    if (h.is_none()) { v.push_back(std::nullopt); continue; }
    py::detail::type_caster<Tensor> tc;
    if (tc.load(h, false)) v.push_back(static_cast<Tensor&>(tc));
    else v.push_back(ix_tensor_from(h));
  }
  return v;
}

std::string ix_reduce(const py::object& r) { return r.is_none() ? std::string() : r.cast<std::string>(); }

// scatter(dim, index, src) where src is a tensor or a number; value= as keyword.
Tensor ix_scatter(Tensor self, int64_t dim, const Tensor& index, py::object src, py::object value,
                  py::object reduce, bool inplace) {
  py::object v = src.is_none() ? value : src;
  CTORCH_CHECK_TYPE(!v.is_none(), "scatter() missing required argument 'src' or 'value'");
  Tensor target = inplace ? self : clone(self);
  py::detail::type_caster<Tensor> tc;
  if (tc.load(v, false)) return scatter_(target, dim, index, static_cast<Tensor&>(tc), ix_reduce(reduce));
  return scatter_(target, dim, index, v.cast<Scalar>(), ix_reduce(reduce));
}

Tensor ix_masked_fill(Tensor self, const Tensor& mask, py::handle value, bool inplace) {
  py::detail::type_caster<Tensor> tc;
  if (tc.load(value, false)) {
    const Tensor& v = static_cast<Tensor&>(tc);
    return inplace ? masked_fill_(self, mask, v) : masked_fill(self, mask, v);
  }
  Scalar s = py::cast<Scalar>(value);
  return inplace ? masked_fill_(self, mask, s) : masked_fill(self, mask, s);
}

Tensor ix_index_fill(Tensor self, int64_t dim, const Tensor& index, py::handle value, bool inplace) {
  py::detail::type_caster<Tensor> tc;
  if (tc.load(value, false)) {
    const Tensor& v = static_cast<Tensor&>(tc);
    return inplace ? index_fill_(self, dim, index, v) : index_fill(self, dim, index, v);
  }
  Scalar s = py::cast<Scalar>(value);
  return inplace ? index_fill_(self, dim, index, s) : index_fill(self, dim, index, s);
}

py::object ix_nonzero(const Tensor& t, bool as_tuple) {
  if (!as_tuple) return py::cast(nonzero(t));
  std::vector<Tensor> v = nonzero_tuple(t);
  py::tuple r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = py::cast(v[i]);
  return std::move(r);
}

Tensor ix_repeat_interleave(const Tensor& self, py::object repeats, std::optional<int64_t> dim) {
  if (repeats.is_none()) return repeat_interleave(self);  // torch.repeat_interleave(repeats)
  py::detail::type_caster<Tensor> tc;
  if (tc.load(repeats, false)) return repeat_interleave(self, static_cast<Tensor&>(tc), dim);
  return repeat_interleave(self, repeats.cast<int64_t>(), dim);
}

std::vector<int64_t> ix_dims(const py::args& a) {
  if (a.size() == 1 && !PyLong_Check(a[0].ptr())) return a[0].cast<std::vector<int64_t>>();
  return shape_args(a);
}

}  // namespace

void bind_index(py::module_& m) {
  auto& c = tensor_class();

  // ---- subscripts
  c.def("__getitem__", &ix_getitem);
  c.def("__setitem__", &ix_setitem);
  c.def("index_put_", [](Tensor& self, py::handle indices, const Tensor& values, bool accumulate) {
    return advanced_index_put_(self, ix_tensor_list(indices), values, accumulate);
  }, py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  auto index_put_fn = [](const Tensor& self, py::handle indices, const Tensor& values, bool accumulate) {
    return advanced_index_put(self, ix_tensor_list(indices), values, accumulate);
  };
  c.def("index_put", index_put_fn, py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  m.def("index_put", index_put_fn, py::arg("input"), py::arg("indices"), py::arg("values"),
        py::arg("accumulate") = false);

  // ---- gather family
  m.def("index_select", &index_select, py::arg("input"), py::arg("dim"), py::arg("index"));
  c.def("index_select", &index_select, py::arg("dim"), py::arg("index"));
  auto gather_fn = [](const Tensor& self, int64_t dim, const Tensor& index, bool) { return gather(self, dim, index); };
  m.def("gather", gather_fn, py::arg("input"), py::arg("dim"), py::arg("index"), py::kw_only(),
        py::arg("sparse_grad") = false);
  c.def("gather", gather_fn, py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false);
  m.def("take", &take, py::arg("input"), py::arg("index"));
  c.def("take", &take, py::arg("index"));

  m.def("take_along_dim", &take_along_dim, py::arg("input"), py::arg("indices"), py::arg("dim") = py::none());
  c.def("take_along_dim", &take_along_dim, py::arg("indices"), py::arg("dim") = py::none());
  c.def("put_", [](Tensor& s, const Tensor& index, const Tensor& src, bool acc) { return put_(s, index, src, acc); },
        py::arg("index"), py::arg("source"), py::arg("accumulate") = false);
  c.def("put", &put, py::arg("index"), py::arg("source"), py::arg("accumulate") = false);
  m.def("put", &put, py::arg("input"), py::arg("index"), py::arg("source"), py::arg("accumulate") = false);
  m.def("scatter", [](const Tensor& s, int64_t dim, const Tensor& index, py::object src, py::object value,
                      py::object reduce) { return ix_scatter(s, dim, index, src, value, reduce, false); },
        py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
        py::arg("value") = py::none(), py::arg("reduce") = py::none());
  c.def("scatter", [](const Tensor& s, int64_t dim, const Tensor& index, py::object src, py::object value,
                      py::object reduce) { return ix_scatter(s, dim, index, src, value, reduce, false); },
        py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
        py::arg("value") = py::none(), py::arg("reduce") = py::none());
  c.def("scatter_", [](const Tensor& s, int64_t dim, const Tensor& index, py::object src, py::object value,
                       py::object reduce) { return ix_scatter(s, dim, index, src, value, reduce, true); },
        py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
        py::arg("value") = py::none(), py::arg("reduce") = py::none());
  m.def("scatter_add", &scatter_add, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"));
  c.def("scatter_add", &scatter_add, py::arg("dim"), py::arg("index"), py::arg("src"));
  c.def("scatter_add_", [](Tensor& s, int64_t dim, const Tensor& index, const Tensor& src) {
    return scatter_add_(s, dim, index, src); }, py::arg("dim"), py::arg("index"), py::arg("src"));
  m.def("scatter_reduce", &scatter_reduce, py::arg("input"), py::arg("dim"), py::arg("index"),
        py::arg("src"), py::arg("reduce"), py::kw_only(), py::arg("include_self") = true);
  c.def("scatter_reduce", &scatter_reduce, py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("reduce"), py::kw_only(), py::arg("include_self") = true);
  c.def("scatter_reduce_", [](Tensor& s, int64_t dim, const Tensor& index, const Tensor& src,
                              const std::string& reduce, bool include_self) {
    return scatter_reduce_(s, dim, index, src, reduce, include_self); },
        py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce"), py::kw_only(),
        py::arg("include_self") = true);

  m.def("index_add", &index_add, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("source"),
        py::kw_only(), py::arg("alpha") = 1);
  c.def("index_add", &index_add, py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(),
        py::arg("alpha") = 1);
  c.def("index_add_", [](Tensor& s, int64_t dim, const Tensor& index, const Tensor& src, const Scalar& alpha) {
    return index_add_(s, dim, index, src, alpha); },
        py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1);
  m.def("index_reduce", &index_reduce, py::arg("input"), py::arg("dim"), py::arg("index"),
        py::arg("source"), py::arg("reduce"), py::kw_only(), py::arg("include_self") = true);
  c.def("index_reduce", &index_reduce, py::arg("dim"), py::arg("index"), py::arg("source"),
        py::arg("reduce"), py::kw_only(), py::arg("include_self") = true);
  c.def("index_reduce_", [](Tensor& s, int64_t dim, const Tensor& index, const Tensor& src,
                            const std::string& reduce, bool include_self) {
    return index_reduce_(s, dim, index, src, reduce, include_self); },
        py::arg("dim"), py::arg("index"), py::arg("source"), py::arg("reduce"), py::kw_only(),
        py::arg("include_self") = true);
  m.def("index_copy", &index_copy, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("source"));
  c.def("index_copy", &index_copy, py::arg("dim"), py::arg("index"), py::arg("source"));
  c.def("index_copy_", [](Tensor& s, int64_t dim, const Tensor& index, const Tensor& src) {
    return index_copy_(s, dim, index, src); }, py::arg("dim"), py::arg("index"), py::arg("source"));
  m.def("index_fill", [](const Tensor& s, int64_t dim, const Tensor& index, py::handle v) {
    return ix_index_fill(s, dim, index, v, false); }, py::arg("input"), py::arg("dim"), py::arg("index"),
    py::arg("value"));
  c.def("index_fill", [](const Tensor& s, int64_t dim, const Tensor& index, py::handle v) {
    return ix_index_fill(s, dim, index, v, false); }, py::arg("dim"), py::arg("index"), py::arg("value"));
  c.def("index_fill_", [](const Tensor& s, int64_t dim, const Tensor& index, py::handle v) {
    return ix_index_fill(s, dim, index, v, true); }, py::arg("dim"), py::arg("index"), py::arg("value"));

  // ---- masks
  m.def("masked_fill", [](const Tensor& s, const Tensor& mask, py::handle v) {
    return ix_masked_fill(s, mask, v, false); }, py::arg("input"), py::arg("mask"), py::arg("value"));
  c.def("masked_fill", [](const Tensor& s, const Tensor& mask, py::handle v) {
    return ix_masked_fill(s, mask, v, false); }, py::arg("mask"), py::arg("value"));
  c.def("masked_fill_", [](const Tensor& s, const Tensor& mask, py::handle v) {
    return ix_masked_fill(s, mask, v, true); }, py::arg("mask"), py::arg("value"));
  m.def("masked_select", &masked_select, py::arg("input"), py::arg("mask"));
  c.def("masked_select", &masked_select, py::arg("mask"));
  m.def("masked_scatter", &masked_scatter, py::arg("input"), py::arg("mask"), py::arg("source"));
  c.def("masked_scatter", &masked_scatter, py::arg("mask"), py::arg("source"));
  c.def("masked_scatter_", [](Tensor& s, const Tensor& mask, const Tensor& src) {
    return masked_scatter_(s, mask, src); }, py::arg("mask"), py::arg("source"));
  m.def("nonzero", &ix_nonzero, py::arg("input"), py::kw_only(), py::arg("as_tuple") = false);
  c.def("nonzero", &ix_nonzero, py::kw_only(), py::arg("as_tuple") = false);
  m.def("argwhere", [](const Tensor& t) { return nonzero(t); }, py::arg("input"));
  c.def("argwhere", [](const Tensor& t) { return nonzero(t); });
  m.def("one_hot", &one_hot, py::arg("tensor"), py::arg("num_classes") = -1);

  // ---- joining and rearranging
  for (const char* name : {"cat", "concat"}) {
    m.def(name, [](const std::vector<Tensor>& ts, int64_t dim) { return cat(ts, dim); },
          py::arg("tensors"), py::arg("dim") = 0);
  }
  m.def("concatenate", [](const std::vector<Tensor>& ts, int64_t axis) { return cat(ts, axis); },
        py::arg("tensors"), py::arg("axis") = 0);
  m.def("stack", &stack, py::arg("tensors"), py::arg("dim") = 0);
  m.def("hstack", &hstack, py::arg("tensors"));
  m.def("vstack", &vstack, py::arg("tensors"));
  m.def("row_stack", &vstack, py::arg("tensors"));
  m.def("dstack", &dstack, py::arg("tensors"));
  m.def("_atleast_1d", &atleast_1d);
  m.def("_atleast_2d", &atleast_2d);
  m.def("_atleast_3d", &atleast_3d);
  m.def("flip", [](const Tensor& t, py::object dims) { return flip(t, dims_arg(dims)); },
        py::arg("input"), py::arg("dims"));
  c.def("flip", [](const Tensor& t, py::args dims) { return flip(t, ix_dims(dims)); });
  m.def("fliplr", &fliplr, py::arg("input"));
  c.def("fliplr", &fliplr);
  m.def("flipud", &flipud, py::arg("input"));
  c.def("flipud", &flipud);
  auto roll_fn = [](const Tensor& t, py::object shifts, py::object dims) {
    return roll(t, dims_arg(shifts), dims_arg(dims));
  };
  m.def("roll", roll_fn, py::arg("input"), py::arg("shifts"), py::arg("dims") = py::none());
  c.def("roll", roll_fn, py::arg("shifts"), py::arg("dims") = py::none());
  c.def("repeat", [](const Tensor& t, py::args reps) { return repeat(t, ix_dims(reps)); });
  m.def("tile", [](const Tensor& t, std::vector<int64_t> reps) { return tile(t, reps); },
        py::arg("input"), py::arg("dims"));
  c.def("tile", [](const Tensor& t, py::args reps) { return tile(t, ix_dims(reps)); });
  m.def("repeat_interleave", [](const Tensor& t, py::object repeats, std::optional<int64_t> dim,
                                py::object) { return ix_repeat_interleave(t, repeats, dim); },
        py::arg("input"), py::arg("repeats") = py::none(), py::arg("dim") = py::none(), py::kw_only(),
        py::arg("output_size") = py::none());
  c.def("repeat_interleave", [](const Tensor& t, py::object repeats, std::optional<int64_t> dim,
                                py::object) {
    CTORCH_CHECK_TYPE(!repeats.is_none(), "repeat_interleave() missing required argument 'repeats'");
    return ix_repeat_interleave(t, repeats, dim); },
        py::arg("repeats"), py::arg("dim") = py::none(), py::kw_only(), py::arg("output_size") = py::none());
  m.def("tril", &tril, py::arg("input"), py::arg("diagonal") = 0);
  m.def("triu", &triu, py::arg("input"), py::arg("diagonal") = 0);
  c.def("tril", &tril, py::arg("diagonal") = 0);
  c.def("triu", &triu, py::arg("diagonal") = 0);
  c.def("tril_", [](Tensor& t, int64_t k) { return tril_(t, k); }, py::arg("diagonal") = 0);
  c.def("triu_", [](Tensor& t, int64_t k) { return triu_(t, k); }, py::arg("diagonal") = 0);
  m.def("diag", &diag, py::arg("input"), py::arg("diagonal") = 0);
  c.def("diag", &diag, py::arg("diagonal") = 0);
  m.def("diag_embed", &diag_embed, py::arg("input"), py::arg("offset") = 0, py::arg("dim1") = -2,
        py::arg("dim2") = -1);
  c.def("diag_embed", &diag_embed, py::arg("offset") = 0, py::arg("dim1") = -2, py::arg("dim2") = -1);
  m.def("select_scatter", &select_scatter, py::arg("input"), py::arg("src"), py::arg("dim"), py::arg("index"));
  c.def("select_scatter", &select_scatter, py::arg("src"), py::arg("dim"), py::arg("index"));
  m.def("slice_scatter", &slice_scatter, py::arg("input"), py::arg("src"), py::arg("dim") = 0,
        py::arg("start") = py::none(), py::arg("end") = py::none(), py::arg("step") = 1);
  c.def("slice_scatter", &slice_scatter, py::arg("src"), py::arg("dim") = 0,
        py::arg("start") = py::none(), py::arg("end") = py::none(), py::arg("step") = 1);
  m.def("diagonal_scatter", &diagonal_scatter, py::arg("input"), py::arg("src"), py::arg("offset") = 0,
        py::arg("dim1") = 0, py::arg("dim2") = 1);
  c.def("diagonal_scatter", &diagonal_scatter, py::arg("src"), py::arg("offset") = 0,
        py::arg("dim1") = 0, py::arg("dim2") = 1);
  auto rot90_fn = [](const Tensor& t, int64_t k, std::vector<int64_t> dims) { return rot90(t, k, dims); };
  m.def("rot90", rot90_fn, py::arg("input"), py::arg("k") = 1, py::arg("dims") = std::vector<int64_t>{0, 1});
  c.def("rot90", rot90_fn, py::arg("k") = 1, py::arg("dims") = std::vector<int64_t>{0, 1});
  for (const char* name : {"tril_indices", "triu_indices"}) {
    bool lower = name[1] == 'r' && name[2] == 'i' && name[3] == 'l';
    m.def(name, [lower](int64_t row, int64_t col, int64_t offset, std::optional<DType> dtype, py::object dev) {
      DType dt = dtype.value_or(DType::Int64);
      Device device = dev.is_none() ? Device() : dev.cast<Device>();
      return lower ? tril_indices(row, col, offset, dt, device) : triu_indices(row, col, offset, dt, device);
    }, py::arg("row"), py::arg("col"), py::arg("offset") = 0, py::kw_only(), py::arg("dtype") = py::none(),
          py::arg("device") = py::none());
  }
  m.def("_meshgrid", [](const std::vector<Tensor>& ts, const std::string& indexing) {
    return meshgrid(ts, indexing); });
}

}  // namespace ctorch::python
