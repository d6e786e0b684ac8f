// View ops: new sizes/strides/offset over the same storage; none of them copies. Each records
// its backward when an input requires grad; the outputs stay views of the input's base.
#include <algorithm>
#include <optional>
#include "autograd/function.h"
#include "autograd/nodes.h"
#include "ctorch/ops.h"

namespace ctorch {

namespace {

using autograd::Context;
using autograd::grads;

// Records a view op over `in` (the outputs are views from make_view: no saved tensors needed,
// formulas keep only geometry).
void record_view(const char* name, const Tensor& in, const std::vector<Tensor>& outs,
                 autograd::BackwardFn backward) {
  autograd::record(name, {in}, outs, {}, std::move(backward));
}

// The gradient of a view that picks part of its input: zeros of the input's shape with g where
// the view reads. A higher-order backward needs the differentiable *_scatter op; a plain one
// writes g straight into the zeros (one buffer, not two).
template <class View, class Scatter>
Tensor embed_grad(IntArrayRef in, const Tensor& g, View view, Scatter scatter) {
  Tensor z = zeros(in, g.dtype(), g.device());
  if (autograd::is_grad_enabled()) return scatter(z, g);
  Tensor part = view(z);
  copy_(part, g);
  return z;
}

// One past the largest storage index a geometry reads (its offset when it reads nothing).
int64_t storage_end(IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  int64_t end = offset + 1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0) return offset;
    end += (sizes[i] - 1) * strides[i];
  }
  return end;
}

// Whether two elements of a geometry may share a storage position (strides sorted, each must
// step over everything the smaller ones cover).
bool maybe_overlapping(IntArrayRef sizes, IntArrayRef strides) {
  std::vector<std::pair<int64_t, int64_t>> dims;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0) return false;
    if (sizes[i] != 1) dims.emplace_back(strides[i], sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t covered = 0;  // the largest index reached by the smaller dims
  for (auto [stride, size] : dims) {
    if (stride <= covered) return true;
    covered += (size - 1) * stride;
  }
  return false;
}

DimVector infer_size(IntArrayRef shape, int64_t numel, const char* op) {
  DimVector out(shape);
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      CTORCH_CHECK(infer < 0, "[", op, "] only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else {
      CTORCH_CHECK(shape[i] >= 0, "[", op, "] invalid shape dimension ", shape[i]);
      known *= shape[i];
    }
  }
  bool ok = infer >= 0 ? (known != 0 && numel % known == 0) : known == numel;
  CTORCH_CHECK(ok, "[", op, "] shape '", shape, "' is invalid for input of size ", numel);
  if (infer >= 0) out[infer] = numel / known;
  return out;
}

// Strides that let `newshape` view memory laid out as (oldshape, oldstrides), if any exist.
std::optional<DimVector> view_strides(IntArrayRef oldshape, IntArrayRef oldstrides,
                                      IntArrayRef newshape) {
  DimVector newstrides(newshape.size());
  if (oldshape.empty()) return contiguous_strides(newshape);
  if (shape_numel(oldshape) == 0) return contiguous_strides(newshape);
  int64_t view_d = static_cast<int64_t>(newshape.size()) - 1;
  int64_t chunk_base = oldstrides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(oldshape.size()) - 1; d >= 0; --d) {
    tensor_numel *= oldshape[d];
    // A chunk ends where the next-outer dim does not continue it contiguously.
    if (d == 0 || (oldshape[d - 1] != 1 && oldstrides[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || newshape[view_d] == 1)) {
        newstrides[view_d] = view_numel * chunk_base;
        view_numel *= newshape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) { chunk_base = oldstrides[d - 1]; tensor_numel = 1; view_numel = 1; }
    }
  }
  if (view_d != -1) return std::nullopt;
  return newstrides;
}

}  // namespace

Tensor alias(const Tensor& t) {
  Tensor r = make_view(t, t.sizes(), t.strides(), t.storage_offset());
  if (autograd::recording({&t}))
    record_view("AliasBackward0", t, {r}, [](const Context& c) { return grads(c.grad()); });
  return r;
}

