// Entry points of the CPU kernels (the CUDA twins in kernels/ have the same shape).
#pragma once
#include "core/tensor_iter.h"
#include "ctorch/ops/elementwise.h"

namespace ctorch {

// Operands: (out, x). `dtype` is the input's; out has it too, or bool for predicates.
void cpu_unary(UnaryOp op, DType dtype, const TensorIter& it);
// Operands: (out, a, b), inputs already in `dtype`; out is `dtype`, or bool for predicates.
void cpu_binary(BinaryOp op, DType dtype, const TensorIter& it);
// Operands: (out, cond: bool, a, b), all but cond in `dtype`.
void cpu_where(DType dtype, const TensorIter& it);
// Operands: (out: dst, src): converts element by element.
void cpu_copy(DType dst, DType src, const TensorIter& it);

}  // namespace ctorch
