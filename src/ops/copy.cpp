// Copies and dtype/device conversion.
#include "autograd/function.h"
#include "core/tensor_iter.h"
#include "cpu/kernels.h"
#include "ctorch/ops.h"
#include "ops/elementwise_run.h"

namespace ctorch {

// Defined in kernels/ when CUDA is built (cuda_stub.cpp otherwise): byte copies across devices.
void cuda_memcpy(void* dst, const void* src, size_t nbytes, Device dst_dev, Device src_dev);

Tensor& copy_(Tensor& dst, const Tensor& src) {
  if (autograd::recording({&dst, &src})) {
    return autograd::inplace(dst, [&](const Tensor& self) {
      return to(expand(src, self.sizes()), self.dtype(), self.device(), /*copy=*/true);
    }, "copy_");
  }
  CTORCH_CHECK(src.dim() <= dst.dim() && broadcast_shapes(dst.sizes(), src.sizes(), "copy_") == dst.sizes(),
               "[copy_] the source of shape ", src.sizes(), " can't be broadcast to the "
               "destination shape ", dst.sizes());
  if (dst.device() != src.device()) {
    // Cross-device: make a contiguous same-dtype staging copy on the source side, then move bytes.
    Tensor staged = contiguous(to(expand(src, dst.sizes()), dst.dtype(), src.device()));
    Tensor landing = dst.is_contiguous() ? dst : empty(dst.sizes(), dst.dtype(), dst.device());
    cuda_memcpy(landing.data_ptr(), staged.data_ptr(), staged.numel() * staged.element_size(),
                dst.device(), src.device());
    if (!landing.is_same(dst)) copy_(dst, landing);
    dst.bump_version();
    return dst;
  }
  check_backend(dst, "copy_");
  Tensor s = src;
  if (!safe_to_write(dst, {&src})) s = clone(src);
  TensorIter it(dst, {&s});
  cpu_copy(dst.dtype(), s.dtype(), it);
  dst.bump_version();
  return dst;
}

Tensor to(const Tensor& t, DType dtype, Device device, bool copy) {
  if (device.is_cuda() && device.index < 0) device.index = 0;
  if (!copy && t.dtype() == dtype && t.device() == device) return t;
  Tensor r = empty(t.sizes(), dtype, device);
  {
    autograd::NoGradGuard guard;
    copy_(r, t);
  }
  if (autograd::recording({&t}) && is_floating(dtype)) {
    autograd::record("ToCopyBackward0", {t}, {r}, {}, [dtype = t.dtype(), device = t.device()](
        const autograd::Context& c) { return autograd::grads(to(c.grad(), dtype, device)); });
  }
  return r;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor clone(const Tensor& t) {
  Tensor r = empty(t.sizes(), t.dtype(), t.device());
  {
    autograd::NoGradGuard guard;
    copy_(r, t);
  }
  if (autograd::recording({&t}))
    autograd::record("CloneBackward0", {t}, {r}, {}, [](const autograd::Context& c) {
      return autograd::grads(c.grad());
    });
  return r;
}

Scalar item(const Tensor& t) {
  CTORCH_CHECK(t.numel() == 1, "[item] a Tensor with ", t.numel(),
               " elements cannot be converted to Scalar");
  Tensor c = t.device().is_cpu() ? t : to(t, t.dtype(), Device());
  switch (c.dtype()) {
    case DType::Bool: return Scalar(*c.data<bool>());
    case DType::UInt8: return Scalar(int64_t(*c.data<uint8_t>()));
    case DType::Int8: return Scalar(int64_t(*c.data<int8_t>()));
    case DType::Int16: return Scalar(int64_t(*c.data<int16_t>()));
    case DType::Int32: return Scalar(int64_t(*c.data<int32_t>()));
    case DType::Int64: return Scalar(*c.data<int64_t>());
    case DType::Float16: return Scalar(double(float(*c.data<Half>())));
    case DType::BFloat16: return Scalar(double(float(*c.data<BFloat16>())));
    case DType::Float32: return Scalar(double(*c.data<float>()));
    case DType::Float64: return Scalar(*c.data<double>());
  }
  return Scalar();
}

}  // namespace ctorch
