// cuBLAS behind cuda_gemm: the library is dlopen'ed on first use (libctorch has no link dependency
// on it and imports without it), with the few prototypes and enum values declared here from
// cuBLAS's documented C API (cublas_api.h, library_types.h).
#include <dlfcn.h>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>
#include "core/cuda_memory.h"
#include "kernels/cublas.h"
#include "kernels/launch.cuh"

namespace ctorch {

namespace {

// ---- the slice of cublas_api.h we use (values from the CUDA 12/13 headers)
using cublasHandle_t = struct cublasContext*;
using cublasStatus_t = int;
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;                     // cublasOperation_t
constexpr int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;  // cublasMath_t
constexpr int CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16;
constexpr int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
              CUBLAS_COMPUTE_64F = 70;                              // cublasComputeType_t
constexpr int CUBLAS_GEMM_DEFAULT = -1;                             // cublasGemmAlgo_t
// cudaDataType_t (library_types.h)
constexpr int CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_16BF = 14;

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using SetWorkspaceFn = cublasStatus_t (*)(cublasHandle_t, void*, size_t);
using SetMathModeFn = cublasStatus_t (*)(cublasHandle_t, int);
using StatusStringFn = const char* (*)(cublasStatus_t);
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*,
                                    int, int, const void*, int, int, const void*, void*, int, int, int,
                                    int);
using GemmStridedBatchedExFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const void*,
                                                  const void*, int, int, long long, const void*, int,
                                                  int, long long, const void*, void*, int, int,
                                                  long long, int, int, int);

struct CublasApi {
  std::string path;
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  SetWorkspaceFn set_workspace = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  StatusStringFn status_string = nullptr;  // optional (cuBLAS >= 11.4)
  GemmExFn gemm_ex = nullptr;
  GemmStridedBatchedExFn gemm_strided_batched_ex = nullptr;
};

// dlopen an absolute path after its sibling libcublasLt (same version suffix), which a toolkit's
// libcublas finds only through the loader's cache otherwise.
void* open_library(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos) {
    std::string name = path.substr(slash + 1);
    const std::string prefix = "libcublas.so";
    if (name.compare(0, prefix.size(), prefix) == 0) {
      std::string lt = path.substr(0, slash + 1) + "libcublasLt.so" + name.substr(prefix.size());
      dlopen(lt.c_str(), RTLD_NOW | RTLD_GLOBAL);  // failure is fine: libcublas may still resolve it
    }
  }
  return dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
}

CublasApi load_cublas() {
  std::vector<std::string> candidates;
  const char* env = std::getenv("CTORCH_CUBLAS_PATH");
  if (env && *env) candidates.push_back(env);
  for (const std::string& p : cuda::cublas_search_paths()) candidates.push_back(p);
  for (const char* p : {"libcublas.so.13", "libcublas.so.12", "libcublas.so",
                        "/usr/local/cuda/lib64/libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.12",
                        "/usr/local/cuda/lib64/libcublas.so",
                        "/usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13",
                        "/usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.12"})
    candidates.push_back(p);
  std::string tried, last_error;
  for (const std::string& path : candidates) {
    void* lib = open_library(path);
    tried += (tried.empty() ? "" : ", ") + path;
    if (!lib) {
      const char* e = dlerror();
      last_error = e ? e : "";
      continue;
    }
    CublasApi api;
    api.path = path;
    auto sym = [&](const char* name) { return dlsym(lib, name); };
    api.create = reinterpret_cast<CreateFn>(sym("cublasCreate_v2"));
    api.set_stream = reinterpret_cast<SetStreamFn>(sym("cublasSetStream_v2"));
    api.set_workspace = reinterpret_cast<SetWorkspaceFn>(sym("cublasSetWorkspace_v2"));
    api.set_math_mode = reinterpret_cast<SetMathModeFn>(sym("cublasSetMathMode"));
    api.status_string = reinterpret_cast<StatusStringFn>(sym("cublasGetStatusString"));
    api.gemm_ex = reinterpret_cast<GemmExFn>(sym("cublasGemmEx"));
    api.gemm_strided_batched_ex = reinterpret_cast<GemmStridedBatchedExFn>(sym("cublasGemmStridedBatchedEx"));
    if (api.create && api.set_stream && api.set_workspace && api.set_math_mode && api.gemm_ex &&
        api.gemm_strided_batched_ex)
      return api;
    last_error = path + " lacks the cuBLAS functions ctorch needs (cuBLAS 11.0 or newer expected)";
  }
  CTORCH_FAIL("[cuda] cuBLAS could not be loaded, so matrix products cannot run on CUDA tensors. "
              "Install it (pip install nvidia-cublas, or the CUDA toolkit) or set CTORCH_CUBLAS_PATH "
              "to libcublas.so.*. Tried: ", tried, ". Last error: ", last_error);
}

