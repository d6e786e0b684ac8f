// CUDA kernels of the factories: fill_ on any layout, arange, linspace/logspace values.
#include <cmath>
#include "kernels/elementwise_loops.cuh"
#include "kernels/factory.h"

namespace ctorch {

namespace {

template <class T>
struct FillElem {
  T v;
  __device__ T operator()() const { return v; }
};

void fill_impl(const Tensor& t, const Scalar& value) {
  if (t.numel() == 0) return;
  TensorIter it(t, {});
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    cuda_loops::launch<T>(it, FillElem<T>{value.to<T>()});
  });
}

void arange_f64_impl(const Tensor& out, double start, double step) {
  double* p = out.data<double>();
  cuda::for_each_index(out.numel(), [=] __device__(auto i) {
    // Rounded multiply and add: a contracted fma would round differently from the CPU.
    p[i] = __dadd_rn(start, __dmul_rn(static_cast<double>(i), step));
  });
}

void arange_i64_impl(const Tensor& out, int64_t start, int64_t step) {
  int64_t* p = out.data<int64_t>();
  cuda::for_each_index(out.numel(), [=] __device__(auto i) { p[i] = start + int64_t(i) * step; });
}

void linspace_impl(const Tensor& out, double start, double end, bool log, double base) {
  const int64_t steps = out.numel();
  double* p = out.data<double>();
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Each half measured from its own end, so both endpoints are exact (as on the CPU).
  cuda::for_each_index(steps, [=] __device__(auto idx) {
    const int64_t i = idx;
    double v = i < steps / 2 || steps == 1
                   ? __dadd_rn(start, __dmul_rn(step, static_cast<double>(i)))
                   : __dsub_rn(end, __dmul_rn(step, static_cast<double>(steps - 1 - i)));
    p[i] = log ? ::pow(base, v) : v;
  });
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_fill, fill_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_arange_f64, arange_f64_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_arange_i64, arange_i64_impl);
CTORCH_REGISTER_CUDA_KERNEL(cuda_linspace, linspace_impl);

}  // namespace ctorch
