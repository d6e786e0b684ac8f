// Reductions, scans and softmax: dim/dtype rules and layout, then one CPU kernel call over a
// contiguous [outer, n, inner] view (rows when the reduced dims can be made innermost).
#include "ctorch/ops/reduce.h"
#include <cmath>
#include <algorithm>
#include <limits>
#include <numeric>
#include "cpu/reduce_cpu.h"
#include "ctorch/ops.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {

// Which dims a reduction covers; an empty list means all of them.
std::vector<bool> reduce_mask(const Tensor& x, IntArrayRef dims, const char* op) {
  int64_t nd = std::max<int64_t>(x.dim(), 1);
  std::vector<bool> mask(nd, dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, x.dim(), op);
    CTORCH_CHECK(!mask[w], "[", op, "] dim ", w, " appears multiple times in the list of dims");
    mask[w] = true;
  }
  return mask;
}

// The input as a contiguous [outer, n, inner] block and the result's shape. When `restore` is
// set, the kernel's result has its dims in the input's memory order and permute(result, restore)
// puts them back in order.
struct Plan {
  Tensor src;
  int64_t outer = 1, n = 1, inner = 1;
  DimVector shape;
  std::vector<int64_t> restore;
};

// Prefers, in order: the reduced dims already innermost and contiguous (a view), a contiguous
// input whose reduced dims form one run (strided kernel, when allowed), a copy with the reduced
// dims moved last.
Plan make_plan(const Tensor& x, const std::vector<bool>& mask, bool keepdim, bool allow_strided) {
  Plan p;
  int64_t nd = x.dim();
  if (nd == 0) {
    p.src = contiguous(x);
    return p;
  }
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < nd; ++d) {
    if (mask[d]) {
      p.n *= x.size(d);
      if (keepdim) p.shape.push_back(1);
    } else {
      p.outer *= x.size(d);
      perm.push_back(d);
      p.shape.push_back(x.size(d));
    }
  }
  for (int64_t d = 0; d < nd; ++d)
    if (mask[d]) perm.push_back(d);
  Tensor y = permute(x, perm);
  if (y.is_contiguous()) {
    p.src = y;
    return p;
  }
  if (allow_strided) {
    // The dims in memory order (largest stride first): a dense input whose reduced dims form one
    // run in that order is read in place by the strided kernel.
    std::vector<int64_t> order(nd);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return x.stride(a) > x.stride(b); });
    Tensor xm = permute(x, order);
    int64_t first = -1, last = -1;
    for (int64_t i = 0; i < nd; ++i)
      if (mask[order[i]]) { if (first < 0) first = i; last = i; }
    bool run = xm.is_contiguous();
    for (int64_t i = first; run && i <= last; ++i) run = mask[order[i]] || xm.size(i) == 1;
    if (run) {
      p.src = xm;
      p.outer = p.inner = 1;
      for (int64_t i = 0; i < first; ++i) p.outer *= xm.size(i);
      for (int64_t i = last + 1; i < nd; ++i) p.inner *= xm.size(i);
      std::vector<int64_t> out_dims;  // the input dim behind each result dim, in memory order
      p.shape = DimVector();
      for (int64_t i = 0; i < nd; ++i) {
        if (mask[order[i]] && !keepdim) continue;
        out_dims.push_back(order[i]);
        p.shape.push_back(mask[order[i]] ? 1 : xm.size(i));
      }
      if (!std::is_sorted(out_dims.begin(), out_dims.end())) {
        p.restore.resize(out_dims.size());
        std::iota(p.restore.begin(), p.restore.end(), 0);
        std::sort(p.restore.begin(), p.restore.end(),
                  [&](int64_t a, int64_t b) { return out_dims[a] < out_dims[b]; });
      }
      return p;
    }
  }
  p.src = contiguous(y);
  return p;
}

