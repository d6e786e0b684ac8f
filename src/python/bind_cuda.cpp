// Bindings of ctorch/cuda.h (devices, streams, events, memory statistics, matmul switches) and
// pinned memory.
// Streams and events cross into Python as integer handles owned by ctorch.cuda.Stream/Event.
#include "core/cuda_kernel.h"
#include "ctorch/cuda.h"
#include "python/bind.h"

namespace ctorch::python {

namespace {
uintptr_t handle_int(void* h) { return reinterpret_cast<uintptr_t>(h); }
void* int_handle(uintptr_t h) { return reinterpret_cast<void*>(h); }
}  // namespace

void bind_cuda(py::module_& m) {
  m.def("_cuda_built", &cuda::is_built);
  m.def("_cuda_kernels", [] {  // name -> whether a .cu file registered it
    py::dict d;
    for (const CudaKernelStatus& k : cuda_kernel_statuses()) d[py::str(k.name)] = k.registered();
    return d;
  });
  m.def("_cuda_device_count", &cuda::device_count);
  m.def("_cuda_current_device", &cuda::current_device);
  m.def("_cuda_set_device", &cuda::set_device);
  m.def("_cuda_resolve_device", &cuda::resolve_device);
  m.def("_cuda_device_properties", [](int device) {
    cuda::DeviceProperties p = cuda::device_properties(device);
    return py::dict(py::arg("name") = p.name, py::arg("major") = p.major, py::arg("minor") = p.minor,
                    py::arg("total_memory") = p.total_memory,
                    py::arg("multi_processor_count") = p.multi_processor_count,
                    py::arg("warp_size") = p.warp_size, py::arg("L2_cache_size") = p.l2_cache_size);
  });
  m.def("_cuda_synchronize", [](int device) { nogil([&] { cuda::synchronize(device); return 0; }); });

  m.def("_cuda_current_stream", [](int device) { return handle_int(cuda::current_stream(device)); });
  m.def("_cuda_set_current_stream", [](int device, uintptr_t s) {
    cuda::set_current_stream(device, int_handle(s));
  });
  m.def("_cuda_stream_create", [](int device, int priority) {
    return handle_int(cuda::stream_create(device, priority));
  });
  m.def("_cuda_stream_destroy", [](uintptr_t s) { cuda::stream_destroy(int_handle(s)); });
  m.def("_cuda_stream_query", [](uintptr_t s) { return cuda::stream_query(int_handle(s)); });
  m.def("_cuda_stream_synchronize", [](uintptr_t s) {
    nogil([&] { cuda::stream_synchronize(int_handle(s)); return 0; });
  });
  m.def("_cuda_stream_wait_event", [](uintptr_t s, uintptr_t e) {
    cuda::stream_wait_event(int_handle(s), int_handle(e));
  });
  m.def("_cuda_event_create", [](bool timing, bool blocking) {
    return handle_int(cuda::event_create(timing, blocking));
  });
  m.def("_cuda_event_destroy", [](uintptr_t e) { cuda::event_destroy(int_handle(e)); });
  m.def("_cuda_event_record", [](uintptr_t e, uintptr_t s) {
    cuda::event_record(int_handle(e), int_handle(s));
  });
  m.def("_cuda_event_query", [](uintptr_t e) { return cuda::event_query(int_handle(e)); });
  m.def("_cuda_event_synchronize", [](uintptr_t e) {
    nogil([&] { cuda::event_synchronize(int_handle(e)); return 0; });
  });
  m.def("_cuda_event_elapsed_time", [](uintptr_t a, uintptr_t b) {
    return cuda::event_elapsed_ms(int_handle(a), int_handle(b));
  });

  m.def("_cuda_memory_stats", [](int device) {
    cuda::MemoryStats s = cuda::memory_stats(device);
    return py::dict(py::arg("allocated_bytes.all.current") = s.allocated,
                    py::arg("allocated_bytes.all.peak") = s.peak_allocated,
                    py::arg("reserved_bytes.all.current") = s.reserved,
                    py::arg("reserved_bytes.all.peak") = s.peak_reserved,
                    py::arg("allocation.all.allocated") = s.num_allocs,
                    py::arg("allocation.all.freed") = s.num_frees,
                    py::arg("segment.all.current") = s.num_segments,
                    py::arg("num_alloc_retries") = s.num_alloc_retries,
                    py::arg("num_ooms") = s.num_ooms);
  });
  m.def("_cuda_reset_peak_memory_stats", &cuda::reset_peak_memory_stats);
  m.def("_cuda_empty_cache", &cuda::empty_cache);
  m.def("_cuda_memory_summary", &cuda::memory_summary);

  // ctorch.backends.cuda.matmul and where cuBLAS is looked for.
  m.def("_cuda_matmul_allow_tf32", &cuda::matmul_allow_tf32);
  m.def("_cuda_set_matmul_allow_tf32", &cuda::set_matmul_allow_tf32);
  m.def("_cuda_matmul_allow_fp16_reduced_precision", &cuda::matmul_allow_fp16_reduced_precision);
  m.def("_cuda_set_matmul_allow_fp16_reduced_precision", &cuda::set_matmul_allow_fp16_reduced_precision);
  m.def("_cuda_matmul_allow_bf16_reduced_precision", &cuda::matmul_allow_bf16_reduced_precision);
  m.def("_cuda_set_matmul_allow_bf16_reduced_precision", &cuda::set_matmul_allow_bf16_reduced_precision);
  m.def("_cublas_add_search_path", &cuda::add_cublas_search_path);
  m.def("_cublas_search_paths", &cuda::cublas_search_paths);

  tensor_class()
      .def("pin_memory", [](const Tensor& t) { return nogil([&] { return pin_memory(t); }); })
      .def("is_pinned", [](const Tensor& t) { return is_pinned(t); })
      .def("_record_stream", [](const Tensor& t, uintptr_t s) {
        CTORCH_CHECK(t.device().is_cuda(), "record_stream: expected a CUDA tensor, got one on ",
                     t.device().str());
        cuda::record_stream(t.storage()->data, t.device().index, int_handle(s));
      });
}

}  // namespace ctorch::python
