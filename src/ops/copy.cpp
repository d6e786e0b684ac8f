// Copies and dtype/device conversion.
#include "autograd/function.h"
#include "core/cuda_memory.h"
#include "core/tensor_iter.h"
#include "cpu/kernels.h"
#include "ctorch/cuda.h"
#include "ctorch/ops.h"
#include "kernels/elementwise.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {
Device resolved(Device d) {
  if (d.is_cuda() && d.index < 0) d.index = cuda::resolve_device(-1);
  return d;
}
Tensor empty_pinned(IntArrayRef shape, DType dtype) {
  Storage st = allocate_pinned_storage(size_t(shape_numel(shape)) * element_size(dtype));
  return Tensor(std::make_shared<TensorImpl>(std::move(st), DimVector(shape),
                                             contiguous_strides(shape), 0, dtype));
}
}  // namespace

Tensor& copy_(Tensor& dst, const Tensor& src, bool non_blocking) {
  if (autograd::recording({&dst, &src})) {
    return autograd::inplace(dst, [&](const Tensor& self) {
      return to(expand(src, self.sizes()), self.dtype(), self.device(), /*copy=*/true);
    }, "copy_");
  }
  CTORCH_CHECK(src.dim() <= dst.dim() && broadcast_shapes(dst.sizes(), src.sizes(), "copy_") == dst.sizes(),
               "[copy_] the source of shape ", src.sizes(), " can't be broadcast to the "
               "destination shape ", dst.sizes());
  if (dst.device() != src.device()) {
    // Cross-device: a contiguous staging copy in dst's dtype on the source side, then one byte
    // copy (asynchronous when asked and the host side is pinned), then a strided copy if needed.
    Tensor staged = contiguous(to(expand(src, dst.sizes()), dst.dtype(), src.device()));
    bool direct = dst.is_contiguous() && staged.sizes() == dst.sizes();
    Tensor landing = direct ? dst : empty(dst.sizes(), dst.dtype(), dst.device());
    const Tensor& host = dst.device().is_cpu() ? landing : staged;
    const bool async = non_blocking && (host.device().is_cuda() || is_pinned(host));
    cuda_memcpy(landing.data_ptr(), staged.data_ptr(), staged.numel() * staged.element_size(),
                dst.device(), src.device(), async, async && is_pinned(host) ? host.storage()->data : nullptr);
    if (!direct) copy_(dst, landing);
    dst.bump_version();
    return dst;
  }
  Tensor s = src;
  if (!safe_to_write(dst, {&src})) s = clone(src);
  TensorIter it(dst, {&s});
  if (dst.device().is_cuda()) cuda_copy(dst.dtype(), s.dtype(), it);
  else cpu_copy(dst.dtype(), s.dtype(), it);
  dst.bump_version();
  return dst;
}

Tensor to(const Tensor& t, DType dtype, Device device, bool copy, bool non_blocking) {
  device = resolved(device);
  if (!copy && t.dtype() == dtype && t.device() == device) return t;
  // A pinned landing buffer keeps a non-blocking device-to-host copy asynchronous, as in PyTorch.
  Tensor r = non_blocking && device.is_cpu() && t.device().is_cuda() ? empty_pinned(t.sizes(), dtype)
                                                                     : empty(t.sizes(), dtype, device);
  {
    autograd::NoGradGuard guard;
    copy_(r, t, non_blocking);
  }
  if (autograd::recording({&t}) && is_floating(dtype)) {
    autograd::record("ToCopyBackward0", {t}, {r}, {}, [dtype = t.dtype(), device = t.device()](
        const autograd::Context& c) { return autograd::grads(to(c.grad(), dtype, device)); });
  }
  return r;
}

Tensor pin_memory(const Tensor& t) {
  CTORCH_CHECK(t.device().is_cpu(), "cannot pin '", t.device().str(), "' memory: only dense CPU "
               "tensors can be pinned");
  if (is_pinned(t)) return t;
  Tensor r = empty_pinned(t.sizes(), t.dtype());
  autograd::NoGradGuard guard;
  copy_(r, t);
  return r;
}

bool is_pinned(const Tensor& t) { return t.device().is_cpu() && t.storage()->pinned; }

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
