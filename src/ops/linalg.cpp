// Linear algebra: on the CPU float32/float64 GEMM through OpenBLAS (scipy-openblas32), 16-bit
// floats through float32 GEMM, integers through a blocked int64 loop; on CUDA every float dtype
// through cuBLAS (kernels/cublas.cu), integers refused as in PyTorch. einsum over bmm. The public
// products record their backward (itself written with products, so it differentiates).
#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>
#include "autograd/function.h"
#include "cpu/blas.h"
#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "ctorch/cuda.h"
#include "ctorch/ops.h"
#include "kernels/cublas.h"
#include "ops/elementwise_run.h"

namespace ctorch {

// ---- ctorch.backends.cuda.matmul switches and cuBLAS search paths (declared in kernels/cublas.h;
// here so they exist without a CUDA build)
namespace cuda {
namespace {
std::atomic<bool> g_allow_tf32{false};  // PyTorch's default since 1.12
std::atomic<bool> g_allow_fp16_reduced{true};
std::atomic<bool> g_allow_bf16_reduced{true};
std::mutex g_paths_mu;
std::vector<std::string>& search_paths() {
  static std::vector<std::string> paths;
  return paths;
}
}  // namespace
bool matmul_allow_tf32() { return g_allow_tf32.load(std::memory_order_relaxed); }
void set_matmul_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool matmul_allow_fp16_reduced_precision() { return g_allow_fp16_reduced.load(std::memory_order_relaxed); }
void set_matmul_allow_fp16_reduced_precision(bool allow) { g_allow_fp16_reduced.store(allow); }
bool matmul_allow_bf16_reduced_precision() { return g_allow_bf16_reduced.load(std::memory_order_relaxed); }
void set_matmul_allow_bf16_reduced_precision(bool allow) { g_allow_bf16_reduced.store(allow); }
void add_cublas_search_path(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_paths_mu);
  auto& v = search_paths();
  if (std::find(v.begin(), v.end(), path) == v.end()) v.push_back(path);
}
std::vector<std::string> cublas_search_paths() {
  std::lock_guard<std::mutex> lock(g_paths_mu);
  return search_paths();
}
}  // namespace cuda

namespace {

// PyTorch's scalar type names, as its "not implemented for 'Long'" errors print them.
const char* torch_type_name(DType t) {
  switch (t) {
    case DType::Bool: return "Bool";
    case DType::UInt8: return "Byte";
    case DType::Int8: return "Char";
    case DType::Int16: return "Short";
    case DType::Int32: return "Int";
    case DType::Int64: return "Long";
    case DType::Float16: return "Half";
    case DType::BFloat16: return "BFloat16";
    case DType::Float32: return "Float";
    case DType::Float64: return "Double";
  }
  return "?";
}

// cuBLAS has no integer GEMM that PyTorch uses: integer products on CUDA raise its error.
void check_cuda_dtype(const char* op, DType t) {
  if (is_floating(t)) return;
  std::string o(op);
  const char* kernel = o == "bmm" || o == "matmul" ? "bmm_cuda"
                       : o == "baddbmm"            ? "baddbmm_cuda"
                       : o == "mv" || o == "addmv" ? "addmv_impl_cuda"
                       : o == "dot"                ? "dot_cuda"
                                                   : "addmm_cuda";
  CTORCH_CHECK_KIND(ErrorKind::NotImplemented, false, "[", op, "] \"", kernel,
                    "\" not implemented for '", torch_type_name(t), "'");
}

std::string mat_str(IntArrayRef s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "x" : "") + std::to_string(s[i]);
  return r;
}

void check_operands(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts) {
    check_same_device(*first, *t, op);
    CTORCH_CHECK(t->dtype() == first->dtype(), "[", op, "] expected all operands to have the same "
                 "dtype, but got ", dtype_name(first->dtype()), " and ", dtype_name(t->dtype()));
  }
}

// How a [rows, cols] matrix with these strides is handed to row-major BLAS without a copy.
struct BlasLayout {
  bool ok = false;
  bool trans = false;
  int64_t ld = 0;
};
BlasLayout blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  // A dim of size 1 never steps, so its stride may be anything.
  if ((cs == 1 || cols <= 1) && (rows <= 1 || rs >= std::max<int64_t>(1, cols))) {
    int64_t ld = rows <= 1 ? std::max<int64_t>(1, cols) : rs;
    if (ld <= INT_MAX) return {true, false, ld};
  }
  if ((rs == 1 || rows <= 1) && (cols <= 1 || cs >= std::max<int64_t>(1, rows))) {
    int64_t ld = cols <= 1 ? std::max<int64_t>(1, rows) : cs;
    if (ld <= INT_MAX) return {true, true, ld};
  }
  return {};
}
BlasLayout blas_layout(const Tensor& t) {
  int64_t d = t.dim();
  return blas_layout(t.size(d - 2), t.size(d - 1), t.stride(d - 2), t.stride(d - 1));
}

// `t` itself when BLAS can read its matrices in place, else a contiguous copy.
Tensor blas_ready(const Tensor& t) {
  if (!is_floating(t.dtype()) || blas_layout(t).ok) return t;
  return contiguous(t);
}

// Element offsets of every matrix of a [*batch, r, c] tensor, batches in row-major order.
std::vector<int64_t> batch_offsets(const Tensor& t) {
  int64_t nb_dims = t.dim() - 2;
  int64_t nb = 1;
  for (int64_t d = 0; d < nb_dims; ++d) nb *= t.size(d);
  std::vector<int64_t> off(static_cast<size_t>(nb));
  DimVector idx(static_cast<size_t>(std::max<int64_t>(nb_dims, 0)), 0);
  int64_t cur = 0;
  for (int64_t i = 0; i < nb; ++i) {
    off[i] = cur;
    for (int64_t d = nb_dims - 1; d >= 0; --d) {
      cur += t.stride(d);
      if (++idx[d] < t.size(d)) break;
      cur -= t.stride(d) * t.size(d);
      idx[d] = 0;
    }
  }
  return off;
}

