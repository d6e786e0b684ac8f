// Sorting ops (sort, argsort, topk, kthvalue, median, unique) with their CPU kernels: the sorted
// dim is moved last and made contiguous, then each row is sorted as (value, index) pairs (on
// CUDA by the kernels/sort.cu radix sorts, in the same order).
#include <algorithm>
#include <cmath>
#include <vector>
#include "autograd/function.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "ops/elementwise_run.h"
#include "kernels/sort.h"
#include "ops/grad_helpers.h"

namespace ctorch {

namespace {

template <class A> bool is_nan(A v) { return v != v; }

// Strict orders on (value, index) with NaN above every number; ties broken by index so that
// every algorithm below gives the stable order.
template <class A> struct Asc {
  bool operator()(const std::pair<A, int64_t>& a, const std::pair<A, int64_t>& b) const {
    if (a.first < b.first || (is_nan(b.first) && !is_nan(a.first))) return true;
    if (b.first < a.first || (is_nan(a.first) && !is_nan(b.first))) return false;
    return a.second < b.second;
  }
};
template <class A> struct Desc {
  bool operator()(const std::pair<A, int64_t>& a, const std::pair<A, int64_t>& b) const {
    if (a.first > b.first || (is_nan(a.first) && !is_nan(b.first))) return true;
    if (b.first > a.first || (is_nan(b.first) && !is_nan(a.first))) return false;
    return a.second < b.second;
  }
};

// For each row of x [rows, n]: Sort writes all n in order, TopK the first k in order, Kth and
// Median the single element at position k (Median: NaN and its first index when a NaN is there).
using Select = SortMode;
template <class T>
void select_rows(Select mode, const T* x, T* values, int64_t* indices, int64_t rows, int64_t n,
                 int64_t k, bool desc) {
  using A = opmath_t<T>;
  using P = std::pair<A, int64_t>;
  int64_t m = mode == Select::Sort ? n : mode == Select::TopK ? k : 1;
  int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1));
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    std::vector<P> buf(n);
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * n;
      int64_t first_nan = -1;
      for (int64_t i = 0; i < n; ++i) {
        buf[i] = {static_cast<A>(xr[i]), i};
        if (first_nan < 0 && is_nan(buf[i].first)) first_nan = i;
      }
      T* vo = values + r * m;
      int64_t* io = indices + r * m;
      if (mode == Select::Median && first_nan >= 0) {
        vo[0] = xr[first_nan];
        io[0] = first_nan;
        continue;
      }
      auto run = [&](auto cmp) {
        if (mode == Select::Sort) std::sort(buf.begin(), buf.end(), cmp);
        else if (mode == Select::TopK) std::partial_sort(buf.begin(), buf.begin() + k, buf.end(), cmp);
        else std::nth_element(buf.begin(), buf.begin() + k, buf.end(), cmp);
      };
      if (desc) run(Desc<A>{});
      else run(Asc<A>{});
      int64_t off = (mode == Select::Kth || mode == Select::Median) ? k : 0;
      for (int64_t i = 0; i < m; ++i) {
        vo[i] = xr[buf[off + i].second];
        io[i] = buf[off + i].second;
      }
    }
  });
}

