// Pooling ops: ctorch.max_pool1d/2d, avg_pool1d, adaptive_*_pool1d and the private 2-d forms that
// ctorch.nn.functional wraps (_max_pool2d_with_indices, _avg_pool2d, ...).
#include "bind.h"

namespace ctorch::python {

namespace {

// An int (one value for every dim), a sequence of ints, or None (empty: "use the default").
std::vector<int64_t> pool_ints(py::handle h, const char* op, const char* arg) {
  if (h.is_none()) return {};
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) return {h.cast<int64_t>()};
  try {
    return h.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw Error(ErrorKind::Type, str_cat(op, "(): argument '", arg, "' must be tuple of ints, not ",
                                         Py_TYPE(h.ptr())->tp_name));
  }
}

py::tuple pool_pair(const std::tuple<Tensor, Tensor>& r) { return py::make_tuple(std::get<0>(r), std::get<1>(r)); }

// The work of a pooling call, for deciding whether to release the GIL.
int64_t pool_work(const Tensor& t) { return t.numel(); }

}  // namespace

void bind_pool(py::module_& m) {
  using py::arg;
  auto max_args = [](const char* op, py::handle k, py::handle s, py::handle p, py::handle d) {
    return std::array<std::vector<int64_t>, 4>{pool_ints(k, op, "kernel_size"), pool_ints(s, op, "stride"),
                                               pool_ints(p, op, "padding"), pool_ints(d, op, "dilation")};
  };
  m.def("max_pool1d", [max_args](const Tensor& x, py::object k, py::object s, py::object p, py::object d, bool ceil) {
    auto a = max_args("max_pool1d", k, s, p, d);
    return nogil_if_large(pool_work(x), [&] { return max_pool1d(x, a[0], a[1], a[2], a[3], ceil); });
  }, arg("input"), arg("kernel_size"), arg("stride") = py::tuple(), arg("padding") = 0, arg("dilation") = 1,
        arg("ceil_mode") = false);
  m.def("max_pool1d_with_indices", [max_args](const Tensor& x, py::object k, py::object s, py::object p,
                                              py::object d, bool ceil) {
    auto a = max_args("max_pool1d_with_indices", k, s, p, d);
    return pool_pair(nogil_if_large(pool_work(x), [&] { return max_pool1d_with_indices(x, a[0], a[1], a[2], a[3], ceil); }));
  }, arg("input"), arg("kernel_size"), arg("stride") = py::tuple(), arg("padding") = 0, arg("dilation") = 1,
        arg("ceil_mode") = false);
  m.def("max_pool2d", [max_args](const Tensor& x, py::object k, py::object s, py::object p, py::object d, bool ceil) {
    auto a = max_args("max_pool2d", k, s, p, d);
    return nogil_if_large(pool_work(x), [&] { return max_pool2d(x, a[0], a[1], a[2], a[3], ceil); });
  }, arg("input"), arg("kernel_size"), arg("stride") = py::tuple(), arg("padding") = 0, arg("dilation") = 1,
        arg("ceil_mode") = false);
  m.def("_max_pool2d_with_indices", [max_args](const Tensor& x, py::object k, py::object s, py::object p,
                                               py::object d, bool ceil) {
    auto a = max_args("max_pool2d_with_indices", k, s, p, d);
    return pool_pair(nogil_if_large(pool_work(x), [&] { return max_pool2d_with_indices(x, a[0], a[1], a[2], a[3], ceil); }));
  }, arg("input"), arg("kernel_size"), arg("stride") = py::tuple(), arg("padding") = 0, arg("dilation") = 1,
        arg("ceil_mode") = false);

  m.def("avg_pool1d", [](const Tensor& x, py::object k, py::object s, py::object p, bool ceil, bool cip) {
    const char* op = "avg_pool1d";
    auto ks = pool_ints(k, op, "kernel_size"), ss = pool_ints(s, op, "stride"), ps = pool_ints(p, op, "padding");
    return nogil_if_large(pool_work(x), [&] { return avg_pool1d(x, ks, ss, ps, ceil, cip); });
  }, arg("input"), arg("kernel_size"), arg("stride") = py::tuple(), arg("padding") = 0, arg("ceil_mode") = false,
        arg("count_include_pad") = true);
  m.def("_avg_pool2d", [](const Tensor& x, py::object k, py::object s, py::object p, bool ceil, bool cip,
                          std::optional<int64_t> div) {
    const char* op = "avg_pool2d";
    auto ks = pool_ints(k, op, "kernel_size"), ss = pool_ints(s, op, "stride"), ps = pool_ints(p, op, "padding");
    return nogil_if_large(pool_work(x), [&] { return avg_pool2d(x, ks, ss, ps, ceil, cip, div); });
  }, arg("input"), arg("kernel_size"), arg("stride") = py::tuple(), arg("padding") = 0, arg("ceil_mode") = false,
        arg("count_include_pad") = true, arg("divisor_override") = py::none());

  m.def("adaptive_avg_pool1d", [](const Tensor& x, py::object o) {
    auto os = pool_ints(o, "adaptive_avg_pool1d", "output_size");
    return nogil_if_large(pool_work(x), [&] { return adaptive_avg_pool1d(x, os); });
  }, arg("input"), arg("output_size"));
  m.def("_adaptive_avg_pool2d", [](const Tensor& x, py::object o) {
    auto os = pool_ints(o, "adaptive_avg_pool2d", "output_size");
    if (os.size() == 1) os.push_back(os[0]);
    return nogil_if_large(pool_work(x), [&] { return adaptive_avg_pool2d(x, os); });
  }, arg("input"), arg("output_size"));
  m.def("adaptive_max_pool1d", [](const Tensor& x, py::object o) {
    auto os = pool_ints(o, "adaptive_max_pool1d", "output_size");
    return pool_pair(nogil_if_large(pool_work(x), [&] { return adaptive_max_pool1d(x, os); }));
  }, arg("input"), arg("output_size"));
  m.def("_adaptive_max_pool2d", [](const Tensor& x, py::object o) {
    auto os = pool_ints(o, "adaptive_max_pool2d", "output_size");
    if (os.size() == 1) os.push_back(os[0]);
    return pool_pair(nogil_if_large(pool_work(x), [&] { return adaptive_max_pool2d(x, os); }));
  }, arg("input"), arg("output_size"));
  m.def("_max_unpool2d", [](const Tensor& x, const Tensor& indices, py::object o) {
    auto os = pool_ints(o, "max_unpool2d", "output_size");
    return nogil_if_large(pool_work(x), [&] { return max_unpool2d(x, indices, os); });
  }, arg("input"), arg("indices"), arg("output_size"));
}

}  // namespace ctorch::python
