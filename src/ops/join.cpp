// Joining and rearranging: cat/stack family, flip, roll, repeat/tile/repeat_interleave,
// tril/triu, diag/diag_embed and meshgrid, written over views and copy_ (on CUDA, cat's dense parts
// go through one kernel, kernels/join.cu).
// The primitives record their backward; the rest are composites of them.
#include <algorithm>
#include <cstring>
#include "autograd/function.h"
#include "ctorch/ops.h"
#include "kernels/join.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {
using autograd::Context;
using autograd::grads;

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  if (autograd::recording(tensors)) {
    Tensor r = autograd::untracked([&] { return cat(tensors, dim); });
    // Each input's gradient is its stretch of the output's; legacy empty inputs get an empty one.
    auto skipped = [](const Tensor& t) { return t.dim() == 1 && t.sizes()[0] == 0; };
    int64_t wrapped = 0;  // fixed by the first input that is not skipped
    for (const Tensor& t : tensors)
      if (!skipped(t)) { wrapped = wrap_dim(dim, t.dim(), "cat"); break; }
    std::vector<int64_t> lens;
    for (const Tensor& t : tensors) lens.push_back(skipped(t) ? -1 : t.sizes()[wrapped]);
    autograd::record("CatBackward0", tensors, {r}, {}, [lens, wrapped](const Context& c) {
      std::vector<Tensor> out(lens.size());
      int64_t at = 0;
      for (size_t i = 0; i < lens.size(); ++i) {
        if (lens[i] < 0) {
          if (c.needs_grad(i)) out[i] = zeros_like(c.grad(), {0});
          continue;
        }
        if (c.needs_grad(i)) out[i] = narrow(c.grad(), wrapped, at, lens[i]);
        at += lens[i];
      }
      return out;
    });
    return r;
  }
  CTORCH_CHECK_VALUE(!tensors.empty(), "[cat] expected a non-empty list of Tensors");
  DType dtype = tensors[0].dtype();
  for (const Tensor& t : tensors) dtype = promote_types(dtype, t.dtype());
  // PyTorch skips legacy empty 1-D tensors (shape [0]) whatever the others' shapes are.
  auto skipped = [](const Tensor& t) { return t.dim() == 1 && t.sizes()[0] == 0; };
  const Tensor* ref = nullptr;
  for (size_t i = 0; i < tensors.size(); ++i) {
    CTORCH_CHECK(tensors[i].dim() > 0, "[cat] zero-dimensional tensor (at position ", i,
                 ") cannot be concatenated");
    check_same_device(tensors[i], tensors[0], "cat");
    if (!ref && !skipped(tensors[i])) ref = &tensors[i];
  }
  if (!ref) return empty({0}, dtype, tensors[0].device());
  dim = wrap_dim(dim, ref->dim(), "cat");
  DimVector shape(ref->sizes());
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped(t)) continue;
    CTORCH_CHECK(t.dim() == ref->dim(), "[cat] Tensors must have same number of dimensions: got ",
                 ref->dim(), " and ", t.dim());
    for (int64_t d = 0; d < t.dim(); ++d)
      CTORCH_CHECK(d == dim || t.sizes()[d] == shape[d], "[cat] Sizes of tensors must match except "
                   "in dimension ", dim, ". Expected size ", shape[d], " but got size ", t.sizes()[d],
                   " for tensor number ", i, " in the list.");
    total += t.sizes()[dim];
  }
  shape[dim] = total;
  Tensor out = empty(shape, dtype, ref->device());
  // The output seen as [outer, total, inner]: a contiguous part of the same dtype is `outer` runs
  // of bytes (stack of many small tensors is common in data loading: no iterator per part).
  int64_t outer = 1, inner = static_cast<int64_t>(out.element_size());
  for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
  for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) inner *= shape[d];
  char* base = static_cast<char*>(out.data_ptr());
  const bool cuda = out.device().is_cuda();
  std::vector<Tensor> dense;  // CUDA: the dense parts, copied by one kernel at the end
  std::vector<int64_t> dense_at;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    if (skipped(t)) continue;
    int64_t n = t.sizes()[dim];
    if (n > 0 && cuda && t.is_contiguous() && t.dtype() == dtype) {
      dense.push_back(t);
      dense_at.push_back(at);
    } else if (n > 0 && !cuda && t.is_contiguous() && t.dtype() == dtype) {
      const char* src = static_cast<const char*>(t.data_ptr());
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(base + (o * total + at) * inner, src + o * n * inner, static_cast<size_t>(n * inner));
    } else if (n > 0) {
      Tensor part = narrow(out, dim, at, n);
      copy_(part, t);
    }
    at += n;
  }
  if (!dense.empty()) cuda_cat(out, dense, dense_at, dim);
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  if (autograd::recording(tensors)) {
    Tensor r = autograd::untracked([&] { return stack(tensors, dim); });
    size_t n = tensors.size();
    autograd::record("StackBackward0", tensors, {r}, {}, [n, d = wrap_dim(dim, r.dim(), "stack")](
        const Context& c) {
      std::vector<Tensor> out(n);
      for (size_t i = 0; i < n; ++i)
        if (c.needs_grad(i)) out[i] = select(c.grad(), d, static_cast<int64_t>(i));
      return out;
    });
    return r;
  }
  CTORCH_CHECK(!tensors.empty(), "[stack] stack expects a non-empty TensorList");
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    CTORCH_CHECK(tensors[i].sizes() == tensors[0].sizes(), "[stack] stack expects each tensor to be "
                 "equal size, but got ", tensors[0].sizes(), " at entry 0 and ", tensors[i].sizes(),
                 " at entry ", i);
    parts.push_back(unsqueeze(tensors[i], dim));
  }
  return cat(parts, dim);
}