// C[m, n] (contiguous) = beta * C + alpha * A @ B for integer types, accumulating in int64.
// Blocked over k and n so a strip of B stays in cache while rows of A stream past.
template <class T>
void int_gemm(int64_t m, int64_t n, int64_t k, int64_t alpha, const T* a, int64_t sam, int64_t sak,
              const T* b, int64_t sbk, int64_t sbn, int64_t beta, T* c) {
  constexpr int64_t kBn = 256, kBk = 128;
  std::vector<int64_t> acc(static_cast<size_t>(std::min(n, kBn)));
  for (int64_t j0 = 0; j0 < n; j0 += kBn) {
    int64_t jn = std::min(kBn, n - j0);
    for (int64_t i = 0; i < m; ++i) {
      std::fill(acc.begin(), acc.begin() + jn, int64_t(0));
      for (int64_t p0 = 0; p0 < k; p0 += kBk) {
        int64_t pe = std::min(k, p0 + kBk);
        for (int64_t p = p0; p < pe; ++p) {
          int64_t av = static_cast<int64_t>(a[i * sam + p * sak]);
          const T* brow = b + p * sbk + j0 * sbn;
          if (sbn == 1) {
            for (int64_t j = 0; j < jn; ++j) acc[j] += av * static_cast<int64_t>(brow[j]);
          } else {
            for (int64_t j = 0; j < jn; ++j) acc[j] += av * static_cast<int64_t>(brow[j * sbn]);
          }
        }
      }
      T* crow = c + i * n + j0;
      for (int64_t j = 0; j < jn; ++j) {
        int64_t v = alpha * acc[j];
        if (beta != 0) v += beta * static_cast<int64_t>(crow[j]);
        crow[j] = static_cast<T>(v);
      }
    }
  }
}

// out = beta * out + alpha * a @ b for each batch. a: [*B, m, k], b: [*B, k, n] with the same
// batch shape (broadcast dims have stride 0); out: contiguous [*B, m, n], or [m, n] when
// `sum_batches` (addbmm), where every batch accumulates into the one matrix.
void gemm_into(const char* op, Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha,
               const Scalar& beta, bool sum_batches) {
  int64_t d = a.dim();
  int64_t m = a.size(d - 2), k = a.size(d - 1), n = b.size(d - 1);
  std::vector<int64_t> offa = batch_offsets(a), offb = batch_offsets(b);
  int64_t nb = static_cast<int64_t>(offa.size());
  if (m == 0 || n == 0) return;
  if (k == 0 || nb == 0) {  // an empty sum: only the beta term is left
    if (beta.to_double() == 0) zero_(out);
    else if (beta.to_double() != 1) mul_(out, beta);
    return;
  }
  CTORCH_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX, "[", op, "] matrix sizes ", m, "x", k,
               " and ", k, "x", n, " exceed the BLAS int32 limit");
  int64_t sam = a.stride(d - 2), sak = a.stride(d - 1), sbk = b.stride(d - 2), sbn = b.stride(d - 1);
  if (out.device().is_cuda()) {
    BlasLayout la = blas_layout(m, k, sam, sak), lb = blas_layout(k, n, sbk, sbn);
    CTORCH_CHECK(la.ok && lb.ok, "[", op, "] internal error: operand not prepared for BLAS");
    CudaGemm g;
    g.dtype = a.dtype();
    g.device = cuda::resolve_device(out.device().index);
    g.ta = la.trans;
    g.tb = lb.trans;
    g.m = m; g.n = n; g.k = k;
    g.alpha = alpha.to_double();
    g.lda = la.ld; g.ldb = lb.ld; g.ldc = n;
    const int64_t es = static_cast<int64_t>(a.element_size());
    const char* pa = static_cast<const char*>(a.data_ptr());
    const char* pb = static_cast<const char*>(b.data_ptr());
    char* pc = static_cast<char*>(out.data_ptr());
    if (sum_batches) {
      // addbmm as PyTorch runs it on CUDA: the batches side by side along k, one GEMM
      // [m, B * k] @ [B * k, n] (one float32 accumulation for 16-bit floats, one call).
      CTORCH_CHECK(nb * k <= INT_MAX, "[", op, "] ", nb, " batches of ", m, "x", k, " and ", k, "x",
                   n, " exceed cuBLAS's int32 limit");
      Tensor a2 = reshape(contiguous(permute(a, {1, 0, 2})), {m, nb * k});
      Tensor b2 = reshape(contiguous(b), {nb * k, n});
      g.ta = g.tb = false;
      g.k = nb * k;
      g.a = a2.data_ptr(); g.lda = nb * k;
      g.b = b2.data_ptr(); g.ldb = n;
      g.c = pc;
      g.beta = beta.to_double();
      cuda_gemm(g);
      return;
    }
    // One strided-batched call per run of batches whose operands step by constant strides (all
    // of them for bmm; a broadcast or permuted batch may break into a few runs).
    g.beta = beta.to_double();
    g.stride_c = m * n;
    for (int64_t i = 0; i < nb;) {
      int64_t sa = i + 1 < nb ? offa[i + 1] - offa[i] : 0, sb = i + 1 < nb ? offb[i + 1] - offb[i] : 0;
      int64_t j = i + 1;
      while (j < nb && offa[j] - offa[j - 1] == sa && offb[j] - offb[j - 1] == sb) ++j;
      g.a = pa + offa[i] * es;
      g.b = pb + offb[i] * es;
      g.c = pc + i * m * n * es;
      g.stride_a = sa;
      g.stride_b = sb;
      g.batch = j - i;
      cuda_gemm(g);
      i = j;
    }
    return;
  }
  int64_t work = m * n * k;
  if (a.dtype() == DType::Float32 || a.dtype() == DType::Float64) {
    BlasLayout la = blas_layout(m, k, sam, sak), lb = blas_layout(k, n, sbk, sbn);
    CTORCH_CHECK(la.ok && lb.ok, "[", op, "] internal error: operand not prepared for BLAS");
    double al = alpha.to_double(), be = beta.to_double();
    dispatch_floating(a.dtype(), op, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* pc = out.data<T>();
        auto one = [&](int64_t i) {
          double bi = sum_batches && i > 0 ? 1.0 : be;
          gemm(la.trans, lb.trans, m, n, k, al, pa + offa[i], la.ld, pb + offb[i], lb.ld, bi,
               pc + (sum_batches ? 0 : i * m * n), n);
        };
        // Many matrices: one thread per batch chunk (each product then runs serially); few large
        // ones: each product splits itself.
        if (!sum_batches && nb > 1 && (work < kGemmSplitWork || nb >= 4 * get_num_threads())) {
          parallel_for(0, nb, std::max<int64_t>(1, kGemmSplitWork / 4 / work),
                       [&](int64_t b0, int64_t b1) { for (int64_t i = b0; i < b1; ++i) one(i); });
        } else {
          for (int64_t i = 0; i < nb; ++i) one(i);
        }
      }
    });
    return;
  }
  dispatch_integral(a.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* pc = out.data<T>();
      int64_t al = alpha.to_int(), be = beta.to_int();
      if (sum_batches) {
        for (int64_t i = 0; i < nb; ++i)
          int_gemm(m, n, k, al, pa + offa[i], sam, sak, pb + offb[i], sbk, sbn, i ? 1 : be, pc);
        return;
      }
      // Rows of all batches are independent: split them across threads.
      parallel_for(0, nb * m, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, n * k)),
                   [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1;) {
          int64_t i = r / m, row = r % m, rows = std::min(m - row, r1 - r);
          int_gemm(rows, n, k, al, pa + offa[i] + row * sam, sam, sak, pb + offb[i], sbk, sbn, be,
                   pc + i * m * n + row * n);
          r += rows;
        }
      });
    }
  });
}

