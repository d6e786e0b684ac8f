// Reductions, scans and softmax: dim/dtype rules and layout, then one CPU kernel call over a
// contiguous [outer, n, inner] view (rows when the reduced dims can be made innermost).
#include "ctorch/ops/reduce.h"
#include <cmath>
#include <algorithm>
#include <limits>
#include <numeric>
#include "autograd/function.h"
#include "cpu/reduce_cpu.h"
#include "kernels/reduce.h"
#include "ctorch/ops.h"
#include "ops/elementwise_run.h"
#include "ops/grad_helpers.h"

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
  bool is_extreme = kind == ReduceKind::Max || kind == ReduceKind::Min;
  bool as_bytes = is_extreme && x.dtype() == DType::Bool;  // max/min of bool = of its bytes
  Tensor src = as_bytes ? reinterpret(x, DType::UInt8) : cast(x, kernel_dtype(kind, x.dtype()));
  auto mask = reduce_mask(src, dims, op);
  Plan plan = make_plan(src, mask, keepdim, true);
  // The CUDA strided kernel gives each output one thread: a few long columns are better copied
  // into rows, which a block each reduces in parallel (and with shorter float sums).
  if (x.device().is_cuda() && plan.inner > 1 && plan.n > 4096 && plan.outer * plan.inner < 4096)
    plan = make_plan(src, mask, keepdim, false);
  Tensor out = empty(plan.shape, reduce_out_dtype(kind, src.dtype()), x.device());
  if (out.numel() > 0) {
    if (x.device().is_cuda()) {
      CudaDeviceScope on_x(x.device().index);  // raw pointers: the registry cannot pick the GPU
      cuda_reduce(kind, src.dtype(), plan.src.data_ptr(), out.data_ptr(), plan.outer, plan.n,
                  plan.inner, p);
    } else {
      cpu_reduce(kind, src.dtype(), plan.src.data_ptr(), out.data_ptr(), plan.outer, plan.n,
                 plan.inner, p);
    }
  }
  if (n) *n = plan.n;
  if (!plan.restore.empty()) out = contiguous(permute(out, plan.restore));
  if (as_bytes) return reinterpret(out, DType::Bool);
  return is_extreme ? cast(out, x.dtype()) : out;
}

// all = min and any = max over the bytes of `x != 0`.
Tensor all_any(bool is_all, const Tensor& x, IntArrayRef dims, bool keepdim, const char* op) {
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
  int64_t d = dim;
  auto mask = reduce_mask(x, IntArrayRef(d), op);
  check_nonempty(x, IntArrayRef(d), mask, op);
  Plan plan = make_plan(x, mask, keepdim, false);
  Tensor values = want_values ? empty(plan.shape, x.dtype(), x.device()) : Tensor();
  Tensor idx = empty(plan.shape, DType::Int64, x.device());
  if (idx.numel() > 0) {
    void* vp = want_values ? values.data_ptr() : nullptr;
    if (x.device().is_cuda()) {
      CudaDeviceScope on_x(x.device().index);  // raw pointers: the registry cannot pick the GPU
      cuda_arg_reduce(is_max, x.dtype(), plan.src.data_ptr(), vp, idx.data<int64_t>(), plan.outer,
                      plan.n);
    } else {
      cpu_arg_reduce(is_max, x.dtype(), plan.src.data_ptr(), vp, idx.data<int64_t>(), plan.outer,
                     plan.n);
    }
  }
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
  CTORCH_CHECK(x.is_floating_point(), "[", op, "] std and var only support floating point and "
               "complex dtypes, got ", dtype_name(x.dtype()));
  DType acc = x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  Tensor src = cast(x, acc);
  Plan plan = make_plan(src, reduce_mask(src, dims, op), keepdim, false);
  Tensor var = empty(plan.shape, acc, x.device()), mean = empty(plan.shape, acc, x.device());
  if (var.numel() > 0) {
    if (x.device().is_cuda()) {
      CudaDeviceScope on_x(x.device().index);  // raw pointers: the registry cannot pick the GPU
      cuda_var_mean(acc, plan.src.data_ptr(), var.data_ptr(), mean.data_ptr(), plan.outer,
                    plan.n, correction);
    } else {
      cpu_var_mean(acc, plan.src.data_ptr(), var.data_ptr(), mean.data_ptr(), plan.outer,
                   plan.n, correction);
    }
  }
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
    if (x.device().is_cuda()) {
      CudaDeviceScope on_x(x.device().index);  // raw pointers: the registry cannot pick the GPU
      cuda_softmax(log, work, in.data_ptr(), out.data_ptr(), s.outer, s.n, s.inner);
    } else {
      cpu_softmax(log, work, in.data_ptr(), out.data_ptr(), s.outer, s.n, s.inner);
    }
  }
  return cast(out, src.dtype());
}

