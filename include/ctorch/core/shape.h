// Shapes and strides: a small vector with inline storage and a non-owning view of one.
#pragma once
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <vector>
#include "ctorch/core/macros.h"

namespace ctorch {

// Non-owning view of a run of int64 (sizes, strides, dims).
class IntArrayRef {
 public:
  IntArrayRef() = default;
  IntArrayRef(const int64_t* d, size_t n) : data_(d), size_(n) {}
  IntArrayRef(const std::vector<int64_t>& v) : data_(v.data()), size_(v.size()) {}
  // Like std::span over a braced list: valid for the full expression (zeros({2, 3})), so never
  // store an IntArrayRef made from one. GCC warns about exactly that hazard; the use is deliberate.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
  IntArrayRef(std::initializer_list<int64_t> l) : data_(l.begin()), size_(l.size()) {}
#pragma GCC diagnostic pop
  IntArrayRef(const int64_t& single) : data_(&single), size_(1) {}
  const int64_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const int64_t* begin() const { return data_; }
  const int64_t* end() const { return data_ + size_; }
  int64_t operator[](size_t i) const { return data_[i]; }
  int64_t back() const { return data_[size_ - 1]; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  bool operator==(IntArrayRef o) const {
    return size_ == o.size_ && (size_ == 0 || memcmp(data_, o.data_, size_ * 8) == 0);
  }
  bool operator!=(IntArrayRef o) const { return !(*this == o); }

 private:
  const int64_t* data_ = nullptr;
  size_t size_ = 0;
};

CTORCH_API std::ostream& operator<<(std::ostream& os, IntArrayRef a);  // "[2, 3]"

// int64 vector that keeps up to 5 entries inline, so most tensors allocate no shape memory.
class DimVector {
 public:
  static constexpr size_t kInline = 5;
  DimVector() = default;
  explicit DimVector(size_t n, int64_t v = 0) { resize(n, v); }
  DimVector(IntArrayRef a) { assign(a.data(), a.size()); }
  DimVector(std::initializer_list<int64_t> l) { assign(l.begin(), l.size()); }
  DimVector(const DimVector& o) { assign(o.data(), o.size()); }
  DimVector(DimVector&& o) noexcept { take(o); }
  DimVector& operator=(const DimVector& o) {
    if (this != &o) assign(o.data(), o.size());
    return *this;
  }
  DimVector& operator=(DimVector&& o) noexcept {
    if (this != &o) { release(); take(o); }
    return *this;
  }
  ~DimVector() { release(); }

  int64_t* data() { return heap_ ? heap_ : inline_; }
  const int64_t* data() const { return heap_ ? heap_ : inline_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t& operator[](size_t i) { return data()[i]; }
  int64_t operator[](size_t i) const { return data()[i]; }
  int64_t* begin() { return data(); }
  int64_t* end() { return data() + size_; }
  const int64_t* begin() const { return data(); }
  const int64_t* end() const { return data() + size_; }
  int64_t& back() { return data()[size_ - 1]; }
  operator IntArrayRef() const { return {data(), size_}; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  void resize(size_t n, int64_t v = 0) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) data()[i] = v;
    size_ = n;
  }
  void push_back(int64_t v) {
    if (size_ == capacity()) reserve(size_ * 2);
    data()[size_++] = v;
  }
  void insert(size_t pos, int64_t v) {
    push_back(0);
    int64_t* d = data();
    memmove(d + pos + 1, d + pos, (size_ - 1 - pos) * 8);
    d[pos] = v;
  }
  void erase(size_t pos) {
    int64_t* d = data();
    memmove(d + pos, d + pos + 1, (size_ - 1 - pos) * 8);
    --size_;
  }
  void pop_back() { --size_; }

 private:
  size_t capacity() const { return heap_ ? cap_ : kInline; }
  void reserve(size_t n) {
    if (n <= capacity()) return;
    int64_t* h = new int64_t[n];
    memcpy(h, data(), size_ * 8);
    release();
    heap_ = h;
    cap_ = n;
  }
  void assign(const int64_t* src, size_t n) {
    size_ = 0;
    reserve(n);
    if (n) memmove(data(), src, n * 8);
    size_ = n;
  }
  void release() { delete[] heap_; heap_ = nullptr; cap_ = 0; }
  void take(DimVector& o) {
    size_ = o.size_;
    if (o.heap_) { heap_ = o.heap_; cap_ = o.cap_; o.heap_ = nullptr; o.cap_ = 0; }
    else memcpy(inline_, o.inline_, size_ * 8);
    o.size_ = 0;
  }

  int64_t* heap_ = nullptr;
  size_t size_ = 0, cap_ = 0;
  int64_t inline_[kInline];
};

inline bool operator==(const DimVector& a, IntArrayRef b) { return IntArrayRef(a) == b; }
inline bool operator!=(const DimVector& a, IntArrayRef b) { return IntArrayRef(a) != b; }
inline bool operator==(IntArrayRef a, const DimVector& b) { return a == IntArrayRef(b); }
inline bool operator!=(IntArrayRef a, const DimVector& b) { return a != IntArrayRef(b); }

CTORCH_API int64_t shape_numel(IntArrayRef shape);
CTORCH_API DimVector contiguous_strides(IntArrayRef shape);
// Wraps a possibly negative dim into [0, ndim); names the op in the IndexError.
CTORCH_API int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// The shape two or more shapes broadcast to; RuntimeError naming `op` when they do not.
CTORCH_API DimVector broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op);

}  // namespace ctorch