Tensor atleast_1d(const Tensor& t) { return t.dim() == 0 ? reshape(t, {1}) : t; }
Tensor atleast_2d(const Tensor& t) {
  if (t.dim() >= 2) return t;
  return t.dim() == 0 ? reshape(t, {1, 1}) : unsqueeze(t, 0);
}
Tensor atleast_3d(const Tensor& t) {
  if (t.dim() >= 3) return t;
  if (t.dim() == 0) return reshape(t, {1, 1, 1});
  if (t.dim() == 1) return unsqueeze(unsqueeze(t, 0), 2);
  return unsqueeze(t, 2);
}

Tensor hstack(const std::vector<Tensor>& tensors) {
  CTORCH_CHECK(!tensors.empty(), "[hstack] hstack expects a non-empty TensorList");
  std::vector<Tensor> v;
  for (const Tensor& t : tensors) v.push_back(atleast_1d(t));
  return cat(v, v[0].dim() == 1 ? 0 : 1);
}

Tensor vstack(const std::vector<Tensor>& tensors) {
  CTORCH_CHECK(!tensors.empty(), "[vstack] vstack expects a non-empty TensorList");
  std::vector<Tensor> v;
  for (const Tensor& t : tensors) v.push_back(atleast_2d(t));
  return cat(v, 0);
}

Tensor dstack(const std::vector<Tensor>& tensors) {
  CTORCH_CHECK(!tensors.empty(), "[dstack] dstack expects a non-empty TensorList");
  std::vector<Tensor> v;
  for (const Tensor& t : tensors) v.push_back(atleast_3d(t));
  return cat(v, 2);
}

Tensor flip(const Tensor& self, IntArrayRef dims) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return flip(self, dims); });
    autograd::record("FlipBackward0", {self}, {r}, {}, [dims = DimVector(dims)](const Context& c) {
      return grads(flip(c.grad(), dims));
    });
    return r;
  }
  std::vector<bool> seen(std::max<int64_t>(self.dim(), 1), false);
  DimVector strides(self.strides());
  int64_t offset = self.storage_offset();
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, std::max<int64_t>(self.dim(), 1), "flip");
    CTORCH_CHECK(!seen[w], "[flip] dim ", w, " appears multiple times in the list of dims");
    seen[w] = true;
    if (self.dim() == 0) continue;
    // A view walking the dim backwards; copied at once, so the negative stride never escapes.
    if (self.sizes()[w] > 0) offset += (self.sizes()[w] - 1) * strides[w];
    strides[w] = -strides[w];
  }
  return clone(make_view(self, self.sizes(), strides, offset));
}