bool is_half(DType t) { return t == DType::Float16 || t == DType::BFloat16; }

void check_alpha_beta(const char* op, DType t, const Scalar& beta, const Scalar& alpha) {
  if (is_floating(t)) return;
  CTORCH_CHECK(!beta.is_floating(), "[", op, "] For integral input tensors, argument beta must not "
               "be a floating point number.");
  CTORCH_CHECK(!alpha.is_floating(), "[", op, "] For integral input tensors, argument alpha must "
               "not be a floating point number.");
}

// The shared core of every product op. a: [*B, m, k], b: [*B, k, n] with equal batch shapes
// (views may broadcast). `input` (optional) broadcasts to the result and is scaled by beta.
Tensor product(const char* op, const Tensor& a, const Tensor& b, const Tensor* input,
               const Scalar& beta, const Scalar& alpha, bool sum_batches) {
  if (input) check_operands(op, {&a, &b, input});
  else check_operands(op, {&a, &b});
  check_alpha_beta(op, a.dtype(), beta, alpha);
  const bool cuda = a.device().is_cuda();
  if (cuda) check_cuda_dtype(op, a.dtype());
  // On the CPU 16-bit floats compute in float32 and round once at the end; cuBLAS takes them as
  // they are and accumulates in float32 itself.
  if (!cuda && is_half(a.dtype())) {
    Tensor af = to(a, DType::Float32, a.device()), bf = to(b, DType::Float32, b.device());
    Tensor inf;
    if (input) inf = to(*input, DType::Float32, input->device());
    Tensor r = product(op, af, bf, input ? &inf : nullptr, beta, alpha, sum_batches);
    return to(r, a.dtype(), a.device());
  }
  CTORCH_CHECK(a.dtype() != DType::Bool, "[", op, "] \"addmm_impl_cpu_\" not implemented for 'Bool'");
  int64_t d = a.dim();
  DimVector shape;
  if (!sum_batches)
    for (int64_t i = 0; i < d - 2; ++i) shape.push_back(a.size(i));
  shape.push_back(a.size(d - 2));
  shape.push_back(b.size(d - 1));
  Tensor out = empty(shape, a.dtype(), a.device());
  Scalar be = beta;
  if (input && beta.to_double() != 0) {
    DimVector bs = broadcast_shapes(input->sizes(), shape, op);
    CTORCH_CHECK(bs == IntArrayRef(shape), "[", op, "] the input of shape ", input->sizes(),
                 " can't be broadcast to the product's shape ", IntArrayRef(shape));
    copy_(out, *input);
  } else {
    be = is_floating(a.dtype()) ? Scalar(0.0) : Scalar(int64_t(0));
  }
  gemm_into(op, out, blas_ready(a), blas_ready(b), alpha, be, sum_batches);
  return out;
}

void check_dim(const char* op, const Tensor& t, int64_t want, const char* what) {
  CTORCH_CHECK(t.dim() == want, "[", op, "] ", what, " must be a ", want, "-D tensor, got a ",
               t.dim(), "-D tensor of shape ", t.sizes());
}

void check_mm_shapes(const char* op, const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.size(1) == b.size(0), "[", op, "] mat1 and mat2 shapes cannot be multiplied (",
               mat_str(a.sizes()), " and ", mat_str(b.sizes()), ")");
}

using autograd::Context;

