// Bindings of the cuBLAS switches behind ctorch.backends.cuda.matmul and of cuBLAS's search paths.
#include "kernels/cublas.h"  // declarations of the switches (defined in src/ops/linalg.cpp)
#include "python/bind.h"

namespace ctorch::python {

void bind_cuda_linalg(py::module_& m) {
  m.def("_cuda_matmul_allow_tf32", &cuda::matmul_allow_tf32);
  m.def("_cuda_set_matmul_allow_tf32", &cuda::set_matmul_allow_tf32);
  m.def("_cuda_matmul_allow_fp16_reduced_precision", &cuda::matmul_allow_fp16_reduced_precision);
  m.def("_cuda_set_matmul_allow_fp16_reduced_precision", &cuda::set_matmul_allow_fp16_reduced_precision);
  m.def("_cuda_matmul_allow_bf16_reduced_precision", &cuda::matmul_allow_bf16_reduced_precision);
  m.def("_cuda_set_matmul_allow_bf16_reduced_precision", &cuda::set_matmul_allow_bf16_reduced_precision);
  m.def("_cublas_add_search_path", &cuda::add_cublas_search_path);
  m.def("_cublas_search_paths", &cuda::cublas_search_paths);
}

}  // namespace ctorch::python
