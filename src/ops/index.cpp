// Subscripts, the gather/scatter family, index_* and mask ops on CPU and CUDA. Every indexed op
// is one TensorIter pass over (destination, source, int64 index) views where the indexed dim has
// stride 0 and the index adds `value * stride`. Data moves by element size (1/2/4/8 bytes, no
// per-dtype code); only the reducing ops (scatter_add/reduce, index_add, accumulate) dispatch on
// dtype. CUDA tensors take the same paths; only the few helpers that touch data branch to their
// twins in kernels/index.cu.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <type_traits>
#include "autograd/function.h"
#include "core/tensor_iter.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/ops.h"
#include "kernels/index.h"
#include "ops/elementwise_run.h"

namespace ctorch {

namespace {

using Offsets = std::vector<int64_t>;

// Element offsets (from data_ptr) of every element of a strided layout, in row-major order.
Offsets strided_offsets(IntArrayRef sizes, IntArrayRef strides) {
  int64_t n = shape_numel(sizes);
  Offsets out(static_cast<size_t>(n));
  if (n == 0) return out;
  int nd = static_cast<int>(sizes.size());
  if (nd == 0) { out[0] = 0; return out; }
  DimVector idx(nd, 0);
  int64_t off = 0, inner = sizes[nd - 1], istride = strides[nd - 1];
  for (int64_t k = 0; k < n; k += inner) {
    for (int64_t j = 0; j < inner; ++j) out[k + j] = off + j * istride;
    for (int d = nd - 2; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < sizes[d]) break;
      off -= strides[d] * sizes[d];
      idx[d] = 0;
    }
  }
  return out;
}

// dst[doff[k]] = src[soff[k]] for n elements of U (doff null: dst is dense).
template <class U>
void move_range(char* dst, const int64_t* doff, const char* src, const int64_t* soff, int64_t b,
                int64_t e) {
  constexpr size_t s = sizeof(U);
  if (!doff) {
    for (int64_t k = b; k < e; ++k) memcpy(dst + k * s, src + soff[k] * s, s);
  } else {
    for (int64_t k = b; k < e; ++k) memcpy(dst + doff[k] * s, src + soff[k] * s, s);
  }
}


// Moves n elements by offset lists (the mask ops, whose positions are data dependent).
void move_elems(size_t elsize, void* dst, const int64_t* doff, const void* src, const int64_t* soff,
                int64_t n) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  dispatch_by_size(elsize, [&](auto tag) {
    using U = typename decltype(tag)::type;
    parallel_for(0, n, kGrainSize / 4, [&](int64_t b, int64_t e) { move_range<U>(d, doff, s, soff, b, e); });
  });
}

// ---- the indexed kernels: operands (a, b, index: int64). A negative index has already been
// checked to lie in [-size, 0) and counts from the end.

template <class U, bool kScatter>
void indexed_move_loop(char** data, const int64_t* st, int64_t n, int64_t step, int64_t size) {
  char* a = data[0];
  const char* b = data[1];
  const char* ip = data[2];
  if (st[2] == 0) {  // one index for the whole run (rows of an embedding lookup): a block copy
    int64_t v;
    memcpy(&v, ip, sizeof(v));
    if (v < 0) v += size;
    constexpr int64_t es = sizeof(U);
    char* pa = kScatter ? a + v * step : a;
    const char* pb = kScatter ? b : b + v * step;
    if (st[0] == es && st[1] == es) {
      memmove(pa, pb, n * es);
    } else {
      for (int64_t k = 0; k < n; ++k) memcpy(pa + k * st[0], pb + k * st[1], es);
    }
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    int64_t v;
    memcpy(&v, ip + k * st[2], sizeof(v));
    if (v < 0) v += size;
    if constexpr (kScatter) memcpy(a + k * st[0] + v * step, b + k * st[1], sizeof(U));
    else memcpy(a + k * st[0], b + k * st[1] + v * step, sizeof(U));
  }
}

// Gather: a[k] = b[k + index[k] * step], in parallel. Scatter: a[k + index[k] * step] = b[k],
// serially so that with repeated targets the last write wins (as in NumPy).
void indexed_move(const TensorIter& it, size_t elsize, int64_t step_bytes, int64_t size, bool scatter) {
  if (it.numel() == 0) return;
  dispatch_by_size(elsize, [&](auto tag) {
    using U = typename decltype(tag)::type;
    if (scatter) {
      it.serial_for_each([&](char** d, const int64_t* s, int64_t n) {
        indexed_move_loop<U, true>(d, s, n, step_bytes, size); }, 0, it.numel());
    } else {
      it.for_each([&](char** d, const int64_t* s, int64_t n) {
        indexed_move_loop<U, false>(d, s, n, step_bytes, size); }, kGrainSize / 4);
    }
  });
}

using Reduce = IndexReduce;  // shared with the CUDA kernels

Reduce parse_reduce(const std::string& r, const char* op) {
  if (r == "sum") return Reduce::Sum;
  if (r == "prod") return Reduce::Prod;
  if (r == "mean") return Reduce::Mean;
  if (r == "amax") return Reduce::Max;
  if (r == "amin") return Reduce::Min;
  CTORCH_FAIL("[", op, "] reduce argument must be either sum, prod, mean, amax or amin, got ", r);
}

template <class O>
O reduce_identity(Reduce r) {
  if (r == Reduce::Prod) return O(1);
  if (r == Reduce::Max)
    return std::numeric_limits<O>::has_infinity ? -std::numeric_limits<O>::infinity()
                                                : std::numeric_limits<O>::lowest();
  if (r == Reduce::Min)
    return std::numeric_limits<O>::has_infinity ? std::numeric_limits<O>::infinity()
                                                : std::numeric_limits<O>::max();
  return O(0);
}

// a[k + index[k] * step] op= b[k], serially (targets repeat). With !include_self every target
// hit first becomes the reduction's identity. For Mean, `count` (one slot per element of the
// dense destination starting at `base`) records the hits.
template <class T>
void indexed_reduce_kernel(const TensorIter& it, Reduce r, bool include_self, int64_t step,
                           int64_t size, T* base, int64_t* count) {
  using O = opmath_t<T>;
  auto target = [&](char** d, const int64_t* st, int64_t k) {
    int64_t v;
    memcpy(&v, d[2] + k * st[2], sizeof(v));
    if (v < 0) v += size;
    return reinterpret_cast<T*>(d[0] + k * st[0] + v * step);
  };
  if (!include_self) {
    const T init = static_cast<T>(reduce_identity<O>(r));
    it.serial_for_each([&](char** d, const int64_t* st, int64_t n) {
      for (int64_t k = 0; k < n; ++k) *target(d, st, k) = init;
    }, 0, it.numel());
  }
  it.serial_for_each([&](char** d, const int64_t* st, int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
      T* p = target(d, st, k);
      O a = static_cast<O>(*p), b = static_cast<O>(*reinterpret_cast<const T*>(d[1] + k * st[1]));
      switch (r) {
        case Reduce::Sum: case Reduce::Mean: a = static_cast<O>(a + b); break;
        case Reduce::Prod: a = static_cast<O>(a * b); break;
        case Reduce::Max: if (b != b || b > a) a = b; break;  // NaN propagates
        case Reduce::Min: if (b != b || b < a) a = b; break;
        case Reduce::None: a = b; break;
      }
      *p = static_cast<T>(a);
      if (count) ++count[p - base];
    }
  }, 0, it.numel());
}

// Mean: divides every element hit by its number of terms (integers round toward -inf).
template <class T>
void mean_finalize(T* base, const int64_t* count, int64_t n, bool include_self) {
  using O = opmath_t<T>;
  for (int64_t p = 0; p < n; ++p) {
    if (!count[p]) continue;
    int64_t c = count[p] + (include_self ? 1 : 0);
    O a = static_cast<O>(base[p]);
    if constexpr (std::is_floating_point_v<O>) {
      base[p] = static_cast<T>(a / static_cast<O>(c));
    } else if constexpr (!std::is_same_v<O, bool>) {
      int64_t v = static_cast<int64_t>(a), q = v / c;
      if (v % c != 0 && v < 0) --q;
      base[p] = static_cast<T>(q);
    }
  }
}

bool is_index_dtype(DType t) { return t == DType::Int64 || t == DType::Int32; }
Tensor as_int64(const Tensor& index) {
  return index.dtype() == DType::Int64 ? index : to(index, DType::Int64, index.device());
}

// How an out-of-range index is reported (each op keeps PyTorch's exception class and wording).
enum class Oob { Runtime, Index, IndexSelect, Take, IndexAdd };

[[noreturn]] void report_oob(int64_t x, int64_t size, Oob style, int64_t dim, const char* op) {
  switch (style) {
    case Oob::Runtime:
      CTORCH_FAIL("[", op, "] index ", x, " is out of bounds for dimension ", dim, " with size ", size);
    case Oob::Index:
      break;
    case Oob::IndexSelect:
      throw_error(ErrorKind::Index, str_cat("[", op, "] index out of range in self: index ", x,
                                            " for dimension ", dim, " with size ", size));
    case Oob::Take:
      throw_error(ErrorKind::Index, str_cat("[", op, "] out of range: tried to access index ", x,
                                            " on a tensor of ", size, " elements."));
    case Oob::IndexAdd:
      if (x < 0)
        throw_error(ErrorKind::Index, str_cat("[", op, "] index out of range in self: index ", x,
                                              " for dimension ", dim, " with size ", size));
      CTORCH_FAIL("[", op, "] index ", x, " is out of bounds for dimension ", dim, " with size ", size);
  }
  throw_error(ErrorKind::Index, str_cat("[", op, "] index ", x, " is out of bounds for dimension ",
                                        dim, " with size ", size));
}

