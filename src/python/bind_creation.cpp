// Tensors from Python data and NumPy (zero-copy both ways), and the factory functions.
#include <pybind11/numpy.h>
#include "bind.h"
#include "ctorch/autograd.h"

namespace ctorch::python {

namespace {

// ---- nested Python data -> tensor
enum class DataKind { Bool = 0, Int = 1, Float = 2 };

bool is_sequence(py::handle h) {
  if (PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr())) return false;  // the common leaves, fast
  return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()) ||
         (py::isinstance<TensorImpl>(h) && h.cast<Tensor>().dim() > 0) ||
         (py::isinstance<py::array>(h) && h.cast<py::array>().ndim() > 0);
}

// What a walk over nested data found: its shape and the dtype its numbers call for.
struct DataInfo {
  std::vector<int64_t> shape;
  DataKind kind = DataKind::Bool;  // of all numbers
  bool any_number = false;
  bool any_plain = false;          // Python bool/int/float
  std::optional<DType> typed;      // promoted dtype of NumPy scalars and 0-d tensors

  // Python numbers give bool / int64 / the default float; typed elements keep their dtype.
  DType dtype() const {
    if (!any_number) return default_dtype();  // empty lists are float
    DType plain = kind == DataKind::Bool ? DType::Bool
                  : kind == DataKind::Int ? DType::Int64 : default_dtype();
    if (!typed) return plain;
    if (!any_plain) return *typed;
    return promote_types(*typed, plain);
  }
};

std::optional<DType> numpy_scalar_dtype(py::handle obj);

void infer_shape(py::handle obj, size_t depth, DataInfo& info) {
  if (is_sequence(obj)) {
    // Untrusted nesting must not exhaust the C stack (PyTorch's limit, same error class).
    constexpr size_t kMaxDims = 128;
    CTORCH_CHECK_VALUE(depth < kMaxDims, "[tensor] too many dimensions: nesting deeper than ",
                       kMaxDims);
    int64_t n = static_cast<int64_t>(py::len(obj));
    if (depth == info.shape.size() && !info.any_number) info.shape.push_back(n);
    CTORCH_CHECK_VALUE(depth < info.shape.size(), "[tensor] expected a number at dim ", depth,
                       " but got a sequence of length ", n);
    CTORCH_CHECK_VALUE(info.shape[depth] == n, "[tensor] expected sequence of length ",
                       info.shape[depth], " at dim ", depth, " (got ", n, ")");
    for (py::handle item : obj) infer_shape(item, depth + 1, info);
    return;
  }
  CTORCH_CHECK_VALUE(depth == info.shape.size(), "[tensor] expected a sequence at dim ", depth,
                     " but got a number");
  info.any_number = true;
  // Exact Python numbers first (the common case; no attribute lookups). np.float64 subclasses
  // float, so it fails the exact check and is read with its own dtype below.
  PyObject* o = obj.ptr();
  if (PyLong_CheckExact(o) || PyFloat_CheckExact(o) || PyBool_Check(o)) {
    DataKind k = PyBool_Check(o) ? DataKind::Bool : PyLong_CheckExact(o) ? DataKind::Int : DataKind::Float;
    info.any_plain = true;
    if (static_cast<int>(k) > static_cast<int>(info.kind)) info.kind = k;
    return;
  }
  std::optional<DType> typed;
  if (py::isinstance<TensorImpl>(obj)) typed = obj.cast<Tensor>().dtype();
  else typed = numpy_scalar_dtype(obj);
  DataKind k;
  if (typed) {
    k = *typed == DType::Bool ? DataKind::Bool : is_floating(*typed) ? DataKind::Float : DataKind::Int;
    info.typed = info.typed ? promote_types(*info.typed, *typed) : *typed;
  } else if (PyBool_Check(obj.ptr())) {
    k = DataKind::Bool;
  } else if (PyLong_Check(obj.ptr())) {
    k = DataKind::Int;
  } else if (PyFloat_Check(obj.ptr())) {
    k = DataKind::Float;
  } else {
    throw Error(ErrorKind::Type, str_cat("[tensor] could not infer dtype of ", Py_TYPE(obj.ptr())->tp_name));
  }
  if (!typed) info.any_plain = true;
  if (static_cast<int>(k) > static_cast<int>(info.kind)) info.kind = k;
}