Tensor fliplr(const Tensor& self) {
  CTORCH_CHECK(self.dim() >= 2, "[fliplr] Input must be >= 2-d.");
  return flip(self, {1});
}

Tensor flipud(const Tensor& self) {
  CTORCH_CHECK(self.dim() >= 1, "[flipud] Input must be >= 1-d.");
  return flip(self, {0});
}

namespace {
Tensor roll_dim(const Tensor& t, int64_t shift, int64_t dim) {
  int64_t n = t.sizes()[dim];
  if (n == 0) return clone(t);
  shift = ((shift % n) + n) % n;
  if (shift == 0) return clone(t);
  return cat({narrow(t, dim, n - shift, shift), narrow(t, dim, 0, n - shift)}, dim);
}
}  // namespace

Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return roll(self, shifts, dims); });
    DimVector back;
    for (int64_t s : shifts) back.push_back(-s);
    autograd::record("RollBackward0", {self}, {r}, {}, [back, dims = DimVector(dims)](const Context& c) {
      return grads(roll(c.grad(), back, dims));
    });
    return r;
  }
  CTORCH_CHECK(!shifts.empty(), "[roll] `shifts` required");
  if (dims.empty()) {
    CTORCH_CHECK(shifts.size() == 1, "[roll] shifts and dimensions must align. shifts: ",
                 shifts.size(), ", dims:0");
    if (self.dim() == 0) return clone(self);
    return reshape(roll_dim(flatten(self), shifts[0], 0), self.sizes());
  }
  CTORCH_CHECK(shifts.size() == dims.size(), "[roll] shifts and dimensions must align. shifts: ",
               shifts.size(), ", dims:", dims.size());
  Tensor r = self;
  for (size_t i = 0; i < dims.size(); ++i)
    r = roll_dim(r, shifts[i], wrap_dim(dims[i], self.dim(), "roll"));
  return r.is_same(self) ? clone(self) : r;
}

Tensor repeat(const Tensor& self, IntArrayRef repeats) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return repeat(self, repeats); });
    autograd::record("RepeatBackward0", {self}, {r}, {}, [in = DimVector(self.sizes()),
        reps = DimVector(repeats)](const Context& c) {
      // The gradient seen as [r0, s0, r1, s1, ...] summed over every r_i.
      int64_t nd = static_cast<int64_t>(reps.size()), pad = nd - static_cast<int64_t>(in.size());
      DimVector split;
      std::vector<int64_t> copies;
      for (int64_t d = 0; d < nd; ++d) {
        split.push_back(reps[d]);
        split.push_back(d < pad ? 1 : in[d - pad]);
        copies.push_back(2 * d);
      }
      if (copies.empty()) return grads(c.grad());
      return grads(reshape(sum(reshape(c.grad(), split), copies), in));
    });
    return r;
  }
  CTORCH_CHECK(static_cast<int64_t>(repeats.size()) >= self.dim(), "[repeat] Number of dimensions "
               "of repeat dims can not be smaller than number of dimensions of tensor");
  const int64_t nd = static_cast<int64_t>(repeats.size()), pad = nd - self.dim();
  DimVector out_shape(nd), src_sizes, src_strides;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t s = d < pad ? 1 : self.sizes()[d - pad];
    CTORCH_CHECK(repeats[d] >= 0, "[repeat] Trying to create tensor with negative dimension ",
                 repeats[d] * s, ": ", repeats);
    CTORCH_CHECK(!__builtin_mul_overflow(repeats[d], s, &out_shape[d]), "[repeat] repeats ",
                 repeats, " make the tensor too large");
  }
  Tensor out = empty(out_shape, self.dtype(), self.device());
  if (out.numel() == 0) return out;
  // out viewed as [r0, s0, r1, s1, ...]: the source broadcasts over every r_i.
  DimVector ostr = contiguous_strides(out_shape), view_sizes, view_strides;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t s = d < pad ? 1 : self.sizes()[d - pad];
    view_sizes.push_back(repeats[d]);
    view_sizes.push_back(s);
    view_strides.push_back(s * ostr[d]);
    view_strides.push_back(ostr[d]);
    src_sizes.push_back(repeats[d]);
    src_sizes.push_back(s);
    src_strides.push_back(0);
    src_strides.push_back(d < pad ? 0 : self.strides()[d - pad]);
  }
  Tensor dst = make_view(out, view_sizes, view_strides, 0);
  copy_(dst, make_view(self, src_sizes, src_strides, self.storage_offset()));
  return out;
}