// Checks every value of an int64 index against a dim of `size` (negative ones count from the end
// when `wrap`), so the kernels never touch memory outside the tensor; names the first offender.
void check_index(const Tensor& idx64, int64_t size, bool wrap, Oob style, int64_t dim, const char* op) {
  if (idx64.numel() == 0) return;
  const int64_t lo_ok = wrap ? -size : 0;
  int64_t bad = 0;
  if (idx64.device().is_cuda()) {  // checked on the device; only the verdict comes back
    if (cuda_index_first_bad(idx64, lo_ok, size, &bad)) report_oob(bad, size, style, dim, op);
    return;
  }
  bool found = false;
  TensorIter it(idx64, {});
  it.serial_for_each([&](char** d, const int64_t* st, int64_t n) {
    if (found) return;
    for (int64_t k = 0; k < n; ++k) {
      int64_t v;
      memcpy(&v, d[0] + k * st[0], sizeof(v));
      if (v < lo_ok || v >= size) { bad = v; found = true; return; }
    }
  }, 0, it.numel());
  if (found) report_oob(bad, size, style, dim, op);
}

// A view of `t` with new sizes and strides over the same elements (internal geometry only).
Tensor restride(const Tensor& t, IntArrayRef sizes, IntArrayRef strides) {
  return make_view(t, sizes, strides, t.storage_offset());
}

// In-place writes into a tensor whose elements share memory (an expanded view) are refused, as in
// PyTorch: the result would depend on the write order and threads would race.
void check_writable(const Tensor& t, const char* op) {
  for (int64_t d = 0; d < t.dim(); ++d)
    CTORCH_CHECK(t.strides()[d] != 0 || t.sizes()[d] <= 1, "[", op, "] unsupported operation: more "
                 "than one element of the written-to tensor refers to a single memory location. "
                 "Please clone() the tensor before performing the operation.");
}

// A strided operand never aliases the written tensor: copy it first when it shares storage.
Tensor unaliased(const Tensor& src, const Tensor& dst) {
  return src.storage() == dst.storage() ? clone(src) : src;
}

Tensor as_1d(const Tensor& t) { return t.dim() == 0 ? reshape(t, {1}) : t; }

// ---- advanced indexing

// self (restrided to the result shape, 0 along the broadcast index dims), the int64 index laid out
// over the result shape, and how far one index step moves in self.
struct AdvancedPlan {
  Tensor self;
  DimVector shape;
  Tensor src;
  Tensor idx;
  int64_t step = 0;   // elements
  int64_t size = 0;   // for negative values
};

AdvancedPlan plan_advanced(const Tensor& self_in, const std::vector<std::optional<Tensor>>& indices,
                           const char* op) {
  Tensor self = self_in;
  // Expand masks into their nonzero coordinates: a k-dim mask stands for k index tensors.
  std::vector<std::optional<Tensor>> idx;
  int64_t dim = 0;
  for (const auto& e : indices) {
    if (!e || !e->defined()) { idx.push_back(std::nullopt); ++dim; continue; }
    Tensor t = *e;
    if (t.device() != self.device()) {
      // As in PyTorch, CPU indices may index a CUDA tensor: they are moved to its device.
      CTORCH_CHECK(t.device().is_cpu(), "[", op, "] indices should be either on cpu or on the same "
                   "device as the indexed tensor (", self.device().str(), "), got ", t.device().str());
      t = to(t, t.dtype(), self.device());
    }
    if (t.dtype() == DType::Bool || t.dtype() == DType::UInt8) {
      if (t.dim() == 0) {  // x[True]: a new dim of size 1 (or 0 when false)
        self = unsqueeze(self, dim);
        idx.push_back(zeros({item(t).to_bool() ? 1 : 0}, DType::Int64, self.device()));
        ++dim;
        continue;
      }
      CTORCH_CHECK_INDEX(dim + t.dim() <= self.dim(), "[", op, "] too many indices for tensor of "
                         "dimension ", self_in.dim());
      for (int64_t j = 0; j < t.dim(); ++j)
        CTORCH_CHECK_INDEX(t.sizes()[j] == self.sizes()[dim + j], "[", op, "] The shape of the mask ",
                           t.sizes(), " at index ", j, " does not match the shape of the indexed "
                           "tensor ", self.sizes(), " at index ", dim + j);
      for (Tensor& c : nonzero_tuple(t)) idx.push_back(c);
      dim += t.dim();
      continue;
    }
    CTORCH_CHECK_INDEX(is_index_dtype(t.dtype()), "[", op, "] tensors used as indices must be long, "
                       "int, byte or bool tensors, got ", dtype_name(t.dtype()));
    idx.push_back(t);
    ++dim;
  }
  CTORCH_CHECK_INDEX(static_cast<int64_t>(idx.size()) <= self.dim(), "[", op, "] too many indices "
                     "for tensor of dimension ", self.dim());

  DimVector bshape;
  std::vector<int64_t> adv_dims;
  for (size_t d = 0; d < idx.size(); ++d) {
    if (!idx[d]) continue;
    if (adv_dims.empty()) {
      bshape = DimVector(idx[d]->sizes());
    } else {
      IntArrayRef s = idx[d]->sizes();
      size_t n = std::max(bshape.size(), s.size());
      DimVector r(n, 1);
      bool ok = true;
      for (size_t i = 0; i < n; ++i) {
        int64_t a = i < n - bshape.size() ? 1 : bshape[i - (n - bshape.size())];
        int64_t b = i < n - s.size() ? 1 : s[i - (n - s.size())];
        if (a != b && a != 1 && b != 1) ok = false;
        r[i] = a == 1 ? b : a;
      }
      if (!ok) {
        std::string shapes;
        for (const auto& e : idx)
          if (e) shapes += (shapes.empty() ? "" : ", ") + str_cat(e->sizes());
        CTORCH_CHECK_INDEX(false, "[", op, "] shape mismatch: indexing tensors could not be broadcast "
                           "together with shapes ", shapes);
      }
      bshape = r;
    }
    adv_dims.push_back(static_cast<int64_t>(d));
  }
  AdvancedPlan plan;
  plan.self = self;
  if (adv_dims.empty()) {  // nothing to index: the whole tensor, one step of 0
    plan.shape = DimVector(self.sizes());
    plan.src = self;
    plan.idx = expand(zeros({}, DType::Int64, self.device()), self.sizes());
    return plan;
  }
  // NumPy's rule: adjacent index tensors put their broadcast dims where they stand; separated
  // ones (by a slice or None) put them first.
  bool adjacent = adv_dims.back() - adv_dims.front() + 1 == static_cast<int64_t>(adv_dims.size());
  const int64_t nb = static_cast<int64_t>(bshape.size());
  DimVector shape, base;
  int64_t bstart = 0;
  auto put_broadcast = [&] {
    bstart = static_cast<int64_t>(shape.size());
    for (int64_t i = 0; i < nb; ++i) { shape.push_back(bshape[i]); base.push_back(0); }
  };
  if (!adjacent) put_broadcast();
  for (int64_t d = 0; d < self.dim(); ++d) {
    bool indexed = d < static_cast<int64_t>(idx.size()) && idx[d].has_value();
    if (indexed) {
      if (adjacent && d == adv_dims.front()) put_broadcast();
      continue;
    }
    shape.push_back(self.sizes()[d]);
    base.push_back(self.strides()[d]);
  }
  // One index: used as is. Several: folded into one linear element offset (already wrapped).
  Tensor lin;
  if (adv_dims.size() == 1) {
    int64_t d = adv_dims[0];
    lin = as_int64(*idx[d]);
    check_index(lin, self.sizes()[d], true, Oob::Index, d, op);
    plan.step = self.strides()[d];
    plan.size = self.sizes()[d];
  } else {
    lin = zeros(bshape, DType::Int64, self.device());
    for (int64_t d : adv_dims) {
      Tensor t = as_int64(*idx[d]);
      int64_t size = self.sizes()[d], stride = self.strides()[d];
      check_index(t, size, true, Oob::Index, d, op);
      Tensor te = expand(t, bshape);
      TensorIter it(lin, {&te});
      if (lin.device().is_cuda()) {
        cuda_index_linearize(it, size, stride);
        continue;
      }
      it.for_each([&](char** p, const int64_t* st, int64_t n) {
        for (int64_t k = 0; k < n; ++k) {
          int64_t v;
          memcpy(&v, p[1] + k * st[1], sizeof(v));
          *reinterpret_cast<int64_t*>(p[0] + k * st[0]) += (v < 0 ? v + size : v) * stride;
        }
      });
    }
    plan.step = 1;
    plan.size = 0;
  }
  Tensor le = expand(lin, bshape);
  DimVector istr(shape.size(), 0);
  for (int64_t j = 0; j < nb; ++j) istr[bstart + j] = le.strides()[j];
  plan.idx = restride(le, shape, istr);
  plan.src = restride(self, shape, base);
  plan.shape = shape;
  return plan;
}

// Walks a Python-style subscript: applies ints/slices/None/Ellipsis as views and collects the
// tensor entries (one per remaining dim) for advanced indexing.
struct BasicResult {
  Tensor view;
  std::vector<std::optional<Tensor>> adv;
  bool has_adv = false;
};

