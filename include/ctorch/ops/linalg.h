// Linear algebra: matmul and its BLAS-backed relatives (mm, bmm, mv, dot, add*), outer, einsum.
#pragma once
#include <string>
#include <vector>
#include "ctorch/core/tensor.h"

namespace ctorch {

// PyTorch's matmul: 1-D..N-D operands, batch dims broadcast; 1-D operands gain and lose a dim.
CTORCH_API Tensor matmul(const Tensor& a, const Tensor& b);
CTORCH_API Tensor mm(const Tensor& a, const Tensor& b);    // [n, k] @ [k, m]
CTORCH_API Tensor bmm(const Tensor& a, const Tensor& b);   // [b, n, k] @ [b, k, m], no broadcast
CTORCH_API Tensor mv(const Tensor& mat, const Tensor& vec);
CTORCH_API Tensor dot(const Tensor& a, const Tensor& b);   // 1-D, same size and dtype
CTORCH_API Tensor outer(const Tensor& a, const Tensor& b);
// beta * input + alpha * (product); input broadcasts to the product's shape; beta = 0 ignores it
// (NaN in input included), as in PyTorch.
CTORCH_API Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2,
                        const Scalar& beta = 1, const Scalar& alpha = 1);
CTORCH_API Tensor addmv(const Tensor& input, const Tensor& mat, const Tensor& vec,
                        const Scalar& beta = 1, const Scalar& alpha = 1);
CTORCH_API Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2,
                          const Scalar& beta = 1, const Scalar& alpha = 1);
// beta * input + alpha * sum_i batch1[i] @ batch2[i]
CTORCH_API Tensor addbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2,
                         const Scalar& beta = 1, const Scalar& alpha = 1);
// Einstein summation: "ij,jk->ik", implicit outputs, repeated labels ("ii->i"), "..." broadcast.
CTORCH_API Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

}  // namespace ctorch
