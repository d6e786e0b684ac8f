// CUDA twins of the fused nn kernels of src/ops/nn_norm_kernels.h (norms, class-index losses,
// embedding), defined in kernels/nn_norm.cu.
#pragma once
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// Every floating tensor argument is contiguous, on one CUDA device, in the op's compute dtype
// (float32 or float64, taken from the first tensor); an undefined Tensor means "absent" exactly
// where the CPU kernel takes a null pointer. Shapes follow the CPU kernels' arguments.
CTORCH_CUDA_KERNEL(cuda_layer_norm_fwd, void(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                                             const Tensor& mean, const Tensor& rstd, int64_t M, int64_t N,
                                             double eps));
CTORCH_CUDA_KERNEL(cuda_layer_norm_bwd, void(const Tensor& g, const Tensor& x, const Tensor& mean,
                                             const Tensor& rstd, const Tensor& w, const Tensor& dx,
                                             const Tensor& dw, const Tensor& db, int64_t M, int64_t N));
CTORCH_CUDA_KERNEL(cuda_batch_norm_stats, void(const Tensor& x, int64_t N, int64_t C, int64_t S,
                                               const Tensor& mean, const Tensor& var));
// out[c] = T(src[c] * factor) (the unbiased variance of the running-stat update).
CTORCH_CUDA_KERNEL(cuda_nn_scale_vector, void(const Tensor& src, const Tensor& out, double factor));
// running = T((1 - momentum) * running + momentum * stat) computed in double; same dtype, contiguous.
CTORCH_CUDA_KERNEL(cuda_running_update, void(const Tensor& running, const Tensor& stat, double momentum));
// invstd = 1 / sqrt(var + eps), then y = x * scale[c] + shift[c] over [N, C, S].
CTORCH_CUDA_KERNEL(cuda_batch_norm_apply, void(const Tensor& x, const Tensor& mean, const Tensor& var,
                                               const Tensor& w, const Tensor& b, const Tensor& invstd,
                                               const Tensor& y, int64_t N, int64_t C, int64_t S, double eps));
CTORCH_CUDA_KERNEL(cuda_batch_norm_bwd, void(const Tensor& g, const Tensor& x, const Tensor& mean,
                                             const Tensor& invstd, const Tensor& w, const Tensor& dx,
                                             const Tensor& dw, const Tensor& db, int64_t N, int64_t C,
                                             int64_t S, bool training));
CTORCH_CUDA_KERNEL(cuda_group_norm_fwd, void(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                                             const Tensor& mean, const Tensor& rstd, int64_t N, int64_t C,
                                             int64_t S, int64_t G, double eps));
CTORCH_CUDA_KERNEL(cuda_group_norm_bwd, void(const Tensor& g, const Tensor& x, const Tensor& mean,
                                             const Tensor& rstd, const Tensor& w, const Tensor& dx,
                                             const Tensor& dw, const Tensor& db, int64_t N, int64_t C,
                                             int64_t S, int64_t G));

// The first position k of the int64 tensor `idx` whose value is outside [0, hi) (and is not
// `ignore` when use_ignore), with its value in *value; -1 when all are in range. One host sync.
CTORCH_CUDA_KERNEL(cuda_first_out_of_range, int64_t(const Tensor& idx, int64_t hi, bool use_ignore,
                                                     int64_t ignore, int64_t* value));
CTORCH_CUDA_KERNEL(cuda_cross_entropy_fwd, void(const Tensor& x, const Tensor& t, const Tensor& w, double wsum,
                                                int64_t outer, int64_t C, int64_t inner, int64_t ignore,
                                                double ls, const Tensor& loss, const Tensor& lse,
                                                const Tensor& wt));
CTORCH_CUDA_KERNEL(cuda_cross_entropy_bwd, void(const Tensor& x, const Tensor& t, const Tensor& w, double wsum,
                                                const Tensor& lse, const Tensor& wt, const Tensor& gs,
                                                bool g_per_sample, double g_scale, int64_t outer, int64_t C,
                                                int64_t inner, int64_t ignore, double ls, const Tensor& dx));
CTORCH_CUDA_KERNEL(cuda_nll_fwd, void(const Tensor& x, const Tensor& t, const Tensor& w, int64_t outer,
                                      int64_t C, int64_t inner, int64_t ignore, const Tensor& loss,
                                      const Tensor& wt));
// Writes every element of dx: -g * scale * wt at each non-ignored target, 0 elsewhere.
CTORCH_CUDA_KERNEL(cuda_nll_bwd, void(const Tensor& t, const Tensor& wt, const Tensor& gs, bool g_per_sample,
                                      double g_scale, int64_t outer, int64_t C, int64_t inner, int64_t ignore,
                                      const Tensor& dx));
// sum(loss) and sum(wt) accumulated in double, copied to the host (one sync).
CTORCH_CUDA_KERNEL(cuda_loss_sums, void(const Tensor& loss, const Tensor& wt, double* loss_sum,
                                        double* weight_sum));

// out[k, :] = weight[idx[k], :] for a contiguous [V, D] weight of any dtype (indices in range).
CTORCH_CUDA_KERNEL(cuda_embedding_fwd, void(const Tensor& weight, const Tensor& idx, const Tensor& out));
// dw[v, :] = sum over k with idx[k] == v != padding_idx of f_k * g[k, :] (f_k = 1 / count(v) when
// scale_grad_by_freq), summed in index order like the CPU (a stable sort groups equal indices).
CTORCH_CUDA_KERNEL(cuda_embedding_bwd, void(const Tensor& g, const Tensor& idx, int64_t V, int64_t D,
                                            int64_t padding_idx, bool scale_grad_by_freq, const Tensor& dw));

}  // namespace ctorch