Tensor scan_impl(bool prod, const Tensor& x, int64_t dim, std::optional<DType> dtype, const char* op) {
  dim = wrap_dim(dim, x.dim(), op);
  DType result = sum_dtype(x, dtype);
  DType work = is_integral(result, true) ? DType::Int64 : result;
  Tensor src = contiguous(cast(x, work));
  Tensor out = empty(x.sizes(), work, x.device());
  if (out.numel() > 0) {
    DimSplit s = split_at(x, dim);
    if (x.device().is_cuda()) {
      CudaDeviceScope on_x(x.device().index);  // raw pointers: the registry cannot pick the GPU
      cuda_scan(prod, work, src.data_ptr(), out.data_ptr(), s.outer, s.n, s.inner);
    } else {
      cpu_scan(prod, work, src.data_ptr(), out.data_ptr(), s.outer, s.n, s.inner);
    }
  }
  return cast(out, result);
}

// ---- autograd: backward formulas, written with ctorch ops so that they differentiate again.
// Formulas see `g` (the output's gradient) and return the input's; the engine casts it to the
// input's dtype, so a dtype= reduction needs nothing more.


// The reduced dims of an input of `shape` (mask from reduce_mask) as a dim list.
std::vector<int64_t> mask_dims(const DimVector& shape, const std::vector<bool>& mask) {
  std::vector<int64_t> dims;
  for (size_t d = 0; d < shape.size(); ++d)
    if (mask[d]) dims.push_back(static_cast<int64_t>(d));
  return dims;
}

// A reduction's output (or its gradient) with the reduced dims back as size-1 dims, so that it
// broadcasts against the input.
Tensor restore_dims(const Tensor& g, const DimVector& shape, const std::vector<bool>& mask,
                    bool keepdim) {
  if (keepdim || shape.empty()) return g;
  DimVector s;
  for (size_t d = 0; d < shape.size(); ++d) s.push_back(mask[d] ? 1 : shape[d]);
  return reshape(g, s);
}

int64_t reduced_count(const DimVector& shape, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (mask[d]) n *= shape[d];
  return n;
}

// t cast to like's dtype (t's device kept).
Tensor to_dtype_of(const Tensor& t, const Tensor& like) {
  return t.dtype() == like.dtype() ? t : to(t, like.dtype(), t.device());
}

// The product of every other element of each slice along dim, from the exclusive cumulative
// products of both sides: right with zeros in the input, where result / x is not.
Tensor prod_others(const Tensor& x, int64_t dim) {
  int64_t n = x.size(dim);
  DimVector one(x.sizes());
  one[dim] = 1;
  Tensor ones_ = ones(one, x.dtype(), x.device());
  if (n == 1) return ones_;
  Tensor before = cumprod(cat({ones_, narrow(x, dim, 0, n - 1)}, dim), dim);
  Tensor after = flip(cumprod(cat({ones_, flip(narrow(x, dim, 1, n - 1), IntArrayRef(dim))}, dim), dim),
                      IntArrayRef(dim));
  return before * after;
}

// Sums the gradient from the end: entry k gets sum_{j >= k} t_j (the adjoint of cumsum).
Tensor reverse_cumsum(const Tensor& t, int64_t dim) {
  return flip(cumsum(flip(t, IntArrayRef(dim)), dim), IntArrayRef(dim));
}

