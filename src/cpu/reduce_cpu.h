// Entry points of the CPU reduction, scan and softmax kernels (src/cpu/reduce_cpu.cpp).
// Every kernel reads a contiguous input laid out as [outer, n, inner] (inner == 1: contiguous
// rows of length n) and writes a contiguous output; the ops in src/ops/reduce.cpp arrange that.
#pragma once
#include <cstdint>
#include "ctorch/core/dtype.h"

namespace ctorch {

// Associative reductions. The norm kinds reduce a function of |x| (finished by the op: sqrt, ...).
enum class ReduceKind { Sum, Prod, Max, Min, All, Any, SumAbs, SumSq, SumPowAbs, CountNonzero,
                        MaxAbs, MinAbs };

// The dtype cpu_reduce writes: int64 for integer sums/products, float for 16-bit float sums,
// bool for all/any, the input dtype for max/min.
DType reduce_out_dtype(ReduceKind kind, DType dtype);

// out[o, k] = reduce over i of x[o, i, k]. `p` is the exponent of SumPowAbs. Float sums are
// pairwise over vectorised blocks, so their error grows with log(n), not n.
void cpu_reduce(ReduceKind kind, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                int64_t inner, double p = 0);

// Over contiguous rows: the first index of the max (or min) of each row (NaN counts as the
// extreme), and its value when `values` is not null (values in the input dtype).
void cpu_arg_reduce(bool is_max, DType dtype, const void* x, void* values, int64_t* indices,
                    int64_t rows, int64_t n);

// Over contiguous rows of a floating dtype: variance with `correction` and mean, both written
// in reduce_out_dtype(Sum, dtype) (float or double).
void cpu_var_mean(DType dtype, const void* x, void* var, void* mean, int64_t rows, int64_t n,
                  double correction);

// Over contiguous rows of a floating dtype: log(sum(exp(x))), written in float or double.
void cpu_logsumexp(DType dtype, const void* x, void* out, int64_t rows, int64_t n);

// Softmax or log_softmax along n of [outer, n, inner], float32/float64, written in the same dtype.
void cpu_softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                 int64_t inner);

// Inclusive scan along i of [outer, n, inner]: out has the input dtype, which is int64 or floating.
void cpu_scan(bool prod, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
              int64_t inner);

}  // namespace ctorch