BasicResult apply_basic(const Tensor& self, const std::vector<TensorIndex>& indices, const char* op) {
  int64_t consumed = 0, ellipses = 0;
  bool has_int = false;
  for (const TensorIndex& i : indices) {
    switch (i.kind()) {
      case TensorIndex::Kind::Int: ++consumed; has_int = true; break;
      case TensorIndex::Kind::Tensor: {
        const Tensor& t = i.tensor();
        bool mask = t.dtype() == DType::Bool || t.dtype() == DType::UInt8;
        consumed += mask ? t.dim() : 1;
        if (!mask && t.dim() == 0) has_int = true;  // a 0-d integer tensor acts as an int
        break;
      }
      case TensorIndex::Kind::Slice: ++consumed; break;
      case TensorIndex::Kind::Ellipsis: ++ellipses; break;
      default: break;
    }
  }
  CTORCH_CHECK_INDEX(!(self.dim() == 0 && has_int), "invalid index of a 0-dim tensor. Use "
                     "`tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim "
                     "tensor to a number");
  CTORCH_CHECK_INDEX(ellipses <= 1, "[", op, "] an index can only have a single ellipsis ('...')");
  CTORCH_CHECK_INDEX(consumed <= self.dim(), "[", op, "] too many indices for tensor of dimension ",
                     self.dim());
  BasicResult r;
  r.view = self;
  int64_t dim = 0;
  for (const TensorIndex& i : indices) {
    switch (i.kind()) {
      case TensorIndex::Kind::Int:
        r.view = select(r.view, dim, i.integer());
        break;
      case TensorIndex::Kind::Slice: {
        const Slice& s = i.slice();
        CTORCH_CHECK_VALUE(s.step > 0, "step must be greater than zero");
        // A step past the dim's size picks one element either way; clamping keeps the size
        // arithmetic in slice() far from int64 overflow (x[::sys.maxsize]).
        int64_t step = std::min<int64_t>(s.step, std::max<int64_t>(r.view.sizes()[dim], 1));
        r.view = slice(r.view, dim, s.start, s.stop, step);
        r.adv.push_back(std::nullopt);
        ++dim;
        break;
      }
      case TensorIndex::Kind::None:
        r.view = unsqueeze(r.view, dim);
        r.adv.push_back(std::nullopt);
        ++dim;
        break;
      case TensorIndex::Kind::Ellipsis:
        for (int64_t k = 0; k < self.dim() - consumed; ++k) r.adv.push_back(std::nullopt);
        dim += self.dim() - consumed;
        break;
      case TensorIndex::Kind::Bool:
        r.view = unsqueeze(r.view, dim);
        r.adv.push_back(zeros({i.boolean() ? 1 : 0}, DType::Int64, self.device()));
        r.has_adv = true;
        ++dim;
        break;
      case TensorIndex::Kind::Tensor: {
        const Tensor& t = i.tensor();
        CTORCH_CHECK(t.defined(), "[", op, "] undefined tensor in index");
        bool mask = t.dtype() == DType::Bool || t.dtype() == DType::UInt8;
        if (!mask && t.dim() == 0 && is_integral(t.dtype(), false)) {  // like a Python int: a view
          r.view = select(r.view, dim, item(t).to_int());
          break;
        }
        if (mask && t.dim() == 0) {  // like a Python bool
          r.view = unsqueeze(r.view, dim);
          r.adv.push_back(zeros({item(t).to_bool() ? 1 : 0}, DType::Int64, self.device()));
          ++dim;
        } else {
          r.adv.push_back(t);  // a mask stands for t.dim() dims (expanded in plan_advanced)
          dim += mask ? t.dim() : 1;
        }
        r.has_adv = true;
        break;
      }
    }
  }
  return r;
}

void check_same_dtype(const Tensor& self, const Tensor& src, const char* op, const char* what) {
  CTORCH_CHECK(self.dtype() == src.dtype(), "[", op, "] expected self and ", what, " to have the "
               "same dtype, but got (self) ", dtype_name(self.dtype()), " and (", what, ") ",
               dtype_name(src.dtype()));
}

void check_index_dtype(const Tensor& index, const char* op) {
  CTORCH_CHECK(is_index_dtype(index.dtype()), "[", op, "] Expected dtype int32/int64 for index, got ",
               dtype_name(index.dtype()));
}

// Writes src into dst_view's targets (dst_view: the destination restrided to the iteration shape
// with 0 along the indexed dim), plain or reduced. `dense` is the contiguous tensor dst_view
// looks into, needed for Mean. Slices along `split_dim` (never the indexed dim) write disjoint
// elements, so they run on separate threads.
void scatter_run(const Tensor& dst_view, const Tensor& src, const Tensor& idx, int64_t step, int64_t size,
                 Reduce r, bool include_self, const Tensor& dense, int64_t split_dim = -1) {
  if (dst_view.numel() == 0) return;
  const int64_t es = static_cast<int64_t>(dst_view.element_size());
  if (dst_view.device().is_cuda()) {  // one launch over everything; atomics handle repeated targets
    TensorIter it(dst_view, {&src, &idx});
    if (r == Reduce::None) {
      cuda_indexed_move(it, es, step * es, size, true);
      return;
    }
    Tensor count = r == Reduce::Mean ? zeros({dense.numel()}, DType::Int64, dense.device()) : Tensor();
    cuda_indexed_reduce(it, dst_view.dtype(), r, include_self, step * es, size,
                        count.defined() ? dense.data_ptr() : nullptr,
                        count.defined() ? count.data<int64_t>() : nullptr, dense.defined() ? dense.numel() : 0);
    return;
  }
  std::vector<int64_t> count;
  if (r == Reduce::Mean) count.assign(static_cast<size_t>(dense.numel()), 0);
  auto run = [&](const Tensor& d, const Tensor& s, const Tensor& i) {
    TensorIter it(d, {&s, &i});
    if (r == Reduce::None) {
      indexed_move(it, es, step * es, size, true);
      return;
    }
    dispatch_all(d.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      indexed_reduce_kernel<T>(it, r, include_self, step * es, size,
                               count.empty() ? nullptr : dense.data<T>(),
                               count.empty() ? nullptr : count.data());
    });
  };
  int64_t n = split_dim >= 0 ? dst_view.sizes()[split_dim] : 1;
  if (n < 2 || dst_view.numel() < kGrainSize) {
    run(dst_view, src, idx);
  } else {
    int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(1, dst_view.numel() / n));
    parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
      run(narrow(dst_view, split_dim, b, e - b), narrow(src, split_dim, b, e - b),
          narrow(idx, split_dim, b, e - b));
    });
  }
  if (!count.empty()) {
    dispatch_all(dense.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      mean_finalize<T>(dense.data<T>(), count.data(), dense.numel(), include_self);
    });
  }
}

// ---- scatter core: self[.., index[c], ..] op= src[c] over the index's shape

void scatter_impl(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src_in, bool src_is_value,
                  Reduce r, bool include_self, const char* op) {
  check_same_device(self, index, op);
  if (!src_is_value) check_same_device(self, src_in, op);
  check_writable(self, op);
  check_index_dtype(index, op);
  if (!src_is_value) check_same_dtype(self, src_in, op, "src");
  int64_t nd = std::max<int64_t>(self.dim(), 1);
  dim = wrap_dim(dim, nd, op);
  CTORCH_CHECK(std::max<int64_t>(index.dim(), 1) == nd, "[", op, "] Index tensor must have the same "
               "number of dimensions as self tensor");
  Tensor s1 = as_1d(self), i1 = as_1d(as_int64(index));
  Tensor src = src_is_value ? expand(src_in, i1.sizes()) : as_1d(src_in);
  if (!src_is_value)
    CTORCH_CHECK(std::max<int64_t>(src_in.dim(), 1) == nd, "[", op, "] Index tensor must have the "
                 "same number of dimensions as src tensor");
  for (int64_t d = 0; d < nd; ++d) {
    CTORCH_CHECK((d == dim || i1.sizes()[d] <= s1.sizes()[d]) && i1.sizes()[d] <= src.sizes()[d],
                 "[", op, "] Expected index ", index.sizes(), " to be no larger than self ",
                 self.sizes(), " apart from dimension ", dim, " and to be no larger than src ",
                 src.sizes());
  }
  check_index(i1, s1.sizes()[dim], false, Oob::Runtime, dim, op);
  if (i1.numel() == 0) return;
  // Reductions count per element and so want a dense destination; plain writes go straight in.
  Tensor work = (r == Reduce::None || s1.is_contiguous()) ? s1 : clone(s1);
  DimVector st(work.strides());
  int64_t step = st[dim];
  st[dim] = 0;
  Tensor sv = unaliased(src, self), iv = unaliased(i1, self);
  scatter_run(restride(work, i1.sizes(), st), restride(sv, i1.sizes(), sv.strides()), iv, step,
              s1.sizes()[dim], r, include_self, work, dim == 0 ? (nd > 1 ? 1 : -1) : 0);
  if (!work.is_same(s1)) copy_(s1, work);
  self.bump_version();
}

// index_add/index_copy/index_fill: self.select(dim, index[i]) op= source.select(dim, i).
void index_dim_impl(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                    bool source_is_value, Reduce r, Oob style, bool wrap, const char* op,
                    bool include_self = true) {
  check_same_device(self, index, op);
  if (!source_is_value) check_same_device(self, source, op);
  check_writable(self, op);
  CTORCH_CHECK_INDEX(index.dim() <= 1, "[", op, "] Index is supposed to be a vector");
  check_index_dtype(index, op);
  int64_t nd = std::max<int64_t>(self.dim(), 1);
  dim = wrap_dim(dim, nd, op);
  Tensor s1 = as_1d(self), i1 = as_1d(as_int64(index));
  int64_t n = i1.numel();
  DimVector shape(s1.sizes());
  shape[dim] = n;
  Tensor src;
  if (source_is_value) {
    src = expand(source, shape);
  } else {
    check_same_dtype(self, source, op, "source");
    Tensor so = as_1d(source);
    CTORCH_CHECK(so.dim() == nd, "[", op, "] source must have the same number of dimensions as self, "
                 "got ", source.dim(), " and ", self.dim());
    for (int64_t d = 0; d < nd; ++d)
      CTORCH_CHECK(so.sizes()[d] == shape[d], "[", op, "] source of shape ", source.sizes(),
                   " does not match self of shape ", self.sizes(), " with ", n,
                   " indices along dimension ", dim);
    src = so;
  }
  check_index(i1, s1.sizes()[dim], wrap, style, dim, op);
  if (shape_numel(shape) == 0) return;
  Tensor work = (r == Reduce::None || s1.is_contiguous()) ? s1 : clone(s1);
  DimVector st(work.strides()), istr(nd, 0);
  int64_t step = st[dim];
  st[dim] = 0;
  istr[dim] = i1.strides()[0];
  Tensor sv = unaliased(src, self), iv = unaliased(i1, self);
  scatter_run(restride(work, shape, st), sv, restride(iv, shape, istr), step, s1.sizes()[dim], r,
              include_self, work, dim == 0 ? (nd > 1 ? 1 : -1) : 0);
  if (!work.is_same(s1)) copy_(s1, work);
  self.bump_version();
}

void check_mask(const Tensor& mask, const char* op) {
  CTORCH_CHECK(mask.dtype() == DType::Bool, "[", op, "] ", op, " only supports boolean masks, but got "
               "mask with dtype ", dtype_name(mask.dtype()));
}

// out = src gathered through idx (all laid out over `shape`).
Tensor gather_run(const Tensor& src, const Tensor& idx, IntArrayRef shape, int64_t step, int64_t size) {
  Tensor out = empty(shape, src.dtype(), src.device());
  TensorIter it(out, {&src, &idx});
  const int64_t es = static_cast<int64_t>(src.element_size());
  if (out.device().is_cuda()) cuda_indexed_move(it, es, step * es, size, false);
  else indexed_move(it, es, step * es, size, false);
  return out;
}

