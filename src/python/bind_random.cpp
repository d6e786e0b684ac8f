// Bindings for the random ops: Generator, seeding, the sampling factories and Tensor methods.
#include "bind.h"
#include "ctorch/cuda.h"

namespace ctorch::python {

namespace {

// PyTorch's seed range: [-2^63, 2^64); negative seeds wrap as 0xffff_ffff_ffff_ffff + seed.
uint64_t random_seed_arg(py::handle h) {
  CTORCH_CHECK_TYPE(PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr()), "manual_seed expected an int, got ",
                    Py_TYPE(h.ptr())->tp_name);
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
  if (!overflow) return v >= 0 ? static_cast<uint64_t>(v) : 0xffffffffffffffffULL + static_cast<uint64_t>(v);
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(h.ptr());
    if (!PyErr_Occurred()) return u;
    PyErr_Clear();
  }
  CTORCH_FAIL("Overflow when unpacking long: seed must be within the inclusive range "
              "[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff]");
}

template <class F>
Tensor random_nogil(const F& f) {
  py::gil_scoped_release nogil;
  return f();
}

}  // namespace

void bind_random(py::module_& m) {
  py::class_<Generator, std::shared_ptr<Generator>>(m, "Generator")
      .def(py::init([](Device device) {
        if (device.is_cuda()) device.index = cuda::resolve_device(device.index);  // raises without a GPU
        return std::make_shared<Generator>(Generator::kDefaultSeed, device);
      }), py::arg("device") = "cpu")
      .def("manual_seed", [](const GeneratorPtr& g, py::handle seed) {
        g->manual_seed(random_seed_arg(seed));
        return g;
      }, py::arg("seed"))
      .def("seed", &Generator::seed)
      .def("initial_seed", &Generator::initial_seed)
      .def("get_state", &Generator::get_state)
      .def("set_state", [](const GeneratorPtr& g, const Tensor& s) { g->set_state(s); return g; },
           py::arg("new_state"))
      .def("get_offset", &Generator::offset)
      .def_property_readonly("device", [](const Generator& g) { return g.device(); });
  m.attr("default_generator") = default_generator();
  // As in PyTorch, these two seed every CUDA device's default generator too.
  m.def("manual_seed", [](py::handle seed) {
    manual_seed(random_seed_arg(seed));
    return default_generator();
  }, py::arg("seed"));
  m.def("seed", [] {
    uint64_t s = default_generator()->seed();
    manual_seed(s);
    return s;
  });
  m.def("initial_seed", [] { return default_generator()->initial_seed(); });
  m.def("get_rng_state", [] { return default_generator()->get_state(); });
  m.def("set_rng_state", [](const Tensor& s) { default_generator()->set_state(s); }, py::arg("new_state"));

  // Factories: the Python wrappers in _random.py parse sizes and keyword arguments.
  m.def("_rand", [](std::vector<int64_t> shape, DType dtype, Device device, GeneratorPtr g) {
    return random_nogil([&] { return rand(shape, dtype, g, device); });
  });
  m.def("_randn", [](std::vector<int64_t> shape, DType dtype, Device device, GeneratorPtr g) {
    return random_nogil([&] { return randn(shape, dtype, g, device); });
  });
  m.def("_randint", [](int64_t low, int64_t high, std::vector<int64_t> shape, DType dtype, Device device,
                       GeneratorPtr g) {
    return random_nogil([&] { return randint(low, high, shape, dtype, g, device); });
  });
  m.def("_randperm", [](int64_t n, DType dtype, Device device, GeneratorPtr g) {
    return random_nogil([&] { return randperm(n, dtype, g, device); });
  });
  m.def("_normal_tt", [](const Tensor& mean, const Tensor& std, GeneratorPtr g) {
    return random_nogil([&] { return normal(mean, std, g); });
  });
  m.def("_normal_tf", [](const Tensor& mean, double std, GeneratorPtr g) {
    return random_nogil([&] { return normal(mean, std, g); });
  });
  m.def("_normal_ft", [](double mean, const Tensor& std, GeneratorPtr g) {
    return random_nogil([&] { return normal(mean, std, g); });
  });
  m.def("_normal_ff", [](double mean, double std, std::vector<int64_t> shape, DType dtype, Device device,
                         GeneratorPtr g) {
    return random_nogil([&] { return normal(mean, std, shape, dtype, g, device); });
  });
  m.def("_bernoulli_t", [](const Tensor& p, GeneratorPtr g) {
    return random_nogil([&] { return bernoulli(p, g); });
  });
  m.def("_bernoulli_f", [](const Tensor& self, double p, GeneratorPtr g) {
    return random_nogil([&] { return bernoulli(self, p, g); });
  });
  auto multinomial_fn = [](const Tensor& probs, int64_t n, bool replacement, GeneratorPtr g) {
    return random_nogil([&] { return multinomial(probs, n, replacement, g); });
  };
  m.def("multinomial", multinomial_fn, py::arg("input"), py::arg("num_samples"),
        py::arg("replacement") = false, py::kw_only(), py::arg("generator") = py::none());

  auto& c = tensor_class();
  c.def("multinomial", multinomial_fn, py::arg("num_samples"), py::arg("replacement") = false,
        py::kw_only(), py::arg("generator") = py::none());
  c.def("uniform_", [](Tensor& t, double from, double to, GeneratorPtr g) {
    return random_nogil([&] { return uniform_(t, from, to, g); });
  }, py::arg("from") = 0.0, py::arg("to") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  c.def("normal_", [](Tensor& t, double mean, double std, GeneratorPtr g) {
    return random_nogil([&] { return normal_(t, mean, std, g); });
  }, py::arg("mean") = 0.0, py::arg("std") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  c.def("log_normal_", [](Tensor& t, double mean, double std, GeneratorPtr g) {
    return random_nogil([&] { return log_normal_(t, mean, std, g); });
  }, py::arg("mean") = 1.0, py::arg("std") = 2.0, py::kw_only(), py::arg("generator") = py::none());
  c.def("exponential_", [](Tensor& t, double lambd, GeneratorPtr g) {
    return random_nogil([&] { return exponential_(t, lambd, g); });
  }, py::arg("lambd") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  c.def("cauchy_", [](Tensor& t, double median, double sigma, GeneratorPtr g) {
    return random_nogil([&] { return cauchy_(t, median, sigma, g); });
  }, py::arg("median") = 0.0, py::arg("sigma") = 1.0, py::kw_only(), py::arg("generator") = py::none());
  c.def("geometric_", [](Tensor& t, double p, GeneratorPtr g) {
    return random_nogil([&] { return geometric_(t, p, g); });
  }, py::arg("p"), py::kw_only(), py::arg("generator") = py::none());
  c.def("_random_", [](Tensor& t, std::optional<int64_t> from, std::optional<int64_t> to, GeneratorPtr g) {
    return random_nogil([&] { return from ? random_(t, *from, to, g) : random_(t, g); });
  });
  c.def("bernoulli_", [](Tensor& t, py::handle p, GeneratorPtr g) {
    if (py::isinstance<TensorImpl>(p)) {
      Tensor pt = p.cast<Tensor>();
      return random_nogil([&] { return bernoulli_(t, pt, g); });
    }
    double pf = p.cast<double>();
    return random_nogil([&] { return bernoulli_(t, pf, g); });
  }, py::arg("p") = 0.5, py::kw_only(), py::arg("generator") = py::none());
}

}  // namespace ctorch::python
