// Pooling geometry shared by src/ops/pool.cpp and its CUDA twins (kernels/pool.cu): max, average,
// adaptive average/max pooling over the planes of contiguous [..., H, W] tensors, and max_unpool2d.
#pragma once
#include <cstdint>
#include "core/cuda_kernel.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

// The window geometry shared by max and average pooling.
struct PoolGeom {
  int64_t planes = 0, ih = 0, iw = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

struct AvgOpts {
  bool count_include_pad = true;
  int64_t divisor = 0;  // 0: none
};

// Adaptive pooling: output i covers [floor(i*in/out), ceil((i+1)*in/out)).
struct AdaptGeom {
  int64_t planes = 0, ih = 0, iw = 0, oh = 0, ow = 0;
};
CTORCH_HD inline int64_t ad_start(int64_t i, int64_t out, int64_t in) { return (i * in) / out; }
CTORCH_HD inline int64_t ad_end(int64_t i, int64_t out, int64_t in) { return ((i + 1) * in + out - 1) / out; }

// Every tensor contiguous, on one GPU. Values: x's dtype (max pooling: float32/float64 or an integer
// dtype other than bool; average pooling: float32/float64, the 16-bit floats go through float on the
// caller's side); indices int64, flat within a plane, exactly as the CPU kernels pick them.
CTORCH_CUDA_KERNEL(cuda_max_pool2d, void(const Tensor& x, const Tensor& out, const Tensor& ind, const PoolGeom& g));
CTORCH_CUDA_KERNEL(cuda_adaptive_max_pool2d,
                   void(const Tensor& x, const Tensor& out, const Tensor& ind, const AdaptGeom& g));
// gin (float32/float64, the input's shape) = 0, then each grad element added at its index within its
// plane; indices outside the plane (a window wholly in the padding) are skipped.
CTORCH_CUDA_KERNEL(cuda_max_pool_backward, void(const Tensor& grad, const Tensor& ind, const Tensor& gin));
// Average pooling and its adjoint (gin is fully written: each input element gathers its windows).
CTORCH_CUDA_KERNEL(cuda_avg_pool2d, void(const Tensor& x, const Tensor& out, const PoolGeom& g, const AvgOpts& o));
CTORCH_CUDA_KERNEL(cuda_avg_pool2d_backward,
                   void(const Tensor& grad, const Tensor& gin, const PoolGeom& g, const AvgOpts& o));
CTORCH_CUDA_KERNEL(cuda_adaptive_avg_pool2d, void(const Tensor& x, const Tensor& out, const AdaptGeom& g));
CTORCH_CUDA_KERNEL(cuda_adaptive_avg_pool2d_backward, void(const Tensor& grad, const Tensor& gin, const AdaptGeom& g));
// out (any dtype, [..., oh, ow]) = 0, then x scattered at ind within each plane (the last of duplicate
// indices wins, as on the CPU). Returns false and sets *bad_index when an index is outside [0, oh*ow).
CTORCH_CUDA_KERNEL(cuda_max_unpool2d, bool(const Tensor& x, const Tensor& ind, const Tensor& out, int64_t oh,
                                           int64_t ow, int64_t* bad_index));

}  // namespace ctorch
