// Bindings for the linalg ops.
#include "bind.h"

namespace ctorch::python {

void bind_linalg(py::module_& m) {}

}  // namespace ctorch::python