// The gradient of cumprod along dim when x has zeros, as products that differentiate again:
// entry k gets sum_{j >= k} g_j prod_{i <= j, i != k} x_i, i.e. the gradient slice from k on times
// (prod of x before k) * [1, cumprod of x after k]. O(n^2) in the length of dim.
Tensor cumprod_grad_with_zeros(const Tensor& g, const Tensor& x, int64_t dim) {
  int64_t n = x.size(dim);
  DimVector one(x.sizes());
  one[dim] = 1;
  std::vector<Tensor> parts;
  for (int64_t k = 0; k < n; ++k) {
    Tensor before = k == 0 ? ones(one, x.dtype(), x.device())
                           : prod(narrow(x, dim, 0, k), dim, true);
    Tensor omitted = before;
    if (k + 1 < n) omitted = cat({before, before * cumprod(narrow(x, dim, k + 1, n - k - 1), dim)}, dim);
    parts.push_back(sum(narrow(g, dim, k, n - k) * omitted, IntArrayRef(dim), true));
  }
  return cat(parts, dim);
}

Tensor var_backward(const Tensor& g_keep, const Tensor& x, const std::vector<int64_t>& dims,
                    int64_t n, double correction) {
  // PyTorch's convention: 2 / (N - correction) even where the forward clamps it at zero.
  return g_keep * (x - mean(x, dims, true)) * (2.0 / (static_cast<double>(n) - correction));
}

// d std = d var / (2 std), taken as 0 where std is 0.
Tensor std_to_var_grad(const Tensor& g, const Tensor& r) {
  return where(eq(r, Scalar(0)), scalar_tensor(0, g.dtype(), g.device()), g / (r * 2));
}

}  // namespace

// Each differentiable op runs itself untracked (its kernels call other ops, which must not
// record), then records its node.
#define CTORCH_UNTRACKED(call) autograd::untracked([&] { return call; })
using autograd::Context;
using autograd::grads;

Tensor sum(const Tensor& x, IntArrayRef dims, bool keepdim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(sum(x, dims, keepdim, dtype));
    autograd::record(dims.empty() && !keepdim ? "SumBackward0" : "SumBackward1", {x}, {r}, {},
        [shape = DimVector(x.sizes()), mask = reduce_mask(x, dims, "sum"), keepdim](const Context& c) {
          return grads(expand(restore_dims(c.grad(), shape, mask, keepdim), shape));
        });
    return r;
  }
  Tensor src = dtype ? cast(x, *dtype) : x;
  return cast(reduce_kind(ReduceKind::Sum, src, dims, keepdim, "sum"), sum_dtype(x, dtype));
}

Tensor mean(const Tensor& x, IntArrayRef dims, bool keepdim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(mean(x, dims, keepdim, dtype));
    DimVector shape(x.sizes());
    auto mask = reduce_mask(x, dims, "mean");
    double n = static_cast<double>(reduced_count(shape, mask));
    autograd::record(dims.empty() && !keepdim ? "MeanBackward0" : "MeanBackward1", {x}, {r}, {},
        [shape, mask, keepdim, n](const Context& c) {
          return grads(expand(restore_dims(c.grad(), shape, mask, keepdim), shape) / n);
        });
    return r;
  }
  DType result = dtype ? *dtype : x.dtype();
  CTORCH_CHECK(is_floating(result), "[mean] could not infer output dtype. ",
               dtype ? "Optional dtype" : "Input dtype", " must be either a floating point or "
               "complex dtype. Got: ", dtype_name(result));
  int64_t n = 0;
  Tensor s = reduce_kind(ReduceKind::Sum, cast(x, result), dims, keepdim, "mean", 0, &n);
  return cast(div(s, Scalar(static_cast<double>(n))), result);
}

Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(prod(x, dim, keepdim, dtype));
    int64_t d = dim ? wrap_dim(*dim, x.dim(), "prod") : 0;
    autograd::record(dim ? "ProdBackward1" : "ProdBackward0", {x}, {r}, {x, r},
        [d, over_all = !dim, keepdim](const Context& c) {
          Tensor g = c.grad(), r = c.saved(1);
          Tensor x = to_dtype_of(c.saved(0), g);
          if (x.dim() == 0) return grads(g);
          // The branch depends on the count: one value read back to the host (also for CUDA).
          int64_t zeros_in_x = item(sum(eq(x, Scalar(0)))).to_int();
          if (over_all) {
            // Without zeros d prod / d x_i = prod / x_i; one zero: only it gets the product of
            // the others; more: every product of the others is 0.
            if (zeros_in_x == 0) return grads(g * (r / x));
            if (zeros_in_x > 1) return grads(zeros_like(g, x.sizes()));
            return grads(reshape(g * prod_others(reshape(x, {-1}), 0), x.sizes()));
          }
          if (!keepdim) {
            g = unsqueeze(g, d);
            r = unsqueeze(r, d);
          }
          if (zeros_in_x == 0) return grads(g * (r / x));
          return grads(g * prod_others(x, d));
        });
    return r;
  }
  Tensor src = dtype ? cast(x, *dtype) : x;
  int64_t d = dim.value_or(0);
  IntArrayRef dims = dim ? IntArrayRef(d) : IntArrayRef();
  return cast(reduce_kind(ReduceKind::Prod, src, dims, keepdim, "prod"), sum_dtype(x, dtype));
}

