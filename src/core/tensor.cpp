// TensorImpl geometry and the basic tensor constructors.
#include "ctorch/core/tensor.h"
#include "ctorch/autograd.h"
#include "ctorch/ops.h"

namespace ctorch {

TensorImpl::TensorImpl(Storage storage, DimVector sizes, DimVector strides, int64_t offset,
                       DType dtype)
    : storage_(std::move(storage)), sizes_(std::move(sizes)), strides_(std::move(strides)),
      offset_(offset), dtype_(dtype) {
  refresh();
}

TensorImpl::~TensorImpl() = default;

void TensorImpl::set_geometry(DimVector sizes, DimVector strides, int64_t offset) {
  sizes_ = std::move(sizes);
  strides_ = std::move(strides);
  offset_ = offset;
  refresh();
}

void TensorImpl::set_data(const TensorImpl& other) {
  storage_ = other.storage_;
  dtype_ = other.dtype_;
  set_geometry(other.sizes_, other.strides_, other.offset_);
}

void TensorImpl::refresh() {
  numel_ = 1;
  for (int64_t s : sizes_) numel_ *= s;
  contiguous_ = true;
  int64_t expected = 1;
  for (size_t i = sizes_.size(); i-- > 0;) {
    if (sizes_[i] == 1) continue;
    if (strides_[i] != expected) { contiguous_ = numel_ == 0; break; }
    expected *= sizes_[i];
  }
}

int64_t Tensor::size(int64_t dim) const { return sizes()[wrap_dim(dim, this->dim(), "size")]; }
int64_t Tensor::stride(int64_t dim) const {
  return strides()[wrap_dim(dim, this->dim(), "stride")];
}

Tensor empty(IntArrayRef shape, DType dtype, Device device) {
  int64_t n = shape_numel(shape);
  constexpr int64_t kMaxBytes = int64_t(1) << 47;
  CTORCH_CHECK(n <= kMaxBytes / static_cast<int64_t>(element_size(dtype)),
               "[empty] tensor of shape ", shape, " and dtype ", dtype_name(dtype),
               " is too large to allocate");
  Storage st = allocate_storage(static_cast<size_t>(n) * element_size(dtype), device);
  return Tensor(std::make_shared<TensorImpl>(std::move(st), DimVector(shape),
                                             contiguous_strides(shape), 0, dtype));
}

Tensor make_view(const Tensor& base, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>(base.storage(), DimVector(sizes), DimVector(strides),
                                           offset, base.dtype());
  const auto& b = base.impl()->view_base;
  impl->view_base = b ? b : base.impl_ptr();
  const auto& m = impl->view_base->autograd;
  impl->view_version = m ? m->history_version : 0;
  impl->view_made_without_grad = !autograd::is_grad_enabled();
  return Tensor(std::move(impl));
}

Tensor scalar_tensor(const Scalar& s, DType dtype, Device device) {
  Tensor t = empty({}, DType::Float64, Device());
  *t.data<double>() = s.to_double();
  if (s.is_integral() || s.is_bool()) {
    t = empty({}, DType::Int64, Device());
    *t.data<int64_t>() = s.to_int();
  }
  if (t.dtype() != dtype || !device.is_cpu()) t = to(t, dtype, device);
  return t;
}

Tensor wrapped_scalar(const Scalar& s, Device device) {
  Tensor t;
  if (s.is_floating()) {  // kept in double so the value is exact until the op's dtype is known
    t = empty({}, DType::Float64, Device());
    *t.data<double>() = s.to_double();
  } else if (s.is_bool()) {
    t = empty({}, DType::Bool, Device());
    *t.data<bool>() = s.to_bool();
  } else {
    t = empty({}, DType::Int64, Device());
    *t.data<int64_t>() = s.to_int();
  }
  // On a GPU: a fill kernel queued on the stream, not a host-to-device copy that waits for it.
  if (!device.is_cpu()) t = full({}, s, t.dtype(), device);
  t.impl()->is_wrapped_number = true;
  return t;
}

Tensor Tensor::contiguous() const { return ctorch::contiguous(*this); }
Tensor Tensor::to(DType dtype) const { return ctorch::to(*this, dtype, device()); }
Tensor Tensor::clone() const { return ctorch::clone(*this); }
Scalar Tensor::item() const { return ctorch::item(*this); }

}  // namespace ctorch
