// Bindings for the convolutions: ctorch.conv1d/conv2d/conv_transpose1d/conv_transpose2d.
#include "bind.h"
#include "ctorch/ops/conv.h"

namespace ctorch::python {

namespace {

// stride / padding / dilation: an int or a sequence of ints.
std::vector<int64_t> conv_ints(py::handle h, const char* op, const char* name) {
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return {h.cast<int64_t>()};
  if (PySequence_Check(h.ptr()) && !PyUnicode_Check(h.ptr())) {
    try {
      return h.cast<std::vector<int64_t>>();
    } catch (const py::cast_error&) {
    }
  }
  throw Error(ErrorKind::Type, str_cat(op, "(): argument '", name, "' must be tuple of ints, not ",
                                       Py_TYPE(h.ptr())->tp_name));
}

Tensor conv_bias(const std::optional<Tensor>& b) { return b ? *b : Tensor(); }

template <class IntFn, class StrFn>
void def_conv(py::module_& m, const char* name, IntFn int_fn, StrFn str_fn) {
  m.def(name, [name, int_fn, str_fn](const Tensor& input, const Tensor& weight,
                                     const std::optional<Tensor>& bias, py::handle stride,
                                     py::handle padding, py::handle dilation, int64_t groups) {
    auto s = conv_ints(stride, name, "stride");
    auto d = conv_ints(dilation, name, "dilation");
    Tensor b = conv_bias(bias);
    if (PyUnicode_Check(padding.ptr())) {
      std::string ps = padding.cast<std::string>();
      return nogil([&] { return str_fn(input, weight, b, s, ps, d, groups); });
    }
    auto p = conv_ints(padding, name, "padding");
    return nogil([&] { return int_fn(input, weight, b, s, p, d, groups); });
  }, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = 1,
     py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1);
}

template <class Fn>
void def_conv_transpose(py::module_& m, const char* name, Fn fn) {
  m.def(name, [name, fn](const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                         py::handle stride, py::handle padding, py::handle output_padding,
                         int64_t groups, py::handle dilation) {
    auto s = conv_ints(stride, name, "stride");
    auto p = conv_ints(padding, name, "padding");
    auto op = conv_ints(output_padding, name, "output_padding");
    auto d = conv_ints(dilation, name, "dilation");
    Tensor b = conv_bias(bias);
    return nogil([&] { return fn(input, weight, b, s, p, op, groups, d); });
  }, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = 1,
     py::arg("padding") = 0, py::arg("output_padding") = 0, py::arg("groups") = 1,
     py::arg("dilation") = 1);
}

}  // namespace

void bind_conv(py::module_& m) {
  def_conv(m, "conv1d", &conv1d, &conv1d_padding);
  def_conv(m, "conv2d", &conv2d, &conv2d_padding);
  def_conv_transpose(m, "conv_transpose1d", &conv_transpose1d);
  def_conv_transpose(m, "conv_transpose2d", &conv_transpose2d);
}

}  // namespace ctorch::python