Tensor tile(const Tensor& self, IntArrayRef reps) {
  DimVector r;
  for (int64_t i = static_cast<int64_t>(reps.size()); i < self.dim(); ++i) r.push_back(1);
  for (int64_t v : reps) r.push_back(v);
  return repeat(self, r);
}

Tensor repeat_interleave(const Tensor& repeats) {
  CTORCH_CHECK(repeats.dim() <= 1, "[repeat_interleave] repeats must be 0-dim or 1-dim tensor");
  CTORCH_CHECK(repeats.dtype() == DType::Int64 || repeats.dtype() == DType::Int32,
               "[repeat_interleave] repeats has to be Long or Int tensor, got ", dtype_name(repeats.dtype()));
  // Counted on the host (the output's size is needed there anyway): one copy from a CUDA tensor.
  Tensor r = contiguous(to(repeats, DType::Int64, Device()));
  const int64_t* p = r.data<int64_t>();
  int64_t total = 0;
  for (int64_t i = 0; i < r.numel(); ++i) {
    CTORCH_CHECK(p[i] >= 0, "[repeat_interleave] repeats can not be negative");
    CTORCH_CHECK(!__builtin_add_overflow(total, p[i], &total), "[repeat_interleave] the repeats "
                 "add up to more elements than a tensor can hold");
  }
  Tensor out = empty({total}, DType::Int64);
  int64_t* o = out.data<int64_t>();
  for (int64_t i = 0, k = 0; i < r.numel(); ++i)
    for (int64_t j = 0; j < p[i]; ++j) o[k++] = i;
  return to(out, DType::Int64, repeats.device());
}

Tensor repeat_interleave(const Tensor& self, const Tensor& repeats, std::optional<int64_t> dim) {
  Tensor x = dim ? self : flatten(self);
  int64_t d = dim ? wrap_dim(*dim, std::max<int64_t>(x.dim(), 1), "repeat_interleave") : 0;
  x = x.dim() == 0 ? reshape(x, {1}) : x;
  Tensor reps = repeats;
  int64_t n = x.sizes()[d];
  if (reps.numel() == 1 && n != 1) reps = expand(reshape(reps, {1}), {n});
  CTORCH_CHECK(reps.dim() <= 1 && reps.numel() == n, "[repeat_interleave] repeats must have the "
               "same size as input along dim, but got repeats.size(0) = ", reps.numel(),
               " and input.size(", d, ") = ", n);
  return index_select(x, d, repeat_interleave(reshape(reps, {n})));
}

Tensor repeat_interleave(const Tensor& self, int64_t repeats, std::optional<int64_t> dim) {
  CTORCH_CHECK(repeats >= 0, "[repeat_interleave] Repeats must be non-negative");
  // Every slice along the dim repeated: [.., n, ..] -> [.., n, repeats, ..] merged (a composite
  // of views and one copy, so it is differentiable through them).
  Tensor x = dim ? self : flatten(self);
  int64_t d = dim ? wrap_dim(*dim, std::max<int64_t>(x.dim(), 1), "repeat_interleave") : 0;
  x = x.dim() == 0 ? reshape(x, {1}) : x;
  DimVector wide(x.sizes()), merged(x.sizes());
  wide.insert(d + 1, repeats);
  merged[d] *= repeats;
  return view(clone(expand(unsqueeze(x, d + 1), wide)), merged);
}