namespace {
// amax/amin/max()/min(): the gradient split evenly among the elements equal to the result.
Tensor extreme_recorded(bool is_max, const Tensor& x, IntArrayRef dims, bool keepdim,
                        const char* op, const char* node, bool nan_aware) {
  Tensor r = CTORCH_UNTRACKED(extreme(is_max, x, dims, keepdim, op));
  DimVector shape(x.sizes());
  auto mask = reduce_mask(x, dims, op);
  autograd::record(node, {x}, {r}, {x, r}, [shape, mask, keepdim, nan_aware](const Context& c) {
    Tensor gk = restore_dims(c.grad(), shape, mask, keepdim);
    Tensor rk = restore_dims(c.saved(1), shape, mask, keepdim);
    return grads(split_among_equal(gk, c.saved(0), rk, mask_dims(shape, mask), nan_aware));
  });
  return r;
}

// max/min with dim: the gradient goes to the returned index.
std::tuple<Tensor, Tensor> arg_extreme_recorded(bool is_max, const Tensor& x, int64_t dim,
                                                bool keepdim, const char* op, const char* node) {
  auto [v, i] = autograd::untracked([&] { return arg_extreme(is_max, x, dim, keepdim, true, op); });
  int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), op);
  autograd::record(node, {x}, {v, i}, {i}, [d, keepdim, shape = DimVector(x.sizes())](const Context& c) {
    return grads(scatter_to_index(c.grad(0), c.saved(0), d, shape, keepdim));
  });
  return {v, i};
}
}  // namespace

Tensor amax(const Tensor& x, IntArrayRef dims, bool keepdim) {
  if (autograd::recording({&x}))
    return extreme_recorded(true, x, dims, keepdim, "amax", "AmaxBackward0", false);
  return extreme(true, x, dims, keepdim, "amax");
}
Tensor amin(const Tensor& x, IntArrayRef dims, bool keepdim) {
  if (autograd::recording({&x}))
    return extreme_recorded(false, x, dims, keepdim, "amin", "AminBackward0", false);
  return extreme(false, x, dims, keepdim, "amin");
}
Tensor max(const Tensor& x) {
  if (autograd::recording({&x})) return extreme_recorded(true, x, {}, false, "max", "MaxBackward1", true);
  return extreme(true, x, {}, false, "max");
}
Tensor min(const Tensor& x) {
  if (autograd::recording({&x})) return extreme_recorded(false, x, {}, false, "min", "MinBackward1", true);
  return extreme(false, x, {}, false, "min");
}
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  if (autograd::recording({&x})) return arg_extreme_recorded(true, x, dim, keepdim, "max", "MaxBackward0");
  return arg_extreme(true, x, dim, keepdim, true, "max");
}
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  if (autograd::recording({&x})) return arg_extreme_recorded(false, x, dim, keepdim, "min", "MinBackward0");
  return arg_extreme(false, x, dim, keepdim, true, "min");
}
// Indices only: never recorded.
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return CTORCH_UNTRACKED(arg_any_dim(true, x, dim, keepdim, "argmax"));
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return CTORCH_UNTRACKED(arg_any_dim(false, x, dim, keepdim, "argmin"));
}