Tensor view(const Tensor& t, IntArrayRef shape) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return view(t, shape); });
    record_view("ViewBackward0", t, {r}, [in = DimVector(t.sizes())](const Context& c) {
      return grads(reshape(c.grad(), in));
    });
    return r;
  }
  DimVector sizes = infer_size(shape, t.numel(), "view");
  if (t.is_contiguous()) return make_view(t, sizes, contiguous_strides(sizes), t.storage_offset());
  auto st = view_strides(t.sizes(), t.strides(), sizes);
  CTORCH_CHECK(st, "[view] view size is not compatible with input tensor's size and stride (at "
               "least one dimension spans across two contiguous subspaces); input shape ",
               t.sizes(), ", strides ", t.strides(), ", requested ", shape,
               ". Use .reshape(...) instead.");
  return make_view(t, sizes, *st, t.storage_offset());
}

Tensor reshape(const Tensor& t, IntArrayRef shape) {
  DimVector sizes = infer_size(shape, t.numel(), "reshape");
  if (t.is_contiguous()) return view(t, sizes);
  if (auto st = view_strides(t.sizes(), t.strides(), sizes)) {
    Tensor r = make_view(t, sizes, *st, t.storage_offset());
    if (autograd::recording({&t}))
      record_view("ReshapeAliasBackward0", t, {r}, [in = DimVector(t.sizes())](const Context& c) {
        return grads(reshape(c.grad(), in));
      });
    return r;
  }
  // A copy that owns its storage (no view of the copy), like PyTorch's _unsafe_view.
  Tensor c = autograd::untracked([&] { return clone(t); });
  Tensor r(std::make_shared<TensorImpl>(c.storage(), sizes, contiguous_strides(sizes), 0, t.dtype()));
  if (autograd::recording({&t}))
    autograd::record("UnsafeViewBackward0", {t}, {r}, {}, [in = DimVector(t.sizes())](const Context& c) {
      return grads(reshape(c.grad(), in));
    });
  return r;
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  int64_t s = wrap_dim(start_dim, t.dim(), "flatten"), e = wrap_dim(end_dim, t.dim(), "flatten");
  CTORCH_CHECK(s <= e, "[flatten] start_dim cannot come after end_dim");
  if (t.dim() == 0) return reshape(t, {1});
  if (s == e) return t;
  DimVector shape;
  for (int64_t d = 0; d < s; ++d) shape.push_back(t.size(d));
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= t.size(d);
  shape.push_back(n);
  for (int64_t d = e + 1; d < t.dim(); ++d) shape.push_back(t.size(d));
  return reshape(t, shape);
}

Tensor unflatten(const Tensor& t, int64_t dim, IntArrayRef sizes) {
  dim = wrap_dim(dim, t.dim(), "unflatten");
  CTORCH_CHECK(!sizes.empty(), "[unflatten] sizes must be non-empty");
  DimVector inner = infer_size(sizes, t.size(dim), "unflatten");
  DimVector shape;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == dim) for (int64_t s : inner) shape.push_back(s);
    else shape.push_back(t.size(d));
  }
  return view(t, shape);
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return transpose(t, dim0, dim1); });
    record_view("TransposeBackward0", t, {r}, [dim0, dim1](const Context& c) {
      return grads(transpose(c.grad(), dim0, dim1));
    });
    return r;
  }
  int64_t n = t.dim();
  if (n == 0) { wrap_dim(dim0, n, "transpose"); wrap_dim(dim1, n, "transpose"); return alias(t); }
  dim0 = wrap_dim(dim0, n, "transpose");
  dim1 = wrap_dim(dim1, n, "transpose");
  DimVector sizes(t.sizes()), strides(t.strides());
  std::swap(sizes[dim0], sizes[dim1]);
  std::swap(strides[dim0], strides[dim1]);
  return make_view(t, sizes, strides, t.storage_offset());
}

Tensor t(const Tensor& x) {
  if (autograd::recording({&x})) {
    Tensor r = autograd::untracked([&] { return t(x); });
    record_view("TBackward0", x, {r}, [](const Context& c) { return grads(t(c.grad())); });
    return r;
  }
  CTORCH_CHECK(x.dim() <= 2, "[t] t() expects a tensor with <= 2 dimensions, but self is ",
               x.dim(), "D");
  return x.dim() < 2 ? alias(x) : transpose(x, 0, 1);
}