namespace {
// True where element (i, j) of the last two dims lies on or below (lower) / above (upper) the
// diagonal `k`.
Tensor triangle_mask(const Tensor& self, int64_t k, bool lower, const char* op) {
  CTORCH_CHECK(self.dim() >= 2, "[", op, "] ", op, ": input tensor must have at least 2 dimensions");
  int64_t n = self.sizes()[self.dim() - 2], m = self.sizes()[self.dim() - 1];
  Tensor rows = reshape(arange(Scalar(int64_t(0)), Scalar(n), Scalar(int64_t(1)), DType::Int64, self.device()), {n, 1});
  Tensor cols = arange(Scalar(int64_t(0)), Scalar(m), Scalar(int64_t(1)), DType::Int64, self.device());
  Tensor diff = sub(cols, rows);  // j - i
  return lower ? le(diff, Scalar(k)) : ge(diff, Scalar(k));
}
Tensor triangle(const Tensor& self, int64_t k, bool lower, const char* op) {
  Tensor mask = triangle_mask(self, k, lower, op);
  return where(mask, self, scalar_tensor(Scalar(int64_t(0)), self.dtype(), self.device()));
}
}  // namespace

Tensor tril(const Tensor& self, int64_t diagonal) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return tril(self, diagonal); });
    autograd::record("TrilBackward0", {self}, {r}, {}, [diagonal](const Context& c) {
      return grads(tril(c.grad(), diagonal));
    });
    return r;
  }
  return triangle(self, diagonal, true, "tril");
}
Tensor triu(const Tensor& self, int64_t diagonal) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return triu(self, diagonal); });
    autograd::record("TriuBackward0", {self}, {r}, {}, [diagonal](const Context& c) {
      return grads(triu(c.grad(), diagonal));
    });
    return r;
  }
  return triangle(self, diagonal, false, "triu");
}
Tensor& tril_(Tensor& self, int64_t diagonal) {
  if (autograd::recording({&self}))
    return autograd::inplace(self, [&](const Tensor& s) { return tril(s, diagonal); }, "tril_");
  return copy_(self, tril(self, diagonal));
}
Tensor& triu_(Tensor& self, int64_t diagonal) {
  if (autograd::recording({&self}))
    return autograd::inplace(self, [&](const Tensor& s) { return triu(s, diagonal); }, "triu_");
  return copy_(self, triu(self, diagonal));
}

Tensor diag(const Tensor& self, int64_t k) {
  CTORCH_CHECK(self.dim() == 1 || self.dim() == 2, "[diag] diag(): Supports 1D or 2D tensors. Got ",
               self.dim(), "D");
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return diag(self, k); });
    if (self.dim() == 2) {
      // PyTorch 2.13 names this node after its diagonal_copy.
      autograd::record("DiagonalBackward0_copy", {self}, {r}, {}, [in = DimVector(self.sizes()), k](
          const Context& c) {
        return grads(diagonal_scatter(zeros_like(c.grad(), in), c.grad(), k, 0, 1));
      });
    } else {
      autograd::record("DiagEmbedBackward0", {self}, {r}, {}, [k](const Context& c) {
        return grads(diagonal(c.grad(), k, 0, 1));
      });
    }
    return r;
  }
  if (self.dim() == 2) return clone(diagonal(self, k, 0, 1));
  int64_t n = self.sizes()[0] + (k >= 0 ? k : -k);
  Tensor out = zeros({n, n}, self.dtype(), self.device());
  Tensor d = diagonal(out, k, 0, 1);
  copy_(d, self);
  return out;
}