namespace {
// var/std/var_mean/std_mean share one node shape: input x, outputs (var or std[, mean]).
struct VarInfo {
  DimVector shape;
  std::vector<bool> mask;
  bool keepdim;
  double correction;
};
VarInfo var_info(const Tensor& x, IntArrayRef dims, double correction, bool keepdim, const char* op) {
  return {DimVector(x.sizes()), reduce_mask(x, dims, op), keepdim, correction};
}
// The input's gradient from those of var (is_std: std, r its value) and, when defined, mean.
Tensor var_mean_grad(const VarInfo& v, bool is_std, const Tensor& g_stat, const Tensor& r,
                     const Tensor& g_mean, const Tensor& x) {
  auto dims = mask_dims(v.shape, v.mask);
  int64_t n = reduced_count(v.shape, v.mask);
  Tensor gv = is_std ? std_to_var_grad(g_stat, r) : g_stat;
  Tensor gx = var_backward(restore_dims(gv, v.shape, v.mask, v.keepdim), x, dims, n, v.correction);
  if (g_mean.defined())
    gx = gx + expand(restore_dims(g_mean, v.shape, v.mask, v.keepdim), v.shape) /
                  static_cast<double>(n);
  return gx;
}
}  // namespace

std::tuple<Tensor, Tensor> var_mean(const Tensor& x, IntArrayRef dims, double correction,
                                    bool keepdim) {
  if (autograd::recording({&x})) {
    auto [v, m] = autograd::untracked([&] { return var_mean(x, dims, correction, keepdim); });
    autograd::record("VarMeanBackward0", {x}, {v, m}, {x},
        [info = var_info(x, dims, correction, keepdim, "var_mean")](const Context& c) {
          return grads(var_mean_grad(info, false, c.grad(0), Tensor(), c.grad(1), c.saved(0)));
        });
    return {v, m};
  }
  auto [v, m] = var_mean_impl(x, dims, correction, keepdim, "var_mean");
  return {cast(v, x.dtype()), cast(m, x.dtype())};
}
std::tuple<Tensor, Tensor> std_mean(const Tensor& x, IntArrayRef dims, double correction,
                                    bool keepdim) {
  if (autograd::recording({&x})) {
    auto [s, m] = autograd::untracked([&] { return std_mean(x, dims, correction, keepdim); });
    autograd::record("StdMeanBackward0", {x}, {s, m}, {x, s},
        [info = var_info(x, dims, correction, keepdim, "std_mean")](const Context& c) {
          return grads(var_mean_grad(info, true, c.grad(0), c.saved(1), c.grad(1), c.saved(0)));
        });
    return {s, m};
  }
  auto [v, m] = var_mean_impl(x, dims, correction, keepdim, "std_mean");
  return {cast(sqrt(v), x.dtype()), cast(m, x.dtype())};
}
Tensor var(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(var(x, dims, correction, keepdim));
    autograd::record("VarBackward0", {x}, {r}, {x},
        [info = var_info(x, dims, correction, keepdim, "var")](const Context& c) {
          return grads(var_mean_grad(info, false, c.grad(), Tensor(), Tensor(), c.saved(0)));
        });
    return r;
  }
  return cast(std::get<0>(var_mean_impl(x, dims, correction, keepdim, "var")), x.dtype());
}
Tensor std(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(std(x, dims, correction, keepdim));
    autograd::record("StdBackward0", {x}, {r}, {x, r},
        [info = var_info(x, dims, correction, keepdim, "std")](const Context& c) {
          return grads(var_mean_grad(info, true, c.grad(), c.saved(1), Tensor(), c.saved(0)));
        });
    return r;
  }
  return cast(sqrt(std::get<0>(var_mean_impl(x, dims, correction, keepdim, "std"))), x.dtype());
}