template <class T>
void fill(py::handle obj, T*& out) {
  if (is_sequence(obj)) {
    for (py::handle item : obj) fill(item, out);
    return;
  }
  py::object v = PyBool_Check(obj.ptr()) || PyLong_Check(obj.ptr()) || PyFloat_Check(obj.ptr())
                     ? py::reinterpret_borrow<py::object>(obj) : obj.attr("item")();
  if constexpr (std::is_same_v<T, double>) {
    *out++ = v.cast<double>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    CTORCH_CHECK(!overflow, "[tensor] Overflow when unpacking long");
    *out++ = x;
  } else {
    *out++ = PyObject_IsTrue(v.ptr()) == 1;
  }
}

// ---- NumPy
DType dtype_from_numpy(const py::dtype& d) {
  char k = d.kind();
  size_t n = d.itemsize();
  if (k == 'b') return DType::Bool;
  if (k == 'u' && n == 1) return DType::UInt8;
  if (k == 'i') {
    if (n == 1) return DType::Int8;
    if (n == 2) return DType::Int16;
    if (n == 4) return DType::Int32;
    if (n == 8) return DType::Int64;
  }
  if (k == 'f') {
    if (n == 2) return DType::Float16;
    if (n == 4) return DType::Float32;
    if (n == 8) return DType::Float64;
  }
  throw Error(ErrorKind::Type, str_cat("can't convert np.ndarray of type numpy.", std::string(py::str(d)),
      ". The only supported types are: float64, float32, float16, int64, int32, int16, int8, "
      "uint8, and bool."));
}

py::dtype numpy_dtype(DType t) {
  CTORCH_CHECK_TYPE(t != DType::BFloat16, "Got unsupported ScalarType BFloat16 (NumPy has no bfloat16)");
  static const char* names[] = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "", "float32", "float64"};
  return py::dtype(names[static_cast<int>(t)]);
}

// The dtype of a NumPy scalar (np.float64, np.int16, ...), or nothing for anything else.
std::optional<DType> numpy_scalar_dtype(py::handle obj) {
  if (!py::hasattr(obj, "dtype") || !py::hasattr(obj, "__array_interface__")) return std::nullopt;
  return dtype_from_numpy(py::reinterpret_borrow<py::dtype>(obj.attr("dtype")));
}

void release_pyobject(void* ctx, void*) {
  py::gil_scoped_acquire gil;
  Py_DECREF(static_cast<PyObject*>(ctx));
}

}  // namespace

Tensor from_numpy(py::array arr) {
  DType dtype = dtype_from_numpy(arr.dtype());
  int64_t isz = static_cast<int64_t>(arr.itemsize());
  std::vector<int64_t> sizes, strides;
  int64_t extent = 0;
  bool empty_array = arr.size() == 0;
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) {
    int64_t st = arr.strides(d);
    CTORCH_CHECK_VALUE(st >= 0, "[from_numpy] At least one stride in the given numpy array is "
                       "negative, and tensors with negative strides are not currently supported. "
                       "(You can probably work around this by making a copy of your array with array.copy().)");
    CTORCH_CHECK_VALUE(st % isz == 0, "[from_numpy] given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.");
    sizes.push_back(arr.shape(d));
    strides.push_back(st / isz);
    extent += (arr.shape(d) - 1) * st;
  }
  size_t nbytes = empty_array ? 0 : static_cast<size_t>(extent + isz);
  PyObject* owner = arr.ptr();
  Py_INCREF(owner);
  Storage s = wrap_storage(const_cast<void*>(arr.data()), nbytes, Device(), release_pyobject, owner);
  return Tensor(std::make_shared<TensorImpl>(std::move(s), DimVector(IntArrayRef(sizes)),
                                             DimVector(IntArrayRef(strides)), 0, dtype));
}