// RuntimeError / IndexError for reductions without an identity (max, argmax, ...) over nothing.
void check_nonempty(const Tensor& x, IntArrayRef dims, const std::vector<bool>& mask,
                    const char* op, ErrorKind all_kind = ErrorKind::Runtime) {
  if (x.numel() != 0) return;
  CTORCH_CHECK_KIND(all_kind, !dims.empty(), "[", op, "] Expected reduction dim to be specified "
                    "for input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
  for (int64_t d = 0; d < x.dim(); ++d)
    CTORCH_CHECK_INDEX(!mask[d] || x.size(d) != 0, "[", op, "] Expected reduction dim ", d,
                       " to have non-zero size.");
}

Tensor cast(const Tensor& t, DType d) { return t.dtype() == d ? t : to(t, d, t.device()); }

// A tensor over the same memory read as another dtype of the same size (bool as uint8).
Tensor reinterpret(const Tensor& t, DType d) {
  return Tensor(std::make_shared<TensorImpl>(t.storage(), DimVector(t.sizes()),
                                             DimVector(t.strides()), t.storage_offset(), d));
}

// The dtype a reduction's kernel runs in (see cpu_reduce): 16-bit floats as float, bool and
// small integers as int64 for sums and products.
DType kernel_dtype(ReduceKind kind, DType d) {
  if (d == DType::Float16 || d == DType::BFloat16) return DType::Float32;
  if (kind == ReduceKind::Max || kind == ReduceKind::Min) return d;
  return is_integral(d, true) ? DType::Int64 : d;
}

// One associative reduction; `n` receives the number of elements reduced into each output.
// Max/min results have x's dtype; the others the kernel's (int64, float or double).
Tensor reduce_kind(ReduceKind kind, const Tensor& x, IntArrayRef dims, bool keepdim,
                   const char* op, double p = 0, int64_t* n = nullptr) {
  check_backend(x, op);
  bool is_extreme = kind == ReduceKind::Max || kind == ReduceKind::Min;
  bool as_bytes = is_extreme && x.dtype() == DType::Bool;  // max/min of bool = of its bytes
  Tensor src = as_bytes ? reinterpret(x, DType::UInt8) : cast(x, kernel_dtype(kind, x.dtype()));
  Plan plan = make_plan(src, reduce_mask(src, dims, op), keepdim, true);
  Tensor out = empty(plan.shape, reduce_out_dtype(kind, src.dtype()), x.device());
  if (out.numel() > 0)
    cpu_reduce(kind, src.dtype(), plan.src.data_ptr(), out.data_ptr(), plan.outer, plan.n,
               plan.inner, p);
  if (n) *n = plan.n;
  if (!plan.restore.empty()) out = contiguous(permute(out, plan.restore));
  if (as_bytes) return reinterpret(out, DType::Bool);
  return is_extreme ? cast(out, x.dtype()) : out;
}

// all = min and any = max over the bytes of `x != 0`.
Tensor all_any(bool is_all, const Tensor& x, IntArrayRef dims, bool keepdim, const char* op) {
  check_backend(x, op);
  Tensor b = x.dtype() == DType::Bool ? x : ne(x, Scalar(int64_t(0)));
  int64_t n = 0;
  Tensor r = reduce_kind(is_all ? ReduceKind::Min : ReduceKind::Max, b, dims, keepdim, op, 0, &n);
  if (n == 0) fill_(r, Scalar(is_all));  // the identities, not the kernel's byte init values
  return x.dtype() == DType::UInt8 ? cast(r, DType::UInt8) : r;
}

DType sum_dtype(const Tensor& x, std::optional<DType> dtype) {
  if (dtype) return *dtype;
  return is_integral(x.dtype(), true) ? DType::Int64 : x.dtype();
}

Tensor extreme(bool is_max, const Tensor& x, IntArrayRef dims, bool keepdim, const char* op) {
  check_nonempty(x, dims, reduce_mask(x, dims, op), op);
  return reduce_kind(is_max ? ReduceKind::Max : ReduceKind::Min, x, dims, keepdim, op);
}

// Values (unless !want_values) and first index of the extreme along one dim.
std::tuple<Tensor, Tensor> arg_extreme(bool is_max, const Tensor& x, int64_t dim, bool keepdim,
                                       bool want_values, const char* op) {
  check_backend(x, op);
  int64_t d = dim;
  auto mask = reduce_mask(x, IntArrayRef(d), op);
  check_nonempty(x, IntArrayRef(d), mask, op);
  Plan plan = make_plan(x, mask, keepdim, false);
  Tensor values = want_values ? empty(plan.shape, x.dtype(), x.device()) : Tensor();
  Tensor idx = empty(plan.shape, DType::Int64, x.device());
  if (idx.numel() > 0)
    cpu_arg_reduce(is_max, x.dtype(), plan.src.data_ptr(), want_values ? values.data_ptr() : nullptr,
                   idx.data<int64_t>(), plan.outer, plan.n);
  return {values, idx};
}

Tensor arg_any_dim(bool is_max, const Tensor& x, std::optional<int64_t> dim, bool keepdim,
                   const char* op) {
  CTORCH_CHECK(x.dtype() != DType::Bool, "[", op, "] does not support bool input");
  if (dim) return std::get<1>(arg_extreme(is_max, x, *dim, keepdim, false, op));
  check_nonempty(x, {}, {}, op, ErrorKind::Index);
  Tensor idx = std::get<1>(arg_extreme(is_max, reshape(x, {-1}), 0, false, false, op));
  if (keepdim) return reshape(idx, std::vector<int64_t>(x.dim(), 1));
  return idx;
}

std::tuple<Tensor, Tensor> var_mean_impl(const Tensor& x, IntArrayRef dims, double correction,
                                         bool keepdim, const char* op) {
  check_backend(x, op);
  CTORCH_CHECK(x.is_floating_point(), "[", op, "] std and var only support floating point and "
               "complex dtypes, got ", dtype_name(x.dtype()));
  DType acc = x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  Tensor src = cast(x, acc);
  Plan plan = make_plan(src, reduce_mask(src, dims, op), keepdim, false);
  Tensor var = empty(plan.shape, acc, x.device()), mean = empty(plan.shape, acc, x.device());
  if (var.numel() > 0)
    cpu_var_mean(acc, plan.src.data_ptr(), var.data_ptr(), mean.data_ptr(), plan.outer,
                 plan.n, correction);
  return {var, mean};
}

// A tensor seen as [outer, n, inner] around `dim` (softmax and scans work on the middle axis).
struct DimSplit { int64_t outer = 1, n = 1, inner = 1; };
DimSplit split_at(const Tensor& x, int64_t dim) {
  DimSplit s;
  if (x.dim() == 0) return s;
  s.n = x.size(dim);
  for (int64_t d = 0; d < dim; ++d) s.outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d) s.inner *= x.size(d);
  return s;
}