// ---- autograd helpers (the formulas themselves sit with each op below)

// The view-making part of a subscript, free of tensors so that a backward formula can replay it on
// another tensor of the same shape: 0-d integer tensors become ints, 0-d masks and bools None
// (the unsqueeze they stand for), advanced indices full slices (one per dim they cover). `name`
// names the node after the last view op, as PyTorch does.
struct BasicReplay {
  std::vector<TensorIndex> idx;
  const char* name = "AliasBackward0";
};

BasicReplay basic_replay(const std::vector<TensorIndex>& indices) {
  BasicReplay r;
  for (const TensorIndex& i : indices) {
    switch (i.kind()) {
      case TensorIndex::Kind::Int: r.idx.push_back(i); r.name = "SelectBackward0"; break;
      case TensorIndex::Kind::Slice: r.idx.push_back(i); r.name = "SliceBackward0"; break;
      case TensorIndex::Kind::None:
      case TensorIndex::Kind::Bool: r.idx.push_back(NoneIndex{}); r.name = "UnsqueezeBackward0"; break;
      case TensorIndex::Kind::Ellipsis: r.idx.push_back(i); break;
      case TensorIndex::Kind::Tensor: {
        const Tensor& t = i.tensor();
        bool mask = t.dtype() == DType::Bool || t.dtype() == DType::UInt8;
        if (t.dim() == 0 && mask) {
          r.idx.push_back(NoneIndex{});
          r.name = "UnsqueezeBackward0";
        } else if (t.dim() == 0 && is_integral(t.dtype(), false)) {
          r.idx.push_back(TensorIndex(item(t).to_int()));
          r.name = "SelectBackward0";
        } else {
          for (int64_t k = 0; k < (mask ? t.dim() : 1); ++k) r.idx.push_back(Slice{});
        }
        break;
      }
    }
  }
  return r;
}

// Records `view`, made from self by the ints/slices/None of `indices`, as a view of self: its
// gradient lands in the same region of zeros shaped like self.
void record_basic_view(const Tensor& self, const Tensor& view, const std::vector<TensorIndex>& indices) {
  BasicReplay rep = basic_replay(indices);
  if (std::strcmp(rep.name, "AliasBackward0") == 0) {
    autograd::record(rep.name, {self}, {view}, {},
                     [](const autograd::Context& c) { return autograd::grads(c.grad()); });
  } else {
    autograd::record(rep.name, {self}, {view}, {},
                     [idx = std::move(rep.idx), shape = DimVector(self.sizes())](const autograd::Context& c) {
      Tensor z = zeros_like(c.grad(), shape);
      index_put_(z, idx, c.grad());
      return autograd::grads(z);
    });
  }
}

// Drops the leading size-1 dims of a value that has more dims than its destination (x[0] = y[None]).
Tensor drop_leading_ones(const Tensor& v, int64_t dim) {
  Tensor r = v;
  while (r.dim() > dim && r.sizes()[0] == 1) r = squeeze(r, {0});
  return r;
}

// The gradient of a value written (broadcast, after drop_leading_ones) into a destination of `dim`
// dims: g summed back to the value's shape without those dims, then given them back.
Tensor sum_to_value(const Tensor& g, IntArrayRef vshape, int64_t dim) {
  DimVector squeezed(vshape);
  while (static_cast<int64_t>(squeezed.size()) > dim && squeezed[0] == 1) squeezed.erase(0);
  Tensor r = autograd::sum_to(g, squeezed);
  return IntArrayRef(squeezed) == vshape ? r : reshape(r, vshape);
}

// The out-of-place twin of writing `value` (broadcast) into all of s: a new tensor like s. Its
// node takes s as an input, so that an in-place write of a constant still replaces s's history.
Tensor overwrite_with(const Tensor& s, const Tensor& value, const char* name) {
  Tensor r;
  {
    autograd::NoGradGuard guard;
    Tensor v = drop_leading_ones(value, s.dim());
    CTORCH_CHECK(v.dim() <= s.dim() && broadcast_shapes(s.sizes(), v.sizes(), "copy_") == s.sizes(),
                 "[copy_] the source of shape ", value.sizes(), " can't be broadcast to the "
                 "destination shape ", s.sizes());
    r = to(expand(v, s.sizes()), s.dtype(), s.device(), /*copy=*/true);
  }
  if (autograd::recording({&s, &value})) {
    autograd::record(name, {s, value}, {r}, {},
                     [vshape = DimVector(value.sizes()), dim = s.dim()](const autograd::Context& c) {
      // Every element of s is overwritten: its gradient is zero (PyTorch's CopyBackwards).
      Tensor gs = c.needs_grad(0) ? zeros_like(c.grad()) : Tensor();
      if (!c.needs_grad(1)) return std::vector<Tensor>{gs, Tensor()};
      return std::vector<Tensor>{gs, sum_to_value(c.grad(), vshape, dim)};
    });
  }
  return r;
}

// g (shaped like the used part of a larger tensor, from its origin) padded with zeros to `shape`:
// the gradient of a source that an op reads only partly (scatter's src beyond the index's shape).
Tensor pad_to(const Tensor& g, IntArrayRef shape) {
  if (g.sizes() == shape || g.dim() != static_cast<int64_t>(shape.size())) return g;
  Tensor z = zeros_like(g, shape);
  std::vector<TensorIndex> region;
  for (int64_t d = 0; d < g.dim(); ++d) region.push_back(Slice{int64_t(0), g.sizes()[d], 1});
  index_put_(z, region, g);
  return z;
}

// The first index.sizes() elements of t along every dim (the part of scatter's src that is read),
// as a differentiable view.
Tensor used_part(const Tensor& t, IntArrayRef shape) {
  if (t.sizes() == shape || t.dim() != static_cast<int64_t>(shape.size())) return t;
  std::vector<TensorIndex> region;
  for (int64_t d = 0; d < t.dim(); ++d) region.push_back(Slice{int64_t(0), shape[d], 1});
  return index(t, region);
}

// The four ways the scatter_reduce and index_reduce formulas move values between the result
// (self-shaped) and the source (index-shaped) positions.
struct ReduceMoves {
  std::function<Tensor(const Tensor&)> collect;                     // result -> source positions
  std::function<Tensor(const Tensor&, const Tensor&)> distribute;   // base + sum of sources
  std::function<Tensor(const Tensor&, const Tensor&)> reduce_again; // the op on other operands
  std::function<Tensor(const Tensor&)> zero_targets;                // 0 where a source lands
};

Tensor to_dtype_and_device_of(const Tensor& t, const Tensor& like) { return to(t, like.dtype(), like.device()); }

// Gradients of out = reduce(self, src) (scatter_reduce / index_reduce) for self and src, following
// PyTorch's scatter_reduce_backward. Ties of amax/amin share the gradient evenly; with
// !include_self the excluded self values take no share (PyTorch counts a self value that happens
// to equal the result, which halves the source's gradient there).
std::vector<Tensor> reduce_backward(Reduce r, bool include_self, const Tensor& g, const Tensor& self,
                                    const Tensor& src, const Tensor& result, const ReduceMoves& m,
                                    bool need_self = true, bool need_src = true) {
  Tensor gs, gsrc;
  switch (r) {
    case Reduce::None:
    case Reduce::Sum:
      gs = g;
      if (need_src) gsrc = m.collect(g);
      break;
    case Reduce::Mean: {
      Tensor n = include_self ? ones(g.sizes(), g.dtype(), g.device()) : zeros_like(g);
      n = m.distribute(n, ones(src.sizes(), g.dtype(), g.device()));
      n = masked_fill(n, eq(n, Scalar(0)), Scalar(1));
      gs = div(g, n);
      if (need_src) gsrc = div(m.collect(g), m.collect(n));
      break;
    }
    case Reduce::Prod: {
      // Products of the other factors, without dividing by a zero factor.
      Tensor masked_self = masked_fill(self, eq(self, Scalar(0)), Scalar(1));
      if (need_self) gs = div(mul(g, m.reduce_again(masked_self, src)), masked_self);
      if (!need_src) break;
      Tensor src_zero = eq(src, Scalar(0));
      Tensor zeros_hit = m.collect(m.distribute(zeros_like(g), to_dtype_and_device_of(src_zero, g)));
      Tensor single_zero = logical_and(src_zero, eq(zeros_hit, Scalar(1)));
      Tensor others = m.reduce_again(self, masked_fill(src, single_zero, Scalar(1)));
      gsrc = where(single_zero, m.collect(mul(g, others)),
                   div(m.collect(mul(g, result)), masked_fill(src, src_zero, Scalar(1))));
      break;
    }
    case Reduce::Max:
    case Reduce::Min: {
      Tensor value = m.collect(result);
      Tensor self_is = to_dtype_and_device_of(eq(self, result), g);
      if (!include_self) self_is = m.zero_targets(self_is);
      Tensor src_is = to_dtype_and_device_of(eq(src, value), g);
      Tensor share = div(g, m.distribute(self_is, src_is));
      gs = mul(self_is, share);
      gsrc = mul(src_is, m.collect(share));
      break;
    }
  }
  if (!need_self) gs = Tensor();
  else if (!include_self) gs = m.zero_targets(gs);
  if (!need_src) gsrc = Tensor();
  return {gs, gsrc};
}

ReduceMoves scatter_moves(int64_t dim, const Tensor& index, const std::string& reduce, bool include_self) {
  return {[=](const Tensor& t) { return gather(t, dim, index); },
          [=](const Tensor& b, const Tensor& t) { return scatter_add(b, dim, index, t); },
          [=](const Tensor& a, const Tensor& b) { return scatter_reduce(a, dim, index, b, reduce, include_self); },
          [=](const Tensor& t) { return scatter(t, dim, index, Scalar(0)); }};
}

ReduceMoves index_moves(int64_t dim, const Tensor& index, const std::string& reduce, bool include_self) {
  return {[=](const Tensor& t) { return index_select(t, dim, index); },
          [=](const Tensor& b, const Tensor& t) { return index_add(b, dim, index, t); },
          [=](const Tensor& a, const Tensor& b) { return index_reduce(a, dim, index, b, reduce, include_self); },
          [=](const Tensor& t) { return index_fill(t, dim, index, Scalar(0)); }};
}