Tensor diag_embed(const Tensor& self, int64_t offset, int64_t dim1, int64_t dim2) {
  CTORCH_CHECK(self.dim() >= 1, "[diag_embed] input must have at least 1 dimension");
  int64_t nd = self.dim() + 1;
  int64_t d1 = wrap_dim(dim1, nd, "diag_embed"), d2 = wrap_dim(dim2, nd, "diag_embed");
  CTORCH_CHECK(d1 != d2, "[diag_embed] diagonal dimensions cannot be identical ", dim1, ", ", dim2);
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return diag_embed(self, offset, d1, d2); });
    autograd::record("DiagEmbedBackward0", {self}, {r}, {}, [offset, d1, d2](const Context& c) {
      return grads(diagonal(c.grad(), offset, d1, d2));
    });
    return r;
  }
  int64_t n = self.sizes()[self.dim() - 1] + (offset >= 0 ? offset : -offset);
  DimVector shape;
  for (int64_t d = 0; d < self.dim() - 1; ++d) shape.push_back(self.sizes()[d]);
  // Insert the two new dims in increasing position order.
  int64_t lo = std::min(d1, d2), hi = std::max(d1, d2);
  shape.insert(lo, n);
  shape.insert(hi, n);
  Tensor out = zeros(shape, self.dtype(), self.device());
  Tensor d = diagonal(out, offset, d1, d2);
  copy_(d, self);
  return out;
}

Tensor select_scatter(const Tensor& self, const Tensor& src, int64_t dim, int64_t index) {
  if (autograd::recording({&self, &src})) {
    Tensor r = autograd::untracked([&] { return select_scatter(self, src, dim, index); });
    autograd::record("SelectScatterBackward0", {self, src}, {r}, {}, [src_shape = DimVector(src.sizes()),
        dim, index](const Context& c) {
      const Tensor& g = c.grad();
      return std::vector<Tensor>{
          c.needs_grad(0) ? select_scatter(g, zeros_like(g, src_shape), dim, index) : Tensor(),
          c.needs_grad(1) ? select(g, dim, index) : Tensor()};
    });
    return r;
  }
  Tensor out = clone(self);
  Tensor v = select(out, dim, index);
  CTORCH_CHECK(v.sizes() == src.sizes(), "[select_scatter] expected src to have a size equal to the "
               "slice of self. src size = ", src.sizes(), ", slice size = ", v.sizes());
  copy_(v, src);
  return out;
}

Tensor slice_scatter(const Tensor& self, const Tensor& src, int64_t dim, std::optional<int64_t> start,
                     std::optional<int64_t> end, int64_t step) {
  if (autograd::recording({&self, &src})) {
    Tensor r = autograd::untracked([&] { return slice_scatter(self, src, dim, start, end, step); });
    autograd::record("SliceScatterBackward0", {self, src}, {r}, {}, [src_shape = DimVector(src.sizes()),
        dim, start, end, step](const Context& c) {
      const Tensor& g = c.grad();
      return std::vector<Tensor>{
          c.needs_grad(0) ? slice_scatter(g, zeros_like(g, src_shape), dim, start, end, step) : Tensor(),
          c.needs_grad(1) ? slice(g, dim, start, end, step) : Tensor()};
    });
    return r;
  }
  Tensor out = clone(self);
  Tensor v = slice(out, dim, start, end, step);
  CTORCH_CHECK(v.sizes() == src.sizes(), "[slice_scatter] expected src to have a size equal to the "
               "slice of self. src size = ", src.sizes(), ", slice size = ", v.sizes());
  copy_(v, src);
  return out;
}

Tensor diagonal_scatter(const Tensor& self, const Tensor& src, int64_t offset, int64_t dim1, int64_t dim2) {
  if (autograd::recording({&self, &src})) {
    Tensor r = autograd::untracked([&] { return diagonal_scatter(self, src, offset, dim1, dim2); });
    autograd::record("DiagonalScatterBackward0", {self, src}, {r}, {}, [src_shape = DimVector(src.sizes()),
        offset, dim1, dim2](const Context& c) {
      const Tensor& g = c.grad();
      return std::vector<Tensor>{
          c.needs_grad(0) ? diagonal_scatter(g, zeros_like(g, src_shape), offset, dim1, dim2) : Tensor(),
          c.needs_grad(1) ? diagonal(g, offset, dim1, dim2) : Tensor()};
    });
    return r;
  }
  Tensor out = clone(self);
  Tensor v = diagonal(out, offset, dim1, dim2);
  CTORCH_CHECK(v.sizes() == src.sizes(), "[diagonal_scatter] expected src to have a size equal to the "
               "slice of self. src size = ", src.sizes(), ", slice size = ", v.sizes());
  copy_(v, src);
  return out;
}