Tensor permute(const Tensor& t, IntArrayRef dims) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return permute(t, dims); });
    DimVector inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], t.dim(), "permute")] = i;
    record_view("PermuteBackward0", t, {r}, [inverse](const Context& c) {
      return grads(permute(c.grad(), inverse));
    });
    return r;
  }
  int64_t n = t.dim();
  CTORCH_CHECK(static_cast<int64_t>(dims.size()) == n, "[permute] number of dims don't match in "
               "permute: input has ", n, " dims, got ", dims);
  DimVector sizes(n), strides(n);
  std::vector<bool> seen(n, false);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, "permute");
    CTORCH_CHECK(!seen[d], "[permute] repeated dim in ", dims);
    seen[d] = true;
    sizes[i] = t.sizes()[d];
    strides[i] = t.strides()[d];
  }
  return make_view(t, sizes, strides, t.storage_offset());
}

Tensor movedim(const Tensor& t, IntArrayRef source, IntArrayRef destination) {
  int64_t n = t.dim();
  CTORCH_CHECK(source.size() == destination.size(), "[movedim] Invalid source or destination "
               "dims: source (", source, ") and destination (", destination,
               ") must have the same number of elements");
  DimVector order(n, -1);
  std::vector<bool> used_src(n, false);
  for (size_t i = 0; i < source.size(); ++i) {
    int64_t s = wrap_dim(source[i], n, "movedim"), d = wrap_dim(destination[i], n, "movedim");
    CTORCH_CHECK(order[d] == -1 && !used_src[s], "[movedim] repeated dim");
    order[d] = s;
    used_src[s] = true;
  }
  int64_t next = 0;
  for (int64_t d = 0; d < n; ++d) {
    if (order[d] != -1) continue;
    while (used_src[next]) ++next;
    order[d] = next++;
  }
  return permute(t, order);
}

Tensor expand(const Tensor& t, IntArrayRef sizes) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return expand(t, sizes); });
    record_view("ExpandBackward0", t, {r}, [in = DimVector(t.sizes())](const Context& c) {
      return grads(autograd::sum_to(c.grad(), in));
    });
    return r;
  }
  int64_t n = static_cast<int64_t>(sizes.size()), nt = t.dim();
  CTORCH_CHECK(n >= nt, "[expand] the number of sizes provided (", n, ") must be greater or "
               "equal to the number of dimensions in the tensor (", nt, ")");
  DimVector out_sizes(n), out_strides(n);
  for (int64_t i = n - 1; i >= 0; --i) {
    int64_t td = i - (n - nt);
    int64_t size = td >= 0 ? t.sizes()[td] : 1, stride = td >= 0 ? t.strides()[td] : 0;
    int64_t want = sizes[i];
    if (want == -1) {
      CTORCH_CHECK(td >= 0, "[expand] -1 is not allowed in a leading, non-existing dimension");
      want = size;
    }
    CTORCH_CHECK(size == want || size == 1, "[expand] The expanded size of the tensor (", want,
                 ") must match the existing size (", size, ") at non-singleton dimension ", i,
                 ".  Target sizes: ", sizes, ".  Tensor sizes: ", t.sizes());
    CTORCH_CHECK(want >= 0, "[expand] invalid size ", want);
    out_sizes[i] = want;
    out_strides[i] = size == want ? stride : 0;
  }
  return make_view(t, out_sizes, out_strides, t.storage_offset());
}

Tensor broadcast_to(const Tensor& t, IntArrayRef sizes) { return expand(t, sizes); }

std::vector<Tensor> broadcast_tensors(const std::vector<Tensor>& tensors) {
  DimVector shape;
  for (const Tensor& t : tensors) shape = broadcast_shapes(shape, t.sizes(), "broadcast_tensors");
  std::vector<Tensor> out;
  // A tensor that already has the shape is returned as is, as in PyTorch.
  for (const Tensor& t : tensors) out.push_back(t.sizes() == IntArrayRef(shape) ? t : expand(t, shape));
  return out;
}

Tensor squeeze(const Tensor& t) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return squeeze(t); });
    record_view("SqueezeBackward0", t, {r}, [in = DimVector(t.sizes())](const Context& c) {
      return grads(reshape(c.grad(), in));
    });
    return r;
  }
  DimVector sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.sizes()[d] != 1) { sizes.push_back(t.sizes()[d]); strides.push_back(t.strides()[d]); }
  return make_view(t, sizes, strides, t.storage_offset());
}