Tensor softmax_impl(bool log, const Tensor& x, int64_t dim, std::optional<DType> dtype,
                    const char* op) {
  check_backend(x, op);
  Tensor src = dtype ? cast(x, *dtype) : x;
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, src.is_floating_point(), "[", op, "] \"", op,
                    "\" not implemented for '", dtype_name(src.dtype()), "'");
  // 16-bit floats compute in float.
  DType work = src.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  dim = wrap_dim(dim, x.dim(), op);
  Tensor in = contiguous(cast(src, work));
  Tensor out = empty(x.sizes(), work, x.device());
  if (out.numel() > 0) {
    DimSplit s = split_at(x, dim);
    cpu_softmax(log, work, in.data_ptr(), out.data_ptr(), s.outer, s.n, s.inner);
  }
  return cast(out, src.dtype());
}

Tensor scan_impl(bool prod, const Tensor& x, int64_t dim, std::optional<DType> dtype, const char* op) {
  check_backend(x, op);
  dim = wrap_dim(dim, x.dim(), op);
  DType result = sum_dtype(x, dtype);
  DType work = is_integral(result, true) ? DType::Int64 : result;
  Tensor src = contiguous(cast(x, work));
  Tensor out = empty(x.sizes(), work, x.device());
  if (out.numel() > 0) {
    DimSplit s = split_at(x, dim);
    cpu_scan(prod, work, src.data_ptr(), out.data_ptr(), s.outer, s.n, s.inner);
  }
  return cast(out, result);
}

}  // namespace

Tensor sum(const Tensor& x, IntArrayRef dims, bool keepdim, std::optional<DType> dtype) {
  Tensor src = dtype ? cast(x, *dtype) : x;
  return cast(reduce_kind(ReduceKind::Sum, src, dims, keepdim, "sum"), sum_dtype(x, dtype));
}

Tensor mean(const Tensor& x, IntArrayRef dims, bool keepdim, std::optional<DType> dtype) {
  DType result = dtype ? *dtype : x.dtype();
  CTORCH_CHECK(is_floating(result), "[mean] could not infer output dtype. ",
               dtype ? "Optional dtype" : "Input dtype", " must be either a floating point or "
               "complex dtype. Got: ", dtype_name(result));
  int64_t n = 0;
  Tensor s = reduce_kind(ReduceKind::Sum, cast(x, result), dims, keepdim, "mean", 0, &n);
  return cast(div(s, Scalar(static_cast<double>(n))), result);
}

Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim, std::optional<DType> dtype) {
  Tensor src = dtype ? cast(x, *dtype) : x;
  int64_t d = dim.value_or(0);
  IntArrayRef dims = dim ? IntArrayRef(d) : IntArrayRef();
  return cast(reduce_kind(ReduceKind::Prod, src, dims, keepdim, "prod"), sum_dtype(x, dtype));
}

