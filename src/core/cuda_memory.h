// Device and pinned-host memory entry points used by storage.cpp and copy.cpp; defined in
// kernels/cuda_runtime.cu, or in src/no_cuda/cuda_stub.cpp (which raises) without CUDA.
#pragma once
#include <cstddef>
#include "ctorch/core/device.h"

namespace ctorch {

// From the device's caching allocator, for the current stream. `*ctx` receives what cuda_free needs.
void* cuda_malloc(size_t nbytes, int device, void** ctx);
void cuda_free(void* ctx, void* data);
// Page-locked host memory: copies from and to it can run asynchronously.
void* cuda_host_alloc(size_t nbytes);
void cuda_host_free(void* ctx, void* data);
// Byte copy where at least one side is a CUDA device, ordered on the current stream of the CUDA
// side. With non_blocking the host does not wait (only for pinned host memory: `pinned_block` is
// the start of its pinned storage, which then is not reused before the copy is done).
void cuda_memcpy(void* dst, const void* src, size_t nbytes, Device dst_dev, Device src_dev,
                 bool non_blocking, void* pinned_block = nullptr);

}  // namespace ctorch