// Loaded once; a failed load raises and is retried by the next call (a function-local static whose
// initializer throws stays uninitialized).
const CublasApi& api() {
  static const CublasApi a = load_cublas();
  return a;
}

void check(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  const char* msg = api().status_string ? api().status_string(s) : nullptr;
  CTORCH_FAIL("[cuda] cuBLAS error ", s, msg ? std::string(" (") + msg + ")" : std::string(), " in ",
              what);
}

// Handles: one per thread and device (a handle must not be used by two threads at once); a thread
// that ends gives its handles back for reuse. Never destroyed: at process exit the driver may be
// gone already. The pool is leaked on purpose so thread exits after static destruction are safe.
struct HandlePool {
  std::mutex mu;
  std::map<int, std::vector<cublasHandle_t>> free;
};
HandlePool& pool() {
  static HandlePool* p = new HandlePool;
  return *p;
}
struct ThreadHandles {
  std::map<int, cublasHandle_t> by_device;
  ~ThreadHandles() {
    HandlePool& p = pool();
    std::lock_guard<std::mutex> lock(p.mu);
    for (auto& [d, h] : by_device) p.free[d].push_back(h);
  }
};
thread_local ThreadHandles t_handles;

cublasHandle_t handle(int device) {  // the device is current
  auto it = t_handles.by_device.find(device);
  if (it != t_handles.by_device.end()) return it->second;
  cublasHandle_t h = nullptr;
  {
    HandlePool& p = pool();
    std::lock_guard<std::mutex> lock(p.mu);
    auto& v = p.free[device];
    if (!v.empty()) { h = v.back(); v.pop_back(); }
  }
  if (!h) check(api().create(&h), "cublasCreate");
  t_handles.by_device[device] = h;
  return h;
}

// A workspace per (handle, stream), as PyTorch does: cublasSetStream resets a handle to its one
// default workspace, which two streams' products could then use at the same time. Taken once from
// the caching allocator and kept for the life of the process.
constexpr size_t kWorkspaceBytes = size_t(32) << 20;  // cuBLAS's recommendation for Hopper
void* workspace(cublasHandle_t h, cudaStream_t s, int device) {
  static auto* mu = new std::mutex;
  static auto* spaces = new std::map<std::pair<cublasHandle_t, cudaStream_t>, void*>;
  std::lock_guard<std::mutex> lock(*mu);
  void*& w = (*spaces)[{h, s}];
  if (!w) {
    void* ctx = nullptr;
    w = cuda_malloc(kWorkspaceBytes, device, &ctx);  // never freed
    CTORCH_CHECK(w, "[cuda] could not allocate the cuBLAS workspace");
  }
  return w;
}