// g * s, skipping the multiply when s is 1.
Tensor scaled(const Tensor& g, const Scalar& s) {
  return s.to_double() == 1 ? g : mul(g, s);
}

// The last two dims swapped.
Tensor mT(const Tensor& x) { return transpose(x, -2, -1); }

// Records a product out = beta * input + alpha * (a @ b) over matrices (or batches of them,
// `batched`; `sum_batches` for addbmm) with inputs {input, a, b} (input may be undefined).
void record_product(const char* name, const Tensor& input, const Tensor& a, const Tensor& b,
                    const Tensor& out, const Scalar& beta, const Scalar& alpha, bool batched,
                    bool sum_batches) {
  // a is only needed for b's gradient and the other way round.
  Tensor keep_a = autograd::requires_grad(b) ? a : Tensor();
  Tensor keep_b = autograd::requires_grad(a) ? b : Tensor();
  int64_t nbatch = batched ? a.size(0) : 1;
  // An operand that is a transposed matrix (Linear's weight.t()) gets its gradient computed
  // transposed too: after the transpose's backward the leaf's gradient is then contiguous, and
  // accumulating it needs no strided copy.
  auto transposed = [](const Tensor& t) {
    int64_t d = t.dim();
    return t.size(d - 2) > 1 && t.size(d - 1) > 1 && t.stride(d - 2) == 1 && t.stride(d - 1) == t.size(d - 2);
  };
  bool a_t = transposed(a), b_t = transposed(b);
  auto backward = [beta, alpha, batched, sum_batches, nbatch, a_t, b_t](const Context& c) {
    Tensor g = c.grad();
    std::vector<Tensor> out(3);
    if (c.needs_grad(0)) out[0] = scaled(g, beta);
    // Every batch got the same output gradient.
    if (sum_batches) g = expand(unsqueeze(g, 0), {nbatch, g.size(0), g.size(1)});
    auto prod = [batched](const Tensor& x, const Tensor& y) { return batched ? bmm(x, y) : mm(x, y); };
    if (c.needs_grad(1))  // g b^T, or (b g^T)^T
      out[1] = scaled(a_t ? mT(prod(c.saved(1), mT(g))) : prod(g, mT(c.saved(1))), alpha);
    if (c.needs_grad(2))  // a^T g, or (g^T a)^T
      out[2] = scaled(b_t ? mT(prod(mT(g), c.saved(0))) : prod(mT(c.saved(0)), g), alpha);
    return out;
  };
  autograd::record(name, {input, a, b}, {out}, {keep_a, keep_b}, backward);
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  check_dim("mm", a, 2, "self");
  check_dim("mm", b, 2, "mat2");
  check_mm_shapes("mm", a, b);
  if (autograd::recording({&a, &b})) {
    Tensor r = autograd::untracked([&] { return product("mm", a, b, nullptr, 0, 1, false); });
    record_product("MmBackward0", Tensor(), a, b, r, 0, 1, false, false);
    return r;
  }
  return product("mm", a, b, nullptr, 0, 1, false);
}

Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, const Scalar& beta,
             const Scalar& alpha) {
  check_dim("addmm", mat1, 2, "mat1");
  check_dim("addmm", mat2, 2, "mat2");
  check_mm_shapes("addmm", mat1, mat2);
  if (autograd::recording({&input, &mat1, &mat2})) {
    Tensor r = autograd::untracked([&] { return product("addmm", mat1, mat2, &input, beta, alpha, false); });
    record_product("AddmmBackward0", input, mat1, mat2, r, beta, alpha, false, false);
    return r;
  }
  return product("addmm", mat1, mat2, &input, beta, alpha, false);
}

namespace {
void check_bmm_shapes(const char* op, const Tensor& a, const Tensor& b) {
  check_dim(op, a, 3, "batch1");
  check_dim(op, b, 3, "batch2");
  CTORCH_CHECK(a.size(0) == b.size(0), "[", op, "] batch1 and batch2 must have the same number of "
               "batches, got shapes ", a.sizes(), " and ", b.sizes());
  CTORCH_CHECK(a.size(2) == b.size(1), "[", op, "] batch1 and batch2 shapes cannot be multiplied (",
               mat_str(a.sizes()), " and ", mat_str(b.sizes()), ")");
}
}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_bmm_shapes("bmm", a, b);
  if (autograd::recording({&a, &b})) {
    Tensor r = autograd::untracked([&] { return product("bmm", a, b, nullptr, 0, 1, false); });
    record_product("BmmBackward0", Tensor(), a, b, r, 0, 1, true, false);
    return r;
  }
  return product("bmm", a, b, nullptr, 0, 1, false);
}
Tensor baddbmm(const Tensor& input, const Tensor& b1, const Tensor& b2, const Scalar& beta,
               const Scalar& alpha) {
  check_bmm_shapes("baddbmm", b1, b2);
  if (autograd::recording({&input, &b1, &b2})) {
    Tensor r = autograd::untracked([&] { return product("baddbmm", b1, b2, &input, beta, alpha, false); });
    record_product("BaddbmmBackward0", input, b1, b2, r, beta, alpha, true, false);
    return r;
  }
  return product("baddbmm", b1, b2, &input, beta, alpha, false);
}
Tensor addbmm(const Tensor& input, const Tensor& b1, const Tensor& b2, const Scalar& beta,
              const Scalar& alpha) {
  check_bmm_shapes("addbmm", b1, b2);
  if (autograd::recording({&input, &b1, &b2})) {
    Tensor r = autograd::untracked([&] { return product("addbmm", b1, b2, &input, beta, alpha, true); });
    record_product("AddbmmBackward0", input, b1, b2, r, beta, alpha, true, true);
    return r;
  }
  return product("addbmm", b1, b2, &input, beta, alpha, true);
}

