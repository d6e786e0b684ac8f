// ctorch::cuda: devices, streams, events, pinned host memory and the caching allocator's
// statistics. Every function exists in a build without CUDA: device_count() is 0 there and the
// rest raise a clear error.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "ctorch/core/macros.h"

namespace ctorch::cuda {

CTORCH_API bool is_built();
CTORCH_API int device_count();  // 0 without a CUDA build, a driver or a GPU
CTORCH_API int current_device();
CTORCH_API void set_device(int device);
// The index a Device{CUDA, -1} means right now, checked against device_count().
CTORCH_API int resolve_device(int index);

struct DeviceProperties {
  std::string name;
  int major = 0, minor = 0;
  int64_t total_memory = 0;
  int multi_processor_count = 0;
  int warp_size = 0;
  int64_t l2_cache_size = 0;
};
CTORCH_API DeviceProperties device_properties(int device);
CTORCH_API void synchronize(int device);

// Streams and events are opaque handles (cudaStream_t, cudaEvent_t); stream nullptr is the
// device's default stream. The current stream is per thread and per device, as in PyTorch.
using StreamHandle = void*;
using EventHandle = void*;
CTORCH_API StreamHandle current_stream(int device);
CTORCH_API void set_current_stream(int device, StreamHandle stream);
CTORCH_API StreamHandle stream_create(int device, int priority);
CTORCH_API void stream_destroy(StreamHandle stream);
CTORCH_API bool stream_query(StreamHandle stream);  // true when all its work is done
CTORCH_API void stream_synchronize(StreamHandle stream);
CTORCH_API void stream_wait_event(StreamHandle stream, EventHandle event);
CTORCH_API EventHandle event_create(bool enable_timing, bool blocking);
CTORCH_API void event_destroy(EventHandle event);
CTORCH_API void event_record(EventHandle event, StreamHandle stream);
CTORCH_API bool event_query(EventHandle event);
CTORCH_API void event_synchronize(EventHandle event);
CTORCH_API float event_elapsed_ms(EventHandle start, EventHandle end);

// The caching device allocator (one per device).
struct MemoryStats {
  int64_t allocated = 0, peak_allocated = 0;  // bytes handed to tensors (rounded block sizes)
  int64_t reserved = 0, peak_reserved = 0;    // bytes held from the driver (segments)
  int64_t num_allocs = 0, num_frees = 0;      // block requests and releases since start
  int64_t num_segments = 0, num_alloc_retries = 0, num_ooms = 0;
};
CTORCH_API MemoryStats memory_stats(int device);
CTORCH_API void reset_peak_memory_stats(int device);
CTORCH_API void empty_cache();  // returns unused cached segments of every device to the driver
CTORCH_API std::string memory_summary(int device);
// The memory at `data` (a CUDA storage's start) is also used by work queued on `stream`: its
// block is not reused after it is freed until that work is done (Tensor.record_stream).
CTORCH_API void record_stream(void* data, int device, StreamHandle stream);

// ctorch.backends.cuda.matmul switches (PyTorch's defaults). Defined in src/ops/linalg.cpp so they
// exist in a build without CUDA too.
CTORCH_API bool matmul_allow_tf32();  // float32 products may round their inputs to TF32 (default off)
CTORCH_API void set_matmul_allow_tf32(bool allow);
// Whether float16 / bfloat16 products may use reduced-precision reductions (default on).
CTORCH_API bool matmul_allow_fp16_reduced_precision();
CTORCH_API void set_matmul_allow_fp16_reduced_precision(bool allow);
CTORCH_API bool matmul_allow_bf16_reduced_precision();
CTORCH_API void set_matmul_allow_bf16_reduced_precision(bool allow);
// Absolute paths of libcublas.so.* that the Python package found (pip's nvidia-cublas wheels);
// kernels/cublas.cu tries them after $CTORCH_CUBLAS_PATH and before the plain sonames.
CTORCH_API void add_cublas_search_path(const std::string& path);
CTORCH_API std::vector<std::string> cublas_search_paths();

}  // namespace ctorch::cuda