namespace {
// PyTorch's linalg_vector_norm_backward; gk and nk are the gradient and the norm with the
// reduced dims kept.
Tensor vector_norm_grad(const Tensor& gk, const Tensor& x, const Tensor& nk, double p,
                        const std::vector<int64_t>& dims) {
  Tensor zero = scalar_tensor(0, gk.dtype(), gk.device());
  if (p == 0) return Tensor();  // a count: no gradient at all (PyTorch leaves .grad unset)
  if (p == 1) return sign(x) * gk;
  if (p == 2) return gk * where(eq(nk, Scalar(0)), zero, x / nk);
  if (std::isinf(p)) {
    // amax/amin of |x| (NaNs count as the extreme), the gradient split among the ties.
    Tensor ax = abs(x);
    Tensor hits = logical_or(eq(ax, nk), isnan(ax));
    return sign(x) * (gk / sum(hits, dims, true) * hits);
  }
  if (p < 1) {
    Tensor scaled = sign(x) * where(eq(x, Scalar(0)), zero, pow(abs(x), Scalar(p - 1)));
    return scaled * gk * pow(nk, Scalar(1 - p));
  }
  Tensor scaled = p < 2 ? sign(x) * pow(abs(x), Scalar(p - 1)) : x * pow(abs(x), Scalar(p - 2));
  return scaled * where(eq(nk, Scalar(0)), zero, gk / pow(nk, Scalar(p - 1)));
}
}  // namespace

Tensor vector_norm(const Tensor& x, double ord, IntArrayRef dims, bool keepdim,
                   std::optional<DType> dtype) {
  const char* op = "linalg.vector_norm";
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(vector_norm(x, ord, dims, keepdim, dtype));
    autograd::record("LinalgVectorNormBackward0", {x}, {r}, {x, r},
        [ord, keepdim, shape = DimVector(x.sizes()), mask = reduce_mask(x, dims, op)](const Context& c) {
          Tensor gk = restore_dims(c.grad(), shape, mask, keepdim);
          Tensor nk = restore_dims(c.saved(1), shape, mask, keepdim);
          return grads(vector_norm_grad(gk, c.saved(0), nk, ord, mask_dims(shape, mask)));
        });
    return r;
  }
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
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(logsumexp(x, dims, keepdim));
    autograd::record("LogsumexpBackward0", {x}, {r}, {x, r},
        [keepdim, shape = DimVector(x.sizes()), mask = reduce_mask(x, dims, "logsumexp")](const Context& c) {
          Tensor gk = restore_dims(c.grad(), shape, mask, keepdim);
          Tensor rk = restore_dims(c.saved(1), shape, mask, keepdim);
          return grads(gk * exp(c.saved(0) - rk));
        });
    return r;
  }
  DType result = x.is_floating_point() ? x.dtype() : default_dtype();
  DType work = result == DType::Float64 ? DType::Float64 : DType::Float32;
  Tensor src = cast(x, work);
  Plan plan = make_plan(src, reduce_mask(src, dims, "logsumexp"), keepdim, false);
  Tensor out = empty(plan.shape, work, x.device());
  if (out.numel() > 0) {
    if (x.device().is_cuda()) {
      CudaDeviceScope on_x(x.device().index);  // raw pointers: the registry cannot pick the GPU
      cuda_logsumexp(work, plan.src.data_ptr(), out.data_ptr(), plan.outer, plan.n);
    } else {
      cpu_logsumexp(work, plan.src.data_ptr(), out.data_ptr(), plan.outer, plan.n);
    }
  }
  return cast(out, result);
}

