// The umbrella header for native programs: tensors and every op.
#pragma once
#include "ctorch/core/tensor.h"
#include "ctorch/core/shared_memory.h"
#include "ctorch/autograd.h"
#include "ctorch/ops.h"

namespace ctorch {
CTORCH_API int get_num_threads();
CTORCH_API void set_num_threads(int n);
}  // namespace ctorch