namespace {
void check_mv_shapes(const char* op, const Tensor& mat, const Tensor& vec) {
  check_dim(op, mat, 2, "mat");
  check_dim(op, vec, 1, "vec");
  CTORCH_CHECK(mat.size(1) == vec.size(0), "[", op, "] size mismatch, got mat of shape ",
               mat.sizes(), " and vec of shape ", vec.sizes());
}
}  // namespace

namespace {
// mv and addmv: out = beta * input + alpha * mat @ vec, inputs {input, mat, vec}.
void record_mv(const char* name, const Tensor& input, const Tensor& mat, const Tensor& vec,
               const Tensor& out, const Scalar& beta, const Scalar& alpha) {
  Tensor keep_mat = autograd::requires_grad(vec) ? mat : Tensor();
  Tensor keep_vec = autograd::requires_grad(mat) ? vec : Tensor();
  autograd::record(name, {input, mat, vec}, {out}, {keep_mat, keep_vec}, [beta, alpha](const Context& c) {
    const Tensor& g = c.grad();
    std::vector<Tensor> out(3);
    if (c.needs_grad(0)) out[0] = scaled(g, beta);
    if (c.needs_grad(1)) out[1] = scaled(outer(g, c.saved(1)), alpha);
    if (c.needs_grad(2)) out[2] = scaled(mv(t(c.saved(0)), g), alpha);
    return out;
  });
}
}  // namespace

Tensor mv(const Tensor& mat, const Tensor& vec) {
  check_mv_shapes("mv", mat, vec);
  if (autograd::recording({&mat, &vec})) {
    Tensor r = autograd::untracked([&] { return mv(mat, vec); });
    record_mv("MvBackward0", Tensor(), mat, vec, r, 0, 1);
    return r;
  }
  return squeeze(product("mv", mat, unsqueeze(vec, 1), nullptr, 0, 1, false), {1});
}
Tensor addmv(const Tensor& input, const Tensor& mat, const Tensor& vec, const Scalar& beta,
             const Scalar& alpha) {
  check_mv_shapes("addmv", mat, vec);
  if (autograd::recording({&input, &mat, &vec})) {
    Tensor r = autograd::untracked([&] { return addmv(input, mat, vec, beta, alpha); });
    record_mv("AddmvBackward0", input, mat, vec, r, beta, alpha);
    return r;
  }
  // The input broadcasts against [m]; as a column it broadcasts against [m, 1].
  Tensor col = input.dim() == 0 ? input : unsqueeze(input, -1);
  CTORCH_CHECK(input.dim() <= 1, "[addmv] input must be 0-D or 1-D, got shape ", input.sizes());
  return squeeze(product("addmv", mat, unsqueeze(vec, 1), &col, beta, alpha, false), {1});
}

Tensor dot(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dim() == 1 && b.dim() == 1, "[dot] 1D tensors expected, but got ", a.dim(),
               "D and ", b.dim(), "D tensors");
  CTORCH_CHECK(a.dtype() == b.dtype(), "[dot] expected both vectors to have same dtype, but found ",
               dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  CTORCH_CHECK(a.size(0) == b.size(0), "[dot] inconsistent tensor size, expected tensor ",
               a.sizes(), " and src ", b.sizes(), " to have the same number of elements, but got ",
               a.size(0), " and ", b.size(0), " elements respectively");
  if (autograd::recording({&a, &b})) {
    Tensor r = autograd::untracked([&] { return dot(a, b); });
    Tensor keep_a = autograd::requires_grad(b) ? a : Tensor();
    Tensor keep_b = autograd::requires_grad(a) ? b : Tensor();
    autograd::record("DotBackward0", {a, b}, {r}, {keep_a, keep_b}, [](const Context& c) {
      return std::vector<Tensor>{c.needs_grad(0) ? mul(c.grad(), c.saved(1)) : Tensor(),
                                 c.needs_grad(1) ? mul(c.grad(), c.saved(0)) : Tensor()};
    });
    return r;
  }
  return reshape(product("dot", unsqueeze(a, 0), unsqueeze(b, 1), nullptr, 0, 1, false), {});
}

Tensor outer(const Tensor& a, const Tensor& b) {
  CTORCH_CHECK(a.dim() == 1 && b.dim() == 1, "[outer] 1D tensors expected, but got ", a.dim(),
               "D and ", b.dim(), "D tensors");
  return mul(unsqueeze(a, 1), b);
}