Tensor squeeze(const Tensor& t, IntArrayRef dims) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return squeeze(t, dims); });
    // PyTorch: SqueezeBackward1 for one dim, SqueezeBackward2 for a tuple (one dim here too).
    record_view(dims.size() == 1 ? "SqueezeBackward1" : "SqueezeBackward2", t, {r},
                [in = DimVector(t.sizes())](const Context& c) { return grads(reshape(c.grad(), in)); });
    return r;
  }
  std::vector<bool> drop(t.dim(), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, t.dim(), "squeeze");
    if (t.dim() > 0 && t.sizes()[w] == 1) drop[w] = true;
  }
  DimVector sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (!drop[d]) { sizes.push_back(t.sizes()[d]); strides.push_back(t.strides()[d]); }
  return make_view(t, sizes, strides, t.storage_offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return unsqueeze(t, dim); });
    record_view("UnsqueezeBackward0", t, {r}, [in = DimVector(t.sizes())](const Context& c) {
      return grads(reshape(c.grad(), in));
    });
    return r;
  }
  dim = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  DimVector sizes(t.sizes()), strides(t.strides());
  int64_t st = dim < t.dim() ? sizes[dim] * strides[dim] : 1;
  sizes.insert(dim, 1);
  strides.insert(dim, st);
  return make_view(t, sizes, strides, t.storage_offset());
}

Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start_opt,
             std::optional<int64_t> end_opt, int64_t step) {
  CTORCH_CHECK(t.dim() > 0, "[slice] slice() cannot be applied to a 0-dim tensor.");
  dim = wrap_dim(dim, t.dim(), "slice");
  CTORCH_CHECK_VALUE(step > 0, "[slice] step must be greater than zero");
  int64_t n = t.sizes()[dim];
  int64_t start = start_opt.value_or(0), end = end_opt.value_or(n);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return slice(t, dim, start, end, step); });
    record_view("SliceBackward0", t, {r}, [in = DimVector(t.sizes()), dim, start, end, step](
        const Context& c) {
      return grads(embed_grad(in, c.grad(),
          [&](const Tensor& z) { return slice(z, dim, start, end, step); },
          [&](const Tensor& z, const Tensor& g) { return slice_scatter(z, g, dim, start, end, step); }));
    });
    return r;
  }
  DimVector sizes(t.sizes()), strides(t.strides());
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  return make_view(t, sizes, strides, t.storage_offset() + start * t.strides()[dim]);
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  CTORCH_CHECK(t.dim() > 0, "[narrow] narrow() cannot be applied to a 0-dim tensor.");
  dim = wrap_dim(dim, t.dim(), "narrow");
  int64_t n = t.sizes()[dim];
  CTORCH_CHECK_INDEX(start >= -n && start <= n, "[narrow] start (", start, ") is out of bounds "
                     "for dimension of size ", n);
  if (start < 0) start += n;
  CTORCH_CHECK(length >= 0 && start + length <= n, "[narrow] start (", start, ") + length (",
               length, ") exceeds dimension size (", n, ").");
  return slice(t, dim, start, start + length, 1);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  CTORCH_CHECK_INDEX(t.dim() > 0, "[select] select() cannot be applied to a 0-dim tensor.");
  dim = wrap_dim(dim, t.dim(), "select");
  int64_t n = t.sizes()[dim];
  CTORCH_CHECK_INDEX(index >= -n && index < n, "index ", index, " is out of bounds for dimension ",
                     dim, " with size ", n);
  if (index < 0) index += n;
  if (autograd::recording({&t})) {
    Tensor r = autograd::untracked([&] { return select(t, dim, index); });
    record_view("SelectBackward0", t, {r}, [in = DimVector(t.sizes()), dim, index](const Context& c) {
      return grads(embed_grad(in, c.grad(), [&](const Tensor& z) { return select(z, dim, index); },
          [&](const Tensor& z, const Tensor& g) { return select_scatter(z, g, dim, index); }));
    });
    return r;
  }
  DimVector sizes(t.sizes()), strides(t.strides());
  int64_t offset = t.storage_offset() + index * strides[dim];
  sizes.erase(dim);
  strides.erase(dim);
  return make_view(t, sizes, strides, offset);
}

