// Bindings for the random ops.
#include "bind.h"

namespace ctorch::python {

void bind_random(py::module_& m) {}

}  // namespace ctorch::python