// The optional index list of an advanced index, as saved tensors and which slots they fill.
struct SavedIndices {
  std::vector<bool> present;
  std::vector<Tensor> tensors;
};

SavedIndices save_indices(const std::vector<std::optional<Tensor>>& indices) {
  SavedIndices s;
  for (const auto& e : indices) {
    bool p = e && e->defined();
    s.present.push_back(p);
    if (p) s.tensors.push_back(*e);
  }
  return s;
}

std::vector<std::optional<Tensor>> load_indices(const std::vector<bool>& present, const autograd::Context& c,
                                                size_t first) {
  std::vector<std::optional<Tensor>> idx;
  for (bool p : present) idx.push_back(p ? std::optional<Tensor>(c.saved(first++)) : std::nullopt);
  return idx;
}

}  // namespace

// ---------------------------------------------------------------- subscripts

Tensor advanced_index(const Tensor& self, const std::vector<std::optional<Tensor>>& indices) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return advanced_index(self, indices); });
    SavedIndices si = save_indices(indices);
    // Repeated indices read an element several times: its gradient is the sum (accumulate).
    autograd::record("IndexBackward0", {self}, {r}, si.tensors,
                     [present = si.present, shape = DimVector(self.sizes())](const autograd::Context& c) {
      return autograd::grads(advanced_index_put(zeros_like(c.grad(), shape), load_indices(present, c, 0),
                                                c.grad(), /*accumulate=*/true));
    });
    return r;
  }
  AdvancedPlan p = plan_advanced(self, indices, "index");
  return gather_run(p.src, p.idx, p.shape, p.step, p.size);
}

Tensor& advanced_index_put_(Tensor& self, const std::vector<std::optional<Tensor>>& indices,
                            const Tensor& values_in, bool accumulate) {
  check_writable(self, "index_put_");
  if (autograd::recording({&self, &values_in})) {
    return autograd::inplace(self, [&](const Tensor& s) {
      return advanced_index_put(s, indices, values_in, accumulate);
    }, "index_put_");
  }
  // A 0-d CPU value may be written into a CUDA tensor (as in PyTorch); other values must live
  // on self's device.
  Tensor values = values_in;
  if (values.device() != self.device()) {
    if (!(values.dim() == 0 && values.device().is_cpu())) check_same_device(self, values, "index_put_");
    values = to(values, values.dtype(), self.device());
  }
  CTORCH_CHECK(values.dtype() == self.dtype(), "[index_put_] Index put requires the source and "
               "destination dtypes match, got ", dtype_name(self.dtype()), " for the destination "
               "and ", dtype_name(values.dtype()), " for the source.");
  AdvancedPlan p = plan_advanced(self, indices, "index_put_");
  Tensor v = values;
  while (v.dim() > static_cast<int64_t>(p.shape.size()) && v.sizes()[0] == 1) v = squeeze(v, {0});
  bool ok = v.dim() <= static_cast<int64_t>(p.shape.size());
  for (int64_t j = 0; ok && j < v.dim(); ++j) {
    int64_t a = v.sizes()[v.dim() - 1 - j], b = p.shape[p.shape.size() - 1 - j];
    ok = a == b || a == 1;
  }
  CTORCH_CHECK(ok, "[index_put_] shape mismatch: value tensor of shape ", values.sizes(),
               " cannot be broadcast to indexing result of shape ", IntArrayRef(p.shape));
  v = expand(unaliased(v, self), p.shape);
  Tensor idx = unaliased(p.idx, self);
  scatter_run(p.src, v, idx, p.step, p.size, accumulate ? Reduce::Sum : Reduce::None, true, Tensor());
  self.bump_version();
  return self;
}

Tensor advanced_index_put(const Tensor& self, const std::vector<std::optional<Tensor>>& indices,
                          const Tensor& values, bool accumulate) {
  if (autograd::recording({&self, &values})) {
    Tensor r = autograd::untracked([&] { return advanced_index_put(self, indices, values, accumulate); });
    SavedIndices si = save_indices(indices);
    autograd::record("IndexPutBackward0", {self, values}, {r}, si.tensors,
                     [present = si.present, accumulate, vshape = DimVector(values.sizes())](const autograd::Context& c) {
      const Tensor& g = c.grad();
      auto idx = load_indices(present, c, 0);
      Tensor gs, gv;
      // Overwritten elements of self get no gradient; accumulated ones pass it through.
      if (c.needs_grad(0))
        gs = accumulate ? g : advanced_index_put(g, idx, zeros({}, g.dtype(), g.device()), false);
      if (c.needs_grad(1)) {
        // values broadcast to the indexed shape after dropping extra leading size-1 dims.
        gv = advanced_index(g, idx);
        gv = sum_to_value(gv, vshape, gv.dim());
      }
      return std::vector<Tensor>{gs, gv};
    });
    return r;
  }
  Tensor r = clone(self);
  return advanced_index_put_(r, indices, values, accumulate);
}

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  if (autograd::recording({&self})) {
    // The view part gets its own node (SelectBackward0, SliceBackward0, ...) so the result stays
    // a view of self; advanced indices then add IndexBackward0 on top, as in PyTorch.
    BasicResult r = autograd::untracked([&] { return apply_basic(self, indices, "index"); });
    Tensor view = r.view;
    if (!r.has_adv && view.is_same(self)) view = autograd::untracked([&] { return alias(self); });
    if (!view.is_same(self)) record_basic_view(self, view, indices);
    return r.has_adv ? advanced_index(view, r.adv) : view;
  }
  BasicResult r = apply_basic(self, indices, "index");
  if (r.has_adv) return advanced_index(r.view, r.adv);
  return r.view.is_same(self) ? alias(self) : r.view;
}

Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value) {
  if (autograd::recording({&self, &value})) {
    // self[indices] = value is an in-place op on the view self[basic part]: with only basic
    // indices it overwrites the view (CopySlices on self), else it is index_put_ on the view.
    BasicResult r = autograd::untracked([&] { return apply_basic(self, indices, "index_put_"); });
    Tensor view = r.view;
    if (!view.is_same(self) && autograd::requires_grad(self)) record_basic_view(self, view, indices);
    if (r.has_adv) {
      check_writable(view, "index_put_");
      autograd::inplace(view, [&](const Tensor& s) { return advanced_index_put(s, r.adv, value, false); },
                        "index_put_");
    } else {
      autograd::inplace(view, [&](const Tensor& s) { return overwrite_with(s, value, "CopyBackwards"); },
                        "copy_");
    }
    return self;
  }
  BasicResult r = apply_basic(self, indices, "index_put_");
  if (r.has_adv) {
    advanced_index_put_(r.view, r.adv, value, false);
  } else {
    // Leading size-1 dims of the value are dropped, so x[0] = y[None] works as in PyTorch.
    copy_(r.view, drop_leading_ones(value, r.view.dim()));
  }
  self.bump_version();
  return self;
}

Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Scalar& value) {
  if (autograd::recording({&self})) return index_put_(self, indices, scalar_tensor(value, self.dtype(), self.device()));
  BasicResult r = apply_basic(self, indices, "index_put_");
  if (r.has_adv) advanced_index_put_(r.view, r.adv, scalar_tensor(value, self.dtype(), self.device()), false);
  else fill_(r.view, value);
  self.bump_version();
  return self;
}

// ---------------------------------------------------------------- gather family

Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return index_select(self, dim, index); });
    autograd::record("IndexSelectBackward0", {self}, {r}, {index},
                     [dim, shape = DimVector(self.sizes())](const autograd::Context& c) {
      return autograd::grads(index_add(zeros_like(c.grad(), shape), dim, c.saved(0), c.grad()));
    });
    return r;
  }
  check_same_device(self, index, "index_select");
  CTORCH_CHECK_INDEX(index.dim() <= 1, "[index_select] Index is supposed to be a vector, got ",
                     index.dim(), " dims");
  CTORCH_CHECK(is_index_dtype(index.dtype()), "[index_select] Expected dtype int32 or int64 for index, got ",
               dtype_name(index.dtype()));
  int64_t nd = std::max<int64_t>(self.dim(), 1);
  dim = wrap_dim(dim, nd, "index_select");
  CTORCH_CHECK(self.dim() > 0 || index.numel() == 1, "[index_select] Index to scalar can have only 1 "
               "value, got ", index.numel(), " value(s)");
  Tensor s1 = as_1d(self), i1 = as_1d(as_int64(index));
  check_index(i1, s1.sizes()[dim], false, Oob::IndexSelect, dim, "index_select");
  DimVector shape(s1.sizes()), st(s1.strides()), istr(nd, 0);
  shape[dim] = i1.numel();
  st[dim] = 0;
  istr[dim] = i1.strides()[0];
  Tensor out = gather_run(restride(s1, shape, st), restride(i1, shape, istr), shape,
                          s1.strides()[dim], s1.sizes()[dim]);
  if (self.dim() == 0 && out.numel() == 1) return reshape(out, {});  // PyTorch keeps 0-d inputs 0-d
  return out;
}

Tensor gather(const Tensor& self, int64_t dim, const Tensor& index) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return gather(self, dim, index); });
    autograd::record("GatherBackward0", {self}, {r}, {index},
                     [dim, shape = DimVector(self.sizes())](const autograd::Context& c) {
      return autograd::grads(scatter_add(zeros_like(c.grad(), shape), dim, c.saved(0), c.grad()));
    });
    return r;
  }
  check_same_device(self, index, "gather");
  check_index_dtype(index, "gather");
  int64_t nd = std::max<int64_t>(self.dim(), 1);
  dim = wrap_dim(dim, nd, "gather");
  CTORCH_CHECK(std::max<int64_t>(index.dim(), 1) == nd, "[gather] Index tensor must have the same "
               "number of dimensions as input tensor");
  Tensor s1 = as_1d(self), i1 = as_1d(as_int64(index));
  for (int64_t d = 0; d < nd; ++d)
    CTORCH_CHECK(d == dim || i1.sizes()[d] <= s1.sizes()[d], "[gather] Size does not match at "
                 "dimension ", d, " expected index ", index.sizes(), " to be no larger than self ",
                 self.sizes(), " apart from dimension ", dim);
  check_index(i1, s1.sizes()[dim], false, Oob::Runtime, dim, "gather");
  DimVector st(s1.strides());
  st[dim] = 0;
  Tensor out = gather_run(restride(s1, i1.sizes(), st), i1, i1.sizes(), s1.strides()[dim],
                          s1.sizes()[dim]);
  return index.dim() == 0 ? reshape(out, {}) : out;
}