std::vector<Tensor> unbind(const Tensor& t, int64_t dim) {
  CTORCH_CHECK_INDEX(t.dim() > 0, "[unbind] Dimension specified as 0 but tensor has no dimensions");
  dim = wrap_dim(dim, t.dim(), "unbind");
  std::vector<Tensor> out;
  {
    autograd::NoGradGuard guard;
    for (int64_t i = 0; i < t.sizes()[dim]; ++i) out.push_back(select(t, dim, i));
  }
  if (!out.empty() && autograd::recording({&t})) {
    size_t n = out.size();
    record_view("UnbindBackward0", t, out, [dim, n](const Context& c) {
      std::vector<Tensor> parts;
      for (size_t i = 0; i < n; ++i) parts.push_back(c.grad(i));
      return grads(stack(parts, dim));
    });
  }
  return out;
}

namespace {
// One node for every piece of a split along `dim`: the gradient is the pieces' gradients joined.
void record_split(const char* name, const Tensor& t, const std::vector<Tensor>& pieces, int64_t dim) {
  size_t n = pieces.size();
  record_view(name, t, pieces, [n, dim = wrap_dim(dim, t.dim(), name)](const Context& c) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < n; ++i) parts.push_back(c.grad(i));
    return grads(cat(parts, dim));
  });
}
}  // namespace

std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim) {
  if (autograd::recording({&t})) {
    std::vector<Tensor> r = autograd::untracked([&] { return split(t, split_size, dim); });
    record_split("SplitBackward0", t, r, dim);
    return r;
  }
  CTORCH_CHECK(t.dim() > 0, "[split] split expects at least a 1-dimensional tensor");
  dim = wrap_dim(dim, t.dim(), "split");
  CTORCH_CHECK(split_size >= 0, "[split] split expects split_size be non-negative, but got ",
               split_size);
  int64_t n = t.sizes()[dim];
  CTORCH_CHECK(split_size > 0 || n == 0, "[split] split_size can only be 0 if dimension size is 0");
  std::vector<Tensor> out;
  if (split_size == 0) return {alias(t)};
  for (int64_t s = 0; s < n || (n == 0 && s == 0); s += split_size) {
    out.push_back(slice(t, dim, s, std::min(n, s + split_size), 1));
    if (n == 0) break;
  }
  return out;
}

std::vector<Tensor> split_with_sizes(const Tensor& t, IntArrayRef sizes, int64_t dim) {
  if (autograd::recording({&t})) {
    std::vector<Tensor> r = autograd::untracked([&] { return split_with_sizes(t, sizes, dim); });
    if (!r.empty()) record_split("SplitWithSizesBackward0", t, r, dim);
    return r;
  }
  CTORCH_CHECK(t.dim() > 0, "[split] split expects at least a 1-dimensional tensor");
  dim = wrap_dim(dim, t.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    CTORCH_CHECK(s >= 0, "[split_with_sizes] expects split_sizes have only non-negative entries");
    total += s;
  }
  CTORCH_CHECK(total == t.sizes()[dim], "[split_with_sizes] expects split_sizes to sum exactly to ",
               t.sizes()[dim], " (input tensor's size at dimension ", dim, "), but got split_sizes=",
               sizes);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) { out.push_back(slice(t, dim, start, start + s, 1)); start += s; }
  return out;
}

std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  CTORCH_CHECK(t.dim() > 0, "[chunk] chunk expects at least a 1-dimensional tensor");
  CTORCH_CHECK(chunks > 0, "[chunk] chunk expects `chunks` to be greater than 0, got: ", chunks);
  dim = wrap_dim(dim, t.dim(), "chunk");
  int64_t n = t.sizes()[dim];
  // An empty dimension still gives `chunks` (empty) pieces, as in PyTorch.
  if (n == 0) return split_with_sizes(t, std::vector<int64_t>(static_cast<size_t>(chunks), 0), dim);
  return split(t, (n + chunks - 1) / chunks, dim);
}