void gemm_impl(const CudaGemm& g) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return;
  CTORCH_CHECK(g.m <= INT_MAX && g.n <= INT_MAX && g.k <= INT_MAX && g.lda <= INT_MAX &&
               g.ldb <= INT_MAX && g.ldc <= INT_MAX, "[cuda] matrix sizes ", g.m, "x", g.k, " and ",
               g.k, "x", g.n, " exceed cuBLAS's int32 limit");
  int type = 0, compute = CUBLAS_COMPUTE_32F, math = CUBLAS_DEFAULT_MATH;
  switch (g.dtype) {
    case DType::Float32:
      type = CUDA_R_32F;
      if (cuda::matmul_allow_tf32()) {
        compute = CUBLAS_COMPUTE_32F_FAST_TF32;
        math = CUBLAS_TF32_TENSOR_OP_MATH;
      }
      break;
    case DType::Float64: type = CUDA_R_64F; compute = CUBLAS_COMPUTE_64F; break;
    case DType::Float16:
      type = CUDA_R_16F;
      if (!cuda::matmul_allow_fp16_reduced_precision()) math |= CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
      break;
    case DType::BFloat16:
      type = CUDA_R_16BF;
      if (!cuda::matmul_allow_bf16_reduced_precision()) math |= CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
      break;
    default:
      CTORCH_FAIL("[cuda] cuBLAS products support float32, float64, float16 and bfloat16, not ",
                  dtype_name(g.dtype));
  }
  CudaDeviceScope on_device(g.device);  // no tensor argument: the registry cannot do it
  const CublasApi& lib = api();
  cublasHandle_t h = handle(g.device);
  cudaStream_t s = cuda::stream();
  check(lib.set_stream(h, s), "cublasSetStream");
  check(lib.set_workspace(h, workspace(h, s, g.device), kWorkspaceBytes), "cublasSetWorkspace");
  check(lib.set_math_mode(h, math), "cublasSetMathMode");
  // alpha and beta live on the host (the default pointer mode) in the compute type's precision.
  double alpha64 = g.alpha, beta64 = g.beta;
  float alpha32 = static_cast<float>(g.alpha), beta32 = static_cast<float>(g.beta);
  const void* alpha = compute == CUBLAS_COMPUTE_64F ? static_cast<const void*>(&alpha64) : &alpha32;
  const void* beta = compute == CUBLAS_COMPUTE_64F ? static_cast<const void*>(&beta64) : &beta32;
  // cuBLAS is column-major: the row-major C[m, n] is the column-major C^T[n, m] = op(B)^T op(A)^T,
  // so the operands swap places (B first) and m, n swap; leading dims are unchanged.
  const int opa = g.ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = g.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int m = int(g.n), n = int(g.m), k = int(g.k);
  if (g.batch == 1) {
    check(lib.gemm_ex(h, opb, opa, m, n, k, alpha, g.b, type, int(g.ldb), g.a, type, int(g.lda), beta,
                      g.c, type, int(g.ldc), compute, CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
    return;
  }
  // Batches in chunks: batchCount is an int, and very large counts are split like PyTorch does.
  const size_t es = element_size(g.dtype);
  constexpr int64_t kMaxBatch = 65535;
  for (int64_t i0 = 0; i0 < g.batch; i0 += kMaxBatch) {
    int64_t nb = std::min(kMaxBatch, g.batch - i0);
    const char* pa = static_cast<const char*>(g.a) + i0 * g.stride_a * int64_t(es);
    const char* pb = static_cast<const char*>(g.b) + i0 * g.stride_b * int64_t(es);
    char* pc = static_cast<char*>(g.c) + i0 * g.stride_c * int64_t(es);
    check(lib.gemm_strided_batched_ex(h, opb, opa, m, n, k, alpha, pb, type, int(g.ldb), g.stride_b, pa,
                                      type, int(g.lda), g.stride_a, beta, pc, type, int(g.ldc),
                                      g.stride_c, int(nb), compute, CUBLAS_GEMM_DEFAULT),
          "cublasGemmStridedBatchedEx");
  }
}

}  // namespace

CTORCH_REGISTER_CUDA_KERNEL(cuda_gemm, gemm_impl);

}  // namespace ctorch