// Bool results: never recorded.
Tensor all(const Tensor& x, IntArrayRef dims, bool keepdim) {
  return CTORCH_UNTRACKED(all_any(true, x, dims, keepdim, "all"));
}
Tensor any(const Tensor& x, IntArrayRef dims, bool keepdim) {
  return CTORCH_UNTRACKED(all_any(false, x, dims, keepdim, "any"));
}

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(cumsum(x, dim, dtype));
    autograd::record("CumsumBackward0", {x}, {r}, {},
        [d = wrap_dim(dim, x.dim(), "cumsum"), nd = x.dim()](const Context& c) {
          if (nd == 0) return grads(c.grad());
          return grads(reverse_cumsum(c.grad(), d));
        });
    return r;
  }
  return scan_impl(false, x, dim, dtype, "cumsum");
}

Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    Tensor r = CTORCH_UNTRACKED(cumprod(x, dim, dtype));
    autograd::record("CumprodBackward0", {x}, {r}, {x, r},
        [d = wrap_dim(dim, x.dim(), "cumprod")](const Context& c) {
          Tensor g = c.grad(), y = c.saved(1);
          Tensor x = to_dtype_of(c.saved(0), g);
          if (x.dim() == 0 || x.size(d) <= 1) return grads(g);
          // d y_j / d x_k = y_j / x_k for j >= k: without zeros the gradient is
          // reverse_cumsum(g * y) / x.
          Tensor is_zero = eq(x, Scalar(0));
          // One flag read back to the host (also for CUDA): it picks the formula.
          if (!item(CTORCH_UNTRACKED(any(is_zero, {}, false))).to_bool())
            return grads(reverse_cumsum(g * y, d) / x);
          // With zeros, a higher-order backward needs the products themselves (the O(n) form
          // below is right to first order only): slice by slice, as PyTorch does.
          if (autograd::is_grad_enabled()) return grads(cumprod_grad_with_zeros(g, x, d));
          // First order, O(n): let z be the first zero of a slice. Before z the formula above
          // holds (y_j = 0 for j >= z adds nothing); at z, d y_j / d x_z = y'_j for j >= z, where
          // y' is the cumprod with x_z replaced by 1; after z every y_j keeps the factor x_z = 0.
          Tensor zeros_so_far = cumsum(is_zero, d);
          Tensor before = eq(zeros_so_far, Scalar(0));
          Tensor first_zero = logical_and(is_zero, eq(zeros_so_far, Scalar(1)));
          Tensor one = scalar_tensor(1, x.dtype(), x.device());
          Tensor zero = scalar_tensor(0, g.dtype(), g.device());
          Tensor g_before = reverse_cumsum(g * y, d) / where(is_zero, one, x);
          Tensor g_at = reverse_cumsum(g * cumprod(where(first_zero, one, x), d), d);
          return grads(where(before, g_before, where(first_zero, g_at, zero)));
        });
    return r;
  }
  return scan_impl(true, x, dim, dtype, "cumprod");
}

// softmax(x, dtype=d) is softmax(x.to(d)): the conversion is its own node, as in PyTorch.
Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    if (dtype && *dtype != x.dtype()) return softmax(to(x, *dtype, x.device()), dim);
    Tensor r = CTORCH_UNTRACKED(softmax(x, dim, dtype));
    autograd::record("SoftmaxBackward0", {x}, {r}, {r},
        [d = wrap_dim(dim, x.dim(), "softmax")](const Context& c) {
          Tensor y = c.saved(0);
          return grads((c.grad() - sum(c.grad() * y, IntArrayRef(d), true)) * y);
        });
    return r;
  }
  return softmax_impl(false, x, dim, dtype, "softmax");
}
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  if (autograd::recording({&x})) {
    if (dtype && *dtype != x.dtype()) return log_softmax(to(x, *dtype, x.device()), dim);
    Tensor r = CTORCH_UNTRACKED(log_softmax(x, dim, dtype));
    autograd::record("LogSoftmaxBackward0", {x}, {r}, {r},
        [d = wrap_dim(dim, x.dim(), "log_softmax")](const Context& c) {
          return grads(c.grad() - exp(c.saved(0)) * sum(c.grad(), IntArrayRef(d), true));
        });
    return r;
  }
  return softmax_impl(true, x, dim, dtype, "log_softmax");
}

#undef CTORCH_UNTRACKED

}  // namespace ctorch
