// Bindings for reductions, scans, softmax and sorting: ctorch.f(x, ...) and x.f(...) with
// PyTorch's argument forms; (values, indices) results come back as ctorch.return_types tuples.
#include <cmath>
#include "bind.h"

namespace ctorch::python {

namespace {

// ctorch.return_types.<name>(values, indices), defined in python/ctorch/_reduce.py.
py::object red_named(const char* name, const std::tuple<Tensor, Tensor>& r) {
  // Looked up once and kept for the life of the process (never destroyed after Py_Finalize).
  static py::object* types = new py::object(py::module_::import("ctorch._reduce").attr("return_types"));
  return types->attr(name)(std::get<0>(r), std::get<1>(r));
}

bool red_is_tensor(py::handle h) { return py::isinstance<TensorImpl>(h); }

int64_t red_int_dim(py::handle h, const char* op) {
  if (!PyLong_Check(h.ptr()) || PyBool_Check(h.ptr()))
    throw Error(ErrorKind::Type, str_cat(op, "(): argument 'dim' must be int, not ",
                                         Py_TYPE(h.ptr())->tp_name));
  return h.cast<int64_t>();
}

// var/std: var(dim, unbiased, keepdim) or var(dim, *, correction, keepdim); a bool in the dim
// slot is `unbiased` (x.var(False)).
double red_correction(py::object& dim, const py::object& unbiased, const py::object& correction,
                      const char* op) {
  py::object unb = unbiased;
  if (PyBool_Check(dim.ptr())) {
    CTORCH_CHECK_TYPE(unbiased.is_none(), op, "(): got 'unbiased' twice");
    unb = dim;
    dim = py::none();
  }
  CTORCH_CHECK_TYPE(unb.is_none() || correction.is_none(), op,
                    "(): cannot pass both 'unbiased' and 'correction'");
  if (!correction.is_none()) return correction.cast<double>();
  if (!unb.is_none()) return unb.cast<bool>() ? 1.0 : 0.0;
  return 1.0;
}

double red_ord(const py::object& p, const char* op) {
  if (p.is_none()) return 2.0;
  if (py::isinstance<py::str>(p)) {
    std::string s = p.cast<std::string>();
    CTORCH_CHECK_KIND(ErrorKind::NotImplemented, s != "nuc", "[", op,
                      "] the nuclear norm is not implemented");
    CTORCH_CHECK(s == "fro", "[", op, "] unknown norm type '", s, "'");
    return 2.0;
  }
  return p.cast<double>();
}

template <class F, class... Extra>
void red_def(py::module_& m, const char* name, F f, const Extra&... extra) {
  m.def(name, f, py::arg("input"), extra...);
  tensor_class().def(name, f, extra...);
}

}  // namespace

void bind_reduce(py::module_& m) {
  using OptDType = std::optional<DType>;
  auto kw = py::kw_only();

  red_def(m, "sum", [](const Tensor& x, py::object dim, bool keepdim, OptDType dtype) {
    auto dims = dims_arg(dim);
    py::gil_scoped_release nogil;
    return sum(x, dims, keepdim, dtype);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false, kw, py::arg("dtype") = py::none());
  red_def(m, "mean", [](const Tensor& x, py::object dim, bool keepdim, OptDType dtype) {
    auto dims = dims_arg(dim);
    py::gil_scoped_release nogil;
    return mean(x, dims, keepdim, dtype);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false, kw, py::arg("dtype") = py::none());
  red_def(m, "prod", [](const Tensor& x, py::object dim, bool keepdim, OptDType dtype) {
    std::optional<int64_t> d;
    if (!dim.is_none()) d = red_int_dim(dim, "prod");
    py::gil_scoped_release nogil;
    return prod(x, d, keepdim, dtype);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false, kw, py::arg("dtype") = py::none());

  for (bool is_max : {true, false}) {
    red_def(m, is_max ? "amax" : "amin", [is_max](const Tensor& x, py::object dim, bool keepdim) {
      auto dims = dims_arg(dim);
      py::gil_scoped_release nogil;
      return is_max ? amax(x, dims, keepdim) : amin(x, dims, keepdim);
    }, py::arg("dim") = py::tuple(), py::arg("keepdim") = false);
    // max(x), max(x, dim, keepdim) -> (values, indices), max(x, other) -> maximum(x, other).
    const char* name = is_max ? "max" : "min";
    red_def(m, name, [is_max, name](const Tensor& x, py::object dim, bool keepdim) -> py::object {
      if (dim.is_none()) {
        Tensor r;
        {
          py::gil_scoped_release nogil;
          r = is_max ? max(x) : min(x);
        }
        return py::cast(r);
      }
      if (red_is_tensor(dim)) {
        Tensor o = dim.cast<Tensor>();
        return py::cast(is_max ? maximum(x, o) : minimum(x, o));
      }
      int64_t d = red_int_dim(dim, name);
      std::tuple<Tensor, Tensor> r;
      {
        py::gil_scoped_release nogil;
        r = is_max ? max(x, d, keepdim) : min(x, d, keepdim);
      }
      return red_named(name, r);
    }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
    red_def(m, is_max ? "argmax" : "argmin", [is_max](const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
      py::gil_scoped_release nogil;
      return is_max ? argmax(x, dim, keepdim) : argmin(x, dim, keepdim);
    }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  }

  for (const char* name : {"var", "std"}) {
    bool is_var = name[0] == 'v';
    red_def(m, name, [is_var, name](const Tensor& x, py::object dim, py::object unbiased,
                                     bool keepdim, py::object correction) {
      double c = red_correction(dim, unbiased, correction, name);
      auto dims = dims_arg(dim);
      py::gil_scoped_release nogil;
      return is_var ? var(x, dims, c, keepdim) : ctorch::std(x, dims, c, keepdim);
    }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
       kw, py::arg("correction") = py::none());
  }
  for (const char* name : {"var_mean", "std_mean"}) {
    bool is_var = name[0] == 'v';
    m.def(name, [is_var, name](const Tensor& x, py::object dim, py::object unbiased,
                                bool keepdim, py::object correction) {
      double c = red_correction(dim, unbiased, correction, name);
      auto dims = dims_arg(dim);
      py::gil_scoped_release nogil;
      return is_var ? var_mean(x, dims, c, keepdim) : std_mean(x, dims, c, keepdim);
    }, py::arg("input"), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(),
       py::arg("keepdim") = false, kw, py::arg("correction") = py::none());
  }

  m.def("vector_norm", [](const Tensor& x, double ord, py::object dim, bool keepdim, OptDType dtype) {
    auto dims = dims_arg(dim);
    py::gil_scoped_release nogil;
    return vector_norm(x, ord, dims, keepdim, dtype);
  }, py::arg("x"), py::arg("ord") = 2, py::arg("dim") = py::none(), py::arg("keepdim") = false,
     kw, py::arg("dtype") = py::none());
  // torch.norm: every p (number, 'fro') over the given dims is a vector norm.
  red_def(m, "norm", [](const Tensor& x, py::object p, py::object dim, bool keepdim, OptDType dtype) {
    double ord = red_ord(p, "norm");
    auto dims = dims_arg(dim);
    py::gil_scoped_release nogil;
    return vector_norm(x, ord, dims, keepdim, dtype);
  }, py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false,
     py::arg("dtype") = py::none());
  red_def(m, "logsumexp", [](const Tensor& x, py::object dim, bool keepdim) {
    auto dims = dims_arg(dim);
    py::gil_scoped_release nogil;
    return logsumexp(x, dims, keepdim);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  for (bool is_all : {true, false}) {
    red_def(m, is_all ? "all" : "any", [is_all](const Tensor& x, py::object dim, bool keepdim) {
      auto dims = dims_arg(dim);
      py::gil_scoped_release nogil;
      return is_all ? all(x, dims, keepdim) : any(x, dims, keepdim);
    }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  }

  for (bool is_sum : {true, false}) {
    red_def(m, is_sum ? "cumsum" : "cumprod", [is_sum](const Tensor& x, int64_t dim, OptDType dtype) {
      py::gil_scoped_release nogil;
      return is_sum ? cumsum(x, dim, dtype) : cumprod(x, dim, dtype);
    }, py::arg("dim"), kw, py::arg("dtype") = py::none());
  }
  for (bool is_log : {false, true}) {
    red_def(m, is_log ? "log_softmax" : "softmax", [is_log](const Tensor& x, int64_t dim, OptDType dtype) {
      py::gil_scoped_release nogil;
      return is_log ? log_softmax(x, dim, dtype) : softmax(x, dim, dtype);
    }, py::arg("dim"), py::arg("dtype") = py::none());
  }

  red_def(m, "sort", [](const Tensor& x, int64_t dim, bool descending, std::optional<bool> stable) {
    std::tuple<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = sort(x, dim, descending, stable.value_or(false));
    }
    return red_named("sort", r);
  }, py::arg("dim") = -1, py::arg("descending") = false, kw, py::arg("stable") = py::none());
  red_def(m, "argsort", [](const Tensor& x, int64_t dim, bool descending, bool stable) {
    py::gil_scoped_release nogil;
    return argsort(x, dim, descending, stable);
  }, py::arg("dim") = -1, py::arg("descending") = false, py::arg("stable") = false);
  red_def(m, "topk", [](const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
    std::tuple<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = topk(x, k, dim, largest, sorted);
    }
    return red_named("topk", r);
  }, py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);
  red_def(m, "kthvalue", [](const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
    std::tuple<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = kthvalue(x, k, dim, keepdim);
    }
    return red_named("kthvalue", r);
  }, py::arg("k"), py::arg("dim") = -1, py::arg("keepdim") = false);
  red_def(m, "median", [](const Tensor& x, py::object dim, bool keepdim) -> py::object {
    if (dim.is_none()) return py::cast(median(x));
    int64_t d = red_int_dim(dim, "median");
    std::tuple<Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = median(x, d, keepdim);
    }
    return red_named("median", r);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  red_def(m, "unique", [](const Tensor& x, bool sorted, bool return_inverse, bool return_counts,
                          py::object dim) -> py::object {
    CTORCH_CHECK_KIND(ErrorKind::NotImplemented, dim.is_none(),
                      "[unique] unique with dim= is not implemented; only dim=None");
    std::tuple<Tensor, Tensor, Tensor> r;
    {
      py::gil_scoped_release nogil;
      r = unique(x, sorted, return_inverse, return_counts);
    }
    if (!return_inverse && !return_counts) return py::cast(std::get<0>(r));
    py::list out;
    out.append(std::get<0>(r));
    if (return_inverse) out.append(std::get<1>(r));
    if (return_counts) out.append(std::get<2>(r));
    return py::tuple(out);
  }, py::arg("sorted") = true, py::arg("return_inverse") = false, py::arg("return_counts") = false,
     py::arg("dim") = py::none());
}

}  // namespace ctorch::python
