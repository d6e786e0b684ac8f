// Bindings behind ctorch.cuda.random: the default generator of each CUDA device (seeding and
// state go through the Generator methods bound in bind_random.cpp).
#include "python/bind.h"

namespace ctorch::python {

void bind_cuda_random(py::module_& m) {
  // index -1: the current device. Raises a RuntimeError without a GPU.
  m.def("_cuda_default_generator", [](int index) { return cuda_default_generator(index); },
        py::arg("device") = -1);
}

}  // namespace ctorch::python