namespace {
// Whether a [..., m, k] tensor's leading dims merge into its rows without a copy, leaving a
// matrix BLAS can read (a broadcast batch, stride 0, does not).
bool rows_view_ok(const Tensor& a) {
  int64_t d = a.dim();
  int64_t inner = d - 2;  // the dim the others merge into
  for (int64_t i = inner - 1; i >= 0; --i) {
    if (a.size(i) == 1) continue;
    if (a.stride(i) != a.stride(inner) * a.size(inner)) return false;
    inner = i;
  }
  int64_t rows = shape_numel(IntArrayRef(a.sizes().data(), d - 1));
  return !is_floating(a.dtype()) ||
         blas_layout(rows, a.size(d - 1), a.stride(d - 2), a.stride(d - 1)).ok;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  int64_t da = a.dim(), db = b.dim();
  CTORCH_CHECK(da > 0 && db > 0, "[matmul] both arguments to matmul need to be at least 1D, but "
               "they are ", da, "D and ", db, "D");
  if (da == 1 && db == 1) {
    check_operands("matmul", {&a, &b});
    CTORCH_CHECK(a.size(0) == b.size(0), "[matmul] 1D tensors of shapes ", a.sizes(), " and ",
                 b.sizes(), " must have the same size");
    return dot(a, b);
  }
  int64_t k_a = a.size(da - 1), k_b = db == 1 ? b.size(0) : b.size(db - 2);
  CTORCH_CHECK(k_a == k_b, "[matmul] shapes ", a.sizes(), " and ", b.sizes(),
               " cannot be multiplied (", k_a, " != ", k_b, ")");
  if (da == 2 && db == 1) return mv(a, b);
  if (da == 2 && db == 2) return mm(a, b);
  if (autograd::recording({&a, &b})) {
    Tensor r = autograd::untracked([&] { return matmul(a, b); });
    // One node for the whole product, named after the last op PyTorch's matmul records.
    const char* name = da == 1 && db == 2 ? "SqueezeBackward4"
                       : da == 2 && autograd::requires_grad(a) ? "CloneBackward0"
                       : "UnsafeViewBackward0";
    Tensor keep_a = autograd::requires_grad(b) ? a : Tensor();
    Tensor keep_b = autograd::requires_grad(a) ? b : Tensor();
    autograd::record(name, {a, b}, {r}, {keep_a, keep_b}, [da, db](const Context& c) {
      // As matrices: a [*, m, k] @ b [*, k, n] = g [*, m, n], a 1-D operand's dim put back.
      Tensor g = c.grad();
      if (da == 1) g = unsqueeze(g, -2);
      if (db == 1) g = unsqueeze(g, -1);
      std::vector<Tensor> out(2);
      if (c.needs_grad(0)) {
        Tensor b2 = c.saved(1);
        b2 = db == 1 ? unsqueeze(b2, 1) : b2;
        Tensor ga = matmul(g, mT(b2));  // broadcast batch dims are summed by the engine
        out[0] = da == 1 ? squeeze(autograd::sum_to(ga, {1, ga.size(-1)}), {0}) : ga;
      }
      if (c.needs_grad(1)) {
        Tensor a2 = c.saved(0);
        if (da >= 3 && db <= 2) {
          // b is shared by every batch: one GEMM over the batch folded into the rows, rather
          // than a product per batch summed afterwards.
          int64_t rows = shape_numel(IntArrayRef(a2.sizes().data(), a2.dim() - 1));
          Tensor gb = mm(t(reshape(a2, {rows, a2.size(-1)})), reshape(g, {rows, g.size(-1)}));
          out[1] = db == 1 ? squeeze(gb, {1}) : gb;
        } else {
          // db >= 2 here: a 1-D b with a 1-D or 2-D a went to dot/mv above, with a batched a
          // to the branch before.
          a2 = da == 1 ? unsqueeze(a2, 0) : a2;
          out[1] = matmul(mT(a2), g);
        }
      }
      return out;
    });
    return r;
  }
  if (da == 1 && db == 2) return squeeze(mm(unsqueeze(a, 0), b), {0});
  if (da >= 3 && db <= 2 && rows_view_ok(a)) {
    // Fold the batch into the rows: one large GEMM instead of many small ones.
    DimVector rs(a.sizes());
    int64_t rows = shape_numel(IntArrayRef(a.sizes().data(), da - 1));
    Tensor a2 = reshape(a, {rows, k_a});  // a view, checked above
    Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;
    Tensor r = mm(a2, b2);
    if (db == 1) rs.pop_back();
    else rs.back() = b.size(1);
    return reshape(r, rs);
  }
  Tensor a2 = da == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;
  check_operands("matmul", {&a2, &b2});
  int64_t m = a2.size(-2 + a2.dim()), n = b2.size(b2.dim() - 1);
  IntArrayRef ba(a2.sizes().data(), a2.dim() - 2), bb(b2.sizes().data(), b2.dim() - 2);
  DimVector batch;
  {
    // Broadcasting failures name both operand shapes.
    size_t nd = std::max(ba.size(), bb.size());
    batch = DimVector(nd, 1);
    for (size_t i = 0; i < nd; ++i) {
      int64_t x = i < nd - ba.size() ? 1 : ba[i - (nd - ba.size())];
      int64_t y = i < nd - bb.size() ? 1 : bb[i - (nd - bb.size())];
      CTORCH_CHECK(x == y || x == 1 || y == 1, "[matmul] the batch dimensions of shapes ",
                   a.sizes(), " and ", b.sizes(), " cannot be broadcast together");
      batch[i] = x == 1 ? y : x;
    }
  }
  DimVector sa(batch), sb(batch);
  sa.push_back(m); sa.push_back(k_a);
  sb.push_back(k_a); sb.push_back(n);
  // Make the matrices BLAS-readable before broadcasting so a copy never materialises the batch.
  Tensor ea = expand(blas_ready(a2), sa), eb = expand(blas_ready(b2), sb);
  Tensor r = product("matmul", ea, eb, nullptr, 0, 1, false);
  if (da == 1) r = squeeze(r, {r.dim() - 2});
  if (db == 1) r = squeeze(r, {r.dim() - 1});
  return r;
}

// ---------------------------------------------------------------------------------------------
// einsum: operands are reduced to labelled tensors, repeated labels become diagonals, labels
// used nowhere else are summed, then operands are contracted left to right with bmm (or a
// broadcast multiply when nothing is contracted).

namespace {

constexpr int kNumLetters = 52;  // 'A'-'Z' then 'a'-'z'; ellipsis dims get labels from 52 up

int letter_label(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

struct Labelled {
  Tensor t;
  std::vector<int> labels;  // one per dim
};

// Sums dims of `x` (by position) with a matmul against a ones vector, which keeps every dtype
// the products support and needs no reduction kernel.
Tensor sum_dims(const Tensor& x, const std::vector<int64_t>& dims) {
  if (dims.empty()) return x;
  std::vector<int64_t> perm, keep_shape;
  int64_t r = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.push_back(d);
      keep_shape.push_back(x.size(d));
    }
  for (int64_t d : dims) { perm.push_back(d); r *= x.size(d); }
  Tensor p = reshape(permute(x, perm), {shape_numel(keep_shape), r});
  Tensor ones_v = ones({r, 1}, x.dtype(), x.device());
  Tensor s = mm(p, ones_v);  // mm records its backward: einsum differentiates through it
  return reshape(s, keep_shape);
}

// Turns repeated labels into diagonals and sums labels not needed afterwards.
void simplify(Labelled& op, const std::vector<int>& needed_count) {
  // Repeated labels: the diagonal over the two dims lands at the end.
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < op.labels.size() && !again; ++i)
      for (size_t j = i + 1; j < op.labels.size() && !again; ++j)
        if (op.labels[i] == op.labels[j]) {
          CTORCH_CHECK(op.t.size(i) == op.t.size(j), "[einsum] subscript ", op.labels[i],
                       " is repeated for operand but the sizes don't match, ", op.t.size(i),
                       " != ", op.t.size(j));
          int lab = op.labels[i];
          op.t = diagonal(op.t, 0, static_cast<int64_t>(i), static_cast<int64_t>(j));
          op.labels.erase(op.labels.begin() + j);
          op.labels.erase(op.labels.begin() + i);
          op.labels.push_back(lab);
          again = true;
        }
  }
  std::vector<int64_t> drop;
  std::vector<int> kept;
  for (size_t i = 0; i < op.labels.size(); ++i) {
    if (needed_count[op.labels[i]] == 0) drop.push_back(static_cast<int64_t>(i));
    else kept.push_back(op.labels[i]);
  }
  if (!drop.empty()) {
    op.t = sum_dims(op.t, drop);
    op.labels = kept;
  }
}