Tensor tensor_from_data(py::handle data, std::optional<DType> dtype, Device device) {
  Tensor r;
  if (py::isinstance<TensorImpl>(data)) {
    r = clone(data.cast<Tensor>());
  } else if (py::isinstance<py::array>(data) || py::hasattr(data, "__array_interface__")) {
    // NumPy arrays and scalars (np.float64(1) stays float64, as in PyTorch).
    py::array arr = py::array::ensure(data);
    if (!arr) throw py::error_already_set();
    // tensor() copies anyway, so layouts from_numpy can't view (negative or unaligned strides)
    // are first made C-contiguous by NumPy.
    for (py::ssize_t d = 0; d < arr.ndim(); ++d)
      if (arr.strides(d) < 0 || arr.strides(d) % static_cast<py::ssize_t>(arr.itemsize()) != 0) {
        arr = py::array::ensure(arr, py::array::c_style | py::array::forcecast);
        break;
      }
    r = clone(from_numpy(arr));
  } else {
    DataInfo info;
    infer_shape(data, 0, info);
    // Values are gathered in the widest type of their kind, then cast once.
    DType natural = !info.any_number || info.kind == DataKind::Float ? DType::Float64
                    : info.kind == DataKind::Int ? DType::Int64 : DType::Bool;
    r = empty(info.shape, natural);
    if (natural == DType::Float64) { double* p = r.data<double>(); fill(data, p); }
    else if (natural == DType::Int64) { int64_t* p = r.data<int64_t>(); fill(data, p); }
    else { bool* p = r.data<bool>(); fill(data, p); }
    if (!dtype) dtype = info.dtype();
  }
  return to(r, dtype.value_or(r.dtype()), device);
}

void bind_creation(py::module_& m) {
  // The legacy constructor: Tensor(2, 3) is uninitialised float32 of that shape, Tensor(data) a
  // float32 copy of data, Tensor() empty (PyTorch's torch.Tensor behaves the same).
  tensor_class().def(py::init([](py::args args) {
    bool sizes = args.size() != 1 || PyLong_Check(args[0].ptr());
    Tensor t = sizes ? empty(shape_args(args), DType::Float32)
                     : tensor_from_data(args[0], DType::Float32, Device());
    if (args.size() == 0) t = empty({0}, DType::Float32);
    return t.impl_ptr();
  }));
  m.def("_tensor", &tensor_from_data, py::arg("data"), py::arg("dtype") = py::none(),
        py::arg("device") = "cpu");
  m.def("from_numpy", [](py::handle a) {
    CTORCH_CHECK_TYPE(py::isinstance<py::array>(a), "expected np.ndarray (got ", Py_TYPE(a.ptr())->tp_name, ")");
    return from_numpy(py::reinterpret_borrow<py::array>(a));
  });
  tensor_class().def("numpy", [](const Tensor& t, bool force) {
    Tensor c = t;
    // force=True detaches, as in PyTorch; else a tensor with history must be detached first.
    CTORCH_CHECK(force || !autograd::requires_grad(t), "Can't call numpy() on Tensor that requires grad. "
                 "Use tensor.detach().numpy() instead.");
    if (force) c = to(autograd::detach(t), t.dtype(), Device());
    CTORCH_CHECK_TYPE(c.device().is_cpu(), "can't convert ", c.device().str(),
                      " device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.");
    std::vector<py::ssize_t> shape(c.sizes().begin(), c.sizes().end()), strides;
    for (int64_t s : c.strides()) strides.push_back(s * static_cast<int64_t>(c.element_size()));
    auto* keep = new Storage(c.storage());
    py::capsule owner(keep, [](void* p) { delete static_cast<Storage*>(p); });
    return py::array(numpy_dtype(c.dtype()), shape, strides, c.data_ptr(), owner);
  }, py::kw_only(), py::arg("force") = false);

  m.def("_empty", [](std::vector<int64_t> shape, std::optional<DType> dtype, Device device) {
    return empty(shape, dtype.value_or(default_dtype()), device);
  });
  m.def("_full", [](std::vector<int64_t> shape, const Scalar& v, std::optional<DType> dtype, Device device) {
    return full(shape, v, dtype.value_or(v.dtype()), device);
  });
  m.def("_arange", [](const Scalar& start, const Scalar& end, const Scalar& step,
                      std::optional<DType> dtype, Device device) {
    return arange(start, end, step, dtype, device);
  });
  m.def("_linspace", [](double s, double e, int64_t n, std::optional<DType> dtype, Device device) {
    return linspace(s, e, n, dtype.value_or(default_dtype()), device);
  });
  m.def("_logspace", [](double s, double e, int64_t n, double base, std::optional<DType> dtype, Device device) {
    return logspace(s, e, n, base, dtype.value_or(default_dtype()), device);
  });
  m.def("_eye", [](int64_t n, std::optional<int64_t> mm, std::optional<DType> dtype, Device device) {
    return eye(n, mm.value_or(n), dtype.value_or(default_dtype()), device);
  });
}

}  // namespace ctorch::python