Tensor take(const Tensor& self, const Tensor& index) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return take(self, index); });
    autograd::record("TakeBackward0", {self}, {r}, {index},
                     [shape = DimVector(self.sizes())](const autograd::Context& c) {
      return autograd::grads(put(zeros_like(c.grad(), shape), c.saved(0), c.grad(), /*accumulate=*/true));
    });
    return r;
  }
  check_same_device(self, index, "take");
  CTORCH_CHECK(is_index_dtype(index.dtype()), "[take] Expected a long tensor for index, but got ",
               dtype_name(index.dtype()));
  Tensor idx = as_int64(index);
  check_index(idx, self.numel(), true, Oob::Take, 0, "take");
  Tensor flat = contiguous(self);
  DimVector zero(idx.dim(), 0);
  return gather_run(restride(flat, idx.sizes(), zero), idx, idx.sizes(), 1, self.numel());
}

Tensor take_along_dim(const Tensor& self, const Tensor& indices, std::optional<int64_t> dim) {
  if (autograd::recording({&self}) && (!dim || self.dim() > 0)) {
    // A gather over self broadcast against the indices (PyTorch's node is GatherBackward0 too).
    Tensor r = autograd::untracked([&] { return take_along_dim(self, indices, dim); });
    if (!dim) {
      autograd::record("GatherBackward0", {self}, {r}, {indices},
                       [shape = DimVector(self.sizes())](const autograd::Context& c) {
        return autograd::grads(put(zeros_like(c.grad(), shape), c.saved(0), c.grad(), true));
      });
      return r;
    }
    int64_t d = wrap_dim(*dim, self.dim(), "take_along_dim");
    DimVector bs(r.sizes()), bi(r.sizes());
    bs[d] = self.sizes()[d];
    autograd::record("GatherBackward0", {self}, {r}, {indices},
                     [d, bs, bi](const autograd::Context& c) {
      // The gradient has the broadcast shape bs: the engine sums it back to self's shape.
      return autograd::grads(scatter_add(zeros_like(c.grad(), bs), d, expand(c.saved(0), bi), c.grad()));
    });
    return r;
  }
  check_index_dtype(indices, "take_along_dim");
  if (!dim) return take(self, reshape(indices, {-1}));
  CTORCH_CHECK(self.dim() == indices.dim(), "[take_along_dim] input and indices should have the same "
               "number of dimensions, but got ", self.dim(), " dimensions for input, and ",
               indices.dim(), " dimensions for indices");
  int64_t d = wrap_dim(*dim, std::max<int64_t>(self.dim(), 1), "take_along_dim");
  if (self.dim() == 0) return gather(self, d, indices);
  DimVector s(self.sizes()), i(indices.sizes());
  s[d] = 1;
  i[d] = 1;
  DimVector b = broadcast_shapes(s, i, "take_along_dim");
  DimVector bs(b), bi(b);
  bs[d] = self.sizes()[d];
  bi[d] = indices.sizes()[d];
  return gather(expand(self, bs), d, expand(indices, bi));
}

Tensor& put_(Tensor& self, const Tensor& index, const Tensor& source, bool accumulate) {
  check_same_device(self, index, "put_");
  check_same_device(self, source, "put_");
  check_writable(self, "put_");
  if (autograd::recording({&self, &source}))
    return autograd::inplace(self, [&](const Tensor& s) { return put(s, index, source, accumulate); }, "put_");
  CTORCH_CHECK(is_index_dtype(index.dtype()), "[put_] Expected a long tensor for index, but got ",
               dtype_name(index.dtype()));
  check_same_dtype(self, source, "put_", "source");
  CTORCH_CHECK(index.numel() == source.numel(), "[put_] Expected source and index to have the same "
               "number of elements, but got ", source.numel(), " and ", index.numel());
  Tensor idx = as_int64(index);
  check_index(idx, self.numel(), true, Oob::Take, 0, "put_");
  if (idx.numel() == 0) return self;
  Tensor work = self.is_contiguous() ? self : clone(self);
  DimVector zero(idx.dim(), 0);
  Tensor src = unaliased(source, self);
  src = reshape(src, idx.sizes());
  scatter_run(restride(work, idx.sizes(), zero), src, unaliased(idx, self), 1, self.numel(),
              accumulate ? Reduce::Sum : Reduce::None, true, work);
  if (!work.is_same(self)) copy_(self, work);
  self.bump_version();
  return self;
}

Tensor put(const Tensor& self, const Tensor& index, const Tensor& source, bool accumulate) {
  if (autograd::recording({&self, &source})) {
    Tensor r = autograd::untracked([&] { return put(self, index, source, accumulate); });
    autograd::record("PutBackward0", {self, source}, {r}, {index},
                     [accumulate, sshape = DimVector(source.sizes())](const autograd::Context& c) {
      const Tensor& g = c.grad();
      Tensor idx = c.saved(0), gs, gsrc;
      if (c.needs_grad(0)) gs = accumulate ? g : put(g, idx, zeros_like(g, sshape), false);
      if (c.needs_grad(1)) {
        gsrc = take(g, idx);
        if (gsrc.sizes() != IntArrayRef(sshape)) gsrc = reshape(gsrc, sshape);
      }
      return std::vector<Tensor>{gs, gsrc};
    });
    return r;
  }
  Tensor r = clone(self);
  return put_(r, index, source, accumulate);
}

namespace {
Reduce legacy_reduce(const std::string& reduce) {
  if (reduce == "add") return Reduce::Sum;
  if (reduce == "multiply") return Reduce::Prod;
  CTORCH_CHECK(reduce.empty(), "[scatter] reduce argument must be either add or multiply, got ", reduce);
  return Reduce::None;
}
const char* reduce_name(Reduce r) { return r == Reduce::Sum ? "sum" : "prod"; }
}  // namespace

Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce) {
  if (autograd::recording({&self, &src})) {
    check_writable(self, "scatter");
    return autograd::inplace(self, [&](const Tensor& s) { return scatter(s, dim, index, src, reduce); },
                             "scatter_");
  }
  Reduce r = legacy_reduce(reduce);
  scatter_impl(self, dim, index, src, false, r, true, "scatter");
  return self;
}

Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Scalar& value, const std::string& reduce) {
  if (autograd::recording({&self})) {
    check_writable(self, "scatter");
    return autograd::inplace(self, [&](const Tensor& s) { return scatter(s, dim, index, value, reduce); },
                             "scatter_");
  }
  Reduce r = legacy_reduce(reduce);
  scatter_impl(self, dim, index, scalar_tensor(value, self.dtype(), self.device()), true, r, true, "scatter");
  return self;
}

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, const std::string& reduce) {
  if (autograd::recording({&self, &src})) {
    Tensor r = autograd::untracked([&] { return scatter(self, dim, index, src, reduce); });
    Reduce red = legacy_reduce(reduce);
    DimVector sshape(src.sizes());
    if (red == Reduce::None) {
      // Overwritten elements of self get no gradient; with repeated targets every source element
      // written there gets the gradient (as in PyTorch), though only one of them wins.
      autograd::record("ScatterBackward0", {self, src}, {r}, {index},
                       [dim, sshape](const autograd::Context& c) {
        Tensor idx = c.saved(0), gs, gsrc;
        if (c.needs_grad(0)) gs = scatter(c.grad(), dim, idx, Scalar(0));
        if (c.needs_grad(1)) gsrc = pad_to(gather(c.grad(), dim, idx), sshape);
        return std::vector<Tensor>{gs, gsrc};
      });
    } else {
      // The legacy reduce="add"/"multiply" is scatter_reduce("sum"/"prod", include_self=True).
      autograd::record("ScatterBackward0", {self, src}, {r}, {self, index, src, r},
                       [dim, red, sshape](const autograd::Context& c) {
        Tensor idx = c.saved(1);
        auto gr = reduce_backward(red, true, c.grad(), c.saved(0), used_part(c.saved(2), idx.sizes()),
                                  c.saved(3), scatter_moves(dim, idx, reduce_name(red), true),
                                  c.needs_grad(0), c.needs_grad(1));
        return std::vector<Tensor>{gr[0], c.needs_grad(1) ? pad_to(gr[1], sshape) : Tensor()};
      });
    }
    return r;
  }
  Tensor r = clone(self);
  return scatter_(r, dim, index, src, reduce);
}

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value, const std::string& reduce) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return scatter(self, dim, index, value, reduce); });
    Reduce red = legacy_reduce(reduce);
    if (red == Reduce::None) {
      autograd::record("ScatterBackward1", {self}, {r}, {index}, [dim](const autograd::Context& c) {
        return autograd::grads(scatter(c.grad(), dim, c.saved(0), Scalar(0)));
      });
    } else {
      autograd::record("ScatterBackward1", {self}, {r}, {self, index, r},
                       [dim, red, value](const autograd::Context& c) {
        Tensor idx = c.saved(1);
        Tensor src = full(idx.sizes(), value, c.grad().dtype(), c.grad().device());
        return autograd::grads(reduce_backward(red, true, c.grad(), c.saved(0), src, c.saved(2),
                                               scatter_moves(dim, idx, reduce_name(red), true), true,
                                               false)[0]);
      });
    }
    return r;
  }
  Tensor r = clone(self);
  return scatter_(r, dim, index, value, reduce);
}

Tensor& scatter_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  if (autograd::recording({&self, &src})) {
    check_writable(self, "scatter_add");
    return autograd::inplace(self, [&](const Tensor& s) { return scatter_add(s, dim, index, src); },
                             "scatter_add_");
  }
  scatter_impl(self, dim, index, src, false, Reduce::Sum, true, "scatter_add");
  return self;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  if (autograd::recording({&self, &src})) {
    Tensor r = autograd::untracked([&] { return scatter_add(self, dim, index, src); });
    autograd::record("ScatterAddBackward0", {self, src}, {r}, {index},
                     [dim, sshape = DimVector(src.sizes())](const autograd::Context& c) {
      Tensor gsrc;
      if (c.needs_grad(1)) gsrc = pad_to(gather(c.grad(), dim, c.saved(0)), sshape);
      return std::vector<Tensor>{c.grad(), gsrc};
    });
    return r;
  }
  Tensor r = clone(self);
  return scatter_add_(r, dim, index, src);
}