Tensor as_strided(const Tensor& t, IntArrayRef size, IntArrayRef stride,
                  std::optional<int64_t> storage_offset) {
  CTORCH_CHECK(size.size() == stride.size(), "[as_strided] mismatch in length of strides and "
               "shape");
  int64_t offset = storage_offset.value_or(t.storage_offset());
  CTORCH_CHECK(offset >= 0, "[as_strided] negative storage offset ", offset);
  int64_t max_index = offset;
  bool empty_view = false;
  for (size_t i = 0; i < size.size(); ++i) {
    CTORCH_CHECK(size[i] >= 0 && stride[i] >= 0, "[as_strided] negative size or stride in ",
                 size, " / ", stride);
    if (size[i] == 0) empty_view = true;
    else max_index += (size[i] - 1) * stride[i];
  }
  int64_t capacity = static_cast<int64_t>(t.storage()->nbytes / t.element_size());
  CTORCH_CHECK(empty_view || max_index < capacity, "[as_strided] setStorage: sizes ", size,
               ", strides ", stride, ", storage offset ", offset, " require ",
               (max_index + 1) * static_cast<int64_t>(t.element_size()),
               " bytes but the storage holds only ", t.storage()->nbytes, " bytes");
  Tensor r = make_view(t, size, stride, offset);
  if (autograd::recording({&t})) {
    // The gradient goes through the storage: the output's gradient is added at the positions
    // it reads, and the input reads its own. Positions are relative to the lowest one either
    // geometry touches.
    int64_t lo = std::min(offset, t.storage_offset());
    int64_t hi = std::max(storage_end(size, stride, offset),
                          storage_end(t.sizes(), t.strides(), t.storage_offset()));
    record_view("AsStridedBackward0", t, {r}, [extent = hi - lo, out_sizes = DimVector(size),
        out_strides = DimVector(stride), out_offset = offset - lo, in_sizes = DimVector(t.sizes()),
        in_strides = DimVector(t.strides()), in_offset = t.storage_offset() - lo](const Context& c) {
      const Tensor& g = c.grad();
      using autograd::add_into_storage;
      using autograd::storage_positions;
      Tensor store = add_into_storage(g, storage_positions(extent, out_sizes, out_strides, out_offset), extent);
      Tensor in_pos = storage_positions(extent, in_sizes, in_strides, in_offset);
      Tensor gi = index_select(store, 0, in_pos);
      if (maybe_overlapping(in_sizes, in_strides)) {
        // An input reading a position several times (expanded) shares its gradient out.
        Tensor count = add_into_storage(ones({in_pos.numel()}, g.dtype(), g.device()), in_pos, extent);
        gi = div(gi, index_select(count, 0, in_pos));
      }
      return grads(reshape(gi, in_sizes));
    });
  }
  return r;
}

Tensor diagonal(const Tensor& t, int64_t offset, int64_t dim1, int64_t dim2) {
  CTORCH_CHECK(t.dim() >= 2, "[diagonal] diagonal dimensions requested on a ", t.dim(),
               "-dim tensor; need at least 2");
  int64_t d1 = wrap_dim(dim1, t.dim(), "diagonal"), d2 = wrap_dim(dim2, t.dim(), "diagonal");
  CTORCH_CHECK(d1 != d2, "[diagonal] diagonal dimensions cannot be identical ", dim1, ", ", dim2);
  int64_t n1 = t.sizes()[d1], n2 = t.sizes()[d2];
  int64_t len = offset >= 0 ? std::max<int64_t>(std::min(n1, n2 - offset), 0)
                            : std::max<int64_t>(std::min(n1 + offset, n2), 0);
  int64_t start = t.storage_offset();
  if (len > 0) start += offset >= 0 ? offset * t.strides()[d2] : -offset * t.strides()[d1];
  DimVector sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (d != d1 && d != d2) { sizes.push_back(t.sizes()[d]); strides.push_back(t.strides()[d]); }
  sizes.push_back(len);
  strides.push_back(t.strides()[d1] + t.strides()[d2]);
  Tensor r = make_view(t, sizes, strides, start);
  if (autograd::recording({&t}))
    record_view("DiagonalBackward0", t, {r}, [in = DimVector(t.sizes()), offset, d1, d2](
        const Context& c) {
      return grads(embed_grad(in, c.grad(), [&](const Tensor& z) { return diagonal(z, offset, d1, d2); },
          [&](const Tensor& z, const Tensor& g) { return diagonal_scatter(z, g, offset, d1, d2); }));
    });
  return r;
}

}  // namespace ctorch
