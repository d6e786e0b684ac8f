// Bindings for the interop ops.
#include "bind.h"

namespace ctorch::python {

void bind_interop(py::module_& m) {}

}  // namespace ctorch::python
