// Shared by the binding files: type casters (Tensor, Scalar, DType, Device) and helpers.
// Bindings only convert arguments and map errors; the logic lives in the C++ ops.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include "ctorch/ops.h"

namespace py = pybind11;

namespace ctorch::python {

using TensorClass = py::class_<TensorImpl, std::shared_ptr<TensorImpl>>;
TensorClass& tensor_class();  // ctorch.Tensor, to add methods from any binding file

// The Python object for a dtype (ctorch.float32 ...) and back.
py::object dtype_object(DType t);
bool is_dtype_object(py::handle h);

// A Python operand for an op: a Tensor as is, a Python number as a weak 0-d tensor. Throws
// TypeError naming `op` for anything else.
Tensor operand(py::handle h, const char* op, Device device = Device());
bool is_number(py::handle h);
// Python `dim` arguments: None (all dims), an int, or a sequence of ints.
std::vector<int64_t> dims_arg(py::handle h);
// Shapes passed as f(2, 3) or f((2, 3)) or f([2, 3]).
std::vector<int64_t> shape_args(const py::args& args);

// Runs f() with the GIL released: kernels never touch Python objects, so other Python threads
// (DataLoader, user threads) keep running while a large op computes.
template <class F>
auto nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}
// The same for elementwise work of `numel` elements: small ops keep the GIL, since releasing and
// retaking it costs more than they compute.
template <class F>
auto nogil_if_large(int64_t numel, F&& f) {
  if (numel < 16384) return f();
  py::gil_scoped_release release;
  return f();
}

// Each binding area registers itself from module.cpp.
void bind_tensor(py::module_& m);
void bind_creation(py::module_& m);
void bind_reduce(py::module_& m);
void bind_index(py::module_& m);
void bind_linalg(py::module_& m);
void bind_random(py::module_& m);
void bind_interop(py::module_& m);
void bind_shm(py::module_& m);
void bind_autograd(py::module_& m);
void bind_optim(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_nn(py::module_& m);
void bind_cuda(py::module_& m);
void bind_cuda_random(py::module_& m);

}  // namespace ctorch::python

namespace pybind11::detail {

// ctorch::Tensor <-> the Python ctorch.Tensor (bound on TensorImpl with a shared_ptr holder, so
// the same tensor always comes back as the same Python object).
template <>
struct type_caster<ctorch::Tensor> {
  PYBIND11_TYPE_CASTER(ctorch::Tensor, const_name("Tensor"));
  bool load(handle src, bool convert) {
    copyable_holder_caster<ctorch::TensorImpl, std::shared_ptr<ctorch::TensorImpl>> holder;
    if (src.is_none() || !holder.load(src, convert)) return false;
    value = ctorch::Tensor(static_cast<std::shared_ptr<ctorch::TensorImpl>>(holder));
    return true;
  }
  static handle cast(const ctorch::Tensor& t, return_value_policy, handle) {
    if (!t.defined()) return none().release();
    return type_caster<std::shared_ptr<ctorch::TensorImpl>>::cast(
        t.impl_ptr(), return_value_policy::take_ownership, handle());
  }
};

template <>
struct type_caster<ctorch::Scalar> {
  PYBIND11_TYPE_CASTER(ctorch::Scalar, const_name("Number"));
  bool load(handle src, bool) {
    if (PyBool_Check(src.ptr())) { value = ctorch::Scalar(src.ptr() == Py_True); return true; }
    if (PyLong_Check(src.ptr())) {
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(src.ptr(), &overflow);
      if (overflow) return false;
      value = ctorch::Scalar(static_cast<int64_t>(v));
      return true;
    }
    if (PyFloat_Check(src.ptr())) { value = ctorch::Scalar(PyFloat_AS_DOUBLE(src.ptr())); return true; }
    // NumPy scalars and 1-element tensors behave like numbers here.
    if (hasattr(src, "item") && !hasattr(src, "__len__")) return load(src.attr("item")(), false);
    return false;
  }
  static handle cast(const ctorch::Scalar& s, return_value_policy, handle) {
    if (s.is_bool()) return bool_(s.to_bool()).release();
    if (s.is_integral()) return int_(s.to_int()).release();
    return float_(s.to_double()).release();
  }
};

template <>
struct type_caster<ctorch::DType> {
  PYBIND11_TYPE_CASTER(ctorch::DType, const_name("dtype"));
  bool load(handle src, bool);
  static handle cast(ctorch::DType t, return_value_policy, handle) {
    return ctorch::python::dtype_object(t).release();
  }
};

template <>
struct type_caster<ctorch::Device> {
  PYBIND11_TYPE_CASTER(ctorch::Device, const_name("device"));
  bool load(handle src, bool);
  static handle cast(const ctorch::Device& d, return_value_policy, handle);
};

template <>
struct type_caster<ctorch::IntArrayRef> {
  // Only for returning shapes/strides: a tuple of ints.
  PYBIND11_TYPE_CASTER(ctorch::IntArrayRef, const_name("tuple[int, ...]"));
  bool load(handle, bool) { return false; }
  static handle cast(ctorch::IntArrayRef a, return_value_policy, handle) {
    tuple t(a.size());
    for (size_t i = 0; i < a.size(); ++i) PyTuple_SET_ITEM(t.ptr(), i, PyLong_FromLongLong(a[i]));
    return t.release();
  }
};

}  // namespace pybind11::detail