// The sort kernels exist for uint8, int64, float and double: bool is sorted as its bytes, other
// integers as int64 and 16-bit floats as float (every conversion back is exact).
Tensor reinterpret(const Tensor& t, DType d) {
  return Tensor(std::make_shared<TensorImpl>(t.storage(), DimVector(t.sizes()),
                                             DimVector(t.strides()), t.storage_offset(), d));
}
Tensor to_kernel_dtype(const Tensor& x) {
  switch (x.dtype()) {
    case DType::Bool: return reinterpret(x, DType::UInt8);
    case DType::Int8: case DType::Int16: case DType::Int32: return x.to(DType::Int64);
    case DType::Float16: case DType::BFloat16: return x.to(DType::Float32);
    default: return x;
  }
}
Tensor from_kernel_dtype(const Tensor& t, DType d) {
  if (d == DType::Bool) return reinterpret(t, d);
  return t.dtype() == d ? t : t.to(d);
}
template <class F>
void dispatch_sort(DType t, const F& f) {
  switch (t) {
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::Int64: return f(TypeTag<int64_t>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    default: CTORCH_FAIL("sort kernel not built for ", dtype_name(t));
  }
}

// Runs `mode` along `dim`; the result keeps x's layout with dim of size `m` (or removed when
// !keepdim for the single-element modes).
std::tuple<Tensor, Tensor> select_along(Select mode, const Tensor& x, int64_t dim, int64_t k,
                                        int64_t m, bool desc, bool keepdim, const char* op) {
  int64_t nd = x.dim();
  dim = wrap_dim(dim, nd, op);
  // A 0-d tensor is its own sorted row, whatever k (PyTorch gives it back for topk k=0 too).
  if (nd == 0) return {clone(x), zeros({}, DType::Int64, x.device())};
  Tensor xk = to_kernel_dtype(x);
  Tensor src = contiguous(movedim(xk, IntArrayRef(dim), IntArrayRef(int64_t(-1))));
  int64_t n = src.sizes().back();
  DimVector shape(src.sizes());
  shape.back() = m;
  Tensor values = empty(shape, xk.dtype(), x.device()), indices = empty(shape, DType::Int64, x.device());
  if (values.numel() > 0 && x.device().is_cuda()) {
    cuda_sort_select(mode, src, values, indices, k, desc);
  } else if (values.numel() > 0) {
    dispatch_sort(xk.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      select_rows<T>(mode, src.data<T>(), values.data<T>(), indices.data<int64_t>(), src.numel() / n,
                     n, k, desc);
    });
  }
  values = from_kernel_dtype(values, x.dtype());
  values = movedim(values, IntArrayRef(int64_t(-1)), IntArrayRef(dim));
  indices = movedim(indices, IntArrayRef(int64_t(-1)), IntArrayRef(dim));
  if ((mode == Select::Kth || mode == Select::Median) && !keepdim)
    return {squeeze(values, IntArrayRef(dim)), squeeze(indices, IntArrayRef(dim))};
  return {contiguous(values), contiguous(indices)};
}

int64_t dim_size(const Tensor& x, int64_t dim, const char* op) {
  return x.dim() == 0 ? (wrap_dim(dim, 0, op), 1) : x.size(wrap_dim(dim, x.dim(), op));
}

template <class T>
void unique_kernel(const T* x, int64_t n, std::vector<T>& vals, std::vector<int64_t>& inverse,
                   std::vector<int64_t>& counts) {
  using A = opmath_t<T>;
  std::vector<std::pair<A, int64_t>> buf(n);
  for (int64_t i = 0; i < n; ++i) buf[i] = {static_cast<A>(x[i]), i};
  std::sort(buf.begin(), buf.end(), Asc<A>{});
  inverse.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    // NaN never equals the previous value, so each NaN is its own entry (as in NumPy).
    if (i == 0 || !(buf[i].first == buf[i - 1].first)) {
      vals.push_back(x[buf[i].second]);
      counts.push_back(0);
    }
    inverse[buf[i].second] = static_cast<int64_t>(vals.size()) - 1;
    ++counts.back();
  }
}

Tensor from_vector(const std::vector<int64_t>& v, IntArrayRef shape) {
  Tensor t = empty(shape, DType::Int64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// ---- autograd: the values of sort/topk/kthvalue/median are elements of the input, so their
// gradient goes back to where each came from.


// Records a (values, indices) op whose values are x gathered at indices along dim (of size 1 and
// squeezed when !keepdim): the backward scatters the gradient to the indices.
std::tuple<Tensor, Tensor> record_selection(const char* node, const Tensor& x, int64_t dim,
                                            bool keepdim, std::tuple<Tensor, Tensor> result) {
  auto [v, i] = result;
  int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), node);
  autograd::record(node, {x}, {v, i}, {i},
      [d, keepdim, shape = DimVector(x.sizes())](const autograd::Context& c) {
        return autograd::grads(scatter_to_index(c.grad(0), c.saved(0), d, shape, keepdim));
      });
  return {v, i};
}

}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  if (autograd::recording({&x}))
    return record_selection("SortBackward0", x, dim, true,
                            autograd::untracked([&] { return sort(x, dim, descending, stable); }));
  int64_t n = dim_size(x, dim, "sort");
  return select_along(Select::Sort, x, dim, n, n, descending, true, "sort");
}

