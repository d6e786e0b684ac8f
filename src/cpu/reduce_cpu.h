// Entry points of the CPU reduction, scan and softmax kernels (src/cpu/reduce_cpu.cpp).
// Every kernel reads a contiguous input laid out as [outer, n, inner] (inner == 1: contiguous
// rows of length n) and writes a contiguous output; the ops in src/ops/reduce.cpp arrange that.
#pragma once
#include <cstdint>
#include "ctorch/core/dtype.h"

namespace ctorch {

// Associative reductions. The norm kinds reduce a function of |x| (finished by the op: sqrt, ...).
enum class ReduceKind { Sum, Prod, Max, Min, SumAbs, SumSq, SumPowAbs, CountNonzero, MaxAbs, MinAbs };

// The dtype cpu_reduce writes: the input's for max/min, else int64 / float / double.
DType reduce_out_dtype(ReduceKind kind, DType dtype);

// out[o, k] = reduce over i of x[o, i, k]. `p` is the exponent of SumPowAbs. Float sums are
// pairwise over vectorised blocks, so their error grows with log(n), not n. To keep the number
// of instantiations small the kernels exist for: Sum/Prod int64, float, double; Max/Min the
// integer types (not bool), float, double; the norm kinds float, double. The ops convert the rest.
void cpu_reduce(ReduceKind kind, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                int64_t inner, double p = 0);

// Over contiguous rows: the first index of the max (or min) of each row (NaN counts as the
// extreme), and its value when `values` is not null (values in the input dtype).
void cpu_arg_reduce(bool is_max, DType dtype, const void* x, void* values, int64_t* indices,
                    int64_t rows, int64_t n);

// Over contiguous rows of float32/float64: variance with `correction` and mean, in that dtype.
void cpu_var_mean(DType dtype, const void* x, void* var, void* mean, int64_t rows, int64_t n,
                  double correction);

// Over contiguous rows of float32/float64: log(sum(exp(x))), written in that dtype.
void cpu_logsumexp(DType dtype, const void* x, void* out, int64_t rows, int64_t n);

// Softmax or log_softmax along n of [outer, n, inner], float32/float64, written in the same dtype.
void cpu_softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
                 int64_t inner);

// Inclusive scan along i of [outer, n, inner]: out has the input dtype, which is int64 or floating.
void cpu_scan(bool prod, DType dtype, const void* x, void* out, int64_t outer, int64_t n,
              int64_t inner);

}  // namespace ctorch
