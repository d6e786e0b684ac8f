// ctorch._C: module setup, error mapping, dtype/device objects and global settings.
#include <pybind11/operators.h>
#include "bind.h"
#include "cpu/parallel.h"

namespace ctorch::python {

namespace {
struct DTypeBox { DType t; };
py::object g_dtypes[kNumDTypes];
}  // namespace

py::object dtype_object(DType t) { return g_dtypes[static_cast<int>(t)]; }
bool is_dtype_object(py::handle h) { return py::isinstance<DTypeBox>(h); }

bool is_number(py::handle h) {
  return PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr());
}

Tensor operand(py::handle h, const char* op, Device device) {
  py::detail::type_caster<Tensor> tc;
  if (tc.load(h, false)) return static_cast<Tensor&>(tc);
  py::detail::type_caster<Scalar> sc;
  if (sc.load(h, false)) return wrapped_scalar(static_cast<Scalar&>(sc), device);
  throw Error(ErrorKind::Type, str_cat(op, "(): argument 'other' must be Tensor or Number, not ",
                                      Py_TYPE(h.ptr())->tp_name));
}

std::vector<int64_t> dims_arg(py::handle h) {
  if (h.is_none()) return {};
  if (PyLong_Check(h.ptr())) return {h.cast<int64_t>()};
  return h.cast<std::vector<int64_t>>();
}

std::vector<int64_t> shape_args(const py::args& args) {
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) {
    try {
      return args[0].cast<std::vector<int64_t>>();
    } catch (const py::cast_error&) {
      throw Error(ErrorKind::Type, str_cat("expected a sequence of ints as the shape, got ",
                                           Py_TYPE(args[0].ptr())->tp_name));
    }
  }
  std::vector<int64_t> shape;
  for (auto a : args) {
    CTORCH_CHECK_TYPE(PyLong_Check(a.ptr()) && !PyBool_Check(a.ptr()),
                      "expected ints as the shape, got ", Py_TYPE(a.ptr())->tp_name);
    shape.push_back(a.cast<int64_t>());
  }
  return shape;
}

}  // namespace ctorch::python

namespace pybind11::detail {

bool type_caster<ctorch::DType>::load(handle src, bool) {
  if (!ctorch::python::is_dtype_object(src)) return false;
  value = src.cast<ctorch::python::DTypeBox&>().t;
  return true;
}

bool type_caster<ctorch::Device>::load(handle src, bool) {
  if (PyUnicode_Check(src.ptr())) { value = ctorch::Device(src.cast<std::string>()); return true; }
  if (hasattr(src, "_ctorch_device")) {
    value = ctorch::Device(src.attr("_ctorch_device").cast<std::string>());
    return true;
  }
  if (PyLong_Check(src.ptr())) { value = ctorch::Device(ctorch::DeviceType::CUDA, src.cast<int>()); return true; }
  return false;
}

handle type_caster<ctorch::Device>::cast(const ctorch::Device& d, return_value_policy, handle) {
  static object device_class = module_::import("ctorch").attr("device");
  return device_class(d.str()).release();
}

}  // namespace pybind11::detail

using namespace ctorch;
using namespace ctorch::python;

PYBIND11_MODULE(_C, m) {
  m.doc() = "ctorch native core";

  // ctorch.cuda.OutOfMemoryError, a RuntimeError as in PyTorch.
  static py::handle oom_error = PyErr_NewExceptionWithDoc(
      "ctorch.OutOfMemoryError", "A device allocation could not be met.", PyExc_RuntimeError, nullptr);
  m.attr("OutOfMemoryError") = oom_error;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      switch (e.kind()) {
        case ErrorKind::Index: PyErr_SetString(PyExc_IndexError, e.what()); return;
        case ErrorKind::Value: PyErr_SetString(PyExc_ValueError, e.what()); return;
        case ErrorKind::Type: PyErr_SetString(PyExc_TypeError, e.what()); return;
        case ErrorKind::NotImplemented: PyErr_SetString(PyExc_NotImplementedError, e.what()); return;
        case ErrorKind::OutOfMemory: PyErr_SetString(oom_error.ptr(), e.what()); return;
        default: PyErr_SetString(PyExc_RuntimeError, e.what()); return;
      }
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_RuntimeError, "out of memory");
    }
  });

  py::class_<DTypeBox>(m, "dtype")
      .def_property_readonly("is_floating_point", [](const DTypeBox& d) { return is_floating(d.t); })
      .def_property_readonly("is_signed", [](const DTypeBox& d) { return is_signed(d.t); })
      .def_property_readonly("itemsize", [](const DTypeBox& d) { return element_size(d.t); })
      .def_property_readonly("is_complex", [](const DTypeBox&) { return false; })
      .def("__repr__", [](const DTypeBox& d) { return std::string("ctorch.") + dtype_name(d.t); })
      .def("__reduce__", [](const DTypeBox& d) { return std::string(dtype_name(d.t)); });
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    g_dtypes[i] = py::cast(DTypeBox{t}, py::return_value_policy::move);
    m.attr(dtype_name(t)) = g_dtypes[i];
  }
  m.def("_dtype_from_name", &dtype_from_name);

  m.def("promote_types", &promote_types);
  m.def("can_cast", &can_cast, py::arg("from_"), py::arg("to"));
  m.def("get_default_dtype", &default_dtype);
  m.def("set_default_dtype", &set_default_dtype);
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", [](int n) {
    CTORCH_CHECK(n > 0, "set_num_threads expects a positive integer, got ", n);
    set_num_threads(n);
  });
  m.def("_parse_device", [](const std::string& s) {
    Device d(s);
    return py::make_tuple(d.is_cpu() ? "cpu" : "cuda", d.index < 0 ? py::object(py::none()) : py::int_(d.index));
  });
  m.def("_cpu_empty_cache", &cpu_empty_cache);
  m.def("_allocator_stats", [] {
    AllocatorStats s = cpu_allocator_stats();
    return py::dict(py::arg("allocated_bytes") = s.allocated_bytes,
                    py::arg("peak_bytes") = s.peak_bytes, py::arg("num_allocs") = s.num_allocs);
  });

  bind_tensor(m);
  bind_creation(m);
  bind_reduce(m);
  bind_index(m);
  bind_linalg(m);
  bind_random(m);
  bind_interop(m);
  bind_shm(m);
  bind_autograd(m);
  bind_optim(m);
  bind_conv(m);
  bind_pool(m);
  bind_nn(m);
  bind_cuda(m);
  bind_cuda_random(m);
}
