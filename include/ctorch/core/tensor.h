// Tensor: a handle to a refcounted TensorImpl (sizes, strides, offset, dtype over a shared Storage).
#pragma once
#include <memory>
#include "ctorch/core/dtype.h"
#include "ctorch/core/error.h"
#include "ctorch/core/scalar.h"
#include "ctorch/core/shape.h"
#include "ctorch/core/storage.h"

namespace ctorch {

struct AutogradMeta;  // ctorch/autograd.h

class CTORCH_API TensorImpl {
 public:
  TensorImpl(Storage storage, DimVector sizes, DimVector strides, int64_t offset, DType dtype);
  ~TensorImpl();

  const Storage& storage() const { return storage_; }
  IntArrayRef sizes() const { return sizes_; }
  IntArrayRef strides() const { return strides_; }
  int64_t storage_offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device; }
  int64_t numel() const { return numel_; }
  int64_t dim() const { return static_cast<int64_t>(sizes_.size()); }
  bool is_contiguous() const { return contiguous_; }
  void* data_ptr() const {
    return static_cast<char*>(storage_->data) + offset_ * static_cast<int64_t>(element_size(dtype_));
  }
  // Re-points this tensor at new geometry (as_strided_, resize of a fresh output).
  void set_geometry(DimVector sizes, DimVector strides, int64_t offset);
  // Takes other's storage, geometry and dtype (Python's `t.data = other`).
  void set_data(const TensorImpl& other);
  // Python numbers turned into 0-d tensors take part in promotion as "weak" operands.
  bool is_wrapped_number = false;
  // Autograd state (requires_grad, grad, grad_fn, hooks); null until the tensor takes part in
  // autograd, so plain tensors pay one pointer.
  std::unique_ptr<AutogradMeta> autograd;
  // A view's base: the tensor (never itself a view) whose storage it reads, and the base's
  // autograd history version when the view's history was last set (AutogradMeta::history_version).
  // In-place ops on views use them to rewrite the base's history.
  std::shared_ptr<TensorImpl> view_base;
  uint32_t view_version = 0;
  bool view_made_without_grad = false;  // under no_grad: it never gets history

 private:
  void refresh();
  Storage storage_;
  DimVector sizes_, strides_;
  int64_t offset_;
  int64_t numel_ = 1;
  DType dtype_;
  bool contiguous_ = true;
};

class CTORCH_API Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  IntArrayRef sizes() const { return impl_->sizes(); }
  IntArrayRef shape() const { return impl_->sizes(); }
  IntArrayRef strides() const { return impl_->strides(); }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return impl_->dim(); }
  int64_t numel() const { return impl_->numel(); }
  DType dtype() const { return impl_->dtype(); }
  Device device() const { return impl_->device(); }
  size_t element_size() const { return ctorch::element_size(dtype()); }
  int64_t storage_offset() const { return impl_->storage_offset(); }
  bool is_contiguous() const { return impl_->is_contiguous(); }
  bool is_floating_point() const { return is_floating(dtype()); }
  const Storage& storage() const { return impl_->storage(); }
  void* data_ptr() const { return impl_->data_ptr(); }
  template <class T> T* data() const { return static_cast<T*>(data_ptr()); }
  void bump_version() const { impl_->storage()->version.fetch_add(1, std::memory_order_relaxed); }
  uint32_t version() const { return impl_->storage()->version.load(std::memory_order_relaxed); }

  // Conveniences over the ops in ops.h, for native programs.
  Tensor contiguous() const;
  Tensor to(DType dtype) const;
  Tensor clone() const;
  Scalar item() const;
  template <class T> T item() const { return item().to<T>(); }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// An uninitialised contiguous tensor.
CTORCH_API Tensor empty(IntArrayRef shape, DType dtype = DType::Float32, Device device = Device());
// A tensor sharing `base`'s storage with new geometry (offset in elements).
CTORCH_API Tensor make_view(const Tensor& base, IntArrayRef sizes, IntArrayRef strides, int64_t offset);
// A 0-d tensor holding a Python number; weak in type promotion.
CTORCH_API Tensor wrapped_scalar(const Scalar& s, Device device = Device());
CTORCH_API Tensor scalar_tensor(const Scalar& s, DType dtype, Device device = Device());

}  // namespace ctorch