Tensor rot90(const Tensor& self, int64_t k, IntArrayRef dims) {
  CTORCH_CHECK(dims.size() == 2, "[rot90] expected total rotation dims == 2, but got dims = ", dims.size());
  CTORCH_CHECK(self.dim() >= 2, "[rot90] expected total dims >= 2, but got total dims = ", self.dim());
  int64_t d0 = wrap_dim(dims[0], self.dim(), "rot90"), d1 = wrap_dim(dims[1], self.dim(), "rot90");
  CTORCH_CHECK(d0 != d1, "[rot90] expected rotation dims to be different, but got dim0 = ", d0,
               " and dim1 = ", d1);
  k = ((k % 4) + 4) % 4;
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return rot90(self, k, dims); });
    autograd::record("Rot90Backward0", {self}, {r}, {}, [k, dims = DimVector(dims)](const Context& c) {
      return grads(rot90(c.grad(), 4 - k, dims));
    });
    return r;
  }
  if (k == 1) return transpose(flip(self, {d1}), d0, d1);
  if (k == 2) return flip(self, {d0, d1});
  if (k == 3) return flip(transpose(self, d0, d1), {d1});
  return clone(self);
}

namespace {
Tensor triangle_indices(int64_t row, int64_t col, int64_t offset, bool lower, DType dtype, Device device,
                        const char* op) {
  CTORCH_CHECK(row >= 0, "[", op, "] row must be non-negative, got ", row);
  CTORCH_CHECK(col >= 0, "[", op, "] col must be non-negative, got ", col);
  // Made on the host (the count is needed there) and copied to `device` once.
  std::vector<int64_t> rs, cs;
  for (int64_t i = 0; i < row; ++i)
    for (int64_t j = 0; j < col; ++j)
      if (lower ? j - i <= offset : j - i >= offset) { rs.push_back(i); cs.push_back(j); }
  int64_t n = static_cast<int64_t>(rs.size());
  Tensor out = empty({2, n}, DType::Int64);
  if (n) {
    memcpy(out.data<int64_t>(), rs.data(), n * sizeof(int64_t));
    memcpy(out.data<int64_t>() + n, cs.data(), n * sizeof(int64_t));
  }
  return to(out, dtype, device);
}
}  // namespace

Tensor tril_indices(int64_t row, int64_t col, int64_t offset, DType dtype, Device device) {
  return triangle_indices(row, col, offset, true, dtype, device, "tril_indices");
}
Tensor triu_indices(int64_t row, int64_t col, int64_t offset, DType dtype, Device device) {
  return triangle_indices(row, col, offset, false, dtype, device, "triu_indices");
}

std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, const std::string& indexing) {
  CTORCH_CHECK(indexing == "ij" || indexing == "xy", "[meshgrid] torch.meshgrid: indexing must be one "
               "of \"xy\" or \"ij\", but received: ", indexing);
  CTORCH_CHECK(!tensors.empty(), "[meshgrid] expects a non-empty TensorList");
  size_t n = tensors.size();
  std::vector<size_t> pos(n);
  for (size_t i = 0; i < n; ++i) pos[i] = i;
  if (indexing == "xy" && n >= 2) std::swap(pos[0], pos[1]);
  DimVector shape(n);
  for (size_t i = 0; i < n; ++i) {
    CTORCH_CHECK(tensors[i].dim() <= 1, "[meshgrid] torch.meshgrid: Expected 0D or 1D tensor in the "
                 "tensor list but got a tensor of shape ", tensors[i].sizes());
    CTORCH_CHECK(tensors[i].dtype() == tensors[0].dtype(), "[meshgrid] expects all tensors to have "
                 "the same dtype");
    shape[pos[i]] = tensors[i].numel();
  }
  std::vector<Tensor> out;
  for (size_t i = 0; i < n; ++i) {
    DimVector vs(n, 1);
    vs[pos[i]] = tensors[i].numel();
    out.push_back(expand(reshape(tensors[i], vs), shape));
  }
  return out;
}

}  // namespace ctorch