Tensor& scatter_reduce_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                        const std::string& reduce, bool include_self) {
  if (autograd::recording({&self, &src})) {
    check_writable(self, "scatter_reduce");
    return autograd::inplace(self, [&](const Tensor& s) {
      return scatter_reduce(s, dim, index, src, reduce, include_self); }, "scatter_reduce_");
  }
  scatter_impl(self, dim, index, src, false, parse_reduce(reduce, "scatter_reduce"), include_self,
               "scatter_reduce");
  return self;
}

Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self) {
  if (autograd::recording({&self, &src})) {
    Tensor r = autograd::untracked([&] { return scatter_reduce(self, dim, index, src, reduce, include_self); });
    autograd::record("ScatterReduceBackward0", {self, src}, {r}, {self, index, src, r},
                     [dim, reduce, include_self, red = parse_reduce(reduce, "scatter_reduce"),
                      sshape = DimVector(src.sizes())](const autograd::Context& c) {
      Tensor idx = c.saved(1);
      auto gr = reduce_backward(red, include_self, c.grad(), c.saved(0), used_part(c.saved(2), idx.sizes()),
                                c.saved(3), scatter_moves(dim, idx, reduce, include_self), c.needs_grad(0),
                                c.needs_grad(1));
      return std::vector<Tensor>{gr[0], c.needs_grad(1) ? pad_to(gr[1], sshape) : Tensor()};
    });
    return r;
  }
  Tensor r = clone(self);
  return scatter_reduce_(r, dim, index, src, reduce, include_self);
}

Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  if (autograd::recording({&self, &source})) {
    check_writable(self, "index_add_");
    return autograd::inplace(self, [&](const Tensor& s) { return index_add(s, dim, index, source, alpha); },
                             "index_add_");
  }
  Tensor src = source;
  check_same_device(self, source, "index_add_");
  if (alpha.is_floating() ? alpha.to_double() != 1.0 : alpha.to_int() != 1) {
    check_same_dtype(self, source, "index_add_", "source");
    src = to(mul(source, alpha), self.dtype(), self.device());
  }
  index_dim_impl(self, dim, index, src, false, Reduce::Sum, Oob::IndexAdd, false, "index_add_");
  return self;
}

Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  if (autograd::recording({&self, &source})) {
    Tensor r = autograd::untracked([&] { return index_add(self, dim, index, source, alpha); });
    autograd::record("IndexAddBackward0", {self, source}, {r}, {index},
                     [dim, alpha](const autograd::Context& c) {
      Tensor gsrc;
      if (c.needs_grad(1)) {
        gsrc = index_select(c.grad(), dim, c.saved(0));
        if (alpha.is_floating() ? alpha.to_double() != 1.0 : alpha.to_int() != 1) gsrc = mul(gsrc, alpha);
      }
      return std::vector<Tensor>{c.grad(), gsrc};
    });
    return r;
  }
  Tensor r = clone(self);
  return index_add_(r, dim, index, source, alpha);
}

Tensor& index_copy_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  if (autograd::recording({&self, &source})) {
    check_writable(self, "index_copy_");
    return autograd::inplace(self, [&](const Tensor& s) { return index_copy(s, dim, index, source); },
                             "index_copy_");
  }
  index_dim_impl(self, dim, index, source, false, Reduce::None, Oob::Index, false, "index_copy_");
  return self;
}

Tensor index_copy(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  if (autograd::recording({&self, &source})) {
    Tensor r = autograd::untracked([&] { return index_copy(self, dim, index, source); });
    autograd::record("IndexCopyBackward0", {self, source}, {r}, {index}, [dim](const autograd::Context& c) {
      Tensor idx = c.saved(0), gs, gsrc;
      if (c.needs_grad(0)) gs = index_fill(c.grad(), dim, idx, Scalar(0));
      if (c.needs_grad(1)) gsrc = index_select(c.grad(), dim, idx);
      return std::vector<Tensor>{gs, gsrc};
    });
    return r;
  }
  Tensor r = clone(self);
  return index_copy_(r, dim, index, source);
}

Tensor& index_reduce_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                      const std::string& reduce, bool include_self) {
  if (autograd::recording({&self, &source})) {
    check_writable(self, "index_reduce_");
    return autograd::inplace(self, [&](const Tensor& s) {
      return index_reduce(s, dim, index, source, reduce, include_self); }, "index_reduce_");
  }
  Reduce r = parse_reduce(reduce, "index_reduce_");
  CTORCH_CHECK(r != Reduce::Sum, "[index_reduce_] reduce argument must be either prod, mean, amax "
               "or amin, got ", reduce);
  index_dim_impl(self, dim, index, source, false, r, Oob::Index, false, "index_reduce_", include_self);
  return self;
}

Tensor index_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                    const std::string& reduce, bool include_self) {
  if (autograd::recording({&self, &source})) {
    Tensor r = autograd::untracked([&] { return index_reduce(self, dim, index, source, reduce, include_self); });
    autograd::record("IndexReduceBackward0", {self, source}, {r}, {self, index, source, r},
                     [dim, reduce, include_self, red = parse_reduce(reduce, "index_reduce_")](
                         const autograd::Context& c) {
      Tensor idx = c.saved(1);
      auto gr = reduce_backward(red, include_self, c.grad(), c.saved(0), c.saved(2), c.saved(3),
                                index_moves(dim, idx, reduce, include_self), c.needs_grad(0), c.needs_grad(1));
      return gr;
    });
    return r;
  }
  Tensor r = clone(self);
  return index_reduce_(r, dim, index, source, reduce, include_self);
}

Tensor& index_fill_(Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  if (autograd::recording({&self})) {
    check_writable(self, "index_fill_");
    return autograd::inplace(self, [&](const Tensor& s) { return index_fill(s, dim, index, value); },
                             "index_fill_");
  }
  index_dim_impl(self, dim, index, scalar_tensor(value, self.dtype(), self.device()), true,
                 Reduce::None, Oob::Index, true, "index_fill_");
  return self;
}

Tensor index_fill(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return index_fill(self, dim, index, value); });
    autograd::record("IndexFillBackward0", {self}, {r}, {index}, [dim](const autograd::Context& c) {
      return autograd::grads(index_fill(c.grad(), dim, c.saved(0), Scalar(0)));
    });
    return r;
  }
  Tensor r = clone(self);
  return index_fill_(r, dim, index, value);
}

namespace {
void check_fill_value(const Tensor& value) {
  CTORCH_CHECK(value.dim() == 0, "[index_fill_] Only supports 0-dimensional value tensor. Got a tensor "
               "with ", value.dim(), " dimensions.");
}
}  // namespace

Tensor& index_fill_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& value) {
  check_fill_value(value);
  if (autograd::recording({&self, &value})) {
    check_writable(self, "index_fill_");
    return autograd::inplace(self, [&](const Tensor& s) { return index_fill(s, dim, index, value); },
                             "index_fill_");
  }
  index_dim_impl(self, dim, index, to(value, self.dtype(), self.device()), true, Reduce::None, Oob::Index,
                 true, "index_fill_");
  return self;
}

Tensor index_fill(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& value) {
  check_fill_value(value);
  if (autograd::recording({&self, &value})) {
    Tensor r = autograd::untracked([&] { return index_fill(self, dim, index, value); });
    autograd::record("IndexFillBackward1", {self, value}, {r}, {index}, [dim](const autograd::Context& c) {
      Tensor gs = index_fill(c.grad(), dim, c.saved(0), Scalar(0)), gv;
      // The value's gradient: the sum over the filled elements (each counted once, however often
      // the index repeats it).
      if (c.needs_grad(1)) gv = sum(sub(c.grad(), gs));
      return std::vector<Tensor>{c.needs_grad(0) ? gs : Tensor(), gv};
    });
    return r;
  }
  Tensor r = clone(self);
  return index_fill_(r, dim, index, value);
}

