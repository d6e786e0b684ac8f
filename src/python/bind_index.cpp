// Bindings for the index ops.
#include "bind.h"

namespace ctorch::python {

void bind_index(py::module_& m) {}

}  // namespace ctorch::python