std::vector<int64_t> positions(const Labelled& x, const std::vector<int>& labels) {
  std::vector<int64_t> p;
  for (int l : labels)
    p.push_back(std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin());
  return p;
}

// Contracts a and b over the labels not needed later (`later` counts uses after this step,
// the output included).
Labelled contract(const Labelled& a, const Labelled& b, const std::vector<int>& later) {
  std::vector<int> batch, left, right, contracted;
  auto in = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
  for (int l : a.labels) {
    if (in(b.labels, l)) (later[l] > 0 ? batch : contracted).push_back(l);
    else left.push_back(l);
  }
  for (int l : b.labels)
    if (!in(a.labels, l)) right.push_back(l);
  auto size_of = [](const Labelled& x, int l) {
    return x.t.size(std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin());
  };
  // Shared labels broadcast: a size-1 side is expanded to the other's size.
  Tensor ta = a.t, tb = b.t;
  {
    DimVector ea(ta.sizes()), eb(tb.sizes());
    for (const auto* group : {&batch, &contracted})
      for (int l : *group) {
        int64_t sa = size_of(a, l), sb = size_of(b, l);
        CTORCH_CHECK(sa == sb || sa == 1 || sb == 1, "[einsum] operands do not broadcast with "
                     "remapped shapes [original->remapped]: sizes ", sa, " and ", sb,
                     " for the same subscript");
        int64_t s = std::max(sa, sb);
        ea[positions(a, {l})[0]] = s;
        eb[positions(b, {l})[0]] = s;
      }
    ta = expand(ta, ea);
    tb = expand(tb, eb);
  }
  Labelled A{ta, a.labels}, B{tb, b.labels};
  std::vector<int64_t> bsz, lsz, rsz;
  int64_t nb = 1, nl = 1, nr = 1, nc = 1;
  for (int l : batch) { bsz.push_back(size_of(A, l)); nb *= bsz.back(); }
  for (int l : left) { lsz.push_back(size_of(A, l)); nl *= lsz.back(); }
  for (int l : right) { rsz.push_back(size_of(B, l)); nr *= rsz.back(); }
  for (int l : contracted) nc *= size_of(A, l);
  std::vector<int> pa_labels(batch), pb_labels(batch);
  pa_labels.insert(pa_labels.end(), left.begin(), left.end());
  pa_labels.insert(pa_labels.end(), contracted.begin(), contracted.end());
  pb_labels.insert(pb_labels.end(), contracted.begin(), contracted.end());
  pb_labels.insert(pb_labels.end(), right.begin(), right.end());
  Tensor pa = permute(A.t, positions(A, pa_labels)), pb = permute(B.t, positions(B, pb_labels));
  std::vector<int64_t> out_shape(bsz);
  out_shape.insert(out_shape.end(), lsz.begin(), lsz.end());
  out_shape.insert(out_shape.end(), rsz.begin(), rsz.end());
  Tensor r;
  if (contracted.empty()) {
    // Nothing to sum: a broadcast multiply of [B, L, 1...] by [B, 1..., R].
    std::vector<int64_t> va(bsz), vb(bsz);
    va.insert(va.end(), lsz.begin(), lsz.end());
    vb.insert(vb.end(), lsz.size(), 1);
    va.insert(va.end(), rsz.size(), 1);
    vb.insert(vb.end(), rsz.begin(), rsz.end());
    r = mul(reshape(pa, va), reshape(pb, vb));
  } else {
    r = bmm(reshape(pa, {nb, nl, nc}), reshape(pb, {nb, nc, nr}));
    r = reshape(r, out_shape);
  }
  std::vector<int> labels(batch);
  labels.insert(labels.end(), left.begin(), left.end());
  labels.insert(labels.end(), right.begin(), right.end());
  return {r, labels};
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  CTORCH_CHECK(!operands.empty(), "[einsum] must provide at least one operand");
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  CTORCH_CHECK(terms.size() == operands.size(), "[einsum] more operands were provided than "
               "specified in the equation", terms.size() < operands.size() ? "" : " (fewer)",
               ": ", terms.size(), " subscript terms for ", operands.size(), " operands");
  for (const Tensor& t : operands) {
    check_same_device(operands[0], t, "einsum");
    CTORCH_CHECK(t.dtype() == operands[0].dtype(), "[einsum] expected all operands to have the "
                 "same dtype, but got ", dtype_name(operands[0].dtype()), " and ", dtype_name(t.dtype()));
  }

  // Parse each term; "..." stands for the dims not named, right-aligned across operands.
  std::vector<std::vector<int>> parsed(terms.size());
  std::vector<int64_t> ell_dims(terms.size(), -1);
  int64_t max_ell = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const std::string& s = terms[i];
    int named = 0;
    bool ell = false;
    for (size_t p = 0; p < s.size(); ++p) {
      if (s.compare(p, 3, "...") == 0) {
        CTORCH_CHECK(!ell, "[einsum] found more than one ellipsis (\"...\") in subscripts for operand ", i);
        ell = true;
        p += 2;
        continue;
      }
      CTORCH_CHECK(letter_label(s[p]) >= 0, "[einsum] invalid subscript given at index ", p,
                   " in the equation string, subscripts must be in [a-zA-Z]");
      ++named;
    }
    int64_t nd = operands[i].dim();
    if (ell) {
      CTORCH_CHECK(nd >= named, "[einsum] the number of subscripts in the equation (", named,
                   ") is more than the number of dimensions (", nd, ") for operand ", i);
      ell_dims[i] = nd - named;
      max_ell = std::max(max_ell, nd - named);
    } else {
      CTORCH_CHECK(nd == named, "[einsum] the number of subscripts in the equation (", named,
                   ") does not match the number of dimensions (", nd, ") for operand ", i,
                   " and no ellipsis was given");
    }
  }
  for (size_t i = 0; i < terms.size(); ++i) {
    const std::string& s = terms[i];
    for (size_t p = 0; p < s.size(); ++p) {
      if (s.compare(p, 3, "...") == 0) {
        for (int64_t e = max_ell - ell_dims[i]; e < max_ell; ++e)
          parsed[i].push_back(kNumLetters + static_cast<int>(e));
        p += 2;
      } else {
        parsed[i].push_back(letter_label(s[p]));
      }
    }
  }
  int nlabels = kNumLetters + static_cast<int>(max_ell);
  std::vector<int> total(nlabels, 0);
  for (auto& p : parsed)
    for (int l : p) ++total[l];

  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    std::string rhs = eq.substr(arrow + 2);
    bool ell = false;
    for (size_t p = 0; p < rhs.size(); ++p) {
      if (rhs.compare(p, 3, "...") == 0) {
        CTORCH_CHECK(!ell, "[einsum] found more than one ellipsis (\"...\") in the output");
        ell = true;
        for (int64_t e = 0; e < max_ell; ++e) out_labels.push_back(kNumLetters + static_cast<int>(e));
        p += 2;
        continue;
      }
      int l = letter_label(rhs[p]);
      CTORCH_CHECK(l >= 0, "[einsum] invalid subscript given at index ", lhs.size() + 2 + p,
                   " in the equation string, subscripts must be in [a-zA-Z]");
      CTORCH_CHECK(total[l] > 0, "[einsum] output subscript ", rhs[p],
                   " does not appear in the equation for any input operand");
      CTORCH_CHECK(std::find(out_labels.begin(), out_labels.end(), l) == out_labels.end(),
                   "[einsum] output subscript ", rhs[p], " appears more than once in the output");
      out_labels.push_back(l);
    }
  } else {
    for (int64_t e = 0; e < max_ell; ++e) out_labels.push_back(kNumLetters + static_cast<int>(e));
    for (int l = 0; l < kNumLetters; ++l)
      if (total[l] == 1) out_labels.push_back(l);
  }

  // remaining[l]: uses of label l by operands not yet folded in, plus the output.
  std::vector<int> remaining(total);
  for (int l : out_labels) ++remaining[l];
  auto take = [&](size_t i) {
    for (int l : parsed[i]) --remaining[l];
  };
  Labelled acc{operands[0], parsed[0]};
  take(0);
  simplify(acc, remaining);
  for (size_t i = 1; i < operands.size(); ++i) {
    Labelled next{operands[i], parsed[i]};
    take(i);
    // A label of `next` is needed if anything after it or `acc` uses it.
    std::vector<int> need_next(remaining);
    for (int l : acc.labels) ++need_next[l];
    simplify(next, need_next);
    std::vector<int> need_acc(remaining);
    for (int l : next.labels) ++need_acc[l];
    simplify(acc, need_acc);
    acc = contract(acc, next, remaining);
  }
  // Ellipsis dims an operand lacked are absent here; they are size 1 in the output.
  std::vector<int64_t> perm, shape;
  for (int l : out_labels) {
    auto it = std::find(acc.labels.begin(), acc.labels.end(), l);
    if (it != acc.labels.end()) perm.push_back(it - acc.labels.begin());
  }
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
  Tensor r = identity ? acc.t : permute(acc.t, perm);
  for (int l : out_labels) {
    auto it = std::find(acc.labels.begin(), acc.labels.end(), l);
    shape.push_back(it != acc.labels.end() ? acc.t.size(it - acc.labels.begin()) : 1);
  }
  if (r.dim() != static_cast<int64_t>(shape.size())) r = reshape(r, shape);
  // einsum returns a fresh tensor even when it reduces to a view (e.g. "ij->ji").
  if (operands.size() == 1 && r.storage() == operands[0].storage()) r = clone(r);
  return r;
}

}  // namespace ctorch