Tensor amax(const Tensor& x, IntArrayRef dims, bool keepdim) {
  return extreme(true, x, dims, keepdim, "amax");
}
Tensor amin(const Tensor& x, IntArrayRef dims, bool keepdim) {
  return extreme(false, x, dims, keepdim, "amin");
}
Tensor max(const Tensor& x) { return extreme(true, x, {}, false, "max"); }
Tensor min(const Tensor& x) { return extreme(false, x, {}, false, "min"); }
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return arg_extreme(true, x, dim, keepdim, true, "max");
}
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return arg_extreme(false, x, dim, keepdim, true, "min");
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_any_dim(true, x, dim, keepdim, "argmax");
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_any_dim(false, x, dim, keepdim, "argmin");
}

std::tuple<Tensor, Tensor> var_mean(const Tensor& x, IntArrayRef dims, double correction,
                                    bool keepdim) {
  auto [v, m] = var_mean_impl(x, dims, correction, keepdim, "var_mean");
  return {cast(v, x.dtype()), cast(m, x.dtype())};
}
std::tuple<Tensor, Tensor> std_mean(const Tensor& x, IntArrayRef dims, double correction,
                                    bool keepdim) {
  auto [v, m] = var_mean_impl(x, dims, correction, keepdim, "std_mean");
  return {cast(sqrt(v), x.dtype()), cast(m, x.dtype())};
}
Tensor var(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  return cast(std::get<0>(var_mean_impl(x, dims, correction, keepdim, "var")), x.dtype());
}
Tensor std(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  return cast(sqrt(std::get<0>(var_mean_impl(x, dims, correction, keepdim, "std"))), x.dtype());
}

Tensor vector_norm(const Tensor& x, double ord, IntArrayRef dims, bool keepdim,
                   std::optional<DType> dtype) {
  const char* op = "linalg.vector_norm";
  CTORCH_CHECK(x.is_floating_point(), "[", op, "] Expected a floating point or complex tensor as "
               "input. Got ", dtype_name(x.dtype()));
  if (dtype)
    CTORCH_CHECK(is_floating(*dtype), "[", op, "] dtype should be floating point, got ",
                 dtype_name(*dtype));
  Tensor src = dtype ? cast(x, *dtype) : x;
  DType result = src.dtype();
  if (std::isinf(ord) || ord < 0) {
    auto mask = reduce_mask(x, dims, op);
    bool empty_dim = false;
    for (int64_t d = 0; d < x.dim(); ++d) empty_dim = empty_dim || (mask[d] && x.size(d) == 0);
    CTORCH_CHECK(!empty_dim, "[", op, "] cannot compute the ", ord, " norm on an empty tensor "
                 "because the operation does not have an identity");
  }
  Tensor r;
  if (ord == 2) r = sqrt(reduce_kind(ReduceKind::SumSq, src, dims, keepdim, op));
  else if (ord == 1) r = reduce_kind(ReduceKind::SumAbs, src, dims, keepdim, op);
  else if (ord == 0) r = reduce_kind(ReduceKind::CountNonzero, src, dims, keepdim, op);
  else if (std::isinf(ord))
    r = reduce_kind(ord > 0 ? ReduceKind::MaxAbs : ReduceKind::MinAbs, src, dims, keepdim, op);
  else r = pow(reduce_kind(ReduceKind::SumPowAbs, src, dims, keepdim, op, ord), Scalar(1.0 / ord));
  return cast(r, result);
}

Tensor logsumexp(const Tensor& x, IntArrayRef dims, bool keepdim) {
  check_backend(x, "logsumexp");
  DType result = x.is_floating_point() ? x.dtype() : default_dtype();
  DType work = result == DType::Float64 ? DType::Float64 : DType::Float32;
  Tensor src = cast(x, work);
  Plan plan = make_plan(src, reduce_mask(src, dims, "logsumexp"), keepdim, false);
  Tensor out = empty(plan.shape, work, x.device());
  if (out.numel() > 0)
    cpu_logsumexp(work, plan.src.data_ptr(), out.data_ptr(), plan.outer, plan.n);
  return cast(out, result);
}

Tensor all(const Tensor& x, IntArrayRef dims, bool keepdim) {
  return all_any(true, x, dims, keepdim, "all");
}
Tensor any(const Tensor& x, IntArrayRef dims, bool keepdim) {
  return all_any(false, x, dims, keepdim, "any");
}

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return scan_impl(false, x, dim, dtype, "cumsum");
}
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return scan_impl(true, x, dim, dtype, "cumprod");
}
Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return softmax_impl(false, x, dim, dtype, "softmax");
}
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return softmax_impl(true, x, dim, dtype, "log_softmax");
}

}  // namespace ctorch
