// Bindings for the reduce ops.
#include "bind.h"

namespace ctorch::python {

void bind_reduce(py::module_& m) {}

}  // namespace ctorch::python