// ---------------------------------------------------------------- masks

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value) {
  check_mask(mask, "masked_fill");
  check_same_device(self, mask, "masked_fill");
  CTORCH_CHECK(value.dim() == 0, "[masked_fill] masked_fill_ only supports a 0-dimensional value "
               "tensor, but got tensor with ", value.dim(), " dimension(s).");
  if (autograd::recording({&self, &value})) {
    Tensor r = autograd::untracked([&] { return masked_fill(self, mask, value); });
    autograd::record("MaskedFillBackward1", {self, value}, {r}, {mask}, [](const autograd::Context& c) {
      Tensor m = c.saved(0), gs, gv;
      if (c.needs_grad(0)) gs = masked_fill(c.grad(), m, Scalar(0));
      if (c.needs_grad(1)) gv = sum(masked_select(c.grad(), m));
      return std::vector<Tensor>{gs, gv};
    });
    return r;
  }
  return where(mask, to(value, self.dtype(), self.device()), self);
}

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value) {
  check_mask(mask, "masked_fill");
  check_same_device(self, mask, "masked_fill");
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return masked_fill(self, mask, value); });
    autograd::record("MaskedFillBackward0", {self}, {r}, {mask}, [](const autograd::Context& c) {
      return autograd::grads(masked_fill(c.grad(), c.saved(0), Scalar(0)));
    });
    return r;
  }
  return where(mask, scalar_tensor(value, self.dtype(), self.device()), self);
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Tensor& value) {
  check_mask(mask, "masked_fill_");
  CTORCH_CHECK(broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill_") == self.sizes(),
               "[masked_fill_] output with shape ", self.sizes(), " doesn't match the broadcast "
               "shape ", broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill_"));
  if (autograd::recording({&self, &value}))
    return autograd::inplace(self, [&](const Tensor& s) { return masked_fill(s, mask, value); }, "masked_fill_");
  Tensor r = masked_fill(self, mask, value);
  return copy_(self, r);
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Scalar& value) {
  if (autograd::recording({&self})) {
    check_mask(mask, "masked_fill_");
    CTORCH_CHECK(broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill_") == self.sizes(),
                 "[masked_fill_] output with shape ", self.sizes(), " doesn't match the broadcast "
                 "shape ", broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill_"));
    return autograd::inplace(self, [&](const Tensor& s) { return masked_fill(s, mask, value); }, "masked_fill_");
  }
  return masked_fill_(self, mask, scalar_tensor(value, self.dtype(), self.device()));
}

namespace {
// Row-major positions (in `shape`) where the mask, broadcast to `shape`, is true.
std::vector<int64_t> mask_positions(const Tensor& mask, IntArrayRef shape) {
  Tensor m = contiguous(expand(mask, shape));
  const bool* p = m.data<bool>();
  std::vector<int64_t> pos;
  for (int64_t k = 0; k < m.numel(); ++k)
    if (p[k]) pos.push_back(k);
  return pos;
}
}  // namespace

Tensor masked_select(const Tensor& self, const Tensor& mask) {
  if (autograd::recording({&self})) {
    Tensor r = autograd::untracked([&] { return masked_select(self, mask); });
    autograd::record("MaskedSelectBackward0", {self}, {r}, {mask},
                     [shape = broadcast_shapes(self.sizes(), mask.sizes(), "masked_select")](
                         const autograd::Context& c) {
      // Shaped like self and mask broadcast: the engine sums it back to self's shape.
      return autograd::grads(masked_scatter(zeros_like(c.grad(), shape), c.saved(0), c.grad()));
    });
    return r;
  }
  check_same_device(self, mask, "masked_select");
  CTORCH_CHECK(mask.dtype() == DType::Bool, "[masked_select] masked_select: expected BoolTensor for "
               "mask, got ", dtype_name(mask.dtype()));
  DimVector shape = broadcast_shapes(self.sizes(), mask.sizes(), "masked_select");
  if (self.device().is_cuda()) {
    Tensor pos = cuda_mask_positions(contiguous(expand(mask, shape)));
    Tensor out = empty({pos.numel()}, self.dtype(), self.device());
    cuda_move_elems(out, expand(self, shape), pos, /*scatter=*/false);
    return out;
  }
  std::vector<int64_t> pos = mask_positions(mask, shape);
  Tensor e = expand(self, shape);
  Offsets so = strided_offsets(shape, e.strides());
  Offsets offs(pos.size());
  for (size_t k = 0; k < pos.size(); ++k) offs[k] = so[pos[k]];
  Tensor out = empty({static_cast<int64_t>(offs.size())}, self.dtype(), self.device());
  move_elems(self.element_size(), out.data_ptr(), nullptr, e.data_ptr(), offs.data(),
             static_cast<int64_t>(offs.size()));
  return out;
}

Tensor& masked_scatter_(Tensor& self, const Tensor& mask, const Tensor& source) {
  check_same_device(self, mask, "masked_scatter_");
  check_same_device(self, source, "masked_scatter_");
  check_writable(self, "masked_scatter_");
  CTORCH_CHECK(mask.dtype() == DType::Bool, "[masked_scatter_] masked_scatter_ only supports boolean "
               "masks, but got mask with dtype ", dtype_name(mask.dtype()));
  check_same_dtype(self, source, "masked_scatter_", "source");
  CTORCH_CHECK(broadcast_shapes(self.sizes(), mask.sizes(), "masked_scatter_") == self.sizes(),
               "[masked_scatter_] mask of shape ", mask.sizes(), " can't be broadcast to self of "
               "shape ", self.sizes());
  if (autograd::recording({&self, &source}))
    return autograd::inplace(self, [&](const Tensor& s) { return masked_scatter(s, mask, source); },
                             "masked_scatter_");
  if (self.device().is_cuda()) {
    Tensor pos = cuda_mask_positions(contiguous(expand(mask, self.sizes())));
    CTORCH_CHECK(pos.numel() <= source.numel(), "[masked_scatter_] Number of elements of source < "
                 "number of ones in mask (", source.numel(), " < ", pos.numel(), ")");
    cuda_move_elems(self, unaliased(source, self), pos, /*scatter=*/true);
    self.bump_version();
    return self;
  }
  std::vector<int64_t> pos = mask_positions(mask, self.sizes());
  CTORCH_CHECK(static_cast<int64_t>(pos.size()) <= source.numel(), "[masked_scatter_] Number of "
               "elements of source < number of ones in mask (", source.numel(), " < ", pos.size(), ")");
  Offsets so = strided_offsets(self.sizes(), self.strides());
  Offsets doff(pos.size());
  for (size_t k = 0; k < pos.size(); ++k) doff[k] = so[pos[k]];
  Tensor src = unaliased(source, self);
  Offsets all = strided_offsets(src.sizes(), src.strides());
  move_elems(self.element_size(), self.data_ptr(), doff.data(), src.data_ptr(), all.data(),
             static_cast<int64_t>(doff.size()));
  self.bump_version();
  return self;
}

Tensor masked_scatter(const Tensor& self, const Tensor& mask, const Tensor& source) {
  if (autograd::recording({&self, &source})) {
    Tensor r = autograd::untracked([&] { return masked_scatter(self, mask, source); });
    autograd::record("MaskedScatterBackward0", {self, source}, {r}, {mask},
                     [sshape = DimVector(source.sizes())](const autograd::Context& c) {
      Tensor m = c.saved(0), gs, gsrc;
      if (c.needs_grad(0)) gs = masked_fill(c.grad(), m, Scalar(0));
      if (c.needs_grad(1)) {
        // The first count(mask) source elements (in row-major order) were used; the rest get 0.
        gsrc = masked_select(c.grad(), m);
        if (gsrc.sizes() != IntArrayRef(sshape)) {
          Tensor pos = arange(Scalar(int64_t(0)), Scalar(gsrc.numel()), Scalar(int64_t(1)), DType::Int64,
                              gsrc.device());
          gsrc = put(zeros_like(gsrc, sshape), pos, gsrc, false);
        }
      }
      return std::vector<Tensor>{gs, gsrc};
    });
    return r;
  }
  DimVector shape = broadcast_shapes(self.sizes(), mask.sizes(), "masked_scatter");
  Tensor r = clone(expand(self, shape));
  return masked_scatter_(r, mask, source);
}

Tensor nonzero(const Tensor& self) {
  Tensor b = contiguous(to(self, DType::Bool, self.device()));
  if (self.device().is_cuda()) {
    Tensor pos = cuda_mask_positions(b);
    Tensor out = empty({pos.numel(), self.dim()}, DType::Int64, self.device());
    cuda_nonzero_coords(pos, self.sizes(), out);
    return out;
  }
  const bool* p = b.data<bool>();
  int64_t nd = self.dim(), count = 0;
  for (int64_t k = 0; k < b.numel(); ++k) count += p[k];
  Tensor out = empty({count, nd}, DType::Int64, self.device());
  int64_t* o = out.data<int64_t>();
  IntArrayRef sizes = self.sizes();
  for (int64_t k = 0, row = 0; k < b.numel(); ++k) {
    if (!p[k]) continue;
    int64_t rem = k;
    for (int64_t d = nd - 1; d >= 0; --d) { o[row * nd + d] = rem % sizes[d]; rem /= sizes[d]; }
    ++row;
  }
  return out;
}

std::vector<Tensor> nonzero_tuple(const Tensor& self) {
  Tensor nz = nonzero(as_1d(self));
  std::vector<Tensor> out;
  for (int64_t d = 0; d < nz.sizes()[1]; ++d) out.push_back(contiguous(select(nz, 1, d)));
  return out;
}

Tensor one_hot(const Tensor& self, int64_t num_classes) {
  CTORCH_CHECK(self.dtype() == DType::Int64, "[one_hot] one_hot is only applicable to index tensor "
               "of type LongTensor.");
  if (self.device().is_cuda()) {
    // The class count and range checks read the values on the device (one sync each); the ones
    // are then scattered like scatter_(-1, self.unsqueeze(-1), 1).
    if (num_classes == -1) {
      CTORCH_CHECK(self.numel() > 0, "[one_hot] Can not infer total number of classes from empty tensor.");
      num_classes = cuda_index_max(self) + 1;
    }
    CTORCH_CHECK(num_classes >= 0, "[one_hot] num_classes should be positive, got ", num_classes);
    int64_t bad = 0;
    if (cuda_index_first_bad(self, 0, num_classes, &bad)) {
      CTORCH_CHECK(bad >= 0, "[one_hot] Class values must be non-negative.");
      CTORCH_FAIL("[one_hot] Class values must be smaller than num_classes.");
    }
    DimVector shape(self.sizes());
    shape.push_back(num_classes);
    Tensor out = zeros(shape, DType::Int64, self.device());
    if (self.numel() == 0 || num_classes == 0) return out;
    DimVector st(out.strides());
    st.pop_back();  // the class dim is the indexed one: 0 in the iteration, `1` per index step
    Tensor one = expand(ones({}, DType::Int64, self.device()), self.sizes());
    scatter_run(restride(out, self.sizes(), st), one, self, 1, num_classes, Reduce::None, true, out);
    return out;
  }
  Tensor c = contiguous(self);
  const int64_t* p = c.data<int64_t>();
  int64_t n = c.numel();
  if (num_classes == -1) {
    CTORCH_CHECK(n > 0, "[one_hot] Can not infer total number of classes from empty tensor.");
    num_classes = *std::max_element(p, p + n) + 1;
  }
  CTORCH_CHECK(num_classes >= 0, "[one_hot] num_classes should be positive, got ", num_classes);
  for (int64_t k = 0; k < n; ++k) {
    CTORCH_CHECK(p[k] >= 0, "[one_hot] Class values must be non-negative.");
    CTORCH_CHECK(p[k] < num_classes, "[one_hot] Class values must be smaller than num_classes.");
  }
  DimVector shape(self.sizes());
  shape.push_back(num_classes);
  Tensor out = zeros(shape, DType::Int64, self.device());
  int64_t* o = out.data<int64_t>();
  for (int64_t k = 0; k < n; ++k) o[k * num_classes + p[k]] = 1;
  return out;
}

}  // namespace ctorch