// Indices only: never recorded.
Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  return autograd::untracked([&] { return std::get<1>(sort(x, dim, descending, stable)); });
}

std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  if (autograd::recording({&x}))
    return record_selection("TopkBackward0", x, dim, true,
                            autograd::untracked([&] { return topk(x, k, dim, largest, sorted); }));
  int64_t n = dim_size(x, dim, "topk");
  CTORCH_CHECK(k >= 0 && k <= n, "[topk] k (", k, ") is out of range for dimension ",
               wrap_dim(dim, x.dim(), "topk"), " of size ", n);
  return select_along(Select::TopK, x, dim, k, k, largest, true, "topk");
}

std::tuple<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
  if (autograd::recording({&x}))
    return record_selection("KthvalueBackward0", x, dim, keepdim,
                            autograd::untracked([&] { return kthvalue(x, k, dim, keepdim); }));
  int64_t n = dim_size(x, dim, "kthvalue");
  CTORCH_CHECK(k >= 1 && k <= n, "[kthvalue] selected number k (", k,
               ") out of range for dimension ", wrap_dim(dim, x.dim(), "kthvalue"), " of size ", n);
  return select_along(Select::Kth, x, dim, k - 1, 1, false, keepdim, "kthvalue");
}

std::tuple<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim) {
  if (autograd::recording({&x}))
    return record_selection("MedianBackward1", x, dim, keepdim,
                            autograd::untracked([&] { return median(x, dim, keepdim); }));
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, x.dtype() != DType::Bool,
                    "[median] \"median_cpu\" not implemented for 'bool'");
  int64_t n = dim_size(x, dim, "median");
  CTORCH_CHECK_INDEX(n > 0, "[median] Expected reduction dim ", dim, " to have non-zero size.");
  return select_along(Select::Median, x, dim, (n - 1) / 2, 1, false, keepdim, "median");
}

Tensor median(const Tensor& x) {
  if (autograd::recording({&x})) {
    Tensor r = autograd::untracked([&] { return median(x); });
    // As PyTorch: the gradient is split evenly among the elements equal to the median (the
    // NaNs when it is NaN).
    autograd::record("MedianBackward0", {x}, {r}, {x, r}, [](const autograd::Context& c) {
      return autograd::grads(split_among_equal(c.grad(), c.saved(0), c.saved(1), {}, /*nan_aware=*/true));
    });
    return r;
  }
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, x.dtype() != DType::Bool,
                    "[median] \"median_cpu\" not implemented for 'bool'");
  if (x.numel() == 0) {
    CTORCH_CHECK(x.is_floating_point(), "[median] median of an empty ", dtype_name(x.dtype()),
                 " tensor has no value");
    return full({}, std::numeric_limits<double>::quiet_NaN(), x.dtype(), x.device());
  }
  return reshape(std::get<0>(median(reshape(x, {-1}), 0, false)), {});
}

// Never recorded (PyTorch gives unique's values requires_grad but no usable backward).
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x, bool sorted, bool return_inverse,
                                          bool return_counts) {
  autograd::NoGradGuard no_grad;
  Tensor src = contiguous(to_kernel_dtype(x));
  Tensor values, inverse, counts;
  if (x.device().is_cuda()) {
    std::tie(values, inverse, counts) = cuda_unique(src, return_inverse, return_counts);
    values = from_kernel_dtype(values, x.dtype());
    if (return_inverse) inverse = reshape(inverse, x.sizes());
    return {values, inverse, counts};
  }
  dispatch_sort(src.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> vals;
    std::vector<int64_t> inv, cnt;
    unique_kernel<T>(src.data<T>(), src.numel(), vals, inv, cnt);
    values = empty({static_cast<int64_t>(vals.size())}, src.dtype(), x.device());
    std::copy(vals.begin(), vals.end(), values.data<T>());
    values = from_kernel_dtype(values, x.dtype());
    if (return_inverse) inverse = from_vector(inv, x.sizes());
    if (return_counts) counts = from_vector(cnt, {static_cast<int64_t>(cnt.size())});
  });
  return {values, inverse, counts};
}

}  // namespace ctorch
